/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - one snapshot end to end.
 *
 * 1. Open a memory source: a core file, or a live process captured while
 *    stopped (stopped-live copy, or a frozen copy-on-write clone). Either
 *    way the target is running again before any analysis starts.
 * 2. Load the modules' symbols (for class and symbol types), through the
 *    caller's symbol cache when it has one (the daemon: one per process).
 * 3. Walk the glibc heap; classify every live chunk; add it to its type.
 *
 * The census keeps only counts, bytes and type names: never memory contents.
 * lm_snapshot_open() keeps the source and every chunk for the drill-down
 * commands, which need addresses and the bytes behind them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proc.h"
#include "pymalloc.h"
#include "snapshot_impl.h"

/* An arena lock held at the stop means malloc was mid-update: the state
 * is not trustworthy, so take the snapshot again (a few times at most;
 * the last time the walk goes on and flags the census partial). */
#define BUSY_RETRIES 3
#define DEFAULT_AUTO_COPY_BYTES (256ULL << 20)
/* A frozen copy may at worst duplicate every page the target writes while
 * it lives: refuse it unless the cgroup has the target's RSS to spare, and
 * kill it after this long whatever the analysis is doing. */
#define COPY_MAX_LIFETIME_NS (30ULL * 1000000000ULL)
/* How much of a frozen copy is in our memory at once: it is read on demand
 * (memsrc_window.h), so a census costs this much, not the heap's size. */
#define COPY_WINDOW_BYTES (64ULL << 20)

static const char *source_name(int kind)
{
	switch (kind) {
	case LM_SRC_COPY: return "copy";
	case LM_SRC_CORE: return "core";
	default: return "live";
	}
}

/* The tighter of two limits, 0 meaning none. */
static uint64_t tighter(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* A whole capture, live or of a copy, holds every byte it copies: it may
 * use max_memory, less what the rest of the snapshot needs (a window's
 * worth, kept for the chunk arrays and symbols). */
static uint64_t capture_limit(const struct lm_snapshot_opts *opts)
{
	uint64_t mem = opts->max_memory_bytes;

	if (mem)
		mem = mem > 2 * COPY_WINDOW_BYTES ? mem - COPY_WINDOW_BYTES : mem / 2;
	return tighter(opts->max_capture_bytes, mem);
}

static int open_live(const struct lm_snapshot_opts *opts, struct lm_memsrc **src,
		     struct lm_err *err)
{
	struct lm_live_opts lo = {
		.max_capture_bytes = capture_limit(opts),
		.max_pause_ns = opts->max_pause_ns,
	};
	int rc = lm_memsrc_open_live(opts->pid, &lo, src, err);

	if (rc == -LM_ELIMIT && err && strstr(err->msg, "capture limit")) {
		size_t n = strlen(err->msg);
		if (opts->max_memory_bytes && lo.max_capture_bytes != opts->max_capture_bytes)
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 " (max-memory %llu MiB, less room for the analysis): the live "
				 "source holds all of it; use the copy mode (--mode copy, "
				 "snapshot_mode = copy): it pauses the target for milliseconds "
				 "and reads the copy through a bounded window",
				 (unsigned long long)(opts->max_memory_bytes >> 20));
		else
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 "; raise the limit or use the copy mode");
	}
	return rc;
}

/* The window on a frozen copy: at most a quarter of max_memory. */
static uint64_t window_bytes(const struct lm_snapshot_opts *opts)
{
	uint64_t quarter = opts->max_memory_bytes / 4;

	return opts->max_memory_bytes && quarter < COPY_WINDOW_BYTES ? quarter
								     : COPY_WINDOW_BYTES;
}

/* Should LM_MODE_AUTO use a frozen copy? Only for large targets: for a
 * small heap the stopped-live copy is as short as the clone itself. */
static int auto_wants_copy(const struct lm_snapshot_opts *opts)
{
	struct lm_proc_status st;
	uint64_t threshold = opts->auto_copy_bytes ? opts->auto_copy_bytes
						   : DEFAULT_AUTO_COPY_BYTES;

	/* A target too big for a live capture within max_memory is copied
	 * (its writable memory is at most about its RSS). */
	threshold = tighter(threshold, capture_limit(opts));
	if (lm_proc_status(opts->pid, &st, NULL) < 0)
		return 0;
	return st.rss_bytes >= threshold;
}

