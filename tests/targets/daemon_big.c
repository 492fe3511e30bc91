/* SPDX-License-Identifier: MIT */
/*
 * daemon_big.c - a target with a big heap, for the daemon's tests: MB
 * megabytes in blocks of BLOCK bytes (default 64 KiB, below the mmap
 * threshold, so they stay in the arena). A copy of it takes longer than a
 * tiny max_pause allows; with small blocks its walk takes a while.
 *
 *   daemon_big MB [BLOCK]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mb = argc > 1 ? atol(argv[1]) : 256;
	long block = argc > 2 ? atol(argv[2]) : 64 * 1024 - 64;
	long n, i;
	char **keep;

	if (mb <= 0 || block < 16)
		return 2;
	n = mb * 1024 * 1024 / block;
	keep = calloc((size_t)n, sizeof(*keep));
	if (!keep)
		return 1;
	for (i = 0; i < n; i++) {
		keep[i] = malloc((size_t)block);
		if (!keep[i])
			return 1;
		memset(keep[i], (int)i, (size_t)block);	/* resident, not just reserved */
	}
	printf("info blocks %ld\n", n);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
