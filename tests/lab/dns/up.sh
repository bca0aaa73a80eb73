#!/bin/bash
# up.sh - start the lab's authoritative NSD inside a network namespace.
#
# SYNOPSIS
#	tests/lab/dns/up.sh OUTDIR NETNS
#
# DESCRIPTION
#	OUTDIR is the output of build.sh.  NETNS must exist and already hold
#	198.51.100.53 and 2001:db8:53::53 on an up interface (give the IPv6
#	address "nodad", or wait for DAD: NSD cannot bind a tentative address).
#	Starts NSD with OUTDIR/nsd.conf inside NETNS (it daemonizes; pid in
#	OUTDIR/run/nsd.pid, log in OUTDIR/run/nsd.log), records NETNS in
#	OUTDIR/run/netns, and returns once the root SOA is answered over both
#	IPv4 and IPv6 (at most ~10 s).  Exit status 0 when serving.
set -u
[ $# -eq 2 ] || { echo "usage: $0 OUTDIR NETNS" >&2; exit 2; }
OUTDIR=$(cd "$1" && pwd) || exit 1
NETNS=$2
RUN=$OUTDIR/run
. "$OUTDIR/env.sh" || exit 1

fail() { echo "dns up: $*" >&2; [ -f "$RUN/nsd.log" ] && tail -n 20 "$RUN/nsd.log" >&2; exit 1; }

ip netns list | awk '{print $1}' | grep -qxF "$NETNS" || fail "no network namespace $NETNS"
for a in "$DNS_NS_V4" "$DNS_NS_V6"; do
	ip -n "$NETNS" addr show | grep -qw "inet6\? $a" ||
		fail "address $a is not configured in namespace $NETNS"
done
if [ -s "$RUN/nsd.pid" ] && kill -0 "$(cat "$RUN/nsd.pid")" 2>/dev/null; then
	fail "NSD already running (pid $(cat "$RUN/nsd.pid"))"
fi
mkdir -p "$RUN"
rm -f "$RUN/nsd.pid" "$RUN/nsd.ctl"
echo "$NETNS" >"$RUN/netns"

ip netns exec "$NETNS" nsd -c "$OUTDIR/nsd.conf" || fail "nsd did not start"

# ready = pid file written and the root SOA answered on both addresses
for _ in $(seq 100); do
	if [ -s "$RUN/nsd.pid" ] &&
	   ip netns exec "$NETNS" drill -4 -t -Q @"$DNS_NS_V4" . SOA 2>/dev/null | grep -q root-lab &&
	   ip netns exec "$NETNS" drill -6 -Q @"$DNS_NS_V6" . SOA 2>/dev/null | grep -q root-lab; then
		exit 0
	fi
	sleep 0.1
done
fail "NSD does not answer on $DNS_NS_V4 and $DNS_NS_V6 in $NETNS"
