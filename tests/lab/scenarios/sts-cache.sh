# sts-cache.sh - the MTA-STS cache: what survives, what changes it.
#
#   sts-cache      cache.sts.example (MX 10 wrongname: certificate for another
#                  name, MX 20 good2; enforce, mx: *.sts.example): the first
#                  message fetches and caches the policy (MX 10 refused,
#                  delivered at MX 20).  Then its TXT record is removed AND
#                  the policy host stopped: the next message still gets the
#                  cached policy (MX 10 refused again, delivered at MX 20, no
#                  fetch, cache file untouched).  Policy host and TXT restored.
#   sts-idchange   first a message deferred as in sts-allbad (every MX of
#                  allbad.sts.example refused under enforce; check names
#                  with -setup): the domain publishes a new policy, mode
#                  none, under a new id; the deferred message, flushed, is
#                  delivered at the MX that was refused (opportunistic TLS),
#                  the new policy fetched and cached.  Then the TXT record
#                  goes: the next message makes mxtlsd drop the mode-none
#                  entry ("withdrew its policy"), cache file removed.  The
#                  domain is restored as built.
#                  mxtlsd fetches a domain's policy at most once a minute
#                  (a fixed 60 s in proxy/main.c), so when its last fetch of
#                  allbad's policy (the setup's, or sts-allbad's) was less
#                  than 61 s ago in this mxtlsd's life, the scenario waits
#                  for the rest; after a restart (run's default order puts
#                  it after sts-restart) it need not: the setup finds the
#                  policy loaded from the cache directory, with no recent
#                  fetch.  Run alone, or after sts-allbad without a restart
#                  in between, it waits (~60 s).
#   sts-restart    mxtlsd stopped and started: it loads the cache directory
#                  ("sts cache: N policies loaded from DIR", N = the files
#                  there that hold a policy) and delivers to enforce.sts.example by the cached
#                  policy without a fetch (the policy host sees no request).

# mxtlsd's minimum time between two fetches of one domain's policy (fixed
# at 60 s in proxy/main.c: sc.rules.min_interval)
LAB_STS_MIN_INTERVAL=${LAB_STS_MIN_INTERVAL:-60}

scenario_sts-cache() {
	local d=cache.sts.example hoff before l
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.52"
	lab_send "$d" || return
	if lab_expect_sent 192.0.2.51; then
		lab_check_mx_tls yes
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" cache1 enforce '*.sts.example'
		lab_sts_refused wrongname.sts.example 192.0.2.52 certificate-host-mismatch \
			X509_V_ERR_HOSTNAME_MISMATCH "hostname mismatch"
		lab_sts_verified good2.sts.example 192.0.2.51 cache1
	fi
	lab_sts_fetched "$d" cache1 enforce 1
	lab_sts_cachefile "$d" cache1 || return
	before=$(cat "$LAB_DIR/sts/$d")

	CK=-txt-gone-host-down
	if lab_sts_txt "$d" remove; then pass "txt-removed$CK"
	else fail "txt-removed$CK" "sts-txt.sh $d remove: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
	lab_https_stop
	# (only the policy host's addresses: the TLSRPT endpoint, rptsink.py,
	# listens on port 443 of its own)
	l=$(lab_in_mx ss -Hltn 'sport = :443' | grep -F -e "$DNS_HTTPS_V4:443" -e "[$DNS_HTTPS_V6]:443")
	if [ -z "$l" ]; then pass "policy-host-down$CK"
	else fail "policy-host-down$CK" "something still listens on port 443: $l"; fi
	# the TXT record's TTL is 1 s; a resolver keeps it until its expiry
	# second has passed (whole seconds): then it asks again
	sleep 2.1
	hoff=$(lab_log_size "$(lab_https_log)")
	lab_send "cached-$SCEN-$RUNID@$d"
	if [ -n "$D_STATUS" ] && lab_expect_sent 192.0.2.51; then
		lab_check_mx_tls yes
	fi
	if [ -n "$D_QID" ] && lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" cache1 enforce '*.sts.example' cached
		lab_sts_refused wrongname.sts.example 192.0.2.52 certificate-host-mismatch \
			X509_V_ERR_HOSTNAME_MISMATCH "hostname mismatch"
		lab_sts_verified good2.sts.example 192.0.2.51 cache1
		lab_sess_lacks mxtlsd-no-sts-error ": mta-sts for $(lab_req "$d"): result=" \
			"mxtlsd logged a policy failure although the cached policy applies"
	fi
	lab_sts_not_fetched "$d" "$hoff"
	if [ "$(cat "$LAB_DIR/sts/$d" 2>/dev/null)" = "$before" ]; then pass "cache-file-unchanged$CK"
	else fail "cache-file-unchanged$CK" "$LAB_DIR/sts/$d changed: $(tr '\n' '|' <"$LAB_DIR/sts/$d" 2>/dev/null || echo gone)"; fi

	CK=-restore
	if lab_https_start; then pass "policy-host-up$CK"
	else fail "policy-host-up$CK" "$(tail -n 3 "$LAB_DIR/log/https.log")"; fi
	if lab_sts_txt "$d" cache1; then pass "txt-back$CK"
	else fail "txt-back$CK" "sts-txt.sh $d cache1: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
	CK=
}

