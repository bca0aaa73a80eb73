# hostile.sh - hostile peers on both sides of mxtlsd (issue 9).  Clients are
# tests/lab/py/hostile_client.py in mxl-mta, connecting to an MX address on
# port 25 (redirected to mxtlsd, as pipeline does); the MX servers are
# tests/lab/py/hostile_mx.py on addresses of their own in mxl-mx (192.0.2.70
# ... 192.0.2.80, added for the scenario and removed after it), their
# command logs in $LAB_DIR/log/NAME.jsonl.  Recipients are at
# tls.lab.example: no policy, so mxtlsd connects to the address the client
# asked for.  The checks judge with tests/lab/py/hostile_check.py.
#
# hostile-smuggle: the lenient MX (hostile-lenient, 192.0.2.70, STARTTLS)
#	takes bare CR and bare LF for line ends, in commands and in DATA.  One
#	session per case of `hostile_client.py cases': a message whose body
#	holds \n.\n, \r\n.\n, \n.\r\n, \r.\r\n, \r\n.\r+X or \r.\r followed by
#	MAIL/RCPT/DATA and a smuggled message; a MAIL or RCPT with a CR in a
#	quoted local part; a MAIL or RCPT line with a bare CR.  Per case:
#	smuggle-CASE-refused, -nothing-after, -mx-clean (hostile_check.py);
#	then mx-clean-overall (the whole MX log), mxtlsd-up, and the control
#	lenient-mx-selftest: every case sent straight to the MX (from mxl-mx)
#	is executed there as smuggled commands.
# hostile-mx: upstream_timeout lowered to HOSTILE_UP_TIMEOUT (3 s); one MX
#	per case (HOSTILE_MX_CASES: data250; endless replies to EHLO (flood)
#	and to MAIL (a line every 0.25 s); a 64 KiB line as the greeting and
#	as the reply to the end of data; a NUL in the greeting and in the
#	RCPT reply; silence instead of the greeting, of the reply to DATA and
#	of the reply to the final dot) and one transaction each: CASE-tempfail
#	(a 4xx where the MX misbehaved), CASE-bounded (each reply within
#	upstream_timeout + HOSTILE_MARGIN), CASE-mxtlsd-up; data250-data-not-2xx
#	and data250-data-451 (DATA must get 451 4.5.0, never the MX's 250).
# hostile-flood: a client pipelines 16 MiB of NOOP and reads nothing (it
#	stops after 10 s if mxtlsd stops reading); mxtlsd's VmRSS and VmHWM
#	(reset through /proc/PID/clear_refs) while the connection stays open:
#	flood-rss-growth (< 2 MiB), flood-mxtlsd-up.
# hostile-trickle: client_timeout lowered to HOSTILE_CLIENT_TIMEOUT (5 s); a
#	client sends EHLO, then MAIL FROM one octet a second for 15 s:
#	trickle-421 and trickle-closed-in-time (421 and close within
#	client_timeout + HOSTILE_MARGIN of the first octet: a command has a
#	deadline that reads do not push back).
# The configuration is set back to the base after each scenario.

HOSTILE_UP_TIMEOUT=${HOSTILE_UP_TIMEOUT:-3}
HOSTILE_CLIENT_TIMEOUT=${HOSTILE_CLIENT_TIMEOUT:-5}
HOSTILE_MARGIN=${HOSTILE_MARGIN:-2}

# name address mode at [hostile_mx.py options...]; "tls" = STARTTLS
# with the lab's mx1 certificate
HOSTILE_MX_CASES="
data250			192.0.2.71 data250  data	tls
endless-ehlo		192.0.2.72 endless  ehlo
endless-mail		192.0.2.73 endless  mail	--interval 0.25
longline-greeting	192.0.2.74 longline greeting
longline-dot		192.0.2.75 longline dot	tls
nul-greeting		192.0.2.76 nul      greeting
nul-rcpt		192.0.2.77 nul      rcpt	tls
silent-greeting		192.0.2.78 silent   greeting
silent-data		192.0.2.79 silent   data
silent-dot		192.0.2.80 silent   dot	tls
"

