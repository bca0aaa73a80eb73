#!/bin/bash
# selftest.sh - prove the lab's DNSSEC world validates as designed.
#
# SYNOPSIS
#	tests/lab/dns/selftest.sh
#
# DESCRIPTION
#	Builds the world (build.sh) in a temp dir, compiles check.c, creates a
#	private network namespace holding 198.51.100.53 and 2001:db8:53::53 on
#	its loopback, starts NSD there (up.sh), and runs check (libunbound,
#	recursing from the lab root hints, validating from OUTDIR/root.key)
#	inside that namespace for every scenario name.  Also checks the MX
#	certificates listed in mx.tsv against the TLSA records that DNS serves
#	(digests recomputed here from the files a sink would load), and that
#	fix-one-bad.sh changes what a fresh resolver sees.  MTA-STS (the third
#	floor): every domain of sts.tsv has its MX, _mta-sts TXT (with the id
#	of sts.tsv) and mta-sts address records (secure, or insecure for
#	sts-unsigned.example); the MX certificates are what build.sh's table
#	says (valid for the name, another name, expired, self-signed,
#	wildcard); the policy host (https-up.sh, in the same namespace)
#	answers every vhost as its kind says, over IPv4 and IPv6; sts-txt.sh
#	changes and removes a TXT record live; https-down.sh stops nginx.
#
#	Prints one line per check on stdout:
#		PASS: dns <check>
#		FAIL: dns <check>: <reason>
#	and finally "dns: N passed, N failed".  Exit status 0 only when nothing
#	failed.  Everything is removed at exit (DNS_KEEP=1 keeps the temp dir).
#	Needs root (network namespaces), nsd, ldnsutils, openssl, cc,
#	pkg-config, libunbound-dev, nginx (nginx-light), python3.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

