#!/bin/bash
# gateway_test.sh - the gateway topology (issue 12): the lab's Postfix on a
# host of its own, mxl-gmta (203.0.113.10, 2001:db8:203::10), whose
# default route is the gateway mxl-mta, where mxtls-iptables hands its
# port-25 connections to mxtlsd, which delivers to the lab's MX hosts in
# mxl-mx (LAB_FLAVOR=gateway; see lib.sh for the map).
# (make runs it as "bash tests/lab/gateway_test.sh")
[ -n "$BASH_VERSION" ] || exec /bin/bash "$0" "$@"
#
# Three modes, one after the other in one world:
#   redirect       mxtls-iptables install --gateway (nat PREROUTING
#                  REDIRECT to mxtlsd's 0.0.0.0:10025), with
#                  upstream_source = client: a session that came through a
#                  REDIRECT listener still leaves from the gateway
#   tproxy         install --gateway --tproxy (TPROXY to tproxy:...:10026),
#                  upstream_source = gateway
#   source-client  install --gateway --tproxy --source-client,
#                  upstream_source = client: the MX sees the MTA
# In each mode Postfix sends one message to a DANE domain (dane-ee.example),
# an MTA-STS domain (enforce.sts.example) and a domain without a policy
# (tls.lab.example).  Checks per message: Postfix got 250; the message is
# at the right sink, once, received over TLS; the sink saw the connection
# come from the mode's source (the gateway's 192.0.2.1, or the MTA's
# 203.0.113.10); mxtlsd's session took the MTA's connection to the
# original destination and logged the policy (dane, mta-sts enforce, no
# policy).  Per mode: the rule of the mode counted packets (REDIRECT,
# TPROXY, and for source-client the reply MARK), and the journal records
# of the mode each have the mode's sending-mta-ip, every one with a
# connection naming a connection a sink logged (address and port).
# source-client also sends over IPv6 (tls6.lab.example: the MX sees
# 2001:db8:203::10), to testing.sts.example (delivered, a
# certificate-host-mismatch record) and nomatch.sts.example (its first MX
# ruled out, never connected to), and skip6@dane-ta.example over IPv6 to
# a domain whose only MX is IPv4: deferred with 4.4.0, no connection to
# it at all (never from the gateway's address instead).  Last, `mxtls-report
# build`: every failure detail of the reports for testing.sts.example and
# nomatch.sts.example says sending-mta-ip 203.0.113.10; mxtlsd then exits
# with status 0 on SIGTERM (and no sanitizer report, for an ASan build).
# source-client also turns the upstream connection cache on (gw_cache):
# sessions from 203.0.113.10, a second MTA address 203.0.113.11, and .10
# again: one hit (the third), two misses, the MX sees each its own source.
#
# Prints one line per check, "PASS: gateway MODE CHECK" or "FAIL: gateway
# MODE CHECK: why", then "gateway: N passed, N failed"; exit status 0 only
# when nothing failed.  Needs root; takes the lab lock (LAB_LOCK_WAIT).
#
# ENVIRONMENT
#	MXTLSD, LAB_KEEP, LAB_LOCK_WAIT	as for tests/lab/run (lib.sh)

export LAB_FLAVOR=gateway
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
# the scenarios' helpers: lab_send, lab_expect_sent, lab_sess... (dane.sh),
# lab_check_mx_tls (common.sh), lab_sess_sts_summary (sts.sh)
. "$HERE/scenarios/common.sh"
. "$HERE/scenarios/dane.sh"
. "$HERE/scenarios/sts.sh"

TOOL=$LAB_REPO/iptables/mxtls-iptables
PASSES=0 FAILS=0 SCEN=setup SCEN_FAILED= SCEN_SINKS= CK=
RUNID=$(date +%H%M%S)-$$

