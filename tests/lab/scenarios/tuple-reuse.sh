# tuple-reuse - an MTA connection that reuses the source port of one of
# mxtlsd's upstream connections is still redirected to mxtlsd.
#   In mxl-mta, a connection with mxtlsd's upstream_mark ($LAB_MARK) from
#   192.0.2.1:PORT to mx3 (192.0.2.27:25, reset-in-data) is left alone by
#   the rules (marked-direct: mx3's banner) and reset by mx3 inside DATA
#   (marked-reset), so that its conntrack entry stays in CLOSE for 10 s.
#   An unmarked connection from the same 192.0.2.1:PORT to the same
#   192.0.2.27:25 right after must get mxtlsd's banner (unmarked-redirected):
#   in one conntrack zone its SYN would be taken as part of the old,
#   un-NATed entry, not redirected, and MXTLS_GUARD would reset it
#   ("Connection refused").  mxtls-iptables --ct-zone puts mxtlsd's
#   packets in a zone of their own in the original direction: the old
#   entry shows zone-orig=Z (ct-zone-orig), and mxtlsd's upstream still
#   delivers (delivered, mx-tls: the replies, in zone 0, find its entries).

scenario_tuple-reuse() {
	local tool=$LAB_REPO/iptables/mxtls-iptables out port zone ct

	if [ "$LAB_FLAVOR" != local ]; then
		pass skipped-not-local
		return
	fi
	port=$((40000 + RANDOM % 20000))
	lab_in_mta conntrack -D -p tcp --orig-port-src "$port" >/dev/null 2>&1
	out=$(lab_in_mta "$LAB_PY" "$LAB_PY_DIR/tuple_reuse.py" "$LAB_MARK" 192.0.2.1 "$port" 192.0.2.27 2>&1)
	ct=$(lab_in_mta conntrack -L -p tcp --orig-port-src "$port" 2>/dev/null)
	lab_log "tuple-reuse: port $port: $out"
	lab_log "tuple-reuse: conntrack: $ct"
	case $out in
	*"marked-banner: 220 mx3.lab.example"*) pass marked-direct ;;
	*) fail marked-direct "the marked connection did not reach mx3 itself: $out" ;;
	esac
	case $out in
	*"marked-reset: yes"*) pass marked-reset ;;
	*) fail marked-reset "mx3 did not reset the marked connection inside DATA: $out" ;;
	esac
	case $out in
	*"unmarked-banner: 220 mxtls.lab.example"*) pass unmarked-redirected ;;
	*) fail unmarked-redirected "the unmarked connection from the same 192.0.2.1:$port was not redirected to mxtlsd: $(echo "$out" | grep '^unmarked')" ;;
	esac
	zone=$(lab_in_mta "$tool" status 2>/dev/null | sed -n 's/^ct-zone: \([0-9]*\) .*/\1/p')
	if [ -z "$zone" ]; then
		fail ct-zone-orig "mxtls-iptables status shows no ct-zone"
	# the marked connection's entry (CLOSE after the sink's reset; at
	# times TIME_WAIT, when a FIN got out first) is in the zone
	elif echo "$ct" | grep -F " sport=$port dport=25 " | grep -qF "zone-orig=$zone "; then
		pass ct-zone-orig
	else
		fail ct-zone-orig "no entry of the marked connection from port $port with zone-orig=$zone: $ct"
	fi
	lab_deliver mx1 tls.lab.example 2000 30 || return
	lab_check_mx_tls yes
	lab_check_mxtlsd_log through-mxtlsd "to=<$D_RCPT>.*status=sent" \
		"mxtlsd's log does not mention <$D_RCPT>"
}
