#!/usr/bin/python3
"""hostile_check - judge what hostile_client.py and hostile_mx.py recorded.

SYNOPSIS
    hostile_check.py wait-idle MXLOG OFFSET TIMEOUT
    hostile_check.py smuggle PREFIX CLIENT.json MXLOG START END
    hostile_check.py smuggle-all CHECK MXLOG CLIENT.json...
    hostile_check.py selftest CHECK MXLOG CLIENT.json:START:END...
    hostile_check.py mx PREFIX CLIENT.json LIMIT [--data250]
    hostile_check.py trickle PREFIX CLIENT.json LIMIT

DESCRIPTION
    Every subcommand but wait-idle prints one line per check,
    "PASS NAME" or "FAIL NAME: reason", and exits 0 (the caller counts
    the lines); exit 2 on usage errors.

    wait-idle waits (at most TIMEOUT seconds) until every connection that
    hostile_mx.py's --log MXLOG shows after octet OFFSET has ended, then
    prints the log's size (the next OFFSET).

    smuggle judges one `hostile_client.py smuggle' run against the part
    START..END of MXLOG (octets) that its connections wrote:
      PREFIX-refused       the client got a 4xx or 5xx for the hostile
                           message, and no 2xx for its end of data
      PREFIX-nothing-after nothing sent after the hostile octets was
                           executed as a command: the next reply was HELP's
                           214, or mxtlsd had closed the connection
      PREFIX-mx-clean      every MAIL, RCPT and DATA the MX read is one the
                           client sent as a real CRLF-ended command outside
                           DATA (same address; no more DATA than the client
                           sent), and each ended in CRLF at the MX
    smuggle-all makes the PREFIX-mx-clean judgement for the whole MXLOG
    against everything every client sent (a command that landed in another
    case's part of the log is still caught).

    selftest: the same smuggling sent straight to the lenient MX (not
    through mxtlsd) must be executed there: CHECK passes when, for every
    CLIENT.json, its part START..END of MXLOG shows a command that client
    did not send (else a PASS of PREFIX-mx-clean would prove nothing).

    mx judges one `hostile_client.py txn' through mxtlsd to a hostile MX:
      PREFIX-tempfail      the first step that did not get what a normal
                           MX gives (MAIL 250, RCPT 250, DATA 354, end of
                           data 250) got a 4xx: the old MTA keeps the mail
      PREFIX-bounded       every reply came within LIMIT seconds of its
                           command
    and with --data250 also
      PREFIX-data-not-2xx  DATA did not get a 2xx
      PREFIX-data-451      DATA got 451 4.5.0 (what the fix is to say)

    trickle judges one `hostile_client.py trickle':
      PREFIX-421           mxtlsd said 421 while the command trickled in
      PREFIX-closed-in-time  the 421, and the end of the connection, came
                           within LIMIT seconds of the first trickled octet
"""

import json
import os
import sys
import time


def out(ok, name, why=""):
    if ok:
        print("PASS %s" % name)
    else:
        print("FAIL %s: %s" % (name, " ".join(str(why).split("\n"))[:1800]))


def mxlog(path, start=0, end=None):
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read() if end is None else f.read(max(0, end - start))
    except OSError:
        return []
    recs = []
    for l in data.splitlines():
        try:
            recs.append(json.loads(l))
        except ValueError:
            pass
    return recs


def path_of(arg):
    """the address in "FROM:<a>" / "TO:<a> ...", or the argument as is"""
    i = arg.find("<")
    if i < 0:
        return None
    j = arg.rfind(">")
    return arg[i + 1:j] if j > i else arg[i + 1:] + " (no '>')"


