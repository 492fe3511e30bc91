# SPDX-License-Identifier: MIT
# tools/cache-once.sh - sourced by the scripts that make a tree once into
# the test cache (glibc-sysroot.sh, python-root.sh, systemd-tree.sh). Tests
# run in parallel: the first one makes the tree under a lock, the others
# wait for it and find the tree ready. The tree is complete once its marker
# file is written, the last step. The caller defines skip (the reason on
# stderr, exit 77).

# cache_ready TREE MARKER: when TREE/MARKER is there, print TREE and exit 0.
cache_ready() {
	if [ -f "$1/$2" ]; then
		echo "$1"
		exit 0
	fi
}

# cache_lock DIR LOCKFILE SECONDS WHY: create the cache directory DIR and
# hold DIR/LOCKFILE (on descriptor 9, until exit), waiting SECONDS at most;
# skip with WHY if it stays taken.
cache_lock() {
	mkdir -p "$1" 2>/dev/null || skip "cannot create the cache $1 (set LM_CACHE)"
	exec 9>"$1/$2"
	flock -w "$3" 9 || skip "$4"
}

# cache_mirror: print the Debian mirror (tools/debian-mirror.sh), or skip.
cache_mirror() {
	"$(dirname "${BASH_SOURCE[0]}")/debian-mirror.sh" ||
		skip "no Debian mirror in /etc/apt/sources.list(.d); set LM_DEBIAN_MIRROR"
}
