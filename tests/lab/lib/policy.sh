# policy.sh - the lab's MTA-STS policy host (the third floor) and its records.
#
# SYNOPSIS
#	. tests/lab/lib.sh	(sources this file)
#	lab_https_start, lab_https_stop, lab_https_log
#	lab_sts_file DOMAIN, lab_sts_publish DOMAIN MODE PATTERN...
#	lab_sts_txt DOMAIN ID|remove
#
# DESCRIPTION
#	nginx in mxl-mx (tests/lab/dns/https-up.sh, https-down.sh) serving
#	mta-sts.DOMAIN's policy file for each domain of $LAB_DIR/dns/sts.tsv;
#	scenarios rewrite a policy, change or remove a domain's _mta-sts TXT
#	record, stop and start the host.

# lab_https_start / lab_https_stop - the MTA-STS policy host (nginx in
# mxl-mx, tests/lab/dns/https-up.sh / https-down.sh); its output goes to
# $LAB_DIR/log/https.log
lab_https_start() {
	echo "=== $(date -u +%FT%TZ) start" >>"$LAB_DIR/log/https.log"
	if ! "$LAB_HERE/dns/https-up.sh" "$LAB_DIR/dns" "$LAB_NS_MX" >>"$LAB_DIR/log/https.log" 2>&1 9>&-; then
		lab_log "tests/lab/dns/https-up.sh failed:"; tail -n 5 "$LAB_DIR/log/https.log" >&2
		return 1
	fi
}
lab_https_stop() {
	echo "=== $(date -u +%FT%TZ) stop" >>"$LAB_DIR/log/https.log"
	"$LAB_HERE/dns/https-down.sh" "$LAB_DIR/dns" >>"$LAB_DIR/log/https.log" 2>&1 9>&-
}

# lab_sts_file DOMAIN - the policy file the policy host serves for DOMAIN
lab_sts_file() {
	echo "$LAB_DIR/dns/https/www/mta-sts.$1/.well-known/mta-sts.txt"
}

# lab_sts_publish DOMAIN MODE PATTERN... - the policy host serves a new
# policy for DOMAIN (canonical text, max_age 604800; no PATTERN: no mx
# line); written atomically
lab_sts_publish() {
	local d=$1 mode=$2 f p
	shift 2
	f=$(lab_sts_file "$d")
	{
		printf 'version: STSv1\nmode: %s\n' "$mode"
		for p in "$@"; do printf 'mx: %s\n' "$p"; done
		printf 'max_age: 604800\n'
	} >"$f.tmp" && mv -f "$f.tmp" "$f"
}

# lab_sts_txt DOMAIN ID|remove - _mta-sts.DOMAIN TXT id=ID (or no record),
# live (tests/lab/dns/sts-txt.sh; NSD serves it when this returns)
lab_sts_txt() {
	"$LAB_HERE/dns/sts-txt.sh" "$LAB_DIR/dns" "$1" "$2" >>"$LAB_DIR/log/sts-txt.log" 2>&1 9>&-
}

# lab_https_log - the policy host's access log (one line per request:
# time, client, SNI, "request", status, bytes, "Content-Type")
lab_https_log() { echo "$LAB_DIR/dns/https/run/access.log"; }
