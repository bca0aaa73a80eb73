# lib.sh - the lab world: network namespaces, MX sinks, a real Postfix, mxtlsd.
#
# SYNOPSIS
#	. tests/lab/lib.sh
#	lab_up		# build the world; on failure prints "FAIL: lab setup ..."
#	...		# lab_submit, lab_wait_maillog, lab_postqueue, lab_sink_*
#	lab_down	# stop everything, remove namespaces and temp files
#
# DESCRIPTION
#	Two namespaces joined by one veth pair:
#
#	  mxl-mta  192.0.2.1/24 2001:db8::1/64	Postfix (the old MTA), mxtlsd on
#		   198.51.100.1/24		127.0.0.1:10025 and [::1]:10025,
#		   2001:db8:53::1/64		nat OUTPUT REDIRECT of tcp/25 except
#		   packets with mark $LAB_MARK (mxtlsd's own upstream)
#	  mxl-mx   first floor, MX hosts (tests/lab/py/mxsink.py):
#		   mx1 192.0.2.25 2001:db8::25	STARTTLS, cert mx1.lab.example
#		   mx2 192.0.2.26 2001:db8::26	no STARTTLS
#		   mx3 192.0.2.27 2001:db8::27	STARTTLS, resets inside DATA
#		   second floor (tests/lab/dns/, built into $LAB_DIR/dns):
#		   NSD at 198.51.100.53 and [2001:db8:53::53] serving the signed
#		   lab root, example., lab.example (MX records of the first
#		   floor's domains) and the DANE domains; one sink per line of
#		   $LAB_DIR/dns/mx.tsv, named by its address (192.0.2.31 ...
#		   192.0.2.44, 2001:db8::31, 192.0.2.99 = rogue.example,
#		   192.0.2.50 ... 192.0.2.60 for MTA-STS), its mail in
#		   $LAB_DIR/mail/ADDRESS (lab_sink_dir NAME)
#		   hostile MX servers (tests/lab/py/hostile_mx.py) at 192.0.2.70
#		   ... 192.0.2.80, added and removed by scenarios/hostile.sh
#		   third floor (tests/lab/dns/https-up.sh): nginx at
#		   198.51.100.80 and [2001:db8:53::80]:443, the MTA-STS policy
#		   host of every mta-sts.DOMAIN of $LAB_DIR/dns/sts.tsv, serving
#		   $LAB_DIR/dns/https/www/mta-sts.DOMAIN/.well-known/mta-sts.txt
#		   (lab_sts_publish rewrites one), access log
#		   $LAB_DIR/dns/https/run/access.log; lab_https_stop/start
#		   TLSRPT (tests/lab/py/rptsink.py): the https: report endpoint
#		   tlsrpt.lab.example at 198.51.100.81 and [2001:db8:53::81]:443
#		   (lab-CA certificate), storing each POST in $LAB_DIR/rpt/
#		   (N.body, N.json); _smtp._tls records in $LAB_DIR/dns/tlsrpt.tsv
#
#	Every sink also appends one JSON line per connection to
#	$LAB_DIR/log/NAME.conns (mxsink.py --connlog): what each connection
#	got to (TLS, EHLO after TLS, recipients, messages stored).
#
#	TLSRPT mailboxes: Postfix delivers reports.lab.example itself (its
#	virtual(8) agent, not through mxtlsd) to Maildirs under
#	$LAB_DIR/mailbox/: tlsrpt@ -> tlsrpt/, mx-reports@ -> mx-reports/
#	(lab_mailbox NAME).  For a binary that has journal_dir: mxtlsd's
#	journal in $LAB_DIR/journal, report_* keys for mxtls-report
#	($MXTLS_REPORT, run with lab_report ARGS...), whose mail goes through
#	the lab Postfix's sendmail and whose send-once state is in
#	$LAB_DIR/report-state.
#
#	mxtlsd resolves for real (dns_resolver = recursive from the lab's
#	root hints, validating with the lab root's DS), so every scenario
#	goes through its policy code.  For MTA-STS (a binary that knows
#	sts_cache_dir): tls_ca_file = the DNS world's CA ($LAB_DIR/dns/pki/
#	ca.crt: the policy host's and the MTA-STS MX hosts' certificates),
#	sts_cache_dir = $LAB_DIR/sts, sts_negative_ttl = 2s,
#	sts_fetch_timeout = 5s.
#
#	Postfix routes (transport_maps; Postfix itself never uses DNS):
#	  tls.lab.example    -> smtp:[192.0.2.25]:25
#	  plain.lab.example  -> smtp:[192.0.2.26]:25
#	  reset.lab.example  -> smtp:[192.0.2.27]:25
#	  tls6/plain6/reset6.lab.example -> the same hosts over IPv6
#	  D.example          -> smtp:[first MX address of D]:25, for each DANE
#			       domain of the DNS world (see LAB_DANE_ROUTES)
#	  reroute*@dane-ee.example -> smtp:[192.0.2.99]:25 (rogue.example,
#			       not an MX of dane-ee.example)
#	  D.sts.example, sts-unsigned.example -> the first MX address of D,
#			       wild2@wild.sts.example -> its second MX (LAB_STS_ROUTES)
#	  mta.lab.example    -> discard:	(bounces to the lab sender vanish)
#	  reports.lab.example -> virtual:	(local Maildirs, see above)
#	  anything else      -> error:	(nothing ever leaves the lab)
#
#	Exim as a second old MTA (tests/lab/scenarios/exim.sh; lab_exim_up,
#	lab_exim, see "Exim" below): Debian's exim4-daemon-light, unpacked by
#	scripts/deps.sh exim (never installed: it conflicts with postfix), run
#	in mxl-mta with -C $LAB_DIR/exim/exim.conf, no daemon; its port-25
#	connections are redirected to mxtlsd by the same nat OUTPUT rule.
#
#	Everything the lab writes lives under one temp dir $LAB_DIR
#	(/tmp/mxlab.XXXXXX): pki/, dns/, postfix/{etc,spool,data}, mail/SINK/,
#	log/, run/, work/.  lab_down removes it unless LAB_KEEP=1.
#
#	mxtlsd runs with ASAN_OPTIONS/UBSAN_OPTIONS (unless already set in
#	the environment) that send sanitizer reports to its log
#	($LAB_DIR/log/mxtlsd.log): lab_sanitizer_lines lists them.
#	lab_mxtlsd_stop ends it with SIGTERM and waits (LeakSanitizer reports
#	at exit), lab_down calls it.
#
# ENVIRONMENT
#	MXTLSD		path of the mxtlsd binary (default: ./mxtlsd in the repo)
#	MXTLS_REPORT	path of mxtls-report (default: mxtls-report beside
#			$MXTLSD when there is one, else ./mxtls-report)
#	LAB_FLAVOR	local (default): Postfix -> iptables REDIRECT -> mxtlsd -> MX
#			direct: no mxtlsd, no iptables; Postfix talks to the MX
#			sinks itself (to develop the lab without the daemon)
#	LAB_KEEP=1	keep $LAB_DIR (logs, mail, configs) after lab_down
#	LAB_MXTLSD_USER	value of mxtlsd's `user =` (default: empty, no drop)
#	LAB_MXTLSD_HOSTNAME  its `myhostname =` (default mxtls.lab.example; it must
#			differ from Postfix's mta.lab.example, see lab_mxtlsd_config)
#	LAB_MXTLSD_DNS	value of mxtlsd's `dns_resolver =` (default: not set,
#			i.e. recursive, from the lab's hints and trust anchor)
#	LAB_MXTLSD_EXTRA  extra lines appended to the generated mxtlsd.conf
#	LAB_MXTLSD_SHUTDOWN_TIMEOUT  its `shutdown_timeout =`, seconds (default 10)
#	ASAN_OPTIONS, UBSAN_OPTIONS  replace the lab's settings for mxtlsd
#	LAB_LOCK_WAIT=N	wait up to N seconds for another lab run to end
#			(default 0: fail at once)
#	LAB_INLINE_IPTABLES=1  use the inline rules even when
#			iptables/mxtls-iptables exists
#	LAB_EXIM_BIN	the exim binary (default: the one scripts/deps.sh
#			exim unpacks, /var/cache/mxtls-lab/exim/root/usr/sbin/exim4;
#			MXTLS_LAB_CACHE moves /var/cache/mxtls-lab)
#	LAB_POSTFIX_EXTRA  extra lines appended to the lab Postfix's main.cf
#	LAB_SINK_ARGS[NAME]  (an associative array the caller fills) extra
#			mxsink.py arguments for sink NAME, e.g. --chaos-seed 3
#
# DIAGNOSTICS
#	lab_up returns non-zero after printing "FAIL: lab setup <step>: why";
#	the caller should call lab_down (the trap does).

