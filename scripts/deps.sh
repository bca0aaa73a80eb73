#!/bin/sh
# deps.sh - install the Debian 12 packages mxtls needs, once, when missing.
#
# Usage: scripts/deps.sh [build|check|demo]
#   build  compiler and libraries for `make`
#   check  build + clang/libFuzzer + the lab (postfix, iptables, nftables,
#          iproute2, python3, openssl)
#   demo   the same as check
# Run as root; as another user it only reports what is missing.
set -eu

BUILD_PKGS="gcc make pkg-config libc6-dev libssl-dev libev-dev libunbound-dev \
libnetfilter-queue-dev libcjson-dev libcurl4-openssl-dev \
libevent-dev dns-root-data zlib1g-dev"
CHECK_PKGS="clang llvm libclang-rt-14-dev postfix iptables nftables iproute2 \
python3 openssl procps psmisc ca-certificates nsd ldnsutils nginx-light conntrack time"

want=$BUILD_PKGS
case "${1:-build}" in
build) ;;
check|demo) want="$BUILD_PKGS $CHECK_PKGS" ;;
*) echo "usage: $0 [build|check|demo]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: run as root, or: apt-get install$missing" >&2
	exit 1
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix asks debconf questions; answer them so the install never stops.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
if ! apt-get install -y -q --no-install-recommends $missing; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
fi
