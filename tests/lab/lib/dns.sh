# dns.sh - the lab's DNS world brought up: NSD, its addresses, its MX sinks.
#
# SYNOPSIS
#	. tests/lab/lib.sh	(sources this file)
#	lab_world_up
#
# DESCRIPTION
#	tests/lab/dns/build.sh builds the signed zones, certificates and
#	tables into $LAB_DIR/dns while lab_up does the rest (LAB_DNS_BUILD_PID);
#	lab_world_up waits for it, puts the world's addresses on mxl-mx,
#	starts NSD (tests/lab/dns/up.sh), the MTA-STS policy host
#	(lib/policy.sh) and the TLSRPT endpoint (lib/sinks.sh), and spawns
#	one sink per line of mx.tsv.

# lab_world_up - the DNS world built by lab_up (in the background): its
# sink addresses on mxl-mx, NSD, nginx, one sink per line of mx.tsv (spawned)
LAB_DNS_BUILD_PID=
LAB_WORLD_SINKS=
lab_world_up() {
	local ip host cert key how st l
	wait "$LAB_DNS_BUILD_PID"
	st=$?
	LAB_DNS_BUILD_PID=
	if [ "$st" != 0 ]; then
		lab_log "tests/lab/dns/build.sh failed:"; tail -n 5 "$LAB_DIR/log/dns-build.log" >&2
		return 1
	fi
	while IFS=$'\t' read -r ip host cert key how; do
		case $ip in
		*:*) echo "addr add $ip/64 dev veth0 nodad" ;;
		*) echo "addr add $ip/24 dev veth0" ;;
		esac
	done <"$LAB_DIR/dns/mx.tsv" | ip -n "$LAB_NS_MX" -batch - || return 1
	# the policy host's addresses (on-link from mxl-mta, as the DNS server's)
	. "$LAB_DIR/dns/env.sh" || return 1
	{
		echo "addr add $DNS_HTTPS_V4/24 dev veth0"
		echo "addr add $DNS_HTTPS_V6/64 dev veth0 nodad"
		echo "addr add $DNS_RPT_V4/24 dev veth0"
		echo "addr add $DNS_RPT_V6/64 dev veth0 nodad"
	} | ip -n "$LAB_NS_MX" -batch - || return 1
	lab_rpt_spawn
	if ! "$LAB_HERE/dns/up.sh" "$LAB_DIR/dns" "$LAB_NS_MX" >"$LAB_DIR/log/dns-up.log" 2>&1 9>&-; then
		lab_log "tests/lab/dns/up.sh failed:"; tail -n 5 "$LAB_DIR/log/dns-up.log" >&2
		return 1
	fi
	lab_https_start || return 1
	lab_rpt_wait || return 1
	LAB_WORLD_SINKS=
	while IFS=$'\t' read -r ip host cert key how; do
		case $ip in *:*) l="[$ip]:25" ;; *) l="$ip:25" ;; esac
		[ "$how" = starttls ] || { cert=- key=-; }
		lab_sink_define "$ip" normal "$host" "$cert" "$key" "$l"
		lab_sink_spawn "$ip"
		LAB_WORLD_SINKS="$LAB_WORLD_SINKS $ip"
	done <"$LAB_DIR/dns/mx.tsv"
	return 0
}
