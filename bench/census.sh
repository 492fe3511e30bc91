#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/census.sh [COUNT] - `leakmon stat` on the benchmark target (about
# 1 GiB in 10 million chunks by default) beside `gdb gcore`, in one run.
# For each method: the target's longest stall as its own stall meter saw it,
# and for leakmon the pause it recorded, the walk time, chunks per second and
# our peak RSS. Figures are medians of RUNS runs (default 3).
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
srcdir=${LM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
count=${1:-10000000}
runs=${RUNS:-3}
. "$srcdir/bench/stall.sh"
tmp=$(mktemp -d /tmp/leakmon-bench.XXXXXX)
out=$tmp/target.out
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
bigheap_start "$builddir/bench/bigheap" "$count"

echo "# bench/census.sh: $count chunks, $runs runs each, $(date -u +%FT%TZ), $(nproc) cpus"
rss=$(awk '/VmRSS/ {print $2}' /proc/$target/status)
echo "target RSS: $((rss / 1024)) MiB"
for mode in live ${MODES:-copy}; do
	: >"$tmp/$mode.txt"
	for r in $(seq 1 "$runs"); do
		s=$(stall "$tmp/census.json" "$tmp/err" /usr/bin/time -f '%M' -o "$tmp/time" \
			"$builddir/leakmon" stat --json --mode "$mode" $target)
		python3 - "$tmp/census.json" "$s" "$(cat "$tmp/time" | tail -1)" >>"$tmp/$mode.txt" <<'PY' || { echo "$mode: leakmon failed: $(cat "$tmp/err")"; break; }
import json, sys
j = json.load(open(sys.argv[1]))
t = j["totals"]; chunks = t["inuse_count"] + t["free_count"]
print(sys.argv[2], j["pause_us"], j["walk_us"], chunks, int(chunks / max(j["walk_us"], 1) * 1e6), int(sys.argv[3]) // 1024, j["source"])
PY
	done
	[ -s "$tmp/$mode.txt" ] || continue
	printf '%-6s stall %7s us  pause %7s us  walk %8s us  %9s chunks  %10s chunks/s  peak RSS %5s MiB  (source %s)\n' "$mode" \
		"$(cut -d' ' -f1 "$tmp/$mode.txt" | median)" "$(cut -d' ' -f2 "$tmp/$mode.txt" | median)" \
		"$(cut -d' ' -f3 "$tmp/$mode.txt" | median)" "$(cut -d' ' -f4 "$tmp/$mode.txt" | median)" \
		"$(cut -d' ' -f5 "$tmp/$mode.txt" | median)" "$(cut -d' ' -f6 "$tmp/$mode.txt" | median)" \
		"$(cut -d' ' -f7 "$tmp/$mode.txt" | head -1)"
done
if command -v gdb >/dev/null; then
	: >"$tmp/gcore.txt"
	for r in $(seq 1 "$runs"); do
		stall /dev/null "$tmp/err" gdb -q -batch -p $target -ex "gcore $tmp/core" >>"$tmp/gcore.txt"
		rm -f "$tmp/core"
	done
	printf '%-6s stall %7s us\n' gcore "$(median <"$tmp/gcore.txt")"
fi
live=$(cut -d' ' -f1 "$tmp/live.txt" | median)
gc=$(median <"$tmp/gcore.txt" 2>/dev/null)
[ -n "$live" ] && [ -n "$gc" ] && echo "ratio: gcore stall / leakmon live stall = $(awk -v a="$gc" -v b="$live" 'BEGIN{printf "%.1f", a/b}')"
if [ -s "$tmp/copy.txt" ]; then
	cp=$(cut -d' ' -f1 "$tmp/copy.txt" | median)
	echo "ratio: live stall / copy stall = $(awk -v a="$live" -v b="$cp" 'BEGIN{printf "%.1f", a/b}'); gcore / copy = $(awk -v a="$gc" -v b="$cp" 'BEGIN{printf "%.1f", a/b}')"
fi
