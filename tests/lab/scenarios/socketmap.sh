# socketmap.sh - socketmap: mxtlsd as Postfix's smtp_tls_policy_maps
# (socketmap_listen, proxy/smap_srv.c), asked by the real Postfix.
#
# mxtlsd is restarted with socketmap_listen = inet:127.0.0.1:8461 and a
# policy_table, then, in mxl-mta (where mxtlsd resolves the lab's DNS):
#   answers   `postmap -q KEY socketmap:inet:127.0.0.1:8461:postfix' for
#             the lab's domains, each answer asserted (SM_CASES below): DANE
#             (dane-ee.example, and dane.sts.example where DANE comes before
#             MTA-STS), MTA-STS enforce (exact and wildcard patterns, an
#             unsigned zone), testing, broken policy hosts, DNSSEC bogus
#             TLSA, no policy, NXDOMAIN, table entries for a domain and for
#             [192.0.2.25]:25, a [host]:port without one; the map
#             postfix-tlsrpt (Postfix 3.10's TLSRPT attributes); an unknown
#             map (PERM); all keys again through one connection
#             (`postmap -q -', which reuses it);
#   report    mode = report-only (SIGHUP): what could refuse says `may';
#   floor     require_tls = yes (SIGHUP): where no policy applies, encrypt;
#   hostile   tests/lab/py/smap_client.py: a bad netstring, a request of
#             10001 octets and a netstring that is no request (each PERM,
#             then closed), pipelined requests answered in order, a client
#             idle for 5 s still answered, a request trickled and never
#             finished closed at the 10 s deadline; mxtlsd warns of each;
#   compare   Debian's postfix-mta-sts-resolver (installed by
#             scripts/deps.sh smap when missing) on 127.0.0.1:8462 in
#             mxl-mta, resolving through Debian's unbound (root hints and
#             trust anchor of the lab, 127.0.0.53 in mxl-mta, bound over
#             /etc/resolv.conf in a mount namespace of its own) and trusting
#             the lab CA (SSL_CERT_FILE); the same postmap queries; every
#             answer that differs must be one listed in SM_DIFFS, with the
#             reason mxtls is right, and no listed one may disappear.
# Then mxtlsd is started again with the lab's configuration.  It comes last
# in ALL_SCENARIOS: its lookups fill mxtlsd's MTA-STS cache.

SM_PORT=8461
SM_REF_PORT=8462
SM_DIR=
SM_REF_PID=
SM_UB_PID=

# The cases: KEY<TAB>the answer (OK value, NOTFOUND, TEMP, PERM reason).
# TEMP* matches any reason.
SM_CASES="dane-ee.example	OK dane-only
dane.sts.example	OK dane-only
enforce.sts.example	OK secure match=good1.sts.example servername=hostname
wild.sts.example	OK secure match=.wild.sts.example servername=hostname
sts-unsigned.example	OK secure match=mx.sts-unsigned.example servername=hostname
testing.sts.example	NOTFOUND
html.sts.example	NOTFOUND
redirect.sts.example	NOTFOUND
notfound.sts.example	NOTFOUND
big.sts.example	NOTFOUND
syntax.sts.example	NOTFOUND
badtls.sts.example	NOTFOUND
bogus.example	TEMP*
plain.example	NOTFOUND
tls.lab.example	NOTFOUND
no-such-domain.example	NOTFOUND
nopolicy.lab.example	OK encrypt protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1
[192.0.2.25]:25	OK secure match=mx1.lab.example servername=hostname
[192.0.2.26]:25	NOTFOUND"

