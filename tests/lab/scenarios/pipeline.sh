# pipeline - smtpclient in mxl-mta connects to 192.0.2.25:25 (redirected to
# mxtlsd) and sends MAIL + 50 RCPT + DATA in one write: 50 RCPT replies come
# back in the order sent (each echoes its address, as the MX writes them),
# and the MX gets one message with the 50 recipients in order.  Once in
# plaintext toward mxtlsd, once after STARTTLS toward mxtlsd.
lab_pipeline_once() {
	local variant=$1; shift
	local tag="pipe$variant-$RUNID" out json=$LAB_DIR/work/pipeline-$variant.json n
	local log=$LAB_DIR/log/smtpclient-pipeline-$variant.log
	if ! lab_fg "$log" lab_in_mta "$LAB_PY" "$LAB_PY_DIR/smtpclient.py" --connect 192.0.2.25:25 \
		--ehlo client.lab.example "$@" --pipeline --require-pipelining \
		--from lab@mta.lab.example --rcpt-count 50 --rcpt-format "r{n}-$tag@tls.lab.example" \
		--check-rcpt-echo --json "$json" --timeout 30; then
		fail "session-$variant" "$(grep 'smtpclient: FAIL' "$log" || tail -n 2 "$log")"
		return
	fi
	pass "session-$variant"
	lab_wait_msg "$LAB_DIR/mail/mx1" "r1-$tag@tls.lab.example" 30
	n=$LAB_MSG
	if [ -z "$n" ]; then
		fail "arrived-$variant" "no message for r1-$tag@tls.lab.example at mx1 within 30 s"
		return
	fi
	out=$("$LAB_PY" - "$LAB_DIR/mail/mx1/$n.json" "$tag" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want = ["r%d-%s@tls.lab.example" % (i, sys.argv[2]) for i in range(1, 51)]
if r["rcpts"] != want:
    print("the MX got %d recipients %s..., expected the 50 in order" % (len(r["rcpts"]), r["rcpts"][:3]))
PY
)
	if [ -z "$out" ]; then pass "arrived-$variant"; else fail "arrived-$variant" "$out"; fi
}

scenario_pipeline() {
	SCEN_SINKS=mx1
	lab_pipeline_once plain
	lab_pipeline_once starttls --starttls
}
