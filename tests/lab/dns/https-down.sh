#!/bin/bash
# https-down.sh - stop the nginx that https-up.sh started for OUTDIR.
#
# SYNOPSIS
#	tests/lab/dns/https-down.sh OUTDIR
#
# DESCRIPTION
#	Sends SIGTERM to the pid in OUTDIR/https/run/nginx.pid (only that pid,
#	and only when its command line names OUTDIR/https/nginx.conf; nginx's
#	master then ends its worker), waits until the master is gone and
#	nothing listens on the policy host's port 443 any more (at most ~5 s),
#	then SIGKILLs the master and its workers.  Idempotent: exit status 0
#	when nothing is running.
set -u
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUTDIR=$(cd "$1" 2>/dev/null && pwd) || exit 0
RUN=$OUTDIR/https/run
PIDF=$RUN/nginx.pid
[ -s "$PIDF" ] || exit 0
pid=$(cat "$PIDF")
case $pid in ''|*[!0-9]*) exit 0 ;; esac
if ! kill -0 "$pid" 2>/dev/null ||
   ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$OUTDIR/https/nginx.conf"; then
	rm -f "$PIDF"
	exit 0
fi
kids=$(pgrep -P "$pid" 2>/dev/null)
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		gone=1
		for k in $kids; do kill -0 "$k" 2>/dev/null && gone=; done
		[ -n "$gone" ] && { rm -f "$PIDF"; exit 0; }
	fi
	sleep 0.05
done
kill -KILL "$pid" $kids 2>/dev/null
sleep 0.1
rm -f "$PIDF"
exit 0
