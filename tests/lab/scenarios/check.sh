# check.sh - check: mxtls-check in the lab, with mxtlsd's configuration.
#
# mxtls-check ($MXTLS_CHECK, default mxtls-check beside $MXTLSD) runs in
# mxl-mta with $LAB_DIR/mxtlsd.conf, the file the lab's mxtlsd runs with
# (lib/mxtlsd.sh), so it resolves in the lab's DNSSEC world, fetches from
# the lab's policy host and trusts the lab CA as mxtlsd does; its
# --connect handshakes carry upstream_mark, so iptables lets them through
# to the sinks as it does mxtlsd's.  Asserted, as text lines and as the
# --json object read back with python3:
#   - DANE: dane-ee.example (verdict dane, exit 0), bogus.example (refuse,
#     exit 1), malformed.example (no usable record: encrypt),
#     two-mx.example (both MX hosts in order);
#   - MTA-STS: enforce.sts.example after a message through mxtlsd put its
#     policy in mxtlsd's cache (the TXT, the policy from the cache, the
#     cache's age, expiry and next refresh; --fresh fetches), nomatch
#     (one host refused, one sts-enforce), testing.sts.example
#     (sts-testing), syntax.sts.example (sts-policy-invalid with the line
#     of the error), plain.example (no policy: opportunistic);
#   - a policy table (a file written here, a copy of the configuration
#     naming it): dane-only refusing, a [host]:port entry for --dest, may;
#     mode = report-only turning a refusal into a note;
#   - --connect: verified DANE-EE (the TLSA record that matched), verified
#     MTA-STS (the chain's subject and names), a failing DANE host beside a
#     good one, an MTA-STS domain whose hosts all fail (exit 1);
#   - usage and configuration errors exit 2;
#   - mxtlsd's sts_cache_dir is the same after every run as before (names
#     and contents), and no private cache directory is left in /tmp.
# Its --connect sessions reach the sinks without a journal record, so the
# scenario is one of report.sh's REPORT_UNCOUNTED.

