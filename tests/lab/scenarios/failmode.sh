# failmode - what happens to the old MTA's mail while mxtlsd is down, as
# `mxtls-iptables install --fail-closed | --fail-open' chose (issue 12).
#   fail-closed: the rules are installed with --fail-closed; mxtlsd stops;
#       `mxtls-iptables remove --if-fail-open' (what the unit's ExecStopPost
#       runs) leaves them; `status' says fail-closed and not listening.
#       Postfix's mail to tls.lab.example (mx1) is deferred with a refused
#       connection, mx1 gets no connection at all (its connlog) and the
#       status counters show refused packets.  mxtlsd starts again, the
#       queue is flushed: the message is at mx1 exactly once, through
#       mxtlsd (its log has the session).
#   fail-open: installed with --fail-open; mxtlsd stops; remove
#       --if-fail-open removes the rules; `status' says not installed;
#       Postfix's mail reaches mx1 directly (mxtlsd is not running).
# Afterwards the lab's own rules and mxtlsd are back.
# fm_install_stop MODE - install with --MODE (check install-MODE), stop
# mxtlsd, then what the unit's ExecStopPost runs; out = its output
fm_install_stop() {
	if ! out=$(lab_in_mta "$tool" install "${base[@]}" "--$1" 2>&1); then
		fail "install-$1" "$out"
		return 1
	fi
	pass "install-$1"
	lab_mxtlsd_stop
	out=$(lab_in_mta "$tool" remove --if-fail-open 2>&1)
}

scenario_failmode() {
	local tool=$LAB_REPO/iptables/mxtls-iptables out rcpt before after n msgid
	local -a base=(--local --port "$LAB_PORT" --mark "$LAB_MARK")

	if [ ! -x "$tool" ] || ! grep -q -- '--fail-closed' "$tool"; then
		fail setup "$tool has no --fail-closed"
		return
	fi
	# ---- fail-closed
	fm_install_stop fail-closed || return
	if lab_in_mta "$tool" status >/dev/null 2>&1; then
		pass remove-if-fail-open-keeps-closed
	else
		fail remove-if-fail-open-keeps-closed "status says not installed after remove --if-fail-open: $out"
	fi
	out=$(lab_in_mta "$tool" status 2>&1)
	if echo "$out" | grep -q '^mode: fail-closed' && echo "$out" | grep -q '^mxtlsd: not listening'; then
		pass status-fail-closed
	else
		fail status-fail-closed "status: $out"
	fi
	before=$(cat "$LAB_DIR/log/mx1.conns" 2>/dev/null | wc -l)
	rcpt="failclosed-$RUNID@tls.lab.example"
	msgid="failclosed.$RUNID@mta.lab.example"
	lab_tool gen-message "$LAB_DIR/work/failclosed.msg" --from sender@mta.lab.example --to "$rcpt" \
		--subject "lab failmode $RUNID" --msgid "$msgid" --size 0
	if ! out=$(lab_submit sender@mta.lab.example "$rcpt" "$LAB_DIR/work/failclosed.msg" 2>&1); then
		fail submit "$out"
	fi
	if lab_wait_deferred "$rcpt"; then
		case $LAB_QREASON in
		*refused*) pass fail-closed-deferred ;;
		*) fail fail-closed-deferred "deferred, but not by a refused connection: $LAB_QREASON" ;;
		esac
	else
		fail fail-closed-deferred "<$rcpt> is not deferred: ${LAB_QLINE:-not in the queue}"
	fi
	after=$(cat "$LAB_DIR/log/mx1.conns" 2>/dev/null | wc -l)
	if [ "$after" = "$before" ] && [ -z "$(lab_tool find-msg "$LAB_DIR/mail/mx1" "$rcpt")" ]; then
		pass fail-closed-nothing-at-mx
	else
		fail fail-closed-nothing-at-mx "mx1 got $((after - before)) connection(s) while mxtlsd was down"
	fi
	out=$(lab_in_mta "$tool" status 2>&1)
	n=$(echo "$out" | sed -n 's/^refused: \([0-9]*\) packets.*/\1/p' | head -n 1)
	if [ -n "$n" ] && [ "$n" -gt 0 ]; then
		pass fail-closed-refused-counted
	else
		fail fail-closed-refused-counted "status shows no refused packets: $out"
	fi
	if ! lab_mxtlsd_start; then
		fail restart "mxtlsd did not start again"
		return
	fi
	lab_postqueue -f >/dev/null 2>&1
	if lab_wait_msg "$LAB_DIR/mail/mx1" "$rcpt" 30; then
		sleep 1
		n=$(lab_tool find-msg "$LAB_DIR/mail/mx1" "$rcpt" | wc -l)
		if [ "$n" = 1 ]; then
			pass fail-closed-delivered-once
		else
			fail fail-closed-delivered-once "$n copies at mx1"
		fi
	else
		fail fail-closed-delivered-once "not at mx1 within 30 s of the restart and a flush"
	fi
	lab_check_mxtlsd_log fail-closed-through-mxtlsd "to=<$rcpt>.*status=sent" \
		"mxtlsd's log does not mention <$rcpt>: it did not go through mxtlsd"

	# ---- fail-open
	fm_install_stop fail-open || return
	if out=$(lab_in_mta "$tool" status 2>&1); then
		fail remove-if-fail-open-removes "still installed: $out"
	else
		pass remove-if-fail-open-removes
	fi
	rcpt="failopen-$RUNID@tls.lab.example"
	lab_tool gen-message "$LAB_DIR/work/failopen.msg" --from sender@mta.lab.example --to "$rcpt" \
		--subject "lab failmode $RUNID" --msgid "failopen.$RUNID@mta.lab.example" --size 0
	lab_submit sender@mta.lab.example "$rcpt" "$LAB_DIR/work/failopen.msg" >/dev/null 2>&1 ||
		fail submit-fail-open "sendmail -C failed"
	if lab_wait_msg "$LAB_DIR/mail/mx1" "$rcpt" 30; then
		pass fail-open-flows
	else
		fail fail-open-flows "<$rcpt> did not reach mx1 with mxtlsd down and fail-open"
	fi
	if grep -qF "$rcpt" "$LAB_DIR/log/mxtlsd.log"; then
		fail fail-open-bypassed-mxtlsd "mxtlsd's log mentions <$rcpt>, yet it was stopped"
	else
		pass fail-open-bypassed-mxtlsd
	fi

	# ---- back to the lab's own rules and mxtlsd
	lab_redirect_install || fail restore "lab_redirect_install failed"
	lab_mxtlsd_start || fail restore "mxtlsd did not start again"
}
