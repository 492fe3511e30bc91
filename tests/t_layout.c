/* SPDX-License-Identifier: MIT */
/*
 * t_layout - print a glibc malloc layout, one "field value" line each:
 * the table's entry for VERSION, or with DEBUGFILE the layout read from
 * that libc debug file's DWARF (the table's entry as the base for what
 * DWARF does not hold). Tests diff the two.
 *
 *   t_layout VERSION [DEBUGFILE]
 *
 * Exit 0, 1 when the DWARF lacks something (the reason on stderr), 2 on a
 * usage error or a version not in the table.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "glibc_dwarf.h"
#include "glibc_layout.h"

#define F(name) printf("%s %llu\n", #name, (unsigned long long)L->name)

static void print_layout(const struct lm_glibc_layout *L)
{
	F(ms_size); F(ms_mutex); F(ms_fastbins); F(ms_top); F(ms_bins); F(ms_next);
	F(ms_system_mem); F(nfastbins); F(nbins);
	F(hi_size); F(hi_ar_ptr); F(hi_prev); F(hi_used); F(heap_max_size);
	F(mp_size); F(mp_arena_test); F(mp_n_mmaps); F(mp_n_mmaps_max); F(mp_max_n_mmaps);
	F(mp_mmapped_mem); F(mp_max_mmapped_mem); F(mp_sbrk_base); F(mp_tcache_bins);
	F(mp_tcache_max_bytes); F(mp_tcache_count);
	F(tcache_bins); F(tcache_small_bins); F(tcache_count_width); F(tcache_chunk_size);
	F(tcache_counts_down); F(tcache_max_bytes_max); F(tcache_dummy); F(tcache_key);
	F(safe_linking); F(mmap_tail);
}

int main(int argc, char **argv)
{
	const struct lm_glibc_layout *base;
	struct lm_glibc_layout L;
	char why[256];
	int fd, exact;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: t_layout VERSION [DEBUGFILE]\n");
		return 2;
	}
	base = lm_glibc_layout_nearest(argv[1], &exact);
	if (!base || !exact) {
		fprintf(stderr, "t_layout: glibc %s is not in the table\n", argv[1]);
		return 2;
	}
	if (argc == 2) {
		print_layout(base);
		return 0;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[2]);
		return 2;
	}
	if (lm_glibc_layout_dwarf(fd, base, &L, why, sizeof(why)) != 0) {
		fprintf(stderr, "t_layout: %s: %s\n", argv[2], why);
		close(fd);
		return 1;
	}
	close(fd);
	print_layout(&L);
	return 0;
}
