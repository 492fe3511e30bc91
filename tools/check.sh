#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/check.sh [--asan] - set everything up on a fresh Debian 12 machine,
# build, and run the test suite (make check) and a short run of every fuzz
# harness (make fuzz-smoke, docs/fuzzing.md). With --asan, leakmon itself
# is also built and tested with AddressSanitizer + UBSan (the test targets
# never are: they must use glibc malloc).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/deps.sh"
"$top/tools/build.sh" "$top/build"
status=0
summary() {	# "N passed, N failed" from the automake test-suite.log
	awk '/^# PASS:/{p=$3} /^# FAIL:/{f=$3} /^# XPASS:/{f+=$3} /^# ERROR:/{f+=$3} /^# SKIP:/{s=$3}
	     END{printf "%s: %d passed, %d failed, %d skipped\n", "'"$1"'", p, f, s}' "$2"
}
make -C "$top/build" -j2 check || status=1
summary tests "$top/build/test-suite.log"
# Every libFuzzer harness for FUZZ_SMOKE_TIME (15 s) each, after replaying
# the inputs that crashed before (fuzz/regressions); 3.5 minutes here with
# the clang build of the library (2 busy cores).
make -C "$top/build" -j2 fuzz-smoke || status=1
# CI also builds the Debian package from make dist, lints it, installs and
# purges it (make check-deb, tools/deb-check.sh; about 3 minutes): only in
# CI, since it changes the machine's packages.
if [ "${CI:-}" = true ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		debhelper dpkg-dev lintian >/dev/null
	make -C "$top/build" check-deb || status=1
	# leakmond under a real systemd in a booted bookworm container (make
	# check-systemd, tests/systemd_real.sh): about 2.5 minutes, plus about
	# 3 for the first debootstrap of a machine (cached afterwards).
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		debootstrap systemd-container >/dev/null
	make -C "$top/build" check-systemd || status=1
fi
if [ "${1:-}" = --asan ]; then
	"$top/tools/build.sh" "$top/build-asan" --enable-sanitizers
	make -C "$top/build-asan" -j2 check || status=1
	summary asan "$top/build-asan/test-suite.log"
fi
exit $status
