# exim.sh - Exim as the old MTA (issue 9): two domains that share one MX
# host, one of them failing its policy, in one message.
#
# Exim (Debian's exim4-daemon-light, unpacked, see lib/exim.sh lab_exim_up)
# routes one-bad.example and shared-mx.example to the same address,
# 192.0.2.37 (manualroute, no DNS in Exim).  Its remote_smtp transport
# (multi_domain = true, Exim's default) puts recipients of both domains
# into one SMTP transaction on one connection, which the nat OUTPUT rule
# hands to mxtlsd.  mxtlsd decides per recipient domain, from its own DNS:
#   one-bad.example	DANE, mx.one-bad.example's TLSA 3 1 1 has a wrong
#			digest: the policy fails (451 4.7.5, tlsa-invalid)
#   shared-mx.example	unsigned zone, MX 10 mx.one-bad.example (the same
#			host): no policy, opportunistic STARTTLS
#
# One message to <F@one-bad.example> and <N@shared-mx.example> (F, N named
# after the scenario and run), submitted with `exim -odi` (delivered before
# exim returns), in the recipient order the scenario's name says:
#   exim-mixed-failing-first	RCPT F, then RCPT N
#   exim-mixed-failing-second	RCPT N, then RCPT F
# Checks:
#   exim-accepted		Exim took the message (<= in its log)
#   rcpt-order			Exim sent the RCPTs in that order (its -v
#				transcript of the first connection)
#   nopolicy-prompt		N reached 192.0.2.37 within 20 s of the
#				submission, with at most one `exim -qff` (run
#				when the -odi delivery left N queued)
#   nopolicy-once		N's copy is stored once, only there
#   nopolicy-bytes		byte for byte as submitted (after Exim's
#				Received: header)
#   failing-not-delivered	F is nowhere before the fix
#   failing-queued		F is still in Exim's queue (exim -bp, -Mvh)
#   dns-fixed			tests/lab/dns/fix-one-bad.sh: the right TLSA
#   failing-delivered-after-fix	`exim -qff` (repeated while mxtlsd may still
#				hold the old answer, at most ~15 s): F arrives
#   failing-once		F's copy is stored once, only there
#   failing-bytes		byte for byte as submitted
#   nopolicy-once-at-end	after the queue runs, N is stored once (a
#				queue run did not deliver it again; or, when
#				it was not prompt, it came with F)
#   queue-empty			nothing left in Exim's queue
#   nothing-bounced		no ** (failed) line, no message from <> in
#				Exim's log
#   exim-no-panic		nothing in Exim's paniclog but the known
#				"exim user lost privilege for using -C option"
#   dns-broken-again		fix-one-bad.sh break (the world as built)
# The timings (submission to N's arrival, fix to F's arrival, queue runs)
# and what mxtlsd answered each RCPT (Exim's transcript, Exim's log) go to
# stderr.  Whatever is left in Exim's queue is removed at the end.

EXIM_FAIL_DOM=one-bad.example
EXIM_OK_DOM=shared-mx.example
EXIM_MX=192.0.2.37

# exim_ensure - Exim set up once per run (lab_exim_up); 1 after a FAIL line
exim_ensure() {
	[ -n "$LAB_EXIM" ] && return 0
	if lab_exim_up "$EXIM_FAIL_DOM $EXIM_MX" "$EXIM_OK_DOM $EXIM_MX"; then
		return 0
	fi
	fail exim-setup "Exim could not be set up (see $LAB_DIR/log/exim-deps.log, exim-bV.log)"
	return 1
}

# exim_msg_lines ID - Exim's log lines of message ID
exim_msg_lines() { grep -F " $1 " "$(lab_exim_log)" 2>/dev/null; }

# exim_queued ID RCPT - RCPT of message ID is still to be delivered
# (exim -bp lists it without the D of a delivered address)
exim_queued() {
	lab_exim -bp 2>/dev/null | awk -v id="$1" -v r="$2" '
		$3 == id { inmsg = 1; next }
		/^ *[0-9]+[smhdw] / { inmsg = 0 }
		inmsg && $1 == r { found = 1 }
		END { exit !found }'
}