PASSED=0 FAILED=0
pass() { echo "PASS: dns $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: dns $1: $2"; FAILED=$((FAILED + 1)); }
finish() {
	echo "dns: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

if [ "$(id -u)" != 0 ]; then
	fail setup "needs root (network namespaces)"; finish
fi
for t in nsd nsd-control ldns-keygen ldns-signzone ldns-key2ds drill openssl cc pkg-config ip nginx python3; do
	command -v "$t" >/dev/null || { fail setup "missing $t (apt-get install nsd ldnsutils openssl gcc pkg-config libunbound-dev iproute2 nginx-light python3)"; finish; }
done

TMP=$(mktemp -d /tmp/mxdns.XXXXXX)
W=$TMP/world
NS=mxdns-st-$$
NS_MADE=

cleanup() {
	"$HERE/https-down.sh" "$W" >/dev/null 2>&1
	"$HERE/down.sh" "$W" >/dev/null 2>&1
	if [ -n "$NS_MADE" ]; then
		# only processes of the namespace this script created
		local pids pid
		pids=$(ip netns pids "$NS" 2>/dev/null)
		for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$NS" 2>/dev/null
	fi
	if [ "${DNS_KEEP:-}" = 1 ]; then
		echo "dns: kept $TMP" >&2
	else
		rm -rf -- "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)

# ---------------------------------------------------------------- setup
if "$HERE/build.sh" "$W" >"$TMP/build.out" 2>&1; then
	pass "build"
else
	fail build "$(tail -n 3 "$TMP/build.out" | tr '\n' ' ')"; finish
fi
# shellcheck disable=SC1091
. "$W/env.sh"
# shellcheck disable=SC2046
if cc -Wall -O2 -o "$TMP/check" "$HERE/check.c" $(pkg-config --cflags --libs libunbound) 2>"$TMP/cc.out"; then
	pass "check.c compiles"
else
	fail "check.c compiles" "$(head -n 3 "$TMP/cc.out" | tr '\n' ' ')"; finish
fi
if ip netns add "$NS" && NS_MADE=1 &&
   ip -n "$NS" link set lo up &&
   ip -n "$NS" addr add "$DNS_NS_V4/24" dev lo &&
   ip -n "$NS" addr add "$DNS_NS_V6/64" dev lo nodad &&
   ip -n "$NS" addr add "$DNS_HTTPS_V4/24" dev lo &&
   ip -n "$NS" addr add "$DNS_HTTPS_V6/64" dev lo nodad; then
	pass "namespace"
else
	fail namespace "cannot create $NS with the DNS addresses"; finish
fi
if "$HERE/up.sh" "$W" "$NS" 2>"$TMP/up.out"; then
	pass "nsd up"
else
	fail "nsd up" "$(tail -n 5 "$TMP/up.out" | tr '\n' ' ')"; finish
fi

# ---------------------------------------------------------------- helpers
OUT=
# q [check options] NAME TYPE - run check in the namespace, output in $OUT
q() { OUT=$(ip netns exec "$NS" "$TMP/check" -d "$W" "$@" </dev/null 2>&1); }

# t LABEL [-4|-6|-n|-t FILE] NAME TYPE STATUS [EXPECT ...]
#	EXPECT: "!LINE" must not be a line of the output; KEY=VALUE (without
#	a space) must be a word of the summary line; anything else must be a
#	whole line of the output.
t() {
	local label=$1; shift
	local opts=()
	while :; do
		case $1 in
		-4|-6|-n) opts+=("$1"); shift ;;
		-t) opts+=("$1" "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	local name=$1 type=$2 want=$3; shift 3
	q "${opts[@]}" "$name" "$type"
	local first=${OUT%%$'\n'*} e
	if [ "${first%% *}" != "$want" ]; then
		fail "$label" "$name $type: want $want, got: $(echo "$OUT" | head -n 2 | tr '\n' ' ')"
		return 1
	fi
	for e in "$@"; do
		case $e in
		!*)	if grep -qxF -- "${e#!}" <<<"$OUT"; then
				fail "$label" "$name $type: unexpected line '${e#!}'"; return 1
			fi ;;
		*" "*)	if ! grep -qxF -- "$e" <<<"$OUT"; then
				fail "$label" "$name $type: no line '$e' in: $(echo "$OUT" | tr '\n' ' ')"; return 1
			fi ;;
		*=*)	if ! grep -qw -- "$e" <<<"$first"; then
				fail "$label" "$name $type: want $e in: $first"; return 1
			fi ;;
		*)	if ! grep -qxF -- "$e" <<<"$OUT"; then
				fail "$label" "$name $type: no line '$e' in: $(echo "$OUT" | tr '\n' ' ')"; return 1
			fi ;;
		esac
	done
	pass "$label"
}

spki() {	# spki CERTFILE - SHA-256 of the first certificate's SPKI
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1
}
# lastcert FILE - the last PEM certificate of FILE (the CA of a chain file)
lastcert() { awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' "$1"; }
certof() { awk -F'\t' -v ip="$1" '$1 == ip {print $3}' "$W/mx.tsv"; }
keyof() { awk -F'\t' -v ip="$1" '$1 == ip {print $4}' "$W/mx.tsv"; }

# ---------------------------------------------------------------- trust chain
t "root SOA secure" . SOA secure rcode=NOERROR havedata=1
t "example SOA secure" example. SOA secure havedata=1
t "nonexistent name secure NXDOMAIN" nothere.example A secure rcode=NXDOMAIN nxdomain=1 havedata=0
t "no trust anchor -> insecure" -n dane-ee.example MX insecure havedata=1
awk '{ $NF = ($NF ~ /^0/) ? "1" substr($NF, 2) : "0" substr($NF, 2); print }' "$W/root.key" >"$TMP/wrong.key"
t "wrong trust anchor -> bogus" -t "$TMP/wrong.key" dane-ee.example MX bogus
t "IPv4-only transport" -4 dane-ee.example MX secure "mx 10 mx1.dane-ee.example."
t "IPv6-only transport" -6 dane-ee.example MX secure "mx 10 mx1.dane-ee.example."

# ---------------------------------------------------------------- MX and addresses
for d in dane-ee dane-ee-weird dane-ta dane-ta-wrongname two-mx one-bad pkix-only \
	 pkix-notls bogus cname malformed plain; do
	h=mx.$d.example.
	case $d in dane-ee) h=mx1.dane-ee.example. ;; two-mx) h=mx1.two-mx.example. ;; esac
	t "$d MX secure" "$d.example" MX secure "mx 10 $h"
