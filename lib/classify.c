/* SPDX-License-Identifier: MIT */
/*
 * classify.c - the type of a live chunk (implements classify.h).
 *
 * Rules, tried in order on the chunk's user data:
 *  internal  the walker says it is a thread's tcache struct: "tcache".
 *  class     the word at +0 points into a vtable symbol (_ZTV...), 8-aligned
 *            and at least 16 bytes in (a vptr): the class name. With
 *            multiple inheritance an object's first vptr points into the
 *            most-derived class's vtable group, so the name is the
 *            most-derived class.
 *  symbol    the word at +0 points to the start of a data object (not a
 *            vtable), or the word at +0 is a small counter (< 2^20, a
 *            refcount) and the word at +8 points to the start of one: the
 *            symbol's (demangled) name. This is how interpreters' objects
 *            point at their type ({refcnt, type}). Interior pointers do not
 *            count (see is_type_pointer).
 *  string    NUL-terminated printable text (ASCII, \t \n \r, well-formed
 *            UTF-8) with at least one letter or digit, for which the chunk is
 *            exactly what malloc(strlen + 1) returns.
 *  size      anything else: "size N" (usable size) up to 1024 bytes, then
 *            power-of-two ranges "size 1025-2048", "size 2049-4096", ...
 *
 * Speed matters (millions of chunks per snapshot), so the per-chunk path
 * does no hashing and no allocation: words are first checked against the
 * modules' address spans (heap pointers and small integers fail there),
 * then a direct-mapped cache of word -> symbol, then the symbol table's
 * binary search; symbols and size classes map to type ids through arrays.
 * Types are interned by (kind, name) in an open-addressing hash table that
 * is only used the first time a type is seen.
 */
#include <emmintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

#define COUNTER_MAX (1ULL << 20)	/* a "small counter" at +0 is below this */
#define WORD_CACHE_SIZE 4096		/* power of two */
#define NO_TYPE UINT32_MAX
#define NO_SYM UINT32_MAX
#define PAGE_SIZE_X86 4096ULL
#define SIZE_EXACT_MAX 1024
#define NRANGES 64
#define FOLDED_TYPE (UINT32_MAX - 1)	/* sym_type: over the cap, typed by size */

struct word_cache_entry {
	uint64_t word;
	uint32_t sym;		/* symbol index, or NO_SYM */
	uint32_t valid;
};

struct span {
	uint64_t lo, hi;
};

struct lm_classifier {
	const struct lm_memsrc *src;
	const struct lm_symtab *syms;
	const struct lm_symbol *sym_base;	/* symbol_at(0): index = sym - base */
	size_t nsyms;
	uint32_t *sym_type;			/* per symbol: type id, lazily */
	struct span *spans;			/* module spans, sorted */
	size_t nspans;
	uint64_t span_min, span_max;
	struct word_cache_entry cache[WORD_CACHE_SIZE];
	const struct lm_region *last_region;	/* locality: chunks come in address order */
	/* types */
	struct lm_type *types;
	size_t ntypes, cap_types;
	uint32_t *hash;				/* ids + 1, 0 = empty */
	size_t hash_size;			/* power of two */
	uint32_t size_exact[SIZE_EXACT_MAX + 1];
	uint32_t size_range[NRANGES];
	uint32_t string_id, tcache_id;
	size_t nnamed;				/* symbols given a class/symbol type */
	uint64_t folded;			/* chunks whose symbol was over the cap */
	/* CPython objects: type object address -> type id, open addressing */
	struct lm_python *py;
	char py_note[LM_ERRMSG_MAX];		/* why a CPython is not read */
	uint64_t *pytype_addr;			/* 0 = empty */
	uint32_t *pytype_id;
	size_t pytype_size, npytypes;		/* slots (power of two), used */
	uint32_t py_nonobject[64];		/* per block size / 16 */
};

/* Character classes for the string rule. */
enum { CH_BAD, CH_PRINT, CH_ALNUM, CH_UTF8_2, CH_UTF8_3, CH_UTF8_4, CH_CONT };
static unsigned char char_class[256];
static pthread_once_t char_class_once = PTHREAD_ONCE_INIT;

