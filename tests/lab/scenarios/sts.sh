# sts.sh - the MTA-STS scenarios (third floor: nginx serving the policies of
# tests/lab/dns/build.sh's STS domains) and their helpers.
#
# Like the DANE scenarios (dane.sh, whose helpers these use), each submits
# through the real Postfix; Postfix's transport sends the message to the
# first MX address of the domain (lib/postfix.sh LAB_STS_ROUTES), iptables hands it
# to mxtlsd, which looks up _mta-sts.DOMAIN, fetches (or takes from its
# cache) https://mta-sts.DOMAIN/.well-known/mta-sts.txt and applies it.
# Each asserts
#   - what Postfix was told (status= line and reply; deferred: the queue);
#   - what reached which MX (every sink's store, exactly one copy or none),
#     over what TLS (the sink's record: version, SNI = the MX host name);
#   - what mxtlsd logged: the session's policy summary ("policy lookups for
#     D took N ms: mta-sts enforce"), the policy it applied (id, mode, first
#     mx pattern), the Verified / Untrusted / Anonymous line with the policy
#     id, each failed attempt's result type and OpenSSL reason;
#   - what mxtlsd fetched and cached: its "mta-sts: policy for D fetched"
#     line, the policy host's access log, and the cache file
#     $LAB_DIR/sts/DOMAIN (header, then exactly the policy served).
#
# Scenarios here (the rest: sts-policy.sh, sts-cache.sh, sts-negative.sh):
#   sts-allbad     enforce, every MX fails (certificate for another name,
#                  expired): 451 4.7.5, the message stays in Postfix's queue
#                  (then removed: sts-idchange defers one of its own)
#   sts-enforce    enforce, certificate valid for the MX name: verified, the
#                  policy fetched (mxtlsd restarted without its cache file
#                  first when an earlier scenario had it fetched); also
#                  sts-unsigned.example (policy host and MX in an unsigned zone)
#   sts-wildcard   mx: *.wild.sts.example; a *.wild certificate, and an exact
#                  one; the policy served as "text/plain; charset=utf-8"
#   sts-badcert    MX 10 another name, 20 expired, 30 self-signed: each refused
#                  with its result type; delivered verified at MX 40
#   sts-nomatch    MX 10 matches no mx pattern: skipped (validation-failure),
#                  never connected to; delivered at MX 20
#   sts-notls      enforce, the only MX offers no STARTTLS: 451 4.7.5
#   sts-testing    testing, certificate for another name: delivered, failure
#                  logged; strict_testing = yes (SIGHUP): refused; restored
#                  (SIGHUP): the deferred message is delivered
#   sts-dane       TLSA and MTA-STS: DANE decides (DANE-EE; the self-signed
#                  certificate would fail MTA-STS)
#   sts-reload     SIGHUP, then the first message to reload.sts.example: its
#                  policy is fetched (PKIX against tls_ca_file) and enforced

# lab_sts_id DOMAIN - the id build.sh published for DOMAIN
lab_sts_id() { awk -F'\t' -v d="$1" '$1 == d { print $2 }' "$LAB_DIR/dns/sts.tsv"; }

# lab_sess_sts_summary DOMAIN WHAT - "policy lookups for DOMAIN took N ms: WHAT"
lab_sess_sts_summary() {
	lab_sess_has mxtlsd-policy-summary "$(lab_req ": policy lookups for $1 took ")[0-9.]+ ms: $(lab_req "$2")\$" \
		"mxtlsd did not sum up the policy of $1 as \"$2\""
}

# lab_sess_sts_policy DOMAIN ID MODE FIRST-PATTERN [cached|fresh] - the
# policy the session applied; with "cached" the line must say ", cached"
# (taken from the cache, no fetch), with "fresh" it must not (this
# session's lookup fetched it)
lab_sess_sts_policy() {
	local re
	re="$(lab_req ": mta-sts policy for $1: id $2, mode $3, mx $4")( \\.\\.\\.)?"
	case ${5:-} in
	cached) re="$re, cached\$" ;;
	fresh) re="$re\$" ;;
	*) re="$re(, cached)?\$" ;;
	esac
	lab_sess_has "mxtlsd-sts-policy${5:+-$5}" "$re" \
		"mxtlsd did not log the policy id $2 (mode $3, mx $4${5:+, $5}) of $1: $(grep -m1 -F ": mta-sts policy for $1:" <<<"$D_LINES")"
}

