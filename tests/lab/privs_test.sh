#!/bin/bash
# privs_test.sh - mxtlsd keeps exactly the capabilities its features need
# after start-up, runs as `user', and the systemd unit says the same.
#
# SYNOPSIS
#	tests/lab/privs_test.sh		(as root; `make lab' and `make asan' run it)
#
# DESCRIPTION
#	In a namespace of its own (mxp-privs, 192.0.2.1; an MX sink at
#	192.0.2.25 in mxp-privmx, over a veth pair), for each feature combination
#	  none		nothing that needs a capability
#	  mark		upstream_mark = 0x6d78			CAP_NET_ADMIN
#	  queue		dns_watch_queue = 4711			CAP_NET_ADMIN
#	  client	upstream_source = client, a tproxy: listener	CAP_NET_RAW
#	  mark-queue	both of the first			CAP_NET_ADMIN
#	  all		all three				CAP_NET_ADMIN
#	mxtlsd is started as root with user = mxtls-lab (a system user made
#	with useradd when missing) and, once it logs "mxtlsd started", its
#	/proc/PID/status must show (one PASS:/FAIL: line each):
#	  COMBO-n		`mxtlsd -n' prints "# capabilities kept after
#				start-up: NAMES" (and the -n output parses back
#				as the same configuration)
#	  COMBO-caps		CapEff, CapPrm and CapBnd the mask of those
#				capabilities, CapInh and CapAmb zero
#	  COMBO-user		Uid and Gid mxtls-lab's, four times each, and
#				Groups mxtls-lab's groups
#	  COMBO-nonewprivs	NoNewPrivs 1
#	  COMBO-log		the log says what was kept
#	  COMBO-serves		it still answers on its listener after the drop
#				(554 5.7.1: not redirected)
#	then:
#	  mark-delivers		with mxtls-iptables' local rules, a message to
#				the sink goes through mxtlsd running as mxtls-lab
#				with CAP_NET_ADMIN alone (SO_MARK works, nothing
#				loops), and the sink has it
#	  queue-verdicts	with an NFQUEUE 4711 rule for DNS answers (no
#				bypass), one arrives while mxtlsd (as mxtls-lab,
#				CAP_NET_ADMIN alone) runs, and none once it stopped
#	  reload-needs-restart	a SIGHUP to the `none' mxtlsd with upstream_mark
#				set warns "upstream_mark (cap_net_admin) needs a
#				capability mxtlsd did not keep ...; that takes a
#				restart", the rest reloads, and CapEff stays none
#	  unit-*		as systemd would start it from etc/mxtlsd.service
#				(User=, AmbientCapabilities=, CapabilityBoundingSet=,
#				NoNewPrivileges=, through setpriv), with the
#				shipped etc/mxtls.conf: mxtlsd runs, keeps
#				exactly the unit's capabilities, none inheritable
#				or ambient
#	  nonroot-extra		started as mxtls-lab with more ambient
#				capabilities than `none' needs: it keeps none
#	  nonroot-lacking	started as mxtls-lab without CAP_NET_ADMIN and
#				upstream_mark set: it refuses to start, saying so
#	  unit-caps-match-n	the unit's AmbientCapabilities= and
#				CapabilityBoundingSet= are the capabilities
#				`mxtlsd -n' prints for etc/mxtls.conf
#	  unit-verify		`systemd-analyze verify' has nothing to say
#	  unit-hardening	NoNewPrivileges=yes, ProtectSystem=strict,
#				PrivateTmp=yes, ProtectHome=yes, the
#				RestrictAddressFamilies=, SystemCallFilter=,
#				ReadWritePaths= and User= lines are there
#	  unit-iptables-root	the mxtls-iptables lines run as root (`+'),
#				ExecStopPost= is `remove --if-fail-open'
#	  kernel-OPTION-CAP	the rule privs.c states, asked of this
#				kernel: as the lab user with only CAP (or none), SO_MARK
#				takes CAP_NET_ADMIN, IP_TRANSPARENT and
#				IPV6_TRANSPARENT CAP_NET_RAW or CAP_NET_ADMIN,
#				and none of them works with no capability
#	  NAME-clean-exit	each mxtlsd above exits 0 on SIGTERM
#	  NAME-sanitizer-clean	and its log has no ASan/UBSan/LSan report
#	Holds /tmp/mxlab.lock (LAB_LOCK_WAIT seconds of waiting).
#
# ENVIRONMENT
#	MXTLSD (default ./mxtlsd), LAB_KEEP=1 keeps the work directory,
#	PRIVS_USER (mxtls-lab)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lock.sh"
REPO=$(cd "$HERE/../.." && pwd)
MXTLSD=${MXTLSD:-$REPO/mxtlsd}
case $MXTLSD in /*) ;; *) MXTLSD=$REPO/$MXTLSD ;; esac
LABUSER=${PRIVS_USER:-mxtls-lab}
NS=mxp-privs MXNS=mxp-privmx
W=
FAILS=0
PASSES=0
PID=
SINK=

pass() { echo "PASS: privs $1"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: privs $1: $2"; FAILS=$((FAILS + 1)); }
cleanup() {
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	[ -n "$SINK" ] && kill "$SINK" 2>/dev/null
	[ -n "$SINK" ] && wait "$SINK" 2>/dev/null
	ip netns del $NS 2>/dev/null
	ip netns del $MXNS 2>/dev/null
	if [ -n "$W" ]; then
		[ "${LAB_KEEP:-0}" = 1 ] && echo "privs: kept $W" >&2 || rm -rf "$W"
	fi
	echo "privs: $PASSES passed, $FAILS failed"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

lab_lock privs || { fail setup "another lab run holds $LAB_LOCK"; exit 1; }
[ "$(id -u)" = 0 ] || { fail setup "needs root"; exit 1; }
[ -x "$MXTLSD" ] || { fail setup "no executable $MXTLSD"; exit 1; }
if ! getent passwd "$LABUSER" >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$LABUSER" || { fail setup "useradd $LABUSER"; exit 1; }
fi
UID_L=$(id -u "$LABUSER") GID_L=$(id -g "$LABUSER")
GROUPS_L=$(id -G "$LABUSER" | tr ' ' '\n' | sort -n | tr '\n' ' ')

# The work directory: the user reads the configuration, writes the journal.
W=$(mktemp -d /tmp/mxprivs.XXXXXX)
chmod 755 "$W"
ip netns del $NS 2>/dev/null
ip netns add $NS || { fail setup "ip netns add"; exit 1; }
ip netns del $MXNS 2>/dev/null
ip netns add $MXNS || { fail setup "ip netns add"; exit 1; }
ip -n $NS link set lo up && ip -n $MXNS link set lo up &&
    ip -n $NS link add v0 type veth peer name v1 netns $MXNS &&
    ip -n $NS addr add 192.0.2.1/24 dev v0 && ip -n $MXNS addr add 192.0.2.25/24 dev v1 &&
    ip -n $NS link set v0 up && ip -n $MXNS link set v1 up ||
    { fail setup "the veth pair between $NS and $MXNS"; exit 1; }

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:exitcode=23}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

# mask CAP... - the /proc/PID/status form of a set of capability numbers
mask() {
	local m=0 c
	for c in "$@"; do m=$((m | (1 << c))); done
	printf '%016x' "$m"
}
NET_ADMIN=12 NET_RAW=13 NET_BIND_SERVICE=10

# conf NAME LINE... - $W/NAME.conf: the lab's base configuration and LINEs
conf() {
	local name=$1
	shift
	mkdir -p "$W/$name.journal"
	{
		echo "myhostname = privs.lab.example"
		echo "user = $LABUSER"
		echo "dns_resolver = none"
		echo "sts_cache_dir ="
		echo "journal_dir = $W/$name.journal"
		echo "shutdown_timeout = 2s"
		printf '%s\n' "$@"
	} >"$W/$name.conf"
	chmod 644 "$W/$name.conf"
}

# start NAME [PREFIX...] - mxtlsd -f -c $W/NAME.conf in the namespace
# (through PREFIX, e.g. setpriv), PID; waits for "mxtlsd started" (0) or
# its exit (1, status in $ST)
start() {
	local name=$1 i
	shift
	: >"$W/$name.log"
	ip netns exec $NS "$@" "$MXTLSD" -f -c "$W/$name.conf" </dev/null \
	    >>"$W/$name.log" 2>&1 9>&- &
	PID=$!
	for i in $(seq 200); do
		grep -q 'mxtlsd started' "$W/$name.log" && return 0
		if ! kill -0 "$PID" 2>/dev/null; then
			wait "$PID"
			ST=$?
			PID=
			return 1
		fi
		sleep 0.05
	done
	return 1
}

# stop - SIGTERM, and its exit status in $ST
stop() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	wait "$PID"
	ST=$?
	PID=
}

# field NAME - a line of mxtlsd's /proc/PID/status, the value part
field() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$PID/status" | sed 's/[[:space:]]*$//'; }

# caps_check TEST EFF PRM INH AMB BND - the five sets are these masks
caps_check() {
	local t=$1 got want
	got="Eff $(field CapEff) Prm $(field CapPrm) Inh $(field CapInh) Amb $(field CapAmb) Bnd $(field CapBnd)"
	want="Eff $2 Prm $3 Inh $4 Amb $5 Bnd $6"
	if [ "$got" = "$want" ]; then pass "$t"; else fail "$t" "got $got, want $want"; fi
}

# user_check TEST - Uid, Gid and Groups are $LABUSER's
user_check() {
	local u g gr
	u=$(field Uid | tr -s '\t ' ' ')
	g=$(field Gid | tr -s '\t ' ' ')
	gr=$(field Groups | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
	if [ "$u" = "$UID_L $UID_L $UID_L $UID_L" ] && [ "$g" = "$GID_L $GID_L $GID_L $GID_L" ] &&
	    [ "$gr" = "$GROUPS_L" ]; then
		pass "$1"
	else
		fail "$1" "Uid '$u' Gid '$g' Groups '$gr'; want $UID_L, $GID_L, '$GROUPS_L'"
	fi
}

# banner ADDR PORT - the first line mxtlsd says
banner() {
	ip netns exec $NS /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(s.recv(200).decode(errors="replace").strip())' "$1" "$2" 2>&1
}

# n_check TEST NAME NAMES - mxtlsd -n: the capability line, and a round trip
n_check() {
	local out line
	out=$("$MXTLSD" -n -c "$W/$2.conf" 2>&1)
	line=$(printf '%s\n' "$out" | grep '^# capabilities kept after start-up:')
	printf '%s\n' "$out" >"$W/$2.n.conf"
	if [ "$line" != "# capabilities kept after start-up: $3" ]; then
		fail "$1" "got '$line', want '# capabilities kept after start-up: $3'"
	elif ! "$MXTLSD" -n -c "$W/$2.n.conf" 2>&1 | cmp -s - "$W/$2.n.conf"; then
		fail "$1" "the -n output does not parse back to itself"
	else
		pass "$1"
	fi
}

# combo NAME NAMES MASK LINE... - one feature combination, started as root
combo() {
	local name=$1 names=$2 m=$3 reply
	shift 3
	conf "$name" "$@"
	n_check "$name-n" "$name" "$names"
	if ! start "$name"; then
		fail "$name-start" "mxtlsd did not start (status ${ST:-?}): $(tail -3 "$W/$name.log")"
		return 1
	fi
	caps_check "$name-caps" "$m" "$m" 0000000000000000 0000000000000000 "$m"
	user_check "$name-user"
	if [ "$(field NoNewPrivs)" = 1 ]; then pass "$name-nonewprivs"
	else fail "$name-nonewprivs" "NoNewPrivs $(field NoNewPrivs)"; fi
	if grep -q "running as user $LABUSER uid $UID_L gid $GID_L; capabilities kept: $names\$" "$W/$name.log"; then
		pass "$name-log"
	else
		fail "$name-log" "no 'running as user $LABUSER ... kept: $names' in $(grep -m1 'running as' "$W/$name.log")"
	fi
	reply=$(banner 127.0.0.1 10025)
	case $reply in
	"554 5.7.1"*) pass "$name-serves" ;;
	*) fail "$name-serves" "got: $reply" ;;
	esac
	return 0
}

check_stop() {		# check_stop NAME - SIGTERM; exit 0, no sanitizer report
	stop
	if [ "$ST" = 0 ]; then pass "$1-clean-exit"
	else fail "$1-clean-exit" "mxtlsd exited with status $ST: $(tail -3 "$W/$1.log")"; fi
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/$1.log"; then
		fail "$1-sanitizer-clean" "$(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/$1.log")"
	else
		pass "$1-sanitizer-clean"
	fi
}

ADMIN=$(mask $NET_ADMIN) RAW=$(mask $NET_RAW) NONE=$(mask)
combo none none "$NONE" && {
	# a reload that would need CAP_NET_ADMIN: warned, not applied
	printf 'upstream_mark = 0x6d78\n' >>"$W/none.conf"
	kill -HUP "$PID"
	for _ in $(seq 100); do grep -q 'reloaded \|keeping the running configuration' "$W/none.log" && break; sleep 0.05; done
	if grep -q 'reload: upstream_mark (cap_net_admin) needs a capability mxtlsd did not keep after start-up; that takes a restart' "$W/none.log" &&
	    grep -q "reloaded $W/none.conf" "$W/none.log" &&
	    [ "$(field CapEff)" = "$NONE" ]; then
		pass reload-needs-restart
	else
		fail reload-needs-restart "$(grep 'reload' "$W/none.log" | tail -2)"
	fi
	check_stop none
}
combo mark cap_net_admin "$ADMIN" "upstream_mark = 0x6d78" && {
	# a message through mxtlsd as the lab user: SO_MARK must work
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	    -subj /CN=mx.privs.example -keyout "$W/mx.key" -out "$W/mx.crt" >/dev/null 2>&1
	mkdir -p "$W/mail"
	ip netns exec $MXNS /usr/bin/python3 "$HERE/py/mxsink.py" --listen 192.0.2.25:25 \
	    --cert "$W/mx.crt" --key "$W/mx.key" --maildir "$W/mail" \
	    --name mx.privs.example >"$W/sink.log" 2>&1 &
	SINK=$!
	ip netns exec $NS bash "$REPO/iptables/mxtls-iptables" install --local \
	    --port 10025 --mark 0x6d78 >"$W/ipt.log" 2>&1 ||
	    fail mark-delivers "mxtls-iptables install: $(tail -1 "$W/ipt.log")"
	for _ in $(seq 50); do ip netns exec $MXNS ss -Hltn 'sport = :25' | grep -q . && break; sleep 0.1; done
	subj="privs-$$"
	if ip netns exec $NS /usr/bin/python3 - "$subj" >"$W/send.log" 2>&1 <<'PY'
import smtplib, sys
s = smtplib.SMTP("192.0.2.25", 25, timeout=20)
s.ehlo("client.privs.example")
s.sendmail("a@client.privs.example", ["b@dest.example"],
           ("Subject: %s\r\n\r\nthrough mxtlsd as its user\r\n" % sys.argv[1]).encode())
s.quit()
PY
	then
		if grep -lq "Subject: $subj" "$W"/mail/*.eml 2>/dev/null &&
		    grep -q 'connect from .* to \[192.0.2.25\]:25' "$W/mark.log" &&
		    grep -q 'relay=mx.privs.example\[192.0.2.25\]:25, tls=.*status=sent' "$W/mark.log"; then
			pass mark-delivers
		else
			fail mark-delivers "the sink has no $subj, or mxtlsd did not relay it: $(tail -2 "$W/mark.log")"
		fi
	else
		fail mark-delivers "client: $(tail -1 "$W/send.log"); mxtlsd: $(tail -2 "$W/mark.log")"
	fi
	ip netns exec $NS bash "$REPO/iptables/mxtls-iptables" remove >/dev/null 2>&1
	check_stop mark
}
# dns_send - a DNS answer from 127.0.0.1:53 to a local socket; 0 when it
# arrives within 3 s
dns_send() {
	ip netns exec $NS /usr/bin/python3 -c '
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
r.settimeout(3)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 53))
# a response (QR) with no records: mxtlsd parses it and learns nothing
s.sendto(b"\x12\x34\x81\x80" + b"\x00" * 8, r.getsockname())
try:
    sys.exit(0 if r.recv(512)[:2] == b"\x12\x34" else 1)
except socket.timeout:
    sys.exit(1)' 2>/dev/null
}
combo queue cap_net_admin "$ADMIN" "dns_watch_queue = 4711" && {
	# Its verdicts, as mxtls-lab with CAP_NET_ADMIN alone: a DNS answer
	# through NFQUEUE 4711 (no bypass) arrives while mxtlsd runs, and
	# not once it is gone (so it did go through the queue).
	ip netns exec $NS iptables -w -I INPUT -p udp --sport 53 -j NFQUEUE --queue-num 4711
	dns_send; up=$?
	check_stop queue
	dns_send; down=$?
	ip netns exec $NS iptables -w -D INPUT -p udp --sport 53 -j NFQUEUE --queue-num 4711
	if [ $up = 0 ] && [ $down != 0 ]; then
		pass queue-verdicts
	else
		fail queue-verdicts "answer through the queue: with mxtlsd $( [ $up = 0 ] && echo arrived || echo lost), without it $( [ $down = 0 ] && echo arrived || echo lost)"
	fi
}
combo client cap_net_raw "$RAW" "listen = 127.0.0.1:10025 tproxy:127.0.0.1:10026" \
    "upstream_source = client" && check_stop client
combo mark-queue cap_net_admin "$ADMIN" "upstream_mark = 0x6d78" "dns_watch_queue = 4711" &&
    check_stop mark-queue
combo all cap_net_admin "$ADMIN" "listen = 127.0.0.1:10025 tproxy:127.0.0.1:10026" \
    "upstream_source = client" "upstream_mark = 0x6d78" "dns_watch_queue = 4711" &&
    check_stop all

# The unit: its capability lines against `mxtlsd -n' of the shipped file.
UNIT=$REPO/etc/mxtlsd.service
unit_caps() {	# unit_caps KEY - the unit's capabilities for KEY, as -n names them
	sed -n "s/^$1=//p" "$UNIT" | tr ' ,' '\n\n' | grep . | tr 'A-Z' 'a-z' | sort | paste -sd, -
}
n_line=$("$MXTLSD" -n -c "$REPO/etc/mxtls.conf" | sed -n 's/^# capabilities kept after start-up: //p')
n_caps=$(echo "$n_line" | sed 's/^none$//' | tr ',' '\n' | grep . | sort | paste -sd, -)
amb=$(unit_caps AmbientCapabilities)
bnd=$(unit_caps CapabilityBoundingSet)
# (none: both lines empty, and CapabilityBoundingSet= there, empty)
if [ -n "$n_line" ] && [ "$amb" = "$n_caps" ] && [ "$bnd" = "$n_caps" ] &&
    [ "$(grep -c '^CapabilityBoundingSet=' "$UNIT")" = 1 ]; then
	pass unit-caps-match-n
else
	fail unit-caps-match-n "mxtlsd -n: '$n_caps'; AmbientCapabilities '$amb', CapabilityBoundingSet '$bnd'"
fi
for k in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK" SystemCallFilter=@system-service \
    "ReadWritePaths=/var/lib/mxtls /run/mxtls" User=mxtls; do
	grep -qx "$k" "$UNIT" || missing="${missing:-}'$k' "
done
if [ -z "${missing:-}" ]; then pass unit-hardening
else fail unit-hardening "no line $missing"; fi
if grep -q '^ExecStopPost=+@SBINDIR@/mxtls-iptables remove --if-fail-open$' "$UNIT" &&
    [ -z "$(grep -E '^Exec(Start|Stop)(Pre|Post)?=[^+].*mxtls-iptables' "$UNIT")" ]; then
	pass unit-iptables-root
else
	fail unit-iptables-root "$(grep mxtls-iptables "$UNIT")"
fi
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$W/sbin" "$W/unit"
	ln -sf "$MXTLSD" "$W/sbin/mxtlsd"
	ln -sf "${MXTLS_CHECK:-$REPO/mxtls-check}" "$W/sbin/mxtls-check"
	ln -sf "$REPO/iptables/mxtls-iptables" "$W/sbin/mxtls-iptables"
	sed "s,@SBINDIR@,$W/sbin,g; s,@SYSCONFDIR@,/etc,g" "$UNIT" >"$W/unit/mxtlsd.service"
	out=$(systemd-analyze verify --man=no "$W/unit/mxtlsd.service" 2>&1)
	st=$?
	if [ $st = 0 ] && [ -z "$out" ]; then pass unit-verify
	else fail unit-verify "status $st: $out"; fi
else
	fail unit-verify "no systemd-analyze (package systemd)"
fi

# As systemd starts it: the unit's User=, capabilities and NoNewPrivileges=
# (setpriv does what systemd would), the shipped configuration.
ucaps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT" | tr ' ' '\n' | grep . | sed 's/^CAP_//' | tr 'A-Z' 'a-z')
bcaps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr ' ' '\n' | grep . | sed 's/^CAP_//' | tr 'A-Z' 'a-z')
capnum() { case $1 in net_admin) echo $NET_ADMIN ;; net_raw) echo $NET_RAW ;; net_bind_service) echo $NET_BIND_SERVICE ;; *) echo 63 ;; esac; }
plus() { local s=-all c; for c in "$@"; do s="$s,+$c"; done; echo "$s"; }
umask_=$(mask $(for c in $ucaps; do capnum "$c"; done))
bmask=$(mask $(for c in $bcaps; do capnum "$c"; done))
{
	grep -v '^ *#' "$REPO/etc/mxtls.conf" | grep .
	echo "user = $LABUSER"
	echo "myhostname = privs.lab.example"
	echo "dns_resolver = none"
	echo "sts_cache_dir ="
	echo "journal_dir = $W/unit.journal"
	echo "shutdown_timeout = 2s"
} >"$W/unit.conf"
chmod 644 "$W/unit.conf"
mkdir -p "$W/unit.journal" && chown "$LABUSER" "$W/unit.journal"
if start unit setpriv --reuid="$LABUSER" --regid="$LABUSER" --init-groups \
    --bounding-set="$(plus $bcaps)" --inh-caps="$(plus $ucaps)" \
    --ambient-caps="$(plus $ucaps)" --no-new-privs; then
	caps_check unit-caps "$umask_" "$umask_" "$NONE" "$NONE" "$bmask"
	user_check unit-user
	reply=$(banner 127.0.0.1 10025)
	case $reply in "554 5.7.1"*) pass unit-serves ;; *) fail unit-serves "got: $reply" ;; esac
	check_stop unit
else
	fail unit-start "status ${ST:-?}: $(tail -3 "$W/unit.log")"
fi

# Started as the user with more than it needs: it keeps nothing.
conf extra
chown "$LABUSER" "$W/extra.journal"
if start extra setpriv --reuid="$LABUSER" --regid="$LABUSER" --init-groups \
    --inh-caps=-all,+net_admin,+net_raw,+net_bind_service \
    --ambient-caps=-all,+net_admin,+net_raw,+net_bind_service; then
	full=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
	caps_check nonroot-extra "$NONE" "$NONE" "$NONE" "$NONE" "$full"
	check_stop extra
else
	fail nonroot-extra "mxtlsd did not start (status ${ST:-?}): $(tail -3 "$W/extra.log")"
fi
# Started as the user without what upstream_mark needs: a clear refusal.
conf lacking "upstream_mark = 0x6d78"
chown "$LABUSER" "$W/lacking.journal"
if start lacking setpriv --reuid="$LABUSER" --regid="$LABUSER" --init-groups --inh-caps=-all; then
	fail nonroot-lacking "mxtlsd started without CAP_NET_ADMIN"
	stop
elif [ "${ST:-0}" != 0 ] && grep -q 'needs cap_net_admin after start-up, but mxtlsd has none' "$W/lacking.log"; then
	pass nonroot-lacking
else
	fail nonroot-lacking "status ${ST:-?}: $(tail -2 "$W/lacking.log")"
fi

# The rule privs.c states, asked of this kernel: what each socket option
# takes, as the lab user with nothing but the capability named.
# sockopt CAPS OPTION - 0 when OPTION (so_mark, ip_transparent,
# ipv6_transparent) can be set with ambient CAPS (e.g. +net_raw, or "")
sockopt() {
	ip netns exec $NS setpriv --reuid="$LABUSER" --regid="$LABUSER" --init-groups \
	    --inh-caps="-all$1" --ambient-caps="-all$1" /usr/bin/python3 -c '
import socket, sys
opt = sys.argv[1]
fam = socket.AF_INET6 if opt == "ipv6_transparent" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
level, name = {"so_mark": (socket.SOL_SOCKET, 36), "ip_transparent": (socket.SOL_IP, 19),
               "ipv6_transparent": (socket.IPPROTO_IPV6, 75)}[opt]
try:
    s.setsockopt(level, name, 0x6d78 if opt == "so_mark" else 1)
except PermissionError:
    sys.exit(1)
sys.exit(0)' "$2"
}
rule_check() {	# rule_check OPTION CAP|none WANT(0 works, 1 refused)
	local caps= got
	[ "$2" = none ] || caps=",+$2"
	sockopt "$caps" "$1"
	got=$?
	if [ $got = "$3" ]; then pass "kernel-$1-$2"
	else fail "kernel-$1-$2" "setsockopt status $got, want $3"; fi
}
rule_check so_mark none 1
# (CAP_NET_RAW allows SO_MARK too since Linux 5.17; privs.c asks for
# CAP_NET_ADMIN, which every kernel takes, so that case is not checked)
rule_check so_mark net_admin 0
rule_check ip_transparent none 1
rule_check ip_transparent net_raw 0
rule_check ip_transparent net_admin 0
rule_check ipv6_transparent none 1
rule_check ipv6_transparent net_raw 0
rule_check ipv6_transparent net_admin 0

[ "$FAILS" -eq 0 ]
