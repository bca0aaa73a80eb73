#!/bin/bash
# crash_test.sh - kill -9 mxtlsd in the middle of a burst of sessions: no
# completed upstream attempt may be missing from the journal.
#
# SYNOPSIS
#	tests/lab/crash_test.sh		(as root; `make lab` and `make asan` run it)
#
# DESCRIPTION
#	Builds the lab world (lib.sh lab_up: Postfix is there but unused),
#	then tests/lab/py/burst.py, in mxl-mta, sends CRASH_TOTAL (300) messages,
#	CRASH_CONC (16) sessions at a time, each in a session of its own, half
#	to tls.lab.example (192.0.2.25, no policy) and half to dane-ee.example
#	(192.0.2.31, DANE-EE); iptables hands them to mxtlsd.  When a third
#	of them are done, mxtlsd gets SIGKILL and is started again at once;
#	the client retries what failed until all are sent.  Checks (one
#	PASS:/FAIL: line each):
#	  burst-sent		every message got 250 after DATA (retried)
#	  killed-mid-burst	the kill hit sessions in flight (some retried)
#	  restarted		mxtlsd came back after the kill
#	  nothing-lost		every message the client saw accepted is at its sink
#	  journal-has-every-delivery  for every message a sink stored, the
#				journal (journal_dir/DAY.jsonl) has a success record
#				for its domain whose sending-mta-ip and sending-port are
#				the sink's peer of that connection
#	  journal-no-corrupt-line  the journal has no corrupt line (a torn
#				last line would be allowed)
#	  summary-replays	mxtls-report summary reads the journal, exit 0
#	  summary-torn-line	with a torn last line appended (a copy of the
#				journal), summary exits 0, reports the torn line
#				(its journal line, or a warning) and counts exactly
#				the same sessions
#	  build-torn-line	build of that copy warns on stderr and writes the
#				same reports as build of the real journal
#	The last line is "crash: N passed, N failed".  Takes about 30 s.
#
# ENVIRONMENT
#	MXTLSD, MXTLS_REPORT, LAB_KEEP=1 (see lib.sh); CRASH_TOTAL, CRASH_CONC
[ -n "$BASH_VERSION" ] || exec /bin/bash "$0" "$@"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

TOTAL=${CRASH_TOTAL:-300}
CONC=${CRASH_CONC:-16}
PASSES=0
FAILS=0
pass() { echo "PASS: crash $1"; PASSES=$((PASSES + 1)); }
fail() { local c=$1; shift; local r=$*; echo "FAIL: crash $c: ${r:0:1500}"; FAILS=$((FAILS + 1)); }
finish() {
	trap - EXIT INT TERM
	[ -n "$BURST_PID" ] && kill "$BURST_PID" 2>/dev/null
	lab_down
	echo "crash: finished in $(( $(date +%s) - T0 )) s" >&2
	echo "crash: $PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
	exit
}
BURST_PID=
T0=$(date +%s)
trap finish EXIT
trap 'fail interrupted "signal"; finish' INT TERM

if [ "$(id -u)" != 0 ]; then fail setup "needs root"; exit 1; fi
if [ ! -x "$MXTLS_REPORT" ]; then fail setup "no executable $MXTLS_REPORT"; exit 1; fi
if ! lab_up; then FAILS=$((FAILS + 1)); exit 1; fi
if ! grep -q '^journal_dir = ' "$LAB_DIR/mxtlsd.conf"; then
	fail setup "$MXTLSD has no journal_dir key"; exit 1
fi

RES=$LAB_DIR/work/burst.jsonl
: >"$RES"
lab_in_mta "$LAB_PY" "$LAB_PY_DIR/burst.py" --target 192.0.2.25:25=tls.lab.example \
	--target 192.0.2.31:25=dane-ee.example --total "$TOTAL" --concurrency "$CONC" \
	--deadline 40 --tag "crash$$" --out "$RES" >"$LAB_DIR/log/burst.log" 2>&1 </dev/null 9>&- &
BURST_PID=$!