/* Open the source the options ask for. *fallback receives a sentence when a
 * frozen copy was asked for but the stopped-live source had to be used. */
static int open_source(const struct lm_snapshot_opts *opts, struct lm_memsrc **src,
		       char *fallback, size_t fallback_len, struct lm_err *err)
{
	struct lm_copy_opts co = {
		.max_capture_bytes = capture_limit(opts),
		.max_copy_lifetime_ns = COPY_MAX_LIFETIME_NS,
		.max_pause_ns = opts->max_pause_ns,
	};
	struct lm_proc_status st;
	struct lm_err cerr = { 0 };
	int want_copy, rc;

	fallback[0] = '\0';
	if (opts->core_path)
		return lm_memsrc_open_core(opts->core_path, src, err);
	if (opts->pid <= 0)
		return lm_err_set(err, LM_EINVAL, "no target: give a pid or a core file");

	want_copy = opts->mode == LM_MODE_COPY ||
		    (opts->mode == LM_MODE_AUTO && auto_wants_copy(opts));
	if (!want_copy)
		return open_live(opts, src, err);

	if (lm_proc_status(opts->pid, &st, NULL) == 0)
		co.min_headroom_bytes = st.rss_bytes;
	rc = lm_memsrc_open_copy_window(opts->pid, &co, window_bytes(opts), src, &cerr);
	if (rc == 0)
		return 0;
	/* These say something about the target, not about copying: no point
	 * in trying the live source. */
	if (rc == -LM_ENOPROC || rc == -LM_EPERM || rc == -LM_EEXITED || rc == -LM_ETIMEDOUT) {
		if (err)
			*err = cerr;
		return rc;
	}
	snprintf(fallback, fallback_len, "frozen copy not possible (%s); used the stopped-live source",
		 cerr.msg);
	return open_live(opts, src, err);
}

/* Per-type accumulators, indexed by the classifier's dense type ids. */
struct tally {
	struct lm_classifier *cls;
	uint64_t *count, *bytes;
	size_t cap;
	int oom;
	/* lm_snapshot_open only: every chunk */
	int keep;
	struct lm_chunkstore store;	/* its max_bytes: what the source left */
	struct lm_err keep_err;		/* why a chunk could not be kept */
	int keep_rc;
};

static int tally_grow(struct tally *t, size_t need)
{
	size_t cap = t->cap ? t->cap : 256;
	uint64_t *c, *b;

	while (cap <= need)
		cap *= 2;
	c = realloc(t->count, cap * sizeof(*c));
	if (!c)
		return -LM_ENOMEM;
	t->count = c;
	b = realloc(t->bytes, cap * sizeof(*b));
	if (!b)
		return -LM_ENOMEM;
	t->bytes = b;
	memset(t->count + t->cap, 0, (cap - t->cap) * sizeof(*c));
	memset(t->bytes + t->cap, 0, (cap - t->cap) * sizeof(*b));
	t->cap = cap;
	return 0;
}

static int count_chunk(void *ctx, const struct lm_chunk *c)
{
	struct tally *t = ctx;
	uint32_t id = UINT32_MAX;

	if (lm_chunk_is_live(c->state)) {
		id = lm_classify(t->cls, c);
		if (id >= t->cap && tally_grow(t, id) < 0)
			goto oom;
		t->count[id]++;
		t->bytes[id] += c->size;
	}
	if (t->keep && (t->keep_rc = lm_chunkstore_push(&t->store, c, id, &t->keep_err)) < 0)
		return 1;
	return 0;
oom:
	t->oom = 1;
	return 1;
}

/* A live pymalloc block: counted under its Python type; kept, like a free
 * one, with the chunks for drill-down. */
