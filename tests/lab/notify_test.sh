#!/bin/bash
# notify_test.sh - mxtlsd under systemd's readiness protocol (Type=notify):
# READY=1 before the first connection is taken, RELOADING=1/READY=1 around
# SIGHUP, STATUS= with the sessions and a rejected reload, STOPPING=1, and a
# broken configuration failing before READY=1.
#
# SYNOPSIS
#	tests/lab/notify_test.sh	(as root; for LAB_MXTLSD_TESTS)
#
# DESCRIPTION
#	In a namespace of its own (mxn-notify: loopback, and a veth pair with
#	192.0.2.1/24 on one end where connections to 192.0.2.25:25 are redirected by
#	iptables to mxtlsd's 127.0.0.1:10025, so that mxtlsd takes them as
#	sessions), tests/lab/py/notify_check.py plays systemd's notify socket
#	and runs mxtlsd three times: workers = 1 (tag single), workers = 2
#	(workers), and workers = 2 with log_format = json (json).  Its checks
#	are listed in the script; each prints one PASS:/FAIL: line, and the
#	last line is "notify: N passed, N failed".  dns_resolver = none and
#	no MX: nothing leaves the namespace.  About 10 s.
#	Holds /tmp/mxlab.lock (LAB_LOCK_WAIT seconds of waiting).
#
# ENVIRONMENT
#	MXTLSD (default ./mxtlsd), LAB_KEEP=1 keeps the work directory
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lock.sh"
REPO=$(cd "$HERE/../.." && pwd)
MXTLSD=${MXTLSD:-$REPO/mxtlsd}
case $MXTLSD in /*) ;; *) MXTLSD=$REPO/$MXTLSD ;; esac
NS=mxn-notify
W=
FAILS=0
PASSES=0

fail() { echo "FAIL: notify $1: $2"; FAILS=$((FAILS + 1)); }
cleanup() {
	ip netns del $NS 2>/dev/null
	if [ -n "$W" ]; then
		[ "${LAB_KEEP:-0}" = 1 ] && echo "notify: kept $W" >&2 || rm -rf "$W"
	fi
	echo "notify: $PASSES passed, $FAILS failed"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

lab_lock notify || { fail setup "another lab run holds $LAB_LOCK"; exit 1; }
[ "$(id -u)" = 0 ] || { fail setup "needs root"; exit 1; }
[ -x "$MXTLSD" ] || { fail setup "no executable $MXTLSD"; exit 1; }

W=$(mktemp -d /tmp/mxnotify.XXXXXX)
ip netns del $NS 2>/dev/null
ip netns add $NS && ip -n $NS link set lo up &&
    ip -n $NS link add v0 type veth peer name v1 && ip -n $NS addr add 192.0.2.1/24 dev v0 &&
    ip -n $NS link set v0 up && ip -n $NS link set v1 up &&
    ip netns exec $NS iptables -t nat -A OUTPUT -p tcp -d 192.0.2.25 --dport 25 \
	-j REDIRECT --to-ports 10025 ||
    { fail setup "namespace $NS and its redirect"; exit 1; }

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:exitcode=23}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

# conf TAG LINE... - $W/TAG.conf: a cheap mxtlsd and LINEs
conf() {
	local tag=$1
	shift
	mkdir -p "$W/$tag.journal"
	{
		echo "myhostname = notify.lab.example"
		echo "user ="
		echo "listen = 127.0.0.1:10025"
		echo "dns_resolver = none"
		echo "sts_cache_dir ="
		echo "journal_dir = $W/$tag.journal"
		echo "shutdown_timeout = 2s"
		echo "upstream_cache_time = 0"
		printf '%s\n' "$@"
	} >"$W/$tag.conf"
}

# run TAG - notify_check.py for $W/TAG.conf; its PASS/FAIL lines counted
run() {
	local out line
	out=$(ip netns exec $NS python3 "$HERE/py/notify_check.py" "$1" "$MXTLSD" \
	    "$W/$1.conf" "$W" 2>&1 9>&-)
	printf '%s\n' "$out"
	PASSES=$((PASSES + $(printf '%s\n' "$out" | grep -c '^PASS:')))
	FAILS=$((FAILS + $(printf '%s\n' "$out" | grep -c '^FAIL:')))
	if ! printf '%s\n' "$out" | grep -q "^[PF][AI][SI]*L*: notify $1-stopping"; then
		fail "$1-complete" "notify_check.py stopped early"
	fi
	if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$W/$1.log" 2>/dev/null; then
		fail "$1-sanitizer-clean" "$(grep -m1 -E 'Sanitizer|runtime error:' "$W/$1.log")"
	else
		PASSES=$((PASSES + 1))
		echo "PASS: notify $1-sanitizer-clean"
	fi
}

conf single "workers = 1"
run single
conf workers "workers = 2"
run workers
conf json "workers = 2" "log_format = json"
run json
[ "$FAILS" = 0 ]
