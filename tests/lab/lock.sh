# lock.sh - sourced: the lab's one lock.  Lab runs build worlds of their
# own with the same namespace names, addresses and ports, so one runs at
# a time: whoever holds /tmp/mxlab.lock (on fd 9, until it exits).

LAB_LOCK=/tmp/mxlab.lock

# lab_lock WHO - take the lock, waiting at most LAB_LOCK_WAIT seconds
# (default 0: not at all) and saying so on stderr as WHO; 1 when another
# run still holds it
lab_lock() {
	exec 9>"$LAB_LOCK"
	flock -n 9 && return 0
	if [ "${LAB_LOCK_WAIT:-0}" -gt 0 ]; then
		echo "$1: waiting (at most $LAB_LOCK_WAIT s) for another lab run to release $LAB_LOCK" >&2
		flock -w "$LAB_LOCK_WAIT" 9 && return 0
	fi
	return 1
}
