# sts-negative.sh - sts-negative: a broken policy host, reported for every
# session made without its policy (RFC 8460 4.3.2.2), not only the first.
#
# sts_negative_ttl = 10m (SIGHUP; the lab's 2 s would end the window between
# two messages).  Then, for notfound.sts.example (HTTP 404:
# sts-policy-fetch-error) and syntax.sts.example (a syntax error on line 4:
# sts-policy-invalid), LAB_STS_NEG_N messages each, all inside the window:
#   - each is delivered at good1.sts.example over opportunistic TLS, and its
#     session logs "mta-sts for D: result=TYPE: WHY" (the first session's
#     fetch failed; the others made none)
#   - the policy host got exactly one request for the domain's policy
#   - the journal has N records for D since the start, every one
#     policy-type sts, result-type TYPE (none success)
#   - the cache file $LAB_DIR/sts/D holds the failure (fail-type: TYPE,
#     fail-why: WHY) and no policy
# Then mxtlsd is restarted: it loads both failures from the cache directory
# ("sts cache: N failed policy fetches loaded"), and one more message each
# is journaled as TYPE again, with no new request at the policy host.
# `mxtls-report build` before and after: each domain's report has exactly
# N + 1 more failed sessions, all TYPE, and no more successful ones.
# Last, mxtlsd is stopped, the two cache files removed, and mxtlsd started
# again with the lab's configuration: a 10-minute window would keep later
# scenarios (sts-badpolicy, report) from fetching those policies.

LAB_STS_NEG_N=${LAB_STS_NEG_N:-4}
# domain, result type, what mxtlsd says (an ERE)
LAB_STS_NEG="notfound.sts.example	sts-policy-fetch-error	https://mta-sts\\.notfound\\.sts\\.example: HTTP status 404 \\(redirects are not followed\\)
syntax.sts.example	sts-policy-invalid	line 4: max_age is not a number of seconds"

# neg_build OUTDIR DAY... - mxtls-report build of each DAY into OUTDIR
neg_build() {
	local out=$1 day
	shift
	rm -rf "$out"
	mkdir -p "$out"
	for day in "$@"; do
		lab_report build --day "$day" --out "$out" >>"$LAB_DIR/log/report-build-neg.log" 2>&1 ||
			return 1
	done
}

# neg_count OUTDIR DOMAIN TYPE - "OK FAILED TYPED": DOMAIN's successful and
# failed sessions, and its failed sessions of TYPE, in OUTDIR's reports
neg_count() {
	lab_tool report-count "$1" "$2" "$3" | tr '=' ' ' | awk '{ print $2, $4, $6 }'
}

# neg_requests DOMAIN HOFF - requests for DOMAIN's policy at the policy host
neg_requests() {
	lab_grep_after "$(lab_https_log)" "$2" " $(lab_req "mta-sts.$1") \"GET /\.well-known/mta-sts\.txt " | wc -l
}

# neg_journal CHECK DOMAIN TYPE SINCE WANT - WANT records for DOMAIN since
# SINCE, every one an MTA-STS failure of TYPE
neg_journal() {
	local c=$1 d=$2 rtype=$3 since=$4 want=$5 all typed
	all=$(lab_tool journal-grep "$LAB_DIR/journal" "$since" policy-domain="$d" | wc -l)
	typed=$(lab_tool journal-grep "$LAB_DIR/journal" "$since" policy-domain="$d" \
		policy-type=sts result-type="$rtype" | wc -l)
	if [ "$all" = "$want" ] && [ "$typed" = "$want" ]; then pass "$c$CK"
	else fail "$c$CK" "$want sessions to $d since $since: the journal has $all records, $typed of them sts/$rtype: $(lab_tool journal-grep "$LAB_DIR/journal" "$since" policy-domain="$d" | grep -v "\"$rtype\"" | head -n 2)"; fi
}

