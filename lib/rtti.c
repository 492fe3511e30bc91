/* SPDX-License-Identifier: MIT */
/*
 * rtti.c - vtables named through RTTI in a module's file (implements rtti.h).
 *
 * The file holds the module's initial image: a word's value at run time is
 * its dynamic relocation's result where it has one (R_X86_64_RELATIVE:
 * bias + addend; R_X86_64_64 against a symbol the module defines: bias +
 * symbol + addend), else the bytes in the file. Addresses here are ELF
 * addresses (bias 0): a position-independent module's unrelocated words are
 * never addresses, a fixed-address executable's words are.
 *
 * Two passes over the words that hold addresses: the first finds the
 * type_info objects (first word: a __*class_type_info vtable + 16), the
 * second the vtables' RTTI words that point to them.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "rtti.h"
#include "demangle.h"
#include "error.h"

#define NAME_MAX_LEN 1024		/* longer mangled type names are not taken */
#define OFFSET_TO_TOP_MIN (-(1LL << 24))	/* objects are smaller than this */
#define MAX_FAMILY 16

/* libstdc++'s vtables of the type_info classes a polymorphic class's RTTI
 * uses: no base, one public base at offset 0, anything else. */
static const char *const family_names[] = {
	"_ZTVN10__cxxabiv117__class_type_infoE",
	"_ZTVN10__cxxabiv120__si_class_type_infoE",
	"_ZTVN10__cxxabiv121__vmi_class_type_infoE",
};

struct seg {
	uint64_t vaddr, filesz, memsz, off;
	int writable, exec;
};

struct reloc {
	uint64_t off;
	int64_t addend;
	uint32_t type;
	int family;		/* R_X86_64_64 against a family vtable */
	int defined;		/* ... against a symbol this module defines */
	uint64_t sym_value;
};

struct image {
	const unsigned char *file;
	size_t fsize;
	int fixed;		/* ET_EXEC: words in the file are addresses */
	struct seg *segs;
	size_t nsegs;
	struct reloc *rel;
	size_t nrel, caprel;
	uint64_t family[MAX_FAMILY];	/* family vtables this module defines */
	size_t nfamily;
};

struct tinfo {
	uint64_t addr;
	const char *name;	/* mangled, in the file */
};

struct tinfo_vec {
	struct tinfo *v;
	size_t n, cap;
};

static int is_family_name(const char *s)
{
	size_t i;

	for (i = 0; s && i < sizeof(family_names) / sizeof(family_names[0]); i++)
		if (strcmp(s, family_names[i]) == 0)
			return 1;
	return 0;
}

/* ---------- the file's image ---------- */

static const struct seg *seg_of(const struct image *im, uint64_t addr, uint64_t len)
{
	size_t i;

	for (i = 0; i < im->nsegs; i++) {
		const struct seg *s = &im->segs[i];
		if (addr >= s->vaddr && addr - s->vaddr <= s->memsz && len <= s->memsz - (addr - s->vaddr))
			return s;
	}
	return NULL;
}

/* The file's 8 bytes at addr (0 in .bss); 0 when not in a segment. */
static int file_word(const struct image *im, uint64_t addr, uint64_t *v)
{
	const struct seg *s = seg_of(im, addr, 8);
	uint64_t rel;

	if (!s)
		return 0;
	rel = addr - s->vaddr;
	if (rel >= s->filesz) {
		*v = 0;
		return 1;
	}
	if (s->filesz - rel < 8)
		return 0;	/* straddles the end of the file part */
	memcpy(v, im->file + s->off + rel, 8);
	return 1;
}

