#!/bin/bash
# deb_test.sh - the Debian package installs, works, upgrades over itself,
# and removing and purging it leave the system as it was.
#
# SYNOPSIS
#	bash tests/lab/deb_test.sh	(make lab runs it)
#
# DESCRIPTION
#	Builds the package (scripts/deb.sh, DEB_BUILD_OPTIONS=nocheck: make
#	check runs the unit tests itself) unless DEB_DIR names a directory
#	that holds mxtls_VERSION_*.deb already, and runs lintian on it (no E:
#	line).  Then, in a mount, network and PID namespace of its own, the
#	package goes into a throw-away root, never into the host's:
#
#	  root1  overlay: lower = the host's /, upper on a tmpfs.  Whatever
#		 of mxtls the host has (the user, /etc/mxtls, /var/lib/mxtls,
#		 a make install) is taken out of it: a host without mxtls.
#	  root2  overlay: lower = root1, upper2 on the tmpfs; /proc, /dev,
#		 and tmpfs /tmp and /run (no /run/systemd/system: the
#		 maintainer scripts see a system where systemd is not
#		 running, as in a chroot; deb-systemd-helper still records
#		 and enables units, so "nothing enabled" can fail).
#
#	Everything dpkg does happens in root2, with chroot; upper2 then holds
#	exactly what install, reinstall, remove and purge changed, and after
#	the purge every path in it must look in root2 as it does in root1
#	(type, mode, owner, content; a directory's list of names), but for
#	dpkg's and debconf's own books and the backup files of /etc/passwd
#	and friends.  The rules: mxtls-iptables' fail-closed rules (which
#	mxtlsd's unit never removes), installed in the namespace's network
#	before the reinstall, must be there after it (prerm upgrade) and gone
#	after dpkg -r (prerm remove).
#
#	Steps: install; files, conffile, user, /var/lib/mxtls, nothing
#	enabled, -V of the four programs; mxtlsd.service's ExecStartPre
#	lines (mxtlsd -n, mxtls-check --selftest --if-configured) as mxtls;
#	mxtlsd started as root from the installed
#	paths (it drops to mxtls, listens, its workers write /var/lib/mxtls);
#	every Exec path of the units, systemd-analyze verify of the installed
#	units; reinstall over itself; dpkg -r (rules, binaries gone;
#	conffile, user, state kept); install again and remove; dpkg -P
#	(conffile, state, user, group, dpkg's files gone; /etc/passwd, group,
#	shadow, gshadow, subuid, subgid as before; nothing else left); last,
#	a root-owned /var/lib/mxtls from before is made mxtls' by install.
#	About 20 s with DEB_DIR, a minute with the build.
#
# ENVIRONMENT
#	DEB_DIR		take the .deb files from here instead of building
#	LAB_LOCK_WAIT=N	wait up to N seconds for another lab run to release
#			/tmp/mxlab.lock (default 0: fail at once)
#	DEB_KEEP=1	keep the work directory (build log, lintian output,
#			the dpkg logs, upper2.txt: what was compared)
#
# BUGS
#	Needs overlayfs over /: on a host whose / is itself an overlay (a
#	container) the second overlay is one level too deep, and the test
#	fails at "setup".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lock.sh"
REPO=$(cd "$HERE/../.." && pwd)

# --- inside the namespaces (see the end of the file for the outside) ---

FAILS=0
pass() { echo "PASS: deb $1"; }
fail() { echo "FAIL: deb $1: $2"; FAILS=$((FAILS + 1)); }
check() {	# check NAME WHY COMMAND...: PASS when COMMAND succeeds
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# in2 COMMAND...: run in root2, as root with a plain environment
in2() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    LC_ALL=C DEBIAN_FRONTEND=noninteractive HOME=/root chroot "$R2" "$@"
}

# state PATH: what a path is, for the before/after comparison
state() {
	local p=$1
	if [ -L "$p" ]; then
		echo "symlink -> $(readlink "$p")"
	elif [ -d "$p" ]; then
		echo "dir $(stat -c '%a %u:%g' "$p")"
	elif [ -f "$p" ]; then
		echo "file $(stat -c '%a %u:%g %s' "$p") $(sha256sum <"$p" | cut -c1-16)"
	elif [ -e "$p" ]; then
		stat -c '%F %a %u:%g %t:%T' "$p"
	else
		echo absent
	fi
}

