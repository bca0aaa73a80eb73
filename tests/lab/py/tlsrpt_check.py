#!/usr/bin/python3
"""tlsrpt_check - compare mxtls-report's TLSRPT reports with what the lab saw.

SYNOPSIS
    tlsrpt_check.py --lab LAB_DIR --reports DIR --since EPOCH --day YYYY-MM-DD
                    [--day YYYY-MM-DD] [--submitter NAME] [--org TEXT]
                    [--contact TEXT] [--expected OUT.json] [--exclude WINDOWS]

DESCRIPTION
    Counts, without looking at mxtlsd's journal or log, the upstream
    attempts mxtlsd made since EPOCH, per recipient policy domain, leaving
    out those within the WINDOWS (labtool.py journal-drop: the scenarios
    this count cannot follow, whose records the reports leave out too):

      - every connection a lab MX sink logged in LAB_DIR/log/*.conns
        (mxsink.py --connlog) whose peer is mxtlsd (192.0.2.1,
        2001:db8::1) is one attempt.  Its domain is that of its first
        recipient; a connection that never got to RCPT (its TLS failed, or
        the MX offered no STARTTLS where TLS is required) belongs to the
        domain of the next connection of the same mxtlsd session (one with
        a recipient, starting within 1 s, to an MX of a domain whose MX the
        sink is, per the lab zones), else that of the Postfix delivery
        attempt (maillog status= line) that spans its time.  Failure, and its result type, from what the sink saw: a
        failed handshake, or TLS with no EHLO after it, or no STARTTLS
        offered and no transaction, is a failure of the type the sink's
        certificate or lack of STARTTLS stands for (SINK_RESULT); a
        transaction after TLS is a success, except for (domain, sink)
        pairs the scenarios deliver to in spite of a failure (MTA-STS
        testing, TLS-Required: No: ANYWAY).
      - an MX host that policy rules out before connecting (bogus.example:
        dnssec-invalid; nomatch.sts.example's good1: validation-failure)
        counts one failure per Postfix delivery attempt to the domain
        (maillog status= lines with a relay).
      - DANE attempts (policy type tlsa) also count for the MX host's own
        report when the host publishes a TLSRPT record (tlsrpt.tsv).

    Then reads every DIR/*.json.gz, checks its name, its JSON (RFC 8460
    4), and that its summary and failure details equal those counts, and
    that there is exactly one report per domain counted (per day built).
    Prints one line per check: "PASS NAME" or "FAIL NAME: reason".  Exit 0
    when all passed.
"""

import argparse
import calendar
import collections
import glob
import gzip
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labtool import in_windows, load_windows  # noqa: E402

MXTLSD_IPS = {"192.0.2.1", "2001:db8::1"}

# what a failed attempt at this sink is (its certificate, or no STARTTLS)
SINK_RESULT = {
    "192.0.2.34": "certificate-host-mismatch",   # DANE-TA chain, leaf other.example
    "192.0.2.35": "tlsa-invalid",                # two-mx MX 10: wrong digest
    "192.0.2.37": "tlsa-invalid",                # one-bad (until fixed)
    "192.0.2.39": "starttls-not-supported",      # pkix-notls
    "192.0.2.52": "certificate-host-mismatch",   # wrongname.sts.example
    "192.0.2.53": "certificate-expired",
    "192.0.2.54": "certificate-not-trusted",     # self-signed
    "192.0.2.60": "starttls-not-supported",      # notls.sts.example
    "192.0.2.26": "starttls-not-supported",      # mx2.lab.example
    "2001:db8::26": "starttls-not-supported",
}
# delivered in spite of a failed policy check: (domain, sink) -> result type
ANYWAY = {
    ("testing.sts.example", "192.0.2.52"): "certificate-host-mismatch",
    ("dane-ta-wrongname.example", "192.0.2.34"): "certificate-host-mismatch",
    ("notls.sts.example", "192.0.2.60"): "starttls-not-supported",
}
# domains that publish MTA-STS but whose policy host gives no usable policy
# (sts-badpolicy): every session is that MTA-STS failure, whatever its TLS
STS_UNUSABLE = {
    "html.sts.example": "sts-policy-fetch-error",
    "redirect.sts.example": "sts-policy-fetch-error",
    "notfound.sts.example": "sts-policy-fetch-error",
    "big.sts.example": "sts-policy-fetch-error",
    "syntax.sts.example": "sts-policy-invalid",
    "badtls.sts.example": "sts-webpki-invalid",
}
# plaintext delivery to a domain without a policy (mx2): a downgrade, recorded
PLAIN_NO_POLICY = "starttls-not-supported"
# MX hosts ruled out before any connection, per delivery attempt (the
# failure names the host's address, from the lab zones, as receiving-ip)
SKIPS = {
    "bogus.example": [("mx.bogus.example", "dnssec-invalid")],
    "nomatch.sts.example": [("good1.sts.example", "validation-failure")],
}
# policy types a domain's policies may have (default: no-policy-found)
TLSA_DOMAINS = {"dane-ee.example", "dane-ee-weird.example", "dane-ta.example",
                "dane-ta-wrongname.example", "two-mx.example", "one-bad.example",
                "pkix-only.example", "pkix-notls.example", "bogus.example", "cname.example",
                "malformed.example", "dane.sts.example"}
