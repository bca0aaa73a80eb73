#!/bin/sh
# report_merge_test.sh [MXTLS_REPORT] - fleet reports end to end with the
# mxtls-report binary: journals of two gateways (and a copy of one) under
# a collection directory, merged by --journal into one report per domain
# and day; counts that add up, a failure detail per gateway's sending IP,
# copies counted once, a report file and report-id that do not depend on
# the gateways or the order they are read in, without --journal the
# journal_dir alone as before, and hostile journals (an over-long line, a
# NUL byte, a record-id with other content, a directory that is not
# there) as warnings naming the file and line, or an error.  No DNS
# (dns_resolver = none), no network: it runs wherever `make unit' runs.
# One PASS:/FAIL: line per check.
rpt=${1:-${MXTLS_REPORT:-./mxtls-report}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
DAY=2025-11-22
T0=1763769600

pass() { echo "PASS: report-merge $1"; }
fail() { echo "FAIL: report-merge $1"; fails=$((fails + 1)); }
check() { if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1: $3"; fi; }

# rec GW I SRC RESULT - one journal line of gateway GW, session I
rec() {
	if [ "$4" = success ]; then act=delivered; else act=refused; fi
	printf '{"time":%d,"sending-port":40000,"sid":"%010X","policy-domain":"a.example",' \
		$((T0 + $2 * 7)) "$2"
	printf '"policy-type":"no-policy-found","mx-host":"mx.a.example","receiving-ip":"198.51.100.25",'
	printf '"receiving-mx-helo":"mx.a.example","sending-mta-ip":"%s","result-type":"%s",' "$3" "$4"
	printf '"failure-reason-code":"","action":"%s","policy-string":[],"mx-host-pattern":[],' "$act"
	printf '"gateway-id":"%s","record-id":"%s:%010X:1:1"}\n' "$1" "$1" "$2"
}

# journal GW SRC N - N records, every 5th starttls-not-supported
journal() {
	i=0
	while [ $i -lt "$3" ]; do
		if [ $((i % 5)) -eq 0 ]; then r=starttls-not-supported; else r=success; fi
		rec "$1" $i "$2" $r
		i=$((i + 1))
	done
}

mkdir -p "$tmp/fleet/gw-a" "$tmp/fleet/gw-b" "$tmp/out1" "$tmp/out2" "$tmp/out3"
journal gw-a 192.0.2.1 50 >"$tmp/fleet/gw-a/$DAY.jsonl"
journal gw-b 192.0.2.2 30 >"$tmp/fleet/gw-b/$DAY.jsonl"
cp -r "$tmp/fleet/gw-a" "$tmp/fleet/gw-a-again"		# collected twice
cat >"$tmp/c.conf" <<CONF
journal_dir = $tmp/fleet/gw-b
report_submitter = fleet.example
report_state_dir = $tmp/state
dns_resolver = none
CONF

"$rpt" -c "$tmp/c.conf" summary --day $DAY >"$tmp/s0" 2>"$tmp/e0"
rc=$?
check "without --journal: journal_dir alone, as before" \
	$([ $rc -eq 0 ] && grep -q "^journal: $tmp/fleet/gw-b/$DAY.jsonl: 30 lines, 30 records" "$tmp/s0" &&
	! grep -q '^merged:' "$tmp/s0" && grep -Eq '^a\.example +domain +no-policy-found +30 +24 +6$' "$tmp/s0";
	echo $?) "rc=$rc $(cat "$tmp/s0" "$tmp/e0")"

"$rpt" -c "$tmp/c.conf" summary --day $DAY --journal "$tmp/fleet" >"$tmp/s1" 2>"$tmp/e1"
rc=$?
check "a collection: three journals, the copy counted once, the counts added" \
	$([ $rc -eq 0 ] && [ "$(grep -c '^journal: ' "$tmp/s1")" -eq 3 ] &&
	grep -q '^merged: 3 journals, 80 records, 50 copies counted once, 0 conflicting' "$tmp/s1" &&
	grep -Eq '^a\.example +domain +no-policy-found +80 +64 +16$' "$tmp/s1"; echo $?) \
	"rc=$rc $(cat "$tmp/s1" "$tmp/e1")"

"$rpt" -c "$tmp/c.conf" build --day $DAY --out "$tmp/out1" --journal "$tmp/fleet" >"$tmp/b1" 2>"$tmp/e2"
rc=$?
f="$tmp/out1/fleet.example!a.example!1763769600!1763855999.json.gz"
check "build: one report, named by the submitter, domain and day" \
	$([ $rc -eq 0 ] && [ -f "$f" ] && [ "$(ls "$tmp/out1" | wc -l)" -eq 1 ] &&
	grep -q 'report-id=2025.11.22T00.00.00Z+a.example@fleet.example sessions=80 failures=16' "$tmp/b1";
	echo $?) "rc=$rc $(cat "$tmp/b1" "$tmp/e2"; ls "$tmp/out1")"
check "the report: each gateway's failures under its own sending-mta-ip" \
	$(zcat "$f" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
p = r["policies"][0]
fd = {f["sending-mta-ip"]: f["failed-session-count"] for f in p["failure-details"]}
ok = (r["report-id"] == "2025.11.22T00.00.00Z+a.example@fleet.example"
    and p["summary"] == {"total-successful-session-count": 64, "total-failure-session-count": 16}
    and fd == {"192.0.2.1": 10, "192.0.2.2": 6})
sys.exit(0 if ok else 1)'; echo $?) "$(zcat "$f" 2>&1 | head -c 600)"

"$rpt" -c "$tmp/c.conf" build --day $DAY --out "$tmp/out2" --journal "$tmp/fleet/gw-b" \
	--journal "$tmp/fleet/gw-a-again" --journal "$tmp/fleet/gw-a" >/dev/null 2>&1
check "the same report, byte for byte, from the journals in another order" \
	$(cmp -s "$f" "$tmp/out2/fleet.example!a.example!1763769600!1763855999.json.gz"; echo $?) \
	"$(ls "$tmp/out2")"

grep -v '^report_submitter' "$tmp/c.conf" >"$tmp/nosub.conf"
"$rpt" -c "$tmp/nosub.conf" build --day $DAY --out "$tmp/out3" --journal "$tmp/fleet" >/dev/null 2>"$tmp/e3"
check "build --journal without report_submitter: a warning" \
	$(grep -q 'report_submitter is not set' "$tmp/e3"; echo $?) "$(cat "$tmp/e3")"

# hostile: an over-long line, a NUL byte, a record-id again with another line
mkdir -p "$tmp/bad/gw-c"
{
	journal gw-c 192.0.2.3 4
	head -c 100000 /dev/zero | tr '\0' x
	echo
	printf '{"time":1}\0\n'
	rec gw-c 1 192.0.2.3 starttls-not-supported	# id of line 2, other content
	journal gw-c 192.0.2.3 6 | tail -2
	printf '{"time":'
} >"$tmp/bad/gw-c/$DAY.jsonl"
"$rpt" -c "$tmp/c.conf" summary --day $DAY --journal "$tmp/bad" --journal "$tmp/fleet/gw-b" \
	>"$tmp/s4" 2>"$tmp/e4"
rc=$?
check "hostile journal: warnings name the file and line, the rest counted" \
	$([ $rc -eq 0 ] && grep -q "gw-c/$DAY.jsonl: 2 corrupt lines skipped (the first: line 5: line too long)" "$tmp/e4" &&
	grep -q "gw-c/$DAY.jsonl:7: record-id gw-c:0000000001:1:1 was read before with other content" "$tmp/e4" &&
	grep -q "gw-c/$DAY.jsonl: incomplete last line skipped" "$tmp/e4" &&
	grep -q '^merged: 2 journals, 36 records, 0 copies counted once, 1 conflicting' "$tmp/s4"; echo $?) \
	"rc=$rc $(cat "$tmp/s4" "$tmp/e4")"

"$rpt" -c "$tmp/c.conf" summary --day $DAY --journal "$tmp/nowhere" >/dev/null 2>"$tmp/e5"
rc=$?
check "a --journal that is not there: exit 1, named" \
	$([ $rc -eq 1 ] && grep -q -- "--journal $tmp/nowhere: No such file" "$tmp/e5"; echo $?) \
	"rc=$rc $(cat "$tmp/e5")"

[ $fails -eq 0 ]
