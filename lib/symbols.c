/* SPDX-License-Identifier: MIT */
/*
 * symbols.c - the target's modules and their ELF symbols at run-time
 * addresses (implements symbols.h and the pieces of symbols_part.h).
 *
 * How it works:
 *  1. Group the file-backed mappings of the memory source into modules: a
 *     module is a run of mappings of one file (same path and inode) at
 *     non-decreasing file offsets (the RELRO page repeats the offset before
 *     it); a mapping at offset 0 starts a new module (the same file loaded
 *     again); anonymous mappings between them (.bss) do not break the run.
 *  2. Open each module's file (lm_memsrc_open_mapping_file: map_files for
 *     live targets, the path for cores) with libelf and parse it on its own
 *     into a "part": the load bias comes from the PT_LOAD segment whose
 *     page-aligned file offset equals the lowest mapped offset: bias =
 *     mapping start - page-aligned p_vaddr. The writable PT_LOAD gives the
 *     module's data span (.data, .bss).
 *  3. A part holds the FUNC and OBJECT symbols from .dynsym and .symtab, and
 *     from the separate debug file <debug_root>/.build-id/xx/rest.debug when
 *     the file has a GNU build-id and that file exists (debug files have
 *     NOBITS sections, but their symbols carry the same addresses). They are
 *     deduplicated (same address and name), their names copied (and C++
 *     names demangled) into the part's string arena, and sorted. A file
 *     without .symtab (stripped) also gets VTABLE symbols for the vtables
 *     its C++ RTTI names (rtti.h), so its classes keep their names. A part
 *     for a census's table (lm_symtab_opts.data_only) leaves out the
 *     functions but the few the heap's checks look up by name; every symbol
 *     read still counts against the module's bounds, so both kinds of part
 *     agree on which modules are over them.
 *  4. The table puts the parts' symbols into one array sorted by address
 *     (modules are disjoint, so the parts' sorted runs usually are sorted
 *     already). Lookups use a second, dense index with one entry per
 *     distinct address (the preferred alias) and, for each entry, the
 *     nearest earlier entry that contains its start (its "parent"), so that
 *     an address past the end of a small symbol inside a bigger one still
 *     finds the bigger one.
 *
 * Parts exist so that lib/symcache.c can keep them across censuses of one
 * process: parsing and demangling are most of the cost of a table.
 *
 * Mapped files that cannot be opened or are not ELF (data files, locale
 * archives) are skipped, never an error; an ELF file whose program headers
 * do not match its mappings stays a module without symbols.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"
#include "rtti.h"
#include "symbols.h"
#include "symbols_part.h"

#define LM_PAGE_MASK 0xfffULL
/* Bound on parent-chain steps in a lookup: nesting deeper than this does not
 * occur in real symbol tables; the bound only guards against bad input. */
#define LM_MAX_NESTING 64
/* The lookup index's parent of an entry no earlier entry contains. */
#define LM_NO_PARENT (-1)
#define LM_MAX_MODULES 65535
/* Bounds on what one module's files may make us hold. The symbol count is
 * bounded by the file sizes already (a table lies in its file); the name
 * bytes are not: any number of symbols may share one long name. A module
 * over either bound is a crafted or broken file: its symbols are dropped,
 * with a warning. Names longer than LM_MAX_SYM_NAME are skipped one by one
 * (mangled C++ names reach a few KiB), and not demangled above
 * LM_MAX_DEMANGLE bytes. */
#define LM_MAX_SYMS_PER_MODULE (1u << 22)
#define LM_NAME_BYTES_PER_FILE_BYTE 8
#define LM_NAME_BYTES_SLACK (16u << 20)
#define LM_MAX_SYM_NAME 65536
/* Mappings of one file (dev, inode) that become modules of their own: a
 * process may map a file many times over; its symbols are read for the
 * first few only. */
#define LM_MAX_MODULES_PER_FILE 16
#define LM_DEFAULT_DEBUG_ROOT "/usr/lib/debug"
/* A vtable named from RTTI covers its offset-to-top, RTTI and first entry
 * words: the one address its objects point to (+16) is inside. */
#define LM_RTTI_VTABLE_SIZE 24

/* A symbol while a module is being read: names point into libelf's data. */
struct raw_sym {
	uint64_t addr, size;
	const char *raw;
	unsigned char kind, local;
};

struct raw_vec {
	struct raw_sym *v;
	size_t n, cap;
};

/* What a module's symbol tables may still add (see LM_MAX_SYMS_PER_MODULE). */
struct sym_budget {
	size_t syms_left;
	uint64_t name_bytes_left;
	int over;		/* a bound was hit: the module gets no symbols */
};

/* A string arena that grows; offsets stay valid, pointers are made at the end. */
struct arena {
	char *p;
	size_t len, cap;
};

/* A symbol's names before they are turned into pointers. */
struct name_offs {
	size_t raw_off, name_off;
};

struct lm_modpart {
	unsigned refs;
	struct lm_module mod;		/* path owned; lo and hi come from the span */
	struct lm_symbol *syms;		/* sorted like a table's, module 0 */
	size_t nsyms;
	char *names;			/* the string arena */
	size_t names_len;
	struct lm_file_id debug_id;
	char *why;			/* its symbols were dropped: why (a warning) */
	uint64_t bytes;			/* counted in held_parts */
};

