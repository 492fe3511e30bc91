/* SPDX-License-Identifier: MIT */
/*
 * holders.h - who holds the allocations of a type, as one line per chain:
 * the "holders" of a leak alert's payload, and the type labels `leakmon
 * roots` prints.
 *
 * lm_holders_find() takes an open snapshot and a few (kind, name) types,
 * picks up to per_type live chunks of each (spread evenly over the heap in
 * address order, so the same heap gives the same samples), builds the
 * reference graph once and asks lib/refgraph for the shortest chain from a
 * root to each sample. A chain reads
 *
 *     api!g_cache (.bss) -> size 8200 +0x1a8 -> string
 *
 * the root, then every allocation on the way with the offset of the
 * pointer to the next one, then the type itself. Runs of identical steps
 * (a linked list) are folded into "symbol node +0x0 (x37)" and very long
 * chains lose their middle, so a line stays short. Only symbol names,
 * type names, sizes and offsets appear: no addresses, no memory contents.
 *
 * Each search walks the whole reachable heap (seconds on a large one), so
 * the work is bounded: at most LM_HOLDERS_MAX_TYPES types and
 * LM_HOLDERS_MAX_SEARCHES searches per call.
 */
#ifndef LM_HOLDERS_H
#define LM_HOLDERS_H

#include <stddef.h>

#include "error.h"
#include "refgraph.h"
#include "snapshot.h"

#define LM_HOLDERS_MAX_TYPES 16
#define LM_HOLDERS_MAX_PER_TYPE 10
#define LM_HOLDERS_MAX_SEARCHES 40
#define LM_HOLDERS_CHAIN_MAX 1024	/* bytes of one chain line, NUL included */

struct lm_holders_type {
	/* in */
	const char *kind;	/* "class", "symbol", "string", "size", ... */
	const char *name;
	/* out: distinct chains, most common first; error when none found */
	char **chains;
	size_t nchains;
	char error[160];	/* "" or why there are no chains */
};

/* Fill types[0..n) (per_type samples each, at most LM_HOLDERS_MAX_PER_TYPE).
 * A type that is absent or whose samples are all unreachable gets no chains
 * and a sentence in its error; only a failure of the whole search (graph,
 * memory) returns an error code. */
int lm_holders_find(const struct lm_snapshot *snap, struct lm_holders_type *types,
		    size_t n, size_t per_type, struct lm_err *err);
/* Free what lm_holders_find put into types (kind and name stay). */
void lm_holders_clear(struct lm_holders_type *types, size_t n);

/* ---- shared with `leakmon roots` ---- */

/* The type of live chunk i (NULL: none, free, or unclassified). */
const struct lm_type *lm_holders_chunk_type(const struct lm_snapshot *snap, size_t i);
/* As `stat` prints it: "class shop::Cart<int>", "string", "size 72"; "-" for NULL. */
void lm_holders_type_label(const struct lm_type *t, char *buf, size_t len);
/* One path as a chain line (see above) into buf. */
void lm_holders_format(const struct lm_snapshot *snap, const struct lm_path *path,
		       char *buf, size_t len);

#endif
