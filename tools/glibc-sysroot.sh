#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/glibc-sysroot.sh SUITE - print the path of a sysroot holding the
# glibc of Debian suite SUITE (bullseye, trixie, sid, ...), downloading and
# unpacking libc6, libc6-dev, linux-libc-dev and libc6-dbg once into a cache.
#
# The cache is $LM_CACHE (default /var/cache/leakmon-test), never the
# source tree. apt runs on a private configuration inside the cache (its own
# sources.list, lists and archives); the machine's apt configuration is only
# read, for the mirror URL, never changed. The mirror is $LM_DEBIAN_MIRROR,
# else the first Debian (non-security) URI of the machine's own sources.
#
# A test target is built against the sysroot with
#   gcc --sysroot=$S -Wl,--dynamic-linker=$S/LDSO -Wl,-rpath=$S/LIBDIR
# where LDSO and LIBDIR are the two lines of $S/.leakmon-sysroot (written by
# this script; a usr-merged suite keeps its files under usr/).
#
# Exit 0 with the path on stdout; exit 77 with the reason on stderr when the
# suite cannot be reached (no network, no such suite, apt refused); exit 1 on
# a usage error.
set -euo pipefail

suite=${1:-}
case $suite in
'' | -*)
	echo "usage: $0 SUITE   (a Debian suite: bullseye, bookworm, trixie, sid)" >&2
	exit 1
	;;
esac
case $suite in
*[!a-z0-9-]*)
	echo "$0: suite '$suite' is not a Debian suite name (letters, digits, '-')" >&2
	exit 1
	;;
esac
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
[ "$arch" = amd64 ] || { echo "$0: only amd64 is supported (this is $arch)" >&2; exit 77; }

cache=${LM_CACHE:-/var/cache/leakmon-test}/glibc/$suite
sysroot=$cache/sysroot
. "$(dirname "$0")/cache-once.sh"
cache_ready "$sysroot" .leakmon-sysroot

skip() { echo "$0: $suite: $*" >&2; exit 77; }

# One download per suite at a time; whoever waited finds the sysroot ready.
cache_lock "$cache" .lock 900 "another download into $cache did not finish in 15 minutes"
cache_ready "$sysroot" .leakmon-sysroot

mirror=$(cache_mirror)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || skip "$keyring missing (install debian-archive-keyring)"

mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/etc/preferences.d"
: >"$cache/status"	# no installed packages: the suite's own versions are the candidates
echo "deb [signed-by=$keyring] $mirror $suite main" >"$cache/sources.list"
apt_opts=(-q -o "Dir::Etc::sourcelist=$cache/sources.list" -o "Dir::Etc::sourceparts=-"
	-o "Dir::Etc::preferencesparts=$cache/etc/preferences.d"
	-o "Dir::State::Lists=$cache/lists" -o "Dir::State::status=$cache/status" -o "Dir::Cache::Archives=$cache/archives"
	-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Architecture=amd64"
	-o "APT::Architectures::=amd64" -o "Acquire::Languages=none")
apt-get "${apt_opts[@]}" update >"$cache/update.log" 2>&1 ||
	skip "apt-get update from $mirror failed: $(tail -n 3 "$cache/update.log" | tr '\n' ' ')"
# apt-get update exits 0 when a mirror cannot be reached: it only warns
grep -qE '^(E:|Err:|W: Failed)' "$cache/update.log" &&
	skip "apt-get update from $mirror: $(grep -E '^(E:|Err:|W: Failed)' "$cache/update.log" | head -n 2 | tr '\n' ' ')"
rm -f "$cache"/debs/*.deb
mkdir -p "$cache/debs"
(cd "$cache/debs" && apt-get "${apt_opts[@]}" download libc6 libc6-dev linux-libc-dev) \
	>"$cache/download.log" 2>&1 ||
	skip "apt-get download libc6 libc6-dev linux-libc-dev failed: $(tail -n 3 "$cache/download.log" | tr '\n' ' ')"
# Debug info, for the tests' oracle (gdb's &main_arena); optional: a suite
# without it still gives a sysroot.
(cd "$cache/debs" && apt-get "${apt_opts[@]}" download libc6-dbg) >>"$cache/download.log" 2>&1 ||
	echo "$0: $suite: no libc6-dbg (gdb cannot name main_arena there)" >&2

# Unpack into a fresh directory, then move it into place: a half-unpacked
# sysroot is never taken for a finished one.
tmp=$(mktemp -d "$cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for deb in "$cache"/debs/*.deb; do
	dpkg-deb -x "$deb" "$tmp"
done
# The packages' absolute symlinks (/lib64/ld-linux-x86-64.so.2 ->
# /lib/x86_64-linux-gnu/ld-2.31.so) would point at the host's files: make
# them relative, inside the sysroot.
find "$tmp" -type l | while read -r l; do
	t=$(readlink "$l")
	case $t in
	/*) ln -sfn "$(realpath -ms --relative-to="$(dirname "$l")" "$tmp$t")" "$l" ;;
	esac
done
# A usr-merged suite ships everything under usr/; the linker scripts of
# libc6-dev still name /lib/... paths, so give the sysroot the same merge.
for d in lib lib64; do
	if [ ! -e "$tmp/$d" ] && [ -d "$tmp/usr/$d" ]; then
		ln -s "usr/$d" "$tmp/$d"
	fi
done
# The dynamic loader: a real file (the packages' own symlinks may be absolute,
# pointing at the host's loader).
ldso=
for c in lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
	lib64/ld-linux-x86-64.so.2 usr/lib64/ld-linux-x86-64.so.2; do
	f=$tmp/$c
	while [ -L "$f" ]; do
		t=$(readlink "$f")
		case $t in
		/*) f=$tmp$t ;;
		*) f=$(dirname "$f")/$t ;;
		esac
	done
	if [ -f "$f" ]; then
		ldso=${f#"$tmp"/}
		break
	fi
done
[ -n "$ldso" ] || skip "no ld-linux-x86-64.so.2 in the unpacked libc6 of $suite"
libdir=$(dirname "$ldso")
[ -e "$tmp/$libdir/libc.so.6" ] || skip "no libc.so.6 beside $ldso in $suite's libc6"
printf '%s\n%s\n' "$ldso" "$libdir" >"$tmp/.leakmon-sysroot"
rm -rf "$sysroot"
mv "$tmp" "$sysroot"
trap - EXIT
rm -rf "$cache/lists" "$cache/debs"	# only the sysroot is reused
echo "$sysroot"
