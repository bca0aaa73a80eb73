# signals - SIGHUP and SIGTERM on a working mxtlsd.
#   (a) mxtlsd.conf gets a new myhostname and, on its last line, an unknown
#       key; SIGHUP: mxtlsd logs "warning: reload: FILE:LINE: ...; keeping
#       the running configuration" naming that file and line, keeps running,
#       a new connection still sees the old name, and mail still flows.
#   (b) An idle session is open (banner, EHLO).  A valid change (myhostname
#       = mxtls-reloaded.lab.example), SIGHUP: "reloaded FILE"; a new
#       connection's banner shows the new name; the idle session still
#       answers NOOP.
#   (c) That idle session, plus a second session in the middle of DATA
#       (half of the message sent).  SIGTERM: the idle one gets "421 4.3.2"
#       and is closed; new connections are refused; mxtlsd keeps running
#       while the DATA session sends the rest: its message gets 250 (it is
#       at mx1, byte for byte), then 421 4.3.2 and close; mxtlsd then exits
#       on its own, status 0, well within shutdown_timeout
#       ($LAB_MXTLSD_SHUTDOWN_TIMEOUT s) and without the "shutdown_timeout:
#       closing" fallback.
# Afterwards mxtlsd is started again with the lab's configuration.
lab_sig_client() {	# lab_sig_client NAME STEP... - stepclient in the background
	local name=$1
	shift
	lab_in_mta "$LAB_PY" "$LAB_PY_DIR/stepclient.py" --connect 192.0.2.25:25 \
		--ctl "$SIG_CTL" --timeout 30 "$@" >"$LAB_DIR/log/stepclient-$name.log" 2>&1 </dev/null 9>&- &
}

lab_sig_wait_file() {	# lab_sig_wait_file NAME TIMEOUT
	local end
	end=$(( $(lab_now_ms) + $2 * 1000 ))
	until [ -e "$SIG_CTL/$1" ]; do
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.02
	done
}

lab_sig_wait_pid() {	# lab_sig_wait_pid PID TIMEOUT - 0 when PID exited 0 in time
	local end
	end=$(( $(lab_now_ms) + $2 * 1000 ))
	while kill -0 "$1" 2>/dev/null; do
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.05
	done
	wait "$1"
}

lab_sig_banner() {	# lab_sig_banner CHECK PREFIX - a new connection's greeting
	local log=$LAB_DIR/log/smtpclient-signals-$1.log
	if lab_fg "$log" lab_in_mta "$LAB_PY" "$LAB_PY_DIR/smtpclient.py" --connect 192.0.2.25:25 \
		--banner-only --expect "$2" --timeout 10; then
		pass "$1"
	else
		fail "$1" "a new connection's greeting does not start with \"$2\": $(grep -m1 '<-' "$log")"
	fi
}

