# report.sh - TLSRPT end to end: mxtlsd's journal -> mxtls-report build /
# summary / send -> the lab's report mailboxes and HTTPS endpoint.
#
# Runs after the DANE and MTA-STS scenarios (and tls-required-no).  First
# one more message to each domain that publishes a TLSRPT record
# (tests/lab/dns/build.sh TLSRPT_TABLE), so that the scenario has
# something to report when run alone.  Then:
#   build      `mxtls-report build --day D --out DIR` for each UTC day of
#              this run (two when it crossed midnight) exits 0
#   report-*   tests/lab/py/tlsrpt_check.py: one report per policy domain (and
#              one for mx1.dane-ee.example, the MX host with its own
#              record) whose name, JSON fields (RFC 8460 4) and counts -
#              successful and failed sessions, failures by result type and
#              receiving IP - equal what the lab counted itself: the MX
#              sinks' per-connection logs (*.conns), Postfix's maillog for
#              the delivery attempts that no sink sees (bogus.example,
#              nomatch.sts.example's first MX); never the journal
#   summary    `mxtls-report summary --day D` exits 0 and names the domains
#   send       `mxtls-report send --day D` exits 0; tlsrpt_delivered.py:
#              each mailto: rua got one multipart/report; report-type=tlsrpt
#              message (headers, Subject, TLS-Required: No, the gzip
#              attachment equal to the built report) in the lab mailbox, each
#              https: rua one POST (application/tlsrpt+gzip, the same
#              report); nothing for domains without a record
#   send-again a second send exits 0 and delivers nothing more
#
# Whatever ran before: the scenarios in REPORT_UNCOUNTED make attempts that
# tlsrpt_check.py cannot count from the sinks (Exim's one connection for
# two domains, the hostile MX servers that keep no *.conns, signals'
# sessions cut by SIGTERM), or whose records go to a journal of their own
# (journal-required).  tests/lab/run starts and ends each of them on
# a second's edge and writes its seconds to $LAB_DIR/work/report-windows;
# when one ran before report, report builds, summarizes and sends from a
# copy of the journal without the records of those seconds (labtool.py
# journal-drop; mxtls-report -c a copy of mxtlsd.conf naming it), and
# tlsrpt_check.py leaves out the same seconds (--exclude).  In run's
# default order none of them comes before report: the journal itself.
REPORT_UNCOUNTED="check workers journal-required exim-mixed-failing-first exim-mixed-failing-second
	hostile-smuggle hostile-mx hostile-flood hostile-trickle metrics signals
	table-dane-only table-encrypt table-none table-fingerprint table-secure
	table-literal table-reload report-only require-tls"

lab_report_only() {
	[ "$LAB_FLAVOR" = local ] || { lab_log "$SCEN: needs mxtlsd"; return 1; }
	if [ ! -x "$MXTLS_REPORT" ]; then
		fail mxtls-report "no executable $MXTLS_REPORT (set MXTLS_REPORT=)"
		return 1
	fi
	if ! grep -q '^journal_dir = ' "$LAB_DIR/mxtlsd.conf"; then
		fail journal "$MXTLSD has no journal_dir key: no journal to report from"
		return 1
	fi
	return 0
}

# lab_report_py LOG CMD... - run a python checker, turn its "PASS NAME" /
# "FAIL NAME: why" lines into this scenario's checks (prefix $RPT_PREFIX)
# lab_report_uncounted - when scenarios of REPORT_UNCOUNTED ran before:
# LAB_REPORT_CONF = a copy of mxtlsd.conf whose journal_dir is a copy of
# the journal without their records; RPT_EXCLUDE = tlsrpt_check.py's
# --exclude for the same seconds
lab_report_uncounted() {
	local w=$LAB_DIR/work/report-windows j=$LAB_DIR/work/report-journal n
	LAB_REPORT_CONF='' RPT_EXCLUDE=()
	[ -s "$w" ] || return 0
	rm -rf "$j"
	n=$(lab_tool journal-drop "$LAB_DIR/journal" "$j" "$w") || {
		fail journal-copy "labtool.py journal-drop failed"
		return 1
	}
	sed "s|^journal_dir = .*|journal_dir = $j|" "$LAB_DIR/mxtlsd.conf" >"$LAB_DIR/work/report.conf"
	LAB_REPORT_CONF=$LAB_DIR/work/report.conf
	RPT_EXCLUDE=(--exclude "$w")
	lab_log "$SCEN: left out $n journal records of $(cut -d' ' -f1 "$w" | tr '\n' ' ')(uncounted scenarios run before)"
}

