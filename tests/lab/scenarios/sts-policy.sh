# sts-policy.sh - sts-badpolicy: policy hosts that give no usable policy.
#
# Six domains, each with MX 10 good1.sts.example (a valid certificate) and a
# TXT record, whose policy host answers with Content-Type text/html, a 301
# redirect (to a valid policy elsewhere on the host), 404, a policy over
# 64 KiB, a syntax error (line 4), or a certificate for another name.  The
# policy each would deliver says mx: good2.sts.example, so had mxtlsd used
# it, good1 would have been skipped and the message deferred.  For each:
# delivered at good1 over opportunistic TLS ("Anonymous", summary "no
# policy"), the session logs "mta-sts for D: result=TYPE: WHY", mxtlsd logs
# why there is no new policy, no policy is cached but the failure is (the
# cache file says fail-type: TYPE), the policy host saw the request (and
# for the redirect, no request for its target); mxtlsd lives.

# domain, result type, what mxtlsd says (an ERE), HTTP status at the host
# (- when the TLS handshake fails first)
LAB_STS_BAD="html.sts.example	sts-policy-fetch-error	https://mta-sts\\.html\\.sts\\.example: Content-Type is text/html, not text/plain	200
redirect.sts.example	sts-policy-fetch-error	https://mta-sts\\.redirect\\.sts\\.example: HTTP status 301 \\(redirects are not followed\\)	301
notfound.sts.example	sts-policy-fetch-error	https://mta-sts\\.notfound\\.sts\\.example: HTTP status 404 \\(redirects are not followed\\)	404
big.sts.example	sts-policy-fetch-error	https://mta-sts\\.big\\.sts\\.example: (Maximum file size exceeded|policy larger than 64 KiB)	200
syntax.sts.example	sts-policy-invalid	line 4: max_age is not a number of seconds	200
badtls.sts.example	sts-webpki-invalid	https://mta-sts\\.badtls\\.sts\\.example: certificate not valid: .*	-"

# lab_sts_unusable TO TYPE WHY - one message to TO (DOMAIN, or RCPT@DOMAIN)
# of a domain whose policy could not be had: delivered at good1 over
# opportunistic TLS, its session summed up as "no policy" and logging
# "mta-sts for DOMAIN: result=TYPE: WHY" (an ERE).  Status 1 when the
# message got no status (nothing else checked), 2 when mxtlsd's session
# was not found; else 0, with the session's lines in D_LINES.
lab_sts_unusable() {
	local d=${1#*@} rtype=$2 why=$3
	lab_send "$1" || return 1
	if lab_expect_sent 192.0.2.50; then
		lab_check_mx_tls yes
	fi
	lab_sess "$d" || return 2
	lab_sess_sts_summary "$d" "no policy"
	lab_sess_has "mxtlsd-result-$rtype" "$(lab_req ": mta-sts for $d: result=$rtype: ")$why\$" \
		"mxtlsd did not log result=$rtype for $d's policy"
}

scenario_sts-badpolicy() {
	local d rtype why st hoff l f r
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.50"
	while IFS=$'\t' read -r -u 3 d rtype why st; do
		CK=-${d%%.*}
		hoff=$(lab_log_size "$(lab_https_log)")
		lab_sts_unusable "$d" "$rtype" "$why"
		r=$?
		[ "$r" = 1 ] && continue
		if [ "$r" = 0 ]; then
			lab_sess_lacks mxtlsd-no-sts-policy ": mta-sts policy for " "mxtlsd applied a policy"
			lab_sess_has mxtlsd-anonymous "$(lab_req "Anonymous TLS connection established to good1.sts.example[192.0.2.50]:25: ")TLSv1\\.[23] " \
				"no opportunistic (Anonymous) TLS connection to good1.sts.example"
			lab_sess_no_failure
			lab_sess_txn good1.sts.example 192.0.2.50
		fi
		if [ "$rtype" = sts-policy-invalid ]; then
			l="mta-sts: policy of $(lab_req "$d") is invalid: $why\$"
		else
			l="mta-sts: no new policy for $(lab_req "$d"): $why\$"
		fi
		if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" "$l" 5; then pass "mxtlsd-no-new-policy$CK"
		else fail "mxtlsd-no-new-policy$CK" "no line matching /$l/: $(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" "mta-sts: .*$(lab_req "$d")" | head -n 2)"; fi
		# no policy cached; the failure is (sts-negative counts sessions by it)
		f=$LAB_DIR/sts/$d
		if [ -f "$f" ] && grep -q '^version: ' "$f"; then fail "no-policy-cached$CK" "$f holds a policy: $(tr '\n' '|' <"$f")"
		else pass "no-policy-cached$CK"; fi
		if [ -f "$f" ] && grep -qx "fail-type: $rtype" "$f"; then pass "failure-cached$CK"
		else fail "failure-cached$CK" "$f does not say fail-type: $rtype: $(tr '\n' '|' <"$f" 2>/dev/null || echo missing)"; fi
		if [ "$st" = - ]; then
			if l=$(lab_grep_after "$(lab_https_log)" "$hoff" " $(lab_req "mta-sts.$d") ") && [ -n "$l" ]; then
				fail "policy-host-no-request$CK" "an HTTP request got through a TLS handshake mxtlsd should have failed: $l"
			else
				pass "policy-host-no-request$CK"
			fi
		else
			lab_sts_requested "$d" "$hoff" "$st"
		fi
		if [ "$d" = redirect.sts.example ]; then
			if l=$(lab_grep_after "$(lab_https_log)" "$hoff" '"GET /policy\.txt ') && [ -n "$l" ]; then
				fail "redirect-not-followed$CK" "the redirect was followed: $l"
			else
				pass "redirect-not-followed$CK"
			fi
		fi
	done 3<<<"$LAB_STS_BAD"
	CK=
}
