/* SPDX-License-Identifier: MIT */
/*
 * chunkstore.c - the chunks a snapshot keeps, 8 bytes each (chunkstore.h).
 */
#include <stdlib.h>
#include <string.h>

#include "chunkstore.h"

static uint64_t pack(const struct lm_chunk *c)
{
	uint64_t arena = c->arena == 0xffff ? LM_CR_NO_ARENA : c->arena & LM_CR_NO_ARENA;

	return (c->addr >> 4) | ((uint64_t)(c->state & 0xf) << LM_CR_STATE_SHIFT) |
	       ((uint64_t)(c->flags & 7) << LM_CR_FLAGS_SHIFT) |
	       (c->usable + 16 == c->size ? LM_CR_USABLE16 : 0) |
	       (arena << LM_CR_ARENA_SHIFT);
}

uint64_t lm_chunkstore_bytes(const struct lm_chunkstore *s)
{
	return (uint64_t)s->cap * LM_CHUNKSTORE_BYTES_PER_CHUNK +
	       (uint64_t)s->ex_cap * sizeof(*s->ex) + (uint64_t)s->seg_cap * sizeof(*s->seg);
}

static int over_budget(struct lm_chunkstore *s, uint64_t more, struct lm_err *err)
{
	if (!s->max_bytes || lm_chunkstore_bytes(s) + more <= s->max_bytes)
		return 0;
	s->over = 1;
	return lm_err_set(err, LM_ELIMIT, "keeping %zu chunks would take more than %llu MiB",
			  s->n + 1, (unsigned long long)(s->max_bytes >> 20));
}

/* Grow an array of elements of `size` bytes to hold one more; the budget
 * is checked first. */
static int grow(struct lm_chunkstore *s, void **v, size_t *cap, size_t n, size_t size,
		size_t first, struct lm_err *err)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : first;
	if (over_budget(s, (uint64_t)(c - *cap) * size, err) < 0) {
		/* whatever still fits, if it is at least one more */
		uint64_t room = s->max_bytes > lm_chunkstore_bytes(s) ?
				s->max_bytes - lm_chunkstore_bytes(s) : 0;
		if (room / size == 0)
			return -LM_ELIMIT;
		s->over = 0;
		c = *cap + (size_t)(room / size);
	}
	p = realloc(*v, c * size);
	if (!p)
		return lm_err_set(err, LM_ENOMEM, "out of memory keeping %zu chunks", n + 1);
	*v = p;
	*cap = c;
	return 0;
}

static int push_chunk_arrays(struct lm_chunkstore *s, struct lm_err *err)
{
	size_t c, more;
	uint64_t *r;
	uint32_t *t;

	if (s->n < s->cap)
		return 0;
	c = s->cap ? s->cap * 2 : 65536;
	more = c - s->cap;
	if (over_budget(s, (uint64_t)more * LM_CHUNKSTORE_BYTES_PER_CHUNK, err) < 0) {
		uint64_t room = s->max_bytes > lm_chunkstore_bytes(s) ?
				s->max_bytes - lm_chunkstore_bytes(s) : 0;
		/* leave a little for the sizes kept aside and the segments */
		room -= room / 64;
		if (room / LM_CHUNKSTORE_BYTES_PER_CHUNK == 0)
			return -LM_ELIMIT;
		s->over = 0;
		c = s->cap + (size_t)(room / LM_CHUNKSTORE_BYTES_PER_CHUNK);
	}
	r = realloc(s->rec, c * sizeof(*r));
	if (!r)
		return lm_err_set(err, LM_ENOMEM, "out of memory keeping %zu chunks", s->n + 1);
	s->rec = r;
	t = realloc(s->type, c * sizeof(*t));
	if (!t)
		return lm_err_set(err, LM_ENOMEM, "out of memory keeping %zu chunks", s->n + 1);
	s->type = t;
	s->cap = c;
	return 0;
}

/* The previous chunk's size is kept aside: it is not the distance to the
 * next one. */
static int keep_size(struct lm_chunkstore *s, size_t i, uint64_t size, struct lm_err *err)
{
	int rc = grow(s, (void **)&s->ex, &s->ex_cap, s->nex, sizeof(*s->ex), 64, err);

	if (rc < 0)
		return rc;
	s->rec[i] |= LM_CR_EXPLICIT;
	s->ex[s->nex].index = i;
	s->ex[s->nex++].size = size;
	return 0;
}