static int cmp_reloc(const void *a, const void *b)
{
	const struct reloc *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static const struct reloc *reloc_at(const struct image *im, uint64_t addr)
{
	size_t lo = 0, hi = im->nrel;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (im->rel[mid].off < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < im->nrel && im->rel[lo].off == addr ? &im->rel[lo] : NULL;
}

/* The address the word at addr holds at run time (ELF address), or 0. */
static int addr_value(const struct image *im, uint64_t addr, uint64_t *v)
{
	const struct reloc *r = reloc_at(im, addr);

	if (r) {
		if (r->type == R_X86_64_RELATIVE)
			*v = (uint64_t)r->addend;
		else if (r->defined)
			*v = r->sym_value + (uint64_t)r->addend;
		else
			return 0;
		return 1;
	}
	return im->fixed && file_word(im, addr, v) && *v != 0;
}

static int load_segments(Elf *elf, struct image *im)
{
	size_t nph = 0, i;

	if (elf_getphdrnum(elf, &nph) != 0 || nph == 0 || nph > 4096)
		return 0;
	im->segs = calloc(nph, sizeof(*im->segs));
	if (!im->segs)
		return -LM_ENOMEM;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;
		struct seg *s = &im->segs[im->nsegs];

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > im->fsize || ph.p_filesz > im->fsize - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz)
			continue;	/* a segment the file does not hold: ignored */
		s->vaddr = ph.p_vaddr;
		s->filesz = ph.p_filesz;
		s->memsz = ph.p_memsz;
		s->off = ph.p_offset;
		s->writable = (ph.p_flags & PF_W) != 0;
		s->exec = (ph.p_flags & PF_X) != 0;
		im->nsegs++;
	}
	return 0;
}

static int push_reloc(struct image *im, const struct reloc *r)
{
	if (im->nrel == im->caprel) {
		size_t cap = im->caprel ? im->caprel * 2 : 1024;
		struct reloc *v = realloc(im->rel, cap * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		im->rel = v;
		im->caprel = cap;
	}
	im->rel[im->nrel++] = *r;
	return 0;
}

/* One SHT_RELA section's R_X86_64_RELATIVE and R_X86_64_64 entries. */
static int load_rela(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct image *im)
{
	Elf_Scn *symscn = elf_getscn(elf, sh->sh_link);
	Elf_Data *d = elf_getdata(scn, NULL), *symd = NULL;
	GElf_Shdr symsh;
	size_t i, count;

	if (!d || sh->sh_entsize == 0)
		return 0;
	if (symscn && gelf_getshdr(symscn, &symsh) && symsh.sh_entsize != 0)
		symd = elf_getdata(symscn, NULL);
	count = d->d_size / sh->sh_entsize;
	for (i = 0; i < count; i++) {
		GElf_Rela ra;
		GElf_Sym sym;
		struct reloc r = { 0 };
		uint32_t type;

		if (!gelf_getrela(d, (int)i, &ra))
			break;
		type = (uint32_t)GELF_R_TYPE(ra.r_info);
		if (type != R_X86_64_RELATIVE && type != R_X86_64_64)
			continue;
		r.off = ra.r_offset;
		r.addend = ra.r_addend;
		r.type = type;
		if (type == R_X86_64_64) {
			size_t si = GELF_R_SYM(ra.r_info);
			if (!symd || si >= symd->d_size / symsh.sh_entsize ||
			    !gelf_getsym(symd, (int)si, &sym))
				continue;
			r.family = is_family_name(elf_strptr(elf, symsh.sh_link, sym.st_name));
			r.defined = sym.st_shndx != SHN_UNDEF && sym.st_shndx != SHN_ABS;
			r.sym_value = sym.st_value;
		}
		if (push_reloc(im, &r) < 0)
			return -LM_ENOMEM;
	}
	return 0;
}

/* The family vtables a symbol table of the module defines (libstdc++
 * itself; a fixed-address executable's copies of them). */
static void note_family(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct image *im)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, count;

	if (!d || sh->sh_entsize == 0)
		return;
	count = d->d_size / sh->sh_entsize;
	for (i = 0; i < count && im->nfamily < MAX_FAMILY; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			break;
		if (s.st_shndx != SHN_UNDEF && s.st_value != 0 &&
		    is_family_name(elf_strptr(elf, sh->sh_link, s.st_name)))
			im->family[im->nfamily++] = s.st_value;
	}
}

static int load_sections(Elf *elf, struct image *im)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_RELA && (sh.sh_flags & SHF_ALLOC)) {
			if (load_rela(elf, scn, &sh, im) < 0)
				return -LM_ENOMEM;
		} else if (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB) {
			note_family(elf, scn, &sh, im);
		}
	}
	if (im->nrel > 1)	/* (qsort of a NULL array is undefined, even empty) */
		qsort(im->rel, im->nrel, sizeof(*im->rel), cmp_reloc);
	return 0;
}

