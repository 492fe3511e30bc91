/* SPDX-License-Identifier: MIT */
/*
 * static_target.c - a statically linked program with a heap: leakmon must
 * refuse it clearly (no libc.so mapping, so no heap layout it can trust).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	volatile char *blocks[100];
	int i;

	for (i = 0; i < 100; i++)
		blocks[i] = malloc(100);
	printf("info blocks %d\nready\n", (int)(sizeof(blocks) / sizeof(blocks[0])));
	fflush(stdout);
	for (;;)
		pause();
}