static int new_segment(struct lm_chunkstore *s, uint64_t addr, struct lm_err *err)
{
	int rc = grow(s, (void **)&s->seg, &s->seg_cap, s->nseg, sizeof(*s->seg), 16, err);

	if (rc < 0)
		return rc;
	s->seg[s->nseg].first = s->n;
	s->seg[s->nseg].n = 0;
	s->seg[s->nseg].lo = addr;
	s->seg[s->nseg++].to = 0;
	return 0;
}

int lm_chunkstore_push(struct lm_chunkstore *s, const struct lm_chunk *c, uint32_t type,
		       struct lm_err *err)
{
	int rc;

	if (c->addr >= LM_CHUNKSTORE_MAX_ADDR)
		return lm_err_set(err, LM_ELIMIT, "chunk at 0x%llx: chunks above 2^48 (five-level "
				  "page tables) cannot be kept for this command",
				  (unsigned long long)c->addr);
	/* malloc aligns every chunk to 16 bytes; the address is kept divided
	 * by 16, so another one (a corrupt or hostile heap) cannot be kept */
	if (c->addr & 15)
		return lm_err_set(err, LM_ECORRUPT, "chunk at 0x%llx is not 16-byte aligned",
				  (unsigned long long)c->addr);
	rc = push_chunk_arrays(s, err);
	if (rc < 0)
		return rc;
	if (s->n > 0) {
		uint64_t prev = lm_chunkstore_addr(s, s->n - 1);
		int implied = c->addr > prev && prev + s->last_size == c->addr;

		if (!implied && ((rc = keep_size(s, s->n - 1, s->last_size, err)) < 0 ||
				 (rc = new_segment(s, c->addr, err)) < 0))
			return rc;
	} else if ((rc = new_segment(s, c->addr, err)) < 0) {
		return rc;
	}
	s->rec[s->n] = pack(c);
	s->type[s->n] = type;
	s->last_size = c->size;
	s->seg[s->nseg - 1].n++;
	s->n++;
	return 0;
}

/* ---- sorting ---- */

static int cmp_segment(const void *a, const void *b, void *arg)
{
	const struct lm_chunk_segment *seg = arg;
	const struct lm_chunk_segment *x = &seg[*(const size_t *)a], *y = &seg[*(const size_t *)b];

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The segment (in appended order) holding old index i. */
static const struct lm_chunk_segment *segment_of(const struct lm_chunkstore *s, size_t i)
{
	size_t lo = 0, hi = s->nseg;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->seg[mid].first <= i)
			lo = mid;
		else
			hi = mid;
	}
	return &s->seg[lo];
}

/* Where the chunk at sorted position j comes from: order[] lists the
 * segments by address, so their `to` ascend. */
static size_t source_of(const struct lm_chunkstore *s, const size_t *order, size_t j)
{
	size_t lo = 0, hi = s->nseg;
	const struct lm_chunk_segment *g;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->seg[order[mid]].to <= j)
			lo = mid;
		else
			hi = mid;
	}
	g = &s->seg[order[lo]];
	return g->first + (j - g->to);
}

/* Move every chunk to its sorted position, following the permutation's
 * cycles: one bit per chunk says which positions are done. */
static int permute(struct lm_chunkstore *s, const size_t *order)
{
	uint64_t *done = calloc((s->n + 63) / 64, sizeof(*done));
	size_t i;

	if (!done)
		return -LM_ENOMEM;
	for (i = 0; i < s->n; i++) {
		uint64_t rec;
		uint32_t type;
		size_t j, k;

		if (done[i / 64] >> (i % 64) & 1)
			continue;
		rec = s->rec[i];
		type = s->type[i];
		for (j = i;; j = k) {
			done[j / 64] |= 1ULL << (j % 64);
			k = source_of(s, order, j);
			if (k == i)
				break;
			s->rec[j] = s->rec[k];
			s->type[j] = s->type[k];
		}
		s->rec[j] = rec;
		s->type[j] = type;
	}
	free(done);
	return 0;
}

/* Give back the doubling's slack: the arrays stay as they are for the
 * rest of the snapshot, and what they hold is counted against max_memory. */
