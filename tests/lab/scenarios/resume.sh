# resume - TLS session resumption towards MX hosts (issue 13, part 1).
# The sinks keep their TLS context, so they issue and accept TLS 1.3
# tickets; their connlog says per connection whether the handshake was
# resumed ("tls_resumed").
#   0. Before: with tls_session_cache = no (a reload), two messages to
#      dane-ee.example: both handshakes at 192.0.2.31 are full ones and
#      nothing is offered or cached.  The reload back to the default
#      (yes) empties the cache.
#   1. DANE: three messages to dane-ee.example (TTL 60): every one arrives
#      DANE-verified; the second and third handshakes at 192.0.2.31 are
#      resumed (the sink counts full and resumed handshakes), mxtlsd's
#      log has the session cached, offered and resumed under one key.
#   2. MTA-STS: two messages to stsresume.lab.example (enforce, TXT TTL
#      10, the MX of stsbench.lab.example): the second handshake at
#      192.0.2.59 is resumed.  Then the policy id changes (TXT, policy
#      re-published) and, once mxtlsd's resolver has the new id (the TTL
#      and a second after the change), the next message's handshake is a
#      full one, verified under the new id, and its session cached under
#      another key.
#   3. (While the old TXT of 2 expires; then 2 goes on.)
#      DANE, TLSA changed: one-bad.example (TTL 1) with the right TLSA
#      record: a message arrives verified; then the record is changed to
#      a non-matching one: the next message is deferred (451 4.7.5 TLSA
#      record mismatch), nothing reaches the MX, mxtlsd offers no cached
#      session and logs none resumed, the MX saw a full handshake.  The
#      zone is broken again at the end, as the world was built.
#   4. /metrics: mxtls_tls_resumed_total counted the resumptions.
# With one resolver a changed record is seen only once the old answer's
# TTL has run out, and a cached session never outlives that TTL: in the
# lab the new key (2: another key after the id change) and the TTL bound
# both make the miss.  That the key alone does, against an MX that would
# resume, is in the unit tests (test_up: a changed TLSA record).

# resume_wait_conns SINK OFFSET N - wait (10 s) until the connlog has N
# TLS connections after OFFSET; R_CONNS = lab_conns SINK OFFSET tls
resume_wait_conns() {
	local end=$(( $(lab_now_ms) + 10000 ))
	while :; do
		R_CONNS=$(lab_conns "$1" "$2" tls)
		[ $(( ${R_CONNS%% *} + $(echo "$R_CONNS" | awk '{print $3}') )) -ge "$3" ] && return 0
		[ "$(lab_now_ms)" -lt $end ] || return 1
		sleep 0.2
	done
}

# resume_send N DOMAIN SINK - message N to <rN-$SCEN-$RUNID@DOMAIN>, sent
# and at SINK; D_SID its mxtlsd session
resume_send() {
	local n=$1 dom=$2 sink=$3
	CK=-$n
	lab_send "r$n-$SCEN-$RUNID@$dom" || return 1
	lab_expect_sent "$sink" || return 1
	lab_sess "$dom" || return 1
	return 0
}

# resume_key WHAT - the key of the session's line "WHAT ... (key K)"
resume_key() {
	grep -E -- "$1" <<<"$D_LINES" | sed -n 's/.*(key \([0-9a-f]*\)[);].*/\1/p' | head -n 1
}

# resume_tlsa - step 3: one-bad.example verified, then its TLSA record
# changed to a non-matching one: deferred, nothing offered or resumed
resume_tlsa() {
	local bip=192.0.2.37 bh=mx.one-bad.example off out
	if out=$("$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" 2>&1); then pass dns-fixed
	else fail dns-fixed "fix-one-bad.sh failed: $out"; return; fi
	sleep 2.1			# TTL 1: mxtlsd's resolver has the right record
	if resume_send 7 one-bad.example "$bip"; then
		lab_sess_verified "$bh" "$bip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
		# TTL 1: less than a second left, nothing worth caching
		lab_sess_lacks mxtlsd-ttl1-not-cached "cached for " "a session was cached for longer than the plan's TTL of 1 s"
	fi
	CK=
	if out=$("$LAB_HERE/dns/fix-one-bad.sh" "$LAB_DIR/dns" break 2>&1); then pass dns-broken
	else fail dns-broken "fix-one-bad.sh break failed: $out"; return; fi
	sleep 2.1			# ... and the wrong one now
	off=$(lab_log_size "$LAB_DIR/log/$bip.conns")
	CK=-8
	lab_send "r8-$SCEN-$RUNID@one-bad.example" || { CK=; return; }
	lab_expect_deferred "451 4.7.5 TLSA record mismatch for ${bh}[$bip]:25"
	if lab_sess one-bad.example; then
		lab_sess_lacks mxtlsd-not-verified 'Verified TLS connection' "a connection was logged as verified"
		lab_sess_lacks mxtlsd-not-resumed 'resumed \(key ' "a session was resumed after the TLSA change"
		lab_sess_lacks mxtlsd-not-offered 'offering a cached TLS session' "a cached session was offered after the TLSA change"
		lab_sess_result "${bh}[$bip]:25" tlsa-invalid
	fi
	lab_dequeue
	CK=
	if resume_wait_conns "$bip" "$off" 1; then
		case $R_CONNS in
		*" 0 resumed"*) pass tlsa-mx-full ;;
		*) fail tlsa-mx-full "the sink saw: $R_CONNS" ;;
		esac
	else
		fail tlsa-mx-full "no TLS connection at $bip after the TLSA change"
	fi
}

