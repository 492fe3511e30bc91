#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/memory_bench.sh [COUNT...] - our peak memory against the target's
# heap, side by side in one run: for the benchmark target (bench/bigheap,
# COUNT chunks of ~100 bytes: 10000000 is about 1 GiB; default "10000000
# 40000000", 1 and 4 GiB), `leakmon stat` live and copy, `leakmon leaks`
# copy, and leakmond's first copy-mode snapshot of it. For each: our peak
# RSS (/usr/bin/time, VmHWM for the daemon), wall time, the pause leakmon
# recorded, the target's longest stall as its own stall meter saw it, the
# walk time and chunks per second.
#
#   LM_BUILDDIR=$PWD bash bench/memory_bench.sh            # from a build directory
#   MAX_MEMORY=256M (the default, as leakmon's) applies to the copy runs;
#   the live runs need --max-memory 0 to be allowed at all, and every run
#   gets --max-pause 0 (a live copy of 4 GiB stops the target over 1 s).
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
counts=${*:-10000000 40000000}
maxmem=${MAX_MEMORY:-256M}
tmp=$(mktemp -d /tmp/leakmon-membench.XXXXXX)
target=
daemon=
cleanup() {
	[ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null
	[ -n "$target" ] && kill -KILL "$target" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (package time)" >&2; exit 1; }

# stall CMD...: run CMD (stdout to $tmp/out), print the target's longest
# stall (us) during it.
stall() {
	local before
	kill -USR1 "$target"; sleep 0.2
	before=$(grep -c '^stall' "$tmp/target.out")
	"$@" >"$tmp/out" 2>"$tmp/err"
	sleep 0.2; kill -USR1 "$target"
	for _ in $(seq 1 50); do
		[ "$(grep -c '^stall' "$tmp/target.out")" -gt "$before" ] && break
		sleep 0.05
	done
	grep '^stall' "$tmp/target.out" | tail -1 | awk '{print $2}'
}

row() {	# NAME STALL: from $tmp/out (JSON of stat, or text) and $tmp/time
	local name=$1 s=$2 wall rss
	read -r wall rss <"$tmp/time.last"
	python3 - "$tmp/out" "$name" "$s" "$wall" "$rss" <<'PY'
import json, sys
path, name, stall, wall, rss = sys.argv[1:]
try:
    j = json.load(open(path))
    t = j["totals"]; chunks = t["inuse_count"] + t["free_count"]
    extra = "pause %6d us  walk %8d us  %9d chunks/s" % (
        j["pause_us"], j["walk_us"], chunks / max(j["walk_us"], 1) * 1e6)
except Exception:
    extra = "(text output)"
print("  %-12s peak RSS %6d MiB  wall %6.2f s  stall %8s us  %s" %
      (name, int(rss) // 1024, float(wall), stall or "?", extra))
PY
}

run() {	# NAME CMD...
	local name=$1 s
	shift
	s=$(stall /usr/bin/time -f '%e %M' -o "$tmp/time" "$@")
	tail -1 "$tmp/time" >"$tmp/time.last"
	if grep -q '^Command exited' "$tmp/time" || ! grep -q '^[0-9.]* [0-9]*$' "$tmp/time.last"; then
		echo "  $name: failed: $(head -c 300 "$tmp/err")"
		return
	fi
	row "$name" "$s"
}

daemon_run() {	# one copy-mode snapshot by leakmond: its VmHWM
	local conf=$tmp/leakmond.conf db=$tmp/db.sqlite hwm n t0 t1
	rm -f "$db"*
	cat >"$conf" <<CONF
[daemon]
database = $db
interval = 1h
max_pause = 0
max_memory = $maxmem
snapshot_mode = copy
holders = 0
[target big]
pid = $target
CONF
	t0=$(date +%s.%N)
	"$builddir/leakmond" -c "$conf" >"$tmp/daemon.out" 2>"$tmp/daemon.log" &
	daemon=$!
	n=0
	for _ in $(seq 1 1200); do
		n=$(sqlite3 -cmd '.timeout 2000' "$db" \
			"select count(*) from snapshots_log where status = 'ok'" 2>/dev/null || echo 0)
		[ "${n:-0}" -ge 1 ] && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status" 2>/dev/null)
	kill -TERM "$daemon"; wait "$daemon" 2>/dev/null; daemon=
	if [ "${n:-0}" -ge 1 ]; then
		printf '  %-12s peak RSS %6d MiB  first snapshot after %.2f s (start included)\n' \
			leakmond "$((hwm / 1024))" "$(echo "$t1 - $t0" | bc)"
	else
		echo "  leakmond: no snapshot: $(tail -n 3 "$tmp/daemon.log")"
	fi
}

echo "# bench/memory_bench.sh: $(date -u +%FT%TZ), $(nproc) cpus, $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GiB RAM, copy runs with --max-memory $maxmem"
for count in $counts; do
	"$builddir/bench/bigheap" "$count" >"$tmp/target.out" &
	target=$!
	for _ in $(seq 1 3000); do grep -q '^ready' "$tmp/target.out" && break; sleep 0.1; done
	grep -q '^ready' "$tmp/target.out" || { echo "bigheap $count did not start" >&2; exit 1; }
	echo "heap of $count chunks: target RSS $(( $(awk '/VmRSS/ {print $2}' /proc/$target/status) / 1024 )) MiB"
	# No pause limit: the live copy of 4 GiB takes longer than the default 1s.
	run "stat live" "$builddir/leakmon" stat --json --mode live --max-memory 0 --max-pause 0 "$target"
	run "stat copy" "$builddir/leakmon" stat --json --mode copy --max-memory "$maxmem" \
		--max-pause 0 "$target"
	run "leaks copy" "$builddir/leakmon" leaks --mode copy --max-memory 0 --max-pause 0 "$target"
	command -v sqlite3 >/dev/null && daemon_run
	kill -KILL "$target"; wait "$target" 2>/dev/null; target=
done