pass() {
	echo "PASS: gateway $SCEN $1"
	PASSES=$((PASSES + 1))
}
fail() {
	local c=$1 r
	shift
	r=$*
	r=${r//$'\n'/ }
	echo "FAIL: gateway $SCEN $c: ${r:0:2000}"
	FAILS=$((FAILS + 1))
	SCEN_FAILED=1
}

# dump_logs - the tails that matter, on stderr, after a mode with a failure
dump_logs() {
	local n
	{
		echo "----- gateway $SCEN: logs (lab dir $LAB_DIR) -----"
		echo "--- mxtlsd.log (last 40 lines)"; tail -n 40 "$LAB_DIR/log/mxtlsd.log"
		echo "--- postfix maillog (last 20 lines)"; tail -n 20 "$LAB_DIR/log/maillog"
		echo "--- iptables (mxl-mta)"; lab_in_mta iptables-save -c 2>/dev/null | grep -E 'MXTLS|^\*'
		for n in $SCEN_SINKS; do
			echo "--- sink $n (last 10 lines)"; tail -n 10 "$LAB_DIR/log/$n.log"
		done
	} >&2
}

on_signal() {
	trap - EXIT INT TERM
	echo "FAIL: gateway ${SCEN:-setup} interrupted: signal $(kill -l $(($1 - 128)))"
	FAILS=$((FAILS + 1))
	lab_down
	echo "gateway: $PASSES passed, $FAILS failed"
	exit "$1"
}
trap 'lab_down' EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# gw_count TABLE CHAIN TARGET - packets counted by the rules of CHAIN that
# jump to TARGET, IPv4 and IPv6 together
gw_count() {
	{ lab_in_mta iptables-save -c -t "$1"; lab_in_mta ip6tables-save -c -t "$1"; } 2>/dev/null |
		awk -v c="-A $2 " -v t="-j $3 " '
		index($0, c) && index($0 " ", t) { sub(/^\[/, "", $1); split($1, a, ":"); n += a[1] }
		END { print n + 0 }'
}

# gw_hostport ADDR - ADDR as the sinks write a peer's host: [v6] or v4
gw_hostport() { case $1 in *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }

# gw_journal_lines - records in today's journal so far
gw_journal_lines() { local f; f=$(lab_journal_day); if [ -f "$f" ]; then wc -l <"$f"; else echo 0; fi; }

# gw_mode NAME UPSTREAM_SOURCE INSTALL-OPTION... - the rules and mxtlsd's
# upstream_source for one mode
GW_JOFF=0 GW_SENT=0
gw_mode() {
	local name=$1 src=$2
	shift 2
	SCEN=$name SCEN_FAILED= SCEN_SINKS= CK=
	GW_SENT=0
	if lab_in_mta "$TOOL" install --gateway --iface veth1 --mark "$LAB_MARK" "$@" \
		>"$LAB_DIR/log/iptables-$name.log" 2>&1; then
		pass iptables-install
	else
		fail iptables-install "mxtls-iptables install --gateway $*: $(tail -n 3 "$LAB_DIR/log/iptables-$name.log")"
		return 1
	fi
	# upstream_source takes a restart (a reload keeps the running value)
	if grep -qx "upstream_source = $src" "$LAB_DIR/mxtlsd.conf"; then
		pass "upstream_source-$src"
	elif lab_mxtlsd_stop && lab_mxtlsd_conf_write "upstream_source = $src" && lab_mxtlsd_start; then
		pass "restart-upstream_source-$src"
	else
		fail "restart-upstream_source-$src" "mxtlsd with upstream_source = $src: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"
		return 1
	fi
	GW_JOFF=$(gw_journal_lines)
}

# gw_send TO SINK ORIG SUMMARY PEER - one message to TO (a domain, or an
# address) through the gateway: 250, at SINK once, over TLS, the sink's peer
# PEER; mxtlsd took the MTA's connection to ORIG and logged the policy
# SUMMARY.  GW_SENT counts the messages that got that far.
gw_send() {
	local to=$1 sink=$2 orig=$3 summary=$4 peer=$5 dom got mta=$LAB_GMTA4
	dom=${to#*@}
	case $orig in *:*) mta=$LAB_GMTA6 ;; esac
	CK="@$dom"
	lab_send "$to" || return
	lab_expect_sent "$sink" || return
	lab_check_mx_tls yes
	got=$(lab_tool json-get "$D_JSON" peer)
	case $got in
	"$(gw_hostport "$peer"):"[0-9]*) pass "mx-peer-$peer$CK" ;;
	*) fail "mx-peer-$peer$CK" "the MX saw the connection come from $got, want $peer" ;;
	esac
	lab_sess "$dom" || return
	lab_sess_sts_summary "$dom" "$summary"
	lab_sess_has mxtlsd-took-the-mta-connection \
		"connect from \\[$(lab_req "$mta")\\]:[0-9]+ to \\[$(lab_req "$orig")\\]:25\$" \
		"mxtlsd did not log the connection from the MTA ($mta) to [$orig]:25"
	GW_SENT=$((GW_SENT + 1))
}

