# watch - the DNS watcher and early upstream (issue 12), local topology.
# mxtlsd restarts with dns_watch_queue = WATCH_Q and the rules are
# installed with `mxtls-iptables install --dns-watch WATCH_Q
# --queue-bypass'; Postfix looks its destinations up itself (its smtpdns
# transport, the C library's resolver pointed at the lab NSD): the DNS
# answers it gets pass through NFQUEUE to mxtlsd on their way.
#   share1.sts.example (DANE-EE) and share2.sts.example (MTA-STS enforce)
#   have one MX address, 192.0.2.45 (one sink; its certificate names both
#   MX hosts, and SNI tells the sink which one mxtlsd meant).
#   1. Postfix sends to share1: mxtlsd's log has the hint (share1 for
#      192.0.2.45, certain) and the early start; the RCPT found the hint
#      right; the sink got one connection, DANE-verified (SNI mx.share1).
#   2. A scripted client (stepclient, like an old MTA that takes its
#      time) says EHLO and MAIL and waits until mxtlsd logs the early
#      upstream ready; then RCPT.  The sink's connlog: its TLS handshake
#      was done before the client sent RCPT, the RCPT came after.
#   3. Postfix sends to share2, then to share1 again: the watcher now
#      knows two domains for 192.0.2.45 (the log says "one of 2") and
#      hints the same one first for both, so one of the two sessions
#      has a wrong hint: its early upstream is closed and the RCPT's own
#      policy runs.  Both arrive once, share2 verified by MTA-STS (SNI
#      mx.share2), share1 by DANE (SNI mx.share1).
#   4. /metrics: packets learned, early upstream started/used/wrong.
#   5. --queue-bypass: with mxtlsd stopped, DNS answers still arrive.
# Afterwards the lab's own rules and mxtlsd (no watcher) are back.

WATCH_Q=7
WATCH_SINK=192.0.2.45

# watch_sid RCPT - id of the mxtlsd session that delivered <RCPT>
watch_sid() {
	lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$woff" "to=<$1>.*status=sent" |
		tail -n 1 | awk '{ sub(":$", "", $3); print $3 }'
}

# watch_sess SID - that session's lines of mxtlsd's log (this scenario's)
watch_sess() { lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$woff" "]: $1: "; }

# watch_conns RCPT - the sink's connections (connlog) that got <RCPT>:
# one line each, "SNI T_TLS T_RCPT MSGS"; and "total N empty M" first
# (connections in all, and those that got no RCPT)
watch_conns() {
	"$LAB_PY" - "$LAB_DIR/log/$WATCH_SINK.conns" "$1" <<'PY'
import json, sys
recs = []
try:
    with open(sys.argv[1]) as f:
        recs = [json.loads(l) for l in f if l.strip()]
except OSError:
    pass
print("total %d empty %d" % (len(recs), sum(1 for r in recs if not r["rcpts"])))
for r in recs:
    if sys.argv[2] in r["rcpts"]:
        i = r["rcpts"].index(sys.argv[2])
        print(r["sni"], r["t_tls"], r["t_rcpts"][i], len(r["msgs"]))
PY
}

# watch_send RCPT NAME - Postfix sends one message to <RCPT>; check
# NAME-delivered (it is at the sink within 30 s); W_SID = mxtlsd's session
watch_send() {
	local rcpt=$1 name=$2 out
	W_SID=
	lab_tool gen-message "$LAB_DIR/work/$name.msg" --from sender@mta.lab.example --to "$rcpt" \
		--subject "lab watch $name $RUNID" --msgid "$name.$RUNID@mta.lab.example" --size 2000
	if ! out=$(lab_submit sender@mta.lab.example "$rcpt" "$LAB_DIR/work/$name.msg" 2>&1); then
		fail "$name-submit" "$out"
		return 1
	fi
	if ! lab_wait_msg "$(lab_sink_dir "$WATCH_SINK")" "$rcpt" 30; then
		fail "$name-delivered" "<$rcpt> is not at $WATCH_SINK within 30 s"
		return 1
	fi
	pass "$name-delivered"
	lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$woff" "to=<$rcpt>.*status=sent" 5
	W_SID=$(watch_sid "$rcpt")
	[ -n "$W_SID" ] || { fail "$name-session" "no status=sent line for <$rcpt> in mxtlsd's log"; return 1; }
	return 0
}

# watch_check_one RCPT NAME SNI - the sink got <RCPT> on exactly one
# connection, one message, with SNI (the MX host of the policy it went by)
watch_check_one() {
	local got
	got=$(watch_conns "$1" | sed 1d)
	if [ "$(echo "$got" | grep -c .)" = 1 ] && [ "$(echo "$got" | awk '{print $1, $4}')" = "$3 1" ]; then
		pass "$2-once-sni"
	else
		fail "$2-once-sni" "want one connection, SNI $3, one message; the sink's connlog has: ${got:-nothing}"
	fi
}

