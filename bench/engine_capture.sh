#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/engine_capture.sh - live-capture pause against heap size.
#
# Starts bench/bigheap at two sizes (1 M and 10 M chunks: ~0.1 and ~1 GiB),
# runs bench/engine_capture 3 times on each, and prints the pause, the bytes
# copied, the copy rate (MB per ms of pause) and the longest stall bigheap's
# own meter saw during the captures (the target's view of the pause).
#   LM_BUILDDIR=... bash bench/engine_capture.sh
set -u
B=${LM_BUILDDIR:?}
tmp=$(mktemp -d /tmp/engine-capture-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

for chunks in 1000000 10000000; do
	out="$tmp/bigheap.$chunks"
	"$B/bench/bigheap" "$chunks" >"$out" 2>&1 &
	pid=$!
	pids+=("$pid")
	for ((i = 0; i < 1200; i++)); do
		grep -q '^ready' "$out" && break
		sleep 0.1
	done
	grep -q '^ready' "$out" || { echo "bigheap $chunks did not start" >&2; exit 1; }
	rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	kill -USR1 "$pid"		# start a fresh stall window
	sleep 0.2
	echo "== target: $chunks chunks, RSS $((rss / 1024)) MiB"
	"$B/bench/engine_capture" "$pid" 3 || exit 1
	kill -USR1 "$pid"
	sleep 0.2
	echo "target's longest stall during the captures: $(tail -1 "$out" | awk '{ print $2 }') us"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
done
