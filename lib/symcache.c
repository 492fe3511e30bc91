/* SPDX-License-Identifier: MIT */
/*
 * symcache.c - symbol tables kept across censuses of one process
 * (implements symcache.h).
 *
 * The cache remembers, for each module of the last load in address order,
 * what identifies it (its lowest mapping's start, offset and path, the file
 * the memory source opened for it) and its parsed file (a part, see
 * symbols_part.h), plus the table built from them. A load groups the
 * current mappings into modules as lm_symtab_load() does, opens each
 * module's file as it does (so both read the same file: the mapped one
 * through map_files when allowed, else whatever the path names now), and
 * compares. Opening and fstat()ing a file costs microseconds; parsing and
 * demangling it, milliseconds.
 *
 * Files that could not be opened are never cached: they are tried again at
 * the next load, like lm_symtab_load() would.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "mapfile.h"
#include "symbols_part.h"
#include "symcache.h"

enum entry_state { ENT_UNREADABLE, ENT_NOT_ELF, ENT_MODULE };

/* One module of the last load. */
struct entry {
	char *path;			/* of its lowest mapping */
	uint64_t start, offset;		/* of its lowest mapping */
	uint64_t hi;			/* end of its span */
	int state;			/* enum entry_state */
	int reused;			/* kept by the load in progress */
	struct lm_file_id file;		/* the file that was opened for it */
	struct lm_modpart *part;	/* ENT_MODULE: held */
	char *why;			/* ENT_UNREADABLE: why its file was not opened */
};

struct lm_symcache {
	unsigned refs;
	int have_root;			/* debug_root below is the one loaded with */
	char *debug_root;		/* NULL: the default */
	int have_kind;			/* the kind below is that of the first load */
	int data_only;			/* the kind of table it keeps (symbols.h) */
	const char *const *keep_funcs;
	struct entry *v;		/* by start */
	size_t n;
	struct lm_symtab *last;		/* built from v; held */
	struct lm_symcache_stats stats;
};

static void entries_free(struct entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].why);
		lm_modpart_put(v[i].part);
	}
	free(v);
}

static void cache_clear(struct lm_symcache *c)
{
	entries_free(c->v, c->n);
	c->v = NULL;
	c->n = 0;
	lm_symtab_free(c->last);
	c->last = NULL;
}

int lm_symcache_new(struct lm_symcache **out, struct lm_err *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return lm_err_set(err, LM_ENOMEM, "out of memory creating a symbol cache");
	(*out)->refs = 1;
	return 0;
}

struct lm_symcache *lm_symcache_hold(struct lm_symcache *c)
{
	c->refs++;
	return c;
}

void lm_symcache_free(struct lm_symcache *c)
{
	if (!c || --c->refs > 0)
		return;
	cache_clear(c);
	free(c->debug_root);
	free(c);
}

void lm_symcache_stats(const struct lm_symcache *c, struct lm_symcache_stats *out)
{
	*out = c->stats;
}

/* ---------- parsed files shared between caches ---------- */

/* A part some cache parsed, with what identifies the module it was parsed
 * for. The pool holds one reference to each part and drops the parts that
 * nobody else holds when a load begins. */
