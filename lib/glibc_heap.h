/* SPDX-License-Identifier: MIT */
/*
 * glibc_heap.h - walking a glibc ptmalloc heap from outside.
 *
 * Given a memory source, finds libc and its version, main_arena (without
 * symbols: by its top pointer and self-pointing empty bins), every other
 * arena and heap, the mmapped chunks, and the exact set of free chunks
 * (bins, fastbins, every thread's tcache; safe-linking decoded), then calls
 * back once per chunk in address order within each heap. See
 * docs/heap-walk.md for the algorithm and the facts it rests on, and
 * docs/glibc-layouts.md for the layouts of each version.
 *
 * Every loop over target data is bounded; an inconsistency yields -LM_ECORRUPT
 * with the address, or, where the rest can still be trusted, a partial walk
 * flagged in lm_heap_info.partial.
 */
#ifndef LM_GLIBC_HEAP_H
#define LM_GLIBC_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memsrc.h"
#include "symbols.h"

enum lm_chunk_state {
	LM_CHUNK_INUSE,		/* live allocation in an arena heap */
	LM_CHUNK_MMAPPED,	/* live mmapped allocation (IS_MMAPPED) */
	LM_CHUNK_TCACHE_STRUCT,	/* a thread's tcache_perthread_struct (live, internal) */
	LM_CHUNK_FREE_TCACHE,	/* free, held in a tcache bin */
	LM_CHUNK_FREE_FAST,	/* free, in a fastbin */
	LM_CHUNK_FREE_UNSORTED,	/* free, in the unsorted bin */
	LM_CHUNK_FREE_SMALL,	/* free, in a small bin */
	LM_CHUNK_FREE_LARGE,	/* free, in a large bin */
	LM_CHUNK_TOP,		/* an arena's top chunk (not counted as free) */
	LM_CHUNK_FENCEPOST,	/* heap-end fencepost (malloc's own) */
	/* Not glibc's: a block of CPython's pymalloc (pymalloc.h), kept with
	 * the chunks for drill-down. It has no header: its data starts at
	 * addr and all size bytes are usable (lm_chunk_user). */
	LM_CHUNK_PYBLOCK,	/* live */
	LM_CHUNK_PYFREE		/* on its pool's free list (neither live nor malloc-free) */
};

static inline int lm_chunk_is_live(int state)
{
	return state == LM_CHUNK_INUSE || state == LM_CHUNK_MMAPPED ||
	       state == LM_CHUNK_TCACHE_STRUCT || state == LM_CHUNK_PYBLOCK;
}
static inline int lm_chunk_is_pyblock(int state)
{
	return state == LM_CHUNK_PYBLOCK || state == LM_CHUNK_PYFREE;
}
static inline int lm_chunk_is_free(int state)
{
	return state >= LM_CHUNK_FREE_TCACHE && state <= LM_CHUNK_FREE_LARGE;
}

struct lm_chunk {
	uint64_t addr;		/* chunk header address; user pointer = addr + 16 */
	uint64_t size;		/* chunk size (flags masked off) */
	uint64_t usable;	/* size - 8, or size - 16 when mmapped (pymalloc: size) */
	uint8_t state;		/* enum lm_chunk_state */
	uint8_t flags;		/* raw A|M|P bits */
	uint16_t arena;		/* index into lm_heap_info.arenas; 0xffff for mmapped */
};

/* A malloc chunk starts with two words, prev_size and size; what malloc
 * returned starts after them. */
#define LM_CHUNK_HDR 16

/* The user pointer of a chunk in state `state` at addr: after the 16-byte
 * header, except for a pymalloc block, which has none. */
static inline uint64_t lm_chunk_user_at(uint64_t addr, int state)
{
	return addr + (lm_chunk_is_pyblock(state) ? 0 : LM_CHUNK_HDR);
}
static inline uint64_t lm_chunk_user(const struct lm_chunk *c)
{
	return lm_chunk_user_at(c->addr, c->state);
}

/* How many bytes from the user pointer on belong to the chunk: an
 * allocation's usable size (which reaches into the next chunk's prev_size
 * word), a free chunk's body up to the next header, all of a pymalloc
 * block. */
static inline uint64_t lm_chunk_readable(const struct lm_chunk *c)
{
	return lm_chunk_is_live(c->state) || lm_chunk_is_pyblock(c->state) ? c->usable
									   : c->size - LM_CHUNK_HDR;
}

#define LM_MAX_ARENAS 1024

