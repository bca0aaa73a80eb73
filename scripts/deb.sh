#!/bin/sh
# deb.sh - build the Debian package into build/deb/, and lintian it.
#
# Usage: scripts/deb.sh		(make deb)
#
# dpkg-buildpackage -b -us -uc writes its results into the parent of the
# source tree, so the tree is first copied (the files git knows of, and new
# ones it does not ignore: what is being worked on, without build/; without
# git, everything but what make builds) to
# $DEB_TMP/mxtls-VERSION; the .deb files (mxtls_VERSION_ARCH.deb and the
# mxtls-dbgsym one debhelper makes), .buildinfo and .changes end up in
# build/deb/, and lintian's report in build/deb/lintian.txt.  Exit status:
# 1 when the build fails or lintian reports an error (E:).
#
# ENVIRONMENT
#	DEB_BUILD_OPTIONS  passed on; nocheck skips `make unit' in the build
#	DEB_TMP		where the copy is made (default: a new dir in /tmp)
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
version=$(cat VERSION)
out=$repo/build/deb
tmp=${DEB_TMP:-$(mktemp -d /tmp/mxtls-deb.XXXXXX)}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

for tool in dpkg-buildpackage dh lintian fakeroot; do
	command -v $tool >/dev/null 2>&1 ||
		{ echo "deb.sh: no $tool: run 'sh scripts/deps.sh deb' (as root)" >&2; exit 1; }
done

src=$tmp/mxtls-$version
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# -z: NUL-separated names; a file deleted but not yet committed is skipped
	git ls-files -z -c -o --exclude-standard | xargs -0 sh -c '
		for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh |
		tar -cf - -T - | tar -xf - -C "$src"
else
	# a tree without git (an unpacked tarball): all but what make builds
	tar -cf - --exclude=./build --exclude=./build-asan --exclude=./mxtlsd \
	    --exclude=./mxtls-report --exclude=./mxtls-check --exclude='*.o' . |
		tar -xf - -C "$src"
fi

echo "deb.sh: dpkg-buildpackage -b -us -uc in $src"
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	echo "deb.sh: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
rm -rf "$out"
mkdir -p "$out"
cp "$tmp/build.log" "$out/build.log"
cp "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out/"
changes=$(ls "$out"/*.changes)

# lintian exits non-zero for errors; the E: lines decide here
lintian --tag-display-limit 0 "$changes" >"$out/lintian.txt" 2>&1 || true
cat "$out/lintian.txt"
ls -l "$out"/*.deb
if grep -q '^E: ' "$out/lintian.txt"; then
	echo "deb.sh: lintian reports errors (build/deb/lintian.txt)" >&2
	exit 1
fi
echo "deb.sh: $(ls "$out"/*.deb | sed 's,.*/,,' | tr '\n' ' ')in build/deb/"
