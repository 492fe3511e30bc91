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
	unsigned tcache_bins;		/* TCACHE_MAX_BINS: 64 */
	unsigned tcache_count_width;	/* bytes per counts[] entry: 1 or 2 */
	unsigned tcache_chunk_size;	/* chunk size of the struct: 0x250 or 0x290 */
	int tcache_key;			/* enum lm_tcache_key_kind */
	int safe_linking;		/* fastbin fd / tcache next are mangled */
};

/* The layout of glibc `version` ("2.36"), or NULL when not in the table. */
const struct lm_glibc_layout *lm_glibc_layout_find(const char *version);

/* Every version in the table, comma separated ("2.28, 2.29, ... 2.40"),
 * verified ones marked with a '*' when mark_verified is set. */
void lm_glibc_layout_list(char *buf, size_t len, int mark_verified);

#endif
