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

/* An open snapshot for drill-down. */
struct lm_snapshot {
	struct lm_memsrc *src;
	struct lm_symtab *syms;
	struct lm_classifier *cls;
	struct lm_heap_info heap;
	/* Every chunk the walker reported, free ones included, sorted by
	 * address, 8 bytes each: read them with lm_snapshot_chunk() and the
	 * lm_chunkstore_*() accessors. */
	struct lm_chunkstore chunks;
	uint32_t *chunk_type;		/* type id per live chunk, UINT32_MAX otherwise
					 * (chunks.type) */
	size_t nchunks;			/* chunks.n */
	struct lm_census *census;
	/* The snapshot's max_memory (0 = no limit): what analyses of it
	 * (reference graph) allocate is counted against it too. */
	uint64_t max_memory_bytes;
};

int lm_snapshot_open(const struct lm_snapshot_opts *opts,
		     struct lm_snapshot **out, struct lm_err *err);
void lm_snapshot_close(struct lm_snapshot *snap);

/* Bytes the open snapshot holds: the source's (capture or window) and the
 * kept chunks'. */
uint64_t lm_snapshot_held_bytes(const struct lm_snapshot *snap);

/* Chunk i unpacked into *buf; returns buf. */
static inline const struct lm_chunk *lm_snapshot_chunk(const struct lm_snapshot *snap, size_t i,
						       struct lm_chunk *buf)
{
	return lm_chunkstore_get(&snap->chunks, i, buf);
}

static inline int lm_snapshot_chunk_state(const struct lm_snapshot *snap, size_t i)
{
	return lm_chunkstore_state(&snap->chunks, i);
}

static inline uint64_t lm_snapshot_chunk_addr(const struct lm_snapshot *snap, size_t i)
{
	return lm_chunkstore_addr(&snap->chunks, i);
}

/* Index of the chunk containing addr (header or user bytes), or -1. */
ptrdiff_t lm_snapshot_find_chunk(const struct lm_snapshot *snap, uint64_t addr);

#endif
