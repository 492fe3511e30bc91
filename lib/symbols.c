/*
 * symbols.c - the target's modules and their ELF symbols at run-time
 * addresses (implements symbols.h).
 *
 * How it works:
 *  1. Group the file-backed mappings of the memory source into modules: a
 *     module is a run of mappings of one file (same path and inode) at
 *     non-decreasing file offsets (the RELRO page repeats the offset before
 *     it); a mapping at offset 0 starts a new module (the same file loaded
 *     again); anonymous mappings between them (.bss) do not break the run.
 *  2. Open each module's file (lm_memsrc_open_mapping_file: map_files for
 *     live targets, the path for cores) with libelf. The load bias comes from
 *     the PT_LOAD segment whose page-aligned file offset equals the lowest
 *     mapped offset: bias = mapping start - page-aligned p_vaddr. The
 *     writable PT_LOAD gives the module's data span (.data, .bss).
 *  3. Read FUNC and OBJECT symbols from .dynsym and .symtab, and from the
 *     separate debug file <debug_root>/.build-id/xx/rest.debug when the
 *     file has a GNU build-id and that file exists (debug files have NOBITS
 *     sections, but their symbols carry the same addresses). Symbols of one
 *     module are deduplicated (same address and name), then the names are
 *     copied (and C++ names demangled) into one string arena.
 *  4. All symbols go into one array sorted by address. Lookups use a second,
 *     dense index with one entry per distinct address (the preferred alias)
 *     and, for each entry, the nearest earlier entry that contains its start
 *     (its "parent"), so that an address past the end of a small symbol
 *     inside a bigger one still finds the bigger one.
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

#include "symbols.h"

/* From the C++ runtime (libstdc++); the build links -lstdc++. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define LM_PAGE_MASK 0xfffULL
/* Bound on parent-chain steps in a lookup: nesting deeper than this does not
 * occur in real symbol tables; the bound only guards against bad input. */
#define LM_MAX_NESTING 64
#define LM_MAX_MODULES 65535

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

/* A string arena that grows; offsets stay valid, pointers are made at the end. */
struct arena {
	char *p;
	size_t len, cap;
};

/* A symbol before its names are turned into pointers. */
struct sym_rec {
	uint64_t addr, size;
	size_t raw_off, name_off;
	unsigned char kind, local;
	unsigned short module;
};

struct lm_symtab {
	struct lm_module *mods;		/* sorted by lo */
	size_t nmods;
	struct lm_symbol *syms;		/* sorted by address, then preference */
	size_t nsyms;
	char *names;			/* the string arena */
	/* lookup index: one entry per distinct address */
	uint64_t *lk_addr, *lk_end;
	uint32_t *lk_sym;
	int32_t *lk_parent;
	size_t nlk;
};

/* ---------- demangling ---------- */

