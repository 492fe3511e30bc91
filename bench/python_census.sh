#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/python_census.sh [OBJECTS] - `leakmon stat` on a Python service
# holding about OBJECTS pymalloc blocks and objects (default 10 million:
# tests/targets/py_sessions.py, six blocks per session), side by side in one
# run with the C benchmark target (bench/bigheap) holding as many malloc
# chunks as the Python census walked. For each, live (the whole heap
# captured, --max-memory 16G) and from a frozen copy (--mode copy, read
# through its bounded window within the default max_memory): the pause, the
# walk time, blocks or chunks per second, our peak RSS; medians of RUNS runs
# (default 3).
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
srcdir=${LM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
python=${LM_TEST_PYTHON:-/usr/bin/python3.11}
objects=${1:-10000000}
runs=${RUNS:-3}
[ -x "$python" ] || { echo "bench/python_census.sh: $python not installed: skipped"; exit 0; }
tmp=$(mktemp -d /tmp/leakmon-pybench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL $p 2>/dev/null; done; rm -rf "$tmp"' EXIT

wait_ready() {	# FILE
	for _ in $(seq 1 3000); do grep -q '^ready' "$1" && return 0; sleep 0.1; done
	echo "bench target did not start: $(cat "$1")" >&2
	exit 1
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# census NAME PID MODE: RUNS censuses; one line of medians.
census() {
	local name=$1 pid=$2 mode=$3 r mem=()
	[ "$mode" = live ] && mem=(--max-memory 16G)
	: >"$tmp/$name.txt"
	for r in $(seq 1 "$runs"); do
		/usr/bin/time -f '%M' -o "$tmp/time" "$builddir/leakmon" stat --json --mode "$mode" --max-pause 60s "${mem[@]}" "$pid" \
			>"$tmp/census.json" 2>"$tmp/err" || { echo "$name: leakmon failed: $(cat "$tmp/err")"; return 1; }
		python3 - "$tmp/census.json" "$(tail -1 "$tmp/time")" >>"$tmp/$name.txt" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t = j["totals"]; n = t["inuse_count"] + t["free_count"]
print(j["pause_us"], j["walk_us"], n, int(n / max(j["walk_us"], 1) * 1e6), int(sys.argv[2]) // 1024)
PY
	done
	printf '%-12s pause %8s us  walk %9s us  %9s blocks+chunks  %10s per s  peak RSS %5s MiB\n' "$name" \
		"$(cut -d' ' -f1 "$tmp/$name.txt" | median)" "$(cut -d' ' -f2 "$tmp/$name.txt" | median)" \
		"$(cut -d' ' -f3 "$tmp/$name.txt" | median)" "$(cut -d' ' -f4 "$tmp/$name.txt" | median)" \
		"$(cut -d' ' -f5 "$tmp/$name.txt" | median)"
}

echo "# bench/python_census.sh: about $objects objects, $runs runs each, $(date -u +%FT%TZ), $(nproc) cpus"
"$python" "$srcdir/tests/targets/py_sessions.py" $((objects / 6)) 0 >"$tmp/py.out" 2>&1 &
pids+=($!)
wait_ready "$tmp/py.out"
echo "python target RSS: $(($(awk '/VmRSS/ {print $2}' /proc/${pids[0]}/status) / 1024)) MiB"
census python "${pids[0]}" live || exit 1
census python-copy "${pids[0]}" copy || exit 1
"$builddir/leakmon" stat --top 6 --max-pause 60s --max-memory 16G "${pids[0]}" | sed 's/^/  /'
chunks=$(cut -d' ' -f3 "$tmp/python.txt" | median)
"$builddir/bench/bigheap" "$chunks" >"$tmp/c.out" 2>&1 &
pids+=($!)
wait_ready "$tmp/c.out"
echo "C target RSS: $(($(awk '/VmRSS/ {print $2}' /proc/${pids[1]}/status) / 1024)) MiB"
kill -KILL "${pids[0]}"
census C "${pids[1]}" live || exit 1
census C-copy "${pids[1]}" copy || exit 1
py_pause=$(cut -d' ' -f1 "$tmp/python.txt" | median); c_pause=$(cut -d' ' -f1 "$tmp/C.txt" | median)
py_rate=$(cut -d' ' -f4 "$tmp/python.txt" | median); c_rate=$(cut -d' ' -f4 "$tmp/C.txt" | median)
echo "ratio, live: pause python / C = $(awk -v a="$py_pause" -v b="$c_pause" 'BEGIN{printf "%.2f", a/b}'); walk rate C / python = $(awk -v a="$c_rate" -v b="$py_rate" 'BEGIN{printf "%.2f", a/b}')"
py_pause=$(cut -d' ' -f1 "$tmp/python-copy.txt" | median); c_pause=$(cut -d' ' -f1 "$tmp/C-copy.txt" | median)
py_rate=$(cut -d' ' -f4 "$tmp/python-copy.txt" | median); c_rate=$(cut -d' ' -f4 "$tmp/C-copy.txt" | median)
echo "ratio, copy: pause python / C = $(awk -v a="$py_pause" -v b="$c_pause" 'BEGIN{printf "%.2f", a/b}'); walk rate C / python = $(awk -v a="$c_rate" -v b="$py_rate" 'BEGIN{printf "%.2f", a/b}')"
