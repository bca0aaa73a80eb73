# sinks.sh - the lab's MX sinks and the TLSRPT https: endpoint.
#
# SYNOPSIS
#	. tests/lab/lib.sh	(sources this file)
#	lab_pki
#	lab_sink_define NAME MODE HOSTNAME CERT|- KEY|- LISTEN...
#	lab_sink_spawn NAME [MODE], lab_sinks_wait NAME..., lab_sink_start
#	NAME [MODE], lab_sink_stop NAME, lab_sink_dir NAME
#	lab_rpt_spawn, lab_rpt_wait
#	lab_where RCPT, lab_wait_msg MAILDIR RCPT TIMEOUT [COUNT]
#
# DESCRIPTION
#	The first floor's CA and certificates (mx1..mx3, mxtlsd), the sinks
#	(tests/lab/py/mxsink.py in mxl-mx: one per name in LAB_SINKS, extra
#	arguments from LAB_SINK_ARGS, mail in $LAB_DIR/mail/NAME, one JSON
#	line per connection in $LAB_DIR/log/NAME.conns), the TLSRPT report
#	endpoint (tests/lab/py/rptsink.py), and what a sink stored.

declare -A LAB_SINK_PID=()

# Sinks: name -> "mode hostname certfile|- keyfile|- listen..."; the first
# floor's three (lab_up) and the DNS world's (lab_world_up, from mx.tsv)
declare -A LAB_SINKS=()
# Extra mxsink.py arguments per sink name (lab_sink_spawn; words split)
declare -A LAB_SINK_ARGS=()

# lab_pki - a lab CA and server certificates (names NAME.lab.example)
lab_pki() {
	local d=$LAB_DIR/pki n
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.crt -days 30 -subj "/CN=mxtls lab CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign || exit 1
		for n in mx1 mx2 mx3 mxtlsd; do
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$n.key" -out "$n.csr" -subj "/CN=$n.lab.example" || exit 1
			printf '%s\n' "basicConstraints=CA:FALSE" \
				"subjectAltName=DNS:$n.lab.example" \
				"extendedKeyUsage=serverAuth,clientAuth" >"$n.ext"
			openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
				-days 30 -out "$n.crt" -extfile "$n.ext" || exit 1
		done
	) >"$LAB_DIR/log/pki.log" 2>&1
}

# lab_sink_define NAME MODE HOSTNAME CERT|- KEY|- LISTEN... - describe a sink
lab_sink_define() {
	local name=$1
	shift
	LAB_SINKS[$name]="$*"
}

# lab_sink_dir NAME - where sink NAME stores what it accepts
lab_sink_dir() { echo "$LAB_DIR/mail/$1"; }

# lab_sink_spawn NAME [MODE] - launch sink NAME (see LAB_SINKS); no waiting
lab_sink_spawn() {
	local name=$1 mode host cert key listen l
	read -r mode host cert key listen <<<"${LAB_SINKS[$name]}"
	mode=${2:-$mode}
	local args=(--name "$host" --mode "$mode" --maildir "$(lab_sink_dir "$name")"
		--pidfile "$LAB_DIR/run/$name.pid" --connlog "$LAB_DIR/log/$name.conns")
	for l in $listen; do args+=(--listen "$l"); done
	[ "$cert" != - ] && args+=(--cert "$cert" --key "$key")
	# shellcheck disable=SC2206
	[ -n "${LAB_SINK_ARGS[$name]}" ] && args+=(${LAB_SINK_ARGS[$name]})
	rm -f "$LAB_DIR/run/$name.pid"
	echo "=== $(date -u +%FT%TZ) start $name ($host) mode=$mode" >>"$LAB_DIR/log/$name.log"
	ip netns exec "$LAB_NS_MX" "$LAB_PY" "$LAB_PY_DIR/mxsink.py" "${args[@]}" \
		</dev/null >>"$LAB_DIR/log/$name.log" 2>&1 9>&- &
	LAB_SINK_PID[$name]=$!
}

# lab_sinks_wait NAME... - wait (at most 10 s) until every named sink listens
lab_sinks_wait() {
	local name i left
	for i in $(seq 200); do
		left=
		for name in "$@"; do
			[ -s "$LAB_DIR/run/$name.pid" ] && continue
			if ! kill -0 "${LAB_SINK_PID[$name]}" 2>/dev/null; then
				lab_log "sink $name exited at start-up; see $LAB_DIR/log/$name.log"
				tail -n 20 "$LAB_DIR/log/$name.log" >&2
				return 1
			fi
			left="$left $name"
		done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	lab_log "sink(s)$left did not start within 10 s"
	return 1
}

# lab_sink_start NAME [MODE] - start the sink NAME, wait until it listens
lab_sink_start() {
	lab_sink_spawn "$@" && lab_sinks_wait "$1"
}

# lab_sink_stop NAME
lab_sink_stop() {
	lab_kill_pid "${LAB_SINK_PID[$1]}"
	wait "${LAB_SINK_PID[$1]}" 2>/dev/null
	LAB_SINK_PID[$1]=
	rm -f "$LAB_DIR/run/$1.pid"
}

# lab_rpt_spawn / lab_rpt_wait - the TLSRPT https: endpoint (rptsink.py,
# tlsrpt.lab.example) in mxl-mx; POSTs stored in $LAB_DIR/rpt
LAB_RPT_PID=
lab_rpt_spawn() {
	echo "=== $(date -u +%FT%TZ) start" >>"$LAB_DIR/log/rptsink.log"
	rm -f "$LAB_DIR/run/rptsink.pid"
	ip netns exec "$LAB_NS_MX" "$LAB_PY" "$LAB_PY_DIR/rptsink.py" \
		--listen "$DNS_RPT_V4:443" --listen "[$DNS_RPT_V6]:443" \
		--cert "$DNS_RPT_CERT" --key "$DNS_RPT_KEY" --dir "$LAB_DIR/rpt" \
		--pidfile "$LAB_DIR/run/rptsink.pid" </dev/null >>"$LAB_DIR/log/rptsink.log" 2>&1 9>&- &
	LAB_RPT_PID=$!
}
lab_rpt_wait() {
	local i
	for i in $(seq 200); do
		[ -s "$LAB_DIR/run/rptsink.pid" ] && return 0
		if ! kill -0 "$LAB_RPT_PID" 2>/dev/null; then
			lab_log "rptsink.py exited at start-up:"; tail -n 10 "$LAB_DIR/log/rptsink.log" >&2
			return 1
		fi
		sleep 0.05
	done
	lab_log "rptsink.py does not listen after 10 s"
	return 1
}

# lab_where RCPT - "SINK N" for each stored copy of a message to RCPT, over
# every sink's store (nothing when no sink has one)
lab_where() { lab_tool where "$LAB_DIR/mail" "$1"; }

# lab_wait_msg MAILDIR RCPT TIMEOUT [COUNT] - poll the sink's store until
# COUNT (default 1) messages list RCPT.  LAB_MSGS = their numbers (one a
# line), LAB_MSG = the first one (empty when none).
lab_wait_msg() {
	local dir=$1 rcpt=$2 want=${4:-1} end
	end=$(( $(lab_now_ms) + $3 * 1000 ))
	while :; do
		LAB_MSGS=$(lab_tool find-msg "$dir" "$rcpt")
		LAB_MSG=${LAB_MSGS%%$'\n'*}
		[ -n "$LAB_MSGS" ] && [ "$(echo "$LAB_MSGS" | wc -l)" -ge "$want" ] && return 0
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.2
	done
}
