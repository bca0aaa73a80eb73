# reset - the MX (mx3, 192.0.2.27) resets the connection inside DATA.
# Postfix must defer the message with a 4xx + enhanced code that mxtlsd
# sent (maillog "status=deferred (host ... said: 4..", postqueue shows it
# deferred); nothing is stored.  Then mx3 is restarted in normal mode on
# the same addresses, `postqueue -f`, and the message arrives exactly once.
scenario_reset() {
	local out n count
	SCEN_SINKS=mx3
	D_RCPT="$SCEN-$RUNID@reset.lab.example"
	local msgid="$SCEN.$RUNID@mta.lab.example"
	D_FILE=$LAB_DIR/work/$SCEN.msg
	lab_tool gen-message "$D_FILE" --from sender@mta.lab.example --to "$D_RCPT" \
		--subject "lab $SCEN $RUNID" --msgid "$msgid" --size 8192
	if ! out=$(lab_submit sender@mta.lab.example "$D_RCPT" "$D_FILE" 2>&1); then
		fail submit "sendmail -C failed: $out"; return
	fi
	pass submit
	lab_wait_qid "$msgid" 5
	D_QID=$LAB_QID
	lab_wait_grep "$LAB_DIR/log/maillog" "$D_QID: to=<$D_RCPT>.* status=" 30
	D_STATUS=$LAB_MATCH
	case $D_STATUS in
	*" status=deferred "*) pass postfix-deferred ;;
	*) fail postfix-deferred "expected status=deferred for <$D_RCPT>, got: ${D_STATUS:-no status line in 30 s}"; return ;;
	esac
	if [ "$LAB_FLAVOR" = local ]; then
		if echo "$D_STATUS" | grep -Eq 'status=deferred \(host [^ ]+ said: 4[0-9][0-9][ -]4\.[0-9]{1,3}\.[0-9]{1,3} '; then
			pass deferred-reason-from-mxtlsd
		else
			fail deferred-reason-from-mxtlsd "Postfix's reason is not a 4xx reply with an enhanced code from mxtlsd: ${D_STATUS#*status=}"
		fi
	fi
	if lab_wait_deferred "$D_RCPT" && [ -n "$LAB_QREASON" ]; then
		if [ "$LAB_FLAVOR" = local ] && ! echo "$LAB_QREASON" | grep -Eq 'said: 4[0-9][0-9][ -]4\.'; then
			fail queue-deferred "the queue's delay_reason is not mxtlsd's 4xx: $LAB_QREASON"
		else
			pass queue-deferred
		fi
	else
		fail queue-deferred "postqueue -j: expected <$D_RCPT> in the deferred queue with a reason, got: ${LAB_QLINE:-nothing}"
	fi
	count=$(lab_tool find-msg "$LAB_DIR/mail/mx3" "$D_RCPT" | wc -l)
	if [ "$count" = 0 ]; then pass nothing-stored
	else fail nothing-stored "the resetting MX stored $count message(s)"; fi

	lab_sink_stop mx3
	if ! lab_sink_start mx3 normal; then
		fail sink-restart "mx3 did not restart in normal mode"; return
	fi
	if ! out=$(lab_postqueue -f 2>&1); then
		fail flush "postqueue -f failed: $out"; return
	fi
	lab_wait_msg "$LAB_DIR/mail/mx3" "$D_RCPT" 30
	n=$LAB_MSG
	if [ -z "$n" ]; then
		fail delivered-after-flush "no message at mx3 within 30 s after postqueue -f; $(grep -F "$D_QID: to=<$D_RCPT>" "$LAB_DIR/log/maillog" | tail -n 1)"
		return
	fi
	pass delivered-after-flush
	if lab_wait_queue_empty "$D_RCPT" 30; then pass queue-empty
	else fail queue-empty "<$D_RCPT> still queued 30 s after delivery: $(lab_postqueue -j)"; fi
	count=$(lab_tool find-msg "$LAB_DIR/mail/mx3" "$D_RCPT" | wc -l)
	if [ "$count" = 1 ]; then pass exactly-once
	else fail exactly-once "mx3 stored $count copies of the message"; fi
	D_EML=$LAB_DIR/mail/mx3/$n.eml
	lab_check_bytes
}