# exim_qff OUT - one queue run (forced, frozen included), transcript to OUT
exim_qff() { lab_exim -qff -v >>"$1" 2>&1 </dev/null; }

# exim_mixed failing-first|failing-second
exim_mixed() {
	local order=$1 f n msgid file tr id t0 t1 tn tq tfix tf runs=0 fruns=0 out end
	local first second where got xoff poff
	lab_dane_only || return 0
	exim_ensure || return
	exim_dns_broken || return
	SCEN_SINKS=$EXIM_MX
	f="$SCEN-$RUNID@$EXIM_FAIL_DOM"
	n="$SCEN-$RUNID@$EXIM_OK_DOM"
	if [ "$order" = failing-first ]; then first=$f second=$n; else first=$n second=$f; fi
	msgid="$SCEN.$RUNID@mta.lab.example"
	file=$LAB_DIR/work/$SCEN.msg
	tr=$LAB_DIR/log/$SCEN.exim-v
	lab_tool gen-message "$file" --from sender@mta.lab.example --to "$first" \
		--subject "lab $SCEN $RUNID" --msgid "$msgid" --size 0
	D_OFF=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	xoff=$(lab_log_size "$(lab_exim_log)")
	poff=$(lab_log_size "$LAB_EXIM/log/paniclog")
	# Exim sends the RCPTs in the order of its command line
	t0=$(lab_now_ms)
	lab_exim -odi -oi -v -f sender@mta.lab.example -- "$first" "$second" \
		<"$file" >"$tr" 2>&1
	t1=$(lab_now_ms)
	id=$(grep -F " <= sender@mta.lab.example " "$(lab_exim_log)" | grep -F "id=$msgid" |
		tail -n 1 | awk '{print $3}')
	if [ -z "$id" ]; then
		fail exim-accepted "no <= line with id=$msgid in Exim's log; exim said: $(tail -n 5 "$tr")"
		return
	fi
	pass exim-accepted
	lab_log "$SCEN: Exim message $id; exim -odi returned after $((t1 - t0)) ms"

	got=$(exim_rcpt_order "$tr" | tr '\n' ' ')
	if [ "$got" = "$first $second " ]; then pass rcpt-order
	else fail rcpt-order "expected RCPT <$first> then <$second>, Exim sent: ${got:-no RCPT}"; fi

	# the no-policy copy: promptly, allowing one immediate queue run.
	# Exim runs no daemon: once that queue run has returned with N still
	# queued, nothing will deliver N, and waiting longer is pointless.
	tn=
	tq=
	if ! lab_wait_msg "$(lab_sink_dir "$EXIM_MX")" "$n" 2 && exim_queued "$id" "$n"; then
		exim_qff "$tr"
		runs=1
		tq=$(lab_now_ms)
	fi
	end=$((t0 + 20000))
	while :; do
		if [ -n "$(lab_tool find-msg "$(lab_sink_dir "$EXIM_MX")" "$n")" ]; then
			tn=$(exim_arrival_ms "$n")
			break
		fi
		[ "$(lab_now_ms)" -ge $end ] && break
		if [ -n "$tq" ] && [ "$(lab_now_ms)" -ge $((tq + 1000)) ] && exim_queued "$id" "$n"; then
			break
		fi
		sleep 0.2
	done
	if [ -n "$tn" ]; then
		pass nopolicy-prompt
		lab_log "$SCEN: <$n> arrived $((tn - t0)) ms after the submission ($runs queue run)"
	else
		fail nopolicy-prompt "<$n> (no policy) not at $EXIM_MX $(( $(lab_now_ms) - t0 )) ms after the submission, still in Exim's queue after exim -odi and $runs exim -qff; $(exim_summary "$id" "$tr")"
		lab_log "$SCEN: <$n> had not arrived $(( $(lab_now_ms) - t0 )) ms after the submission ($runs queue run)"
	fi
	if [ -n "$tn" ]; then
		exim_once nopolicy-once "$n"
		exim_bytes nopolicy-bytes "$n" "$file"
	fi

	where=$(lab_where "$f")
	if [ -z "$where" ]; then pass failing-not-delivered
	else fail failing-not-delivered "<$f> delivered while its policy fails: $(echo "$where" | tr '\n' ' ')"; fi
	if exim_queued "$id" "$f" && lab_exim -Mvh "$id" >/dev/null 2>&1; then
		pass failing-queued
	else
		fail failing-queued "<$f> is not in Exim's queue: $(lab_exim -bp 2>&1 | tr '\n' ' ')"
	fi

	# fix the policy; queue runs until F arrives (mxtlsd may still hold
	# the old answer for a moment)
	if out=$("$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" 2>&1); then
		pass dns-fixed
	else
		fail dns-fixed "fix-one-bad.sh failed: $out"
		exim_cleanup "$id"
		return
	fi
	tfix=$(lab_now_ms)
	tf=
	end=$((tfix + 15000))
	while [ "$(lab_now_ms)" -lt $end ]; do
		exim_qff "$tr"
		fruns=$((fruns + 1))
		if lab_wait_msg "$(lab_sink_dir "$EXIM_MX")" "$f" 2; then
			tf=$(exim_arrival_ms "$f")
			break
		fi
		exim_queued "$id" "$f" || break
		sleep 1
	done
	if [ -n "$tf" ]; then
		pass failing-delivered-after-fix
		lab_log "$SCEN: <$f> arrived $((tf - tfix)) ms after the fix ($fruns queue runs)"
		exim_once failing-once "$f"
		exim_bytes failing-bytes "$f" "$file"
	else
		fail failing-delivered-after-fix "<$f> not at $EXIM_MX 15 s after the fix ($fruns exim -qff); $(exim_summary "$id" "$tr")"
		lab_log "$SCEN: <$f> had not arrived 15 s after the fix ($fruns queue runs)"
	fi
	# N once in the end, whether it came promptly or only with F
	exim_once nopolicy-once-at-end "$n"
	if lab_exim -bp 2>/dev/null | grep -qF "$id"; then
		fail queue-empty "still in Exim's queue: $(lab_exim -bp 2>&1 | tr -s ' \n' ' ')"
	else
		pass queue-empty
	fi
	out=$(lab_grep_after "$(lab_exim_log)" "$xoff" " \*\* | <= <> ")
	if [ -z "$out" ]; then pass nothing-bounced
	else fail nothing-bounced "Exim's log: $(echo "$out" | head -n 4 | tr '\n' ' ')"; fi
	# one known line: the delivery Exim re-executes after -odi runs as
	# Debian-exim, which loses root for -C (see lib/exim.sh); harmless
	out=$(lab_grep_after "$LAB_EXIM/log/paniclog" "$poff" . | grep -vF 'exim user lost privilege for using -C option')
	if [ -z "$out" ]; then pass exim-no-panic
	else fail exim-no-panic "Exim's paniclog: $(echo "$out" | head -n 4 | tr '\n' ' ')"; fi
	lab_log "$SCEN: timings: exim -odi took $((t1 - t0)) ms;" \
		"<$n> (no policy): $([ -n "$tn" ] && echo "$((tn - t0)) ms after the submission" || echo "not delivered, deferred by exim -odi and the queue run") ($runs queue run);" \
		"<$f> (policy fixed): $([ -n "$tf" ] && echo "$((tf - tfix)) ms after the fix" || echo "not arrived within 15 s") ($fruns queue runs)"
	lab_log "$SCEN: what mxtlsd answered (Exim's transcript $tr):"
	exim_rcpt_replies "$tr" | sed 's/^/lab:   /' >&2
	lab_log "$SCEN: Exim's log for $id:"
	exim_msg_lines "$id" | sed 's/^/lab:   /' >&2
	lab_log "$SCEN: mxtlsd's log:"
	lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" \
		': (connect from|policy lookups for|.*: held: |all MX hosts failed|attempt to .* failed|to=<.* status=)' |
		sed 's/^/lab:   /' >&2

	if out=$("$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" break 2>&1); then pass dns-broken-again
	else fail dns-broken-again "fix-one-bad.sh break failed: $out"; fi
	exim_cleanup "$id"
}

