# SPDX-License-Identifier: MIT
# tests/init.sh - helpers every test sources.
#
#   . "$LM_SRCDIR/tests/init.sh"
#   start_target basic            # runs $LM_TARGETS/basic, waits for "ready"
#   expect_count class Order "$(target_expect class Order count)"
#
# Test targets print what they allocated, one line each, then "ready", then
# wait (they never exit on their own until signalled):
#   expect KIND NAME COUNT BYTES
#   info KEY VALUE
#   ready
# Exit codes: 0 pass, 77 skip, 99 hard error, anything else fail (automake).

set -u
: "${LM_SRCDIR:?run through make check}" "${LM_BUILDDIR:?}" "${LM_TARGETS:?}"
: "${LEAKMON:=$LM_BUILDDIR/leakmon}" "${LEAKMOND:=$LM_BUILDDIR/leakmond}"

LM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/leakmon-test.XXXXXX")
LM_PIDS=()

# lm_kill_started: SIGKILL and reap every process a test started (LM_PIDS).
lm_kill_started() {
	local p
	for p in "${LM_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${LM_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
}

lm_cleanup() {
	lm_kill_started
	rm -rf "$LM_TMP"
}
trap lm_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
framework_failure() { echo "ERROR: $*" >&2; exit 99; }
note() { echo "# $*" >&2; }

# start_target NAME [ARGS...]: start a test target in the background, wait
# (up to 30 s) until it prints "ready". Sets TARGET_PID and TARGET_OUT.
start_target() {
	local name=$1; shift
	TARGET_OUT="$LM_TMP/$name.$RANDOM.out"
	"$LM_TARGETS/$name" "$@" >"$TARGET_OUT" 2>"$TARGET_OUT.err" &
	TARGET_PID=$!
	LM_PIDS+=("$TARGET_PID")
	wait_for_line "$TARGET_OUT" '^ready' 30 ||
		framework_failure "target $name did not become ready: $(cat "$TARGET_OUT.err")"
}

# wait_for_line FILE REGEX SECONDS
wait_for_line() {
	local file=$1 re=$2 secs=$3 i
	for ((i = 0; i < secs * 20; i++)); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# target_expects [OUTFILE]: every "expect" line of the target as
# KIND<tab>NAME<tab>COUNT<tab>BYTES (a name may contain spaces: the last two
# fields of the line are the numbers).
target_expects() {
	awk -v OFS="\t" '$1 == "expect" {
		nm = $3
		for (i = 4; i <= NF - 2; i++) nm = nm " " $i
		print $2, nm, $(NF - 1), $NF
	}' "${1:-$TARGET_OUT}"
}

# target_expect KIND NAME count|bytes [OUTFILE]: what the target said it allocated.
target_expect() {
	target_expects "${4:-$TARGET_OUT}" | awk -F "\t" -v k="$1" -v n="$2" -v w="$3" '
		$1 == k && $2 == n { print (w == "count" ? $3 : $4); found = 1 }
		END { if (!found) exit 1 }'
}

# target_info KEY [OUTFILE]
target_info() {
	awk -v k="$1" '$1 == "info" && $2 == k { $1 = ""; $2 = ""; sub(/^  /, ""); print; exit }' "${2:-$TARGET_OUT}"
}

# json_get FILE EXPR: the value of a small Python expression over the JSON in
# FILE (bound to j; /dev/stdin reads a pipe), e.g. "len(j['paths'])";
# interpreted by tests/json_get.py, which accepts only the forms tests use
# (no eval).
json_get() {
	python3 "$LM_SRCDIR/tests/json_get.py" "$1" "$2"
}

# assert_no_controls FILE WHAT: FILE is UTF-8 text with no raw control
# character but newline (no escape, DEL or C1), as leakmon's output of a
# target's names must be; else fail, saying where (tests/no_controls.py).
assert_no_controls() {
	local why
	why=$(python3 "$LM_SRCDIR/tests/no_controls.py" "$1" 2>&1) ||
		fail "$2: raw control or non-UTF-8 bytes in the output: $why"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now (the
# kernel's choice for a socket bound to port 0), for a server a test starts.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# target_running PID: the process exists and runs (its state is not stopped,
# traced-stopped or zombie: not T, t or Z).
target_running() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != T ] && [ "$st" != t ] && [ "$st" != Z ]
}

# without_debug_symbols CMD...: run CMD with /usr/lib/debug hidden behind an
# empty directory in a private mount namespace (production servers have no
# libc debug symbols).
without_debug_symbols() {
	local empty="$LM_TMP/empty-debug"
	mkdir -p "$empty"
	unshare --mount --propagation private sh -c 'mount --bind "$1" /usr/lib/debug && shift && exec "$@"' sh "$empty" "$@"
}
