# SPDX-License-Identifier: MIT
# tests/walk_lib.sh - reading what tests/t_walk prints (the heap walker's
# totals, per-state and per-size counts), for the heap tests:
#
#   "$T_WALK" -s PID >"$LM_TMP/walk"
#   walk KEY [FIELD]        a field of its "KEY v1 v2..." line (FIELD 1 = v1)
#   state NAME count|bytes  the count or bytes of its "state NAME..." line
#                           ("in use", "small bin", ...: the last two fields)
#   gdb_main_arena PID      main_arena's address as gdb sees it with libc's
#                           debug symbols; nothing when gdb cannot tell

T_WALK=$LM_BUILDDIR/tests/t_walk

walk() { awk -v k="$1" -v f="${2:-1}" '$1 == k { print $(f + 1); exit }' "$LM_TMP/walk"; }

state() {
	awk -v n="$1" -v w="$2" '$1 == "state" {
		nm = $2; for (i = 3; i <= NF - 2; i++) nm = nm " " $i
		if (nm == n) print (w == "count" ? $(NF-1) : $NF) }' "$LM_TMP/walk"
}

gdb_main_arena() {
	"$GDB" -batch -p "$1" -ex 'p &main_arena' 2>/dev/null |
		sed -n 's/^\$1 = (struct malloc_state \*) \(0x[0-9a-f]*\) <main_arena>.*/\1/p'
}
