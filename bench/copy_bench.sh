#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/copy_bench.sh [COUNT] - the frozen copy against the alternatives, in
# one run (docs/copy.md has the figures):
#  1. on bench/bigheap (about 1 GiB in COUNT = 10 million chunks): the
#     target's longest stall, as its own stall meter saw it, under a
#     frozen-copy census, a stopped-live census and `gdb gcore`; plus the
#     pauses leakmon recorded (the clone stop and the brief reap stop);
#     then again with the heap in transparent huge pages (the target run
#     with GLIBC_TUNABLES=glibc.malloc.hugetlb=1; SKIP_THP=1 skips it);
#  2. on bench/copy_bench (a malloc-heavy loop over a 256 MiB heap): its
#     malloc/free rate alone and while a frozen-copy census starts every
#     second, in alternating windows of SECS seconds (WINDOWS pairs).
# Medians of RUNS runs (default 5; gcore: GCORE_RUNS, default 2).
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
srcdir=${LM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
count=${1:-10000000}
runs=${RUNS:-5}
gruns=${GCORE_RUNS:-2}
secs=${SECS:-8}
tmp=$(mktemp -d /tmp/leakmon-copybench.XXXXXX)
tcopy=$builddir/tests/t_copy
[ -x "$tcopy" ] && [ -x "$builddir/bench/fault_cost" ] ||
	make -C "$builddir" tests/t_copy bench/fault_cost >/dev/null || exit 1
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
. "$srcdir/bench/stall.sh"

# ---- 1. stalls (SKIP_STALL=1: only part 2)
# stall_bench LABEL [VAR=VALUE...]: part 1 on a bigheap started with that
# environment.
stall_bench() {
local label=$1 t=$tmp/$1
shift
mkdir -p "$t"
out=$t/bigheap.out
bigheap_start "$builddir/bench/bigheap" "$count" "$@"

echo "# bench/copy_bench.sh ($label): $count chunks, $runs runs ($gruns for gcore), $(date -u +%FT%TZ), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "target RSS: $(( $(awk '/VmRSS/ {print $2}' /proc/$target/status) / 1024 )) MiB, of which in huge pages: $(( $(awk '/AnonHugePages/ {print $2}' /proc/$target/smaps_rollup) / 1024 )) MiB"
# The noise floor: the longest gap the meter sees with nothing attached
# (a loaded machine delays its wake-ups too).
for r in $(seq 1 "$runs"); do
	stall "$t/cmd.out" "$t/err" sleep 0.5 >>"$t/idle.txt"
done
for r in $(seq 1 "$runs"); do
	for mode in copy live; do
		s=$(T_COPY_NOWALK=1 stall "$t/cmd.out" "$t/err" "$tcopy" census $target $mode 1)
		if ! grep -q '^census' "$t/cmd.out"; then
			echo "$mode census failed: $(cat "$t/err")" >&2
			continue
		fi
		echo "$s $(awk '{print $8, $10}' "$t/cmd.out")" >>"$t/$mode.txt"
	done
done
if command -v gdb >/dev/null; then
	for r in $(seq 1 "$gruns"); do
		stall "$t/cmd.out" "$t/err" gdb -q -batch -p $target -ex "gcore $t/core" >>"$t/gcore.txt"
		rm -f "$t/core"
	done
fi
for mode in idle copy live gcore; do
	[ -s "$t/$mode.txt" ] || continue
	if [ $mode = gcore ] || [ $mode = idle ]; then
		printf '%-6s stall %8s us (all: %s)\n' $mode "$(cut -d' ' -f1 "$t/$mode.txt" | median)" \
			"$(cut -d' ' -f1 "$t/$mode.txt" | tr '\n' ' ')"
	else
		printf '%-6s stall %8s us  recorded pause %8s us  reap stop %6s us (stalls: %s)\n' $mode \
			"$(cut -d' ' -f1 "$t/$mode.txt" | median)" "$(cut -d' ' -f2 "$t/$mode.txt" | median)" \
			"$(cut -d' ' -f3 "$t/$mode.txt" | median)" "$(cut -d' ' -f1 "$t/$mode.txt" | tr '\n' ' ')"
	fi
done
c=$(cut -d' ' -f1 "$t/copy.txt" 2>/dev/null | median)
l=$(cut -d' ' -f1 "$t/live.txt" 2>/dev/null | median)
g=$(cut -d' ' -f1 "$t/gcore.txt" 2>/dev/null | median)
[ -n "$c" ] && [ -n "$l" ] && echo "ratio live/copy stall: $(awk -v a="$l" -v b="$c" 'BEGIN{printf "%.1f", a/b}')"
[ -n "$c" ] && [ -n "$g" ] && echo "ratio gcore/copy stall: $(awk -v a="$g" -v b="$c" 'BEGIN{printf "%.1f", a/b}')"
kill -KILL $target; wait $target 2>/dev/null
}

if [ -z "${SKIP_STALL:-}" ]; then
	stall_bench "4 KiB pages"
	# A heap in transparent huge pages (glibc's glibc.malloc.hugetlb=1
	# tunable, the service's own choice): fork copies one entry per 2 MiB.
	if [ -z "${SKIP_THP:-}" ] &&
	   grep -qE '\[(always|madvise)\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
		stall_bench "glibc.malloc.hugetlb=1" GLIBC_TUNABLES=glibc.malloc.hugetlb=1
	fi
fi

# ---- 2. throughput: windows alone and with a census every second,
# alternated (A B A B ...) so that the machine's drift hits both alike.
out=$tmp/churn.out
start_ready "$out" "$builddir/bench/copy_bench" 256
churn=$started
sleep 2
rates() { grep '^rate' "$out" | tail -n +$(($1 + 1)) | head -n $(($2 - $1)); }
# minor page faults the target has taken so far (/proc/PID/stat field 10)
minflt() { sed 's/.*) //' /proc/$churn/stat | awk '{print $8}'; }
censuses=0 flt_alone=0 flt_with=0 secs_alone=0 secs_with=0
: >"$tmp/alone.txt"; : >"$tmp/with.txt"
for w in $(seq 1 "${WINDOWS:-3}"); do
	n0=$(grep -c '^rate' "$out")
	f0=$(minflt)
	sleep "$secs"
	n1=$(grep -c '^rate' "$out")
	f1=$(minflt)
	flt_alone=$((flt_alone + f1 - f0)) secs_alone=$((secs_alone + secs))
	rates $n0 $n1 >>"$tmp/alone.txt"
	end=$(( $(date +%s) + secs ))
	while [ "$(date +%s)" -lt $end ]; do
		t0=$(date +%s%N)
		# The copy's lifetime (the capture) is what the target feels
		# (copy-on-write faults); leakmond's walk runs afterwards on its
		# own buffers, on its own CPU time (T_COPY_WALK=1 includes it).
		if [ -n "${T_COPY_WALK:-}" ]; then
			"$tcopy" census $churn copy 1 >>"$tmp/churn.txt" 2>>"$tmp/churn.err"
		else
			T_COPY_NOWALK=1 "$tcopy" census $churn copy 1 >>"$tmp/churn.txt" 2>>"$tmp/churn.err"
		fi && censuses=$((censuses + 1))
		t1=$(date +%s%N)
		left=$(( 1000000000 - (t1 - t0) ))
		[ $left -gt 0 ] && sleep "0.$(printf '%09d' $left)"
	done
	n2=$(grep -c '^rate' "$out")
	f2=$(minflt)
	flt_with=$((flt_with + f2 - f1)) secs_with=$((secs_with + secs))
	rates $n1 $n2 >>"$tmp/with.txt"
done
alone=$(awk '{print $2}' "$tmp/alone.txt" | median)
with=$(awk '{print $2}' "$tmp/with.txt" | median)
calone=$(awk '{print $3}' "$tmp/alone.txt" | median)
cwith=$(awk '{print $3}' "$tmp/with.txt" | median)
echo "malloc-heavy target: alone $alone ops/s, with a copy census every second ($censuses censuses) $with ops/s: $(awk -v a="$with" -v b="$alone" 'BEGIN{printf "%.1f%%", 100*a/b}')"
echo "  per second of the target's own CPU: alone $calone, with censuses $cwith: $(awk -v a="$cwith" -v b="$calone" 'BEGIN{printf "%.1f%%", 100*a/b}')"
# Why: each census write-protects the target's pages (fork), so every page
# it then writes costs one fault; what a fault costs is the machine's.
cow=$(awk '{print $NF}' "$tmp/churn.txt" 2>/dev/null | median)
echo "  the target copied on write a median $cow KiB ($((${cow:-0} / 4)) pages) while each copy lived"
fc=$("$builddir/bench/fault_cost" 64)
echo "  $fc"
awk -v fa="$flt_alone" -v sa="$secs_alone" -v fw="$flt_with" -v sw="$secs_with" \
	-v n="$censuses" -v fc="$fc" 'BEGIN {
	split(fc, f, " ")
	for (i = 2; i < length(f); i += 2) ns[f[i]] = f[i + 1]
	extra = fw / sw - fa / sa
	printf "  target page faults: alone %.0f/s, with censuses %.0f/s: %.0f more per census;\n", fa / sa, fw / sw, extra * sw / (n ? n : 1)
	printf "  at %.1f-%.1f us a fault (reuse-COW) that is %.0f-%.0f ms of each second, %.1f-%.1f%% throughput\n",
		ns["reuse_ns"] / 1000, ns["cow_ns"] / 1000, extra * ns["reuse_ns"] / 1e6, extra * ns["cow_ns"] / 1e6,
		100 - extra * ns["cow_ns"] / 1e7, 100 - extra * ns["reuse_ns"] / 1e7
}'
