# table.sh - the admin's policy table (policy_table, Postfix's
# smtp_tls_policy_maps syntax), mode = report-only and require_tls, driven
# by the real Postfix as the old MTA.
#
# Each scenario writes $LAB_DIR/work/policy, points mxtlsd at it with a
# SIGHUP (lab_mxtlsd_hup), sends through Postfix, and asserts what Postfix
# was told (sent, or deferred with the reply), what reached which MX and
# over what TLS, what mxtlsd logged (the entry that applied, Verified /
# Untrusted lines, would-refuse lines), and what the journal recorded (the
# policy-table member, the would-refuse action).  Each restores the base
# configuration at its end and removes what it deferred.
#
# Scenarios:
#   table-dane-only     plain.example (signed, no TLSA) dane-only: deferred
#                       451 4.7.5 (no usable TLSA), no MX connected to
#   table-encrypt       plain.lab.example (mx2, no STARTTLS) encrypt: deferred
#   table-none          tls.lab.example none: plaintext although mx1 offers
#                       STARTTLS
#   table-fingerprint   tls.lab.example fingerprint, mx1's certificate digest:
#                       verified; another digest: deferred
#   table-secure        enforce.sts.example secure: the default match
#                       (nexthop:dot-nexthop) does not name good1.sts.example:
#                       deferred; match=good1.sts.example: verified against
#                       tls_ca_file; match=.sts.example tafile=the lab CA: verified
#   table-literal       [192.0.2.26]:25 encrypt (the smart host's address,
#                       whatever the domain): deferred, the key journaled
#   table-reload        a table with an error at SIGHUP: the old table stays
#   report-only         mode = report-only: one-bad.example (TLSA mismatch)
#                       and allbad.sts.example (MTA-STS enforce, every MX's
#                       certificate wrong) delivered; the journal has their
#                       would-refuse records, mxtls-report summary counts them
#   require-tls         require_tls = yes: plain.lab.example deferred 451
#                       4.7.4; an entry "may" is the exception

TABLE_FILE=

# table_use TEXT [CONF-LINE...] - write the table, reload mxtlsd with it
table_use() {
	TABLE_FILE=$LAB_DIR/work/policy
	printf '%s\n' "$1" >"$TABLE_FILE"
	chmod 644 "$TABLE_FILE"
	shift
	if lab_mxtlsd_hup "policy_table = $TABLE_FILE" "$@"; then pass "reload$CK"
	else fail "reload$CK" "SIGHUP with the table: ${LAB_MATCH:-no reload line in 5 s}"; fi
}

# table_done - back to the base configuration
table_done() {
	lab_mxtlsd_hup >/dev/null 2>&1 || fail "reload-back$CK" "SIGHUP back to the base configuration failed"
}

# table_applies KEY LEVEL - mxtlsd logged that the entry applied
table_applies() {
	lab_sess_has table-entry "$(lab_req ": policy table $TABLE_FILE:")[0-9]+: $(lab_req "$1 $2")( mode=report-only)? applies to " \
		"mxtlsd did not log that the table entry $1 $2 applied"
}

# table_journal NEEDLE... - the session's journal records hold every NEEDLE
table_journal() {
	local recs n
	recs=$(grep -F "\"sid\":\"$D_SID\"" "$(lab_journal_day)" 2>/dev/null)
	for n in "$@"; do
		if grep -qF -- "$n" <<<"$recs"; then pass "journal-$(echo "$n" | tr -cd 'a-z-' | cut -c1-40)$CK"
		else fail "journal-$(echo "$n" | tr -cd 'a-z-' | cut -c1-40)$CK" "no journal record of session $D_SID has $n: $(echo "$recs" | head -c 600)"; fi
	done
}

scenario_table-dane-only() {
	lab_dane_only || return 0
	SCEN_SINKS=192.0.2.44
	table_use "plain.example dane-only"
	lab_send plain.example || { table_done; return; }
	lab_expect_deferred "451 4.7.5 no usable TLSA record for MX host mx.plain.example (policy table: dane-only)"
	if lab_sess plain.example; then
		table_applies plain.example dane-only
		lab_sess_lacks no-connection 'TLS connection established to|no STARTTLS with' \
			"mxtlsd connected to the MX"
		table_journal '"result-type":"dane-required"' '"policy-table":"plain.example dane-only"' \
			'"action":"refused"'
	fi
	lab_dequeue
	table_done
}

# table_encrypt_mx2 KEY - an encrypt entry under KEY towards mx2 (no
# STARTTLS): deferred, the entry logged and journaled
table_encrypt_mx2() {
	lab_dane_only || return 0
	SCEN_SINKS=mx2
	table_use "$1 encrypt"
	lab_send plain.lab.example || { table_done; return; }
	lab_expect_deferred "451 4.7.5 TLS is required, but was not offered by host mx2.lab.example[192.0.2.26]:25"
	if lab_sess plain.lab.example; then
		table_applies "$1" encrypt
		table_journal '"result-type":"starttls-not-supported"' "\"policy-table\":\"$1 encrypt\""
	fi
	lab_dequeue
	table_done
}