LAB_NS_MTA=mxl-mta
LAB_NS_MX=mxl-mx
LAB_PORT=10025
LAB_MARK=0x6d78
LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_HERE/../.." && pwd)
LAB_PY=/usr/bin/python3
# the Python helpers (MX sinks, clients, checkers)
LAB_PY_DIR=$LAB_HERE/py
LAB_STATE=/tmp/mxlab.state
LAB_LOCK=/tmp/mxlab.lock
LAB_FLAVOR=${LAB_FLAVOR:-local}
# mxtlsd's shutdown_timeout (s) in the lab: SIGTERM must end it within this
LAB_MXTLSD_SHUTDOWN_TIMEOUT=${LAB_MXTLSD_SHUTDOWN_TIMEOUT:-10}
MXTLSD=${MXTLSD:-$LAB_REPO/mxtlsd}
case $MXTLSD in /*) ;; *) MXTLSD=$LAB_REPO/$MXTLSD ;; esac
if [ -z "$MXTLS_REPORT" ]; then
	MXTLS_REPORT=$(dirname "$MXTLSD")/mxtls-report
	[ -x "$MXTLS_REPORT" ] || MXTLS_REPORT=$LAB_REPO/mxtls-report
fi
case $MXTLS_REPORT in /*) ;; *) MXTLS_REPORT=$LAB_REPO/$MXTLS_REPORT ;; esac

LAB_DIR=
LAB_UP_STARTED=
LAB_DOWN_DONE=
LAB_MXTLSD_PID=
LAB_MXTLSD_STATUS=
declare -A LAB_SINK_PID=()

# Sinks: name -> "mode hostname certfile|- keyfile|- listen..."; the first
# floor's three (lab_up) and the DNS world's (lab_world_up, from mx.tsv)
declare -A LAB_SINKS=()
# Extra mxsink.py arguments per sink name (lab_sink_spawn; words split)
declare -A LAB_SINK_ARGS=()

# Postfix routes to the DANE domains (tests/lab/dns/build.sh): domain or
# user@domain -> address Postfix connects to (mxtlsd takes it from there)
LAB_DANE_ROUTES="
dane-ee.example			192.0.2.31
dane-ee-weird.example		192.0.2.32
dane-ta.example			192.0.2.33
dane-ta-wrongname.example	192.0.2.34
two-mx.example			192.0.2.35
one-bad.example			192.0.2.37
pkix-only.example		192.0.2.38
pkix-notls.example		192.0.2.39
bogus.example			192.0.2.40
unsigned.example		192.0.2.41
cname.example			192.0.2.42
malformed.example		192.0.2.43
plain.example			192.0.2.44
reroute@dane-ee.example		192.0.2.99
reroute-refuse@dane-ee.example	192.0.2.99
"

# Postfix routes to the MTA-STS domains (tests/lab/dns/build.sh): the first
# MX address of each domain, and for wild2@wild.sts.example its second MX
LAB_STS_ROUTES="
enforce.sts.example		192.0.2.50
sts-unsigned.example		192.0.2.58
wild.sts.example		192.0.2.55
wild2@wild.sts.example		192.0.2.56
badcert.sts.example		192.0.2.52
allbad.sts.example		192.0.2.52
nomatch.sts.example		192.0.2.50
notls.sts.example		192.0.2.60
testing.sts.example		192.0.2.52
cache.sts.example		192.0.2.52
dane.sts.example		192.0.2.57
reload.sts.example		192.0.2.50
html.sts.example		192.0.2.50
redirect.sts.example		192.0.2.50
notfound.sts.example		192.0.2.50
big.sts.example			192.0.2.50
syntax.sts.example		192.0.2.50
badtls.sts.example		192.0.2.50
"

lab_log() { echo "lab: $*" >&2; }

# lab_in_mta/lab_in_mx - run a command inside a namespace
lab_in_mta() { ip netns exec "$LAB_NS_MTA" "$@"; }
lab_in_mx() { ip netns exec "$LAB_NS_MX" "$@"; }

# lab_setup_fail - report a setup failure (one FAIL line) and return 1
lab_setup_fail() {
	local step=$1; shift
	echo "FAIL: lab setup $step: $*"
	return 1
}

# lab_kill_pid - TERM a pid, wait up to 5 s, then KILL it
lab_kill_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	sleep 0.1
	return 1
}

# lab_ns_exists NAME - is there a network namespace called NAME?
lab_ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$1"; }

# lab_sweep_ns - end every process that lives in namespace $1 (all of them
# were started by the lab: nothing else runs in a namespace it created)
lab_sweep_ns() {
	local ns=$1 pids pid i
	lab_ns_exists "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] || return 0
	for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
	for i in $(seq 30); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
	sleep 0.2
}

# lab_clean_stale - make leftovers of an earlier, killed run harmless
lab_clean_stale() {
	local ns old
	for ns in "$LAB_NS_MTA" "$LAB_NS_MX"; do
		if lab_ns_exists "$ns"; then
			lab_log "removing stale namespace $ns (and its processes)"
			lab_sweep_ns "$ns"
			ip netns del "$ns" 2>/dev/null
		fi
	done
	if [ -f "$LAB_STATE" ]; then
		old=$(cat "$LAB_STATE")
		case $old in
		/tmp/mxlab.*)
			if [ -d "$old" ] && [ ! -e "$old/KEEP" ]; then
				lab_log "removing stale lab dir $old"
				rm -rf -- "$old"
			fi ;;
		esac
		rm -f "$LAB_STATE"
	fi
}

# lab_net_up - namespaces, veth, addresses
lab_net_up() {
	local a
	ip netns add "$LAB_NS_MTA" || return 1
	ip netns add "$LAB_NS_MX" || return 1
	ip -n "$LAB_NS_MTA" link set lo up || return 1
	ip -n "$LAB_NS_MX" link set lo up || return 1
	# no duplicate address detection (per-namespace sysctls): addresses,
	# link-local ones included, are usable at once instead of after ~2 s
	for a in "$LAB_NS_MTA" "$LAB_NS_MX"; do
		ip netns exec "$a" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
	done
	# create the pair inside the namespaces: the root namespace never sees it
	ip -n "$LAB_NS_MTA" link add veth0 type veth peer name veth0 netns "$LAB_NS_MX" || return 1
	ip -n "$LAB_NS_MTA" addr add 192.0.2.1/24 dev veth0 || return 1
	ip -n "$LAB_NS_MTA" addr add 2001:db8::1/64 dev veth0 nodad || return 1
	# the DNS server's subnet, on-link from mxtlsd's namespace
	ip -n "$LAB_NS_MTA" addr add 198.51.100.1/24 dev veth0 || return 1
	ip -n "$LAB_NS_MTA" addr add 2001:db8:53::1/64 dev veth0 nodad || return 1
	{
		for a in 192.0.2.25 192.0.2.26 192.0.2.27; do
			echo "addr add $a/24 dev veth0"
		done
		for a in 2001:db8::25 2001:db8::26 2001:db8::27; do
			echo "addr add $a/64 dev veth0 nodad"
		done
		echo "addr add 198.51.100.53/24 dev veth0"
		echo "addr add 2001:db8:53::53/64 dev veth0 nodad"
	} | ip -n "$LAB_NS_MX" -batch - || return 1
	ip -n "$LAB_NS_MTA" link set veth0 up || return 1
	ip -n "$LAB_NS_MX" link set veth0 up || return 1
	# ::1 on lo needs no DAD; wait until the veth addresses are usable
	for a in $(seq 50); do
		if ! ip -n "$LAB_NS_MTA" -6 addr show tentative | grep -q inet6 &&
		   ! ip -n "$LAB_NS_MX" -6 addr show tentative | grep -q inet6 &&
		   ip -n "$LAB_NS_MTA" link show veth0 | grep -q 'state UP'; then
			return 0
		fi
		sleep 0.1
	done
	lab_log "veth did not come up in time"
	return 1
}

# lab_pki - a lab CA and server certificates (names NAME.lab.example)
lab_pki() {
	local d=$LAB_DIR/pki n
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.crt -days 30 -subj "/CN=mxtls lab CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign || exit 1
		for n in mx1 mx2 mx3 mxtlsd; do
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$n.key" -out "$n.csr" -subj "/CN=$n.lab.example" || exit 1
			printf '%s\n' "basicConstraints=CA:FALSE" \
				"subjectAltName=DNS:$n.lab.example" \
				"extendedKeyUsage=serverAuth,clientAuth" >"$n.ext"
			openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
				-days 30 -out "$n.crt" -extfile "$n.ext" || exit 1
		done
	) >"$LAB_DIR/log/pki.log" 2>&1
}

# lab_sink_define NAME MODE HOSTNAME CERT|- KEY|- LISTEN... - describe a sink
lab_sink_define() {
	local name=$1
	shift
	LAB_SINKS[$name]="$*"
}

# lab_sink_dir NAME - where sink NAME stores what it accepts
lab_sink_dir() { echo "$LAB_DIR/mail/$1"; }

# lab_sink_spawn NAME [MODE] - launch sink NAME (see LAB_SINKS); no waiting
lab_sink_spawn() {
	local name=$1 mode host cert key listen l
	read -r mode host cert key listen <<<"${LAB_SINKS[$name]}"
	mode=${2:-$mode}
	local args=(--name "$host" --mode "$mode" --maildir "$(lab_sink_dir "$name")"
		--pidfile "$LAB_DIR/run/$name.pid" --connlog "$LAB_DIR/log/$name.conns")
	for l in $listen; do args+=(--listen "$l"); done
	[ "$cert" != - ] && args+=(--cert "$cert" --key "$key")
	# shellcheck disable=SC2206
	[ -n "${LAB_SINK_ARGS[$name]}" ] && args+=(${LAB_SINK_ARGS[$name]})
	rm -f "$LAB_DIR/run/$name.pid"
	echo "=== $(date -u +%FT%TZ) start $name ($host) mode=$mode" >>"$LAB_DIR/log/$name.log"
	ip netns exec "$LAB_NS_MX" "$LAB_PY" "$LAB_PY_DIR/mxsink.py" "${args[@]}" \
		</dev/null >>"$LAB_DIR/log/$name.log" 2>&1 9>&- &
	LAB_SINK_PID[$name]=$!
}

# lab_sinks_wait NAME... - wait (at most 10 s) until every named sink listens
lab_sinks_wait() {
	local name i left
	for i in $(seq 200); do
		left=
		for name in "$@"; do
			[ -s "$LAB_DIR/run/$name.pid" ] && continue
			if ! kill -0 "${LAB_SINK_PID[$name]}" 2>/dev/null; then
				lab_log "sink $name exited at start-up; see $LAB_DIR/log/$name.log"
				tail -n 20 "$LAB_DIR/log/$name.log" >&2
				return 1
			fi
			left="$left $name"
		done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	lab_log "sink(s)$left did not start within 10 s"
	return 1
}

# lab_sink_start NAME [MODE] - start the sink NAME, wait until it listens
lab_sink_start() {
	lab_sink_spawn "$@" && lab_sinks_wait "$1"
}

# lab_sink_stop NAME
lab_sink_stop() {
	lab_kill_pid "${LAB_SINK_PID[$1]}"
	wait "${LAB_SINK_PID[$1]}" 2>/dev/null
	LAB_SINK_PID[$1]=
	rm -f "$LAB_DIR/run/$1.pid"
}

# lab_postfix_config - write the lab Postfix instance's configuration
lab_postfix_config() {
	local pf=$LAB_DIR/postfix
	PF_ETC=$pf/etc
	PF_SPOOL=$pf/spool
	PF_DATA=$pf/data
	mkdir -p "$PF_ETC" "$PF_SPOOL"
	chown root:root "$pf" "$PF_ETC" "$PF_SPOOL"
	chmod 755 "$pf" "$PF_ETC" "$PF_SPOOL"
	cat >"$PF_ETC/main.cf" <<EOF
# Generated by tests/lab/lib.sh: the lab's "old MTA".
compatibility_level = 3.6
queue_directory = $PF_SPOOL
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.lab.example
mydomain = lab.example
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
maillog_file_prefixes = $LAB_DIR
maillog_file = $LAB_DIR/log/maillog
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled in the lab
default_transport = error:5.1.2 not a lab destination
relay_transport = error:5.1.2 not a lab destination
transport_maps = texthash:$PF_ETC/transport
smtp_host_lookup = native
smtp_dns_support_level = disabled
lmtp_host_lookup = native
lmtp_dns_support_level = disabled
smtp_address_preference = any
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtp_tls_CAfile = $LAB_DIR/pki/ca.crt
smtp_tls_note_starttls_offer = yes
smtp_tls_session_cache_database =
smtp_connect_timeout = 10s
message_size_limit = 52428800
mailbox_size_limit = 0
notify_classes =
delay_warning_time = 0
virtual_mailbox_domains = reports.lab.example
virtual_mailbox_limit = 0
virtual_mailbox_base = $LAB_DIR/mailbox
virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_transport = virtual
maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
biff = no
append_dot_mydomain = no
readme_directory = no
EOF
	[ -n "$LAB_POSTFIX_EXTRA" ] && printf '%s\n' "$LAB_POSTFIX_EXTRA" >>"$PF_ETC/main.cf"
	cat >"$PF_ETC/master.cf" <<'EOF'
# Generated by tests/lab/lib.sh. No inet services; every service unchrooted.
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	cat >"$PF_ETC/transport" <<'EOF'
tls.lab.example		smtp:[192.0.2.25]:25
plain.lab.example	smtp:[192.0.2.26]:25
reset.lab.example	smtp:[192.0.2.27]:25
tls6.lab.example	smtp:[2001:db8::25]:25
plain6.lab.example	smtp:[2001:db8::26]:25
reset6.lab.example	smtp:[2001:db8::27]:25
mta.lab.example		discard:lab sender
EOF
	printf '%s\n' "tlsrpt@reports.lab.example	tlsrpt/" \
		"mx-reports@reports.lab.example	mx-reports/" >"$PF_ETC/vmailbox"
	mkdir -p "$LAB_DIR/mailbox"
	chown 65534:65534 "$LAB_DIR/mailbox"
	local key addr
	while read -r key addr; do
		[ -n "$key" ] && printf '%s\tsmtp:[%s]:25\n' "$key" "$addr"
	done <<<"$LAB_DANE_ROUTES$LAB_STS_ROUTES" >>"$PF_ETC/transport"
}

# lab_postfix_start - check (creates queue dirs with the right owners) and start
lab_postfix_start() {
	local i out
	out=$LAB_DIR/log/postfix-start.log
	: >"$LAB_DIR/log/maillog"
	if ! postfix -c "$PF_ETC" check >>"$out" 2>&1; then
		lab_log "postfix check failed:"; cat "$out" >&2; return 1
	fi
	if ! lab_in_mta postfix -c "$PF_ETC" start >>"$out" 2>&1 9>&-; then
		lab_log "postfix start failed:"; cat "$out" >&2; return 1
	fi
	for i in $(seq 100); do
		if postfix -c "$PF_ETC" status >/dev/null 2>&1 &&
		   [ -S "$PF_SPOOL/public/pickup" ] && [ -S "$PF_SPOOL/public/qmgr" ]; then
			return 0
		fi
		sleep 0.1
	done
	lab_log "postfix did not come up"; cat "$out" >&2
	return 1
}

# lab_postfix_stop - stop the lab instance; kill its master if it lingers
lab_postfix_stop() {
	local pid i
	[ -n "$PF_ETC" ] && [ -d "$PF_SPOOL/pid" ] || return 0
	pid=$(cat "$PF_SPOOL/pid/master.pid" 2>/dev/null | tr -d ' ')
	[ -n "$pid" ] || return 0
	lab_in_mta postfix -c "$PF_ETC" stop >>"$LAB_DIR/log/postfix-start.log" 2>&1
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	lab_log "postfix master $pid did not stop; killing it"
	kill -KILL "$pid" 2>/dev/null
}

# lab_redirect_install - the nat REDIRECT of tcp/25 to mxtlsd, in mxl-mta
lab_redirect_install() {
	local tool=$LAB_REPO/iptables/mxtls-iptables
	if [ -x "$tool" ] && [ -z "$LAB_INLINE_IPTABLES" ]; then
		echo "using $tool install --local --port $LAB_PORT --mark $LAB_MARK" >"$LAB_DIR/log/iptables.log"
		lab_in_mta "$tool" install --local --port "$LAB_PORT" --mark "$LAB_MARK" \
			>>"$LAB_DIR/log/iptables.log" 2>&1 || return 1
	else
		echo "using inline rules" >"$LAB_DIR/log/iptables.log"
		lab_redirect_inline || return 1
	fi
	{ lab_in_mta iptables-save -t nat; lab_in_mta ip6tables-save -t nat; } >>"$LAB_DIR/log/iptables.log" 2>&1
}

lab_redirect_inline() {
	local t
	for t in iptables ip6tables; do
		lab_in_mta "$t" -t nat -A OUTPUT -p tcp --dport 25 \
			-m mark ! --mark "$LAB_MARK" -j REDIRECT --to-ports "$LAB_PORT" || return 1
	done
}

# lab_mxtlsd_config - write $LAB_DIR/mxtlsd.conf (and mxtlsd.conf.base, the
# same text, which lab_mxtlsd_hup starts from)
lab_mxtlsd_config() {
	cat >"$LAB_DIR/mxtlsd.conf.base" <<EOF
# Generated by tests/lab/lib.sh
listen = 127.0.0.1:$LAB_PORT [::1]:$LAB_PORT
myhostname = ${LAB_MXTLSD_HOSTNAME:-mxtls.lab.example}
upstream_mark = $LAB_MARK
user = ${LAB_MXTLSD_USER:-}
client_timeout = 60s
upstream_timeout = 60s
upstream_connect_timeout = 10s
shutdown_timeout = ${LAB_MXTLSD_SHUTDOWN_TIMEOUT}s
offer_client_starttls = yes
message_size_limit = 0
# the lab's DNSSEC world (tests/lab/dns/build.sh)
dns_root_hints_file = $LAB_DIR/dns/root.hints
dns_trust_anchor_file = $LAB_DIR/dns/root.key
EOF
	# MTA-STS, for a binary that has it: policy cache, the lab CA (policy
	# host and MX certificates), short negative caching and fetch timeout
	if "$MXTLSD" -n 2>/dev/null | grep -q '^sts_cache_dir ='; then
		mkdir -p "$LAB_DIR/sts"
		[ -n "$LAB_MXTLSD_USER" ] && chown "$LAB_MXTLSD_USER" "$LAB_DIR/sts"
		cat >>"$LAB_DIR/mxtlsd.conf.base" <<EOF
# MTA-STS: the policy host and the MX hosts of the lab's STS domains
sts_cache_dir = $LAB_DIR/sts
tls_ca_file = $LAB_DIR/dns/pki/ca.crt
sts_negative_ttl = 2s
sts_fetch_timeout = 5s
EOF
	fi
	# TLSRPT, for a binary that has the journal: the journal and
	# mxtls-report's keys (mail through the lab Postfix, https: rua
	# verified with tls_ca_file, the DNS world's CA)
	if "$MXTLSD" -n 2>/dev/null | grep -q '^journal_dir ='; then
		mkdir -p "$LAB_DIR/journal" "$LAB_DIR/report-state"
		[ -n "$LAB_MXTLSD_USER" ] && chown "$LAB_MXTLSD_USER" "$LAB_DIR/journal"
		cat >>"$LAB_DIR/mxtlsd.conf.base" <<EOF
# TLSRPT: the journal, and what mxtls-report needs
journal_dir = $LAB_DIR/journal
report_organization = mxtls lab
report_contact = mailto:tlsrpt-admin@mta.lab.example
report_submitter = mxtls.lab.example
report_sender = tlsrpt-noreply@mta.lab.example
report_state_dir = $LAB_DIR/report-state
report_mail_command = /usr/sbin/sendmail -C $PF_ETC -t -i
report_http_timeout = 10s
EOF
	fi
	[ -n "$LAB_MXTLSD_DNS" ] && echo "dns_resolver = $LAB_MXTLSD_DNS" >>"$LAB_DIR/mxtlsd.conf.base"
	[ -n "$LAB_MXTLSD_EXTRA" ] && printf '%s\n' "$LAB_MXTLSD_EXTRA" >>"$LAB_DIR/mxtlsd.conf.base"
	cp "$LAB_DIR/mxtlsd.conf.base" "$LAB_DIR/mxtlsd.conf"
}


# Sanitizer settings for an ASan/UBSan build (ignored by a plain build):
# reports go to stderr, i.e. mxtlsd's log; the first error ends the process.
LAB_ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=23:print_summary=1:handle_abort=1}
LAB_UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}
LAB_SANITIZER_RE='AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer'

# lab_mxtlsd_sanitized - is $MXTLSD built with ASan or UBSan?
lab_mxtlsd_sanitized() {
	grep -qaE '__asan_init|__ubsan_handle' "$MXTLSD" 2>/dev/null
}

# lab_log_size FILE - its size in octets (0 when missing): an offset for
# lab_wait_grep_after and lab_grep_after
lab_log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# lab_grep_after FILE OFFSET ERE - grep -E the part of FILE after OFFSET
lab_grep_after() { tail -c +"$(($2 + 1))" "$1" 2>/dev/null | grep -E -- "$3"; }

# lab_wait_grep_after FILE OFFSET ERE TIMEOUT - like lab_wait_grep, in the
# part of FILE written after OFFSET; LAB_MATCH = the first matching line
lab_wait_grep_after() {
	local end
	end=$(( $(lab_now_ms) + $4 * 1000 ))
	LAB_MATCH=
	while :; do
		LAB_MATCH=$(lab_grep_after "$1" "$2" "$3" | head -n 1)
		[ -n "$LAB_MATCH" ] && return 0
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.1
	done
}

# lab_sanitizer_lines [OFFSET] - sanitizer report lines in mxtlsd's log
# (after OFFSET); prints them, status 0 when there are any
lab_sanitizer_lines() {
	lab_grep_after "$LAB_DIR/log/mxtlsd.log" "${1:-0}" "$LAB_SANITIZER_RE"
}

# lab_mxtlsd_start - start mxtlsd in mxl-mta, wait until it listens
lab_mxtlsd_start() {
	local i
	echo "=== $(date -u +%FT%TZ) start $MXTLSD -f -c $LAB_DIR/mxtlsd.conf" >>"$LAB_DIR/log/mxtlsd.log"
	LAB_MXTLSD_STATUS=
	ASAN_OPTIONS=$LAB_ASAN_OPTIONS UBSAN_OPTIONS=$LAB_UBSAN_OPTIONS \
		ip netns exec "$LAB_NS_MTA" "$MXTLSD" -f -c "$LAB_DIR/mxtlsd.conf" \
		</dev/null >>"$LAB_DIR/log/mxtlsd.log" 2>&1 9>&- &
	LAB_MXTLSD_PID=$!
	LAB_MXTLSD_T0=$(date +%s)
	for i in $(seq 100); do
		if ! kill -0 "$LAB_MXTLSD_PID" 2>/dev/null; then
			wait "$LAB_MXTLSD_PID"
			LAB_MXTLSD_STATUS=$?
			lab_log "mxtlsd exited with status $LAB_MXTLSD_STATUS at start-up"
			LAB_MXTLSD_PID=
			return 1
		fi
		if lab_in_mta ss -Hltn "sport = :$LAB_PORT" | grep -q 127.0.0.1 &&
		   lab_in_mta ss -Hltn "sport = :$LAB_PORT" | grep -q '\[::1\]'; then
			return 0
		fi
		sleep 0.1
	done
	lab_log "mxtlsd does not listen on 127.0.0.1:$LAB_PORT and [::1]:$LAB_PORT after 10 s"
	return 1
}

# lab_mxtlsd_wait_exit TIMEOUT - wait until mxtlsd has exited; 0 when it
# did (LAB_MXTLSD_STATUS = its exit status, LAB_MXTLSD_PID emptied)
lab_mxtlsd_wait_exit() {
	local end
	end=$(( $(lab_now_ms) + $1 * 1000 ))
	[ -n "$LAB_MXTLSD_PID" ] || return 0
	while kill -0 "$LAB_MXTLSD_PID" 2>/dev/null; do
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.05
	done
	wait "$LAB_MXTLSD_PID" 2>/dev/null
	LAB_MXTLSD_STATUS=$?
	LAB_MXTLSD_PID=
	return 0
}

# lab_mxtlsd_stop - SIGTERM, wait up to shutdown_timeout + 5 s (it drains;
# LeakSanitizer reports at exit), then SIGKILL.  Status 0 when it exited
# by itself; LAB_MXTLSD_STATUS = its exit status.
lab_mxtlsd_stop() {
	[ -n "$LAB_MXTLSD_PID" ] || return 0
	kill -TERM "$LAB_MXTLSD_PID" 2>/dev/null
	lab_mxtlsd_wait_exit $((LAB_MXTLSD_SHUTDOWN_TIMEOUT + 5)) && return 0
	lab_log "mxtlsd (pid $LAB_MXTLSD_PID) did not exit within $((LAB_MXTLSD_SHUTDOWN_TIMEOUT + 5)) s of SIGTERM; sending SIGKILL"
	kill -KILL "$LAB_MXTLSD_PID" 2>/dev/null
	wait "$LAB_MXTLSD_PID" 2>/dev/null
	LAB_MXTLSD_STATUS=$?
	LAB_MXTLSD_PID=
	return 1
}

# lab_mxtlsd_conf_write [LINE...] - mxtlsd.conf = mxtlsd.conf.base with each
# "key = value" LINE replacing the base's line for that key in place, or
# appended when the base has none (so an unknown key lands on the last line)
lab_mxtlsd_conf_write() {
	printf '%s\n' "$@" | awk '
	NR == FNR { if ($0 == "") next; k = $0; sub(/[ \t]*=.*/, "", k); want[k] = $0; order[++n] = k; next }
	{ k = $0; sub(/[ \t]*=.*/, "", k)
	  if (k in want && !(k in done)) { print want[k]; done[k] = 1; next }
	  print }
	END { for (i = 1; i <= n; i++) if (!(order[i] in done)) print want[order[i]] }
	' - "$LAB_DIR/mxtlsd.conf.base" >"$LAB_DIR/mxtlsd.conf.new" &&
	mv -f "$LAB_DIR/mxtlsd.conf.new" "$LAB_DIR/mxtlsd.conf"
}