# kill -9 when a third is done
killed=
end=$(( $(lab_now_ms) + 30000 ))
while [ "$(lab_now_ms)" -lt $end ] && kill -0 "$BURST_PID" 2>/dev/null; do
	if [ "$(wc -l <"$RES")" -ge $((TOTAL / 3)) ]; then
		kill -KILL "$LAB_MXTLSD_PID"
		wait "$LAB_MXTLSD_PID" 2>/dev/null
		killed=$(wc -l <"$RES")
		lab_log "crash: SIGKILL to mxtlsd (pid $LAB_MXTLSD_PID) after $killed of $TOTAL messages"
		echo "=== $(date -u +%FT%TZ) crash_test: SIGKILL" >>"$LAB_DIR/log/mxtlsd.log"
		LAB_MXTLSD_PID=
		break
	fi
	sleep 0.02
done
if [ -z "$killed" ]; then
	fail killed-mid-burst "the burst did not get to $((TOTAL / 3)) messages in 30 s: $(tail -n 3 "$LAB_DIR/log/burst.log")"
	exit 1
fi
if lab_mxtlsd_start; then pass restarted
else fail restarted "mxtlsd did not start again: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"; fi

wait "$BURST_PID"
st=$?
BURST_PID=
n=$(grep -c '"ok": true' "$RES")
if [ "$st" = 0 ] && [ "$n" = "$TOTAL" ]; then pass burst-sent
else fail burst-sent "$n of $TOTAL messages sent (burst.py exit $st): $(grep -m 2 '"ok": false' "$RES")"; fi
retried=$(grep -c '"tries": [2-9]' "$RES")
if [ "$killed" -lt "$TOTAL" ] && [ "$retried" -gt 0 ]; then pass killed-mid-burst
else fail killed-mid-burst "killed after $killed of $TOTAL; $retried sessions retried"; fi
lab_log "crash: $retried of $TOTAL messages needed more than one session"
sleep 0.5	# the last sessions' journal lines

# every delivery has its journal record; nothing accepted is lost
out=$("$LAB_PY" - "$LAB_DIR" "$RES" <<'PY'
import glob, json, os, sys
lab, res = sys.argv[1], sys.argv[2]
recs = []
bad_lines = 0
for j in sorted(glob.glob(os.path.join(lab, "journal", "*.jsonl"))):
    data = open(j, "rb").read()
    lines = data.split(b"\n")
    for k, l in enumerate(lines):
        if not l:
            continue
        try:
            recs.append(json.loads(l))
        except ValueError:
            if k == len(lines) - 1:
                continue            # a torn last line: allowed
            bad_lines += 1
idx = {}
for r in recs:
    if r.get("result-type") == "success":
        idx.setdefault((r.get("sending-mta-ip"), r.get("sending-port")), []).append(r)
sinks = {"tls.lab.example": "mx1", "dane-ee.example": "192.0.2.31"}
stored = {}
missing = []
n = 0
for dom, sink in sinks.items():
    for jp in glob.glob(os.path.join(lab, "mail", sink, "*.json")):
        m = json.load(open(jp))
        if not m["rcpts"] or not m["rcpts"][0].startswith("crash"):
            continue
        n += 1
        rc = m["rcpts"][0]
        stored.setdefault(rc, []).append(m)
        ip, _, port = m["peer"].rpartition(":")
        cand = [r for r in idx.get((ip.strip("[]"), int(port)), [])
                if r.get("policy-domain") == dom and abs(r["time"] - m["time"]) < 60]
        if not cand:
            missing.append("%s (sink %s message %d, peer %s)" % (rc, sink, m["n"], m["peer"]))
lost = []
for l in open(res):
    j = json.loads(l)
    if j["ok"] and j["rcpt"] not in stored:
        lost.append(j["rcpt"])
print("journal %d %d %s" % (n, len(missing), "; ".join(missing[:5])))
print("lost %d %s" % (len(lost), " ".join(lost[:5])))
print("corrupt %d" % bad_lines)
PY
)
read -r _ nstored nmiss why <<<"$(grep '^journal ' <<<"$out")"
read -r _ nlost lostwhy <<<"$(grep '^lost ' <<<"$out")"
read -r _ ncorrupt <<<"$(grep '^corrupt ' <<<"$out")"
if [ "${nlost:-x}" = 0 ]; then pass nothing-lost
else fail nothing-lost "${nlost:-?} messages the client saw accepted are at no sink: $lostwhy ($out)"; fi
if [ "${nmiss:-x}" = 0 ] && [ "${nstored:-0}" -ge "$TOTAL" ]; then pass journal-has-every-delivery
else fail journal-has-every-delivery "${nmiss:-?} of ${nstored:-?} stored messages have no success record with the sink's peer address and port: $why"; fi
if [ "${ncorrupt:-x}" = 0 ]; then pass journal-no-corrupt-line
else fail journal-no-corrupt-line "${ncorrupt:-?} corrupt lines (not the last) in the journal"; fi
lab_log "crash: $nstored messages stored at the sinks"

