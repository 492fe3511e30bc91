#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/pause_vfork.sh - how long a process with a thread in vfork() is
# frozen by `leakmon stat`, with the pause budget and without it.
#
# tests/targets/vfork_target has a thread that vforks children sleeping
# CHILD_S seconds (default 5) and a main thread that measures its longest
# gap between two 1 ms wake-ups. For each setting (--max-pause 250ms, 1s,
# and 0 = no limit, the behaviour before the budget existed), RUNS runs
# (default 5): the main thread's longest freeze during one `leakmon stat`,
# leakmon's wall time and exit status. Medians, then min and max.
# Then leakmond for SECS seconds (default 12), interval 1s, watching that
# process and tests/targets/memtarget, with max_pause = 0 (stopping
# unbounded) and 250ms: snapshots of each (SKIP_DAEMON=1 skips it).
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
runs=${RUNS:-5}
child_s=${CHILD_S:-5}
target=$builddir/tests/targets/vfork_target
[ -x "$target" ] || make -C "$builddir" tests/targets/vfork_target >/dev/null || exit 1
tmp=$(mktemp -d /tmp/leakmon-pausebench.XXXXXX)
pid=
# The target's vfork child shares its memory: kill it too.
mpid= dpid=
trap 'for p in $dpid $mpid; do kill -KILL $p 2>/dev/null; done; [ -n "$pid" ] && pkill -KILL -P $pid 2>/dev/null; [ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT
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

[ "${SKIP_DAEMON:-0}" = 1 ] && exit 0
command -v sqlite3 >/dev/null || { echo "sqlite3 missing: no daemon part"; exit 0; }
secs=${SECS:-12}
"$builddir/tests/targets/memtarget" >"$tmp/mem.out" 2>&1 &
mpid=$!
for ((i = 0; i < 100; i++)); do grep -q '^ready' "$tmp/mem.out" && break; sleep 0.05; done
echo
printf '%-12s %22s %28s\n' max_pause "memtarget ok in ${secs}s" "vfork_target attempts"
for budget in 0 250ms; do
	rm -f "$tmp"/db*
	printf '[daemon]\ndatabase = %s\ninterval = 1s\nmax_pause = %s\n\n[target vf]\npid = %s\n\n[target mem]\npid = %s\n' \
		"$tmp/db" "$budget" "$pid" "$mpid" >"$tmp/conf"
	"$builddir/leakmond" -c "$tmp/conf" >"$tmp/d.log" 2>&1 &
	dpid=$!
	sleep "$secs"
	ok=$(sqlite3 "$tmp/db" "select count(*) from snapshots_log where target = 'mem' and status = 'ok'")
	vf=$(sqlite3 "$tmp/db" "select status || ' ' || count(*) from snapshots_log where target = 'vf' group by status" | paste -sd, -)
	# SIGKILL: a daemon waiting for a stop would not act on SIGTERM
	# before the vfork child ends; the kernel lets the target go.
	kill -KILL "$dpid"
	wait "$dpid" 2>/dev/null
	dpid=
	printf '%-12s %22s %28s\n' "$budget" "$ok" "${vf:-none finished}"
done