static void init_char_class(void)
{
	int c;

	for (c = 0; c < 256; c++) {
		unsigned char k = CH_BAD;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			k = CH_ALNUM;
		else if ((c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\n' || c == '\r')
			k = CH_PRINT;
		else if (c >= 0x80 && c <= 0xbf)
			k = CH_CONT;
		else if (c >= 0xc2 && c <= 0xdf)
			k = CH_UTF8_2;
		else if (c >= 0xe0 && c <= 0xef)
			k = CH_UTF8_3;
		else if (c >= 0xf0 && c <= 0xf4)
			k = CH_UTF8_4;
		char_class[c] = k;
	}
}

static const char *const kind_names[LM_KIND_MAX] = {
	"class", "symbol", "string", "internal", "size", "python"
};

const char *lm_kind_name(int kind)
{
	return kind >= 0 && kind < LM_KIND_MAX ? kind_names[kind] : "unknown";
}

int lm_kind_parse(const char *s)
{
	int k;

	for (k = 0; k < LM_KIND_MAX; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

/* Power-of-two range of a usable size above 1024: (2^k, 2^(k+1)]. */
static unsigned range_index(uint64_t usable)
{
	unsigned k = 63 - (unsigned)__builtin_clzll(usable - 1);	/* 2^k < usable <= 2^(k+1) */
	return k;
}

void lm_size_class_name(uint64_t usable, char *buf, size_t len)
{
	unsigned k;

	if (usable <= SIZE_EXACT_MAX) {
		snprintf(buf, len, "size %llu", (unsigned long long)usable);
		return;
	}
	k = range_index(usable);
	if (k >= 63)
		snprintf(buf, len, "size %llu-", (1ULL << 63) + 1);
	else
		snprintf(buf, len, "size %llu-%llu", (1ULL << k) + 1, 1ULL << (k + 1));
}

/* ---------- interning ---------- */

static uint64_t hash_type(int kind, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

static int grow_hash(struct lm_classifier *cls)
{
	size_t size = cls->hash_size ? cls->hash_size * 2 : 1024, i;
	uint32_t *h = calloc(size, sizeof(*h));

	if (!h)
		return -LM_ENOMEM;
	for (i = 0; i < cls->ntypes; i++) {
		size_t j = hash_type(cls->types[i].kind, cls->types[i].name) & (size - 1);
		while (h[j])
			j = (j + 1) & (size - 1);
		h[j] = (uint32_t)i + 1;
	}
	free(cls->hash);
	cls->hash = h;
	cls->hash_size = size;
	return 0;
}

/*
 * Out of memory while interning would lose a chunk's type; we return the id
 * of an existing type instead (the size type found first, else 0) rather
 * than fail a whole census. It cannot happen for the fixed types made at
 * creation.
 */
uint32_t lm_classifier_intern(struct lm_classifier *cls, int kind, const char *name)
{
	size_t j;
	uint32_t id;

	if (cls->hash_size == 0 || (cls->ntypes + 1) * 2 > cls->hash_size)
		if (grow_hash(cls) != 0)
			return 0;
	j = hash_type(kind, name) & (cls->hash_size - 1);
	while (cls->hash[j]) {
		const struct lm_type *t = &cls->types[cls->hash[j] - 1];
		if (t->kind == kind && strcmp(t->name, name) == 0)
			return cls->hash[j] - 1;
		j = (j + 1) & (cls->hash_size - 1);
	}
	if (cls->ntypes == cls->cap_types) {
		size_t cap = cls->cap_types ? cls->cap_types * 2 : 256;
		struct lm_type *t = realloc(cls->types, cap * sizeof(*t));
		if (!t)
			return 0;
		cls->types = t;
		cls->cap_types = cap;
	}
	id = (uint32_t)cls->ntypes;
	cls->types[id].kind = (uint8_t)kind;
	cls->types[id].name = strdup(name);
	if (!cls->types[id].name)
		return 0;
	cls->ntypes++;
	cls->hash[j] = id + 1;
	return id;
}

size_t lm_classifier_ntypes(const struct lm_classifier *cls)
{
	return cls->ntypes;
}

const struct lm_type *lm_classifier_type(const struct lm_classifier *cls, uint32_t id)
{
	return id < cls->ntypes ? &cls->types[id] : NULL;
}

/* ---------- creation ---------- */

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int build_spans(struct lm_classifier *cls)
{
	size_t n = cls->syms ? lm_symtab_nmodules(cls->syms) : 0, i;

	cls->spans = malloc((n + 1) * sizeof(*cls->spans));
	if (!cls->spans)
		return -LM_ENOMEM;
	for (i = 0; i < n; i++) {
		const struct lm_module *m = lm_symtab_module_at(cls->syms, i);
		cls->spans[i].lo = m->lo;
		cls->spans[i].hi = m->hi;
	}
	qsort(cls->spans, n, sizeof(*cls->spans), cmp_span);
	cls->nspans = n;
	cls->span_min = n ? cls->spans[0].lo : 1;
	cls->span_max = 0;
	for (i = 0; i < n; i++)
		if (cls->spans[i].hi > cls->span_max)
			cls->span_max = cls->spans[i].hi;
	return 0;
}

int lm_classifier_new(const struct lm_memsrc *src, const struct lm_symtab *syms,
		      struct lm_classifier **out, struct lm_err *err)
{
	struct lm_classifier *cls;
	size_t i;

	*out = NULL;
	pthread_once(&char_class_once, init_char_class);
	cls = calloc(1, sizeof(*cls));
	if (!cls)
		return lm_err_set(err, LM_ENOMEM, "out of memory creating the classifier");
	cls->src = src;
	cls->syms = syms;
	if (syms) {
		cls->nsyms = lm_symtab_nsymbols(syms);
		cls->sym_base = lm_symtab_symbol_at(syms, 0);
	}
	cls->sym_type = malloc((cls->nsyms + 1) * sizeof(*cls->sym_type));
	if (!cls->sym_type || build_spans(cls) != 0 || grow_hash(cls) != 0) {
		lm_classifier_free(cls);
		return lm_err_set(err, LM_ENOMEM, "out of memory creating the classifier");
	}
	for (i = 0; i < cls->nsyms; i++)
		cls->sym_type[i] = NO_TYPE;
	for (i = 0; i <= SIZE_EXACT_MAX; i++)
		cls->size_exact[i] = NO_TYPE;
	for (i = 0; i < NRANGES; i++)
		cls->size_range[i] = NO_TYPE;
	/* the fixed types first, so they always exist */
	cls->string_id = lm_classifier_intern(cls, LM_KIND_STRING, "string");
	cls->tcache_id = lm_classifier_intern(cls, LM_KIND_INTERNAL, "tcache");
	for (i = 0; i < sizeof(cls->py_nonobject) / sizeof(cls->py_nonobject[0]); i++)
		cls->py_nonobject[i] = NO_TYPE;
	if (cls->ntypes != 2 ||
	    lm_python_find(src, syms, &cls->py, cls->py_note, sizeof(cls->py_note)) < 0) {
		lm_classifier_free(cls);
		return lm_err_set(err, LM_ENOMEM, "out of memory creating the classifier");
	}
	*out = cls;
	return 0;
}

void lm_classifier_free(struct lm_classifier *cls)
{
	size_t i;

	if (!cls)
		return;
	for (i = 0; i < cls->ntypes; i++)
		free((char *)cls->types[i].name);
	free(cls->types);
	free(cls->hash);
	free(cls->sym_type);
	free(cls->spans);
	free(cls->pytype_addr);
	free(cls->pytype_id);
	lm_python_free(cls->py);
	free(cls);
}

/* ---------- reading chunk data ---------- */

/* len captured bytes at addr, or NULL; remembers the last region because
 * chunks are classified in address order. */
static const uint8_t *view(struct lm_classifier *cls, uint64_t addr, uint64_t len)
{
	const struct lm_region *r = cls->last_region;

	if (!r || addr < r->start || addr >= r->end) {
		r = lm_mem_region(cls->src, addr);
		if (!r)
			return NULL;
		cls->last_region = r;
	}
	if (len > r->end - addr)	/* spans regions: let the source decide */
		return lm_mem_view(cls->src, addr, (size_t)len);
	return r->data + (addr - r->start);
}

/* ---------- the symbol rules ---------- */

static int in_module_span(const struct lm_classifier *cls, uint64_t w)
{
	size_t lo = 0, hi = cls->nspans;

	if (w < cls->span_min || w >= cls->span_max)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cls->spans[mid].lo <= w)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && w < cls->spans[lo - 1].hi;
}

/* Index of the symbol containing w (VTABLE or OBJECT only), or NO_SYM. */
static uint32_t data_symbol(struct lm_classifier *cls, uint64_t w)
{
	struct word_cache_entry *e;
	const struct lm_symbol *s;
	uint32_t idx = NO_SYM;

	if (!in_module_span(cls, w))
		return NO_SYM;
	e = &cls->cache[((w >> 3) ^ (w >> 15)) & (WORD_CACHE_SIZE - 1)];
	if (e->valid && e->word == w)
		return e->sym;
	s = lm_symtab_lookup(cls->syms, w);
	if (s && (s->kind == LM_SYM_VTABLE || s->kind == LM_SYM_OBJECT))
		idx = (uint32_t)(s - cls->sym_base);
	e->word = w;
	e->sym = idx;
	e->valid = 1;
	return idx;
}

/* The class or symbol type of symbol idx; NO_TYPE once the census has
 * LM_CLASSIFY_MAX_NAMED_TYPES of them: which symbols a heap points at is the
 * target's choice, and every type is a row per census in the history. */
static uint32_t symbol_type(struct lm_classifier *cls, uint32_t idx)
{
	const struct lm_symbol *s = &cls->sym_base[idx];

	if (cls->sym_type[idx] == NO_TYPE) {
		if (cls->nnamed >= LM_CLASSIFY_MAX_NAMED_TYPES) {
			cls->sym_type[idx] = FOLDED_TYPE;
		} else {
			cls->sym_type[idx] = lm_classifier_intern(cls,
				s->kind == LM_SYM_VTABLE ? LM_KIND_CLASS : LM_KIND_SYMBOL, s->name);
			cls->nnamed++;
		}
	}
	if (cls->sym_type[idx] == FOLDED_TYPE) {
		cls->folded++;
		return NO_TYPE;
	}
	return cls->sym_type[idx];
}

uint64_t lm_classifier_folded(const struct lm_classifier *cls)
{
	return cls->folded;
}

/*
 * A vptr points past the vtable group's offset-to-top and RTTI words
 * (_ZTV + 16 for the primary vtable, further in for secondary ones), and is
 * 8-aligned.
 */
static int is_vptr(const struct lm_symbol *s, uint64_t w)
{
	return s->kind == LM_SYM_VTABLE && (w & 7) == 0 && w >= s->addr + 16;
}

/*
 * A type pointer points at the start of its object (ob_type = &PyDict_Type).
 * Interior pointers are not accepted: in a non-PIE executable the data
 * segment sits at small addresses (0x400000...), where integers and short
 * texts would land inside big arrays.
 */
static int is_type_pointer(const struct lm_symbol *s, uint64_t w)
{
	return s->kind == LM_SYM_OBJECT && w == s->addr;
}

/* The class or symbol type of a chunk whose first two words are w0, w1. */
static uint32_t classify_by_symbol(struct lm_classifier *cls, uint64_t w0, uint64_t w1)
{
	uint32_t idx = data_symbol(cls, w0);

	if (idx != NO_SYM && (is_vptr(&cls->sym_base[idx], w0) ||
			      is_type_pointer(&cls->sym_base[idx], w0)))
		return symbol_type(cls, idx);
	if (w0 < COUNTER_MAX) {
		idx = data_symbol(cls, w1);
		if (idx != NO_SYM && is_type_pointer(&cls->sym_base[idx], w1))
			return symbol_type(cls, idx);
	}
	return NO_TYPE;
}

/* ---------- the string rule ---------- */

/* malloc's chunk size for a request (x86_64: 8-byte header, 16-byte
 * alignment, 32-byte minimum). */
static uint64_t request2size(uint64_t req)
{
	uint64_t s = (req + 8 + 15) & ~15ULL;
	return s < 32 ? 32 : s;
}

static int has_alnum(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (char_class[p[i]] == CH_ALNUM)
			return 1;
	return 0;
}

/*
 * Is the text at p (at most max bytes examined) a NUL-terminated printable
 * string? Returns its length, or -1. Strings are most of many heaps' bytes,
 * so plain ASCII (with \t \n \r) is checked 16 bytes at a time (SSE2, part
 * of x86_64); other bytes one character at a time. A non-string usually fails on its first
 * byte.
 */
static int64_t text_length(const uint8_t *p, uint64_t max)
{
	const __m128i below = _mm_set1_epi8(0x1f), above = _mm_set1_epi8(0x7f);
	const __m128i tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	uint64_t i = 0;
	int alnum = 0;

	while (i < max) {
		unsigned need;

		if (max - i >= 16) {
			/* signed compares: 0x20..0x7e are the bytes > 0x1f and < 0x7f */
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, below), _mm_cmplt_epi8(v, above));
			ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, tab),
					  _mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, cr))));
			if (_mm_movemask_epi8(ok) == 0xffff) {
				if (!alnum)
					alnum = has_alnum(p + i, 16);
				i += 16;
				continue;
			}
		}
		if (p[i] == 0)
			return alnum ? (int64_t)i : -1;
		switch (char_class[p[i]]) {
		case CH_ALNUM:
			alnum = 1;
			/* fall through */
		case CH_PRINT:
			i++;
			continue;
		case CH_UTF8_2:
			need = 1;
			break;
		case CH_UTF8_3:
			need = 2;
			break;
		case CH_UTF8_4:
			need = 3;
			break;
		default:
			return -1;
		}
		if (need >= max - i)
			return -1;
		for (i++; need > 0; need--, i++)
			if (char_class[p[i]] != CH_CONT)
				return -1;
	}
	return -1;
}

