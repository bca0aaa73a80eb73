#!/usr/bin/python3
"""tlsrpt_delivered - did `mxtls-report send` deliver each built report?

SYNOPSIS
    tlsrpt_delivered.py check --lab LAB_DIR --reports DIR [--wait S]
                        [--submitter NAME] [--sender ADDR]
    tlsrpt_delivered.py count --lab LAB_DIR

DESCRIPTION
    check: for every report DIR/*.json.gz whose domain publishes a TLSRPT
    record in the lab (LAB_DIR/dns/tlsrpt.tsv), each rua URI must have got
    it exactly once:

      mailto:NAME@reports.lab.example - a message in the Maildir
        LAB_DIR/mailbox/NAME/new (Postfix's virtual agent) that is
        multipart/report; report-type="tlsrpt", with TLS-Report-Domain,
        TLS-Report-Submitter, "Subject: Report Domain: D Submitter: S
        Report-ID: <ID>", TLS-Required: No, From the report sender, a
        text part and an application/tlsrpt+gzip part (base64, named
        like the report file) that gunzips to the same JSON as the file;
      https://tlsrpt.lab.example/tlsrpt/X - a POST stored by rptsink.py in
        LAB_DIR/rpt with Content-Type application/tlsrpt+gzip whose body
        gunzips to the same JSON as the file.

    Nothing else may have arrived (no mail or POST for a domain without a
    record).  Waits up to --wait seconds for everything to arrive.  Prints
    "PASS NAME" / "FAIL NAME: reason" lines; exit 0 when all passed.

    count: prints "MAILS POSTS" (what has arrived so far).
"""

import argparse
import email
import email.policy
import glob
import gzip
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlsrpt_check import OUT, bad, ok  # noqa: E402


def mails(lab):
    return sorted(glob.glob(os.path.join(lab, "mailbox", "*", "new", "*")))


def posts(lab):
    return sorted(glob.glob(os.path.join(lab, "rpt", "*.json")))


def records(lab):
    rua = {}
    for line in open(os.path.join(lab, "dns", "tlsrpt.tsv")):
        if not line.strip():
            continue
        name, txt = line.rstrip("\n").split("\t", 1)
        m = re.search(r"rua=([^;]*)", txt)
        rua[name.lower()] = [u.strip() for u in m.group(1).split(",")] if m else []
    return rua


