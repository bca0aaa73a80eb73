# lib.sh - the lab world: network namespaces, MX sinks, a real Postfix, mxtlsd.
#
# SYNOPSIS
#	. tests/lab/lib.sh
#	lab_up		# build the world; on failure prints "FAIL: lab setup ..."
#	...		# lab_submit, lab_wait_maillog, lab_postqueue, lab_sink_*
#	lab_down	# stop everything, remove namespaces and temp files
#
# DESCRIPTION
#	The entry point that the scenarios (tests/lab/run), demo, soak and
#	crash_test.sh source: the map below, the settings, lab_up,
#	lab_down and the helpers every part uses (lab_log, lab_kill_pid,
#	lab_wait_grep*, lab_fg, lab_tool).  Each part of the world has a file
#	of its own in tests/lab/lib/, sourced from here:
#	  net.sh	namespaces, the veth pair, the port-25 redirect
#	  dns.sh	the DNS world: NSD, its addresses, its MX sinks
#	  sinks.sh	MX sinks, the TLSRPT endpoint, the first floor's PKI
#	  postfix.sh	the lab Postfix: configuration, routes, queue
#	  exim.sh	Exim as a second old MTA
#	  policy.sh	the MTA-STS policy host and its records
#	  mxtlsd.sh	mxtlsd: configuration, start, stop, reload; mxtls-report
#
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
#	LAB_FLAVOR=gateway (tests/lab/gateway_test.sh) adds a third namespace
#	and moves Postfix there; mxl-mta is then the gateway:
#
#	  mxl-gmta 203.0.113.10/24		Postfix (the old MTA), default
#		   2001:db8:203::10/64		routes via the gateway
#	  mxl-mta  veth1 203.0.113.1/24 2001:db8:203::1/64 towards mxl-gmta,
#		   veth0 as above towards mxl-mx; forwarding on; mxtlsd on
#		   0.0.0.0:10025 [::]:10025 (REDIRECT) and tproxy:0.0.0.0:10026
#		   tproxy:[::]:10026; iptables/mxtls-iptables install --gateway
#		   --iface veth1 (the test changes the mode)
#	  mxl-mx   as above, with routes to 203.0.113.0/24 and
#		   2001:db8:203::/64 via the gateway (192.0.2.1, 2001:db8::1)
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
#	Postfix routes (transport_maps; Postfix uses DNS only for smtpdns:):
#	  share1.sts.example, share2.sts.example, slow.sts.example -> smtpdns:
#			       (MX lookup through /etc/netns/NS/resolv.conf = the
#			       lab NSD: the DNS watcher sees Postfix's own lookups)
#	  tls.lab.example    -> smtp:[192.0.2.25]:25
#	  plain.lab.example  -> smtp:[192.0.2.26]:25
#	  reset.lab.example  -> smtp:[192.0.2.27]:25
#	  tls6/plain6/reset6.lab.example -> the same hosts over IPv6
#	  D.example          -> smtp:[first MX address of D]:25, for each DANE
#			       domain of the DNS world (see LAB_DANE_ROUTES)
#	  reroute*@dane-ee.example -> smtp:[192.0.2.99]:25 (rogue.example,
#			       not an MX of dane-ee.example)
#	  skip6@dane-ta.example -> smtp:[2001:db8::99]:25 (no MX of it, whose
#			       one MX has no IPv6 address: gateway_test.sh)
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
#			gateway: Postfix in mxl-gmta -> the gateway mxl-mta
#			(forwarding, REDIRECT or TPROXY) -> mxtlsd -> MX
#	LAB_KEEP=1	keep $LAB_DIR (logs, mail, configs) after lab_down
#	LAB_MXTLSD_USER	value of mxtlsd's `user =` (default: empty, no drop)
#	LAB_MXTLSD_HOSTNAME  its `myhostname =` (default mxtls.lab.example; it must
#			differ from Postfix's mta.lab.example, see lab_mxtlsd_config)
#	LAB_MXTLSD_WORKERS  value of mxtlsd's `workers =` (default 1; the
#			workers scenario runs 2)
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
LAB_NS_GMTA=mxl-gmta		# LAB_FLAVOR=gateway: the old MTA's host
LAB_NS_V4=198.51.100.53		# the lab NSD (tests/lab/dns/build.sh NS_V4)
LAB_PORT=10025
LAB_TPROXY_PORT=10026		# LAB_FLAVOR=gateway: mxtlsd's tproxy: listeners
# LAB_FLAVOR=gateway: the old MTA's addresses, and the gateway's towards it
LAB_GMTA4=203.0.113.10 LAB_GMTA6=2001:db8:203::10
LAB_GW4=203.0.113.1 LAB_GW6=2001:db8:203::1
LAB_MARK=0x6d78
LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_HERE/../.." && pwd)
LAB_PY=/usr/bin/python3
# the Python helpers (MX sinks, clients, checkers)
LAB_PY_DIR=$LAB_HERE/py
LAB_STATE=/tmp/mxlab.state
. "$LAB_HERE/lock.sh"
LAB_FLAVOR=${LAB_FLAVOR:-local}
# the namespace of the lab Postfix (lab_in_pf)
LAB_NS_PF=$LAB_NS_MTA
[ "$LAB_FLAVOR" != gateway ] || LAB_NS_PF=$LAB_NS_GMTA
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

