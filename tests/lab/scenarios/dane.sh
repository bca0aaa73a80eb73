# dane.sh - the DANE scenarios (second floor: tests/lab/dns/) and their helpers.
#
# Each scenario submits through the real Postfix to a domain of the DNS
# world; Postfix's transport sends it to the first MX address of the domain
# (lib/postfix.sh LAB_DANE_ROUTES), iptables hands it to mxtlsd, which looks up the
# domain's policy in the lab's DNSSEC world.  Each asserts
#   - what Postfix was told: its maillog status= line and reply text, and for
#     deferred mail `postqueue -j` (deferred queue, delay_reason);
#   - what reached which MX: every sink's store is searched for the
#     recipient (exactly one copy at the expected sink, or none anywhere);
#   - over what TLS: the sink's record (tls; for DANE deliveries also the
#     SNI, which must be the TLSA base domain), and mxtlsd's log line
#     (Verified with the matched TLSA / Untrusted / Anonymous);
#   - the result type mxtlsd kept: its "attempt to ... failed: result=" line
#     (or, for a delivery, no failed attempt but the expected one), and the
#     policy it derived from DNS (the TLSA record it names is compared with
#     $LAB_DIR/dns/tlsa.tsv).
# Deferred messages are removed from Postfix's queue at the end of their
# scenario, so that a later `postqueue -f` does not retry them.
#
# Helpers (also for other scenarios):
#	lab_send TO		submit one message to TO (an address, or a domain:
#				then $SCEN-$RUNID@TO), wait for Postfix's status;
#				when D_EDIT is set, "$D_EDIT FILE" edits the
#				generated message before it is submitted
#	lab_expect_sent SINK	status=sent; the message is at SINK only, once
#	lab_expect_deferred TEXT  status=deferred with the reply TEXT; deferred
#				in the queue with TEXT; at no sink
#	lab_sess DOMAIN		find mxtlsd's session (policy lookup for DOMAIN
#				after the submission), wait for its end
#	lab_sess_has CHECK ERE WHY / lab_sess_lacks CHECK ERE WHY
#	lab_tlsa NAME		"u s m HEX" (hex upper case) from tlsa.tsv
#	lab_req STRING		STRING quoted for an ERE
#	lab_dequeue		postsuper -d the message (end of a deferred case)
# Check names get the suffix $CK (set it when a scenario sends twice).

D_SEQ=0
D_EDIT=

lab_req() { printf '%s' "$1" | sed 's/[][\.*^$(){}?+|/]/\\&/g'; }

lab_tlsa() {
	awk -F'\t' -v n="$1" '$1 == n { print toupper($3) }' "$LAB_DIR/dns/tlsa.tsv"
}

# lab_dane_only - the DANE scenarios need mxtlsd
lab_dane_only() {
	[ "$LAB_FLAVOR" = local ] && return 0
	lab_log "$SCEN: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"
	return 1
}

lab_send() {
	local to=$1 timeout=${2:-20} out msgid
	case $to in *@*) D_RCPT=$to ;; *) D_RCPT="$SCEN-$RUNID@$to" ;; esac
	D_SEQ=$((D_SEQ + 1))
	msgid="$SCEN.$D_SEQ.$RUNID@mta.lab.example"
	D_FILE=$LAB_DIR/work/$SCEN.$D_SEQ.msg
	D_QID='' D_STATUS='' D_N='' D_JSON='' D_EML='' D_SID='' D_LINES=''
	D_OFF=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	D_MOFF=$(lab_log_size "$LAB_DIR/log/maillog")
	lab_tool gen-message "$D_FILE" --from sender@mta.lab.example --to "$D_RCPT" \
		--subject "lab $SCEN $RUNID" --msgid "$msgid" --size 0
	[ -n "$D_EDIT" ] && $D_EDIT "$D_FILE"
	if ! out=$(lab_submit sender@mta.lab.example "$D_RCPT" "$D_FILE" 2>&1); then
		fail "submit$CK" "sendmail -C failed: $out"
		return 1
	fi
	pass "submit$CK"
	lab_wait_qid "$msgid" 5
	D_QID=$LAB_QID
	if [ -z "$D_QID" ]; then
		fail "postfix-status$CK" "no queue id for Message-ID <$msgid> in the maillog"
		return 1
	fi
	if ! lab_wait_grep_after "$LAB_DIR/log/maillog" "$D_MOFF" \
		"$D_QID: to=<$(lab_req "$D_RCPT")>.* status=" "$timeout"; then
		fail "postfix-status$CK" "no status line for <$D_RCPT> (queue id $D_QID) within ${timeout}s"
		return 1
	fi
	D_STATUS=$LAB_MATCH
	return 0
}

