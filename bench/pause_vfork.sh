#!/bin/bash
# bench/pause_vfork.sh - how long a process with a thread in vfork() is
# frozen by `leakmon stat`, with the pause budget and without it.
#
# tests/targets/vfork_target has a thread that vforks children sleeping
# CHILD_S seconds (default 5) and a main thread that measures its longest
# gap between two 1 ms wake-ups. For each setting (--max-pause 250ms, 1s,
# and 0 = no limit, the behaviour before the budget existed), RUNS runs
# (default 5): the main thread's longest freeze during one `leakmon stat`,
# leakmon's wall time and exit status. Medians, then min and max.
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
runs=${RUNS:-5}
child_s=${CHILD_S:-5}
target=$builddir/tests/targets/vfork_target
[ -x "$target" ] || make -C "$builddir" tests/targets/vfork_target >/dev/null || exit 1
tmp=$(mktemp -d /tmp/leakmon-pausebench.XXXXXX)
pid=
# The target's vfork child shares its memory: kill it too.
trap '[ -n "$pid" ] && pkill -KILL -P $pid 2>/dev/null; [ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

"$target" "$child_s" >"$tmp/out" 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do grep -q '^ready' "$tmp/out" && break; sleep 0.05; done
vtid=$(awk '$1 == "info" && $2 == "vfork_tid" { print $3 }' "$tmp/out")
# gap: SIGUSR1, then the target's next `maxgap_us` line (the longest gap
# since the previous SIGUSR1).
gap() {
	local want=$(($(grep -c '^maxgap_us' "$tmp/out") + 1)) i
	kill -USR1 "$pid"
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c '^maxgap_us' "$tmp/out")" -ge "$want" ] && break
		sleep 0.01
	done
	awk -v n="$want" '$1 == "maxgap_us" && ++k == n { print $2 }' "$tmp/out"
}
in_vfork() { [ "$(sed 's/.*) \(.\).*/\1/' /proc/$pid/task/$vtid/stat)" = D ]; }

printf '%-12s %14s %14s %14s %s\n' max-pause "freeze ms" "(min-max)" "leakmon ms" "exit"
for budget in 250ms 1s 0; do
	: >"$tmp/freeze"
	: >"$tmp/wall"
	codes=
	for ((r = 0; r < runs; r++)); do
		for ((i = 0; i < 200; i++)); do in_vfork && break; sleep 0.01; done
		gap >/dev/null
		t0=$(date +%s%N)
		"$builddir/leakmon" stat --max-pause "$budget" "$pid" >/dev/null 2>&1
		rc=$?
		echo $((($(date +%s%N) - t0) / 1000000)) >>"$tmp/wall"
		echo $(($(gap) / 1000)) >>"$tmp/freeze"
		codes="$codes$rc "
	done
	printf '%-12s %14s %14s %14s %s\n' "$budget" "$(median <"$tmp/freeze")" \
		"$(sort -n "$tmp/freeze" | head -1)-$(sort -n "$tmp/freeze" | tail -1)" \
		"$(median <"$tmp/wall")" "$codes"
done
