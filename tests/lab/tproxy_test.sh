#!/bin/bash
# tproxy_test.sh - the gateway deployment end to end: a client host routes
# through a gateway where `mxtls-iptables install --gateway --tproxy` hands
# its port-25 connections to mxtlsd on a TPROXY listener, and mxtlsd
# delivers to the MX behind the gateway.
#
#	mxt-cli  192.0.2.1/24, 2001:db8:1::1/64   (routes via the gateway)
#	mxt-gw   192.0.2.254, 2001:db8:1::fe  |  198.51.100.254, 2001:db8:2::fe
#		 mxtlsd: listen = tproxy:0.0.0.0:10026 tproxy:[::]:10026
#	mxt-mx   198.51.100.25, 2001:db8:2::25   (tests/lab/py/mxsink.py, STARTTLS)
#
# Checks (one PASS:/FAIL: line each): mail over IPv4 and IPv6 reaches the
# MX through mxtlsd (the sink has it; mxtlsd logged the connection with
# the MX as original destination, and TLS upstream); a connection to the
# TPROXY listener's own port on the gateway is refused with 554 5.7.1;
# `remove` leaves no TPROXY rule.  Needs root; cleans up on exit.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MXTLSD=${MXTLSD:-$REPO/mxtlsd}
case $MXTLSD in /*) ;; *) MXTLSD=$REPO/$MXTLSD ;; esac
W=$(mktemp -d /tmp/mxtproxy.XXXXXX)
C=mxt-cli G=mxt-gw M=mxt-mx
FAILS=0
PIDS=()

pass() { echo "PASS: tproxy $1"; }
fail() { echo "FAIL: tproxy $1: $2"; FAILS=$((FAILS + 1)); }
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in $C $G $M; do ip netns del $n 2>/dev/null; done
	[ "${LAB_KEEP:-0}" = 1 ] && echo "tproxy: kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for n in $C $G $M; do ip netns del $n 2>/dev/null; done
ip netns add $C && ip netns add $G && ip netns add $M || { fail setup "ip netns"; exit 1; }
ip -n $C link add v0 type veth peer name g0 netns $G
ip -n $M link add v0 type veth peer name g1 netns $G
for n in $C $G $M; do
	ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n $n link set lo up
done
ip -n $C addr add 192.0.2.1/24 dev v0; ip -n $C -6 addr add 2001:db8:1::1/64 dev v0 nodad
ip -n $M addr add 198.51.100.25/24 dev v0; ip -n $M -6 addr add 2001:db8:2::25/64 dev v0 nodad
ip -n $G addr add 192.0.2.254/24 dev g0; ip -n $G -6 addr add 2001:db8:1::fe/64 dev g0 nodad
ip -n $G addr add 198.51.100.254/24 dev g1; ip -n $G -6 addr add 2001:db8:2::fe/64 dev g1 nodad
ip -n $C link set v0 up; ip -n $M link set v0 up; ip -n $G link set g0 up; ip -n $G link set g1 up
ip -n $C route add default via 192.0.2.254; ip -n $C -6 route add default via 2001:db8:1::fe
ip -n $M route add default via 198.51.100.254; ip -n $M -6 route add default via 2001:db8:2::fe
ip netns exec $G sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=mx.tproxy.example -keyout "$W/mx.key" -out "$W/mx.crt" >/dev/null 2>&1
mkdir -p "$W/mail"
ip netns exec $M /usr/bin/python3 "$HERE/py/mxsink.py" --listen 198.51.100.25:25 \
    --listen '[2001:db8:2::25]:25' --cert "$W/mx.crt" --key "$W/mx.key" \
    --maildir "$W/mail" --name mx.tproxy.example >"$W/sink.log" 2>&1 &
PIDS+=($!)
cat >"$W/mxtlsd.conf" <<EOC
listen = tproxy:0.0.0.0:10026 tproxy:[::]:10026
myhostname = gw.tproxy.example
upstream_mark = 0x6d78
user =
dns_resolver = none
sts_cache_dir =
EOC
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    ip netns exec $G "$MXTLSD" -f -c "$W/mxtlsd.conf" >"$W/mxtlsd.log" 2>&1 &
MXPID=$!
PIDS+=($MXPID)
ip netns exec $G bash "$REPO/iptables/mxtls-iptables" install --gateway --tproxy \
    --port 10026 --mark 0x6d78 --iface g0 >"$W/ipt.log" 2>&1 ||
    { fail install "mxtls-iptables: $(tail -1 "$W/ipt.log")"; exit 1; }
for _ in $(seq 50); do
	ip netns exec $G ss -Hltn 'sport = :10026' | grep -q . && break
	sleep 0.1
done

send() {	# send ADDR SUBJECT: one message from the client host
	ip netns exec $C /usr/bin/python3 - "$1" "$2" <<'PY'
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], 25, timeout=20)
s.ehlo("client.tproxy.example")
s.starttls()
s.ehlo("client.tproxy.example")
s.sendmail("a@client.tproxy.example", ["b@dest.example"],
           ("Subject: %s\r\n\r\nvia the gateway\r\n" % sys.argv[2]).encode())
s.quit()
PY
}
for fam in 4 6; do
	addr=198.51.100.25; [ $fam = 6 ] && addr=2001:db8:2::25
	subj="tproxy-v$fam-$$"
	if ! send "$addr" "$subj" >"$W/send$fam.log" 2>&1; then
		fail "ipv$fam-delivered" "client: $(tail -1 "$W/send$fam.log")"
		continue
	fi
	if grep -lq "Subject: $subj" "$W"/mail/*.eml 2>/dev/null; then
		pass "ipv$fam-delivered"
	else
		fail "ipv$fam-delivered" "the MX has no message $subj"
	fi
	pat="connect from \[$( [ $fam = 4 ] && echo 192.0.2.1 || echo 2001:db8:1::1)\]:[0-9]* to \[$addr\]:25"
	if grep -q "$pat" "$W/mxtlsd.log"; then
		pass "ipv$fam-through-mxtlsd"
	else
		fail "ipv$fam-through-mxtlsd" "mxtlsd did not log '$pat'"
	fi
	if grep -q "TLS connection established to mx.tproxy.example\[$addr\]:25" "$W/mxtlsd.log"; then
		pass "ipv$fam-tls-upstream"
	else
		fail "ipv$fam-tls-upstream" "no upstream TLS to $addr in mxtlsd's log"
	fi
done
reply=$(ip netns exec $C /usr/bin/python3 -c '
import socket
s = socket.create_connection(("192.0.2.254", 10026), timeout=5)
print(s.recv(200).decode(errors="replace").strip())' 2>&1)
case $reply in
"554 5.7.1"*) pass direct-refused ;;
*) fail direct-refused "got: $reply" ;;
esac
ip netns exec $G bash "$REPO/iptables/mxtls-iptables" remove >/dev/null 2>&1
if ip netns exec $G iptables-save 2>/dev/null | grep -q TPROXY; then
	fail removed "a TPROXY rule is left"
else
	pass removed
fi
# A clean stop, then no sanitizer report anywhere in the log.
kill -TERM "$MXPID" 2>/dev/null
wait "$MXPID"
st=$?
if [ "$st" -eq 0 ]; then pass clean-exit; else fail clean-exit "mxtlsd exited with status $st"; fi
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$W/mxtlsd.log"; then
	fail sanitizer-clean "$(grep -m1 -E "AddressSanitizer|LeakSanitizer|runtime error:" "$W/mxtlsd.log")"
else
	pass sanitizer-clean
fi
[ "$FAILS" -eq 0 ] || { tail -20 "$W/mxtlsd.log" >&2; exit 1; }
exit 0
