#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/deps.sh - install what leakmon needs to build and test on Debian 12.
# Every package here is named, with its reason, in README.md.
set -euo pipefail
packages=(
	build-essential g++ autoconf automake pkg-config	# toolchain (g++: C++ test targets, __cxa_demangle)
	libev-dev		# the daemon's event loop
	libjansson-dev		# JSON output and webhook payloads
	libsqlite3-dev sqlite3	# the history database and the shell operators use
	libcurl4-openssl-dev libssl-dev	# webhook delivery (HTTPS) and HMAC-SHA256 signatures
	libelf-dev libdw-dev	# ELF symbol tables of the target's modules
	libinih-dev		# the INI configuration file
	libsystemd-dev systemd	# sd_notify; systemd-analyze verify in the tests
	libmicrohttpd-dev	# leakmond's /metrics (metrics_listen)
	prometheus curl		# tests: promtool check metrics, a real Prometheus scraping leakmond
	prometheus-alertmanager	# tests: a real Alertmanager receiving format = alertmanager
	chromium		# tests: headless rendering of leakmon report's page
	gdb			# tests: gcore and &main_arena as an oracle
	valgrind		# tests: leak counts compared with memcheck's
	python3			# tests: JSON checks, HTTP receiver, notify socket
	util-linux procps time	# tests: unshare, mount, ps; bench: peak RSS
	libc6-dbg		# tests: libc debug symbols exist, so we prove we don't need them
	libjemalloc2 libjemalloc-dev libtcmalloc-minimal4 libmimalloc2.0 musl-tools	# tests: other allocators refused by name
	clang-14 libclang-rt-14-dev	# make fuzz-smoke: libFuzzer harnesses (clang -fsanitize=fuzzer)
)
if [ "$(id -u)" -ne 0 ]; then
	echo "tools/deps.sh: run as root (it installs Debian packages with apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${packages[@]}" | sed 's/#.*//') >/dev/null