def unclean(recs, mail, rcpt, ndata):
    """the commands of recs that nobody sent as real commands"""
    bad = []
    seen_data = 0
    for r in recs:
        if r.get("event") != "command" or r.get("verb") not in ("MAIL", "RCPT", "DATA"):
            continue
        line, verb = r.get("line", ""), r["verb"]
        what = "conn %s (%s): %r ended by %s" % (r.get("conn"), r.get("state"), line[:160],
                                                  r.get("term"))
        if r.get("term") != "crlf":
            bad.append(what + " (not CRLF)")
            continue
        arg = line[4:].strip()
        if verb == "MAIL":
            a = path_of(arg[5:] if arg[:5].upper() == "FROM:" else arg)
            if a not in mail:
                bad.append(what + " (a sender the client never gave)")
        elif verb == "RCPT":
            a = path_of(arg[3:] if arg[:3].upper() == "TO:" else arg)
            if a not in rcpt:
                bad.append(what + " (a recipient the client never gave)")
        else:
            seen_data += 1
            if seen_data > ndata:
                bad.append(what + " (DATA number %d; the client sent %d)" % (seen_data, ndata))
    return bad


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"error": "no result from the client (%s)" % e}


def steps_str(res):
    return "; ".join("%s -> %s%s" % (s["cmd"][:80], s["code"], " [%s]" % s["error"]
                                     if s.get("error") else "")
                     for s in res.get("steps", []))


def c_wait_idle(log, off, timeout):
    end = time.time() + float(timeout)
    off = int(off)
    while True:
        recs = mxlog(log, off)
        conns = {r["conn"] for r in recs if r.get("event") == "connect"}
        gone = {r["conn"] for r in recs if r.get("event") == "disconnect"}
        if conns <= gone or time.time() >= end:
            break
        time.sleep(0.1)
    try:
        print(os.path.getsize(log))
    except OSError:
        print(0)


def c_smuggle(prefix, cj, log, start, end):
    res = load(cj)
    if res.get("error") and not res.get("steps"):
        for c in ("refused", "nothing-after", "mx-clean"):
            out(False, "%s-%s" % (prefix, c), res["error"])
        return
    if res.get("refused"):
        out(True, prefix + "-refused")
    else:
        out(False, prefix + "-refused", "the client was not refused: verdict %s; steps: %s%s"
            % (res.get("verdict"), steps_str(res),
               "; client error: %s" % res["error"] if res.get("error") else ""))
    if res.get("probe") in ("214", "closed") and not res.get("extra"):
        out(True, prefix + "-nothing-after")
    else:
        out(False, prefix + "-nothing-after", "after the hostile octets the client got replies "
            "to commands it never sent: %s (HELP probe: %s)" % (res.get("extra"), res.get("probe")))
    lg = res.get("legit", {})
    recs = mxlog(log, int(start), int(end))
    bad = unclean(recs, lg.get("mail", []), lg.get("rcpt", []), lg.get("data", 0))
    if bad:
        out(False, prefix + "-mx-clean", "the MX executed %d smuggled command(s): %s"
            % (len(bad), " | ".join(bad[:6])))
    else:
        out(True, prefix + "-mx-clean")


def c_smuggle_all(name, log, *cjs):
    mail, rcpt, ndata = [], [], 0
    for cj in cjs:
        lg = load(cj).get("legit", {})
        mail += lg.get("mail", [])
        rcpt += lg.get("rcpt", [])
        ndata += lg.get("data", 0)
    recs = mxlog(log)
    bad = unclean(recs, mail, rcpt, ndata)
    if bad:
        out(False, name, "in the whole session log of the MX, %d smuggled command(s): %s"
            % (len(bad), " | ".join(bad[:8])))
    else:
        ncmd = sum(1 for r in recs if r.get("event") == "command")
        if ncmd == 0:
            out(False, name, "the MX log has no commands at all (did mxtlsd ever connect?)")
        else:
            out(True, name)


def c_selftest(name, log, *runs):
    tame = []
    for run in runs:
        cj, start, end = run.rsplit(":", 2)
        res = load(cj)
        lg = res.get("legit", {})
        if not unclean(mxlog(log, int(start), int(end)), lg.get("mail", []),
                       lg.get("rcpt", []), lg.get("data", 0)):
            tame.append(res.get("case", cj))
    if tame:
        out(False, name, "sent straight to the lenient MX, these cases were not executed as "
            "smuggled commands there (so passing through mxtlsd proves nothing): %s" % tame)
    else:
        out(True, name)


