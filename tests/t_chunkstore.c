/* SPDX-License-Identifier: MIT */
/*
 * t_chunkstore.c - the packed chunk store against a plain sorted array.
 *
 *   t_chunkstore SEED ROUNDS
 *
 * Each round makes heaps the way the walker reports them: runs of touching
 * chunks (random sizes, states, flags), some heaps touching the next one,
 * mmapped chunks on their own, all appended in a random heap order; then
 * checks that after lm_chunkstore_finish every chunk reads back (address,
 * size, usable, state, flags, arena, type) as in a copy sorted with qsort.
 * Then the refusals: overlapping heaps and a chunk not 16-byte aligned
 * (LM_ECORRUPT), a chunk above 2^48 and a budget too small (LM_ELIMIT). Prints "ok CHUNKS BYTES-PER-CHUNK".
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunkstore.h"

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct ref {
	struct lm_chunk c;
	uint32_t type;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	return x->c.addr < y->c.addr ? -1 : x->c.addr > y->c.addr;
}

#define MAX_HEAPS 40

struct heap {
	size_t first, n;	/* in the reference array as generated */
};

static void die(const char *what)
{
	fprintf(stderr, "t_chunkstore: %s\n", what);
	exit(1);
}

/* A heap of touching chunks at addr: the walker's order inside a heap. */
static size_t make_heap(struct ref *r, size_t at, uint64_t addr, size_t n, unsigned arena)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct lm_chunk *c = &r[at + i].c;
		c->addr = addr;
		c->size = 16 * (1 + next() % 64);
		c->state = i == n - 1 ? LM_CHUNK_TOP : (uint8_t)(next() % LM_CHUNK_TOP);
		if (c->state == LM_CHUNK_MMAPPED)
			c->state = LM_CHUNK_INUSE;
		c->usable = c->size - 8;
		c->flags = (uint8_t)(next() % 8 & ~2U);
		c->arena = (uint16_t)arena;
		r[at + i].type = lm_chunk_is_live(c->state) ? (uint32_t)(next() % 1000) : UINT32_MAX;
		addr += c->size;
	}
	return n;
}

static void check_round(unsigned round)
{
	struct ref *r = calloc(200000, sizeof(*r));
	struct heap heaps[MAX_HEAPS];
	size_t order[MAX_HEAPS];
	size_t nheaps = 2 + next() % (MAX_HEAPS - 2), n = 0, i;
	uint64_t addr = 0x555555550000ULL;
	struct lm_chunkstore s = { 0 };
	struct lm_err err = { 0 };

	if (!r)
		die("out of memory");
	for (i = 0; i < nheaps; i++) {
		heaps[i].first = n;
		if (next() % 4 == 0) {	/* an mmapped chunk */
			struct lm_chunk *c = &r[n].c;
			addr += 4096 * (1 + next() % 4);
			c->addr = addr + 0x10 * (next() % 2);
			c->size = 4096 * (1 + next() % 1000);
			c->usable = next() % 2 ? c->size - 16 : c->size - 8;
			c->state = LM_CHUNK_MMAPPED;
			c->flags = 2;
			c->arena = 0xffff;
			r[n].type = (uint32_t)(next() % 1000);
			heaps[i].n = 1;
			addr = c->addr + c->size;
		} else {
			/* sometimes touching the previous heap */
			if (next() % 3)
				addr += 0x10000 * (1 + next() % 50);
			heaps[i].n = make_heap(r, n, addr, 1 + next() % 4000, (unsigned)(next() % 1024));
			addr = r[n + heaps[i].n - 1].c.addr + r[n + heaps[i].n - 1].c.size;
		}
		n += heaps[i].n;
		order[i] = i;
	}
	/* append the heaps in a random order (the walker's is not by address) */
	for (i = nheaps - 1; i > 0 && round % 3; i--) {
		size_t j = next() % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < nheaps; i++) {
		size_t k;
		for (k = 0; k < heaps[order[i]].n; k++) {
			const struct ref *x = &r[heaps[order[i]].first + k];
			if (lm_chunkstore_push(&s, &x->c, x->type, &err) < 0)
				die(err.msg);
		}
	}
	if (lm_chunkstore_finish(&s, &err) < 0)
		die(err.msg);
	qsort(r, n, sizeof(*r), cmp_ref);
	if (s.n != n)
		die("chunk count differs");
	for (i = 0; i < n; i++) {
		struct lm_chunk c;
		lm_chunkstore_get(&s, i, &c);
		if (c.addr != r[i].c.addr || c.size != r[i].c.size || c.usable != r[i].c.usable ||
		    c.state != r[i].c.state || c.flags != r[i].c.flags || c.arena != r[i].c.arena ||
		    s.type[i] != r[i].type) {
			fprintf(stderr, "t_chunkstore: round %u chunk %zu: got 0x%" PRIx64 " size %" PRIu64
				" usable %" PRIu64 " state %d flags %d arena %d type %u, want 0x%" PRIx64
				" size %" PRIu64 " usable %" PRIu64 " state %d flags %d arena %d type %u\n",
				round, i, c.addr, c.size, c.usable, c.state, c.flags, c.arena, s.type[i],
				r[i].c.addr, r[i].c.size, r[i].c.usable, r[i].c.state, r[i].c.flags,
				r[i].c.arena, r[i].type);
			exit(1);
		}
	}
	lm_chunkstore_free(&s);
	free(r);
}

