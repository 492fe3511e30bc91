/* SPDX-License-Identifier: MIT */
/*
 * heap_locked.c - a target whose second arena stays locked, as if a thread
 * had been stopped inside malloc: the walker must answer "busy" (retry)
 * for a live snapshot, and walk a core of it with a warning.
 *
 * A thread mallocs once (getting its own arena), then sets that arena's
 * mutex word itself: the arena sits right after the 48-byte heap_info at
 * the start of the 64 MiB-aligned heap holding the chunk (glibc 2.35+
 * x86_64 layout; this target is only meant for those). Neither thread
 * touches malloc afterwards. Prints `info locked_arena 0x...`, "ready".
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HEAP_MAX (64UL << 20)
#define HEAP_INFO_SIZE 48

static sem_t done;
static void *volatile block;
static volatile uintptr_t arena;

static void *thread_main(void *arg)
{
	(void)arg;
	block = malloc(100);
	arena = ((uintptr_t)block & ~(HEAP_MAX - 1)) + HEAP_INFO_SIZE;
	*(volatile int *)arena = 1;	/* mutex: held */
	sem_post(&done);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t th;
	char buf[128];
	int n;

	sem_init(&done, 0, 0);
	if (pthread_create(&th, NULL, thread_main, NULL))
		return 2;
	sem_wait(&done);
	n = snprintf(buf, sizeof(buf), "info locked_arena %#lx\nready\n", (unsigned long)arena);
	if (write(1, buf, (size_t)n) < 0)
		return 3;
	for (;;)
		pause();
}