# Where postfix-mta-sts-resolver answers otherwise, and why mxtls is right.
# KEY<TAB>its answer<TAB>the reason.
SM_DIFFS="dane-ee.example	NOTFOUND	the resolver knows no DANE; RFC 7672 section 2.2: a domain with secure usable TLSA must get authenticated TLS (dane-only)
dane.sts.example	OK secure match=mx.dane.sts.example servername=hostname	RFC 8461 section 2: DANE takes precedence over MTA-STS; the MX's certificate is self-signed and DANE-EE-authenticated, which secure would refuse
bogus.example	NOTFOUND	RFC 7672 section 2.1.1: a bogus TLSA RRset makes the MX unusable (defer), never a downgrade
nopolicy.lab.example	NOTFOUND	the admin's policy_table entry (the resolver has no table)
[192.0.2.25]:25	NOTFOUND	the admin's policy_table entry for that next hop (the resolver skips address literals)"

# sm_q PORT MAP KEY - Postfix's view of one lookup: "OK value", "NOTFOUND",
# "TEMP reason", "PERM reason" or "ERROR text"
sm_q() {
	local out err rc
	err=$LAB_DIR/work/sm-postmap.err
	out=$(lab_in_mta postmap -c "$PF_ETC" -q "$3" "socketmap:inet:127.0.0.1:$1:$2" 2>"$err")
	rc=$?
	if [ $rc = 0 ]; then echo "OK $out"
	elif grep -q 'temporary error: ' "$err"; then echo "TEMP $(sed -n 's/.*temporary error: //p' "$err" | head -n 1)"
	elif grep -q 'permanent error: ' "$err"; then echo "PERM $(sed -n 's/.*permanent error: //p' "$err" | head -n 1)"
	elif [ ! -s "$err" ]; then echo NOTFOUND
	else echo "ERROR $(head -n 2 "$err" | tr '\n' ' ')"; fi
}

# sm_match GOT WANT - WANT is exact, or TEMP* for any TEMP
sm_match() {
	case $2 in
	'TEMP*') case $1 in "TEMP "?*) return 0 ;; esac; return 1 ;;
	esac
	[ "$1" = "$2" ]
}

# sm_listening PORT - something listens on 127.0.0.1:PORT in mxl-mta (5 s)
sm_listening() {
	local _
	for _ in $(seq 50); do
		lab_in_mta ss -Hltn "sport = :$1" | grep -q 127.0.0.1 && return 0
		sleep 0.1
	done
	return 1
}

# sm_restore - the lab's mxtlsd back; the reference resolver stopped
sm_restore() {
	[ -n "$SM_REF_PID" ] && lab_kill_pid "$SM_REF_PID"
	[ -n "$SM_UB_PID" ] && lab_kill_pid "$SM_UB_PID"
	SM_REF_PID='' SM_UB_PID=''
	lab_mxtlsd_stop
	lab_mxtlsd_conf_write
	lab_mxtlsd_start || fail restored "mxtlsd did not start again with the lab's configuration"
}

# sm_conf - the configuration the scenario's mxtlsd runs with
sm_conf() {
	lab_mxtlsd_conf_write "socketmap_listen = inet:127.0.0.1:$SM_PORT" \
		"policy_table = $SM_DIR/tls_policy"
}

# sm_answers - every case through postmap, one connection each
sm_answers() {
	local key want got
	while IFS=$'\t' read -r key want; do
		got=$(sm_q $SM_PORT postfix "$key")
		if sm_match "$got" "$want"; then pass "answer $key"
		else fail "answer $key" "postmap says \"$got\", want \"$want\""; fi
	done <<<"$SM_CASES"
}

