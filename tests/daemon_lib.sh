# SPDX-License-Identifier: MIT
# tests/daemon_lib.sh - helpers of the daemon_*.test scripts (after init.sh).
#
#   start_demo_target [ARGS]     run leakmon-demo (a leaking service); sets TARGET_PID
#   start_daemon CONF [ARGS]     run leakmond in the background; sets DAEMON_PID, DAEMON_LOG
#   stop_daemon [SIG]            signal it (TERM) and wait; sets DAEMON_RC
#   wait_daemon                  wait for it to exit; sets DAEMON_RC
#   sql DB QUERY                 sqlite3 query, one value per line
#   wait_until SECS CMD...       poll CMD every 0.1 s until it succeeds

: "${SQLITE3:=sqlite3}"
[ -n "$SQLITE3" ] || SQLITE3=sqlite3
command -v "$SQLITE3" >/dev/null || skip "sqlite3 is not installed"
[ -x "$LEAKMOND" ] || framework_failure "$LEAKMOND was not built"
LM_DEMO=$LM_BUILDDIR/leakmon-demo
[ -x "$LM_DEMO" ] || framework_failure "$LM_DEMO was not built"

wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# start_demo_target [--exe PATH] [ARGS...]: PATH is a copy of leakmon-demo,
# so that an exe selector matches this test's process only.
start_demo_target() {
	local exe=$LM_DEMO out
	if [ "${1:-}" = --exe ]; then
		exe=$2
		shift 2
		[ -x "$exe" ] || cp "$LM_DEMO" "$exe"
	fi
	out=$LM_TMP/demo.$RANDOM.out
	"$exe" "$@" >"$out" 2>&1 &
	TARGET_PID=$!
	LM_PIDS+=("$TARGET_PID")
	wait_for_line "$out" '^leakmon-demo: pid' 30 || framework_failure "leakmon-demo did not start: $(cat "$out")"
}

start_daemon() {
	local conf=$1
	shift
	DAEMON_LOG=$LM_TMP/leakmond.$RANDOM.log
	"$LEAKMOND" -c "$conf" "$@" >"$DAEMON_LOG.out" 2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	LM_PIDS+=("$DAEMON_PID")
	wait_for_line "$DAEMON_LOG" 'leakmond .*target' 30 ||
		fail "leakmond did not start: $(cat "$DAEMON_LOG")"
}

stop_daemon() {
	kill -"${1:-TERM}" "$DAEMON_PID"
	wait_daemon
}

wait_daemon() {
	DAEMON_RC=0
	wait "$DAEMON_PID" || DAEMON_RC=$?
}

sql() {
	"$SQLITE3" -cmd '.timeout 5000' "$1" "$2"
}

# ok_snapshots DB TARGET: number of successful censuses of TARGET.
ok_snapshots() {
	sql "$1" "select count(*) from snapshots_log where target = '$2' and status = 'ok'" 2>/dev/null || echo 0
}

# has_snapshots DB TARGET N: at least N successful censuses.
has_snapshots() {
	[ "$(ok_snapshots "$1" "$2")" -ge "$3" ] 2>/dev/null
}

# ---- cgroups ----
# cg2_mount / cg1_memory_mount: mount points from /proc/self/mountinfo.
cg2_mount() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo
}
cg1_memory_mount() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/) { print $5; exit } break } }' /proc/self/mountinfo
}

# make_cgroup DIR: create a cgroup directory, removed when the test ends
# (after its processes were killed).
LM_CGROUPS=()
make_cgroup() {
	mkdir -p "$1" 2>/dev/null || return 1
	LM_CGROUPS=("$1" "${LM_CGROUPS[@]}")
}
daemon_cleanup() {
	local d
	# end our processes first, so the directories can go
	lm_kill_started
	for d in "${LM_CGROUPS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$d" 2>/dev/null && break
			[ -d "$d" ] || break
			sleep 0.1
		done
	done
	rm -rf "$LM_TMP"
}
trap daemon_cleanup EXIT