struct lm_symtab {
	unsigned refs;
	struct lm_modpart **parts;	/* one per module, same order; held */
	struct lm_module *mods;		/* sorted by lo; path and name in the parts */
	size_t nmods;
	struct lm_symbol *syms;		/* sorted by address, then preference */
	size_t nsyms;
	/* lookup index: one entry per distinct address */
	uint64_t *lk_addr, *lk_end;
	uint32_t *lk_sym;
	int32_t *lk_parent;
	size_t nlk;
	/* modules whose file was not opened: how many, the first few reasons */
	size_t nunread;
	char *unread;			/* "why; why; ...", or NULL */
	uint64_t bytes;			/* counted in held_tables */
};

/* What every part and table of the process holds now (lm_symbols_held):
 * updated atomically, parts and tables live on several threads. */
static uint64_t held_parts, held_tables;

/* Reasons kept word for word in a warning; the rest are counted. */
#define LM_UNREAD_KEPT 3

/* ---------- small containers ---------- */

static int arena_add(struct arena *a, const char *s, size_t *off)
{
	size_t n = strlen(s) + 1;

	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4096;
		char *p;
		while (cap < a->len + n)
			cap *= 2;
		p = realloc(a->p, cap);
		if (!p)
			return -LM_ENOMEM;
		a->p = p;
		a->cap = cap;
	}
	memcpy(a->p + a->len, s, n);
	*off = a->len;
	a->len += n;
	return 0;
}

static int raw_push(struct raw_vec *rv, const struct raw_sym *s)
{
	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 1024;
		struct raw_sym *v = realloc(rv->v, cap * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->n++] = *s;
	return 0;
}

int lm_symbols_init(struct lm_err *err)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return lm_err_set(err, LM_EINVAL, "libelf is too old for this program (elf_version failed)");
	return 0;
}

void lm_file_id_of(int fd, struct lm_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (fstat(fd, &st) != 0)
		return;
	id->present = 1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	id->ctime = st.st_ctim;
}

int lm_file_id_equal(const struct lm_file_id *a, const struct lm_file_id *b)
{
	if (!a->present || !b->present)
		return a->present == b->present;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* ---------- modules from the mappings ---------- */

static int is_module_mapping(const struct lm_mapping *m)
{
	return m->path && m->path[0] == '/' && strncmp(m->path, "/dev/", 5) != 0 &&
	       strncmp(m->path, "/memfd:", 7) != 0 && strncmp(m->path, "/SYSV", 5) != 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Counts of modules per file (dev, inode), open addressing: how many times
 * the file of m has started a module, this one included. */
struct file_counts {
	struct { uint64_t key, ino; unsigned n; } *v;
	size_t cap;	/* power of two */
};

static unsigned file_count_add(struct file_counts *fc, const struct lm_mapping *m)
{
	uint64_t key = ((uint64_t)m->dev_major << 32) | m->dev_minor;
	size_t s = (size_t)(((m->inode ^ key * 31) * 0x9E3779B97F4A7C15ULL) >> 20) & (fc->cap - 1);

	while (fc->v[s].n && (fc->v[s].key != key || fc->v[s].ino != m->inode))
		s = (s + 1) & (fc->cap - 1);
	fc->v[s].key = key;
	fc->v[s].ino = m->inode;
	return ++fc->v[s].n;
}

/* One module per run of mappings of the same file at increasing offsets.
 * Maps are sorted by address, so the modules are too. A file that starts
 * more than LM_MAX_MODULES_PER_FILE modules (mapped over and over) gives
 * modules for the first ones only. */
int lm_modspans(const struct lm_maps *maps, struct lm_modspan **out, size_t *n_out,
		struct lm_err *err)
{
	struct lm_modspan *spans = NULL;
	size_t n = 0, cap = 0, i;
	const struct lm_mapping *last = NULL;
	struct file_counts fc = { NULL, 16 };
	int skipping = 0;

	while (fc.cap < 2 * maps->n)
		fc.cap *= 2;
	fc.v = calloc(fc.cap, sizeof(*fc.v));
	if (!fc.v)
		return lm_err_set(err, LM_ENOMEM, "out of memory grouping the target's mappings "
				  "into modules");
	for (i = 0; i < maps->n; i++) {
		const struct lm_mapping *m = &maps->v[i];
		if (!is_module_mapping(m))
			continue;
		if (last && (n > 0 || skipping) && strcmp(last->path, m->path) == 0 &&
		    last->inode == m->inode && m->offset >= last->offset && m->offset != 0) {
			if (!skipping && m->end > spans[n - 1].hi)
				spans[n - 1].hi = m->end;
			last = m;
			continue;
		}
		last = m;
		skipping = m->inode && file_count_add(&fc, m) > LM_MAX_MODULES_PER_FILE;
		if (skipping)
			continue;
		if (n == LM_MAX_MODULES)
			break;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct lm_modspan *ns = realloc(spans, ncap * sizeof(*ns));
			if (!ns) {
				free(spans);
				free(fc.v);
				return lm_err_set(err, LM_ENOMEM, "out of memory grouping the "
						  "target's mappings into modules");
			}
			spans = ns;
			cap = ncap;
		}
		spans[n].low = m;
		spans[n].lo = m->start;
		spans[n].hi = m->end;
		n++;
	}
	free(fc.v);
	*out = spans;
	*n_out = n;
	return 0;
}

/* ---------- reading one ELF file ---------- */

/* Load bias and data span from the program headers. Returns 0, or
 * -LM_ECORRUPT when no PT_LOAD matches the module's lowest mapping (then no
 * symbols). */
static int module_layout(Elf *elf, const struct lm_mapping *low, struct lm_module *mod)
{
	size_t nph = 0, i;
	int found = 0;

	if (elf_getphdrnum(elf, &nph) != 0 || nph == 0 || nph > 4096)
		return -LM_ECORRUPT;
	for (i = 0; i < nph && !found; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if ((ph.p_offset & ~LM_PAGE_MASK) == low->offset) {
			mod->bias = low->start - (ph.p_vaddr & ~LM_PAGE_MASK);
			found = 1;
		}
	}
	if (!found)
		return -LM_ECORRUPT;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;
		uint64_t lo, hi;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_W) || ph.p_memsz == 0)
			continue;
		lo = ph.p_vaddr + mod->bias;
		hi = lo + ph.p_memsz;
		if (mod->data_lo == 0 || lo < mod->data_lo)
			mod->data_lo = lo;
		if (hi > mod->data_hi)
			mod->data_hi = hi;
	}
	return 0;
}
static void read_build_id(Elf *elf, struct lm_module *mod)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t off = 0, next, name_off, desc_off;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0 &&
			    nh.n_descsz > 0 && nh.n_descsz <= 20) {
				const unsigned char *id = (unsigned char *)d->d_buf + desc_off;
				size_t k;
				for (k = 0; k < nh.n_descsz; k++)
					snprintf(mod->build_id + 2 * k, 3, "%02x", id[k]);
				return;
			}
			off = next;
		}
	}
}

