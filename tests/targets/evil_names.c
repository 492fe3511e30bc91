/* SPDX-License-Identifier: MIT */
/*
 * evil_names.c - a test target whose typed objects are named by symbols a
 * hostile program would choose: an escape sequence and a byte that is not
 * UTF-8, a C1 control, a bell and a backspace. The asm labels give the data objects
 * exactly these bytes as their .symtab names, and each heap object's first
 * word points to one of them, so the classifier types them
 * "symbol <those bytes>": what leakmon prints must be escaped.
 *
 * Output: "expect symbol ESCAPED COUNT BYTES" per type (ESCAPED as leakmon
 * must print it), then "ready". Arguments: [--leak N] adds N more objects
 * of the first type every 100 ms (a growing type for alert tests).
 * Everything stays reachable from g_keep; runs until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct meta {
	const char *what;
	long flags;
};

/* ESC [ 3 1 m: "switch to red" on a terminal; 0xff: never valid UTF-8. */
const struct meta evil_meta __asm__("\"evil\x1b[31mname\xff\"") = { "evil", 1 };
/* U+00E9 (valid, kept), U+009B (C1 CSI, escaped), BEL and BS (escaped).
 * (No newline: the assembler takes the name from one line.) */
const struct meta c1_meta __asm__("\"caf\xc3\xa9\xc2\x9b" "2J\a\bforged\"") = { "c1", 2 };

#define OBJ_REQUEST 40		/* chunk of 48 bytes */
#define KEEP_MAX (1 << 20)

void *g_keep[KEEP_MAX];	/* global: the stores must stay */
static long g_nkeep;

static void make(const struct meta *m, long n)
{
	long i;

	for (i = 0; i < n && g_nkeep < KEEP_MAX; i++) {
		const void **p = calloc(1, OBJ_REQUEST);
		if (!p)
			abort();
		p[0] = m;
		g_keep[g_nkeep++] = p;
	}
}

int main(int argc, char **argv)
{
	long leak = argc == 3 && !strcmp(argv[1], "--leak") ? atol(argv[2]) : 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	make(&evil_meta, 7);
	make(&c1_meta, 5);
	printf("expect symbol evil\\x1b[31mname\\xff 7 336\n");
	printf("expect symbol caf\xc3\xa9\\xc2\\x9b" "2J\\x07\\x08forged 5 240\n");
	printf("ready\n");
	for (;;) {
		usleep(100 * 1000);
		make(&evil_meta, leak);
	}
}
