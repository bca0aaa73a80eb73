# dane-reroute - mx_mismatch.  Postfix's transport sends
# reroute@dane-ee.example to 192.0.2.99 (rogue.example, not an MX of
# dane-ee.example), as a poisoned or stale DNS would.
#   1. mx_mismatch = auto (reroute for a DANE domain): mxtlsd connects to
#      the validated MX instead: delivered verified at 192.0.2.31, nothing
#      at the rogue sink, although Postfix logs relay=192.0.2.99.
#   2. mxtlsd.conf gets mx_mismatch = refuse, SIGHUP ("reloaded"): a new
#      message (reroute-refuse@dane-ee.example, same route) is deferred with
#      the mx_mismatch reason; mxtlsd opens no upstream connection; nothing
#      is stored anywhere.
#   3. The configuration is restored, SIGHUP ("reloaded"), the deferred
#      message is flushed: re-routed and delivered at 192.0.2.31.
scenario_dane-reroute() {
	local h=mx1.dane-ee.example ip=192.0.2.31 rogue=192.0.2.99 qid rcpt
	lab_dane_only || return 0
	SCEN_SINKS="$ip $rogue"
	CK=
	lab_send reroute@dane-ee.example || return
	case $D_STATUS in
	*" relay=${rogue}[$rogue]:25,"*) pass postfix-relay-rogue ;;
	*) fail postfix-relay-rogue "Postfix did not connect to $rogue: ${D_STATUS#*: }" ;;
	esac
	if lab_expect_sent "$ip"; then
		lab_check_mx_tls yes
		lab_check_sni "$h"
		lab_check_bytes
	fi
	if lab_sess dane-ee.example; then
		lab_sess_has mxtlsd-rerouted "$(lab_req "[$rogue]:25 is not an MX host of dane-ee.example: rerouting to its MX hosts")" \
			"mxtlsd did not log the re-route away from $rogue"
		lab_sess_verified "$h" "$ip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
		lab_sess_lacks mxtlsd-not-to-rogue "connection established to [^ ]*\\[$(lab_req "$rogue")\\]" \
			"mxtlsd connected to the rogue address"
		lab_sess_txn "$h" "$ip"
	fi

	CK=-refuse
	if lab_mxtlsd_hup "mx_mismatch = refuse"; then pass "reload$CK"
	else fail "reload$CK" "SIGHUP with mx_mismatch = refuse: ${LAB_MATCH:-no reload line in 5 s}"; fi
	lab_send reroute-refuse@dane-ee.example || { CK=; lab_mxtlsd_hup; return; }
	rcpt=$D_RCPT qid=$D_QID
	lab_expect_deferred "451 4.7.5 the destination address is not an MX host of dane-ee.example (mx_mismatch = refuse)"
	if lab_sess dane-ee.example; then
		lab_sess_has mxtlsd-refused "$(lab_req "451 4.7.5 the destination address is not an MX host of dane-ee.example (mx_mismatch = refuse)")" \
			"mxtlsd did not log the refusal"
		lab_sess_lacks mxtlsd-no-upstream "TLS connection established to |status=sent" \
			"mxtlsd went upstream although mx_mismatch = refuse"
	fi

	CK=-restore
	if lab_mxtlsd_hup; then pass "reload$CK"
	else fail "reload$CK" "SIGHUP with the original configuration: ${LAB_MATCH:-no reload line in 5 s}"; fi
	D_OFF=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	D_MOFF=$(lab_log_size "$LAB_DIR/log/maillog")
	lab_postqueue -i "$qid" >/dev/null 2>&1
	if lab_wait_grep_after "$LAB_DIR/log/maillog" "$D_MOFF" "$qid: to=<$(lab_req "$rcpt")>.* status=" 10; then
		D_STATUS=$LAB_MATCH
		if lab_expect_sent "$ip" && lab_sess dane-ee.example; then
			lab_sess_has mxtlsd-rerouted "$(lab_req "[$rogue]:25 is not an MX host of dane-ee.example: rerouting to its MX hosts")" \
				"mxtlsd did not re-route after the restore"
			lab_sess_verified "$h" "$ip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
		fi
	else
		fail "postfix-sent$CK" "no new status line for <$rcpt> within 10 s of postqueue -i $qid"
		lab_dequeue
	fi
	CK=
}