static int is_vtable_name(const char *raw)
{
	return strncmp(raw, "_ZTV", 4) == 0;
}

/* Is a function of this name kept in a table of opts's kind? */
static int func_kept(const struct lm_symtab_opts *opts, const char *name)
{
	const char *const *k;

	if (!opts || !opts->data_only)
		return 1;
	for (k = opts->keep_funcs; k && *k; k++)
		if (strcmp(*k, name) == 0)
			return 1;
	return 0;
}

/* Append the FUNC and OBJECT symbols of every symbol table of elf (the
 * functions opts keeps), within the budget b (b->over set, and reading
 * stopped, when it runs out). Symbols left out count against the budget
 * too: whether a module is over it does not depend on the kind of table.
 * 0, or -LM_ENOMEM. */
static int read_symbols(Elf *elf, const struct lm_symtab_opts *opts, struct raw_vec *rv,
			int *has_symtab, struct sym_budget *b)
{
	Elf_Scn *scn = NULL;
	size_t shnum = 0;

	if (elf_getshdrnum(elf, &shnum) != 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, count;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		if (sh.sh_entsize == 0 || sh.sh_link >= shnum)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || d->d_size == 0)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			*has_symtab = 1;
		count = d->d_size / sh.sh_entsize;
		for (i = 0; i < count; i++) {
			GElf_Sym s;
			struct raw_sym r;
			int type;
			const char *name;
			size_t len;

			if (!gelf_getsym(d, (int)i, &s))
				break;
			type = GELF_ST_TYPE(s.st_info);
			if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_OBJECT)
				continue;
			if (s.st_shndx == SHN_UNDEF || s.st_shndx == SHN_ABS || s.st_value == 0)
				continue;
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			len = strnlen(name, LM_MAX_SYM_NAME + 1);
			if (len > LM_MAX_SYM_NAME)
				continue;
			if (b->syms_left == 0 || len > b->name_bytes_left) {
				b->over = 1;
				return 0;
			}
			b->syms_left--;
			b->name_bytes_left -= len;
			r.addr = s.st_value;
			r.size = s.st_size;
			r.raw = name;
			if (type == STT_OBJECT)
				r.kind = is_vtable_name(name) ? LM_SYM_VTABLE : LM_SYM_OBJECT;
			else
				r.kind = LM_SYM_FUNC;
			if (r.kind == LM_SYM_FUNC && !func_kept(opts, name))
				continue;
			r.local = GELF_ST_BIND(s.st_info) == STB_LOCAL;
			if (raw_push(rv, &r) < 0)
				return -LM_ENOMEM;
		}
	}
	return 0;
}

static int cmp_raw_addr_name(const void *a, const void *b)
{
	const struct raw_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->raw, y->raw);
}

/* Collapse entries with the same address and name (.dynsym and .symtab and
 * the debug file list the same symbols): keep the largest size, global
 * binding if any copy is global. */
