#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/systemd-tree.sh - print the path of a Debian bookworm tree that
# boots systemd under systemd-nspawn, building it once into a cache.
#
# The tree is $LM_CACHE/bookworm (default /var/cache/leakmon-test), never in
# the source tree: debootstrap --variant=minbase with systemd, dbus and the
# libraries leakmon links against, plus sqlite3 (an operator reads the
# history with it) and procps. Tests copy leakmon into a throw-away overlay
# of it, so the cached tree itself is never booted and never changes.
#
# The mirror is $LM_DEBIAN_MIRROR, else the first Debian (non-security) URI
# of the machine's own apt sources.
#
# Exit 0 with the path on stdout; exit 77 with the reason on stderr when the
# tree cannot be made (no debootstrap, no network, not root).
set -euo pipefail

cache=${LM_CACHE:-/var/cache/leakmon-test}
tree=$cache/bookworm
skip() { echo "$0: $*" >&2; exit 77; }
. "$(dirname "$0")/cache-once.sh"

cache_ready "$tree" .leakmon-tree
[ "$(id -u)" = 0 ] || skip "building the container tree needs root"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (apt-get install debootstrap)"
cache_lock "$cache" .bookworm.lock 1800 "another build of $tree did not finish in 30 minutes"
cache_ready "$tree" .leakmon-tree

mirror=$(cache_mirror)

# systemd as PID 1, and what leakmond and leakmon need at run time.
pkgs=systemd,systemd-sysv,dbus,libpam-systemd,procps,sqlite3
pkgs=$pkgs,libelf1,libdw1,libjansson4,libsqlite3-0,libcurl4,libinih1,libev4,libssl3,libstdc++6

rm -rf "$tree.new"
if ! debootstrap --variant=minbase --include="$pkgs" bookworm "$tree.new" "$mirror" \
	>"$cache/bookworm.log" 2>&1; then
	rm -rf "$tree.new"
	skip "debootstrap bookworm from $mirror failed: $(tail -n 3 "$cache/bookworm.log" | tr '\n' ' ')"
fi
# Quiet boots: no getty on a console nobody reads, no machine-id questions.
rm -f "$tree.new/etc/machine-id"
: >"$tree.new/etc/machine-id"
echo "bookworm $mirror $(date -u +%FT%TZ)" >"$tree.new/.leakmon-tree"
rm -rf "$tree"
mv "$tree.new" "$tree"
echo "$tree"
