#!/bin/bash
# build.sh - generate the lab's DNSSEC world (the "second floor" for DANE).
#
# SYNOPSIS
#	tests/lab/dns/build.sh OUTDIR
#
# DESCRIPTION
#	Writes everything into OUTDIR (created if missing; must be empty or a
#	previous build's output - it is wiped first):
#
#	  pki/		lab CA (ca.crt, ca.key, ECDSA P-256) and one key and
#			certificate per MX; every *.crt a sink loads holds the
#			chain it must present (leaf, then the CA when CA-issued)
#	  keys/ZONE/	KSK and ZSK per signed zone (ldns-keygen, alg 13);
#			ksk.name / zsk.name hold the key basenames
#	  zones/	ZONE.zone (source) and ZONE.signed (served; signed with
#			ldns-signzone, inception 1 h ago, expiry 20 days ahead);
#			unsigned.example is served from its .zone
#	  root.key	trust anchor for libunbound's ub_ctx_add_ta_file (root DS)
#	  root.hints	root hints for libunbound's / unbound's "root-hints:"
#	  nsd.conf	NSD serving every zone on 198.51.100.53 and
#			[2001:db8:53::53] port 53; runtime files in run/; remote
#			control on the unix socket run/nsd.ctl
#	  mx.tsv	one line per MX sink to start:
#			IP<TAB>hostname<TAB>certfile|-<TAB>keyfile|-<TAB>starttls|notls
#	  tlsa.tsv	what each TLSA name should hold (for tests):
#			NAME<TAB>state<TAB>"usage selector mtype hex"[;...]
#	  env.sh	shell variables (paths, digests) for scripts that source it
#
#	Zones: the root ".", "example." and one child zone per scenario, all
#	served by the one NSD (every NS is ns.root-lab., glue in the root).
#	Children are signed first, their DS records go into example., which is
#	signed next, and its DS into the root, signed last.
#
#	Scenarios (MX host, address, TLSA at _25._tcp.HOST):
#	  dane-ee.example	mx1.dane-ee.example 192.0.2.31 2001:db8::31
#				3 1 1 SPKI of ee-good (self-signed, valid)
#	  dane-ee-weird.example	mx.dane-ee-weird.example 192.0.2.32
#				3 1 1 of a cert that is expired, names wrong.invalid
#	  dane-ta.example	mx.dane-ta.example 192.0.2.33   2 0 1 of the lab CA;
#				leaf names mx.dane-ta.example; sink sends leaf+CA
#	  dane-ta-wrongname.example  mx.dane-ta-wrongname.example 192.0.2.34
#				2 0 1 of the CA; leaf names other.example
#	  two-mx.example	MX 10 mx1 192.0.2.35 (3 1 1 WRONG digest),
#				MX 20 mx2 192.0.2.36 (3 1 1 correct)
#	  one-bad.example	mx.one-bad.example 192.0.2.37 3 1 1 WRONG digest,
#				TTL 1 s; fix-one-bad.sh makes it right
#	  pkix-only.example	mx.pkix-only.example 192.0.2.38  1 1 1 only (STARTTLS)
#	  pkix-notls.example	mx.pkix-notls.example 192.0.2.39 1 1 1 only (no STARTTLS)
#	  bogus.example		mx.bogus.example 192.0.2.40; TLSA 3 1 1 (correct
#				digest) whose RRSIG is corrupted -> bogus
#	  unsigned.example	mx.unsigned.example 192.0.2.41; no DS (insecure);
#				TLSA 3 1 1 with a wrong digest -> must be ignored
#	  cname.example		mx.cname.example CNAME mxhost.target-zone.example
#				(signed zone target-zone.example) 192.0.2.42,
#				3 1 1 at _25._tcp.mxhost.target-zone.example
#	  malformed.example	mx.malformed.example 192.0.2.43; TLSA 3 1 1 with a
#				20-byte digest and 4 1 1 (unknown usage) -> all unusable
#	  plain.example		mx.plain.example 192.0.2.44; no TLSA (secure NXDOMAIN)
#	  rogue.example		A 192.0.2.99, nobody's MX (sink for re-routing tests)
#	  lab.example		the first floor's domains, no TLSA anywhere:
#				tls, tls6 -> MX mx1.lab.example; plain, plain6 -> mx2;
#				reset, reset6 -> mx3; mx1..mx3 at 192.0.2.25-27 and
#				2001:db8::25-27.  Their sinks are not in mx.tsv:
#				tests/lab/lib.sh starts them (own PKI and modes).
#	No _mta-sts records are published (room for MTA-STS later).
#
# REQUIRES
#	nsd, ldnsutils (ldns-keygen, ldns-signzone, ldns-key2ds), openssl,
#	coreutils, gawk or mawk.

