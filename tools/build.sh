#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/build.sh [DIR [CONFIGURE-ARGS...]] - configure and build out of tree
# (default DIR: build/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
shift || true
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p "$dir"
cd "$dir"
[ -f Makefile ] || "$top/configure" -q --enable-werror "$@"
make -j"$(nproc)" >/dev/null
