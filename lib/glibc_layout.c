/* SPDX-License-Identifier: MIT */
/*
 * glibc_layout.c - the per-version table of glibc malloc layouts (x86_64).
 *
 * Entries are built from a few "eras" (see glibc_layout.h for what changed
 * when) so that a new version is one line. Verified (gdb ptype /o on the
 * build's libc6-dbg, and the exact-census tests on a live target built
 * against that glibc): 2.31 (Debian 11), 2.36 (Debian 12), 2.41 (Debian
 * 13), 2.43 (sid), 2.44 (experimental); glibc_matrix.test re-checks the
 * other suites' builds.
 * The others follow the glibc sources (docs/glibc-layouts.md) and are
 * walked with a warning until the tests run on such a build.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glibc_layout.h"

#define MIB (1024ULL * 1024ULL)

/* malloc_state with have_fastchunks (2.27+): 2200 bytes. */
#define ARENA_2_27 \
	.ms_size = 2200, .ms_mutex = 0, .ms_fastbins = 16, .ms_top = 96, \
	.ms_bins = 112, .ms_next = 2160, .ms_system_mem = 2184, \
	.nfastbins = 10, .nbins = 128, .heap_max_size = 64 * MIB

/* malloc_state without fastbins (2.43+): mutex, flags, top, last_remainder,
 * bins, binmap, next, next_free, attached_threads, system_mem,
 * max_system_mem: 2112 bytes. */
#define ARENA_2_43 \
	.ms_size = 2112, .ms_mutex = 0, .ms_fastbins = 0, .ms_top = 8, \
	.ms_bins = 24, .ms_next = 2072, .ms_system_mem = 2096, \
	.nfastbins = 0, .nbins = 128, .heap_max_size = 64 * MIB

/* heap_info before 2.35: ar_ptr, prev, size, mprotect_size (32 bytes). */
#define HEAPINFO_OLD .hi_size = 32, .hi_ar_ptr = 0, .hi_prev = 8, .hi_used = 16
/* heap_info since 2.35: + pagesize, padded to 48 bytes. */
#define HEAPINFO_2_35 .hi_size = 48, .hi_ar_ptr = 0, .hi_prev = 8, .hi_used = 16

/* malloc_par before 2.35 (no huge page fields): 112 bytes. */
#define MP_OLD \
	.mp_size = 112, .mp_arena_test = 24, .mp_n_mmaps = 40, \
	.mp_n_mmaps_max = 44, .mp_max_n_mmaps = 48, .mp_mmapped_mem = 56, \
	.mp_max_mmapped_mem = 64, .mp_sbrk_base = 72, .mp_tcache_bins = 80, \
	.mp_tcache_max_bytes = 88, .mp_tcache_count = 96
/* malloc_par since 2.35 (thp_pagesize, hp_pagesize, hp_flags): 136 bytes. */
#define MP_2_35 \
	.mp_size = 136, .mp_arena_test = 24, .mp_n_mmaps = 60, \
	.mp_n_mmaps_max = 64, .mp_max_n_mmaps = 68, .mp_mmapped_mem = 80, \
	.mp_max_mmapped_mem = 88, .mp_sbrk_base = 96, .mp_tcache_bins = 104, \
	.mp_tcache_max_bytes = 112, .mp_tcache_count = 120

/* malloc_par since 2.43: thp_mode (an enum, padded to 8) before thp_pagesize. */
#define MP_2_43 \
	.mp_size = 144, .mp_arena_test = 24, .mp_n_mmaps = 68, \
	.mp_n_mmaps_max = 72, .mp_max_n_mmaps = 76, .mp_mmapped_mem = 88, \
	.mp_max_mmapped_mem = 96, .mp_sbrk_base = 104, .mp_tcache_bins = 112, \
	.mp_tcache_max_bytes = 120, .mp_tcache_count = 128

/* malloc_par since 2.44: tcache_unsorted_limit gone (the last field): 136
 * bytes, every other field where 2.43 has it. */
#define MP_2_44 \
	.mp_size = 136, .mp_arena_test = 24, .mp_n_mmaps = 68, \
	.mp_n_mmaps_max = 72, .mp_max_n_mmaps = 76, .mp_mmapped_mem = 88, \
	.mp_max_mmapped_mem = 96, .mp_sbrk_base = 104, .mp_tcache_bins = 112, \
	.mp_tcache_max_bytes = 120, .mp_tcache_count = 128

/* tcache_max_bytes up to 2.41 is a usable size, at most that of bin 63. */
#define TCACHE_CHAR   .tcache_bins = 64, .tcache_small_bins = 64, .tcache_count_width = 1, \
	.tcache_chunk_size = 0x250, .tcache_max_bytes_max = 16 * 64 + 8
