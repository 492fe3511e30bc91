/* SPDX-License-Identifier: MIT */
/*
 * glibc_layout.h - where glibc's malloc keeps its fields, per glibc version.
 *
 * The walker never hard-codes an offset: it asks this table for the layout
 * of the libc version it detected (x86_64 only). One entry per supported
 * version; an entry is "verified" only when it was checked against that
 * exact build with its debug symbols (gdb ptype /o) and by the tests; the
 * others are designed from the glibc sources' history; the
 * walker accepts (with a warning in lm_heap_info.warning) until a test on
 * such a build proves them:
 *
 *   2.26  tcache (counts: char[64], entries: 64 pointers; chunk 0x250)
 *   2.27  malloc_state.have_fastchunks (fastbinsY moves from 8 to 16)
 *   2.29  tcache entry key (= the owning tcache_perthread_struct)
 *   2.30  tcache counts become uint16_t (tcache chunk 0x290)
 *   2.32  safe-linking of tcache next and fastbin fd
 *   2.34  tcache key becomes the process-wide random tcache_key
 *   2.35  malloc_par gains thp_pagesize/hp_pagesize/hp_flags (+24 bytes),
 *         heap_info gains pagesize (32 -> 48 bytes)
 *   2.41  small chunks are freed straight into their small bin (no layout
 *         change; only where free chunks wait)
 *   2.42  tcache: 64 exact-size bins + 12 bins of size ranges (76 bins,
 *         chunk 0x300); counts[] becomes num_slots[] (free slots left,
 *         counting down from mp_.tcache_count); tcache_max_bytes a chunk size
 *   2.43  fastbins removed (malloc_state loses have_fastchunks and
 *         fastbinsY: 2112 bytes); malloc_par gains thp_mode (+8); an
 *         mmapped chunk's size leaves out a 16-byte tail; tcache fill 16
 *   2.44  malloc_par loses tcache_unsorted_limit (136 bytes)
 *
 * docs/glibc-layouts.md has the facts per version and how each was checked.
 * A version newer than the table is walked with the newest layout, on
 * condition that structural checks hold (lm_glibc_layout_nearest).
 */
#ifndef LM_GLIBC_LAYOUT_H
#define LM_GLIBC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

enum lm_tcache_key_kind {
	LM_TCKEY_NONE,		/* no key word in a free tcache entry (< 2.29) */
	LM_TCKEY_STRUCT,	/* key = user address of the owning tcache struct (2.29-2.33) */
	LM_TCKEY_RANDOM		/* key = process-wide random tcache_key (2.34+) */
};

struct lm_glibc_layout {
	const char *version;		/* "2.36" */
	int verified;			/* checked on a real build of this version */
	const char *verified_on;	/* which build, or NULL */

	/* struct malloc_state (an arena) */
	unsigned ms_size;		/* sizeof */
	unsigned ms_mutex;
	unsigned ms_fastbins;		/* fastbinsY[nfastbins] */
	unsigned ms_top;
	unsigned ms_bins;		/* bins[2 * nbins - 2] */
	unsigned ms_next;
	unsigned ms_system_mem;
	unsigned nfastbins;		/* 10 */
	unsigned nbins;			/* 128: bins 1..127 exist, 1 is unsorted */

	/* struct _heap_info (start of every non-main heap) */
	unsigned hi_size;		/* sizeof: 32 before 2.35, 48 since */
	unsigned hi_ar_ptr, hi_prev, hi_used;	/* hi_used: heap_info.size */
	uint64_t heap_max_size;		/* HEAP_MAX_SIZE: 64 MiB on 64-bit */

	/* struct malloc_par mp_ */
	unsigned mp_size;
	unsigned mp_arena_test;
	unsigned mp_n_mmaps, mp_n_mmaps_max, mp_max_n_mmaps;
	unsigned mp_mmapped_mem, mp_max_mmapped_mem;
	unsigned mp_sbrk_base;
	unsigned mp_tcache_bins, mp_tcache_max_bytes, mp_tcache_count;

	/* tcache_perthread_struct */
	unsigned tcache_bins;		/* TCACHE_MAX_BINS: 64, 76 since 2.42 */
	unsigned tcache_small_bins;	/* bins of one chunk size (32 + 16 i); the
					 * rest hold a power-of-two size range each */
	unsigned tcache_count_width;	/* bytes per counts[] entry: 1 or 2 */
	unsigned tcache_chunk_size;	/* chunk size of the struct: 0x250, 0x290, 0x300 */
	int tcache_counts_down;		/* the entry is num_slots: mp_.tcache_count
					 * minus the chunks held (2.42+) */
	uint64_t tcache_max_bytes_max;	/* bound on mp_.tcache_max_bytes */
	int tcache_dummy;		/* a thread without a tcache points its `tcache`
					 * at a dummy in libc instead of NULL (2.43+) */
	int tcache_key;			/* enum lm_tcache_key_kind */
	int safe_linking;		/* fastbin fd / tcache next are mangled */

	/* mmapped chunks: size field = mapping - prev_size - mmap_tail */
	unsigned mmap_tail;		/* 0 before 2.43, 16 since */
};

/* The layout of glibc `version` ("2.36"), or NULL when not in the table. */
const struct lm_glibc_layout *lm_glibc_layout_find(const char *version);

/*
 * The layout to walk glibc `version` with: its own entry (*exact = 1), or
 * for a version newer than the table the newest entry (*exact = 0: the
 * caller must check the heap against it before trusting a walk); NULL for
 * a version older than the table or not a version.
 *
 * Test hook: LEAKMON_GLIBC_TABLE_END=X.Y in the environment makes the table
 * end at X.Y, so that the path for an unknown newer glibc can be tested on
 * any glibc the machine has.
 */
const struct lm_glibc_layout *lm_glibc_layout_nearest(const char *version, int *exact);

/* Every version in the table, comma separated ("2.28, 2.29, ... 2.40"),
 * verified ones marked with a '*' when mark_verified is set. */
void lm_glibc_layout_list(char *buf, size_t len, int mark_verified);

#endif
