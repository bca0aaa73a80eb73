#!/bin/bash
# down.sh - stop the NSD that up.sh started for OUTDIR.
#
# SYNOPSIS
#	tests/lab/dns/down.sh OUTDIR
#
# DESCRIPTION
#	Sends SIGTERM to the pid in OUTDIR/run/nsd.pid (only that pid, and only
#	when its command line names OUTDIR/nsd.conf), waits up to 5 s, then
#	SIGKILL.  Idempotent: exit status 0 when nothing is running.
set -u
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUTDIR=$(cd "$1" 2>/dev/null && pwd) || exit 0
PIDF=$OUTDIR/run/nsd.pid
[ -s "$PIDF" ] || exit 0
pid=$(cat "$PIDF")
case $pid in ''|*[!0-9]*) exit 0 ;; esac
if ! kill -0 "$pid" 2>/dev/null ||
   ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$OUTDIR/nsd.conf"; then
	rm -f "$PIDF"
	exit 0
fi
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 50); do
	kill -0 "$pid" 2>/dev/null || { rm -f "$PIDF" "$OUTDIR/run/nsd.ctl"; exit 0; }
	sleep 0.1
done
kids=$(pgrep -P "$pid" 2>/dev/null)
kill -KILL "$pid" $kids 2>/dev/null
sleep 0.2
rm -f "$PIDF" "$OUTDIR/run/nsd.ctl"
exit 0
