/* SPDX-License-Identifier: MIT */
/*
 * seed_target.c - a small process whose heap is the seed of the heap-walk
 * harnesses (make fuzz-seeds): few bytes, every kind of chunk.
 *
 * Blocks are calloc'ed (their bytes stay zero, so the seed is small);
 * freeing every other block of a run leaves chunks in a tcache, a fastbin,
 * the unsorted bin, a small bin and a large bin; one block is mmapped; a
 * second thread makes a second arena. No top padding, so the heaps are a
 * few pages. Prints "ready" and sleeps.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Not static: the stores must stay (nothing reads them; leakmon does). */
void *keep[64];

static void run(size_t size, int n, int first)
{
	void *v[16];
	int i;

	for (i = 0; i < n; i++)
		v[i] = calloc(1, size);
	for (i = 0; i < n; i++) {
		if (i % 2)
			free(v[i]);
		else
			keep[first + i / 2] = v[i];
	}
}

static void *thread_main(void *arg)
{
	run(184, 9, 40);
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t;

	mallopt(M_TOP_PAD, 0);
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	run(104, 15, 0);	/* 7 to the tcache, 0 to the fastbin */
	run(312, 15, 8);	/* tcache + small bin (after the sort below) */
	run(3000, 5, 16);	/* large bin */
	run(1496, 3, 20);	/* unsorted */
	keep[30] = malloc(5000);	/* sorts the unsorted bin */
	run(1496, 3, 24);
	keep[31] = calloc(1, 70 * 1024);	/* mmapped */
	((char *)keep[31])[0] = 's';
	if (pthread_create(&t, NULL, thread_main, NULL) != 0)
		return 1;
	sleep(1);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