set -eu
set -o pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)
. "$HERE/common.sh"

for t in ldns-keygen ldns-signzone ldns-key2ds openssl nsd-checkconf; do
	command -v "$t" >/dev/null || dns_die "missing tool $t (apt-get install nsd ldnsutils openssl)"
done

# wipe only what a build writes
rm -rf "$OUTDIR/pki" "$OUTDIR/keys" "$OUTDIR/zones" "$OUTDIR/run"
rm -f "$OUTDIR/root.key" "$OUTDIR/root.hints" "$OUTDIR/nsd.conf" \
	"$OUTDIR/mx.tsv" "$OUTDIR/tlsa.tsv" "$OUTDIR/env.sh" "$OUTDIR/build.log"
mkdir -p "$OUTDIR/pki" "$OUTDIR/keys" "$OUTDIR/zones" "$OUTDIR/run"
LOG=$OUTDIR/build.log
: >"$LOG"

NS_V4=198.51.100.53
NS_V6=2001:db8:53::53
NS_NAME=ns.root-lab.

###########################################################################
# PKI
###########################################################################
PKI=$OUTDIR/pki
ecparam=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

openssl req -x509 -new "${ecparam[@]}" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
	-days 30 -subj "/CN=mxtls DNS lab CA" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign >>"$LOG" 2>&1 ||
	dns_die "CA creation failed (see $LOG)"

# openssl ca (only way in OpenSSL 3.0 to choose notBefore/notAfter)
mkdir -p "$PKI/ca.db"
: >"$PKI/ca.db/index.txt"
echo 1000 >"$PKI/ca.db/serial"
cat >"$PKI/ca.cnf" <<EOF
[ ca ]
default_ca = lab
[ lab ]
dir = $PKI/ca.db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $PKI/ca.crt
private_key = $PKI/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
EOF

# leaf NAME CN SAN-LIST [expired] - CA-issued leaf; NAME.crt = leaf + CA
leaf() {
	local name=$1 cn=$2 san=$3 expired=${4:-}
	local ext=$PKI/$name.ext
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" "subjectAltName=$san" >"$ext"
	openssl req -new "${ecparam[@]}" -keyout "$PKI/$name.key" -out "$PKI/$name.csr" \
		-subj "/CN=$cn" >>"$LOG" 2>&1 || dns_die "csr $name failed (see $LOG)"
	if [ -n "$expired" ]; then
		openssl ca -batch -config "$PKI/ca.cnf" -notext -in "$PKI/$name.csr" \
			-out "$PKI/$name.leaf" -extfile "$ext" \
			-startdate 20200101000000Z -enddate 20200201000000Z >>"$LOG" 2>&1 ||
			dns_die "expired cert $name failed (see $LOG)"
	else
		openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
			-extfile "$ext" -out "$PKI/$name.leaf" >>"$LOG" 2>&1 ||
			dns_die "cert $name failed (see $LOG)"
	fi
	cat "$PKI/$name.leaf" "$PKI/ca.crt" >"$PKI/$name.crt"
	rm -f "$PKI/$name.csr"
}

# ee-good: self-signed, valid, names mx1.dane-ee.example (DANE-EE needs no CA)
openssl req -x509 -new "${ecparam[@]}" -keyout "$PKI/ee-good.key" -out "$PKI/ee-good.crt" \
	-days 30 -subj "/CN=mx1.dane-ee.example" \
	-addext subjectAltName=DNS:mx1.dane-ee.example \
	-addext basicConstraints=critical,CA:FALSE >>"$LOG" 2>&1 ||
	dns_die "ee-good failed (see $LOG)"