# exim_dns_broken - one-bad.example's TLSA is the wrong one (as built; break
# it when an earlier run of fix-one-bad.sh left it right), and changed at
# least 2.5 s ago: mxtlsd's resolver (TTL 1 s) no longer holds the right
# one.  1 after a FAIL line.
exim_dns_broken() {
	local z=$LAB_DIR/dns/zones/one-bad.example.zone wrong out age
	wrong=$(. "$LAB_DIR/dns/env.sh"; echo "$DNS_ONE_BAD_WRONG")
	if ! grep -qi "TLSA[[:space:]]*3 1 1 $wrong" "$z"; then
		if ! out=$("$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" break 2>&1); then
			fail dns-broken "fix-one-bad.sh break failed: $out"
			return 1
		fi
	fi
	age=$(( $(lab_now_ms) - $(date -r "${z%.zone}.signed" +%s%3N) ))
	age=$((2500 - age))
	[ "$age" -gt 0 ] && sleep "$((age / 1000)).$(printf '%03d' $((age % 1000)))"
	return 0
}

# exim_arrival_ms RCPT - when the sink stored its first copy of RCPT (ms)
exim_arrival_ms() {
	local n
	n=$(lab_tool find-msg "$(lab_sink_dir "$EXIM_MX")" "$1" | head -n 1)
	lab_tool json-get "$(lab_sink_dir "$EXIM_MX")/$n.json" time | awk '{ printf "%.0f\n", $1 * 1000 }'
}

