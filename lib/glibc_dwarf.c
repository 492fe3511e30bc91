/* SPDX-License-Identifier: MIT */
/*
 * glibc_dwarf.c - glibc's malloc layout from libc's DWARF (glibc_dwarf.h).
 *
 * glibc defines every structure the walker reads in malloc/malloc.c (it
 * includes arena.c), so one compilation unit holds them all: the unit whose
 * name is malloc.c and that defines struct malloc_state.
 */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <string.h>

#include "glibc_dwarf.h"

struct dw_ctx {
	char *why;
	size_t len;
};

/* Say in why which structure or field is missing. */
static int fail(struct dw_ctx *c, const char *what)
{
	snprintf(c->why, c->len, "%s", what);
	return -LM_ENOTFOUND;
}

/* The type a DIE's DW_AT_type names, through typedefs and qualifiers. */
static int type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	int hops;

	if (!dwarf_attr(die, DW_AT_type, &a) || !dwarf_formref_die(&a, out))
		return -LM_ENOTFOUND;
	for (hops = 0; hops < 16; hops++) {
		int tag = dwarf_tag(out);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type)
			return 0;
		if (!dwarf_attr(out, DW_AT_type, &a) || !dwarf_formref_die(&a, out))
			return -LM_ENOTFOUND;
	}
	return -LM_ENOTFOUND;
}

/* A complete struct named name among the unit's top-level DIEs. */
static int find_struct(Dwarf_Die *cu, const char *name, Dwarf_Die *out)
{
	Dwarf_Die d;

	if (dwarf_child(cu, &d) != 0)
		return -LM_ENOTFOUND;
	do {
		const char *n;
		if (dwarf_tag(&d) != DW_TAG_structure_type || dwarf_hasattr(&d, DW_AT_declaration))
			continue;
		n = dwarf_diename(&d);
		if (n && strcmp(n, name) == 0) {
			*out = d;
			return 0;
		}
	} while (dwarf_siblingof(&d, &d) == 0);
	return -LM_ENOTFOUND;
}

/* Member name of struct s: its offset, and its DIE in *m. */
static int member(Dwarf_Die *s, const char *name, unsigned *off, Dwarf_Die *m)
{
	Dwarf_Die d;

	if (dwarf_child(s, &d) != 0)
		return -LM_ENOTFOUND;
	do {
		const char *n = dwarf_diename(&d);
		Dwarf_Attribute a;
		Dwarf_Word w;
		if (dwarf_tag(&d) != DW_TAG_member || !n || strcmp(n, name) != 0)
			continue;
		if (!dwarf_attr(&d, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &w) != 0 ||
		    w > 1u << 20)
			return -LM_ENOTFOUND;
		*off = (unsigned)w;
		if (m)
			*m = d;
		return 0;
	} while (dwarf_siblingof(&d, &d) == 0);
	return -LM_ENOTFOUND;
}

/* An array member's element count and element size. */
static int array_shape(Dwarf_Die *m, unsigned *count, unsigned *elem)
{
	Dwarf_Die t, sub, e;
	Dwarf_Attribute a;
	Dwarf_Word n;

	if (type_of(m, &t) != 0 || dwarf_tag(&t) != DW_TAG_array_type || dwarf_child(&t, &sub) != 0)
		return -LM_ENOTFOUND;
	if (dwarf_attr(&sub, DW_AT_count, &a) && dwarf_formudata(&a, &n) == 0)
		;
	else if (dwarf_attr(&sub, DW_AT_upper_bound, &a) && dwarf_formudata(&a, &n) == 0)
		n++;
	else
		return -LM_ENOTFOUND;
	if (type_of(&t, &e) != 0 || n == 0 || n > 4096)
		return -LM_ENOTFOUND;
	{
		Dwarf_Word sz;
		if (dwarf_aggregate_size(&e, &sz) != 0 || sz == 0 || sz > 64)
			return -LM_ENOTFOUND;
		*elem = (unsigned)sz;
	}
	*count = (unsigned)n;
	return 0;
}

static int struct_size(Dwarf_Die *s, unsigned *size)
{
	int n = dwarf_bytesize(s);

	if (n <= 0 || n > 1 << 20)
		return -LM_ENOTFOUND;
	*size = (unsigned)n;
	return 0;
}

/* malloc_state: the fastbins may be absent (2.43+). */
static int read_arena(struct dw_ctx *c, Dwarf_Die *cu, struct lm_glibc_layout *L)
{
	Dwarf_Die s, m;
	unsigned n, el;

	if (find_struct(cu, "malloc_state", &s) || struct_size(&s, &L->ms_size))
		return fail(c, "no struct malloc_state in the debug info");
	if (member(&s, "mutex", &L->ms_mutex, NULL) || member(&s, "top", &L->ms_top, NULL) ||
	    member(&s, "next", &L->ms_next, NULL) ||
	    member(&s, "system_mem", &L->ms_system_mem, NULL) ||
	    member(&s, "bins", &L->ms_bins, &m) || array_shape(&m, &n, &el) || el != 8 || n % 2)
		return fail(c, "struct malloc_state lacks a field the walker reads");
	L->nbins = n / 2 + 1;
	if (member(&s, "fastbinsY", &L->ms_fastbins, &m) == 0) {
		if (array_shape(&m, &L->nfastbins, &el) || el != 8)
			return fail(c, "malloc_state.fastbinsY is not an array of pointers");
	} else {
		L->ms_fastbins = 0;
		L->nfastbins = 0;
	}
	return 0;
}

