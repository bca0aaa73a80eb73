# net.sh - the lab's network: namespaces, the veth pair, the port-25 redirect.
#
# SYNOPSIS
#	. tests/lab/lib.sh	(sources this file)
#	lab_ns_exists NAME, lab_sweep_ns NS, lab_clean_stale, lab_net_up
#	lab_redirect_install, lab_redirect_inline
#
# DESCRIPTION
#	mxl-mta and mxl-mx joined by one veth pair, with the first floor's
#	addresses and the DNS server's (see lib.sh for the map); leftovers of
#	an earlier, killed run swept away; the nat OUTPUT REDIRECT of tcp/25
#	to mxtlsd in mxl-mta (iptables/mxtls-iptables when there is one, else
#	inline rules).  LAB_FLAVOR=gateway: mxl-gmta behind mxl-mta, which
#	forwards (lab_net_gateway_up), and the nat PREROUTING REDIRECT of
#	mxtls-iptables --gateway instead.

# lab_ns_exists NAME - is there a network namespace called NAME?
lab_ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$1"; }

# lab_sweep_ns - end every process that lives in namespace $1 (all of them
# were started by the lab: nothing else runs in a namespace it created)
lab_sweep_ns() {
	local ns=$1 pids pid i
	lab_ns_exists "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] || return 0
	for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
	for i in $(seq 30); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
	sleep 0.2
}

# lab_clean_stale - make leftovers of an earlier, killed run harmless
lab_clean_stale() {
	local ns old
	for ns in "$LAB_NS_MTA" "$LAB_NS_MX" "$LAB_NS_GMTA"; do
		if lab_ns_exists "$ns"; then
			lab_log "removing stale namespace $ns (and its processes)"
			lab_sweep_ns "$ns"
			ip netns del "$ns" 2>/dev/null
		fi
	done
	if [ -f "$LAB_STATE" ]; then
		old=$(cat "$LAB_STATE")
		case $old in
		/tmp/mxlab.*)
			if [ -d "$old" ] && [ ! -e "$old/KEEP" ]; then
				lab_log "removing stale lab dir $old"
				rm -rf -- "$old"
			fi ;;
		esac
		rm -f "$LAB_STATE"
	fi
	lab_pf_resolv_remove
}

# lab_net_up - namespaces, veth, addresses
lab_net_up() {
	local a
	ip netns add "$LAB_NS_MTA" || return 1
	ip netns add "$LAB_NS_MX" || return 1
	ip -n "$LAB_NS_MTA" link set lo up || return 1
	ip -n "$LAB_NS_MX" link set lo up || return 1
	# no duplicate address detection (per-namespace sysctls): addresses,
	# link-local ones included, are usable at once instead of after ~2 s
	for a in "$LAB_NS_MTA" "$LAB_NS_MX"; do
		ip netns exec "$a" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
	done
	# create the pair inside the namespaces: the root namespace never sees it
	ip -n "$LAB_NS_MTA" link add veth0 type veth peer name veth0 netns "$LAB_NS_MX" || return 1
	ip -n "$LAB_NS_MTA" addr add 192.0.2.1/24 dev veth0 || return 1
	ip -n "$LAB_NS_MTA" addr add 2001:db8::1/64 dev veth0 nodad || return 1
	# the DNS server's subnet, on-link from mxtlsd's namespace
	ip -n "$LAB_NS_MTA" addr add 198.51.100.1/24 dev veth0 || return 1
	ip -n "$LAB_NS_MTA" addr add 2001:db8:53::1/64 dev veth0 nodad || return 1
	{
		for a in 192.0.2.25 192.0.2.26 192.0.2.27; do
			echo "addr add $a/24 dev veth0"
		done
		for a in 2001:db8::25 2001:db8::26 2001:db8::27; do
			echo "addr add $a/64 dev veth0 nodad"
		done
		echo "addr add 198.51.100.53/24 dev veth0"
		echo "addr add 2001:db8:53::53/64 dev veth0 nodad"
	} | ip -n "$LAB_NS_MX" -batch - || return 1
	ip -n "$LAB_NS_MTA" link set veth0 up || return 1
	ip -n "$LAB_NS_MX" link set veth0 up || return 1
	# ::1 on lo needs no DAD; wait until the veth addresses are usable
	for a in $(seq 50); do
		if ! ip -n "$LAB_NS_MTA" -6 addr show tentative | grep -q inet6 &&
		   ! ip -n "$LAB_NS_MX" -6 addr show tentative | grep -q inet6 &&
		   ip -n "$LAB_NS_MTA" link show veth0 | grep -q 'state UP'; then
			[ "$LAB_FLAVOR" != gateway ] || lab_net_gateway_up
			return
		fi
		sleep 0.1
	done
	lab_log "veth did not come up in time"
	return 1
}

