#!/bin/sh
# selftest_test.sh [MXTLS_CHECK] - mxtls-check --selftest as make check
# runs it: it passes with the default configuration, and a broken one
# (a tls_ca_file that also trusts the self-test's self-signed "must
# fail" certificate) makes it fail, naming that case.  Loopback only, no
# DNS, no namespace: it runs wherever `make unit' runs.  Also: the
# expectations follow strict_testing and require_tls, --if-configured
# follows selftest_at_start, and --canary without lookups claims no
# refusal (exit 3).  One PASS:/FAIL: line per check.
chk=${1:-${MXTLS_CHECK:-./mxtls-check}}
sysca=/etc/ssl/certs/ca-certificates.crt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

pass() { echo "PASS: selftest $1"; }
fail() { echo "FAIL: selftest $1"; fails=$((fails + 1)); }
# check NAME COND-RESULT DETAIL: COND-RESULT is the status of a test
check() { if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1: $3"; fi; }

# run CONF [ARGS...] - the self-test with that configuration: $out, $rc
run() {
	conf=$1
	shift
	"$chk" -c "$conf" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
}

# wrong_rows - the rows the self-test marked wrong, by case name
wrong_rows() { grep -- '<- WRONG' "$tmp/out" | sed 's/  .*//'; }

: >"$tmp/default.conf"
run "$tmp/default.conf" --selftest
check "default configuration: exit 0" $rc "exit $rc: $(tail -3 "$tmp/out")"
n=$(grep -c -E '^(sts|dane|no policy)' "$tmp/out")
check "default configuration: 21 cases, none wrong, the last line says ok" \
	$([ "$n" -eq 21 ] && [ -z "$(wrong_rows)" ] && tail -1 "$tmp/out" |
	grep -q '^selftest: ok: all 21 cases as expected'; echo $?) "$n rows: $out"
check "default configuration: the must-fail cases refused for their reasons" \
	$(grep -q '^sts-enforce wrong name .*refuse certificate-host-mismatch *$' "$tmp/out" &&
	grep -q '^sts-enforce expired .*refuse certificate-expired *$' "$tmp/out" &&
	grep -q '^sts-enforce self-signed .*refuse certificate-not-trusted *$' "$tmp/out" &&
	grep -q '^dane-ee TLSA mismatch .*refuse tlsa-invalid *$' "$tmp/out" &&
	grep -q '^dane no STARTTLS .*refuse starttls-not-supported *$' "$tmp/out" &&
	grep -q '^dane TLSA answer bogus .*refuse dnssec-invalid *$' "$tmp/out"; echo $?) "$out"

# The broken set-up: the CA file trusts the "must fail" certificate too.
"$chk" --print-selftest-cert >"$tmp/untrusted.pem"
check "--print-selftest-cert: one PEM certificate" \
	$(openssl x509 -in "$tmp/untrusted.pem" -noout 2>/dev/null; echo $?) "$(cat "$tmp/untrusted.pem")"
if [ -r "$sysca" ]; then cat "$sysca" "$tmp/untrusted.pem" >"$tmp/broken.pem"
else cp "$tmp/untrusted.pem" "$tmp/broken.pem"; fi
echo "tls_ca_file = $tmp/broken.pem" >"$tmp/broken.conf"
run "$tmp/broken.conf" --selftest
check "broken tls_ca_file: exit 1" $([ $rc -eq 1 ]; echo $?) "exit $rc"
check "broken tls_ca_file: the one wrong case is sts-enforce self-signed" \
	$([ "$(wrong_rows)" = "sts-enforce self-signed" ]; echo $?) "wrong: $(wrong_rows)"
check "broken tls_ca_file: the last line names it" \
	$(tail -1 "$tmp/out" | grep -q '^selftest: FAILED: 1 of 21 cases: sts-enforce self-signed$'
	echo $?) "$(tail -1 "$tmp/out")"
check "broken tls_ca_file: it was delivered, verified" \
	$(grep -q '^sts-enforce self-signed .*deliver verified   <- WRONG$' "$tmp/out"; echo $?) "$out"
echo "tls_ca_file = $tmp/untrusted.pem" >"$tmp/only.conf"
run "$tmp/only.conf" --selftest
check "tls_ca_file of the untrusted certificate alone: exit 1, that case named" \
	$([ $rc -eq 1 ] && [ "$(wrong_rows)" = "sts-enforce self-signed" ]; echo $?) \
	"exit $rc, wrong: $(wrong_rows)"
echo "tls_ca_file = $tmp/nonexistent.pem" >"$tmp/nofile.conf"
run "$tmp/nofile.conf" --selftest
check "tls_ca_file that does not exist: exit 1, said" \
	$([ $rc -eq 1 ] && grep -q '^selftest: FAILED: .*nonexistent.pem' "$tmp/out"; echo $?) \
	"exit $rc: $out"

# The expectations follow the configuration.
printf 'strict_testing = yes\nrequire_tls = yes\n' >"$tmp/strict.conf"
run "$tmp/strict.conf" --selftest
check "strict_testing and require_tls: exit 0, testing and no-policy plaintext refused" \
	$([ $rc -eq 0 ] &&
	grep -q '^sts-testing wrong name .*refuse certificate-host-mismatch *$' "$tmp/out" &&
	grep -q '^no policy, no STARTTLS .*refuse starttls-not-supported *$' "$tmp/out"; echo $?) \
	"exit $rc: $out"
run "$tmp/default.conf" --selftest
check "TLS session cache: the second connection resumed, not after the TLSA changed" \
	$(grep -q '^dane-ee good, again .*deliver verified resumed *$' "$tmp/out" &&
	grep -q '^sts-enforce good, again .*deliver verified resumed *$' "$tmp/out" &&
	grep -q '^dane-ee again, TLSA changed .*refuse tlsa-invalid *$' "$tmp/out"; echo $?) "$out"
echo 'tls_session_cache = no' >"$tmp/nosc.conf"
run "$tmp/nosc.conf" --selftest
check "tls_session_cache = no: exit 0, nothing resumed" \
	$([ $rc -eq 0 ] && ! grep -q 'resumed' "$tmp/out" &&
	grep -q '^dane-ee good, again .*deliver verified *$' "$tmp/out"; echo $?) "exit $rc: $out"
echo 'mode = report-only' >"$tmp/ro.conf"
run "$tmp/ro.conf" --selftest
check "report-only: judged under enforce, said so, exit 0" \
	$([ $rc -eq 0 ] && grep -q '^note: mode = report-only' "$tmp/out"; echo $?) "exit $rc: $out"

# --if-configured: what the unit's ExecStartPre runs.
run "$tmp/default.conf" --selftest --if-configured
check "--if-configured, selftest_at_start = no: exit 0 at once, nothing printed" \
	$([ $rc -eq 0 ] && [ -z "$out" ]; echo $?) "exit $rc: $out"
printf 'selftest_at_start = yes\ntls_ca_file = %s\n' "$tmp/broken.pem" >"$tmp/atstart.conf"
run "$tmp/atstart.conf" --selftest --if-configured
check "--if-configured, selftest_at_start = yes, broken CA file: exit 1" \
	$([ $rc -eq 1 ] && tail -1 "$tmp/out" | grep -q 'sts-enforce self-signed'; echo $?) \
	"exit $rc: $out"

# Usage.
"$chk" -c "$tmp/default.conf" --selftest example.org >/dev/null 2>&1
check "--selftest with a domain: usage, exit 2" $([ $? -eq 2 ]; echo $?) "-"
"$chk" -c "$tmp/default.conf" --if-configured >/dev/null 2>&1
check "--if-configured alone: usage, exit 2" $([ $? -eq 2 ]; echo $?) "-"

# --canary with no lookups at all (dns_resolver = none): nothing proven,
# so nothing claimed (the live canary needs the Internet: not run here).
printf 'dns_resolver = none\n' >"$tmp/nodns.conf"
run "$tmp/nodns.conf" --canary
check "--canary without lookups: unproven, exit 3" \
	$([ $rc -eq 3 ] && grep -q '^wrong.havedane.net  *refuse  *unproven$' "$tmp/out"; echo $?) \
	"exit $rc: $out"
run "$tmp/nodns.conf" --canary a.example b.example
check "--canary DOMAIN...: the command line's domains instead" \
	$([ $rc -eq 3 ] && [ "$(grep -c 'unproven$' "$tmp/out")" -eq 2 ] &&
	! grep -q havedane "$tmp/out"; echo $?) "exit $rc: $out"

[ $fails -eq 0 ]