# the parts of the world, one file each (tests/lab/lib/)
# shellcheck source=lib/sinks.sh
. "$LAB_HERE/lib/sinks.sh"
# shellcheck source=lib/postfix.sh
. "$LAB_HERE/lib/postfix.sh"
# shellcheck source=lib/exim.sh
. "$LAB_HERE/lib/exim.sh"
# shellcheck source=lib/net.sh
. "$LAB_HERE/lib/net.sh"
# shellcheck source=lib/dns.sh
. "$LAB_HERE/lib/dns.sh"
# shellcheck source=lib/policy.sh
. "$LAB_HERE/lib/policy.sh"
# shellcheck source=lib/mxtlsd.sh
. "$LAB_HERE/lib/mxtlsd.sh"

lab_log() { echo "lab: $*" >&2; }

# lab_in_mta/lab_in_mx - run a command inside a namespace; lab_in_pf in
# the lab Postfix's (mxl-mta, or mxl-gmta for LAB_FLAVOR=gateway)
lab_in_mta() { ip netns exec "$LAB_NS_MTA" "$@"; }
lab_in_mx() { ip netns exec "$LAB_NS_MX" "$@"; }
lab_in_pf() { ip netns exec "$LAB_NS_PF" "$@"; }

# lab_has_mxtlsd - does this flavor run mxtlsd (local, gateway)?
lab_has_mxtlsd() { [ "$LAB_FLAVOR" = local ] || [ "$LAB_FLAVOR" = gateway ]; }

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

# lab_up - build the whole world
lab_up() {
	local n p
	if ! lab_lock lab; then
		lab_setup_fail lock "another lab run holds $LAB_LOCK (its world is left alone)"; return 1
	fi
	LAB_UP_STARTED=1	# from here on, lab_down owns the namespaces
	LAB_UP_T0=$(date +%s)	# nothing of this run happened before (TLSRPT counts)
	lab_clean_stale
	if lab_has_mxtlsd; then
		[ -x "$MXTLSD" ] || { lab_setup_fail mxtlsd "no executable $MXTLSD (run make, set MXTLSD=, or LAB_FLAVOR=direct)"; return 1; }
	elif [ "$LAB_FLAVOR" != direct ]; then
		lab_setup_fail flavor "unknown LAB_FLAVOR=$LAB_FLAVOR (local, gateway or direct)"; return 1
	fi
	LAB_NS_PF=$LAB_NS_MTA
	[ "$LAB_FLAVOR" != gateway ] || LAB_NS_PF=$LAB_NS_GMTA
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
	# scenarios/conncache.sh: mx1 hangs up on idle clients while this file is there
	LAB_SINK_ARGS[mx1]="--idle-close-file $LAB_DIR/run/mx1.idle-close"
	rm -f "$LAB_DIR/run/mx1.idle-close"
	for n in mx1 mx2 mx3; do lab_sink_spawn "$n"; done
	# Postfix needs no DNS: start it while the world is still being built
	lab_postfix_config
	lab_postfix_start || { lab_setup_fail postfix "see $LAB_DIR/log/postfix-start.log"; return 1; }
	lab_world_up || { lab_setup_fail dns "the DNS world did not come up (see $LAB_DIR/log/dns-*.log)"; return 1; }
	lab_sinks_wait mx1 mx2 mx3 $LAB_WORLD_SINKS || { lab_setup_fail sinks "mxsink did not start"; return 1; }
	if lab_has_mxtlsd; then
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
	lab_sweep_ns "$LAB_NS_GMTA"
	ip netns del "$LAB_NS_MTA" 2>/dev/null
	ip netns del "$LAB_NS_MX" 2>/dev/null
	ip netns del "$LAB_NS_GMTA" 2>/dev/null
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		if [ -n "$LAB_KEEP" ]; then
			lab_log "kept $LAB_DIR (logs in $LAB_DIR/log)"
		else
			rm -rf -- "$LAB_DIR"
		fi
	fi
	rm -f "$LAB_STATE"
	lab_pf_resolv_remove
	flock -u 9 2>/dev/null
	return 0
}

# The lab_wait_* helpers poll with short child commands and set a variable
# instead of printing, so that they run in the main shell (not in $(...)),
# where the run's TERM/INT trap fires within a fraction of a second.

# lab_now_ms - milliseconds since the epoch
lab_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# lab_next_second - sleep until just after the next whole second
lab_next_second() {
	sleep "$(date +%s.%N | awk '{ printf "%.3f", int($1) + 1.002 - $1 }')"
}

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

# lab_tool ARGS... - tests/lab/py/labtool.py
lab_tool() { "$LAB_PY" "$LAB_PY_DIR/labtool.py" "$@"; }

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

