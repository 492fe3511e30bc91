/* SPDX-License-Identifier: MIT */
/*
 * ref_graph.c - a test target with a known reference graph.
 *
 *  - g_table: a global hash table (64 buckets, .bss) of 20 entries of
 *    "size 456"; `roots` of an entry must name ref_graph!g_table.
 *  - a second thread whose function hold_in_local() keeps a "size 584"
 *    block only in a local variable; `roots` must name that thread and
 *    function.
 *  - a linked list of 100 "size 328" nodes whose head pointer is dropped:
 *    `leaks` must say 1 direct and 99 indirect.
 *  - N (default 25, argv[1]) single "size 712" blocks whose pointers are
 *    dropped: exactly N direct.
 *  - a reachable linked list of 10 "size 200" nodes from a global.
 *  - a reachable 24-byte block whose last word (the next chunk's prev_size
 *    field, usable while the block is in use) holds the only pointer to a
 *    "size 264" block: neither is a leak, and `show` of the 24-byte block
 *    dumps 24 bytes with one reference at offset 16.
 *  - a reachable mmapped block (BIG_SIZE, above the mmap threshold) whose
 *    last usable word holds the only pointer to a "size 392" block: an
 *    mmapped chunk's words also run to its usable size.
 * The sizes are odd so that nothing else in the process shares them.
 *
 * Conservative scanning finds stale pointers too: every allocation is made
 * in a function that returns before the stack is scanned (its frame is then
 * below the stack pointer, which is not scanned), and nothing is freed (a
 * freed chunk reused later could keep stale pointers in its slack).
 *
 * With LM_EXIT_AT_READY=1 in the environment the program exits right after
 * "ready", with the second thread still blocked: run under
 * `valgrind --leak-check=full`, the leak report at exit must count the
 * same definitely/indirectly lost blocks as `leakmon leaks` on a native run.
 * LM_EXTRA_MB=N adds N MiB of reachable blocks (to make a snapshot slow).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENTRY_SIZE 456
#define LOCAL_SIZE 584
#define NODE_SIZE 328
#define BLOCK_SIZE 712
#define KEPT_SIZE 200
#define NODES 100
#define TABLE_ENTRIES 20
#define KEPT_NODES 10
#define TAIL_SIZE 264
#define BIG_SIZE 200000
#define BIG_TAIL_SIZE 392

/* chunk size of a malloc(n) (n > 24): n + 8 rounded up to 16 */
#define CHUNK(n) ((((n) + 8) + 15) & ~(size_t)15)

struct entry {
	struct entry *next;
	uint64_t key;
	unsigned char pad[ENTRY_SIZE - 16];
};

struct node {
	struct node *next;
	uint64_t seq;
	unsigned char pad[NODE_SIZE - 16];
};

struct kept {
	struct kept *next;
	unsigned char pad[KEPT_SIZE - 8];
};

struct tail_holder {	/* malloc(24): a 32-byte chunk */
	uint64_t a, b;
	void *last;
};

struct entry *g_table[64];
struct kept *g_kept;
struct tail_holder *g_tail_holder;
void *g_big;
void *volatile g_extra;	/* read by nobody: volatile keeps the store */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int local_ready;
static void *local_addr;
static pid_t local_tid;

/* Fill with bytes that never form a pointer nor text. */
static void fill(void *p, size_t n)
{
	memset(p, 0x01, n);
}

__attribute__((noinline)) static void build_table(void)
{
	unsigned i;

	for (i = 0; i < TABLE_ENTRIES; i++) {
		struct entry *e = malloc(sizeof(*e));
		unsigned b = (i * 7) % 64;
		fill(e, sizeof(*e));
		e->key = i;
		e->next = g_table[b];
		g_table[b] = e;
	}
}

__attribute__((noinline)) static void build_kept(void)
{
	unsigned i;

	for (i = 0; i < KEPT_NODES; i++) {
		struct kept *k = malloc(sizeof(*k));
		fill(k, sizeof(*k));
		k->next = g_kept;
		g_kept = k;
	}
}

__attribute__((noinline)) static void build_tail(void)
{
	struct tail_holder *h = malloc(sizeof(*h));
	void *b = malloc(TAIL_SIZE);

	fill(h, sizeof(*h));
	fill(b, TAIL_SIZE);
	h->last = b;
	g_tail_holder = h;
	printf("info tail_holder %p\n", (void *)h);
}