# hostile_mx_spawn NAME ADDR MODE [ARGS...] - ADDR on mxl-mx, hostile_mx.py
# listening on ADDR:25 (pid in LAB_SINK_PID, so that lab_down stops it)
hostile_mx_spawn() {
	local name=$1 addr=$2 mode=$3 a args=()
	shift 3
	for a in "$@"; do
		if [ "$a" = tls ]; then args+=(--cert "$LAB_DIR/pki/mx1.crt" --key "$LAB_DIR/pki/mx1.key")
		else args+=("$a"); fi
	done
	ip -n "$LAB_NS_MX" addr replace "$addr/24" dev veth0 || return 1
	rm -f "$LAB_DIR/run/$name.pid"
	echo "=== $(date -u +%FT%TZ) start $name ($addr) mode=$mode $*" >>"$LAB_DIR/log/$name.log"
	ip netns exec "$LAB_NS_MX" "$LAB_PY" "$LAB_PY_DIR/hostile_mx.py" --listen "$addr:25" \
		--mode "$mode" --name "$name.lab.example" --pidfile "$LAB_DIR/run/$name.pid" \
		--log "$LAB_DIR/log/$name.jsonl" --time-limit 20 "${args[@]}" \
		</dev/null >>"$LAB_DIR/log/$name.log" 2>&1 9>&- &
	LAB_SINK_PID[$name]=$!
}

# hostile_mx_stop NAME ADDR - stop it, take its address away
hostile_mx_stop() {
	[ -n "${LAB_SINK_PID[$1]}" ] && lab_sink_stop "$1"
	ip -n "$LAB_NS_MX" addr del "$2/24" dev veth0 2>/dev/null
	return 0
}

# hostile_client mta|mx LOG ARGS... - hostile_client.py ARGS... in mxl-mta
# (through mxtlsd) or in mxl-mx (straight to the MX servers)
hostile_client() {
	local ns=$1 log=$2
	shift 2
	lab_fg "$log" "lab_in_$ns" "$LAB_PY" "$LAB_PY_DIR/hostile_client.py" "$@"
}

# hostile_judge ARGS... - hostile_check.py ARGS...: each PASS/FAIL line it
# prints becomes this scenario's pass/fail
hostile_judge() {
	local line name n=0
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass "${line#PASS }"; n=$((n + 1)) ;;
		"FAIL "*) name=${line#FAIL }; fail "${name%%: *}" "${name#*: }"; n=$((n + 1)) ;;
		esac
	done < <("$LAB_PY" "$LAB_PY_DIR/hostile_check.py" "$@" 2>&1)
	[ "$n" -gt 0 ] || fail "judge-$2" "hostile_check.py $1 printed no verdict"
}

# hostile_alive CHECK - mxtlsd still runs
hostile_alive() {
	if [ -n "$LAB_MXTLSD_PID" ] && kill -0 "$LAB_MXTLSD_PID" 2>/dev/null; then pass "$1"
	else fail "$1" "mxtlsd is gone (see its log)"; fi
}

# hostile_reload_base - SIGHUP with the base configuration (check reload-base)
hostile_reload_base() {
	if lab_mxtlsd_hup; then pass reload-base
	else fail reload-base "SIGHUP back to the base configuration: ${LAB_MATCH:-no reload line in 5 s}"; fi
}

