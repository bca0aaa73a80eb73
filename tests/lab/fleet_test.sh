#!/bin/bash
# fleet_test.sh - a fleet of three gateways sharing one MTA-STS policy
# cache in Redis, and one TLSRPT report per domain for the fleet (issue 15).
# (make runs it as "bash tests/lab/fleet_test.sh")
[ -n "$BASH_VERSION" ] || exec /bin/bash "$0" "$@"
#
# The world: the lab's (lib.sh, LAB_FLAVOR=local) plus two namespaces.
# Each gateway is an mxtlsd in front of its own Postfix (the old MTA; nat
# OUTPUT REDIRECT of its port-25 connections to mxtlsd), with its own
# gateway_id, sts_cache_dir, journal_dir and log:
#   gw1  mxl-mta  192.0.2.1 (the lab's namespace and Postfix)
#   gw2  mxl-gw2  203.0.113.18/28 2001:db8:f2::2/64, veth to mxl-mx
#                 (203.0.113.17, 2001:db8:f2::1: its default routes)
#   gw3  mxl-gw3  203.0.113.34/28 2001:db8:f3::2/64 (via .33, f3::1)
# Postfix of gw2 and gw3: the lab Postfix's configuration with its own
# directories and maillog (log/maillog-gwN).  mxl-mx, where the lab's
# shared services are (NSD, the policy host nginx), also runs one Redis
# (redis-server with a configuration of its own in $LAB_DIR/redis: no
# persistence, requirepass) on 198.51.100.63:6379 and the unix socket
# $LAB_DIR/redis/redis.sock (a file: it works across namespaces).
#   gw1  sts_cache = redis://198.51.100.63:6379/3  (TCP, password)
#   gw2  sts_cache = redis://198.51.100.63/3       (TCP, default port)
#   gw3  sts_cache = unix:$LAB_DIR/redis/redis.sock?db=3
# all with sts_cache_redis_password_file (requirepass holds for the unix
# socket too).  Redis DB 3, so a daemon that ignored the DB part would
# write where the test does not look.
#
# Phases (the MX host of each domain is a lab sink; every message must be
# delivered over TLS verified under the domain's MTA-STS enforce policy):
#   sequential  enforce.sts.example from gw1, then gw2, then gw3: the
#               policy host's access log shows one GET of its policy; gw1
#               logged "mta-sts: policy for D fetched: id enforce1", gw2
#               and gw3 "another gateway fetched it" and no fetch; Redis
#               holds mxtls:sts:D (the cache file's text, with an expiry);
#               mxtls_sts_redis_shared_total went up by 2 over the fleet
#   concurrent  reload.sts.example from all three at once; its policy host
#               answers after 2 s (nginx proxies it to py/slowpolicy.py):
#               one GET, one gateway fetched, the two others took it from
#               Redis (and did not fetch), although the three lookups
#               overlapped in time (log times); the lock is then gone
#   idchange    enforce.sts.example's _mta-sts TXT id becomes enforce2
#               (dns/sts-txt.sh re-signs and reloads NSD) and its policy
#               gets a second mx line: gw2 first, then gw1, gw3; one GET,
#               all three apply id enforce2 with both patterns, Redis holds
#               the new text
#   redis-down  Redis stopped: enforce.sts.example from all three (the
#               cached enforce policy, no GET), wild.sts.example from all
#               three (no Redis: each fetches for itself, 3 GETs); each logs
#               "sts cache: redis ADDR unreachable (...)",
#               mxtls_sts_redis_up 0, mxtls_sts_redis_fallbacks_total up
#   redis-back  Redis started again, empty: within 25 s each logs "sts
#               cache: redis ADDR: back after N s", mxtls_sts_redis_up 1, and Redis
#               holds the three domains' entries again (the resync), the
#               enforce.sts.example one with id enforce2; then
#               wild.sts.example's id changes (wild2): gw3 fetches, gw1 and
#               gw2 take it from Redis, one GET
#   redis-stalled  Redis stopped with SIGSTOP (connections open, no
#               answers) and enforce.sts.example's id changed (enforce3):
#               each gateway's lookup takes less than 4 s (no session waits
#               on Redis longer than sts_cache_redis_timeout, 1 s), each
#               fetches for itself (3 GETs); mxtls_sts_redis_up 0 (still 2 s
#               later: a connection the stalled Redis's kernel accepts is
#               not Redis back), mxtls_sts_redis_fallbacks_total and
#               _errors_total up, "unreachable" at most once (the outage
#               before was said less than a minute ago: maybe not at all),
#               no "back" while stalled; SIGCONT: mxtls_sts_redis_up 1
#               within 25 s, and "back after N s" if "unreachable" was said
#   wrong-password  gw3 restarted with a password Redis refuses: it logs
#               "unreachable (... WRONGPASS ...)", never "connected",
#               mxtls_sts_redis_up 0, and delivers enforce.sts.example by
#               the policy its cache directory holds (no GET)
#   report      mxtls-report build --journal of the three journal
#               directories: per domain exactly one report (per UTC day of
#               the run), whose session counts add up to the sessions the
#               three made, no failure; each gateway's journal has one
#               record per message it delivered, each with its gateway-id,
#               a record-id, its sending-mta-ip and the MTA-STS enforce
#               policy (policy-type sts, "mode: enforce")
#   shutdown    each mxtlsd exits with status 0 on SIGTERM (and no
#               sanitizer report, for an ASan build)
# An mxtlsd without the sts_cache key (the daemon side not built yet) gets
# one FAIL line and the phases run with sts_cache = disk: then the one-
# fetch, Redis and metrics checks fail, the rest (world, deliveries, the
# report) still says what it says.
#
# Prints one line per check, "PASS: fleet PHASE CHECK" or "FAIL: fleet
# PHASE CHECK: why", then "fleet: N passed, N failed"; exit status 0 only
# when nothing failed.  Needs root; takes the lab lock (LAB_LOCK_WAIT).
# About 50 s.
#
# ENVIRONMENT
#	MXTLSD, LAB_KEEP, LAB_LOCK_WAIT	as for tests/lab/run (lib.sh)

export LAB_FLAVOR=local
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
# lab_req (dane.sh)
. "$HERE/scenarios/dane.sh"

PASSES=0 FAILS=0 SCEN=setup SCEN_FAILED= CK=
RUNID=$(date +%H%M%S)-$$

FL_GWS="gw1 gw2 gw3"
declare -A FL_NS=([gw1]=$LAB_NS_MTA [gw2]=mxl-gw2 [gw3]=mxl-gw3)
declare -A FL_SRC4=([gw1]=192.0.2.1 [gw2]=203.0.113.18 [gw3]=203.0.113.34)
declare -A FL_PID=() FL_STATUS=() FL_ETC=() FL_MAILLOG=() FL_LOG=() FL_CONF=()
# per send (fl_submit / fl_wait): recipient, Message-ID, offsets, outcome
declare -A F_RCPT=() F_MSGID=() F_FILE=() F_OFF=() F_MOFF=() F_QID=() F_STATUS=() F_LINES=() F_MS=()
# messages delivered: "GW DOMAIN" -> count (what the report must add up to)
declare -A FL_SENT=()
# the domains: MX host and address (a lab sink), first mx pattern
declare -A FL_MX=([enforce.sts.example]="good1.sts.example 192.0.2.50"
	[reload.sts.example]="good1.sts.example 192.0.2.50"
	[wild.sts.example]="mx1.wild.sts.example 192.0.2.55")
declare -A FL_PAT=([enforce.sts.example]=good1.sts.example
	[reload.sts.example]=good1.sts.example
	[wild.sts.example]='*.wild.sts.example')
DA=enforce.sts.example DB=reload.sts.example DC=wild.sts.example
FL_REDIS_V4=198.51.100.63 FL_REDIS_PORT=6379 FL_REDIS_DB=3
FL_REDIS_PID= FL_SLOW_PID= FL_REDIS=
FL_SLOW_PORT=8461 FL_SLOW_DELAY=2
FL_METRICS=127.0.0.1:9425

