/* SPDX-License-Identifier: MIT */
/*
 * pymalloc.h - CPython's small-object allocator (pymalloc) walked from
 * outside, without debug symbols.
 *
 * CPython keeps objects up to 512 bytes in pools of one size class, carved
 * from arenas it maps itself: outside the glibc heap. Its array of arena
 * descriptors (struct arena_object) is malloc'd, and the interpreter's
 * writable data holds the pointer to it (a static of obmalloc.c in 3.11);
 * we find it there by structure: a word pointing at a malloc chunk that
 * holds a power-of-two count of descriptors, every one either unused or an
 * arena of the right size with its pools inside it. From each arena, every
 * pool carved so far; from each pool header, its size class, high-water
 * mark and free list; the live blocks are those below the mark and not on
 * the list. The pool's own count of live blocks must agree, else the pool
 * was caught mid-update: its blocks are still reported, the walk flagged
 * partial. Every loop is bounded by the arena and pool sizes.
 */
#ifndef LM_PYMALLOC_H
#define LM_PYMALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memsrc.h"
#include "pyobj.h"

struct lm_pymalloc_info {
	uint64_t arenas_addr;		/* the arena_object array */
	uint64_t arenas_ptr_at;		/* the word in the interpreter's data pointing at it */
	unsigned maxarenas;		/* its entries */
	size_t narenas, npools;		/* arenas in use, pools holding blocks */
	uint64_t blocks, bytes;		/* live blocks, their sizes */
	size_t bad_pools;		/* pools skipped (header inconsistent or unreadable) */
	size_t mismatched_pools;	/* pools whose count disagreed with their free list */
	int partial;
	char warning[256];		/* why partial, or "" */
};

/* Called once per live block (live 1), and with include_free once per
 * block on a free list too (live 0), in address order within each pool,
 * with the block's captured bytes; return non-zero to stop the walk. */
typedef int (*lm_pyblock_fn)(void *ctx, uint64_t addr, const uint8_t *data, uint64_t size,
			     int live);

/* 0 with info filled (a walk that skipped pools is flagged partial),
 * -LM_ENOTFOUND when no arena array was found, -LM_ENOMEM. */
int lm_pymalloc_walk(const struct lm_memsrc *src, struct lm_python *py, int include_free,
		     struct lm_pymalloc_info *info, lm_pyblock_fn fn, void *ctx,
		     struct lm_err *err);

#endif