scenario_hostile-smuggle() {
	local name=hostile-lenient addr=192.0.2.70 mlog cases case off end cj jsons=() runs=()
	if [ "$LAB_FLAVOR" != local ]; then
		lab_log "$SCEN: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"; return 0
	fi
	SCEN_SINKS=$name
	mlog=$LAB_DIR/log/$name.jsonl
	: >"$mlog"
	if ! hostile_mx_spawn "$name" "$addr" lenient tls || ! lab_sinks_wait "$name"; then
		fail setup "the lenient MX did not start (see $LAB_DIR/log/$name.log)"
		hostile_mx_stop "$name" "$addr"
		return
	fi
	cases=$("$LAB_PY" "$LAB_PY_DIR/hostile_client.py" cases | cut -f1)
	for case in $cases; do
		cj=$LAB_DIR/work/smuggle-$case.json
		jsons+=("$cj")
		off=$(lab_log_size "$mlog")
		hostile_client mta "$LAB_DIR/log/hostile-client-smuggle-$case.log" smuggle \
			--connect "$addr:25" --case "$case" --tag "$RUNID" --json "$cj" --timeout 10
		# the case's upstream sessions end with the client's (QUIT)
		end=$("$LAB_PY" "$LAB_PY_DIR/hostile_check.py" wait-idle "$mlog" "$off" 5)
		hostile_judge smuggle "smuggle-$case" "$cj" "$mlog" "$off" "$end"
	done
	hostile_judge smuggle-all mx-clean-overall "$mlog" "${jsons[@]}"
	hostile_alive mxtlsd-up
	# The control: the same octets straight to the lenient MX are smuggled
	# (its replies come at once; a desynchronised client waits 1 s a read).
	for case in $cases; do
		cj=$LAB_DIR/work/smuggle-direct-$case.json
		off=$(lab_log_size "$mlog")
		hostile_client mx "$LAB_DIR/log/hostile-client-direct-$case.log" smuggle \
			--connect "$addr:25" --case "$case" --tag "direct-$RUNID" --json "$cj" --timeout 1
		end=$("$LAB_PY" "$LAB_PY_DIR/hostile_check.py" wait-idle "$mlog" "$off" 5)
		runs+=("$cj:$off:$end")
	done
	hostile_judge selftest lenient-mx-selftest "$mlog" "${runs[@]}"
	hostile_mx_stop "$name" "$addr"
}

scenario_hostile-mx() {
	local name addr mode at opts started=() limit t0 cj
	if [ "$LAB_FLAVOR" != local ]; then
		lab_log "$SCEN: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"; return 0
	fi
	limit=$((HOSTILE_UP_TIMEOUT + HOSTILE_MARGIN))
	if lab_mxtlsd_hup "upstream_timeout = ${HOSTILE_UP_TIMEOUT}s"; then pass reload
	else fail reload "SIGHUP with upstream_timeout = ${HOSTILE_UP_TIMEOUT}s: ${LAB_MATCH:-no reload line in 5 s}"; return; fi
	while read -r name addr mode at opts; do
		[ -n "$name" ] || continue
		# shellcheck disable=SC2086
		hostile_mx_spawn "hostile-$name" "$addr" "$mode" --at "$at" $opts
		started+=("hostile-$name")
	done <<<"$HOSTILE_MX_CASES"
	SCEN_SINKS="${started[*]}"
	if ! lab_sinks_wait "${started[@]}"; then
		fail setup "a hostile MX did not start"
	else
		while read -r name addr mode at opts; do
			[ -n "$name" ] || continue
			cj=$LAB_DIR/work/hostile-mx-$name.json
			t0=$(lab_now_ms)
			hostile_client mta "$LAB_DIR/log/hostile-client-mx-$name.log" txn --connect "$addr:25" \
				--from "h-$name-$RUNID@client.example" --rcpt "h-$name-$RUNID@tls.lab.example" \
				--json "$cj" --timeout $((limit + 8))
			lab_log "$SCEN: $name: $(( $(lab_now_ms) - t0 )) ms"
			if [ "$mode" = data250 ]; then
				hostile_judge mx "$name" "$cj" "$limit" --data250
			else
				hostile_judge mx "$name" "$cj" "$limit"
			fi
			hostile_alive "$name-mxtlsd-up"
		done <<<"$HOSTILE_MX_CASES"
	fi
	while read -r name addr mode at opts; do
		[ -n "$name" ] && hostile_mx_stop "hostile-$name" "$addr"
	done <<<"$HOSTILE_MX_CASES"
	hostile_reload_base
}