struct lm_arena_info {
	uint64_t addr;		/* the malloc_state */
	uint64_t top;		/* its top chunk */
	uint64_t top_size;
	uint64_t system_mem;
	unsigned nheaps;	/* 1 for main_arena's [heap] */
	int locked;		/* mutex held at the stop */
};

struct lm_heap_info {
	char glibc_version[16];	/* "2.36" */
	uint64_t libc_base;
	uint64_t main_arena;	/* address found (tests compare with gdb's &main_arena) */
	uint64_t mp;		/* address of mp_ (0 if not found) */
	uint64_t sbrk_base;
	uint64_t tcache_key;	/* 2.34+: the random key; 0 if unknown */
	size_t narenas;
	struct lm_arena_info arenas[64];	/* first 64; narenas may be larger */
	/* totals (bytes are chunk sizes) */
	uint64_t inuse_count, inuse_bytes;	/* live: INUSE + MMAPPED + TCACHE_STRUCT */
	uint64_t free_count, free_bytes;	/* tcache + fast + bins, not top */
	uint64_t mmapped_count, mmapped_bytes;
	uint64_t top_bytes;
	uint64_t tcache_count, tcache_bytes;	/* subset of free held in tcaches */
	uint64_t fast_count, fast_bytes;	/* subset of free in fastbins */
	uint64_t chunks_walked;
	int partial;		/* some part could not be walked; see warning */
	char warning[LM_ERRMSG_MAX];
	/* All filled by lm_glibc_walk. */
	int layout_verified;	/* the version's layout was verified (else warning) */
	uint64_t mp_n_mmaps, mp_mmapped_mem;	/* mp_'s own counters (when mp != 0) */
	uint64_t tcache_structs;	/* tcache_perthread_structs found (in inuse_*;
					 * reported as mmapped when malloc mmapped one) */
	uint64_t fencepost_count, fencepost_bytes;	/* ends of older non-main heaps */
	uint64_t arena_header_bytes;	/* heap_info + malloc_state + padding before
					 * the first chunk of every non-main heap */
	uint64_t system_mem;	/* sum of the arenas' system_mem */
	uint64_t heap_bytes;	/* bytes of arena heaps walked (chunks + headers) */
	int tcache_from_tls;	/* tcaches found through the threads' TLS pointers
				 * (else recognised by content in a skim pass) */
	char layout_version[16];	/* the table's layout walked with: glibc_version,
					 * or for a newer glibc the newest one (then
					 * layout_checked says the heap fits it) */
	int layout_checked;	/* a borrowed layout passed the structural checks */
	int layout_from_dwarf;	/* structure offsets read from libc's debug info
				 * (its libc6-dbg), not from the table */
};

/* Called once per chunk; return non-zero to stop the walk (that value is
 * returned by lm_glibc_walk). */
typedef int (*lm_chunk_fn)(void *ctx, const struct lm_chunk *chunk);

struct lm_walk_opts {
	int include_free;	/* also report free, top and fencepost chunks */
	uint64_t max_chunks;	/* bound on chunks per heap; 0 = default (derived from heap size) */
	int tcache_by_content;	/* tests: skip the threads' TLS tcache pointers and
				 * recognise tcache structs by content only */
	int allow_locked;	/* walk an arena whose lock is held instead of
				 * -LM_EBUSY (after retries failed): partial + warning */
	uint64_t max_set_bytes;	/* memory the set of free chunks may take (every
				 * free chunk of the heap, about 27 bytes each):
				 * more is -LM_ELIMIT; 0 = no limit */
};

/* Detect libc and its version; -LM_ENOTGLIBC names what was found instead
 * (a static glibc binary, jemalloc, tcmalloc, mimalloc or musl's malloc, by
 * a mapped library's name or, with syms, by a symbol only it defines),
 * -LM_EVERSION an unknown version. */
int lm_glibc_detect(const struct lm_memsrc *src, const struct lm_symtab *syms,
		    struct lm_heap_info *info, struct lm_err *err);
/* The functions lm_glibc_detect() looks up by name (allocators linked in,
 * a malloc defined outside libc), NULL-terminated: a table without
 * functions (lm_symtab_opts.data_only) keeps these for it. */
extern const char *const lm_glibc_heap_funcs[];

/* Detect, then walk. syms may be NULL (then no symbol cross-checks). */
int lm_glibc_walk(const struct lm_memsrc *src, const struct lm_symtab *syms,
		  const struct lm_walk_opts *opts, struct lm_heap_info *info,
		  lm_chunk_fn fn, void *ctx, struct lm_err *err);

const char *lm_chunk_state_name(int state);	/* "in use", "tcache", "fastbin", ... */

#endif
