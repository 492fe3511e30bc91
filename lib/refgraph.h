/* SPDX-License-Identifier: MIT */
/*
 * refgraph.h - who holds what: reachability, leaks and root chains over an
 * open snapshot.
 *
 * Nodes are the snapshot's live chunks (snap->chunks indexes); edges are
 * never stored: a reference is any aligned word, in a root or in a reached
 * chunk's user bytes, whose value points into another live chunk's user
 * bytes (start or interior, conservatively). Roots are
 *   - every thread's registers,
 *   - every thread's stack from its stack pointer to the end of its mapping,
 *   - the writable data of every module (.data, .bss),
 *   - every other private writable mapping that is not malloc's (initial
 *     thread's TLS, the program's own mmaps),
 * minus malloc's own bookkeeping (main_arena and mp_ in libc, the arena
 * headers in heaps, every tcache struct), whose stale pointers would keep
 * freed-then-reused chunks alive.
 *
 * Memory: one byte of state per chunk, a chunk-start bitmap (1 bit per 16
 * bytes of heap) with a rank table (4 bytes per 4 KiB), an explicit work stack; `roots` and a reach tree add 4 bytes per chunk
 * of parent links and a BFS queue (the tree frees its queue after the walk).
 * Nothing per edge.
 */
#ifndef LM_REFGRAPH_H
#define LM_REFGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "snapshot.h"

struct lm_refgraph;

/* Build the chunk index and the root list. snap must outlive the graph. */
int lm_refgraph_new(const struct lm_snapshot *snap, struct lm_refgraph **out,
		    struct lm_err *err);
void lm_refgraph_free(struct lm_refgraph *g);

/* Index (into snap->chunks) of the live chunk whose usable bytes contain p
 * ([addr + 16, addr + size + 8): the last 8 are the next chunk's prev_size
 * field; an mmapped chunk's end at addr + size), or -1. O(log runs) + a
 * bitmap rank. */
ptrdiff_t lm_refgraph_find(const struct lm_refgraph *g, uint64_t p);

/* ---- leaks ---- */

#define LM_LEAK_EXAMPLES 5

struct lm_leak_type {
	uint32_t type;			/* classifier type id; UINT32_MAX: untyped */
	uint64_t direct_count, direct_bytes;
	uint64_t indirect_count, indirect_bytes;
	uint64_t examples[LM_LEAK_EXAMPLES];	/* user addresses, direct ones first */
	size_t nexamples;
};

struct lm_leak_totals {
	uint64_t live_count, live_bytes;	/* every live chunk (graph nodes) */
	uint64_t reachable_count, reachable_bytes;
	uint64_t direct_count, direct_bytes;
	uint64_t indirect_count, indirect_bytes;
	uint64_t internal_count, internal_bytes;	/* malloc's own (tcache structs): never leaks */
	uint64_t root_bytes;		/* bytes of root memory scanned */
	uint64_t scanned_bytes;		/* bytes of chunks scanned */
	uint64_t unscanned_count;	/* live chunks whose bytes were not captured */
};

struct lm_leaks {
	struct lm_leak_type *types;	/* sorted by direct + indirect bytes, desc */
	size_t ntypes;
	struct lm_leak_totals totals;
};

/* Mark from the roots, then split the unreached chunks the way valgrind's
 * memcheck does: a chunk reached from another unreached chunk is indirect;
 * the rest are direct (in a cycle nobody else points into, the chunk with
 * the lowest address is the direct one). */
int lm_refgraph_leaks(struct lm_refgraph *g, struct lm_leaks **out, struct lm_err *err);
void lm_leaks_free(struct lm_leaks *l);

/* Per-chunk verdict after lm_refgraph_leaks. */
enum lm_leak_state { LM_LEAK_NONE, LM_LEAK_REACHABLE, LM_LEAK_DIRECT, LM_LEAK_INDIRECT,
		     LM_LEAK_INTERNAL };
int lm_refgraph_leak_state(const struct lm_refgraph *g, size_t chunk);

/* ---- roots ---- */

/* LM_ROOT_MODULE: the namespace of a CPython module ("module app
 * (global)"); chains are looked for from these first (see refgraph.c). */
enum lm_root_kind { LM_ROOT_GLOBAL, LM_ROOT_STACK, LM_ROOT_REGISTER, LM_ROOT_MEMORY,
		    LM_ROOT_MODULE };

const char *lm_root_kind_name(int kind);	/* "global", "stack", "register", "memory",
						 * "module" */

struct lm_root {
	int kind;		/* enum lm_root_kind */
	uint64_t slot;		/* address of the word (0 for a register) */
	pid_t tid;		/* stack, register: the thread */
	int frame;		/* stack: frame number, -1 if unknown */
	char name[320];		/* the full description, e.g.
				 * "api!g_table+0x18 (.bss)",
				 * "thread 1234 frame #2 worker+0x1c",
				 * "thread 1234 rbx",
				 * "anonymous rw-p 0x7f..-0x7f.. +0x40" */
	char module[128];	/* global: module basename */
	char symbol[160];	/* global: symbol+off ("" when none) */
	char section[16];	/* global: ".bss", ".data", ... */
	char function[160];	/* stack: function+off */
	char reg[8];		/* register: "rbx" */
};

struct lm_path_step {
	size_t chunk;		/* index into snap->chunks */
	uint64_t addr;		/* user address */
	uint64_t offset;	/* all steps but the last: offset in this allocation of
				 * the pointer to the next step; last step (the
				 * target): where the incoming pointer points in it */
};

struct lm_path {
	struct lm_root root;
	uint64_t root_points_to;	/* the value of the root word */
	struct lm_path_step *steps;	/* steps[nsteps - 1] is the target */
	size_t nsteps;
};

struct lm_root_paths {
	size_t target;		/* chunk index */
	int reachable;
	int leak_state;		/* enum lm_leak_state when unreachable */
	struct lm_path *paths;	/* shortest first */
	size_t npaths;
};

/* Up to max_paths shortest chains from a root to chunk `target` (a live
 * chunk index), each ending through a different last holder. */
int lm_refgraph_roots(struct lm_refgraph *g, size_t target, size_t max_paths,
		      struct lm_root_paths **out, struct lm_err *err);
void lm_root_paths_free(struct lm_root_paths *r);

/* One walk from every root for many targets: a parent link (4 bytes) per
 * chunk and the root words that reached chunks; nothing per edge. A
 * target's path is the one lm_refgraph_roots(g, target, 1, ..) finds. */
struct lm_reach_tree;

int lm_reach_tree_new(struct lm_refgraph *g, struct lm_reach_tree **out, struct lm_err *err);
void lm_reach_tree_free(struct lm_reach_tree *t);
/* *out as from lm_refgraph_roots with max_paths 1, except leak_state, which
 * is only ever LM_LEAK_INTERNAL or LM_LEAK_NONE (no leak analysis runs). */
int lm_reach_tree_path(struct lm_refgraph *g, const struct lm_reach_tree *t, size_t target,
		       struct lm_root_paths **out, struct lm_err *err);

/* Describe a target address that is not in a chunk: "libc.so.6!main_arena+0x60"
 * into buf when a symbol covers it; returns 0, or -LM_ENOTFOUND (buf
 * untouched). */
int lm_refgraph_symbolize(const struct lm_refgraph *g, uint64_t addr, char *buf, size_t len);

#endif