# booked REL: changed by the bookkeeping of dpkg, debconf, man-db and
# shadow's backup copies, not by the package; the package's own traces in
# there are checked by name (dpkg's info files, the passwd lines)
booked() {
	case $1 in
	var/lib/dpkg | var/lib/dpkg/* | var/log | var/log/dpkg.log | var/log/apt | var/log/apt/*) return 0 ;;
	var/cache/debconf | var/cache/debconf/* | var/cache/man | var/cache/man/*) return 0 ;;
	var/log/alternatives.log) return 0 ;;
	etc/passwd- | etc/group- | etc/shadow- | etc/gshadow- | etc/.pwd.lock) return 0 ;;
	esac
	return 1
}

# leftovers: every path upper2 holds, root1 against root2; prints the
# differences
leftovers() {
	local rel a b
	(cd "$UP2" && find . -mindepth 1 -printf '%P\n') | sort | while read -r rel; do
		if booked "$rel"; then
			echo "booked /$rel" >>"$W/upper2.txt"
			continue
		fi
		echo "compared /$rel" >>"$W/upper2.txt"
		a=$(state "$R1/$rel")
		b=$(state "$R2/$rel")
		[ "$a" = "$b" ] || echo "/$rel: before: $a; after: $b"
		if [ -d "$R1/$rel" ] && [ -d "$R2/$rel" ] && [ ! -L "$R2/$rel" ]; then
			diff <(ls -A "$R1/$rel") <(ls -A "$R2/$rel") | sed -n "s,^[<>] ,/$rel/: &,p"
		fi
	done
}

# units_enabled: links to the package's units under /etc/systemd (none
# may be there: nothing is enabled at install)
units_enabled() {
	find "$R2/etc/systemd" \( -name 'mxtlsd.service' -o -name 'mxtls-report.*' \) 2>/dev/null
}

# mxtls_rules: the MXTLS chains and jumps in this namespace's tables
mxtls_rules() {
	{ iptables-save; ip6tables-save; } 2>/dev/null | grep -c 'MXTLS' || true
}

# root_mounts ROOT - what dpkg and its scripts need in a root: proc, dev,
# and a /tmp and /run of their own
root_mounts() {
	mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" &&
		mount -t tmpfs tmpfs "$1/tmp" && mount -t tmpfs tmpfs "$1/run"
}

inner() {
	W=$1 DEBS=$2 VERSION=$3
	local T=$W/t deb user uid dir out v p unit bad n
	R1=$W/root1 R2=$W/root2 UP2=$T/upper2
	mkdir -p "$T" "$R1" "$R2"
	mount -t tmpfs -o mode=0755 tmpfs "$T" || { fail setup "tmpfs"; return 1; }
	mkdir "$T/upper1" "$T/work1" "$T/upper2" "$T/work2" "$T/debs"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper1,workdir=$T/work1" "$R1" ||
		{ fail setup "overlay of /"; return 1; }
	# root1: the host without mxtls (what follows deletes: only ever in
	# the overlay)
	[ "$(findmnt -n -o FSTYPE --mountpoint "$R1")" = overlay ] ||
		{ fail setup "$R1 is not the overlay"; return 1; }
	root_mounts "$R1" || { fail setup "root1 mounts"; return 1; }
	R2=$R1 in2 sh -c '
		if dpkg-query -W -f="\${Status}" mxtls 2>/dev/null | grep -q installed; then
			dpkg -P mxtls >/dev/null 2>&1; fi
		getent passwd mxtls >/dev/null && userdel mxtls
		getent group mxtls >/dev/null && groupdel mxtls
		rm -rf /etc/mxtls /var/lib/mxtls /lib/systemd/system/mxtls* \
		    /etc/systemd/system/*/mxtls* /etc/systemd/system/mxtls* \
		    /usr/local/sbin/mxtls* /usr/sbin/mxtls* /usr/local/share/doc/mxtls
		exit 0'
	umount "$R1/run" "$R1/tmp" "$R1/dev" "$R1/proc"
	mount -t overlay overlay -o "lowerdir=$R1,upperdir=$UP2,workdir=$T/work2" "$R2" ||
		{ fail setup "overlay of root1"; return 1; }
	[ "$(findmnt -n -o FSTYPE --mountpoint "$R2")" = overlay ] ||
		{ fail setup "$R2 is not the overlay"; return 1; }
	root_mounts "$R2" || { fail setup "root2 mounts"; return 1; }
	ip link set lo up
	mkdir "$R2/tmp/debs"
	cp "$DEBS"/mxtls_"$VERSION"_*.deb "$R2/tmp/debs/"
	deb=$(cd "$R2/tmp/debs" && ls mxtls_"$VERSION"_*.deb)

	# 1. install
	if in2 dpkg -i "/tmp/debs/$deb" </dev/null >"$W/install.log" 2>&1; then
		pass "install (dpkg -i $deb in a throw-away root)"
	else
		fail install "dpkg -i: $(tail -n 3 "$W/install.log" | tr '\n' ' ')"
		return 1
	fi
	bad=
	for p in usr/sbin/mxtlsd usr/sbin/mxtls-report usr/sbin/mxtls-check usr/sbin/mxtls-iptables; do
		[ -x "$R2/$p" ] || bad="$bad /$p"
	done
	for p in usr/share/man/man8/mxtlsd.8.gz usr/share/man/man8/mxtls-report.8.gz \
	    usr/share/man/man8/mxtls-check.8.gz usr/share/man/man8/mxtls-iptables.8.gz \
	    usr/share/man/man5/mxtls.conf.5.gz lib/systemd/system/mxtlsd.service \
	    lib/systemd/system/mxtls-report.service lib/systemd/system/mxtls-report.timer \
	    usr/share/doc/mxtls/copyright; do
		[ -f "$R2/$p" ] || bad="$bad /$p"
	done
	check files "missing:$bad" [ -z "$bad" ]
	out=$(in2 dpkg-query -W -f='${Conffiles}' mxtls)
	check conffile "dpkg's conffiles: '$out'" grep -q '^ /etc/mxtls/mxtls.conf ' <<<"$out"

	# 2. the user and its directory
	user=$(in2 getent passwd mxtls)
	uid=$(cut -d: -f3 <<<"$user")
	check user "getent passwd mxtls: '$user'" \
	    test -n "$uid" -a "${uid:-1000}" -lt 1000 -a "$(cut -d: -f7 <<<"$user")" = /usr/sbin/nologin
	dir=$(in2 stat -c '%U:%G %a' /var/lib/mxtls 2>&1)
	check state-dir "/var/lib/mxtls: '$dir' (want mxtls:mxtls 750)" test "$dir" = "mxtls:mxtls 750"

	# 3. nothing enabled (mxtlsd redirects mail), nothing started
	out=$(units_enabled)
	check not-enabled "enabled at install: $out" test -z "$out"

	# 4. the version, from VERSION, in the package and the programs
	v=$(in2 dpkg-query -W -f='${Version}' mxtls)
	bad=
	for p in mxtlsd mxtls-report mxtls-check mxtls-iptables; do
		out=$(in2 "/usr/sbin/$p" -V 2>&1)
		[ "$out" = "$p $VERSION" ] || bad="$bad [$p -V: '$out']"
	done
	check version "package $v, VERSION $VERSION$bad" test "$v" = "$VERSION" -a -z "$bad"

	# 5. the installed unit's ExecStartPre lines (mxtlsd -n, mxtls-check
	# --selftest --if-configured) as it runs them (User=mxtls); every
	# program the units name is there
	unit=$R2/lib/systemd/system/mxtlsd.service
	bad='' n=0
	while read -r p; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # $p is the unit's command line, split as systemd does
		out=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
		    chroot --userspec="$uid:$(cut -d: -f4 <<<"$user")" "$R2" $p 2>&1) ||
			bad="$bad ['$p' as mxtls: status $?: $(tail -n 2 <<<"$out" | tr '\n' ' ')]"
		case $p in
		*/mxtlsd\ -n\ *)
			grep -q '^upstream_mark = 0x6d78' <<<"$out" ||
				bad="$bad ['$p': no upstream_mark = 0x6d78 in its output]"
			n=$((n + 100))
			;;
		esac
	done < <(sed -n 's/^ExecStartPre=//p' "$unit")
	# (n: the lines, plus 100 for the mxtlsd -n one)
	check exec-start-pre "$n lines:$bad" test "$n" -gt 100 -a -z "$bad"
	bad=
	for p in $(sed -n 's/^Exec[A-Za-z]*=[-+!@:]*\([^ ]*\).*/\1/p' "$R2"/lib/systemd/system/mxtls*); do
		[ -x "$R2$p" ] || bad="$bad $p"
	done
	check unit-paths "not installed:$bad" [ -z "$bad" ]
	# and it starts: as root with the shipped file, it drops to mxtls,
	# listens, and its workers (mxtls already) make sts/ and journal/ in
	# /var/lib/mxtls; SIGTERM ends it with status 0
	# (exec: $! is mxtlsd itself, env and chroot exec it)
	(exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C chroot "$R2" \
	    /usr/sbin/mxtlsd -f -c /etc/mxtls/mxtls.conf >"$W/mxtlsd.log" 2>&1) &
	p=$!
	for n in $(seq 50); do
		ss -Hltn 'sport = :10025' | grep -q 127.0.0.1 && break
		sleep 0.1
	done
	sleep 1
	out=$(ss -Hltn 'sport = :10025')
	kill -TERM $p 2>/dev/null
	wait $p
	n=$?
	bad=$(grep -E 'fatal|panic|exited with status [1-9]|killed by' "$W/mxtlsd.log" | head -n 2 | tr '\n' ' ')
	check start "listening: '$(tr '\n' ' ' <<<"$out")'; exit $n; $bad" \
	    test -n "$out" -a "$n" = 0 -a -z "$bad" -a -d "$R2/var/lib/mxtls/sts"
	if [ -x "$R2/usr/bin/systemd-analyze" ]; then
		out=$(in2 systemd-analyze verify --man=no /lib/systemd/system/mxtlsd.service \
		    /lib/systemd/system/mxtls-report.service /lib/systemd/system/mxtls-report.timer 2>&1)
		check unit-verify "systemd-analyze verify: $(tr '\n' ' ' <<<"$out")" test -z "$out"
	else
		fail unit-verify "no systemd-analyze (package systemd)"
	fi

	# 6. reinstall over itself (dpkg runs the old prerm with "upgrade"):
	# the admin's conffile change stays, the user keeps its uid, the rules
	# mxtlsd works behind stay (the new mxtlsd takes them over), and dpkg
	# asks nothing (stdin is /dev/null).  The rules are fail-closed ones,
	# which mxtlsd's unit never removes.
	echo "# changed by the admin" >>"$R2/etc/mxtls/mxtls.conf"
	echo state >"$R2/var/lib/mxtls/kept"
	out=$(in2 mxtls-iptables install --local --fail-closed --port 10025 --mark 0x6d78 2>&1)
	n=$(mxtls_rules)
	[ "$n" -gt 0 ] || fail rules-setup "mxtls-iptables install: $out"
	if in2 dpkg -i "/tmp/debs/$deb" </dev/null >"$W/reinstall.log" 2>&1 &&
	    grep -q '^# changed by the admin' "$R2/etc/mxtls/mxtls.conf" &&
	    [ "$(in2 id -u mxtls)" = "$uid" ] && [ -f "$R2/var/lib/mxtls/kept" ] &&
	    [ -z "$(units_enabled)" ]; then
		pass "reinstall over itself (conffile change, uid $uid and state kept)"
	else
		fail reinstall "$(tail -n 3 "$W/reinstall.log" | tr '\n' ' ')"
	fi
	check reinstall-rules "$n MXTLS rules before, $(mxtls_rules) after" test "$(mxtls_rules)" = "$n"

	# 7. remove: the rules go, binaries go, the conffile, the user and the
	# state stay; installed again from there, the conffile change is kept
	if in2 dpkg -r mxtls </dev/null >"$W/remove.log" 2>&1; then
		pass "remove (dpkg -r)"
	else
		fail remove "$(tail -n 3 "$W/remove.log" | tr '\n' ' ')"
	fi
	check remove-rules "$(mxtls_rules) MXTLS rules left after dpkg -r" test "$(mxtls_rules)" = 0
	bad=
	for p in usr/sbin/mxtlsd usr/sbin/mxtls-report usr/sbin/mxtls-check usr/sbin/mxtls-iptables \
	    lib/systemd/system/mxtlsd.service usr/share/man/man8/mxtlsd.8.gz; do
		[ ! -e "$R2/$p" ] || bad="$bad /$p"
	done
	grep -q '^# changed by the admin' "$R2/etc/mxtls/mxtls.conf" 2>/dev/null ||
		bad="$bad [conffile gone or reset]"
	in2 getent passwd mxtls >/dev/null || bad="$bad [user gone]"
	[ -f "$R2/var/lib/mxtls/kept" ] || bad="$bad [state gone]"
	out=$(in2 dpkg-query -W -f='${Status}' mxtls 2>&1)
	[ "$out" = "deinstall ok config-files" ] || bad="$bad [status '$out']"
	check remove-state "$bad" [ -z "$bad" ]
	if in2 dpkg -i "/tmp/debs/$deb" </dev/null >"$W/again.log" 2>&1 &&
	    grep -q '^# changed by the admin' "$R2/etc/mxtls/mxtls.conf" &&
	    [ -x "$R2/usr/sbin/mxtlsd" ] && [ "$(in2 id -u mxtls)" = "$uid" ] &&
	    in2 dpkg -r mxtls </dev/null >>"$W/again.log" 2>&1; then
		pass "install after remove (conffile change kept), remove again"
	else
		fail install-again "$(tail -n 3 "$W/again.log" | tr '\n' ' ')"
	fi

	# 8. purge: conffile, state, user and group go
	if in2 dpkg -P mxtls </dev/null >"$W/purge.log" 2>&1; then
		pass "purge (dpkg -P)"
	else
		fail purge "$(tail -n 3 "$W/purge.log" | tr '\n' ' ')"
	fi
	bad=
	[ ! -e "$R2/etc/mxtls" ] || bad="$bad /etc/mxtls"
	[ ! -e "$R2/var/lib/mxtls" ] || bad="$bad /var/lib/mxtls"
	in2 getent passwd mxtls >/dev/null && bad="$bad [user mxtls]"
	in2 getent group mxtls >/dev/null && bad="$bad [group mxtls]"
	for p in "$R2"/var/lib/dpkg/info/mxtls.*; do
		[ ! -e "$p" ] || bad="$bad ${p#"$R2"}"
	done
	in2 dpkg-query -W mxtls >/dev/null 2>&1 && bad="$bad [dpkg still knows mxtls]"
	check purge-state "left:$bad" [ -z "$bad" ]
	bad=
	for p in etc/passwd etc/group etc/shadow etc/gshadow etc/subuid etc/subgid; do
		[ "$(state "$R1/$p")" = "$(state "$R2/$p")" ] || bad="$bad /$p"
	done
	check purge-accounts "changed:$bad" [ -z "$bad" ]
	out=$(leftovers)
	check purge-leftovers "$(head -n 5 <<<"$out" | tr '\n' ';')" test -z "$out"
	[ -z "$out" ] || printf '%s\n' "$out" >"$W/leftovers.txt"

	# 9. a /var/lib/mxtls that was there, root's: made mxtls' at install
	mkdir -m 0755 "$R2/var/lib/mxtls"
	in2 dpkg -i "/tmp/debs/$deb" </dev/null >"$W/existing.log" 2>&1
	dir=$(in2 stat -c '%U:%G %a' /var/lib/mxtls 2>&1)
	check state-dir-existing "/var/lib/mxtls: '$dir' (want mxtls:mxtls 750)" \
	    test "$dir" = "mxtls:mxtls 750"
	return 0
}

