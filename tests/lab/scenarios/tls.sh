# tls - Postfix -> mxtlsd -> STARTTLS MX (mx1, 192.0.2.25): TLS at the MX,
# mxtlsd found the MX in the lab DNS (signed lab.example, no TLSA: policy none),
# mxtlsd logs the TLS connection, the message arrives byte for byte.
scenario_tls() {
	lab_deliver mx1 tls.lab.example 0 30 || return
	lab_check_mx_tls yes
	lab_check_mxtlsd_log mxtlsd-tls-log 'TLS connection established to [^ ]*\[192\.0\.2\.25\]:25' \
		"mxtlsd did not log the TLS connection to 192.0.2.25"
	lab_check_envelope
	lab_check_mxtlsd_log mxtlsd-policy-from-dns 'policy for tls\.lab\.example: MX 10 mx1\.lab\.example \(mx secure, address secure, tlsa none\) -> none$' \
		"mxtlsd did not resolve tls.lab.example's MX (mx1.lab.example, signed, no TLSA) in the lab DNS"
	lab_check_bytes
}