# lab_sts_verified HOST IP ID - Verified ... (MTA-STS enforce, policy id ID)
lab_sts_verified() {
	lab_sess_has mxtlsd-verified \
		"$(lab_req "Verified TLS connection established to $1[$2]:25: ")TLSv1\\.[23] .*$(lab_req "(MTA-STS enforce, policy id $3)")\$" \
		"no Verified TLS connection to $1[$2]:25 under MTA-STS policy id $3"
}

# lab_sts_untrusted HOST IP ID MODE - Untrusted ... (MTA-STS MODE, policy id ID)
lab_sts_untrusted() {
	lab_sess_has "mxtlsd-untrusted-$1" \
		"$(lab_req "Untrusted TLS connection established to $1[$2]:25: ")TLSv1\\.[23] .*$(lab_req "(MTA-STS $4, policy id $3)")\$" \
		"no Untrusted TLS connection to $1[$2]:25 under MTA-STS $4 policy id $3"
}

# lab_sts_refused HOST IP RESULT REASON TEXT - a failed attempt:
# "attempt to HOST[IP]:25 failed: result=RESULT reason=REASON: MTA-STS:
# certificate of HOST[IP]:25 not valid: TEXT"
lab_sts_refused() {
	lab_sess_has "mxtlsd-result-$3" \
		"$(lab_req ": attempt to $1[$2]:25 failed: result=$3 reason=$4: MTA-STS: certificate of $1[$2]:25 not valid: $5")\$" \
		"mxtlsd did not refuse $1[$2]:25 with result=$3 reason=$4 ($5)"
}

# lab_sts_fetched DOMAIN ID MODE NMX - mxtlsd fetched that policy (after D_OFF)
lab_sts_fetched() {
	if lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" \
		"$(lab_req "mta-sts: policy for $1 fetched: id $2, mode $3, max_age 604800, $4 mx patterns")\$" 5; then
		pass "mxtlsd-fetched$CK"
	else
		fail "mxtlsd-fetched$CK" "no \"mta-sts: policy for $1 fetched: id $2, mode $3, max_age 604800, $4 mx patterns\" line: $(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" "mta-sts: .*$(lab_req "$1")" | head -n 3)"
	fi
}

# lab_sts_not_fetched DOMAIN HOFF - no fetch (nor failed fetch) of DOMAIN's
# policy after D_OFF, and no request for it at the policy host after HOFF
lab_sts_not_fetched() {
	local l
	if l=$(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" "mta-sts: (policy for|no new policy for) $(lab_req "$1") " | head -n 1) && [ -n "$l" ]; then
		fail "mxtlsd-no-fetch$CK" "mxtlsd fetched: $l"
	else
		pass "mxtlsd-no-fetch$CK"
	fi
	if l=$(lab_grep_after "$(lab_https_log)" "$2" " $(lab_req "mta-sts.$1") ") && [ -n "$l" ]; then
		fail "policy-host-no-request$CK" "the policy host was asked: $(head -n 1 <<<"$l")"
	else
		pass "policy-host-no-request$CK"
	fi
}

# lab_sts_requested DOMAIN HOFF STATUS - the policy host got a request for
# mta-sts.DOMAIN's policy after HOFF, and answered STATUS
lab_sts_requested() {
	local l
	lab_wait_grep_after "$(lab_https_log)" "$2" " $(lab_req "mta-sts.$1") \"GET /\.well-known/mta-sts\.txt HTTP/1\.1\" " 2
	l=$LAB_MATCH
	case $l in
	*"\" $3 "*) pass "policy-host-request$CK" ;;
	*) fail "policy-host-request$CK" "expected a GET for mta-sts.$1 answered $3 in the access log, got: ${l:-none}" ;;
	esac
}