WANT = {"MAIL": (250,), "RCPT": (250, 251), "DATA": (354,), "(message": (250,)}


def c_mx(prefix, cj, limit, *flags):
    res = load(cj)
    limit = float(limit)
    steps = res.get("steps", [])
    if not steps:
        for c in ("tempfail", "bounded") + (("data-not-2xx", "data-451") if flags else ()):
            out(False, "%s-%s" % (prefix, c), res.get("error") or "no steps")
        return
    outcome = None
    for s in steps:
        key = next((k for k in WANT if s["cmd"].startswith(k)), None)
        if key is None:
            continue
        if s["code"] not in WANT[key]:
            outcome = s
            break
    if outcome is None:
        out(False, prefix + "-tempfail", "the transaction went through as with a normal MX: %s"
            % steps_str(res))
    elif outcome["code"] is not None and outcome["code"] // 100 == 4:
        out(True, prefix + "-tempfail")
    elif outcome["code"] is None:
        out(False, prefix + "-tempfail", "%s got no reply (%s after %.1fs): %s"
            % (outcome["cmd"], outcome["error"], outcome["seconds"], steps_str(res)))
    else:
        out(False, prefix + "-tempfail", "%s got %s, not a 4xx: %s"
            % (outcome["cmd"], outcome["reply"][:200], steps_str(res)))
    slow = ["%s: %.1fs (%s)" % (s["cmd"][:60], s["seconds"], s["error"] or s["code"])
            for s in steps if s["seconds"] > limit]
    if slow:
        out(False, prefix + "-bounded", "over the limit of %gs: %s" % (limit, "; ".join(slow)))
    else:
        out(True, prefix + "-bounded")
    if flags:
        d = next((s for s in steps if s["cmd"] == "DATA"), None)
        if d is None:
            out(False, prefix + "-data-not-2xx", "DATA was never sent: %s" % steps_str(res))
            out(False, prefix + "-data-451", "DATA was never sent")
            return
        if d["code"] is not None and d["code"] // 100 == 2:
            out(False, prefix + "-data-not-2xx", "DATA got %s: a 2xx the MX gave instead of 354, "
                "passed on to the old MTA" % d["reply"][:200])
        else:
            out(True, prefix + "-data-not-2xx")
        if d["reply"].startswith("451 4.5.0"):
            out(True, prefix + "-data-451")
        else:
            out(False, prefix + "-data-451", "DATA got %r, expected 451 4.5.0"
                % (d["reply"][:200] or d["error"]))


def c_trickle(prefix, cj, limit):
    res = load(cj)
    limit = float(limit)
    if res.get("first") is None:
        out(False, prefix + "-421", res.get("error") or "nothing was trickled")
        out(False, prefix + "-closed-in-time", res.get("error") or "nothing was trickled")
        return
    first = res["first"]
    r421 = next((r for r in res.get("replies", []) if r[1].startswith("421")), None)
    if r421:
        out(True, prefix + "-421")
    else:
        out(False, prefix + "-421", "no 421 while %d octets trickled in, one at a time "
            "(end: %s; replies: %s)" % (res["sent"], res["end"], res.get("replies")))
    eof = res.get("eof")
    if r421 and eof and r421[0] - first <= limit and eof - first <= limit + 2:
        out(True, prefix + "-closed-in-time")
    else:
        out(False, prefix + "-closed-in-time", "limit %gs from the first octet; 421 after %s, "
            "close after %s (%d octets sent by then; end: %s)"
            % (limit, "%.1fs" % (r421[0] - first) if r421 else "never",
               "%.1fs" % (eof - first) if eof else "never", res["sent"], res["end"]))


def main():
    cmds = {"wait-idle": (c_wait_idle, 3), "smuggle": (c_smuggle, 5),
            "smuggle-all": (c_smuggle_all, 3), "selftest": (c_selftest, 3), "mx": (c_mx, 3), "trickle": (c_trickle, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 < cmds[sys.argv[1]][1]:
        print(__doc__.split("DESCRIPTION")[0], file=sys.stderr)
        return 2
    f, _ = cmds[sys.argv[1]]
    f(*sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