static void check_refusals(void)
{
	struct lm_chunkstore s = { 0 };
	struct lm_err err = { 0 };
	struct lm_chunk c = { .addr = 0x1000, .size = 0x100, .usable = 0xf8,
			      .state = LM_CHUNK_INUSE };
	size_t i;
	int rc;

	/* two heaps claiming the same addresses */
	for (i = 0; i < 2; i++) {
		c.addr = 0x1000 + i * 0x100;
		lm_chunkstore_push(&s, &c, 0, &err);
	}
	c.addr = 0x1080;
	lm_chunkstore_push(&s, &c, 0, &err);
	rc = lm_chunkstore_finish(&s, &err);
	if (rc != -LM_ECORRUPT || !strstr(err.msg, "overlap"))
		die("overlapping heaps were not refused");
	lm_chunkstore_free(&s);

	c.addr = LM_CHUNKSTORE_MAX_ADDR;
	rc = lm_chunkstore_push(&s, &c, 0, &err);
	if (rc != -LM_ELIMIT || !strstr(err.msg, "2^48"))
		die("a chunk above 2^48 was not refused");
	c.addr = 0x1008;
	rc = lm_chunkstore_push(&s, &c, 0, &err);
	if (rc != -LM_ECORRUPT || !strstr(err.msg, "aligned") || s.n != 0)
		die("a chunk not 16-byte aligned was not refused");
	lm_chunkstore_free(&s);

	s.max_bytes = 1 << 20;
	for (i = 0, rc = 0; i < 1000000 && rc == 0; i++) {
		c.addr = 0x10000 + i * 0x100;
		rc = lm_chunkstore_push(&s, &c, 0, &err);
	}
	if (rc != -LM_ELIMIT || !s.over || lm_chunkstore_bytes(&s) > s.max_bytes ||
	    s.n < (1 << 20) / LM_CHUNKSTORE_BYTES_PER_CHUNK - 100)
		die("the budget was not kept");
	lm_chunkstore_free(&s);
}

int main(int argc, char **argv)
{
	unsigned rounds, i;
	struct lm_chunkstore s = { 0 };
	struct lm_chunk c = { .size = 112, .usable = 104, .state = LM_CHUNK_INUSE };
	struct lm_err err = { 0 };

	if (argc != 3)
		die("usage: t_chunkstore SEED ROUNDS");
	rng = strtoull(argv[1], NULL, 0) | 1;
	rounds = (unsigned)strtoul(argv[2], NULL, 0);
	for (i = 0; i < rounds; i++)
		check_round(i);
	check_refusals();
	/* what a heap of small chunks costs */
	for (i = 0; i < 1000000; i++) {
		c.addr = 0x555555560000ULL + (uint64_t)i * 112;
		if (lm_chunkstore_push(&s, &c, 1, &err) < 0)
			die(err.msg);
	}
	if (lm_chunkstore_finish(&s, &err) < 0)
		die(err.msg);
	printf("ok %zu %.2f\n", s.n, (double)lm_chunkstore_bytes(&s) / (double)s.n);
	lm_chunkstore_free(&s);
	return 0;
}