static void dedup_raw(struct raw_vec *rv)
{
	size_t i, o = 0;

	if (rv->n == 0)
		return;
	qsort(rv->v, rv->n, sizeof(rv->v[0]), cmp_raw_addr_name);
	for (i = 1; i < rv->n; i++) {
		struct raw_sym *k = &rv->v[o], *s = &rv->v[i];
		if (s->addr == k->addr && strcmp(s->raw, k->raw) == 0) {
			if (s->size > k->size)
				k->size = s->size;
			if (!s->local)
				k->local = 0;
			continue;
		}
		rv->v[++o] = *s;
	}
	rv->n = o + 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Is [addr, addr + 24) inside one of the sorted vtable spans (lo, hi)? */
static int in_vtable(const uint64_t *spans, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (spans[2 * mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* spans may nest or overlap: look back a few */
	for (hi = lo; hi > 0 && lo - hi < 8; hi--)
		if (addr < spans[2 * (hi - 1) + 1])
			return 1;
	return 0;
}

/* A module without .symtab (stripped): its vtables named by their RTTI
 * (rtti.h), those no symbol names already. The names are in *vt, which the
 * caller frees after copying them. 0, or -LM_ENOMEM. */
static int add_rtti_vtables(Elf *elf, struct raw_vec *rv, struct sym_budget *b,
			    struct lm_rtti_vtable **vt, size_t *nvt)
{
	uint64_t *spans;
	size_t i, nspans = 0;
	int rc = 0;

	if ((rc = lm_rtti_vtables(elf, b->syms_left, vt, nvt)) < 0)
		return rc;
	if (*nvt == 0)
		return 0;
	spans = malloc((rv->n + 1) * 2 * sizeof(*spans));
	if (!spans)
		return -LM_ENOMEM;
	for (i = 0; i < rv->n; i++)
		if (rv->v[i].kind == LM_SYM_VTABLE) {
			spans[2 * nspans] = rv->v[i].addr;
			spans[2 * nspans++ + 1] = rv->v[i].addr + (rv->v[i].size ? rv->v[i].size : 1);
		}
	qsort(spans, nspans, 2 * sizeof(*spans), cmp_u64);
	for (i = 0; i < *nvt && rc >= 0; i++) {
		struct raw_sym r = { (*vt)[i].addr, LM_RTTI_VTABLE_SIZE, (*vt)[i].raw,
				     LM_SYM_VTABLE, 1 };
		size_t len = strlen(r.raw);

		if (in_vtable(spans, nspans, r.addr))
			continue;
		if (b->syms_left == 0 || len > b->name_bytes_left)
			break;	/* what the budget allows; the rest stay unnamed */
		b->syms_left--;
		b->name_bytes_left -= len;
		rc = raw_push(rv, &r);
	}
	free(spans);
	return rc;
}

static Elf *open_elf(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

/* ---------- the sorted array and its lookup index ---------- */

static int leading_underscores(const char *s)
{
	int k = 0;
	while (s[k] == '_')
		k++;
	return k;
}

/* Among aliases at one address, which name is shown: vtables, then objects
 * and functions with a size, then global before local, then the name with
 * the fewest leading underscores, the shortest, the first alphabetically.
 * Deterministic, because names are stable keys in the database. */
static int kind_rank(const struct lm_symbol *s)
{
	if (s->kind == LM_SYM_VTABLE)
		return 0;
	if (s->size == 0)
		return 3;
	return s->kind == LM_SYM_OBJECT ? 1 : 2;
}

static int cmp_symbol(const void *a, const void *b)
{
	const struct lm_symbol *x = a, *y = b;
	int d;
	size_t lx, ly;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((d = kind_rank(x) - kind_rank(y)) != 0)
		return d;
	if (x->local != y->local)
		return x->local - y->local;
	if ((d = leading_underscores(x->raw) - leading_underscores(y->raw)) != 0)
		return d;
	lx = strlen(x->raw);
	ly = strlen(y->raw);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->raw, y->raw);
}

static int build_index(struct lm_symtab *tab)
{
	size_t i, n = 0;

	tab->lk_addr = malloc((tab->nsyms + 1) * sizeof(uint64_t));
	tab->lk_end = malloc((tab->nsyms + 1) * sizeof(uint64_t));
	tab->lk_sym = malloc((tab->nsyms + 1) * sizeof(uint32_t));
	tab->lk_parent = malloc((tab->nsyms + 1) * sizeof(int32_t));
	if (!tab->lk_addr || !tab->lk_end || !tab->lk_sym || !tab->lk_parent)
		return -LM_ENOMEM;
	for (i = 0; i < tab->nsyms; i++) {
		const struct lm_symbol *s = &tab->syms[i];
		int32_t k;
		int steps = 0;

		if (n > 0 && tab->lk_addr[n - 1] == s->addr)
			continue;	/* an alias: the first (preferred) one stays */
		tab->lk_addr[n] = s->addr;
		tab->lk_end[n] = s->addr + s->size;
		tab->lk_sym[n] = (uint32_t)i;
		/* parent: the nearest earlier entry containing this start */
		k = (int32_t)n - 1;
		while (k >= 0 && tab->lk_end[k] <= s->addr && steps++ < LM_MAX_NESTING)
			k = tab->lk_parent[k];
		tab->lk_parent[n] = (k >= 0 && tab->lk_end[k] > s->addr) ? k : LM_NO_PARENT;
		n++;
	}
	tab->nlk = n;
	return 0;
}

static const char *root_or_default(const char *debug_root)
{
	return debug_root ? debug_root : LM_DEFAULT_DEBUG_ROOT;
}

static const char *opts_root(const struct lm_symtab_opts *opts)
{
	return opts ? opts->debug_root : NULL;
}

/* The debug file of a module with this build-id: ".build-id/xx/rest.debug"
 * below the debug root, opened as lm_mapfile_open_debug() does (nothing
 * below the root followed, regular files of bounded size only; the name is
 * hex digits read_build_id wrote, so it stays below the root). An fd, -1
 * when there is nothing to look for, -2 when no usable file is there. */
static int open_debug_file(const char *debug_root, const char *build_id)
{
	const char *root = root_or_default(debug_root);
	char rel[64];
	int fd;

	if (!*root || strlen(build_id) < 4)
		return -1;
	snprintf(rel, sizeof(rel), ".build-id/%.2s/%s.debug", build_id, build_id + 2);
	fd = lm_mapfile_open_debug(root, rel, NULL);
	return fd < 0 ? -2 : fd;
}

int lm_modpart_debug_id_now(const struct lm_modpart *p, const char *debug_root,
			    struct lm_file_id *id)
{
	int fd = open_debug_file(debug_root, p->mod.build_id);

	memset(id, 0, sizeof(*id));
	if (fd == -1)
		return -LM_ENOTFOUND;
	if (fd >= 0) {
		lm_file_id_of(fd, id);
		close(fd);
	}
	return 0;
}

const struct lm_file_id *lm_modpart_debug_id(const struct lm_modpart *p)
{
	return &p->debug_id;
}

/* ---------- one module's part ---------- */

/* Copy the names of rv's symbols into ar (C++ names demangled too). 0, or
 * -LM_ENOMEM. */
static int add_names(const struct raw_vec *rv, struct arena *ar, struct name_offs *offs)
{
	size_t i;

	for (i = 0; i < rv->n; i++) {
		const struct raw_sym *s = &rv->v[i];
		char *dem;
		int rc;

		if (arena_add(ar, s->raw, &offs[i].raw_off) < 0)
			return -LM_ENOMEM;
		dem = s->kind == LM_SYM_VTABLE ? lm_demangle(s->raw + 4, 1) : lm_demangle(s->raw, 0);
		if (!dem) {
			offs[i].name_off = offs[i].raw_off;
			continue;
		}
		rc = arena_add(ar, dem, &offs[i].name_off);
		free(dem);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The part's symbols from rv: names in its own arena, trimmed to size (a
 * cache keeps it for long), sorted the way a table is. 0, or -LM_ENOMEM. */
static int part_symbols(struct lm_modpart *p, const struct raw_vec *rv)
{
	struct name_offs *offs = malloc((rv->n + 1) * sizeof(*offs));
	struct arena ar = { 0 };
	size_t i;

	p->syms = malloc((rv->n + 1) * sizeof(*p->syms));
	if (!offs || !p->syms || add_names(rv, &ar, offs) < 0)
		goto nomem;
	p->names = ar.len ? realloc(ar.p, ar.len) : ar.p;
	if (!p->names && ar.len)
		goto nomem;
	p->names_len = ar.len;
	for (i = 0; i < rv->n; i++) {
		struct lm_symbol *s = &p->syms[i];
		s->addr = rv->v[i].addr + p->mod.bias;
		s->size = rv->v[i].size;
		s->raw = p->names + offs[i].raw_off;
		s->name = p->names + offs[i].name_off;
		s->kind = rv->v[i].kind;
		s->local = rv->v[i].local;
		s->module = 0;
	}
	p->nsyms = rv->n;
	qsort(p->syms, p->nsyms, sizeof(*p->syms), cmp_symbol);
	free(offs);
	return 0;
nomem:
	free(offs);
	free(ar.p);
	return -LM_ENOMEM;
}

/* Name bytes a file of fd's size may legitimately hold, added to b. */
static void budget_add_file(struct sym_budget *b, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && st.st_size > 0)
		b->name_bytes_left += (uint64_t)st.st_size * LM_NAME_BYTES_PER_FILE_BYTE;
}

/* Symbols of the separate debug file, when there is one. The names point
 * into *dbg, which the caller ends after copying them (and closes *dfd).
 * 0, or -LM_ENOMEM. */
static int read_debug_file(struct lm_modpart *p, const struct lm_symtab_opts *opts,
			   struct raw_vec *rv, Elf **dbg, int *dfd, struct sym_budget *b)
{
	int dbg_symtab = 0;
	size_t left = b->syms_left;	/* what it reads, kept or not, is spent */

	*dfd = open_debug_file(opts_root(opts), p->mod.build_id);
	if (*dfd < 0)
		return 0;
	lm_file_id_of(*dfd, &p->debug_id);
	*dbg = open_elf(*dfd);
	if (!*dbg)
		return 0;
	budget_add_file(b, *dfd);
	if (read_symbols(*dbg, opts, rv, &dbg_symtab, b) < 0)
		return -LM_ENOMEM;
	if (dbg_symtab && b->syms_left < left) {
		p->mod.debug_file = 1;
		p->mod.has_symtab = 1;
	}
	return 0;
}

/* Layout, build-id and symbols of an ELF file open on fd. 0, or
 * -LM_ENOMEM. */
static int part_fill(struct lm_modpart *p, Elf *elf, int fd, const struct lm_mapping *low,
		     const struct lm_symtab_opts *opts)
{
	struct sym_budget b = { LM_MAX_SYMS_PER_MODULE, LM_NAME_BYTES_SLACK, 0 };
	struct raw_vec rv = { 0 };
	struct lm_rtti_vtable *vt = NULL;
	size_t nvt = 0;
	Elf *dbg = NULL;
	int dfd = -1, rc = 0;

	if (module_layout(elf, low, &p->mod) < 0)
		return 0;	/* an ELF file we cannot place: no symbols */
	read_build_id(elf, &p->mod);
	budget_add_file(&b, fd);
	if (read_symbols(elf, opts, &rv, &p->mod.has_symtab, &b) < 0 ||
	    (!b.over && p->mod.build_id[0] &&
	     read_debug_file(p, opts, &rv, &dbg, &dfd, &b) < 0))
		rc = -LM_ENOMEM;
	if (rc == 0 && !b.over && !p->mod.has_symtab &&
	    add_rtti_vtables(elf, &rv, &b, &vt, &nvt) < 0)
		rc = -LM_ENOMEM;
	if (rc == 0 && b.over) {
		char why[512];
		snprintf(why, sizeof(why), "%s: symbol tables skipped (more than %u symbols or "
			 "more name bytes than its files could hold: a crafted or corrupt file)",
			 p->mod.path, LM_MAX_SYMS_PER_MODULE);
		rv.n = 0;
		p->mod.has_symtab = 0;
		p->mod.debug_file = 0;
		if (!(p->why = strdup(why)))
			rc = -LM_ENOMEM;
	}
	if (rc == 0) {
		dedup_raw(&rv);
		rc = part_symbols(p, &rv);
	}
	free(rv.v);
	lm_rtti_free(vt, nvt);
	if (dbg)
		elf_end(dbg);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int lm_modpart_load(int fd, const struct lm_mapping *low, const struct lm_symtab_opts *opts,
		    struct lm_modpart **out)
{
	Elf *elf = open_elf(fd);
	struct lm_modpart *p;
	int rc;

	*out = NULL;
	if (!elf)
		return 0;	/* a mapped data file, not a module */
	p = calloc(1, sizeof(*p));
	if (!p || !(p->mod.path = strdup(low->path))) {
		free(p);
		elf_end(elf);
		return -LM_ENOMEM;
	}
	p->refs = 1;
	p->mod.name = base_name(p->mod.path);
	rc = part_fill(p, elf, fd, low, opts);
	elf_end(elf);
	if (rc < 0) {
		lm_modpart_put(p);
		return rc;
	}
	p->bytes = sizeof(*p) + strlen(p->mod.path) + 1 + p->nsyms * sizeof(*p->syms) +
		   p->names_len;
	__atomic_add_fetch(&held_parts, p->bytes, __ATOMIC_RELAXED);
	*out = p;
	return 1;
}

/* Atomic: lib/symcache.c shares parts between the caches of processes
 * censused by different threads. */
struct lm_modpart *lm_modpart_hold(struct lm_modpart *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

unsigned lm_modpart_refs(const struct lm_modpart *p)
{
	return __atomic_load_n(&p->refs, __ATOMIC_ACQUIRE);
}

void lm_modpart_put(struct lm_modpart *p)
{
	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	__atomic_sub_fetch(&held_parts, p->bytes, __ATOMIC_RELAXED);
	free(p->mod.path);
	free(p->syms);
	free(p->names);
	free(p->why);
	free(p);
}

/* ---------- the table ---------- */

/* Atomic: lib/symcache.c shares tables between the caches of processes
 * laid out alike, which different threads use and free. */
struct lm_symtab *lm_symtab_hold(struct lm_symtab *tab)
{
	__atomic_add_fetch(&tab->refs, 1, __ATOMIC_RELAXED);
	return tab;
}

unsigned lm_symtab_refs(const struct lm_symtab *tab)
{
	return __atomic_load_n(&tab->refs, __ATOMIC_ACQUIRE);
}

void lm_symtab_free(struct lm_symtab *tab)
{
	size_t i;

	if (!tab || __atomic_sub_fetch(&tab->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	__atomic_sub_fetch(&held_tables, tab->bytes, __ATOMIC_RELAXED);
	for (i = 0; i < tab->nmods; i++)
		lm_modpart_put(tab->parts[i]);
	free(tab->parts);
	free(tab->mods);
	free(tab->syms);
	free(tab->lk_addr);
	free(tab->lk_end);
	free(tab->lk_sym);
	free(tab->lk_parent);
	free(tab->unread);
	free(tab);
}

int lm_symtab_note_unreadable(struct lm_symtab *tab, const char *why)
{
	size_t have = tab->unread ? strlen(tab->unread) : 0, add = strlen(why);
	char *v;

	if (tab->nunread++ >= LM_UNREAD_KEPT)
		return 0;
	v = realloc(tab->unread, have + add + 3);
	if (!v)
		return -LM_ENOMEM;
	snprintf(v + have, add + 3, "%s%s", have ? "; " : "", why);
	tab->unread = v;
	return 0;
}

size_t lm_symtab_unreadable(const struct lm_symtab *tab, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	if (!tab || !tab->nunread)
		return 0;
	if (tab->nunread > LM_UNREAD_KEPT)
		snprintf(buf, len, "symbols missing for %zu modules: %s (and %zu more)",
			 tab->nunread, tab->unread ? tab->unread : "", tab->nunread - LM_UNREAD_KEPT);
	else
		snprintf(buf, len, "symbols missing for %zu module%s: %s", tab->nunread,
			 tab->nunread == 1 ? "" : "s", tab->unread ? tab->unread : "");
	return tab->nunread;
}

/* The end of a module: its span reaches over its .bss beyond the file,
 * which lives in an anonymous mapping. */
static uint64_t module_hi(const struct lm_modpart *p, const struct lm_modspan *span)
{
	if (p->mod.data_hi > span->hi)
		return (p->mod.data_hi + LM_PAGE_MASK) & ~LM_PAGE_MASK;
	return span->hi;
}

/* The modules with a part, in span order. 0, or -LM_ENOMEM. */
static int table_modules(struct lm_symtab *tab, struct lm_modpart *const *parts,
			 const struct lm_modspan *spans, size_t n)
{
	size_t i;

	tab->parts = malloc((n + 1) * sizeof(*tab->parts));
	tab->mods = malloc((n + 1) * sizeof(*tab->mods));
	if (!tab->parts || !tab->mods)
		return -LM_ENOMEM;
	for (i = 0; i < n; i++) {
		struct lm_module *m = &tab->mods[tab->nmods];
		if (!parts[i])
			continue;
		tab->parts[tab->nmods++] = lm_modpart_hold(parts[i]);
		*m = parts[i]->mod;
		m->lo = spans[i].lo;
		m->hi = module_hi(parts[i], &spans[i]);
		tab->nsyms += parts[i]->nsyms;
	}
	return 0;
}

/* Concatenate the parts' sorted runs; sort only when modules overlap. 0,
 * or -LM_ENOMEM. */
static int table_symbols(struct lm_symtab *tab)
{
	size_t i, k, n = 0;
	int sorted = 1;

	tab->syms = malloc((tab->nsyms + 1) * sizeof(*tab->syms));
	if (!tab->syms)
		return -LM_ENOMEM;
	for (k = 0; k < tab->nmods; k++) {
		const struct lm_modpart *p = tab->parts[k];
		for (i = 0; i < p->nsyms; i++) {
			tab->syms[n] = p->syms[i];
			tab->syms[n].module = (unsigned short)k;
			n++;
		}
	}
	for (i = 1; i < n && sorted; i++)
		if (tab->syms[i].module != tab->syms[i - 1].module)
			sorted = cmp_symbol(&tab->syms[i - 1], &tab->syms[i]) <= 0;
	if (!sorted)
		qsort(tab->syms, n, sizeof(*tab->syms), cmp_symbol);
	return 0;
}

int lm_symtab_assemble(struct lm_modpart *const *parts, const struct lm_modspan *spans,
		       size_t n, struct lm_symtab **out)
{
	struct lm_symtab *tab = calloc(1, sizeof(*tab));

	*out = NULL;
	if (!tab)
		return -LM_ENOMEM;
	tab->refs = 1;
	if (table_modules(tab, parts, spans, n) < 0 || table_symbols(tab) < 0 ||
	    build_index(tab) < 0) {
		lm_symtab_free(tab);
		return -LM_ENOMEM;
	}
	for (size_t i = 0; i < tab->nmods; i++)
		if (tab->parts[i]->why && lm_symtab_note_unreadable(tab, tab->parts[i]->why) < 0) {
			lm_symtab_free(tab);
			return -LM_ENOMEM;
		}
	tab->bytes = sizeof(*tab) + (tab->nmods + 1) * (sizeof(*tab->parts) + sizeof(*tab->mods)) +
		     (tab->nsyms + 1) * (sizeof(*tab->syms) + 2 * sizeof(uint64_t) +
					 sizeof(uint32_t) + sizeof(int32_t));
	__atomic_add_fetch(&held_tables, tab->bytes, __ATOMIC_RELAXED);
	*out = tab;
	return 0;
}

int lm_symtab_built_from(const struct lm_symtab *tab, struct lm_modpart *const *parts,
			 const struct lm_modspan *spans, size_t n)
{
	size_t i, k = 0;

	if (tab->nunread)
		return 0;
	for (i = 0; i < n; i++) {
		if (!parts[i])
			continue;
		if (k == tab->nmods || tab->parts[k] != parts[i] || tab->mods[k].lo != spans[i].lo)
			return 0;
		if (tab->mods[k].hi != module_hi(parts[i], &spans[i]))
			return 0;
		k++;
	}
	return k == tab->nmods;
}

void lm_symbols_held(uint64_t *parts, uint64_t *tables)
{
	*parts = __atomic_load_n(&held_parts, __ATOMIC_RELAXED);
	*tables = __atomic_load_n(&held_tables, __ATOMIC_RELAXED);
}

/* The part of one module, or NULL when its file cannot be opened or is not
 * ELF. Returns 0, or -LM_ENOMEM. */
static int load_span(const struct lm_memsrc *src, const struct lm_modspan *span,
		     const struct lm_symtab_opts *opts, struct lm_modpart **part, char **why)
{
	struct lm_err err;
	int fd = lm_memsrc_open_mapping_file(src, span->low, &err), rc;

	*part = NULL;
	if (fd < 0) {
		*why = strdup(err.msg);	/* not readable: skipped, said in a warning */
		return *why ? 0 : -LM_ENOMEM;
	}
	rc = lm_modpart_load(fd, span->low, opts, part);
	close(fd);
	return rc < 0 ? rc : 0;
}

int lm_symtab_load(const struct lm_memsrc *src, const struct lm_symtab_opts *opts,
		   struct lm_symtab **out, struct lm_err *err)
{
	struct lm_modspan *spans = NULL;
	struct lm_modpart **parts = NULL;
	char **why = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	if ((rc = lm_symbols_init(err)) < 0 || (rc = lm_modspans(&src->maps, &spans, &n, err)) < 0)
		return rc;
	parts = calloc(n + 1, sizeof(*parts));
	why = calloc(n + 1, sizeof(*why));
	rc = parts && why ? 0 : -LM_ENOMEM;
	for (i = 0; i < n && rc >= 0; i++)
		rc = load_span(src, &spans[i], opts, &parts[i], &why[i]);
	if (rc >= 0)
		rc = lm_symtab_assemble(parts, spans, n, out);
	for (i = 0; rc >= 0 && i < n; i++)
		if (why[i])
			rc = lm_symtab_note_unreadable(*out, why[i]);
	if (rc < 0 && *out) {
		lm_symtab_free(*out);
		*out = NULL;
	}
	for (i = 0; parts && i < n; i++)
		lm_modpart_put(parts[i]);
	for (i = 0; why && i < n; i++)
		free(why[i]);
	free(why);
	free(parts);
	free(spans);
	if (rc < 0)	/* every failure above is out of memory */
		return lm_err_set(err, LM_ENOMEM, "out of memory loading the symbols of pid %d",
				  (int)src->pid);
	return 0;
}

/* ---------- queries ---------- */

size_t lm_symtab_nmodules(const struct lm_symtab *tab)
{
	return tab->nmods;
}

const struct lm_module *lm_symtab_module_at(const struct lm_symtab *tab, size_t i)
{
	return i < tab->nmods ? &tab->mods[i] : NULL;
}

size_t lm_symtab_nsymbols(const struct lm_symtab *tab)
{
	return tab->nsyms;
}

const struct lm_symbol *lm_symtab_symbol_at(const struct lm_symtab *tab, size_t i)
{
	return i < tab->nsyms ? &tab->syms[i] : NULL;
}

const struct lm_module *lm_symtab_module(const struct lm_symtab *tab, uint64_t addr)
{
	size_t lo = 0, hi = tab->nmods;

	/* last module with lo <= addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tab->mods[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	return addr < tab->mods[lo - 1].hi ? &tab->mods[lo - 1] : NULL;
}

const struct lm_module *lm_symtab_module_named(const struct lm_symtab *tab, const char *name)
{
	size_t i;

	for (i = 0; i < tab->nmods; i++)
		if (strcmp(tab->mods[i].name, name) == 0 || strcmp(tab->mods[i].path, name) == 0)
			return &tab->mods[i];
	return NULL;
}

/* Index of the last lookup entry with address <= addr, or -1. */
static ssize_t last_at_or_below(const struct lm_symtab *tab, uint64_t addr)
{
	size_t lo = 0, hi = tab->nlk;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tab->lk_addr[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

const struct lm_symbol *lm_symtab_lookup(const struct lm_symtab *tab, uint64_t addr)
{
	ssize_t j = last_at_or_below(tab, addr);
	int steps;

	for (steps = 0; j >= 0 && steps < LM_MAX_NESTING; steps++) {
		if (addr < tab->lk_end[j] || addr == tab->lk_addr[j])
			return &tab->syms[tab->lk_sym[j]];
		j = tab->lk_parent[j];
	}
	return NULL;
}

const struct lm_symbol *lm_symtab_nearest(const struct lm_symtab *tab, uint64_t addr)
{
	const struct lm_module *mod = lm_symtab_module(tab, addr);
	ssize_t j = last_at_or_below(tab, addr), k;
	const struct lm_symbol *first = NULL;

	if (!mod || j < 0)
		return NULL;
	/* prefer a function (stack frames); look back a little for one */
	for (k = j; k >= 0 && j - k < 32; k--) {
		const struct lm_symbol *s = &tab->syms[tab->lk_sym[k]];
		if (&tab->mods[s->module] != mod)
			break;
		if (!first)
			first = s;
		if (s->kind == LM_SYM_FUNC)
			return s;
	}
	return first;
}

const struct lm_symbol *lm_symtab_by_name(const struct lm_symtab *tab, const char *name)
{
	size_t i;

	for (i = 0; i < tab->nsyms; i++)
		if (strcmp(tab->syms[i].raw, name) == 0 || strcmp(tab->syms[i].name, name) == 0)
			return &tab->syms[i];
	return NULL;
}

const struct lm_mapping *lm_module_mapping(const struct lm_memsrc *src,
					   const struct lm_module *m)
{
	size_t i;

	for (i = 0; i < src->maps.n; i++) {
		const struct lm_mapping *map = &src->maps.v[i];
		if (map->path && !strcmp(map->path, m->path) && map->start >= m->lo &&
		    map->start < m->hi)
			return map;
	}
	return NULL;
}
