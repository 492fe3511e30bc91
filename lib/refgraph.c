/* SPDX-License-Identifier: MIT */
/*
 * refgraph.c - conservative reachability over an open snapshot: leaks and
 * root chains (implements refgraph.h).
 *
 * How it works:
 *  1. Index. snap->chunks (8 bytes a chunk, chunkstore.h) is sorted by
 *     address and includes free, top and fencepost chunks, so arena heaps come out as "runs" of touching
 *     chunks (an mmapped chunk is a run of its own). Each run gets a bitmap
 *     with one bit per 16-byte granule, set where a chunk starts, and a rank
 *     table (chunk starts before every 4 KiB block). Resolving a word is a
 *     binary search over the (few) runs, one rank load and at most four
 *     popcounts: the chunk index is the number of starts at or below it,
 *     and the 8 MiB bitmap of a 1 GiB heap stays in cache where the 320 MiB
 *     chunk array would not.
 *  2. Roots. Every captured private writable region, classified by its
 *     mapping: a thread's stack (scanned from that thread's stack pointer
 *     up), a module's data (.data/.bss), or other memory. Cut out of them:
 *     the heap runs themselves (and a non-main arena's header before its
 *     first chunk), libc's main_arena and mp_. Plus each thread's general
 *     registers.
 *  3. Mark. Depth-first from the roots with an explicit stack of chunk
 *     indexes and one state byte per chunk.
 *  4. Leaks. Unreached live chunks are grouped into "cliques" as valgrind's
 *     memcheck does: walking the chunks in address order, each one not yet
 *     claimed leads a clique and claims (as indirect) every unreached chunk
 *     it reaches, previous leaders included. Leaders left unclaimed are the
 *     direct leaks.
 *  5. Roots of one chunk. Breadth-first from the roots with a parent index
 *     per chunk (and the root word for chunks a root points to). The
 *     shortest chains end through different last holders: roots that point
 *     at the target directly, then reached chunks that do, in BFS order.
 *
 * Malloc's tcache structs are live chunks but malloc's own: they are never
 * scanned (their entries point to free chunks), never reported as leaks.
 */
#include "config.h"

#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapfile.h"
#include "refgraph.h"
#include "snapshot_impl.h"
#include "unwind.h"

#define GRANULE 16			/* MALLOC_ALIGNMENT: chunks start on these */
#define BLOCK_WORDS 4			/* bitmap words per rank entry */
#define BLOCK_GRANULES (BLOCK_WORDS * 64)	/* 4 KiB of heap */
#define HEAP_MAX_SIZE (64ULL << 20)	/* non-main arena heaps are aligned to this */
#define MALLOC_STATE_SIZE 2200		/* sizeof(struct malloc_state), glibc 2.26+ */
#define MALLOC_PAR_SIZE 136		/* sizeof(struct malloc_par) */
#define NO_PARENT UINT32_MAX
#define ROOT_PARENT (UINT32_MAX - 1)
#define MAX_NODES (UINT32_MAX - 2)
#define MARK_SLICE_WORDS 4096		/* see mark_chunk */

/* state bits per chunk */
#define ST_NODE		0x01	/* live and not malloc's own: a graph node */
#define ST_INTERNAL	0x02	/* live, malloc's own (tcache struct) */
#define ST_REACHED	0x04
#define ST_INDIRECT	0x08	/* unreached, claimed by a clique */
#define ST_UNSCANNED	0x10	/* bytes not captured */

struct run {
	uint64_t lo, hi;	/* [first chunk, end of last chunk) */
	size_t first, end;	/* chunk indexes [first, end) */
	int indexed;		/* has a start bitmap (else: binary search) */
	size_t word0;		/* its first word in g->bitmap */
	size_t block0;		/* its first entry in g->rank */
};

struct span {
	uint64_t lo, hi;	/* 8-aligned [lo, hi) */
	const uint8_t *data;	/* local bytes of lo */
	int kind;		/* LM_ROOT_STACK, _GLOBAL, _MEMORY */
	size_t thread;		/* stack: index into src->threads */
	const struct lm_mapping *map;
};

struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

/* A chunk the mark scans a slice at a time: where to go on. */
struct resume {
	uint32_t chunk;
	size_t word;
};

/* A chunk a root word points to directly (in BFS): that word. */
struct root_ref {
	uint32_t node;
	uint64_t ref;	/* memory word address, or REG_REF(thread, reg) */
	uint64_t value;
};
#define REG_BIT (1ULL << 63)
#define REG_REF(t, r) (REG_BIT | ((uint64_t)(t) << 8) | (uint64_t)(r))

struct lm_refgraph;
static int dead_python_object(const struct lm_refgraph *g, size_t i);

struct lm_refgraph {
	const struct lm_snapshot *snap;
	const struct lm_memsrc *src;
	const struct lm_chunkstore *chunks;
	size_t nchunks;
	uint8_t *state;
	struct run *runs;
	size_t nruns;
	uint64_t *bitmap;	/* chunk starts, one bit per granule of each run */
	uint32_t *rank;		/* chunk starts before each block, per run */
	uint64_t lo, hi;	/* span of all runs: a cheap first filter */
	struct span *spans;
	size_t nspans;
	struct u32vec stack;	/* the mark stack */
	struct resume *resume;	/* big chunks partly scanned (mark) */
	size_t nresume, resume_cap;
	int marked;
	struct lm_leak_totals totals;
	struct lm_unwinder *unwinder;	/* lazily, for naming stack roots */
	const struct lm_region *last_region;	/* local_bytes' guess */
	uint64_t budget;	/* bytes the graph may take (max_memory less the
				 * snapshot's); 0 = no limit */
	uint64_t reserved;	/* of which its arrays take now */
	struct lm_python *py;	/* the target's CPython, or NULL */
	uint8_t py_block[512];	/* a pymalloc block without its GC links */
	uint64_t *py_modules;	/* md_dict field of each module object, sorted */
	size_t npy_modules;
	int py_modules_found;
};

