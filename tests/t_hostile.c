/* SPDX-License-Identifier: MIT */
/*
 * t_hostile.c - hostile inputs for the heap walker, made from a real
 * capture: the regions of a live target (or a core) are copied into buffers
 * each followed by an inaccessible guard page, so any read past what was
 * captured faults at once; then a few words of the copy are rewritten the
 * way an attacker controlling the target's memory could, and the copy is
 * walked.
 *
 *   t_hostile arena PID|CORE    a non-main arena whose top lies in another
 *                               region, with a size that wraps back to the
 *                               end of its heap, and a first chunk whose
 *                               size runs past the captured heap
 *   t_hostile tcache PID|CORE   a fake tcache struct with 65535 entries in
 *                               every bin (a cycle), pointed at by every
 *                               word of every thread's TLS window, with
 *                               mp_.tcache_count raised to 65535
 *   t_hostile tcaches PID|CORE  the same with 8192 such structs, a different
 *                               one in each word of the TLS windows
 *   t_hostile topmap PID|CORE   an anonymous writable mapping, captured, at
 *                               0xfffffffffffff000-0xfffffffffffffff0 and
 *                               mp_.n_mmaps one more than the chunks found:
 *                               the search for mmapped chunks runs to the
 *                               top of the address space and must not wrap
 *   t_hostile walk PID|CORE     walk the copy unchanged (the reference)
 *
 * Prints "partial N", "warning ..." (if any), "arena0 COUNT BYTES" (chunks
 * the walk reported in the main arena) and "arena1 COUNT BYTES" (in the
 * second arena), "tcache COUNT"; errors go to stderr as
 * "t_hostile: STATUS-NAME: message" with exit status 1.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "glibc_heap.h"
#include "glibc_layout.h"
#include "memsrc.h"

#define PAGE 4096ULL
#define SPARE_AT 0x100000000000ULL	/* where the fake tcache region goes */

struct tally {
	uint64_t count[2], bytes[2], tcache;
};

static int on_chunk(void *ctx, const struct lm_chunk *c)
{
	struct tally *t = ctx;

	if (c->arena < 2) {
		t->count[c->arena]++;
		t->bytes[c->arena] += c->size;
	}
	if (c->state == LM_CHUNK_FREE_TCACHE)
		t->tcache++;
	return 0;
}

static void die(const char *what, int rc, const struct lm_err *err)
{
	fprintf(stderr, "t_hostile: %s: %s: %s\n", lm_status_name(-rc), what, err->msg);
	exit(1);
}