done
t "two-mx second MX" two-mx.example MX secure "mx 20 mx2.two-mx.example."
t "unsigned MX insecure" unsigned.example MX insecure "mx 10 mx.unsigned.example."
t "shared-mx MX insecure, one-bad's host" shared-mx.example MX insecure "mx 10 mx.one-bad.example."
t "rogue A secure" rogue.example A secure "a 192.0.2.99"
t "rogue is nobody's MX (secure NODATA)" rogue.example MX secure rcode=NOERROR havedata=0

# lab.example: the first floor's domains and sinks (not in mx.tsv), no TLSA
for pair in "tls mx1" "tls6 mx1" "plain mx2" "plain6 mx2" "reset mx3" "reset6 mx3"; do
	read -r d h <<<"$pair"
	t "lab.example $d MX secure" "$d.lab.example" MX secure "mx 10 $h.lab.example."
done
for n in 1 2 3; do
	t "lab.example mx$n A secure" "mx$n.lab.example" A secure "a 192.0.2.2$((4 + n))" &&
	t "lab.example mx$n AAAA secure" "mx$n.lab.example" AAAA secure "aaaa 2001:db8::2$((4 + n))"
	t "lab.example mx$n no TLSA (secure NXDOMAIN)" "_25._tcp.mx$n.lab.example" TLSA secure rcode=NXDOMAIN havedata=0
done

# every sink in mx.tsv is where DNS says (secure, except unsigned.example)
while IFS=$'\t' read -r ip host _ _ _; do
	case $ip in *:*) ty=AAAA pre=aaaa ;; *) ty=A pre=a ;; esac
	st=secure; case $host in *unsigned.example) st=insecure ;; esac
	t "mx.tsv $host $ip in DNS ($st)" "$host" "$ty" "$st" "$pre $ip"
done <"$W/mx.tsv"

# ---------------------------------------------------------------- TLSA vs. sink certificates
E=$(spki "$(certof 192.0.2.31)")
t "dane-ee TLSA 3 1 1 matches ee-good" _25._tcp.mx1.dane-ee.example TLSA secure "tlsa 3 1 1 $E"
E=$(spki "$(certof 192.0.2.32)")
t "dane-ee-weird TLSA 3 1 1 matches its cert" _25._tcp.mx.dane-ee-weird.example TLSA secure "tlsa 3 1 1 $E"
c=$(certof 192.0.2.32)
if ! openssl x509 -in "$c" -noout -checkend 0 >/dev/null &&
   openssl x509 -in "$c" -noout -ext subjectAltName | grep -q 'DNS:wrong.invalid'; then
	pass "dane-ee-weird cert expired and names wrong.invalid"
else
	fail "dane-ee-weird cert expired and names wrong.invalid" "$(openssl x509 -in "$c" -noout -enddate -ext subjectAltName | tr '\n' ' ')"
fi