pass() {
	echo "PASS: fleet $SCEN $1"
	PASSES=$((PASSES + 1))
}
fail() {
	local c=$1 r
	shift
	r=$*
	r=${r//$'\n'/ }
	echo "FAIL: fleet $SCEN $c: ${r:0:2000}"
	FAILS=$((FAILS + 1))
	SCEN_FAILED=1
}

# fl_phase NAME - the next phase: SCEN, and when it began on stderr
fl_phase() {
	SCEN=$1 SCEN_FAILED= CK=
	lab_log "fleet: phase $1 at $(( $(date +%s) - t0 )) s"
}

# dump_logs - the tails that matter, on stderr, after a phase with a failure
dump_logs() {
	local g
	{
		echo "----- fleet $SCEN: logs (lab dir $LAB_DIR) -----"
		for g in $FL_GWS; do
			echo "--- mxtlsd $g (last 25 lines)"; tail -n 25 "${FL_LOG[$g]}" 2>/dev/null
			echo "--- postfix $g (last 8 lines)"; tail -n 8 "${FL_MAILLOG[$g]}" 2>/dev/null
		done
		echo "--- redis (last 10 lines)"; tail -n 10 "$LAB_DIR/log/redis.log" 2>/dev/null
		echo "--- policy host access log (last 10 lines)"; tail -n 10 "$(lab_https_log)" 2>/dev/null
	} >&2
}

# fl_down - everything of the fleet, then the lab (the EXIT trap)
FL_DOWN_DONE=
fl_down() {
	local g ns
	[ -z "$FL_DOWN_DONE" ] || return 0
	FL_DOWN_DONE=1
	for g in $FL_GWS; do fl_mxtlsd_stop "$g"; done
	for g in gw2 gw3; do
		[ -n "${FL_ETC[$g]}" ] && [ -f "${FL_ETC[$g]}/main.cf" ] &&
			ip netns exec "${FL_NS[$g]}" postfix -c "${FL_ETC[$g]}" stop >/dev/null 2>&1
	done
	fl_redis_stop
	if [ -n "$FL_SLOW_PID" ]; then
		lab_kill_pid "$FL_SLOW_PID"
		wait "$FL_SLOW_PID" 2>/dev/null
		FL_SLOW_PID=
	fi
	for ns in mxl-gw2 mxl-gw3; do
		lab_sweep_ns "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	lab_down
}

on_signal() {
	trap - EXIT INT TERM
	echo "FAIL: fleet ${SCEN:-setup} interrupted: signal $(kill -l $(($1 - 128)))"
	FAILS=$((FAILS + 1))
	fl_down
	echo "fleet: $PASSES passed, $FAILS failed"
	exit "$1"
}
trap 'fl_down' EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# --- the world --------------------------------------------------------

# fl_net_up GW - namespace mxl-gwN, a veth pair to mxl-mx (vgwN there),
# 203.0.113.(16(N-1)+2)/28 and 2001:db8:fN::2/64, default routes to mxl-mx,
# whose own addresses (the sinks, NSD, nginx, Redis) it then reaches
fl_net_up() {
	local g=$1 n=${1#gw} ns=${FL_NS[$1]} i
	local mx4=203.0.113.$((16 * (n - 1) + 1)) gw4=203.0.113.$((16 * (n - 1) + 2))
	local mx6=2001:db8:f$n::1 gw6=2001:db8:f$n::2
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
	ip -n "$LAB_NS_MX" link add "v$g" type veth peer name veth0 netns "$ns" || return 1
	ip -n "$LAB_NS_MX" addr add "$mx4/28" dev "v$g" || return 1
	ip -n "$LAB_NS_MX" addr add "$mx6/64" dev "v$g" nodad || return 1
	ip -n "$ns" addr add "$gw4/28" dev veth0 || return 1
	ip -n "$ns" addr add "$gw6/64" dev veth0 nodad || return 1
	ip -n "$LAB_NS_MX" link set "v$g" up || return 1
	ip -n "$ns" link set veth0 up || return 1
	ip -n "$ns" route add default via "$mx4" || return 1
	ip -n "$ns" -6 route add default via "$mx6" || return 1
	for i in $(seq 50); do
		! ip -n "$ns" -6 addr show tentative | grep -q inet6 &&
			ip -n "$ns" link show veth0 | grep -q 'state UP' && return 0
		sleep 0.1
	done
	lab_log "veth of $ns did not come up in time"
	return 1
}

# fl_postfix_up GW - its Postfix: the lab Postfix's configuration with
# its own queue, data directory and maillog, started in its namespace
fl_postfix_up() {
	local g=$1 d=$LAB_DIR/$1/postfix t f i out=$LAB_DIR/log/postfix-start-$1.log
	mkdir -p "$d/etc" "$d/spool"
	chown root:root "$d" "$d/etc" "$d/spool"
	chmod 755 "$d" "$d/etc" "$d/spool"
	t=$(cat "$PF_ETC/main.cf") || return 1
	t=${t//"$LAB_DIR/postfix/"/"$d/"}
	t=${t//"$LAB_DIR/log/maillog"/"$LAB_DIR/log/maillog-$g"}
	printf '%s\n' "$t" >"$d/etc/main.cf"
	for f in master.cf transport vmailbox; do cp "$PF_ETC/$f" "$d/etc/$f" || return 1; done
	FL_ETC[$g]=$d/etc
	FL_MAILLOG[$g]=$LAB_DIR/log/maillog-$g
	: >"${FL_MAILLOG[$g]}"
	postfix -c "$d/etc" check >>"$out" 2>&1 || return 1
	ip netns exec "${FL_NS[$g]}" postfix -c "$d/etc" start >>"$out" 2>&1 9>&- || return 1
	for i in $(seq 100); do
		postfix -c "$d/etc" status >/dev/null 2>&1 && [ -S "$d/spool/public/pickup" ] &&
			[ -S "$d/spool/public/qmgr" ] && return 0
		sleep 0.1
	done
	return 1
}

# fl_redis_conf - Redis's configuration (no persistence, a password)
fl_redis_conf() {
	FL_RDIR=$LAB_DIR/redis
	FL_RSOCK=$FL_RDIR/redis.sock
	mkdir -p "$FL_RDIR"
	chmod 755 "$FL_RDIR"
	FL_RPASS=$(openssl rand -hex 16) || return 1
	(umask 077; printf '%s\n' "$FL_RPASS" >"$FL_RDIR/password")
	cat >"$FL_RDIR/redis.conf" <<EOF
# Generated by tests/lab/fleet_test.sh: the fleet's shared MTA-STS cache
bind $FL_REDIS_V4
port $FL_REDIS_PORT
protected-mode yes
unixsocket $FL_RSOCK
unixsocketperm 770
requirepass $FL_RPASS
daemonize no
supervised no
pidfile $FL_RDIR/redis.pid
logfile ""
dir $FL_RDIR
save ""
appendonly no
databases 16
EOF
}

# fl_rcli ARGS... - redis-cli on the unix socket, DB 3, with the password
fl_rcli() {
	REDISCLI_AUTH=$FL_RPASS redis-cli -s "$FL_RSOCK" -n "$FL_REDIS_DB" --raw "$@" 2>&1
}

# fl_redis_start - redis-server in mxl-mx; waits until it answers PING
fl_redis_start() {
	local i
	echo "=== $(date -u +%FT%TZ) start" >>"$LAB_DIR/log/redis.log"
	ip netns exec "$LAB_NS_MX" redis-server "$FL_RDIR/redis.conf" \
		</dev/null >>"$LAB_DIR/log/redis.log" 2>&1 9>&- &
	FL_REDIS_PID=$!
	for i in $(seq 100); do
		[ "$(fl_rcli PING)" = PONG ] && return 0
		kill -0 "$FL_REDIS_PID" 2>/dev/null || break
		sleep 0.05
	done
	lab_log "redis-server did not answer PING: $(tail -n 3 "$LAB_DIR/log/redis.log")"
	return 1
}

# fl_redis_stop - SIGTERM (no save: save "") and wait; SIGCONT first
# when redis-stalled left it stopped (FL_REDIS_STOPPED)
FL_REDIS_STOPPED=
fl_redis_stop() {
	[ -n "$FL_REDIS_PID" ] || return 0
	[ -z "$FL_REDIS_STOPPED" ] || kill -CONT "$FL_REDIS_PID" 2>/dev/null
	FL_REDIS_STOPPED=
	lab_kill_pid "$FL_REDIS_PID"
	wait "$FL_REDIS_PID" 2>/dev/null
	FL_REDIS_PID=
}

# fl_slow_up - reload.sts.example's policy through py/slowpolicy.py (an
# answer after FL_SLOW_DELAY s): nginx proxies that vhost's policy file
# to it; nginx restarted with the edited configuration
fl_slow_up() {
	local conf=$LAB_DIR/dns/https/nginx.conf i
	ip netns exec "$LAB_NS_MX" "$LAB_PY" "$LAB_PY_DIR/slowpolicy.py" \
		--listen "127.0.0.1:$FL_SLOW_PORT" --file "$(lab_sts_file "$DB")" \
		--delay "$FL_SLOW_DELAY" --pidfile "$LAB_DIR/run/slowpolicy.pid" \
		</dev/null >>"$LAB_DIR/log/slowpolicy.log" 2>&1 9>&- &
	FL_SLOW_PID=$!
	awk -v host="mta-sts.$DB;" -v port="$FL_SLOW_PORT" '
	$1 == "server_name" { inside = ($2 == host) }
	{ print }
	inside && $1 == "location" && $3 == "/.well-known/mta-sts.txt" {
		printf "\t\t\tproxy_pass http://127.0.0.1:%s;\n", port; done = 1 }
	END { exit !done }' "$conf" >"$conf.new" || return 1
	mv -f "$conf.new" "$conf"
	for i in $(seq 100); do
		[ -s "$LAB_DIR/run/slowpolicy.pid" ] && break
		sleep 0.05
	done
	[ -s "$LAB_DIR/run/slowpolicy.pid" ] || return 1
	lab_https_stop
	lab_https_start
}

# fl_conf_write GW LINE... - GW's mxtlsd.conf: the lab's base with each
# "key = value" LINE in place of the base's line for that key, or appended
fl_conf_write() {
	local g=$1
	shift
	FL_CONF[$g]=$LAB_DIR/$g/mxtlsd.conf
	printf '%s\n' "$@" | awk '
	NR == FNR { if ($0 == "") next; k = $0; sub(/[ \t]*=.*/, "", k); want[k] = $0; order[++n] = k; next }
	{ k = $0; sub(/[ \t]*=.*/, "", k)
	  if (k in want && !(k in done)) { print want[k]; done[k] = 1; next }
	  print }
	END { for (i = 1; i <= n; i++) if (!(order[i] in done)) print want[order[i]] }
	' - "$LAB_DIR/mxtlsd.conf.base" >"${FL_CONF[$g]}"
}

# fl_gw_conf GW - GW's own directories, gateway_id and shared cache
fl_gw_conf() {
	local g=$1 cache=disk
	mkdir -p "$LAB_DIR/$g/sts" "$LAB_DIR/$g/journal" "$LAB_DIR/$g/report-state"
	FL_LOG[$g]=$LAB_DIR/log/mxtlsd-$g.log
	if [ -n "$FL_REDIS" ]; then
		case $g in
		gw1) cache=redis://$FL_REDIS_V4:$FL_REDIS_PORT/$FL_REDIS_DB ;;
		gw2) cache=redis://$FL_REDIS_V4/$FL_REDIS_DB ;;
		gw3) cache="unix:$FL_RSOCK?db=$FL_REDIS_DB" ;;
		esac
		fl_conf_write "$g" "sts_cache_dir = $LAB_DIR/$g/sts" \
			"journal_dir = $LAB_DIR/$g/journal" \
			"report_state_dir = $LAB_DIR/$g/report-state" \
			"report_mail_command = /usr/sbin/sendmail -C ${FL_ETC[$g]} -t -i" \
			"gateway_id = $g" "sts_cache = $cache" \
			"sts_cache_redis_password_file = $FL_RDIR/password" \
			"sts_cache_redis_timeout = 1s"
	else
		fl_conf_write "$g" "sts_cache_dir = $LAB_DIR/$g/sts" \
			"journal_dir = $LAB_DIR/$g/journal" \
			"report_state_dir = $LAB_DIR/$g/report-state" \
			"report_mail_command = /usr/sbin/sendmail -C ${FL_ETC[$g]} -t -i" \
			"gateway_id = $g"
	fi
}

# fl_mxtlsd_start GW - its mxtlsd in its namespace; waits until it listens
fl_mxtlsd_start() {
	local g=$1 ns=${FL_NS[$1]} i ss
	echo "=== $(date -u +%FT%TZ) start $MXTLSD -f -c ${FL_CONF[$g]}" >>"${FL_LOG[$g]}"
	FL_STATUS[$g]=
	ASAN_OPTIONS=$LAB_ASAN_OPTIONS UBSAN_OPTIONS=$LAB_UBSAN_OPTIONS \
		ip netns exec "$ns" "$MXTLSD" -f -c "${FL_CONF[$g]}" \
		</dev/null >>"${FL_LOG[$g]}" 2>&1 9>&- &
	FL_PID[$g]=$!
	for i in $(seq 100); do
		if ! kill -0 "${FL_PID[$g]}" 2>/dev/null; then
			wait "${FL_PID[$g]}"
			FL_STATUS[$g]=$?
			FL_PID[$g]=
			return 1
		fi
		ss=$(ip netns exec "$ns" ss -Hltn)
		grep -q " 127\.0\.0\.1:$LAB_PORT " <<<"$ss" && grep -q " \[::1\]:$LAB_PORT " <<<"$ss" &&
			return 0
		sleep 0.1
	done
	return 1
}

# fl_mxtlsd_stop GW - SIGTERM, wait (shutdown_timeout + 5 s), else SIGKILL;
# 0 when it exited by itself (FL_STATUS[GW] = its status)
fl_mxtlsd_stop() {
	local g=$1 pid=${FL_PID[$1]} end
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	end=$(( $(lab_now_ms) + (LAB_MXTLSD_SHUTDOWN_TIMEOUT + 5) * 1000 ))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(lab_now_ms)" -ge $end ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			FL_STATUS[$g]=$?
			FL_PID[$g]=
			return 1
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	FL_STATUS[$g]=$?
	FL_PID[$g]=
	return 0
}

# fl_metric GW SERIES - the value of SERIES on GW's /metrics (nothing when
# the series is missing or /metrics does not answer)
fl_metric() {
	ip netns exec "${FL_NS[$1]}" curl -s --max-time 3 "http://$FL_METRICS/metrics" 2>/dev/null |
		awk -v s="$2" '$1 == s { print $2; exit }'
}

# fl_num VALUE - is VALUE a number (digits, maybe a fraction)?
fl_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# fl_metric_sum SERIES - SERIES summed over the three gateways (a missing
# one counts as nothing: "x" is printed instead of a number)
fl_metric_sum() {
	local g v s=0
	for g in $FL_GWS; do
		v=$(fl_metric "$g" "$1")
		fl_num "$v" || { echo x; return; }
		s=$((s + ${v%.*}))
	done
	echo "$s"
}

# --- sending ------------------------------------------------------------

# fl_prep GW DOMAIN - the next message to $SCEN-N-$RUNID@DOMAIN for GW's
# Postfix: its file, recipient, Message-ID and the log offsets
FL_SEQ=0
fl_prep() {
	local g=$1 d=$2
	FL_SEQ=$((FL_SEQ + 1))
	F_RCPT[$g]="$SCEN-$FL_SEQ-$RUNID@$d"
	F_MSGID[$g]="$SCEN.$FL_SEQ.$RUNID@mta.lab.example"
	F_FILE[$g]=$LAB_DIR/work/$SCEN.$FL_SEQ.msg
	F_OFF[$g]=$(lab_log_size "${FL_LOG[$g]}")
	F_MOFF[$g]=$(lab_log_size "${FL_MAILLOG[$g]}")
	F_QID[$g]='' F_STATUS[$g]='' F_LINES[$g]='' F_MS[$g]=''
	lab_tool gen-message "${F_FILE[$g]}" --from sender@mta.lab.example --to "${F_RCPT[$g]}" \
		--subject "fleet $SCEN $g $RUNID" --msgid "${F_MSGID[$g]}" --size 0
}

# fl_post GW - submit GW's prepared message with its Postfix's sendmail
# (no waiting; output in log/submit-GW.log)
fl_post() {
	ip netns exec "${FL_NS[$1]}" /usr/sbin/sendmail -C "${FL_ETC[$1]}" -i \
		-f sender@mta.lab.example -- "${F_RCPT[$1]}" <"${F_FILE[$1]}" \
		>"$LAB_DIR/log/submit-$1.log" 2>&1 9>&-
}

# fl_submit GW DOMAIN - fl_prep and fl_post
fl_submit() {
	fl_prep "$1" "$2"
	if ! fl_post "$1"; then
		fail "submit-$1$CK" "sendmail -C ${FL_ETC[$1]} failed: $(cat "$LAB_DIR/log/submit-$1.log")"
		return 1
	fi
}

# fl_wait GW - Postfix's status line for GW's last message (20 s)
fl_wait() {
	local g=$1 end qid l
	end=$(( $(lab_now_ms) + 20000 ))
	while :; do
		qid=$(grep -F "message-id=<${F_MSGID[$g]}>" "${FL_MAILLOG[$g]}" 2>/dev/null | tail -n 1 |
			sed -n 's/.*: \([0-9A-F]\{6,\}\): message-id=.*/\1/p')
		if [ -n "$qid" ]; then
			l=$(lab_grep_after "${FL_MAILLOG[$g]}" "${F_MOFF[$g]}" \
				"$qid: to=<$(lab_req "${F_RCPT[$g]}")>.* status=" | head -n 1)
			[ -n "$l" ] && break
		fi
		if [ "$(lab_now_ms)" -ge $end ]; then
			fail "postfix-status-$g$CK" "no status line for <${F_RCPT[$g]}> (queue id ${qid:-none}) within 20 s"
			return 1
		fi
		sleep 0.1
	done
	F_QID[$g]=$qid F_STATUS[$g]=$l
}

# fl_check GW ID - GW's last message: Postfix got 250, the message is at
# the domain's MX sink once, received over TLS; GW's mxtlsd session
# applied the MTA-STS enforce policy ID and verified the MX under it.
# F_LINES[GW] = the session's lines, F_MS[GW] = its lookup time (ms).
fl_check() {
	local g=$1 id=$2 rcpt=${F_RCPT[$1]} d host ip tls where sid re
	d=${rcpt#*@}
	read -r host ip <<<"${FL_MX[$d]}"
	case ${F_STATUS[$g]} in
	*" status=sent (250 "*) pass "postfix-sent-$g$CK" ;;
	*) fail "postfix-sent-$g$CK" "Postfix did not log status=sent (250 ...) for <$rcpt>: ${F_STATUS[$g]#*: }"; return 1 ;;
	esac
	if ! lab_wait_msg "$LAB_DIR/mail/$ip" "$rcpt" 10; then
		fail "delivered-$g$CK" "no message for <$rcpt> at the sink $ip; stored: $(lab_where "$rcpt" | tr '\n' ' ')"
		return 1
	fi
	where=$(lab_where "$rcpt")
	if [ "$where" = "$ip $LAB_MSG" ]; then pass "delivered-once-$g$CK"
	else fail "delivered-once-$g$CK" "copies of <$rcpt> (sink number): $(echo "$where" | tr '\n' ' ')"; fi
	tls=$(lab_tool json-get "$LAB_DIR/mail/$ip/$LAB_MSG.json" tls)
	case $tls in
	TLSv1.2|TLSv1.3) pass "mx-tls-$g$CK" ;;
	*) fail "mx-tls-$g$CK" "the MX saw tls=$tls, expected TLSv1.2 or TLSv1.3" ;;
	esac
	FL_SENT["$g $d"]=$(( ${FL_SENT["$g $d"]:-0} + 1 ))
	# mxtlsd's session: its policy summary, the policy, the verified MX
	if ! lab_wait_grep_after "${FL_LOG[$g]}" "${F_OFF[$g]}" \
		": [0-9A-F]+: policy lookups for $(lab_req "$d") took " 5; then
		fail "mxtlsd-session-$g$CK" "no \"policy lookups for $d\" line in ${FL_LOG[$g]}"
		return 1
	fi
	sid=$(echo "$LAB_MATCH" | sed -n 's/^[^ ]* [^ ]* \([0-9A-F]*\): policy lookups.*/\1/p')
	F_MS[$g]=$(echo "$LAB_MATCH" | sed -n 's/.* took \([0-9]*\)\(\.[0-9]*\)\{0,1\} ms: .*/\1/p')
	if [ -z "$sid" ] || ! lab_wait_grep_after "${FL_LOG[$g]}" "${F_OFF[$g]}" ": $sid: disconnect from " 5; then
		fail "mxtlsd-session-$g$CK" "session ${sid:-?} (policy lookup for $d) did not end within 5 s"
		return 1
	fi
	F_LINES[$g]=$(lab_grep_after "${FL_LOG[$g]}" "${F_OFF[$g]}" ": $sid: ")
	re="$(lab_req ": policy lookups for $d took ")[0-9.]+ ms: mta-sts enforce\$"
	if grep -Eq -- "$re" <<<"${F_LINES[$g]}"; then pass "mta-sts-enforce-$g$CK"
	else fail "mta-sts-enforce-$g$CK" "session $sid did not sum up $d's policy as \"mta-sts enforce\": $(grep -m1 -F 'policy lookups' <<<"${F_LINES[$g]}")"; fi
	re="$(lab_req ": mta-sts policy for $d: id $id, mode enforce, mx ${FL_PAT[$d]}")( \\.\\.\\.)?(, cached)?\$"
	if grep -Eq -- "$re" <<<"${F_LINES[$g]}"; then pass "policy-id-$id-$g$CK"
	else fail "policy-id-$id-$g$CK" "session $sid did not apply policy id $id (enforce, mx ${FL_PAT[$d]}): $(grep -m1 -F ": mta-sts policy for $d:" <<<"${F_LINES[$g]}")"; fi
	re="$(lab_req "Verified TLS connection established to ${host}[$ip]:25: ")TLSv1\\.[23] .*$(lab_req "(MTA-STS enforce, policy id $id)")\$"
	if grep -Eq -- "$re" <<<"${F_LINES[$g]}"; then pass "verified-$g$CK"
	else fail "verified-$g$CK" "session $sid has no Verified TLS connection to ${host}[$ip]:25 under MTA-STS policy id $id"; fi
}