# the journal replays; a torn last line is skipped with a warning
day=$(date -u +%F)
if lab_report summary --day "$day" >"$LAB_DIR/log/crash-summary.log" 2>&1; then
	pass summary-replays
else
	fail summary-replays "mxtls-report summary exited $?: $(tail -n 3 "$LAB_DIR/log/crash-summary.log")"
fi
torn=$LAB_DIR/work/torn-journal
rm -rf "$torn"
mkdir -p "$torn"
cp "$LAB_DIR/journal/"*.jsonl "$torn/"
f=$torn/$day.jsonl
[ -n "$(tail -c 1 "$f")" ] && echo >>"$f"	# an already torn line becomes a corrupt one
printf '{"time":%s,"sending-port":4' "$(date +%s)" >>"$f"
sed "s|^journal_dir = .*|journal_dir = $torn|" "$LAB_DIR/mxtlsd.conf" >"$LAB_DIR/work/torn.conf"
lab_in_mta "$MXTLS_REPORT" -c "$LAB_DIR/work/torn.conf" summary --day "$day" \
	>"$LAB_DIR/log/crash-summary-torn.log" 2>"$LAB_DIR/log/crash-summary-torn.err"
st=$?
if [ "$st" = 0 ] && grep -qiE 'torn|incomplete' "$LAB_DIR/log/crash-summary-torn.err" \
	<(grep -i 'journal' "$LAB_DIR/log/crash-summary-torn.log" | grep -v 'no torn') &&
   diff <(grep -v "$LAB_DIR" "$LAB_DIR/log/crash-summary.log" | grep -vi 'journal') \
	<(grep -v "$LAB_DIR" "$LAB_DIR/log/crash-summary-torn.log" | grep -vi 'journal') >/dev/null; then
	pass summary-torn-line
else
	fail summary-torn-line "exit $st; stderr: $(head -c 300 "$LAB_DIR/log/crash-summary-torn.err"); table differs: $(diff <(grep -vi journal "$LAB_DIR/log/crash-summary.log") <(grep -vi journal "$LAB_DIR/log/crash-summary-torn.log") | head -n 6)"
fi
# build warns about it on stderr, and builds the same reports
mkdir -p "$LAB_DIR/work/torn-out" "$LAB_DIR/work/crash-out"
lab_in_mta "$MXTLS_REPORT" -c "$LAB_DIR/work/torn.conf" build --day "$day" --out "$LAB_DIR/work/torn-out" \
	>"$LAB_DIR/log/crash-build-torn.log" 2>&1
st=$?
lab_report build --day "$day" --out "$LAB_DIR/work/crash-out" >"$LAB_DIR/log/crash-build.log" 2>&1
if [ "$st" = 0 ] && grep -qiE 'warning: .*(torn|incomplete)' "$LAB_DIR/log/crash-build-torn.log" &&
   [ -n "$(ls "$LAB_DIR/work/crash-out")" ] &&
   [ "$(cd "$LAB_DIR/work/crash-out" && for f in *; do gzip -dc "$f" | md5sum; done)" = \
     "$(cd "$LAB_DIR/work/torn-out" && for f in *; do gzip -dc "$f" | md5sum; done)" ]; then
	pass build-torn-line
else
	fail build-torn-line "build with a torn last line: exit $st, $(grep -iE 'torn|incomplete' "$LAB_DIR/log/crash-build-torn.log" | head -n 1 || echo no warning); reports $(ls "$LAB_DIR/work/torn-out" | wc -l) vs $(ls "$LAB_DIR/work/crash-out" | wc -l), or their JSON differs"
fi
if [ -n "$LAB_MXTLSD_PID" ] && kill -0 "$LAB_MXTLSD_PID" 2>/dev/null; then pass mxtlsd-alive
else fail mxtlsd-alive "the restarted mxtlsd is gone: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"; fi
if lab_mxtlsd_sanitized; then
	if san=$(lab_sanitizer_lines 0); then fail sanitizer-clean "$(echo "$san" | head -n 3)"
	else pass sanitizer-clean; fi
fi
exit 0
