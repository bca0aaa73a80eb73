# tls - Postfix -> mxtlsd -> STARTTLS MX (mx1, 192.0.2.25): TLS at the MX,
# mxtlsd logs the TLS connection, the message arrives byte for byte.
scenario_tls() {
	lab_deliver mx1 tls.lab.example 0 30 || return
	lab_check_mx_tls yes
	lab_check_mxtlsd_log mxtlsd-tls-log 'TLS connection established to [^ ]*\[192\.0\.2\.25\]:25' \
		"mxtlsd did not log the TLS connection to 192.0.2.25"
	lab_check_envelope
	lab_check_bytes
}
