#!/usr/bin/python3
"""metrics_check - scrape mxtlsd's /metrics, compare two scrapes, and be a
hostile HTTP client of it.

SYNOPSIS
    metrics_check.py scrape ADDR:PORT OUT.json
    metrics_check.py journal DIR OUT.json
    metrics_check.py delta BEFORE.json AFTER.json [--journal JB.json JA.json]
                     [--families F,F...] EXPECT...
    metrics_check.py http ADDR:PORT METHOD PATH
    metrics_check.py oversize ADDR:PORT
    metrics_check.py slow ADDR:PORT N OUT.json

DESCRIPTION
    scrape GETs http://ADDR:PORT/metrics (HTTP/1.1), demands 200, the
    Content-Type text/plain; version=0.0.4 and Connection: close, parses
    the body with Debian's python3-prometheus-client
    (prometheus_client.parser.text_string_to_metric_families) and writes
    {"series": {"name{k=v,...}": value}, "families": {name: type}}.
    A body the parser refuses, or two families of one name, fail.

    journal tallies the attempt records of every DIR/*.jsonl by
    "policy-type|result-type|action" into OUT.json.

    delta prints, and checks, AFTER - BEFORE.  Each EXPECT is SERIES=N
    (SERIES as in scrape's keys: name{k=v,...} with the labels sorted, or
    a bare name; or SERIES+SERIES...): its delta (their deltas' sum) must
    be N; @SERIES=N and @SERIES>=N check its value after instead.  Every other series of the
    families named in --families (default: the families of the EXPECTs)
    must not have changed: what the scenario did, exactly.  With
    --journal, the attempt counters' deltas must also equal the journal's
    (each policy type x result x action): what was journaled is what was
    counted.

    http sends one request and prints the status line.

    oversize sends a head of 9000 octets without a line end and prints
    "status=NNN closed=yes|no seconds=S": mxtlsd answers 431 at 8 KiB.

    slow opens N connections, each sending part of a request head and
    then nothing; writes, per connection, what it got ("408", "closed",
    "open") and after how many seconds, at most 10 s.

    Exit status 1 when a check fails (one line "FAIL: why" per failure).
"""
import json
import os
import re
import select
import socket
import sys
import time