# lab_mxtlsd_hup [LINE...] - lab_mxtlsd_conf_write LINE..., send SIGHUP and
# wait (5 s) for mxtlsd's "reloaded FILE" or "reload: ...; keeping the
# running configuration".  LAB_MATCH = that log line; status 0 only for
# "reloaded".  Without LINEs: back to the base configuration.
lab_mxtlsd_hup() {
	local off
	lab_mxtlsd_conf_write "$@" || return 1
	off=$(lab_log_size "$LAB_DIR/log/mxtlsd.log")
	kill -HUP "$LAB_MXTLSD_PID" 2>/dev/null || return 1
	lab_wait_grep_after "$LAB_DIR/log/mxtlsd.log" "$off" \
		"reloaded $LAB_DIR/mxtlsd.conf\$|reload: .*keeping the running configuration" 5 || return 1
	case $LAB_MATCH in *"reloaded "*) return 0 ;; esac
	return 1
}

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

# lab_rpt_spawn / lab_rpt_wait - the TLSRPT https: endpoint (rptsink.py,
# tlsrpt.lab.example) in mxl-mx; POSTs stored in $LAB_DIR/rpt
LAB_RPT_PID=
lab_rpt_spawn() {
	echo "=== $(date -u +%FT%TZ) start" >>"$LAB_DIR/log/rptsink.log"
	rm -f "$LAB_DIR/run/rptsink.pid"
	ip netns exec "$LAB_NS_MX" "$LAB_PY" "$LAB_PY_DIR/rptsink.py" \
		--listen "$DNS_RPT_V4:443" --listen "[$DNS_RPT_V6]:443" \
		--cert "$DNS_RPT_CERT" --key "$DNS_RPT_KEY" --dir "$LAB_DIR/rpt" \
		--pidfile "$LAB_DIR/run/rptsink.pid" </dev/null >>"$LAB_DIR/log/rptsink.log" 2>&1 9>&- &
	LAB_RPT_PID=$!
}
lab_rpt_wait() {
	local i
	for i in $(seq 200); do
		[ -s "$LAB_DIR/run/rptsink.pid" ] && return 0
		if ! kill -0 "$LAB_RPT_PID" 2>/dev/null; then
			lab_log "rptsink.py exited at start-up:"; tail -n 10 "$LAB_DIR/log/rptsink.log" >&2
			return 1
		fi
		sleep 0.05
	done
	lab_log "rptsink.py does not listen after 10 s"
	return 1
}