# fl_send GW DOMAIN ID - fl_submit, fl_wait, fl_check
fl_send() {
	fl_submit "$1" "$2" && fl_wait "$1" && fl_check "$1" "$3"
}

# --- what was fetched ---------------------------------------------------

# fl_gets DOMAIN OFFSET - GETs of DOMAIN's policy in the policy host's
# access log after OFFSET
fl_gets() {
	lab_grep_after "$(lab_https_log)" "$2" \
		" $(lab_req "mta-sts.$1") \"GET /\\.well-known/mta-sts\\.txt HTTP/1\\.[01]\" " | wc -l
}

# fl_fetch_kind GW DOMAIN ID - what GW's log says since its last
# fl_submit: "fetched" (it fetched policy ID), "shared" (another gateway
# fetched it, and GW did not), "both", or "none"
fl_fetch_kind() {
	local g=$1 f s
	f=$(lab_grep_after "${FL_LOG[$g]}" "${F_OFF[$g]}" \
		"$(lab_req "mta-sts: policy for $2 fetched: id $3,")" | wc -l)
	s=$(lab_grep_after "${FL_LOG[$g]}" "${F_OFF[$g]}" \
		"$(lab_req "mta-sts: policy for $2: another gateway fetched it")" | wc -l)
	if [ "$f" -gt 0 ] && [ "$s" -gt 0 ]; then echo both
	elif [ "$f" -gt 0 ]; then echo fetched
	elif [ "$s" -gt 0 ]; then echo shared
	else echo none; fi
}