# hostile_kb PID FIELD - /proc/PID/status FIELD (VmRSS, VmHWM) in kB
hostile_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

scenario_hostile-flood() {
	local pid ctl cpid before during hwm after peak sent i
	if [ "$LAB_FLAVOR" != local ]; then
		lab_log "$SCEN: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"; return 0
	fi
	pid=$LAB_MXTLSD_PID
	ctl=$LAB_DIR/work/flood
	rm -rf "$ctl"
	mkdir -p "$ctl"
	before=$(hostile_kb "$pid" VmRSS)
	if [ -z "$before" ]; then fail flood-rss-growth "no VmRSS in /proc/$pid/status"; return; fi
	echo 5 >"/proc/$pid/clear_refs" 2>/dev/null	# VmHWM := VmRSS
	lab_in_mta "$LAB_PY" "$LAB_PY_DIR/hostile_client.py" flood --connect 192.0.2.25:25 \
		--bytes $((16 * 1024 * 1024)) --time-limit 10 --ctl "$ctl" --hold 10 \
		--json "$ctl/flood.json" >"$LAB_DIR/log/hostile-client-flood.log" 2>&1 </dev/null 9>&- &
	cpid=$!
	LAB_FG_PID=$cpid	# lab_down ends it if the run is interrupted
	for i in $(seq 300); do		# 15 s at most (the client: 10 s, then 1 s)
		[ -e "$ctl/sent" ] && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.05
	done
	during=$(hostile_kb "$pid" VmRSS)
	hwm=$(hostile_kb "$pid" VmHWM)
	sent=$(cat "$ctl/sent" 2>/dev/null)
	touch "$ctl/close"
	wait "$cpid"
	LAB_FG_PID=
	sleep 0.5
	after=$(hostile_kb "$pid" VmRSS)
	peak=${during:-0}
	[ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
	lab_log "$SCEN: $(tail -n 1 "$LAB_DIR/log/hostile-client-flood.log"); mxtlsd VmRSS before ${before} kB, during ${during} kB (VmHWM ${hwm} kB), after close ${after} kB"
	if [ -z "$sent" ]; then
		fail flood-rss-growth "the client did not finish sending: $(tail -n 2 "$LAB_DIR/log/hostile-client-flood.log")"
	elif [ $((peak - before)) -lt 2048 ]; then
		pass flood-rss-growth
	else
		fail flood-rss-growth "mxtlsd grew by $((peak - before)) kB (VmRSS ${before} kB before, ${during} kB with the flood's connection open, VmHWM ${hwm} kB; ${after} kB after it closed) while a client sent ${sent} octets of NOOP without reading a reply (limit 2048 kB)"
	fi
	hostile_alive flood-mxtlsd-up
}

scenario_hostile-trickle() {
	local cj=$LAB_DIR/work/trickle.json limit
	if [ "$LAB_FLAVOR" != local ]; then
		lab_log "$SCEN: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"; return 0
	fi
	limit=$((HOSTILE_CLIENT_TIMEOUT + HOSTILE_MARGIN))
	if lab_mxtlsd_hup "client_timeout = ${HOSTILE_CLIENT_TIMEOUT}s"; then pass reload
	else fail reload "SIGHUP with client_timeout = ${HOSTILE_CLIENT_TIMEOUT}s: ${LAB_MATCH:-no reload line in 5 s}"; return; fi
	hostile_client mta "$LAB_DIR/log/hostile-client-trickle.log" trickle --connect 192.0.2.25:25 \
		--line "MAIL FROM:<trickle-$RUNID@client.example>" --interval 1 \
		--time-limit $((3 * HOSTILE_CLIENT_TIMEOUT)) --json "$cj"
	hostile_judge trickle trickle "$cj" "$limit"
	hostile_alive trickle-mxtlsd-up
	hostile_reload_base
}