static int count_pyblock(void *ctx, uint64_t addr, const uint8_t *data, uint64_t size,
			 int live)
{
	struct tally *t = ctx;
	struct lm_chunk c = {
		.addr = addr, .size = size, .usable = size,
		.state = live ? LM_CHUNK_PYBLOCK : LM_CHUNK_PYFREE, .arena = 0xffff,
	};
	uint32_t id = UINT32_MAX;

	if (live) {
		id = lm_classify_pyblock(t->cls, addr, data, size);
		if (id >= t->cap && tally_grow(t, id) < 0) {
			t->oom = 1;
			return 1;
		}
		t->count[id]++;
		t->bytes[id] += size;
	}
	if (t->keep && (t->keep_rc = lm_chunkstore_push(&t->store, &c, id, &t->keep_err)) < 0)
		return 1;
	return 0;
}

/* When the target runs a CPython we read: count its pymalloc blocks, and
 * say in note (joined with "; ") what was not counted and why. */
static int walk_python(struct lm_memsrc *src, struct tally *t, struct lm_pymalloc_info *pi,
		       char *note, size_t len)
{
	struct lm_python *py = lm_classifier_python(t->cls);
	const char *why = lm_classifier_python_note(t->cls);
	struct lm_err perr = { 0 };
	size_t n = strlen(note);

	memset(pi, 0, sizeof(*pi));
	if (!py) {
		if (*why && n + 3 < len)
			snprintf(note + n, len - n, "%s%s", n ? "; " : "", why);
		return 0;
	}
	if (lm_pymalloc_walk(src, py, t->keep, pi, count_pyblock, t, &perr) < 0) {
		if (perr.code == LM_ENOMEM)
			return -LM_ENOMEM;
		if (n + 3 < len)
			snprintf(note + n, len - n, "%s%s: small Python objects not counted",
				 n ? "; " : "", perr.msg);
		return 0;
	}
	if (pi->warning[0] && n + 3 < len)
		snprintf(note + n, len - n, "%s%s (%zu pools skipped, %zu caught mid-update)",
			 n ? "; " : "", pi->warning, pi->bad_pools, pi->mismatched_pools);
	return 0;
}

static int cmp_type_stat(const void *a, const void *b)
{
	const struct lm_type_stat *x = a, *y = b;
	int d;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	d = strcmp(x->name, y->name);
	return d;
}

static int build_types(struct lm_census *c, const struct tally *t)
{
	size_t i, n = 0, ntypes = lm_classifier_ntypes(t->cls);

	c->types = calloc(ntypes ? ntypes : 1, sizeof(*c->types));
	if (!c->types)
		return -LM_ENOMEM;
	for (i = 0; i < ntypes && i < t->cap; i++) {
		const struct lm_type *ty = lm_classifier_type(t->cls, (uint32_t)i);
		if (!t->count[i] || !ty)
			continue;
		c->types[n].kind = ty->kind;
		c->types[n].name = strdup(ty->name);
		if (!c->types[n].name)
			return -LM_ENOMEM;
		c->types[n].count = t->count[i];
		c->types[n].bytes = t->bytes[i];
		n++;
	}
	c->ntypes = n;
	qsort(c->types, n, sizeof(*c->types), cmp_type_stat);
	return 0;
}

static void fill_totals(struct lm_census *c, const struct lm_heap_info *h,
			const struct lm_pymalloc_info *pi, const struct lm_memsrc *src)
{
	c->totals.inuse_count = h->inuse_count + pi->blocks;
	c->totals.inuse_bytes = h->inuse_bytes + pi->bytes;
	c->totals.py_blocks = pi->blocks;
	c->totals.py_bytes = pi->bytes;
	c->totals.free_count = h->free_count;
	c->totals.free_bytes = h->free_bytes;
	c->totals.mmapped_count = h->mmapped_count;
	c->totals.mmapped_bytes = h->mmapped_bytes;
	c->totals.top_bytes = h->top_bytes;
	c->totals.arenas = h->narenas;
	c->totals.rss_bytes = src->rss_bytes;
	c->totals.owned_bytes = src->owned_bytes;
}

/* Append to the modules' note how many chunks were typed by size because
 * they point at more distinct symbols than a census keeps types for. */
static void note_folded(const struct lm_classifier *cls, char *note, size_t len)
{
	unsigned long long folded = (unsigned long long)lm_classifier_folded(cls);
	size_t n = strlen(note);

	if (folded && n + 3 < len)
		snprintf(note + n, len - n, "%s%llu allocations typed by size or text: they point at "
			 "more than %d distinct symbols, the types one census keeps", n ? "; " : "",
			 folded, LM_CLASSIFY_MAX_NAMED_TYPES);
}