# lab_sts_cachefile DOMAIN ID - $LAB_DIR/sts/DOMAIN is mxtlsd's cache file
# for the policy with ID: "mxtls-sts 1", domain, id, fetched (not before
# this mxtlsd's run of the lab, not in the future), expires (at least
# fetched + max_age 604800, at most now + 604800), a blank line, then the
# policy exactly as the policy host serves it now (canonical text)
lab_sts_cachefile() {
	local d=$1 id=$2 f=$LAB_DIR/sts/$1 fe ex now why=
	if [ ! -f "$f" ]; then
		fail "cache-file$CK" "no cache file $f"
		return 1
	fi
	now=$(date +%s)
	fe=$(sed -n '4s/^fetched: \([0-9]*\)$/\1/p' "$f")
	ex=$(sed -n '5s/^expires: \([0-9]*\)$/\1/p' "$f")
	if [ "$(sed -n 1,3p "$f")" != "mxtls-sts 1"$'\n'"domain: $d"$'\n'"id: $id" ]; then
		why="header lines 1-3 are not mxtls-sts 1 / domain: $d / id: $id"
	elif [ -z "$fe" ] || [ -z "$ex" ] || [ -n "$(sed -n 6p "$f")" ]; then
		why="lines 4-6 are not fetched: N / expires: N / (blank)"
	elif [ "$fe" -lt "$LAB_T0" ] || [ "$fe" -gt "$now" ]; then
		why="fetched $fe is not within this lab run ($LAB_T0..$now)"
	elif [ "$ex" -lt $((fe + 604800)) ] || [ "$ex" -gt $((now + 604800)) ]; then
		why="expires $ex is not within fetched + max_age .. now + max_age ($((fe + 604800))..$((now + 604800)))"
	elif ! tail -n +7 "$f" | cmp -s - "$(lab_sts_file "$d")"; then
		why="the policy part differs from what the policy host serves: $(tail -n +7 "$f" | tr '\n' '|')"
	fi
	if [ -z "$why" ]; then pass "cache-file$CK"
	else fail "cache-file$CK" "$f: $why"; fi
}

LAB_T0=$(date +%s)
# the message sts_allbad_send leaves deferred
STS_ALLBAD_QID='' STS_ALLBAD_RCPT='' STS_ALLBAD_FILE=''

# sts_allbad_send - a message to allbad.sts.example, deferred (every MX
# refused under its enforce policy, id allbad1, fetched now or cached), and
# what mxtlsd logged of the session; left in Postfix's queue, named by
# STS_ALLBAD_QID, _RCPT, _FILE.  Status 1 when it could not be submitted.
sts_allbad_send() {
	local d=allbad.sts.example
	STS_ALLBAD_QID='' STS_ALLBAD_RCPT='' STS_ALLBAD_FILE=''
	lab_send "$d" || return
	lab_expect_deferred "451 4.7.5 MTA-STS: certificate of wrongname.sts.example[192.0.2.52]:25 not valid: hostname mismatch"
	STS_ALLBAD_QID=$D_QID STS_ALLBAD_RCPT=$D_RCPT STS_ALLBAD_FILE=$D_FILE
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" allbad1 enforce '*.sts.example'
		lab_sts_untrusted wrongname.sts.example 192.0.2.52 allbad1 enforce
		lab_sts_refused wrongname.sts.example 192.0.2.52 certificate-host-mismatch \
			X509_V_ERR_HOSTNAME_MISMATCH "hostname mismatch"
		lab_sts_untrusted expired.sts.example 192.0.2.53 allbad1 enforce
		lab_sts_refused expired.sts.example 192.0.2.53 certificate-expired \
			X509_V_ERR_CERT_HAS_EXPIRED "certificate has expired"
		lab_sess_lacks mxtlsd-not-verified 'Verified TLS connection' "a connection was logged as verified"
		lab_sess_lacks mxtlsd-no-transaction ' status=sent ' "mxtlsd relayed a transaction"
	fi
	return 0
}

scenario_sts-allbad() {
	local d=allbad.sts.example hoff
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.52 192.0.2.53"
	hoff=$(lab_log_size "$(lab_https_log)")
	sts_allbad_send || return
	lab_sts_fetched "$d" allbad1 enforce 1
	lab_sts_requested "$d" "$hoff" 200
	lab_sts_cachefile "$d" allbad1
	# nothing left behind for a later scenario
	lab_dequeue
}