# fl_one_fetch DOMAIN ID HOFF FETCHER|any - one GET of DOMAIN's policy
# since HOFF; FETCHER (or any one gateway) logged the fetch of ID, the two
# others "another gateway fetched it" and no fetch
fl_one_fetch() {
	local d=$1 id=$2 n g k who= others= kinds=
	# nginx logs a request when it is done: the sessions that used it are
	lab_wait_grep_after "$(lab_https_log)" "$3" " $(lab_req "mta-sts.$d") " 2
	n=$(fl_gets "$d" "$3")
	if [ "$n" = 1 ]; then pass "one-get$CK"
	else fail "one-get$CK" "the policy host was asked $n times for mta-sts.$d's policy (want 1 for the fleet)"; fi
	for g in $FL_GWS; do
		k=$(fl_fetch_kind "$g" "$d" "$id")
		kinds="$kinds, $g $k"
		case $k in
		fetched) who="$who $g" ;;
		shared) others="$others $g" ;;
		esac
	done
	who=${who# } others=${others# } kinds=${kinds#, }
	if [ "$4" = any ]; then
		case $who in
		gw[123]) pass "one-fetcher$CK" ;;
		*) fail "one-fetcher$CK" "want exactly one gateway to log \"mta-sts: policy for $d fetched: id $id\"; per gateway: $kinds" ;;
		esac
	elif [ "$who" = "$4" ]; then pass "fetched-by-$4$CK"
	else fail "fetched-by-$4$CK" "want $4 alone to log \"mta-sts: policy for $d fetched: id $id\"; per gateway: $kinds"; fi
	if [ "$(wc -w <<<"$others")" = 2 ]; then pass "two-shared$CK"
	else fail "two-shared$CK" "want the two others to log \"mta-sts: policy for $d: another gateway fetched it\" and no fetch; per gateway: $kinds"; fi
}

