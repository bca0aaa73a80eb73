#!/usr/bin/python3
"""labtool - small helpers for the lab scenarios (standard library only).

SUBCOMMANDS
    gen-message OUT --from A --to A --subject S --msgid ID [--size BYTES]
        Write a test message with LF line ends: UTF-8 8-bit body
        (Content-Transfer-Encoding: 8bit), lines starting with ".", "..",
        a lone ".", and, with --size, filler lines up to about BYTES octets.
    wait-msg MAILDIR RCPT TIMEOUT [--count K]
        Poll MAILDIR/*.json (every 0.1 s, at most TIMEOUT s) until at least K
        (default 1) messages list RCPT among their recipients; print their
        numbers, one per line.  Exit 1 on timeout (printing what was found).
    find-msg MAILDIR RCPT
        Print the numbers of the messages that list RCPT; never waits.
    where MAILROOT RCPT
        Look in every sink's store MAILROOT/SINK/ and print "SINK N" for each
        message that lists RCPT (sorted); nothing when no sink has it.
    json-get FILE KEY
        Print one key of a JSON object (lists: one item per line; null: "null").
    compare SUBMITTED EML
        Strip the first header of EML when it is a "Received:" header written
        by Postfix (or by Exim), turn CRLF into LF, and compare with SUBMITTED
        by sha256.  Exit 0 when identical; 1 with the first difference otherwise.
    exim-transcript FILE
        Read the SMTP dialogue of `exim -v` (FILE: its stderr, one or more
        deliveries and queue runs) and print, for every RCPT, DATA and end
        of data, the reply it got: "CONN TXN RCPT ADDRESS REPLY",
        "CONN TXN DATA - REPLY" or "CONN TXN END - REPLY" (CONN: the connection's number in FILE, from
        1; TXN: the MAIL transaction's number on that connection, from 1;
        REPLY: the reply's text, its lines joined by spaces; "(none)" when
        the connection ended first).  Pipelined commands (SMTP|>) are
        matched with their replies in order.
    queue-json
        Read `postqueue -j` output on stdin; print one line per queued
        recipient: "QUEUE_ID QUEUE_NAME ADDRESS DELAY_REASON".
    journal-grep DIR SINCE [KEY=VALUE ...]
        Print (one JSON object a line) the records of mxtlsd's journal
        DIR/*.jsonl whose "time" is at least SINCE (epoch seconds) and
        whose KEY equals VALUE for every KEY=VALUE given (numbers compared
        as text).  Lines that are not JSON objects (a torn last line) are
        skipped.  Exit 1 when none matched.
    journal-drop SRC DST WINDOWS
        Copy mxtlsd's journal SRC/*.jsonl into DST without the records whose
        "time" falls within one of the WINDOWS (a file of "NAME FIRST LAST"
        lines, whole epoch seconds, as tests/lab/run writes for the
        scenarios that report.sh cannot count: see in_windows); other lines
        are copied as they are.  Print how many records were left out.
    report-count DIR DOMAIN [RESULT]
        Sum, over the RFC 8460 reports DIR/*.json.gz (mxtls-report build),
        the policies of policy-domain DOMAIN: print "ok=N failed=N" and,
        with RESULT, " RESULT=N" (its failed-session-count).
"""

import glob
import gzip
import hashlib
import json
import os
import sys
import time

UTF8_LINES = [
    "Grüße aus dem Labor — ünïcödé, ελληνικά, 日本語のテキスト, emoji 📬.",
    "Ça va? Ñandú. Ærø. Œuvre. ß.",
]