# gw_three PEER - the DANE, the MTA-STS and the no-policy domain
gw_three() {
	gw_send dane-ee.example 192.0.2.31 192.0.2.31 dane "$1"
	gw_send enforce.sts.example 192.0.2.50 192.0.2.50 "mta-sts enforce" "$1"
	gw_send tls.lab.example mx1 192.0.2.25 "no policy" "$1"
}

# gw_cc_send TAG SOURCE - smtpclient in mxl-gmta from SOURCE to
# 192.0.2.25:25 (tls.lab.example, mx1), one message: sent, at mx1, and mx1
# saw it come from SOURCE
gw_cc_send() {
	local log=$LAB_DIR/log/smtpclient-gw-$1.log peer
	if ip netns exec "$LAB_NS_GMTA" "$LAB_PY" "$LAB_PY_DIR/smtpclient.py" --connect 192.0.2.25:25 \
		--source "$2" --from lab@mta.lab.example --rcpt "$1-$RUNID@tls.lab.example" \
		--timeout 20 >"$log" 2>&1 </dev/null 9>&-; then
		pass "cache-session-$1"
	else
		fail "cache-session-$1" "$(grep 'smtpclient: FAIL' "$log" || tail -n 2 "$log")"
		return 1
	fi
	lab_wait_msg "$LAB_DIR/mail/mx1" "$1-$RUNID@tls.lab.example" 10
	if [ -z "$LAB_MSG" ]; then
		fail "cache-arrived-$1" "no message for $1-$RUNID@tls.lab.example at mx1 within 10 s"
		return 1
	fi
	peer=$(lab_tool json-get "$LAB_DIR/mail/mx1/$LAB_MSG.json" peer)
	case $peer in
	"$2:"[0-9]*) pass "cache-mx-peer-$1" ;;
	*) fail "cache-mx-peer-$1" "mx1 saw the message come from $peer, want $2" ;;
	esac
}

# gw_cache - the upstream connection cache under upstream_source = client:
# a second old MTA (203.0.113.11) never gets the first one's cached
# upstream (a miss, and the MX sees its own address); the first one's next
# session does (a hit, the MX sees 203.0.113.10 again)
gw_cache() {
	local off log=$LAB_DIR/log/mxtlsd.log hits misses
	ip -n "$LAB_NS_GMTA" addr add 203.0.113.11/24 dev veth0 2>/dev/null
	if lab_mxtlsd_hup "upstream_source = client" "upstream_cache_time = 10s"; then
		pass cache-on
	else
		fail cache-on "mxtlsd did not reload: ${LAB_MATCH:-no log line}"
		return
	fi
	off=$(lab_log_size "$log")
	gw_cc_send cc1 "$LAB_GMTA4" && gw_cc_send cc2 203.0.113.11 &&
		gw_cc_send cc3 "$LAB_GMTA4"
	hits=$(lab_grep_after "$log" "$off" "upstream cache hit: " | wc -l)
	misses=$(lab_grep_after "$log" "$off" "upstream cache miss: " | wc -l)
	if [ "$hits" = 1 ] && [ "$misses" = 2 ]; then pass cache-by-source
	else fail cache-by-source "$hits hit(s), $misses miss(es) for the sessions from .10, .11, .10 (want 1 and 2)"; fi
	lab_mxtlsd_hup "upstream_source = client" || fail cache-off "mxtlsd did not reload"
	ip -n "$LAB_NS_GMTA" addr del 203.0.113.11/24 dev veth0 2>/dev/null
}

# gw_counted CHECK TABLE CHAIN TARGET BEFORE - the rule counted packets
gw_counted() {
	local n
	n=$(gw_count "$2" "$3" "$4")
	if [ "$n" -gt "$5" ]; then pass "$1"
	else fail "$1" "the $2 $3 -j $4 rule counted no packet ($5 before, $n now)"; fi
}

