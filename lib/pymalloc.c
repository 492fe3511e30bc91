/* SPDX-License-Identifier: MIT */
/*
 * pymalloc.c - CPython's pymalloc arenas, pools and live blocks, read from
 * outside (implements pymalloc.h; the structures are in docs/python.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pymalloc.h"

#define INITIAL_ARENA_OBJECTS 16	/* the array starts at 16 and doubles */
/* Hostile data bounds: at most 2^20 arena descriptors (a terabyte of 1 MiB
 * arenas), and at most SEARCH_BUDGET descriptors looked at over all the
 * candidates of one search (overlapping fake arrays would otherwise make it
 * quadratic). */
#define MAX_ARENA_OBJECTS (1u << 20)
#define SEARCH_BUDGET (1u << 24)
#define CHUNK_MMAPPED 2ULL
#define PAGE 4096ULL

/* struct arena_object and struct pool_header: the same from 3.9 to 3.13 */
struct arena_obj {
	uint64_t address, pool_address;
	uint32_t nfreepools, ntotalpools;
	uint64_t freepools, nextarena, prevarena;
};

struct pool_hdr {
	uint32_t count, pad;
	uint64_t freeblock, nextpool, prevpool;
	uint32_t arenaindex, szidx, nextoffset, maxnextoffset;
};

