#!/usr/bin/env python3
"""notify_check.py - mxtlsd and systemd's readiness protocol (Type=notify).

Usage: notify_check.py TAG MXTLSD CONF WORKDIR

Run inside the test's network namespace (tests/lab/notify_test.sh), where
connections to 192.0.2.25:25 are redirected to mxtlsd's 127.0.0.1:10025.
Plays systemd: binds an AF_UNIX datagram socket with SO_PASSCRED, starts
MXTLSD -f -c CONF with NOTIFY_SOCKET pointing at it, and checks (one
PASS:/FAIL: line each, "notify TAG-NAME"):
  ready                READY=1 arrives (within 30 s)
  ready-from-main      ... sent by mxtlsd's own pid (NotifyAccess=main),
                       MAINPID= that pid, and no other process ever notifies
  ready-before-accept  while mxtlsd starts, connections are tried every few
                       ms; none gets mxtlsd's greeting before READY=1 is in
                       the socket (a greeting read is checked against the
                       datagrams queued at that moment)
  probed-before-ready  at least one such attempt was made before READY=1
                       (else the check above proved nothing)
  accepts-after-ready  a connection made right after READY=1 gets 220
  status-sessions      a STATUS= says "N session(s) (max M); journal ok"
  reload-order         SIGHUP: RELOADING=1 with MONOTONIC_USEC=, then a
                       STATUS= counting the one session held open, then
                       READY=1, in that order
  reload-rejected      a broken CONF and SIGHUP: RELOADING=1, a STATUS=
                       "last reload rejected: CONF:LINE: ...", READY=1;
                       mxtlsd still greets
  stopping             SIGTERM: STOPPING=1, and mxtlsd exits 0
  bad-config-start     a broken CONF at start: mxtlsd exits non-zero
                       without READY=1, its stderr naming CONF:LINE
With log_format = json in CONF also:
  json-log             every line mxtlsd wrote parses as a JSON object
                       with time, level and msg
"""
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time

TAG, MXTLSD, CONF, WORK = sys.argv[1:5]
DST = ("192.0.2.25", 25)
fails = 0


def result(name, ok, why=""):
    global fails
    if ok:
        print("PASS: notify %s-%s" % (TAG, name))
    else:
        fails += 1
        print("FAIL: notify %s-%s: %s" % (TAG, name, why))
    sys.stdout.flush()