for pair in "192.0.2.33 dane-ta mx.dane-ta.example ok" "192.0.2.34 dane-ta-wrongname mx.dane-ta-wrongname.example mismatch"; do
	read -r ip d h how <<<"$pair"
	c=$(certof "$ip")
	lastcert "$c" >"$TMP/$d.ca"
	E=$(openssl x509 -in "$TMP/$d.ca" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	n=$(grep -c 'BEGIN CERT' "$c")
	if [ "$n" -ne 2 ]; then
		fail "$d cert file is leaf+CA" "$c holds $n certificates"
	else
		pass "$d cert file is leaf+CA"
	fi
	t "$d TLSA 2 0 1 matches the CA in the chain" "_25._tcp.$h" TLSA secure "tlsa 2 0 1 $E"
	if openssl verify -CAfile "$TMP/$d.ca" -verify_hostname "$h" "$c" >/dev/null 2>&1; then
		r=ok; else r=mismatch; fi
	if openssl verify -CAfile "$TMP/$d.ca" "$c" >/dev/null 2>&1 && [ "$r" = "$how" ]; then
		pass "$d leaf chains to the CA, name check $how"
	else
		fail "$d leaf chains to the CA, name check $how" "verify with hostname $h: $r"
	fi
done

E1=$(spki "$(certof 192.0.2.35)") E2=$(spki "$(certof 192.0.2.36)")
t "two-mx mx1 TLSA does not match its cert" _25._tcp.mx1.two-mx.example TLSA secure "!tlsa 3 1 1 $E1" havedata=1
t "two-mx mx2 TLSA matches its cert" _25._tcp.mx2.two-mx.example TLSA secure "tlsa 3 1 1 $E2"

E=$(spki "$(certof 192.0.2.38)")
t "pkix-only TLSA is usage 1 only" _25._tcp.mx.pkix-only.example TLSA secure "tlsa 1 1 1 $E"
t "pkix-notls TLSA is usage 1 only" _25._tcp.mx.pkix-notls.example TLSA secure havedata=1
if grep -q '^tlsa [23] ' <<<"$OUT"; then fail "pkix-notls no usable TLSA" "$OUT"; else pass "pkix-notls no usable TLSA"; fi
if awk -F'\t' '$1 == "192.0.2.39" && $3 == "-" && $5 == "notls" {f=1} END {exit !f}' "$W/mx.tsv"; then
	pass "pkix-notls sink offers no STARTTLS"
else
	fail "pkix-notls sink offers no STARTTLS" "mx.tsv line for 192.0.2.39 is wrong"
fi

E=$(spki "$(certof 192.0.2.40)")
t "bogus TLSA is bogus" _25._tcp.mx.bogus.example TLSA bogus "tlsa 3 1 1 $E"
t "bogus A still secure" mx.bogus.example A secure "a 192.0.2.40"

E=$(spki "$(certof 192.0.2.41)")
t "unsigned TLSA insecure (and would not match)" _25._tcp.mx.unsigned.example TLSA insecure havedata=1 "!tlsa 3 1 1 $E"

t "cname MX host is a secure CNAME" mx.cname.example A secure canon=mxhost.target-zone.example. "a 192.0.2.42"
E=$(spki "$(certof 192.0.2.42)")
t "cname TLSA at the target name matches" _25._tcp.mxhost.target-zone.example TLSA secure "tlsa 3 1 1 $E"
t "cname no TLSA at the original name (secure NXDOMAIN)" _25._tcp.mx.cname.example TLSA secure nxdomain=1 havedata=0

q _25._tcp.mx.malformed.example TLSA
if [ "${OUT%% *}" = secure ] &&
   grep -qE '^tlsa 3 1 1 [0-9a-f]{40}$' <<<"$OUT" &&
   grep -qE '^tlsa 4 1 1 [0-9a-f]{64}$' <<<"$OUT" &&
   [ "$(grep -c '^tlsa ' <<<"$OUT")" -eq 2 ]; then
	pass "malformed TLSA secure: 3 1 1 with 20 bytes + 4 1 1, nothing usable"
else
	fail "malformed TLSA secure: 3 1 1 with 20 bytes + 4 1 1, nothing usable" "$(tr '\n' ' ' <<<"$OUT")"
fi

t "plain no TLSA (secure NXDOMAIN)" _25._tcp.mx.plain.example TLSA secure rcode=NXDOMAIN havedata=0
t "plain host TLSA secure NODATA" mx.plain.example TLSA secure rcode=NOERROR nxdomain=0 havedata=0

# ---------------------------------------------------------------- keys match certs
bad=
while IFS=$'\t' read -r ip _ cert key _; do
	[ "$cert" = - ] && continue
	a=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null)
	b=$(openssl pkey -in "$key" -pubout 2>/dev/null)
	[ -n "$a" ] && [ "$a" = "$b" ] || bad="$bad $ip"
