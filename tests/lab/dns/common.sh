# shellcheck shell=bash
# common.sh - helpers shared by build.sh and fix-one-bad.sh (sourced, not run).
#
#	dns_sign ZONE		sign OUTDIR/zones/ZONE.zone with the zone's KSK and
#				ZSK from OUTDIR/keys/ZONE/ into OUTDIR/zones/ZONE.signed
#	dns_spki_sha256 CERT	hex SHA-256 of the certificate's SubjectPublicKeyInfo
#				(TLSA selector 1, matching type 1)
#	dns_cert_sha256 CERT	hex SHA-256 of the whole DER certificate
#				(TLSA selector 0, matching type 1)
#	dns_zonefile_name ZONE	file stem for ZONE ("." -> "root")
#
# OUTDIR must be set (absolute) by the caller.

# Signature validity: inception one hour ago (clock skew), expiry 20 days ahead.
DNS_SIG_INCEPTION_AGO=3600
DNS_SIG_LIFETIME=$((20 * 86400))

dns_die() { echo "dns: $*" >&2; exit 1; }

dns_zonefile_name() {
	if [ "$1" = "." ]; then echo root; else echo "${1%.}"; fi
}

dns_keybase() {	# dns_keybase ZONE ksk|zsk -> key basename (without .key/.private)
	local d
	d=$OUTDIR/keys/$(dns_zonefile_name "$1")
	cat "$d/$2.name"
}

dns_sign() {
	local zone=$1 stem now inc exp ksk zsk
	stem=$(dns_zonefile_name "$zone")
	now=$(date -u +%s)
	inc=$(date -u -d "@$((now - DNS_SIG_INCEPTION_AGO))" +%Y%m%d%H%M%S)
	exp=$(date -u -d "@$((now + DNS_SIG_LIFETIME))" +%Y%m%d%H%M%S)
	ksk=$(dns_keybase "$zone" ksk) || return 1
	zsk=$(dns_keybase "$zone" zsk) || return 1
	ldns-signzone -o "$zone" -i "$inc" -e "$exp" \
		-f "$OUTDIR/zones/$stem.signed.tmp" \
		"$OUTDIR/zones/$stem.zone" "$ksk" "$zsk" || return 1
	mv -f "$OUTDIR/zones/$stem.signed.tmp" "$OUTDIR/zones/$stem.signed"
}

dns_spki_sha256() {
	openssl x509 -in "$1" -noout -pubkey |
		openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1
}

dns_cert_sha256() {
	openssl x509 -in "$1" -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1
}