/* Is there a NUL among the 16 bytes at p? (the window where a string's NUL
 * must be for chunks above 32 bytes: lengths size-24 .. size-9) */
static int nul_in_window16(const uint8_t *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) != 0;
}

static int is_string(struct lm_classifier *cls, const struct lm_chunk *c)
{
	uint64_t user = c->addr + LM_CHUNK_HDR, min_len, max_len;
	const uint8_t *p;
	int64_t len;

	if (c->state == LM_CHUNK_MMAPPED) {
		/* sysmalloc: size = ALIGN_UP(request2size(len + 1) + 8, page),
		 * so size - 4120 <= len <= size - 25; since glibc 2.43 the
		 * mapping is ALIGN_UP(request2size(len + 1) + 16, page) and size
		 * leaves its last 16 bytes out (the walker then says usable =
		 * size - 8): len <= size - 9 */
		if (c->size < PAGE_SIZE_X86 - 16)
			return 0;
		max_len = c->usable == c->size - 8 ? c->size - 9 : c->size - 25;
		min_len = c->size > 4120 ? c->size - 4120 : 1;
	} else if (c->size == 32) {
		min_len = 1;
		max_len = 23;
	} else {
		/* request2size(len + 1) == size  <=>  size - 24 <= len <= size - 9 */
		if (c->size < 48)
			return 0;
		min_len = c->size - 24;
		max_len = c->size - 9;
	}
	if (max_len + 1 > c->usable)
		return 0;
	p = view(cls, user, max_len + 1);
	if (!p)
		return 0;
	/* cheap rejections first: a first byte that is no text (most chunks),
	 * then no NUL where the length allows one (text-like filler) */
	if (char_class[p[0]] == CH_BAD || char_class[p[0]] == CH_CONT)
		return 0;
	if (c->state != LM_CHUNK_MMAPPED && c->size > 32 && !nul_in_window16(p + min_len))
		return 0;
	len = text_length(p, max_len + 1);
	if (len < 0 || (uint64_t)len < min_len)
		return 0;
	if (c->state == LM_CHUNK_MMAPPED) {
		uint64_t tail = c->usable == c->size - 8 ? 16 : 8;	/* as above */
		uint64_t want = (request2size((uint64_t)len + 1) + tail + PAGE_SIZE_X86 - 1) &
				~(PAGE_SIZE_X86 - 1);
		return want == c->size + (tail == 16 ? 16 : 0);
	}
	return request2size((uint64_t)len + 1) == c->size;
}