/* malloc_par: tcache_bins was renamed tcache_small_bins in 2.42. */
static int read_par(struct dw_ctx *c, Dwarf_Die *cu, struct lm_glibc_layout *L)
{
	Dwarf_Die s;

	if (find_struct(cu, "malloc_par", &s) || struct_size(&s, &L->mp_size))
		return fail(c, "no struct malloc_par in the debug info");
	if (member(&s, "arena_test", &L->mp_arena_test, NULL) ||
	    member(&s, "n_mmaps", &L->mp_n_mmaps, NULL) ||
	    member(&s, "n_mmaps_max", &L->mp_n_mmaps_max, NULL) ||
	    member(&s, "max_n_mmaps", &L->mp_max_n_mmaps, NULL) ||
	    member(&s, "mmapped_mem", &L->mp_mmapped_mem, NULL) ||
	    member(&s, "max_mmapped_mem", &L->mp_max_mmapped_mem, NULL) ||
	    member(&s, "sbrk_base", &L->mp_sbrk_base, NULL) ||
	    member(&s, "tcache_max_bytes", &L->mp_tcache_max_bytes, NULL) ||
	    member(&s, "tcache_count", &L->mp_tcache_count, NULL) ||
	    (member(&s, "tcache_bins", &L->mp_tcache_bins, NULL) &&
	     member(&s, "tcache_small_bins", &L->mp_tcache_bins, NULL)))
		return fail(c, "struct malloc_par lacks a field the walker reads");
	return 0;
}

static int read_heap_info(struct dw_ctx *c, Dwarf_Die *cu, struct lm_glibc_layout *L)
{
	Dwarf_Die s;

	if (find_struct(cu, "_heap_info", &s) || struct_size(&s, &L->hi_size))
		return fail(c, "no struct _heap_info in the debug info");
	if (member(&s, "ar_ptr", &L->hi_ar_ptr, NULL) || member(&s, "prev", &L->hi_prev, NULL) ||
	    member(&s, "size", &L->hi_used, NULL))
		return fail(c, "struct _heap_info lacks a field the walker reads");
	return 0;
}

/* tcache_perthread_struct and tcache_entry: counts (num_slots since 2.42,
 * counting down), entries, and what kind of key an entry carries. */
static int read_tcache(struct dw_ctx *c, Dwarf_Die *cu, struct lm_glibc_layout *L)
{
	Dwarf_Die s, e, m, t;
	unsigned size, off, n, el, nent, elent, key;

	if (find_struct(cu, "tcache_perthread_struct", &s) || struct_size(&s, &size))
		return fail(c, "no struct tcache_perthread_struct in the debug info");
	L->tcache_counts_down = member(&s, "counts", &off, &m) != 0;
	if ((L->tcache_counts_down && member(&s, "num_slots", &off, &m)) || off != 0 ||
	    array_shape(&m, &n, &el) || (el != 1 && el != 2))
		return fail(c, "tcache_perthread_struct has no counts array at its start");
	if (member(&s, "entries", &off, &m) || array_shape(&m, &nent, &elent) || elent != 8 ||
	    nent != n || off != n * el)
		return fail(c, "tcache_perthread_struct.entries does not follow the counts");
	L->tcache_bins = n;
	L->tcache_count_width = el;
	/* a malloc'ed struct: its chunk is the request plus the size word,
	 * rounded up to 16 */
	L->tcache_chunk_size = (size + 8 + 15) & ~15u;
	if (L->tcache_small_bins > n)
		L->tcache_small_bins = n;
	if (find_struct(cu, "tcache_entry", &e))
		return fail(c, "no struct tcache_entry in the debug info");
	if (member(&e, "key", &key, &m) != 0)
		L->tcache_key = LM_TCKEY_NONE;
	else if (key != 8 || type_of(&m, &t) != 0)
		return fail(c, "tcache_entry.key is not the second word");
	else
		L->tcache_key = dwarf_tag(&t) == DW_TAG_pointer_type ? LM_TCKEY_STRUCT : LM_TCKEY_RANDOM;
	return 0;
}

/* The compilation unit of malloc.c that defines struct malloc_state. */
static int malloc_unit(Dwarf *dbg, Dwarf_Die *out)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dbg, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, s;
		const char *name;
		if (dwarf_offdie(dbg, off + hsize, &cu) && (name = dwarf_diename(&cu))) {
			const char *b = strrchr(name, '/');
			b = b ? b + 1 : name;
			if (strcmp(b, "malloc.c") == 0 && find_struct(&cu, "malloc_state", &s) == 0) {
				*out = cu;
				return 0;
			}
		}
		off = next;
	}
	return -LM_ENOTFOUND;
}

int lm_glibc_layout_dwarf(int fd, const struct lm_glibc_layout *base,
			  struct lm_glibc_layout *out, char *why, size_t len)
{
	struct dw_ctx c = { why, len };
	Dwarf *dbg = dwarf_begin(fd, DWARF_C_READ);
	Dwarf_Die cu;
	int rc = -LM_ENOTFOUND;

	*out = *base;
	if (!dbg)
		return fail(&c, "no DWARF in the file");
	if (malloc_unit(dbg, &cu) != 0)
		fail(&c, "no compilation unit of malloc.c defines struct malloc_state");
	else if (read_arena(&c, &cu, out) == 0 && read_par(&c, &cu, out) == 0 &&
		 read_heap_info(&c, &cu, out) == 0 && read_tcache(&c, &cu, out) == 0)
		rc = 0;
	dwarf_end(dbg);
	return rc;
}
