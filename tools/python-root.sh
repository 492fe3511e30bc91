#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/python-root.sh SUITE - print the path of a root tree of Debian suite
# SUITE (bullseye, trixie, ...) holding that suite's python3.X, made once
# with debootstrap (variant minbase) into a cache, for tests that run
# another CPython version under `chroot`.
#
# The cache is $LM_CACHE (default /var/cache/leakmon-test)/python/SUITE,
# never the source tree. The mirror is $LM_DEBIAN_MIRROR, else the first
# Debian (non-security) URI of the machine's own apt sources.
#
# Exit 0 with the path on stdout (its python is named in ROOT/.leakmon-python);
# exit 77 with the reason on stderr when the tree cannot be made (no
# debootstrap, no network, unknown suite); exit 1 on a usage error.
set -euo pipefail

suite=${1:-}
case $suite in
bullseye) python=python3.9 ;;
bookworm) python=python3.11 ;;
trixie) python=python3.13 ;;
'' | -*)
	echo "usage: $0 SUITE   (bullseye, bookworm, trixie)" >&2
	exit 1
	;;
*)
	echo "$0: no CPython version known for suite '$suite'" >&2
	exit 1
	;;
esac
cache=${LM_CACHE:-/var/cache/leakmon-test}/python/$suite
root=$cache/root
. "$(dirname "$0")/cache-once.sh"
cache_ready "$root" .leakmon-python
skip() { echo "$0: $suite: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "debootstrap needs root"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (apt-get install debootstrap)"
# One debootstrap per suite at a time.
cache_lock "$cache" .lock 1200 "another debootstrap into $cache did not finish in 20 minutes"
cache_ready "$root" .leakmon-python
mirror=$(cache_mirror)
tmp=$(mktemp -d "$cache/root.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debootstrap --variant=minbase --include="$python-minimal" "$suite" "$tmp" "$mirror" \
	>"$cache/debootstrap.log" 2>&1 ||
	skip "debootstrap $suite from $mirror failed: $(tail -n 3 "$cache/debootstrap.log" | tr '\n' ' ')"
[ -x "$tmp/usr/bin/$python" ] || skip "no /usr/bin/$python in the $suite tree"
rm -rf "$tmp"/var/cache/apt/archives/*.deb
echo "/usr/bin/$python" >"$tmp/.leakmon-python"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
echo "$root"