/* ---------- sizes ---------- */

static uint32_t size_type(struct lm_classifier *cls, uint64_t usable)
{
	uint32_t *slot;
	char name[64];

	if (usable <= SIZE_EXACT_MAX)
		slot = &cls->size_exact[usable];
	else
		slot = &cls->size_range[range_index(usable)];
	if (*slot == NO_TYPE) {
		lm_size_class_name(usable, name, sizeof(name));
		*slot = lm_classifier_intern(cls, LM_KIND_SIZE, name);
	}
	return *slot;
}

/* ---------- CPython objects ---------- */

struct lm_python *lm_classifier_python(const struct lm_classifier *cls)
{
	return cls->py;
}

const char *lm_classifier_python_note(const struct lm_classifier *cls)
{
	return cls->py_note;
}

static int grow_pytypes(struct lm_classifier *cls)
{
	size_t size = cls->pytype_size ? cls->pytype_size * 2 : 256, i;
	uint64_t *a = calloc(size, sizeof(*a));
	uint32_t *id = calloc(size, sizeof(*id));

	if (!a || !id) {
		free(a);
		free(id);
		return -LM_ENOMEM;
	}
	for (i = 0; i < cls->pytype_size; i++) {
		size_t j;
		if (!cls->pytype_addr[i])
			continue;
		j = (cls->pytype_addr[i] >> 4) & (size - 1);
		while (a[j])
			j = (j + 1) & (size - 1);
		a[j] = cls->pytype_addr[i];
		id[j] = cls->pytype_id[i];
	}
	free(cls->pytype_addr);
	free(cls->pytype_id);
	cls->pytype_addr = a;
	cls->pytype_id = id;
	cls->pytype_size = size;
	return 0;
}