lab_expect_sent() {
	local sink=$1 where
	SCEN_SINKS="$SCEN_SINKS $sink"
	case $D_STATUS in
	*" status=sent (250 "*) pass "postfix-sent$CK" ;;
	*) fail "postfix-sent$CK" "Postfix did not log status=sent (250 ...) for <$D_RCPT>: ${D_STATUS#*: }" ;;
	esac
	if ! lab_wait_msg "$(lab_sink_dir "$sink")" "$D_RCPT" 10; then
		fail "delivered-at-$sink$CK" "no message for <$D_RCPT> at $sink; stored: $(lab_where "$D_RCPT" | tr '\n' ' ')"
		return 1
	fi
	D_N=$LAB_MSG
	D_JSON=$(lab_sink_dir "$sink")/$D_N.json
	D_EML=$(lab_sink_dir "$sink")/$D_N.eml
	pass "delivered-at-$sink$CK"
	where=$(lab_where "$D_RCPT")
	if [ "$where" = "$sink $D_N" ]; then pass "only-at-$sink-once$CK"
	else fail "only-at-$sink-once$CK" "copies of <$D_RCPT> (sink number): $(echo "$where" | tr '\n' ' ')"; fi
	return 0
}

lab_expect_deferred() {
	local text=$1 where
	case $D_STATUS in
	*" status=deferred (host "*" said: $text"*) pass "postfix-deferred$CK" ;;
	*) fail "postfix-deferred$CK" "expected status=deferred with \"$text\" for <$D_RCPT>, got: ${D_STATUS#*: }" ;;
	esac
	lab_wait_deferred "$D_RCPT"
	case "$LAB_Q|$LAB_QREASON" in
	"deferred|"*"$text"*) pass "queue-deferred$CK" ;;
	*) fail "queue-deferred$CK" "postqueue -j: expected <$D_RCPT> deferred with \"$text\", got: ${LAB_QLINE:-nothing}" ;;
	esac
	where=$(lab_where "$D_RCPT")
	if [ -z "$where" ]; then pass "nothing-delivered$CK"
	else fail "nothing-delivered$CK" "stored at (sink number): $(echo "$where" | tr '\n' ' ')"; fi
}

lab_dequeue() {
	[ -n "$D_QID" ] && lab_in_mta postsuper -c "$PF_ETC" -d "$D_QID" >/dev/null 2>&1
}

