/* SPDX-License-Identifier: MIT */
/*
 * t_escape.c - lm_escape on given bytes, for tests/hygiene_escape.test.
 *
 *   t_escape HEX [CAP]   decode HEX (two digits a byte) and print
 *                        "<need> <escaped>" where escaped is lm_escape's
 *                        output into a CAP-byte buffer (default 4096)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

int main(int argc, char **argv)
{
	char in[1024], out[4096];
	size_t n = 0, cap = sizeof(out), need;
	const char *h;

	if (argc < 2 || strlen(argv[1]) % 2 || strlen(argv[1]) / 2 > sizeof(in)) {
		fprintf(stderr, "usage: t_escape HEX [CAP]\n");
		return 2;
	}
	for (h = argv[1]; *h; h += 2) {
		unsigned v;
		if (sscanf(h, "%2x", &v) != 1) {
			fprintf(stderr, "t_escape: bad hex at '%s'\n", h);
			return 2;
		}
		in[n++] = (char)v;
	}
	if (argc > 2)
		cap = (size_t)atoi(argv[2]);
	if (cap > sizeof(out))
		cap = sizeof(out);
	need = lm_escape(in, n, out, cap);
	printf("%zu %s\n", need, cap ? out : "");
	return 0;
}
