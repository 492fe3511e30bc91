#!/bin/bash
# tests/systemd_real.sh BUILDDIR - leakmond under a real systemd, end to end
# (make check-systemd; not part of make check: it boots a container).
#
# A Debian bookworm tree (tools/systemd-tree.sh, cached outside the source
# tree) is copied, leakmon is installed into the copy with
# `make install DESTDIR=`, the copy boots with systemd as PID 1 under
# systemd-nspawn, and the README's commands run inside: systemd-sysusers,
# daemon-reload, enable --now. Then, as an operator would meet them:
#   first start without targets (no restart loop; STATUS= says so),
#   a configuration error (exit 78, not restarted),
#   two demo services, one hardened (DynamicUser=, SystemCallFilter=),
#   watched in snapshot_mode = copy, then live (pauses side by side, and the
#   source each snapshot used, with the reason when it was not the copy),
#   an operator in the group leakmon reading the database with sqlite3,
#   a reload with a bad file (the running configuration is kept),
#   a restart of a watched unit (a new instance), the watchdog restarting a
#   stuck daemon, and a clean stop (targets running, not traced).
# Exit 0 all passed, 1 a check failed, 77 the container cannot run here.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-.}" && pwd)
CACHE=${LM_CACHE:-/var/cache/leakmon-test}
FAILS=0

say() { printf '%s\n' "$*"; }
skip() { say "SKIP: $*"; exit 77; }
ok() { say "ok   - $*"; }
bad() { say "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (apt-get install systemd-container)"
[ -x "$B/leakmond" ] || { say "FAIL - $B/leakmond is not built (make first)"; exit 1; }
TREE=$("$SRC/tools/systemd-tree.sh") || skip "no container tree (see the message above)"

RUN=$(mktemp -d "$CACHE/systemd-run.XXXXXX") || skip "cannot create a directory in $CACHE"
NSPAWN=
cleanup() {
	declare -F host_cleanup >/dev/null && host_cleanup
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		# SIGTERM: nspawn asks the container's systemd to power off.
		kill -TERM "$NSPAWN" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPAWN" 2>/dev/null
		wait "$NSPAWN" 2>/dev/null
	fi
	[ -n "${LM_KEEP_RUN:-}" ] && { say "kept $RUN"; return; }
	rm -rf "$RUN" "$RUN".*
}
trap cleanup EXIT

cp -a "$TREE/." "$RUN/" || skip "cannot copy $TREE"
make -s -C "$B" install DESTDIR="$RUN" >"$RUN.install.log" 2>&1 ||
	{ say "FAIL - make install DESTDIR=$RUN: $(tail -n 5 "$RUN.install.log")"; exit 1; }
rm -f "$RUN.install.log"
PREFIX=$(sed -n 's/^prefix = //p' "$B/Makefile")
CONF=$(sed -n 's|^ExecStart=.* -c ||p' "$B/systemd/leakmond.service")
DB=/var/lib/leakmon/leakmon.db

# The services the test watches: the demo program, once plain and once
# hardened the way distribution units are.
cat >"$RUN/etc/systemd/system/lmdemo.service" <<EOF
[Unit]
Description=leakmon test target
[Service]
ExecStart=$PREFIX/bin/leakmon-demo --rate 50000 --max 300000
EOF
cat >"$RUN/etc/systemd/system/lmhard.service" <<EOF
[Unit]
Description=leakmon test target, hardened
[Service]
ExecStart=$PREFIX/bin/leakmon-demo --rate 50000 --max 300000
DynamicUser=yes
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
SystemCallArchitectures=native
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
RestrictNamespaces=yes
MemoryDenyWriteExecute=yes
EOF

# SYSTEMD_SECCOMP=0: nspawn puts no filter on the container's PID 1. With
# one, every process inside is filtered, and the kernel shows seccomp
# filters to no filtered reader: the helper could not read them in there
# (a process in a filtering container is checked from the host below).
SYSTEMD_SECCOMP=0 setsid systemd-nspawn -D "$RUN" -b --register=no --keep-unit --console=passive \
	</dev/null >"$RUN.nspawn.log" 2>&1 &
NSPAWN=$!
LEADER=
for _ in $(seq 1 100); do
	for p in $(ps -o pid= --ppid "$NSPAWN" 2>/dev/null); do
		grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$p/status" 2>/dev/null && LEADER=$p
	done
	[ -n "$LEADER" ] && break
	kill -0 "$NSPAWN" 2>/dev/null || break
	sleep 0.1
done
[ -n "$LEADER" ] || skip "systemd-nspawn did not boot: $(tail -n 3 "$RUN.nspawn.log" | tr '\n' ' ')"
E() { nsenter -t "$LEADER" -a "$@"; }
# PID 1 answers once its private socket exists: until then, 'offline'.
for _ in $(seq 1 120); do
	state=$(E timeout 120 systemctl is-system-running --wait 2>&1)
	case $state in running | degraded) break ;; esac
	sleep 0.5
