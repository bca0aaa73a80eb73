# metrics.sh - mxtlsd's Prometheus metrics (metrics_listen; proxy/metrics.c,
# proxy/metrics_srv.c).
#
#   metrics   mxtlsd listens for GET /metrics on 127.0.0.1:9425 in mxl-mta
#             (lib/mxtlsd.sh sets metrics_listen for a binary that knows
#             the key).  /metrics is scraped (py/metrics_check.py, which
#             parses it with Debian's python3-prometheus-client) before and
#             after four messages through the real Postfix: dane-ee.example
#             delivered (DANE), dane-ta-wrongname.example refused
#             (certificate-host-mismatch, deferred), enforce.sts.example
#             delivered twice (MTA-STS; the second from the cache).  The
#             counters must have moved by exactly what the scenario did:
#             4 sessions, the 4 attempts by policy type, result and action
#             (and nothing else in those families), 4 journal records,
#             equal to what the journal got; 4 policy lookups in the
#             histogram; MTA-STS cache hits and fetches as many as
#             mxtlsd's log shows (", cached" policy lines, "policy for D
#             fetched" lines); no session open at the end.  Earlier
#             scenarios may have run in the same mxtlsd: only deltas count.
#             Then mode = report-only (SIGHUP): dane-ta-wrongname.example is
#             delivered, its refusal counted as action would-refuse (and
#             the attempts equal to the journal's again); the reload has
#             reset nothing; the base configuration is restored (SIGHUP).
#             Then hostile clients: 404, 405 (POST), HEAD without a body, a
#             9000-octet head without a line end (431, closed), and 17
#             slow clients that send half a head and wait: 16 get 408 and
#             are closed at the 5 s deadline, the 17th (over the cap of 16
#             connections) is closed at once; meanwhile a DANE message is
#             delivered through mxtlsd, and /metrics answers again after.

LAB_METRICS_ADDR=127.0.0.1:9425

# lab_metrics ARGS... - py/metrics_check.py in mxl-mta
lab_metrics() { lab_in_mta "$LAB_PY" "$LAB_PY_DIR/metrics_check.py" "$@"; }

# lab_metrics_scrape NAME - scrape into work/metrics/NAME.json (check NAME)
lab_metrics_scrape() {
	local out
	if out=$(lab_metrics scrape "$LAB_METRICS_ADDR" "$LAB_DIR/work/metrics/$1.json" 2>&1); then
		pass "scrape-$1"
		return 0
	fi
	fail "scrape-$1" "$out"
	return 1
}

# lab_metrics_deps - python3-prometheus-client, installed once when missing
lab_metrics_deps() {
	"$LAB_PY" -c 'import prometheus_client.parser' 2>/dev/null && return 0
	lab_log "$SCEN: installing python3-prometheus-client (scripts/deps.sh metrics)"
	sh "$LAB_REPO/scripts/deps.sh" metrics >>"$LAB_DIR/log/metrics-deps.log" 2>&1 </dev/null 9>&-
	"$LAB_PY" -c 'import prometheus_client.parser' 2>/dev/null
}

# lab_metrics_count ERE - lines of mxtlsd's log after M_OFF matching ERE
lab_metrics_count() {
	lab_grep_after "$LAB_DIR/log/mxtlsd.log" "$M_OFF" "$1" | wc -l
}

