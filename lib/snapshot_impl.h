/* SPDX-License-Identifier: MIT */
/*
 * snapshot_impl.h - the fields of an open snapshot, for the lib/ modules
 * that analyse one (refgraph.c, holders.c) and snapshot.c itself. Programs
 * and tests use the functions of snapshot.h.
 */
#ifndef LM_SNAPSHOT_IMPL_H
#define LM_SNAPSHOT_IMPL_H

#include "snapshot.h"

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

#endif
