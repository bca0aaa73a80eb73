# workers.sh - workers = 2: a parent and two worker processes.
#
# mxtlsd is restarted with workers = 2 (SO_REUSEPORT listeners, one set
# per worker), then:
#   (a) two-workers: the parent has two children; hup-reaches-both: after
#       SIGHUP to the parent, both workers log "reloaded FILE";
#       bad-hup-keeps-all: a broken file leaves the parent's warning and
#       both workers running, no worker reloads;
#   (b) a burst of WK_TOTAL (120) messages from the lab Postfix to
#       tls.lab.example (sink mx1); once WK_TOTAL/4 are at the sink, the
#       worker with the most descriptors (the owner of 192.0.2.25:25,
#       which the other hands its connections to) gets SIGKILL: worker-restarted (the parent logs the death
#       and starts that slot again: two children), queue-empty (Postfix's
#       queue has none of them left, deferred ones flushed),
#       every-message-delivered (each at the sink at least once),
#       journal-has-every-delivery (for every stored message a success
#       record whose sending-mta-ip/port is the sink's peer),
#       journal-no-torn-record (at most one bad line: the one the kill
#       may have torn); journal-record-ids-unique (every record has a
#       record-id, none twice, across two workers and a restart);
#   (c) drained: SIGTERM to the parent; both workers and the parent exit,
#       status 0, within shutdown_timeout.
# Then mxtlsd is started again with the lab's configuration.

# wk_children - the worker pids of the running parent
wk_children() { pgrep -P "$LAB_MXTLSD_PID" 2>/dev/null; }

# wk_wait_children N TIMEOUT - wait until the parent has N children
wk_wait_children() {
	local end
	end=$(( $(lab_now_ms) + $2 * 1000 ))
	until [ "$(wk_children | wc -l)" = "$1" ]; do
		[ "$(lab_now_ms)" -ge $end ] && return 1
		sleep 0.05
	done
}

# wk_restore - the lab's one mxtlsd back
wk_restore() {
	lab_mxtlsd_stop
	lab_mxtlsd_conf_write
	lab_mxtlsd_start || fail restored "mxtlsd did not start again with the lab's configuration"
}

