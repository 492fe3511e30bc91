/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h - one snapshot end to end: open a memory source (live, copy or
 * core), load symbols, walk the heap, classify, aggregate per type.
 *
 * lm_snapshot_census() is what `leakmon stat` and the daemon call;
 * lm_snapshot_open() keeps everything open for the drill-down commands
 * (list, show, roots, leaks), which need the memory and the chunks.
 */
#ifndef LM_SNAPSHOT_H
#define LM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chunkstore.h"
#include "classify.h"
#include "error.h"
#include "glibc_heap.h"
#include "memsrc.h"
#include "symbols.h"
#include "symcache.h"

enum lm_snapshot_mode { LM_MODE_LIVE, LM_MODE_COPY, LM_MODE_AUTO };

struct lm_snapshot_opts {
	pid_t pid;			/* live target, or 0 */
	const char *core_path;		/* core file, or NULL */
	int mode;			/* enum lm_snapshot_mode (live targets) */
	uint64_t max_capture_bytes;	/* 0 = no limit */
	/* Our memory for this snapshot (a whole capture, a frozen copy's
	 * window, the chunks kept for drill-down): what would need more is
	 * refused with LM_ELIMIT before it is allocated; 0 = no limit. */
	uint64_t max_memory_bytes;
	uint64_t max_pause_ns;		/* abandon a live capture that stops the target longer; 0 = none */
	uint64_t auto_copy_bytes;	/* LM_MODE_AUTO: copy when the target's RSS is at least this; 0 = 256 MiB */
	const char *debug_root;		/* NULL = /usr/lib/debug; "" = none */
	/* Symbols kept across censuses of this one process (symcache.h), used
	 * by this snapshot alone while it runs; NULL = load them afresh. */
	struct lm_symcache *symcache;
};

struct lm_type_stat {
	uint8_t kind;		/* enum lm_type_kind */
	char *name;
	uint64_t count;
	uint64_t bytes;		/* sum of chunk sizes */
};

struct lm_totals {
	uint64_t inuse_count, inuse_bytes;	/* every live allocation, mmapped included */
	uint64_t free_count, free_bytes;	/* free lists and tcaches, not top */
	uint64_t mmapped_count, mmapped_bytes;
	uint64_t top_bytes;
	uint64_t arenas;
	uint64_t rss_bytes;
	uint64_t owned_bytes;	/* RssAnon + VmSwap (lm_proc_status) */
	/* CPython's pymalloc blocks, also counted in inuse_*: they live in
	 * arenas the interpreter maps itself, outside the glibc heap. */
	uint64_t py_blocks, py_bytes;
};

struct lm_census {
	pid_t pid;
	char *exe;
	char glibc[16];
	const char *source;		/* "live", "copy", "core" */
	int64_t taken_at_us;		/* wall clock, microseconds since the epoch */
	uint64_t pause_us;		/* target stopped */
	uint64_t walk_us;		/* walk + classify */
	struct lm_totals totals;
	struct lm_type_stat *types;	/* sorted by bytes desc, then kind, name */
	size_t ntypes;
	int partial;
	char *warning;			/* NULL or why partial / what fell back */
};

int lm_snapshot_census(const struct lm_snapshot_opts *opts,
		       struct lm_census **out, struct lm_err *err);
void lm_census_free(struct lm_census *c);

/* An open snapshot for drill-down: the memory source, symbols,
 * classifier, heap facts and every chunk, read through the functions
 * below (lib/ modules that analyse it see its fields in snapshot_impl.h). */
struct lm_snapshot;

int lm_snapshot_open(const struct lm_snapshot_opts *opts,
		     struct lm_snapshot **out, struct lm_err *err);
void lm_snapshot_close(struct lm_snapshot *snap);

/* Bytes the open snapshot holds: the source's (capture or window) and the
 * kept chunks'. */
uint64_t lm_snapshot_held_bytes(const struct lm_snapshot *snap);

/* Chunk i unpacked into *buf; returns buf. */
const struct lm_chunk *lm_snapshot_chunk(const struct lm_snapshot *snap, size_t i,
					 struct lm_chunk *buf);
int lm_snapshot_chunk_state(const struct lm_snapshot *snap, size_t i);
uint64_t lm_snapshot_chunk_addr(const struct lm_snapshot *snap, size_t i);
/* Type id of chunk i (lm_classifier_type), UINT32_MAX for one not live. */
uint32_t lm_snapshot_chunk_type(const struct lm_snapshot *snap, size_t i);
size_t lm_snapshot_nchunks(const struct lm_snapshot *snap);

/* What the snapshot holds, valid until lm_snapshot_close(). */
struct lm_memsrc *lm_snapshot_source(const struct lm_snapshot *snap);
struct lm_symtab *lm_snapshot_symtab(const struct lm_snapshot *snap);
struct lm_classifier *lm_snapshot_classifier(const struct lm_snapshot *snap);
const struct lm_heap_info *lm_snapshot_heap(const struct lm_snapshot *snap);
const struct lm_census *lm_snapshot_result(const struct lm_snapshot *snap);	/* or NULL */

/* Index of the chunk containing addr (header or user bytes), or -1. A
 * chunk's first 8 bytes (prev_size) while the chunk before is live are that
 * allocation's last usable word: its index then. */
ptrdiff_t lm_snapshot_find_chunk(const struct lm_snapshot *snap, uint64_t addr);

#endif
