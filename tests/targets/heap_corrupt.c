/* SPDX-License-Identifier: MIT */
/*
 * heap_corrupt.c - a single-arena target that breaks its own heap, so the
 * walker must fail with the address instead of crashing or looping.
 *
 *   heap_corrupt size      a live chunk's size field := 0x4141414141414141
 *   heap_corrupt fastloop  a fastbin chunk's fd (safe-linked) := itself
 *   heap_corrupt binloop   a small-bin chunk's fd := itself (bk unchanged)
 *   heap_corrupt random S  40 random words of the heap := random values
 *                          (seed S): plausible sizes, heap pointers, junk
 *
 * Prints `info corrupt_chunk 0x...` (the chunk it broke), "ready", then
 * waits without touching malloc again (any call could abort).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 64

static void *p[N], *big;

/* Overwrite random words between the first and the last block (headers,
 * links and data alike); returns the first word written. */
static uint64_t *scribble(unsigned seed)
{
	uintptr_t lo = (uintptr_t)p[0] - 16, hi = (uintptr_t)big + 5000;
	uint64_t *first = NULL;
	int i;

	srand(seed);
	for (i = 0; i < 40; i++) {
		uint64_t *w = (uint64_t *)((lo + (uintptr_t)rand() % (hi - lo)) & ~(uintptr_t)7);
		uint64_t r = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 3) ^ (uint64_t)rand();
		switch (rand() % 4) {
		case 0: *w = r; break;					/* junk */
		case 1: *w = (r & 0xfff0) | (r >> 62); break;		/* a size */
		case 2: *w = lo + (r % (hi - lo)); break;		/* into the heap */
		default: *w = (uint64_t)(uintptr_t)w - 16 * (r % 4); break;	/* a loop */
		}
		if (!first)
			first = w;
	}
	return first;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "size";
	uint64_t *chunk;
	char buf[128];
	int i, n;

	for (i = 0; i < N; i++)
		p[i] = malloc(104);	/* chunk 112: tcache, then fastbin */
	if (strcmp(mode, "binloop") == 0) {
		for (i = 0; i < N; i++)
			p[i] = realloc(p[i], 312);	/* chunk 320: small bin */
	}
	for (i = 1; i < N; i += 2)
		free(p[i]);		/* 7 to tcache, the rest fastbin/unsorted */
	big = malloc(5000);		/* sorts unsorted into the small bins */
	chunk = (uint64_t *)((char *)p[N - 1 - 2] - 16);	/* freed last but one: not tcache */
	if (strcmp(mode, "size") == 0) {
		chunk = (uint64_t *)((char *)p[N / 2] - 16);	/* even index: live */
		chunk[1] = 0x4141414141414141ULL;
	} else if (strcmp(mode, "fastloop") == 0) {
		chunk[2] = (uint64_t)(uintptr_t)chunk ^ (((uintptr_t)&chunk[2]) >> 12);
	} else if (strcmp(mode, "binloop") == 0) {
		chunk[2] = (uint64_t)(uintptr_t)chunk;
	} else if (strcmp(mode, "random") == 0) {
		chunk = scribble(argc > 2 ? (unsigned)atoi(argv[2]) : 1);
	} else {
		return 2;
	}
	n = snprintf(buf, sizeof(buf), "info corrupt_chunk %p\nready\n", (void *)chunk);
	if (write(1, buf, (size_t)n) < 0)
		return 3;
	for (;;)
		pause();
}