scenario_table-encrypt() { table_encrypt_mx2 plain.lab.example; }

scenario_table-none() {
	lab_dane_only || return 0
	table_use "# a partner whose TLS is broken
.lab.example none"
	lab_send tls.lab.example || { table_done; return; }
	if lab_expect_sent mx1; then
		lab_check_mx_tls no
		lab_check_bytes
	fi
	if lab_sess tls.lab.example; then
		table_applies .lab.example none
		lab_sess_has plaintext-by-table 'no STARTTLS with [^ ]*\[192\.0\.2\.25\]:25: TLS level none; sending in plaintext' \
			"mxtlsd did not say it skipped STARTTLS because of the table"
		table_journal '"policy-table":".lab.example none"' '"action":"delivered"'
	fi
	table_done
}

scenario_table-fingerprint() {
	local fp
	lab_dane_only || return 0
	fp=$(openssl x509 -in "$LAB_DIR/pki/mx1.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
	table_use "tls.lab.example fingerprint match=$fp"
	lab_send tls.lab.example || { table_done; return; }
	if lab_expect_sent mx1; then
		lab_check_mx_tls yes
	fi
	if lab_sess tls.lab.example; then
		table_applies tls.lab.example fingerprint
		lab_sess_has verified-by-fingerprint 'Verified TLS connection established to mx1\.lab\.example\[192\.0\.2\.25\]:25: .*\(policy table fingerprint, SHA-256 of the certificate\)$' \
			"no Verified line naming the fingerprint"
	fi
	CK=-other
	table_use "tls.lab.example fingerprint match=$(printf '%064d' 0)"
	SCEN_SINKS=mx1
	lab_send "$SCEN-other-$RUNID@tls.lab.example" || { table_done; return; }
	lab_expect_deferred "451 4.7.5 policy table tls.lab.example fingerprint: no match= digest is that of the certificate of mx1.lab.example[192.0.2.25]:25"
	if lab_sess tls.lab.example; then
		lab_sess_result "mx1.lab.example[192.0.2.25]:25" validation-failure
		table_journal '"policy-table":"tls.lab.example fingerprint"' '"action":"refused"'
	fi
	lab_dequeue
	CK=
	table_done
}

scenario_table-secure() {
	lab_dane_only || return 0
	SCEN_SINKS=192.0.2.50
	table_use "enforce.sts.example secure"
	lab_send enforce.sts.example || { table_done; return; }
	lab_expect_deferred "451 4.7.5 policy table enforce.sts.example secure: certificate of good1.sts.example[192.0.2.50]:25 not verified"
	if lab_sess enforce.sts.example; then
		table_applies enforce.sts.example secure
		lab_sess_result "good1.sts.example[192.0.2.50]:25" certificate-host-mismatch
	fi
	lab_dequeue
	CK=-match
	table_use "enforce.sts.example secure match=good1.sts.example"
	lab_send "$SCEN-match-$RUNID@enforce.sts.example" || { table_done; return; }
	if lab_expect_sent 192.0.2.50; then
		lab_check_mx_tls yes
		lab_check_sni good1.sts.example
	fi
	if lab_sess enforce.sts.example; then
		lab_sess_has verified-secure 'Verified TLS connection established to good1\.sts\.example\[192\.0\.2\.50\]:25: .*\(policy table secure, good1\.sts\.example\)$' \
			"no Verified line for the secure entry"
		lab_sess_lacks no-sts-policy 'MTA-STS (enforce|testing)' "the MTA-STS policy was applied despite the table entry"
		table_journal '"policy-table":"enforce.sts.example secure"' '"action":"delivered"'
	fi
	CK=-tafile
	table_use "enforce.sts.example secure match=.sts.example tafile=$LAB_DIR/dns/pki/ca.crt"
	lab_send "$SCEN-tafile-$RUNID@enforce.sts.example" || { table_done; return; }
	lab_expect_sent 192.0.2.50 && lab_check_mx_tls yes
	if lab_sess enforce.sts.example; then
		lab_sess_has verified-tafile 'Verified TLS connection established to good1\.sts\.example\[192\.0\.2\.50\]:25: .*\(policy table secure, good1\.sts\.example\)$' \
			"no Verified line for the secure entry with tafile="
	fi
	CK=
	table_done
}

# the smart host's address, whatever the domain
scenario_table-literal() { table_encrypt_mx2 "[192.0.2.26]:25"; }

scenario_table-reload() {
	lab_dane_only || return 0
	table_use "plain.lab.example may"
	printf 'plain.lab.example encrypt\nbroken.example sure\n' >"$TABLE_FILE"
	if lab_mxtlsd_hup "policy_table = $TABLE_FILE"; then
		fail refused-reload "mxtlsd reloaded a table with an unknown level"
	else
		case $LAB_MATCH in
		*"reload: $TABLE_FILE:2: \"sure\": unknown level"*"keeping the running configuration and policy table"*)
			pass refused-reload ;;
		*) fail refused-reload "expected \"reload: $TABLE_FILE:2: \\\"sure\\\": unknown level ...\", got: ${LAB_MATCH:-nothing}" ;;
		esac
	fi
	# At start, the same table is fatal, and the error names FILE:LINE.
	local out rc conf=$LAB_DIR/work/table-bad.conf
	sed -e "s|^listen = .*|listen = 127.0.0.1:$((LAB_PORT + 7))|" \
		-e "/^policy_table = /d" "$LAB_DIR/mxtlsd.conf.base" >"$conf"
	echo "policy_table = $TABLE_FILE" >>"$conf"
	out=$(lab_in_mta timeout 10 "$MXTLSD" -f -c "$conf" 2>&1); rc=$?
	if [ "$rc" = 1 ] && grep -q "fatal: $TABLE_FILE:2: \"sure\": unknown level" <<<"$out"; then
		pass fatal-at-start
	else
		fail fatal-at-start "mxtlsd with the broken table: exit $rc, $(echo "$out" | tail -n 2)"
	fi
	# The old table (plain.lab.example may) still applies.
	lab_send plain.lab.example || { table_done; return; }
	lab_expect_sent mx2 && lab_check_mx_tls no
	lab_sess plain.lab.example && table_applies plain.lab.example may
	table_done
}

