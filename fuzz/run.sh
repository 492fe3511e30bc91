#!/bin/bash
# SPDX-License-Identifier: MIT
# fuzz/run.sh SRCDIR BINDIR SECONDS NAME... - what `make fuzz` and
# `make fuzz-smoke` run (docs/fuzzing.md).
#
# For each harness NAME: first replay every input kept in
# SRCDIR/regressions/NAME (each one crashed once; all must pass now), then
# fuzz for SECONDS from the seeds in SRCDIR/corpus/NAME (read only). New
# inputs, the log and any crashing input go to $FUZZ_OUT/NAME (default
# ./fuzz/out), never into the source tree. $FUZZ_FLAGS adds libFuzzer
# options. Prints one summary line per harness; exits 1 when any harness
# crashed, leaked, timed out or failed a regression.
set -u
src=$1 bin=$2 secs=$3
shift 3
out=${FUZZ_OUT:-$PWD/fuzz/out}
status=0
for name in "$@"; do
	exe=$bin/fuzz_$name
	dir=$out/$name
	mkdir -p "$dir/corpus" "$dir/artifacts"
	regs=()
	if [ -d "$src/regressions/$name" ]; then
		for f in "$src/regressions/$name"/*; do
			[ -f "$f" ] && regs+=("$f")
		done
	fi
	if [ ${#regs[@]} -gt 0 ]; then
		if ! "$exe" -timeout=10 -rss_limit_mb=2048 "${regs[@]}" >"$dir/regressions.log" 2>&1; then
			echo "fuzz $name: a regression input fails again; see $dir/regressions.log" >&2
			grep -m3 -E 'ERROR|SUMMARY|Running' "$dir/regressions.log" >&2
			status=1
		fi
	fi
	seeds=()
	[ -d "$src/corpus/$name" ] && seeds=("$src/corpus/$name")
	# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of options
	"$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$dir/artifacts/" ${FUZZ_FLAGS:-} "$dir/corpus" "${seeds[@]}" \
		>"$dir/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -1)
	echo "fuzz $name: ${secs}s, ${execs:-?} runs, ${cov:-no coverage line}, ${#regs[@]} regressions replayed, exit $rc"
	if [ $rc -ne 0 ]; then
		echo "fuzz $name: FAILED; the input is in $dir/artifacts/, the report in $dir/log:" >&2
		grep -m5 -E '^==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written' "$dir/log" >&2
		status=1
	fi
done
exit $status