# fl_redis_entry CHECK DOMAIN ID - Redis holds mxtls:sts:DOMAIN: the cache
# file's text for policy ID (first lines "mxtls-sts 1", "domain: DOMAIN",
# "id: ID"), with an expiry
fl_redis_entry() {
	local v ttl
	v=$(fl_rcli GET "mxtls:sts:$2")
	case $v in
	"mxtls-sts 1"$'\n'"domain: $2"$'\n'"id: $3"$'\n'*) pass "$1$CK" ;;
	*) fail "$1$CK" "GET mxtls:sts:$2 (db $FL_REDIS_DB): $(head -c 200 <<<"${v:-nothing}" | tr '\n' '|') (want \"mxtls-sts 1|domain: $2|id: $3|...\")"; return 1 ;;
	esac
	ttl=$(fl_rcli PTTL "mxtls:sts:$2")
	case $ttl in
	''|-*|*[!0-9]*) fail "$1-expiry$CK" "PTTL mxtls:sts:$2 = ${ttl:-nothing} (want an expiry)" ;;
	*) pass "$1-expiry$CK" ;;
	esac
}

# fl_wait_log GW ERE OFFSET TIMEOUT - GW's log has a line matching ERE
# after OFFSET within TIMEOUT s
fl_wait_log() { lab_wait_grep_after "${FL_LOG[$1]}" "$3" "$2" "$4"; }

# --- the run -----------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
	echo "FAIL: fleet setup root: the lab needs root (network namespaces, iptables)"
	echo "fleet: 0 passed, 1 failed"
	exit 1
fi
for c in redis-server redis-cli curl; do
	if ! command -v "$c" >/dev/null; then
		echo "FAIL: fleet setup $c: missing (sh scripts/deps.sh check installs it: redis-server, redis-tools, curl)"
		echo "fleet: 0 passed, 1 failed"
		exit 1
	fi
done
t0=$(date +%s)
setup_failed() {
	fail "$1" "$2"
	dump_logs
	fl_down
	trap - EXIT INT TERM
	echo "fleet: $PASSES passed, $FAILS failed"
	exit 1
}
if ! lab_up; then
	FAILS=$((FAILS + 1))
	fl_down
	trap - EXIT INT TERM
	echo "fleet: $PASSES passed, $FAILS failed"
	exit 1
fi
pass lab-up
# the lab's own mxtlsd makes way for gw1's
lab_mxtlsd_stop
# leftovers of a killed run (the lab lock is ours now)
for ns in mxl-gw2 mxl-gw3; do
	if lab_ns_exists "$ns"; then
		lab_sweep_ns "$ns"
		ip netns del "$ns" 2>/dev/null
	fi
done
FL_ETC[gw1]=$PF_ETC
FL_MAILLOG[gw1]=$LAB_DIR/log/maillog
for g in gw2 gw3; do
	fl_net_up "$g" || setup_failed "net-$g" "the namespace ${FL_NS[$g]} and its veth did not come up"
	fl_postfix_up "$g" || setup_failed "postfix-$g" "$(tail -n 5 "$LAB_DIR/log/postfix-start-$g.log")"
	if ! ip netns exec "${FL_NS[$g]}" "$LAB_REPO/iptables/mxtls-iptables" install --local \
		--port "$LAB_PORT" --mark "$LAB_MARK" >>"$LAB_DIR/log/iptables-$g.log" 2>&1; then
		setup_failed "iptables-$g" "$(tail -n 5 "$LAB_DIR/log/iptables-$g.log")"
	fi
done
pass gateways-up
ip -n "$LAB_NS_MX" addr add "$FL_REDIS_V4/24" dev veth0 || setup_failed redis-address "ip addr add $FL_REDIS_V4"
fl_redis_conf || setup_failed redis-conf "openssl rand failed"
fl_redis_start || setup_failed redis-start "$(tail -n 5 "$LAB_DIR/log/redis.log")"
pass redis-up
for g in gw2 gw3; do
	out=$(REDISCLI_AUTH=$FL_RPASS ip netns exec "${FL_NS[$g]}" redis-cli -h "$FL_REDIS_V4" \
		-p "$FL_REDIS_PORT" PING 2>&1)
	if [ "$out" = PONG ]; then pass "redis-reachable-$g"
	else fail "redis-reachable-$g" "redis-cli -h $FL_REDIS_V4 PING from ${FL_NS[$g]}: $out"; fi
done
fl_slow_up || setup_failed slow-policy-host "py/slowpolicy.py or nginx: $(tail -n 3 "$LAB_DIR/log/slowpolicy.log" "$LAB_DIR/log/https.log")"
pass slow-policy-host
if "$MXTLSD" -n 2>/dev/null | grep -q '^sts_cache ='; then
	FL_REDIS=1
	pass sts_cache-key
else
	fail sts_cache-key "$MXTLSD -n has no sts_cache key (no shared cache in this build): the phases run with sts_cache = disk"
fi
for g in $FL_GWS; do
	fl_gw_conf "$g"
	if ! "$MXTLSD" -n -c "${FL_CONF[$g]}" >"$LAB_DIR/log/mxtlsd-n-$g.log" 2>&1; then
		setup_failed "mxtlsd-config-$g" "mxtlsd -n -c ${FL_CONF[$g]}: $(tail -n 3 "$LAB_DIR/log/mxtlsd-n-$g.log")"
	fi
	fl_mxtlsd_start "$g" || setup_failed "mxtlsd-$g" "$(tail -n 5 "${FL_LOG[$g]}")"
done
pass mxtlsd-up
if [ -n "$FL_REDIS" ]; then
	for g in $FL_GWS; do
		case $g in gw3) a=$FL_RSOCK ;; *) a=$FL_REDIS_V4:$FL_REDIS_PORT ;; esac
		if fl_wait_log "$g" "$(lab_req "sts cache: redis $a: connected; the MTA-STS cache is shared")" 0 5; then
			pass "redis-connected-$g"
		else
			fail "redis-connected-$g" "no \"sts cache: redis $a: connected; ...\" line: $(grep -m1 'sts cache: redis' "${FL_LOG[$g]}")"
		fi
		v=
		for i in $(seq 30); do
			v=$(fl_metric "$g" mxtls_sts_redis_up)
			[ "$v" = 1 ] && break
			sleep 0.1
		done
		if [ "$v" = 1 ]; then pass "redis-up-metric-$g"
		else fail "redis-up-metric-$g" "mxtls_sts_redis_up is ${v:-missing} on $g (want 1)"; fi
	done
fi
lab_log "fleet: mxtlsd $MXTLSD; gateways in ${FL_NS[gw1]} ${FL_NS[gw2]} ${FL_NS[gw3]}; Redis $FL_REDIS_V4:$FL_REDIS_PORT and $FL_RSOCK"
[ -n "$SCEN_FAILED" ] && dump_logs

# 1. sequential: gw1 fetches, gw2 and gw3 take it from Redis
fl_phase sequential
shared0=$(fl_metric_sum mxtls_sts_redis_shared_total)
hoff=$(lab_log_size "$(lab_https_log)")
for g in $FL_GWS; do fl_send "$g" "$DA" enforce1; done
fl_one_fetch "$DA" enforce1 "$hoff" gw1
if [ -n "$FL_REDIS" ]; then
	fl_redis_entry redis-entry "$DA" enforce1
	shared1=$(fl_metric_sum mxtls_sts_redis_shared_total)
	if [ "$shared0" != x ] && [ "$shared1" != x ] && [ $((shared1 - shared0)) = 2 ]; then pass shared-metric
	else fail shared-metric "mxtls_sts_redis_shared_total over the fleet went from $shared0 to $shared1 (want +2)"; fi
