#!/bin/sh
# deps.sh - install the Debian 12 packages mxtls needs, once, when missing.
#
# Usage: scripts/deps.sh [build|check|demo|exim|metrics|smap|bench|deb]
#   build  compiler and libraries for `make`
#   check  build + clang/libFuzzer + the lab (postfix, iptables, nftables,
#          iproute2, python3, openssl, redis-server for the fleet test) + exim
#          + deb (tests/lab/deb_test.sh)
#   demo   build + clang/libFuzzer + the lab, without exim
#   metrics  python3-prometheus-client alone: the lab's metrics scenario
#          parses mxtlsd's /metrics with it (tests/lab/scenarios/metrics.sh)
#   exim   Exim for the lab (tests/lab/scenarios/exim.sh), unpacked, never
#          installed: Debian's exim4-daemon-light conflicts with postfix
#          (both are mail-transport-agent), so its .deb is fetched with
#          `apt-get download` into $MXTLS_LAB_CACHE (/var/cache/mxtls-lab)
#          and unpacked with `dpkg-deb -x` into $MXTLS_LAB_CACHE/exim/root,
#          once, when missing; the libraries it depends on (lib* of its
#          Depends, none of which conflicts with postfix) are installed
#          with apt-get.  The binary: $MXTLS_LAB_CACHE/exim/root/usr/sbin/exim4
#   smap   what the socketmap scenario and bench compare mxtlsd with:
#          postfix-mta-sts-resolver, and unbound as its recursive resolver
#   bench  what tests/bench/fast compares mxtlsd with: stunnel4 (client
#          mode, protocol = smtp) and a Postfix relay; postfix also gives
#          the load generator, smtp-source
#   deb    build + what `make deb' and tests/lab/deb_test.sh use: debhelper,
#          dpkg-dev, fakeroot, lintian, and the packages the .deb depends
#          on (adduser, dns-root-data, ...), so that it installs in the
#          test's throw-away root
# Run as root; as another user it only reports what is missing.
set -eu

BUILD_PKGS="gcc make pkg-config libc6-dev libssl-dev libev-dev libunbound-dev \
libnetfilter-queue-dev libcjson-dev libcurl4-openssl-dev \
libevent-dev dns-root-data zlib1g-dev libcap-dev libsystemd-dev libhiredis-dev"
CHECK_PKGS="clang llvm libclang-rt-14-dev postfix iptables nftables iproute2 \
python3 openssl procps psmisc ca-certificates nsd ldnsutils nginx-light conntrack time \
python3-prometheus-client systemd redis-server"
METRICS_PKGS="python3-prometheus-client"
SMAP_PKGS="postfix-mta-sts-resolver unbound"
BENCH_PKGS="stunnel4 postfix"
DEB_PKGS="debhelper dpkg-dev fakeroot lintian adduser ca-certificates dns-root-data \
iproute2 iptables"

MXTLS_LAB_CACHE=${MXTLS_LAB_CACHE:-/var/cache/mxtls-lab}
EXIM_DIR=$MXTLS_LAB_CACHE/exim
EXIM_BIN=$EXIM_DIR/root/usr/sbin/exim4
# the package whose binary the lab runs (only unpacked, see above)
EXIM_DEB_PKG=exim4-daemon-light

want=$BUILD_PKGS
exim=
case "${1:-build}" in
build) ;;
check) want="$BUILD_PKGS $CHECK_PKGS $DEB_PKGS"; exim=1 ;;
demo) want="$BUILD_PKGS $CHECK_PKGS" ;;
exim) want=""; exim=1 ;;
metrics) want=$METRICS_PKGS ;;
smap) want=$SMAP_PKGS ;;
bench) want=$BENCH_PKGS ;;
deb) want="$BUILD_PKGS $DEB_PKGS" ;;
*) echo "usage: $0 [build|check|demo|exim|metrics|smap|bench|deb]" >&2; exit 2 ;;
esac

