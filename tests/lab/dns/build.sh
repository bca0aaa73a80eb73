#!/bin/bash
# build.sh - generate the lab's DNSSEC world (the "second floor" for DANE)
# and its MTA-STS policy host (the "third floor").
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
#	  tlsrpt.tsv	the TLSRPT records (for tests): NAME<TAB>record text
#			(NAME is where _smtp._tls.NAME is published)
#	  sts.tsv	the MTA-STS domains (for tests):
#			DOMAIN<TAB>id<TAB>mode<TAB>kind<TAB>policy file served
#			(kind: ok, or the defect its policy host has)
#	  https/	the policy host (nginx): nginx.conf, www/mta-sts.DOMAIN/
#			.well-known/mta-sts.txt (the policies; rewrite them to
#			change what is served), run/ (pid, access.log, error.log)
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
#	  shared-mx.example	(unsigned zone, no DS: insecure, no policy)
#				MX 10 mx.one-bad.example, one-bad.example's MX
#				host: two domains, one MX host, one of them
#				failing its policy (tests/lab/scenarios/exim.sh)
#	  rogue.example		A 192.0.2.99, nobody's MX (sink for re-routing tests)
#	  lab.example		the first floor's domains, no TLSA anywhere:
#				tls, tls6 -> MX mx1.lab.example; plain, plain6 -> mx2;
#				reset, reset6 -> mx3; mx1..mx3 at 192.0.2.25-27 and
#				2001:db8::25-27.  Their sinks are not in mx.tsv:
#				tests/lab/lib.sh starts them (own PKI and modes).
#
#	MTA-STS (RFC 8461; tests/lab/dns/https-up.sh serves the policies with
#	nginx at 198.51.100.80 and [2001:db8:53::80]:443, one vhost and one
#	lab-CA certificate per mta-sts.DOMAIN; sts-txt.sh changes or removes a
#	_mta-sts TXT record live).  Every _mta-sts.DOMAIN TXT "v=STSv1; id=..."
#	has TTL 1 s, and the zones that hold them a negative TTL of 1 s, so a
#	change is seen at once.  Policies: max_age 604800, canonical text
#	(version, mode, mx..., max_age), so mxtlsd's cache file repeats them.
#	The MX hosts, in the signed zone sts.example (no TLSA, except mx.dane):
#	  good1.sts.example	192.0.2.50  lab-CA certificate for its name
#	  good2.sts.example	192.0.2.51  lab-CA certificate for its name
#	  wrongname.sts.example	192.0.2.52  lab-CA certificate for other.sts.example
#	  expired.sts.example	192.0.2.53  lab-CA certificate for its name, expired
#	  selfsigned.sts.example 192.0.2.54 self-signed certificate for its name
#	  mx1.wild.sts.example	192.0.2.55  lab-CA certificate for *.wild.sts.example
#	  mx2.wild.sts.example	192.0.2.56  lab-CA certificate for its name
#	  mx.dane.sts.example	192.0.2.57  self-signed; TLSA 3 1 1 of it
#	  notls.sts.example	192.0.2.60  no STARTTLS
#	The domains (D: MX hosts; policy):
#	  enforce.sts.example	good1; enforce, mx: good1.sts.example
#	  wild.sts.example	mx1.wild, mx2.wild; enforce, mx: *.wild.sts.example
#				(served as "text/plain; charset=utf-8")
#	  badcert.sts.example	10 wrongname, 20 expired, 30 selfsigned, 40 good2;
#				enforce, mx: *.sts.example
#	  allbad.sts.example	10 wrongname, 20 expired; enforce, mx: *.sts.example
#	  nomatch.sts.example	10 good1, 20 good2; enforce, mx: good2.sts.example
#	  notls.sts.example	notls; enforce, mx: notls.sts.example
#	  testing.sts.example	wrongname; testing, mx: *.sts.example
#	  cache.sts.example	10 wrongname, 20 good2; enforce, mx: *.sts.example
#	  dane.sts.example	mx.dane (DANE-EE); enforce, mx: mx.dane.sts.example
#	  reload.sts.example	good1; enforce, mx: good1.sts.example
#	  html, redirect, notfound, big, syntax, badtls .sts.example: good1; a
#		policy host that fails: Content-Type text/html; 301 to a policy
#		elsewhere on the host; 404; a (valid) policy of ~73000 octets;
#		"max_age: 1w" on line 4; a certificate for another name.  The
#		policy each would deliver says mx: good2.sts.example, so a
#		client that used it would not deliver to good1.
#	  sts-unsigned.example	(unsigned zone) mx.sts-unsigned.example
#				192.0.2.58; enforce, mx: mx.sts-unsigned.example
#	  stsbench.lab.example	mx.stsbench.lab.example 192.0.2.59 (lab-CA
#				certificate); enforce (TTL 60, for tests/bench/policy)
#	  stsresume.lab.example	the same MX; enforce, mx: mx.stsbench.lab.example;
#				TXT TTL 10 (STS_TXT_TTLS): long enough for a TLS
#				session to be cached and resumed, short for the wait
#				after an id change (tests/lab/scenarios/resume.sh)
#	  nopolicy.lab.example	the same MX, no _mta-sts record
#	  share1.sts.example	mx.share1.sts.example 192.0.2.45, TLSA 3 1 1 (DANE)
#	  share2.sts.example	mx.share2.sts.example, the same address; enforce,
#				mx: mx.share2.sts.example.  One sink, one lab-CA
#				certificate naming both hosts (and mx.slow): two
#				domains, two policies, one MX address, for the DNS
#				watcher's wrong hints (tests/lab/scenarios/watch.sh)
#	  slow.sts.example	mx.slow.sts.example 192.0.2.46, TLSA 3 1 1 of the
#				same certificate (DANE); tests/bench/watch runs its
#				sink with --reply-delay-ms (a far-away MX)
#
#	TLSRPT (RFC 8460; tests/lab/scenarios/report.sh): _smtp._tls TXT
#	records "v=TLSRPTv1; rua=..." (TLSRPT_TABLE below, also in
#	tlsrpt.tsv) for dane-ee.example (mailto), its MX host
#	mx1.dane-ee.example (a per-host record, mailto), dane-ta-wrongname.example
#	(https), enforce.sts.example (https), badcert.sts.example and
#	testing.sts.example (mailto and https), tls.lab.example (https).
#	The mailto: addresses are in reports.lab.example (the lab Postfix
#	delivers them to a local mailbox); the https: ones point at
#	tlsrpt.lab.example, 198.51.100.81 and 2001:db8:53::81 (A/AAAA in
#	lab.example; tests/lab/py/rptsink.py serves it with the lab-CA
#	certificate pki/https-tlsrpt.crt).
#
# REQUIRES
#	nsd, ldnsutils (ldns-keygen, ldns-signzone, ldns-key2ds), openssl,
#	coreutils, gawk or mawk (nginx, nginx-light, only to serve: https-up.sh).

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
rm -rf "$OUTDIR/pki" "$OUTDIR/keys" "$OUTDIR/zones" "$OUTDIR/run" "$OUTDIR/https"
rm -f "$OUTDIR/root.key" "$OUTDIR/root.hints" "$OUTDIR/nsd.conf" \
	"$OUTDIR/mx.tsv" "$OUTDIR/sts.tsv" "$OUTDIR/tlsrpt.tsv" "$OUTDIR/tlsa.tsv" "$OUTDIR/env.sh" "$OUTDIR/build.log"
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
printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n' >"$PKI/req.cnf"
leaf() {
	local name=$1 cn=$2 san=$3 expired=${4:-}
	local ext=$PKI/$name.ext
	if [ -n "$expired" ]; then
		printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=serverAuth" "subjectAltName=$san" >"$ext"
		openssl req -new "${ecparam[@]}" -keyout "$PKI/$name.key" -out "$PKI/$name.csr" \
			-subj "/CN=$cn" >>"$LOG" 2>&1 || dns_die "csr $name failed (see $LOG)"
		openssl ca -batch -config "$PKI/ca.cnf" -notext -in "$PKI/$name.csr" \
			-out "$PKI/$name.leaf" -extfile "$ext" \
			-startdate 20200101000000Z -enddate 20200201000000Z >>"$LOG" 2>&1 ||
			dns_die "expired cert $name failed (see $LOG)"
		rm -f "$PKI/$name.csr"
	else
		# one step (OpenSSL 3): key, and a certificate signed by the CA
		openssl req -x509 -new "${ecparam[@]}" -config "$PKI/req.cnf" \
			-keyout "$PKI/$name.key" -out "$PKI/$name.leaf" \
			-CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -days 30 -sha256 \
			-set_serial "0x$(openssl rand -hex 8)" -subj "/CN=$cn" \
			-addext basicConstraints=CA:FALSE -addext keyUsage=critical,digitalSignature \
			-addext extendedKeyUsage=serverAuth -addext "subjectAltName=$san" \
			>>"$LOG" 2>&1 || dns_die "cert $name failed (see $LOG)"
	fi
	cat "$PKI/$name.leaf" "$PKI/ca.crt" >"$PKI/$name.crt"
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

# selfsigned NAME HOST - a self-signed certificate for HOST (no lab CA)
selfsigned() {
	openssl req -x509 -new "${ecparam[@]}" -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
		-days 30 -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-addext basicConstraints=critical,CA:FALSE >>"$LOG" 2>&1 ||
		dns_die "self-signed $1 failed (see $LOG)"
}

# MTA-STS: the policies' domains (see the top); kind: ok, or the defect
# of the domain's policy host.  DOMAIN ID MODE KIND MX-PATTERN[,...]
STS_TABLE="enforce.sts.example	enforce1	enforce	ok	good1.sts.example
wild.sts.example	wild1	enforce	charset	*.wild.sts.example
badcert.sts.example	badcert1	enforce	ok	*.sts.example
allbad.sts.example	allbad1	enforce	ok	*.sts.example
nomatch.sts.example	nomatch1	enforce	ok	good2.sts.example
notls.sts.example	notls1	enforce	ok	notls.sts.example
testing.sts.example	testing1	testing	ok	*.sts.example
cache.sts.example	cache1	enforce	ok	*.sts.example
dane.sts.example	dane1	enforce	ok	mx.dane.sts.example
reload.sts.example	reload1	enforce	ok	good1.sts.example
html.sts.example	html1	enforce	html	good2.sts.example
redirect.sts.example	redirect1	enforce	redirect	good2.sts.example
notfound.sts.example	notfound1	enforce	404	good2.sts.example
big.sts.example	big1	enforce	big	good2.sts.example
syntax.sts.example	syntax1	enforce	syntax	good2.sts.example
badtls.sts.example	badtls1	enforce	badtls	good2.sts.example
sts-unsigned.example	unsigned1	enforce	ok	mx.sts-unsigned.example
stsbench.lab.example	bench1	enforce	ok	mx.stsbench.lab.example
stsresume.lab.example	resume1	enforce	ok	mx.stsbench.lab.example
share2.sts.example	share2a	enforce	ok	mx.share2.sts.example"
STS_DOMAINS=$(cut -f1 <<<"$STS_TABLE")
# DOMAIN TTL: a TXT TTL other than the one sts_records is given
STS_TXT_TTLS="stsresume.lab.example	10"

leaf sts-good1     good1.sts.example             DNS:good1.sts.example
leaf sts-good2     good2.sts.example             DNS:good2.sts.example
leaf sts-wrongname other.sts.example             DNS:other.sts.example
leaf sts-expired   expired.sts.example           DNS:expired.sts.example expired
leaf sts-wild      '*.wild.sts.example'          'DNS:*.wild.sts.example'
leaf sts-wild2     mx2.wild.sts.example          DNS:mx2.wild.sts.example
leaf sts-unsigned  mx.sts-unsigned.example       DNS:mx.sts-unsigned.example
leaf sts-bench     mx.stsbench.lab.example       DNS:mx.stsbench.lab.example
leaf share         mx.share1.sts.example         DNS:mx.share1.sts.example,DNS:mx.share2.sts.example,DNS:mx.slow.sts.example
selfsigned sts-selfsigned selfsigned.sts.example
selfsigned sts-dane       mx.dane.sts.example
# the TLSRPT report endpoint (tests/lab/py/rptsink.py)
leaf https-tlsrpt  tlsrpt.lab.example            DNS:tlsrpt.lab.example
# the policy host: one certificate per mta-sts.DOMAIN (badtls.sts.example's
# vhost presents enforce.sts.example's instead)
for d in $STS_DOMAINS; do
	[ "$d" = badtls.sts.example ] && continue
	leaf "https-$d" "mta-sts.$d" "DNS:mta-sts.$d"
done
rm -rf "$PKI/ca.db" "$PKI/ca.cnf" "$PKI/req.cnf" "$PKI"/*.ext "$PKI"/*.leaf
chmod 600 "$PKI"/*.key

SPKI_EE_GOOD=$(dns_spki_sha256 "$PKI/ee-good.crt")
SPKI_EE_WEIRD=$(dns_spki_sha256 "$PKI/ee-weird.crt")
CERT_CA=$(dns_cert_sha256 "$PKI/ca.crt")
SPKI_TWO_MX2=$(dns_spki_sha256 "$PKI/two-mx2.crt")
SPKI_ONE_BAD=$(dns_spki_sha256 "$PKI/one-bad.crt")
SPKI_PKIX_ONLY=$(dns_spki_sha256 "$PKI/pkix-only.crt")
SPKI_BOGUS=$(dns_spki_sha256 "$PKI/bogus.crt")
SPKI_CNAME=$(dns_spki_sha256 "$PKI/cname.crt")
SPKI_STS_DANE=$(dns_spki_sha256 "$PKI/sts-dane.crt")
SPKI_SHARE=$(dns_spki_sha256 "$PKI/share.crt")
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
malformed.example. plain.example. lab.example. sts.example."
UNSIGNED_LEAVES="unsigned.example. sts-unsigned.example. shared-mx.example."

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

soa() {	# soa ZONE TTL [NEG] - NEG: the SOA's own TTL and minimum, i.e. the
	# zone's negative TTL (default: the SOA has TTL, minimum 60)
	printf '$ORIGIN %s\n$TTL %s\n' "$1" "$2"
	printf '%s\t%sSOA\t%s hostmaster.%s %s 1800 900 604800 %s\n' "$1" "${3:+$3	}" \
		"$NS_NAME" "$([ "$1" = . ] && echo root-lab. || echo "$1")" "$SERIAL" "${3:-60}"
	printf '%s\tNS\t%s\n' "$1" "$NS_NAME"
}

HTTPS_V4=198.51.100.80
HTTPS_V6=2001:db8:53::80
RPT_V4=198.51.100.81
RPT_V6=2001:db8:53::81
RPT_URL=https://tlsrpt.lab.example/tlsrpt

# TLSRPT records: NAME<TAB>TXT text (NAME gets _smtp._tls.NAME)
TLSRPT_TABLE="dane-ee.example	v=TLSRPTv1; rua=mailto:tlsrpt@reports.lab.example
mx1.dane-ee.example	v=TLSRPTv1; rua=mailto:mx-reports@reports.lab.example
dane-ta-wrongname.example	v=TLSRPTv1; rua=$RPT_URL/dane-ta-wrongname
enforce.sts.example	v=TLSRPTv1;rua=$RPT_URL/enforce
badcert.sts.example	v=TLSRPTv1; rua=mailto:tlsrpt@reports.lab.example,$RPT_URL/badcert
testing.sts.example	v=TLSRPTv1; rua=$RPT_URL/testing, mailto:tlsrpt@reports.lab.example
tls.lab.example	v=TLSRPTv1; rua=$RPT_URL/tls"

# tlsrpt_records ZONE - _smtp._tls TXT for every TLSRPT_TABLE name in ZONE
# itself, owners relative to ZONE
tlsrpt_records() {
	local zone=${1%.} n txt rel
	while IFS=$'\t' read -r n txt; do
		case $n in
		"$zone") rel= ;;
		*."$zone") rel=.${n%."$zone"} ;;
		*) continue ;;
		esac
		printf '_smtp._tls%s\tTXT\t"%s"\n' "$rel" "$txt"
	done <<<"$TLSRPT_TABLE"
}

# sts_records ZONE TTL - mta-sts.D A/AAAA (the policy host) and _mta-sts.D
# TXT (with TTL, or D's in STS_TXT_TTLS) for every MTA-STS domain D in ZONE itself (not below a
# child zone of ZONE that has its own file), owners relative to ZONE
sts_records() {
	local zone=${1%.} ttl d id rel
	while IFS=$'\t' read -r d id _; do
		case $d in
		"$zone") rel= ;;
		*."$zone") rel=.${d%."$zone"} ;;
		*) continue ;;
		esac
		ttl=$(awk -F'\t' -v d="$d" -v t="$2" '$1 == d { t = $2 } END { print t }' <<<"$STS_TXT_TTLS")
		printf 'mta-sts%s\tA\t%s\nmta-sts%s\tAAAA\t%s\n' "$rel" "$HTTPS_V4" "$rel" "$HTTPS_V6"
		printf '_mta-sts%s\t%s\tTXT\t"v=STSv1; id=%s;"\n' "$rel" "$ttl" "$id"
	done <<<"$STS_TABLE"
}

zf() { echo "$OUTDIR/zones/$(dns_zonefile_name "$1").zone"; }

{ soa dane-ee.example. 60
cat <<EOF
@			MX	10 mx1.dane-ee.example.
mx1			A	192.0.2.31
mx1			AAAA	2001:db8::31
_25._tcp.mx1		TLSA	3 1 1 $SPKI_EE_GOOD
EOF
tlsrpt_records dane-ee.example.
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
tlsrpt_records dane-ta-wrongname.example.
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

# no policy, the same MX host as one-bad.example; TTL 1 like one-bad's
{ soa shared-mx.example. 1
cat <<EOF
@			MX	10 mx.one-bad.example.
EOF
} >"$(zf shared-mx.example.)"

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
stsbench		MX	10 mx.stsbench.lab.example.
stsresume		MX	10 mx.stsbench.lab.example.
nopolicy		MX	10 mx.stsbench.lab.example.
mx.stsbench		A	192.0.2.59
tlsrpt			A	$RPT_V4
tlsrpt			AAAA	$RPT_V6
EOF
sts_records lab.example. 60
tlsrpt_records lab.example.
} >"$(zf lab.example.)"

# MTA-STS (see the top): negative TTL 1 s, TXT records TTL 1 s
{ soa sts.example. 60 1
cat <<EOF
good1			A	192.0.2.50
good2			A	192.0.2.51
wrongname		A	192.0.2.52
expired			A	192.0.2.53
selfsigned		A	192.0.2.54
mx1.wild		A	192.0.2.55
mx2.wild		A	192.0.2.56
mx.dane			A	192.0.2.57
notls			A	192.0.2.60
_25._tcp.mx.dane	TLSA	3 1 1 $SPKI_STS_DANE
share1			MX	10 mx.share1.sts.example.
mx.share1		A	192.0.2.45
_25._tcp.mx.share1	TLSA	3 1 1 $SPKI_SHARE
share2			MX	10 mx.share2.sts.example.
mx.share2		A	192.0.2.45
slow			MX	10 mx.slow.sts.example.
mx.slow			A	192.0.2.46
_25._tcp.mx.slow	TLSA	3 1 1 $SPKI_SHARE
enforce			MX	10 good1.sts.example.
wild			MX	10 mx1.wild.sts.example.
wild			MX	20 mx2.wild.sts.example.
badcert			MX	10 wrongname.sts.example.
badcert			MX	20 expired.sts.example.
badcert			MX	30 selfsigned.sts.example.
badcert			MX	40 good2.sts.example.
allbad			MX	10 wrongname.sts.example.
allbad			MX	20 expired.sts.example.
nomatch			MX	10 good1.sts.example.
nomatch			MX	20 good2.sts.example.
notls			MX	10 notls.sts.example.
testing			MX	10 wrongname.sts.example.
cache			MX	10 wrongname.sts.example.
cache			MX	20 good2.sts.example.
dane			MX	10 mx.dane.sts.example.
reload			MX	10 good1.sts.example.
html			MX	10 good1.sts.example.
redirect		MX	10 good1.sts.example.
notfound		MX	10 good1.sts.example.
big			MX	10 good1.sts.example.
syntax			MX	10 good1.sts.example.
badtls			MX	10 good1.sts.example.
EOF
sts_records sts.example. 1
tlsrpt_records sts.example.
} >"$(zf sts.example.)"

{ soa sts-unsigned.example. 60 1
cat <<EOF
@			MX	10 mx.sts-unsigned.example.
mx			A	192.0.2.58
EOF
sts_records sts-unsigned.example. 1
} >"$(zf sts-unsigned.example.)"

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
# The MTA-STS policy host (nginx; https-up.sh starts it)
###########################################################################
HTTPS=$OUTDIR/https
WWW=$HTTPS/www
mkdir -p "$WWW" "$HTTPS/run/tmp"

# policy MODE PATTERNS - the canonical policy text (max_age 604800)
policy() {
	local p
	printf 'version: STSv1\nmode: %s\n' "$1"
	tr ',' '\n' <<<"$2" | while read -r p; do [ -n "$p" ] && printf 'mx: %s\n' "$p"; done
	printf 'max_age: 604800\n'
}

# vhost DOMAIN KIND - the server block for mta-sts.DOMAIN
vhost() {
	local d=$1 kind=$2 h=mta-sts.$1 cert=https-$1
	[ "$kind" = badtls ] && cert=https-enforce.sts.example
	printf '\tserver {\n'
	printf '\t\tlisten %s:443 ssl;\n\t\tlisten [%s]:443 ssl;\n' "$HTTPS_V4" "$HTTPS_V6"
	printf '\t\tserver_name %s;\n' "$h"
	printf '\t\tssl_certificate %s/%s.crt;\n\t\tssl_certificate_key %s/%s.key;\n' \
		"$PKI" "$cert" "$PKI" "$cert"
	printf '\t\troot %s/%s;\n' "$WWW" "$h"
	printf '\t\tlocation = /.well-known/mta-sts.txt {\n'
	case $kind in
	charset) printf '\t\t\tcharset utf-8;\n' ;;
	html) printf '\t\t\ttypes { }\n\t\t\tdefault_type text/html;\n' ;;
	redirect) printf '\t\t\treturn 301 https://%s/policy.txt;\n' "$h" ;;
	esac
	printf '\t\t}\n'
	printf '\t\tlocation / { return 404; }\n'
	[ "$kind" = redirect ] && printf '\t\tlocation = /policy.txt { }\n'
	printf '\t}\n'
}

{
cat <<EOF
# nginx.conf - the lab's MTA-STS policy host (generated by tests/lab/dns/build.sh)
user root;
worker_processes 1;
daemon on;
pid $HTTPS/run/nginx.pid;
error_log $HTTPS/run/error.log info;
events { worker_connections 256; }
http {
	log_format lab '\$time_iso8601 \$remote_addr \$ssl_server_name "\$request" \$status \$body_bytes_sent "\$sent_http_content_type"';
	access_log $HTTPS/run/access.log lab;
	client_body_temp_path $HTTPS/run/tmp/body;
	proxy_temp_path $HTTPS/run/tmp/proxy;
	fastcgi_temp_path $HTTPS/run/tmp/fastcgi;
	uwsgi_temp_path $HTTPS/run/tmp/uwsgi;
	scgi_temp_path $HTTPS/run/tmp/scgi;
	types { text/plain txt; }
	default_type application/octet-stream;
	server_tokens off;
	keepalive_timeout 5s;
	open_file_cache off;
	ssl_protocols TLSv1.2 TLSv1.3;
	server {
		listen $HTTPS_V4:443 ssl default_server;
		listen [$HTTPS_V6]:443 ssl default_server;
		server_name _;
		ssl_certificate $PKI/https-enforce.sts.example.crt;
		ssl_certificate_key $PKI/https-enforce.sts.example.key;
		return 421;
	}
EOF
while IFS=$'\t' read -r d id mode kind pats; do
	vhost "$d" "$kind"
done <<<"$STS_TABLE"
echo "}"
} >"$HTTPS/nginx.conf"

# the policies; the defective ones would say mx: good2.sts.example
: >"$OUTDIR/sts.tsv"
while IFS=$'\t' read -r d id mode kind pats; do
	dir=$WWW/mta-sts.$d/.well-known
	mkdir -p "$dir"
	f=$dir/mta-sts.txt
	case $kind in
	ok|charset|html|badtls) policy "$mode" "$pats" >"$f" ;;
	redirect) policy "$mode" "$pats" >"$WWW/mta-sts.$d/policy.txt" ;;
	404) ;;
	big)	{ policy "$mode" "$pats"
		  for i in $(seq 900); do printf 'x_padding_%03d: %s\n' "$i" \
			"an unknown key, which RFC 8461 says to ignore; 100 octets a line."; done
		} >"$f" ;;
	syntax) printf 'version: STSv1\nmode: %s\nmx: %s\nmax_age: 1w\n' "$mode" "$pats" >"$f" ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\n' "$d" "$id" "$mode" "$kind" "$f" >>"$OUTDIR/sts.tsv"
done <<<"$STS_TABLE"
[ "$(stat -c %s "$WWW/mta-sts.big.sts.example/.well-known/mta-sts.txt")" -gt 65536 ] ||
	dns_die "the big policy is not larger than 64 KiB"

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
mx 192.0.2.50   good1.sts.example            sts-good1      starttls
mx 192.0.2.51   good2.sts.example            sts-good2      starttls
mx 192.0.2.52   wrongname.sts.example        sts-wrongname  starttls
mx 192.0.2.53   expired.sts.example          sts-expired    starttls
mx 192.0.2.54   selfsigned.sts.example       sts-selfsigned starttls
mx 192.0.2.55   mx1.wild.sts.example         sts-wild       starttls
mx 192.0.2.56   mx2.wild.sts.example         sts-wild2      starttls
mx 192.0.2.57   mx.dane.sts.example          sts-dane       starttls
mx 192.0.2.58   mx.sts-unsigned.example      sts-unsigned   starttls
mx 192.0.2.59   mx.stsbench.lab.example      sts-bench      starttls
mx 192.0.2.45   mx.share1.sts.example        share          starttls
mx 192.0.2.46   mx.slow.sts.example          share          starttls
printf '%s\t%s\t-\t-\t%s\n' 192.0.2.60 notls.sts.example notls
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
t _25._tcp.mx.dane.sts.example.            secure   "3 1 1 $SPKI_STS_DANE"
t _25._tcp.mx.share1.sts.example.          secure   "3 1 1 $SPKI_SHARE"
t _25._tcp.mx.slow.sts.example.            secure   "3 1 1 $SPKI_SHARE"
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
DNS_HTTPS_V4=$HTTPS_V4
DNS_HTTPS_V6=$HTTPS_V6
DNS_HTTPS_DIR='$HTTPS'
DNS_NGINX_CONF='$HTTPS/nginx.conf'
DNS_STS_TSV='$OUTDIR/sts.tsv'
DNS_RPT_V4=$RPT_V4
DNS_RPT_V6=$RPT_V6
DNS_RPT_URL=$RPT_URL
DNS_RPT_CERT='$PKI/https-tlsrpt.crt'
DNS_RPT_KEY='$PKI/https-tlsrpt.key'
DNS_TLSRPT_TSV='$OUTDIR/tlsrpt.tsv'
EOF
printf '%s\n' "$TLSRPT_TABLE" >"$OUTDIR/tlsrpt.tsv"

echo "dns: built the lab DNSSEC world in $OUTDIR"