# lab_world_up - the DNS world built by lab_up (in the background): its
# sink addresses on mxl-mx, NSD, nginx, one sink per line of mx.tsv (spawned)
LAB_DNS_BUILD_PID=
LAB_WORLD_SINKS=
lab_world_up() {
	local ip host cert key how st l
	wait "$LAB_DNS_BUILD_PID"
	st=$?
	LAB_DNS_BUILD_PID=
	if [ "$st" != 0 ]; then
		lab_log "tests/lab/dns/build.sh failed:"; tail -n 5 "$LAB_DIR/log/dns-build.log" >&2
		return 1
	fi
	while IFS=$'\t' read -r ip host cert key how; do
		case $ip in
		*:*) echo "addr add $ip/64 dev veth0 nodad" ;;
		*) echo "addr add $ip/24 dev veth0" ;;
		esac
	done <"$LAB_DIR/dns/mx.tsv" | ip -n "$LAB_NS_MX" -batch - || return 1
	# the policy host's addresses (on-link from mxl-mta, as the DNS server's)
	. "$LAB_DIR/dns/env.sh" || return 1
	{
		echo "addr add $DNS_HTTPS_V4/24 dev veth0"
		echo "addr add $DNS_HTTPS_V6/64 dev veth0 nodad"
		echo "addr add $DNS_RPT_V4/24 dev veth0"
		echo "addr add $DNS_RPT_V6/64 dev veth0 nodad"
	} | ip -n "$LAB_NS_MX" -batch - || return 1
	lab_rpt_spawn
	if ! "$LAB_HERE/dns/up.sh" "$LAB_DIR/dns" "$LAB_NS_MX" >"$LAB_DIR/log/dns-up.log" 2>&1 9>&-; then
		lab_log "tests/lab/dns/up.sh failed:"; tail -n 5 "$LAB_DIR/log/dns-up.log" >&2
		return 1
	fi
	lab_https_start || return 1
	lab_rpt_wait || return 1
	LAB_WORLD_SINKS=
	while IFS=$'\t' read -r ip host cert key how; do
		case $ip in *:*) l="[$ip]:25" ;; *) l="$ip:25" ;; esac
		[ "$how" = starttls ] || { cert=- key=-; }
		lab_sink_define "$ip" normal "$host" "$cert" "$key" "$l"
		lab_sink_spawn "$ip"
		LAB_WORLD_SINKS="$LAB_WORLD_SINKS $ip"
	done <"$LAB_DIR/dns/mx.tsv"
	return 0
}