scenario_sts-idchange() {
	local d=allbad.sts.example fe w hoff qid rcpt
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.52 192.0.2.53"
	# a message of its own, deferred as in sts-allbad
	CK=-setup
	sts_allbad_send
	CK=
	qid=$STS_ALLBAD_QID rcpt=$STS_ALLBAD_RCPT
	if [ -z "$qid" ] || ! lab_postqueue -j | lab_tool queue-json | grep -qiF " $rcpt "; then
		fail deferred-message "no message to $d deferred (as in sts-allbad) in Postfix's queue"
		return
	fi
	# a second fetch of a domain's policy comes at least
	# LAB_STS_MIN_INTERVAL s after the first (in the same process)
	fe=$(sed -n 's/^fetched: \([0-9]*\)$/\1/p' "$LAB_DIR/sts/$d" 2>/dev/null)
	if [ -n "$fe" ] && [ "$fe" -ge "${LAB_MXTLSD_T0:-0}" ]; then
		w=$((fe + LAB_STS_MIN_INTERVAL + 1 - $(date +%s)))
		if [ "$w" -gt 0 ]; then
			lab_log "$SCEN: waiting $w s (mxtlsd fetched $d's policy at $fe and fetches it at most every $LAB_STS_MIN_INTERVAL s)"
			sleep "$w" &
			wait $!
		fi
	fi
	# the TXT record the setup's session looked up (id allbad1) must have
	# expired from mxtlsd's resolver when the flush looks again (see sts-cache)
	sleep 2.1

	lab_sts_publish "$d" none
	if lab_sts_txt "$d" allbad2; then pass txt-new-id
	else fail txt-new-id "sts-txt.sh $d allbad2: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
	D_OFF=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	D_MOFF=$(lab_log_size "$LAB_DIR/log/maillog")
	hoff=$(lab_log_size "$(lab_https_log)")
	D_RCPT=$rcpt D_QID=$qid D_FILE=$STS_ALLBAD_FILE D_STATUS=
	lab_postqueue -i "$qid" >/dev/null 2>&1
	if ! lab_wait_grep_after "$LAB_DIR/log/maillog" "$D_MOFF" "$qid: to=<$(lab_req "$rcpt")>.* status=" 15; then
		fail postfix-sent "no new status line for <$rcpt> within 15 s of postqueue -i $qid"
		lab_dequeue
		return
	fi
	D_STATUS=$LAB_MATCH
	if lab_expect_sent 192.0.2.52; then
		lab_check_mx_tls yes
		lab_check_bytes
	fi
	if lab_wait_queue_empty "$rcpt" 10; then pass queue-empty
	else fail queue-empty "<$rcpt> still queued: $(lab_postqueue -j)"; lab_dequeue; fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "no policy"
		lab_sess_has mxtlsd-sts-policy "$(lab_req ": mta-sts policy for $d: id allbad2, mode none, mx -")(, cached)?\$" \
			"mxtlsd did not take the new policy (id allbad2, mode none)"
		lab_sess_has mxtlsd-anonymous "$(lab_req "Anonymous TLS connection established to wrongname.sts.example[192.0.2.52]:25: ")TLSv1\\.[23] " \
			"no opportunistic (Anonymous) TLS connection to the MX refused before"
		lab_sess_lacks mxtlsd-no-mta-sts '\(MTA-STS |MTA-STS:' "MTA-STS was still applied"
		lab_sess_no_failure
		lab_sess_txn wrongname.sts.example 192.0.2.52
	fi
	lab_sts_fetched "$d" allbad2 none 0
	lab_sts_requested "$d" "$hoff" 200
	lab_sts_cachefile "$d" allbad2

	CK=-withdrawn
	if lab_sts_txt "$d" remove; then pass "txt-removed$CK"
	else fail "txt-removed$CK" "sts-txt.sh $d remove: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
	sleep 2.1		# the TXT record's TTL (see sts-cache)
	if lab_send "withdrawn-$SCEN-$RUNID@$d"; then
		if lab_expect_sent 192.0.2.52; then lab_check_mx_tls yes; fi
		if lab_sess "$d"; then
			lab_sess_sts_summary "$d" "no policy"
			lab_sess_lacks mxtlsd-no-sts-policy ": mta-sts policy for " "mxtlsd still applied a policy"
		fi
		if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" \
			"$(lab_req "mta-sts: $d withdrew its policy (mode none, TXT gone)")\$" 5; then
			pass "mxtlsd-withdrawn$CK"
		else
			fail "mxtlsd-withdrawn$CK" "no \"mta-sts: $d withdrew its policy (mode none, TXT gone)\" line"
		fi
		if [ -e "$LAB_DIR/sts/$d" ]; then fail "cache-file-removed$CK" "$LAB_DIR/sts/$d still exists: $(tr '\n' '|' <"$LAB_DIR/sts/$d")"
		else pass "cache-file-removed$CK"; fi
	fi

	# as built: mxtlsd holds nothing for the domain now, the next message
	# fetches this again
	lab_sts_publish "$d" enforce '*.sts.example'
	CK=-restore
	if lab_sts_txt "$d" allbad1; then pass "txt-back$CK"
	else fail "txt-back$CK" "sts-txt.sh $d allbad1: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
	CK=
	# and the "no TXT record" that mxtlsd's resolver got expired (negative
	# TTL 1 s), so that the next scenario (sts-allbad) finds the record
	sleep 2.1
}