scenario_metrics() {
	local w=$LAB_DIR/work/metrics out hits fetches s n
	local sts=enforce.sts.example fams
	lab_dane_only || return 0
	if ! grep -q "^metrics_listen = $LAB_METRICS_ADDR\$" "$LAB_DIR/mxtlsd.conf"; then
		fail metrics-listen "mxtlsd.conf has no metrics_listen = $LAB_METRICS_ADDR (does $MXTLSD know the key?)"
		return
	fi
	if lab_metrics_deps; then pass prometheus-client
	else fail prometheus-client "python3-prometheus-client is missing and scripts/deps.sh metrics failed: $(tail -n 3 "$LAB_DIR/log/metrics-deps.log")"; return; fi
	mkdir -p "$w"
	lab_metrics_scrape before || return
	lab_metrics journal "$LAB_DIR/journal" "$w/journal-before.json"
	M_OFF=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")

	CK=-dane
	lab_dane_delivered dane-ee.example 192.0.2.31 mx1.dane-ee.example \
		_25._tcp.mx1.dane-ee.example. "DANE-EE(3) SPKI(1) SHA2-256(1)"
	CK=-refused
	SCEN_SINKS="$SCEN_SINKS 192.0.2.34"
	if lab_send dane-ta-wrongname.example; then
		lab_expect_deferred "451 4.7.5 certificate name mismatch for mx.dane-ta-wrongname.example[192.0.2.34]:25"
		lab_sess dane-ta-wrongname.example
	fi
	lab_dequeue
	CK=-sts
	lab_send "$sts" && lab_expect_sent 192.0.2.50 && lab_sess "$sts"
	CK=-sts-again
	lab_send "again-$SCEN-$RUNID@$sts" && lab_expect_sent 192.0.2.50 && lab_sess "$sts"
	CK=

	lab_metrics_scrape after || return
	lab_metrics journal "$LAB_DIR/journal" "$w/journal-after.json"
	hits=$(lab_metrics_count ": mta-sts policy for $(lab_req "$sts"): .*, cached")
	fetches=$(lab_metrics_count "mta-sts: policy for $(lab_req "$sts") fetched: ")
	fams=mxtls_sessions_total,mxtls_upstream_attempts_total,mxtls_attempt_actions_total
	fams=$fams,mxtls_journal_records_total,mxtls_journal_errors_total,mxtls_socketmap_queries_total
	if out=$(lab_metrics delta "$w/before.json" "$w/after.json" \
		--journal "$w/journal-before.json" "$w/journal-after.json" --families "$fams" \
		mxtls_sessions_total=4 \
		'mxtls_upstream_attempts_total{policy_type=tlsa,result=success}=1' \
		'mxtls_upstream_attempts_total{policy_type=tlsa,result=certificate-host-mismatch}=1' \
		'mxtls_upstream_attempts_total{policy_type=sts,result=success}=2' \
		'mxtls_attempt_actions_total{action=delivered,result=success}=3' \
		'mxtls_attempt_actions_total{action=refused,result=certificate-host-mismatch}=1' \
		mxtls_journal_records_total=4 \
		mxtls_policy_lookup_seconds_count=4 \
		'mxtls_policy_lookup_seconds_bucket{le=+Inf}=4' \
		mxtls_sts_cache_hits_total="$hits" \
		mxtls_sts_fetches_total="$fetches" \
		mxtls_sts_fetch_failures_total=0 \
		@mxtls_sessions_open=0 '@mxtls_sts_cache_entries>=1' 2>&1); then
		pass counters-exact
	else
		fail counters-exact "$out"
	fi
	lab_log "$SCEN: $(echo "$out" | tr '\n' ' ')"
	if [ $((hits + fetches)) -ge 2 ] && [ "$hits" -ge 1 ]; then pass sts-hit-logged
	else fail sts-hit-logged "mxtlsd's log shows $hits cached and $fetches fetched policies for $sts over two messages"; fi

	# mode = report-only (SIGHUP): the refusal is a would-refuse, counted by
	# the same code under its own action; a reload keeps the counters
	CK=-report-only
	if lab_mxtlsd_hup "mode = report-only"; then pass "reloaded$CK"
	else fail "reloaded$CK" "SIGHUP with mode = report-only: ${LAB_MATCH:-no reload line}"; fi
	lab_metrics journal "$LAB_DIR/journal" "$w/journal-ro-before.json"
	lab_metrics_scrape ro-before
	if lab_send "ro-$SCEN-$RUNID@dane-ta-wrongname.example" && lab_expect_sent 192.0.2.34; then
		lab_sess dane-ta-wrongname.example
	fi
	lab_metrics_scrape ro-after
	lab_metrics journal "$LAB_DIR/journal" "$w/journal-ro-after.json"
	if out=$(lab_metrics delta "$w/after.json" "$w/ro-after.json" \
		--families mxtls_sessions_total mxtls_sessions_total=1 2>&1) &&
	   out=$(lab_metrics delta "$w/ro-before.json" "$w/ro-after.json" \
		--journal "$w/journal-ro-before.json" "$w/journal-ro-after.json" \
		--families mxtls_sessions_total,mxtls_journal_errors_total mxtls_sessions_total=1 \
		'mxtls_attempt_actions_total{action=would-refuse,result=certificate-host-mismatch}=1' \
		'mxtls_attempt_actions_total{action=refused,result=certificate-host-mismatch}=0' 2>&1); then
		pass "would-refuse-counted$CK"
	else
		fail "would-refuse-counted$CK" "$out"
	fi
	lab_log "$SCEN: report-only: $(echo "$out" | tr '\n' ' ')"
	if lab_mxtlsd_hup; then pass "restored$CK"
	else fail "restored$CK" "SIGHUP back to the base configuration: ${LAB_MATCH:-no reload line}"; fi
	CK=
	cp "$w/ro-after.json" "$w/after.json"

	# hostile HTTP clients
	s=$(lab_metrics http "$LAB_METRICS_ADDR" GET /other 2>&1)
	case $s in "HTTP/1.1 404 "*) pass http-404 ;; *) fail http-404 "GET /other: $s" ;; esac
	s=$(lab_metrics http "$LAB_METRICS_ADDR" POST /metrics 2>&1)
	case $s in "HTTP/1.1 405 "*) pass http-405 ;; *) fail http-405 "POST /metrics: $s" ;; esac
	s=$(lab_metrics http "$LAB_METRICS_ADDR" HEAD /metrics 2>&1)
	case $s in "HTTP/1.1 200 OK body=0") pass http-head ;; *) fail http-head "HEAD /metrics: $s" ;; esac
	s=$(lab_metrics oversize "$LAB_METRICS_ADDR" 2>&1)
	case $s in "status=431 closed=yes "*) pass oversize-431 ;; *) fail oversize-431 "a 9000-octet head: $s" ;; esac

	lab_metrics slow "$LAB_METRICS_ADDR" 17 "$w/slow.json" &
	n=$!
	sleep 0.5
	CK=-during-slow
	if lab_send "slow-$SCEN-$RUNID@dane-ee.example" && lab_expect_sent 192.0.2.31; then
		lab_check_mx_tls yes
		lab_check_bytes
		lab_sess dane-ee.example &&
			lab_sess_verified mx1.dane-ee.example 192.0.2.31 "DANE-EE(3) SPKI(1) SHA2-256(1)"
	fi
	CK=
	wait "$n"
	out=$("$LAB_PY" - "$w/slow.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
late = [c for c in r if c["how"] == "408" and 4.5 <= c["seconds"] <= 7.5]
early = [c for c in r if c["how"] == "closed" and c["seconds"] is not None and c["seconds"] < 1.5]
print("ok" if len(r) == 17 and len(late) == 16 and len(early) == 1 else "bad %s" % r)
PY
)
	if [ "$out" = ok ]; then pass slow-clients-deadline
	else fail slow-clients-deadline "expected 16 x 408 at the 5 s deadline and 1 closed at once: $out"; fi
	lab_metrics_scrape after-hostile || return
	if out=$(lab_metrics delta "$w/after.json" "$w/after-hostile.json" \
		--families mxtls_sessions_total,mxtls_upstream_attempts_total mxtls_sessions_total=1 \
		'mxtls_upstream_attempts_total{policy_type=tlsa,result=success}=1' 2>&1); then
		pass counters-after-hostile
	else
		fail counters-after-hostile "$out"
	fi
}
