#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/daemon_memory.sh - leakmond's own memory watching Debian's servers.
#
# tools/realworld.sh starts the services (nginx master and 2 workers,
# memcached, pdns-recursor, PostgreSQL 15 with its backends busy under
# pgbench: 13 processes) and its leakmond.conf for them (interval 2 s);
# instead of its checks, we run leakmond over them for SECS seconds
# (default 120) and report its peak and final RSS (VmHWM, VmRSS), the part
# of it that is its own (RssAnon: not the pages of its executable, its
# libraries and the files it reads), the highest RssAnon and RssFile seen
# every 0.2 s, the processes watched and the censuses taken; then leakmond
# idle (no process matches) for IDLE_S seconds (default 20). With LEAKMOND_BEFORE=PATH,
# that leakmond runs first over the same services, for a side-by-side.
# The breakdown comes from leakmond's own last --verbose memory line:
# malloc's heap (in use, free but kept), parsed symbols (modules, tables),
# SQLite.
#
# Takes /tmp/leakmon-services.lock for the whole run (the services use
# fixed ports). Needs root. Not part of `make check`.
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
srcdir=${LM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
secs=${SECS:-120}
idle_s=${IDLE_S:-20}

if [ -z "${REALWORLD_CONF:-}" ]; then	# outside: the services, with us inside
	[ "$(id -u)" = 0 ] || { echo "bench/daemon_memory.sh: needs root" >&2; exit 1; }
	runs=1
	[ -z "${LEAKMOND_BEFORE:-}" ] || runs=2
	export LM_BUILDDIR=$builddir LM_SRCDIR=$srcdir
	export WATCH_S=$((runs * (secs + 5) + idle_s + 10))
	export REALWORLD_RUN="bash '$srcdir/bench/daemon_memory.sh'"
	exec flock /tmp/leakmon-services.lock bash "$srcdir/tools/realworld.sh"
fi

tmp=$(dirname "$REALWORLD_CONF")
dpid=
trap '[ -z "$dpid" ] || kill -TERM $dpid 2>/dev/null' EXIT

# conf WHICH DB: the realworld configuration on database DB (the set of
# processes held fixed: node's targets dropped), or an idle one.
conf() {
	if [ "$1" = idle ]; then
		printf '[daemon]\ndatabase = %s\ninterval = 2s\n\n[target none]\nexe = /nonexistent/nothing\n' "$2"
		return
	fi
	awk -v db="$2" '/^\[/ { skip = ($0 ~ /^\[target node/) }
		/^database = / { $0 = "database = " db }
		!skip' "$REALWORLD_CONF"
}

field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }

# peaks PID: the highest RssAnon and RssFile of PID while it lives, sampled
# every 0.2 s (VmHWM does not say which), as "ANON FILE" on stdout.
peaks() {
	local a f ma=0 mf=0
	while read -r a f < <(awk '$1 == "RssAnon:" {a = $2} $1 == "RssFile:" {f = $2}
			END {print a, f}' "/proc/$1/status" 2>/dev/null) && [ -n "$a" ]; do
		[ "$a" -gt $ma ] && ma=$a
		[ "$f" -gt $mf ] && mf=$f
		sleep 0.2
	done
	echo "$ma $mf"
}

# run LABEL LEAKMOND WHICH SECONDS: one row.
run() {
	local label=$1 bin=$2 db=$tmp/bench-$1.db hwm rss anon snaps failed procs last peak
	rm -f "$db"
	conf "$3" "$db" >"$tmp/bench-$label.conf"
	"$bin" -v -c "$tmp/bench-$label.conf" >/dev/null 2>"$tmp/bench-$label.log" &
	dpid=$!
	peaks $dpid >"$tmp/bench-$label.peaks" &
	sleep "$4"
	hwm=$(field VmHWM $dpid)
	rss=$(field VmRSS $dpid)
	anon=$(field RssAnon $dpid)
	kill -TERM $dpid
	wait $dpid 2>/dev/null
	dpid=
	wait
	read -r peak < "$tmp/bench-$label.peaks"
	snaps=$(sqlite3 "$db" "select count(*) from snapshots where status = 'ok'" 2>/dev/null || echo 0)
	failed=$(sqlite3 "$db" "select count(*) from snapshots where status != 'ok'" 2>/dev/null || echo 0)
	procs=$(sqlite3 "$db" "select count(distinct instance_id) from snapshots" 2>/dev/null || echo 0)
	printf '%-10s %8s %8s %8s %13s %9s %8s %6s\n' "$label" "$hwm" "$rss" "$anon" "${peak/ //}" \
		"$procs" "$snaps" "$failed"
	last=$(grep -o 'memory after the snapshot.*' "$tmp/bench-$label.log" | tail -1)
	[ -z "$last" ] || echo "$label: $last" >>"$tmp/bench-breakdown"
}

targets=$(conf all /dev/null | grep -c '^\[target')
echo "# bench/daemon_memory.sh: leakmond over $targets targets of tools/realworld.sh (PostgreSQL by exe), interval 2s, ${secs}s each; $(date -u +%FT%TZ), $(nproc) cpus"
printf '%-10s %8s %8s %8s %13s %9s %8s %6s\n' leakmond "VmHWM kB" "VmRSS kB" "anon kB" \
	"peak anon/file" processes censuses failed
: >"$tmp/bench-breakdown"
[ -z "${LEAKMOND_BEFORE:-}" ] || run before "$LEAKMOND_BEFORE" all "$secs"
run now "$builddir/leakmond" all "$secs"
run idle "$builddir/leakmond" idle "$idle_s"
cat "$tmp/bench-breakdown"