# missing_of PKG... - the named packages that are not installed
missing_of() {
	mo_out=""
	for mo_p in "$@"; do
		mo_st=$(dpkg-query -W -f='${Status}' "$mo_p" 2>/dev/null || true)
		case "$mo_st" in
		*"install ok installed"*) ;;
		*) mo_out="$mo_out $mo_p" ;;
		esac
	done
	echo "$mo_out"
}

# apt_install PKG... - install them, after `apt-get update` if need be
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	# postfix asks debconf questions; answer them so the install never stops.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	if ! apt-get install -y -q --no-install-recommends "$@"; then
		apt-get update -q
		apt-get install -y -q --no-install-recommends "$@"
	fi
}

# exim_ok - the unpacked exim4 is there and finds all its libraries
exim_ok() {
	[ -x "$EXIM_BIN" ] && ldd "$EXIM_BIN" >/dev/null 2>&1 &&
		! ldd "$EXIM_BIN" 2>/dev/null | grep -q 'not found'
}

# exim_unpack - fetch exim4-daemon-light's .deb (when there is none in the
# cache), install the libraries it depends on, unpack it into $EXIM_DIR/root
exim_unpack() {
	mkdir -p "$EXIM_DIR/debs"
	deb=$(ls -t "$EXIM_DIR/debs/$EXIM_DEB_PKG"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		echo "deps.sh: downloading $EXIM_DEB_PKG into $EXIM_DIR/debs (unpacked, never installed: it conflicts with postfix)"
		# -o APT::Sandbox::User=root: the cache is root's, not _apt's
		( cd "$EXIM_DIR/debs" &&
		  { apt-get download -q -o APT::Sandbox::User=root "$EXIM_DEB_PKG" ||
		    { apt-get update -q && apt-get download -q -o APT::Sandbox::User=root "$EXIM_DEB_PKG"; }; } )
		deb=$(ls -t "$EXIM_DIR/debs/$EXIM_DEB_PKG"_*.deb 2>/dev/null | head -n 1 || true)
		[ -n "$deb" ] || { echo "deps.sh: apt-get download $EXIM_DEB_PKG failed" >&2; exit 1; }
	fi
	# its shared libraries: the lib* packages of its Depends (alternatives:
	# the first), never exim4-base or anything that provides an MTA
	libs=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/([^)]*)//g; s/[[:space:]]//g' |
		grep '^lib' || true)
	miss=$(missing_of $libs)
	if [ -n "$miss" ]; then
		echo "deps.sh: installing the libraries of $EXIM_DEB_PKG:$miss"
		apt_install $miss
	fi
	rm -rf "$EXIM_DIR/root.new"
	dpkg-deb -x "$deb" "$EXIM_DIR/root.new"
	rm -rf "$EXIM_DIR/root"
	mv "$EXIM_DIR/root.new" "$EXIM_DIR/root"
	if ! exim_ok; then
		echo "deps.sh: $EXIM_BIN (from $deb) does not run:" >&2
		ldd "$EXIM_BIN" 2>&1 | grep 'not found' >&2
		exit 1
	fi
	echo "deps.sh: unpacked $(basename "$deb") into $EXIM_DIR/root"
}

missing=$(missing_of $want)
if [ -n "$missing" ] || { [ -n "$exim" ] && ! exim_ok; }; then
	if [ "$(id -u)" != 0 ]; then
		[ -n "$missing" ] && {
			echo "deps.sh: missing Debian packages:$missing" >&2
			echo "deps.sh: run as root, or: apt-get install$missing" >&2
		}
		[ -n "$exim" ] && ! exim_ok &&
			echo "deps.sh: no usable $EXIM_BIN: run as root: $0 exim" >&2
		exit 1
	fi
fi
if [ -n "$missing" ]; then
	echo "deps.sh: installing:$missing"
	apt_install $missing
fi
if [ -n "$exim" ] && ! exim_ok; then
	exim_unpack
fi
exit 0
