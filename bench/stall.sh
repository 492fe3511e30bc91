# SPDX-License-Identifier: MIT
# bench/stall.sh - sourced by the benchmarks that measure a bench/bigheap
# target's stall (census.sh, copy_bench.sh, compare.sh). The target is
# $target (its pid) writing to the file $out: a "ready" line once its heap
# is built, and on each SIGUSR1 a "stall US" line, the longest gap its own
# meter saw since the previous one.

# start_ready OUTFILE CMD...: start CMD in the background, its output to
# OUTFILE, and wait up to two minutes for its "ready" line; its pid is
# then $started (and added to $pids, for the caller's exit trap).
start_ready() {
	local file=$1
	shift
	"$@" >"$file" &
	started=$!
	pids+=($started)
	for _ in $(seq 1 1200); do grep -q '^ready' "$file" && break; sleep 0.1; done
	grep -q '^ready' "$file" || { echo "bench target $1 did not start" >&2; exit 1; }
}

# bigheap_start BIGHEAP COUNT [VAR=VALUE...]: start BIGHEAP with COUNT
# chunks in that environment, output to $out; set $target once it is ready.
bigheap_start() {
	local bin=$1 count=$2
	shift 2
	start_ready "$out" env "$@" "$bin" "$count"
	target=$started
}

# stall OUTFILE ERRFILE CMD...: run CMD (its stdout to OUTFILE, its stderr
# to ERRFILE), print the target's longest stall (us) meanwhile.
stall() {
	local file=$1 errfile=$2 before
	shift 2
	kill -USR1 $target; sleep 0.2
	before=$(grep -c '^stall' "$out")
	"$@" >"$file" 2>"$errfile"
	sleep 0.2; kill -USR1 $target
	for _ in $(seq 1 50); do
		[ "$(grep -c '^stall' "$out")" -gt "$before" ] && break
		sleep 0.05
	done
	grep '^stall' "$out" | tail -1 | awk '{print $2}'
}

# median: of the numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