static int link_ok(uint64_t p, uint64_t base, unsigned n, unsigned size)
{
	return p == 0 || (p >= base && p < base + (uint64_t)n * size && (p - base) % size == 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Arenas in use never overlap: two descriptors of one arena would have its
 * pools walked, and counted, twice. */
static int arenas_disjoint(const struct arena_obj *arr, unsigned n, size_t used,
			   uint64_t arena_size)
{
	uint64_t *addr = malloc(used * sizeof(*addr));
	size_t k = 0, j;
	unsigned i;
	int ok = 1;

	if (!addr)
		return 0;
	for (i = 0; i < n && k < used; i++)
		if (arr[i].address)
			addr[k++] = arr[i].address;
	qsort(addr, k, sizeof(*addr), cmp_u64);
	for (j = 1; j < k && ok; j++)
		ok = addr[j] - addr[j - 1] >= arena_size;
	free(addr);
	return ok;
}

/* Is arr[0..n) an arena_object array of this layout? The number of arenas
 * in use, or 0. */
static size_t check_arenas(const struct lm_py_layout *L, uint64_t base,
			   const struct arena_obj *arr, unsigned n)
{
	unsigned pools = L->arena_size / L->pool_size, i;
	size_t used = 0;

	/* An unused entry's nextarena links the unused list (entries made
	 * unused after the array last grew, so into this array); the links of
	 * arenas in use may be stale (into the array before it grew), and
	 * new_arena leaves the other fields of unused entries uninitialised. */
	for (i = 0; i < n; i++) {
		const struct arena_obj *a = &arr[i];
		if (a->address == 0) {
			if (!link_ok(a->nextarena, base, n, L->arena_object_size))
				return 0;
			continue;
		}
		if (a->address % PAGE || a->pool_address < a->address ||
		    a->pool_address > a->address + L->arena_size ||
		    a->ntotalpools != pools - (a->address % L->pool_size != 0) ||
		    a->nfreepools > a->ntotalpools)
			return 0;
		used++;
	}
	return used && arenas_disjoint(arr, n, used, L->arena_size) ? used : 0;
}

/* If the word at `at` points to a malloc'd arena_object array: its
 * address and entries. */
static int try_candidate(const struct lm_memsrc *src, const struct lm_py_layout *L,
			 uint64_t p, uint64_t *budget, struct lm_pymalloc_info *info)
{
	uint64_t size, usable, n;
	unsigned m;
	const struct arena_obj *arr;

	if ((p & 15) || lm_mem_word(src, p - 8, &size) < 0)
		return 0;
	usable = (size & ~7ULL) - (size & CHUNK_MMAPPED ? 16 : 8);
	if ((size & ~7ULL) < 32 || (size & 8) || usable > (1ULL << 32))
		return 0;
	n = usable / L->arena_object_size;
	if (n < INITIAL_ARENA_OBJECTS)
		return 0;
	for (m = INITIAL_ARENA_OBJECTS; (uint64_t)m * 2 <= n && m < MAX_ARENA_OBJECTS; m *= 2)
		;
	if (m > *budget)
		return 0;
	arr = lm_mem_view(src, p, (size_t)m * L->arena_object_size);
	if (!arr)
		return 0;
	*budget -= m;
	info->narenas = check_arenas(L, p, arr, m);
	if (!info->narenas)
		return 0;
	info->arenas_addr = p;
	info->maxarenas = m;
	return 1;
}

/* Look through the interpreter's writable data for the pointer to the
 * arena array. */
static int find_arenas(const struct lm_memsrc *src, struct lm_python *py,
		       struct lm_pymalloc_info *info)
{
	const struct lm_module *mod = lm_python_module(py);
	const struct lm_py_layout *L = lm_python_layout(py);
	uint64_t a = (mod->data_lo + 7) & ~7ULL, budget = SEARCH_BUDGET;

	while (a + 8 <= mod->data_hi) {
		const struct lm_region *r = lm_mem_region(src, a);
		uint64_t end;

		if (!r) {
			a = (a + PAGE) & ~(PAGE - 1);
			continue;
		}
		end = r->end < mod->data_hi ? r->end : mod->data_hi;
		for (; a + 8 <= end; a += 8) {
			uint64_t p;
			memcpy(&p, r->data + (a - r->start), 8);
			if (p > PAGE && try_candidate(src, L, p, &budget, info)) {
				info->arenas_ptr_at = a;
				return 1;
			}
		}
	}
	return 0;
}

static void note(struct lm_pymalloc_info *info, const char *what, uint64_t addr)
{
	info->partial = 1;
	if (!info->warning[0])
		snprintf(info->warning, sizeof(info->warning), "pymalloc: %s at 0x%llx", what,
			 (unsigned long long)addr);
}

/* The live blocks of one pool; 1 when fn asked to stop. */
static int walk_pool(const struct lm_memsrc *src, const struct lm_py_layout *L,
		     uint64_t pool, unsigned arenaindex, int include_free,
		     struct lm_pymalloc_info *info, lm_pyblock_fn fn, void *ctx)
{
	unsigned char freed[(64 << 10) / 16 / 8];	/* one bit per block of the smallest class */
	struct pool_hdr h;
	uint64_t size, carved, nfree = 0, fb, k;
	const uint8_t *p;

	if (lm_mem_read(src, pool, &h, sizeof(h)) < 0) {
		info->bad_pools++;
		note(info, "pool header not captured", pool);
		return 0;
	}
	if (h.count == 0)
		return 0;	/* an empty pool on its arena's free list */
	size = (uint64_t)(h.szidx + 1) * L->align;
	if (h.arenaindex != arenaindex || h.szidx >= L->nclasses ||
	    h.maxnextoffset != L->pool_size - size || h.nextoffset < L->pool_overhead + size ||
	    h.nextoffset > L->pool_size + size || (h.nextoffset - L->pool_overhead) % size) {
		info->bad_pools++;
		note(info, "pool header inconsistent", pool);
		return 0;
	}
	carved = (h.nextoffset - L->pool_overhead) / size;
	if (carved > sizeof(freed) * 8 || !(p = lm_mem_view(src, pool, L->pool_size))) {
		info->bad_pools++;
		note(info, "pool not captured", pool);
		return 0;
	}
	memset(freed, 0, (carved + 7) / 8);
	/* the free list: blocks given back, and the next virgin block */
	for (fb = h.freeblock; fb && nfree <= carved; nfree++) {
		if (fb < pool + L->pool_overhead || (fb - pool - L->pool_overhead) % size ||
		    (k = (fb - pool - L->pool_overhead) / size) >= carved ||
		    (freed[k / 8] >> (k % 8) & 1)) {
			note(info, "pool free list leaves the pool", pool);
			break;
		}
		freed[k / 8] |= (unsigned char)(1u << (k % 8));
		memcpy(&fb, p + (fb - pool), 8);
	}
	if (carved - nfree != h.count) {
		info->mismatched_pools++;
		note(info, "pool caught mid-update (count differs from its free list)", pool);
	}
	info->npools++;
	for (k = 0; k < carved; k++) {
		uint64_t b = pool + L->pool_overhead + k * size;
		if (freed[k / 8] >> (k % 8) & 1) {
			if (include_free && fn && fn(ctx, b, p + (b - pool), size, 0))
				return 1;
			continue;
		}
		info->blocks++;
		info->bytes += size;
		if (fn && fn(ctx, b, p + (b - pool), size, 1))
			return 1;
	}
	return 0;
}

int lm_pymalloc_walk(const struct lm_memsrc *src, struct lm_python *py, int include_free,
		     struct lm_pymalloc_info *info, lm_pyblock_fn fn, void *ctx,
		     struct lm_err *err)
{
	const struct lm_py_layout *L = lm_python_layout(py);
	const struct arena_obj *arr;
	unsigned i;

	memset(info, 0, sizeof(*info));
	if (!find_arenas(src, py, info))
		return lm_err_set(err, LM_ENOTFOUND, "CPython %s: no pymalloc arena array found "
				  "through the data of %s (a build without pymalloc, or "
				  "PYTHONMALLOC=malloc)", lm_python_version(py),
				  lm_python_module(py)->name);
	arr = lm_mem_view(src, info->arenas_addr, (size_t)info->maxarenas * L->arena_object_size);
	if (!arr)
		return lm_err_set(err, LM_EFAULT, "pymalloc arena array not captured");
	for (i = 0; i < info->maxarenas; i++) {
		uint64_t pool;
		if (!arr[i].address)
			continue;
		pool = (arr[i].address + L->pool_size - 1) & ~((uint64_t)L->pool_size - 1);
		for (; pool + L->pool_size <= arr[i].pool_address; pool += L->pool_size)
			if (walk_pool(src, L, pool, i, include_free, info, fn, ctx))
				return 0;
	}
	return 0;
}
