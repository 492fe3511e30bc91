#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/glibc_matrix.sh [COUNT] - census speed per glibc version and mode,
# side by side in one run: the benchmark target (bench/bigheap.c, COUNT
# chunks, default 1 million) built against the host's glibc and against each
# suite of $LM_GLIBC_SUITES (default bullseye trixie sid experimental; sysroots from
# tools/glibc-sysroot.sh, cached), each censused live, from a frozen copy
# (--mode copy) and from a gcore. Prints, per glibc and mode, whether the
# census matches the live one of the same target (types and totals), the
# chunks walked, the walk time leakmon records and chunks per second; the
# wall time of the whole command beside it. Medians of RUNS runs (default 3).
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
srcdir=${LM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
count=${1:-1000000}
runs=${RUNS:-3}
suites=${LM_GLIBC_SUITES:-bullseye trixie sid experimental}
leakmon=$builddir/leakmon
tmp=$(mktemp -d /tmp/leakmon-bench.XXXXXX)
target=
trap '[ -n "$target" ] && kill -KILL $target 2>/dev/null; rm -rf "$tmp"' EXIT

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
now_us() { echo $(($(date +%s%N) / 1000)); }

# build SUITE OUT: bigheap against the suite's glibc (the host's: as built).
build() {
	local suite=$1 out=$2 s ldso libdir multi
	if [ "$suite" = host ]; then
		cp "$builddir/bench/bigheap" "$out"
		return
	fi
	s=$("$srcdir/tools/glibc-sysroot.sh" "$suite") || return 1
	{ read -r ldso; read -r libdir; } <"$s/.leakmon-sysroot"
	multi=$s/usr/lib/x86_64-linux-gnu
	gcc --sysroot="$s" -B"$multi" -L"$multi" -L"$s/$libdir" -O2 -pthread -o "$out" \
		"$srcdir/bench/bigheap.c" -Wl,--dynamic-linker="$s/$ldso" -Wl,-rpath="$s/$libdir"
}

# one MODE: run one census of $target in MODE; prints "walk_us chunks wall_us"
one() {
	local mode=$1 json=$tmp/$mode.json t0 t1 src=$target
	t0=$(now_us)
	case $mode in
	live) "$leakmon" stat --json "$target" >"$json" 2>/dev/null ;;
	copy) "$leakmon" stat --json --mode copy "$target" >"$json" 2>/dev/null ;;
	core) gdb -q -batch -p "$target" -ex "gcore $tmp/core" >/dev/null 2>&1 &&
		"$leakmon" stat --json "$tmp/core" >"$json" 2>/dev/null ;;
	esac || { echo "- - -"; return; }
	t1=$(now_us)
	rm -f "$tmp/core"
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); t=j["totals"]
print(j["walk_us"], t["inuse_count"] + t["free_count"], sys.argv[2])' "$json" $((t1 - t0))
}

# same MODE: does MODE's census equal the live one (types and totals)?
same() {
	python3 - "$tmp/live.json" "$tmp/$1.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
ty = lambda j: sorted((t["kind"], t["name"], t["count"], t["bytes"]) for t in j["types"])
tot = lambda j: {k: v for k, v in j["totals"].items() if k != "rss_bytes"}
print("exact" if ty(a) == ty(b) and tot(a) == tot(b) else "DIFFERS")
PY
}

printf '%-9s %-6s %-5s %-8s %10s %10s %12s %10s\n' suite glibc mode census chunks walk_ms chunks/s wall_ms
for suite in host $suites; do
	build "$suite" "$tmp/bigheap-$suite" 2>"$tmp/build.err" ||
		{ echo "$suite: left out: $(tail -n 1 "$tmp/build.err")"; continue; }
	"$tmp/bigheap-$suite" "$count" >"$tmp/target.out" &
	target=$!
	for _ in $(seq 1 600); do grep -q '^ready' "$tmp/target.out" && break; sleep 0.1; done
	version=$(grep -m1 libc "/proc/$target/maps" >/dev/null && "$leakmon" stat --json "$target" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["glibc"])')
	for mode in live copy core; do
		: >"$tmp/runs"
		for _ in $(seq 1 "$runs"); do
			one "$mode" >>"$tmp/runs"
		done
		# the idle target does not change: the last census of each mode
		# against the last live one
		verdict=reference
		[ "$mode" = live ] || verdict=$(same "$mode" 2>/dev/null || echo failed)
		walk=$(awk '{print $1}' "$tmp/runs" | median)
		chunks=$(awk '{print $2}' "$tmp/runs" | median)
		wall=$(awk '{print $3}' "$tmp/runs" | median)
		if [ "$walk" = - ] || [ -z "$walk" ]; then
			printf '%-9s %-6s %-5s %-8s\n' "$suite" "$version" "$mode" failed
			continue
		fi
		printf '%-9s %-6s %-5s %-8s %10d %10.1f %12.0f %10.1f\n' "$suite" "$version" "$mode" "$verdict" \
			"$chunks" "$(echo "$walk / 1000" | bc -l)" "$(echo "$chunks * 1000000 / $walk" | bc -l)" \
			"$(echo "$wall / 1000" | bc -l)"
	done
	kill -KILL $target 2>/dev/null
	wait $target 2>/dev/null
	target=
done