# lab_sess DOMAIN - D_SID, D_LINES: mxtlsd's session that looked up DOMAIN
# after the last lab_send (D_OFF); waits for its disconnect (5 s)
lab_sess() {
	local dom=$1
	D_SID='' D_LINES=''
	if ! lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" \
		": [0-9A-F]+: policy lookups for $(lab_req "$dom") took " 5; then
		fail "mxtlsd-session$CK" "no \"policy lookups for $dom\" line in mxtlsd's log"
		return 1
	fi
	D_SID=$(echo "$LAB_MATCH" | sed -n 's/^[^ ]* [^ ]* \([0-9A-F]*\): policy lookups.*/\1/p')
	if [ -z "$D_SID" ] || ! lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" \
		": $D_SID: disconnect from " 5; then
		fail "mxtlsd-session$CK" "session ${D_SID:-?} (policy lookup for $dom) did not end within 5 s"
		return 1
	fi
	D_LINES=$(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" ": $D_SID: ")
	return 0
}

lab_sess_has() {
	if grep -Eq -- "$2" <<<"$D_LINES"; then pass "$1$CK"
	else fail "$1$CK" "$3 (session $D_SID has no line matching /$2/)"; fi
}

lab_sess_lacks() {
	local l
	if l=$(grep -E -m 1 -- "$2" <<<"$D_LINES"); then fail "$1$CK" "$3: $l"
	else pass "$1$CK"; fi
}

# lab_sess_policy DOMAIN HOST TLSA-NAME VERDICT - the policy line that names
# MX HOST and the TLSA record DNS serves for TLSA-NAME (tlsa.tsv)
lab_sess_policy() {
	local dom=$1 host=$2 tlsa
	tlsa=$(lab_tlsa "$3")
	if [ -z "$tlsa" ]; then
		fail "mxtlsd-policy$CK" "no $3 in tlsa.tsv"
		return
	fi
	lab_sess_has mxtlsd-policy "$(lab_req "policy for $dom: MX ")[0-9]+ $(lab_req "$host (mx secure, address secure, tlsa $tlsa) -> $4")\$" \
		"mxtlsd did not derive policy $4 from the TLSA record $tlsa of $host"
}

# lab_sess_verified HOST IP MATCH - Verified TLS line with "(MATCH matched)"
lab_sess_verified() {
	lab_sess_has mxtlsd-verified \
		"$(lab_req "Verified TLS connection established to $1[$2]:25: ")TLSv1\.[23] .*$(lab_req "($3 matched)")\$" \
		"no Verified TLS connection to $1[$2]:25 with $3"
}

# lab_sess_txn HOST IP - mxtlsd's transaction line: relayed to HOST[IP] over TLS
lab_sess_txn() {
	lab_sess_has mxtlsd-sent "$(lab_req "to=<$D_RCPT>, relay=$1[$2]:25, tls=TLSv1.")[23], .* status=sent \\(250 " \
		"mxtlsd did not log the delivery of <$D_RCPT> to $1[$2]:25 over TLS"
}

# lab_check_sni NAME - the MX saw SNI NAME (RFC 7672 8.1: the TLSA base domain)
lab_check_sni() {
	local sni
	sni=$(lab_tool json-get "$D_JSON" sni)
	if [ "$sni" = "$1" ]; then pass "mx-sni$CK"
	else fail "mx-sni$CK" "the MX saw SNI $sni, expected $1 (the TLSA base domain)"; fi
}

lab_sess_no_failure() {
	lab_sess_lacks mxtlsd-no-failed-attempt ': attempt to .* failed: ' "mxtlsd recorded a failed attempt"
}

# lab_sess_result HOST[IP]:25|HOST RESULT - the failed attempt's result type
lab_sess_result() {
	lab_sess_has "mxtlsd-result-$2" "$(lab_req ": attempt to $1 failed: result=$2")[: ]" \
		"mxtlsd did not record result=$2 for $1"
}

# lab_dane_delivered DOMAIN SINK HOST TLSA-NAME MATCH - the common case:
# delivered at SINK (= the IP), verified with MATCH, policy dane
lab_dane_delivered() {
	local dom=$1 ip=$2 host=$3
	lab_send "$dom" || return
	lab_expect_sent "$ip" || return
	lab_check_mx_tls yes
	lab_check_sni "$host"
	lab_check_bytes
	lab_sess "$dom" || return
	lab_sess_policy "$dom" "$host" "$4" dane
	lab_sess_verified "$host" "$ip" "$5"
	lab_sess_lacks mxtlsd-not-untrusted 'Untrusted TLS connection established to' \
		"an unauthenticated TLS connection was made"
	lab_sess_no_failure
	lab_sess_txn "$host" "$ip"
}

scenario_dane-ee() {
	lab_dane_only || return 0
	lab_dane_delivered dane-ee.example 192.0.2.31 mx1.dane-ee.example \
		_25._tcp.mx1.dane-ee.example. "DANE-EE(3) SPKI(1) SHA2-256(1)"
}

# the certificate is expired and names wrong.invalid: DANE-EE ignores both
scenario_dane-ee-weird() {
	lab_dane_only || return 0
	lab_dane_delivered dane-ee-weird.example 192.0.2.32 mx.dane-ee-weird.example \
		_25._tcp.mx.dane-ee-weird.example. "DANE-EE(3) SPKI(1) SHA2-256(1)"
}

scenario_dane-ta() {
	lab_dane_only || return 0
	lab_dane_delivered dane-ta.example 192.0.2.33 mx.dane-ta.example \
		_25._tcp.mx.dane-ta.example. "DANE-TA(2) Cert(0) SHA2-256(1)"
}

# the chain matches the TLSA 2 0 1, but the leaf names other.example
scenario_dane-ta-wrongname() {
	local h=mx.dane-ta-wrongname.example ip=192.0.2.34
	lab_dane_only || return 0
	SCEN_SINKS=$ip
	lab_send dane-ta-wrongname.example || return
	lab_expect_deferred "451 4.7.5 certificate name mismatch for ${h}[$ip]:25"
	if lab_sess dane-ta-wrongname.example; then
		lab_sess_policy dane-ta-wrongname.example "$h" "_25._tcp.$h." dane
		lab_sess_result "${h}[$ip]:25" certificate-host-mismatch
		lab_sess_lacks mxtlsd-not-verified 'Verified TLS connection' "a connection was logged as verified"
		lab_sess_lacks mxtlsd-no-transaction ' status=sent ' "mxtlsd relayed a transaction"
	fi
	lab_dequeue
}

# MX 10 has a wrong TLSA digest, MX 20 a right one
scenario_dane-two-mx() {
	lab_dane_only || return 0
	SCEN_SINKS="192.0.2.35"
	lab_send two-mx.example || return
	lab_expect_sent 192.0.2.36 || return
	lab_check_mx_tls yes
	lab_check_sni mx2.two-mx.example
	lab_check_bytes
	lab_sess two-mx.example || return
	lab_sess_policy two-mx.example mx1.two-mx.example _25._tcp.mx1.two-mx.example. dane
	lab_sess_policy two-mx.example mx2.two-mx.example _25._tcp.mx2.two-mx.example. dane
	lab_sess_result "mx1.two-mx.example[192.0.2.35]:25" tlsa-invalid
	lab_sess_verified mx2.two-mx.example 192.0.2.36 "DANE-EE(3) SPKI(1) SHA2-256(1)"
	lab_sess_txn mx2.two-mx.example 192.0.2.36
}

# usage 1 (PKIX-EE) only: unusable for SMTP -> TLS required, unauthenticated
scenario_dane-pkix-only() {
	local h=mx.pkix-only.example ip=192.0.2.38
	lab_dane_only || return 0
	lab_send pkix-only.example || return
	lab_expect_sent "$ip" || return
	lab_check_mx_tls yes
	lab_sess pkix-only.example || return
	lab_sess_policy pkix-only.example "$h" "_25._tcp.$h." dane-unusable
	lab_sess_has mxtlsd-untrusted "$(lab_req "Untrusted TLS connection established to ${h}[$ip]:25: ")TLSv1\.[23] " \
		"no Untrusted TLS connection to ${h}[$ip]:25"
	lab_sess_lacks mxtlsd-not-verified 'Verified TLS connection' "a connection was logged as verified"
	lab_sess_no_failure
	lab_sess_txn "$h" "$ip"
}

# usage 1 only and no STARTTLS: TLS is required, so the MX fails
scenario_dane-pkix-notls() {
	local h=mx.pkix-notls.example ip=192.0.2.39
	lab_dane_only || return 0
	SCEN_SINKS=$ip
	lab_send pkix-notls.example || return
	lab_expect_deferred "451 4.7.5 TLS is required, but was not offered by host ${h}[$ip]:25"
	if lab_sess pkix-notls.example; then
		lab_sess_policy pkix-notls.example "$h" "_25._tcp.$h." dane-unusable
		lab_sess_result "${h}[$ip]:25" starttls-not-supported
		lab_sess_lacks mxtlsd-no-transaction ' status=sent ' "mxtlsd relayed a transaction"
	fi
	lab_dequeue
}

# the TLSA RRset's signature is broken: bogus, the MX fails, nothing is sent
scenario_dane-bogus() {
	local h=mx.bogus.example ip=192.0.2.40
	lab_dane_only || return 0
	SCEN_SINKS=$ip
	lab_send bogus.example || return
	lab_expect_deferred "451 4.7.5 TLSA lookup failed DNSSEC validation for $h"
	if lab_sess bogus.example; then
		lab_sess_has mxtlsd-policy "$(lab_req "policy for bogus.example: MX 10 $h (mx secure, address secure, ")[^)]*\) -> dane-fail" \
			"mxtlsd did not derive dane-fail for $h"
		lab_sess_result "$h" dnssec-invalid
		lab_sess_lacks mxtlsd-no-connection "TLS connection established to |connected to " \
			"mxtlsd connected to the MX of a bogus TLSA RRset"
	fi
	lab_dequeue
}

# no DS for unsigned.example: insecure, its (wrong) TLSA is ignored; STARTTLS
# without authentication
scenario_dane-unsigned() {
	local h=mx.unsigned.example ip=192.0.2.41
	lab_dane_only || return 0
	lab_send unsigned.example || return
	lab_expect_sent "$ip" || return
	lab_check_mx_tls yes
	lab_sess unsigned.example || return
	lab_sess_has mxtlsd-policy "$(lab_req "policy for unsigned.example: MX 10 $h (mx insecure, ")[^)]*\) -> none\$" \
		"mxtlsd did not derive policy none (mx insecure) for unsigned.example"
	lab_sess_has mxtlsd-anonymous "$(lab_req "Anonymous TLS connection established to ${h}[$ip]:25: ")TLSv1\.[23] " \
		"no Anonymous (opportunistic) TLS connection to ${h}[$ip]:25"
	lab_sess_lacks mxtlsd-not-verified 'Verified TLS connection|Untrusted TLS connection established to' \
		"an insecure domain was treated as DANE"
	lab_sess_no_failure
	lab_sess_txn "$h" "$ip"
}

# the MX host is a CNAME (secure) to mxhost.target-zone.example; the TLSA is
# at the target name (RFC 7672 2.2.3)
scenario_dane-cname() {
	local h=mx.cname.example ip=192.0.2.42 tlsa
	lab_dane_only || return 0
	lab_send cname.example || return
	lab_expect_sent "$ip" || return
	lab_check_mx_tls yes
	lab_check_sni mxhost.target-zone.example
	lab_check_bytes
	lab_sess cname.example || return
	tlsa=$(lab_tlsa _25._tcp.mxhost.target-zone.example.)
	lab_sess_has mxtlsd-policy "$(lab_req "policy for cname.example: MX 10 $h cname mxhost.target-zone.example (mx secure, address secure, tlsa $tlsa) -> dane")\$" \
		"mxtlsd did not follow the CNAME to the TLSA record at mxhost.target-zone.example"
	lab_sess_verified "$h" "$ip" "DANE-EE(3) SPKI(1) SHA2-256(1)"
	lab_sess_no_failure
	lab_sess_txn "$h" "$ip"
}

# TLSA 3 1 1 with a 20-octet digest and 4 1 1: both unusable -> TLS
# required, unauthenticated; each record is logged as unusable
scenario_dane-malformed() {
	local h=mx.malformed.example ip=192.0.2.43
	lab_dane_only || return 0
	lab_send malformed.example || return
	lab_expect_sent "$ip" || return
	lab_check_mx_tls yes
	lab_sess malformed.example || return
	local all
	all=$(lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$D_OFF" "unusable TLSA record for $(lab_req "$h"): ")
	if grep -q 'SHA2-256 data is not 32 octets' <<<"$all" && grep -q 'unknown certificate usage' <<<"$all"; then
		pass mxtlsd-unusable-logged
	else
		fail mxtlsd-unusable-logged "mxtlsd did not log both TLSA records of $h as unusable (short digest, unknown usage): ${all:-no such lines}"
	fi
	# Both records as published (RFC 8460 reports them so), in either order.
	lab_sess_has mxtlsd-policy "$(lab_req "policy for malformed.example: MX 10 $h (mx secure, address secure, tlsa ")(3 1 1 [0-9A-F]{40}; 4 1 1 [0-9A-F]{64}|4 1 1 [0-9A-F]{64}; 3 1 1 [0-9A-F]{40})\) -> dane-unusable\$" \
		"mxtlsd did not derive dane-unusable from the two malformed records, shown as published"
	lab_sess_has mxtlsd-untrusted "$(lab_req "Untrusted TLS connection established to ${h}[$ip]:25: ")TLSv1\.[23] " \
		"no Untrusted (TLS required, unauthenticated) connection to ${h}[$ip]:25"
	lab_sess_lacks mxtlsd-not-verified 'Verified TLS connection' "a connection was logged as verified"
	lab_sess_no_failure
	lab_sess_txn "$h" "$ip"
}
