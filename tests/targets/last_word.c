/* SPDX-License-Identifier: MIT */
/*
 * last_word.c - allocations whose only pointers point at their last usable
 * word.
 *
 * A struct kept in a list by a link member at its end (PostgreSQL keeps its
 * registered background workers so: a singly linked list through the last
 * member) is pointed to at that member, not at its start. When the request
 * is 8 short of a multiple of 16 a chunk has no slack, and that last word is
 * the next chunk's prev_size field, which malloc lends to the allocation
 * while it is in use. Pointers there must reach the allocation.
 *
 *  - WORKERS "size 600" workers in a list whose head (a global) and links
 *    point at each one's last member: all reachable.
 *  - a 24-byte block pointed to only at its last word by a global:
 *    reachable.
 *  - a "size 632" block pointed to only one past its end (the next chunk's
 *    size field, malloc's): a direct leak.
 *  - N (argv[1], default 5) "size 712" blocks whose pointers are dropped:
 *    direct leaks.
 * valgrind --leak-check=full calls the first two kinds "possibly lost"
 * (interior pointers only) and the other two "definitely lost"; leakmon
 * counts any interior pointer as a reference, so its direct leaks are
 * valgrind's definitely lost.
 *
 * Every allocation is made in a function that returns before the stack is
 * scanned, and nothing is freed (see ref_graph.c). With LM_EXIT_AT_READY=1
 * the program exits right after "ready" (for valgrind's report at exit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKERS 3
#define WORKER_SIZE 600
#define PAST_END_SIZE 632
#define BLOCK_SIZE 712

struct link {
	struct link *next;
};

struct worker {				/* malloc(600): a 608-byte chunk */
	char name[96];
	unsigned char pad[WORKER_SIZE - 96 - sizeof(struct link)];
	struct link link;		/* the last usable word */
};

struct small {				/* malloc(24): a 32-byte chunk */
	uint64_t a, b;
	struct link link;
};

struct link g_workers;			/* head: points at a worker's link */
struct link *g_small_link;		/* points at the small block's link */
unsigned char *g_past_end;		/* one past the 632-byte block */

/* Fill with bytes that never form a pointer. */
static void fill(void *p, size_t n)
{
	memset(p, 0x01, n);
}

__attribute__((noinline)) static void register_workers(void)
{
	unsigned i;

	for (i = 0; i < WORKERS; i++) {
		struct worker *w = malloc(sizeof(*w));
		fill(w, sizeof(*w));
		snprintf(w->name, sizeof(w->name), "worker %u", i);
		w->link.next = g_workers.next;
		g_workers.next = &w->link;
		printf("info worker %p\n", (void *)w);
	}
}

__attribute__((noinline)) static void keep_small(void)
{
	struct small *s = malloc(sizeof(*s));

	fill(s, sizeof(*s));
	s->link.next = NULL;
	g_small_link = &s->link;
	printf("info small %p\n", (void *)s);
}

__attribute__((noinline)) static void point_past_end(void)
{
	unsigned char *b = malloc(PAST_END_SIZE);

	fill(b, PAST_END_SIZE);
	g_past_end = b + PAST_END_SIZE;
	printf("info past_end %p\n", (void *)b);
}

__attribute__((noinline)) static void leak_blocks(unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		fill(malloc(BLOCK_SIZE), BLOCK_SIZE);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 5;

	setvbuf(stdout, NULL, _IOLBF, 0);
	register_workers();
	keep_small();
	point_past_end();
	leak_blocks(n);
	printf("info direct %u\n", n + 1);
	printf("info reachable_by_last_word %d\n", WORKERS + 1);
	printf("ready\n");
	if (getenv("LM_EXIT_AT_READY"))
		exit(0);
	for (;;)
		pause();
}