/* The census warning: the non-empty ones of a, b, d joined by "; ". */
static int set_warning(struct lm_census *c, const char *a, const char *b, const char *d)
{
	const char *part[3] = { a, b, d };
	size_t len = 1, at = 0, i;

	for (i = 0; i < 3; i++)
		len += strlen(part[i]) + 2;
	if (!*a && !*b && !*d)
		return 0;
	c->warning = malloc(len);
	if (!c->warning)
		return -LM_ENOMEM;
	for (i = 0; i < 3; i++)
		if (*part[i])
			at += (size_t)snprintf(c->warning + at, len - at, "%s%s", at ? "; " : "",
					       part[i]);
	return 0;
}

static struct lm_census *census_new(const struct lm_memsrc *src)
{
	struct lm_census *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->pid = src->pid;
	c->exe = src->exe ? strdup(src->exe) : NULL;
	c->source = source_name(src->kind);
	c->taken_at_us = src->taken_at_us;
	c->pause_us = src->pause_ns / 1000;
	return c;
}

/* One snapshot as it is taken: what the caller asks, the tally it fills,
 * and what a successful run leaves open for the caller, who then owns it. */
struct run {
	const struct lm_snapshot_opts *opts;
	struct tally *t;		/* counts per type; the chunks when t->keep */
	struct lm_heap_info *heap;	/* the walker's findings (caller's storage) */
	int last_attempt;		/* walk a locked arena anyway (flagged partial) */
	char fallback[LM_ERRMSG_MAX + 64];	/* why the mode fell back, or "" */
	/* set by a successful run */
	struct lm_memsrc *src;
	struct lm_symtab *syms;
	struct lm_classifier *cls;
	struct lm_census *census;
};

/* Walk and classify r->src into a census (and, when t->keep, keep every
 * chunk). */
