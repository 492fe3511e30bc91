#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/check-includes.sh SRCDIR BUILDDIR [CC...] - the include graph of lib/
# has no circle.
#
# A module is a lib/NAME.c and its lib/NAME.h; a header with no source of
# its own (NAME_part.h, NAME_schema.h) belongs to the module whose name it
# starts with, as its private part. The compiler's -MM output
# lists every lib/ header a file reaches, directly or through others; module
# A depends on module B when A's source or header reaches B's header. Two
# modules that each reach the other's header form a circle: neither can be
# read, built or tested without the other. Prints each circle and exits 1,
# or prints nothing and exits 0.
set -eu
srcdir=$1
builddir=$(cd "$2" && pwd) || exit 2
shift 2
[ $# -gt 0 ] || set -- "${CC:-cc}"

cd "$srcdir/lib"
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

# module NAME: the module lib/NAME.c or lib/NAME.h belongs to.
module() {
	local m=$1
	while [ ! -e "$m.c" ] && [ "${m%_*}" != "$m" ]; do
		m=${m%_*}
	done
	[ -e "$m.c" ] && echo "$m" || echo "$1"
}

for f in *.c *.h; do
	[ -e "$f" ] || continue
	from=$(module "${f%.*}")
	opts=()
	case $f in *.h) opts=(-x c) ;; esac
	# -MG: a generated or missing header is a name, not an error.
	"$@" -MM -MG -I"$builddir" -I. "${opts[@]}" "$f" 2>/dev/null |
		tr ' \\' '\n\n' | sed -n 's|^\(\./\)\{0,1\}\([A-Za-z0-9_]*\)\.h$|\2|p' |
		while read -r to; do
			to=$(module "$to")
			[ "$to" = "$from" ] || [ "$to" = config ] || echo "$from $to"
		done
done | sort -u >"$edges"

[ -s "$edges" ] || { echo "check-includes: no includes found in $srcdir/lib (is $1 a C compiler?)" >&2; exit 2; }

# A reaches B and B reaches A (the -MM lists are already transitive).
circles=$(awk '{ e[$1 " " $2] = 1 } END { for (k in e) { split(k, p, " ");
	if (p[1] < p[2] && ((p[2] " " p[1]) in e)) print p[1] " <-> " p[2] } }' "$edges" | sort)
if [ -n "$circles" ]; then
	echo "include circles among lib/ modules (each reaches the other's header):"
	echo "$circles"
	exit 1
fi