lab_report_py() {
	local log=$1 l n st
	shift
	"$@" >"$log" 2>&1
	st=$?
	while IFS= read -r l; do
		case $l in
		"PASS "*) pass "$RPT_PREFIX${l#PASS }" ;;
		"FAIL "*) n=${l#FAIL }; fail "$RPT_PREFIX${n%%:*}" "${n#*: }" ;;
		esac
	done <"$log"
	if [ "$st" != 0 ] && ! grep -q '^FAIL ' "$log"; then
		fail "${RPT_PREFIX}checker" "$* exited $st: $(tail -n 3 "$log")"
	fi
}

scenario_report() {
	local out=$LAB_DIR/work/reports days d day st l want n before after
	lab_report_only || return 0
	SCEN_SINKS="192.0.2.31 192.0.2.34 192.0.2.50 192.0.2.51 192.0.2.52 mx1"

	# traffic for every domain with a TLSRPT record
	CK=-dane-ee; lab_send dane-ee.example && lab_expect_sent 192.0.2.31
	CK=-enforce; lab_send enforce.sts.example && lab_expect_sent 192.0.2.50
	CK=-badcert; lab_send badcert.sts.example && lab_expect_sent 192.0.2.51
	CK=-testing; lab_send testing.sts.example && lab_expect_sent 192.0.2.52
	CK=-tls; lab_send tls.lab.example && lab_expect_sent mx1
	CK=-wrongname; lab_send dane-ta-wrongname.example &&
		lab_expect_deferred "451 4.7.5 certificate name mismatch for mx.dane-ta-wrongname.example[192.0.2.34]:25"
	lab_dequeue
	CK=
	lab_report_uncounted || return

	# the UTC days of this run (two if it crossed midnight)
	days=$(date -u -d "@$LAB_UP_T0" +%F)
	d=$(date -u +%F)
	[ "$d" != "$days" ] && days="$days $d"
	rm -rf "$out"
	mkdir -p "$out"
	st=0
	for day in $days; do
		lab_report -v build --day "$day" --out "$out" >>"$LAB_DIR/log/report-build.log" 2>&1 || st=$?
	done
	if [ "$st" = 0 ]; then pass build
	else fail build "mxtls-report build exited $st: $(tail -n 5 "$LAB_DIR/log/report-build.log")"; fi
	lab_log "$SCEN: built $(ls "$out" | wc -l) reports for $days in $out"

	RPT_PREFIX=report-
	lab_report_py "$LAB_DIR/log/report-check.log" "$LAB_PY" "$LAB_PY_DIR/tlsrpt_check.py" \
		--lab "$LAB_DIR" --reports "$out" --since "$LAB_UP_T0" \
		$(for day in $days; do echo --day "$day"; done) \
		--expected "$LAB_DIR/work/tlsrpt-expected.json" "${RPT_EXCLUDE[@]}"

	# summary: exits 0 and names every reported domain
	st=0
	: >"$LAB_DIR/log/report-summary.log"
	for day in $days; do
		lab_report summary --day "$day" >>"$LAB_DIR/log/report-summary.log" 2>&1 || st=$?
	done
	want=
	for l in "$out"/*.json.gz; do
		[ -e "$l" ] || continue
		l=${l##*/}; l=${l#*!}; l=${l%%!*}
		grep -qF "$l" "$LAB_DIR/log/report-summary.log" || want="$want $l"
	done
	if [ "$st" = 0 ] && [ -z "$want" ]; then pass summary
	else fail summary "mxtls-report summary exited $st; domains it does not name:${want:- none}: $(head -c 600 "$LAB_DIR/log/report-summary.log")"; fi

	# send: mailto through the lab Postfix, https to rptsink
	st=0
	for day in $days; do
		lab_report -v send --day "$day" >>"$LAB_DIR/log/report-send.log" 2>&1 || st=$?
	done
	if [ "$st" = 0 ]; then pass send
	else fail send "mxtls-report send exited $st: $(tail -n 5 "$LAB_DIR/log/report-send.log")"; fi
	RPT_PREFIX=send-
	lab_report_py "$LAB_DIR/log/report-delivered.log" "$LAB_PY" "$LAB_PY_DIR/tlsrpt_delivered.py" \
		check --lab "$LAB_DIR" --reports "$out" --wait 20 --sender tlsrpt-noreply@mta.lab.example

	# send again: nothing new
	before=$("$LAB_PY" "$LAB_PY_DIR/tlsrpt_delivered.py" count --lab "$LAB_DIR")
	st=0
	for day in $days; do
		lab_report -v send --day "$day" >>"$LAB_DIR/log/report-send2.log" 2>&1 || st=$?
	done
	sleep 3
	after=$("$LAB_PY" "$LAB_PY_DIR/tlsrpt_delivered.py" count --lab "$LAB_DIR")
	if [ "$st" = 0 ] && [ "$before" = "$after" ]; then pass send-again-nothing
	else fail send-again-nothing "second send exited $st; mails and POSTs before: $before, after: $after; $(tail -n 3 "$LAB_DIR/log/report-send2.log")"; fi
	RPT_PREFIX='' LAB_REPORT_CONF=''
}