fi
[ -n "$SCEN_FAILED" ] && dump_logs


# 2. concurrent: all three at once, a policy host that takes 2 s
fl_phase concurrent
shared0=$(fl_metric_sum mxtls_sts_redis_shared_total)
hoff=$(lab_log_size "$(lab_https_log)")
declare -A SUB=()
for g in $FL_GWS; do fl_prep "$g" "$DB"; done
for g in $FL_GWS; do fl_post "$g" & SUB[$g]=$!; done
for g in $FL_GWS; do
	if wait "${SUB[$g]}"; then pass "submit-$g"
	else fail "submit-$g" "sendmail -C ${FL_ETC[$g]} failed: $(cat "$LAB_DIR/log/submit-$g.log")"; fi
done
for g in $FL_GWS; do fl_wait "$g" && fl_check "$g" reload1; done
fl_one_fetch "$DB" reload1 "$hoff" any
# the fetch took the policy host's 2 s, and the three lookups overlapped
# in time (else this phase proves nothing about the lock): the latest
# start (the end, from the log line's time, less what it took) came
# before the earliest end
fms= ov=$(for g in $FL_GWS; do
	grep -m1 -F ": policy lookups for $DB took " <<<"${F_LINES[$g]}"
done | "$LAB_PY" -c '
import datetime, re, sys
iv = []
for l in sys.stdin:
    m = re.match(r"(\S+) .* took ([0-9.]+) ms: ", l)
    if m:
        end = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
        iv.append((end - float(m.group(2)), end))
if len(iv) != 3:
    print("only %d lookup lines" % len(iv))
elif max(a for a, b in iv) < min(b for a, b in iv):
    print("ok")
else:
    print("intervals (ms, relative): " + ", ".join("%d-%d" % (a - iv[0][0], b - iv[0][0]) for a, b in iv))
')
for g in $FL_GWS; do
	[ "$(fl_fetch_kind "$g" "$DB" reload1)" = fetched ] && fms=${F_MS[$g]}
done
if [ -n "$fms" ] && [ "$fms" -ge $((FL_SLOW_DELAY * 1000 - 100)) ]; then pass slow-fetch
else fail slow-fetch "the fetching gateway's policy lookups took ${fms:-?} ms (the policy host answers after ${FL_SLOW_DELAY} s)"; fi
if [ "$ov" = ok ]; then pass lookups-overlapped
else fail lookups-overlapped "the three policy lookups for $DB did not overlap: $ov"; fi
if [ -n "$FL_REDIS" ]; then
	fl_redis_entry redis-entry "$DB" reload1
	shared1=$(fl_metric_sum mxtls_sts_redis_shared_total)
	if [ "$shared0" != x ] && [ "$shared1" != x ] && [ $((shared1 - shared0)) = 2 ]; then pass shared-metric
	else fail shared-metric "mxtls_sts_redis_shared_total over the fleet went from $shared0 to $shared1 (want +2)"; fi
	# the fetch lock is short: gone once the fetch is done
	for i in $(seq 50); do
		v=$(fl_rcli EXISTS "mxtls:sts-lock:$DB")
		[ "$v" = 0 ] && break
		sleep 0.2
	done
	if [ "$v" = 0 ]; then pass lock-gone
	else fail lock-gone "mxtls:sts-lock:$DB still there 10 s after the fetch (EXISTS: $v, PTTL: $(fl_rcli PTTL "mxtls:sts-lock:$DB"))"; fi
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 3. an id change (and a new policy text): one fetch, all three apply it
fl_phase idchange
lab_sts_publish "$DA" enforce good1.sts.example good2.sts.example
if lab_sts_txt "$DA" enforce2; then pass txt-new-id
else fail txt-new-id "sts-txt.sh $DA enforce2: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
# the old TXT record (TTL 1 s) must have expired from each resolver
sleep 2.1
hoff=$(lab_log_size "$(lab_https_log)")
for g in gw2 gw1 gw3; do
	fl_send "$g" "$DA" enforce2 || continue
	if grep -Eq -- "$(lab_req ": mta-sts policy for $DA: id enforce2, mode enforce, mx good1.sts.example ...")" <<<"${F_LINES[$g]}"; then
		pass "new-policy-text-$g"
	else
		fail "new-policy-text-$g" "the policy $g applied is not the new one (two mx patterns): $(grep -m1 -F ": mta-sts policy for $DA:" <<<"${F_LINES[$g]}")"
	fi
done
fl_one_fetch "$DA" enforce2 "$hoff" gw2
if [ -n "$FL_REDIS" ] && fl_redis_entry redis-entry "$DA" enforce2; then
	if grep -qx 'mx: good2.sts.example' <<<"$(fl_rcli GET "mxtls:sts:$DA")"; then pass redis-entry-new-text
	else fail redis-entry-new-text "mxtls:sts:$DA lacks the new policy's \"mx: good2.sts.example\""; fi
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 4. Redis stopped: the cached policies still enforced, own fetches
fl_phase redis-down
declare -A FB0=() ROFF=()
for g in $FL_GWS; do
	FB0[$g]=$(fl_metric "$g" mxtls_sts_redis_fallbacks_total)
	ROFF[$g]=$(lab_log_size "${FL_LOG[$g]}")
done
fl_redis_stop
if [ "$(fl_rcli PING)" != PONG ]; then pass redis-stopped
else fail redis-stopped "Redis still answers PING"; fi
hoff=$(lab_log_size "$(lab_https_log)")
CK=-cached
for g in $FL_GWS; do
	fl_send "$g" "$DA" enforce2 || continue
	k=$(fl_fetch_kind "$g" "$DA" enforce2)
	if [ "$k" = none ]; then pass "no-fetch-$g$CK"
	else fail "no-fetch-$g$CK" "$g logged a fetch of $DA's policy ($k) although its cached policy applies"; fi
done
n=$(fl_gets "$DA" "$hoff")
if [ "$n" = 0 ]; then pass "no-get$CK"
else fail "no-get$CK" "the policy host was asked $n times for mta-sts.$DA's policy (the cached one applies)"; fi
CK=-own-fetch
hoff=$(lab_log_size "$(lab_https_log)")
for g in $FL_GWS; do
	fl_send "$g" "$DC" wild1 || continue
	k=$(fl_fetch_kind "$g" "$DC" wild1)
	if [ "$k" = fetched ]; then pass "fetched-$g$CK"
	else fail "fetched-$g$CK" "$g did not fetch $DC's policy itself with Redis down ($k)"; fi
done
lab_wait_grep_after "$(lab_https_log)" "$hoff" " $(lab_req "mta-sts.$DC") " 2
n=$(fl_gets "$DC" "$hoff")
if [ "$n" = 3 ]; then pass "three-gets$CK"
else fail "three-gets$CK" "the policy host was asked $n times for mta-sts.$DC's policy (want 3: each gateway on its own)"; fi
CK=
if [ -n "$FL_REDIS" ]; then
	for g in $FL_GWS; do
		if fl_wait_log "$g" "sts cache: redis [^ ]+ unreachable \\(" "${ROFF[$g]}" 5; then pass "logged-unreachable-$g"
		else fail "logged-unreachable-$g" "no \"sts cache: redis ADDR unreachable (...)\" line"; fi
		v=
		for i in $(seq 50); do
			v=$(fl_metric "$g" mxtls_sts_redis_up)
			[ "$v" = 0 ] && break
			sleep 0.2
		done
		if [ "$v" = 0 ]; then pass "redis-up-metric-0-$g"
		else fail "redis-up-metric-0-$g" "mxtls_sts_redis_up is ${v:-missing} on $g (want 0)"; fi
		v=$(fl_metric "$g" mxtls_sts_redis_fallbacks_total)
		if fl_num "${FB0[$g]}" && fl_num "$v" && [ "${v%.*}" -gt "${FB0[$g]%.*}" ]; then pass "fallbacks-metric-$g"
		else fail "fallbacks-metric-$g" "mxtls_sts_redis_fallbacks_total did not grow (${FB0[$g]:-missing} before, ${v:-missing} now)"; fi
		lab_log "$g: mxtls_sts_redis_errors_total $(fl_metric "$g" mxtls_sts_redis_errors_total)"
	done
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 5. Redis back, empty: the gateways push what they hold (resync), and
# share again
fl_phase redis-back
for g in $FL_GWS; do ROFF[$g]=$(lab_log_size "${FL_LOG[$g]}"); done
if fl_redis_start; then pass redis-started
else fail redis-started "$(tail -n 3 "$LAB_DIR/log/redis.log")"; fi
if [ -n "$FL_REDIS" ]; then
	# reconnection backs off up to 10 s: allow 25 s in all
	end=$(( $(date +%s) + 25 ))
	for g in $FL_GWS; do
		if fl_wait_log "$g" "sts cache: redis [^ ]+: back after [0-9]+ s" "${ROFF[$g]}" $((end - $(date +%s))); then pass "logged-back-$g"
		else fail "logged-back-$g" "no \"sts cache: redis ADDR: back after N s\" line within 25 s of the restart"; fi
	done
	for d in "$DA" "$DB" "$DC"; do
		while [ -z "$(fl_rcli GET "mxtls:sts:$d")" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.2; done
	done
	fl_redis_entry "resync-$DA" "$DA" enforce2
	fl_redis_entry "resync-$DB" "$DB" reload1
	fl_redis_entry "resync-$DC" "$DC" wild1
	for g in $FL_GWS; do
		v=$(fl_metric "$g" mxtls_sts_redis_up)
		if [ "$v" = 1 ]; then pass "redis-up-metric-1-$g"
		else fail "redis-up-metric-1-$g" "mxtls_sts_redis_up is ${v:-missing} on $g (want 1)"; fi
	done
fi
CK=-shared-again
lab_sts_publish "$DC" enforce '*.wild.sts.example'
if lab_sts_txt "$DC" wild2; then pass "txt-new-id$CK"
else fail "txt-new-id$CK" "sts-txt.sh $DC wild2: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
sleep 2.1
hoff=$(lab_log_size "$(lab_https_log)")
for g in gw3 gw1 gw2; do fl_send "$g" "$DC" wild2; done
fl_one_fetch "$DC" wild2 "$hoff" gw3
CK=
[ -n "$SCEN_FAILED" ] && dump_logs

# 6. Redis stalled (SIGSTOP): connected but silent.  A request slower
# than sts_cache_redis_timeout (1 s) is Redis down: no session waits
# longer, each gateway fetches for itself
fl_phase redis-stalled
if [ -n "$FL_REDIS" ] && [ -n "$FL_REDIS_PID" ]; then
	declare -A EB0=()
	for g in $FL_GWS; do
		FB0[$g]=$(fl_metric "$g" mxtls_sts_redis_fallbacks_total)
		EB0[$g]=$(fl_metric "$g" mxtls_sts_redis_errors_total)
		ROFF[$g]=$(lab_log_size "${FL_LOG[$g]}")
	done
	if lab_sts_txt "$DA" enforce3; then pass txt-new-id
	else fail txt-new-id "sts-txt.sh $DA enforce3: $(tail -n 2 "$LAB_DIR/log/sts-txt.log")"; fi
	sleep 2.1
	kill -STOP "$FL_REDIS_PID"
	FL_REDIS_STOPPED=1
	hoff=$(lab_log_size "$(lab_https_log)")
	for g in $FL_GWS; do
		fl_send "$g" "$DA" enforce3 || continue
		k=$(fl_fetch_kind "$g" "$DA" enforce3)
		if [ "$k" = fetched ]; then pass "fetched-$g"
		else fail "fetched-$g" "$g did not fetch $DA's policy itself with Redis stalled ($k)"; fi
		if [ -n "${F_MS[$g]}" ] && [ "${F_MS[$g]}" -lt 4000 ]; then pass "lookup-not-held-$g"
		else fail "lookup-not-held-$g" "$g's policy lookups took ${F_MS[$g]:-?} ms with Redis stalled (sts_cache_redis_timeout 1 s, then a fetch)"; fi
	done
	lab_wait_grep_after "$(lab_https_log)" "$hoff" " $(lab_req "mta-sts.$DA") " 2
	n=$(fl_gets "$DA" "$hoff")
	if [ "$n" = 3 ]; then pass three-gets
	else fail three-gets "the policy host was asked $n times for mta-sts.$DA's policy (want 3: each gateway on its own)"; fi
	for g in $FL_GWS; do
		v=$(fl_metric "$g" mxtls_sts_redis_up)
		if [ "$v" = 0 ]; then pass "redis-up-metric-0-$g"
		else fail "redis-up-metric-0-$g" "mxtls_sts_redis_up is ${v:-missing} on $g (want 0)"; fi
		v=$(fl_metric "$g" mxtls_sts_redis_fallbacks_total)
		if fl_num "${FB0[$g]}" && fl_num "$v" && [ "${v%.*}" -gt "${FB0[$g]%.*}" ]; then pass "fallbacks-metric-$g"
		else fail "fallbacks-metric-$g" "mxtls_sts_redis_fallbacks_total did not grow (${FB0[$g]:-missing} before, ${v:-missing} now)"; fi
		v=$(fl_metric "$g" mxtls_sts_redis_errors_total)
		if fl_num "${EB0[$g]}" && fl_num "$v" && [ "${v%.*}" -gt "${EB0[$g]%.*}" ]; then pass "errors-metric-$g"
		else fail "errors-metric-$g" "mxtls_sts_redis_errors_total did not grow (${EB0[$g]:-missing} before, ${v:-missing} now)"; fi
	done
	# still stalled: a connection Redis's kernel accepts but Redis never
	# answers is no "back" (nor "connected"); "unreachable" at most once
	# (not at all when the outage before was said less than a minute ago)
	sleep 2
	declare -A SAID=()
	for g in $FL_GWS; do
		l=$(lab_grep_after "${FL_LOG[$g]}" "${ROFF[$g]}" "sts cache: redis [^ ]+: (back after |connected)" | head -n 1)
		if [ -z "$l" ]; then pass "no-back-while-stalled-$g"
		else fail "no-back-while-stalled-$g" "$g said Redis was back while it answered nothing: $l"; fi
		SAID[$g]=$(lab_grep_after "${FL_LOG[$g]}" "${ROFF[$g]}" "sts cache: redis [^ ]+ unreachable \\(" | wc -l)
		if [ "${SAID[$g]}" -le 1 ]; then pass "unreachable-said-at-most-once-$g"
		else fail "unreachable-said-at-most-once-$g" "$g logged \"unreachable\" ${SAID[$g]} times in one stall of a few seconds (once a minute at most)"; fi
		v=$(fl_metric "$g" mxtls_sts_redis_up)
		if [ "$v" = 0 ]; then pass "redis-up-metric-still-0-$g"
		else fail "redis-up-metric-still-0-$g" "mxtls_sts_redis_up is ${v:-missing} on $g while Redis answers nothing (want 0)"; fi
	done
	for g in $FL_GWS; do ROFF[$g]=$(lab_log_size "${FL_LOG[$g]}"); done
	kill -CONT "$FL_REDIS_PID"
	FL_REDIS_STOPPED=
	# reconnection backs off up to 10 s: allow 25 s in all
	end=$(( $(date +%s) + 25 ))
	for g in $FL_GWS; do
		v=
		while :; do
			v=$(fl_metric "$g" mxtls_sts_redis_up)
			[ "$v" = 1 ] || [ "$(date +%s)" -ge "$end" ] && break
			sleep 0.2
		done
		if [ "$v" = 1 ]; then pass "redis-up-metric-1-$g"
		else fail "redis-up-metric-1-$g" "mxtls_sts_redis_up is ${v:-missing} on $g 25 s after SIGCONT (want 1)"; fi
		# a "back" for each "unreachable" said
		[ "${SAID[$g]}" = 1 ] || continue
		if fl_wait_log "$g" "sts cache: redis [^ ]+: back after [0-9]+ s" "${ROFF[$g]}" 2; then pass "logged-back-$g"
		else fail "logged-back-$g" "no \"sts cache: redis ADDR: back after N s\" line after the stall's \"unreachable\""; fi
	done
else
	fail redis-stall "not run: no Redis (sts_cache) or Redis is not running"
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 7. gw3 restarted with a wrong password: never "connected", Redis down
# for it (AUTH refused), and it still delivers by its own cache (loaded
# from its sts_cache_dir at start)
fl_phase wrong-password
if [ -n "$FL_REDIS" ] && [ -n "$FL_REDIS_PID" ]; then
	if fl_mxtlsd_stop gw3 && [ "${FL_STATUS[gw3]}" = 0 ]; then pass stopped-gw3
	else fail stopped-gw3 "mxtlsd of gw3 exited with status ${FL_STATUS[gw3]:-?} after SIGTERM"; fi
	(umask 077; printf 'not-%s\n' "$FL_RPASS" >"$FL_RDIR/password.wrong")
	sed -i "s#^sts_cache_redis_password_file = .*#sts_cache_redis_password_file = $FL_RDIR/password.wrong#" "${FL_CONF[gw3]}"
	off=$(lab_log_size "${FL_LOG[gw3]}")
	if fl_mxtlsd_start gw3; then
		pass started-gw3
		if fl_wait_log gw3 "sts cache: redis [^ ]+ unreachable \\(.*WRONGPASS" "$off" 5; then pass logged-auth-refused
		else fail logged-auth-refused "no \"sts cache: redis ADDR unreachable (... WRONGPASS ...)\" line: $(lab_grep_after "${FL_LOG[gw3]}" "$off" 'sts cache: redis' | head -n 2)"; fi
		l=$(lab_grep_after "${FL_LOG[gw3]}" "$off" "sts cache: redis [^ ]+: (connected|back after)" | head -n 1)
		if [ -z "$l" ]; then pass no-connected
		else fail no-connected "gw3 took Redis for up although it refused the password: $l"; fi
		v=$(fl_metric gw3 mxtls_sts_redis_up)
		if [ "$v" = 0 ]; then pass redis-up-metric-0
		else fail redis-up-metric-0 "mxtls_sts_redis_up is ${v:-missing} on gw3 (want 0)"; fi
		hoff=$(lab_log_size "$(lab_https_log)")
		fl_send gw3 "$DA" enforce3
		n=$(fl_gets "$DA" "$hoff")
		if [ "$n" = 0 ]; then pass no-get
		else fail no-get "the policy host was asked $n times for mta-sts.$DA's policy (gw3's cache directory holds it)"; fi
	else
		fail started-gw3 "$(tail -n 5 "${FL_LOG[gw3]}")"
	fi
else
	fail wrong-password "not run: no Redis (sts_cache) or Redis is not running"
fi
[ -n "$SCEN_FAILED" ] && dump_logs

# 8. the fleet's reports: one per domain, the counts of all three
fl_phase report
out=$LAB_DIR/work/fleet-reports
mkdir -p "$out"
: >"$LAB_DIR/log/fleet-report.log"
for day in $(date -u -d "@$t0" +%F) $(date -u +%F); do
	[ -e "$out/.$day" ] && continue
	touch "$out/.$day"
	if ip netns exec "${FL_NS[gw1]}" "$MXTLS_REPORT" -c "${FL_CONF[gw1]}" build --day "$day" \
		--out "$out" --journal "$LAB_DIR/gw1/journal" --journal "$LAB_DIR/gw2/journal" \
		--journal "$LAB_DIR/gw3/journal" >>"$LAB_DIR/log/fleet-report.log" 2>&1; then
		pass "build-$day"
	else
		fail "build-$day" "mxtls-report build --day $day --journal x3: $(tail -n 3 "$LAB_DIR/log/fleet-report.log")"
	fi
done
want=
for d in "$DA" "$DB" "$DC"; do
	for g in $FL_GWS; do want="$want $g:$d:${FL_SENT["$g $d"]:-0}:${FL_SRC4[$g]}"; done
done
got=$("$LAB_PY" - "$out" "$LAB_DIR" $want <<'PY'
import collections, glob, gzip, json, os, sys
out, labdir, wants = sys.argv[1], sys.argv[2], sys.argv[3:]
sent, src = collections.Counter(), {}
for w in wants:
    g, d, n, ip = w.split(":")
    sent[(g, d)] = int(n)
    src[g] = ip
domains = sorted({d for g, d in sent})
gws = sorted({g for g, d in sent})
# each gateway's journal: its records per domain, each with its gateway-id
recs = collections.Counter()
for g in gws:
    bad = []
    for f in sorted(glob.glob(os.path.join(labdir, g, "journal", "*.jsonl"))):
        for l in open(f):
            try:
                r = json.loads(l)
            except ValueError:
                continue
            d = r.get("policy-domain")
            if d not in domains:
                continue
            recs[(g, d)] += 1
            if r.get("gateway-id") != g:
                bad.append("%s: gateway-id %r" % (r.get("sid"), r.get("gateway-id")))
            if r.get("sending-mta-ip") != src[g]:
                bad.append("%s: sending-mta-ip %r, want %s" % (r.get("sid"), r.get("sending-mta-ip"), src[g]))
            pol = r.get("policy-string") or []
            if r.get("policy-type") != "sts" or "mode: enforce" not in pol:
                bad.append("%s: policy-type %r, policy %r (want sts, mode: enforce)"
                           % (r.get("sid"), r.get("policy-type"), pol))
            if not r.get("record-id"):
                bad.append("%s: no record-id" % r.get("sid"))
    print(("FAIL journal-ids-%s %s" % (g, "; ".join(bad[:3]))) if bad else ("PASS journal-ids-%s" % g))
for d in domains:
    for g in gws:
        if recs[(g, d)] == sent[(g, d)]:
            print("PASS journal-%s@%s" % (g, d))
        else:
            print("FAIL journal-%s@%s %d records in %s's journal, %d messages delivered through it"
                  % (g, d, recs[(g, d)], g, sent[(g, d)]))
    files = sorted(glob.glob(os.path.join(out, "*!%s!*.json.gz" % d)))
    begins = [os.path.basename(f).split("!")[2] for f in files]
    if files and len(set(begins)) == len(begins):
        print("PASS one-report@%s" % d)
    else:
        print("FAIL one-report@%s report files for %s: %s (want one per day)" % (d, d, [os.path.basename(f) for f in files] or "none"))
    ok = fail = 0
    for f in files:
        with gzip.open(f) as fh:
            r = json.load(fh)
        for p in r.get("policies", []):
            s = p.get("summary", {})
            ok += s.get("total-successful-session-count", 0)
            fail += s.get("total-failure-session-count", 0)
    want = sum(sent[(g, d)] for g in gws)
    if ok + fail == want and fail == 0:
        print("PASS sessions-add-up@%s" % d)
    else:
        print("FAIL sessions-add-up@%s the reports count %d successful and %d failed sessions; the three gateways delivered %d messages (%s)"
              % (d, ok, fail, want, ", ".join("%s %d" % (g, sent[(g, d)]) for g in gws)))
PY
)
while read -r word check rest; do
	case $word in
	PASS) pass "$check" ;;
	FAIL) fail "$check" "$rest" ;;
	esac
