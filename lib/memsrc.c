/* SPDX-License-Identifier: MIT */
/*
 * memsrc.c - the part of a memory source every kind shares: the region
 * index, the read functions, closing.
 *
 * Regions are sorted by start and disjoint, so a lookup is a binary search.
 * The walker asks for one chunk at a time, millions of times, nearly always
 * in the region it asked for last: that index is cached in the source
 * (src->last_region, read and written with relaxed atomics so that several
 * reader threads sharing one source stay well defined) and tried first.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memsrc.h"

int lm_memsrc_new(enum lm_memsrc_kind kind, struct lm_memsrc **out, struct lm_err *err)
{
	struct lm_memsrc *src = calloc(1, sizeof(*src));

	*out = NULL;
	if (!src)
		return lm_err_set(err, LM_ENOMEM, "out of memory opening a memory source");
	src->kind = kind;
	*out = src;
	return 0;
}

int lm_memsrc_add_region(struct lm_memsrc *src, uint64_t start, uint64_t end,
			 const uint8_t *data, const struct lm_mapping *map, struct lm_err *err)
{
	struct lm_region *r;

	if (src->nregions == src->regions_cap) {
		size_t cap = src->regions_cap ? src->regions_cap * 2 : 16;
		r = realloc(src->regions, cap * sizeof(*r));
		if (!r)
			return lm_err_set(err, LM_ENOMEM, "out of memory indexing regions");
		src->regions = r;
		src->regions_cap = cap;
	}
	r = &src->regions[src->nregions++];
	r->start = start;
	r->end = end;
	r->data = data;
	r->map = map;
	src->capture_bytes += end - start;
	return 0;
}

static int region_cmp(const void *a, const void *b)
{
	const struct lm_region *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int in_heap_mapping(const struct lm_memsrc *src, const struct lm_region *r)
{
	const struct lm_mapping *m = r->map ? r->map : lm_maps_find(&src->maps, r->start);

	return m && m->path && strcmp(m->path, "[heap]") == 0;
}

/*
 * The walker reads the main heap through one region. A [heap] split into
 * several mappings (madvise(MADV_HUGEPAGE) on part of it, as glibc's
 * glibc.malloc.hugetlb tunable does; mprotect) is captured into one buffer
 * (live, copy) or into consecutive core segments: where the bytes are
 * contiguous here too, its regions join.
 */
static int joins_heap(const struct lm_memsrc *src, const struct lm_region *prev,
		      const struct lm_region *r)
{
	return prev->end == r->start && prev->data + (prev->end - prev->start) == r->data &&
	       in_heap_mapping(src, prev) && in_heap_mapping(src, r);
}

void lm_memsrc_sort_regions(struct lm_memsrc *src)
{
	size_t i, n = 0;

	if (src->nregions > 1)
		qsort(src->regions, src->nregions, sizeof(*src->regions), region_cmp);
	/* Drop empty regions and trim overlaps (a hostile core can declare
	 * overlapping segments): keep the lookup's invariant true. */
	for (i = 0; i < src->nregions; i++) {
		struct lm_region r = src->regions[i];
		if (n > 0 && r.start < src->regions[n - 1].end) {
			uint64_t cut = src->regions[n - 1].end;
			if (cut >= r.end)
				continue;
			r.data += cut - r.start;
			r.start = cut;
		}
		if (r.start >= r.end)
			continue;
		if (n > 0 && joins_heap(src, &src->regions[n - 1], &r)) {
			src->regions[n - 1].end = r.end;
			continue;
		}
		src->regions[n++] = r;
	}
	src->nregions = n;
	__atomic_store_n(&src->last_region, 0, __ATOMIC_RELAXED);
}

const struct lm_region *lm_mem_region(const struct lm_memsrc *src, uint64_t addr)
{
	size_t lo = 0, hi = src->nregions;
	size_t last = __atomic_load_n(&src->last_region, __ATOMIC_RELAXED);
	const struct lm_region *r;

	if (last < src->nregions) {
		r = &src->regions[last];
		if (addr >= r->start && addr < r->end)
			return r;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		r = &src->regions[mid];
		if (addr < r->start) {
			hi = mid;
		} else if (addr >= r->end) {
			lo = mid + 1;
		} else {
			/* The cache is a hint: writing it through a const
			 * source is fine, every source is heap-allocated. */
			__atomic_store_n((size_t *)&src->last_region, mid, __ATOMIC_RELAXED);
			return r;
		}
	}
	return NULL;
}

const void *lm_mem_view(const struct lm_memsrc *src, uint64_t addr, size_t len)
{
	const struct lm_region *r = lm_mem_region(src, addr), *q;
	uint64_t end;

	if (!r)
		return NULL;
	if (len <= r->end - addr)
		return r->data + (addr - r->start);
	/* Adjacent mappings (a module's .data and its .bss) are captured into
	 * one contiguous buffer: a range that crosses into the next region
	 * is still one view when the local bytes continue too. */
	end = addr + len;
	if (end < addr)
		return NULL;
	for (q = r; q->end < end; q++) {
		const struct lm_region *next = q + 1;
		if (next >= src->regions + src->nregions || next->start != q->end ||
		    next->data != q->data + (q->end - q->start))
			return NULL;
	}
	return r->data + (addr - r->start);
}

int lm_mem_read(const struct lm_memsrc *src, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	/* A read may straddle two adjacent regions (a split mapping). */
	while (len > 0) {
		const struct lm_region *r = lm_mem_region(src, addr);
		size_t n;
		if (!r)
			return -LM_EFAULT;
		n = r->end - addr < len ? (size_t)(r->end - addr) : len;
		memcpy(out, r->data + (addr - r->start), n);
		out += n;
		addr += n;
		len -= n;
		if (len && addr == 0)
			return -LM_EFAULT;	/* wrapped around */
	}
	return 0;
}

int lm_mem_word(const struct lm_memsrc *src, uint64_t addr, uint64_t *val)
{
	const void *p = lm_mem_view(src, addr, sizeof(*val));

	if (p) {
		memcpy(val, p, sizeof(*val));
		return 0;
	}
	return lm_mem_read(src, addr, val, sizeof(*val));
}

int lm_memsrc_wants_mapping(const struct lm_mapping *m)
{
	if ((m->prot & (LM_PROT_R | LM_PROT_W)) != (LM_PROT_R | LM_PROT_W))
		return 0;
	if (m->prot & LM_PROT_SHARED)
		return 0;
	if (m->end <= m->start)
		return 0;
	if (m->path && (!strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") ||
			!strcmp(m->path, "[vdso]") || !strncmp(m->path, "[vvar_", 6)))
		return 0;
	return 1;
}

int lm_memsrc_check(const struct lm_memsrc *src, struct lm_err *err)
{
	return src->impl_check ? src->impl_check(src, err) : 0;
}

uint64_t lm_memsrc_held_bytes(const struct lm_memsrc *src)
{
	/* A core's bytes are its file mapped read-only: page cache the kernel
	 * drops and rereads under pressure, not memory we allocated (a server's
	 * core is often larger than any memory limit, its heap a few MiB). */
	if (src->kind == LM_SRC_CORE)
		return 0;
	return src->window_bytes ? src->window_bytes : src->capture_bytes;
}

void lm_memsrc_close(struct lm_memsrc *src)
{
	if (!src)
		return;
	if (src->impl_free)
		src->impl_free(src);
	lm_maps_free(&src->maps);
	free(src->regions);
	free(src->threads);
	free(src->exe);
	free(src);
}