scenario_workers() {
	local conf=$LAB_DIR/mxtlsd.conf log=$LAB_DIR/log/mxtlsd.log off n i victim t0 dt why pids
	local total=${WK_TOTAL:-120} sink=mx1 d=tls.lab.example out
	if [ "$LAB_FLAVOR" != local ]; then
		lab_log "workers: needs mxtlsd; not run in LAB_FLAVOR=$LAB_FLAVOR"
		return 0
	fi
	SCEN_SINKS=$sink
	lab_mxtlsd_stop
	lab_mxtlsd_conf_write "workers = 2"
	if ! lab_mxtlsd_start || ! wk_wait_children 2 5; then
		fail two-workers "mxtlsd with workers = 2: $(wk_children | wc -l) children: $(tail -n 3 "$log")"
		wk_restore
		return
	fi
	pass two-workers

	# (a) SIGHUP reaches both; a broken file reaches none
	off=$(lab_log_size "$log")
	kill -HUP "$LAB_MXTLSD_PID"
	for i in $(seq 100); do
		[ "$(lab_grep_after "$log" "$off" "reloaded $conf\$" | wc -l)" -ge 2 ] && break
		sleep 0.05
	done
	n=$(lab_grep_after "$log" "$off" "reloaded $conf\$" | sed -n 's/.*mxtlsd\[\([0-9]*\)\].*/\1/p' | sort -u | wc -l)
	if [ "$n" = 2 ] && lab_grep_after "$log" "$off" "sent SIGHUP to 2 workers" >/dev/null; then
		pass hup-reaches-both
	else
		fail hup-reaches-both "$n workers logged \"reloaded\": $(lab_grep_after "$log" "$off" reload | head -n 4)"
	fi
	off=$(lab_log_size "$log")
	lab_mxtlsd_hup "workers = 2" "no_such_key = 1"
	sleep 0.5
	if lab_grep_after "$log" "$off" "reload: .*no_such_key.*keeping the running configuration" >/dev/null &&
	    ! lab_grep_after "$log" "$off" "reloaded |sent SIGHUP" >/dev/null &&
	    [ "$(wk_children | wc -l)" = 2 ]; then
		pass bad-hup-keeps-all
	else
		fail bad-hup-keeps-all "$(lab_grep_after "$log" "$off" reload | head -n 3); $(wk_children | wc -l) children"
	fi
	lab_mxtlsd_conf_write "workers = 2"

	# (b) a burst through Postfix; one worker killed in the middle
	D_FILE=$LAB_DIR/work/workers.msg
	for i in $(seq "$total"); do
		lab_tool gen-message "$D_FILE.$i" --from sender@mta.lab.example \
			--to "workers$i-$RUNID@$d" --subject "lab workers $RUNID $i" \
			--msgid "workers$i.$RUNID@mta.lab.example" --size 2048
	done
	pids=
	for i in $(seq "$total"); do
		lab_submit sender@mta.lab.example "workers$i-$RUNID@$d" "$D_FILE.$i" &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086 # these submissions only, never the lab's jobs
	wait $pids
	off=$(lab_log_size "$log")
	victim=
	t0=$(lab_now_ms)
	while [ $(( $(lab_now_ms) - t0 )) -lt 20000 ]; do
		n=$(grep -l "workers[0-9]*-$RUNID@" "$(lab_sink_dir "$sink")"/*.json 2>/dev/null | wc -l)
		if [ "$n" -ge $((total / 4)) ]; then
			# the worker with the most descriptors: the one with sessions
			# (affinity hands every connection to one MX to its owner)
			victim=$(for p in $(wk_children); do echo "$(ls /proc/"$p"/fd 2>/dev/null | wc -l) $p"; done |
				sort -rn | awk 'NR == 1 {print $2}')
			kill -KILL "$victim"
			lab_log "workers: SIGKILL to worker $victim after $n of $total messages"
			break
		fi
		sleep 0.02
	done
	if [ -n "$victim" ] && lab_wait_grep_after "$log" "$off" "worker [0-9] \\(pid $victim\\) killed by signal 9" 5 &&
	    lab_wait_grep_after "$log" "$off" "worker [0-9] started" 5 && wk_wait_children 2 5 &&
	    ! wk_children | grep -qx "$victim"; then
		pass worker-restarted
	else
		fail worker-restarted "victim ${victim:-none}; $(lab_grep_after "$log" "$off" 'worker [0-9]' | head -n 3); children: $(wk_children | tr '\n' ' ')"
	fi
	t0=$(lab_now_ms)
	while [ $(( $(lab_now_ms) - t0 )) -lt 30000 ]; do
		lab_postqueue -j 2>/dev/null | grep -q "workers[0-9]*-$RUNID@" || break
		lab_postqueue -f >/dev/null 2>&1
		sleep 0.5
	done
	if lab_postqueue -j 2>/dev/null | grep -q "workers[0-9]*-$RUNID@"; then
		fail queue-empty "$(lab_postqueue -j | grep -c "workers[0-9]*-$RUNID@") messages still queued after 30 s"
	else
		pass queue-empty
	fi
	sleep 0.5	# the last sessions' journal lines
	out=$("$LAB_PY" - "$LAB_DIR" "$RUNID" "$total" "$d" "$sink" <<'PY'
import glob, json, os, sys
lab, runid, total, dom, sink = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
recs, bad = [], 0
for j in sorted(glob.glob(os.path.join(lab, "journal", "*.jsonl"))):
    for l in open(j, "rb").read().split(b"\n"):
        if not l:
            continue
        try:
            recs.append(json.loads(l))
        except ValueError:
            bad += 1
idx = {}
for r in recs:
    if r.get("result-type") == "success" and r.get("policy-domain") == dom:
        idx.setdefault((r.get("sending-mta-ip"), r.get("sending-port")), []).append(r)
stored, missing = set(), []
for jp in glob.glob(os.path.join(lab, "mail", sink, "*.json")):
    m = json.load(open(jp))
    for rc in m["rcpts"]:
        if rc.startswith("workers") and ("-%s@" % runid) in rc:
            stored.add(rc)
            ip, _, port = m["peer"].rpartition(":")
            if not [r for r in idx.get((ip.strip("[]"), int(port)), [])
                    if abs(r["time"] - m["time"]) < 120]:
                missing.append("%s (message %d, peer %s)" % (rc, m["n"], m["peer"]))
lost = ["workers%d" % i for i in range(1, total + 1)
        if "workers%d-%s@%s" % (i, runid, dom) not in stored]
print("lost %d %s" % (len(lost), " ".join(lost[:5])))
print("journal %d %s" % (len(missing), "; ".join(missing[:3])))
print("bad %d" % bad)
# Fleet reports merge by record-id: no two records of this run (two
# workers, one restarted, counting their sessions afresh) share one.
ids = [r.get("record-id") for r in recs]
seen, dup = set(), set()
for i in ids:
    if i in seen:
        dup.add(i)
    seen.add(i)
print("ids %d %d %s" % (sum(1 for i in ids if not i), len(dup), " ".join(sorted(dup)[:3])))
PY
)
	read -r _ n why <<<"$(grep '^lost ' <<<"$out")"
	if [ "$n" = 0 ]; then pass every-message-delivered
	else fail every-message-delivered "$n of $total not at $sink: $why"; fi
	read -r _ n why <<<"$(grep '^journal ' <<<"$out")"
	if [ "$n" = 0 ]; then pass journal-has-every-delivery
	else fail journal-has-every-delivery "$n stored messages without a success record: $why"; fi
	read -r _ n <<<"$(grep '^bad ' <<<"$out")"
	if [ "${n:-9}" -le 1 ]; then pass journal-no-torn-record
	else fail journal-no-torn-record "$n bad lines in the journal (at most the one the kill tore)"; fi
	read -r _ none ndup why <<<"$(grep '^ids ' <<<"$out")"
	if [ "$none" = 0 ] && [ "$ndup" = 0 ]; then pass journal-record-ids-unique
	else fail journal-record-ids-unique "$none records without a record-id, $ndup ids twice: $why"; fi

	# (c) SIGTERM drains both workers, then the parent exits
	off=$(lab_log_size "$log")
	t0=$(lab_now_ms)
	kill -TERM "$LAB_MXTLSD_PID"
	if lab_mxtlsd_wait_exit "$LAB_MXTLSD_SHUTDOWN_TIMEOUT"; then
		dt=$(( $(lab_now_ms) - t0 ))
		n=$(lab_grep_after "$log" "$off" "mxtlsd stopped\$" | wc -l)
		if [ "$LAB_MXTLSD_STATUS" = 0 ] && [ "$n" = 2 ] &&
		    lab_grep_after "$log" "$off" "mxtlsd stopped \\(all workers gone\\)" >/dev/null; then
			pass drained
		else
			fail drained "status $LAB_MXTLSD_STATUS, $n workers stopped: $(lab_grep_after "$log" "$off" stopped | head -n 3)"
		fi
		lab_log "workers: SIGTERM to exit in $dt ms"
	else
		fail drained "the parent did not exit within ${LAB_MXTLSD_SHUTDOWN_TIMEOUT}s of SIGTERM"
	fi
	wk_restore
}
