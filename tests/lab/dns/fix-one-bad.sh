#!/bin/bash
# fix-one-bad.sh - give one-bad.example's TLSA the right digest, live.
#
# SYNOPSIS
#	tests/lab/dns/fix-one-bad.sh OUTDIR [break]
#
# DESCRIPTION
#	Rewrites _25._tcp.mx.one-bad.example TLSA 3 1 1 in OUTDIR/zones/
#	one-bad.example.zone from the wrong digest to the SPKI digest of
#	OUTDIR/pki/one-bad.crt (with "break": back to the wrong one), bumps the
#	SOA serial, re-signs the zone with its own keys (the DS in example. stays
#	valid) and makes the running NSD reload it: "nsd-control reload" over
#	the unix control socket OUTDIR/run/nsd.ctl (no namespace needed), SIGHUP
#	to NSD's pid as the fallback.  When up.sh recorded a namespace, waits
#	(at most ~5 s) until NSD serves the new record.  The zone's TTLs are 1 s,
#	so resolvers see the change almost at once; a resolver that cached the
#	old answer (one process) sees the new one after 1 s.
set -eu
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 OUTDIR [break]" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUTDIR=$(cd "$1" && pwd)
. "$HERE/common.sh"
. "$OUTDIR/env.sh"

from=$DNS_ONE_BAD_WRONG to=$DNS_ONE_BAD_RIGHT
if [ "${2:-}" = break ]; then from=$DNS_ONE_BAD_RIGHT to=$DNS_ONE_BAD_WRONG
elif [ -n "${2:-}" ]; then echo "usage: $0 OUTDIR [break]" >&2; exit 2
fi

z=$OUTDIR/zones/one-bad.example.zone
grep -qi "TLSA[[:space:]]*3 1 1 \($from\|$to\)" "$z" || dns_die "no known TLSA record in $z"
now=$(date -u +%s)
awk -v from="$from" -v to="$to" -v now="$now" '
$2 == "SOA" { s = $5 + 1; if (now > s) s = now; $5 = s }
$2 == "TLSA" { sub(from, to) }
{ print }' "$z" >"$z.tmp"
mv -f "$z.tmp" "$z"
dns_sign one-bad.example. >/dev/null || dns_die "re-signing one-bad.example failed"

if ! nsd-control -c "$OUTDIR/nsd.conf" reload one-bad.example >/dev/null 2>&1; then
	pid=$(cat "$OUTDIR/run/nsd.pid" 2>/dev/null) || dns_die "NSD is not running (no pid file)"
	kill -HUP "$pid" || dns_die "cannot signal NSD pid $pid"
fi

ns=$(cat "$OUTDIR/run/netns" 2>/dev/null || true)
[ -n "$ns" ] || exit 0
for _ in $(seq 50); do
	if ip netns exec "$ns" drill -Q @"$DNS_NS_V4" _25._tcp.mx.one-bad.example TLSA 2>/dev/null |
	   tr -d ' ' | grep -qi "^311$to\$"; then
		exit 0
	fi
	sleep 0.1
done
dns_die "NSD still does not serve the new one-bad.example TLSA"
