# tests/copy_lib.sh - helpers of the frozen-copy tests (sourced after init.sh).

T_COPY="$LM_BUILDDIR/tests/t_copy"

# copies_of PID: "pid state" of every frozen copy (named leakmon-copy) that is
# a child of PID, zombies included.
copies_of() {
	ps -o pid=,stat=,comm= --ppid "$1" 2>/dev/null | awk '$3 == "leakmon-copy" { print $1, $2 }'
}

# live_copies: every leakmon-copy process on the machine that is not a zombie.
live_copies() {
	ps -eo pid=,stat=,comm= | awk '$3 == "leakmon-copy" && $2 !~ /^Z/ { print $1 }'
}

# family_ok OUTFILE: the copy_family target reported no error.
family_ok() {
	! grep -q '^error' "$1" || fail "target reported: $(grep '^error' "$1" | head -5 | tr '\n' ';')"
}

# family_rounds OUTFILE: rounds in the last status line.
family_rounds() {
	awk '$1 == "status" { r = $3 } END { print r + 0 }' "$1"
}
