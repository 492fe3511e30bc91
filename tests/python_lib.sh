# SPDX-License-Identifier: MIT
# tests/python_lib.sh - helpers for the CPython tests (sourced after init.sh).
#
# PYTHON is Debian's interpreter from package python3.11 (/usr/bin), never
# one found on PATH (pyenv builds differ in version and options).
PYTHON=${LM_TEST_PYTHON:-/usr/bin/python3.11}
PY_TARGET=$LM_SRCDIR/tests/targets/py_sessions.py

need_python() {
	[ -x "$PYTHON" ] || skip "$PYTHON not installed (apt-get install python3.11)"
}

# start_py N [MORE] [ENV=VALUE...]: run py_sessions.py, wait for "ready";
# sets TARGET_PID and TARGET_OUT like start_target.
start_py() {
	local n=$1 more=${2:-$1}
	shift 2 || shift $#
	TARGET_OUT="$LM_TMP/py.$RANDOM.out"
	env "$@" "$PYTHON" "$PY_TARGET" "$n" "$more" >"$TARGET_OUT" 2>"$TARGET_OUT.err" &
	TARGET_PID=$!
	LM_PIDS+=("$TARGET_PID")
	wait_for_line "$TARGET_OUT" '^ready' 30 ||
		framework_failure "py_sessions.py did not become ready: $(cat "$TARGET_OUT.err")"
}

# py_count FILE KIND NAME: count of a type in a `leakmon stat --json` file (0 if absent).
py_count() {
	python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
print(sum(t["count"] for t in j["types"] if t["kind"] == sys.argv[2] and t["name"] == sys.argv[3]))' "$@"
}

# census_reconciles FILE: the types add up to the totals, counts and bytes.
census_reconciles() {
	python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
c = sum(t["count"] for t in j["types"]); b = sum(t["bytes"] for t in j["types"])
t = j["totals"]
sys.exit(0 if (c, b) == (t["inuse_count"], t["inuse_bytes"]) else 1)' "$1"
}