# sm_metrics_before, sm_metrics_after - /metrics counts sm_answers'
# queries by answer, exactly (when metrics_listen is on)
sm_metrics_before() {
	SM_METRICS=
	grep -q '^metrics_listen = ' "$LAB_DIR/mxtlsd.conf" || return 0
	declare -F lab_metrics >/dev/null || return 0
	mkdir -p "$LAB_DIR/work/metrics"
	lab_metrics_scrape sm-before && SM_METRICS=1
}
sm_metrics_after() {
	local ok nf temp out
	[ -n "$SM_METRICS" ] || return 0
	lab_metrics_scrape sm-after || return 0
	ok=$(cut -f2 <<<"$SM_CASES" | grep -c '^OK')
	nf=$(cut -f2 <<<"$SM_CASES" | grep -c '^NOTFOUND')
	temp=$(cut -f2 <<<"$SM_CASES" | grep -c '^TEMP')
	if out=$(lab_metrics delta "$LAB_DIR/work/metrics/sm-before.json" \
	    "$LAB_DIR/work/metrics/sm-after.json" --families mxtls_socketmap_queries_total \
	    "mxtls_socketmap_queries_total{answer=ok}=$ok" \
	    "mxtls_socketmap_queries_total{answer=notfound}=$nf" \
	    "mxtls_socketmap_queries_total{answer=temp}=$temp" 2>&1); then
		pass metrics-queries-by-answer
	else
		fail metrics-queries-by-answer "$(echo "$out" | tail -n 4)"
	fi
}

# sm_reuse - all keys in one postmap -q - (one connection, reused)
sm_reuse() {
	local keys want got bad=
	keys=$(cut -f1 <<<"$SM_CASES" | grep -v '^bogus')
	want=$(while IFS=$'\t' read -r key w; do
		case $w in OK\ *) printf '%s\t%s\n' "$key" "${w#OK }" ;; esac
	done <<<"$SM_CASES")
	got=$(lab_in_mta postmap -c "$PF_ETC" -q - "socketmap:inet:127.0.0.1:$SM_PORT:postfix" \
		<<<"$keys" 2>"$LAB_DIR/work/sm-reuse.err")
	[ "$got" = "$want" ] || bad="got \"$got\", want \"$want\"; $(head -n 2 "$LAB_DIR/work/sm-reuse.err")"
	if [ -z "$bad" ]; then pass one-connection; else fail one-connection "$bad"; fi
}

# sm_tlsrpt - the postfix-tlsrpt map: Postfix 3.10's attributes
sm_tlsrpt() {
	local got want
	want="OK secure match=good1.sts.example servername=hostname policy_type=sts"
	want="$want policy_domain=enforce.sts.example mx_host_pattern=good1.sts.example"
	want="$want { policy_string = version: STSv1 } { policy_string = mode: enforce }"
	want="$want { policy_string = mx: good1.sts.example } { policy_string = max_age: 604800 }"
	got=$(sm_q $SM_PORT postfix-tlsrpt enforce.sts.example)
	if [ "$got" = "$want" ]; then pass tlsrpt-sts; else fail tlsrpt-sts "got \"$got\""; fi
	got=$(sm_q $SM_PORT postfix-tlsrpt dane-ee.example)
	if [ "$got" = "OK dane-only" ]; then pass tlsrpt-dane; else fail tlsrpt-dane "got \"$got\""; fi
	got=$(sm_q $SM_PORT postfix-tlsrpt tls.lab.example)
	if [ "$got" = NOTFOUND ]; then pass tlsrpt-none; else fail tlsrpt-none "got \"$got\""; fi
	got=$(sm_q $SM_PORT nosuchmap enforce.sts.example)
	if [ "$got" = "PERM unknown map" ]; then pass unknown-map; else fail unknown-map "got \"$got\""; fi
}

# sm_mode NAME "KEY = VALUE" - reload with one more key, check the
# answers of stdin's KEY<TAB>WANT lines (checks NAME KEY), reload back
sm_mode() {
	local name=$1 line=$2 key want got
	if lab_mxtlsd_hup "socketmap_listen = inet:127.0.0.1:$SM_PORT" \
		"policy_table = $SM_DIR/tls_policy" "$line"; then pass "$name-reload"
	else fail "$name-reload" "SIGHUP: ${LAB_MATCH:-no reload line}"; return; fi
	while IFS=$'\t' read -r key want; do
		got=$(sm_q $SM_PORT postfix "$key")
		if [ "$got" = "$want" ]; then pass "$name $key"
		else fail "$name $key" "got \"$got\", want \"$want\""; fi
	done
	if lab_mxtlsd_hup "socketmap_listen = inet:127.0.0.1:$SM_PORT" \
		"policy_table = $SM_DIR/tls_policy"; then pass "$name-undone"
	else fail "$name-undone" "SIGHUP back: ${LAB_MATCH:-no reload line}"; fi
}