# lab_up - build the whole world
lab_up() {
	local n p
	exec 9>"$LAB_LOCK"
	if [ "${LAB_LOCK_WAIT:-0}" -gt 0 ] && ! flock -n 9; then
		lab_log "waiting (at most $LAB_LOCK_WAIT s) for another lab run to release $LAB_LOCK"
		flock -w "$LAB_LOCK_WAIT" 9
	fi
	if ! flock -n 9; then
		lab_setup_fail lock "another lab run holds $LAB_LOCK (its world is left alone)"; return 1
	fi
	LAB_UP_STARTED=1	# from here on, lab_down owns the namespaces
	LAB_UP_T0=$(date +%s)	# nothing of this run happened before (TLSRPT counts)
	lab_clean_stale
	if [ "$LAB_FLAVOR" = local ]; then
		[ -x "$MXTLSD" ] || { lab_setup_fail mxtlsd "no executable $MXTLSD (run make, set MXTLSD=, or LAB_FLAVOR=direct)"; return 1; }
	elif [ "$LAB_FLAVOR" != direct ]; then
		lab_setup_fail flavor "unknown LAB_FLAVOR=$LAB_FLAVOR (local or direct)"; return 1
	fi
	LAB_DIR=$(mktemp -d /tmp/mxlab.XXXXXX) || { lab_setup_fail tmpdir "mktemp failed"; return 1; }
	chmod 755 "$LAB_DIR"
	echo "$LAB_DIR" >"$LAB_STATE"
	[ -n "$LAB_KEEP" ] && touch "$LAB_DIR/KEEP"
	mkdir -p "$LAB_DIR/log" "$LAB_DIR/run" "$LAB_DIR/mail" "$LAB_DIR/work"
	# the DNS world (~2 s of key generation and signing) builds meanwhile
	"$LAB_HERE/dns/build.sh" "$LAB_DIR/dns" >"$LAB_DIR/log/dns-build.log" 2>&1 </dev/null 9>&- &
	LAB_DNS_BUILD_PID=$!
	lab_net_up || { lab_setup_fail network "namespaces/veth failed"; return 1; }
	lab_pki || { lab_setup_fail pki "openssl failed: $(tail -n 3 "$LAB_DIR/log/pki.log")"; return 1; }
	p=$LAB_DIR/pki
	lab_sink_define mx1 normal mx1.lab.example "$p/mx1.crt" "$p/mx1.key" 192.0.2.25:25 '[2001:db8::25]:25'
	lab_sink_define mx2 normal mx2.lab.example - - 192.0.2.26:25 '[2001:db8::26]:25'
	lab_sink_define mx3 reset-in-data mx3.lab.example "$p/mx3.crt" "$p/mx3.key" 192.0.2.27:25 '[2001:db8::27]:25'
	for n in mx1 mx2 mx3; do lab_sink_spawn "$n"; done
	# Postfix needs no DNS: start it while the world is still being built
	lab_postfix_config
	lab_postfix_start || { lab_setup_fail postfix "see $LAB_DIR/log/postfix-start.log"; return 1; }
	lab_world_up || { lab_setup_fail dns "the DNS world did not come up (see $LAB_DIR/log/dns-*.log)"; return 1; }
	lab_sinks_wait mx1 mx2 mx3 $LAB_WORLD_SINKS || { lab_setup_fail sinks "mxsink did not start"; return 1; }
	if [ "$LAB_FLAVOR" = local ]; then
		lab_mxtlsd_config
		if ! "$MXTLSD" -n -c "$LAB_DIR/mxtlsd.conf" >"$LAB_DIR/log/mxtlsd-n.log" 2>&1; then
			lab_setup_fail mxtlsd-config "mxtlsd -n -c mxtlsd.conf failed: $(tail -n 3 "$LAB_DIR/log/mxtlsd-n.log")"
			return 1
		fi
		lab_redirect_install || { lab_setup_fail iptables "$(tail -n 5 "$LAB_DIR/log/iptables.log")"; return 1; }
		lab_mxtlsd_start || { lab_setup_fail mxtlsd "$(tail -n 5 "$LAB_DIR/log/mxtlsd.log")"; return 1; }
	fi
	return 0
}