done <"$W/mx.tsv"
if [ -z "$bad" ]; then pass "mx.tsv keys match certificates"; else fail "mx.tsv keys match certificates" "mismatch for$bad"; fi

# ---------------------------------------------------------------- one-bad, fixed live
E=$(spki "$(certof 192.0.2.37)")
t "one-bad TLSA wrong before fix" _25._tcp.mx.one-bad.example TLSA secure havedata=1 "!tlsa 3 1 1 $E"
if "$HERE/fix-one-bad.sh" "$W" >"$TMP/fix.out" 2>&1; then
	pass "fix-one-bad.sh runs"
else
	fail "fix-one-bad.sh runs" "$(tail -n 3 "$TMP/fix.out" | tr '\n' ' ')"
fi
t "one-bad TLSA right after fix (fresh resolver)" _25._tcp.mx.one-bad.example TLSA secure "tlsa 3 1 1 $E"
t "one-bad MX still secure after re-signing" one-bad.example MX secure "mx 10 mx.one-bad.example."
if "$HERE/fix-one-bad.sh" "$W" break >"$TMP/fix.out" 2>&1; then
	t "one-bad TLSA wrong again after 'break'" _25._tcp.mx.one-bad.example TLSA secure havedata=1 "!tlsa 3 1 1 $E"
else
	fail "one-bad TLSA wrong again after 'break'" "$(tail -n 3 "$TMP/fix.out" | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- MTA-STS: DNS
while IFS=$'\t' read -r d id _ _ _; do
	st=secure; [ "$d" = sts-unsigned.example ] && st=insecure
	t "sts $d MX $st" "$d" MX "$st" havedata=1
	t "sts $d TXT id=$id ($st)" "_mta-sts.$d" TXT "$st" "txt v=STSv1; id=$id;"
	t "sts mta-sts.$d A ($st)" "mta-sts.$d" A "$st" "a $DNS_HTTPS_V4"
	t "sts mta-sts.$d AAAA ($st)" "mta-sts.$d" AAAA "$st" "aaaa $DNS_HTTPS_V6"
done <"$W/sts.tsv"
t "sts badcert MX order" badcert.sts.example MX secure "mx 10 wrongname.sts.example." \
	"mx 20 expired.sts.example." "mx 30 selfsigned.sts.example." "mx 40 good2.sts.example."
t "sts nopolicy.lab.example has no _mta-sts (secure NXDOMAIN)" _mta-sts.nopolicy.lab.example TXT secure rcode=NXDOMAIN
t "sts TXT TTL is 1 s" _mta-sts.enforce.sts.example TXT secure ttl=1
t "sts no TLSA for good1 (secure NXDOMAIN)" _25._tcp.good1.sts.example TLSA secure rcode=NXDOMAIN
E=$(spki "$(certof 192.0.2.57)")
t "sts dane.sts.example TLSA 3 1 1 matches its self-signed cert" _25._tcp.mx.dane.sts.example TLSA secure "tlsa 3 1 1 $E"

