# SPDX-License-Identifier: MIT
# tests/glibc_lib.sh - test targets built against another Debian suite's glibc.
#
#   . "$LM_SRCDIR/tests/glibc_lib.sh"
#   glibc_sysroot trixie || { note "$GLIBC_SKIP"; continue; }
#   build_for_sysroot "$LM_SRCDIR/tests/targets/heapmix.c" "$LM_TMP/trixie/heapmix"
#   LM_TARGETS=$LM_TMP/trixie start_target heapmix
#
# tools/glibc-sysroot.sh downloads the suite's libc6, libc6-dev and
# libc6-dbg once into $LM_CACHE (default /var/cache/leakmon-test), outside
# the source tree; later runs reuse it. The suites to run come from
# $LM_GLIBC_SUITES (default: bullseye trixie sid experimental: glibc 2.31,
# 2.41, 2.43 and the newest Debian has, 2.44 when written).

: "${LM_GLIBC_SUITES:=bullseye trixie sid experimental}"

# glibc_sysroot SUITE: set SYSROOT, SYSROOT_LDSO, SYSROOT_LIBDIR and
# SYSROOT_DEBUG (its libc6-dbg's debug-file directory, or empty). Returns 1
# with the reason in GLIBC_SKIP when the suite cannot be reached; a broken
# tool is a framework failure.
glibc_sysroot() {
	local suite=$1 rc=0
	SYSROOT=$("$LM_SRCDIR/tools/glibc-sysroot.sh" "$suite" 2>"$LM_TMP/sysroot-$suite.err") || rc=$?
	if [ "$rc" -eq 77 ]; then
		GLIBC_SKIP="glibc of $suite unreachable: $(tail -n 2 "$LM_TMP/sysroot-$suite.err")"
		return 1
	fi
	[ "$rc" -eq 0 ] || framework_failure "tools/glibc-sysroot.sh $suite exited $rc: $(cat "$LM_TMP/sysroot-$suite.err")"
	{ read -r SYSROOT_LDSO; read -r SYSROOT_LIBDIR; } <"$SYSROOT/.leakmon-sysroot"
	SYSROOT_DEBUG=
	[ -d "$SYSROOT/usr/lib/debug/.build-id" ] && SYSROOT_DEBUG=$SYSROOT/usr/lib/debug
	return 0
}

# build_for_sysroot SRC OUT: compile a C test target against $SYSROOT's
# glibc: its headers, crt files and libraries first (-B, -L: the host's own
# would otherwise win), its loader and libc at run time.
build_for_sysroot() {
	local src=$1 out=$2 multi=$SYSROOT/usr/lib/x86_64-linux-gnu
	mkdir -p "$(dirname "$out")"
	${CC:-gcc} --sysroot="$SYSROOT" -B"$multi" -L"$multi" -L"$SYSROOT/$SYSROOT_LIBDIR" \
		-O1 -g -pthread -Wall -Wextra -Werror -o "$out" "$src" \
		-Wl,--dynamic-linker="$SYSROOT/$SYSROOT_LDSO" -Wl,-rpath="$SYSROOT/$SYSROOT_LIBDIR" \
		2>"$out.err" || framework_failure "cannot build $src against $SYSROOT: $(cat "$out.err")"
}

# uses_sysroot_libc PID: the process runs the sysroot's libc, not the host's.
uses_sysroot_libc() {
	grep -q " $SYSROOT/.*libc[.-]" "/proc/$1/maps"
}