#define TCACHE_UINT16 .tcache_bins = 64, .tcache_small_bins = 64, .tcache_count_width = 2, \
	.tcache_chunk_size = 0x290, .tcache_max_bytes_max = 16 * 64 + 8
/* 2.42+: 64 + 12 bins (the last for chunks below 4 MiB), num_slots counting
 * down; tcache_max_bytes is a chunk size up to that of the last bin. */
#define TCACHE_2_42   .tcache_bins = 76, .tcache_small_bins = 64, .tcache_count_width = 2, \
	.tcache_chunk_size = 0x300, .tcache_counts_down = 1, .tcache_max_bytes_max = 4 * MIB

static const struct lm_glibc_layout layouts[] = {
	{ .version = "2.28", ARENA_2_27, HEAPINFO_OLD, MP_OLD, TCACHE_CHAR,
	  .tcache_key = LM_TCKEY_NONE, .safe_linking = 0 },
	{ .version = "2.29", ARENA_2_27, HEAPINFO_OLD, MP_OLD, TCACHE_CHAR,
	  .tcache_key = LM_TCKEY_STRUCT, .safe_linking = 0 },
	{ .version = "2.30", ARENA_2_27, HEAPINFO_OLD, MP_OLD, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_STRUCT, .safe_linking = 0 },
	{ .version = "2.31", .verified = 1, .verified_on = "Debian 11 2.31-13+deb11u11",
	  ARENA_2_27, HEAPINFO_OLD, MP_OLD, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_STRUCT, .safe_linking = 0 },
	{ .version = "2.32", ARENA_2_27, HEAPINFO_OLD, MP_OLD, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_STRUCT, .safe_linking = 1 },
	{ .version = "2.33", ARENA_2_27, HEAPINFO_OLD, MP_OLD, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_STRUCT, .safe_linking = 1 },
	{ .version = "2.34", ARENA_2_27, HEAPINFO_OLD, MP_OLD, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.35", ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.36", .verified = 1, .verified_on = "Debian 12 2.36-9+deb12u14",
	  ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.37", ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.38", ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.39", ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.40", ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.41", .verified = 1, .verified_on = "Debian 13 2.41-12+deb13u5",
	  ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_UINT16,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.42", ARENA_2_27, HEAPINFO_2_35, MP_2_35, TCACHE_2_42,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1 },
	{ .version = "2.43", .verified = 1, .verified_on = "Debian sid 2.43-7",
	  ARENA_2_43, HEAPINFO_2_35, MP_2_43, TCACHE_2_42,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1, .mmap_tail = 16, .tcache_dummy = 1 },
	{ .version = "2.44", .verified = 1, .verified_on = "Debian experimental 2.44-3",
	  ARENA_2_43, HEAPINFO_2_35, MP_2_44, TCACHE_2_42,
	  .tcache_key = LM_TCKEY_RANDOM, .safe_linking = 1, .mmap_tail = 16, .tcache_dummy = 1 },
};

#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

const struct lm_glibc_layout *lm_glibc_layout_find(const char *version)
{
	size_t i;

	for (i = 0; i < NLAYOUTS; i++)
		if (strcmp(layouts[i].version, version) == 0)
			return &layouts[i];
	return NULL;
}

/* "2.43" -> 2043; "2.42.9000" -> 2042; -1 when not "N.M...". */
static long version_key(const char *v)
{
	char *end;
	long major, minor;

	if (!v || *v < '0' || *v > '9')
		return -1;
	major = strtol(v, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	minor = strtol(end + 1, &end, 10);
	if (major > 1000 || minor >= 1000)
		return -1;
	return major * 1000 + minor;
}

const struct lm_glibc_layout *lm_glibc_layout_nearest(const char *version, int *exact)
{
	const char *hook = getenv("LEAKMON_GLIBC_TABLE_END");
	long want = version_key(version), end = hook ? version_key(hook) : -1;
	const struct lm_glibc_layout *best = NULL;
	size_t i;

	*exact = 0;
	if (want < 0)
		return NULL;
	for (i = 0; i < NLAYOUTS; i++) {
		long k = version_key(layouts[i].version);
		if (end >= 0 && k > end)
			break;
		if (strcmp(layouts[i].version, version) == 0) {
			*exact = 1;
			return &layouts[i];
		}
		best = &layouts[i];
	}
	/* only newer versions borrow a layout: older ones predate the table's
	 * first era and differ in ways no check would notice (tcache absent) */
	if (!best || want <= version_key(best->version))
		return NULL;
	return best;
}

void lm_glibc_layout_list(char *buf, size_t len, int mark_verified)
{
	size_t i, used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		int n = snprintf(buf + used, len - used, "%s%s%s", i ? ", " : "",
				 layouts[i].version,
				 mark_verified && layouts[i].verified ? "*" : "");
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}
