# tls-required.sh - RFC 8689 "TLS-Required: No": a message that carries
# the header is delivered with the best TLS available when the recipient
# domain's DANE or MTA-STS policy cannot be met; the failure is still
# recorded (journal: the result type, action delivered-anyway).  The
# same message without the header stays deferred at Postfix, and so does
# one that has the words only in its body.
#
#   (a) dane-ta-wrongname.example (DANE-TA chain matches, the leaf names
#       other.example): with the header -> sent, at 192.0.2.34 over TLS,
#       byte for byte (the header kept); a journal record for the domain,
#       result certificate-host-mismatch, action delivered-anyway, whose
#       sending-port is the port the sink saw for that message
#   (b) the same without the header -> 451 4.7.5, deferred, nowhere; a
#       journal record with action refused
#   (c) "TLS-Required: No" only in the body -> deferred as (b)
#   (d) notls.sts.example (MTA-STS enforce, the MX offers no STARTTLS),
#       header spelled "tls-required:  NO" -> sent in plaintext at
#       192.0.2.60; journal: starttls-not-supported, delivered-anyway
# Deferred messages are removed from Postfix's queue at the end.

lab_tlsreq_header() {	# FILE - "TLS-Required: No" among the header fields
	sed -i '0,/^MIME-Version:/s//TLS-Required: No\nMIME-Version:/' "$1"
}
lab_tlsreq_header_odd() {	# FILE - the same, other case and spacing
	sed -i '0,/^MIME-Version:/s//tls-required:  NO\nMIME-Version:/' "$1"
}
lab_tlsreq_body() {	# FILE - the words in the body only
	printf 'TLS-Required: No\n' >>"$1"
}

# lab_tlsreq_journal CHECK DOMAIN RESULT ACTION SINCE [PORT] - the journal
# has a record for DOMAIN with RESULT and ACTION written since SINCE (and,
# with PORT, sending-port PORT)
lab_tlsreq_journal() {
	local c=$1 d=$2 rt=$3 act=$4 since=$5 port=$6 recs all
	if [ ! -d "$LAB_DIR/journal" ]; then
		fail "$c" "no journal directory $LAB_DIR/journal (mxtlsd without journal_dir?)"
		return 1
	fi
	recs=$(lab_tool journal-grep "$LAB_DIR/journal" "$since" policy-domain="$d" \
		result-type="$rt" action="$act" ${port:+sending-port=$port})
	if [ -n "$recs" ]; then
		pass "$c"
		return 0
	fi
	all=$(lab_tool journal-grep "$LAB_DIR/journal" "$since" policy-domain="$d" | head -n 4)
	fail "$c" "no journal record for $d with result-type $rt, action $act${port:+, sending-port $port} since $since; records for $d: ${all:-none}"
	return 1
}

# tlsreq_delivered IP TLS DOMAIN RTYPE T0 - the message with the header
# reached IP (over TLS: yes|no) byte for byte, and the journal has its
# attempt as RTYPE, delivered-anyway, from the port the sink saw; when it
# was not delivered, its queue id joins the caller's $qids
tlsreq_delivered() {
	local ip=$1 tls=$2 d=$3 rtype=$4 t0=$5 peer
	if [ -n "$D_STATUS" ] && lab_expect_sent "$ip"; then
		lab_check_mx_tls "$tls"
		lab_check_bytes "bytes"
		peer=$(lab_tool json-get "$D_JSON" peer)
		lab_tlsreq_journal "journal-delivered-anyway$CK" "$d" "$rtype" \
			delivered-anyway "$t0" "${peer##*:}"
	else
		qids="$qids $D_QID"
	fi
}

scenario_tls-required-no() {
	local d=dane-ta-wrongname.example h=mx.dane-ta-wrongname.example ip=192.0.2.34
	local t0 qids=
	lab_dane_only || return 0
	SCEN_SINKS="$ip 192.0.2.60"

	# (a) with the header: delivered anyway, over TLS
	CK=-header
	t0=$(date +%s)
	D_EDIT=lab_tlsreq_header
	lab_send "header-$SCEN-$RUNID@$d"
	D_EDIT=
	tlsreq_delivered "$ip" yes "$d" certificate-host-mismatch "$t0"

	# (b) the same message without the header: refused as before
	CK=-no-header
	t0=$(date +%s)
	lab_send "noheader-$SCEN-$RUNID@$d"
	qids="$qids $D_QID"
	if [ -n "$D_STATUS" ]; then
		lab_expect_deferred "451 4.7.5 certificate name mismatch for ${h}[$ip]:25"
		lab_tlsreq_journal "journal-refused$CK" "$d" certificate-host-mismatch refused "$t0"
	fi

	# (c) the words in the body only: not the header
	CK=-in-body
	D_EDIT=lab_tlsreq_body
	lab_send "body-$SCEN-$RUNID@$d"
	D_EDIT=
	qids="$qids $D_QID"
	[ -n "$D_STATUS" ] && lab_expect_deferred "451 4.7.5 certificate name mismatch for ${h}[$ip]:25"

	# (d) MTA-STS enforce, no STARTTLS at the MX: plaintext
	CK=-sts-notls
	d=notls.sts.example ip=192.0.2.60
	t0=$(date +%s)
	D_EDIT=lab_tlsreq_header_odd
	lab_send "header-$SCEN-$RUNID@$d"
	D_EDIT=
	tlsreq_delivered "$ip" no "$d" starttls-not-supported "$t0"
	CK=
	for D_QID in $qids; do lab_dequeue; done
}