char *lm_demangle(const char *mangled, int is_type)
{
	int status = 0;
	char *out;

	if (!mangled || !*mangled)
		return NULL;
	if (!is_type && strncmp(mangled, "_Z", 2) != 0)
		return NULL;
	out = __cxa_demangle(mangled, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---------- small containers ---------- */

static int arena_add(struct arena *a, const char *s, size_t *off)
{
	size_t n = strlen(s) + 1;

	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 65536;
		char *p;
		while (cap < a->len + n)
			cap *= 2;
		p = realloc(a->p, cap);
		if (!p)
			return -1;
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
			return -1;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->n++] = *s;
	return 0;
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

/*
 * One module per run of mappings of the same file at increasing offsets.
 * first[i] is the index in src->maps of module i's lowest mapping.
 */
static int group_modules(const struct lm_maps *maps, struct lm_module **mods_out,
			 size_t **first_out, size_t *n_out, struct lm_err *err)
{
	struct lm_module *mods = NULL;
	size_t *first = NULL, n = 0, cap = 0, i;
	const struct lm_mapping *last = NULL;

	for (i = 0; i < maps->n; i++) {
		const struct lm_mapping *m = &maps->v[i];
		if (!is_module_mapping(m))
			continue;
		if (last && n > 0 && strcmp(last->path, m->path) == 0 &&
		    last->inode == m->inode && m->offset >= last->offset && m->offset != 0) {
			struct lm_module *mod = &mods[n - 1];
			if (m->end > mod->hi)
				mod->hi = m->end;
			last = m;
			continue;
		}
		if (n == LM_MAX_MODULES)
			break;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct lm_module *nm = realloc(mods, ncap * sizeof(*nm));
			size_t *nf;
			if (!nm)
				goto nomem;
			mods = nm;
			nf = realloc(first, ncap * sizeof(*nf));
			if (!nf)
				goto nomem;
			first = nf;
			cap = ncap;
		}
		memset(&mods[n], 0, sizeof(mods[n]));
		mods[n].path = strdup(m->path);
		if (!mods[n].path)
			goto nomem;
		mods[n].name = base_name(mods[n].path);
		mods[n].lo = m->start;
		mods[n].hi = m->end;
		first[n] = i;
		n++;
		last = m;
	}
	*mods_out = mods;
	*first_out = first;
	*n_out = n;
	return 0;
nomem:
	for (i = 0; i < n; i++)
		free(mods[i].path);
	free(mods);
	free(first);
	return lm_err_set(err, LM_ENOMEM, "out of memory grouping the target's mappings into modules");
}

/* ---------- reading one ELF file ---------- */

/* Load bias and data span from the program headers. Returns 0, or -1 when
 * no PT_LOAD matches the module's lowest mapping (then no symbols). */
static int module_layout(Elf *elf, const struct lm_mapping *low, struct lm_module *mod)
{
	size_t nph = 0, i;
	int found = 0;

	if (elf_getphdrnum(elf, &nph) != 0 || nph == 0 || nph > 4096)
		return -1;
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
		return -1;
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
	/* .bss beyond the file lives in an anonymous mapping: part of the module. */
	if (mod->data_hi > mod->hi)
		mod->hi = (mod->data_hi + LM_PAGE_MASK) & ~LM_PAGE_MASK;
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

/* Append the FUNC and OBJECT symbols of every symbol table of elf. */
static int read_symbols(Elf *elf, struct raw_vec *rv, int *has_symtab)
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
			r.addr = s.st_value;
			r.size = s.st_size;
			r.raw = name;
			if (type == STT_OBJECT)
				r.kind = is_vtable_name(name) ? LM_SYM_VTABLE : LM_SYM_OBJECT;
			else
				r.kind = LM_SYM_FUNC;
			r.local = GELF_ST_BIND(s.st_info) == STB_LOCAL;
			if (raw_push(rv, &r) != 0)
				return -1;
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

static Elf *open_elf(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

/* The separate debug file for a build-id, or -1. */
static int open_debug_file(const char *root, const char *build_id)
{
	char path[4096];

	if (!root || !*root || strlen(build_id) < 4)
		return -1;
	snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", root, build_id, build_id + 2);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Copy a module's symbols (names into the arena) onto recs. */
static int add_module_symbols(struct raw_vec *rv, unsigned short module, uint64_t bias,
			      struct arena *ar, struct sym_rec **recs, size_t *n, size_t *cap)
{
	size_t i;

	for (i = 0; i < rv->n; i++) {
		const struct raw_sym *s = &rv->v[i];
		struct sym_rec *r;
		char *dem;
		int rc;

		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			struct sym_rec *nv = realloc(*recs, ncap * sizeof(*nv));
			if (!nv)
				return -1;
			*recs = nv;
			*cap = ncap;
		}
		r = &(*recs)[*n];
		r->addr = s->addr + bias;
		r->size = s->size;
		r->kind = s->kind;
		r->local = s->local;
		r->module = module;
		if (arena_add(ar, s->raw, &r->raw_off) != 0)
			return -1;
		dem = s->kind == LM_SYM_VTABLE ? lm_demangle(s->raw + 4, 1) : lm_demangle(s->raw, 0);
		if (dem) {
			rc = arena_add(ar, dem, &r->name_off);
			free(dem);
			if (rc != 0)
				return -1;
		} else {
			r->name_off = r->raw_off;
		}
		(*n)++;
	}
	return 0;
}

/* Open one module, fill its layout and build-id, append its symbols.
 * Returns 1 (a module), 0 (not readable or not ELF: skip it) or -1 (out of
 * memory). */
static int load_module(const struct lm_memsrc *src, const struct lm_mapping *low,
		       struct lm_module *mod, unsigned short index, const char *debug_root,
		       struct arena *ar, struct sym_rec **recs, size_t *n, size_t *cap)
{
	struct lm_err ignored;
	struct raw_vec rv = { 0 };
	Elf *elf, *dbg = NULL;
	int fd, dfd = -1, rc;

	fd = lm_memsrc_open_mapping_file(src, low, &ignored);
	if (fd < 0)
		return 0;	/* not readable: skipped */
	elf = open_elf(fd);
	if (!elf) {
		rc = 0;		/* a mapped data file, not a module */
		goto out;
	}
	rc = 1;
	if (module_layout(elf, low, mod) != 0)
		goto out;	/* an ELF file we cannot place: no symbols */
	read_build_id(elf, mod);
	if (read_symbols(elf, &rv, &mod->has_symtab) != 0) {
		rc = -1;
		goto out;
	}
	if (mod->build_id[0]) {
		dfd = open_debug_file(debug_root, mod->build_id);
		if (dfd >= 0)
			dbg = open_elf(dfd);
		if (dbg) {
			int dbg_symtab = 0;
			size_t before = rv.n;
			if (read_symbols(dbg, &rv, &dbg_symtab) != 0) {
				rc = -1;
				goto out;
			}
			if (dbg_symtab && rv.n > before) {
				mod->debug_file = 1;
				mod->has_symtab = 1;
			}
		}
	}
	dedup_raw(&rv);
	if (add_module_symbols(&rv, index, mod->bias, ar, recs, n, cap) != 0)
		rc = -1;
out:
	free(rv.v);
	if (dbg)
		elf_end(dbg);
	if (dfd >= 0)
		close(dfd);
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
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
		return -1;
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
		tab->lk_parent[n] = (k >= 0 && tab->lk_end[k] > s->addr) ? k : -1;
		n++;
	}
	tab->nlk = n;
	return 0;
}

static int cmp_module(const void *a, const void *b)
{
	const struct lm_module *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

void lm_symtab_free(struct lm_symtab *tab)
{
	size_t i;

	if (!tab)
		return;
	for (i = 0; i < tab->nmods; i++)
		free(tab->mods[i].path);
	free(tab->mods);
	free(tab->syms);
	free(tab->names);
	free(tab->lk_addr);
	free(tab->lk_end);
	free(tab->lk_sym);
	free(tab->lk_parent);
	free(tab);
}

/* Modules were read in mapping order; sort them by address and renumber the
 * records' module indexes to match. Modules are disjoint, so each one's lo
 * finds its new place. */
static int sort_modules(struct lm_symtab *tab, struct sym_rec *recs, size_t nrecs)
{
	unsigned short *newidx = malloc((tab->nmods + 1) * sizeof(*newidx));
	struct lm_module *sorted = malloc((tab->nmods + 1) * sizeof(*sorted));
	size_t i;

	if (!newidx || !sorted) {
		free(newidx);
		free(sorted);
		return -1;
	}
	memcpy(sorted, tab->mods, tab->nmods * sizeof(*sorted));
	qsort(sorted, tab->nmods, sizeof(*sorted), cmp_module);
	for (i = 0; i < tab->nmods; i++) {
		size_t lo = 0, hi = tab->nmods;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (sorted[mid].lo < tab->mods[i].lo)
				lo = mid + 1;
			else
				hi = mid;
		}
		newidx[i] = (unsigned short)lo;
	}
	free(tab->mods);
	tab->mods = sorted;
	for (i = 0; i < tab->nmods; i++)
		tab->mods[i].name = base_name(tab->mods[i].path);
	for (i = 0; i < nrecs; i++)
		recs[i].module = newidx[recs[i].module];
	free(newidx);
	return 0;
}

static int finish_table(struct lm_symtab *tab, struct sym_rec *recs, size_t nrecs,
			struct arena *ar)
{
	size_t i;

	if (sort_modules(tab, recs, nrecs) != 0)
		return -1;
	tab->names = ar->p;
	ar->p = NULL;
	tab->syms = malloc((nrecs + 1) * sizeof(*tab->syms));
	if (!tab->syms)
		return -1;
	for (i = 0; i < nrecs; i++) {
		struct lm_symbol *s = &tab->syms[i];
		s->addr = recs[i].addr;
		s->size = recs[i].size;
		s->raw = tab->names + recs[i].raw_off;
		s->name = tab->names + recs[i].name_off;
		s->kind = recs[i].kind;
		s->local = recs[i].local;
		s->module = recs[i].module;
	}
	tab->nsyms = nrecs;
	qsort(tab->syms, tab->nsyms, sizeof(*tab->syms), cmp_symbol);
	return build_index(tab);
}

int lm_symtab_load(const struct lm_memsrc *src, const struct lm_symtab_opts *opts,
		   struct lm_symtab **out, struct lm_err *err)
{
	const char *debug_root = opts && opts->debug_root ? opts->debug_root : "/usr/lib/debug";
	struct lm_symtab *tab;
	struct arena ar = { 0 };
	struct sym_rec *recs = NULL;
	size_t nrecs = 0, cap = 0, *first = NULL, i, kept = 0;
	int rc;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return lm_err_set(err, LM_EINVAL, "libelf is too old for this program (elf_version failed)");
	tab = calloc(1, sizeof(*tab));
	if (!tab)
		return lm_err_set(err, LM_ENOMEM, "out of memory loading symbols");
	rc = group_modules(&src->maps, &tab->mods, &first, &tab->nmods, err);
	if (rc < 0) {
		free(tab);
		return rc;
	}
	for (i = 0; i < tab->nmods; i++) {
		rc = load_module(src, &src->maps.v[first[i]], &tab->mods[i], (unsigned short)kept,
				 debug_root, &ar, &recs, &nrecs, &cap);
		if (rc < 0)
			goto nomem;
		if (rc == 0) {
			free(tab->mods[i].path);
			continue;
		}
		tab->mods[kept++] = tab->mods[i];
	}
	tab->nmods = kept;
	if (finish_table(tab, recs, nrecs, &ar) != 0)
		goto nomem;
	free(first);
	free(recs);
	*out = tab;
	return 0;
nomem:
	free(first);
	free(recs);
	free(ar.p);
	lm_symtab_free(tab);
	return lm_err_set(err, LM_ENOMEM, "out of memory loading the symbols of pid %d", (int)src->pid);
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
