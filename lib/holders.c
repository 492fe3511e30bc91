/* SPDX-License-Identifier: MIT */
/*
 * holders.c - sample holder chains of a type (see holders.h).
 *
 * How it works: the type is looked up among the classifier's types (never
 * added); its live chunks are counted, then the k-th of per_type samples is
 * the chunk of rank (2k + 1) * count / (2 * per_type) in address order -
 * the middle of each of per_type equal slices, which spreads the samples
 * over old and new allocations alike. One graph and one walk from the roots
 * (lm_reach_tree: a parent link per chunk) serve every sample of every type:
 * a walk per sample cost a second per GiB of heap each. Each sample's chain
 * (the one lm_refgraph_roots would give first) is formatted into a line;
 * equal lines are counted, and the most frequent come first.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "holders.h"
#include "snapshot_impl.h"

#define MAX_ELEMS 9	/* elements of a chain line before its middle is elided */
#define ELEM_MAX 256

/* ---- labels -------------------------------------------------------------- */

const struct lm_type *lm_holders_chunk_type(const struct lm_snapshot *snap, size_t i)
{
	uint32_t t = snap->chunk_type ? snap->chunk_type[i] : UINT32_MAX;

	if (t == UINT32_MAX || t >= lm_classifier_ntypes(snap->cls))
		return NULL;
	return lm_classifier_type(snap->cls, t);
}

void lm_holders_type_label(const struct lm_type *t, char *buf, size_t len)
{
	char name[512];

	if (!t) {
		snprintf(buf, len, "-");
		return;
	}
	/* The name is the target's choice: shown escaped, in text and JSON. */
	lm_escape_str(t->name, name, sizeof(name));
	if (t->kind == LM_KIND_STRING || t->kind == LM_KIND_SIZE)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s %s", lm_kind_name(t->kind), name);
}

/* The root without addresses: refgraph names stacks without a frame and
 * other memory by their address, which says nothing across restarts and
 * is more than a payload should carry. */
static void root_label(const struct lm_snapshot *snap, const struct lm_root *r,
		       char *buf, size_t len)
{
	const struct lm_mapping *m;
	const char *base;

	switch (r->kind) {
	case LM_ROOT_STACK:
		if (r->frame >= 0)
			snprintf(buf, len, "thread %d frame #%d %s", (int)r->tid, r->frame,
				 r->function);
		else
			snprintf(buf, len, "thread %d stack", (int)r->tid);
		return;
	case LM_ROOT_MEMORY:
		m = lm_maps_find(&snap->src->maps, r->slot);
		base = m && m->path ? strrchr(m->path, '/') : NULL;
		if (m)
			snprintf(buf, len, "%s mapping +0x%" PRIx64,
				 base ? base + 1 : m->path ? m->path : "anonymous",
				 r->slot - m->start);
		else
			snprintf(buf, len, "unmapped memory");
		return;
	case LM_ROOT_GLOBAL:	/* "api!g_table+0x18 (.bss)" */
		snprintf(buf, len, "%s", r->module[0] ? r->name : "writable data of no module");
		return;
	default:	/* registers: "thread 12 rbx" */
		snprintf(buf, len, "%s", r->name);
	}
}

/* ---- one chain line ----------------------------------------------------- */

struct line {
	char elems[MAX_ELEMS + 1][ELEM_MAX];
	size_t n;		/* elements kept */
	size_t dropped;		/* elements elided before the last ones */
};

/* Keep the first half and, rolling, the last elements: the root side says
 * which global, the target side which container. */