static void shrink(struct lm_chunkstore *s)
{
	uint64_t *r;
	uint32_t *t;
	struct lm_chunk_size_ex *e;

	if (s->n && s->n < s->cap) {
		if ((r = realloc(s->rec, s->n * sizeof(*r))) != NULL)
			s->rec = r;
		if ((t = realloc(s->type, s->n * sizeof(*t))) != NULL)
			s->type = t;
		if (r && t)
			s->cap = s->n;
	}
	if (s->nex && s->nex < s->ex_cap && (e = realloc(s->ex, s->nex * sizeof(*e))) != NULL) {
		s->ex = e;
		s->ex_cap = s->nex;
	}
}

static int cmp_ex(const void *a, const void *b)
{
	const struct lm_chunk_size_ex *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static int sort_segments(struct lm_chunkstore *s, struct lm_err *err)
{
	size_t *order = malloc(s->nseg * sizeof(*order)), i, at = 0;

	if (!order)
		return lm_err_set(err, LM_ENOMEM, "out of memory sorting %zu heaps", s->nseg);
	for (i = 0; i < s->nseg; i++)
		order[i] = i;
	qsort_r(order, s->nseg, sizeof(*order), cmp_segment, s->seg);
	for (i = 0; i < s->nseg; i++) {
		struct lm_chunk_segment *g = &s->seg[order[i]];
		if (i > 0) {
			const struct lm_chunk_segment *p = &s->seg[order[i - 1]];
			uint64_t last = lm_chunkstore_addr(s, p->first + p->n - 1);
			if (last > g->lo) {
				free(order);
				return lm_err_set(err, LM_ECORRUPT, "two heaps overlap: chunks at "
						  "0x%llx and 0x%llx", (unsigned long long)g->lo,
						  (unsigned long long)last);
			}
		}
		g->to = at;
		at += g->n;
	}
	/* sizes kept aside follow their chunks */
	for (i = 0; i < s->nex; i++) {
		const struct lm_chunk_segment *g = segment_of(s, s->ex[i].index);
		s->ex[i].index = g->to + (s->ex[i].index - g->first);
	}
	qsort(s->ex, s->nex, sizeof(*s->ex), cmp_ex);
	if (permute(s, order) < 0) {
		free(order);
		return lm_err_set(err, LM_ENOMEM, "out of memory sorting %zu chunks", s->n);
	}
	free(order);
	return 0;
}

int lm_chunkstore_finish(struct lm_chunkstore *s, struct lm_err *err)
{
	size_t i;
	int rc;

	if (s->n > 0 && (rc = keep_size(s, s->n - 1, s->last_size, err)) < 0)
		return rc;
	/* in order when every segment starts at or above the last chunk of
	 * the one before (that is also the overlap check of sort_segments) */
	for (i = 1; i < s->nseg; i++)
		if (s->seg[i].lo < lm_chunkstore_addr(s, s->seg[i].first - 1))
			break;
	if (i < s->nseg) {
		rc = sort_segments(s, err);
		if (rc < 0)
			return rc;
	}
	free(s->seg);
	s->seg = NULL;
	s->nseg = s->seg_cap = 0;
	shrink(s);
	return 0;
}

uint64_t lm_chunkstore_explicit_size(const struct lm_chunkstore *s, size_t i)
{
	size_t lo = 0, hi = s->nex;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ex[mid].index < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nex && s->ex[lo].index == i ? s->ex[lo].size : 0;
}

const struct lm_chunk *lm_chunkstore_get(const struct lm_chunkstore *s, size_t i,
					 struct lm_chunk *out)
{
	uint64_t r = s->rec[i];
	unsigned arena = (unsigned)(r >> LM_CR_ARENA_SHIFT);

	out->addr = lm_chunkstore_addr(s, i);
	out->size = lm_chunkstore_size(s, i);
	out->usable = lm_chunkstore_usable(s, i);
	out->state = (uint8_t)lm_chunkstore_state(s, i);
	out->flags = (uint8_t)((r >> LM_CR_FLAGS_SHIFT) & 7);
	out->arena = arena == LM_CR_NO_ARENA ? 0xffff : (uint16_t)arena;
	return out;
}

void lm_chunkstore_clear(struct lm_chunkstore *s)
{
	s->n = s->nex = s->nseg = 0;
	s->last_size = 0;
	s->over = 0;
}

void lm_chunkstore_free(struct lm_chunkstore *s)
{
	free(s->rec);
	free(s->type);
	free(s->ex);
	free(s->seg);
	memset(s, 0, sizeof(*s));
}