# chk_bin - find mxtls-check; 1 (a failed check) when there is none
chk_bin() {
	if [ -z "$MXTLS_CHECK" ]; then
		MXTLS_CHECK=$(dirname "$MXTLSD")/mxtls-check
		[ -x "$MXTLS_CHECK" ] || MXTLS_CHECK=$LAB_REPO/mxtls-check
	fi
	case $MXTLS_CHECK in /*) ;; *) MXTLS_CHECK=$LAB_REPO/$MXTLS_CHECK ;; esac
	[ -x "$MXTLS_CHECK" ] && return 0
	fail mxtls-check "no executable $MXTLS_CHECK (make mxtls-check, or set MXTLS_CHECK=)"
	return 1
}

# chk_run ARGS... - mxtls-check -c ${CHK_CONF:-mxtlsd.conf} ARGS... in
# mxl-mta; CHK_OUT its stdout, CHK_RC its status; both, its stderr and
# the time it took logged in log/mxtls-check.log
chk_run() {
	local conf=${CHK_CONF:-$LAB_DIR/mxtlsd.conf} log=$LAB_DIR/log/mxtls-check.log t0
	echo "=== $(date -u +%FT%TZ) mxtls-check -c $conf $*" >>"$log"
	t0=$(lab_now_ms)
	CHK_OUT=$(lab_in_mta "$MXTLS_CHECK" -c "$conf" "$@" 2>>"$log")
	CHK_RC=$?
	printf '%s\n--- exit %s in %s ms\n' "$CHK_OUT" "$CHK_RC" "$(( $(lab_now_ms) - t0 ))" >>"$log"
}

# chk_rc CHECK WANT - the last run exited WANT
chk_rc() {
	if [ "$CHK_RC" = "$2" ]; then pass "$1$CK"
	else fail "$1$CK" "exit status $CHK_RC, not $2: $(tail -n 4 <<<"$CHK_OUT")"; fi
}

# chk_line CHECK ERE - a line of the last run's output matches ERE
chk_line() {
	if grep -qE -- "$2" <<<"$CHK_OUT"; then pass "$1$CK"
	else fail "$1$CK" "no line matching /$2/ in: $(grep -vE '^  [|]' <<<"$CHK_OUT" | head -n 16)"; fi
}

# chk_json CHECK PYTHON - PYTHON (statements, `assert ..., why') on j, the
# last run's output parsed as JSON
chk_json() {
	local out
	if out=$(python3 -c 'import json, sys
j = json.loads(sys.stdin.read())
exec(sys.argv[1])' "$2" <<<"$CHK_OUT" 2>&1); then pass "$1$CK"
	else fail "$1$CK" "$(tail -n 2 <<<"$out")"; fi
}

# chk_cache_state - mxtlsd's cache directory: names and contents
chk_cache_state() {
	(cd "$LAB_DIR/sts" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

# chk_dane - DANE domains, and --connect to them
chk_dane() {
	CK=-dane-ee
	chk_run dane-ee.example
	chk_rc exit-0 0
	chk_line mx-line '^mx [0-9]+ mx1\.dane-ee\.example: addresses secure: 192\.0\.2\.31 2001:db8::31$'
	chk_line tlsa-line "^  tlsa _25\\._tcp\\.mx1\\.dane-ee\\.example: secure: $(lab_tlsa _25._tcp.mx1.dane-ee.example.)$"
	chk_line dane-line '^  dane: dane, 1 usable, 0 malformed$'
	chk_line usable-line "^  usable: $(lab_tlsa _25._tcp.mx1.dane-ee.example.)\$"
	chk_line verdict '^verdict \[192\.0\.2\.31\]:25 mx1\.dane-ee\.example: dane$'
	chk_line verdict6 '^verdict \[2001:db8::31\]:25 mx1\.dane-ee\.example: dane$'
	chk_line result '^result: deliver$'
	chk_run --json dane-ee.example
	chk_rc json-exit-0 0
	chk_json json "
assert j['version'] == 1, j['version']
assert j['domain'] == 'dane-ee.example', j['domain']
assert j['status'] == 'ok' and j['mx_dnssec'] == 'secure', (j['status'], j['mx_dnssec'])
m = j['mx'][0]
assert m['name'] == 'mx1.dane-ee.example' and m['dane'] == 'dane', m
assert m['addresses'] == ['192.0.2.31', '2001:db8::31'], m['addresses']
assert m['tlsa_dnssec'] == 'secure' and m['tlsa_usable'] == 1 and m['tlsa_malformed'] == 0, m
assert m['tlsa_usable_records'] == ['$(lab_tlsa _25._tcp.mx1.dane-ee.example.)'], m['tlsa_usable_records']
assert [v['verdict'] for v in j['verdicts']] == ['dane', 'dane'], j['verdicts']
assert j['dest'] == '[192.0.2.31]:25' and not j['dest_given'], j['dest']
assert j['result'] == 'deliver' and j['exit'] == 0, (j['result'], j['exit'])
assert j['sts']['looked_up'] and not j['sts']['has_policy'], j['sts']
assert 'connect' not in j, 'connect without --connect'"
	CK=-dane-ee-connect
	chk_run --connect --json dane-ee.example
	chk_rc exit-0 0
	chk_json verified "
c = j['connect']
assert len(c) == 2, c
for x in c:
    assert x['ok'] and x['tls'] and x['verified'], x
    assert x['match'].startswith('DANE-EE(3) SPKI(1) SHA2-256(1)'), x['match']
    assert x['tls_version'] in ('TLSv1.2', 'TLSv1.3'), x['tls_version']
    assert x['chain'] and x['chain'][0]['not_after'] > 0, x['chain']
assert c[0]['peer'] == 'mx1.dane-ee.example[192.0.2.31]:25', c[0]['peer']"

	CK=-dest6
	chk_run --dest '[2001:db8::31]:25' dane-ee.example
	chk_rc exit-0 0
	chk_line dest '^destination \[2001:db8::31\]:25 \(--dest\)$'
	if [ "$(grep -m 1 '^verdict ' <<<"$CHK_OUT")" = "verdict [2001:db8::31]:25 mx1.dane-ee.example: dane" ]; then
		pass "dest-first$CK"
	else
		fail "dest-first$CK" "the first verdict is not the destination's: $(grep '^verdict ' <<<"$CHK_OUT" | tr '\n' '|')"
	fi
	CK=-rogue
	chk_run --json --dest 192.0.2.99 dane-ee.example
	chk_rc exit-0 0
	chk_json rerouted "
assert j['rerouted'] and j['dest'] == '[192.0.2.99]:25' and j['dest_given'], j
assert [v['addr'] for v in j['verdicts']] == ['[192.0.2.31]:25', '[2001:db8::31]:25'], j['verdicts']"

	CK=-bogus
	chk_run bogus.example
	chk_rc exit-1 1
	chk_line verdict '^verdict \[192\.0\.2\.40\]:25 mx\.bogus\.example: refuse: .'
	chk_line result '^result: refuse: '
	chk_run --json bogus.example
	chk_json json "
v = j['verdicts'][0]
assert v['verdict'] == 'refuse' and v['failed'] and not v['connect'], v
assert j['mx'][0]['dane'] == 'dane-fail', j['mx'][0]['dane']
assert j['mx'][0]['tlsa_dnssec'] == 'bogus', j['mx'][0]['tlsa_dnssec']
assert j['result'] == 'refuse' and j['exit'] == 1, j['result']"

	CK=-malformed
	chk_run --json malformed.example
	chk_rc exit-0 0
	chk_json json "
m = j['mx'][0]
assert m['dane'] == 'dane-unusable' and m['tlsa_usable'] == 0 and m['tlsa_usable_records'] == [], m
assert sorted(r[:6] for r in m['tlsa'].split('; ')) == ['3 1 1 ', '4 1 1 '], m['tlsa']
v = j['verdicts'][0]
assert v['verdict'] == 'encrypt' and v['level'] == 'encrypt', v"

	CK=-two-mx
	chk_run --connect two-mx.example
	chk_rc exit-0 0
	if [ "$(grep -E '^mx ' <<<"$CHK_OUT" | cut -d' ' -f2,3 | tr '\n' ' ')" = "10 mx1.two-mx.example: 20 mx2.two-mx.example: " ]; then
		pass "mx-order$CK"
	else
		fail "mx-order$CK" "MX lines: $(grep -E '^mx ' <<<"$CHK_OUT" | tr '\n' '|')"
	fi
	chk_line connect-fails '^connect mx1\.two-mx\.example\[192\.0\.2\.35\]:25: failed: 4\.7\.5 '
	chk_line connect-fails-rtype "^  result tlsa-invalid, X509_V_ERR_DANE_NO_MATCH\$"
	chk_line connect-ok '^connect mx2\.two-mx\.example\[192\.0\.2\.36\]:25: ok, TLSv1\.[23] .*, verified, match DANE-EE\(3\)'
	CK=
}

# chk_sts - MTA-STS domains, the cache, and --connect to them
chk_sts() {
	local before after
	CK=-enforce
	chk_run --json --fresh enforce.sts.example
	chk_rc fresh-exit-0 0
	chk_json fresh "
s = j['sts']
assert s['has_policy'] and s['id'] == 'enforce1' and s['mode'] == 'enforce', s
assert not s['from_cache'], 'from the cache with --fresh'
assert j['cache']['lookup_cache'] == 'fresh', j['cache']"
	# the message puts the policy into mxtlsd's cache (if it was not)
	lab_send enforce.sts.example && lab_expect_sent 192.0.2.50
	before=$(chk_cache_state)
	chk_run enforce.sts.example
	chk_rc exit-0 0
	chk_line txt '^mta-sts txt _mta-sts\.enforce\.sts\.example: secure "v=STSv1; ?id=enforce1;?": id enforce1$'
	chk_line policy '^mta-sts policy: id enforce1, mode enforce, max_age 604800, from the cache$'
	chk_line policy-mx '^  mx: good1\.sts\.example$'
	chk_line cache "^cache $(lab_req "$LAB_DIR/sts/enforce.sts.example"): policy id enforce1, mode enforce, fetched [0-9T:Z-]+ \\(age [0-9]+s\\), expires [0-9T:Z-]+ \\(in [0-9]+s\\), next refresh [0-9T:Z-]+ \\(in [0-9]+s\\)$"
	chk_line cache-private '^cache: the lookups above used a private copy of this entry; mxtlsd.s cache is not written$'
	chk_line verdict '^verdict \[192\.0\.2\.50\]:25 good1\.sts\.example: sts-enforce$'
	chk_run --json enforce.sts.example
	chk_json json "
c, s = j['cache'], j['sts']
assert c['present'] and c['error'] is None and c['lookup_cache'] == 'copy', c
assert c['id'] == s['id'] == 'enforce1' and s['from_cache'], (c, s)
assert c['file'].endswith('/sts/enforce.sts.example'), c['file']
assert c['age'] >= 0 and c['expires_in'] > 0 and c['expires'] - c['fetched'] >= 604800, c
assert c['fetched'] < c['next_refresh'] < c['expires'], c
assert s['txt']['id'] == 'enforce1' and s['txt']['dnssec'] == 'secure', s['txt']
assert s['mx'] == ['good1.sts.example'] and s['max_age'] == 604800, s
assert j['verdicts'][0]['verdict'] == 'sts-enforce', j['verdicts']"
	CK=-enforce-connect
	chk_run --connect --json enforce.sts.example
	chk_rc exit-0 0
	chk_json verified "
c = j['connect'][0]
assert c['ok'] and c['verified'] and c['level'] == 'mta-sts enforce', c
assert c['match'] == 'MTA-STS enforce, policy id enforce1' or c['match'].startswith('MTA-STS'), c['match']
e = c['chain'][0]
assert 'CN=good1.sts.example' in e['subject'] and 'good1.sts.example' in e['names'].split(','), e
assert e['not_after'] > j['cache']['fetched'], e"

	CK=-nomatch
	chk_run nomatch.sts.example
	chk_rc exit-0 0
	chk_line refused '^verdict \[192\.0\.2\.50\]:25 good1\.sts\.example: refuse: good1\.sts\.example matches no mx pattern of the enforced MTA-STS policy$'
	chk_line enforce '^verdict \[192\.0\.2\.51\]:25 good2\.sts\.example: sts-enforce$'

	CK=-testing
	chk_run --connect --json testing.sts.example
	chk_rc exit-0 0
	chk_json testing "
assert j['sts']['mode'] == 'testing', j['sts']
assert j['verdicts'][0]['verdict'] == 'sts-testing', j['verdicts']
c = j['connect'][0]
assert c['ok'] and c['tls'] and not c['verified'], c
assert c['soft_rtype'] == 'certificate-host-mismatch', c"

	CK=-syntax
	chk_run syntax.sts.example
	chk_rc exit-0 0
	chk_line failure '^mta-sts failure: sts-policy-invalid: line 4: max_age is not a number of seconds \(the first error; the parser stops there\)$'
	chk_line verdict '^verdict \[192\.0\.2\.50\]:25 good1\.sts\.example: opportunistic$'
	chk_run --json syntax.sts.example
	chk_json json "
s = j['sts']
assert not s['has_policy'] and s['failure'] == 'sts-policy-invalid', s
assert s['failure_why'].startswith('line 4: '), s['failure_why']"

	CK=-nopolicy
	chk_run --json plain.example
	chk_rc exit-0 0
	chk_json json "
assert not j['sts']['has_policy'] and j['sts']['failure'] is None, j['sts']
assert j['sts']['txt']['records'] == [], j['sts']['txt']
assert j['mx'][0]['dane'] == 'none' and j['mx'][0]['tlsa_dnssec'] == 'secure', j['mx'][0]
assert [v['verdict'] for v in j['verdicts']] == ['opportunistic'], j['verdicts']"

	CK=-allbad
	chk_run --connect allbad.sts.example
	chk_rc exit-1 1
	chk_line wrongname '^connect wrongname\.sts\.example\[192\.0\.2\.52\]:25: failed: '
	chk_line expired '^connect expired\.sts\.example\[192\.0\.2\.53\]:25: failed: '
	chk_line result '^result: refuse: no candidate completed the handshake$'
	CK=
	after=$(chk_cache_state)
	if [ "$before" = "$after" ]; then pass cache-untouched
	else fail cache-untouched "sts_cache_dir changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' '|')"; fi
}

# chk_table - a policy table, and mode = report-only
chk_table() {
	local t=$LAB_DIR/work/check-ptable
	printf '%s\n' "plain.example dane-only" \
		"[192.0.2.50]:25 verify match=good1.sts.example" \
		"dane-ee.example may" >"$t"
	cp "$LAB_DIR/mxtlsd.conf" "$LAB_DIR/work/check-table.conf"
	echo "policy_table = $t" >>"$LAB_DIR/work/check-table.conf"
	CHK_CONF=$LAB_DIR/work/check-table.conf

	CK=-table-dane-only
	chk_run plain.example
	chk_rc exit-1 1
	chk_line entry "^table $(lab_req "$t"):1: plain\\.example dane-only applies$"
	chk_line verdict '^verdict \[192\.0\.2\.44\]:25 mx\.plain\.example: refuse: dane-only: mx\.plain\.example has no usable TLSA records$'
	chk_run --json plain.example
	chk_json json "
e = j['table']['entry']
assert e['key'] == 'plain.example' and e['line'] == 1 and e['level'] == 'dane-only', e
assert j['table']['file'].endswith('/check-ptable'), j['table']
assert j['verdicts'][0]['dane_only'] and j['exit'] == 1, j['verdicts']"

	CK=-table-dest
	chk_run --connect --dest 192.0.2.50 plain.example
	chk_rc exit-0 0
	chk_line entry "^table $(lab_req "$t"):2: \\[192\\.0\\.2\\.50\\]:25 verify applies$"
	chk_line dest '^destination \[192\.0\.2\.50\]:25 \(--dest\)$'
	chk_line verdict '^verdict \[192\.0\.2\.50\]:25 -: table:verify$'
	chk_line connect '^connect .*\[192\.0\.2\.50\]:25: ok, TLSv1\.[23] .*, verified'

	CK=-table-may
	chk_run dane-ee.example
	chk_rc exit-0 0
	chk_line verdict '^verdict \[192\.0\.2\.31\]:25 mx1\.dane-ee\.example: table:may$'

	CK=-report-only
	cp "$LAB_DIR/mxtlsd.conf" "$LAB_DIR/work/check-ro.conf"
	echo "mode = report-only" >>"$LAB_DIR/work/check-ro.conf"
	CHK_CONF=$LAB_DIR/work/check-ro.conf
	chk_run bogus.example
	chk_rc exit-0 0
	chk_line options '^options: mode report-only, '
	chk_line verdict '^verdict \[192\.0\.2\.40\]:25 mx\.bogus\.example: opportunistic \(report-only: would refuse: '
	chk_run --json bogus.example
	chk_json json "
assert j['report_only'] and j['mode'] == 'report-only' and j['exit'] == 0, j
assert j['verdicts'][0]['connect'] and j['verdicts'][0]['failed'], j['verdicts']"
	CHK_CONF=
	CK=
}

# chk_errors - usage and configuration errors: exit 2, and why
chk_errors() {
	local log=$LAB_DIR/log/mxtls-check.log
	CK=-usage
	chk_run
	chk_rc exit-2 2
	CK=-baddomain
	chk_run 'bad..name'
	chk_rc exit-2 2
	CK=-badconf
	CHK_CONF=$LAB_DIR/work/no-such.conf chk_run dane-ee.example
	chk_rc exit-2 2
	CK=-badtable
	cp "$LAB_DIR/mxtlsd.conf" "$LAB_DIR/work/check-badtable.conf"
	printf 'policy_table = %s\n' "$LAB_DIR/work/no-such-table" >>"$LAB_DIR/work/check-badtable.conf"
	CHK_CONF=$LAB_DIR/work/check-badtable.conf chk_run dane-ee.example
	chk_rc exit-2 2
	if tail -n 5 "$log" | grep -q "mxtls-check: $(lab_req "$LAB_DIR/work/no-such-table")"; then pass "names-file$CK"
	else fail "names-file$CK" "stderr does not name the table: $(tail -n 3 "$log" | tr '\n' '|')"; fi
	CK=-baddest
	chk_run --dest 192.0.2.500 dane-ee.example
	chk_rc exit-2 2
	CK=
}

scenario_check() {
	local tmp0 tmp1
	lab_dane_only || return 0
	chk_bin || return 0
	# shellcheck disable=SC2034  # read by tests/lab/run's dump_logs
	SCEN_SINKS="192.0.2.31 192.0.2.35 192.0.2.36 192.0.2.50 192.0.2.52"
	tmp0=$(find /tmp -maxdepth 1 -name 'mxtls-check.*' | wc -l)
	chk_dane
	chk_sts
	chk_table
	chk_errors
	tmp1=$(find /tmp -maxdepth 1 -name 'mxtls-check.*' | wc -l)
	if [ "$tmp1" = "$tmp0" ]; then pass private-cache-removed
	else fail private-cache-removed "$((tmp1 - tmp0)) /tmp/mxtls-check.* left behind"; fi
}
