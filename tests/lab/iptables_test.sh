#!/bin/bash
# shellcheck disable=SC2031 # exact_bg's subshells set NS_A and TMP of their own
#
# iptables_test.sh - lab test of iptables/mxtls-iptables (run as root).
#
# Builds three network namespaces of its own and checks, inside them only,
# that the rules mxtls-iptables installs really redirect (or do not redirect)
# TCP connections to port 25, that installing twice leaves one set of rules,
# and that remove leaves nothing behind (iptables, nft, ip rule, ip route).
# The install/remove cycles that make no connection run meanwhile in the
# background, in two more namespaces (x, y) that stand in for a.
#
#   c (old MTA host)  c0 198.51.100.2/24  2001:db8:c::2/64
#        |
#   a (mxtlsd host)   a0 198.51.100.1/24  2001:db8:c::1/64   forwarding on
#                     a1 192.0.2.1/24     2001:db8:b::1/64
#        |
#   b (real MX)       b0 192.0.2.25/24    2001:db8:b::25/64
#
# a runs the stand-in for mxtlsd: 0.0.0.0:10025 and [::]:10025 answer
# "REDIRECTED local=... orig=..." (orig from SO_ORIGINAL_DST), transparent
# 0.0.0.0:10026 and [::]:10026 answer "TPROXY local=...".  b's port 25
# answers "DIRECT local=..." (each line ends with " peer=ADDR:PORT").  A
# client prints the first line it receives; for --source-client, a client
# in a sends from c's address, as mxtlsd does with upstream_source = client.
#
# Output: one line per check, "PASS: iptables NAME" or
# "FAIL: iptables NAME REASON" ("SKIP: iptables NAME REASON" when the kernel
# lacks IPv6); exit status 1 when any check failed.
#
# Environment: MXTLS_IPTABLES=path overrides the script under test.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOOL=${MXTLS_IPTABLES:-$HERE/../../iptables/mxtls-iptables}
TOOL=$(cd "$(dirname "$TOOL")" && pwd)/$(basename "$TOOL")

if [ "$(id -u)" != 0 ]; then
	echo "FAIL: iptables setup must run as root"
	exit 1
fi

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

NS_A=mxipt-test-$$-a
NS_B=mxipt-test-$$-b
NS_C=mxipt-test-$$-c
NS_X=mxipt-test-$$-x
NS_Y=mxipt-test-$$-y
TMP=$(mktemp -d /tmp/mxipt-test.XXXXXX)
chmod 755 "$TMP"
PIDS=()
FAILS=0

cleanup() {
	local p n
	for p in ${PIDS[@]+"${PIDS[@]}"}; do
		kill "$p" 2>/dev/null
	done
	for p in ${PIDS[@]+"${PIDS[@]}"}; do
		wait "$p" 2>/dev/null
	done
	for n in "$NS_A" "$NS_B" "$NS_C" "$NS_X" "$NS_Y"; do
		# anything still running inside our namespaces was started here
		for p in $(ip netns pids "$n" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS: iptables $1"; }
fail() {
	echo "FAIL: iptables $1 $2"
	FAILS=$((FAILS + 1))
}
skip() { echo "SKIP: iptables $1 $2"; }

ina() { ip netns exec "$NS_A" "$@"; }
inc() { ip netns exec "$NS_C" "$@"; }

# tool ARGS... - run mxtls-iptables in namespace a; output in $OUT/$ERR, status in $RC
tool() {
	ina "$TOOL" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# tool_ok NAME ARGS... - run the tool, fail NAME when it does not exit 0
tool_ok() {
	local name=$1
	shift
	tool "$@"
	if [ "$RC" != 0 ]; then
		fail "$name" "mxtls-iptables $* exited $RC: $(echo "$ERR" | head -3 | tr '\n' ' ')"
		return 1
	fi
}

# ------------------------------------------------------------------ helpers

cat >"$TMP/srv.py" <<'EOF'
# srv.py READYFILE TAG,ADDR,PORT,TRANSPARENT... - answer one line per connection
import socket, struct, sys, threading

def fmt(fam, sa):
    return ("[%s]:%d" if fam == socket.AF_INET6 else "%s:%d") % (sa[0], sa[1])

def orig(c, fam):
    try:
        if fam == socket.AF_INET:
            raw = c.getsockopt(socket.SOL_IP, 80, 16)          # SO_ORIGINAL_DST
            return "%s:%d" % (socket.inet_ntop(socket.AF_INET, raw[4:8]),
                              struct.unpack("!H", raw[2:4])[0])
        raw = c.getsockopt(41, 80, 28)                         # IP6T_SO_ORIGINAL_DST
        return "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, raw[8:24]),
                            struct.unpack("!H", raw[2:4])[0])
    except OSError:
        return "-"

LOG = sys.argv[1] + ".log"

def serve(s, tag, fam):
    while True:
        c, peer = s.accept()
        with open(LOG, "a") as f:                            # one line per connection
            f.write("%s %s\n" % (tag, peer[0]))
        try:
            c.sendall(("%s local=%s orig=%s peer=%s\n" % (tag, fmt(fam, c.getsockname()),
                                                  orig(c, fam), fmt(fam, c.getpeername()))).encode())
        except OSError:
            pass
        c.close()

for spec in sys.argv[2:]:
    tag, addr, port, transp = spec.split(",")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if transp == "1":
        if fam == socket.AF_INET:
            s.setsockopt(socket.SOL_IP, 19, 1)                 # IP_TRANSPARENT
        else:
            s.setsockopt(41, 75, 1)                            # IPV6_TRANSPARENT
    s.bind((addr, int(port)))
    s.listen(64)
    threading.Thread(target=serve, args=(s, tag, fam), daemon=True).start()
open(sys.argv[1], "w").write("ready\n")
threading.Event().wait()
EOF

cat >"$TMP/cli.py" <<'EOF'
# cli.py ADDR PORT MARK - connect (SO_MARK=MARK unless 0), print the first line
import socket, sys
addr, port, mark = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(1.0)
try:
    if mark:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    s.connect((addr, port))
    print(s.makefile().readline().strip() or "ERR empty")
except Exception as e:
    print("ERR " + type(e).__name__)
EOF
cat >"$TMP/tcli.py" <<'EOF'
# tcli.py SRC ADDR PORT - connect from SRC (IP_TRANSPARENT, any port), print the first line
import socket, sys
src, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(1.0)
try:
    if fam == socket.AF_INET:
        s.setsockopt(socket.SOL_IP, 19, 1)                     # IP_TRANSPARENT
    else:
        s.setsockopt(41, 75, 1)                                # IPV6_TRANSPARENT
    s.bind((src, 0))
    s.connect((addr, port))
    print(s.makefile().readline().strip() or "ERR empty")
except Exception as e:
    print("ERR " + type(e).__name__)
EOF
chmod 644 "$TMP/srv.py" "$TMP/cli.py" "$TMP/tcli.py"

# expect_tconn NAME WANT SRC ADDR PORT - WANT is a prefix of what a
# transparent client in a, sending from SRC, receives
expect_tconn() {
	local name=$1 want=$2 got
	got=$(ina "$PY" "$TMP/tcli.py" "$3" "$4" "$5" 2>&1)
	case $got in
	"$want"*) pass "$name" ;;
	*) fail "$name" "connect from $3 to $4:$5: got '$got', want '$want'" ;;
	esac
}

# conn NS ADDR PORT [MARK [UID]] - print what a client in NS receives
conn() {
	local ns=$1 addr=$2 port=$3 mark=${4:-0} uid=${5:-}
	if [ -n "$uid" ]; then
		ip netns exec "$ns" setpriv --reuid="$uid" --regid="$uid" --clear-groups \
			"$PY" "$TMP/cli.py" "$addr" "$port" "$mark" 2>&1
	else
		ip netns exec "$ns" "$PY" "$TMP/cli.py" "$addr" "$port" "$mark" 2>&1
	fi
}

# expect_conn NAME WANT NS ADDR PORT [MARK [UID]] - WANT is a prefix of the answer
expect_conn() {
	local name=$1 want=$2 got
	shift 2
	got=$(conn "$@")
	case $got in
	"$want"*) pass "$name" ;;
	*) fail "$name" "connect $2:$3 mark=${4:-0}${5:+ uid=$5}: got '$got', want '$want'" ;;
	esac
}

save_all() { ina iptables-save 2>/dev/null; ina ip6tables-save 2>/dev/null; }

# count PATTERN TEXT - number of lines of TEXT matching the extended regex
count() { printf '%s\n' "$2" | grep -cE -- "$1"; }

# ipt_save FAMILY TABLE
ipt_save() {
	if [ "$1" = 4 ]; then ina iptables-save -t "$2"; else ina ip6tables-save -t "$2"; fi 2>/dev/null
}