static int analyse(struct run *r, struct lm_err *err)
{
	struct lm_memsrc *src = r->src;
	const struct lm_snapshot_opts *opts = r->opts;
	struct lm_heap_info *heap = r->heap;
	struct tally *t = r->t;
	/* A census classifies by data symbols alone; the drill-down names
	 * stack frames and function pointers too. */
	struct lm_symtab_opts so = { .debug_root = opts->debug_root, .data_only = !t->keep,
				     .keep_funcs = lm_glibc_heap_funcs };
	/* The last attempt walks a locked arena anyway: a process deadlocked
	 * inside malloc still gets a census, flagged partial. */
	struct lm_walk_opts wo = {
		.include_free = t->keep,
		.allow_locked = r->last_attempt,
	};
	struct lm_symtab *syms = NULL;
	struct lm_census *c = NULL;
	uint64_t t0 = lm_now_ns();
	char unread[4 * LM_ERRMSG_MAX];	/* modules without symbols, and why */
	struct lm_pymalloc_info pi;
	int rc;

	rc = opts->symcache ? lm_symcache_load(opts->symcache, src, &so, &syms, err)
			    : lm_symtab_load(src, &so, &syms, err);
	if (rc < 0)
		return rc;
	lm_symtab_unreadable(syms, unread, sizeof(unread));
	rc = lm_classifier_new(src, syms, &t->cls, err);
	if (rc < 0)
		goto fail;
	memset(heap, 0, sizeof(*heap));
	if (opts->max_memory_bytes) {
		/* What the source left goes to the walker's set of free chunks
		 * (while it walks) and the chunks kept for drill-down: a quarter
		 * and the rest when both live at once. */
		uint64_t held = lm_memsrc_held_bytes(src);
		uint64_t left = held < opts->max_memory_bytes ? opts->max_memory_bytes - held : 4;

		wo.max_set_bytes = t->keep ? left / 4 : left;
		if (t->keep)
			t->store.max_bytes = left - left / 4;
	}
	rc = lm_glibc_walk(src, syms, &wo, heap, count_chunk, t, err);
	/* A source read on demand may have lost its process meanwhile: what
	 * the walk saw then (zeros: a corrupt heap) is not the target's. */
	if (lm_memsrc_check(src, NULL) < 0) {
		rc = lm_memsrc_check(src, err);
		goto fail;
	}
	if (t->store.over) {
		rc = lm_err_set(err, LM_ELIMIT,
				"the heap of pid %d has more than %zu chunks: keeping them all "
				"for this command needs more than max-memory (%llu MiB); raise "
				"--max-memory", (int)src->pid, t->store.n,
				(unsigned long long)(opts->max_memory_bytes >> 20));
		goto fail;
	}
	if (t->keep_rc < 0) {
		rc = t->keep_rc;
		if (err)
			*err = t->keep_err;
		goto fail;
	}
	if (t->oom) {
		rc = lm_err_set(err, LM_ENOMEM, "out of memory while classifying the heap");
		goto fail;
	}
	if (rc < 0)
		goto fail;
	if (walk_python(src, t, &pi, unread, sizeof(unread)) < 0 || t->oom) {
		rc = lm_err_set(err, LM_ENOMEM, "out of memory while classifying Python objects");
		goto fail;
	}
	if (t->keep_rc < 0) {
		rc = t->keep_rc;
		if (err)
			*err = t->keep_err;
		goto fail;
	}
	if (lm_memsrc_check(src, NULL) < 0) {
		rc = lm_memsrc_check(src, err);
		goto fail;
	}
	note_folded(t->cls, unread, sizeof(unread));
	c = census_new(src);
	if (!c || build_types(c, t) < 0 ||
	    set_warning(c, r->fallback, heap->partial || !heap->layout_verified ? heap->warning : "",
			unread) < 0) {
		rc = lm_err_set(err, LM_ENOMEM, "out of memory while building the census");
		goto fail;
	}
	memcpy(c->glibc, heap->glibc_version, sizeof(c->glibc));
	c->glibc[sizeof(c->glibc) - 1] = '\0';
	c->partial = heap->partial || pi.partial;
	fill_totals(c, heap, &pi, src);
	c->walk_us = (lm_now_ns() - t0) / 1000;
	r->census = c;
	r->syms = syms;
	r->cls = t->cls;
	return 0;
fail:
	lm_census_free(c);
	lm_classifier_free(t->cls);
	t->cls = NULL;
	lm_symtab_free(syms);
	return rc;
}

/* Open a source and analyse it, retrying when an arena was locked. */
static int snapshot_run(struct run *r, struct lm_err *err)
{
	struct tally *t = r->t;
	int attempt, rc = 0;

	for (attempt = 0; attempt <= BUSY_RETRIES; attempt++) {
		rc = open_source(r->opts, &r->src, r->fallback, sizeof(r->fallback), err);
		if (rc < 0)
			return rc;
		r->last_attempt = attempt == BUSY_RETRIES;
		rc = analyse(r, err);
		if (rc == 0)
			return 0;
		lm_memsrc_close(r->src);
		r->src = NULL;
		lm_chunkstore_clear(&t->store);
		t->keep_rc = 0;
		if (t->cap) {
			memset(t->count, 0, t->cap * sizeof(*t->count));
			memset(t->bytes, 0, t->cap * sizeof(*t->bytes));
		}
		if (rc != -LM_EBUSY || r->opts->core_path)
			break;
	}
	return rc;
}

static void tally_free(struct tally *t)
{
	free(t->count);
	free(t->bytes);
	lm_chunkstore_free(&t->store);
}

int lm_snapshot_census(const struct lm_snapshot_opts *opts, struct lm_census **out,
		       struct lm_err *err)
{
	struct tally t = { .keep = 0 };
	struct run r = { .opts = opts, .t = &t, .heap = calloc(1, sizeof(*r.heap)) };
	int rc;

	*out = NULL;
	if (!r.heap)
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	rc = snapshot_run(&r, err);
	if (rc == 0) {
		*out = r.census;
		lm_classifier_free(r.cls);
		lm_symtab_free(r.syms);
		lm_memsrc_close(r.src);
	}
	tally_free(&t);
	free(r.heap);
	return rc;
}

void lm_census_free(struct lm_census *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->ntypes; i++)
		free(c->types[i].name);
	free(c->types);
	free(c->exe);
	free(c->warning);
	free(c);
}