STS_DOMAINS = {"enforce.sts.example", "wild.sts.example", "badcert.sts.example",
               "nomatch.sts.example", "notls.sts.example", "testing.sts.example",
               "cache.sts.example", "reload.sts.example", "sts-unsigned.example"}
MIXED = {"allbad.sts.example": {"sts", "no-policy-found"}}

SKIP_RESULTS = {r for v in SKIPS.values() for _, r in v}
RESULTS = {"success", "starttls-not-supported", "certificate-host-mismatch",
           "certificate-expired", "certificate-not-trusted", "validation-failure",
           "tlsa-invalid", "dnssec-invalid", "dane-required", "sts-policy-fetch-error",
           "sts-policy-invalid", "sts-webpki-invalid"}

OUT = []


def ok(name):
    OUT.append("PASS %s" % name)


def bad(name, why):
    OUT.append("FAIL %s: %s" % (name, why[:1500]))


def tally(e, res, sink):
    """tally - one session of result res at sink into expectation e"""
    if res == "success":
        e["ok"] += 1
    else:
        e["failed"] += 1
        e["fails"][(res, sink)] += 1


def peer_ip(p):
    if p.startswith("["):
        return p[1:].partition("]")[0]
    return p.rpartition(":")[0]


def load_zones(lab):
    """MX hosts per domain and addresses per host, from the zone sources."""
    mx = collections.defaultdict(list)
    addr = collections.defaultdict(set)
    cname = {}
    for zf in glob.glob(os.path.join(lab, "dns", "zones", "*.zone")):
        origin = ""
        for line in open(zf):
            line = line.split(";")[0].rstrip("\n")
            if line.startswith("$ORIGIN"):
                origin = line.split()[1].rstrip(".")
                continue
            if not line.strip() or line.startswith("$"):
                continue
            f = line.split()
            if len(f) < 3:
                continue
            owner = f[0]
            i = 1
            while i < len(f) and f[i] not in ("MX", "A", "AAAA", "CNAME", "TXT", "TLSA", "NS",
                                             "SOA", "DS"):
                i += 1
            if i >= len(f) - 1:
                continue
            typ, rd = f[i], f[i + 1:]
            if owner == "@":
                name = origin
            elif owner.endswith("."):
                name = owner.rstrip(".")
            else:
                name = owner + ("." + origin if origin else "")
            name = name.lower()
            if typ == "MX":
                mx[name].append((int(rd[0]), rd[1].rstrip(".").lower()))
            elif typ in ("A", "AAAA"):
                addr[name].add(rd[0].lower())
            elif typ == "CNAME":
                cname[name] = rd[0].rstrip(".").lower()
    for h, t in cname.items():
        addr[h] |= addr.get(t, set())
    return mx, addr


def maillog_status(lab, since, wins):
    """[(time, domain, delay, has_relay)] of Postfix's status= lines."""
    out = []
    year = time.gmtime().tm_year
    rx = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d) .*: to=<[^>]*@([^>]+)>, relay=([^,]+), "
                    r"delay=([0-9.]+), .* status=(\w+)")
    for line in open(os.path.join(lab, "log", "maillog"), errors="replace"):
        m = rx.match(line)
        if not m:
            continue
        t = time.mktime(time.strptime("%d %s" % (year, m.group(1)), "%Y %b %d %H:%M:%S"))
        if t + 1 < since or in_windows(t, wins):
            continue
        out.append((t, m.group(2).lower(), float(m.group(4)), m.group(3) != "none"))
    return out