struct pooled {
	struct lm_file_id file;
	uint64_t start, offset;
	char *path;
	char *debug_root;	/* NULL: the default */
	int data_only;		/* the kind of part (symbols.h) */
	const char *const *keep_funcs;
	struct lm_modpart *part;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pooled *pool;
static size_t npool, cap_pool;
/* Tables built from pooled parts, under pool_lock too: processes laid out
 * alike (a server's forked workers) get the same table, not one copy each.
 * Each holds one reference, dropped at a load when nobody else holds it. */
static struct lm_symtab **tpool;
static size_t ntpool, cap_tpool;

static int pool_enabled(void)
{
	const char *v = getenv("LEAKMON_SHARED_SYMBOLS");
	return !v || strcmp(v, "0") != 0;
}

static int same_root(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void pool_prune(void)
{
	size_t i, o = 0;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < ntpool; i++) {	/* first: they hold parts */
		if (lm_symtab_refs(tpool[i]) == 1)
			lm_symtab_free(tpool[i]);
		else
			tpool[o++] = tpool[i];
	}
	ntpool = o;
	o = 0;
	for (i = 0; i < npool; i++) {
		/* 1: only the pool holds it, and only the pool (under the lock)
		 * could hand it out again */
		if (lm_modpart_refs(pool[i].part) == 1) {
			lm_modpart_put(pool[i].part);
			free(pool[i].path);
			free(pool[i].debug_root);
			continue;
		}
		pool[o++] = pool[i];
	}
	npool = o;
	pthread_mutex_unlock(&pool_lock);
}

static int debug_unchanged(const struct lm_symcache *c, const struct lm_modpart *p);

/* A part parsed by some cache for the module of e, held, or NULL. */
static struct lm_modpart *pool_find(const struct lm_symcache *c, const struct entry *e)
{
	struct lm_modpart *p = NULL;
	size_t i;

	if (!e->file.present || !pool_enabled())
		return NULL;
	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < npool && !p; i++) {
		const struct pooled *x = &pool[i];
		if (x->start == e->start && x->offset == e->offset &&
		    strcmp(x->path, e->path) == 0 && lm_file_id_equal(&x->file, &e->file) &&
		    same_root(x->debug_root, c->debug_root) && x->data_only == c->data_only &&
		    x->keep_funcs == c->keep_funcs && debug_unchanged(c, x->part))
			p = lm_modpart_hold(x->part);
	}
	pthread_mutex_unlock(&pool_lock);
	return p;
}

/* Offer the part just parsed for e to the other caches (nothing happens
 * when memory is short: it is only not shared). */
static void pool_add(const struct lm_symcache *c, const struct entry *e)
{
	struct pooled x = { e->file, e->start, e->offset, NULL, NULL, c->data_only,
			    c->keep_funcs, e->part };

	if (!e->file.present || !pool_enabled())
		return;
	x.path = strdup(e->path);
	x.debug_root = c->debug_root ? strdup(c->debug_root) : NULL;
	if (!x.path || (c->debug_root && !x.debug_root))
		goto fail;
	pthread_mutex_lock(&pool_lock);
	if (npool == cap_pool) {
		size_t cap = cap_pool ? 2 * cap_pool : 64;
		struct pooled *v = realloc(pool, cap * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&pool_lock);
			goto fail;
		}
		pool = v;
		cap_pool = cap;
	}
	x.part = lm_modpart_hold(e->part);
	pool[npool++] = x;
	pthread_mutex_unlock(&pool_lock);
	return;
fail:
	free(x.path);
	free(x.debug_root);
}

/* A table some cache built from these parts at these places, held, or NULL. */
static struct lm_symtab *tpool_find(struct lm_modpart *const *parts,
				    const struct lm_modspan *spans, size_t n)
{
	struct lm_symtab *t = NULL;
	size_t i;

	if (!pool_enabled())
		return NULL;
	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < ntpool && !t; i++)
		if (lm_symtab_built_from(tpool[i], parts, spans, n))
			t = lm_symtab_hold(tpool[i]);
	pthread_mutex_unlock(&pool_lock);
	return t;
}

/* Offer a table just built to the other caches (when memory is short it is
 * only not shared). */
static void tpool_add(struct lm_symtab *t)
{
	if (!pool_enabled())
		return;
	pthread_mutex_lock(&pool_lock);
	if (ntpool == cap_tpool) {
		size_t cap = cap_tpool ? 2 * cap_tpool : 16;
		struct lm_symtab **v = realloc(tpool, cap * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&pool_lock);
			return;
		}
		tpool = v;
		cap_tpool = cap;
	}
	tpool[ntpool++] = lm_symtab_hold(t);
	pthread_mutex_unlock(&pool_lock);
}

