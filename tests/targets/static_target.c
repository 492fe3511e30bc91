/* SPDX-License-Identifier: MIT */
/*
 * static_target.c - a statically linked program with a heap: leakmon must
 * refuse it clearly (no libc.so mapping, so no heap layout it can trust).
 * glibc_allocators.test also builds it against other allocators.
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
	/* Freeing links an allocator's whole malloc into a static program (a
	 * program that never frees gets musl's minimal one, for instance). */
	for (i = 0; i < 100; i += 2)
		free((void *)blocks[i]);
	printf("info blocks %d\nready\n", (int)(sizeof(blocks) / sizeof(blocks[0])) / 2);
	fflush(stdout);
	for (;;)
		pause();
}