static void push_elem(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void push_elem(struct line *l, const char *fmt, ...)
{
	const size_t head = MAX_ELEMS / 2;
	char tmp[ELEM_MAX];
	va_list ap;

	if (l->n == MAX_ELEMS) {	/* drop the oldest of the tail part */
		memmove(l->elems[head], l->elems[head + 1], (MAX_ELEMS - head - 1) * ELEM_MAX);
		l->n--;
		l->dropped++;
	}
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Function, symbol and mapping names are the target's: escaped, which
	 * also mends a UTF-8 sequence the cut above split. */
	lm_escape(tmp, strlen(tmp), l->elems[l->n++], ELEM_MAX);
}

static void append(char *buf, size_t len, size_t *at, const char *s)
{
	int r;

	if (*at >= len)
		return;
	r = snprintf(buf + *at, len - *at, "%s", s);
	*at = r < 0 ? len : *at + (size_t)r;
}

static void join(const struct line *l, char *buf, size_t len)
{
	const size_t head = MAX_ELEMS / 2;
	char skipped[48];
	size_t i, at = 0;

	buf[0] = 0;
	for (i = 0; i < l->n; i++) {
		if (i)
			append(buf, len, &at, " -> ");
		if (i == head && l->dropped) {
			snprintf(skipped, sizeof(skipped), "... (%zu more) -> ", l->dropped);
			append(buf, len, &at, skipped);
		}
		append(buf, len, &at, l->elems[i]);
	}
	if (at >= len && len > 4)	/* cut: say so */
		memcpy(buf + len - 4, "...", 4);
}

void lm_holders_format(const struct lm_snapshot *snap, const struct lm_path *path,
		       char *buf, size_t len)
{
	struct line l;
	char label[ELEM_MAX - 32];
	size_t k, run;

	if (!len)
		return;
	memset(&l, 0, sizeof(l));
	root_label(snap, &path->root, l.elems[0], ELEM_MAX);
	l.n = 1;
	for (k = 0; k + 1 < path->nsteps; k += run) {
		const struct lm_path_step *s = &path->steps[k];
		uint32_t type = snap->chunk_type ? snap->chunk_type[s->chunk] : UINT32_MAX;
		/* a run: the same type, left through the same offset */
		for (run = 1; k + run + 1 < path->nsteps; run++) {
			const struct lm_path_step *n = &path->steps[k + run];
			if (n->offset != s->offset ||
			    (snap->chunk_type ? snap->chunk_type[n->chunk] : UINT32_MAX) != type)
				break;
		}
		lm_holders_type_label(lm_holders_chunk_type(snap, s->chunk), label, sizeof(label));
		if (run > 1)
			push_elem(&l, "%s +0x%" PRIx64 " (x%zu)", label, s->offset, run);
		else
			push_elem(&l, "%s +0x%" PRIx64, label, s->offset);
	}
	if (path->nsteps) {
		lm_holders_type_label(lm_holders_chunk_type(snap, path->steps[path->nsteps - 1].chunk),
				      label, sizeof(label));
		push_elem(&l, "%s", label);
	}
	join(&l, buf, len);
}

/* ---- sampling and searching --------------------------------------------- */

static int64_t find_type(const struct lm_snapshot *snap, const char *kind, const char *name)
{
	size_t i, n = lm_classifier_ntypes(snap->cls);
	int k = lm_kind_parse(kind);

	if (k < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const struct lm_type *t = lm_classifier_type(snap->cls, (uint32_t)i);
		if (t && t->kind == k && t->name && !strcmp(t->name, name))
			return (int64_t)i;
	}
	return -1;
}

/* Indexes of up to want live chunks of type id, evenly spread; returns how
 * many were found. */
static size_t pick_samples(const struct lm_snapshot *snap, uint32_t id, size_t want,
			   size_t *out)
{
	size_t i, total = 0, rank = 0, got = 0;

	for (i = 0; i < snap->nchunks; i++)
		total += snap->chunk_type[i] == id && lm_chunk_is_live(lm_snapshot_chunk_state(snap, i));
	if (want > total)
		want = total;
	for (i = 0; i < snap->nchunks && got < want; i++) {
		if (snap->chunk_type[i] != id || !lm_chunk_is_live(lm_snapshot_chunk_state(snap, i)))
			continue;
		if (rank++ == (2 * got + 1) * total / (2 * want))
			out[got++] = i;
	}
	return got;
}

static int add_chain(struct lm_holders_type *t, size_t *counts, const char *line)
{
	size_t i;
	char *dup;

	for (i = 0; i < t->nchains; i++)
		if (!strcmp(t->chains[i], line)) {
			counts[i]++;
			/* keep the most frequent first (stable for ties) */
			for (; i > 0 && counts[i] > counts[i - 1]; i--) {
				size_t c = counts[i];
				char *s = t->chains[i];
				counts[i] = counts[i - 1];
				t->chains[i] = t->chains[i - 1];
				counts[i - 1] = c;
				t->chains[i - 1] = s;
			}
			return 0;
		}
	if (!(dup = strdup(line)))
		return -LM_ENOMEM;
	t->chains[t->nchains] = dup;
	counts[t->nchains++] = 1;
	return 0;
}

/* The chains of one type; *budget counts the searches left. */
static int holders_of(const struct lm_snapshot *snap, struct lm_refgraph *g,
		      const struct lm_reach_tree *tree, struct lm_holders_type *t,
		      size_t per_type, size_t *budget, struct lm_err *err)
{
	size_t samples[LM_HOLDERS_MAX_PER_TYPE], counts[LM_HOLDERS_MAX_PER_TYPE];
	size_t n, i, unreachable = 0;
	char line[LM_HOLDERS_CHAIN_MAX];
	int64_t id = find_type(snap, t->kind, t->name);

	if (id < 0) {
		snprintf(t->error, sizeof(t->error), "no live allocation of this type in the heap now");
		return 0;
	}
	if (!*budget) {
		snprintf(t->error, sizeof(t->error), "search budget used up by other types");
		return 0;
	}
	n = pick_samples(snap, (uint32_t)id, per_type < *budget ? per_type : *budget, samples);
	if (!(t->chains = calloc(n ? n : 1, sizeof(*t->chains))))
		return lm_err_set(err, LM_ENOMEM, "holders: out of memory");
	for (i = 0; i < n; i++) {
		struct lm_root_paths *r = NULL;
		int rc = lm_reach_tree_path(g, tree, samples[i], &r, err);
		(*budget)--;
		if (rc < 0)
			return rc;
		if (r->reachable && r->npaths) {
			lm_holders_format(snap, &r->paths[0], line, sizeof(line));
			rc = add_chain(t, counts, line);
		} else {
			unreachable++;
		}
		lm_root_paths_free(r);
		if (rc < 0)
			return lm_err_set(err, LM_ENOMEM, "holders: out of memory");
	}
	if (!t->nchains && unreachable)
		snprintf(t->error, sizeof(t->error), "the %zu sampled allocations are reachable "
			 "from no root: leaked, nothing holds them", unreachable);
	else if (!t->nchains)
		snprintf(t->error, sizeof(t->error), "no live allocation of this type in the heap now");
	return 0;
}

int lm_holders_find(const struct lm_snapshot *snap, struct lm_holders_type *types,
		    size_t n, size_t per_type, struct lm_err *err)
{
	struct lm_refgraph *g = NULL;
	struct lm_reach_tree *tree = NULL;
	size_t i, budget = LM_HOLDERS_MAX_SEARCHES;
	int rc;

	if (per_type > LM_HOLDERS_MAX_PER_TYPE)
		per_type = LM_HOLDERS_MAX_PER_TYPE;
	for (i = LM_HOLDERS_MAX_TYPES; i < n; i++)
		snprintf(types[i].error, sizeof(types[i].error),
			 "more than %d growing types at once: not searched", LM_HOLDERS_MAX_TYPES);
	if (n > LM_HOLDERS_MAX_TYPES)
		n = LM_HOLDERS_MAX_TYPES;
	if (!snap->chunk_type)
		return lm_err_set(err, LM_EINVAL, "holders: the snapshot has no types");
	if ((rc = lm_refgraph_new(snap, &g, err)) < 0)
		return rc;
	rc = lm_reach_tree_new(g, &tree, err);
	for (i = 0; i < n && rc == 0; i++)
		rc = holders_of(snap, g, tree, &types[i], per_type, &budget, err);
	if (rc == 0)	/* a frozen copy read on demand may have died meanwhile */
		rc = lm_memsrc_check(snap->src, err);
	lm_reach_tree_free(tree);
	lm_refgraph_free(g);
	return rc;
}

void lm_holders_clear(struct lm_holders_type *types, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < types[i].nchains; k++)
			free(types[i].chains[k]);
		free(types[i].chains);
		types[i].chains = NULL;
		types[i].nchains = 0;
	}
}