/* Parts read with another debug root may hold other debug files' symbols.
 * 0, or -LM_ENOMEM. */
static int use_root(struct lm_symcache *c, const char *root)
{
	char *copy = NULL;

	if (c->have_root && (root == c->debug_root ||
			     (root && c->debug_root && strcmp(root, c->debug_root) == 0)))
		return 0;
	if (root && !(copy = strdup(root)))
		return -LM_ENOMEM;
	cache_clear(c);
	free(c->debug_root);
	c->debug_root = copy;
	c->have_root = 1;
	return 0;
}

/* 1 when a load with opts wants the kind of table the cache keeps (the
 * kind of its first load), 0 when it wants the other kind. */
static int same_kind(struct lm_symcache *c, const struct lm_symtab_opts *opts)
{
	int data_only = opts && opts->data_only;
	const char *const *keep = data_only ? opts->keep_funcs : NULL;

	if (!c->have_kind) {
		c->have_kind = 1;
		c->data_only = data_only;
		c->keep_funcs = keep;
	}
	return c->data_only == data_only && c->keep_funcs == keep;
}

/* The entry of the last load whose module started at start, or NULL. */
static struct entry *find_old(struct lm_symcache *c, uint64_t start)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->v[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->v[lo].start == start ? &c->v[lo] : NULL;
}

/* Would its debug file be read as it was? (installed, removed, replaced) */
static int debug_unchanged(const struct lm_symcache *c, const struct lm_modpart *p)
{
	struct lm_file_id now;

	if (lm_modpart_debug_id_now(p, c->debug_root, &now) < 0)
		return 1;	/* none was looked for, none would be */
	return lm_file_id_equal(&now, lm_modpart_debug_id(p));
}

static int still_valid(const struct lm_symcache *c, const struct entry *old,
		       const struct entry *e)
{
	return old->state != ENT_UNREADABLE && !old->reused && old->offset == e->offset &&
	       strcmp(old->path, e->path) == 0 && lm_file_id_equal(&old->file, &e->file) &&
	       (old->state == ENT_NOT_ELF || debug_unchanged(c, old->part));
}

/* Fill e for span from the last load's entry when still valid, else from
 * the file. *old_out: the entry reused, or NULL. 0, or -LM_ENOMEM. */
static int entry_for(struct lm_symcache *c, const struct lm_memsrc *src,
		     const struct lm_modspan *span, struct entry *e, struct entry **old_out)
{
	struct lm_err err;
	struct entry *old;
	int fd, rc;

	*old_out = NULL;
	e->start = span->low->start;
	e->offset = span->low->offset;
	e->hi = span->hi;
	if (!(e->path = strdup(span->low->path)))
		return -LM_ENOMEM;
	fd = lm_memsrc_open_mapping_file(src, span->low, &err);
	if (fd < 0)	/* ENT_UNREADABLE: skipped, as lm_symtab_load does */
		return (e->why = strdup(err.msg)) ? 0 : -LM_ENOMEM;
	lm_file_id_of(fd, &e->file);
	old = find_old(c, e->start);
	if (old && still_valid(c, old, e)) {
		close(fd);
		old->reused = 1;
		e->state = old->state;
		e->part = old->part ? lm_modpart_hold(old->part) : NULL;
		c->stats.modules_reused++;
		*old_out = old;
		return 0;
	}
	if ((e->part = pool_find(c, e)) != NULL) {
		close(fd);
		e->state = ENT_MODULE;
		c->stats.modules_shared++;
		return 0;
	}
	rc = lm_modpart_load(fd, span->low, &(struct lm_symtab_opts){ c->debug_root,
			     c->data_only, c->keep_funcs }, &e->part);
	close(fd);
	if (rc < 0)
		return rc;
	e->state = rc ? ENT_MODULE : ENT_NOT_ELF;
	c->stats.modules_parsed++;
	if (e->part)
		pool_add(c, e);
	return 0;
}