static const char *const reg_names[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
	"r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
#define NREGS (sizeof(reg_names) / sizeof(reg_names[0]))

static uint64_t reg_value(const struct user_regs_struct *r, size_t i)
{
	const unsigned long long v[NREGS] = {
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->r8,
		r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
	};
	return v[i];
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int u32_push(struct u32vec *s, uint32_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint32_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

/* Count `bytes` more of the graph's memory against max_memory before they
 * are allocated: -LM_ELIMIT with what and how much when they do not fit. */
static int reserve(struct lm_refgraph *g, uint64_t bytes, const char *what, struct lm_err *err)
{
	if (g->budget && g->reserved + bytes > g->budget)
		return lm_err_set(err, LM_ELIMIT, "%s of %zu chunks needs %llu MiB more, over "
				  "max-memory (%llu MiB, of which the snapshot holds %llu MiB "
				  "and the graph %llu MiB); raise --max-memory", what, g->nchunks,
				  (unsigned long long)((bytes + (1 << 20) - 1) >> 20),
				  (unsigned long long)(g->snap->max_memory_bytes >> 20),
				  (unsigned long long)(lm_snapshot_held_bytes(g->snap) >> 20),
				  (unsigned long long)(g->reserved >> 20));
	g->reserved += bytes;
	return 0;
}

const char *lm_root_kind_name(int kind)
{
	switch (kind) {
	case LM_ROOT_GLOBAL: return "global";
	case LM_ROOT_STACK: return "stack";
	case LM_ROOT_REGISTER: return "register";
	case LM_ROOT_MEMORY: return "memory";
	case LM_ROOT_MODULE: return "module";
	default: return "?";
	}
}

/* ---- 1. the chunk index ---- */

static int add_run(struct lm_refgraph *g, size_t *cap, const struct run *r)
{
	if (g->nruns == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct run *v = realloc(g->runs, c * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		g->runs = v;
		*cap = c;
	}
	g->runs[g->nruns++] = *r;
	return 0;
}

/* Group the sorted chunks into runs of touching chunks. */
static int build_runs(struct lm_refgraph *g)
{
	size_t i, cap = 0;
	struct run r = { 0 };

	for (i = 0; i < g->nchunks; i++) {
		uint64_t addr = lm_chunkstore_addr(g->chunks, i);
		uint64_t end = addr + lm_chunkstore_size(g->chunks, i);

		if (end < addr)
			end = UINT64_MAX;	/* hostile size: clamp */
		if (i > 0 && addr <= r.hi) {
			if (end > r.hi)
				r.hi = end;
			r.end = i + 1;
			continue;
		}
		if (i > 0 && add_run(g, &cap, &r) < 0)
			return -LM_ENOMEM;
		memset(&r, 0, sizeof(r));
		r.lo = addr;
		r.hi = end;
		r.first = i;
		r.end = i + 1;
	}
	if (g->nchunks && add_run(g, &cap, &r) < 0)
		return -LM_ENOMEM;
	if (g->nruns) {
		g->lo = g->runs[0].lo;
		g->hi = g->runs[g->nruns - 1].hi;
	}
	return 0;
}

/* Can this run use the start bitmap: every chunk 16-aligned relative to the
 * run, and a span within what is left of *budget? The bitmaps together
 * cover at most the captured bytes: chunk sizes are the target's, and a
 * hostile one must not make us allocate a bit per granule of 2^64 bytes. */
static int run_indexable(const struct lm_refgraph *g, const struct run *r, uint64_t *budget)
{
	size_t i;

	if (r->hi - r->lo > *budget)
		return 0;
	for (i = r->first; i < r->end; i++)
		if ((lm_chunkstore_addr(g->chunks, i) - r->lo) % GRANULE != 0)
			return 0;
	*budget -= r->hi - r->lo;
	return 1;
}

/* One bit per 16-byte granule of each run, set where a chunk starts, and a
 * rank table (chunk starts before each block of 256 granules): the chunk
 * under a pointer is then the rank of its granule, with no access to the
 * chunk array at all. */
static int build_bitmap(struct lm_refgraph *g, struct lm_err *err)
{
	size_t i, nwords = 0, nblocks = 0;
	uint64_t budget = g->src->capture_bytes;
	int rc;

	for (i = 0; i < g->nruns; i++) {
		struct run *x = &g->runs[i];
		uint64_t ngran = (x->hi - x->lo + GRANULE - 1) / GRANULE;
		x->indexed = run_indexable(g, x, &budget);
		if (!x->indexed)
			continue;
		x->word0 = nwords;
		x->block0 = nblocks;
		/* whole blocks of BLOCK_WORDS words */
		nblocks += (size_t)((ngran + BLOCK_GRANULES - 1) / BLOCK_GRANULES);
		nwords = nblocks * BLOCK_WORDS;
	}
	rc = reserve(g, (uint64_t)nwords * sizeof(*g->bitmap) + (uint64_t)nblocks * sizeof(*g->rank),
		     "the chunk index of the reference graph", err);
	if (rc < 0)
		return rc;
	g->bitmap = calloc(nwords ? nwords : 1, sizeof(*g->bitmap));
	g->rank = malloc((nblocks ? nblocks : 1) * sizeof(*g->rank));
	if (!g->bitmap || !g->rank)
		return lm_err_set(err, LM_ENOMEM, "out of memory indexing %zu chunks", g->nchunks);
	for (i = 0; i < g->nruns; i++) {
		const struct run *x = &g->runs[i];
		uint64_t ngran = (x->hi - x->lo + GRANULE - 1) / GRANULE;
		size_t c, b, nb = (size_t)((ngran + BLOCK_GRANULES - 1) / BLOCK_GRANULES);
		uint32_t count = 0;

		if (!x->indexed)
			continue;
		for (c = x->first; c < x->end; c++) {
			uint64_t gi = (lm_chunkstore_addr(g->chunks, c) - x->lo) / GRANULE;
			g->bitmap[x->word0 + gi / 64] |= 1ULL << (gi % 64);
		}
		for (b = 0; b < nb; b++) {
			size_t w;
			g->rank[x->block0 + b] = count;
			for (w = 0; w < BLOCK_WORDS; w++)
				count += (uint32_t)__builtin_popcountll(g->bitmap[x->word0 + b * BLOCK_WORDS + w]);
		}
	}
	return 0;
}

static inline const struct run *run_of(const struct lm_refgraph *g, uint64_t p)
{
	size_t lo = 0, hi = g->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->runs[mid].lo <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || p >= g->runs[lo - 1].hi)
		return NULL;
	return &g->runs[lo - 1];
}

/* The chunk whose [addr, addr + size) holds p, any state; or -1.
 * *header: p is in its first 16 bytes (malloc's header, not user bytes). */
static inline ptrdiff_t find_any(const struct lm_refgraph *g, uint64_t p, int *header)
{
	const struct run *r;
	size_t a, b;

	if (p < g->lo || p >= g->hi || !(r = run_of(g, p)))
		return -1;
	if (r->indexed) {
		uint64_t gi = (p - r->lo) / GRANULE;
		size_t w = (size_t)(gi / 64), x = (size_t)(gi / BLOCK_GRANULES) * BLOCK_WORDS;
		const uint64_t *bm = g->bitmap + r->word0;
		uint64_t bits = bm[w];
		size_t count = g->rank[r->block0 + gi / BLOCK_GRANULES];

		for (; x < w; x++)
			count += (size_t)__builtin_popcountll(bm[x]);
		/* starts at or below gi in its word (2 << 63 wraps to 0: all bits) */
		count += (size_t)__builtin_popcountll(bits & ((2ULL << (gi % 64)) - 1));
		*header = (int)((bits >> (gi % 64)) & 1);
		/* the run's first chunk starts at granule 0, so count >= 1 */
		return (ptrdiff_t)(r->first + count - 1);
	}
	/* unindexed run: last chunk in [first, end) starting at or below p */
	a = r->first;
	b = r->end;
	while (a + 1 < b) {
		size_t mid = a + (b - a) / 2;
		if (lm_chunkstore_addr(g->chunks, mid) <= p)
			a = mid;
		else
			b = mid;
	}
	if (p - lm_chunkstore_addr(g->chunks, a) >= lm_chunkstore_size(g->chunks, a))
		return -1;
	*header = p - lm_chunkstore_addr(g->chunks, a) < 16;
	return (ptrdiff_t)a;
}

/*
 * p is in chunk i's first 16 bytes: whose are they? A pymalloc block's are
 * its data. Otherwise they are malloc's header, except the first 8 (the
 * prev_size field) while the chunk before is in use: malloc lends them to
 * that allocation as its last usable word, so p points into it (a struct
 * linked into a list by a member at its end is pointed to there). The
 * chunk that owns p, or -1. No adjacency test is needed: a chunk before a
 * gap, or mmapped (usable size - 16), ends its usable bytes before p.
 */
static inline ptrdiff_t header_owner(const struct lm_refgraph *g, ptrdiff_t i, uint64_t p)
{
	size_t k;

	if (lm_chunk_is_pyblock(lm_chunkstore_state(g->chunks, (size_t)i)))
		return i;
	if (i == 0 || p - lm_chunkstore_addr(g->chunks, (size_t)i) >= 8)
		return -1;
	k = (size_t)i - 1;
	if (!(g->state[k] & (ST_NODE | ST_INTERNAL)) ||
	    lm_chunk_is_pyblock(lm_chunkstore_state(g->chunks, k)) ||
	    p - lm_chunkstore_user(g->chunks, k) >= lm_chunkstore_usable(g->chunks, k))
		return -1;
	return (ptrdiff_t)k;
}

/* The live chunk whose usable bytes hold p. */
static inline ptrdiff_t find_user(const struct lm_refgraph *g, uint64_t p)
{
	int header = 0;
	ptrdiff_t i = find_any(g, p, &header);

	if (i >= 0 && header)
		i = header_owner(g, i, p);
	if (i < 0 || !(g->state[i] & (ST_NODE | ST_INTERNAL)))
		return -1;
	return i;
}

/* A graph node (not malloc's own) whose user bytes hold p. */
static inline ptrdiff_t find_node(const struct lm_refgraph *g, uint64_t p)
{
	ptrdiff_t i;

	if (p < g->lo || p >= g->hi)
		return -1;
	i = find_user(g, p);
	if (i < 0 || !(g->state[i] & ST_NODE))
		return -1;
	return i;
}

ptrdiff_t lm_refgraph_find(const struct lm_refgraph *g, uint64_t p)
{
	return find_user(g, p);
}

/* ---- 2. the roots ---- */

struct excl {
	uint64_t lo, hi;
};

static int cmp_excl(const void *a, const void *b)
{
	const struct excl *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int add_span(struct lm_refgraph *g, size_t *cap, const struct span *s)
{
	if (s->hi <= s->lo)
		return 0;
	if (g->nspans == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct span *v = realloc(g->spans, c * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		g->spans = v;
		*cap = c;
	}
	g->spans[g->nspans++] = *s;
	return 0;
}

/* The threads' stack pointers, sorted: a core may list a million threads
 * and as many regions, too many to compare pairwise. */
struct thread_sp {
	uint64_t sp;
	size_t thread;
};

static int cmp_thread_sp(const void *a, const void *b)
{
	const struct thread_sp *x = a, *y = b;

	if (x->sp != y->sp)
		return x->sp < y->sp ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

static struct thread_sp *sorted_sps(const struct lm_memsrc *src)
{
	struct thread_sp *v = malloc((src->nthreads + 1) * sizeof(*v));
	size_t t;

	if (!v)
		return NULL;
	for (t = 0; t < src->nthreads; t++) {
		v[t].sp = src->threads[t].regs.rsp;
		v[t].thread = t;
	}
	qsort(v, src->nthreads, sizeof(*v), cmp_thread_sp);
	return v;
}

/* Which thread's stack pointer lies in this mapping (the lowest one, should
 * several), or -1. */
static ptrdiff_t stack_thread(const struct thread_sp *sps, size_t n, const struct lm_mapping *map)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sps[mid].sp < map->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sps[lo].sp < map->end ? (ptrdiff_t)sps[lo].thread : -1;
}

/* Emit [lo, hi) of region r minus the sorted exclusions as spans. */
static int add_region_spans(struct lm_refgraph *g, size_t *cap, const struct lm_region *r,
			    uint64_t lo, uint64_t hi, const struct span *proto,
			    const struct excl *ex, size_t nex)
{
	struct span s = *proto;
	size_t i;

	/* addresses near 2^64 (a hostile core's segment, a clamped run end)
	 * must not wrap to 0 when rounded up */
	if (lo > UINT64_MAX - 7)
		return 0;
	lo = (lo + 7) & ~7ULL;
	hi &= ~7ULL;
	for (i = 0; i < nex && lo < hi; i++) {
		if (ex[i].hi <= lo)
			continue;
		if (ex[i].lo >= hi)
			break;
		if (ex[i].lo > lo) {
			s.lo = lo;
			s.hi = ex[i].lo & ~7ULL;
			s.data = r->data + (s.lo - r->start);
			if (add_span(g, cap, &s) < 0)
				return -LM_ENOMEM;
		}
		if (ex[i].hi > UINT64_MAX - 7)
			return 0;
		lo = (ex[i].hi + 7) & ~7ULL;
	}
	if (lo < hi) {
		s.lo = lo;
		s.hi = hi;
		s.data = r->data + (s.lo - r->start);
		if (add_span(g, cap, &s) < 0)
			return -LM_ENOMEM;
	}
	return 0;
}

static int build_exclusions(struct lm_refgraph *g, struct excl **out, size_t *n)
{
	const struct lm_heap_info *h = &g->snap->heap;
	struct excl *ex = malloc((g->nruns + 2) * sizeof(*ex));
	size_t i, k = 0;

	if (!ex)
		return -LM_ENOMEM;
	for (i = 0; i < g->nruns; i++) {
		struct lm_chunk fbuf;
		const struct lm_chunk *first = lm_chunkstore_get(g->chunks, g->runs[i].first, &fbuf);
		ex[k].lo = g->runs[i].lo;
		ex[k].hi = g->runs[i].hi;
		/* a non-main arena heap starts with heap_info (and, in its first
		 * heap, the arena's malloc_state) before its first chunk */
		if (first->arena != 0 && first->arena != 0xffff &&
		    !(first->flags & 0x2))
			ex[k].lo &= ~(HEAP_MAX_SIZE - 1);
		k++;
	}
	if (h->main_arena) {
		ex[k].lo = h->main_arena;
		ex[k++].hi = h->main_arena + MALLOC_STATE_SIZE;
	}
	if (h->mp) {
		ex[k].lo = h->mp;
		ex[k++].hi = h->mp + MALLOC_PAR_SIZE;
	}
	qsort(ex, k, sizeof(*ex), cmp_excl);
	*out = ex;
	*n = k;
	return 0;
}

static int build_spans(struct lm_refgraph *g)
{
	const struct lm_memsrc *src = g->src;
	struct excl *ex;
	struct thread_sp *sps;
	size_t i, nex, cap = 0;
	int rc = 0;

	if (build_exclusions(g, &ex, &nex) < 0)
		return -LM_ENOMEM;
	if (!(sps = sorted_sps(src))) {
		free(ex);
		return -LM_ENOMEM;
	}
	for (i = 0; i < src->nregions && rc == 0; i++) {
		const struct lm_region *r = &src->regions[i];
		const struct lm_mapping *map = r->map;
		struct span proto = { .map = map };
		uint64_t lo = r->start;
		ptrdiff_t t;

		if (!map || !(map->prot & LM_PROT_W) || (map->prot & LM_PROT_SHARED))
			continue;
		t = stack_thread(sps, src->nthreads, map);
		if (t >= 0) {
			proto.kind = LM_ROOT_STACK;
			proto.thread = (size_t)t;
			/* only the live part: what lies below sp is dead frames */
			if (src->threads[t].regs.rsp > lo)
				lo = src->threads[t].regs.rsp;
		} else if (lm_symtab_module(g->snap->syms, map->start)) {
			proto.kind = LM_ROOT_GLOBAL;
		} else {
			proto.kind = LM_ROOT_MEMORY;
		}
		if (lo < r->end)
			rc = add_region_spans(g, &cap, r, lo, r->end, &proto, ex, nex);
	}
	free(ex);
	free(sps);
	for (i = 0; i < g->nspans; i++)
		g->totals.root_bytes += g->spans[i].hi - g->spans[i].lo;
	return rc;
}

int lm_refgraph_new(const struct lm_snapshot *snap, struct lm_refgraph **out,
		    struct lm_err *err)
{
	struct lm_refgraph *g;
	size_t i;
	int rc;

	*out = NULL;
	if (snap->nchunks > MAX_NODES)
		return lm_err_set(err, LM_ELIMIT, "the heap has %zu chunks; the reference graph "
				  "handles at most %u", snap->nchunks, (unsigned)MAX_NODES);
	g = calloc(1, sizeof(*g));
	if (!g)
		return lm_err_set(err, LM_ENOMEM, "out of memory building the reference graph");
	g->snap = snap;
	g->py = snap->cls ? lm_classifier_python(snap->cls) : NULL;
	g->src = snap->src;
	g->chunks = &snap->chunks;
	g->nchunks = snap->nchunks;
	if (snap->max_memory_bytes) {
		uint64_t held = lm_snapshot_held_bytes(snap);
		g->budget = held < snap->max_memory_bytes ? snap->max_memory_bytes - held : 1;
	}
	/* one state byte per chunk, and the mark stack's first slices */
	rc = reserve(g, g->nchunks + 4 * MARK_SLICE_WORDS * sizeof(uint32_t),
		     "the reference graph", err);
	if (rc < 0)
		goto fail;
	g->state = calloc(g->nchunks ? g->nchunks : 1, 1);
	if (!g->state)
		goto oom;
	for (i = 0; i < g->nchunks; i++) {
		int st = lm_chunkstore_state(g->chunks, i);
		if (st == LM_CHUNK_TCACHE_STRUCT)
			g->state[i] = ST_INTERNAL;
		else if (lm_chunk_is_live(st) &&
			 (lm_chunkstore_size(g->chunks, i) > LM_CHUNK_HDR || st == LM_CHUNK_PYBLOCK) &&
			 !(st == LM_CHUNK_PYBLOCK && dead_python_object(g, i)))
			g->state[i] = ST_NODE;
	}
	if (build_runs(g) < 0)
		goto oom;
	rc = build_bitmap(g, err);
	if (rc < 0)
		goto fail;
	if (build_spans(g) < 0)
		goto oom;
	*out = g;
	return 0;
oom:
	rc = lm_err_set(err, LM_ENOMEM, "out of memory building the reference graph of "
			"%zu chunks", snap->nchunks);
fail:
	lm_refgraph_free(g);
	return rc;
}

void lm_refgraph_free(struct lm_refgraph *g)
{
	if (!g)
		return;
	lm_unwinder_free(g->unwinder);
	free(g->py_modules);
	free(g->state);
	free(g->runs);
	free(g->bitmap);
	free(g->rank);
	free(g->spans);
	free(g->stack.v);
	free(g->resume);
	free(g);
}

/* ---- scanning ---- */

/* The captured user bytes of chunk i, or NULL (then flagged unscanned). */
/* Local bytes of [addr, addr + len): the region of the previous call is
 * tried first (chunks come mostly from one heap). */
static inline const uint8_t *local_bytes(struct lm_refgraph *g, uint64_t addr, size_t len)
{
	const struct lm_region *r = g->last_region;

	if (!r || addr < r->start || addr >= r->end || len > r->end - addr) {
		r = lm_mem_region(g->src, addr);
		if (!r || len > r->end - addr)
			return lm_mem_view(g->src, addr, len);	/* spans regions, or NULL */
		g->last_region = r;
	}
	return r->data + (addr - r->start);
}

/* The captured user bytes of chunk i, or NULL (then flagged unscanned).
 * Only live chunks are scanned, and a live chunk's user bytes are its
 * usable size: size - 8, running over the next chunk's prev_size field,
 * which malloc leaves to the user while this chunk is in use (an mmapped
 * chunk has no next chunk: size - 16, as the walker says). A pointer kept in
 * a 24-byte block's last word is there. */
/*
 * A dead CPython object, kept on a free list for reuse (reference count 0),
 * is free memory to the interpreter: no node (never a leak), and its words,
 * pointing at memory freed since and maybe reused, are no references.
 */
static int dead_python_object(const struct lm_refgraph *g, size_t i)
{
	uint64_t size = lm_chunkstore_size(g->chunks, i), user = lm_chunkstore_user(g->chunks, i);
	const uint8_t *p;

	if (!g->py || !(p = lm_mem_view(g->src, user, size < 48 ? size : 48)))
		return 0;
	return lm_python_dead_object_in(g->py, user, p, size);
}

/*
 * A CPython object's GC header links it into its generation's list: every
 * tracked object points at two others. As references those links would
 * make each object hold its neighbours in the list, so nothing would look
 * leaked and chains would run along the lists instead of through the
 * containers that hold the objects. The block is read without them (a
 * copy with those two words zeroed); its other words are scanned as usual.
 */
static const uint8_t *without_gc_links(struct lm_refgraph *g, size_t i, const uint8_t *p,
				       size_t *nwords)
{
	uint64_t user = lm_chunkstore_user(g->chunks, i), obj, type, off;

	if (*nwords * 8 > sizeof(g->py_block) ||
	    !lm_python_object_in(g->py, user, p, *nwords * 8, &obj, &type) || obj - user < 16)
		return p;
	off = obj - user - 16;	/* the GC header precedes the object */
	memcpy(g->py_block, p, *nwords * 8);
	memset(g->py_block + off, 0, 16);
	return g->py_block;
}

static const uint8_t *chunk_bytes(struct lm_refgraph *g, size_t i, size_t *nwords)
{
	uint64_t size = lm_chunkstore_size(g->chunks, i);
	uint64_t usable = lm_chunkstore_usable(g->chunks, i);
	const uint8_t *p;

	/* a pymalloc block has no header: all of it is usable */
	if (usable > size - 8 && !lm_chunk_is_pyblock(lm_chunkstore_state(g->chunks, i)))
		usable = size - 8;
	*nwords = (size_t)(usable / 8);
	p = local_bytes(g, lm_chunkstore_user(g->chunks, i), *nwords * 8);
	if (!p)
		g->state[i] |= ST_UNSCANNED;
	else if (g->py && lm_chunkstore_state(g->chunks, i) == LM_CHUNK_PYBLOCK)
		p = without_gc_links(g, i, p, nwords);
	return p;
}

/* Ask the CPU for what the chunk popped in a few steps will need: its entry
 * in the chunk array now, its first bytes a little later. The graph is a
 * random walk over a heap much larger than the caches; without this, every
 * visit waits for two memory round trips in turn. */
static inline void prefetch_upcoming(struct lm_refgraph *g, const struct u32vec *st)
{
	const struct lm_region *r = g->last_region;

	if (st->n >= 8)
		__builtin_prefetch(&g->chunks->rec[st->v[st->n - 8]]);
	if (st->n >= 3 && r) {
		uint64_t a = lm_chunkstore_user(g->chunks, st->v[st->n - 3]);
		if (a >= r->start && a < r->end)
			__builtin_prefetch(r->data + (a - r->start));
	}
}

/* Mark node i reached and push it. */
static int reach(struct lm_refgraph *g, ptrdiff_t i)
{
	if (i < 0 || (g->state[i] & ST_REACHED))
		return 0;
	g->state[i] |= ST_REACHED;
	return u32_push(&g->stack, (uint32_t)i);
}

#define BATCH 16

/* Reach every node the words point into. In batches: resolve all the
 * words first (prefetching their state bytes), then test and push, so
 * that the cache misses of one batch overlap. */
static int mark_words(struct lm_refgraph *g, const uint8_t *p, size_t nwords)
{
	uint32_t cand[BATCH];
	size_t k = 0, n, j;

	while (k < nwords) {
		for (n = 0; k < nwords && n < BATCH; k++) {
			uint64_t v = load64(p + k * 8);
			ptrdiff_t i;
			int header = 0;
			if (v < g->lo || v >= g->hi)
				continue;
			i = find_any(g, v, &header);
			if (i >= 0 && header)
				i = header_owner(g, i, v);
			if (i < 0)
				continue;
			__builtin_prefetch(&g->state[i]);
			cand[n++] = (uint32_t)i;
		}
		for (j = 0; j < n; j++) {
			uint8_t st = g->state[cand[j]];
			if ((st & (ST_NODE | ST_REACHED)) != ST_NODE)
				continue;
			g->state[cand[j]] = st | ST_REACHED;
			if (u32_push(&g->stack, cand[j]) < 0)
				return -LM_ENOMEM;
		}
	}
	return 0;
}

/* Words of a chunk the mark scans before it looks at what they reached
 * (MARK_SLICE_WORDS): a chunk holding millions of pointers (an array, a
 * hash table) would otherwise push them all at once, 4 bytes each on the
 * mark stack. Its next slice waits on the resume stack until the stack is
 * empty again, so the mark stack holds about a slice per chunk being
 * scanned. */

static int push_resume(struct lm_refgraph *g, uint32_t chunk, size_t word)
{
	if (g->nresume == g->resume_cap) {
		size_t cap = g->resume_cap ? g->resume_cap * 2 : 64;
		struct resume *v = realloc(g->resume, cap * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		g->resume = v;
		g->resume_cap = cap;
	}
	g->resume[g->nresume].chunk = chunk;
	g->resume[g->nresume++].word = word;
	return 0;
}

/* Scan chunk n from word `from`: one slice, the rest left to resume. */
static int mark_chunk(struct lm_refgraph *g, uint32_t n, size_t from)
{
	size_t nwords, k;
	const uint8_t *p = chunk_bytes(g, n, &nwords);

	if (!p || from >= nwords)
		return 0;
	k = nwords - from;
	if (k > MARK_SLICE_WORDS) {
		k = MARK_SLICE_WORDS;
		if (push_resume(g, n, from + k) < 0)
			return -LM_ENOMEM;
	}
	g->totals.scanned_bytes += k * 8;
	return mark_words(g, p + from * 8, k);
}

static int mark_from_roots(struct lm_refgraph *g)
{
	size_t i, r;

	if (g->marked)
		return 0;
	for (i = 0; i < g->src->nthreads; i++)
		for (r = 0; r < NREGS; r++)
			if (reach(g, find_node(g, reg_value(&g->src->threads[i].regs, r))) < 0)
				return -LM_ENOMEM;
	for (i = 0; i < g->nspans; i++)
		if (mark_words(g, g->spans[i].data, (size_t)((g->spans[i].hi - g->spans[i].lo) / 8)) < 0)
			return -LM_ENOMEM;
	while (g->stack.n > 0 || g->nresume > 0) {
		int rc;
		if (g->stack.n > 0) {
			uint32_t n = g->stack.v[--g->stack.n];
			prefetch_upcoming(g, &g->stack);
			rc = mark_chunk(g, n, 0);
		} else {
			struct resume x = g->resume[--g->nresume];
			rc = mark_chunk(g, x.chunk, x.word);
		}
		if (rc < 0)
			return -LM_ENOMEM;
	}
	g->marked = 1;
	return 0;
}

/* ---- 4. leaks ---- */

/* Claim, for the clique led by `leader`, every unreached unclaimed chunk
 * reachable from it. */
static int claim_clique(struct lm_refgraph *g, uint32_t leader)
{
	size_t nwords, k;

	g->stack.n = 0;
	if (u32_push(&g->stack, leader) < 0)
		return -LM_ENOMEM;
	while (g->stack.n > 0) {
		uint32_t n = g->stack.v[--g->stack.n];
		const uint8_t *p = chunk_bytes(g, n, &nwords);
		if (!p)
			continue;
		for (k = 0; k < nwords; k++) {
			uint64_t v = load64(p + k * 8);
			ptrdiff_t c;
			if (v < g->lo || v >= g->hi)
				continue;
			c = find_node(g, v);
			if (c < 0 || (uint32_t)c == leader ||
			    (g->state[c] & (ST_REACHED | ST_INDIRECT)))
				continue;
			g->state[c] |= ST_INDIRECT;
			if (u32_push(&g->stack, (uint32_t)c) < 0)
				return -LM_ENOMEM;
		}
	}
	return 0;
}

static int classify_unreached(struct lm_refgraph *g)
{
	size_t i;

	for (i = 0; i < g->nchunks; i++)
		if ((g->state[i] & (ST_NODE | ST_REACHED | ST_INDIRECT)) == ST_NODE &&
		    claim_clique(g, (uint32_t)i) < 0)
			return -LM_ENOMEM;
	return 0;
}

int lm_refgraph_leak_state(const struct lm_refgraph *g, size_t i)
{
	uint8_t s;

	if (i >= g->nchunks)
		return LM_LEAK_NONE;
	s = g->state[i];
	if (s & ST_INTERNAL)
		return LM_LEAK_INTERNAL;
	if (!(s & ST_NODE) || !g->marked)
		return LM_LEAK_NONE;
	if (s & ST_REACHED)
		return LM_LEAK_REACHABLE;
	return (s & ST_INDIRECT) ? LM_LEAK_INDIRECT : LM_LEAK_DIRECT;
}

static int cmp_leak_type(const void *a, const void *b)
{
	const struct lm_leak_type *x = a, *y = b;
	uint64_t bx = x->direct_bytes + x->indirect_bytes, by = y->direct_bytes + y->indirect_bytes;

	if (bx != by)
		return bx < by ? 1 : -1;
	if (x->direct_count != y->direct_count)
		return x->direct_count < y->direct_count ? 1 : -1;
	return x->type < y->type ? -1 : x->type > y->type;
}

static struct lm_leak_type *leak_row(struct lm_refgraph *g, struct lm_leak_type *rows,
				     size_t ntypes, size_t i)
{
	uint32_t ty = g->snap->chunk_type ? g->snap->chunk_type[i] : UINT32_MAX;

	return &rows[ty < ntypes ? ty : ntypes];
}

/* Fold per-chunk verdicts into per-type rows: counts and direct examples in
 * one pass, then indirect examples where a row has room left. */
static int tally_leaks(struct lm_refgraph *g, struct lm_leaks *l)
{
	size_t ntypes = lm_classifier_ntypes(g->snap->cls), i, n = 0;
	struct lm_leak_type *rows = calloc(ntypes + 1, sizeof(*rows));
	struct lm_leak_totals *t = &l->totals;

	if (!rows)
		return -LM_ENOMEM;
	for (i = 0; i <= ntypes; i++)
		rows[i].type = i < ntypes ? (uint32_t)i : UINT32_MAX;
	*t = g->totals;
	for (i = 0; i < g->nchunks; i++) {
		struct lm_chunk cbuf;
		const struct lm_chunk *c;
		int st = lm_refgraph_leak_state(g, i);
		struct lm_leak_type *row;

		if (st == LM_LEAK_NONE)
			continue;
		c = lm_chunkstore_get(g->chunks, i, &cbuf);
		if (st == LM_LEAK_INTERNAL) {
			t->internal_count++;
			t->internal_bytes += c->size;
			continue;
		}
		t->live_count++;
		t->live_bytes += c->size;
		if (g->state[i] & ST_UNSCANNED)
			t->unscanned_count++;
		if (st == LM_LEAK_REACHABLE) {
			t->reachable_count++;
			t->reachable_bytes += c->size;
			continue;
		}
		row = leak_row(g, rows, ntypes, i);
		if (st == LM_LEAK_DIRECT) {
			row->direct_count++;
			row->direct_bytes += c->size;
			t->direct_count++;
			t->direct_bytes += c->size;
			if (row->nexamples < LM_LEAK_EXAMPLES)
				row->examples[row->nexamples++] = lm_chunk_user(c);
		} else {
			row->indirect_count++;
			row->indirect_bytes += c->size;
			t->indirect_count++;
			t->indirect_bytes += c->size;
		}
	}
	for (i = 0; i < g->nchunks; i++) {
		struct lm_leak_type *row;
		if (lm_refgraph_leak_state(g, i) != LM_LEAK_INDIRECT)
			continue;
		row = leak_row(g, rows, ntypes, i);
		if (row->nexamples < LM_LEAK_EXAMPLES)
			row->examples[row->nexamples++] = lm_chunkstore_user(g->chunks, i);
	}
	for (i = 0; i <= ntypes; i++)
		if (rows[i].direct_count + rows[i].indirect_count > 0)
			rows[n++] = rows[i];
	qsort(rows, n, sizeof(*rows), cmp_leak_type);
	l->types = rows;
	l->ntypes = n;
	return 0;
}

int lm_refgraph_leaks(struct lm_refgraph *g, struct lm_leaks **out, struct lm_err *err)
{
	struct lm_leaks *l;

	*out = NULL;
	if (mark_from_roots(g) < 0 || classify_unreached(g) < 0)
		return lm_err_set(err, LM_ENOMEM, "out of memory marking %zu chunks", g->nchunks);
	l = calloc(1, sizeof(*l));
	if (!l || tally_leaks(g, l) < 0) {
		free(l);
		return lm_err_set(err, LM_ENOMEM, "out of memory tallying leaks");
	}
	*out = l;
	return 0;
}

void lm_leaks_free(struct lm_leaks *l)
{
	if (!l)
		return;
	free(l->types);
	free(l);
}

/* ---- 5. roots of one chunk ---- */

struct bfs {
	uint32_t *parent;	/* per chunk: parent chunk, ROOT_PARENT or NO_PARENT */
	struct u32vec queue;	/* BFS order */
	struct root_ref *refs;	/* for ROOT_PARENT chunks, in discovery order */
	size_t nrefs, refs_cap;
	struct root_ref *direct;	/* roots pointing at the target itself */
	size_t ndirect, max_direct;
	uint32_t target;
};

/*
 * A root word pointing at the GC header of a CPython object is a link of
 * the collector's generation lists (the list heads live in the
 * interpreter's globals), not a reference: Python code only ever points at
 * the object after the header. Taken as a root it would start every chain
 * that reaches a recently tracked container at the collector's list head
 * instead of at the module or frame that holds it.
 */
static int python_gc_link(struct lm_refgraph *g, size_t i, uint64_t v)
{
	uint64_t user = lm_chunkstore_user(g->chunks, i), obj, type;

	return g->py && v - user <= 32 &&
	       lm_python_object_at(g->py, user, lm_chunkstore_usable(g->chunks, i), &obj, &type) &&
	       obj - user >= 16 && v == obj - 16;
}

/* The type of the CPython object (live, or dead with dead set) whose
 * address is exactly v, or 0. */
static uint64_t python_object_type(struct lm_refgraph *g, uint64_t v, int *dead)
{
	int header = 0;
	ptrdiff_t i = find_any(g, v, &header);
	uint64_t user, size, obj, type;
	const uint8_t *p;

	if (i < 0)
		return 0;
	user = lm_chunkstore_user(g->chunks, (size_t)i);
	size = lm_chunkstore_usable(g->chunks, (size_t)i);
	if (v - user > 32 || !(p = lm_mem_view(g->src, user, size < 48 ? size : 48)))
		return 0;
	*dead = 0;
	if (lm_python_object_in(g->py, user, p, size, &obj, &type))
		return obj == v ? type : 0;
	*dead = 1;
	return lm_python_dead_object_type(g->py, user, p, size, &type) ? type : 0;
}

#define PY_FREELIST_MAX 80	/* the longest CPython free list array (3.9-3.13) */

/*
 * CPython keeps freed lists and dicts for reuse in arrays of its static
 * data: entries [0, numfree) point at dead objects (reference count 0);
 * taking one only lowers numfree, so the entries above keep pointing at
 * objects handed out since, live now and held elsewhere. Such a stale
 * entry is no reference. It is recognised by the words before it in the
 * same static data: objects of its type, live (more stale entries) up to
 * a dead one (the free list proper).
 */
static int python_stale_freelist_slot(struct lm_refgraph *g, const struct span *s, size_t k,
				      uint64_t v)
{
	uint64_t type, t;
	size_t j;
	int dead;

	if (!g->py || s->kind != LM_ROOT_GLOBAL || !(type = python_object_type(g, v, &dead)) ||
	    dead)
		return 0;
	for (j = 1; j <= k && j <= PY_FREELIST_MAX; j++) {
		t = python_object_type(g, load64(s->data + (k - j) * 8), &dead);
		if (t != type)
			return 0;
		if (dead)
			return 1;
	}
	return 0;
}

static int bfs_root_word(struct lm_refgraph *g, struct bfs *b, uint64_t ref, uint64_t v)
{
	ptrdiff_t i = find_node(g, v);

	if (i < 0 || python_gc_link(g, (size_t)i, v))
		return 0;
	if ((uint32_t)i == b->target && b->ndirect < b->max_direct) {
		b->direct[b->ndirect].node = (uint32_t)i;
		b->direct[b->ndirect].ref = ref;
		b->direct[b->ndirect++].value = v;
	}
	if (b->parent[i] != NO_PARENT)
		return 0;
	b->parent[i] = ROOT_PARENT;
	if (b->nrefs == b->refs_cap) {
		size_t cap = b->refs_cap ? b->refs_cap * 2 : 1024;
		struct root_ref *r = realloc(b->refs, cap * sizeof(*r));
		if (!r)
			return -LM_ENOMEM;
		b->refs = r;
		b->refs_cap = cap;
	}
	b->refs[b->nrefs].node = (uint32_t)i;
	b->refs[b->nrefs].ref = ref;
	b->refs[b->nrefs++].value = v;
	return u32_push(&b->queue, (uint32_t)i);
}

#define PY_MODULES_MAX 65536	/* module objects taken as roots, at most */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The md_dict field of every live CPython module object, sorted. */
static int find_python_modules(struct lm_refgraph *g)
{
	const struct lm_classifier *cls = g->snap->cls;
	size_t i, n = lm_classifier_ntypes(cls), cap = 0;
	uint32_t id = UINT32_MAX;

	if (g->py_modules_found || !g->py || !g->snap->chunk_type)
		return 0;
	g->py_modules_found = 1;
	for (i = 0; i < n && id == UINT32_MAX; i++) {
		const struct lm_type *t = lm_classifier_type(cls, (uint32_t)i);
		if (t && t->kind == LM_KIND_PYTHON && t->name && !strcmp(t->name, "module"))
			id = (uint32_t)i;
	}
	for (i = 0; id != UINT32_MAX && i < g->nchunks && g->npy_modules < PY_MODULES_MAX; i++) {
		uint64_t user, obj, type, dict;
		if (g->snap->chunk_type[i] != id)
			continue;
		user = lm_chunkstore_user(g->chunks, i);
		if (!lm_python_object_at(g->py, user, lm_chunkstore_usable(g->chunks, i), &obj,
					 &type) ||
		    lm_python_module_dict(g->py, obj, &dict, NULL, 0) < 0)
			continue;
		if (g->npy_modules == cap) {
			uint64_t *v;
			cap = cap ? cap * 2 : 64;
			if (!(v = realloc(g->py_modules, cap * sizeof(*v))))
				return -LM_ENOMEM;
			g->py_modules = v;
		}
		g->py_modules[g->npy_modules++] = obj + 16;
	}
	qsort(g->py_modules, g->npy_modules, sizeof(*g->py_modules), cmp_u64);
	return 0;
}

/* Breadth first from the queue's entry q on. */
static int bfs_drain(struct lm_refgraph *g, struct bfs *b, size_t q)
{
	size_t k, nwords;

	for (; q < b->queue.n; q++) {
		uint32_t n = b->queue.v[q];
		const uint8_t *p = chunk_bytes(g, n, &nwords);
		if (!p)
			continue;
		for (k = 0; k < nwords; k++) {
			uint64_t v = load64(p + k * 8);
			ptrdiff_t c;
			if (v < g->lo || v >= g->hi)
				continue;
			c = find_node(g, v);
			if (c < 0 || b->parent[c] != NO_PARENT)
				continue;
			b->parent[c] = n;
			if (u32_push(&b->queue, (uint32_t)c) < 0)
				return -LM_ENOMEM;
		}
	}
	return 0;
}

/*
 * The namespaces of CPython's modules come first: what a Python service
 * keeps, it keeps in a module's globals, and a chain from there names the
 * module. The interpreter's own roots (its static data, the frames on its
 * data stack) reach the same objects by shorter but meaningless ways: a
 * frame's stale value stack, the collector's lists, caches of the
 * interpreter. Everything the modules hold gets its chain from a module;
 * the other roots then chain what is left.
 */
static int bfs_python_modules(struct lm_refgraph *g, struct bfs *b)
{
	size_t i;
	uint64_t dict;

	if (find_python_modules(g) < 0)
		return -LM_ENOMEM;
	for (i = 0; i < g->npy_modules; i++)
		if (lm_mem_word(g->src, g->py_modules[i], &dict) == 0 &&
		    bfs_root_word(g, b, g->py_modules[i], dict) < 0)
			return -LM_ENOMEM;
	return bfs_drain(g, b, 0);
}

static int bfs_run(struct lm_refgraph *g, struct bfs *b)
{
	size_t i, r, k, q;

	if (bfs_python_modules(g, b) < 0)
		return -LM_ENOMEM;
	q = b->queue.n;

	for (i = 0; i < g->src->nthreads; i++)
		for (r = 0; r < NREGS; r++)
			if (bfs_root_word(g, b, REG_REF(i, r),
					  reg_value(&g->src->threads[i].regs, r)) < 0)
				return -LM_ENOMEM;
	for (i = 0; i < g->nspans; i++) {
		const struct span *s = &g->spans[i];
		size_t n = (size_t)((s->hi - s->lo) / 8);
		for (k = 0; k < n; k++) {
			uint64_t v = load64(s->data + k * 8);
			if (v >= g->lo && v < g->hi && !python_stale_freelist_slot(g, s, k, v) &&
			    bfs_root_word(g, b, s->lo + k * 8, v) < 0)
				return -LM_ENOMEM;
		}
	}
	return bfs_drain(g, b, q);
}

/* Offset in chunk `from` of the first word pointing into chunk `to`'s usable
 * bytes; its value in *value. -1 when none. */
static int64_t pointer_offset(struct lm_refgraph *g, size_t from, size_t to, uint64_t *value)
{
	struct lm_chunk tbuf;
	const struct lm_chunk *t = lm_chunkstore_get(g->chunks, to, &tbuf);
	size_t nwords, k;
	const uint8_t *p = chunk_bytes(g, from, &nwords);

	if (!p)
		return -1;
	for (k = 0; k < nwords; k++) {
		uint64_t v = load64(p + k * 8);
		if (v >= lm_chunk_user(t) && v - lm_chunk_user(t) < lm_chunk_readable(t)) {
			*value = v;
			return (int64_t)(k * 8);
		}
	}
	return -1;
}

static const struct root_ref *find_root_ref(const struct bfs *b, uint32_t node)
{
	size_t i;

	/* refs are few compared to chunks and this runs once per printed path */
	for (i = 0; i < b->nrefs; i++)
		if (b->refs[i].node == node)
			return &b->refs[i];
	return NULL;
}

/* ---- naming roots ---- */

static const struct span *span_of(const struct lm_refgraph *g, uint64_t addr)
{
	size_t lo = 0, hi = g->nspans;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->spans[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= g->spans[lo - 1].hi)
		return NULL;
	return &g->spans[lo - 1];
}

/* The name of the ELF section of module m holding run-time address addr. */
static void section_name(const struct lm_refgraph *g, const struct lm_module *m,
			 uint64_t addr, char *buf, size_t len)
{
	const struct lm_mapping *map = lm_module_mapping(g->src, m);
	const struct lm_mapping *at = lm_maps_find(&g->src->maps, addr);
	struct lm_err err;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf;
	int fd;

	/* without section headers: file-backed bytes are .data, the rest .bss */
	snprintf(buf, len, "%s", at && at->path ? ".data" : ".bss");
	if (!map || elf_version(EV_CURRENT) == EV_NONE)
		return;
	fd = lm_memsrc_open_mapping_file(g->src, map, &err);
	if (fd < 0)
		return;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		while ((scn = elf_nextscn(elf, scn)) != NULL) {
			GElf_Shdr sh;
			const char *name;
			if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
				continue;
			if (addr < sh.sh_addr + m->bias || addr - (sh.sh_addr + m->bias) >= sh.sh_size)
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (name)
				snprintf(buf, len, "%s", name);
			break;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
}

static void name_global(const struct lm_refgraph *g, const struct span *s, uint64_t slot,
			struct lm_root *root)
{
	const struct lm_symtab *syms = g->snap->syms;
	const struct lm_module *m = lm_symtab_module(syms, slot);
	const struct lm_symbol *sym = lm_symtab_lookup(syms, slot);

	root->kind = LM_ROOT_GLOBAL;
	(void)s;
	if (!m) {
		snprintf(root->name, sizeof(root->name), "0x%" PRIx64, slot);
		return;
	}
	snprintf(root->module, sizeof(root->module), "%s", m->name);
	section_name(g, m, slot, root->section, sizeof(root->section));
	if (sym && sym->name && sym->name[0] && lm_symtab_module(syms, sym->addr) == m) {
		if (slot == sym->addr)
			snprintf(root->symbol, sizeof(root->symbol), "%s", sym->name);
		else
			snprintf(root->symbol, sizeof(root->symbol), "%s+0x%" PRIx64, sym->name,
				 slot - sym->addr);
		snprintf(root->name, sizeof(root->name), "%s!%s (%s)", m->name, root->symbol,
			 root->section);
	} else {
		snprintf(root->name, sizeof(root->name), "%s!0x%" PRIx64 " (%s)", m->name,
			 slot - m->bias, root->section);
	}
}

static void name_stack(struct lm_refgraph *g, const struct span *s, uint64_t slot,
		       struct lm_root *root)
{
	const struct lm_frame *frames = NULL;
	size_t nframes = 0;
	struct lm_err err;
	int k = -1;

	root->kind = LM_ROOT_STACK;
	root->tid = g->src->threads[s->thread].tid;
	if (!g->unwinder)
		(void)lm_unwinder_new(g->src, g->snap->syms, &g->unwinder, &err);
	if (g->unwinder &&
	    lm_unwind_thread(g->unwinder, s->thread, &frames, &nframes, &err) == 0)
		k = lm_unwind_frame_of(frames, nframes, slot);
	root->frame = k;
	if (k >= 0) {
		lm_frame_function(g->snap->syms, &frames[k], root->function, sizeof(root->function));
		snprintf(root->name, sizeof(root->name), "thread %d frame #%d %s",
			 (int)root->tid, k, root->function);
	} else {
		snprintf(root->name, sizeof(root->name), "thread %d stack 0x%" PRIx64,
			 (int)root->tid, slot);
	}
}

static int is_python_module_slot(const struct lm_refgraph *g, uint64_t ref)
{
	size_t lo = 0, hi = g->npy_modules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->py_modules[mid] == ref)
			return 1;
		if (g->py_modules[mid] < ref)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void name_python_module(struct lm_refgraph *g, uint64_t ref, struct lm_root *root)
{
	char name[LM_PY_NAME_MAX + 1];
	uint64_t dict;

	/* the module's name is the target's: escaped where it is shown, as
	 * every root name is */
	root->kind = LM_ROOT_MODULE;
	if (lm_python_module_dict(g->py, ref - 16, &dict, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	snprintf(root->name, sizeof(root->name), "module %s (global)", name);
	snprintf(root->symbol, sizeof(root->symbol), "%s", name);
}

static void name_root(struct lm_refgraph *g, uint64_t ref, struct lm_root *root)
{
	const struct span *s;

	memset(root, 0, sizeof(*root));
	root->frame = -1;
	if (ref & REG_BIT) {
		size_t t = (size_t)((ref & ~REG_BIT) >> 8), r = (size_t)(ref & 0xff);
		root->kind = LM_ROOT_REGISTER;
		root->tid = g->src->threads[t].tid;
		snprintf(root->reg, sizeof(root->reg), "%s", reg_names[r]);
		snprintf(root->name, sizeof(root->name), "thread %d %s", (int)root->tid,
			 reg_names[r]);
		return;
	}
	root->slot = ref;
	s = span_of(g, ref);
	if (is_python_module_slot(g, ref)) {
		name_python_module(g, ref, root);
	} else if (s && s->kind == LM_ROOT_STACK) {
		name_stack(g, s, ref, root);
	} else if (s && s->kind == LM_ROOT_GLOBAL) {
		name_global(g, s, ref, root);
	} else {
		const struct lm_mapping *m = s ? s->map : lm_maps_find(&g->src->maps, ref);
		root->kind = LM_ROOT_MEMORY;
		if (m)
			snprintf(root->name, sizeof(root->name), "%s 0x%" PRIx64 "-0x%" PRIx64
				 " +0x%" PRIx64, m->path ? m->path : "anonymous", m->start,
				 m->end, ref - m->start);
		else
			snprintf(root->name, sizeof(root->name), "0x%" PRIx64, ref);
	}
}

int lm_refgraph_symbolize(const struct lm_refgraph *g, uint64_t addr, char *buf, size_t len)
{
	const struct lm_symtab *syms = g->snap->syms;
	const struct lm_symbol *s = lm_symtab_lookup(syms, addr);
	const struct lm_module *m;

	if (!s || !s->name || !s->name[0])
		return -LM_ENOTFOUND;
	m = lm_symtab_module_at(syms, s->module);
	if (addr == s->addr)
		snprintf(buf, len, "%s!%s", m ? m->name : "?", s->name);
	else
		snprintf(buf, len, "%s!%s+0x%" PRIx64, m ? m->name : "?", s->name, addr - s->addr);
	return 0;
}

/* ---- building the paths ---- */

/* Path ending root -> ... -> holder -> target (holder NO_PARENT: the root
 * points at the target itself). */
static int make_path(struct lm_refgraph *g, const struct bfs *b, uint32_t holder,
		     uint64_t holder_value, const struct root_ref *direct, struct lm_path *path)
{
	size_t depth = 0, k;
	uint32_t n;
	const struct root_ref *rr;
	uint64_t v = 0, incoming;

	memset(path, 0, sizeof(*path));
	if (direct) {
		rr = direct;
	} else {
		for (n = holder; b->parent[n] != ROOT_PARENT; n = b->parent[n])
			if (++depth > g->nchunks)
				return -LM_ECORRUPT;	/* a cycle in the parents */
		rr = find_root_ref(b, n);
		depth++;
		if (!rr)
			return -LM_ENOTFOUND;
	}
	path->nsteps = depth + 1;
	path->steps = calloc(path->nsteps, sizeof(*path->steps));
	if (!path->steps)
		return -LM_ENOMEM;
	/* fill from the target backwards */
	path->steps[depth].chunk = b->target;
	n = holder;
	for (k = depth; k-- > 0;) {
		path->steps[k].chunk = n;
		n = b->parent[n];
	}
	for (k = 0; k + 1 < path->nsteps; k++) {
		int64_t off = pointer_offset(g, path->steps[k].chunk, path->steps[k + 1].chunk, &v);
		path->steps[k].offset = off < 0 ? 0 : (uint64_t)off;
	}
	for (k = 0; k < path->nsteps; k++)
		path->steps[k].addr = lm_chunkstore_user(g->chunks, path->steps[k].chunk);
	incoming = direct ? rr->value : holder_value;
	path->steps[path->nsteps - 1].offset = incoming - path->steps[path->nsteps - 1].addr;
	path->root_points_to = rr->value;
	name_root(g, rr->ref, &path->root);
	return 0;
}

static int is_ancestor(const struct bfs *b, uint32_t anc, uint32_t n, size_t bound)
{
	size_t steps = 0;

	for (; n != ROOT_PARENT && n != NO_PARENT && steps <= bound; n = b->parent[n], steps++)
		if (n == anc)
			return 1;
	return 0;
}

static int collect_paths(struct lm_refgraph *g, struct bfs *b, size_t max,
			 struct lm_root_paths *res)
{
	size_t i, q;

	res->paths = calloc(max ? max : 1, sizeof(*res->paths));
	if (!res->paths)
		return -LM_ENOMEM;
	for (i = 0; i < b->ndirect && res->npaths < max; i++)
		if (make_path(g, b, NO_PARENT, 0, &b->direct[i], &res->paths[res->npaths]) == 0)
			res->npaths++;
	for (q = 0; q < b->queue.n && res->npaths < max; q++) {
		uint32_t n = b->queue.v[q];
		uint64_t v;
		if (n == b->target || pointer_offset(g, n, b->target, &v) < 0)
			continue;
		if (is_ancestor(b, b->target, n, g->nchunks))
			continue;
		if (make_path(g, b, n, v, NULL, &res->paths[res->npaths]) == 0)
			res->npaths++;
	}
	return 0;
}

int lm_refgraph_roots(struct lm_refgraph *g, size_t target, size_t max_paths,
		      struct lm_root_paths **out, struct lm_err *err)
{
	struct lm_root_paths *res;
	struct bfs b = { 0 };
	size_t i;
	int rc = 0;

	*out = NULL;
	if (target >= g->nchunks || !(g->state[target] & (ST_NODE | ST_INTERNAL)))
		return lm_err_set(err, LM_ENOTFOUND, "chunk #%zu is not a live allocation", target);
	res = calloc(1, sizeof(*res));
	if (!res)
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	res->target = target;
	if (g->state[target] & ST_INTERNAL) {
		/* malloc's own: the thread's `tcache` TLS variable holds it */
		res->leak_state = LM_LEAK_INTERNAL;
		*out = res;
		return 0;
	}
	b.target = (uint32_t)target;
	b.max_direct = max_paths;
	/* a parent per chunk, and at worst every chunk in the queue; given
	 * back when the search ends */
	rc = reserve(g, (uint64_t)g->nchunks * 2 * sizeof(*b.parent), "the search for roots", err);
	if (rc < 0) {
		lm_root_paths_free(res);
		return rc;
	}
	g->reserved -= (uint64_t)g->nchunks * 2 * sizeof(*b.parent);
	b.parent = malloc(g->nchunks * sizeof(*b.parent));
	b.direct = calloc(max_paths ? max_paths : 1, sizeof(*b.direct));
	if (!b.parent || !b.direct)
		goto oom;
	for (i = 0; i < g->nchunks; i++)
		b.parent[i] = NO_PARENT;
	if (bfs_run(g, &b) < 0)
		goto oom;
	res->reachable = b.parent[target] != NO_PARENT;
	if (res->reachable) {
		if (collect_paths(g, &b, max_paths, res) < 0)
			goto oom;
	} else {
		struct lm_leaks *l = NULL;
		if (lm_refgraph_leaks(g, &l, err) < 0) {
			rc = -err->code;
			goto out;
		}
		lm_leaks_free(l);
		res->leak_state = lm_refgraph_leak_state(g, target);
	}
	goto out;
oom:
	rc = lm_err_set(err, LM_ENOMEM, "out of memory searching the roots of %zu chunks",
			g->nchunks);
out:
	free(b.parent);
	free(b.queue.v);
	free(b.refs);
	free(b.direct);
	if (rc < 0) {
		lm_root_paths_free(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* ---- 6. one tree for many targets ---- */

/* The BFS of lm_refgraph_roots without a target: its parent links are the
 * same for every target (root words first, then chunks in queue order), so
 * following them from any chunk gives the very chain lm_refgraph_roots(.., 1)
 * would, for one walk instead of one per target. */
struct lm_reach_tree {
	struct bfs b;		/* parent per chunk and the root refs; no queue kept */
};

int lm_reach_tree_new(struct lm_refgraph *g, struct lm_reach_tree **out, struct lm_err *err)
{
	struct lm_reach_tree *t;
	size_t i;
	int rc;

	*out = NULL;
	/* a parent per chunk, kept with the tree, and the walk's queue */
	rc = reserve(g, (uint64_t)g->nchunks * 2 * sizeof(uint32_t), "the tree of roots", err);
	if (rc < 0)
		return rc;
	g->reserved -= (uint64_t)g->nchunks * sizeof(uint32_t);
	t = calloc(1, sizeof(*t));
	if (!t || !(t->b.parent = malloc(g->nchunks * sizeof(*t->b.parent))))
		goto oom;
	t->b.target = NO_PARENT;	/* no chunk is the target: record no direct root */
	for (i = 0; i < g->nchunks; i++)
		t->b.parent[i] = NO_PARENT;
	if (bfs_run(g, &t->b) < 0)
		goto oom;
	/* the queue was only the walk's order; the parents are the tree */
	free(t->b.queue.v);
	t->b.queue.v = NULL;
	*out = t;
	return 0;
oom:
	lm_reach_tree_free(t);
	return lm_err_set(err, LM_ENOMEM, "out of memory walking the roots of %zu chunks",
			  g->nchunks);
}

void lm_reach_tree_free(struct lm_reach_tree *t)
{
	if (!t)
		return;
	free(t->b.parent);
	free(t->b.queue.v);
	free(t->b.refs);
	free(t);
}

/* The tree's chain to target: the root word that reached it, or its parent
 * chunk through the first word pointing into it, as collect_paths picks. */
static int tree_path(struct lm_refgraph *g, const struct lm_reach_tree *t, uint32_t target,
		     struct lm_root_paths *res)
{
	struct bfs b = t->b;	/* make_path reads the target from the walk */
	uint32_t holder = b.parent[target];
	uint64_t v = 0;

	b.target = target;
	if (!(res->paths = calloc(1, sizeof(*res->paths))))
		return -LM_ENOMEM;
	if (holder == ROOT_PARENT) {
		const struct root_ref *rr = find_root_ref(&b, target);
		if (rr && make_path(g, &b, NO_PARENT, 0, rr, &res->paths[0]) == 0)
			res->npaths = 1;
	} else if (pointer_offset(g, holder, target, &v) >= 0 &&
		   make_path(g, &b, holder, v, NULL, &res->paths[0]) == 0) {
		res->npaths = 1;
	}
	return 0;
}

int lm_reach_tree_path(struct lm_refgraph *g, const struct lm_reach_tree *t, size_t target,
		       struct lm_root_paths **out, struct lm_err *err)
{
	struct lm_root_paths *res;

	*out = NULL;
	if (target >= g->nchunks || !(g->state[target] & (ST_NODE | ST_INTERNAL)))
		return lm_err_set(err, LM_ENOTFOUND, "chunk #%zu is not a live allocation", target);
	if (!(res = calloc(1, sizeof(*res))))
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	res->target = target;
	if (g->state[target] & ST_INTERNAL)
		res->leak_state = LM_LEAK_INTERNAL;	/* as lm_refgraph_roots says */
	res->reachable = t->b.parent[target] != NO_PARENT;
	if (res->reachable && tree_path(g, t, (uint32_t)target, res) < 0) {
		lm_root_paths_free(res);
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	}
	*out = res;
	return 0;
}

void lm_root_paths_free(struct lm_root_paths *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->npaths; i++)
		free(r->paths[i].steps);
	free(r->paths);
	free(r);
}