int lm_snapshot_open(const struct lm_snapshot_opts *opts, struct lm_snapshot **out,
		     struct lm_err *err)
{
	struct lm_snapshot *snap = calloc(1, sizeof(*snap));
	struct tally t = { .keep = 1 };
	struct run r = { .opts = opts, .t = &t, .heap = snap ? &snap->heap : NULL };
	int rc;

	*out = NULL;
	if (!snap)
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	rc = snapshot_run(&r, err);
	if (rc == 0) {
		snap->src = r.src;
		snap->syms = r.syms;
		snap->cls = r.cls;
		snap->census = r.census;
	}
	/* Chunks come per heap in address order, heaps in any order. */
	if (rc == 0)
		rc = lm_chunkstore_finish(&t.store, err);
	snap->chunks = t.store;
	snap->chunk_type = t.store.type;
	snap->nchunks = t.store.n;
	snap->max_memory_bytes = opts->max_memory_bytes;
	memset(&t.store, 0, sizeof(t.store));
	tally_free(&t);
	if (rc < 0) {
		lm_snapshot_close(snap);
		return rc;
	}
	*out = snap;
	return 0;
}

uint64_t lm_snapshot_held_bytes(const struct lm_snapshot *snap)
{
	return (snap->src ? lm_memsrc_held_bytes(snap->src) : 0) + lm_chunkstore_bytes(&snap->chunks);
}

void lm_snapshot_close(struct lm_snapshot *snap)
{
	if (!snap)
		return;
	lm_census_free(snap->census);
	lm_chunkstore_free(&snap->chunks);
	lm_classifier_free(snap->cls);
	lm_symtab_free(snap->syms);
	lm_memsrc_close(snap->src);
	free(snap);
}

ptrdiff_t lm_snapshot_find_chunk(const struct lm_snapshot *snap, uint64_t addr)
{
	size_t lo = 0, hi = snap->nchunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (lm_chunkstore_addr(&snap->chunks, mid) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	lo--;
	if (addr - lm_chunkstore_addr(&snap->chunks, lo) >= lm_chunkstore_size(&snap->chunks, lo))
		return -1;
	/* a chunk's prev_size field is the last usable word of the live
	 * allocation before it */
	if (lo > 0 && addr - lm_chunkstore_addr(&snap->chunks, lo) < 8 &&
	    lm_chunk_is_live(lm_chunkstore_state(&snap->chunks, lo - 1)) &&
	    addr - lm_chunkstore_user(&snap->chunks, lo - 1) < lm_chunkstore_usable(&snap->chunks, lo - 1))
		return (ptrdiff_t)(lo - 1);
	return (ptrdiff_t)lo;
}

const struct lm_chunk *lm_snapshot_chunk(const struct lm_snapshot *snap, size_t i,
					 struct lm_chunk *buf)
{
	return lm_chunkstore_get(&snap->chunks, i, buf);
}

int lm_snapshot_chunk_state(const struct lm_snapshot *snap, size_t i)
{
	return lm_chunkstore_state(&snap->chunks, i);
}

uint64_t lm_snapshot_chunk_addr(const struct lm_snapshot *snap, size_t i)
{
	return lm_chunkstore_addr(&snap->chunks, i);
}

uint32_t lm_snapshot_chunk_type(const struct lm_snapshot *snap, size_t i)
{
	return snap->chunk_type ? snap->chunk_type[i] : UINT32_MAX;
}

size_t lm_snapshot_nchunks(const struct lm_snapshot *snap)
{
	return snap->nchunks;
}

struct lm_memsrc *lm_snapshot_source(const struct lm_snapshot *snap)
{
	return snap->src;
}

struct lm_symtab *lm_snapshot_symtab(const struct lm_snapshot *snap)
{
	return snap->syms;
}

struct lm_classifier *lm_snapshot_classifier(const struct lm_snapshot *snap)
{
	return snap->cls;
}

const struct lm_heap_info *lm_snapshot_heap(const struct lm_snapshot *snap)
{
	return &snap->heap;
}

const struct lm_census *lm_snapshot_result(const struct lm_snapshot *snap)
{
	return snap->census;
}
