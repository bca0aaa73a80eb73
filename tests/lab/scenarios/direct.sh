# direct - a connection straight to mxtlsd's listener (not redirected, so
# its original destination is the listener itself) is refused: 554 5.7.1.
scenario_direct() {
	local a log
	if [ "$LAB_FLAVOR" != local ]; then
		lab_log "direct: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"
		return 0
	fi
	for a in "127.0.0.1:$LAB_PORT v4" "[::1]:$LAB_PORT v6"; do
		set -- $a
		log=$LAB_DIR/log/smtpclient-direct-$2.log
		if lab_fg "$log" lab_in_mta "$LAB_PY" "$LAB_PY_DIR/smtpclient.py" --connect "$1" \
			--banner-only --expect "554 5.7.1" --timeout 10; then
			pass "refused-$2"
		else
			fail "refused-$2" "connection to $1 was not refused with 554 5.7.1: $(tail -n 3 "$log")"
		fi
	done
}
