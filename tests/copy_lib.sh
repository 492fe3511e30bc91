# SPDX-License-Identifier: MIT
# tests/copy_lib.sh - helpers of the frozen-copy tests (sourced after init.sh).

T_COPY="$LM_BUILDDIR/tests/t_copy"

# copies_of PID: "pid state" of every frozen copy (named leakmon-copy) that is
# a child of PID, zombies included.
copies_of() {
	ps -o pid=,stat=,comm= --ppid "$1" 2>/dev/null | awk '$3 == "leakmon-copy" { print $1, $2 }'
}

# live_copies PID: the copies of PID (its children named leakmon-copy) that
# are not zombies. (Only PID's: other tests may make copies of their own
# targets meanwhile.)
live_copies() {
	ps -o pid=,stat=,comm= --ppid "$1" 2>/dev/null | awk '$3 == "leakmon-copy" && $2 !~ /^Z/ { print $1 }'
}

# family_ok OUTFILE: the copy_family target reported no error.
family_ok() {
	! grep -q '^error' "$1" || fail "target reported: $(grep '^error' "$1" | head -5 | tr '\n' ';')"
}

# family_rounds OUTFILE: rounds in the last status line.
family_rounds() {
	awk '$1 == "status" { r = $3 } END { print r + 0 }' "$1"
}

# running_clones PID: children of PID that have no exit signal (as the copy
# has: field 38 of /proc/X/stat is 0) and are not zombies, whatever their
# name: a copy that escaped and runs the target's code would show here.
running_clones() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		awk -v c="$c" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " ");
			# f[1] is field 3 (state); field 38 is f[36]
			if (f[1] != "Z" && f[36] == 0) print c }' "/proc/$c/stat" 2>/dev/null
	done
}