if [ "${1:-}" = --inner ]; then
	inner "$2" "$3" "$4"
	[ "$FAILS" = 0 ]
	exit
fi

# --- outside: build, lintian, the lock, the namespaces ---

VERSION=$(cat "$REPO/VERSION")
W=$(mktemp -d /tmp/mxdeb.XXXXXX)
cleanup() {
	if [ "${DEB_KEEP:-0}" = 1 ]; then
		echo "deb_test: kept $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ -n "${DEB_DIR:-}" ]; then
	DEBS=$(cd "$DEB_DIR" && pwd)
else
	DEBS=$REPO/build/deb
	if DEB_BUILD_OPTIONS=nocheck sh "$REPO/scripts/deb.sh" >"$W/build.log" 2>&1; then
		pass "make deb (scripts/deb.sh)"
	else
		fail "make deb" "$(tail -n 5 "$W/build.log" | tr '\n' ' ')"
		exit 1
	fi
fi
deb=$(ls "$DEBS"/mxtls_"$VERSION"_*.deb 2>/dev/null | head -n 1)
dbg=$(ls "$DEBS"/mxtls-dbgsym_"$VERSION"_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { fail package "no mxtls_${VERSION}_*.deb in $DEBS"; exit 1; }

# lintian: no error
lintian --tag-display-limit 0 "$deb" ${dbg:+"$dbg"} >"$W/lintian.txt" 2>&1
check lintian "$(grep '^E: ' "$W/lintian.txt" | head -n 3 | tr '\n' ' ')" \
    sh -c "! grep -q '^E: ' '$W/lintian.txt'"

# the -dbgsym package carries mxtlsd's debug information
dpkg-deb --fsys-tarfile "$deb" 2>/dev/null | tar -xOf - ./usr/sbin/mxtlsd >"$W/mxtlsd"
id=$(readelf -n "$W/mxtlsd" 2>/dev/null | sed -n 's/.*Build ID: *//p')
dbgfile=./usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
check dbgsym "no $dbgfile in ${dbg:-no dbgsym package}" \
    sh -c "[ -n '$id' ] && [ -n '$dbg' ] && dpkg-deb -c '$dbg' 2>/dev/null | grep -q '$dbgfile\$'"

if ! lab_lock deb; then
	fail lock "another lab run holds $LAB_LOCK"
	exit 1
fi
unshare --mount --net --pid --fork --propagation private \
    bash "$0" --inner "$W" "$DEBS" "$VERSION" || FAILS=$((FAILS + 1))
[ "$FAILS" = 0 ]
