#!/usr/bin/python3
"""burst - many concurrent SMTP sessions, each one message, retried until sent.

SYNOPSIS
    burst.py --target ADDR:PORT=DOMAIN [--target ...] --total N
             [--concurrency C] [--deadline S] [--tag TAG] --out FILE

DESCRIPTION
    Sends N messages, spread round-robin over the targets, C sessions at a
    time; message i goes to <TAG-i@DOMAIN> in a session of its own (EHLO,
    MAIL, RCPT, DATA, QUIT; no STARTTLS).  A session that fails (refused,
    reset, timeout, any reply other than the expected one) is retried after
    0.2 s until the message gets 250 after DATA or --deadline seconds (from
    the start) have passed.  Like an MTA, it may deliver a message twice
    when a session broke after the MX accepted it.

    One JSON line per message is appended to FILE when it is done:
    {"i", "rcpt", "ok", "tries", "errors": [...], "reply"}.  Exit 0 when
    every message was sent.
"""

import argparse
import json
import socket
import sys
import threading
import time


def session(addr, port, rcpt, msgid, timeout):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        f = s.makefile("rb")

        def reply():
            lines = []
            while True:
                l = f.readline(4096)
                if not l:
                    raise OSError("connection closed")
                lines.append(l.decode("utf-8", "replace").rstrip("\r\n"))
                if len(l) < 4 or l[3:4] != b"-":
                    return lines[-1][:3], " | ".join(lines)

        def cmd(c, want):
            if c is not None:
                s.sendall(c.encode() + b"\r\n")
            code, text = reply()
            if not code.startswith(want):
                raise OSError("%s -> %s" % (c or "greeting", text))
            return text

        cmd(None, "220")
        cmd("EHLO burst.lab.example", "250")
        cmd("MAIL FROM:<burst@mta.lab.example>", "250")
        cmd("RCPT TO:<%s>" % rcpt, "250")
        cmd("DATA", "354")
        body = ("From: <burst@mta.lab.example>\r\nTo: <%s>\r\nSubject: burst\r\n"
                "Message-ID: <%s>\r\n\r\nburst message %s\r\n.\r\n" % (rcpt, msgid, rcpt))
        s.sendall(body.encode())
        text = cmd(None, "250")
        try:
            s.sendall(b"QUIT\r\n")
            reply()
        except OSError:
            pass
        return text
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", action="append", required=True)
    ap.add_argument("--total", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--deadline", type=float, default=40)
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--tag", default="burst")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    targets = []
    for t in a.target:
        hp, _, dom = t.partition("=")
        h, _, p = hp.rpartition(":")
        targets.append((h.strip("[]"), int(p), dom))
    t0 = time.time()
    lock = threading.Lock()
    nxt = [0]
    allok = [True]
    out = open(a.out, "a")

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= a.total:
                return
            h, p, dom = targets[i % len(targets)]
            rcpt = "%s-%d@%s" % (a.tag, i, dom)
            tries, errors, rep = 0, [], None
            while True:
                tries += 1
                try:
                    rep = session(h, p, rcpt, "%s.%d@mta.lab.example" % (a.tag, i), a.timeout)
                    break
                except OSError as e:
                    errors.append("%.3f %s" % (time.time() - t0, e))
                    if time.time() - t0 > a.deadline:
                        break
                    time.sleep(0.2)
            with lock:
                if rep is None:
                    allok[0] = False
                out.write(json.dumps({"i": i, "rcpt": rcpt, "ok": rep is not None, "tries": tries,
                                      "errors": errors[-5:], "reply": rep}) + "\n")
                out.flush()

    th = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    return 0 if allok[0] else 1


if __name__ == "__main__":
    sys.exit(main())