# lab_net_gateway_up - LAB_FLAVOR=gateway: mxl-gmta, the old MTA's host,
# joined to mxl-mta (veth1), its default routes via mxl-mta, which
# forwards; mxl-mx's routes back to it via mxl-mta
lab_net_gateway_up() {
	local i
	ip netns add "$LAB_NS_GMTA" || return 1
	ip -n "$LAB_NS_GMTA" link set lo up || return 1
	ip netns exec "$LAB_NS_GMTA" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
	ip -n "$LAB_NS_MTA" link add veth1 type veth peer name veth0 netns "$LAB_NS_GMTA" || return 1
	ip -n "$LAB_NS_MTA" addr add "$LAB_GW4/24" dev veth1 || return 1
	ip -n "$LAB_NS_MTA" addr add "$LAB_GW6/64" dev veth1 nodad || return 1
	ip -n "$LAB_NS_GMTA" addr add "$LAB_GMTA4/24" dev veth0 || return 1
	ip -n "$LAB_NS_GMTA" addr add "$LAB_GMTA6/64" dev veth0 nodad || return 1
	ip -n "$LAB_NS_MTA" link set veth1 up || return 1
	ip -n "$LAB_NS_GMTA" link set veth0 up || return 1
	ip -n "$LAB_NS_GMTA" route add default via "$LAB_GW4" || return 1
	ip -n "$LAB_NS_GMTA" -6 route add default via "$LAB_GW6" || return 1
	ip -n "$LAB_NS_MX" route add "${LAB_GMTA4%.*}.0/24" via 192.0.2.1 || return 1
	ip -n "$LAB_NS_MX" -6 route add "${LAB_GMTA6%::*}::/64" via 2001:db8::1 || return 1
	ip netns exec "$LAB_NS_MTA" sysctl -q -w net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.veth0.rp_filter=0 \
		net.ipv4.conf.veth1.rp_filter=0 >/dev/null || return 1
	for i in $(seq 50); do
		! ip -n "$LAB_NS_GMTA" -6 addr show tentative | grep -q inet6 &&
			ip -n "$LAB_NS_GMTA" link show veth0 | grep -q 'state UP' && return 0
		sleep 0.1
	done
	lab_log "veth1 (mxl-mta - mxl-gmta) did not come up in time"
	return 1
}

# lab_redirect_install - the nat REDIRECT of tcp/25 to mxtlsd, in mxl-mta
# (LAB_FLAVOR=gateway: mxtls-iptables install --gateway --iface veth1)
lab_redirect_install() {
	local tool=$LAB_REPO/iptables/mxtls-iptables
	if [ "$LAB_FLAVOR" = gateway ]; then
		echo "using $tool install --gateway --iface veth1 --port $LAB_PORT --mark $LAB_MARK" >"$LAB_DIR/log/iptables.log"
		lab_in_mta "$tool" install --gateway --iface veth1 --port "$LAB_PORT" \
			--mark "$LAB_MARK" >>"$LAB_DIR/log/iptables.log" 2>&1 || return 1
	elif [ -x "$tool" ] && [ -z "$LAB_INLINE_IPTABLES" ]; then
		echo "using $tool install --local --port $LAB_PORT --mark $LAB_MARK" >"$LAB_DIR/log/iptables.log"
		lab_in_mta "$tool" install --local --port "$LAB_PORT" --mark "$LAB_MARK" \
			>>"$LAB_DIR/log/iptables.log" 2>&1 || return 1
	else
		echo "using inline rules" >"$LAB_DIR/log/iptables.log"
		lab_redirect_inline || return 1
	fi
	{ lab_in_mta iptables-save -t nat; lab_in_mta ip6tables-save -t nat; } >>"$LAB_DIR/log/iptables.log" 2>&1
}

lab_redirect_inline() {
	local t
	for t in iptables ip6tables; do
		lab_in_mta "$t" -t nat -A OUTPUT -p tcp --dport 25 \
			-m mark ! --mark "$LAB_MARK" -j REDIRECT --to-ports "$LAB_PORT" || return 1
	done
}