def count(lab, since, tlsrpt_names, wins):
    mx, addr = load_zones(lab)
    sink_domains = collections.defaultdict(set)
    for d, hosts in mx.items():
        for _, h in hosts:
            for a in addr.get(h, ()):
                sink_domains[a].add(d)
    host_of = {}
    for d, hosts in mx.items():
        for _, h in hosts:
            for a in addr.get(h, ()):
                host_of.setdefault(a, h)
    status = maillog_status(lab, since, wins)
    # per domain: ok, failed, Counter((result, ip)), per-host Counter
    exp = collections.defaultdict(lambda: {"ok": 0, "failed": 0, "fails": collections.Counter()})
    notes = []
    conns = []
    for cf in glob.glob(os.path.join(lab, "log", "*.conns")):
        for line in open(cf):
            try:
                c = json.loads(line)
            except ValueError:
                continue
            if peer_ip(c["peer"]) not in MXTLSD_IPS or c["start"] < since \
                    or in_windows(c["start"], wins):
                continue
            conns.append(c)
    conns.sort(key=lambda c: c["start"])
    for i, c in enumerate(conns):
        if True:
            sink = peer_ip(c["local"])
            dom = None
            if c["rcpts"]:
                dom = c["rcpts"][0].rpartition("@")[2].lower()
            else:
                cands = sink_domains.get(sink, set())
                # the same mxtlsd session goes on to the next MX host at
                # once: the first connection with a recipient right after
                # this one, to an MX of one of the candidate domains
                for n in conns[i + 1:]:
                    if n["start"] > c["end"] + 1.0:
                        break
                    if n["rcpts"]:
                        d = n["rcpts"][0].rpartition("@")[2].lower()
                        if d in cands:
                            dom = d
                            break
                best = None if dom is None else (0, dom)
                for t, d, delay, relay in (status if best is None else ()):
                    if d not in cands or not relay:
                        continue
                    if t - delay - 1.5 <= c["start"] <= t + 1.0:
                        dist = abs(t - c["start"])
                        if best is None or dist < best[0]:
                            best = (dist, d)
                if best:
                    dom = best[1]
                elif len(cands) == 1:
                    dom = next(iter(cands))
            if dom is None:
                notes.append("connection %s -> %s at %.3f: no domain (no RCPT, no Postfix attempt)"
                             % (c["peer"], c["local"], c["start"]))
                continue
            tls = c["tls"] is not None
            if c["tls_error"] or (tls and not c["ehlo_after_tls"]):
                res = SINK_RESULT.get(sink, "unexpected-failure-at-" + sink)
            elif not tls:
                if c["starttls"]:
                    res = "unexpected-starttls-without-tls"
                elif sink in SINK_RESULT and SINK_RESULT[sink] == "starttls-not-supported":
                    if c["mails"] and (dom, sink) not in ANYWAY:
                        res = PLAIN_NO_POLICY
                    else:
                        res = "starttls-not-supported"
                else:
                    res = "unexpected-plaintext"
            else:
                res = ANYWAY.get((dom, sink), "success")
            if dom in STS_UNUSABLE and not res.startswith("unexpected"):
                res = STS_UNUSABLE[dom]
            tally(exp[dom], res, sink)
            # the MX host's own report (DANE only)
            h = host_of.get(sink)
            if dom in TLSA_DOMAINS and h and h != dom and h in tlsrpt_names:
                tally(exp[h], res, sink)
    for d, skips in SKIPS.items():
        n = sum(1 for t, dd, _, relay in status if dd == d and relay)
        for host, res in skips:
            ips = sorted(addr.get(host, ()))
            if n and ips:
                exp[d]["failed"] += n
                exp[d]["fails"][(res, ips[0])] += n
                if d in TLSA_DOMAINS and host in tlsrpt_names:
                    exp[host]["failed"] += n
                    exp[host]["fails"][(res, ips[0])] += n
    return exp, notes