/* ---------- the words that hold addresses ---------- */

typedef int (*word_fn)(struct image *im, uint64_t at, uint64_t value, void *arg);

/* Calls fn for every word of the module that holds an address at run time:
 * the relocated ones, and in a fixed-address executable every nonzero word
 * of its data segments. Stops at fn's first nonzero return (a negative
 * LM_E* code from the functions below) and returns it. */
static int each_address_word(struct image *im, word_fn fn, void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < im->nrel; i++) {
		uint64_t v;
		if (addr_value(im, im->rel[i].off, &v) && (rc = fn(im, im->rel[i].off, v, arg)) != 0)
			return rc;
	}
	for (i = 0; im->fixed && i < im->nsegs; i++) {
		const struct seg *s = &im->segs[i];
		uint64_t a;

		if (s->exec)
			continue;
		for (a = (s->vaddr + 7) & ~7ULL; a - s->vaddr + 8 <= s->filesz; a += 8) {
			uint64_t v;
			memcpy(&v, im->file + s->off + (a - s->vaddr), 8);
			if (v != 0 && !reloc_at(im, a) && (rc = fn(im, a, v, arg)) != 0)
				return rc;
		}
	}
	return 0;
}

/* ---------- type_info objects ---------- */

/* The mangled name at addr: in a read-only segment, printable, at most
 * NAME_MAX_LEN bytes, and a type the demangler accepts; or NULL. GCC marks
 * names of types with internal linkage with a leading '*', not part of the
 * mangling. */
