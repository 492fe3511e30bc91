/* SPDX-License-Identifier: MIT */
/*
 * chunkstore.h - the chunks a snapshot keeps for drill-down, 8 bytes each.
 *
 * `leaks`, `roots`, holders and `list` need every chunk of the heap (free
 * ones too: they delimit the heap runs) sorted by address. A heap of
 * 100-byte allocations has ten million chunks per GiB, so what one chunk
 * costs decides how big a heap these commands can handle within
 * max_memory. A chunk is packed into one 64-bit word:
 *
 *   bits  0-43  address / 16 (chunks are 16-aligned; user space is below
 *               2^48 on x86-64 with 4-level page tables, and a chunk above
 *               that is refused with LM_ELIMIT)
 *   bits 44-47  state (enum lm_chunk_state)
 *   bits 48-50  malloc's A|M|P flag bits
 *   bit  51     the size is not implied (below)
 *   bit  52     usable size is size - 16 (an mmapped chunk without a tail)
 *   bits 53-63  arena index (0x7ff: none, an mmapped chunk)
 *
 * The size is not stored: the chunks of an arena heap touch, so a chunk's
 * size is the next chunk's address less its own. Only where that does not
 * hold (the last chunk of a heap, an mmapped chunk, a walk cut short) is
 * the size kept aside, in a small table searched by index.
 *
 * The walker reports heaps one after another, each in address order; the
 * store sorts whole stretches of touching chunks ("segments": a heap, an
 * mmapped chunk), in place, so that a chunk's successor stays its
 * successor, and the memory needed to sort is one bit per chunk. Segments
 * that overlap (two heaps claiming the same addresses: only a corrupt or
 * hostile heap) cannot be ordered and make lm_chunkstore_finish fail with
 * LM_ECORRUPT.
 */
#ifndef LM_CHUNKSTORE_H
#define LM_CHUNKSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "glibc_heap.h"

#define LM_CHUNKSTORE_MAX_ADDR (1ULL << 48)	/* chunks at or above are refused */

struct lm_chunk_size_ex {
	size_t index;		/* chunk index (after lm_chunkstore_finish: sorted) */
	uint64_t size;
};

struct lm_chunk_segment {
	size_t first, n;	/* indexes [first, first + n) as appended */
	uint64_t lo;		/* address of its first chunk */
	size_t to;		/* where it goes when sorted */
};

struct lm_chunkstore {
	uint64_t *rec;		/* one packed word per chunk */
	uint32_t *type;		/* type id per chunk (the caller's; moved along when sorting) */
	size_t n, cap;
	struct lm_chunk_size_ex *ex;	/* sizes not implied, by index */
	size_t nex, ex_cap;
	struct lm_chunk_segment *seg;	/* stretches of touching chunks as appended */
	size_t nseg, seg_cap;
	uint64_t last_size;	/* size of rec[n - 1], until the next chunk says
				 * whether it is implied */
	uint64_t max_bytes;	/* what the arrays may take; 0 = no limit */
	int over;		/* an append would have taken more than max_bytes */
};

/* What one chunk costs the store at most, the type id included (plus one
 * bit per chunk while sorting, and a size entry per heap). */
#define LM_CHUNKSTORE_BYTES_PER_CHUNK (sizeof(uint64_t) + sizeof(uint32_t))

/* Append a chunk with its type id. -LM_ELIMIT with a message when it lies
 * above LM_CHUNKSTORE_MAX_ADDR or the store would exceed max_bytes (then
 * `over` is set), -LM_ECORRUPT for a chunk not 16-byte aligned, -LM_ENOMEM
 * when out of memory. */
int lm_chunkstore_push(struct lm_chunkstore *s, const struct lm_chunk *c, uint32_t type,
		       struct lm_err *err);

/* Close the last segment and sort by address (types along). Call once,
 * after the last push; then only the readers below may be used. */
int lm_chunkstore_finish(struct lm_chunkstore *s, struct lm_err *err);

/* Forget every chunk (keeps the arrays) / free everything. */
void lm_chunkstore_clear(struct lm_chunkstore *s);
void lm_chunkstore_free(struct lm_chunkstore *s);

/* Bytes the store's arrays hold now. */
uint64_t lm_chunkstore_bytes(const struct lm_chunkstore *s);

#define LM_CR_STATE_SHIFT 44
#define LM_CR_FLAGS_SHIFT 48
#define LM_CR_EXPLICIT (1ULL << 51)
#define LM_CR_USABLE16 (1ULL << 52)
#define LM_CR_ARENA_SHIFT 53
#define LM_CR_NO_ARENA 0x7ffU

static inline uint64_t lm_chunkstore_addr(const struct lm_chunkstore *s, size_t i)
{
	return (s->rec[i] & ((1ULL << 44) - 1)) << 4;
}

static inline int lm_chunkstore_state(const struct lm_chunkstore *s, size_t i)
{
	return (int)((s->rec[i] >> LM_CR_STATE_SHIFT) & 0xf);
}

uint64_t lm_chunkstore_explicit_size(const struct lm_chunkstore *s, size_t i);

static inline uint64_t lm_chunkstore_size(const struct lm_chunkstore *s, size_t i)
{
	if (s->rec[i] & LM_CR_EXPLICIT)
		return lm_chunkstore_explicit_size(s, i);
	return lm_chunkstore_addr(s, i + 1) - lm_chunkstore_addr(s, i);
}

static inline uint64_t lm_chunkstore_usable(const struct lm_chunkstore *s, size_t i)
{
	if (lm_chunk_is_pyblock(lm_chunkstore_state(s, i)))
		return lm_chunkstore_size(s, i);
	return lm_chunkstore_size(s, i) - (s->rec[i] & LM_CR_USABLE16 ? 16 : 8);
}

/* Chunk i's user pointer (lm_chunk_user). */
static inline uint64_t lm_chunkstore_user(const struct lm_chunkstore *s, size_t i)
{
	return lm_chunk_user_at(lm_chunkstore_addr(s, i), lm_chunkstore_state(s, i));
}

/* Chunk i unpacked into *out; returns out. */
const struct lm_chunk *lm_chunkstore_get(const struct lm_chunkstore *s, size_t i,
					 struct lm_chunk *out);

#endif
