# conncache - the upstream connection cache across client sessions
# (issue 13, part 2).  The lab runs with upstream_cache_time = 0; this
# scenario turns it on (10s, a reload) and off again at the end.
#   1. Two client sessions in a row (smtpclient in mxl-mta to
#      192.0.2.25:25, redirected to mxtlsd) to tls.lab.example: both
#      delivered; mxtlsd logs the first upstream kept and the second
#      session's cache hit; after a reload (which closes cached
#      connections with QUIT) mx1's connlog has exactly one new
#      connection, carrying both messages, ended by QUIT.
#   2. The MX closes the idle connection (mx1 --idle-close-file): mxtlsd
#      drops it (upstream cache: ... dropped (closed)); the next session
#      misses, connects afresh and delivers once.
#   3. /metrics: hits, misses and the drop counted.

# cc_send TAG - one client session, one message to TAG-$RUNID@tls.lab.example
cc_send() {
	local log=$LAB_DIR/log/smtpclient-conncache-$1.log
	if lab_fg "$log" lab_in_mta "$LAB_PY" "$LAB_PY_DIR/smtpclient.py" --connect 192.0.2.25:25 \
		--ehlo client.lab.example --from lab@mta.lab.example --rcpt "$1-$RUNID@tls.lab.example" \
		--expect-final 250 --timeout 20; then
		pass "session-$1"
	else
		fail "session-$1" "$(grep 'smtpclient: FAIL' "$log" || tail -n 2 "$log")"
		return 1
	fi
	lab_wait_msg "$LAB_DIR/mail/mx1" "$1-$RUNID@tls.lab.example" 10
	if [ -n "$LAB_MSG" ]; then pass "arrived-$1"
	else fail "arrived-$1" "no message for $1-$RUNID@tls.lab.example at mx1 within 10 s"; return 1; fi
}

scenario_conncache() {
	local log=$LAB_DIR/log/mxtlsd.log flag=$LAB_DIR/run/mx1.idle-close off coff out i
	SCEN_SINKS=mx1
	rm -f "$flag"
	if lab_mxtlsd_hup "upstream_cache_time = 10s"; then pass reload-cache-on
	else fail reload-cache-on "mxtlsd did not reload: ${LAB_MATCH:-no log line}"; return; fi

	# 1. two sessions in a row: one upstream connection
	coff=$(lab_log_size "$LAB_DIR/log/mx1.conns")
	off=$(lab_log_size "$log")
	cc_send c1 && cc_send c2
	if lab_wait_grep_after "$log" "$off" "upstream .*192\\.0\\.2\\.25\\]:25 kept for later sessions" 5; then
		pass mxtlsd-kept
	else
		fail mxtlsd-kept "mxtlsd did not log the first upstream kept for later sessions"
	fi
	if lab_wait_grep_after "$log" "$off" "upstream cache hit: .*192\\.0\\.2\\.25\\]:25" 5; then
		pass mxtlsd-hit
	else
		fail mxtlsd-hit "no upstream cache hit in mxtlsd's log: $(lab_grep_after "$log" "$off" 'upstream cache' | tail -n 3)"
	fi
	# a reload closes the cached connection (QUIT): then it is in the connlog
	lab_mxtlsd_hup "upstream_cache_time = 10s" || fail reload-flush "mxtlsd did not reload"
	for i in $(seq 50); do
		out=$(lab_conns mx1 "$coff" msgs)
		case $out in *"end=QUIT"*) break ;; esac
		sleep 0.1
	done
	lab_log "$SCEN: mx1 connections for c1, c2: $out"
	if [ "$out" = "msgs=2 end=QUIT" ]; then pass one-connection
	else fail one-connection "mx1's connections after the two sessions: '$out' (expected one, 2 messages, ended by QUIT)"; fi

	# 2. the MX hangs up on the idle connection: the next session connects afresh
	coff=$(lab_log_size "$LAB_DIR/log/mx1.conns")
	off=$(lab_log_size "$log")
	cc_send c3
	lab_wait_grep_after "$log" "$off" "kept for later sessions" 5 || fail kept-c3 "c3's upstream was not kept"
	touch "$flag"
	if lab_wait_grep_after "$log" "$off" "upstream cache: .*192\\.0\\.2\\.25\\]:25 dropped \\(closed\\)" 5; then
		pass mxtlsd-dropped
	else
		fail mxtlsd-dropped "mxtlsd did not drop the connection mx1 closed: $(lab_grep_after "$log" "$off" 'upstream cache' | tail -n 3)"
	fi
	rm -f "$flag"
	off=$(lab_log_size "$log")
	cc_send c4
	if lab_grep_after "$log" "$off" "upstream cache miss: \\[192\\.0\\.2\\.25\\]:25" >/dev/null; then
		pass mxtlsd-miss
	else
		fail mxtlsd-miss "the session after the MX hung up did not miss: $(lab_grep_after "$log" "$off" 'upstream cache' | tail -n 3)"
	fi
	if [ "$(lab_grep_after "$log" "$off" "to=<c4-$RUNID@tls.lab.example>.*status=sent" | wc -l)" = 1 ]; then
		pass delivered-once
	else
		fail delivered-once "mxtlsd did not log c4 sent exactly once"
	fi

	# 3. the counters
	out=$(lab_in_mta "$LAB_PY" -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9425/metrics", timeout=5).read().decode())' 2>/dev/null |
		grep -E '^mxtls_upstream_cache_(hits|misses)_total |^mxtls_upstream_cache_dropped_total\{reason="closed"\}')
	lab_log "$SCEN: metrics: $(echo $out)"
	case $(echo $out) in
	*"hits_total "[1-9]*"misses_total "[1-9]*'reason="closed"} '[1-9]*) pass metrics ;;
	*) fail metrics "the upstream cache counters: '$(echo $out)'" ;;
	esac
	lab_mxtlsd_hup || fail reload-back "mxtlsd did not reload its base configuration"
}