leaf ee-weird      wrong.invalid                 DNS:wrong.invalid expired
leaf ta-good       mx.dane-ta.example            DNS:mx.dane-ta.example
leaf ta-wrongname  other.example                 DNS:other.example
leaf two-mx1       mx1.two-mx.example            DNS:mx1.two-mx.example
leaf two-mx2       mx2.two-mx.example            DNS:mx2.two-mx.example
leaf one-bad       mx.one-bad.example            DNS:mx.one-bad.example
leaf pkix-only     mx.pkix-only.example          DNS:mx.pkix-only.example
leaf bogus         mx.bogus.example              DNS:mx.bogus.example
leaf unsigned      mx.unsigned.example           DNS:mx.unsigned.example
leaf cname         mxhost.target-zone.example    DNS:mxhost.target-zone.example,DNS:mx.cname.example
leaf malformed     mx.malformed.example          DNS:mx.malformed.example
leaf plain         mx.plain.example              DNS:mx.plain.example
leaf rogue         rogue.example                 DNS:rogue.example
rm -rf "$PKI/ca.db" "$PKI/ca.cnf" "$PKI"/*.ext "$PKI"/*.leaf
chmod 600 "$PKI"/*.key

SPKI_EE_GOOD=$(dns_spki_sha256 "$PKI/ee-good.crt")
SPKI_EE_WEIRD=$(dns_spki_sha256 "$PKI/ee-weird.crt")
CERT_CA=$(dns_cert_sha256 "$PKI/ca.crt")
SPKI_TWO_MX2=$(dns_spki_sha256 "$PKI/two-mx2.crt")
SPKI_ONE_BAD=$(dns_spki_sha256 "$PKI/one-bad.crt")
SPKI_PKIX_ONLY=$(dns_spki_sha256 "$PKI/pkix-only.crt")
SPKI_BOGUS=$(dns_spki_sha256 "$PKI/bogus.crt")
SPKI_CNAME=$(dns_spki_sha256 "$PKI/cname.crt")
# a digest that matches nothing (deterministic, not all zeros)
WRONG=$(printf 'mxtls lab: this digest matches no certificate' | openssl dgst -sha256 -r | cut -d' ' -f1)
WRONG2=$(printf 'mxtls lab: nor does this one' | openssl dgst -sha256 -r | cut -d' ' -f1)
SHORT20=$(printf '%s' "$WRONG" | cut -c1-40)		# 20 bytes: bad length for SHA-256

###########################################################################
# Keys
###########################################################################
SIGNED_LEAVES="dane-ee.example. dane-ee-weird.example. dane-ta.example.
dane-ta-wrongname.example. two-mx.example. one-bad.example. pkix-only.example.
pkix-notls.example. bogus.example. cname.example. target-zone.example.
malformed.example. plain.example. lab.example."
UNSIGNED_LEAVES="unsigned.example."

genkeys() {	# genkeys ZONE
	local zone=$1 d
	d=$OUTDIR/keys/$(dns_zonefile_name "$zone")
	mkdir -p "$d"
	( cd "$d" &&
	  ldns-keygen -a ECDSAP256SHA256 -k "$zone" >ksk.name &&
	  ldns-keygen -a ECDSAP256SHA256 "$zone" >zsk.name ) >>"$LOG" 2>&1 ||
		dns_die "ldns-keygen $zone failed (see $LOG)"
	# store absolute basenames
	sed -i "s|^|$d/|" "$d/ksk.name" "$d/zsk.name"
}

ds_of() {	# ds_of ZONE -> DS line (SHA-256) for the zone's KSK
	ldns-key2ds -n -2 "$(dns_keybase "$1" ksk).key"
}

for z in $SIGNED_LEAVES example. .; do genkeys "$z"; done

###########################################################################
# Zones
###########################################################################
SERIAL=$(date -u +%s)

soa() {	# soa ZONE TTL
	printf '$ORIGIN %s\n$TTL %s\n' "$1" "$2"
	printf '%s\tSOA\t%s hostmaster.%s %s 1800 900 604800 60\n' "$1" "$NS_NAME" \
		"$([ "$1" = . ] && echo root-lab. || echo "$1")" "$SERIAL"
	printf '%s\tNS\t%s\n' "$1" "$NS_NAME"
}

zf() { echo "$OUTDIR/zones/$(dns_zonefile_name "$1").zone"; }

{ soa dane-ee.example. 60
cat <<EOF
@			MX	10 mx1.dane-ee.example.
mx1			A	192.0.2.31
mx1			AAAA	2001:db8::31
_25._tcp.mx1		TLSA	3 1 1 $SPKI_EE_GOOD
EOF
} >"$(zf dane-ee.example.)"

{ soa dane-ee-weird.example. 60
cat <<EOF
@			MX	10 mx.dane-ee-weird.example.
mx			A	192.0.2.32
_25._tcp.mx		TLSA	3 1 1 $SPKI_EE_WEIRD
EOF
} >"$(zf dane-ee-weird.example.)"

{ soa dane-ta.example. 60
cat <<EOF
@			MX	10 mx.dane-ta.example.
mx			A	192.0.2.33
_25._tcp.mx		TLSA	2 0 1 $CERT_CA
EOF
} >"$(zf dane-ta.example.)"

{ soa dane-ta-wrongname.example. 60
cat <<EOF
@			MX	10 mx.dane-ta-wrongname.example.
mx			A	192.0.2.34
_25._tcp.mx		TLSA	2 0 1 $CERT_CA
EOF
} >"$(zf dane-ta-wrongname.example.)"

{ soa two-mx.example. 60
cat <<EOF
@			MX	10 mx1.two-mx.example.
@			MX	20 mx2.two-mx.example.
mx1			A	192.0.2.35
mx2			A	192.0.2.36
_25._tcp.mx1		TLSA	3 1 1 $WRONG
_25._tcp.mx2		TLSA	3 1 1 $SPKI_TWO_MX2
EOF
} >"$(zf two-mx.example.)"

# TTL 1: a long-lived resolver (mxtlsd) sees fix-one-bad.sh's change at once
{ soa one-bad.example. 1
cat <<EOF
@			MX	10 mx.one-bad.example.
mx			A	192.0.2.37
_25._tcp.mx		TLSA	3 1 1 $WRONG
EOF
} >"$(zf one-bad.example.)"

{ soa pkix-only.example. 60
cat <<EOF
@			MX	10 mx.pkix-only.example.
mx			A	192.0.2.38
_25._tcp.mx		TLSA	1 1 1 $SPKI_PKIX_ONLY
EOF
} >"$(zf pkix-only.example.)"

{ soa pkix-notls.example. 60
cat <<EOF
@			MX	10 mx.pkix-notls.example.
mx			A	192.0.2.39
_25._tcp.mx		TLSA	1 1 1 $WRONG2
EOF
} >"$(zf pkix-notls.example.)"

{ soa bogus.example. 60
cat <<EOF
@			MX	10 mx.bogus.example.
mx			A	192.0.2.40
_25._tcp.mx		TLSA	3 1 1 $SPKI_BOGUS
EOF
} >"$(zf bogus.example.)"

{ soa unsigned.example. 60
cat <<EOF
@			MX	10 mx.unsigned.example.
mx			A	192.0.2.41
_25._tcp.mx		TLSA	3 1 1 $WRONG
EOF
} >"$(zf unsigned.example.)"

{ soa cname.example. 60
cat <<EOF
@			MX	10 mx.cname.example.
mx			CNAME	mxhost.target-zone.example.
EOF
} >"$(zf cname.example.)"

{ soa target-zone.example. 60
cat <<EOF
mxhost			A	192.0.2.42
_25._tcp.mxhost		TLSA	3 1 1 $SPKI_CNAME
EOF
} >"$(zf target-zone.example.)"

# RFC 3597 generic form: neither NSD nor ldns judge digest lengths, but the
# generic form keeps both parsers out of it.  03 01 01 + 20 bytes; 04 01 01 + 32.
{ soa malformed.example. 60
cat <<EOF
@			MX	10 mx.malformed.example.
mx			A	192.0.2.43
_25._tcp.mx		TLSA	\\# 23 030101$SHORT20
_25._tcp.mx		TLSA	\\# 35 040101$SPKI_EE_GOOD
EOF
} >"$(zf malformed.example.)"

{ soa plain.example. 60
cat <<EOF
@			MX	10 mx.plain.example.
mx			A	192.0.2.44
EOF
} >"$(zf plain.example.)"

# the first floor (tests/lab/lib.sh): its sinks mx1..mx3, no TLSA
{ soa lab.example. 60
cat <<EOF
tls			MX	10 mx1.lab.example.
tls6			MX	10 mx1.lab.example.
plain			MX	10 mx2.lab.example.
plain6			MX	10 mx2.lab.example.
reset			MX	10 mx3.lab.example.
reset6			MX	10 mx3.lab.example.
mx1			A	192.0.2.25
mx1			AAAA	2001:db8::25
mx2			A	192.0.2.26
mx2			AAAA	2001:db8::26
mx3			A	192.0.2.27
mx3			AAAA	2001:db8::27
EOF
} >"$(zf lab.example.)"

for z in $SIGNED_LEAVES; do
	dns_sign "$z" >>"$LOG" 2>&1 || dns_die "signing $z failed (see $LOG)"
done

# bogus.example: corrupt the TLSA RRset's signature (still valid base64, same
# length), so the zone still parses and the answer is bogus.
b=$OUTDIR/zones/bogus.example.signed
awk -F'\t' -v OFS='\t' '
$4 == "RRSIG" && $5 ~ /^TLSA / && !done {
	n = split($5, f, " ")
	sig = f[n]
	c = substr(sig, 11, 1)
	r = (c == "A") ? "B" : "A"
	f[n] = substr(sig, 1, 10) r substr(sig, 12)
	s = f[1]; for (i = 2; i <= n; i++) s = s " " f[i]
	$5 = s; done = 1
}
{ print }
END { if (!done) exit 3 }' "$b" >"$b.tmp" || dns_die "could not corrupt the TLSA RRSIG in $b"
mv -f "$b.tmp" "$b"

# example.: delegations (DS for signed children), rogue.example
{ soa example. 60
echo "rogue			A	192.0.2.99"
for z in $SIGNED_LEAVES $UNSIGNED_LEAVES; do
	printf '%s\tNS\t%s\n' "$z" "$NS_NAME"
done
for z in $SIGNED_LEAVES; do ds_of "$z"; done
} >"$(zf example.)"
dns_sign example. >>"$LOG" 2>&1 || dns_die "signing example. failed (see $LOG)"

{ soa . 3600
printf '%s\tA\t%s\n%s\tAAAA\t%s\n' "$NS_NAME" "$NS_V4" "$NS_NAME" "$NS_V6"
printf 'example.\tNS\t%s\n' "$NS_NAME"
ds_of example.
} >"$(zf .)"
dns_sign . >>"$LOG" 2>&1 || dns_die "signing . failed (see $LOG)"

###########################################################################
# Trust anchor, hints, NSD configuration
###########################################################################
ds_of . >"$OUTDIR/root.key"
cat >"$OUTDIR/root.hints" <<EOF
; lab root hints: the only root server is the lab NSD
.			3600000	NS	$NS_NAME
$NS_NAME		3600000	A	$NS_V4
$NS_NAME		3600000	AAAA	$NS_V6
EOF

{
cat <<EOF
# nsd.conf - the lab's authoritative server (generated by tests/lab/dns/build.sh)
server:
	ip-address: $NS_V4
	ip-address: $NS_V6
	port: 53
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$OUTDIR/zones"
	zonelistfile: "$OUTDIR/run/zone.list"
	xfrdfile: "$OUTDIR/run/xfrd.state"
	xfrdir: "$OUTDIR/run"
	pidfile: "$OUTDIR/run/nsd.pid"
	logfile: "$OUTDIR/run/nsd.log"
	server-count: 1
	reuseport: no
	hide-version: yes
	verbosity: 1
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
	zonefiles-check: yes

remote-control:
	control-enable: yes
	control-interface: "$OUTDIR/run/nsd.ctl"

EOF
for z in . example. $SIGNED_LEAVES; do
	printf 'zone:\n\tname: "%s"\n\tzonefile: "%s/zones/%s.signed"\n\n' \
		"$z" "$OUTDIR" "$(dns_zonefile_name "$z")"
done
for z in $UNSIGNED_LEAVES; do
	printf 'zone:\n\tname: "%s"\n\tzonefile: "%s/zones/%s.zone"\n\n' \
		"$z" "$OUTDIR" "$(dns_zonefile_name "$z")"
done
} >"$OUTDIR/nsd.conf"
nsd-checkconf "$OUTDIR/nsd.conf" >>"$LOG" 2>&1 || dns_die "nsd-checkconf rejects $OUTDIR/nsd.conf (see $LOG)"
# nsd-checkzone each zone so a bad zone fails here, not at NSD start
for z in . example. $SIGNED_LEAVES $UNSIGNED_LEAVES; do
	f=$OUTDIR/zones/$(dns_zonefile_name "$z").signed
	[ -f "$f" ] || f=$OUTDIR/zones/$(dns_zonefile_name "$z").zone
	nsd-checkzone "$z" "$f" >>"$LOG" 2>&1 || dns_die "nsd-checkzone $z rejects $f (see $LOG)"
done

###########################################################################
# MX sinks, expectations, env
###########################################################################
{
mx() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${3:+$PKI/$3.crt}" "${3:+$PKI/$3.key}" "$4"; }
mx 192.0.2.31   mx1.dane-ee.example          ee-good      starttls
mx 2001:db8::31 mx1.dane-ee.example          ee-good      starttls
mx 192.0.2.32   mx.dane-ee-weird.example     ee-weird     starttls
mx 192.0.2.33   mx.dane-ta.example           ta-good      starttls
mx 192.0.2.34   mx.dane-ta-wrongname.example ta-wrongname starttls
mx 192.0.2.35   mx1.two-mx.example           two-mx1      starttls
mx 192.0.2.36   mx2.two-mx.example           two-mx2      starttls
mx 192.0.2.37   mx.one-bad.example           one-bad      starttls
mx 192.0.2.38   mx.pkix-only.example         pkix-only    starttls
printf '%s\t%s\t-\t-\t%s\n' 192.0.2.39 mx.pkix-notls.example notls
mx 192.0.2.40   mx.bogus.example             bogus        starttls
mx 192.0.2.41   mx.unsigned.example          unsigned     starttls
mx 192.0.2.42   mxhost.target-zone.example   cname        starttls
mx 192.0.2.43   mx.malformed.example         malformed    starttls
mx 192.0.2.44   mx.plain.example             plain        starttls
mx 192.0.2.99   rogue.example                rogue        starttls
} >"$OUTDIR/mx.tsv"

{
t() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }
t _25._tcp.mx1.dane-ee.example.            secure   "3 1 1 $SPKI_EE_GOOD"
t _25._tcp.mx.dane-ee-weird.example.       secure   "3 1 1 $SPKI_EE_WEIRD"
t _25._tcp.mx.dane-ta.example.             secure   "2 0 1 $CERT_CA"
t _25._tcp.mx.dane-ta-wrongname.example.   secure   "2 0 1 $CERT_CA"
t _25._tcp.mx1.two-mx.example.             secure   "3 1 1 $WRONG"
t _25._tcp.mx2.two-mx.example.             secure   "3 1 1 $SPKI_TWO_MX2"
t _25._tcp.mx.one-bad.example.             secure   "3 1 1 $WRONG"
t _25._tcp.mx.pkix-only.example.           secure   "1 1 1 $SPKI_PKIX_ONLY"
t _25._tcp.mx.pkix-notls.example.          secure   "1 1 1 $WRONG2"
t _25._tcp.mx.bogus.example.               bogus    "3 1 1 $SPKI_BOGUS"
t _25._tcp.mx.unsigned.example.            insecure "3 1 1 $WRONG"
t _25._tcp.mxhost.target-zone.example.     secure   "3 1 1 $SPKI_CNAME"
t _25._tcp.mx.malformed.example.           secure   "3 1 1 $SHORT20;4 1 1 $SPKI_EE_GOOD"
t _25._tcp.mx.plain.example.               secure   "-"
} >"$OUTDIR/tlsa.tsv"

cat >"$OUTDIR/env.sh" <<EOF
# generated by tests/lab/dns/build.sh
DNS_OUTDIR='$OUTDIR'
DNS_NS_V4=$NS_V4
DNS_NS_V6=$NS_V6
DNS_ROOT_KEY='$OUTDIR/root.key'
DNS_ROOT_HINTS='$OUTDIR/root.hints'
DNS_CA='$PKI/ca.crt'
DNS_NSD_CONF='$OUTDIR/nsd.conf'
DNS_ONE_BAD_WRONG=$WRONG
DNS_ONE_BAD_RIGHT=$SPKI_ONE_BAD
EOF

echo "dns: built the lab DNSSEC world in $OUTDIR"