scenario_sts-restart() {
	local d=enforce.sts.example n off hoff fe1 fe2
	lab_dane_only || return 0
	SCEN_SINKS=
	if [ ! -f "$LAB_DIR/sts/$d" ]; then
		CK=-setup
		lab_send "setup-$SCEN-$RUNID@$d" && lab_expect_sent 192.0.2.50
		CK=
	fi
	fe1=$(sed -n 's/^fetched: \([0-9]*\)$/\1/p' "$LAB_DIR/sts/$d" 2>/dev/null)
	# the files with a policy (those of failed fetches only hold a failure)
	n=$(find "$LAB_DIR/sts" -maxdepth 1 -type f ! -name '*.tmp.*' -exec grep -l '^version: STSv1$' {} + | wc -l)
	off=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	if lab_mxtlsd_stop && [ "$LAB_MXTLSD_STATUS" = 0 ]; then pass stopped
	else fail stopped "mxtlsd did not exit with status 0 on SIGTERM (status ${LAB_MXTLSD_STATUS:-?})"; fi
	if ! lab_mxtlsd_start; then
		fail restarted "mxtlsd did not start again: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"
		return
	fi
	pass restarted
	if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" \
		"$(lab_req "sts cache: $n policies loaded from $LAB_DIR/sts")\$" 5; then
		pass cache-loaded
	else
		fail cache-loaded "no \"sts cache: $n policies loaded from $LAB_DIR/sts\" line ($n files there): $(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" 'sts cache' | head -n 3)"
	fi
	hoff=$(lab_log_size "$(lab_https_log)")
	lab_send "$d" || return
	if lab_expect_sent 192.0.2.50; then
		lab_check_mx_tls yes
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" enforce1 enforce good1.sts.example cached
		lab_sts_verified good1.sts.example 192.0.2.50 enforce1
		lab_sess_no_failure
	fi
	lab_sts_not_fetched "$d" "$hoff"
	lab_sts_cachefile "$d" enforce1
	fe2=$(sed -n 's/^fetched: \([0-9]*\)$/\1/p' "$LAB_DIR/sts/$d" 2>/dev/null)
	if [ -n "$fe1" ] && [ "$fe1" = "$fe2" ]; then pass cache-same-fetch
	else fail cache-same-fetch "the cache file's fetched: changed from ${fe1:-?} to ${fe2:-?}"; fi
}