scenario_sts-negative() {
	local d rtype why t0 i n f off out=$LAB_DIR/work/neg-reports day0 days
	local b_ok b_fail b_type a_ok a_fail a_type
	local -A hoffs=() before=()
	lab_dane_only || return 0
	if ! grep -q '^journal_dir = ' "$LAB_DIR/mxtlsd.conf" || [ ! -x "$MXTLS_REPORT" ]; then
		fail journal "no journal_dir in mxtlsd.conf, or no $MXTLS_REPORT"
		return
	fi
	SCEN_SINKS="192.0.2.50"
	if lab_mxtlsd_hup "sts_negative_ttl = 10m"; then pass reload-negative-ttl
	else fail reload-negative-ttl "SIGHUP with sts_negative_ttl = 10m: ${LAB_MATCH:-no reload line in 5 s}"; return; fi
	# A failure of an earlier scenario (the lab's 2 s window) has ended,
	# and the journal records from before are older than t0.
	sleep 2.1
	t0=$(date +%s)
	day0=$(date -u -d "@$t0" +%F)
	if neg_build "$out.before" "$day0"; then pass report-build-before
	else fail report-build-before "mxtls-report build --day $day0: $(tail -n 3 "$LAB_DIR/log/report-build-neg.log")"; fi
	while IFS=$'\t' read -r d rtype why; do
		before[$d]=$(neg_count "$out.before" "$d" "$rtype")
	done <<<"$LAB_STS_NEG"

	while IFS=$'\t' read -r -u 3 d rtype why; do
		hoffs[$d]=$(lab_log_size "$(lab_https_log)")
		for i in $(seq "$LAB_STS_NEG_N"); do
			CK=-${d%%.*}-$i
			lab_sts_unusable "m$i-$SCEN-$RUNID@$d" "$rtype" "$why"
		done
		CK=-${d%%.*}
		n=$(neg_requests "$d" "${hoffs[$d]}")
		if [ "$n" = 1 ]; then pass "policy-host-one-request$CK"
		else fail "policy-host-one-request$CK" "$LAB_STS_NEG_N sessions inside sts_negative_ttl: the policy host got $n requests for mta-sts.$d, not 1"; fi
		neg_journal journal-every-session "$d" "$rtype" "$t0" "$LAB_STS_NEG_N"
		f=$LAB_DIR/sts/$d
		if [ -f "$f" ] && grep -qx "fail-type: $rtype" "$f" && grep -Eq "^fail-why: $why\$" "$f" &&
		   grep -Eq '^fail-until: [0-9]+$' "$f" && ! grep -q '^version: ' "$f"; then
			pass "cache-file-failure$CK"
		else
			fail "cache-file-failure$CK" "$f: expected fail-until, fail-type: $rtype, fail-why and no policy: $(tr '\n' '|' <"$f" 2>/dev/null || echo missing)"
		fi
	done 3<<<"$LAB_STS_NEG"

	# after a restart: the failures come from the cache directory
	CK=-restart
	off=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	lab_mxtlsd_stop
	if ! lab_mxtlsd_start; then
		fail "restarted$CK" "mxtlsd did not start again: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"
		return
	fi
	pass "restarted$CK"
	if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" \
		"$(lab_req "sts cache: ")[0-9]+$(lab_req " failed policy fetches loaded from $LAB_DIR/sts ")" 5 &&
	   [ "$(sed -n 's/.*sts cache: \([0-9]*\) failed policy fetches.*/\1/p' <<<"$LAB_MATCH")" -ge 2 ]; then
		pass "failures-loaded$CK"
	else
		fail "failures-loaded$CK" "no \"sts cache: N failed policy fetches loaded\" line with N >= 2: ${LAB_MATCH:-$(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" 'sts cache' | head -n 3)}"
	fi
	while IFS=$'\t' read -r -u 3 d rtype why; do
		CK=-${d%%.*}-restart
		lab_sts_unusable "restart-$SCEN-$RUNID@$d" "$rtype" "$why"
		n=$(neg_requests "$d" "${hoffs[$d]}")
		if [ "$n" = 1 ]; then pass "policy-host-no-new-request$CK"
		else fail "policy-host-no-new-request$CK" "the policy host got $n requests for mta-sts.$d since the first session, not 1"; fi
		neg_journal journal-every-session "$d" "$rtype" "$t0" "$((LAB_STS_NEG_N + 1))"
	done 3<<<"$LAB_STS_NEG"

	# the reports: N + 1 more failures of TYPE, no more successes
	CK=
	days=$day0
	[ "$(date -u +%F)" != "$day0" ] && days="$days $(date -u +%F)"
	# shellcheck disable=SC2086
	if neg_build "$out.after" $days; then pass report-build-after
	else fail report-build-after "mxtls-report build --day $days: $(tail -n 3 "$LAB_DIR/log/report-build-neg.log")"; fi
	n=$((LAB_STS_NEG_N + 1))
	while IFS=$'\t' read -r -u 3 d rtype why; do
		CK=-${d%%.*}
		read -r b_ok b_fail b_type <<<"${before[$d]}"
		read -r a_ok a_fail a_type <<<"$(neg_count "$out.after" "$d" "$rtype")"
		if [ -n "$a_type" ] && [ -n "$b_type" ] && [ "$((a_fail - b_fail))" = "$n" ] &&
		   [ "$((a_type - b_type))" = "$n" ] && [ "$a_ok" = "$b_ok" ]; then
			pass "report-every-session$CK"
		else
			fail "report-every-session$CK" "$n more sessions, all $rtype: $d in mxtls-report build before (ok failed $rtype): ${before[$d]:-?}, after: ${a_ok:-?} ${a_fail:-?} ${a_type:-?}"
		fi
	done 3<<<"$LAB_STS_NEG"

	# back to the lab's configuration, without the 10-minute failures
	CK=
	lab_mxtlsd_stop
	while IFS=$'\t' read -r d rtype why; do
		rm -f "$LAB_DIR/sts/$d"
	done <<<"$LAB_STS_NEG"
	lab_mxtlsd_conf_write
	if lab_mxtlsd_start; then pass restored
	else fail restored "mxtlsd did not start again with the lab's configuration: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"; fi
}
