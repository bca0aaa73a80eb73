# plain - the MX offers no STARTTLS (mx2, 192.0.2.26): delivered in
# plaintext, and mxtlsd logs the downgrade ("no STARTTLS", naming the MX).
scenario_plain() {
	lab_deliver mx2 plain.lab.example 0 30 || return
	lab_check_mx_tls no
	lab_check_mxtlsd_log mxtlsd-downgrade-log '192\.0\.2\.26.*no STARTTLS|no STARTTLS.*192\.0\.2\.26' \
		"mxtlsd did not log a downgrade for 192.0.2.26"
	lab_check_envelope
	lab_check_mxtlsd_log mxtlsd-policy-from-dns 'policy for plain\.lab\.example: MX 10 mx2\.lab\.example \(mx secure, address secure, tlsa none\) -> none$' \
		"mxtlsd did not resolve plain.lab.example's MX (mx2.lab.example, signed, no TLSA) in the lab DNS"
	lab_check_bytes
}