def addr_of(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def request(addr, raw, timeout=10):
    """raw octets out; everything back until the close"""
    s = socket.create_connection(addr_of(addr), timeout=timeout)
    s.sendall(raw)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data


def split_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, body


def key_of(name, labels):
    if not labels:
        return name
    return name + "{" + ",".join("%s=%s" % (k, labels[k]) for k in sorted(labels)) + "}"


def cmd_scrape(addr, out):
    from prometheus_client.parser import text_string_to_metric_families
    data = request(addr, b"GET /metrics HTTP/1.1\r\nHost: mxtlsd\r\nAccept: text/plain\r\n\r\n")
    status, hdrs, body = split_response(data)
    bad = []
    if not status.startswith("HTTP/1.1 200 "):
        bad.append("status line %r" % status)
    if hdrs.get("content-type") != "text/plain; version=0.0.4; charset=utf-8":
        bad.append("Content-Type %r" % hdrs.get("content-type"))
    if hdrs.get("connection", "").lower() != "close":
        bad.append("Connection %r" % hdrs.get("connection"))
    if hdrs.get("content-length") != str(len(body)):
        bad.append("Content-Length %r for %d octets" % (hdrs.get("content-length"), len(body)))
    series, families = {}, {}
    try:
        for fam in text_string_to_metric_families(body.decode("utf-8")):
            if fam.name in families:
                bad.append("two families named %s" % fam.name)
            families[fam.name] = fam.type
            for smp in fam.samples:
                k = key_of(smp.name, smp.labels)
                if k in series:
                    bad.append("series %s twice" % k)
                series[k] = smp.value
    except Exception as e:  # the parser's own error
        bad.append("prometheus_client cannot parse the body: %s" % e)
    if not series:
        bad.append("no series")
    for b in bad:
        print("FAIL: %s" % b)
    with open(out, "w") as f:
        json.dump({"series": series, "families": families}, f, indent=1, sort_keys=True)
    return 1 if bad else 0


def cmd_journal(d, out):
    tally = {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".jsonl"):
            continue
        with open(os.path.join(d, fn), encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                k = "%s|%s|%s" % (r.get("policy-type"), r.get("result-type"), r.get("action"))
                tally[k] = tally.get(k, 0) + 1
    with open(out, "w") as f:
        json.dump(tally, f, indent=1, sort_keys=True)
    return 0


def family_of(key):
    n = key.split("{", 1)[0]
    for suf in ("_bucket", "_sum", "_count"):
        if n.endswith(suf) and n.startswith("mxtls_policy_lookup_seconds"):
            return "mxtls_policy_lookup_seconds"
    return n


def terms(e):
    """the series of SERIES+SERIES... (a label value may hold a +)"""
    return re.split(r'\+(?=mxtls_)', e)


def cmd_delta(args):
    before = json.load(open(args[0]))["series"]
    after = json.load(open(args[1]))["series"]
    rest = args[2:]
    jb = ja = None
    fams = None
    expect = {}
    absolute = []
    i = 0
    while i < len(rest):
        if rest[i] == "--journal":
            jb, ja = json.load(open(rest[i + 1])), json.load(open(rest[i + 2]))
            i += 3
        elif rest[i] == "--families":
            fams = set(rest[i + 1].split(","))
            i += 2
        elif rest[i].startswith("@"):
            m = re.match(r'@(.*?)(>=|=)([0-9.]+)$', rest[i])
            absolute.append((m.group(1), m.group(2), float(m.group(3))))
            i += 1
        else:
            k, _, v = rest[i].rpartition("=")
            expect[k] = float(v)
            i += 1
    if fams is None:
        fams = {family_of(k) for e in expect for k in terms(e)}
    bad = []
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    named = set()
    for e, want in sorted(expect.items()):
        ks = terms(e)
        named |= set(ks)
        missing = [k for k in ks if k not in after]
        if missing:
            bad.append("no series %s after" % ", ".join(missing))
        elif sum(delta[k] for k in ks) != want:
            bad.append("%s changed by %g, expected %g" % (e, sum(delta[k] for k in ks), want))
    for k, op, want in absolute:
        v = after.get(k)
        if v is None or (op == "=" and v != want) or (op == ">=" and v < want):
            bad.append("%s is %s, expected %s %g" % (k, v, op, want))
    for k in sorted(delta):
        if k in named or family_of(k) not in fams:
            continue
        if delta[k] != 0:
            bad.append("%s changed by %g, expected no change" % (k, delta[k]))
    if jb is not None:
        jd = {}
        for k in set(jb) | set(ja):
            n = ja.get(k, 0) - jb.get(k, 0)
            if n:
                jd[k] = n
        att, act = {}, {}
        for k, n in jd.items():
            p, r, a = k.split("|")
            att[(p, r)] = att.get((p, r), 0) + n
            act[(a, r)] = act.get((a, r), 0) + n
        for k, n in delta.items():
            m = re.match(r'mxtls_upstream_attempts_total\{policy_type=([^,]*),result=([^}]*)\}$', k)
            if m and n != att.get((m.group(1), m.group(2)), 0):
                bad.append("%s changed by %g, the journal got %d such records" %
                           (k, n, att.get((m.group(1), m.group(2)), 0)))
            m = re.match(r'mxtls_attempt_actions_total\{action=([^,]*),result=([^}]*)\}$', k)
            if m and n != act.get((m.group(1), m.group(2)), 0):
                bad.append("%s changed by %g, the journal got %d such records" %
                           (k, n, act.get((m.group(1), m.group(2)), 0)))
        for (p, r), n in att.items():
            k = "mxtls_upstream_attempts_total{policy_type=%s,result=%s}" % (p, r)
            if k not in after:
                bad.append("the journal got %d records %s/%s, no such series" % (n, p, r))
        jn = sum(jd.values())
        rd = delta.get("mxtls_journal_records_total", 0)
        if rd != jn:
            bad.append("mxtls_journal_records_total changed by %g, the journal got %d records" % (rd, jn))
        print("journal: %s" % json.dumps(jd, sort_keys=True))
    print("delta: %s" % json.dumps({k: v for k, v in sorted(delta.items()) if v}, sort_keys=True))
    for b in bad:
        print("FAIL: %s" % b)
    return 1 if bad else 0


def cmd_http(addr, method, path):
    data = request(addr, ("%s %s HTTP/1.1\r\nHost: mxtlsd\r\n\r\n" % (method, path)).encode())
    status, hdrs, body = split_response(data)
    print("%s body=%d" % (status, len(body)))
    return 0


def cmd_oversize(addr):
    s = socket.create_connection(addr_of(addr), timeout=10)
    t0 = time.time()
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 9000)
    except OSError:
        pass
    data, closed = b"", "no"
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = "yes"
                break
            data += b
    except OSError:
        closed = "yes" if data else "reset"
    st = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "none"
    print("status=%s closed=%s seconds=%.2f" % (st, closed, time.time() - t0))
    return 0


def cmd_slow(addr, n, out):
    conns = []
    t0 = time.time()
    for i in range(n):
        s = socket.create_connection(addr_of(addr), timeout=5)
        s.setblocking(False)
        try:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n")
        except OSError:
            pass
        conns.append({"s": s, "got": b"", "end": None, "how": "open"})
    while time.time() - t0 < 10 and any(c["end"] is None for c in conns):
        live = [c["s"] for c in conns if c["end"] is None]
        r, _, _ = select.select(live, [], [], 0.2)
        for c in conns:
            if c["s"] not in r or c["end"] is not None:
                continue
            try:
                b = c["s"].recv(4096)
            except OSError:
                b = b""
            if b:
                c["got"] += b
                continue
            c["end"] = time.time() - t0
            c["how"] = "408" if c["got"].startswith(b"HTTP/1.1 408 ") else "closed"
    res = [{"how": c["how"], "seconds": round(c["end"], 2) if c["end"] is not None else None}
           for c in conns]
    for c in conns:
        c["s"].close()
    with open(out, "w") as f:
        json.dump(res, f)
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "scrape":
        return cmd_scrape(a[1], a[2])
    if len(a) == 3 and a[0] == "journal":
        return cmd_journal(a[1], a[2])
    if len(a) >= 3 and a[0] == "delta":
        return cmd_delta(a[1:])
    if len(a) == 4 and a[0] == "http":
        return cmd_http(a[1], a[2], a[3])
    if len(a) == 2 and a[0] == "oversize":
        return cmd_oversize(a[1])
    if len(a) == 4 and a[0] == "slow":
        return cmd_slow(a[1], int(a[2]), a[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