# gw_journal CHECK ALLOWED - the records since the mode began: each
# sending-mta-ip one of ALLOWED (comma-separated), each with a
# sending-port a connection a sink logged from that address and port to
# the receiving-ip, at least GW_SENT of them
gw_journal() {
	local out i
	CK=
	for i in $(seq 25); do
		# a sink logs a connection when it ends: give it a moment
		out=$("$LAB_PY" - "$(lab_journal_day)" "$GW_JOFF" "$2" "$LAB_DIR/log" "$GW_SENT" <<'PY'
import glob, json, sys
path, off, allowed, logdir, want = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4], int(sys.argv[5])
try:
    lines = open(path).read().splitlines()[off:]
except FileNotFoundError:
    lines = []
conns = set()
for f in glob.glob(logdir + "/*.conns"):
    for l in open(f):
        try:
            c = json.loads(l)
        except ValueError:
            continue
        conns.add((c.get("peer"), c.get("local")))
def hp(a, p):
    return ("[%s]:%d" if ":" in a else "%s:%d") % (a, p)
bad, n, nconn = [], 0, 0
for l in lines:
    r = json.loads(l)
    n += 1
    src, port, ip = r.get("sending-mta-ip", ""), r.get("sending-port", 0), r.get("receiving-ip", "")
    if src not in allowed:
        bad.append("%s to %s: sending-mta-ip %r" % (r.get("sid"), ip, src))
    if port:
        nconn += 1
        if (hp(src, port), hp(ip, 25)) not in conns:
            bad.append("%s: no sink logged a connection from %s to %s" % (r.get("sid"), hp(src, port), hp(ip, 25)))
if n < want or nconn < want:
    bad.append("%d records, %d with a connection; want at least %d" % (n, nconn, want))
print("; ".join(bad[:4]) if bad else "ok")
PY
)
		[ "$out" = ok ] && break
		sleep 0.2
	done
	if [ "$out" = ok ]; then pass "$1"; else fail "$1" "$out"; fi
}

if [ "$(id -u)" != 0 ]; then
	echo "FAIL: gateway setup root: the lab needs root (network namespaces, iptables)"
	echo "gateway: 0 passed, 1 failed"
	exit 1
fi
t0=$(date +%s)
if ! lab_up; then
	FAILS=$((FAILS + 1))
	[ -n "$LAB_DIR" ] && SCEN_SINKS="mx1" dump_logs
	lab_down
	trap - EXIT INT TERM
	echo "gateway: $PASSES passed, $FAILS failed"
	exit 1
fi
pass "lab-up(gateway)"
lab_log "gateway: mxtlsd $MXTLSD; Postfix in $LAB_NS_PF ($LAB_GMTA4, $LAB_GMTA6)"