static const char *type_name_at(const struct image *im, uint64_t addr)
{
	const struct seg *s = seg_of(im, addr, 1);
	const char *p, *end;
	size_t room, i;
	char *dem;

	if (!s || s->writable || addr - s->vaddr >= s->filesz)
		return NULL;
	p = (const char *)im->file + s->off + (addr - s->vaddr);
	room = s->filesz - (addr - s->vaddr);
	end = memchr(p, 0, room < NAME_MAX_LEN + 2 ? room : NAME_MAX_LEN + 2);
	if (!end)
		return NULL;
	if (*p == '*')
		p++;
	if (p == end)
		return NULL;
	for (i = 0; p + i < end; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return NULL;
	dem = lm_demangle(p, 1);
	if (!dem)
		return NULL;
	free(dem);
	return p;
}

static int is_family_vptr(const struct image *im, uint64_t at)
{
	const struct reloc *r = reloc_at(im, at);
	uint64_t v;
	size_t i;

	if (r && r->type == R_X86_64_64 && r->family && r->addend == 16)
		return 1;
	if (!addr_value(im, at, &v))
		return 0;
	for (i = 0; i < im->nfamily; i++)
		if (v == im->family[i] + 16)
			return 1;
	return 0;
}

static int tinfo_push(struct tinfo_vec *tv, uint64_t addr, const char *name)
{
	if (tv->n == tv->cap) {
		size_t cap = tv->cap ? tv->cap * 2 : 256;
		struct tinfo *v = realloc(tv->v, cap * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		tv->v = v;
		tv->cap = cap;
	}
	tv->v[tv->n].addr = addr;
	tv->v[tv->n].name = name;
	tv->n++;
	return 0;
}

/* A type_info at t: its first word a family vptr, its name valid. */
static int try_tinfo(struct image *im, uint64_t t, struct tinfo_vec *tv)
{
	uint64_t name_addr;
	const char *name;

	if ((t & 7) != 0 || !is_family_vptr(im, t) || !addr_value(im, t + 8, &name_addr))
		return 0;
	name = type_name_at(im, name_addr);
	return name ? tinfo_push(tv, t, name) : 0;
}

static int tinfo_from_word(struct image *im, uint64_t at, uint64_t value, void *arg)
{
	size_t i;

	for (i = 0; i < im->nfamily; i++)
		if (value == im->family[i] + 16)
			return try_tinfo(im, at, arg);
	return 0;
}

static int cmp_tinfo(const void *a, const void *b)
{
	const struct tinfo *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int find_tinfos(struct image *im, struct tinfo_vec *tv)
{
	size_t i, o = 0;

	for (i = 0; i < im->nrel; i++) {
		const struct reloc *r = &im->rel[i];
		if (r->type == R_X86_64_64 && r->family && r->addend == 16 &&
		    try_tinfo(im, r->off, tv) < 0)
			return -LM_ENOMEM;
	}
	if (im->nfamily && each_address_word(im, tinfo_from_word, tv) < 0)
		return -LM_ENOMEM;
	if (tv->n == 0)
		return 0;
	qsort(tv->v, tv->n, sizeof(*tv->v), cmp_tinfo);
	for (i = 1; i < tv->n; i++)
		if (tv->v[i].addr != tv->v[o].addr)
			tv->v[++o] = tv->v[i];
	tv->n = o + 1;
	return 0;
}

static const struct tinfo *tinfo_at(const struct tinfo_vec *tv, uint64_t addr)
{
	size_t lo = 0, hi = tv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tv->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tv->n && tv->v[lo].addr == addr ? &tv->v[lo] : NULL;
}

/* ---------- vtables ---------- */

struct vt_out {
	const struct tinfo_vec *tv;
	struct lm_rtti_vtable *v;
	size_t n, cap, max;
};

/* An offset-to-top word: a plain (unrelocated) 0 or small negative
 * multiple of 8. */
static int is_offset_to_top(const struct image *im, uint64_t at)
{
	uint64_t w;
	int64_t v;

	if (reloc_at(im, at) || !file_word(im, at, &w))
		return 0;
	v = (int64_t)w;
	return v <= 0 && v > OFFSET_TO_TOP_MIN && (v & 7) == 0;
}

static int vtable_from_word(struct image *im, uint64_t at, uint64_t value, void *arg)
{
	struct vt_out *o = arg;
	const struct tinfo *t;
	char *raw;
	size_t len;

	if ((at & 7) != 0 || at < 8 || o->n >= o->max || !(t = tinfo_at(o->tv, value)) ||
	    !is_offset_to_top(im, at - 8))
		return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct lm_rtti_vtable *v = realloc(o->v, cap * sizeof(*v));
		if (!v)
			return -LM_ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	len = strlen(t->name);
	raw = malloc(len + 5);
	if (!raw)
		return -LM_ENOMEM;
	memcpy(raw, "_ZTV", 4);
	memcpy(raw + 4, t->name, len + 1);
	o->v[o->n].addr = at - 8;
	o->v[o->n].raw = raw;
	o->n++;
	return 0;
}

/* 1 when elf is an x86_64 module read into im, 0 when it is not one (no
 * vtables to find), -LM_ENOMEM. */
static int image_open(Elf *elf, struct image *im)
{
	GElf_Ehdr eh;

	memset(im, 0, sizeof(*im));
	if (!gelf_getehdr(elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		return 0;
	im->file = (const unsigned char *)elf_rawfile(elf, &im->fsize);
	if (!im->file)
		return 0;
	im->fixed = eh.e_type == ET_EXEC;
	if (load_segments(elf, im) < 0 || load_sections(elf, im) < 0)
		return -LM_ENOMEM;
	return 1;
}

int lm_rtti_vtables(Elf *elf, size_t max, struct lm_rtti_vtable **out, size_t *n)
{
	struct image im;
	struct tinfo_vec tv = { 0 };
	struct vt_out o = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	rc = image_open(elf, &im);
	if (rc > 0) {
		rc = find_tinfos(&im, &tv);
		if (rc == 0 && tv.n) {
			o.tv = &tv;
			o.max = max;
			rc = each_address_word(&im, vtable_from_word, &o);
		}
	}
	free(tv.v);
	free(im.segs);
	free(im.rel);
	if (rc < 0) {
		lm_rtti_free(o.v, o.n);
		return rc;
	}
	*out = o.v;
	*n = o.n;
	return 0;
}

void lm_rtti_free(struct lm_rtti_vtable *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].raw);
	free(v);
}