done <<<"$got"
[ -n "$got" ] || fail report-check "the report check printed nothing"
[ -n "$SCEN_FAILED" ] && dump_logs

# 9. each mxtlsd: alive through it all, a clean exit, no sanitizer report
fl_phase shutdown
for g in $FL_GWS; do
	if [ -n "${FL_PID[$g]}" ] && kill -0 "${FL_PID[$g]}" 2>/dev/null; then pass "alive-$g"
	else fail "alive-$g" "mxtlsd of $g is gone: $(tail -n 3 "${FL_LOG[$g]}")"; fi
	if fl_mxtlsd_stop "$g" && [ "${FL_STATUS[$g]}" = 0 ]; then pass "exit-status-0-$g"
	else fail "exit-status-0-$g" "mxtlsd of $g exited with status ${FL_STATUS[$g]:-?} after SIGTERM"; fi
	if lab_mxtlsd_sanitized; then
		if san=$(grep -E "$LAB_SANITIZER_RE" "${FL_LOG[$g]}"); then fail "sanitizer-clean-$g" "$(echo "$san" | head -n 3)"
		else pass "sanitizer-clean-$g"; fi
	fi
done
[ -n "$SCEN_FAILED" ] && dump_logs
fl_down
trap - EXIT INT TERM
echo "fleet: finished in $(( $(date +%s) - t0 )) s" >&2
echo "fleet: $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