# watch_has NAME ERE WHAT - the session W_SID's log has a line matching ERE
watch_has() {
	if watch_sess "$W_SID" | grep -qE -- "$2"; then
		pass "$1"
	else
		fail "$1" "session $W_SID: $3 (no line matching /$2/)"
	fi
}

# watch_metric NAME SERIES MIN - /metrics has SERIES with a value >= MIN
watch_metric() {
	local v
	v=$(lab_metric "$2")
	if [ -n "$v" ] && awk -v v="$v" -v m="$3" 'BEGIN { exit !(v >= m) }'; then
		pass "$1"
	else
		fail "$1" "$2 is ${v:-missing}, want at least $3"
	fi
}

scenario_watch() {
	local tool=$LAB_REPO/iptables/mxtls-iptables out woff r1 r2 r3 r4 sid3 sid4 n
	local ctl step got t_go wrong
	local -a base=(--local --port "$LAB_PORT" --mark "$LAB_MARK")

	if ! "$MXTLSD" -n 2>/dev/null | grep -q '^dns_watch_queue ='; then
		fail setup "$MXTLSD has no dns_watch_queue"
		return
	fi
	if ! out=$(lab_in_mta "$tool" install "${base[@]}" --dns-watch "$WATCH_Q" --queue-bypass 2>&1); then
		fail install-dns-watch "$out"
		return
	fi
	pass install-dns-watch
	out=$(lab_in_mta "$tool" status 2>&1)
	if echo "$out" | grep -qE "^dns-watch: .*\b$WATCH_Q\b.*\(bypass\)"; then
		pass status-dns-watch
	else
		fail status-dns-watch "status: $out"
	fi
	lab_mxtlsd_stop
	printf 'dns_watch_queue = %s\n' "$WATCH_Q" >>"$LAB_DIR/mxtlsd.conf"
	woff=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	if ! lab_mxtlsd_start; then
		fail start-with-watcher "mxtlsd did not start with dns_watch_queue = $WATCH_Q"
		cp "$LAB_DIR/mxtlsd.conf.base" "$LAB_DIR/mxtlsd.conf"
		lab_redirect_install
		lab_mxtlsd_start
		return
	fi
	if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$woff" "dns watch: reading NFQUEUE $WATCH_Q\$" 5; then
		pass watcher-reads-queue
	else
		fail watcher-reads-queue "mxtlsd's log does not say it reads NFQUEUE $WATCH_Q"
	fi

	# ---- 1. share1: Postfix's own lookups make the hint; the RCPT finds it right
	r1="watch1-$RUNID@share1.sts.example"
	if watch_send "$r1" share1; then
		if lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$woff" \
		    "hint: share1\.sts\.example for \[?192\.0\.2\.45\]?:25 from the DNS watcher \(certain\)" >/dev/null; then
			pass share1-hint-learned
		else
			fail share1-hint-learned "no certain hint for share1.sts.example at 192.0.2.45 in mxtlsd's log: the watcher did not learn Postfix's lookups"
		fi
		watch_has share1-early-start "early: policy lookups and upstream for share1\.sts\.example before RCPT" \
			"the session did not start early"
		watch_has share1-hint-right "early: hint right" "the RCPT did not take the early work over"
		watch_has share1-dane "Verified TLS connection established to mx\.share1\.sts\.example.*DANE-EE" \
			"not DANE-verified"
		watch_check_one "$r1" share1 mx.share1.sts.example
		got=$(watch_conns "$r1" | sed -n 1p)
		if [ "$got" = "total 1 empty 0" ]; then
			pass share1-one-connection
		else
			fail share1-one-connection "the sink's connlog: $got (want the early connection to be the only one)"
		fi
	fi

	# ---- 2. the MX sees the TLS handshake before the client sends RCPT
	r2="watch2-$RUNID@share1.sts.example"
	ctl=$LAB_DIR/work/watch-ctl
	rm -rf "$ctl"
	mkdir -p "$ctl"
	lab_tool gen-message "$LAB_DIR/work/watch2.msg" --from sender@mta.lab.example --to "$r2" \
		--subject "lab watch step $RUNID" --msgid "watch2.$RUNID@mta.lab.example" --size 2000
	n=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	lab_in_mta "$LAB_PY" "$LAB_PY_DIR/stepclient.py" --connect "$WATCH_SINK:25" --ctl "$ctl" --timeout 20 \
		expect:220 "send:EHLO mta.lab.example" expect:250 "send:MAIL FROM:<sender@mta.lab.example>" \
		expect:250 mark:mailed wait:go "send:RCPT TO:<$r2>" expect:250 send:DATA expect:354 \
		"data:$LAB_DIR/work/watch2.msg" dot expect:250 send:QUIT expect:221 \
		>"$LAB_DIR/log/watch-step.log" 2>&1 &
	step=$!
	t_go=
	if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$n" "early: upstream .*192\.0\.2\.45.* ready .*before RCPT" 15; then
		t_go=$(date +%s.%N)
		touch "$ctl/go"
		pass step-early-ready
	else
		fail step-early-ready "mxtlsd did not log the early upstream ready while the client waited before RCPT"
		touch "$ctl/go"
	fi
	if wait "$step"; then
		pass step-delivered
	else
		fail step-delivered "stepclient: $(tail -n 3 "$LAB_DIR/log/watch-step.log")"
	fi
	got=$(watch_conns "$r2" | sed 1d)
	if [ -n "$t_go" ] && [ "$(echo "$got" | grep -c .)" = 1 ] &&
	    echo "$got" | awk -v go="$t_go" '{ exit !($2 + 0 > 0 && $2 < go && $3 > go) }'; then
		pass mx-tls-before-rcpt
	else
		fail mx-tls-before-rcpt "the sink's connlog (SNI T_TLS T_RCPT MSGS): ${got:-nothing}; the client sent RCPT after ${t_go:-never}"
	fi

	# ---- 3. two domains, one address: one of the two sessions had a wrong hint
	r3="watch3-$RUNID@share2.sts.example"
	r4="watch4-$RUNID@share1.sts.example"
	sid3= sid4=
	if watch_send "$r3" share2; then
		sid3=$W_SID
		watch_has share2-ambiguous "hint: share[12]\.sts\.example for .* \(one of 2\)" \
			"the hint did not name two domains"
		watch_has share2-sts "Verified TLS connection established to mx\.share2\.sts\.example.*MTA-STS enforce" \
			"not verified by share2's MTA-STS policy"
		watch_check_one "$r3" share2 mx.share2.sts.example
	fi
	if watch_send "$r4" share1-again; then
		sid4=$W_SID
		watch_has share1-again-ambiguous "hint: share[12]\.sts\.example for .* \(one of 2\)" \
			"the hint did not name two domains"
		watch_has share1-again-dane "Verified TLS connection established to mx\.share1\.sts\.example.*DANE-EE" \
			"not DANE-verified"
		watch_check_one "$r4" share1-again mx.share1.sts.example
	fi
	if [ -n "$sid3" ] && [ -n "$sid4" ]; then
		got=$(watch_sess "$sid3"; watch_sess "$sid4")
		wrong=$(printf '%s\n' "$got" | grep -c 'early: hint wrong')
		n=$(printf '%s\n' "$got" | grep -c 'early: hint right')
		if [ "$wrong" = 1 ] && [ "$n" = 1 ]; then
			pass wrong-hint-one-of-two
		else
			fail wrong-hint-one-of-two "sessions $sid3 and $sid4: $wrong wrong and $n right hints (want one of each: the same first hint for both)"
		fi
	fi

	# ---- 4. the counters
	watch_metric metrics-learned 'mxtls_dns_watch_packets_total{result="learned"}' 4
	watch_metric metrics-early-started 'mxtls_early_upstream_total{outcome="started"}' 4
	watch_metric metrics-early-used 'mxtls_early_upstream_total{outcome="used"}' 3
	watch_metric metrics-early-wrong 'mxtls_early_upstream_total{outcome="wrong"}' 1
	watch_metric metrics-watch-up 'mxtls_dns_watch_up' 1

	# ---- 5. --queue-bypass: DNS answers flow while nobody reads the queue
	lab_mxtlsd_stop
	if out=$(lab_in_mta drill -Q @"$LAB_NS_V4" share1.sts.example MX 2>&1) &&
	    echo "$out" | grep -q 'mx\.share1\.sts\.example'; then
		pass bypass-dns-flows
	else
		fail bypass-dns-flows "no answer with mxtlsd stopped and --queue-bypass: $out"
	fi

	# ---- back to the lab's own rules and mxtlsd
	cp "$LAB_DIR/mxtlsd.conf.base" "$LAB_DIR/mxtlsd.conf"
	lab_redirect_install || fail restore "lab_redirect_install failed"
	if lab_in_mta "$tool" status 2>/dev/null | grep -q '^dns-watch: off'; then
		pass restore-no-dns-watch
	else
		fail restore-no-dns-watch "the DNS watch rule is still there: $(lab_in_mta "$tool" status 2>&1 | grep dns-watch)"
	fi
	lab_mxtlsd_start || fail restore "mxtlsd did not start again"
}