/* The last word malloc gave (malloc_usable_size: glibc's true usable size
 * natively, the request under valgrind) holds the only pointer. */
__attribute__((noinline)) static void build_big_tail(void)
{
	unsigned char *big = malloc(BIG_SIZE);
	void *b = malloc(BIG_TAIL_SIZE);
	size_t usable = malloc_usable_size(big);

	fill(big, usable);
	fill(b, BIG_TAIL_SIZE);
	memcpy(big + (usable & ~(size_t)7) - 8, &b, sizeof(b));
	g_big = big;
	printf("info big_holder %p\n", (void *)big);
}

/* Builds the list, prints its head, drops it. */
__attribute__((noinline)) static void leak_list(void)
{
	struct node *head = NULL;
	unsigned i;

	for (i = 0; i < NODES; i++) {
		struct node *n = malloc(sizeof(*n));
		fill(n, sizeof(*n));
		n->seq = i;
		n->next = head;
		head = n;
	}
	printf("info list_head %p\n", (void *)head);
}

__attribute__((noinline)) static void leak_blocks(unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		void *p = malloc(BLOCK_SIZE);
		fill(p, BLOCK_SIZE);
		if (i == 0)
			printf("info block %p\n", p);
	}
}

__attribute__((noinline)) static void extra_blocks(unsigned long mb)
{
	unsigned long i, n = mb * 1024 * 1024 / 4096;
	void **v = malloc(n * sizeof(*v));

	for (i = 0; v && i < n; i++) {
		v[i] = malloc(4000);
		if (v[i])
			fill(v[i], 4000);
	}
	g_extra = v;
}

/* The block lives only in this function's frame while it waits. */
__attribute__((noinline)) static void hold_in_local(void)
{
	void *volatile local = malloc(LOCAL_SIZE);

	fill(local, LOCAL_SIZE);
	pthread_mutex_lock(&lock);
	local_addr = local;
	local_tid = gettid();
	local_ready = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	for (;;)
		pause();
}

static void *thread_main(void *arg)
{
	(void)arg;
	hold_in_local();
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned nblocks = argc > 1 ? (unsigned)atoi(argv[1]) : 25;
	const char *extra = getenv("LM_EXTRA_MB");
	pthread_t th;

	setvbuf(stdout, NULL, _IOLBF, 0);
	build_table();
	build_kept();
	build_tail();
	build_big_tail();
	leak_list();
	leak_blocks(nblocks);
	if (extra)
		extra_blocks(strtoul(extra, NULL, 10));
	if (pthread_create(&th, NULL, thread_main, NULL) != 0)
		return 1;
	pthread_mutex_lock(&lock);
	while (!local_ready)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);

	printf("info table_symbol g_table\n");
	printf("info table_entry %p\n", (void *)g_table[0]);
	printf("info table_global %p\n", (void *)&g_table[0]);
	printf("info kept_head %p\n", (void *)g_kept);
	printf("info local_block %p\n", local_addr);
	printf("info local_tid %d\n", (int)local_tid);
	printf("info local_function hold_in_local\n");
	printf("info direct %u\n", nblocks + 1);
	printf("info indirect %u\n", NODES - 1);
	printf("expect size size %d %d %zu\n", NODE_SIZE, NODES, NODES * CHUNK(NODE_SIZE));
	printf("expect size size %d %u %zu\n", BLOCK_SIZE, nblocks, nblocks * CHUNK(BLOCK_SIZE));
	printf("expect size size %d %d %zu\n", ENTRY_SIZE, TABLE_ENTRIES,
	       TABLE_ENTRIES * CHUNK(ENTRY_SIZE));
	printf("expect size size %d %d %zu\n", LOCAL_SIZE, 1, CHUNK(LOCAL_SIZE));
	printf("expect size size %d %d %zu\n", KEPT_SIZE, KEPT_NODES, KEPT_NODES * CHUNK(KEPT_SIZE));
	printf("expect size size %d %d %zu\n", TAIL_SIZE, 1, CHUNK(TAIL_SIZE));
	printf("expect size size %d %d %zu\n", BIG_TAIL_SIZE, 1, CHUNK(BIG_TAIL_SIZE));
	/* local_addr is only a copy for printing: forget it so that the
	 * thread's frame is the block's only holder. */
	local_addr = NULL;
	printf("ready\n");
	if (getenv("LM_EXIT_AT_READY"))
		exit(0);
	for (;;)
		pause();
}
