# journal.sh - journal-required: a journal that cannot be written.
#
# mxtlsd is restarted with journal_dir on a 64 KiB tmpfs filled to its last
# page, so that every record fails with ENOSPC:
#   (a) journal_required = no: a message to tls.lab.example (sink mx1) is
#       delivered;
#       mxtlsd warns that the attempt could not be recorded, naming the
#       file and the error, with the count of lost records;
#   (b) journal_required = yes (SIGHUP): the next message gets 451 4.3.0,
#       stays in Postfix's queue, and nothing reaches the sink;
#   (c) space freed, queue flushed: that message goes out, and its record
#       (result-type success) is in the journal.
# Then mxtlsd is started again with the lab's configuration.  Runs after
# `report' (message (a) has no record, on purpose).

JR_DIR=

# jr_restore - the lab's mxtlsd and journal back, the tmpfs gone
jr_restore() {
	lab_mxtlsd_stop
	[ -n "$JR_DIR" ] && mountpoint -q "$JR_DIR" && umount "$JR_DIR"
	lab_mxtlsd_conf_write
	lab_mxtlsd_start || fail "restored" "mxtlsd did not start again with the lab's configuration"
}

scenario_journal-required() {
	local d=tls.lab.example sink=mx1 off st rec
	lab_dane_only || return 0
	SCEN_SINKS=$sink
	JR_DIR=$LAB_DIR/jfull
	mkdir -p "$JR_DIR"
	if ! mount -t tmpfs -o size=64k,mode=0777 mxtls-jfull "$JR_DIR"; then
		fail setup "cannot mount a 64 KiB tmpfs on $JR_DIR"
		return
	fi
	dd if=/dev/zero of="$JR_DIR/filler" bs=4k 2>/dev/null	# until ENOSPC
	lab_mxtlsd_stop
	lab_mxtlsd_conf_write "journal_dir = $JR_DIR" "journal_required = no"
	if ! lab_mxtlsd_start; then
		fail restarted "mxtlsd did not start with journal_dir = $JR_DIR: $(tail -n 2 "$LAB_DIR/log/mxtlsd.log")"
		jr_restore
		return
	fi
	pass restarted

	# (a) not required: delivered, loudly unrecorded
	CK=-not-required
	off=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	lab_send "a-$SCEN-$RUNID@$d" && lab_expect_sent "$sink"
	if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" \
		"warning: [0-9A-F]+: journal: cannot record the attempt to .* for $(lab_req "$d"): $(lab_req "$JR_DIR")/[0-9-]+\\.jsonl: No space left on device \\([0-9]+ records lost so far\\)" 5; then
		pass "warned$CK"
	else
		fail "warned$CK" "no warning about the lost record: $(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" journal | head -n 2)"
	fi

	# (b) required: refused, kept by Postfix
	CK=-required
	if lab_mxtlsd_hup "journal_dir = $JR_DIR" "journal_required = yes"; then pass "reload$CK"
	else fail "reload$CK" "SIGHUP with journal_required = yes: ${LAB_MATCH:-no reload line in 5 s}"; fi
	# (lab_expect_deferred also checks that no sink got it)
	lab_send "b-$SCEN-$RUNID@$d" &&
		lab_expect_deferred "451 4.3.0 Error: the attempt could not be recorded (journal_required = yes)"

	# (c) space again: the kept message goes out, recorded
	CK=-space-again
	rm -f "$JR_DIR/filler"
	if [ -n "$D_QID" ]; then
		off=$(lab_log_size "$LAB_DIR/log/maillog")
		lab_postqueue -f >/dev/null 2>&1
		if lab_wait_grep_after "$LAB_DIR/log/maillog" "$off" \
			"$D_QID: to=<$(lab_req "$D_RCPT")>.* status=sent \\(250 " 20; then
			pass "postfix-sent$CK"
		else
			st=$(lab_grep_after "$LAB_DIR/log/maillog" "$off" "$D_QID: to=" | tail -n 1)
			fail "postfix-sent$CK" "the kept message was not sent after the flush: ${st:-no status line}"
		fi
		if lab_wait_msg "$(lab_sink_dir "$sink")" "$D_RCPT" 10; then pass "delivered-at-$sink$CK"
		else fail "delivered-at-$sink$CK" "no message for <$D_RCPT> at $sink"; fi
		rec=$(cat "$JR_DIR"/*.jsonl 2>/dev/null | grep -F "\"policy-domain\":\"$d\"" |
			grep -F '"result-type":"success"')
		if [ -n "$rec" ]; then pass "journal-record$CK"
		else fail "journal-record$CK" "no success record for $d in $JR_DIR: $(cat "$JR_DIR"/*.jsonl 2>/dev/null | head -c 600)"; fi
	fi
	CK=
	jr_restore
}
