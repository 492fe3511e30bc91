#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/symcache.sh [ROUNDS] - what the symbol cache saves per census: the
# demo service (C++: libstdc++ and libc with their debug files when
# installed) is censused ROUNDS times (default 20) without and with a cache,
# alternating, by bench/symcache_bench, which prints CPU and wall time per
# census, their ratio, and the memory the cache keeps between censuses.
set -u
builddir=${LM_BUILDDIR:-$(pwd)}
rounds=${1:-20}
tmp=$(mktemp -d /tmp/leakmon-bench.XXXXXX)
# A fixed heap of 20000 sessions, reached in a fraction of a second.
"$builddir/leakmon-demo" --rate 100000 --max 20000 >"$tmp/demo.out" 2>&1 &
target=$!
trap 'kill -TERM $target 2>/dev/null; wait $target 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 2
kill -0 $target 2>/dev/null || { echo "leakmon-demo did not start: $(cat "$tmp/demo.out")" >&2; exit 1; }
echo "# bench/symcache.sh: $rounds rounds, $(date -u +%FT%TZ), $(nproc) cpus, target leakmon-demo" \
	"(RSS $(awk '/VmRSS/ {print $2}' /proc/$target/status) kB)"
"$builddir/bench/symcache_bench" $target "$rounds"
