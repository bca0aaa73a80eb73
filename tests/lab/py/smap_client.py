#!/usr/bin/env python3
"""smap_client.py - a socketmap client for the lab, polite and hostile.

SYNOPSIS
    smap_client.py HOST PORT query MAP KEY...     one reply per key, one line each
    smap_client.py HOST PORT pipeline MAP KEY...  all requests in one write
    smap_client.py HOST PORT badnet               not a netstring
    smap_client.py HOST PORT oversize             a 10001-octet request
    smap_client.py HOST PORT noreq                a netstring that is no request
    smap_client.py HOST PORT idle SECONDS MAP KEY idle, then still answered
    smap_client.py HOST PORT trickle SECONDS      a request never finished
    smap_client.py HOST PORT bench SECONDS CONNS MAP KEY...  queries/s

DESCRIPTION
    Each check prints one line, "ok ..." or "bad ...", and exits 0 only
    when what it saw is what mxtlsd must do (smap_srv.h): PERM then a
    close for bad input, an answer after an idle wait, a close at the
    request deadline (and not long before it).  A reply is printed as
    its payload ("OK secure match=...", "NOTFOUND ", "TEMP ...").
"""
import socket
import sys
import threading
import time


def netstring(b):
    return str(len(b)).encode() + b":" + b + b","


def read_reply(s, buf=b""):
    """one netstring reply: (payload, rest), or (None, b'') on close"""
    while True:
        colon = buf.find(b":")
        if colon > 0:
            n = int(buf[:colon])
            if len(buf) >= colon + 1 + n + 1:
                if buf[colon + 1 + n:colon + 2 + n] != b",":
                    raise ValueError("reply is no netstring: %r" % buf[:80])
                return buf[colon + 1:colon + 1 + n], buf[colon + 2 + n:]
        d = s.recv(65536)
        if not d:
            return None, b""
        buf += d


def closed(s, within):
    """True when the peer closes within `within' seconds (after any data)"""
    s.settimeout(within)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def conn(host, port):
    s = socket.create_connection((host, port), timeout=30)
    return s


def show(p):
    return "(closed)" if p is None else p.decode("utf-8", "replace")


def query(host, port, m, keys, pipeline=False):
    s = conn(host, port)
    reqs = [netstring(("%s %s" % (m, k)).encode()) for k in keys]
    if pipeline:
        s.sendall(b"".join(reqs))
    rest = b""
    for k, r in zip(keys, reqs):
        if not pipeline:
            s.sendall(r)
        p, rest = read_reply(s, rest)
        print("%s %s" % (k, show(p)))
    s.close()
    return 0


def expect_perm_close(s, what):
    p, _ = read_reply(s)
    ok = p is not None and p.startswith(b"PERM") and closed(s, 5)
    print("%s %s: reply %s, then %s" % ("ok" if ok else "bad", what, show(p),
                                         "closed" if ok else "not closed"))
    return 0 if ok else 1


def main(a):
    host, port, cmd = a[0], int(a[1]), a[2]
    if cmd in ("query", "pipeline"):
        return query(host, port, a[3], a[4:], cmd == "pipeline")
    if cmd == "badnet":
        s = conn(host, port)
        s.sendall(b"hello world\r\n")
        return expect_perm_close(s, "bad netstring")
    if cmd == "noreq":
        s = conn(host, port)
        s.sendall(netstring(b"postfix"))       # no space, no key
        return expect_perm_close(s, "netstring without a key")
    if cmd == "oversize":
        s = conn(host, port)
        s.sendall(b"10001:postfix " + b"a" * 9993 + b",")
        return expect_perm_close(s, "10001-octet request")
    if cmd == "idle":
        secs, m, k = float(a[3]), a[4], a[5]
        s = conn(host, port)
        s.sendall(netstring(("%s %s" % (m, k)).encode()))
        p1, _ = read_reply(s)
        gone = closed(s, secs)
        if gone:
            print("bad idle: closed within %.0fs after %s" % (secs, show(p1)))
            return 1
        s.settimeout(30)
        s.sendall(netstring(("%s %s" % (m, k)).encode()))
        p2, _ = read_reply(s)
        ok = p2 is not None and p2 == p1
        print("%s idle %.0fs: still open, answered %s" % ("ok" if ok else "bad", secs,
                                                          show(p2)))
        return 0 if ok else 1
    if cmd == "trickle":
        secs = float(a[3])
        s = conn(host, port)
        t0 = time.time()
        req = netstring(b"postfix trickle.example")
        # one octet a second, never the last one
        s.settimeout(1)
        gone = False
        for ch in req[:-1]:
            try:
                s.sendall(bytes([ch]))
            except OSError:
                gone = True
                break
            try:
                if s.recv(1) == b"":
                    gone = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                gone = True
                break
            if time.time() - t0 > secs + 10:
                break
        if not gone:
            gone = closed(s, secs + 10 - (time.time() - t0))
        took = time.time() - t0
        ok = gone and secs - 1 <= took <= secs + 5
        print("%s trickle: %s after %.1fs (deadline %.0fs)" % (
            "ok" if ok else "bad", "closed" if gone else "still open", took, secs))
        return 0 if ok else 1
    if cmd == "bench":
        secs, nconn, m, keys = float(a[3]), int(a[4]), a[5], a[6:]
        counts = [0] * nconn
        errors = []
        stop = time.time() + secs

        def worker(i):
            try:
                s = conn(host, port)
                reqs = [netstring(("%s %s" % (m, k)).encode()) for k in keys]
                j = 0
                rest = b""
                while time.time() < stop:
                    s.sendall(reqs[j % len(reqs)])
                    p, rest = read_reply(s, rest)
                    if p is None:
                        errors.append("closed")
                        return
                    counts[i] += 1
                    j += 1
                s.close()
            except Exception as e:  # noqa: BLE001 - counted, printed
                errors.append(str(e))

        th = [threading.Thread(target=worker, args=(i,)) for i in range(nconn)]
        t0 = time.time()
        for t in th:
            t.start()
        for t in th:
            t.join()
        el = time.time() - t0
        print("%.0f %d %s" % (sum(counts) / el, sum(counts), ";".join(errors[:3])))
        return 0 if not errors else 1
    print("usage: see the top of %s" % sys.argv[0])
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