/* len bytes followed by a PROT_NONE page: a read past them faults. */
static uint8_t *guarded(size_t len)
{
	size_t n = (len + PAGE - 1) / PAGE * PAGE;
	uint8_t *p = mmap(NULL, n + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (p == MAP_FAILED) {
		perror("t_hostile: mmap");
		exit(1);
	}
	if (mprotect(p + n, PAGE, PROT_NONE) < 0) {
		perror("t_hostile: mprotect");
		exit(1);
	}
	/* the region's bytes end right at the guard page */
	return p + (n - len);
}

/* A synthetic source with the same mappings, threads and captured bytes. */
static struct lm_memsrc *copy_source(const struct lm_memsrc *from)
{
	struct lm_memsrc *s;
	struct lm_err err = { 0 };
	size_t i;
	int rc;

	if ((rc = lm_memsrc_new(LM_SRC_CORE, &s, &err)))
		die("new source", rc, &err);
	s->pid = from->pid;
	s->taken_at_us = from->taken_at_us;
	if (lm_maps_copy(&from->maps, &s->maps) < 0 ||
	    !(s->threads = calloc(from->nthreads + 1, sizeof(*s->threads)))) {
		fprintf(stderr, "t_hostile: out of memory\n");
		exit(1);
	}
	memcpy(s->threads, from->threads, from->nthreads * sizeof(*s->threads));
	s->nthreads = from->nthreads;
	for (i = 0; i < from->nregions; i++) {
		const struct lm_region *r = &from->regions[i];
		size_t len = (size_t)(r->end - r->start);
		uint8_t *d = guarded(len);
		if (!r->data)
			continue;
		memcpy(d, r->data, len);
		if ((rc = lm_memsrc_add_region(s, r->start, r->end, d, NULL, &err)))
			die("add region", rc, &err);
	}
	return s;
}

/* The writable local bytes of [addr, addr + len) in the copy. */
static uint8_t *at(struct lm_memsrc *s, uint64_t addr, size_t len)
{
	uint8_t *p = (uint8_t *)lm_mem_view(s, addr, len);

	if (!p) {
		fprintf(stderr, "t_hostile: 0x%" PRIx64 " not captured\n", addr);
		exit(1);
	}
	return p;
}

static void put64(struct lm_memsrc *s, uint64_t addr, uint64_t v)
{
	memcpy(at(s, addr, 8), &v, 8);
}

static uint64_t get64(struct lm_memsrc *s, uint64_t addr)
{
	uint64_t v;

	memcpy(&v, at(s, addr, 8), 8);
	return v;
}

/* Add a fresh region of len bytes at addr (no mapping of the target is
 * there; the walker reads regions, which is what a hostile core gives). */
static uint8_t *add_fake_region(struct lm_memsrc *s, uint64_t addr, size_t len)
{
	struct lm_err err = { 0 };
	uint8_t *d = guarded(len);
	int rc;

	if (lm_mem_region(s, addr) || lm_mem_region(s, addr + len - 1)) {
		fprintf(stderr, "t_hostile: 0x%" PRIx64 " is already captured\n", addr);
		exit(1);
	}
	memset(d, 0, len);
	if ((rc = lm_memsrc_add_region(s, addr, addr + len, d, NULL, &err)))
		die("add region", rc, &err);
	lm_memsrc_sort_regions(s);
	return d;
}

static void craft_arena(struct lm_memsrc *s, const struct lm_heap_info *info,
			const struct lm_glibc_layout *L)
{
	uint64_t a, top, h, used, first, fake, heap_end, fsz;
	const struct lm_region *r;
	uint8_t *d;

	if (info->narenas < 2) {
		fprintf(stderr, "t_hostile: the target has no second arena\n");
		exit(1);
	}
	a = info->arenas[1].addr;
	top = info->arenas[1].top;
	h = top & ~(L->heap_max_size - 1);
	used = get64(s, h + L->hi_used);
	heap_end = h + used;
	/* the top moves to a page of its own halfway into the heap's 64 MiB
	 * window (never captured: the kernel keeps it PROT_NONE), and its size
	 * wraps around 2^64 to land exactly on the real heap's end */
	fake = h + L->heap_max_size / 2;
	d = add_fake_region(s, fake, PAGE);
	fsz = (heap_end - fake) | 1;
	memcpy(d + 8, &fsz, 8);
	put64(s, a + L->ms_top, fake);
	/* the first chunk claims more than the captured heap holds: the next
	 * header would be read from the guard page */
	first = (a + L->ms_size + 16 + 15) / 16 * 16 - 16;
	r = lm_mem_region(s, first);
	if (!r) {
		fprintf(stderr, "t_hostile: first chunk 0x%" PRIx64 " not captured\n", first);
		exit(1);
	}
	put64(s, first + 8, ((r->end - first + 0x800) & ~15ULL) | 1);
	printf("crafted_arena 0x%" PRIx64 "\n", a);
}

/* nstructs fake tcache structs, side by side (each chunk's successor has
 * PREV_INUSE set, as tcache_sized wants), every count at 65535 and every
 * bin a one-chunk cycle of its size; mp_.tcache_count raised to 65535 so
 * the counts pass. Word k of each thread's TLS window points at struct
 * k % nstructs. The entries' key is the random-key era's (2.34+). */
static void craft_tcache(struct lm_memsrc *s, const struct lm_heap_info *info,
			 const struct lm_glibc_layout *L, size_t nstructs)
{
	uint64_t csz = L->tcache_chunk_size, chunks = SPARE_AT, key = 0x5eed5eed5eed5eedULL;
	uint64_t structs = chunks + 128 * (uint64_t)L->tcache_bins;
	size_t len = (size_t)(structs - chunks + (nstructs + 1) * csz);
	size_t cw = L->tcache_count_width, i, k, t;
	uint8_t *d = add_fake_region(s, chunks, len);

	if (!L->tcache_bins || !info->mp) {
		fprintf(stderr, "t_hostile: no tcache or no mp_ in this glibc\n");
		exit(1);
	}
	put64(s, info->mp + L->mp_tcache_count, 65535);
	for (i = 0; i < L->tcache_bins; i++) {
		/* one chunk per bin, of that bin's size, whose next is itself */
		uint64_t c = chunks + 128 * i, e = c + 16;
		uint64_t size = 32 + 16 * (uint64_t)(i < 64 ? i : 63);	/* 64 one-size bins */
		uint64_t next = L->safe_linking ? e ^ (e >> 12) : e;
		memcpy(d + (c - chunks) + 8, &size, 8);
		memcpy(d + (c - chunks) + 16, &next, 8);
		memcpy(d + (c - chunks) + 24, &key, 8);
	}
	for (k = 0; k <= nstructs; k++) {
		uint64_t tc = structs + k * csz, hdr = csz | 1;
		uint8_t *u = d + (tc + 16 - chunks);
		memcpy(d + (tc - chunks) + 8, &hdr, 8);
		if (k == nstructs)
			break;	/* only the header that follows the last one */
		for (i = 0; i < L->tcache_bins; i++) {
			uint64_t e = chunks + 128 * i + 16;
			if (cw == 2) {
				u[2 * i] = 0xff;
				u[2 * i + 1] = 0xff;
			} else {
				u[i] = 0xff;
			}
			memcpy(u + L->tcache_bins * cw + 8 * i, &e, 8);
		}
	}
	for (t = 0; t < s->nthreads; t++) {
		uint64_t tp = s->threads[t].regs.fs_base, w, n;
		const struct lm_region *r = tp >= 8 ? lm_mem_region(s, tp - 8) : NULL;
		if (!r)
			continue;
		for (w = (tp - 8) & ~7ULL, n = 0; w >= r->start && tp - w <= 65536 && w >= 8;
		     w -= 8, n++)
			put64(s, w, structs + (n % nstructs) * csz + 16);
	}
	printf("crafted_tcache %zu 0x%" PRIx64 "\n", nstructs, structs);
}

static void craft_topmap(struct lm_memsrc *s, const struct lm_heap_info *info,
			 const struct lm_glibc_layout *L)
{
	uint64_t start = 0xfffffffffffff000ULL, end = 0xfffffffffffffff0ULL;
	struct lm_mapping *v = realloc(s->maps.v, (s->maps.n + 1) * sizeof(*v));
	int32_t n;

	if (!v || !info->mp) {
		fprintf(stderr, "t_hostile: out of memory, or no mp_\n");
		exit(1);
	}
	/* the highest mapping of all: appended, the maps stay sorted */
	s->maps.v = v;
	memset(&v[s->maps.n], 0, sizeof(*v));
	v[s->maps.n].start = start;
	v[s->maps.n].end = end;
	v[s->maps.n].prot = LM_PROT_R | LM_PROT_W;
	s->maps.n++;
	add_fake_region(s, start, (size_t)(end - start));
	memcpy(&n, at(s, info->mp + L->mp_n_mmaps, 4), 4);
	n++;
	memcpy(at(s, info->mp + L->mp_n_mmaps, 4), &n, 4);
	memcpy(at(s, info->mp + L->mp_max_n_mmaps, 4), &n, 4);
	printf("crafted_topmap n_mmaps %d\n", (int)n);
}

static void print_walk(const struct lm_heap_info *info, const struct tally *t)
{
	printf("partial %d\n", info->partial);
	if (info->warning[0])
		printf("warning %s\n", info->warning);
	printf("arena0 %" PRIu64 " %" PRIu64 "\n", t->count[0], t->bytes[0]);
	printf("arena1 %" PRIu64 " %" PRIu64 "\n", t->count[1], t->bytes[1]);
	printf("tcache %" PRIu64 "\n", t->tcache);
}

int main(int argc, char **argv)
{
	struct lm_walk_opts opts = { .include_free = 1 };
	struct lm_heap_info *info = calloc(1, sizeof(*info));
	struct lm_memsrc *src = NULL, *copy;
	const struct lm_glibc_layout *L;
	struct lm_err err = { 0 };
	struct tally t = { 0 };
	char *end;
	long pid;
	int rc;

	if (argc != 3 || !info) {
		fprintf(stderr, "usage: t_hostile arena|tcache|tcaches|topmap|walk PID|CORE\n");
		return 2;
	}
	pid = strtol(argv[2], &end, 10);
	rc = *end == '\0' && pid > 0 ? lm_memsrc_open_live((pid_t)pid, NULL, &src, &err)
				     : lm_memsrc_open_core(argv[2], &src, &err);
	if (rc)
		die("open", rc, &err);
	/* a first walk of the real capture finds the arenas and mp_ */
	if ((rc = lm_glibc_walk(src, NULL, &opts, info, NULL, NULL, &err)))
		die("reference walk", rc, &err);
	L = lm_glibc_layout_find(info->glibc_version);
	if (!L) {
		fprintf(stderr, "t_hostile: no layout for glibc %s\n", info->glibc_version);
		return 1;
	}
	copy = copy_source(src);
	lm_memsrc_sort_regions(copy);
	if (strcmp(argv[1], "arena") == 0)
		craft_arena(copy, info, L);
	else if (strcmp(argv[1], "tcache") == 0)
		craft_tcache(copy, info, L, 1);
	else if (strcmp(argv[1], "tcaches") == 0)
		craft_tcache(copy, info, L, 8192);
	else if (strcmp(argv[1], "topmap") == 0)
		craft_topmap(copy, info, L);
	else if (strcmp(argv[1], "walk") != 0)
		return 2;
	fflush(stdout);
	rc = lm_glibc_walk(copy, NULL, &opts, info, on_chunk, &t, &err);
	if (rc)
		die("walk", rc, &err);
	print_walk(info, &t);
	lm_memsrc_close(copy);
	lm_memsrc_close(src);
	free(info);
	return 0;
}