# ---------------------------------------------------------------- MTA-STS: MX certificates
# vcert LABEL IP NAME WANT - openssl verify of the sink's certificate file
# against the lab CA for NAME; WANT: ok, or the openssl error number
vcert() {
	local c out got
	c=$(certof "$2")
	out=$(openssl verify -CAfile "$W/pki/ca.crt" -verify_hostname "$3" "$c" 2>&1)
	if [ $? = 0 ]; then got=ok; else got=$(sed -n 's/^error \([0-9]*\) at .*/\1/p' <<<"$out" | head -n 1); fi
	if [ "$got" = "$4" ]; then pass "$1"; else fail "$1" "want $4, got ${got:-?}: $(tr '\n' ' ' <<<"$out")"; fi
}
vcert "sts good1 cert valid for its name" 192.0.2.50 good1.sts.example ok
vcert "sts good2 cert valid for its name" 192.0.2.51 good2.sts.example ok
vcert "sts wrongname cert names another host" 192.0.2.52 wrongname.sts.example 62
vcert "sts expired cert expired" 192.0.2.53 expired.sts.example 10
vcert "sts selfsigned cert from no known CA" 192.0.2.54 selfsigned.sts.example 18
vcert "sts wildcard cert valid for mx1.wild" 192.0.2.55 mx1.wild.sts.example ok
vcert "sts mx2.wild cert valid for its name" 192.0.2.56 mx2.wild.sts.example ok
vcert "sts mx.sts-unsigned.example cert valid" 192.0.2.58 mx.sts-unsigned.example ok
vcert "sts mx.stsbench cert valid" 192.0.2.59 mx.stsbench.lab.example ok
if awk -F'\t' '$1 == "192.0.2.60" && $3 == "-" && $5 == "notls" {f=1} END {exit !f}' "$W/mx.tsv"; then
	pass "sts notls sink offers no STARTTLS"
else
	fail "sts notls sink offers no STARTTLS" "mx.tsv line for 192.0.2.60 is wrong"
fi

# ---------------------------------------------------------------- MTA-STS: the policy host
if "$HERE/https-up.sh" "$W" "$NS" 2>"$TMP/https-up.out"; then
	pass "nginx up"
else
	fail "nginx up" "$(tail -n 5 "$TMP/https-up.out" | tr '\n' ' ')"
fi
# get DOMAIN [ADDR [PATH]] - OUT: https-get.py's output, first line FIRST
get() {
	OUT=$(ip netns exec "$NS" "$HERE/https-get.py" "$W/pki/ca.crt" "mta-sts.$1" \
		"${2:-$DNS_HTTPS_V4}" ${3:+"$3"} </dev/null 2>&1)
	FIRST=${OUT%%$'\n'*}
}
while IFS=$'\t' read -r d id _ kind file; do
	get "$d"
	case $kind in
	ok)	want="status=200 type=text/plain length=$(stat -c %s "$file") location=-" ;;
	charset) want="status=200 type=text/plain; charset=utf-8 length=$(stat -c %s "$file") location=-" ;;
	html)	want="status=200 type=text/html length=$(stat -c %s "$file") location=-" ;;
	redirect) want="status=301 type=text/html length=* location=https://mta-sts.$d/policy.txt" ;;
	404)	want="status=404 *" ;;
	big)	want="status=200 type=text/plain length=$(stat -c %s "$file") location=-" ;;
	syntax)	want="status=200 type=text/plain *" ;;
	badtls)	want="tls-error: *mismatch*" ;;
	esac
	# shellcheck disable=SC2053
	if [[ $FIRST == $want ]]; then pass "sts policy host $d ($kind)"
	else fail "sts policy host $d ($kind)" "want '$want', got: $FIRST"; fi
	case $kind in
	ok|charset|html|big|syntax)
		if [ "$(tail -n +2 <<<"$OUT")" = "$(cat "$file")" ]; then pass "sts policy host $d serves $file"
		else fail "sts policy host $d serves $file" "the body differs"; fi ;;
	esac
done <"$W/sts.tsv"
get enforce.sts.example "$DNS_HTTPS_V6"
f=$(awk -F'\t' '$1 == "enforce.sts.example" {print $5}' "$W/sts.tsv")
if [ "$FIRST" = "status=200 type=text/plain length=$(stat -c %s "$f") location=-" ]; then pass "sts policy host over IPv6"
else fail "sts policy host over IPv6" "$FIRST"; fi
get redirect.sts.example "$DNS_HTTPS_V4" /policy.txt
if [[ $FIRST == "status=200 type=text/plain "* ]] && grep -qx 'mx: good2.sts.example' <<<"$OUT"; then
	pass "sts redirect target is a policy (mx: good2.sts.example)"
else
	fail "sts redirect target is a policy (mx: good2.sts.example)" "$FIRST"