/* The type id for objects of the type object at t; NO_TYPE over the cap
 * on named types (those objects are then typed as if they were none). */
static uint32_t python_type(struct lm_classifier *cls, uint64_t t)
{
	char name[LM_PY_NAME_MAX + 8];
	size_t j;

	if (cls->pytype_size) {
		j = (t >> 4) & (cls->pytype_size - 1);
		for (; cls->pytype_addr[j]; j = (j + 1) & (cls->pytype_size - 1))
			if (cls->pytype_addr[j] == t)
				return cls->pytype_id[j];
	}
	if (cls->npytypes >= LM_CLASSIFY_MAX_NAMED_TYPES) {
		cls->folded++;
		return NO_TYPE;
	}
	if ((cls->npytypes + 1) * 2 > cls->pytype_size && grow_pytypes(cls) < 0)
		return NO_TYPE;
	if (lm_python_type_name(cls->py, t, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "(type name unreadable)");
	j = (t >> 4) & (cls->pytype_size - 1);
	while (cls->pytype_addr[j])
		j = (j + 1) & (cls->pytype_size - 1);
	cls->pytype_addr[j] = t;
	cls->pytype_id[j] = lm_classifier_intern(cls, LM_KIND_PYTHON, name);
	cls->npytypes++;
	return cls->pytype_id[j];
}

/* A dead object of type t, reference count 0 (CPython keeps some on free
 * lists for reuse; others are caught being freed): "dead tuple", by its
 * type's name (the live type's id leads to the name). */
static uint32_t python_dead_type(struct lm_classifier *cls, uint64_t t)
{
	uint32_t live = python_type(cls, t);
	char name[LM_PY_NAME_MAX + 32];

	if (live == NO_TYPE)
		return NO_TYPE;
	snprintf(name, sizeof(name), "dead %s", cls->types[live].name);
	return lm_classifier_intern(cls, LM_KIND_PYTHON, name);
}

/* A Python object in [addr, addr + len): its type id, else NO_TYPE. */
static uint32_t python_object(struct lm_classifier *cls, uint64_t addr, uint64_t len)
{
	uint64_t obj, type;

	if (!lm_python_object_at(cls->py, addr, len, &obj, &type))
		return NO_TYPE;
	return python_type(cls, type);
}

uint32_t lm_classify_pyblock(struct lm_classifier *cls, uint64_t addr, const uint8_t *data,
			     uint64_t size)
{
	uint64_t obj, type;
	uint32_t *slot;
	char name[64];

	if (cls->py && lm_python_object_in(cls->py, addr, data, size, &obj, &type)) {
		uint32_t t = python_type(cls, type);
		if (t != NO_TYPE)
			return t;
	}
	if (cls->py && lm_python_dead_object_type(cls->py, addr, data, size, &type)) {
		uint32_t t = python_dead_type(cls, type);
		if (t != NO_TYPE)
			return t;
	}
	slot = &cls->py_nonobject[(size / 16) & 63];
	if (*slot == NO_TYPE) {
		snprintf(name, sizeof(name), "non-object %llu", (unsigned long long)size);
		*slot = lm_classifier_intern(cls, LM_KIND_PYTHON, name);
	}
	return *slot;
}

/* ---------- the entry point ---------- */

uint32_t lm_classify(struct lm_classifier *cls, const struct lm_chunk *chunk)
{
	const uint8_t *p;
	uint64_t w[2];
	uint32_t t;

	if (chunk->state == LM_CHUNK_TCACHE_STRUCT)
		return cls->tcache_id;
	if (cls->py && (t = python_object(cls, chunk->addr + LM_CHUNK_HDR, chunk->usable)) != NO_TYPE)
		return t;
	if (chunk->usable >= 16 && cls->syms && (p = view(cls, chunk->addr + LM_CHUNK_HDR, 16)) != NULL) {
		memcpy(w, p, sizeof(w));
		t = classify_by_symbol(cls, w[0], w[1]);
		if (t != NO_TYPE)
			return t;
	}
	if (is_string(cls, chunk))
		return cls->string_id;
	return size_type(cls, chunk->usable);
}
