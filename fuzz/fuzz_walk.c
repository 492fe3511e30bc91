/* SPDX-License-Identifier: MIT */
/*
 * fuzz_walk.c - libFuzzer harness: heap walk, classification and reference
 * graph (leaks, root chains, the reach tree) over a memory source decoded
 * from the input, no process involved.
 *
 * Input (little endian; a short input reads zeros):
 *   u8 version    index into the glibc versions below; the libc mapping is
 *                 named /nonexistent-leakmon-fuzz/libc-X.Y.so, a file that
 *                 does not exist, so detection takes the version from the
 *                 name as it does for a libc whose file is gone
 *   u8 flags      1: tcache structs by content, 2: walk locked arenas,
 *                 4: no reference graph
 *   u8 nmaps      (at most MAX_MAPS)
 *   u8 nthreads   (at most MAX_THREADS)
 *   u8 pick       which live chunk `roots` is asked about
 *   nmaps x       { u64 start; u32 length; u8 prot (LM_PROT_*); u8 name }
 *                 name: 0 anonymous, 1 [heap], 2 libc, 3 [stack],
 *                 4 a program file, 5 [vdso]
 *   nthreads x    { u32 tid; u64 fs_base, rsp, rip, rbp, rbx }
 *   patches...    { u64 addr; u16 len; u8 bytes[len] } until the end: the
 *                 captured memory (every private rw mapping) starts zeroed
 *                 and each patch is copied in where it falls.
 * fuzz/mkseed_walk.c writes this format from a real process or core.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "fuzz.h"
#include "glibc_heap.h"
#include "memsrc.h"
#include "refgraph.h"
#include "snapshot.h"
#include "snapshot_impl.h"	/* the harness assembles a snapshot itself */
#include "symbols.h"

#define MAX_MAPS 24
#define MAX_THREADS 4
#define MAX_MAP_BYTES (2u << 20)
#define MAX_TOTAL_BYTES (8u << 20)

static const char *const versions[] = {
	"2.36", "2.28", "2.29", "2.30", "2.31", "2.32", "2.33", "2.34", "2.35",
	"2.37", "2.38", "2.39", "2.40", "2.41",
};
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

static const char *map_name(unsigned name, const char *libc)
{
	switch (name % 6) {
	case 1: return "[heap]";
	case 2: return libc;
	case 3: return "[stack]";
	case 4: return "/nonexistent-leakmon-fuzz/prog";
	case 5: return "[vdso]";
	default: return NULL;
	}
}