def gen_message(out, sender, rcpt, subject, msgid, size):
    head = [
        "From: Lab Sender <%s>" % sender,
        "To: <%s>" % rcpt,
        "Subject: %s" % subject,
        "Date: Mon, 01 Jan 2024 00:00:00 +0000",
        "Message-ID: <%s>" % msgid,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    body = [
        "This message tests byte-exact relaying.",
        ".a line starting with one dot",
        "..a line starting with two dots",
        ".",
        "..",
        "...",
        " . a line starting with a space and a dot",
        "trailing spaces   ",
        "\ta tab-led line",
    ] + UTF8_LINES + ["x" * 900, "", "end of the fixed part."]
    text = "\n".join(head) + "\n\n" + "\n".join(body) + "\n"
    data = text.encode("utf-8")
    with open(out, "wb") as f:
        f.write(data)
        if size and size > len(data):
            # deterministic filler: 76-character lines, every 64th line
            # starting with a dot, every 100th with UTF-8.
            left = size - len(data)
            i = 0
            while left > 0:
                if i % 64 == 0:
                    line = (".%07d dot-led filler line " % i).ljust(75, "-")
                elif i % 100 == 1:
                    line = ("%07d " % i + UTF8_LINES[1]).ljust(60, "~")
                else:
                    line = ("%07d " % i) + hashlib.sha256(str(i).encode()).hexdigest()[:68]
                b = (line + "\n").encode("utf-8")
                f.write(b)
                left -= len(b)
                i += 1
            f.write(b"-- \nend of filler\n")


def matches(maildir, rcpt):
    found = []
    for j in glob.glob(os.path.join(maildir, "*.json")):
        try:
            with open(j) as f:
                rec = json.load(f)
        except (OSError, ValueError):
            continue
        if rcpt.lower() in [r.lower() for r in rec.get("rcpts", [])]:
            found.append(rec["n"])
    return sorted(found)


def compare(submitted, eml):
    with open(submitted, "rb") as f:
        want = f.read()
    with open(eml, "rb") as f:
        got = f.read()
    if b"\r\n\r\n" not in got:
        print("no header/body separator in %s" % eml)
        return 1
    if got.startswith(b"Received:"):
        # a header ends at a CRLF not followed by white space
        end = 0
        while True:
            end = got.index(b"\r\n", end) + 2
            if got[end:end + 1] not in (b" ", b"\t"):
                break
        first = got[:end]
        if b"(Postfix" in first or b"(Exim " in first:
            got = got[end:]
        else:
            print("first Received: header is neither Postfix's nor Exim's: %r" % first[:200])
    got = got.replace(b"\r\n", b"\n")
    hw, hg = hashlib.sha256(want).hexdigest(), hashlib.sha256(got).hexdigest()
    if hw == hg:
        print("identical sha256 %s (%d octets)" % (hw, len(want)))
        return 0
    off = next((i for i in range(min(len(want), len(got))) if want[i] != got[i]),
               min(len(want), len(got)))
    line = want[:off].count(b"\n") + 1
    print("sha256 differs: submitted %s (%d octets), at MX %s (%d octets); first difference at "
          "octet %d (line %d): submitted %r vs MX %r"
          % (hw[:16], len(want), hg[:16], len(got), off, line,
             want[max(0, off - 20):off + 40], got[max(0, off - 20):off + 40]))
    return 1


def exim_transcript(path):
    """The RCPT and end-of-data replies of an `exim -v` transcript."""
    out = []
    conn = 0
    txn = 0
    pending = []        # commands sent, replies due: (kind, arg, txn)
    reply = None        # the reply being read: [kind, arg, txn, lines]

    def flush_reply():
        nonlocal reply
        if reply is not None:
            kind, arg, t, lines = reply
            if kind in ("RCPT", "DATA", "END"):
                out.append("%d %d %s %s %s" % (conn, t, kind, arg, " ".join(lines)))
            reply = None

    def end_conn():
        flush_reply()
        for kind, arg, t in pending:
            if kind in ("RCPT", "DATA", "END"):
                out.append("%d %d %s %s (none)" % (conn, t, kind, arg))
        del pending[:]

    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("Connecting to "):
                end_conn()
                conn += 1
                txn = 0
                pending.append(("GREETING", "-", 0))
                continue
            s = line.strip()
            m = s[:6]
            if m in ("SMTP|>", "SMTP>>", "SMTP+>"):
                flush_reply()
                cmd = s[6:].strip()
                verb = cmd.split(" ", 1)[0].upper()
                if cmd.startswith("("):
                    continue            # (writing message)
                if verb == "MAIL":
                    txn += 1
                    pending.append(("MAIL", "-", txn))
                elif verb == "RCPT":
                    a = cmd[cmd.find("<") + 1:cmd.rfind(">")] if "<" in cmd else cmd
                    pending.append(("RCPT", a, txn))
                elif cmd == ".":
                    pending.append(("END", "-", txn))
                else:
                    pending.append((verb, "-", txn))
            elif s.startswith("SMTP(close)") or s.startswith("SMTP(shutdown)"):
                end_conn()
            elif m == "SMTP<<":
                flush_reply()
                kind, arg, t = pending.pop(0) if pending else ("?", "-", txn)
                reply = [kind, arg, t, [s[6:].strip()]]
            elif reply is not None and raw.startswith("         ") and s:
                reply[3].append(s)      # a continuation line of the reply
            else:
                flush_reply()
    end_conn()
    return out


def load_windows(path):
    """[(first, last)] of a file of "NAME FIRST LAST" lines (epoch seconds)."""
    wins = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 3:
                wins.append((int(w[1]), int(w[2])))
    return wins


def in_windows(t, wins):
    """Whether time T (epoch seconds, fractional or whole) falls in a window
    (FIRST, LAST): FIRST <= T < LAST + 1, i.e. within the seconds FIRST ..
    LAST (tests/lab/run starts and ends such a scenario on a second's edge,
    so nothing of another scenario shares those seconds)."""
    return any(a <= t < b + 1 for a, b in wins)


def journal_drop(src, dst, wins):
    """Copy SRC/*.jsonl into DST without the records of the windows."""
    dropped = 0
    os.makedirs(dst, exist_ok=True)
    for j in sorted(glob.glob(os.path.join(src, "*.jsonl"))):
        with open(j, "rb") as f, open(os.path.join(dst, os.path.basename(j)), "wb") as out:
            for raw in f:
                try:
                    r = json.loads(raw)
                except ValueError:
                    r = None
                if isinstance(r, dict) and isinstance(r.get("time"), (int, float)) \
                        and in_windows(r["time"], wins):
                    dropped += 1
                    continue
                out.write(raw)
    print(dropped)
    return 0


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        return 2
    cmd = a.pop(0)
    if cmd == "gen-message":
        out = a.pop(0)
        opts = {"--from": "sender@mta.lab.example", "--to": "rcpt@lab.example",
                "--subject": "lab test", "--msgid": "lab@mta.lab.example", "--size": "0"}
        while a:
            k = a.pop(0)
            opts[k] = a.pop(0)
        gen_message(out, opts["--from"], opts["--to"], opts["--subject"], opts["--msgid"],
                    int(opts["--size"]))
        return 0
    if cmd == "wait-msg":
        maildir, rcpt, timeout = a[0], a[1], float(a[2])
        count = int(a[4]) if len(a) > 4 and a[3] == "--count" else 1
        deadline = time.time() + timeout
        while True:
            found = matches(maildir, rcpt)
            if len(found) >= count or time.time() >= deadline:
                break
            time.sleep(0.1)
        for n in found:
            print(n)
        return 0 if len(found) >= count else 1
    if cmd == "find-msg":
        for n in matches(a[0], a[1]):
            print(n)
        return 0
    if cmd == "where":
        root, rcpt = a[0], a[1]
        for sink in sorted(os.listdir(root)):
            d = os.path.join(root, sink)
            if os.path.isdir(d):
                for n in matches(d, rcpt):
                    print("%s %d" % (sink, n))
        return 0
    if cmd == "json-get":
        with open(a[0]) as f:
            v = json.load(f).get(a[1])
        if isinstance(v, list):
            for x in v:
                print(x)
        elif v is None:
            print("null")
        else:
            print(v)
        return 0
    if cmd == "compare":
        return compare(a[0], a[1])
    if cmd == "exim-transcript":
        for x in exim_transcript(a[0]):
            print(x)
        return 0
    if cmd == "queue-json":
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            q = json.loads(line)
            for r in q.get("recipients", []):
                print("%s %s %s %s" % (q.get("queue_id"), q.get("queue_name"), r.get("address"),
                                       r.get("delay_reason", "")))
        return 0
    if cmd == "journal-grep":
        jdir, since = a[0], float(a[1])
        want = [x.split("=", 1) for x in a[2:]]
        found = 0
        for j in sorted(glob.glob(os.path.join(jdir, "*.jsonl"))):
            with open(j, "rb") as f:
                for raw in f:
                    try:
                        r = json.loads(raw)
                    except ValueError:
                        continue
                    if not isinstance(r, dict) or not isinstance(r.get("time"), (int, float)):
                        continue
                    if r["time"] < since:
                        continue
                    if all(str(r.get(k)) == v for k, v in want):
                        print(json.dumps(r, sort_keys=True))
                        found += 1
        return 0 if found else 1
    if cmd == "journal-drop":
        return journal_drop(a[0], a[1], load_windows(a[2]))
    if cmd == "report-count":
        rdir, domain = a[0], a[1]
        result = a[2] if len(a) > 2 else None
        n_ok = n_failed = n_result = 0
        for f in sorted(glob.glob(os.path.join(rdir, "*.json.gz"))):
            with gzip.open(f, "rb") as g:
                rep = json.load(g)
            for pol in rep.get("policies", []):
                if pol.get("policy", {}).get("policy-domain") != domain:
                    continue
                summ = pol.get("summary", {})
                n_ok += summ.get("total-successful-session-count", 0)
                n_failed += summ.get("total-failure-session-count", 0)
                for fd in pol.get("failure-details", []):
                    if fd.get("result-type") == result:
                        n_result += fd.get("failed-session-count", 0)
        print("ok=%d failed=%d%s" % (n_ok, n_failed,
                                     " %s=%d" % (result, n_result) if result else ""))
        return 0
    print("labtool: unknown command %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