scenario_signals() {
	local conf=$LAB_DIR/mxtlsd.conf line idle data t0 dt out n
	if [ "$LAB_FLAVOR" != local ]; then
		lab_log "signals: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"
		return 0
	fi
	SCEN_SINKS=mx1
	SIG_CTL=$LAB_DIR/work/signals
	rm -rf "$SIG_CTL"
	mkdir -p "$SIG_CTL"

	# (a) a broken line: the running configuration stays
	lab_mxtlsd_hup "myhostname = mxtls-broken.lab.example" "no_such_key = 1"
	line=$(wc -l <"$conf")
	case $LAB_MATCH in
	*"warning: reload: $conf:$line: "*no_such_key*"; keeping the running configuration")
		pass bad-reload-warning ;;
	*)	fail bad-reload-warning "expected \"warning: reload: $conf:$line: ... no_such_key ...; keeping the running configuration\", got: ${LAB_MATCH:-no reload line within 5 s}" ;;
	esac
	if kill -0 "$LAB_MXTLSD_PID" 2>/dev/null; then pass bad-reload-still-running
	else fail bad-reload-still-running "mxtlsd exited after a SIGHUP with a broken configuration"; return; fi
	lab_sig_banner bad-reload-old-name "220 ${LAB_MXTLSD_HOSTNAME:-mxtls.lab.example} "
	lab_deliver mx1 tls.lab.example 0 30 && lab_check_bytes

	# (b) a valid change; an idle session is open meanwhile
	lab_sig_client idle expect:"220 ${LAB_MXTLSD_HOSTNAME:-mxtls.lab.example} " \
		send:"EHLO idle.lab.example" expect:250 mark:idle-ready wait:idle-noop \
		send:NOOP expect:250 mark:idle-noop-ok expect:"421 4.3.2" eof
	idle=$!
	if ! lab_sig_wait_file idle-ready 10; then
		fail idle-session "the idle session did not get through EHLO: $(tail -n 3 "$LAB_DIR/log/stepclient-idle.log")"
		lab_kill_pid "$idle"
		lab_mxtlsd_hup
		return
	fi
	if lab_mxtlsd_hup "myhostname = mxtls-reloaded.lab.example"; then pass reload
	else fail reload "SIGHUP with myhostname = mxtls-reloaded.lab.example: ${LAB_MATCH:-no reload line within 5 s}"; fi
	lab_sig_banner reload-new-name "220 mxtls-reloaded.lab.example "
	touch "$SIG_CTL/idle-noop"
	if lab_sig_wait_file idle-noop-ok 10; then pass idle-session-survives-reload
	else fail idle-session-survives-reload "the session opened before the reload did not answer NOOP: $(tail -n 3 "$LAB_DIR/log/stepclient-idle.log")"; fi

	# (c) SIGTERM with the idle session and one in the middle of DATA
	D_RCPT="signals-data-$RUNID@tls.lab.example"
	D_FILE=$LAB_DIR/work/signals-data.msg
	lab_tool gen-message "$D_FILE" --from sender@mta.lab.example --to "$D_RCPT" \
		--subject "lab signals $RUNID" --msgid "signals-data.$RUNID@mta.lab.example" --size 65536
	n=$(wc -l <"$D_FILE")
	head -n $((n / 2)) "$D_FILE" >"$SIG_CTL/part1"
	tail -n +$((n / 2 + 1)) "$D_FILE" >"$SIG_CTL/part2"
	lab_sig_client data expect:220 send:"EHLO data.lab.example" expect:250 \
		send:"MAIL FROM:<sender@mta.lab.example>" expect:250 \
		send:"RCPT TO:<$D_RCPT>" expect:250 send:DATA expect:354 \
		data:"$SIG_CTL/part1" mark:in-data wait:finish-data data:"$SIG_CTL/part2" dot \
		expect:250 mark:data-250 expect:"421 4.3.2" eof
	data=$!
	if ! lab_sig_wait_file in-data 10; then
		fail data-session "the DATA session did not get into DATA: $(grep -m1 FAIL "$LAB_DIR/log/stepclient-data.log" || tail -n 3 "$LAB_DIR/log/stepclient-data.log")"
		lab_kill_pid "$idle"
		lab_kill_pid "$data"
		lab_mxtlsd_hup
		return
	fi
	sleep 0.2	# let mxtlsd relay the first half upstream
	t0=$(lab_now_ms)
	kill -TERM "$LAB_MXTLSD_PID"
	if lab_sig_wait_pid "$idle" 5; then pass idle-session-421
	else fail idle-session-421 "the idle session did not get 421 4.3.2 and a close within 5 s of SIGTERM: $(tail -n 3 "$LAB_DIR/log/stepclient-idle.log" | tr '\n' ' ')"; fi
	check no-new-sessions "a new connection was not refused while draining" \
		lab_fg "$LAB_DIR/log/stepclient-refused.log" lab_in_mta "$LAB_PY" "$LAB_PY_DIR/stepclient.py" \
		--connect 192.0.2.25:25 --expect-refused --timeout 5
	if kill -0 "$LAB_MXTLSD_PID" 2>/dev/null; then pass draining-while-in-data
	else fail draining-while-in-data "mxtlsd exited while a session was in DATA"; fi
	touch "$SIG_CTL/finish-data"
	if lab_sig_wait_pid "$data" 15; then pass data-session-250-then-421
	else fail data-session-250-then-421 "$(grep -m1 FAIL "$LAB_DIR/log/stepclient-data.log" || tail -n 3 "$LAB_DIR/log/stepclient-data.log")"; fi
	if lab_wait_msg "$LAB_DIR/mail/mx1" "$D_RCPT" 5; then
		pass data-session-delivered
		D_EML=$LAB_DIR/mail/mx1/$LAB_MSG.eml
		lab_check_bytes data-session-bytes
	else
		fail data-session-delivered "the message finished after SIGTERM is not at mx1"
	fi
	if lab_mxtlsd_wait_exit $((LAB_MXTLSD_SHUTDOWN_TIMEOUT + 5)); then
		dt=$(( $(lab_now_ms) - t0 ))
		lab_log "signals: mxtlsd exited $dt ms after SIGTERM (status $LAB_MXTLSD_STATUS)"
		if [ "$LAB_MXTLSD_STATUS" = 0 ]; then pass exit-status-0
		else fail exit-status-0 "mxtlsd exited with status $LAB_MXTLSD_STATUS after SIGTERM"; fi
		if [ "$dt" -lt $((LAB_MXTLSD_SHUTDOWN_TIMEOUT * 1000 - 2000)) ] &&
		   ! grep -q 'shutdown_timeout: closing' "$LAB_DIR/log/mxtlsd.log"; then
			pass exit-on-its-own
		else
			fail exit-on-its-own "mxtlsd took $dt ms (shutdown_timeout ${LAB_MXTLSD_SHUTDOWN_TIMEOUT}s): $(grep 'shutdown_timeout: closing' "$LAB_DIR/log/mxtlsd.log")"
		fi
	else
		fail exit-on-its-own "mxtlsd still runs $((LAB_MXTLSD_SHUTDOWN_TIMEOUT + 5)) s after SIGTERM"
		lab_mxtlsd_stop
	fi
	lab_kill_pid "$idle"
	lab_kill_pid "$data"

	# back to the lab's configuration, for the scenarios after this one
	lab_mxtlsd_conf_write
	if lab_mxtlsd_start; then pass restarted
	else fail restarted "mxtlsd did not start again: $(tail -n 3 "$LAB_DIR/log/mxtlsd.log")"; fi
}