static int map_cmp(const void *a, const void *b)
{
	const struct lm_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Mappings sorted and disjoint, as /proc/PID/maps gives them. */
static int decode_maps(struct fz *f, unsigned n, const char *libc, struct lm_maps *maps)
{
	size_t i, k = 0;

	maps->v = calloc(n ? n : 1, sizeof(*maps->v));
	if (!maps->v)
		return -1;
	for (i = 0; i < n; i++) {
		struct lm_mapping *m = &maps->v[i];
		uint64_t len;
		const char *name;
		m->start = fz_u64(f) & 0x00007ffffffff000ULL;
		len = ((uint64_t)fz_u32(f) + 4095) & ~4095ULL;
		if (len > MAX_MAP_BYTES)
			len = MAX_MAP_BYTES;
		if (len == 0)
			len = 4096;
		m->end = m->start + len;
		m->prot = fz_u8(f) & 0xf;
		name = map_name(fz_u8(f), libc);
		m->path = name ? strdup(name) : NULL;
	}
	qsort(maps->v, n, sizeof(*maps->v), map_cmp);
	for (i = 0; i < n; i++) {
		if (k > 0 && maps->v[i].start < maps->v[k - 1].end) {
			free(maps->v[i].path);
			continue;
		}
		maps->v[k++] = maps->v[i];
	}
	maps->n = k;
	return 0;
}

/* Capture buffers for the mappings the live source would copy; one block
 * freed by the caller. */
static uint8_t *capture(struct lm_memsrc *src)
{
	uint64_t total = 0, off = 0;
	uint8_t *buf;
	size_t i;

	for (i = 0; i < src->maps.n; i++)
		if (lm_memsrc_wants_mapping(&src->maps.v[i]))
			total += src->maps.v[i].end - src->maps.v[i].start;
	if (total > MAX_TOTAL_BYTES)
		return NULL;
	buf = calloc(1, total ? total : 1);
	if (!buf)
		return NULL;
	for (i = 0; i < src->maps.n; i++) {
		const struct lm_mapping *m = &src->maps.v[i];
		if (!lm_memsrc_wants_mapping(m))
			continue;
		if (lm_memsrc_add_region(src, m->start, m->end, buf + off, m, NULL) < 0) {
			free(buf);
			return NULL;
		}
		off += m->end - m->start;
	}
	lm_memsrc_sort_regions(src);
	return buf;
}

static void apply_patches(struct fz *f, struct lm_memsrc *src)
{
	while (f->n >= 10) {
		uint64_t addr = fz_u64(f);
		size_t len = fz_u8(f) | (size_t)fz_u8(f) << 8;
		const struct lm_region *r = lm_mem_region(src, addr);
		size_t k;

		if (len > f->n)
			len = f->n;
		if (r) {
			k = r->end - addr < len ? (size_t)(r->end - addr) : len;
			/* the capture is ours: writing into it is fine */
			memcpy((uint8_t *)r->data + (addr - r->start), f->p, k);
		}
		f->p += len;
		f->n -= len;
	}
}

struct keep {
	struct lm_classifier *cls;
	struct lm_chunkstore store;	/* as lm_snapshot_open keeps them */
};

static int keep_chunk(void *ctx, const struct lm_chunk *c)
{
	struct keep *k = ctx;
	uint32_t type = lm_chunk_is_live(c->state) ? lm_classify(k->cls, c) : UINT32_MAX;

	if (type != UINT32_MAX)
		(void)lm_classifier_type(k->cls, type);
	return lm_chunkstore_push(&k->store, c, type, NULL) < 0;
}

static void graph(struct lm_snapshot *snap, unsigned pick)
{
	struct lm_refgraph *g = NULL;
	struct lm_leaks *leaks = NULL;
	struct lm_root_paths *paths = NULL;
	struct lm_reach_tree *tree = NULL;
	struct lm_err err = { 0 };
	char buf[256];
	size_t i, live = 0;

	if (lm_refgraph_new(snap, &g, &err) < 0)
		return;
	if (lm_refgraph_leaks(g, &leaks, &err) == 0) {
		if (getenv("LM_FUZZ_VERBOSE"))
			fprintf(stderr, "leaks: %llu live, %llu reachable, %llu root bytes\n",
				(unsigned long long)leaks->totals.live_count,
				(unsigned long long)leaks->totals.reachable_count,
				(unsigned long long)leaks->totals.root_bytes);
		lm_leaks_free(leaks);
	}
	for (i = 0; i < lm_snapshot_nchunks(snap); i++) {
		if (!lm_chunk_is_live(lm_snapshot_chunk_state(snap, i)))
			continue;
		if (live++ == pick) {
			if (lm_refgraph_roots(g, i, 2, &paths, &err) == 0) {
				if (getenv("LM_FUZZ_VERBOSE"))
					fprintf(stderr, "roots of chunk %zu: %zu paths\n", i,
						paths->npaths);
				lm_root_paths_free(paths);
			}
			/* the holder search's one walk for many targets */
			if (lm_reach_tree_new(g, &tree, &err) == 0) {
				if (lm_reach_tree_path(g, tree, i, &paths, &err) == 0)
					lm_root_paths_free(paths);
				lm_reach_tree_free(tree);
			}
			break;
		}
	}
	(void)lm_refgraph_symbolize(g, lm_snapshot_heap(snap)->main_arena, buf, sizeof(buf));
	lm_refgraph_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct lm_symtab_opts so = { .debug_root = "" };
	struct lm_walk_opts wo = { .include_free = 1 };
	struct lm_snapshot snap = { 0 };
	struct keep k = { 0 };
	struct lm_memsrc *src = NULL;
	struct lm_err err = { 0 };
	char libc[64];
	unsigned version, flags, nmaps, nthreads, pick, i;
	int rc;
	uint8_t *buf = NULL;

	version = fz_u8(&f) % NVERSIONS;
	flags = fz_u8(&f);
	nmaps = fz_u8(&f) % (MAX_MAPS + 1);
	nthreads = fz_u8(&f) % (MAX_THREADS + 1);
	pick = fz_u8(&f);
	snprintf(libc, sizeof(libc), "/nonexistent-leakmon-fuzz/libc-%s.so", versions[version]);
	wo.tcache_by_content = flags & 1;
	wo.allow_locked = (flags >> 1) & 1;

	if (lm_memsrc_new(LM_SRC_CORE, &src, &err) < 0)
		return 0;
	src->pid = 4242;
	if (decode_maps(&f, nmaps, libc, &src->maps) < 0)
		goto out;
	src->threads = calloc(nthreads ? nthreads : 1, sizeof(*src->threads));
	if (!src->threads)
		goto out;
	src->nthreads = nthreads;
	for (i = 0; i < nthreads; i++) {
		struct lm_thread_regs *t = &src->threads[i];
		t->tid = (pid_t)(fz_u32(&f) & 0x3fffff);
		t->regs.fs_base = fz_u64(&f);
		t->regs.rsp = fz_u64(&f);
		t->regs.rip = fz_u64(&f);
		t->regs.rbp = fz_u64(&f);
		t->regs.rbx = fz_u64(&f);
	}
	buf = capture(src);
	if (!buf)
		goto out;
	apply_patches(&f, src);

	if (lm_symtab_load(src, &so, &snap.syms, &err) < 0)
		goto out;
	if (lm_classifier_new(src, snap.syms, &k.cls, &err) < 0)
		goto out;
	rc = lm_glibc_walk(src, snap.syms, &wo, &snap.heap, keep_chunk, &k, &err);
	if (getenv("LM_FUZZ_VERBOSE"))	/* to check what a seed reaches */
		fprintf(stderr, "walk: rc %d, %zu chunks, %zu types, partial %d: %s %s\n", rc, k.store.n,
			lm_classifier_ntypes(k.cls), snap.heap.partial, err.msg, snap.heap.warning);
	if (rc == 0 && !(flags & 4) && lm_chunkstore_finish(&k.store, NULL) == 0) {
		snap.src = src;
		snap.cls = k.cls;
		snap.chunks = k.store;
		snap.chunk_type = k.store.type;
		snap.nchunks = k.store.n;
		graph(&snap, pick);
	}
out:
	lm_classifier_free(k.cls);
	lm_chunkstore_free(&k.store);
	lm_symtab_free(snap.syms);
	lm_memsrc_close(src);
	free(buf);
	return 0;
}
