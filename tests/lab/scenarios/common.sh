# common.sh - helpers shared by the scenarios (sourced by tests/lab/run).
#
# lab_deliver SINK DOMAIN SIZE TIMEOUT
#	Submit one generated message (labtool gen-message: dots, UTF-8, 8bit)
#	to <$SCEN-$RUNID@DOMAIN> through the lab Postfix and wait for it at
#	sink SINK.  Checks: submit, delivered, postfix-sent.  Sets D_RCPT,
#	D_FILE (what was submitted), D_N (number at the sink, empty when it
#	never arrived), D_JSON, D_EML, D_QID, D_STATUS (Postfix's status line).
#
# lab_check_bytes [CHECK] / lab_check_envelope / lab_check_mx_tls yes|no
#	Checks on the delivered message: bytes (identical after removing
#	Postfix's Received: header and CRLF->LF), envelope (MAIL FROM, the one
#	recipient, BODY=8BITMIME kept), mx-tls (TLSv1.2/1.3 at the MX, or none).
#
# lab_check_mxtlsd_log CHECK ERE REASON
#	(local flavor) mxtlsd's log has a line matching ERE.
#
# lab_conns SINK OFFSET tls|msgs
#	The connections in sink SINK's connlog (log/SINK.conns) after byte
#	OFFSET: tls, their TLS handshakes, "N full M resumed" then one
#	"full"/"resumed" word per connection in order; msgs, one
#	"msgs=N end=REASON" word per connection.
#
# lab_metric SERIES
#	The value of SERIES on mxtlsd's /metrics now (the name and labels as
#	mxtlsd writes them: 'mxtls_early_upstream_total{outcome="used"}'), or
#	nothing when the series is missing or /metrics does not answer.
#	(metrics.sh's lab_metrics parses a whole scrape, for exact deltas.)

lab_conns() {
	"$LAB_PY" - "$LAB_DIR/log/$1.conns" "$2" "$3" <<'PY'
import json, sys
recs = []
try:
    with open(sys.argv[1], "rb") as f:
        f.seek(int(sys.argv[2]))
        recs = [json.loads(l) for l in f.read().decode().splitlines() if l.strip()]
except OSError:
    pass
if sys.argv[3] == "tls":
    kinds = ["resumed" if r.get("tls_resumed") else "full" for r in recs if r.get("tls")]
    print("%d full %d resumed %s" % (kinds.count("full"), kinds.count("resumed"), " ".join(kinds)))
else:
    print(" ".join("msgs=%d end=%s" % (len(r.get("msgs") or []),
                                       (r.get("end_reason") or "?").replace(" ", "_"))
                   for r in recs))
PY
}

lab_metric() {
	lab_in_mta curl -s --max-time 5 "http://$LAB_METRICS_ADDR/metrics" 2>/dev/null |
		awk -v s="$1" '$1 == s { print $2; exit }'
}

# CK: suffix of the check names of the helpers (a scenario that repeats a
# step sets it, e.g. CK=-after-fix)
CK=

lab_deliver() {
	local sink=$1 domain=$2 size=$3 timeout=$4 out msgid
	D_RCPT="$SCEN-$RUNID@$domain"
	msgid="$SCEN.$RUNID@mta.lab.example"
	D_FILE=$LAB_DIR/work/$SCEN.msg
	D_N='' D_JSON='' D_EML='' D_QID='' D_STATUS=''
	SCEN_SINKS="$SCEN_SINKS $sink"
	lab_tool gen-message "$D_FILE" --from sender@mta.lab.example --to "$D_RCPT" \
		--subject "lab $SCEN $RUNID" --msgid "$msgid" --size "$size"
	if ! out=$(lab_submit sender@mta.lab.example "$D_RCPT" "$D_FILE" 2>&1); then
		fail submit "sendmail -C failed: $out"
		return 1
	fi
	pass submit
	lab_wait_msg "$LAB_DIR/mail/$sink" "$D_RCPT" "$timeout"
	D_N=$LAB_MSG
	lab_wait_qid "$msgid" 5
	D_QID=$LAB_QID
	if [ -n "$D_QID" ]; then
		lab_wait_grep "$LAB_DIR/log/maillog" "$D_QID: to=<$D_RCPT>.* status=" 10
		D_STATUS=$LAB_MATCH
	fi
	if [ -z "$D_N" ]; then
		fail delivered "no message for <$D_RCPT> at $sink within ${timeout}s; Postfix: ${D_STATUS:-no status line (queue id ${D_QID:-unknown})}"
		return 1
	fi
	D_JSON=$LAB_DIR/mail/$sink/$D_N.json
	D_EML=$LAB_DIR/mail/$sink/$D_N.eml
	pass delivered
	case $D_STATUS in
	*" status=sent "*) pass postfix-sent ;;
	*) fail postfix-sent "Postfix did not log status=sent for <$D_RCPT>: ${D_STATUS:-no status line}" ;;
	esac
	return 0
}

lab_check_bytes() {
	local out c=${1:-bytes}$CK
	if out=$(lab_tool compare "$D_FILE" "$D_EML" 2>&1); then
		pass "$c"
	else
		fail "$c" "$out"
	fi
}

lab_check_envelope() {
	local out
	out=$("$LAB_PY" - "$D_JSON" "$D_RCPT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
if r["mail_from"] != "sender@mta.lab.example":
    bad.append("MAIL FROM <%s>" % r["mail_from"])
if r["rcpts"] != [sys.argv[2]]:
    bad.append("recipients %s" % r["rcpts"])
if "BODY=8BITMIME" not in [p.upper() for p in r["mail_params"]]:
    bad.append("MAIL parameters %s lack BODY=8BITMIME" % r["mail_params"])
print("; ".join(bad))
PY
)
	if [ -z "$out" ]; then pass envelope; else fail envelope "$out"; fi
}

lab_check_mx_tls() {
	local tls cipher
	tls=$(lab_tool json-get "$D_JSON" tls)
	cipher=$(lab_tool json-get "$D_JSON" cipher)
	if [ "$1" = yes ]; then
		case $tls in
		TLSv1.2|TLSv1.3) pass "mx-tls$CK" ;;
		*) fail "mx-tls$CK" "the MX saw tls=$tls, expected TLSv1.2 or TLSv1.3" ;;
		esac
	else
		if [ "$tls" = null ]; then pass mx-plaintext
		else fail mx-plaintext "the MX saw tls=$tls $cipher, expected plaintext"; fi
	fi
}

lab_check_mxtlsd_log() {
	local c=$1 re=$2 why=$3
	[ "$LAB_FLAVOR" = local ] || return 0
	# the line may be written a moment after the MX stored the message
	if lab_wait_grep "$LAB_DIR/log/mxtlsd.log" "$re" 5; then
		pass "$c"
	else
		fail "$c" "$why (no line matching /$re/ in mxtlsd.log)"
	fi
}