# sm_report_only - mode = report-only: never a refusal
sm_report_only() {
	sm_mode report-only "mode = report-only" <<-EOF
	dane-ee.example	OK may
	enforce.sts.example	OK may
	bogus.example	OK may
	[192.0.2.25]:25	OK may
	tls.lab.example	NOTFOUND
	EOF
}

# sm_require_tls - require_tls = yes: the floor where no policy applies
sm_require_tls() {
	sm_mode require-tls "require_tls = yes" <<-EOF
	tls.lab.example	OK encrypt
	testing.sts.example	OK encrypt
	[192.0.2.26]:25	OK encrypt
	enforce.sts.example	OK secure match=good1.sts.example servername=hostname
	dane-ee.example	OK dane-only
	no-such-domain.example	NOTFOUND
	EOF
}

# sm_hostile - clients that are not Postfix
sm_hostile() {
	local c out off
	off=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	for c in badnet oversize noreq "idle 5 postfix enforce.sts.example" "trickle 10"; do
		# shellcheck disable=SC2086
		if out=$(lab_in_mta "$LAB_PY" "$LAB_PY_DIR/smap_client.py" 127.0.0.1 $SM_PORT $c 2>&1); then
			pass "hostile-${c%% *}"
		else
			fail "hostile-${c%% *}" "$out"
		fi
	done
	out=$(lab_in_mta "$LAB_PY" "$LAB_PY_DIR/smap_client.py" 127.0.0.1 $SM_PORT pipeline postfix \
		tls.lab.example enforce.sts.example '[192.0.2.25]:25' dane-ee.example 2>&1)
	if [ "$out" = "tls.lab.example NOTFOUND 
enforce.sts.example OK secure match=good1.sts.example servername=hostname
[192.0.2.25]:25 OK secure match=mx1.lab.example servername=hostname
dane-ee.example OK dane-only" ]; then pass pipelined-in-order
	else fail pipelined-in-order "$out"; fi
	for c in "bad request \\(no length\\)" "bad request \\(over 10000 octets\\)" \
		"bad request \\(no space after the map name\\)" "request not complete after 10s"; do
		if lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" "warning: socketmap inet:127\\.0\\.0\\.1:$SM_PORT: $c" >/dev/null
		then pass "warned: ${c//\\/}"; else fail "warned: ${c//\\/}" "no such warning in mxtlsd's log"; fi
	done
}

# sm_ref_start - unbound and postfix-mta-sts-resolver in mxl-mta
sm_ref_start() {
	local d=$SM_DIR/ref
	if ! command -v mta-sts-daemon >/dev/null || ! command -v unbound >/dev/null; then
		sh "$LAB_HERE/../../scripts/deps.sh" smap >>"$LAB_DIR/log/sm-deps.log" 2>&1 || {
			fail ref-installed "scripts/deps.sh smap failed: $(tail -n 3 "$LAB_DIR/log/sm-deps.log")"
			return 1
		}
	fi
	pass ref-installed
	mkdir -p "$d"
	cat >"$d/unbound.conf" <<-EOF
	server:
	  interface: 127.0.0.53
	  port: 53
	  do-daemonize: no
	  username: ""
	  chroot: ""
	  directory: "$d"
	  pidfile: "$d/unbound.pid"
	  use-syslog: no
	  logfile: "$d/unbound.log"
	  root-hints: "$LAB_DIR/dns/root.hints"
	  trust-anchor-file: "$LAB_DIR/dns/root.key"
	  access-control: 127.0.0.0/8 allow
	  do-not-query-localhost: no
	  module-config: "validator iterator"
	remote-control:
	  control-enable: no
	EOF
	echo "nameserver 127.0.0.53" >"$d/resolv.conf"
	cat >"$d/mta-sts-daemon.yml" <<-EOF
	host: 127.0.0.1
	port: $SM_REF_PORT
	reuse_port: true
	shutdown_timeout: 2
	cache:
	  type: internal
	  options:
	    cache_size: 10000
	default_zone:
	  strict_testing: false
	  timeout: 4
	EOF
	ip netns exec "$LAB_NS_MTA" unbound -c "$d/unbound.conf" >"$LAB_DIR/log/sm-unbound.log" 2>&1 9>&- &
	SM_UB_PID=$!
	# shellcheck disable=SC2016
	ip netns exec "$LAB_NS_MTA" unshare -m sh -c 'mount --bind "$1/resolv.conf" /etc/resolv.conf &&
		SSL_CERT_FILE=$2 exec mta-sts-daemon -v info -c "$1/mta-sts-daemon.yml"' sh "$d" \
		"$LAB_DIR/dns/pki/ca.crt" >"$LAB_DIR/log/sm-resolver.log" 2>&1 9>&- &
	SM_REF_PID=$!
	if sm_listening $SM_REF_PORT && lab_in_mta ss -Hlun "sport = :53" | grep -q 127.0.0.53; then
		pass ref-started
		return 0
	fi
	fail ref-started "unbound or mta-sts-daemon did not start: $(tail -n 3 "$LAB_DIR/log/sm-unbound.log" "$LAB_DIR/log/sm-resolver.log")"
	return 1
}

# sm_compare - the same lookups from postfix-mta-sts-resolver
sm_compare() {
	local key want ref mine listed lwant why seen=
	sm_ref_start || return
	while IFS=$'\t' read -r key want; do
		ref=$(sm_q $SM_REF_PORT postfix "$key")
		case $ref in ERROR*) ref=$(sm_q $SM_REF_PORT postfix "$key") ;; esac	# once more
		mine=$(sm_q $SM_PORT postfix "$key")
		listed=$(awk -F'\t' -v k="$key" '$1 == k' <<<"$SM_DIFFS")
		lwant=$(cut -f2 <<<"$listed")
		why=$(cut -f3 <<<"$listed")
		if [ "$ref" = "$mine" ] || { sm_match "$mine" "$want" && [ "${want%\*}" = TEMP ] && [ "${ref%% *}" = TEMP ]; }; then
			if [ -n "$listed" ]; then fail "same $key" "both say \"$ref\", but SM_DIFFS lists a difference ($why)"
			else pass "same $key"; fi
		elif [ -n "$listed" ] && [ "$ref" = "$lwant" ]; then
			pass "differs $key"
			echo "lab socketmap: $key: mxtls \"$mine\", postfix-mta-sts-resolver \"$ref\": $why" >&2
			seen="$seen $key"
		else
			fail "differs $key" "mxtls \"$mine\", postfix-mta-sts-resolver \"$ref\"${listed:+ (listed: \"$lwant\")}: not an expected difference"
		fi
	done <<<"$SM_CASES"
	[ -n "$seen" ] && echo "$seen" >"$LAB_DIR/work/sm-diffs"
}

scenario_socketmap() {
	lab_dane_only || return 0
	SM_DIR=$LAB_DIR/socketmap
	mkdir -p "$SM_DIR" "$LAB_DIR/work"
	cat >"$SM_DIR/tls_policy" <<-EOF
	# tests/lab/scenarios/socketmap.sh
	nopolicy.lab.example  encrypt protocols=>=TLSv1.2
	[192.0.2.25]:25       secure match=mx1.lab.example servername=hostname
	EOF
	lab_mxtlsd_stop
	sm_conf
	if ! lab_mxtlsd_start || ! sm_listening $SM_PORT; then
		fail started "mxtlsd with socketmap_listen: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"
		sm_restore
		return
	fi
	pass started
	sm_metrics_before
	sm_answers
	sm_metrics_after
	sm_reuse
	sm_tlsrpt
	sm_hostile
	sm_report_only
	sm_require_tls
	sm_compare
	sm_restore
}