# lab_sts_forget DOMAIN - when mxtlsd already holds DOMAIN's policy (a
# scenario before this one had it fetched: there is a cache file), stop
# mxtlsd, remove the file and start mxtlsd again, so that the next message
# fetches the policy afresh (check restarted-setup)
lab_sts_forget() {
	[ -f "$LAB_DIR/sts/$1" ] || return 0
	lab_mxtlsd_stop
	rm -f "$LAB_DIR/sts/$1"
	if lab_mxtlsd_start; then pass restarted-setup
	else fail restarted-setup "mxtlsd did not start again: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"; return 1; fi
}

scenario_sts-enforce() {
	local d=enforce.sts.example hoff
	lab_dane_only || return 0
	lab_sts_forget "$d" || return
	hoff=$(lab_log_size "$(lab_https_log)")
	lab_send "$d" || return
	if lab_expect_sent 192.0.2.50; then
		lab_check_mx_tls yes
		lab_check_sni good1.sts.example
		lab_check_bytes
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" enforce1 enforce good1.sts.example fresh
		lab_sts_verified good1.sts.example 192.0.2.50 enforce1
		lab_sess_lacks mxtlsd-not-untrusted 'Untrusted TLS connection|Anonymous TLS connection established to' \
			"an unauthenticated TLS connection was made"
		lab_sess_no_failure
		lab_sess_txn good1.sts.example 192.0.2.50
	fi
	lab_sts_fetched "$d" enforce1 enforce 1
	lab_sts_requested "$d" "$hoff" 200
	lab_sts_cachefile "$d" enforce1

	# the same, with the policy host and the MX in an unsigned zone
	CK=-unsigned
	d=sts-unsigned.example
	hoff=$(lab_log_size "$(lab_https_log)")
	lab_send "$d" || { CK=; return; }
	if lab_expect_sent 192.0.2.58; then
		lab_check_mx_tls yes
		lab_check_sni mx.sts-unsigned.example
	fi
	if lab_sess "$d"; then
		lab_sess_has mxtlsd-mx-insecure "$(lab_req "policy for $d: MX 10 mx.sts-unsigned.example (mx insecure, ")" \
			"mxtlsd did not see $d's MX as insecure"
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" unsigned1 enforce mx.sts-unsigned.example
		lab_sts_verified mx.sts-unsigned.example 192.0.2.58 unsigned1
		lab_sess_no_failure
		lab_sess_txn mx.sts-unsigned.example 192.0.2.58
	fi
	lab_sts_fetched "$d" unsigned1 enforce 1
	lab_sts_requested "$d" "$hoff" 200
	lab_sts_cachefile "$d" unsigned1
	CK=
}

# mx: *.wild.sts.example; MX 10 mx1.wild presents a *.wild.sts.example
# certificate, MX 20 mx2.wild one for its own name (Postfix's transport
# sends wild2@ to MX 20, which is an allowed MX: mxtlsd connects there)
scenario_sts-wildcard() {
	local d=wild.sts.example
	lab_dane_only || return 0
	lab_send "$d" || return
	if lab_expect_sent 192.0.2.55; then
		lab_check_mx_tls yes
		lab_check_sni mx1.wild.sts.example
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" wild1 enforce '*.wild.sts.example'
		lab_sts_verified mx1.wild.sts.example 192.0.2.55 wild1
		lab_sess_no_failure
	fi
	# served as "text/plain; charset=utf-8": a media type parameter is fine
	lab_sts_fetched "$d" wild1 enforce 1
	lab_sts_cachefile "$d" wild1

	CK=-exact-name
	lab_send "wild2@$d" || { CK=; return; }
	if lab_expect_sent 192.0.2.56; then
		lab_check_mx_tls yes
		lab_check_sni mx2.wild.sts.example
	fi
	if lab_sess "$d"; then
		lab_sess_sts_policy "$d" wild1 enforce '*.wild.sts.example'
		lab_sts_verified mx2.wild.sts.example 192.0.2.56 wild1
		lab_sess_no_failure
	fi
	CK=
}

# MX 10 wrongname (certificate for other.sts.example), 20 expired, 30
# selfsigned, 40 good2; mx: *.sts.example; Postfix connects to MX 10
scenario_sts-badcert() {
	local d=badcert.sts.example
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.52 192.0.2.53 192.0.2.54"
	lab_send "$d" || return
	case $D_STATUS in
	*" relay=192.0.2.52[192.0.2.52]:25,"*) pass postfix-relay-mx10 ;;
	*) fail postfix-relay-mx10 "Postfix did not connect to MX 10 (192.0.2.52): ${D_STATUS#*: }" ;;
	esac
	if lab_expect_sent 192.0.2.51; then
		lab_check_mx_tls yes
		lab_check_sni good2.sts.example
		lab_check_bytes
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" badcert1 enforce '*.sts.example'
		lab_sts_refused wrongname.sts.example 192.0.2.52 certificate-host-mismatch \
			X509_V_ERR_HOSTNAME_MISMATCH "hostname mismatch"
		lab_sts_refused expired.sts.example 192.0.2.53 certificate-expired \
			X509_V_ERR_CERT_HAS_EXPIRED "certificate has expired"
		lab_sts_refused selfsigned.sts.example 192.0.2.54 certificate-not-trusted \
			X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT "self-signed certificate"
		lab_sts_verified good2.sts.example 192.0.2.51 badcert1
		lab_sess_txn good2.sts.example 192.0.2.51
	fi
	lab_sts_cachefile "$d" badcert1
}

