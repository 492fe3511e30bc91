/* SPDX-License-Identifier: MIT */
/*
 * heap_arenas.c - a target with more threads than arenas and arenas of
 * several heaps, so that the walker must follow heap_info.prev, step over
 * the fenceposts that end older heaps, and find tcache structs that are not
 * the first chunk of any heap.
 *
 *   2 "big" threads:   701 x malloc(120000) each (chunk 120016, ~84 MB: two
 *                      heaps per arena), odd indices freed (unsorted bin)
 *  20 "small" threads: 10 x malloc(232) each (chunk 240), 3 freed (tcache)
 *
 * 22 threads + main exceed the 16 arenas of a 2-core machine, so arenas are
 * shared. Prints `expect size ...` for the live blocks, `info` with
 * mallinfo2() and the tcache facts it knows, "ready", then waits.
 */
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NBIG_THREADS 2
#define NBIG 701
#define BIG 120000
#define NSMALL_THREADS 20
#define NSMALL 10
#define NSMALL_FREED 3
#define SMALL 232

static sem_t done;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) < 0)
		_exit(3);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		_exit(4);
	memset(p, 0xa5, n);
	return p;
}

static void *big_thread(void *arg)
{
	void **v = calloc(NBIG, sizeof(*v));	/* one more chunk: size 5608 */
	int i;

	(void)arg;
	if (!v)
		_exit(4);
	for (i = 0; i < NBIG; i++)
		v[i] = xmalloc(BIG);
	for (i = 1; i < NBIG; i += 2)
		free(v[i]);
	sem_post(&done);
	for (;;)
		pause();
	return NULL;
}

static void *small_thread(void *arg)
{
	void *v[NSMALL];
	int i;

	(void)arg;
	for (i = 0; i < NSMALL; i++)
		v[i] = xmalloc(SMALL);
	for (i = 0; i < NSMALL_FREED; i++)
		free(v[2 * i + 1]);
	sem_post(&done);
	for (;;)
		pause();
	return v[0];
}

int main(void)
{
	struct mallinfo2 mi;
	pthread_t th;
	int i;

	sem_init(&done, 0, 0);
	for (i = 0; i < NBIG_THREADS; i++) {
		if (pthread_create(&th, NULL, big_thread, NULL))
			return 2;
		sem_wait(&done);	/* one at a time: each gets a fresh arena */
	}
	for (i = 0; i < NSMALL_THREADS; i++)
		if (pthread_create(&th, NULL, small_thread, NULL))
			return 2;
	for (i = 0; i < NSMALL_THREADS; i++)
		sem_wait(&done);
	mi = mallinfo2();

	say("expect size size 65537-131072 %d %zu\n", NBIG_THREADS * (NBIG - NBIG / 2),
	    (size_t)NBIG_THREADS * (NBIG - NBIG / 2) * ((BIG + 8 + 15) & ~15UL));
	say("expect size size %d %d %d\n", SMALL, NSMALL_THREADS * (NSMALL - NSMALL_FREED),
	    NSMALL_THREADS * (NSMALL - NSMALL_FREED) * ((SMALL + 8 + 15) & ~15));
	say("info arena %zu\n", mi.arena);
	say("info ordblks %zu\n", mi.ordblks);
	say("info uordblks %zu\n", mi.uordblks);
	say("info fordblks %zu\n", mi.fordblks);
	say("info hblks %zu\n", mi.hblks);
	say("info hblkhd %zu\n", mi.hblkhd);
	say("info threads %d\n", NBIG_THREADS + NSMALL_THREADS + 1);
	say("info tcache_chunks %d\n", NSMALL_THREADS * NSMALL_FREED);
	say("ready\n");
	for (;;)
		pause();
}
