# SPDX-License-Identifier: MIT
# tests/engine_lib.sh - helpers shared by the engine tests (sourced after init.sh).

T_MEMSRC="$LM_BUILDDIR/tests/t_memsrc"
[ -x "$T_MEMSRC" ] || framework_failure "$T_MEMSRC not built"

# mem_checks [OUTFILE]: the ADDR:LEN:MUL:ADD checks for what memtarget printed.
mem_checks() {
	local out=${1:-$TARGET_OUT} k
	for k in global heap big sparse; do
		[ -n "$(target_info ${k}_addr "$out")" ] || continue
		echo "$(target_info ${k}_addr "$out"):$(target_info ${k}_len "$out"):$(target_info ${k}_pattern "$out" | tr ' ' ':')"
	done
}

# src_field FILE KEY: a `KEY VALUE` line printed by t_memsrc.
src_field() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# threads_states PID: the state letter of every thread, e.g. "SSSSR".
threads_states() {
	local f s=
	for f in /proc/"$1"/task/*/stat; do
		s+=$(sed 's/.*) \(.\).*/\1/' "$f" 2>/dev/null)
	done
	echo "$s"
}

# assert_not_stopped PID: no thread is stopped (t/T), waiting up to 2 s for
# the kernel to finish detaching.
assert_not_stopped() {
	local i st
	for ((i = 0; i < 40; i++)); do
		st=$(threads_states "$1")
		[ -n "$st" ] || fail "target $1 is gone"
		case $st in
		*[tT]*) sleep 0.05 ;;
		*) return 0 ;;
		esac
	done
	fail "target $1 left stopped: thread states $st"
}

# progress FILE: the target's tick count (first field of its progress file).
progress() {
	local v
	v=$(awk '{ print $1 }' "$1" 2>/dev/null)
	echo "${v:-0}"
}

# signals_seen FILE: the SIGRTMIN count memtarget reports.
signals_seen() {
	local v
	v=$(awk '{ print $2 }' "$1" 2>/dev/null)
	echo "${v:-0}"
}

# self_signals FILE: "SENT LOST DUP" of memtarget's self-signalling thread
# (MEMTARGET_SELFSIG=1): signals it sent itself, lost, delivered twice.
self_signals() {
	local v
	v=$(awk '{ print $3, $4, $5 }' "$1" 2>/dev/null)
	echo "${v:-0 0 0}"
}

# assert_progress FILE: the target's counter moves on within 5 s.
assert_progress() {
	local before after i
	before=$(progress "$1")
	for ((i = 0; i < 100; i++)); do
		sleep 0.05
		after=$(progress "$1")
		[ "$after" -gt "$before" ] && return 0
	done
	fail "target made no progress in 5 s (ticks stuck at $before)"
}