done
case $state in
running | degraded) ok "container booted (systemd: $state)" ;;
*) skip "the container's systemd did not come up: $state" ;;
esac

# Libraries leakmon links against that the tree lacks (a new dependency):
# install their packages inside from the same mirror, as an operator would.
missing=$(E ldd "$PREFIX/sbin/leakmond" "$PREFIX/bin/leakmon" | awk '/not found/ { print $1 }' | sort -u)
if [ -n "$missing" ]; then
	pkgs=
	for lib in $missing; do
		path=$(ldd "$B/leakmond" "$B/leakmon" | awk -v l="$lib" '$1 == l { print $3; exit }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1)
		[ -n "$pkg" ] || skip "$lib is missing in the container and no host package provides it"
		pkgs="$pkgs $pkg"
	done
	E apt-get -q update >/dev/null 2>&1
	E env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends $pkgs \
		>"$RUN.apt.log" 2>&1 || skip "apt-get install$pkgs in the container failed: $(tail -n 2 "$RUN.apt.log")"
	ok "installed$pkgs in the container (libraries the tree lacked)"
fi

unit() { E systemctl show -p "$2" --value "$1"; }
journal() { E journalctl -q -o cat -u leakmond --no-pager; }
wait_for() { local t=$1; shift; local i; for i in $(seq 1 $((t * 5))); do "$@" && return 0; sleep 0.2; done; return 1; }

# ---- the README's set-up, then the first start: no target yet.
E systemd-sysusers || bad "systemd-sysusers"
check "user and group leakmon exist" E getent passwd leakmon >/dev/null
E systemctl daemon-reload
E systemctl enable --now leakmond >/dev/null 2>&1 || bad "systemctl enable --now leakmond: $(journal | tail -n 3)"
check "installed default configuration: $CONF" E test -s "$CONF"
active() { [ "$(unit leakmond ActiveState)" = active ]; }
check "first start without targets is active" wait_for 10 active
status=$(unit leakmond StatusText)
check "STATUS= says no targets: '$status'" grep -q '^No targets configured' <<<"$status"
check "the journal says it watches nothing" grep -q 'watching nothing' <<<"$(journal)"
sleep 3
check "no restart at first start (NRestarts=$(unit leakmond NRestarts))" test "$(unit leakmond NRestarts)" = 0
check "state directory 0750 leakmon:leakmon" test "$(E stat -c '%a %U:%G' /var/lib/leakmon)" = "750 leakmon:leakmon"
check "database 0640 leakmon:leakmon" test "$(E stat -c '%a %U:%G' $DB)" = "640 leakmon:leakmon"

# ---- a configuration error: exit 78, and the unit is not restarted.
E cp "$CONF" /root/leakmond.conf.default
E sh -c "printf '[daemon]\nintervall = 5s\n' >$CONF"
E systemctl restart leakmond >/dev/null 2>&1
failed() { [ "$(unit leakmond ActiveState)" = failed ]; }
check "a bad configuration fails the unit" wait_for 10 failed
check "exit status 78 (ExecMainStatus=$(unit leakmond ExecMainStatus))" test "$(unit leakmond ExecMainStatus)" = 78
check "the journal says how to fix it" grep -q 'not starting: fix the file' <<<"$(journal)"
sleep 12	# RestartSec=10s: a restart would have happened by now
check "no restart loop after exit 78 (NRestarts=$(unit leakmond NRestarts), $(unit leakmond ActiveState))" \
	test "$(unit leakmond NRestarts)" = 0 -a "$(unit leakmond ActiveState)" = failed

# ---- two watched services, in copy mode.
write_conf() {	# MODE
	E sh -c "cat >$CONF" <<EOF
[daemon]
database = $DB
interval = 2s
max_pause = 250ms
snapshot_mode = $1

[target plain]
unit = lmdemo.service

[target hardened]
unit = lmhard.service
EOF
}
write_conf copy
E systemctl start lmdemo lmhard
E systemctl reset-failed leakmond
E systemctl start leakmond || bad "start leakmond with two targets: $(journal | tail -n 3)"
check "READY after start with two targets" active
Q() { E sqlite3 "$DB" "$1"; }
nsnap() { Q "select count(*) from snapshots s join instances i on i.id = s.instance_id join targets t on t.id = i.target_id where t.name = '$1' and s.status = 'ok' ${2:+and $2}"; }
have() { [ "$(nsnap "$1" "${3:-}")" -ge "$2" ]; }
check "snapshots of the plain service" wait_for 40 have plain 5
check "snapshots of the hardened service" wait_for 40 have hardened 5
hard_pid=$(unit lmhard MainPID)
check "the hardened target is filtered (Seccomp: 2)" E grep -q '^Seccomp:[[:space:]]*2' "/proc/$hard_pid/status"
say "# sources in copy mode (target, source, snapshots, reason when not the copy):"
Q "select t.name, s.source, count(*), coalesce(substr(s.error, 1, 160), '') from snapshots s join instances i on i.id = s.instance_id join targets t on t.id = i.target_id where s.status = 'ok' group by 1, 2, 4" | sed 's/^/#   /'
copy_or_why() {	# every ok snapshot of the copy phase: a copy, or the reason said
	[ "$(Q "select count(*) from snapshots where status = 'ok' and source <> 'copy' and coalesce(error, '') not like '%frozen copy not possible%'")" = 0 ]
}
check "each snapshot records its source, and why when it was not the copy" copy_or_why
if [ "$(nsnap hardened "s.source = 'copy'")" -gt 0 ]; then
	ok "the hardened service was watched in copy mode"
else
	bad "the hardened service was never watched in copy mode"
fi

# ---- operators: members of the group leakmon read the history.
E useradd -m -G leakmon lmop
E useradd -m lmother
n=$(E runuser -u lmop -- sqlite3 "$DB" 'select count(*) from snapshots' 2>&1)
check "an operator in the group reads the database with sqlite3 ($n snapshots)" test "${n:-0}" -gt 0 2>/dev/null
n=$(E runuser -u lmop -- sqlite3 -readonly "$DB" 'select count(*) from snapshots' 2>&1)
check "and with sqlite3 -readonly ($n)" test "${n:-0}" -gt 0 2>/dev/null
check "and with leakmon trends" E runuser -u lmop -- "$PREFIX/bin/leakmon" trends --target plain >/dev/null
E runuser -u lmop -- sqlite3 "$DB" 'delete from snapshots' >/dev/null 2>&1
check "but cannot write it" test "$(Q 'select count(*) from snapshots')" -gt 0
check "another user cannot read it" bash -c "! nsenter -t $LEADER -a runuser -u lmother -- sqlite3 $DB 'select 1' >/dev/null 2>&1"

# ---- reload to live mode: the same targets, pauses side by side.
pid0=$(unit leakmond MainPID)
write_conf live
E systemctl reload leakmond || bad "systemctl reload leakmond"
check "reload keeps the daemon (MainPID $pid0)" test "$(unit leakmond MainPID)" = "$pid0"
LIVE_PHASE=$(Q "select max(id) from snapshots")
check "live snapshots after the reload" wait_for 40 have hardened 5 "s.id > $LIVE_PHASE"
say "# pauses (microseconds) per target and source, copy-mode phase vs live-mode phase:"
say "#   (heap in use, median: $(Q "select t.name || ' ' || (s.inuse_bytes / 1000000) || ' MB' from snapshots s join instances i on i.id = s.instance_id join targets t on t.id = i.target_id where s.status = 'ok' and s.id > $LIVE_PHASE group by t.name having s.id = max(s.id)" | paste -sd, -))"
say "#   target    phase  source  n   min   median  max"
for t in plain hardened; do
	for ph in copy live; do
		if [ $ph = copy ]; then cond="s.id <= $LIVE_PHASE"; else cond="s.id > $LIVE_PHASE"; fi
		Q "select s.source, s.pause_us from snapshots s join instances i on i.id = s.instance_id join targets t on t.id = i.target_id where t.name = '$t' and s.status = 'ok' and $cond order by s.source, s.pause_us" |
			awk -F'|' -v t=$t -v ph=$ph '{ src[$1] = src[$1] " " $2; n[$1]++ }
			END { for (s in n) { k = split(substr(src[s], 2), v, " ");
				printf "#   %-9s %-6s %-7s %-3d %-5d %-7d %d\n", t, ph, s, k, v[1], v[int((k + 1) / 2)], v[k] } }'
	done
done

# ---- a reload with a bad file keeps the running configuration.
before=$(nsnap plain)
E sh -c "printf '[target broken]\nunit = \n' >>$CONF"
E systemctl reload leakmond
check "bad reload: the journal says the old configuration is kept" wait_for 10 \
	bash -c "nsenter -t $LEADER -a journalctl -q -o cat -u leakmond --no-pager | grep -q 'keeping the running configuration'"
check "bad reload: still active, same process" test "$(unit leakmond ActiveState) $(unit leakmond MainPID)" = "active $pid0"
check "bad reload: snapshots go on" wait_for 20 have plain $((before + 2))
write_conf live

# ---- a restart of a watched unit makes a new instance.
old=$(unit lmhard MainPID)
E systemctl restart lmhard
new=$(unit lmhard MainPID)
inst() { [ "$(Q "select count(*) from snapshots s join instances i on i.id = s.instance_id where i.pid = $new and s.status = 'ok'")" -ge 2 ]; }
check "restart of the target: new instance (pid $old -> $new) snapshotted" wait_for 30 inst
check "the old instance is ended" wait_for 20 bash -c "[ \"\$(nsenter -t $LEADER -a sqlite3 $DB 'select count(*) from instances where pid = $old and ended_at_us is not null')\" = 1 ]"

# ---- the watchdog restarts a stuck daemon.
E mkdir -p /run/systemd/system/leakmond.service.d
E sh -c 'printf "[Service]\nWatchdogSec=3s\nTimeoutAbortSec=3s\n" >/run/systemd/system/leakmond.service.d/watchdog.conf'
E systemctl daemon-reload
E systemctl restart leakmond
wait_for 10 active
stuck=$(unit leakmond MainPID)
restarts=$(unit leakmond NRestarts)
E kill -STOP "$stuck"
back() { [ "$(unit leakmond NRestarts)" -gt "$restarts" ] && active && [ "$(unit leakmond MainPID)" != "$stuck" ]; }
check "watchdog: a stopped daemon is restarted (was pid $stuck)" wait_for 40 back
check "watchdog: the journal names the watchdog" bash -c "nsenter -t $LEADER -a journalctl -q -o cat -u leakmond --no-pager | grep -qi watchdog"
E rm -f /run/systemd/system/leakmond.service.d/watchdog.conf
E systemctl daemon-reload

# ---- a clean stop: exit 0, every target running and untraced.
wait_for 10 active
E systemctl stop leakmond
check "stop: clean exit (Result=$(unit leakmond Result), status $(unit leakmond ExecMainStatus))" \
	test "$(unit leakmond Result) $(unit leakmond ExecMainStatus)" = "success 0"
for u in lmdemo lmhard; do
	p=$(unit $u MainPID)
	check "stop: $u (pid $p) runs and is not traced" \
		E sh -c "grep -q '^TracerPid:[[:space:]]*0$' /proc/$p/status && ! grep -q '^State:[[:space:]]*[tT]' /proc/$p/status"
done

# ---- from the host: a process in a container whose runtime filters it
# (systemd-nspawn's own seccomp filter, as containers usually run), read by
# a reader without CAP_SYS_ADMIN through the helper, as the unit would.
NS2=
HELPER_PID=
host_cleanup() {
	local p
	for p in $NS2 $HELPER_PID; do
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
}
if grep -q '^Seccomp:[[:space:]]*0' /proc/self/status && command -v systemd-socket-activate >/dev/null &&
	command -v setpriv >/dev/null; then
	setsid systemd-nspawn -D "$TREE" --read-only --register=no --keep-unit -q \
		--bind-ro="$B/leakmon-demo:/usr/bin/yes" /usr/bin/yes --rate 50 </dev/null >"$RUN.ns2.log" 2>&1 &
	NS2=$!
	sock=$RUN.filters.sock
	LEAKMON_FILTERS_SOCKET=$sock setsid systemd-socket-activate -l "$sock" --accept --inetd \
		"$B/leakmon-filters" </dev/null >/dev/null 2>&1 &
	HELPER_PID=$!
	cpid=
	for _ in $(seq 1 50); do
		cpid=$(ps -o pid= --ppid "$NS2" 2>/dev/null | tr -d ' ' | head -n1)
		[ -n "$cpid" ] && [ -S "$sock" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$cpid/status" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.5	# the demo's heap exists
	if [ -n "$cpid" ] && [ -S "$sock" ]; then
		nocap() { LEAKMON_FILTERS_SOCKET=$sock setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$@"; }
		out=$(nocap "$B/leakmon" stat --mode copy "$cpid" 2>&1 | tail -n 1)
		say "# nspawn-filtered pid $cpid ($(sed -n 's/^Seccomp_filters:[[:space:]]*/filters: /p' /proc/$cpid/status)), no CAP_SYS_ADMIN, helper: $out"
		check "a process in a filtering nspawn container, through the helper: copy" grep -q '(copy)$' <<<"$out"
		out=$(LEAKMON_FILTERS_SOCKET=$RUN.none.sock setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
			"$B/leakmon" stat --mode copy "$cpid" 2>&1)
		check "the same without the helper: live, saying why" grep -q 'frozen copy not possible.*leakmon-filters' <<<"$out"
	else
		bad "could not start a filtered nspawn container and the helper on the host: $(tail -n 2 "$RUN.ns2.log")"
	fi
	host_cleanup
else
	say "# (host-side check of a filtered nspawn process skipped: this shell is filtered, or no systemd-socket-activate/setpriv)"
fi

say "# container: $TREE copied to $RUN; leakmon installed with prefix $PREFIX"
if [ "$FAILS" -gt 0 ]; then
	say "# $FAILS check(s) failed; journal of leakmond:"
	journal | tail -n 30 | sed 's/^/#   /'
	exit 1
fi
exit 0
