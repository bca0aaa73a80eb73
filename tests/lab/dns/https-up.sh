#!/bin/bash
# https-up.sh - start the lab's MTA-STS policy host (nginx) in a namespace.
#
# SYNOPSIS
#	tests/lab/dns/https-up.sh OUTDIR NETNS
#
# DESCRIPTION
#	OUTDIR is the output of build.sh.  NETNS must exist and hold
#	198.51.100.80 and 2001:db8:53::80 (DNS_HTTPS_V4/V6 of env.sh; give the
#	IPv6 address "nodad") on an up interface.  Starts nginx with
#	OUTDIR/https/nginx.conf inside NETNS (it daemonizes; pid in
#	OUTDIR/https/run/nginx.pid, logs access.log and error.log beside it;
#	the access log is appended to, never rotated), records NETNS in
#	OUTDIR/https/run/netns, and returns once nginx listens on port 443 of
#	both addresses (at most ~5 s).  Every vhost serves its policy from
#	OUTDIR/https/www/mta-sts.DOMAIN/.well-known/mta-sts.txt, read at each
#	request (rewrite the file to change the policy).  Exit status 0 when
#	serving.  https-down.sh stops it; calling https-up.sh again after that
#	starts it again.
set -u
[ $# -eq 2 ] || { echo "usage: $0 OUTDIR NETNS" >&2; exit 2; }
OUTDIR=$(cd "$1" && pwd) || exit 1
NETNS=$2
. "$OUTDIR/env.sh" || exit 1
RUN=$DNS_HTTPS_DIR/run

fail() { echo "https up: $*" >&2; [ -f "$RUN/error.log" ] && tail -n 10 "$RUN/error.log" >&2; exit 1; }

command -v nginx >/dev/null || fail "missing nginx (apt-get install nginx-light)"
ip netns list | awk '{print $1}' | grep -qxF "$NETNS" || fail "no network namespace $NETNS"
for a in "$DNS_HTTPS_V4" "$DNS_HTTPS_V6"; do
	ip -n "$NETNS" addr show | grep -qw "inet6\? $a" ||
		fail "address $a is not configured in namespace $NETNS"
done
if [ -s "$RUN/nginx.pid" ] && kill -0 "$(cat "$RUN/nginx.pid")" 2>/dev/null; then
	fail "nginx already running (pid $(cat "$RUN/nginx.pid"))"
fi
mkdir -p "$RUN/tmp"
rm -f "$RUN/nginx.pid"
echo "$NETNS" >"$RUN/netns"

ip netns exec "$NETNS" nginx -c "$DNS_NGINX_CONF" -e "$RUN/error.log" </dev/null ||
	fail "nginx did not start"

for _ in $(seq 100); do
	l=$(ip netns exec "$NETNS" ss -Hltn 'sport = :443' 2>/dev/null)
	if [ -s "$RUN/nginx.pid" ] && grep -qF "$DNS_HTTPS_V4:443" <<<"$l" &&
	   grep -qF "[$DNS_HTTPS_V6]:443" <<<"$l"; then
		exit 0
	fi
	sleep 0.05
done
fail "nginx does not listen on $DNS_HTTPS_V4:443 and [$DNS_HTTPS_V6]:443 in $NETNS"
