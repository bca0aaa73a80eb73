#!/bin/bash
# sts-txt.sh - change or remove a domain's _mta-sts TXT record, live.
#
# SYNOPSIS
#	tests/lab/dns/sts-txt.sh OUTDIR DOMAIN ID
#	tests/lab/dns/sts-txt.sh OUTDIR DOMAIN remove
#
# DESCRIPTION
#	In the zone file that holds DOMAIN (OUTDIR/zones/ZONE.zone for the
#	longest ZONE that DOMAIN ends with), replaces the TXT record at
#	_mta-sts.DOMAIN by "v=STSv1; id=ID;" (keeping its TTL; 1 s for a new
#	one), or with "remove" deletes it; bumps the SOA serial, re-signs the
#	zone with its own keys when it is signed (the DS in its parent stays
#	valid) and makes the running NSD reload it ("nsd-control reload ZONE",
#	SIGHUP as the fallback).  When up.sh recorded a namespace, waits (at
#	most ~5 s) until NSD serves the change.  The lab's MTA-STS zones have
#	TXT and negative TTLs of 1 s: a resolver sees the change within 1 s.
#	ID is put in the record as given (an invalid one makes a malformed
#	record).
#
# EXIT STATUS
#	0 when NSD serves the new state; 1 on errors (no such domain, NSD not
#	running or not serving the change); 2 on usage errors.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 OUTDIR DOMAIN ID|remove" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUTDIR=$(cd "$1" && pwd)
. "$HERE/common.sh"
. "$OUTDIR/env.sh"
dom=${2%.}
id=$3
case $id in *'"'*|*\\*|*' '*|'') dns_die "bad id '$id'" ;; esac

z=$dom
while [ ! -f "$OUTDIR/zones/$z.zone" ]; do
	case $z in *.*) z=${z#*.} ;; *) dns_die "no zone file holds $dom" ;; esac
done
f=$OUTDIR/zones/$z.zone
if [ "$dom" = "$z" ]; then owner=_mta-sts; else owner=_mta-sts.${dom%."$z"}; fi

now=$(date -u +%s)
awk -v owner="$owner" -v id="$id" -v now="$now" -v zone="$z." '
BEGIN { ttl = 1 }
{
	for (i = 1; i <= NF; i++) if ($i == "SOA") break
	if (i <= NF && i + 3 <= NF) { s = $(i + 3) + 1; if (now > s) s = now; $(i + 3) = s }
	if (($1 == owner || $1 == owner "." zone) && ($2 == "TXT" || $3 == "TXT")) {
		if ($3 == "TXT") ttl = $2
		found = 1
		next
	}
	print
}
END {
	if (id != "remove") printf "%s\t%s\tTXT\t\"v=STSv1; id=%s;\"\n", owner, ttl, id
	else if (!found) exit 3
}' "$f" >"$f.tmp" || { rm -f "$f.tmp"; dns_die "no TXT record at $owner in $f to remove"; }
mv -f "$f.tmp" "$f"
if [ -f "$OUTDIR/zones/$z.signed" ]; then
	dns_sign "$z." >/dev/null || dns_die "re-signing $z failed"
fi

if ! nsd-control -c "$OUTDIR/nsd.conf" reload "$z." >/dev/null 2>&1; then
	pid=$(cat "$OUTDIR/run/nsd.pid" 2>/dev/null) || dns_die "NSD is not running (no pid file)"
	kill -HUP "$pid" || dns_die "cannot signal NSD pid $pid"
fi

ns=$(cat "$OUTDIR/run/netns" 2>/dev/null || true)
[ -n "$ns" ] || exit 0
for _ in $(seq 100); do
	out=$(ip netns exec "$ns" drill -Q @"$DNS_NS_V4" "_mta-sts.$dom" TXT 2>/dev/null || true)
	if [ "$id" = remove ]; then
		grep -q 'v=STSv1' <<<"$out" || exit 0
	else
		grep -qF "id=$id;" <<<"$out" && exit 0
	fi
	sleep 0.05
done
dns_die "NSD still does not serve the new _mta-sts.$dom TXT"