# nothing_left NAME - our chains, nft table, ip rules and routes all gone
nothing_left() {
	local name=$1 why='' s f
	s=$(save_all)
	[ "$(count 'MXTLS' "$s")" = 0 ] || why+="iptables-save still has: $(printf '%s\n' "$s" | grep MXTLS | head -2 | tr '\n' ' '); "
	s=$(ina nft list ruleset 2>&1)
	printf '%s\n' "$s" | grep -q mxtls && why+="nft still has table inet mxtls; "
	for f in -4 -6; do
		s=$(ina ip "$f" rule show)
		printf '%s\n' "$s" | grep -qE 'fwmark|proto 109' && why+="ip $f rule: $(printf '%s\n' "$s" | grep -E 'fwmark|proto 109' | head -1); "
		s=$(ina ip "$f" route show table all proto 109)
		[ -z "$s" ] || why+="ip $f route: $s; "
		s=$(ina ip "$f" route show table 100 2>/dev/null)
		[ -z "$s" ] || why+="ip $f route table 100: $s; "
	done
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

# nft_empty NAME - nft list ruleset prints nothing at all
nft_empty() {
	local s
	s=$(ina nft list ruleset 2>&1)
	if [ -z "$s" ]; then pass "$1"; else fail "$1" "nft list ruleset not empty: $(echo "$s" | head -3 | tr '\n' ' ')"; fi
}

# -------------------------------------------------------------------- world

setup() {
	local n
	for n in "$NS_A" "$NS_B" "$NS_C"; do
		ip netns add "$n" || return 1
		ip netns exec "$n" ip link set lo up || return 1
	done
	ip link add a0 netns "$NS_A" type veth peer name c0 netns "$NS_C" || return 1
	ip link add a1 netns "$NS_A" type veth peer name b0 netns "$NS_B" || return 1
	ina sh -e -c '
		ip addr add 198.51.100.1/24 dev a0
		ip addr add 192.0.2.1/24 dev a1
		ip link set a0 up
		ip link set a1 up
		sysctl -qw net.ipv4.ip_forward=1
		sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		sysctl -qw net.ipv4.conf.a0.rp_filter=0 net.ipv4.conf.a1.rp_filter=0' || return 1
	ip netns exec "$NS_B" sh -e -c '
		ip addr add 192.0.2.25/24 dev b0
		ip link set b0 up
		ip route add default via 192.0.2.1' || return 1
	inc sh -e -c '
		ip addr add 198.51.100.2/24 dev c0
		ip link set c0 up
		ip route add default via 198.51.100.1' || return 1
	HAVE6=0
	if ina test -e /proc/net/if_inet6; then
		ina sh -e -c '
			ip addr add 2001:db8:c::1/64 dev a0 nodad
			ip addr add 2001:db8:b::1/64 dev a1 nodad
			sysctl -qw net.ipv6.conf.all.forwarding=1' &&
		ip netns exec "$NS_B" sh -e -c '
			ip addr add 2001:db8:b::25/64 dev b0 nodad
			ip -6 route add default via 2001:db8:b::1' &&
		inc sh -e -c '
			ip addr add 2001:db8:c::2/64 dev c0 nodad
			ip -6 route add default via 2001:db8:c::1' &&
		HAVE6=1
	fi

	# shellcheck disable=SC2054 # TAG,ADDR,PORT,TRANSPARENT
	local a_specs=(REDIRECTED,0.0.0.0,10025,0 TPROXY,0.0.0.0,10026,1)
	# shellcheck disable=SC2054
	local b_specs=(DIRECT,192.0.2.25,25,0)
	if [ "$HAVE6" = 1 ]; then
		# shellcheck disable=SC2054
		a_specs+=(REDIRECTED,::,10025,0 TPROXY,::,10026,1)
		# shellcheck disable=SC2054
		b_specs+=(DIRECT,2001:db8:b::25,25,0)
	fi
	ip netns exec "$NS_A" "$PY" "$TMP/srv.py" "$TMP/ready.a" "${a_specs[@]}" 2>"$TMP/srv.a.err" &
	PIDS+=($!)
	ip netns exec "$NS_B" "$PY" "$TMP/srv.py" "$TMP/ready.b" "${b_specs[@]}" 2>"$TMP/srv.b.err" &
	PIDS+=($!)
	for n in $(seq 50); do
		[ -e "$TMP/ready.a" ] && [ -e "$TMP/ready.b" ] && return 0
		sleep 0.1
	done
	cat "$TMP/srv.a.err" "$TMP/srv.b.err" >&2
	return 1
}

# v6 NAME CMD... - run an IPv6 check, or say it was skipped
v6() {
	local name=$1
	shift
	if [ "$HAVE6" = 1 ]; then "$@"; else skip "$name" "no IPv6 in this kernel"; fi
}

if ! setup; then
	fail setup "could not build the namespaces and listeners"
	exit 1
fi

# snap - the whole packet filter and routing state of a, counters stripped
# shellcheck disable=SC2317 # exact_bg runs it
snap() {
	local f
	{
		echo "== iptables-save"
		ina iptables-save 2>/dev/null
		echo "== ip6tables-save"
		ina ip6tables-save 2>/dev/null
		echo "== nft list ruleset"
		ina nft list ruleset 2>/dev/null
		for f in -4 -6; do
			echo "== ip $f rule"
			ina ip "$f" rule show 2>/dev/null
			echo "== ip $f route show table all"
			ina ip "$f" route show table all 2>/dev/null
		done
	} | sed -E -e '/^#/d' -e 's/\[[0-9]+:[0-9]+\]/[0:0]/g' -e 's/counter packets [0-9]+ bytes [0-9]+/counter/g'
}

# can the kernel run nft's queue statement (CONFIG_NFT_QUEUE)?
NFT_QUEUE=0
if printf 'table inet mxprobe {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\tqueue num 1 bypass\n\t}\n}\n' |
	ina nft -c -f - >/dev/null 2>&1; then
	NFT_QUEUE=1
fi

# exact_cycle NAME INSTALL-ARGS... - install, then remove: snap unchanged
# shellcheck disable=SC2317 # exact_bg runs it
exact_cycle() {
	local name=$1 before after nftdns=0
	shift
	case " $* " in *" --nft "*" --dns-watch "* | *" --dns-watch "*" --nft "*) [ "$NFT_QUEUE" = 1 ] || nftdns=1 ;; esac
	before=$(snap)
	tool install "$@"
	if [ "$nftdns" = 1 ]; then
		# no nft queue in this kernel: refused with a reason, nothing changed
		if [ "$RC" != 2 ] || ! printf '%s' "$ERR" | grep -q CONFIG_NFT_QUEUE; then
			fail "$name" "install $* without kernel nft queue: rc=$RC, want 2 naming CONFIG_NFT_QUEUE: $ERR"
			ina "$TOOL" remove >/dev/null 2>&1
			return
		fi
	elif [ "$RC" != 0 ]; then
		fail "$name" "install $* exited $RC: $(echo "$ERR" | head -3 | tr '\n' ' ')"
		ina "$TOOL" remove >/dev/null 2>&1
		return
	elif [ "$(snap)" = "$before" ]; then
		fail "$name" "install $* changed nothing"
		return
	fi
	tool remove
	after=$(snap)
	if [ "$RC" != 0 ]; then
		fail "$name" "remove exited $RC: $ERR"
	elif [ "$after" != "$before" ]; then
		fail "$name" "state after remove differs: $(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]' | head -4 | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

EXACT_MODES=(
	"local|--local --mark 36"
	"local-user|--local --mark 36 --user nobody"
	"gw|--gateway --iface a0"
	"gw-mark|--gateway --iface a0 --mark 36 --ct-zone 7"
	"gw-source|--gateway --source 198.51.100.0/24 --source 2001:db8:c::/64"
	"tp|--gateway --tproxy --iface a0"
	"tp-source|--gateway --tproxy --source 198.51.100.0/24"
)
EXACT_EXTRAS=(
	"plain|"
	"fail-closed|--fail-closed"
	"dns|--dns-watch 7 --queue-bypass"
	"dns-fail-closed|--dns-watch 7 --queue-bypass --fail-closed"
	"dns-nobypass-user|--dns-watch 65535 --fail-open"
)

# shellcheck disable=SC2317 # exact_bg runs it
exact_matrix() {
	local base=$1 m e b mn ma en ea
	for m in "${EXACT_MODES[@]}"; do
		mn=${m%%|*} ma=${m#*|}
		for e in "${EXACT_EXTRAS[@]}"; do
			en=${e%%|*} ea=${e#*|}
			for b in "" --nft; do
				# shellcheck disable=SC2086
				exact_cycle "exact-$base-$mn-$en${b:+-nft}" $ma $ea $b
			done
		done
	done
}

# exact_fresh - a host with nothing at all
# shellcheck disable=SC2317 # exact_bg runs it
exact_fresh() {
	ina nft flush ruleset
	exact_matrix fresh
}

# a host with a firewall and policy routing of its own, which must survive
# shellcheck disable=SC2317 # exact_bg runs it
busy_setup() {
	ina sh -e -c '
		iptables -A INPUT -s 203.0.113.0/24 -j DROP
		iptables -t nat -A POSTROUTING -s 203.0.113.0/24 -o a1 -j MASQUERADE
		iptables -t mangle -A PREROUTING -p udp --dport 9 -j MARK --set-mark 5
		iptables -N OTHER
		iptables -A OTHER -j RETURN
		nft add table inet other
		nft add chain inet other c "{ type filter hook input priority 10; policy accept; }"
		nft add rule inet other c udp dport 9 counter
		ip rule add fwmark 0x77 lookup 77 pref 1000
		ip route add 203.0.113.0/24 via 192.0.2.25 table 77'
	if [ "$HAVE6" = 1 ]; then
		ina sh -e -c '
			ip6tables -A INPUT -s 2001:db8:ffff::/48 -j DROP
			ip6tables -t mangle -A OUTPUT -p udp --dport 9 -j MARK --set-mark 6'
	fi
}
# exact_busy - the matrix on such a host, then a sequence of installs
# shellcheck disable=SC2317 # exact_bg runs it
exact_busy() {
	ina nft flush ruleset
	if busy_setup; then
		exact_matrix busy
		# one install after another with other options, then one remove
		local before seq_ok args
		before=$(snap)
		seq_ok=1
		for args in "--local --mark 36 --dns-watch 3 --queue-bypass" "--gateway --iface a0 --fail-closed" \
			"--gateway --tproxy --dns-watch 4 --fail-closed" "--local --user nobody --nft --fail-closed" \
			"--gateway --tproxy --source 198.51.100.0/24" "--local --mark 36 --user nobody --dns-watch 9 --queue-bypass --fail-closed"; do
			# shellcheck disable=SC2086
			tool install $args
			[ "$RC" = 0 ] || { seq_ok=0; fail exact-busy-sequence "install $args exited $RC: $ERR"; break; }
		done
		if [ "$seq_ok" = 1 ]; then
			tool remove
			if [ "$RC" = 0 ] && [ "$(snap)" = "$before" ]; then
				pass exact-busy-sequence
			else
				fail exact-busy-sequence "rc=$RC: $(diff <(printf '%s\n' "$before") <(snap) | grep '^[<>]' | head -4 | tr '\n' ' ')"
			fi
		fi
	else
		fail exact-busy-setup "could not install the unrelated rules"
	fi
}

# ---- exact: install, then remove, leaves the host as it was
#
# These 141 checks make no connection and took two thirds of the test's
# time one after another: they run in the background, in two namespaces
# of their own that stand in for a (x: the fresh host, y: the busy one),
# while the checks below use a, b and c; exact_join, at the end, prints
# their lines and counts their failures.
EXACT_PIDS=()

# exact_ns NS - a host like a for the rules: lo, a0 198.51.100.1/24 and
# a1 192.0.2.1/24 up (a veth pair of its own; no IPv6 link-local
# addresses, whose late routes would change a snap)
exact_ns() {
	ip netns add "$1" && ip netns exec "$1" sh -e -c '
		ip link set lo up
		ip link add a0 type veth peer name a1
		ip link set a0 addrgenmode none 2>/dev/null || [ ! -e /proc/net/if_inet6 ]
		ip link set a1 addrgenmode none 2>/dev/null || [ ! -e /proc/net/if_inet6 ]
		ip addr add 198.51.100.1/24 dev a0
		ip addr add 192.0.2.1/24 dev a1
		ip link set a0 up
		ip link set a1 up'
}

# exact_bg NAME NS FUNC - FUNC in the background with NS as a; its lines
# in $TMP/NAME.out, $TMP/NAME.done when it finished
exact_bg() {
	mkdir -p "$TMP/$1" && chmod 755 "$TMP/$1"
	(
		# shellcheck disable=SC2030 # this subshell's own a and temp dir
		NS_A=$2 TMP=$TMP/$1
		if exact_ns "$2"; then "$3"; else fail "$1-setup" "could not build namespace $2"; fi
		: >"$TMP.done"
	) >"$TMP/$1.out" 2>"$TMP/$1.err" &
	PIDS+=($!)
	EXACT_PIDS+=($!)
}

# exact_join - wait for both, print their checks, count their failures
exact_join() {
	local p n
	for p in "${EXACT_PIDS[@]}"; do
		wait "$p"
	done
	for n in exact-fresh exact-busy; do
		cat "$TMP/$n.out"
		[ -s "$TMP/$n.err" ] && sed "s/^/$n: /" "$TMP/$n.err" >&2
		FAILS=$((FAILS + $(grep -c '^FAIL: ' "$TMP/$n.out")))
		[ -e "$TMP/$n.done" ] || fail "$n-finished" "the background checks stopped early"
	done
}

exact_bg exact-fresh "$NS_X" exact_fresh
exact_bg exact-busy "$NS_Y" exact_busy

# ----------------------------------------------------------------- checks

# static checks
if bash -n "$TOOL" 2>"$TMP/err" && [ -x "$TOOL" ]; then
	pass syntax
else
	fail syntax "$(head -1 "$TMP/err") (or not executable)"
fi

# baseline: no rules, the MX answers directly
expect_conn baseline-direct-v4 "DIRECT local=192.0.2.25:25" "$NS_A" 192.0.2.25 25
v6 baseline-direct-v6 expect_conn baseline-direct-v6 "DIRECT local=[2001:db8:b::25]:25" "$NS_A" 2001:db8:b::25 25

# usage errors: exit 2 and a message naming the problem
usage_errs() {
	local why='' args want
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086
		tool $args
		if [ "$RC" != 2 ] || ! printf '%s' "$ERR" | grep -qi -- "$want"; then
			why+="'$args' -> rc=$RC '$ERR'; "
		fi
	done <<'EOF'
install --local --mark 36 --port 0|port
install --local --mark 36 --port 70000|port
install --local --mark 36 --port abc|port
install --local --mark 36 --dport 25x|port
install --local --frob|unknown option '--frob'
frob|unknown command
install --local|--mark or --user
install --local --mark zz|bad --mark
install --local --mark 0|must not be 0
install --gateway --user nobody|--user works only with --local
install --local --mark 36 --iface a0|--iface works only with --gateway
install --gateway --source 300.1.2.3/24|bad address for --source
install --gateway --tproxy --table-id 254|--table-id
install --local --mark 1 --ct-zone 70000|bad zone for --ct-zone
install --local --mark 36 --user no-such-user-mxipt|unknown user
install --gateway --tproxy --mark 0x25|tproxy mark
install --local --mark 36 --ipv4-only --ipv6-only|exclude each other
install --local --tproxy --mark 36|--tproxy works only with --gateway
install --gateway --source-client|--source-client works only with --gateway --tproxy
EOF
	# not root
	ina setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" install --local --mark 36 >/dev/null 2>"$TMP/err"
	RC=$?
	if [ "$RC" != 2 ] || ! grep -q root "$TMP/err"; then why+="non-root -> rc=$RC '$(cat "$TMP/err")'; "; fi
	# iptables missing (Debian keeps iptables in /usr/sbin only)
	if ! PATH=/usr/bin:/bin command -v iptables >/dev/null; then
		ina env PATH=/usr/bin:/bin "$TOOL" install --local --mark 36 >/dev/null 2>"$TMP/err"
		RC=$?
		if [ "$RC" != 2 ] || ! grep -q "iptables not found" "$TMP/err"; then why+="no iptables -> rc=$RC '$(cat "$TMP/err")'; "; fi
	fi
	if [ -n "$(save_all | grep MXTLS)" ]; then why+="a failed command left rules behind; "; fi
	if [ -z "$why" ]; then pass usage-errors; else fail usage-errors "$why"; fi
}
usage_errs

# dry run: prints, changes nothing
tool install --local --mark 36 --dry-run
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -q 'REDIRECT --to-ports 10025' &&
	[ -z "$(save_all | grep MXTLS)" ]; then
	pass dry-run
else
	fail dry-run "rc=$RC, or no REDIRECT printed, or rules were changed: $ERR"
fi

# status before anything: 1
tool status
if [ "$RC" = 1 ]; then pass status-not-installed; else fail status-not-installed "exit $RC, want 1: $OUT $ERR"; fi

# ---- --local, iptables

# local_rules NAME FAMILY MARKRULE - one jump from OUTPUT, the expected chain
local_rules() {
	local name=$1 f=$2 s why=''
	s=$(ipt_save "$f" nat)
	[ "$(count '^-A .* -j MXTLS$' "$s")" = 1 ] || why+="jumps to MXTLS: $(count '^-A .* -j MXTLS$' "$s"), want 1; "
	[ "$(count '^-A OUTPUT -p tcp -m tcp --dport 25 -j MXTLS$' "$s")" = 1 ] || why+="no OUTPUT jump; "
	[ "$(count '^:MXTLS ' "$s")" = 1 ] || why+="chain MXTLS not declared once; "
	[ "$(count '^-A MXTLS -m mark --mark 0x24 -j RETURN$' "$s")" = 1 ] || why+="no mark 0x24 RETURN; "
	[ "$(count '^-A MXTLS -m addrtype --dst-type LOCAL -j RETURN$' "$s")" = 1 ] || why+="no local-destination RETURN; "
	[ "$(count '^-A MXTLS -p tcp -j REDIRECT --to-ports 10025$' "$s")" = 1 ] || why+="no REDIRECT 10025; "
	[ "$(count '^-A MXTLS -m comment --comment "mxtls fail-open( made=[a-z,]+)?"$' "$s")" = 1 ] || why+="no fail-open record; "
	[ "$(count '^-A MXTLS ' "$s")" = 4 ] || why+="MXTLS has $(count '^-A MXTLS ' "$s") rules, want 4; "
	[ "$(count 'MXTLS' "$(ipt_save "$f" mangle)")" = 0 ] || why+="mangle has MXTLS rules; "
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

if tool_ok local-install install --local --mark 36 && tool_ok local-install-again --local --mark 0x24 install; then
	local_rules local-install-twice-v4 4
	v6 local-install-twice-v6 local_rules local-install-twice-v6 6
fi

tool status
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -q 'REDIRECT --to-ports 10025'; then
	pass status-installed
else
	fail status-installed "exit $RC, want 0, with the rules: $OUT $ERR"
fi

expect_conn local-redirect-v4 "REDIRECTED local=127.0.0.1:10025 orig=192.0.2.25:25" "$NS_A" 192.0.2.25 25
expect_conn local-mark-bypass-v4 "DIRECT local=192.0.2.25:25" "$NS_A" 192.0.2.25 25 36
expect_conn local-other-mark-redirected-v4 "REDIRECTED" "$NS_A" 192.0.2.25 25 37
expect_conn local-other-port-untouched-v4 "ERR ConnectionRefused" "$NS_A" 192.0.2.25 26
expect_conn local-own-address-untouched-v4 "ERR ConnectionRefused" "$NS_A" 192.0.2.1 25
v6 local-redirect-v6 expect_conn local-redirect-v6 "REDIRECTED local=[::1]:10025 orig=[2001:db8:b::25]:25" "$NS_A" 2001:db8:b::25 25
v6 local-mark-bypass-v6 expect_conn local-mark-bypass-v6 "DIRECT local=[2001:db8:b::25]:25" "$NS_A" 2001:db8:b::25 25 36

# reinstall with --user instead of --mark: replaces, does not add
if tool_ok local-user-install install --local --user nobody; then
	s=$(ipt_save 4 nat)
	if [ "$(count '--mark' "$s")" = 0 ] && [ "$(count '--uid-owner 65534 -j RETURN' "$s")" = 1 ] &&
		[ "$(count '^-A .* -j MXTLS$' "$s")" = 1 ]; then
		pass local-reinstall-replaces
	else
		fail local-reinstall-replaces "$(printf '%s\n' "$s" | grep MXTLS | tr '\n' ' ')"
	fi
	expect_conn local-user-bypass-v4 "DIRECT local=192.0.2.25:25" "$NS_A" 192.0.2.25 25 0 65534
	expect_conn local-root-redirected-v4 "REDIRECTED local=127.0.0.1:10025" "$NS_A" 192.0.2.25 25
	v6 local-user-bypass-v6 expect_conn local-user-bypass-v6 "DIRECT local=[2001:db8:b::25]:25" "$NS_A" 2001:db8:b::25 25 0 65534
fi

# --ipv4-only after a dual install removes the IPv6 rules
if tool_ok local-ipv4-only install --local --mark 36 --ipv4-only; then
	if [ "$(count MXTLS "$(ipt_save 4 nat)")" -gt 0 ] && [ "$(count MXTLS "$(ipt_save 6 nat)")" = 0 ]; then
		pass local-ipv4-only
	else
		fail local-ipv4-only "want MXTLS in iptables only"
	fi
	v6 local-ipv4-only-v6-direct expect_conn local-ipv4-only-v6-direct "DIRECT" "$NS_A" 2001:db8:b::25 25
fi

if tool_ok local-remove remove; then
	nothing_left local-remove
	expect_conn local-removed-direct-v4 "DIRECT" "$NS_A" 192.0.2.25 25
fi
tool remove
if [ "$RC" = 0 ] && [ -z "$OUT$ERR" ]; then pass remove-when-empty; else fail remove-when-empty "rc=$RC out='$OUT' err='$ERR'"; fi
tool status
if [ "$RC" = 1 ]; then pass status-after-remove; else fail status-after-remove "exit $RC, want 1"; fi

# ---- conntrack zone of mxtlsd's upstream (raw MXTLS_CT, --ct-zone)

# ct_rules NAME FAMILY ZONE MATCH... - one jump from raw OUTPUT, and one
#	"-A MXTLS_CT MATCH -j CT --zone-orig ZONE" per MATCH; ZONE 0: none
ct_rules() {
	local name=$1 f=$2 z=$3 s why='' m
	shift 3
	s=$(ipt_save "$f" raw)
	if [ "$z" = 0 ]; then
		[ "$(count 'MXTLS' "$s")" = 0 ] || why+="raw has MXTLS rules: $(count 'MXTLS' "$s"); "
	else
		[ "$(count '^-A .* -j MXTLS_CT$' "$s")" = 1 ] || why+="jumps to MXTLS_CT: $(count '^-A .* -j MXTLS_CT$' "$s"), want 1; "
		[ "$(count '^-A OUTPUT -p tcp -m tcp --dport 25 -j MXTLS_CT$' "$s")" = 1 ] || why+="no raw OUTPUT jump; "
		for m; do
			[ "$(count "^-A MXTLS_CT $m -j CT --zone-orig $z\$" "$s")" = 1 ] || why+="no '$m -j CT --zone-orig $z'; "
		done
		[ "$(count '^-A MXTLS_CT ' "$s")" = $# ] || why+="MXTLS_CT has $(count '^-A MXTLS_CT ' "$s") rules, want $#; "
	fi
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why: $s"; fi
}

# ct_conn NAME NS ADDR MARK ZONE - a marked connection (the stand-in MX
#	answers DIRECT) leaves a conntrack entry with zone-orig=ZONE
ct_conn() {
	local name=$1 ns=$2 addr=$3 mark=$4 z=$5 got ct
	ip netns exec "$ns" conntrack -F >/dev/null 2>&1
	got=$(conn "$ns" "$addr" 25 "$mark")
	ct=$(ip netns exec "$ns" conntrack -L -p tcp --dport 25 2>/dev/null | grep -F "dst=$addr ")
	case $got in
	DIRECT*) ;;
	*)
		fail "$name" "the marked connection got '$got', want DIRECT"
		return
		;;
	esac
	if printf '%s\n' "$ct" | grep -q "zone-orig=$z"; then
		pass "$name"
	else
		fail "$name" "no conntrack entry with zone-orig=$z: $ct"
	fi
}

if tool_ok ct-local install --local --mark 36; then
	ct_rules ct-local-default-v4 4 109 '-m mark --mark 0x24'
	v6 ct-local-default-v6 ct_rules ct-local-default-v6 6 109 '-m mark --mark 0x24'
	tool status
	if printf '%s\n' "$OUT" | grep -q '^ct-zone: 109 '; then pass ct-status; else fail ct-status "$(printf '%s\n' "$OUT" | grep '^ct-zone')"; fi
	if command -v conntrack >/dev/null 2>&1; then
		ct_conn ct-local-conn-zone-v4 "$NS_A" 192.0.2.25 36 109
		v6 ct-local-conn-zone-v6 ct_conn ct-local-conn-zone-v6 "$NS_A" 2001:db8:b::25 36 109
	else
		skip ct-local-conn-zone "no conntrack tool"
	fi
	expect_conn ct-local-redirect-v4 "REDIRECTED local=127.0.0.1:10025 orig=192.0.2.25:25" "$NS_A" 192.0.2.25 25
fi
if tool_ok ct-local-user-zone install --local --mark 36 --user nobody --ct-zone 4242; then
	ct_rules ct-local-user-zone-v4 4 4242 '-m mark --mark 0x24' '-m owner --uid-owner 65534'
	expect_conn ct-local-user-bypass-v4 "DIRECT" "$NS_A" 192.0.2.25 25 0 65534
fi
if tool_ok ct-local-zone-off install --local --mark 36 --ct-zone 0; then
	ct_rules ct-local-zone-off-v4 4 0
	tool status
	if printf '%s\n' "$OUT" | grep -q '^ct-zone: off$'; then pass ct-status-off; else fail ct-status-off "$(printf '%s\n' "$OUT" | grep '^ct-zone')"; fi
fi
if tool_ok ct-gw install --gateway --iface a0 --mark 36; then
	ct_rules ct-gw-v4 4 109 '-m mark --mark 0x24'
	expect_conn ct-gw-redirect-v4 "REDIRECTED local=198.51.100.1:10025 orig=192.0.2.25:25" "$NS_C" 192.0.2.25 25
	command -v conntrack >/dev/null 2>&1 && ct_conn ct-gw-conn-zone-v4 "$NS_A" 192.0.2.25 36 109
fi
if tool_ok ct-tp install --gateway --tproxy --iface a0 --mark 36; then
	ct_rules ct-tp-none-v4 4 0
fi
tool_ok ct-remove remove && nothing_left ct-remove
ina nft flush ruleset
if tool_ok ct-nft install --nft --local --mark 36 --ct-zone 77; then
	s=$(ina nft list table inet mxtls)
	if [ "$(count 'type filter hook output priority raw' "$s")" = 1 ] &&
		[ "$(count '^\s*tcp dport 25 meta mark 0x00000024 ct original zone set 77$' "$s")" = 1 ]; then
		pass ct-nft-rule
	else
		fail ct-nft-rule "$s"
	fi
	command -v conntrack >/dev/null 2>&1 && ct_conn ct-nft-conn-zone-v4 "$NS_A" 192.0.2.25 36 77
	expect_conn ct-nft-redirect-v4 "REDIRECTED local=127.0.0.1:10025 orig=192.0.2.25:25" "$NS_A" 192.0.2.25 25
	tool status
	if printf '%s\n' "$OUT" | grep -q '^ct-zone: 77 '; then pass ct-nft-status; else fail ct-nft-status "$(printf '%s\n' "$OUT" | grep '^ct-zone')"; fi
fi
if tool_ok ct-nft-tp install --nft --gateway --tproxy --iface a0 --mark 36; then
	if ina nft list table inet mxtls | grep -q 'zone'; then fail ct-nft-tp-none "$(ina nft list table inet mxtls | grep zone)"; else pass ct-nft-tp-none; fi
fi
tool_ok ct-nft-remove remove && nothing_left ct-nft-remove

# ---- --local, nft

ina nft flush ruleset # iptables-nft leaves empty tables behind; start from nothing
if tool_ok nft-local-install install --nft --local --mark 36 && tool_ok nft-local-install-again install --nft --local --mark 36; then
	s=$(ina nft list ruleset)
	why=''
	[ "$(count '^table ' "$s")" = 1 ] && [ "$(count '^table inet mxtls' "$s")" = 1 ] || why+="tables: $(count '^table ' "$s"); "
	[ "$(count 'type nat hook output priority -100' "$s")" = 1 ] || why+="no nat output chain; "
	[ "$(count 'redirect to :10025' "$s")" = 2 ] || why+="redirect rules: $(count 'redirect to :10025' "$s"), want 2; "
	# one mark return in the redirect chain, one in the fail-closed guard
	[ "$(count 'meta mark 0x00000024 return' "$s")" = 2 ] || why+="mark returns: $(count 'meta mark 0x00000024 return' "$s"), want 2; "
	[ "$(count 'type filter hook output priority filter' "$s")" = 1 ] || why+="no guard chain; "
	[ "$(count 'ct status dnat return' "$s")" = 1 ] || why+="guard: no dnat return; "
	# the guard's reset, and the refuse chain's (redirected, nothing listening)
	[ "$(count 'reject with tcp reset' "$s")" = 2 ] || why+="resets: $(count 'reject with tcp reset' "$s"), want 2; "
	[ "$(count 'comment "mxtls fail-open"' "$s")" = 1 ] || why+="no fail-open record; "
	if [ -z "$why" ]; then pass nft-local-install-twice; else fail nft-local-install-twice "$why"; fi
	expect_conn nft-local-redirect-v4 "REDIRECTED local=127.0.0.1:10025 orig=192.0.2.25:25" "$NS_A" 192.0.2.25 25
	expect_conn nft-local-mark-bypass-v4 "DIRECT local=192.0.2.25:25" "$NS_A" 192.0.2.25 25 36
	expect_conn nft-local-own-address-untouched-v4 "ERR ConnectionRefused" "$NS_A" 192.0.2.1 25
	v6 nft-local-redirect-v6 expect_conn nft-local-redirect-v6 "REDIRECTED local=[::1]:10025 orig=[2001:db8:b::25]:25" "$NS_A" 2001:db8:b::25 25
	v6 nft-local-mark-bypass-v6 expect_conn nft-local-mark-bypass-v6 "DIRECT local=[2001:db8:b::25]:25" "$NS_A" 2001:db8:b::25 25 36
	tool status
	if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -q 'table inet mxtls'; then pass nft-status-installed; else fail nft-status-installed "exit $RC: $OUT"; fi
fi
if tool_ok nft-local-user install --nft --local --user nobody; then
	expect_conn nft-local-user-bypass-v4 "DIRECT" "$NS_A" 192.0.2.25 25 0 65534
	expect_conn nft-local-root-redirected-v4 "REDIRECTED" "$NS_A" 192.0.2.25 25
fi
if tool_ok nft-local-remove remove; then
	nft_empty nft-local-remove
	nothing_left nft-local-remove-all
	expect_conn nft-local-removed-direct-v4 "DIRECT" "$NS_A" 192.0.2.25 25
fi

# switching backends: each install removes the other backend's rules
ina nft flush ruleset
if tool_ok backend-switch-ipt install --local --mark 36 && tool_ok backend-switch-nft install --local --mark 36 --nft; then
	if [ "$(count MXTLS "$(save_all)")" = 0 ]; then pass backend-switch-to-nft; else fail backend-switch-to-nft "iptables rules left"; fi
	if tool_ok backend-switch-back install --local --mark 36; then
		if ina nft list table inet mxtls >/dev/null 2>&1; then
			fail backend-switch-to-iptables "nft table left"
		else
			pass backend-switch-to-iptables
		fi
	fi
fi
tool_ok backend-switch-remove remove && nothing_left backend-switch-remove

# ---- --gateway, iptables (redirect)

gw_rules() {
	local name=$1 f=$2 s why=''
	s=$(ipt_save "$f" nat)
	[ "$(count '^-A .* -j MXTLS$' "$s")" = 1 ] || why+="jumps to MXTLS: $(count '^-A .* -j MXTLS$' "$s"), want 1; "
	[ "$(count '^-A PREROUTING -p tcp -m tcp --dport 25 -j MXTLS$' "$s")" = 1 ] || why+="no PREROUTING jump; "
	[ "$(count '^-A MXTLS ! -i a0 -j RETURN$' "$s")" = 1 ] || why+="no iface RETURN; "
	[ "$(count '^-A MXTLS -p tcp -j REDIRECT --to-ports 10025$' "$s")" = 1 ] || why+="no REDIRECT; "
	[ "$(count '^-A MXTLS ' "$s")" = 4 ] || why+="MXTLS has $(count '^-A MXTLS ' "$s") rules, want 4; "
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

ina nft flush ruleset
# from --local to --gateway: the OUTPUT jump must go
if tool_ok gw-from-local install --local --mark 36 && tool_ok gw-install install --gateway --iface a0 &&
	tool_ok gw-install-again install --gateway --iface a0; then
	gw_rules gw-install-twice-v4 4
	v6 gw-install-twice-v6 gw_rules gw-install-twice-v6 6
	expect_conn gw-redirect-v4 "REDIRECTED local=198.51.100.1:10025 orig=192.0.2.25:25" "$NS_C" 192.0.2.25 25
	v6 gw-redirect-v6 expect_conn gw-redirect-v6 "REDIRECTED local=[2001:db8:c::1]:10025 orig=[2001:db8:b::25]:25" "$NS_C" 2001:db8:b::25 25
	expect_conn gw-local-traffic-untouched-v4 "DIRECT" "$NS_A" 192.0.2.25 25
fi
if tool_ok gw-wrong-iface install --gateway --iface a1; then
	expect_conn gw-wrong-iface-direct-v4 "DIRECT local=192.0.2.25:25" "$NS_C" 192.0.2.25 25
fi
if tool_ok gw-source-other install --gateway --source 203.0.113.0/24; then
	expect_conn gw-source-other-direct-v4 "DIRECT local=192.0.2.25:25" "$NS_C" 192.0.2.25 25
	v6 gw-source-v4-only-leaves-v6 expect_conn gw-source-v4-only-leaves-v6 "DIRECT" "$NS_C" 2001:db8:b::25 25
fi
if tool_ok gw-source-match install --gateway --source 198.51.100.0/24 --source 2001:db8:c::/64; then
	expect_conn gw-source-match-v4 "REDIRECTED local=198.51.100.1:10025" "$NS_C" 192.0.2.25 25
	v6 gw-source-match-v6 expect_conn gw-source-match-v6 "REDIRECTED local=[2001:db8:c::1]:10025" "$NS_C" 2001:db8:b::25 25
fi
tool_ok gw-remove remove && nothing_left gw-remove
expect_conn gw-removed-direct-v4 "DIRECT" "$NS_C" 192.0.2.25 25

# ---- --gateway --tproxy, iptables

tp_rules() {
	local name=$1 f=$2 s r why='' ipf=-4
	[ "$f" = 4 ] || ipf=-6
	s=$(ipt_save "$f" mangle)
	[ "$(count '^-A .* -j MXTLS_TP$' "$s")" = 1 ] || why+="jumps to MXTLS_TP: $(count '^-A .* -j MXTLS_TP$' "$s"), want 1; "
	[ "$(count '^-A PREROUTING -p tcp -m tcp --dport 25 -j MXTLS_TP$' "$s")" = 1 ] || why+="no PREROUTING jump; "
	[ "$(count '-m socket --transparent -j MARK --set-xmark 0x1/0x1$' "$s")" = 1 ] || why+="no socket MARK rule; "
	[ "$(count '-m socket --transparent -j ACCEPT$' "$s")" = 1 ] || why+="no socket ACCEPT rule; "
	[ "$(count '-j TPROXY --on-port 10026 .*--tproxy-mark 0x1/0x1$' "$s")" = 1 ] || why+="no TPROXY rule; "
	[ "$(count 'MXTLS' "$(ipt_save "$f" nat)")" = 0 ] || why+="nat still has MXTLS; "
	r=$(ina ip "$ipf" rule show)
	[ "$(count 'fwmark 0x1/0x1 lookup 100 proto 109' "$r")" = 1 ] || why+="ip $ipf rule: $(count 'fwmark 0x1/0x1 lookup 100' "$r") fwmark rules, want 1; "
	r=$(ina ip "$ipf" route show table 100)
	[ "$(count '^local default dev lo' "$r")" = 1 ] || why+="ip $ipf route table 100: '$r'; "
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

ina nft flush ruleset
if tool_ok tp-from-gw install --gateway && tool_ok tp-install install --gateway --tproxy --table-id 123 &&
	tool_ok tp-install-again install --gateway --tproxy && tool_ok tp-install-third install --gateway --tproxy --iface a0; then
	tp_rules tp-install-twice-v4 4
	v6 tp-install-twice-v6 tp_rules tp-install-twice-v6 6
	if [ -z "$(ina ip route show table 123)$(ina ip -6 route show table 123 2>/dev/null)" ] &&
		! ina ip rule show | grep -q 'lookup 123'; then
		pass tp-table-id-change
	else
		fail tp-table-id-change "table 123 rule or route left after reinstall with table 100"
	fi
	expect_conn tp-v4 "TPROXY local=192.0.2.25:25" "$NS_C" 192.0.2.25 25
	v6 tp-v6 expect_conn tp-v6 "TPROXY local=[2001:db8:b::25]:25" "$NS_C" 2001:db8:b::25 25
	expect_conn tp-local-traffic-untouched-v4 "DIRECT" "$NS_A" 192.0.2.25 25
fi
tool_ok tp-remove remove && nothing_left tp-remove
expect_conn tp-removed-direct-v4 "DIRECT" "$NS_C" 192.0.2.25 25

# ---- --gateway --tproxy --source-client, iptables: the MX's replies to a
# socket bound to the MTA's address reach that socket, not the MTA

sc_rules() {
	local name=$1 f=$2 s why=''
	s=$(ipt_save "$f" mangle)
	[ "$(count '^-A .* -j MXTLS_SC$' "$s")" = 1 ] || why+="jumps to MXTLS_SC: $(count '^-A .* -j MXTLS_SC$' "$s"), want 1; "
	[ "$(count '^-A PREROUTING -p tcp -m tcp --sport 25 -j MXTLS_SC$' "$s")" = 1 ] || why+="no PREROUTING --sport 25 jump; "
	[ "$(count '^-A MXTLS_SC -m socket --transparent --nowildcard -j MARK --set-xmark 0x1/0x1$' "$s")" = 1 ] || why+="no socket MARK rule; "
	[ "$(count '^-A MXTLS_SC ' "$s")" = 1 ] || why+="MXTLS_SC has $(count '^-A MXTLS_SC ' "$s") rules, want 1; "
	[ "$(count '^-A .* -j MXTLS_TP$' "$s")" = 1 ] || why+="no MXTLS_TP jump beside it; "
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

ina nft flush ruleset
if tool_ok sc-tp-only install --gateway --tproxy; then
	# the SYN-ACK is forwarded to c, which knows no such connection
	expect_tconn sc-without-rules-v4 "ERR" 198.51.100.2 192.0.2.25 25
fi
if tool_ok sc-install install --gateway --tproxy --source-client &&
	tool_ok sc-install-again install --gateway --tproxy --source-client; then
	sc_rules sc-install-twice-v4 4
	v6 sc-install-twice-v6 sc_rules sc-install-twice-v6 6
	expect_tconn sc-reply-delivered-v4 "DIRECT local=192.0.2.25:25 orig=- peer=198.51.100.2:" \
		198.51.100.2 192.0.2.25 25
	v6 sc-reply-delivered-v6 expect_tconn sc-reply-delivered-v6 \
		"DIRECT local=[2001:db8:b::25]:25 orig=- peer=[2001:db8:c::2]:" 2001:db8:c::2 2001:db8:b::25 25
	expect_conn sc-tproxy-still-v4 "TPROXY local=192.0.2.25:25" "$NS_C" 192.0.2.25 25
fi
if tool_ok sc-reinstall-without install --gateway --tproxy; then
	if [ "$(count 'MXTLS_SC' "$(save_all)")" = 0 ]; then pass sc-reinstall-without-removes
	else fail sc-reinstall-without-removes "MXTLS_SC left after an install without --source-client"; fi
fi
tool_ok sc-install-for-remove install --gateway --tproxy --source-client --ipv4-only &&
	tool_ok sc-remove remove && nothing_left sc-remove

# the same with nft (iptables-nft leaves its empty base chains behind)
ina nft flush ruleset
if tool_ok nft-sc-install install --nft --gateway --tproxy --source-client &&
	tool_ok nft-sc-install-again install --nft --gateway --tproxy --source-client; then
	s=$(ina nft list ruleset)
	if [ "$(count '^table ' "$s")" = 1 ] && [ "$(count 'chain source_client' "$s")" = 1 ] &&
		[ "$(count 'tcp sport 25 socket transparent 1 socket wildcard 0 meta mark set' "$s")" = 1 ] &&
		[ "$(count 'MXTLS' "$(save_all)")" = 0 ]; then
		pass nft-sc-install-twice
	else
		fail nft-sc-install-twice "$(echo "$s" | tr '\n' ' ')"
	fi
	expect_tconn nft-sc-reply-delivered-v4 "DIRECT local=192.0.2.25:25 orig=- peer=198.51.100.2:" \
		198.51.100.2 192.0.2.25 25
	v6 nft-sc-reply-delivered-v6 expect_tconn nft-sc-reply-delivered-v6 \
		"DIRECT local=[2001:db8:b::25]:25 orig=- peer=[2001:db8:c::2]:" 2001:db8:c::2 2001:db8:b::25 25
fi
tool_ok nft-sc-remove remove && nft_empty nft-sc-remove && nothing_left nft-sc-remove-all

# ---- --gateway and --gateway --tproxy, nft

ina nft flush ruleset
if tool_ok nft-gw-install install --nft --gateway --iface a0 && tool_ok nft-gw-install-again install --nft --gateway --iface a0; then
	s=$(ina nft list ruleset)
	if [ "$(count '^table ' "$s")" = 1 ] && [ "$(count 'type nat hook prerouting priority dstnat' "$s")" = 1 ] &&
		[ "$(count 'iifname != "a0" return' "$s")" = 1 ]; then
		pass nft-gw-install-twice
	else
		fail nft-gw-install-twice "$(echo "$s" | tr '\n' ' ')"
	fi
	expect_conn nft-gw-redirect-v4 "REDIRECTED local=198.51.100.1:10025 orig=192.0.2.25:25" "$NS_C" 192.0.2.25 25
	v6 nft-gw-redirect-v6 expect_conn nft-gw-redirect-v6 "REDIRECTED local=[2001:db8:c::1]:10025" "$NS_C" 2001:db8:b::25 25
fi
if tool_ok nft-gw-source install --nft --gateway --source 203.0.113.0/24 --source 2001:db8:ffff::/48; then
	expect_conn nft-gw-source-other-direct-v4 "DIRECT" "$NS_C" 192.0.2.25 25
fi
tool_ok nft-gw-remove remove && nft_empty nft-gw-remove && nothing_left nft-gw-remove-all

if tool_ok nft-tp-install install --nft --gateway --tproxy && tool_ok nft-tp-install-again install --nft --gateway --tproxy; then
	s=$(ina nft list ruleset)
	why=''
	[ "$(count '^table ' "$s")" = 1 ] || why+="tables: $(count '^table ' "$s"); "
	[ "$(count 'type filter hook prerouting priority mangle' "$s")" = 1 ] || why+="no mangle prerouting chain; "
	[ "$(count 'socket transparent 1' "$s")" = 1 ] || why+="no socket rule; "
	[ "$(count 'tproxy ip to :10026' "$s")" = 1 ] || why+="no tproxy ip rule; "
	[ "$(count 'fwmark 0x1/0x1 lookup 100 proto 109' "$(ina ip -4 rule show)")" = 1 ] || why+="ip -4 rule; "
	[ "$(count '^local default dev lo' "$(ina ip -4 route show table 100)")" = 1 ] || why+="ip -4 route table 100; "
	if [ "$HAVE6" = 1 ]; then
		[ "$(count 'tproxy ip6 to :10026' "$s")" = 1 ] || why+="no tproxy ip6 rule; "
		[ "$(count 'fwmark 0x1/0x1 lookup 100 proto 109' "$(ina ip -6 rule show)")" = 1 ] || why+="ip -6 rule; "
		[ "$(count '^local default dev lo' "$(ina ip -6 route show table 100)")" = 1 ] || why+="ip -6 route table 100; "
	fi
	if [ -z "$why" ]; then pass nft-tp-install-twice; else fail nft-tp-install-twice "$why"; fi
	expect_conn nft-tp-v4 "TPROXY local=192.0.2.25:25" "$NS_C" 192.0.2.25 25
	v6 nft-tp-v6 expect_conn nft-tp-v6 "TPROXY local=[2001:db8:b::25]:25" "$NS_C" 2001:db8:b::25 25
fi
# no listener on the TPROXY port: the connection must not slip through to the MX
if tool_ok nft-tp-no-listener install --nft --gateway --tproxy --port 10099 --ipv4-only; then
	got=$(conn "$NS_C" 192.0.2.25 25)
	# nft resets what tproxy could not hand to a listener: refused at once
	case $got in
	"ERR ConnectionRefusedError") pass nft-tp-no-listener-fails-closed ;;
	*) fail nft-tp-no-listener-fails-closed "got '$got', want ERR ConnectionRefusedError" ;;
	esac
fi
tool_ok nft-tp-remove remove && nft_empty nft-tp-remove && nothing_left nft-tp-remove-all
expect_conn nft-tp-removed-direct-v4 "DIRECT" "$NS_C" 192.0.2.25 25

# ======================================================== issue 12 checks

inb() { ip netns exec "$NS_B" "$@"; }

# b_conns - connections the "MX" side (b's port 25) has accepted so far
b_conns() {
	if [ -e "$TMP/ready.b.log" ]; then grep -c '^DIRECT ' "$TMP/ready.b.log"; else echo 0; fi
}

# status_has NAME LINE... - the last status output ($OUT) has each LINE
status_has() {
	local name=$1 l why=''
	shift
	for l; do
		printf '%s\n' "$OUT" | grep -qxF -- "$l" || why+="no line '$l'; "
	done
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "${why}status said: $(printf '%s\n' "$OUT" | grep -E '^(mode|mxtlsd|dns-|redirected|refused):' | tr '\n' '|')"; fi
}

# ---- status lines

ina nft flush ruleset
for b in "" --nft; do
	n=status${b:+-nft}
	if tool_ok "$n-local-closed" install --local --mark 36 --fail-closed ${b:+"$b"}; then
		tool status
		[ "$RC" = 0 ] || fail "$n-local-closed-rc" "status exited $RC, want 0"
		status_has "$n-local-closed" "mode: fail-closed" "mxtlsd: listening on 10025" "dns-watch: off" \
			"redirected: 0 packets" "refused: 0 packets"
		expect_conn "$n-local-closed-redirect" "REDIRECTED" "$NS_A" 192.0.2.25 25
		tool status
		status_has "$n-local-counted" "redirected: 1 packets" "refused: 0 packets"
	fi
	if tool_ok "$n-local-open" install --local --mark 36 --port 10099 ${b:+"$b"}; then
		tool status
		status_has "$n-local-open" "mode: fail-open" "mxtlsd: not listening (port 10099)" "dns-watch: off" "refused: 0 packets"
		expect_conn "$n-local-open-refused" "ERR ConnectionRefused" "$NS_A" 192.0.2.25 25
		tool status
		status_has "$n-local-refused-counted" "redirected: 1 packets" "refused: 1 packets"
	fi
	if [ -z "$b" ] || [ "$NFT_QUEUE" = 1 ]; then
		if tool_ok "$n-gw-dns" install --gateway --iface a0 --dns-watch 7 --queue-bypass ${b:+"$b"}; then
			tool status
			status_has "$n-gw-dns" "mode: fail-open" "mxtlsd: listening on 10025" "dns-watch: queue 7 (bypass)"
		fi
		if tool_ok "$n-tp-dns" install --gateway --tproxy --dns-watch 12 --fail-closed ${b:+"$b"}; then
			tool status
			status_has "$n-tp-dns" "mode: fail-closed" "mxtlsd: listening on 10026" "dns-watch: queue 12 (no bypass)"
		fi
	fi
	tool_ok "$n-remove" remove
	tool status
	if [ "$RC" = 1 ] && [ "$OUT" = "not installed" ]; then pass "$n-removed"; else fail "$n-removed" "rc=$RC out='$OUT'"; fi
done

# ---- fail-closed / fail-open at packet level
#
# Nothing listens on port 10099.  With --fail-closed a port-25 connection
# from the protected side is refused at once (the client gives up after 1 s:
# a refusal, not a timeout) and b's port 25 sees nothing; remove
# --if-fail-open leaves fail-closed rules alone.  With --fail-open, remove
# --if-fail-open takes the rules away and the connection reaches b.

# fc_case NAME NS ADDR WANT-REFUSAL REFUSED-COUNTED INSTALL-ARGS...
fc_case() {
	local name=$1 ns=$2 addr=$3 want=$4 counted=$5 n0 got
	shift 5
	ina nft flush ruleset
	tool_ok "$name-closed-install" install "$@" --fail-closed --port 10099 || return
	n0=$(b_conns)
	got=$(conn "$ns" "$addr" 25)
	if [ "$got" = "$want" ] && [ "$(b_conns)" = "$n0" ]; then
		pass "$name-closed-refused"
	else
		fail "$name-closed-refused" "got '$got' (want '$want'), b saw $(($(b_conns) - n0)) connection(s), want 0"
	fi
	tool status
	if [ "$counted" = 1 ]; then
		if printf '%s\n' "$OUT" | grep -qE '^refused: [1-9][0-9]* packets$'; then pass "$name-closed-counted"; else fail "$name-closed-counted" "$(printf '%s\n' "$OUT" | grep '^refused')"; fi
	fi
	status_has "$name-closed-status" "mode: fail-closed" "mxtlsd: not listening (port 10099)"
	tool remove --if-fail-open
	if [ "$RC" = 0 ] && printf '%s' "$ERR" | grep -q 'fail-closed' && ina "$TOOL" status >/dev/null 2>&1; then
		pass "$name-closed-kept"
	else
		fail "$name-closed-kept" "remove --if-fail-open: rc=$RC err='$ERR', or the rules were removed"
	fi
	got=$(conn "$ns" "$addr" 25)
	if [ "$got" = "$want" ] && [ "$(b_conns)" = "$n0" ]; then pass "$name-closed-still-refused"; else fail "$name-closed-still-refused" "got '$got'"; fi

	tool_ok "$name-open-install" install "$@" --fail-open --port 10099 || return
	got=$(conn "$ns" "$addr" 25)
	if [ "$got" = "$want" ] && [ "$(b_conns)" = "$n0" ]; then pass "$name-open-refused-while-installed"; else fail "$name-open-refused-while-installed" "got '$got'"; fi
	tool remove --if-fail-open
	if [ "$RC" = 0 ] && [ -z "$ERR" ]; then
		nothing_left "$name-open-removed"
	else
		fail "$name-open-removed" "remove --if-fail-open: rc=$RC err='$ERR'"
	fi
	got=$(conn "$ns" "$addr" 25)
	if [ "${got#DIRECT}" != "$got" ] && [ "$(b_conns)" = $((n0 + 1)) ]; then
		pass "$name-open-direct"
	else
		fail "$name-open-direct" "got '$got', b saw $(($(b_conns) - n0)) connection(s), want 1"
	fi
}

for b in "" --nft; do
	n=fc${b:+-nft}
	fc_case "$n-local-v4" "$NS_A" 192.0.2.25 "ERR ConnectionRefusedError" 1 --local --mark 36 ${b:+"$b"}
	v6 "$n-local-v6" fc_case "$n-local-v6" "$NS_A" 2001:db8:b::25 "ERR ConnectionRefusedError" 1 --local --mark 36 ${b:+"$b"}
	fc_case "$n-gw-v4" "$NS_C" 192.0.2.25 "ERR ConnectionRefusedError" 1 --gateway --iface a0 ${b:+"$b"}
	v6 "$n-gw-v6" fc_case "$n-gw-v6" "$NS_C" 2001:db8:b::25 "ERR ConnectionRefusedError" 1 --gateway --iface a0 ${b:+"$b"}
done
# TPROXY: nft resets what it cannot hand to a listener; iptables' TPROXY
# target drops it (no reset is possible in mangle): a timeout, still never
# forwarded, not counted
fc_case fc-nft-tp-v4 "$NS_C" 192.0.2.25 "ERR ConnectionRefusedError" 1 --gateway --tproxy --iface a0 --nft
v6 fc-nft-tp-v6 fc_case fc-nft-tp-v6 "$NS_C" 2001:db8:b::25 "ERR ConnectionRefusedError" 1 --gateway --tproxy --iface a0 --nft
fc_case fc-tp-v4 "$NS_C" 192.0.2.25 "ERR TimeoutError" 0 --gateway --tproxy --iface a0
ina nft flush ruleset

# ---- DNS answers through the NFQUEUE rule
#
# b answers DNS on port 53 (UDP and TCP).  With the rule and --queue-bypass
# and nothing reading the queue the answer still arrives, and the rule's
# counter shows it went through the rule; without --queue-bypass the same
# answer is dropped (so the rule really is on its path).

cat >"$TMP/dns.py" <<'EOF'
# dns.py serve READY ADDR... | ask ADDR udp|tcp - a tiny DNS responder / client
import os, socket, struct, sys, threading
def reply(q):                       # same id and question, one A 192.0.2.80
    end = 12
    while q[end]:
        end += q[end] + 1
    end += 5
    return (q[:2] + b"\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:end] +
            b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 80]))
def udp(s):
    while True:
        q, peer = s.recvfrom(512)
        s.sendto(reply(q), peer)
def tcp(s):
    while True:
        c, _ = s.accept()
        n = struct.unpack("!H", c.recv(2))[0]
        q = c.recv(n)
        r = reply(q)
        c.sendall(struct.pack("!H", len(r)) + r)
        c.close()
if sys.argv[1] == "serve":
    for a in sys.argv[3:]:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((a, 53))
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind((a, 53)); t.listen(8)
        threading.Thread(target=udp, args=(u,), daemon=True).start()
        threading.Thread(target=tcp, args=(t,), daemon=True).start()
    open(sys.argv[2], "w").write("ready\n")
    threading.Event().wait()
addr, proto = sys.argv[2], sys.argv[3]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
ident = os.urandom(2)
q = ident + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02mx\x07example\x04test\x00\x00\x01\x00\x01"
try:
    if proto == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(1.0)
        s.sendto(q, (addr, 53)); r = s.recv(512)
    else:
        s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(1.0)
        s.connect((addr, 53)); s.sendall(struct.pack("!H", len(q)) + q)
        b = b""
        while len(b) < 2 or len(b) < 2 + struct.unpack("!H", b[:2])[0]:
            d = s.recv(512)
            if not d:
                break
            b += d
        r = b[2:]
    ok = r[:2] == ident and r[-4:] == bytes([192, 0, 2, 80])
    print("ANSWER 192.0.2.80" if ok else "ERR bad answer")
except Exception as e:
    print("ERR " + type(e).__name__)
EOF
chmod 644 "$TMP/dns.py"

dns_specs=(192.0.2.25)
[ "$HAVE6" = 1 ] && dns_specs+=(2001:db8:b::25)
inb "$PY" "$TMP/dns.py" serve "$TMP/ready.dns" "${dns_specs[@]}" 2>"$TMP/dns.err" &
PIDS+=($!)
for n in $(seq 50); do
	[ -e "$TMP/ready.dns" ] && break
	sleep 0.1
done

# ask NS ADDR udp|tcp [UID] - what a DNS client in NS gets
ask() {
	if [ -n "${4:-}" ]; then
		ip netns exec "$1" setpriv --reuid="$4" --regid="$4" --clear-groups "$PY" "$TMP/dns.py" ask "$2" "$3" 2>&1
	else
		ip netns exec "$1" "$PY" "$TMP/dns.py" ask "$2" "$3" 2>&1
	fi
}

# queued FAMILY - packets the NFQUEUE rules of MXTLS_DNS have taken (iptables-save -c)
queued() {
	ipt_save_c() { if [ "$1" = 4 ]; then ina iptables-save -c -t mangle; else ina ip6tables-save -c -t mangle; fi 2>/dev/null; }
	ipt_save_c "$1" | awk '/-A MXTLS_DNS .*-j NFQUEUE/ { c = $1; gsub(/[^0-9:]/, "", c); split(c, a, ":"); n += a[1] } END { print n + 0 }'
}

# dns_check NAME NS ADDR PROTO WANT DELTA [UID] - ask; WANT the answer, and
#	the queue counter of ADDR's family grown by DELTA ("+" for at least 1, "0")
dns_check() {
	local name=$1 ns=$2 addr=$3 proto=$4 want=$5 delta=$6 uid=${7:-} f=4 q0 q1 got ok=1
	case $addr in *:*) f=6 ;; esac
	q0=$(queued "$f")
	got=$(ask "$ns" "$addr" "$proto" "$uid")
	q1=$(queued "$f")
	[ "$got" = "$want" ] || ok=0
	case $delta in
	+) [ "$q1" -gt "$q0" ] || ok=0 ;;
	0) [ "$q1" = "$q0" ] || ok=0 ;;
	esac
	if [ "$ok" = 1 ]; then
		pass "$name"
	else
		fail "$name" "$proto query to $addr${uid:+ as uid $uid}: got '$got' (want '$want'), queue counter $q0 -> $q1 (want $delta)"
	fi
}