# 1. REDIRECT: upstream_source = client does not apply to its sessions
if gw_mode redirect client --port "$LAB_PORT"; then
	before=$(gw_count nat MXTLS REDIRECT)
	gw_three 192.0.2.1
	CK=
	gw_counted redirect-rule-used nat MXTLS REDIRECT "$before"
	gw_journal journal-sending-mta-ip-gateway 192.0.2.1,2001:db8::1
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 2. TPROXY, the gateway's address
if gw_mode tproxy gateway --tproxy --port "$LAB_TPROXY_PORT"; then
	before=$(gw_count mangle MXTLS_TP TPROXY)
	gw_three 192.0.2.1
	CK=
	gw_counted tproxy-rule-used mangle MXTLS_TP TPROXY "$before"
	gw_journal journal-sending-mta-ip-gateway 192.0.2.1,2001:db8::1
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 3. TPROXY, the MTA's address
if gw_mode source-client client --tproxy --source-client --port "$LAB_TPROXY_PORT"; then
	before=$(gw_count mangle MXTLS_TP TPROXY)
	before_sc=$(gw_count mangle MXTLS_SC MARK)
	gw_three "$LAB_GMTA4"
	gw_send tls6.lab.example mx1 2001:db8::25 "no policy" "$LAB_GMTA6"
	if gw_send testing.sts.example 192.0.2.52 192.0.2.52 "mta-sts testing" "$LAB_GMTA4"; then
		lab_sess_has mxtlsd-testing-failure "$(lab_req ": MTA-STS testing (policy id testing1): certificate-host-mismatch: ")" \
			"mxtlsd did not log the testing failure"
	fi
	if gw_send nomatch.sts.example 192.0.2.51 192.0.2.50 "mta-sts enforce" "$LAB_GMTA4"; then
		lab_sess_has mxtlsd-ruled-out "$(lab_req ": attempt to good1.sts.example failed: result=validation-failure: MX host good1.sts.example matches no mx pattern")" \
			"mxtlsd did not rule out good1.sts.example"
	fi
	# the one MX of dane-ta.example has no IPv6 address: nothing to send from
	CK=@skip6
	conns0=$(cat "$LAB_DIR"/log/*.conns 2>/dev/null | wc -l)
	if lab_send skip6@dane-ta.example; then
		lab_expect_deferred "451 4.4.0 cannot send to mx.dane-ta.example[192.0.2.33]:25 from $LAB_GMTA6 (upstream_source = client): no IPv4 source address for an IPv4 destination"
		if lab_sess dane-ta.example; then
			lab_sess_has mxtlsd-skipped "$(lab_req ": attempt to mx.dane-ta.example[192.0.2.33]:25 failed: result=connection: cannot send to ")" \
				"mxtlsd did not log the skipped MX address"
			lab_sess_lacks mxtlsd-no-connection '(connection established to|connect to [^ ]*\[192\.0\.2\.33\])' \
				"mxtlsd connected to the IPv4 MX"
		fi
		conns1=$(cat "$LAB_DIR"/log/*.conns 2>/dev/null | wc -l)
		if [ "$conns1" = "$conns0" ]; then pass "no-sink-connection$CK"
		else fail "no-sink-connection$CK" "the sinks logged $((conns1 - conns0)) new connection(s): $(grep -h -F 'skip6@dane-ta.example' "$LAB_DIR"/log/*.conns | head -n 1)"; fi
		lab_dequeue
	fi
	CK=
	gw_counted tproxy-rule-used mangle MXTLS_TP TPROXY "$before"
	gw_counted source-client-rule-used mangle MXTLS_SC MARK "$before_sc"
	gw_journal journal-sending-mta-ip-mta "$LAB_GMTA4,$LAB_GMTA6"
	CK=
	gw_cache
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 4. the TLSRPT reports of this run: the MTA's address in every failure
SCEN=report SCEN_FAILED= CK=
out=$LAB_DIR/work/gw-reports
mkdir -p "$out"
for day in $(date -u -d "@$t0" +%F) $(date -u +%F); do
	[ -e "$out/.$day" ] && continue
	touch "$out/.$day"
	lab_report build --day "$day" --out "$out" >>"$LAB_DIR/log/gw-report-build.log" 2>&1 ||
		fail build "mxtls-report build --day $day: $(tail -n 3 "$LAB_DIR/log/gw-report-build.log")"
done
got=$("$LAB_PY" - "$out" "$LAB_GMTA4" <<'PY'
import glob, gzip, json, os, sys
out, want = sys.argv[1], sys.argv[2]
for dom in ("testing.sts.example", "nomatch.sts.example"):
    ips = []
    for f in glob.glob(os.path.join(out, "*!%s!*.json.gz" % dom)):
        with gzip.open(f) as fh:
            r = json.load(fh)
        for p in r.get("policies", []):
            for d in p.get("failure-details", []):
                ips.append(d.get("sending-mta-ip"))
    if ips and all(ip == want for ip in ips):
        print("PASS %s %d" % (dom, len(ips)))
    else:
        print("FAIL %s sending-mta-ip of its failure details: %s, want all %s" % (dom, ips or "none", want))
PY
)
while read -r word dom rest; do
	case $word in
	PASS) pass "tlsrpt-sending-mta-ip@$dom" ;;
	FAIL) fail "tlsrpt-sending-mta-ip@$dom" "$rest" ;;
	esac
done <<<"$got"
[ -n "$got" ] || fail tlsrpt-check "the report check printed nothing"

# 5. mxtlsd: alive through it all, a clean exit, no sanitizer report
SCEN=shutdown
if [ -n "$LAB_MXTLSD_PID" ] && kill -0 "$LAB_MXTLSD_PID" 2>/dev/null; then pass mxtlsd-alive
else fail mxtlsd-alive "mxtlsd is gone: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"; fi
if lab_mxtlsd_stop && [ "$LAB_MXTLSD_STATUS" = 0 ]; then pass exit-status-0
else fail exit-status-0 "mxtlsd exited with status ${LAB_MXTLSD_STATUS:-?} after SIGTERM"; fi
if lab_mxtlsd_sanitized; then
	if san=$(lab_sanitizer_lines 0); then fail sanitizer-clean "$(echo "$san" | head -n 3)"
	else pass sanitizer-clean; fi
fi
[ -n "$SCEN_FAILED" ] && dump_logs
lab_down
trap - EXIT INT TERM
echo "gateway: finished in $(( $(date +%s) - t0 )) s" >&2
echo "gateway: $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