/* The entries of the current modules; *same: the last table still fits
 * (the same modules, all reused, with the same spans). 0, or -LM_ENOMEM. */
static int fill_entries(struct lm_symcache *c, const struct lm_memsrc *src,
			const struct lm_modspan *spans, size_t n, struct entry *v, int *same)
{
	size_t i;

	*same = c->last != NULL && n == c->n;
	for (i = 0; i < c->n; i++)
		c->v[i].reused = 0;
	for (i = 0; i < n; i++) {
		struct entry *old;
		int rc = entry_for(c, src, &spans[i], &v[i], &old);
		if (rc < 0)
			return rc;
		if (!old || old != &c->v[i] || old->hi != v[i].hi)
			*same = 0;
	}
	return 0;
}

/* A table for the entries v (a new one unless the last one fits). 0, or
 * -LM_ENOMEM. */
static int table_for(struct lm_symcache *c, const struct lm_modspan *spans, struct entry *v,
		     size_t n, int same, struct lm_symtab **out)
{
	struct lm_modpart **parts;
	size_t i;
	int rc = 0, unread = 0;

	if (same) {
		c->stats.tables_reused++;
		*out = lm_symtab_hold(c->last);
		return 0;
	}
	parts = calloc(n + 1, sizeof(*parts));
	if (!parts)
		return -LM_ENOMEM;
	for (i = 0; i < n; i++) {
		parts[i] = v[i].part;
		unread |= v[i].why != NULL;
	}
	if (!unread && (*out = tpool_find(parts, spans, n)) != NULL) {
		c->stats.tables_shared++;
	} else {
		rc = lm_symtab_assemble(parts, spans, n, out);
		for (i = 0; rc >= 0 && i < n; i++)
			if (v[i].why)
				rc = lm_symtab_note_unreadable(*out, v[i].why);
		if (rc >= 0 && !unread)
			tpool_add(*out);
	}
	free(parts);
	if (rc < 0) {
		lm_symtab_free(*out);
		*out = NULL;
		return rc;
	}
	lm_symtab_free(c->last);
	c->last = lm_symtab_hold(*out);
	return 0;
}

/* The new entries replace the old ones; what was not reused is dropped. */
static void commit_entries(struct lm_symcache *c, struct entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!c->v[i].reused && c->v[i].state != ENT_UNREADABLE)
			c->stats.modules_dropped++;
	entries_free(c->v, c->n);
	c->v = v;
	c->n = n;
}

int lm_symcache_load(struct lm_symcache *c, const struct lm_memsrc *src,
		     const struct lm_symtab_opts *opts, struct lm_symtab **out,
		     struct lm_err *err)
{
	struct lm_modspan *spans = NULL;
	struct entry *v = NULL;
	size_t n = 0;
	int rc, same;

	*out = NULL;
	if (!same_kind(c, opts))
		return lm_symtab_load(src, opts, out, err);
	if ((rc = lm_symbols_init(err)) < 0)
		return rc;
	if (use_root(c, opts ? opts->debug_root : NULL) < 0)
		goto nomem;
	if ((rc = lm_modspans(&src->maps, &spans, &n, err)) < 0)
		return rc;
	pool_prune();
	v = calloc(n + 1, sizeof(*v));
	/* Every failure below is out of memory: an unreadable module is
	 * noted in the table, not failed. */
	if (!v || fill_entries(c, src, spans, n, v, &same) < 0 ||
	    table_for(c, spans, v, n, same, out) < 0)
		goto nomem;
	commit_entries(c, v, n);
	c->stats.loads++;
	free(spans);
	return 0;
nomem:
	if (v)
		entries_free(v, n);
	free(spans);
	return lm_err_set(err, LM_ENOMEM, "out of memory loading the symbols of pid %d",
			  (int)src->pid);
}