if [ -e "$TMP/ready.dns" ]; then
	dns_check dns-baseline-v4 "$NS_C" 192.0.2.25 udp "ANSWER 192.0.2.80" 0
	if tool_ok dns-gw-install install --gateway --iface a0 --source 198.51.100.0/24 --source 2001:db8:c::/64 --dns-watch 7 --queue-bypass; then
		dns_check dns-gw-bypass-udp-v4 "$NS_C" 192.0.2.25 udp "ANSWER 192.0.2.80" +
		dns_check dns-gw-bypass-tcp-v4 "$NS_C" 192.0.2.25 tcp "ANSWER 192.0.2.80" +
		v6 dns-gw-bypass-udp-v6 dns_check dns-gw-bypass-udp-v6 "$NS_C" 2001:db8:b::25 udp "ANSWER 192.0.2.80" +
		v6 dns-gw-bypass-tcp-v6 dns_check dns-gw-bypass-tcp-v6 "$NS_C" 2001:db8:b::25 tcp "ANSWER 192.0.2.80" +
		# the gateway's own lookups are not the MTAs' answers
		dns_check dns-gw-own-not-queued "$NS_A" 192.0.2.25 udp "ANSWER 192.0.2.80" 0
		tool status
		want=$(($(queued 4) + $(queued 6)))
		status_has dns-gw-status "dns-watch: queue 7 (bypass)" "dns-queued: $want packets"
	fi
	if tool_ok dns-gw-nobypass install --gateway --iface a0 --dns-watch 7; then
		dns_check dns-gw-nobypass-dropped-v4 "$NS_C" 192.0.2.25 udp "ERR TimeoutError" +
	fi
	if tool_ok dns-local-install install --local --mark 36 --user nobody --dns-watch 7 --queue-bypass; then
		dns_check dns-local-bypass-udp-v4 "$NS_A" 192.0.2.25 udp "ANSWER 192.0.2.80" +
		dns_check dns-local-bypass-tcp-v4 "$NS_A" 192.0.2.25 tcp "ANSWER 192.0.2.80" +
		v6 dns-local-bypass-udp-v6 dns_check dns-local-bypass-udp-v6 "$NS_A" 2001:db8:b::25 udp "ANSWER 192.0.2.80" +
		# mxtlsd's own lookups (--user nobody) are connmarked and not queued
		dns_check dns-local-own-udp-not-queued "$NS_A" 192.0.2.25 udp "ANSWER 192.0.2.80" 0 65534
		dns_check dns-local-own-tcp-not-queued "$NS_A" 192.0.2.25 tcp "ANSWER 192.0.2.80" 0 65534
		v6 dns-local-own-v6-not-queued dns_check dns-local-own-v6-not-queued "$NS_A" 2001:db8:b::25 udp "ANSWER 192.0.2.80" 0 65534
		# the redirect itself still works next to the DNS rules
		expect_conn dns-local-redirect "REDIRECTED" "$NS_A" 192.0.2.25 25
	fi
	if tool_ok dns-local-nobypass install --local --mark 36 --user nobody --dns-watch 7; then
		dns_check dns-local-nobypass-dropped "$NS_A" 192.0.2.25 udp "ERR TimeoutError" +
		dns_check dns-local-nobypass-own-flows "$NS_A" 192.0.2.25 udp "ANSWER 192.0.2.80" 0 65534
	fi
	tool_ok dns-remove remove && nothing_left dns-remove
	dns_check dns-removed-v4 "$NS_C" 192.0.2.25 udp "ANSWER 192.0.2.80" 0
else
	fail dns-setup "the DNS responder did not start: $(head -3 "$TMP/dns.err")"
fi
ina nft flush ruleset

# a dry run of remove prints nothing when nothing is installed
tool remove --dry-run
if [ "$RC" = 0 ] && [ -z "$OUT" ]; then pass remove-dry-run-empty; else fail remove-dry-run-empty "rc=$RC out='$OUT'"; fi

exact_join

if [ "$FAILS" -gt 0 ]; then
	echo "iptables_test: $FAILS check(s) failed"
	exit 1
fi
exit 0
