# SPDX-License-Identifier: MIT
# tests/census_lib.sh - the body of every census test of tests/gen_tests.in
# (the generated tests/NAME.gen.test source it after tests/init.sh):
#
#   census_test 'WAY...' 'CHECK...' TARGET [ARGS...]
#
# starts TARGET with ARGS, takes its census with `leakmon stat --json` each
# WAY, runs each CHECK, and fails if the target is left stopped.
#
# WAYs (each also checks the census's "source" field):
#   live     the running process
#   copy     --mode copy: a frozen copy of it
#   nodebug  live, with /usr/lib/debug hidden (production servers have no
#            libc debug symbols); it also proves the directory was empty
#   core     a gcore of the process (gdb); without gdb the test is skipped
#   core?    the same, left out (with a note) without gdb
# CHECKs:
#   exact    tests/census_compare.py: every type the target printed an
#            "expect" line for is in the first census with exactly that
#            count and byte total, and all the censuses are identical
#   table    the human table (`stat --top 0`) has its totals line and the
#            row of the first type the target printed, count and bytes
#   json     the first census has the fields operators' scripts rely on,
#            this host's glibc, types that add up to the in-use totals, and
#            as many mmapped chunks as the target's own mallinfo2() hblks
#   split_heap  the target's [heap] is at least three mappings (a flag
#            change on part of it), so the census did read a split heap

CENSUS_WAYS="live copy nodebug core core?"
CENSUS_CHECKS="exact table json split_heap"

census_test() {
	local ways=$1 checks=$2 target=$3 way check
	shift 3
	[ -x "$LM_TARGETS/$target" ] || framework_failure "test target $target not built"
	case " $ways " in
	*" core "*) [ -n "${GDB:-}" ] || skip "gdb not installed" ;;
	esac
	CENSUS_TARGET=$target
	CENSUSES=()
	start_target "$target" "$@"
	for way in $ways; do
		case "$way" in
		live | copy | nodebug | core) "census_$way" ;;
		"core?") if [ -n "${GDB:-}" ]; then census_core; else note "gdb not installed: no core census"; fi ;;
		*) framework_failure "census_test: unknown way '$way' (known: $CENSUS_WAYS)" ;;
		esac
	done
	for check in $checks; do
		case " $CENSUS_CHECKS " in
		*" $check "*) "census_check_$check" ;;
		*) framework_failure "census_test: unknown check '$check' (known: $CENSUS_CHECKS)" ;;
		esac
	done
	target_running "$TARGET_PID" || fail "$target left stopped after the census"
}

# census_stat WAY SOURCE [CMD-PREFIX...] -- STAT-ARGS...: run leakmon stat
# --json into $LM_TMP/WAY.json, check its source, add it to CENSUSES.
census_stat() {
	local way=$1 source=$2 out="$LM_TMP/$1.json" prefix=()
	shift 2
	while [ "$1" != -- ]; do prefix+=("$1"); shift; done
	shift
	"${prefix[@]}" "$LEAKMON" stat --json "$@" >"$out" ||
		fail "leakmon stat ($way) of $CENSUS_TARGET exited $?"
	assert_eq "source of the $way census" "$source" "$(json_get "$out" "j['source']")"
	CENSUSES+=("$out")
}

census_live() { census_stat live live -- "$TARGET_PID"; }
census_copy() { census_stat copy copy -- --mode copy "$TARGET_PID"; }

census_nodebug() {
	census_stat nodebug live without_debug_symbols -- "$TARGET_PID"
	# Prove the debug files really were hidden in that namespace.
	assert_eq "files visible under the hidden /usr/lib/debug" 0 \
		"$(without_debug_symbols sh -c 'ls /usr/lib/debug | wc -l')"
}

census_core() {
	"$GDB" -q -batch -p "$TARGET_PID" -ex "gcore $LM_TMP/core" >/dev/null 2>&1 ||
		fail "gdb gcore failed"
	target_running "$TARGET_PID" || fail "$CENSUS_TARGET stopped after gcore"
	census_stat core core -- "$LM_TMP/core"
	rm -f "$LM_TMP/core"
}

census_check_exact() {
	python3 "$LM_SRCDIR/tests/census_compare.py" "$TARGET_OUT" "${CENSUSES[@]}" ||
		fail "census of $CENSUS_TARGET does not match what it allocated, or its censuses differ"
}

census_check_table() {
	local txt="$LM_TMP/table.txt" name count bytes
	"$LEAKMON" stat --top 0 "$TARGET_PID" >"$txt" || fail "table output failed"
	grep -q '^ totals: ' "$txt" || fail "no totals line in the table"
	IFS=$'\t' read -r _ name count bytes < <(target_expects | head -1)
	grep -qF "$(printf '%10s  %12s  ' "$count" "$bytes")" "$txt" ||
		fail "table lacks the row '$count $bytes'"
	grep -qF "$name" "$txt" || fail "table lacks the type '$name'"
}

census_check_json() {
	local j=${CENSUSES[0]} key
	for key in pid exe glibc source taken_at pause_us walk_us totals types; do
		[ "$(json_get "$j" "'$key' in j")" = True ] || fail "JSON lacks $key"
	done
	assert_eq glibc "$(getconf GNU_LIBC_VERSION | sed 's/^glibc //')" "$(json_get "$j" "j['glibc']")"
	# in-use includes mmapped; the types add up to the in-use totals
	assert_eq "sum of type counts" "$(json_get "$j" "j['totals']['inuse_count']")" \
		"$(json_get "$j" "sum(t['count'] for t in j['types'])")"
	assert_eq "sum of type bytes" "$(json_get "$j" "j['totals']['inuse_bytes']")" \
		"$(json_get "$j" "sum(t['bytes'] for t in j['types'])")"
	# mallinfo2 of the target itself: hblks/hblkhd are the mmapped chunks
	assert_eq "mmapped count vs mallinfo2.hblks" "$(target_info hblks)" \
		"$(json_get "$j" "j['totals']['mmapped_count']")"
}

census_check_split_heap() {
	local n
	n=$(grep -c ' \[heap\]$' "/proc/$TARGET_PID/maps")
	[ "$n" -ge 3 ] || fail "$CENSUS_TARGET: $n [heap] mappings, expected at least 3"
}