class Notify:
    """The socket systemd would listen on; every datagram with its pid."""

    def __init__(self, path):
        if os.path.exists(path):
            os.unlink(path)
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.s.bind(path)
        self.s.setblocking(False)
        self.msgs = []  # (time, pid, {key: value}, raw)

    def drain(self, wait=0.0):
        """Read what is queued (waiting up to wait s for the first)."""
        got = []
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            r, _, _ = select.select([self.s], [], [], max(left, 0))
            if not r:
                return got
            data, anc, _, _ = self.s.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = None
            for lvl, typ, cd in anc:
                if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cd[:12])[0]
            kv = {}
            for line in data.decode(errors="replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    kv[k] = v
            m = (time.monotonic(), pid, kv, data)
            self.msgs.append(m)
            got.append(m)
            end = time.monotonic()  # what is queued, no more waiting

    def wait_for(self, key, value=None, timeout=10.0, since=0):
        """The first message from index since with key (= value)."""
        end = time.monotonic() + timeout
        while True:
            for i in range(since, len(self.msgs)):
                kv = self.msgs[i][2]
                if key in kv and (value is None or kv[key] == value):
                    return i
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.drain(min(left, 0.2))


def greeting(timeout):
    """Connect to DST: the first line of the greeting, '' for none in
    time, None when the connection is refused; and the socket."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(timeout)
    try:
        c.connect(DST)
    except (ConnectionRefusedError, socket.timeout, OSError):
        c.close()
        return None, None
    try:
        data = c.recv(512)
    except socket.timeout:
        return "", c
    except OSError:
        c.close()
        return None, None
    return data.decode(errors="replace").split("\r\n")[0], c


def exit_within(p, secs):
    """p's exit status, or "timeout" (and p killed) after secs"""
    try:
        return p.wait(secs)
    except subprocess.TimeoutExpired:
        p.kill()
        return "timeout"


def has_ready(n):
    return any(m[2].get("READY") == "1" for m in n.msgs)


def start(n, conf, log):
    env = dict(os.environ, NOTIFY_SOCKET=n.path)
    errf = open(log, "wb")
    p = subprocess.Popen([MXTLSD, "-f", "-c", conf], env=env, stdin=subprocess.DEVNULL,
                         stdout=errf, stderr=errf)
    return p, errf


def main():
    n = Notify(os.path.join(WORK, TAG + ".notify"))
    log = os.path.join(WORK, TAG + ".log")
    p, errf = start(n, CONF, log)

    # While it starts: try to connect every few ms, until READY=1.
    probes = early = 0
    held = []
    t_end = time.monotonic() + 30
    while not has_ready(n) and time.monotonic() < t_end and p.poll() is None:
        g, c = greeting(0.02)
        probes += 1
        n.drain()
        if g:
            # Greeted: READY=1 must be queued already (it was sent before
            # the loop that answers).
            if not has_ready(n):
                early += 1
            held.append(c)
        elif c:
            held.append(c)  # in the backlog: answered later
        else:
            time.sleep(0.005)
    ri = n.wait_for("READY", "1", timeout=max(t_end - time.monotonic(), 0.1))
    result("ready", ri is not None, "no READY=1 in 30 s (mxtlsd %s)"
           % ("running" if p.poll() is None else "exited %s" % p.returncode))
    if ri is None:
        p.kill()
        return
    _, rpid, rkv, _ = n.msgs[ri]
    pids = set(m[1] for m in n.msgs)
    result("ready-from-main", rpid == p.pid and rkv.get("MAINPID") == str(p.pid),
           "READY=1 from pid %s, MAINPID=%s, mxtlsd is %d" % (rpid, rkv.get("MAINPID"), p.pid))
    result("ready-before-accept", early == 0,
           "%d of %d connections were greeted before READY=1 was sent" % (early, probes))
    result("probed-before-ready", probes > 0, "no connection tried before READY=1")
    for c in held:
        c.close()
    g, c = greeting(2.0)
    result("accepts-after-ready", g is not None and g.startswith("220 "),
           "greeting %r" % g)
    si = n.wait_for("STATUS", timeout=2)
    st = n.msgs[si][2]["STATUS"] if si is not None else ""
    result("status-sessions", re.match(r"^\d+ sessions? \(max \d+\); journal ok", st) is not None,
           "STATUS=%r" % st)

    # SIGHUP with the one session (c) open, once the probes' are gone.
    time.sleep(0.5)
    mark = len(n.msgs)
    os.kill(p.pid, signal.SIGHUP)
    r1 = n.wait_for("RELOADING", "1", since=mark)
    r2 = n.wait_for("READY", "1", since=(r1 or mark) + 1) if r1 is not None else None
    stat = [i for i in range(mark, len(n.msgs)) if "STATUS" in n.msgs[i][2]]
    ok = (r1 is not None and r2 is not None and "MONOTONIC_USEC" in n.msgs[r1][2]
          and any(r1 < i < r2 and n.msgs[i][2]["STATUS"].startswith("1 session ")
                  for i in stat))
    result("reload-order", ok, "after SIGHUP: %r" % [m[3] for m in n.msgs[mark:]])
    if c:
        c.close()

    # A broken file on SIGHUP.
    good = open(CONF).read()
    lines = good.count("\n")
    with open(CONF, "a") as f:
        f.write("max_sessions = lots\n")
    mark = len(n.msgs)
    os.kill(p.pid, signal.SIGHUP)
    r1 = n.wait_for("RELOADING", "1", since=mark)
    r2 = n.wait_for("READY", "1", since=(r1 or mark) + 1) if r1 is not None else None
    want = "last reload rejected: %s:%d: max_sessions" % (CONF, lines + 1)
    ok = (r1 is not None and r2 is not None
          and any(want in n.msgs[i][2].get("STATUS", "") for i in range(r1, r2)))
    with open(CONF, "w") as f:
        f.write(good)
    g, c2 = greeting(2.0)
    if c2:
        c2.close()
    result("reload-rejected", ok and g is not None and g.startswith("220 "),
           "want STATUS with %r between RELOADING=1 and READY=1, and a greeting (%r): %r"
           % (want, g, [m[3] for m in n.msgs[mark:]]))

    mark = len(n.msgs)
    os.kill(p.pid, signal.SIGTERM)
    rc = exit_within(p, 20)
    n.drain()
    stopping = any(m[2].get("STOPPING") == "1" for m in n.msgs[mark:])
    result("stopping", stopping and rc == 0, "STOPPING=1 %s, exit %s" % (stopping, rc))
    errf.close()
    others = set(m[1] for m in n.msgs) - {p.pid}
    if others:
        result("only-main-notifies", False, "datagrams from pids %s too" % others)

    if "log_format = json" in good:
        bad = []
        for line in open(log, errors="replace"):
            try:
                o = json.loads(line)
                if not all(k in o for k in ("time", "level", "msg")):
                    bad.append(line)
            except ValueError:
                bad.append(line)
        result("json-log", not bad and os.path.getsize(log) > 0,
               "%d lines not JSON objects, e.g. %r" % (len(bad), bad[:1]))

    # A broken file at start.
    badconf = os.path.join(WORK, TAG + ".bad.conf")
    with open(badconf, "w") as f:
        f.write(good + "mode = shadow\n")
    n2 = Notify(os.path.join(WORK, TAG + ".bad.notify"))
    blog = os.path.join(WORK, TAG + ".bad.log")
    q, qf = start(n2, badconf, blog)
    qrc = exit_within(q, 10)
    qf.close()
    n2.drain()
    text = open(blog, errors="replace").read()
    want = "%s:%d: mode:" % (badconf, good.count("\n") + 1)
    result("bad-config-start", qrc not in (0, "timeout") and not has_ready(n2) and want in text,
           "exit %s, READY=1 %s, stderr %r (want %r)" % (qrc, has_ready(n2), text[-300:], want))


main()
sys.exit(1 if fails else 0)
