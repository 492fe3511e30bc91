/*
 * daemon_big.c - a target with a big heap: MB megabytes in 64 KiB blocks
 * (below the mmap threshold, so they stay in the arena). Copying it takes
 * longer than a tiny max_pause allows.
 *
 *   daemon_big MB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mb = argc > 1 ? atol(argv[1]) : 256, i;
	size_t block = 64 * 1024 - 64;
	char **keep = calloc((size_t)mb * 16, sizeof(*keep));

	if (!keep)
		return 1;
	for (i = 0; i < mb * 16; i++) {
		keep[i] = malloc(block);
		if (!keep[i])
			return 1;
		memset(keep[i], (int)i, block);	/* resident, not just reserved */
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