# exim_once CHECK RCPT - one copy of RCPT, at $EXIM_MX only
exim_once() {
	local where
	where=$(lab_where "$2")
	if [ "$(echo "$where" | wc -l)" = 1 ] && [ "${where%% *}" = "$EXIM_MX" ]; then pass "$1"
	else fail "$1" "copies of <$2> (sink number): $(echo "$where" | tr '\n' ' ')"; fi
}

# exim_bytes CHECK RCPT FILE - the copy of RCPT at $EXIM_MX is FILE byte for
# byte (after Exim's Received: header; CRLF as LF)
exim_bytes() {
	local n out
	n=$(lab_tool find-msg "$(lab_sink_dir "$EXIM_MX")" "$2" | head -n 1)
	if out=$(lab_tool compare "$3" "$(lab_sink_dir "$EXIM_MX")/$n.eml" 2>&1); then pass "$1"
	else fail "$1" "<$2>: $out"; fi
}

# exim_rcpt_order TRANSCRIPT - the addresses of the RCPT commands of the
# first transaction in Exim's -v transcript, one a line
exim_rcpt_order() { lab_tool exim-transcript "$1" | awk '$1 == 1 && $2 == 1 && $3 == "RCPT" {print $4}'; }

# exim_rcpt_replies TRANSCRIPT - each RCPT (and the end of data) with the
# reply it got, per connection
exim_rcpt_replies() { lab_tool exim-transcript "$1"; }

# exim_summary ID TRANSCRIPT - one line: the RCPT replies and Exim's
# deferral lines for message ID
exim_summary() {
	echo "RCPT replies: $(exim_rcpt_replies "$2" | tr '\n' ';' | sed 's/;$//'); Exim: $(exim_msg_lines "$1" | grep -E ' (==|=>|->|\*\*) ' | cut -d' ' -f3- | tr '\n' ';')"
}

# exim_cleanup ID - remove message ID from Exim's queue (if it is there)
exim_cleanup() {
	lab_exim -bp 2>/dev/null | grep -qF " $1 " && lab_exim -Mrm "$1" >/dev/null 2>&1
	return 0
}

scenario_exim-mixed-failing-first() { exim_mixed failing-first; }
scenario_exim-mixed-failing-second() { exim_mixed failing-second; }
