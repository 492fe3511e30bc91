#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/demo.sh - set everything up on a fresh Debian 12 machine and run the
# main job: leakmond watching the bundled leaking demo program, on its
# embedded default config, printing each snapshot's top types.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/deps.sh"
"$top/tools/build.sh"
exec "$top/build/leakmond" --demo "$@"