scenario_report-only() {
	local sum
	lab_dane_only || return 0
	if lab_mxtlsd_hup "mode = report-only"; then pass reload
	else fail reload "SIGHUP with mode = report-only: ${LAB_MATCH:-no reload line}"; fi
	lab_send one-bad.example || { table_done; return; }
	lab_expect_sent 192.0.2.37 && lab_check_mx_tls yes
	if lab_sess one-bad.example; then
		lab_sess_has would-refuse-logged 'report-only: would refuse \(dane\): tlsa-invalid: TLSA record mismatch for mx\.one-bad\.example\[192\.0\.2\.37\]:25; delivering anyway' \
			"no report-only line for the TLSA mismatch"
		table_journal '"result-type":"tlsa-invalid"' '"action":"would-refuse"'
	fi
	CK=-sts
	lab_send allbad.sts.example || { table_done; return; }
	lab_expect_sent 192.0.2.52 && lab_check_mx_tls yes
	if lab_sess allbad.sts.example; then
		lab_sess_has would-refuse-logged 'report-only: would refuse \(mta-sts enforce\): certificate-host-mismatch: ' \
			"no report-only line for the MTA-STS failure"
		table_journal '"policy-type":"sts"' '"result-type":"certificate-host-mismatch"' '"action":"would-refuse"'
	fi
	CK=
	sum=$(lab_report summary 2>&1)
	if grep -Eq '^would-refuse \(mode = report-only: enforce would have refused\): [1-9][0-9]*$' <<<"$sum"; then
		pass summary-would-refuse
	else
		fail summary-would-refuse "mxtls-report summary has no would-refuse count: $(echo "$sum" | tail -n 12)"
	fi
	if grep -Eq '^  one-bad\.example +tlsa-invalid +[1-9]' <<<"$sum" \
		&& grep -Eq '^  allbad\.sts\.example +certificate-host-mismatch +[1-9]' <<<"$sum"; then
		pass summary-by-domain
	else
		fail summary-by-domain "mxtls-report summary does not list one-bad.example tlsa-invalid and allbad.sts.example certificate-host-mismatch: $(echo "$sum" | tail -n 12)"
	fi
	table_done
}

scenario_require-tls() {
	lab_dane_only || return 0
	SCEN_SINKS=mx2
	if lab_mxtlsd_hup "require_tls = yes"; then pass reload
	else fail reload "SIGHUP with require_tls = yes: ${LAB_MATCH:-no reload line}"; fi
	lab_send plain.lab.example || { table_done; return; }
	lab_expect_deferred "451 4.7.4 TLS is required, but was not offered by host mx2.lab.example[192.0.2.26]:25"
	lab_dequeue
	CK=-exception
	table_use "plain.lab.example may" "require_tls = yes"
	lab_send "$SCEN-exception-$RUNID@plain.lab.example" || { table_done; return; }
	lab_expect_sent mx2 && lab_check_mx_tls no
	CK=
	table_done
}