# MX 10 good1, MX 20 good2, mx: good2.sts.example only; Postfix connects to
# good1 (192.0.2.50), which mxtlsd must not even connect to
scenario_sts-nomatch() {
	local d=nomatch.sts.example
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.50"
	lab_send "$d" || return
	if lab_expect_sent 192.0.2.51; then
		lab_check_mx_tls yes
		lab_check_sni good2.sts.example
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" nomatch1 enforce good2.sts.example
		lab_sess_has mxtlsd-result-validation-failure \
			"$(lab_req ": attempt to good1.sts.example failed: result=validation-failure: MX host good1.sts.example matches no mx pattern of the MTA-STS policy of $d")\$" \
			"mxtlsd did not skip good1.sts.example as matching no mx pattern"
		lab_sess_lacks mxtlsd-not-to-good1 '(connection established to|connect to) good1\.sts\.example' \
			"mxtlsd connected to the MX that matches no pattern"
		lab_sts_verified good2.sts.example 192.0.2.51 nomatch1
		lab_sess_txn good2.sts.example 192.0.2.51
	fi
}

scenario_sts-notls() {
	local d=notls.sts.example
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.60"
	lab_send "$d" || return
	lab_expect_deferred "451 4.7.5 TLS is required, but was not offered by host notls.sts.example[192.0.2.60]:25"
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_sts_policy "$d" notls1 enforce notls.sts.example
		lab_sess_result "notls.sts.example[192.0.2.60]:25" starttls-not-supported
		lab_sess_lacks mxtlsd-no-transaction ' status=sent ' "mxtlsd relayed a transaction"
	fi
	lab_dequeue
}

