# big - a 20 MiB message goes through intact; mxtlsd's memory stays bounded
# (its peak RSS grows by less than half the message size; not checked for a
# sanitizer build, whose allocator keeps freed memory in quarantine).
lab_mxtlsd_hwm_kb() {
	local pid max=0 v exe
	exe=$(readlink -f "$MXTLSD")
	for pid in $(ip netns pids "$LAB_NS_MTA"); do
		[ "$(readlink -f /proc/$pid/exe 2>/dev/null)" = "$exe" ] || continue
		v=$(awk '/^VmHWM:/ {print $2}' /proc/$pid/status 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
	done
	echo "$max"
}

scenario_big() {
	local before after size
	[ "$LAB_FLAVOR" = local ] && before=$(lab_mxtlsd_hwm_kb)
	lab_deliver mx1 tls.lab.example $((20 * 1024 * 1024)) 60 || return
	size=$(lab_tool json-get "$D_JSON" size)
	if [ "$size" -ge $((20 * 1024 * 1024)) ]; then pass size
	else fail size "the MX stored $size octets, expected at least 20 MiB"; fi
	lab_check_bytes
	if [ "$LAB_FLAVOR" = local ] && lab_mxtlsd_sanitized; then
		# ASan keeps freed memory in quarantine (256 MiB by default): the
		# RSS of a sanitized build says nothing about mxtlsd's buffers
		lab_log "big: $MXTLSD is built with sanitizers; memory bound checked with a plain build only"
	elif [ "$LAB_FLAVOR" = local ]; then
		after=$(lab_mxtlsd_hwm_kb)
		lab_log "big: mxtlsd VmHWM ${before} kB before, ${after} kB after relaying 20 MiB"
		if [ "$after" -gt 0 ] && [ $((after - before)) -lt 10240 ]; then
			pass mxtlsd-bounded-memory
		else
			fail mxtlsd-bounded-memory "mxtlsd peak RSS (VmHWM) went from ${before} kB to ${after} kB while relaying 20 MiB (limit: +10240 kB)"
		fi
	fi
}