def check_report(name, rep, dom, days, args, e, per_host):
    why = []
    if rep.get("organization-name") != args.org:
        why.append("organization-name %r" % rep.get("organization-name"))
    if rep.get("contact-info") != args.contact:
        why.append("contact-info %r" % rep.get("contact-info"))
    dr = rep.get("date-range") or {}
    st, en = dr.get("start-datetime", ""), dr.get("end-datetime", "")
    day = st[:10]
    if day not in days or st != day + "T00:00:00Z" or en != day + "T23:59:59Z":
        why.append("date-range %r" % dr)
    rid = "%s.%s.%sT00.00.00Z+%s@%s" % (day[:4], day[5:7], day[8:10], dom, args.submitter)
    if rep.get("report-id") not in (rid, "<%s>" % rid):
        why.append("report-id %r, expected %r" % (rep.get("report-id"), rid))
    pols = rep.get("policies")
    if not isinstance(pols, list) or not pols:
        why.append("no policies")
        pols = []
    okn = failn = 0
    fails = collections.Counter()
    for p in pols:
        pol = p.get("policy") or {}
        pt = pol.get("policy-type")
        allowed = MIXED.get(dom) or ({"tlsa"} if dom in TLSA_DOMAINS else
                                     {"sts"} if dom in STS_DOMAINS or dom in STS_UNUSABLE
                                     else {"no-policy-found"})
        if per_host:
            allowed = {"tlsa"}
        if pt not in allowed:
            why.append("policy-type %r (expected %s)" % (pt, "/".join(sorted(allowed))))
        pd = pol.get("policy-domain")
        if pd != dom and not (per_host and isinstance(pd, str)):
            why.append("policy-domain %r" % pd)
        if pt in ("tlsa", "sts"):
            ps = pol.get("policy-string")
            only_bogus = all(f.get("result-type") == "dnssec-invalid"
                             for f in p.get("failure-details") or [{}])
            if not isinstance(ps, list) or not all(isinstance(x, str) for x in ps) or \
                    (not ps and not (pt == "tlsa" and only_bogus) and dom not in STS_UNUSABLE):
                why.append("%s policy-string %r" % (pt, ps))
            elif pt == "sts" and dom not in STS_UNUSABLE and \
                    not any(x.startswith("version: STSv1") for x in ps):
                why.append("sts policy-string lacks version: STSv1: %r" % ps)
            elif pt == "tlsa" and not all(re.match(r"^\d+ \d+ \d+ [0-9A-Fa-f]+$", x) for x in ps):
                why.append("tlsa policy-string %r" % ps)
        mh = pol.get("mx-host")
        if mh is not None and not (isinstance(mh, list) and all(isinstance(x, str) for x in mh)):
            why.append("mx-host %r" % mh)
        s = p.get("summary") or {}
        a, b = s.get("total-successful-session-count"), s.get("total-failure-session-count")
        if not isinstance(a, int) or not isinstance(b, int):
            why.append("summary %r" % s)
            continue
        okn += a
        failn += b
        fsum = 0
        for f in p.get("failure-details") or []:
            rt = f.get("result-type")
            n = f.get("failed-session-count")
            if rt not in RESULTS or rt == "success":
                why.append("result-type %r" % rt)
            if not isinstance(n, int) or n < 1:
                why.append("failed-session-count %r" % n)
                continue
            sip = f.get("sending-mta-ip")
            if sip not in MXTLSD_IPS and not (sip is None and rt in SKIP_RESULTS):
                why.append("sending-mta-ip %r%s" % (sip, " (an empty string is no IP address; "
                                                    "omit it for a host never connected to)"
                                                    if sip == "" else ""))
            if not f.get("receiving-mx-hostname"):
                why.append("no receiving-mx-hostname in %r" % f)
            fsum += n
            fails[(rt, f.get("receiving-ip") or "")] += n
        if fsum != b:
            why.append("failure details add up to %d, summary says %d failures" % (fsum, b))
    if why:
        bad("json-%s" % name, "; ".join(why))
    else:
        ok("json-%s" % name)
    return okn, failn, fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", required=True)
    ap.add_argument("--reports", required=True)
    ap.add_argument("--since", type=float, required=True)
    ap.add_argument("--day", action="append", required=True)
    ap.add_argument("--submitter", default="mxtls.lab.example")
    ap.add_argument("--org", default="mxtls lab")
    ap.add_argument("--contact", default="mailto:tlsrpt-admin@mta.lab.example")
    ap.add_argument("--expected")
    ap.add_argument("--exclude")
    args = ap.parse_args()
    names = set()
    try:
        for line in open(os.path.join(args.lab, "dns", "tlsrpt.tsv")):
            if line.strip():
                names.add(line.split("\t")[0].lower())
    except OSError:
        pass
    exp, notes = count(args.lab, args.since, names,
                       load_windows(args.exclude) if args.exclude else [])
    if args.expected:
        with open(args.expected, "w") as f:
            json.dump({d: {"ok": e["ok"], "failed": e["failed"],
                           "fails": ["%s %s %d" % (k[0], k[1], n) for k, n in sorted(e["fails"].items())]}
                       for d, e in sorted(exp.items())}, f, indent=1)
            f.write("\n")
    if notes:
        bad("attempts-attributed", "; ".join(notes[:5]))
    else:
        ok("attempts-attributed")
    got = collections.defaultdict(lambda: [0, 0, collections.Counter(), 0])
    files = sorted(glob.glob(os.path.join(args.reports, "*")))
    day0 = {d: calendar.timegm(time.strptime(d, "%Y-%m-%d")) for d in args.day}
    mx, _ = load_zones(args.lab)
    mxhosts = {h for hosts in mx.values() for _, h in hosts}
    fname = re.compile(r"^(.+)!(.+)!(\d+)!(\d+)\.json\.gz$")
    for fpath in files:
        base = os.path.basename(fpath)
        m = fname.match(base)
        if not m:
            bad("filename-%s" % base, "not SUBMITTER!DOMAIN!BEGIN!END.json.gz")
            continue
        sub, dom, b, e = m.group(1), m.group(2).lower(), int(m.group(3)), int(m.group(4))
        if sub != args.submitter or b not in day0.values() or e not in (b + 86400, b + 86399):
            bad("filename-%s" % base, "submitter %s, begin %d, end %d (days %s)" % (sub, b, e, day0))
        else:
            ok("filename-%s" % dom)
        try:
            with gzip.open(fpath) as f:
                rep = json.loads(f.read())
        except (OSError, ValueError, EOFError) as x:
            bad("gzip-json-%s" % dom, "%s: %s" % (base, x))
            continue
        per_host = dom in mxhosts and dom not in mx
        a, f_, fl = check_report(dom, rep, dom, args.day, args, exp.get(dom), per_host)
        g = got[dom]
        g[0] += a
        g[1] += f_
        g[2] += fl
        g[3] += 1
    want = {d for d, e in exp.items() if e["ok"] + e["failed"] > 0}
    have = set(got)
    missing, extra = want - have, have - want
    if missing or extra:
        bad("one-report-per-domain", "no report for: %s; unexpected reports for: %s (counted: %s)"
            % (", ".join(sorted(missing)) or "-", ", ".join(sorted(extra)) or "-",
               ", ".join(sorted(want))))
    else:
        ok("one-report-per-domain")
    for d in sorted(want | have):
        e = exp.get(d, {"ok": 0, "failed": 0, "fails": collections.Counter()})
        g = got.get(d, [0, 0, collections.Counter(), 0])
        if d in have and g[3] > len(args.day):
            bad("one-report-%s" % d, "%d reports for %d day(s)" % (g[3], len(args.day)))
        if (g[0], g[1]) == (e["ok"], e["failed"]):
            ok("counts-%s" % d)
        else:
            bad("counts-%s" % d, "report: %d successful, %d failed; the lab counted %d successful, %d failed"
                % (g[0], g[1], e["ok"], e["failed"]))
        if g[2] == e["fails"]:
            ok("failures-%s" % d)
        else:
            bad("failures-%s" % d, "report (result-type receiving-ip count): %s; the lab counted: %s"
                % (sorted("%s %s %d" % (k[0], k[1] or "-", n) for k, n in g[2].items()),
                   sorted("%s %s %d" % (k[0], k[1] or "-", n) for k, n in e["fails"].items())))
    print("\n".join(OUT))
    return 1 if any(l.startswith("FAIL") for l in OUT) else 0


if __name__ == "__main__":
    sys.exit(main())
