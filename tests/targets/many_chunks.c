/* SPDX-License-Identifier: MIT */
/*
 * many_chunks.c - a heap of N small chunks (malloc(24): 32-byte chunks),
 * for the tests of what our own memory may hold per chunk.
 *
 *   many_chunks N [free]
 *
 * Allocates N blocks and keeps them in one array (itself an mmapped
 * chunk); with `free`, frees every other one afterwards, so N/2 chunks sit
 * in the free lists (seven per thread in the tcache, the rest in a
 * fastbin, which malloc never consolidates on its own). Prints `info first
 * ADDRESS` (a kept block), `info free COUNT`, then `ready`, and waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, i, freed = 0;
	int do_free = argc > 2 && argv[2][0] == 'f';
	void **keep;

	if (n <= 0)
		return 2;
	keep = malloc((size_t)n * sizeof(*keep));
	if (!keep)
		return 1;
	for (i = 0; i < n; i++)
		if (!(keep[i] = malloc(24)))
			return 1;
	for (i = 1; do_free && i < n; i += 2) {
		free(keep[i]);
		keep[i] = NULL;
		freed++;
	}
	printf("info first %p\n", keep[0]);
	printf("info free %ld\n", freed);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
