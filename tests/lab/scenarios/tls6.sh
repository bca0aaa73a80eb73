# tls6 - the tls scenario over IPv6: Postfix -> [2001:db8::25]:25, redirected
# by ip6tables to mxtlsd on [::1]:10025, which re-originates over IPv6.
scenario_tls6() {
	lab_deliver mx1 tls6.lab.example 0 30 || return
	lab_check_mx_tls yes
	local peer
	peer=$(lab_tool json-get "$D_JSON" local)
	if [ "$peer" = "[2001:db8::25]:25" ]; then pass mx-ipv6
	else fail mx-ipv6 "the MX received the message on $peer, expected [2001:db8::25]:25"; fi
	lab_check_mxtlsd_log mxtlsd-tls-log 'TLS connection established to [^ ]*\[2001:db8::25\]:25' \
		"mxtlsd did not log the TLS connection to [2001:db8::25]:25"
	lab_check_mxtlsd_log mxtlsd-policy-from-dns 'policy for tls6\.lab\.example: MX 10 mx1\.lab\.example \(mx secure, address secure, tlsa none\) -> none$' \
		"mxtlsd did not resolve tls6.lab.example's MX (mx1.lab.example, signed, no TLSA) in the lab DNS"
	lab_check_bytes
}