# testing: the MX's certificate names another host.  Delivered, the failure
# logged; with strict_testing = yes refused; restored, the deferred message
# goes out on the next attempt.
scenario_sts-testing() {
	local d=testing.sts.example qid rcpt
	lab_dane_only || return 0
	lab_send "$d" || return
	if lab_expect_sent 192.0.2.52; then
		lab_check_mx_tls yes
		lab_check_bytes
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts testing"
		lab_sess_sts_policy "$d" testing1 testing '*.sts.example'
		lab_sts_untrusted wrongname.sts.example 192.0.2.52 testing1 testing
		lab_sess_has mxtlsd-testing-failure-logged \
			"$(lab_req ": MTA-STS testing (policy id testing1): certificate-host-mismatch: certificate of wrongname.sts.example[192.0.2.52]:25: hostname mismatch; delivering anyway")\$" \
			"mxtlsd did not log what enforce would have refused"
		lab_sess_no_failure
		lab_sess_txn wrongname.sts.example 192.0.2.52
	fi
	lab_sts_cachefile "$d" testing1

	CK=-strict
	if lab_mxtlsd_hup "strict_testing = yes"; then pass "reload$CK"
	else fail "reload$CK" "SIGHUP with strict_testing = yes: ${LAB_MATCH:-no reload line in 5 s}"; fi
	lab_send "strict-$SCEN-$RUNID@$d" || { CK=; lab_mxtlsd_hup; return; }
	qid=$D_QID rcpt=$D_RCPT
	lab_expect_deferred "451 4.7.5 MTA-STS: certificate of wrongname.sts.example[192.0.2.52]:25 not valid: hostname mismatch"
	if lab_sess "$d"; then
		lab_sess_sts_policy "$d" testing1 testing '*.sts.example'
		lab_sts_refused wrongname.sts.example 192.0.2.52 certificate-host-mismatch \
			X509_V_ERR_HOSTNAME_MISMATCH "hostname mismatch"
		lab_sess_lacks mxtlsd-no-transaction ' status=sent ' "mxtlsd relayed a transaction"
	fi

	CK=-restore
	if lab_mxtlsd_hup; then pass "reload$CK"
	else fail "reload$CK" "SIGHUP with the lab's configuration: ${LAB_MATCH:-no reload line in 5 s}"; fi
	D_OFF=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	D_MOFF=$(lab_log_size "$LAB_DIR/log/maillog")
	D_RCPT=$rcpt D_QID=$qid
	lab_postqueue -i "$qid" >/dev/null 2>&1
	if lab_wait_grep_after "$LAB_DIR/log/maillog" "$D_MOFF" "$qid: to=<$(lab_req "$rcpt")>.* status=" 10; then
		D_STATUS=$LAB_MATCH
		lab_expect_sent 192.0.2.52 && lab_sess "$d" &&
			lab_sess_has mxtlsd-testing-failure-logged "$(lab_req ": MTA-STS testing (policy id testing1): certificate-host-mismatch: ")" \
				"mxtlsd did not deliver under testing after the restore"
	else
		fail "postfix-sent$CK" "no new status line for <$rcpt> within 10 s of postqueue -i $qid"
		lab_dequeue
	fi
	CK=
}

# TLSA 3 1 1 for mx.dane.sts.example's self-signed certificate, and an
# enforce policy naming it: DANE decides (MTA-STS would refuse the
# self-signed certificate)
scenario_sts-dane() {
	local d=dane.sts.example h=mx.dane.sts.example ip=192.0.2.57
	lab_dane_only || return 0
	lab_send "$d" || return
	if lab_expect_sent "$ip"; then
		lab_check_mx_tls yes
		lab_check_sni "$h"
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" dane
		lab_sess_policy "$d" "$h" "_25._tcp.$h." dane
		lab_sess_verified "$h" "$ip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
		lab_sess_lacks mxtlsd-not-by-mta-sts '\(MTA-STS |MTA-STS testing|MTA-STS:' \
			"MTA-STS took part in the decision for a DANE host"
		lab_sess_no_failure
		lab_sess_txn "$h" "$ip"
	fi
}

# a reload must leave MTA-STS working: after SIGHUP (same configuration),
# the first message to a domain whose policy mxtlsd has never fetched
scenario_sts-reload() {
	local d=reload.sts.example hoff
	lab_dane_only || return 0
	if lab_mxtlsd_hup; then pass reload
	else fail reload "SIGHUP: ${LAB_MATCH:-no reload line in 5 s}"; fi
	hoff=$(lab_log_size "$(lab_https_log)")
	lab_send "$d" || return
	if lab_expect_sent 192.0.2.50; then
		lab_check_mx_tls yes
	fi
	if lab_sess "$d"; then
		lab_sess_sts_summary "$d" "mta-sts enforce"
		lab_sess_lacks mxtlsd-no-sts-error ": mta-sts for $(lab_req "$d"): result=" \
			"the policy fetch failed after the reload"
		lab_sess_sts_policy "$d" reload1 enforce good1.sts.example
		lab_sts_verified good1.sts.example 192.0.2.50 reload1
	fi
	lab_sts_fetched "$d" reload1 enforce 1
	lab_sts_requested "$d" "$hoff" 200
	lab_sts_cachefile "$d" reload1
}
