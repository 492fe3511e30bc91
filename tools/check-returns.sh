#!/bin/bash
# SPDX-License-Identifier: MIT
# check-returns.sh SRCDIR: the return convention of lib/error.h, checked in
# SRCDIR/lib/*.c and SRCDIR/daemon/*.c. A "did it work" result is 0 or a
# negative LM_E* code; this finds the forms that convention replaced:
#   - exit statuses computed by arithmetic (LM_EXIT_* + n, "code + 1000"),
#   - errno returned as a code (return -errno, return -EPERM),
#   - a positive LM_E* code returned (return LM_ENOMEM),
#   - a result tested against -1 (r == -1) or returned as -2, -3, ...,
#   - a function that returns both -1 and an LM_E* code,
#   - an int function that allocates and returns -1 (out of memory is
#     -LM_ENOMEM).
# Prints one line per finding (FILE:LINE: what) and exits 1 if there is one.
# Predicates, counts, indexes and file descriptors may still return -1, and
# a callback handed to a library (named *_cb or cb_*) what the library
# wants.
set -u
src=${1:?usage: check-returns.sh SRCDIR}
cd "$src" || exit 2
files=(lib/*.c daemon/*.c)
[ -e "${files[0]}" ] || { echo "check-returns.sh: no lib/*.c under $src" >&2; exit 2; }

found=0
report() {
	# $1 = what, stdin = grep -n lines (FILE:LINE:text)
	local line
	while IFS= read -r line; do
		echo "${line%%:*}:$(cut -d: -f2 <<<"$line"): $1"
		found=1
	done
}

report "exit status computed by arithmetic (use lm_exit_code)" < <(
	grep -nE '\breturn\b.*(LM_EXIT_[A-Z]+ *[-+]|[-+] *LM_EXIT_|[-+] *1000\b)' "${files[@]}")
report "errno returned as a code (return a negative LM_E* code)" < <(
	grep -nE '\breturn -?(errno|E[A-Z0-9]+) *;' "${files[@]}")
report "positive LM_E* code returned (return -LM_E...)" < <(
	grep -nE '\breturn LM_E[A-WYZ][A-Z]* *;' "${files[@]}")
report "result tested against -1 (test < 0 or a named code)" < <(
	grep -nE '\b(r|rc|ret|rv|res|status)\b *[!=]= *-1\b' "${files[@]}")
report "failure returned as a small negative number (return -LM_E...)" < <(
	grep -nE '\breturn -[2-9] *;' "${files[@]}")
# Per function (from a definition at column 0 to its closing brace):
# whether it returns -1, returns a code, allocates; what it is.
per_function() {
	local f
	for f in "${files[@]}"; do
		awk -v want="$1" '
		/^[A-Za-z_].*\(/ && !/;[ \t]*$/ {
			start = FNR; minus1 = code = alloc = 0
			name = $0; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
			is_int = $0 ~ /^(static )?(inline )?int /
			is_cb = name ~ /_cb$|^cb_/
		}
		/(^|[^A-Za-z_])return -1 *;|\? -1 *:|: -1 *;/ { minus1 = 1 }
		/(^|[^A-Za-z_])return[ \t(].*(-LM_E[A-Z]|lm_err_set\(|lm_err_errno\()/ { code = 1 }
		/(^|[^A-Za-z_])(malloc|calloc|realloc|strdup|strndup)\(/ { alloc = 1 }
		/^}/ {
			if (want == "mixed" && minus1 && code)
				print FILENAME ":" start ":"
			if (want == "alloc" && minus1 && alloc && is_int && !is_cb)
				print FILENAME ":" start ":"
			minus1 = code = alloc = 0
		}
		' "$f"
	done
}
report "returns both -1 and LM_E* codes (one convention per function)" < <(per_function mixed)
report "allocates and returns -1 (return -LM_ENOMEM)" < <(per_function alloc)
exit $found