def check(args):
    rua = records(args.lab)
    want_mail, want_post = {}, {}
    reports = {}
    for f in sorted(glob.glob(os.path.join(args.reports, "*.json.gz"))):
        base = os.path.basename(f)
        dom = base.split("!")[1].lower()
        with gzip.open(f) as g:
            rep = json.loads(g.read())
        rid = rep.get("report-id", "")
        reports[(dom, rid)] = (base, rep)
        for u in rua.get(dom, []):
            if u.startswith("mailto:"):
                want_mail[(u[7:].lower(), dom, rid)] = base
            elif u.startswith("https:"):
                want_post[(u.split("/", 3)[3] if u.count("/") >= 3 else "", dom, rid)] = base
    end = time.time() + args.wait
    while time.time() < end and (len(mails(args.lab)) < len(want_mail) or
                                 len(posts(args.lab)) < len(want_post)):
        time.sleep(0.2)
    time.sleep(0.5)     # anything more that would arrive
    got_mail = {}
    for path in mails(args.lab):
        box = path.split(os.sep)[-3]
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        dom = (msg.get("TLS-Report-Domain") or "").strip().lower()
        why = []
        subj = str(msg.get("Subject") or "")
        m = re.match(r"^Report Domain: (\S+) Submitter: (\S+) Report-ID: <?([^>]+)>?$", subj)
        rid = m.group(3) if m else None
        if not m or m.group(1).lower() != dom or m.group(2) != args.submitter:
            why.append("Subject %r" % subj)
        if (msg.get("TLS-Report-Submitter") or "").strip() != args.submitter:
            why.append("TLS-Report-Submitter %r" % msg.get("TLS-Report-Submitter"))
        if (msg.get("TLS-Required") or "").strip().lower() != "no":
            why.append("TLS-Required %r" % msg.get("TLS-Required"))
        if args.sender and args.sender not in str(msg.get("From") or ""):
            why.append("From %r (report_sender %s)" % (msg.get("From"), args.sender))
        if "%s@reports.lab.example" % box not in str(msg.get("To") or "").lower():
            why.append("To %r" % msg.get("To"))
        for h in ("Date", "Message-ID", "MIME-Version"):
            if not msg.get(h):
                why.append("no %s" % h)
        if msg.get_content_type() != "multipart/report" or msg.get_param("report-type") != "tlsrpt":
            why.append("Content-Type %r" % msg.get("Content-Type"))
        parts = list(msg.iter_parts()) if msg.is_multipart() else []
        text = [p for p in parts if p.get_content_type() == "text/plain"]
        att = [p for p in parts if p.get_content_type() == "application/tlsrpt+gzip"]
        if not text:
            why.append("no text/plain part (parts: %s)" % [p.get_content_type() for p in parts])
        if len(att) != 1:
            why.append("%d application/tlsrpt+gzip parts (parts: %s)"
                       % (len(att), [p.get_content_type() for p in parts]))
        key = (box + "@reports.lab.example", dom, rid)
        if att:
            a = att[0]
            if (a.get("Content-Transfer-Encoding") or "").lower() != "base64":
                why.append("attachment Content-Transfer-Encoding %r" % a.get("Content-Transfer-Encoding"))
            fn = a.get_filename()
            want_fn = want_mail.get(key)
            if want_fn and fn != want_fn:
                why.append("attachment filename %r, expected %r" % (fn, want_fn))
            try:
                js = json.loads(gzip.decompress(a.get_payload(decode=True)))
            except (OSError, ValueError, EOFError) as x:
                why.append("attachment does not gunzip to JSON: %s" % x)
                js = None
            if js is not None:
                r = reports.get((dom, js.get("report-id")))
                if r is None:
                    why.append("attachment report-id %r is no built report of %s" % (js.get("report-id"), dom))
                elif r[1] != js:
                    why.append("attachment JSON differs from the built report %s" % r[0])
                elif js.get("report-id") != rid:
                    why.append("Subject Report-ID %r, attachment %r" % (rid, js.get("report-id")))
        name = "mail-%s-%s" % (box, dom or "?")
        if key in got_mail:
            bad(name, "a second message for report %s in %s" % (rid, box))
        got_mail[key] = path
        if key not in want_mail:
            bad(name, "not expected: %s (expected: %s)" % (key, sorted(want_mail)))
        elif why:
            bad(name, "%s: %s" % (os.path.basename(path), "; ".join(why)))
        else:
            ok(name)
    for key in sorted(set(want_mail) - set(got_mail)):
        bad("mail-%s-%s" % (key[0].split("@")[0], key[1]),
            "no message to %s with report %s (%s) arrived within %d s" % (key[0], key[2], want_mail[key], args.wait))
    got_post = {}
    for jp in posts(args.lab):
        rec = json.load(open(jp))
        path = rec["path"].lstrip("/")
        why = []
        if rec.get("content_type") != "application/tlsrpt+gzip":
            why.append("Content-Type %r" % rec.get("content_type"))
        try:
            js = json.loads(gzip.decompress(open(jp[:-5] + ".body", "rb").read()))
        except (OSError, ValueError, EOFError) as x:
            why.append("body does not gunzip to JSON: %s" % x)
            js = {}
        dom = ""
        for (d, rid), (base, rep) in reports.items():
            if rid == js.get("report-id"):
                dom = d
                if rep != js:
                    why.append("body JSON differs from the built report %s" % base)
        key = (path, dom, js.get("report-id"))
        name = "https-%s" % (dom or path)
        if key in got_post:
            bad(name, "a second POST of report %s to /%s" % (key[2], path))
        got_post[key] = jp
        if key not in want_post:
            bad(name, "not expected: POST /%s of %s (expected: %s)" % (path, key[2], sorted(want_post)))
        elif why:
            bad(name, "POST %s: %s" % (os.path.basename(jp), "; ".join(why)))
        else:
            ok(name)
    for key in sorted(set(want_post) - set(got_post)):
        bad("https-%s" % key[1], "no POST of report %s (%s) to /%s within %d s" % (key[2], want_post[key], key[0], args.wait))
    if not want_mail or not want_post:
        bad("something-to-send", "built reports for record domains: %d mail, %d https" % (len(want_mail), len(want_post)))
    print("\n".join(OUT))
    return 1 if any(l.startswith("FAIL") for l in OUT) else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["check", "count"])
    ap.add_argument("--lab", required=True)
    ap.add_argument("--reports")
    ap.add_argument("--wait", type=float, default=15)
    ap.add_argument("--submitter", default="mxtls.lab.example")
    ap.add_argument("--sender", default="")
    args = ap.parse_args()
    if args.cmd == "count":
        print("%d %d" % (len(mails(args.lab)), len(posts(args.lab))))
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
