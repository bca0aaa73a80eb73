# dane-one-bad - mx.one-bad.example's TLSA 3 1 1 has a wrong digest: the
# message is deferred with 451 4.7.5 (result=tlsa-invalid) and stays in
# Postfix's queue; nothing reaches the MX.  Then tests/lab/dns/fix-one-bad.sh
# publishes the right digest (TTL 1 s), `postqueue -f` (repeated, at most
# ~15 s, while mxtlsd may still hold the old answer): the message arrives
# exactly once, verified, and leaves the queue.  Finally the zone is broken
# again (fix-one-bad.sh break), as the world was built.
scenario_dane-one-bad() {
	local h=mx.one-bad.example ip=192.0.2.37 out end flushes=0 st sent="" qid
	lab_dane_only || return 0
	SCEN_SINKS=$ip
	lab_send one-bad.example || return
	lab_expect_deferred "451 4.7.5 TLSA record mismatch for ${h}[$ip]:25"
	if lab_sess one-bad.example; then
		lab_sess_policy one-bad.example "$h" "_25._tcp.$h." dane
		lab_sess_result "${h}[$ip]:25" tlsa-invalid
		lab_sess_lacks mxtlsd-not-verified 'Verified TLS connection' "a connection was logged as verified"
		lab_sess_lacks mxtlsd-no-transaction ' status=sent ' "mxtlsd relayed a transaction"
	fi
	qid=$D_QID

	if out=$("$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" 2>&1); then
		pass dns-fixed
	else
		fail dns-fixed "fix-one-bad.sh failed: $out"
		lab_dequeue
		return
	fi
	# flush until a delivery attempt after the fix succeeds; an attempt
	# within the old answer's TTL may still be deferred
	end=$(( $(lab_now_ms) + 15000 ))
	while [ "$(lab_now_ms)" -lt $end ]; do
		D_OFF=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
		D_MOFF=$(lab_log_size "$LAB_DIR/log/maillog")
		lab_postqueue -f >/dev/null 2>&1
		flushes=$((flushes + 1))
		if lab_wait_grep_after "$LAB_DIR/log/maillog" "$D_MOFF" "$qid: to=<$(lab_req "$D_RCPT")>.* status=" 5; then
			D_STATUS=$LAB_MATCH
			case $D_STATUS in *" status=sent "*) sent=1; break ;; esac
		elif ! lab_postqueue -j | lab_tool queue-json | grep -qiF " $D_RCPT "; then
			D_STATUS="<$D_RCPT> is no longer in Postfix's queue"
			break
		fi
		sleep 1
	done
	lab_log "$SCEN: $flushes postqueue -f after the fix"
	CK=-after-fix
	if [ -z "$sent" ]; then
		fail "postfix-sent$CK" "still not sent 15 s after the fix ($flushes flushes); last: ${D_STATUS#*: }"
		lab_dequeue
		"$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" break >/dev/null 2>&1
		CK=
		return
	fi
	if lab_expect_sent "$ip"; then
		lab_check_mx_tls yes
		lab_check_bytes
	fi
	if lab_wait_queue_empty "$D_RCPT" 10; then pass "queue-empty$CK"
	else fail "queue-empty$CK" "<$D_RCPT> still queued: $(lab_postqueue -j)"; fi
	if lab_sess one-bad.example; then
		lab_sess_has mxtlsd-policy "$(lab_req "policy for one-bad.example: MX 10 $h (mx secure, address secure, tlsa 3 1 1 ")$(. "$LAB_DIR/dns/env.sh"; echo "$DNS_ONE_BAD_RIGHT" | tr a-f A-F)\\) -> dane\$" \
			"mxtlsd did not pick up the fixed TLSA record"
		lab_sess_verified "$h" "$ip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
		lab_sess_txn "$h" "$ip"
	fi
	if out=$("$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" break 2>&1); then pass "dns-broken-again"
	else fail "dns-broken-again" "fix-one-bad.sh break failed: $out"; fi
	CK=
}
