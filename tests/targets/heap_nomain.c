/* SPDX-License-Identifier: MIT */
/*
 * heap_nomain.c - a target without a main heap. Run with
 * GLIBC_TUNABLES=glibc.malloc.mmap_threshold=0: every allocation (its tcache
 * struct included) is then an mmapped chunk and brk is never called, so
 * there is no [heap] and main_arena's top still points at its own bins.
 * Also starts a thread, whose arena's heap then holds only its top.
 *
 * Prints `info hblks N` / `info hblkhd BYTES` from mallinfo2() and
 * `info blocks N` (its own mallocs), then "ready", then waits.
 */
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 20

/* volatile: the compiler must not elide the mallocs */
static void *volatile p[N], *volatile q;
static sem_t done;

static void *thread_main(void *arg)
{
	(void)arg;
	q = malloc(100);
	sem_post(&done);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	struct mallinfo2 mi;
	pthread_t th;
	char buf[256];
	int i, n;

	sem_init(&done, 0, 0);
	for (i = 0; i < N; i++)
		p[i] = malloc(1000);
	if (pthread_create(&th, NULL, thread_main, NULL))
		return 2;
	sem_wait(&done);
	mi = mallinfo2();
	n = snprintf(buf, sizeof(buf), "info hblks %zu\ninfo hblkhd %zu\ninfo arena %zu\n"
		     "info blocks %d\nready\n", mi.hblks, mi.hblkhd, mi.arena, N + 1);
	if (write(1, buf, (size_t)n) < 0)
		return 3;
	for (;;)
		pause();
}
