#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/debian-mirror.sh - print the Debian mirror the test caches download
# from (tools/glibc-sysroot.sh, tools/python-root.sh, tools/systemd-tree.sh):
# $LM_DEBIAN_MIRROR, else the first http(s) URI of a Debian archive (not
# security) in the machine's own apt sources, deb822 or one-line style.
# Exit 1 with nothing printed when there is none.
set -uo pipefail
mirror=${LM_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ')
fi
[ -n "$mirror" ] || exit 1
echo "$mirror"
