#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/compare.sh A_BUILDDIR B_BUILDDIR [COUNT] - two builds of leakmon side
# by side on the same target, to show that a change moved no figure
# (docs/benchmarks.md: how to read it, and a comparison made with it).
#
# One bench/bigheap target (COUNT chunks, default 10 million: about 1 GiB),
# then RUNS rounds (default 5), each running A's tools and B's on it (A
# first in odd rounds, B first in even ones), so that a busy machine's drift
# and whatever the first run leaves warm hit both alike:
#   - leakmon stat --json, live and --mode copy (what census.sh measures):
#     the pause and the walk leakmon recorded, the chunks walked per second,
#     our peak RSS and CPU time (user + system: what a busy machine's
#     other work disturbs least), and the target's longest stall as its
#     own meter saw it;
#   - bench/engine_capture (engine_capture.sh): the live capture's pause,
#     its copy rate and the process's peak RSS;
#   - tests/t_copy census without the walk (copy_bench.sh, part 1): the
#     target's stall under a frozen copy and the pause recorded;
#   - with CHURN=1, bench/copy_bench (copy_bench.sh, part 2): the rate of a
#     malloc-heavy target while each build takes a copy census every second,
#     as a share of its rate alone in the window before (SECS seconds each).
# Each figure: A's median, B's median, the median of the per-round ratios
# B/A (the figure to read: 1.00 is no change) and their range (how noisy).
# FIGURES=FILE keeps every measurement there, a line each: round, build,
# figure, value.
# A build whose leakmon has --max-memory and --max-pause runs with both 0
# (no bound), as a build before them did; LIMITS=1 keeps its defaults
# (then a live census of a big target is refused).
set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/bench/stall.sh"
[ $# -ge 2 ] || { echo "usage: bench/compare.sh A_BUILDDIR B_BUILDDIR [COUNT]" >&2; exit 2; }
A=$(cd "$1" && pwd) B=$(cd "$2" && pwd) || exit 2
count=${3:-10000000}
runs=${RUNS:-5}
secs=${SECS:-5}
for b in "$A" "$B"; do
	make -C "$b" leakmon bench/bigheap bench/engine_capture bench/copy_bench tests/t_copy \
		>/dev/null || { echo "$b: cannot build the benchmark programs" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/leakmon-compare.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
# limits BUILD: the options that lift leakmon's bounds, if it has them.
limits() {
	[ "${LIMITS:-0}" = 1 ] && return
	"$1/leakmon" stat --help 2>&1 | grep -q -- --max-memory && echo "--max-memory 0 --max-pause 0"
}
out=$tmp/bigheap.out
# One target for both builds: A's bigheap (the target is not what changes).
bigheap_start "$A/bench/bigheap" "$count"
# sides ROUND: the order of the builds in that round.
sides() { [ $(($1 % 2)) = 1 ] && echo A B || echo B A; }
# put ROUND SIDE METRIC VALUE: one measurement, for the summary.
put() { echo "$1 $2 $3 $4" >>"$tmp/figures"; }

# census ROUND SIDE BUILD MODE: leakmon stat on the target.
census() {
	local s
	s=$(stall "$tmp/cmd.out" "$tmp/err" /usr/bin/time -f '%M %U %S' -o "$tmp/time" \
		"$3/leakmon" stat --json --mode "$4" $(limits "$3") $target)
	python3 - "$tmp/cmd.out" "$s" "$(tail -1 "$tmp/time")" "$1 $2 $4" >>"$tmp/figures" <<'PY' ||
import json, sys
j = json.load(open(sys.argv[1]))
t = j["totals"]
chunks = t["inuse_count"] + t["free_count"]
for name, v in (("stall_us", sys.argv[2]), ("pause_us", j["pause_us"]),
		("walk_us", j["walk_us"]), ("chunks_per_s", int(chunks / max(j["walk_us"], 1) * 1e6)),
		("peak_rss_mib", int(sys.argv[3].split()[0]) // 1024),
		("cpu_ms", int(sum(map(float, sys.argv[3].split()[1:])) * 1000))):
	r, side, mode = sys.argv[4].split()
	print(r, side, mode + "_" + name, v)
PY
		echo "$2 $4 census failed: $(cat "$tmp/err")" >&2
}

# capture ROUND SIDE BUILD: one live capture by bench/engine_capture.
capture() {
	local s
	s=$(stall "$tmp/cmd.out" "$tmp/err" "$3/bench/engine_capture" $target 1)
	grep -q '^capture' "$tmp/cmd.out" || { echo "$2 capture failed: $(cat "$tmp/err")" >&2; return; }
	put "$1" "$2" capture_stall_us "$s"
	awk -v r="$1" -v s="$2" '{ print r, s, "capture_pause_us", $4; print r, s, "capture_mb_per_ms", $8;
		print r, s, "capture_peak_rss_mib", int($12 / 1024) }' "$tmp/cmd.out" >>"$tmp/figures"
}

# frozen ROUND SIDE BUILD: a frozen copy taken and let go (no walk).
frozen() {
	local s
	s=$(T_COPY_NOWALK=1 stall "$tmp/cmd.out" "$tmp/err" "$3/tests/t_copy" census $target copy 1)
	grep -q '^census' "$tmp/cmd.out" || { echo "$2 frozen copy failed: $(cat "$tmp/err")" >&2; return; }
	put "$1" "$2" frozen_stall_us "$s"
	put "$1" "$2" frozen_pause_us "$(awk '{print $8}' "$tmp/cmd.out")"
	put "$1" "$2" frozen_reap_us "$(awk '{print $10}' "$tmp/cmd.out")"
}

echo "# bench/compare.sh: A $A, B $B; $count chunks, $runs rounds, $(date -u +%FT%TZ), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# leakmon options: A: $(limits "$A")${LIMITS:+ (LIMITS=$LIMITS)}; B: $(limits "$B")"
echo "target RSS: $(( $(awk '/VmRSS/ {print $2}' /proc/$target/status) / 1024 )) MiB"
: >"$tmp/figures"
for r in $(seq 1 "$runs"); do
	for side in $(sides "$r"); do
		[ $side = A ] && build=$A || build=$B
		census "$r" $side "$build" live
		census "$r" $side "$build" copy
		capture "$r" $side "$build"
		frozen "$r" $side "$build"
	done
done
kill -KILL $target; wait $target 2>/dev/null

if [ "${CHURN:-0}" = 1 ]; then
	churn_out=$tmp/churn.out
	start_ready "$churn_out" "$A/bench/copy_bench" 256
	churn=$started
	sleep 2
	# rate FROM: median ops/s the target printed since line FROM.
	rate() { grep '^rate' "$churn_out" | tail -n +$(($1 + 1)) | awk '{print $2}' | median; }
	for r in $(seq 1 "$runs"); do
		for side in $(sides "$r"); do
			[ $side = A ] && build=$A || build=$B
			n0=$(grep -c '^rate' "$churn_out")
			sleep "$secs"
			alone=$(rate "$n0")
			n1=$(grep -c '^rate' "$churn_out")
			end=$(( $(date +%s) + secs ))
			while [ "$(date +%s)" -lt $end ]; do
				t0=$(date +%s%N)
				T_COPY_NOWALK=1 "$build/tests/t_copy" census $churn copy 1 >/dev/null 2>&1
				left=$(( 1000000000 - ($(date +%s%N) - t0) ))
				[ $left -gt 0 ] && sleep "0.$(printf '%09d' $left)"
			done
			put "$r" $side churn_rate_share "$(awk -v a="$(rate "$n1")" -v b="$alone" \
				'BEGIN{printf "%.3f", b ? a / b : 0}')"
		done
	done
fi

[ -n "${FIGURES:-}" ] && cp "$tmp/figures" "$FIGURES"
python3 - "$tmp/figures" <<'PY'
import collections, statistics, sys
v = collections.defaultdict(dict)	# metric -> (round, side) -> value
order = []
for line in open(sys.argv[1]):
	r, side, metric, value = line.split()
	if metric not in v:
		order.append(metric)
	v[metric][(r, side)] = float(value)
print("%-26s %12s %12s %7s %6s  %s" % ("figure", "A median", "B median", "B/A", "rounds",
					 "B/A range"))
for m in order:
	a = [x for (r, s), x in v[m].items() if s == "A"]
	b = [x for (r, s), x in v[m].items() if s == "B"]
	ratios = [v[m][(r, "B")] / v[m][(r, "A")] for (r, s) in v[m]
		  if s == "A" and (r, "B") in v[m] and v[m][(r, "A")]]
	print("%-26s %12.6g %12.6g %7s %6d  %s" % (m, statistics.median(a) if a else float("nan"),
		statistics.median(b) if b else float("nan"),
		"%.3f" % statistics.median(ratios) if ratios else "-", len(ratios),
		"%.2f-%.2f" % (min(ratios), max(ratios)) if ratios else "-"))
PY