# lab_down - stop every process, remove namespaces and (unless LAB_KEEP) files
lab_down() {
	local n
	[ -n "$LAB_UP_STARTED" ] || return 0
	[ -z "$LAB_DOWN_DONE" ] || return 0
	LAB_DOWN_DONE=1
	[ -n "$LAB_FG_PID" ] && lab_kill_pid "$LAB_FG_PID"
	if [ -n "$LAB_DNS_BUILD_PID" ]; then
		lab_kill_pid "$LAB_DNS_BUILD_PID"
		wait "$LAB_DNS_BUILD_PID" 2>/dev/null
	fi
	# NSD takes ~1.5 s to stop: meanwhile stop the rest
	local nsd_down=
	if [ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/dns/run/nsd.pid" ]; then
		"$LAB_HERE/dns/down.sh" "$LAB_DIR/dns" >/dev/null 2>&1 9>&- &
		nsd_down=$!
	fi
	lab_postfix_stop
	lab_mxtlsd_stop
	[ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/dns/https/run/nginx.pid" ] && lab_https_stop
	[ -n "$LAB_RPT_PID" ] && kill -TERM "$LAB_RPT_PID" 2>/dev/null
	# all at once: TERM every sink, then collect them
	for n in "${!LAB_SINK_PID[@]}"; do
		[ -n "${LAB_SINK_PID[$n]}" ] && kill -TERM "${LAB_SINK_PID[$n]}" 2>/dev/null
	done
	for n in "${!LAB_SINK_PID[@]}"; do
		[ -n "${LAB_SINK_PID[$n]}" ] && lab_sink_stop "$n"
	done
	[ -n "$LAB_RPT_PID" ] && { wait "$LAB_RPT_PID" 2>/dev/null; LAB_RPT_PID=; }
	[ -n "$nsd_down" ] && wait "$nsd_down"
	lab_sweep_ns "$LAB_NS_MTA"
	lab_sweep_ns "$LAB_NS_MX"
	ip netns del "$LAB_NS_MTA" 2>/dev/null
	ip netns del "$LAB_NS_MX" 2>/dev/null
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		if [ -n "$LAB_KEEP" ]; then
			lab_log "kept $LAB_DIR (logs in $LAB_DIR/log)"
		else
			rm -rf -- "$LAB_DIR"
		fi
	fi
	rm -f "$LAB_STATE"
	flock -u 9 2>/dev/null
	return 0
}

# ---- helpers for scenarios ------------------------------------------------

# lab_submit FROM RCPT FILE - submit with the lab instance's sendmail
lab_submit() {
	lab_in_mta /usr/sbin/sendmail -C "$PF_ETC" -i -f "$1" -- "$2" <"$3"
}

# lab_postqueue ARGS... - postqueue of the lab instance
lab_postqueue() {
	lab_in_mta /usr/sbin/postqueue -c "$PF_ETC" "$@"
}

# lab_qid MSGID - the Postfix queue id of the message with Message-ID <MSGID>
lab_qid() {
	grep -F "message-id=<$1>" "$LAB_DIR/log/maillog" 2>/dev/null | tail -n 1 |
		sed -n 's/.*: \([0-9A-F]\{6,\}\): message-id=.*/\1/p'
}

# The lab_wait_* helpers poll with short child commands and set a variable
# instead of printing, so that they run in the main shell (not in $(...)),
# where the run's TERM/INT trap fires within a fraction of a second.

# lab_now_ms - milliseconds since the epoch
lab_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# lab_wait_grep FILE ERE TIMEOUT - poll FILE for ERE; LAB_MATCH = first match
lab_wait_grep() {
	local file=$1 re=$2 end
	end=$(( $(lab_now_ms) + $3 * 1000 ))
	LAB_MATCH=
	while :; do
		LAB_MATCH=$(grep -E -m 1 -- "$re" "$file" 2>/dev/null) && return 0
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.1
	done
}

# lab_wait_qid MSGID TIMEOUT - LAB_QID = Postfix queue id of Message-ID MSGID
lab_wait_qid() {
	local end
	end=$(( $(lab_now_ms) + $2 * 1000 ))
	while :; do
		LAB_QID=$(lab_qid "$1")
		[ -n "$LAB_QID" ] && return 0
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.1
	done
}

# lab_wait_queue_empty RCPT TIMEOUT - wait until RCPT is not in the queue
lab_wait_queue_empty() {
	local end
	end=$(( $(lab_now_ms) + $2 * 1000 ))
	while :; do
		lab_postqueue -j 2>/dev/null | "$LAB_PY" "$LAB_PY_DIR/labtool.py" queue-json |
			grep -qiF " $1 " || return 0
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.2
	done
}

# lab_wait_deferred RCPT - wait (up to 10 s) until <RCPT> sits in Postfix's
# deferred queue (qmgr moves it there just after smtp logs the status);
# LAB_QLINE = its `postqueue -j' line (labtool queue-json), LAB_Q = its
# queue, LAB_QREASON = the delay reason; 0 when it is deferred
lab_wait_deferred() {
	local i
	for i in $(seq 50); do
		LAB_QLINE=$(lab_postqueue -j | lab_tool queue-json | grep -iF " $1 ")
		LAB_Q=$(echo "$LAB_QLINE" | awk '{print $2}')
		LAB_QREASON=$(echo "$LAB_QLINE" | cut -d' ' -f4-)
		[ "$LAB_Q" = deferred ] && return 0
		sleep 0.2
	done
	return 1
}

# lab_tool ARGS... - tests/lab/py/labtool.py
lab_tool() { "$LAB_PY" "$LAB_PY_DIR/labtool.py" "$@"; }

# lab_where RCPT - "SINK N" for each stored copy of a message to RCPT, over
# every sink's store (nothing when no sink has one)
lab_where() { lab_tool where "$LAB_DIR/mail" "$1"; }

# lab_wait_msg MAILDIR RCPT TIMEOUT [COUNT] - poll the sink's store until
# COUNT (default 1) messages list RCPT.  LAB_MSGS = their numbers (one a
# line), LAB_MSG = the first one (empty when none).
lab_wait_msg() {
	local dir=$1 rcpt=$2 want=${4:-1} end
	end=$(( $(lab_now_ms) + $3 * 1000 ))
	while :; do
		LAB_MSGS=$(lab_tool find-msg "$dir" "$rcpt")
		LAB_MSG=${LAB_MSGS%%$'\n'*}
		[ -n "$LAB_MSGS" ] && [ "$(echo "$LAB_MSGS" | wc -l)" -ge "$want" ] && return 0
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.2
	done
}

# ---- MTA-STS (the third floor) ---------------------------------------------

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

# lab_fg OUTFILE CMD... - run CMD with stdout+stderr to OUTFILE, in a way
# that lets the run's TERM/INT trap interrupt it (lab_down ends CMD)
LAB_FG_PID=
lab_fg() {
	local out=$1 st
	shift
	"$@" >"$out" 2>&1 </dev/null 9>&- &
	LAB_FG_PID=$!
	wait "$LAB_FG_PID"
	st=$?
	LAB_FG_PID=
	return $st
}

# ---- TLSRPT -------------------------------------------------------------

# lab_report ARGS... - mxtls-report -c mxtlsd.conf ARGS... in mxl-mta (the
# lab's resolver, report endpoint and Postfix are reachable from there)
lab_report() {
	lab_in_mta "$MXTLS_REPORT" -c "$LAB_DIR/mxtlsd.conf" "$@"
}

# lab_mailbox NAME - the Maildir of NAME@reports.lab.example
lab_mailbox() { echo "$LAB_DIR/mailbox/$1"; }

# lab_journal_day [EPOCH] - the journal file of the UTC day of EPOCH (now)
lab_journal_day() {
	echo "$LAB_DIR/journal/$(date -u -d "@${1:-$(date +%s)}" +%F).jsonl"
}

# ---- Exim as the old MTA (tests/lab/scenarios/exim.sh) ---------------------
#
# Debian's exim4-daemon-light conflicts with postfix, so it is never
# installed: scripts/deps.sh exim downloads its .deb and unpacks it (once,
# when missing) under /var/cache/mxtls-lab/exim/root.  It runs in mxl-mta as
# root with its own configuration (-C $LAB_DIR/exim/exim.conf), spool
# ($LAB_DIR/exim/spool) and logs ($LAB_DIR/exim/log/mainlog), and no daemon:
# one process per submission (-odi: delivered before it returns) or queue
# run (-qff).  Its connections to port 25 leave mxl-mta like Postfix's, so
# the nat OUTPUT rule hands them to mxtlsd.
#
# Debian's binary has its user, Debian-exim, compiled in and looks it up
# before it reads any configuration.  Where the host has no such user
# (postfix is the host's MTA), each exim process sees a private copy of
# /etc/passwd and /etc/group (bind mounts in a mount namespace of its own,
# unshare -m) that adds Debian-exim with the uid and gid of nobody/nogroup;
# the host's files are not changed.  Spool and log directories belong to
# that user (remote deliveries run as it; root is in Debian's
# FIXED_NEVER_USERS).  The delivery that `exim -odi` starts is a re-executed
# exim (exim_path) called by that user with -C, which Exim allows only
# without root: its paniclog says "exim user lost privilege for using -C
# option", and the delivery runs as Debian-exim, as a remote delivery does
# anyway (Debian's trusted-configuration list, /etc/exim4/trusted_configs,
# is not there to name the lab's file).
#
# lab_exim_up ROUTE...	Exim ready: unpacked (scripts/deps.sh exim when
#			missing), $LAB_EXIM=$LAB_DIR/exim, exim.conf routing
#			each ROUTE "DOMAIN ADDRESS" (manualroute, no DNS: Exim
#			never resolves) to ADDRESS port 25, the lab sender's
#			domain mta.lab.example to :blackhole: (bounces vanish,
#			but stay in the log), everything else unrouteable;
#			retry rule F,1d,1m (exim -qff ignores it anyway),
#			delay warnings off.  Status 0 when `exim -bV` accepts it.
# lab_exim ARGS...	that exim (-C exim.conf) in mxl-mta
# lab_exim_log		Exim's main log
LAB_EXIM_BIN=${LAB_EXIM_BIN:-${MXTLS_LAB_CACHE:-/var/cache/mxtls-lab}/exim/root/usr/sbin/exim4}
LAB_EXIM=
LAB_EXIM_NSS=

lab_exim_log() { echo "$LAB_EXIM/log/mainlog"; }

lab_exim() {
	if [ -n "$LAB_EXIM_NSS" ]; then
		lab_in_mta unshare --mount --propagation private /bin/sh -c \
			'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && exec "$@"' \
			sh "$LAB_EXIM/passwd" "$LAB_EXIM/group" \
			"$LAB_EXIM_BIN" -C "$LAB_EXIM/exim.conf" "$@" 9>&-
	else
		lab_in_mta "$LAB_EXIM_BIN" -C "$LAB_EXIM/exim.conf" "$@" 9>&-
	fi
}

lab_exim_up() {
	local d=$LAB_DIR/exim u uid gid r dom addr doms="" routes=""
	if ! sh "$LAB_REPO/scripts/deps.sh" exim >>"$LAB_DIR/log/exim-deps.log" 2>&1 </dev/null 9>&-; then
		lab_log "scripts/deps.sh exim failed:"; tail -n 5 "$LAB_DIR/log/exim-deps.log" >&2
		return 1
	fi
	mkdir -p "$d/spool" "$d/log"
	if u=$(getent passwd Debian-exim); then
		LAB_EXIM_NSS=
		uid=$(echo "$u" | cut -d: -f3)
		gid=$(echo "$u" | cut -d: -f4)
	else
		LAB_EXIM_NSS=1
		uid=$(id -u nobody) gid=$(getent group nogroup | cut -d: -f3)
		[ -n "$uid" ] && [ -n "$gid" ] || { lab_log "no user nobody / group nogroup"; return 1; }
		{ cat /etc/passwd; echo "Debian-exim:x:$uid:$gid:lab exim:/nonexistent:/usr/sbin/nologin"; } >"$d/passwd"
		{ cat /etc/group; echo "Debian-exim:x:$gid:"; } >"$d/group"
	fi
	chown "$uid:$gid" "$d/spool" "$d/log"
	for r in "$@"; do
		read -r dom addr <<<"$r"
		doms="$doms${doms:+ : }$dom"
		routes="$routes${routes:+ ; }$dom $addr"
	done
	cat >"$d/exim.conf" <<CONF
# Generated by tests/lab/lib.sh (lab_exim_up): Exim as the lab's old MTA.
primary_hostname = mta.lab.example
qualify_domain = mta.lab.example
# the unpacked binary, which re-executes itself to deliver
exim_path = $LAB_EXIM_BIN
spool_directory = $d/spool
log_file_path = $d/log/%slog
keep_environment =
host_lookup =
rfc1413_hosts =
disable_ipv6 = true
# no delay warnings: any message from <> in the log is a bounce
delay_warning = 0s
log_selector = +millisec +deliver_time +received_recipients +smtp_confirmation \\
	+outgoing_port +queue_time +delivery_size

begin routers

# every lab domain to its one address; Exim groups the recipients of
# domains that share a host into one transaction (multi_domain)
lab_routes:
  driver = manualroute
  domains = $doms
  route_list = $routes
  transport = remote_smtp
  no_more

lab_sender:
  driver = redirect
  domains = mta.lab.example
  data = :blackhole:

begin transports

remote_smtp:
  driver = smtp
  hosts_try_dane =
  hosts_try_fastopen =

begin retry

*	*	F,1d,1m
CONF
	LAB_EXIM=$d
	if ! lab_exim -bV >"$LAB_DIR/log/exim-bV.log" 2>&1; then
		lab_log "exim -bV -C $d/exim.conf failed:"; tail -n 5 "$LAB_DIR/log/exim-bV.log" >&2
		LAB_EXIM=
		return 1
	fi
	return 0
}