scenario_resume() {
	local ip=192.0.2.31 h=mx1.dane-ee.example off k1 k2 k3 out
	local sip=192.0.2.59 sh=mx.stsbench.lab.example sd=stsresume.lab.example
	local bip=192.0.2.37 met0 met1 t0
	lab_dane_only || return 0
	SCEN_SINKS="$ip $sip $bip"
	met0=$(resume_metric)

	# 0. the cache off: full handshakes only
	if lab_mxtlsd_hup "tls_session_cache = no"; then pass reload-cache-off
	else fail reload-cache-off "mxtlsd did not reload: ${LAB_MATCH:-no log line}"; fi
	off=$(lab_log_size "$LAB_DIR/log/$ip.conns")
	resume_send 01 dane-ee.example "$ip" &&
		lab_sess_lacks mxtlsd-off-not-cached "cached for |offering a cached" "tls_session_cache = no cached or offered a session"
	resume_send 02 dane-ee.example "$ip" &&
		lab_sess_lacks mxtlsd-off-not-resumed "resumed \\(key |offering a cached" "tls_session_cache = no resumed a session"
	CK=
	if resume_wait_conns "$ip" "$off" 2; then
		lab_log "$SCEN: tls_session_cache = no: $ip handshakes: $R_CONNS"
		case $R_CONNS in
		"2 full 0 resumed"*) pass off-mx-full ;;
		*) fail off-mx-full "the sink saw: $R_CONNS (expected 2 full)" ;;
		esac
	else
		fail off-mx-full "the sink logged fewer than 2 TLS connections: $R_CONNS"
	fi
	if lab_mxtlsd_hup; then pass reload-cache-on
	else fail reload-cache-on "mxtlsd did not reload: ${LAB_MATCH:-no log line}"; fi

	# 1. DANE, nothing changes: resumed
	off=$(lab_log_size "$LAB_DIR/log/$ip.conns")
	resume_send 1 dane-ee.example "$ip" && {
		lab_sess_verified "$h" "$ip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
		lab_sess_has mxtlsd-cached "$(lab_req "TLS session with $h[$ip]:25 cached for ")[0-9]+s \\(key [0-9a-f]{16}; DNS TTL [0-9]+s left" \
			"the verified session was not cached"
		k1=$(resume_key "TLS session with .* cached for ")
	}
	resume_send 2 dane-ee.example "$ip" && {
		lab_sess_verified "$h" "$ip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
		lab_sess_has mxtlsd-resumed "$(lab_req "TLS session with $h[$ip]:25 resumed (key ")[0-9a-f]{16}$(lab_req "): verified as the session it resumes was")" \
			"the second session to $h was not resumed"
		k2=$(resume_key "TLS session with .* resumed ")
	}
	resume_send 3 dane-ee.example "$ip" && {
		lab_sess_has mxtlsd-resumed "$(lab_req "TLS session with $h[$ip]:25 resumed (key ")" \
			"the third session to $h was not resumed"
		lab_check_sni "$h"
	}
	CK=
	if [ -n "$k1" ] && [ "$k1" = "$k2" ]; then pass dane-same-key
	else fail dane-same-key "cached under key '${k1:-?}', resumed under '${k2:-?}'"; fi
	if resume_wait_conns "$ip" "$off" 3; then
		lab_log "$SCEN: $ip handshakes: $R_CONNS"
		case $R_CONNS in
		*" resumed resumed") pass dane-mx-resumed ;;
		*) fail dane-mx-resumed "the sink saw: $R_CONNS (expected the 2nd and 3rd resumed)" ;;
		esac
	else
		fail dane-mx-resumed "the sink logged fewer than 3 TLS connections: $R_CONNS"
	fi

	# 2. MTA-STS: resumed while the policy id stays; not across a change
	off=$(lab_log_size "$LAB_DIR/log/$sip.conns")
	resume_send 4 "$sd" "$sip" && {
		lab_sess_has mxtlsd-sts-verified "$(lab_req "Verified TLS connection established to $sh[$sip]:25: ").*MTA-STS enforce, policy id resume1" \
			"no MTA-STS verified connection to $sh"
	}
	resume_send 5 "$sd" "$sip" && {
		lab_sess_has mxtlsd-sts-resumed "$(lab_req "TLS session with $sh[$sip]:25 resumed (key ")" \
			"the second session to $sh was not resumed"
		k1=$(resume_key "TLS session with .* resumed ")
	}
	CK=
	if resume_wait_conns "$sip" "$off" 2; then
		lab_log "$SCEN: $sip handshakes: $R_CONNS"
		case $R_CONNS in
		*" resumed") pass sts-mx-resumed ;;
		*) fail sts-mx-resumed "the sink saw: $R_CONNS (expected the 2nd resumed)" ;;
		esac
	else
		fail sts-mx-resumed "the sink logged fewer than 2 TLS connections: $R_CONNS"
	fi
	lab_sts_publish "$sd" enforce "$sh"
	if lab_sts_txt "$sd" resume2; then pass sts-new-id
	else fail sts-new-id "sts-txt.sh $sd resume2: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
	t0=$(lab_now_ms)
	# 3. DANE, the TLSA record changed, while the old TXT expires
	resume_tlsa
	CK=
	resume_wait_new_id "$sd" "$t0"
	off=$(lab_log_size "$LAB_DIR/log/$sip.conns")
	if resume_send 6 "$sd" "$sip"; then
		lab_sess_has mxtlsd-sts-new-id "$(lab_req "Verified TLS connection established to $sh[$sip]:25: ").*MTA-STS enforce, policy id resume2" \
			"the session after the change was not verified under policy id resume2"
		lab_sess_lacks mxtlsd-sts-not-resumed "resumed \\(key " "a session was resumed across the policy id change"
		k2=$(resume_key "TLS session with .* cached for ")
		if [ -n "$k2" ] && [ "$k2" != "$k1" ]; then pass sts-other-key
		else fail sts-other-key "key before the change '${k1:-?}', after '${k2:-?}'"; fi
	fi
	CK=
	if resume_wait_conns "$sip" "$off" 1; then
		case $R_CONNS in
		"1 full 0 resumed"*) pass sts-mx-full ;;
		*) fail sts-mx-full "the sink saw after the id change: $R_CONNS" ;;
		esac
	else
		fail sts-mx-full "no TLS connection at $sip after the id change"
	fi
	lab_sts_txt "$sd" resume1 || fail sts-id-back "sts-txt.sh $sd resume1 failed"

	# 4. the metric
	met1=$(resume_metric)
	if [ -n "$met1" ] && [ "${met1%.*}" -ge $(( ${met0%.*} + 3 )) ]; then pass metric-resumed
	else fail metric-resumed "mxtls_tls_resumed_total: before ${met0:-?}, after ${met1:-?} (expected +3)"; fi
}

# resume_wait_new_id DOMAIN T0 - until mxtlsd's resolver can have the TXT
# NSD serves since T0 (lab_now_ms, when sts-txt.sh returned): the old answer's TTL
# (the record's in the zone file, 10 s; tests/lab/dns/build.sh
# STS_TXT_TTLS) and a second after T0
resume_wait_new_id() {
	local ttl w
	ttl=$(awk -v o="_mta-sts.${1%.lab.example}" '$1 == o && $3 == "TXT" { print $2 }' \
		"$LAB_DIR/dns/zones/lab.example.zone" 2>/dev/null)
	case $ttl in ''|*[!0-9]*) ttl=60 ;; esac
	w=$(( $2 + (ttl + 1) * 1000 - $(lab_now_ms) ))
	[ "$w" -gt 0 ] || return 0
	lab_log "$SCEN: waiting $w ms for the old _mta-sts.$1 TXT to expire in mxtlsd's resolver"
	sleep "$((w / 1000)).$(printf '%03d' $((w % 1000)))" &
	wait $!
}

# resume_metric - mxtls_tls_resumed_total from /metrics, or 0
resume_metric() {
	local v
	v=$(lab_metric mxtls_tls_resumed_total)
	echo "${v:-0}"
}
