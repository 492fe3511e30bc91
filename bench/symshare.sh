#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/symshare.sh [N] - leakmond's memory watching N processes of one
# executable (default 13), with symbol tables shared between processes (the
# default) and without (LEAKMON_SHARED_SYMBOLS=0), and idle (no process).
#
# The N processes are leakmon-demo (C++: libstdc++, libc, their debug files
# when installed) with a small fixed heap, started with address
# randomisation off (setarch -R) so that they are laid out alike, as a
# server's forked workers are. leakmond censuses each every second for SECS
# seconds (default 20); we report its peak and final RSS (VmHWM, VmRSS) and
# the censuses it took.
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
n=${1:-13}
secs=${SECS:-20}
tmp=$(mktemp -d /tmp/leakmon-symshare.XXXXXX)
pids=() dpid=
trap 'for p in $dpid "${pids[@]}"; do kill -TERM $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
command -v setarch >/dev/null || { echo "bench/symshare.sh: setarch (util-linux) is needed" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench/symshare.sh: sqlite3 is needed" >&2; exit 1; }

exe=$tmp/demo-service	# a copy: the exe selector matches ours only
cp "$builddir/leakmon-demo" "$exe"
for ((i = 0; i < n; i++)); do
	setarch "$(uname -m)" -R "$exe" --rate 20000 --max 2000 >"$tmp/demo.$i" 2>&1 &
	pids+=($!)
done
sleep 1

# run LABEL EXE-GLOB [ENV...]: leakmond for secs seconds; prints a row.
run() {
	local label=$1 glob=$2 db=$tmp/$1.db hwm rss snaps
	shift 2
	cat >"$tmp/$label.conf" <<CONF
[daemon]
database = $db
interval = 1s
warmup = 0s
window = 20s

[target demo]
exe = $glob
CONF
	env "$@" "$builddir/leakmond" -c "$tmp/$label.conf" >"$tmp/$label.log" 2>&1 &
	dpid=$!
	sleep "$secs"
	hwm=$(awk '/^VmHWM/ {print $2}' /proc/$dpid/status)
	rss=$(awk '/^VmRSS/ {print $2}' /proc/$dpid/status)
	kill -TERM $dpid
	wait $dpid 2>/dev/null
	dpid=
	snaps=$(sqlite3 "$db" "select count(*) from snapshots where status = 'ok'" 2>/dev/null || echo 0)
	printf '%-22s %10s %10s %8s\n' "$label" "$hwm" "$rss" "$snaps"
}

echo "# bench/symshare.sh: $n processes of leakmon-demo, ${secs}s at 1s, $(date -u +%FT%TZ), $(nproc) cpus"
printf '%-22s %10s %10s %8s\n' "leakmond" "VmHWM kB" "VmRSS kB" "censuses"
run shared "$exe"
run unshared "$exe" LEAKMON_SHARED_SYMBOLS=0
run idle /nonexistent/nothing