fi
if [ "$(stat -c %s "$(awk -F'\t' '$4 == "big" {print $5}' "$W/sts.tsv")")" -gt 65536 ]; then
	pass "sts big policy is larger than 64 KiB"
else
	fail "sts big policy is larger than 64 KiB" "it is not"
fi
# a rewritten policy file is served at once
f=$(awk -F'\t' '$1 == "cache.sts.example" {print $5}' "$W/sts.tsv")
cp "$f" "$TMP/cache.policy"
printf 'version: STSv1\nmode: none\nmax_age: 86400\n' >"$f.tmp" && mv -f "$f.tmp" "$f"
get cache.sts.example
if grep -qx 'mode: none' <<<"$OUT"; then pass "sts rewritten policy served at once"
else fail "sts rewritten policy served at once" "$(tr '\n' ' ' <<<"$OUT")"; fi
cp "$TMP/cache.policy" "$f"
if grep -qF 'mta-sts.enforce.sts.example "GET /.well-known/mta-sts.txt HTTP/1.1" 200 ' "$W/https/run/access.log"; then
	pass "sts access log names the vhost"
else
	fail "sts access log names the vhost" "$(tail -n 2 "$W/https/run/access.log" | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- MTA-STS: TXT changed live
if "$HERE/sts-txt.sh" "$W" cache.sts.example cache2 >"$TMP/txt.out" 2>&1; then
	t "sts-txt.sh new id seen (fresh resolver)" _mta-sts.cache.sts.example TXT secure "txt v=STSv1; id=cache2;"
else
	fail "sts-txt.sh new id seen (fresh resolver)" "$(tail -n 3 "$TMP/txt.out" | tr '\n' ' ')"
fi
if "$HERE/sts-txt.sh" "$W" cache.sts.example remove >"$TMP/txt.out" 2>&1; then
	t "sts-txt.sh remove: secure NXDOMAIN" _mta-sts.cache.sts.example TXT secure rcode=NXDOMAIN havedata=0
else
	fail "sts-txt.sh remove: secure NXDOMAIN" "$(tail -n 3 "$TMP/txt.out" | tr '\n' ' ')"
fi
t "sts zone still secure after re-signing" cache.sts.example MX secure "mx 10 wrongname.sts.example."
if "$HERE/sts-txt.sh" "$W" cache.sts.example cache1 >"$TMP/txt.out" 2>&1; then
	t "sts-txt.sh record back (TTL 1)" _mta-sts.cache.sts.example TXT secure "txt v=STSv1; id=cache1;" ttl=1
else
	fail "sts-txt.sh record back (TTL 1)" "$(tail -n 3 "$TMP/txt.out" | tr '\n' ' ')"
fi
if "$HERE/sts-txt.sh" "$W" sts-unsigned.example u2 >"$TMP/txt.out" 2>&1; then
	t "sts-txt.sh in an unsigned zone" _mta-sts.sts-unsigned.example TXT insecure "txt v=STSv1; id=u2;"
else
	fail "sts-txt.sh in an unsigned zone" "$(tail -n 3 "$TMP/txt.out" | tr '\n' ' ')"
fi

pid=$(cat "$W/https/run/nginx.pid" 2>/dev/null)
"$HERE/https-down.sh" "$W"
if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null &&
   ! ip netns exec "$NS" ss -Hltn 'sport = :443' | grep -q .; then
	pass "nginx down"
else
	fail "nginx down" "nginx (pid ${pid:-?}) still running or port 443 still open"
fi

# ---------------------------------------------------------------- down
pid=$(cat "$W/run/nsd.pid" 2>/dev/null)
"$HERE/down.sh" "$W"
if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && [ -z "$(ip netns pids "$NS" 2>/dev/null)" ]; then
	pass "nsd down"
else
	fail "nsd down" "NSD (pid ${pid:-?}) or its children still running"
fi

el=$(( $(date +%s) - start ))
if [ "$el" -lt 30 ]; then pass "runtime ${el}s < 30s"; else fail "runtime" "${el}s >= 30s"; fi
finish
