/* SPDX-License-Identifier: MIT */
/*
 * glibc_heap.c - walking a glibc ptmalloc heap from outside, without symbols.
 *
 * Input is a memory source (captured copies of the target's writable
 * mappings); output is one callback per chunk. The steps (the facts they
 * rest on are in docs/heap-walk.md):
 *
 *  1. detect: find libc's mapping, read its version banner from the file,
 *     pick the layout (glibc_layout.c); refuse other allocators and
 *     unknown versions.
 *  2. main_arena: scan libc's writable data for a malloc_state whose top
 *     is the chunk that ends the [heap] mapping (or, with no [heap], whose
 *     top still points at its own unsorted bin, as malloc_init_state leaves
 *     it) and whose 127 bins are each empty (self-pointing) or point into
 *     readable memory. mp_ is found beside it by its sbrk_base.
 *  3. arenas through main_arena.next; heaps of an arena from top & ~(64 MiB
 *     - 1) back through heap_info.prev.
 *  4. free sets, into one open-addressing hash (chunk address -> state):
 *     the threads' tcaches, fastbins, and the doubly linked bins;
 *     safe-linking decoded on the way. A tcache is found through its
 *     thread's TLS variable `tcache` (same offset below every fs_base,
 *     learnt from a few threads), else by content: every in-use chunk of
 *     the struct's size, found by a skim over the heaps, whose counts and
 *     lists check out (entries of the right size, one common key).
 *  5. the walk proper: chunk by chunk with pointer arithmetic inside the
 *     captured region; a chunk is free when the next chunk's PREV_INUSE is
 *     clear, or when the hash says tcache/fastbin.
 *  6. mmapped chunks: page-aligned IS_MMAPPED headers in anonymous rw
 *     mappings that are neither heaps nor stacks, until mp_.n_mmaps found.
 *
 * Every loop is bounded by the memory it walks; lists also stop on a
 * duplicate (the hash doubles as cycle detection). A bad size or link marks
 * its arena corrupt: the other arenas are still walked (partial result with
 * a warning), and when nothing sound is left the walk fails with
 * -LM_ECORRUPT naming the address.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "glibc_dwarf.h"
#include "glibc_heap.h"
#include "mapfile.h"
#include "glibc_layout.h"

#define MINSIZE 32ULL
#define CHUNK_HDR ((uint64_t)LM_CHUNK_HDR)
#define PAGE 4096ULL
#define FLAG_P 0x1ULL
#define FLAG_M 0x2ULL
#define FLAG_A 0x4ULL
#define SIZE_MASK (~7ULL)
#define MAX_HEAPS_PER_ARENA 65536
#define NO_ARENA 0xffff

/* ---- small helpers ---------------------------------------------------- */

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Chunks are walked one after the other, but each step depends on the size
 * just loaded, so the CPU cannot run ahead: prefetch the heap linearly,
 * PREFETCH_AHEAD bytes in front of the walk (one request per cache line). */
#define PREFETCH_AHEAD 2048
static inline void prefetch_to(const uint8_t *d, uint64_t *done, uint64_t upto, uint64_t limit)
{
	if (upto > limit)
		upto = limit;
	while (*done < upto) {
		__builtin_prefetch(d + *done);
		*done += 64;
	}
}

static inline uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* ---- the free set: chunk address -> state, open addressing ------------ */

struct chunkset {
	uint64_t *keys;		/* 0 = empty slot (no chunk lives at 0) */
	uint8_t *vals;
	size_t cap;		/* power of two */
	size_t n;
	unsigned bits;
	uint64_t max_bytes;	/* keys and values, old and new while growing; 0 = no limit */
};

static inline size_t cs_slot(const struct chunkset *cs, uint64_t key)
{
	/* chunk addresses are 16-aligned: drop the zero bits, then mix */
	return (size_t)(((key >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - cs->bits));
}

static void cs_free(struct chunkset *cs)
{
	free(cs->keys);
	free(cs->vals);
	memset(cs, 0, sizeof(*cs));
}

static int cs_resize(struct chunkset *cs, unsigned bits)
{
	struct chunkset n = { .bits = bits, .cap = (size_t)1 << bits, .max_bytes = cs->max_bytes };
	size_t i;

	if (cs->max_bytes && (uint64_t)(n.cap + cs->cap) * (sizeof(*n.keys) + 1) > cs->max_bytes)
		return -LM_ELIMIT;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = malloc(n.cap);
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -LM_ENOMEM;
	}
	for (i = 0; i < cs->cap; i++) {
		size_t s;
		if (!cs->keys[i])
			continue;
		s = cs_slot(&n, cs->keys[i]);
		while (n.keys[s])
			s = (s + 1) & (n.cap - 1);
		n.keys[s] = cs->keys[i];
		n.vals[s] = cs->vals[i];
		n.n++;
	}
	cs_free(cs);
	*cs = n;
	return 0;
}

/* 0 when added, 1 when already present (with its state in *old), or
 * -LM_ENOMEM, or -LM_ELIMIT (more than cs->max_bytes). */
static int cs_add(struct chunkset *cs, uint64_t key, uint8_t val, uint8_t *old)
{
	size_t s;

	if ((cs->n + 1) * 2 > cs->cap) {
		int rc = cs_resize(cs, cs->bits ? cs->bits + 1 : 10);
		if (rc)
			return rc;
	}
	s = cs_slot(cs, key);
	while (cs->keys[s]) {
		if (cs->keys[s] == key) {
			if (old)
				*old = cs->vals[s];
			return 1;
		}
		s = (s + 1) & (cs->cap - 1);
	}
	cs->keys[s] = key;
	cs->vals[s] = val;
	cs->n++;
	return 0;
}

/* The state stored for key, or -1. */
static inline int cs_get(const struct chunkset *cs, uint64_t key)
{
	size_t s;

	if (!cs->n)
		return -1;
	s = cs_slot(cs, key);
	while (cs->keys[s]) {
		if (cs->keys[s] == key)
			return cs->vals[s];
		s = (s + 1) & (cs->cap - 1);
	}
	return -1;
}

/* ---- walker state ----------------------------------------------------- */

struct heap {
	uint64_t base;		/* heap_info, or sbrk_base for the main heap */
	uint64_t first;		/* first chunk */
	uint64_t end;		/* end of the chunk area (top end or heap_info.size) */
	uint64_t top;		/* the arena's top when this is its newest heap, else 0 */
	unsigned arena;		/* index into walker.arenas */
};

struct arena {
	uint64_t addr;
	uint64_t top, top_size;
	uint64_t system_mem;
	unsigned nheaps;
	int locked;
	int corrupt;
};

struct walker {
	const struct lm_memsrc *src;
	const struct lm_glibc_layout *L;
	const struct lm_walk_opts *opts;
	struct lm_heap_info *info;
	lm_chunk_fn fn;
	void *ctx;
	struct lm_err *err;

	const struct lm_mapping *heap_map;	/* [heap] (&heap_ext), or NULL */
	struct lm_mapping heap_ext;	/* the main heap: adjacent [heap] mappings */
	struct arena *arenas;
	size_t narenas;
	struct heap *heaps;
	size_t nheaps, heaps_cap;

	struct chunkset freeset;	/* tcache, fastbin and bin chunks */
	struct chunkset tcstructs;	/* validated tcache_perthread_structs */
	struct chunkset heapset;	/* heaps listed so far (loop detection) */
	uint64_t *tc_cand;		/* in-use chunks of the struct's size */
	size_t ntc_cand, tc_cand_cap;
	int tc_from_tls;		/* tc_cand are the threads' own tcache pointers */
	uint64_t lookup_max;		/* largest chunk size a tcache/fastbin holds */
	uint64_t tcache_count_max;	/* bound on a tcache bin's count */
	uint64_t list_limit;		/* bound on any free list's length */
	struct chunkset tcchecked;	/* tcache candidates checked: 1 valid, 2 not */
	uint64_t tc_work, tc_work_max;	/* tcache entries visited, and the bound */

	char corrupt_msg[LM_ERRMSG_MAX];	/* the first corruption seen */
	int borrowed;			/* L is the newest layout, not this glibc's own */
	struct lm_glibc_layout dwarf_layout;	/* L when libc's DWARF gave it */
	int ncorrupt;
};

static void note_corrupt(struct walker *w, unsigned arena, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note_corrupt(struct walker *w, unsigned arena, const char *fmt, ...)
{
	va_list ap;

	if (arena < w->narenas)
		w->arenas[arena].corrupt = 1;
	if (w->ncorrupt++ == 0) {
		va_start(ap, fmt);
		vsnprintf(w->corrupt_msg, sizeof(w->corrupt_msg), fmt, ap);
		va_end(ap);
	}
}

static int add_candidate(struct walker *w, uint64_t c);
static void add_warning(struct lm_heap_info *info, const char *msg);

/* cs_add's failure on the set of free chunks, said. */
static int freeset_error(struct walker *w, int rc)
{
	if (rc == -LM_ELIMIT)
		return lm_err_set(w->err, LM_ELIMIT, "the free lists of pid %d hold more than %zu "
				  "chunks: the set of them needs more than the %llu MiB max-memory "
				  "leaves it; raise --max-memory", (int)w->src->pid, w->freeset.n,
				  (unsigned long long)(w->freeset.max_bytes >> 20));
	return lm_err_set(w->err, LM_ENOMEM, "out of memory");
}

static int rd64(const struct walker *w, uint64_t addr, uint64_t *v)
{
	return lm_mem_word(w->src, addr, v);
}

/* ---- 1. detection ----------------------------------------------------- */

static int is_libc_path(const char *path)
{
	const char *b = basename_of(path);
	size_t n = strlen(b);

	/* A libc replaced on disk since it was mapped (an upgrade of glibc
	 * while the process runs) is still the one the process uses. */
	if (n > 10 && strcmp(b + n - 10, " (deleted)") == 0)
		n -= 10;
	if (n == 9 && strncmp(b, "libc.so.6", 9) == 0)
		return 1;
	return strncmp(b, "libc-2.", 7) == 0 && n > 10 && strncmp(b + n - 3, ".so", 3) == 0;
}

/* Another allocator mapped in, by the file's name: its name, or NULL.
 * Whichever allocator a process loads replaces glibc's malloc for all of
 * it (jemalloc, tcmalloc and mimalloc interpose malloc when loaded; musl's
 * dynamic loader is its libc), so glibc's arenas, if any, are not the heap. */
static const char *other_allocator(const char *path)
{
	static const struct { const char *prefix, *name; } known[] = {
		{ "libjemalloc", "jemalloc" }, { "libtcmalloc", "tcmalloc" },
		{ "libmimalloc", "mimalloc" },
		/* musl's libc is its dynamic loader: ld-musl-ARCH.so.1
		 * (Alpine links libc.musl-ARCH.so.1 to it) */
		{ "ld-musl-", "musl's malloc" }, { "libc.musl-", "musl's malloc" },
	};
	const char *b = basename_of(path);
	size_t i;

	/* Debian's ld-musl is a link to .../x86_64-linux-musl/libc.so, the
	 * name mapped; glibc's libc.so is a linker script, never mapped. */
	if (strcmp(b, "libc.so") == 0)
		return "musl's malloc";

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strncmp(b, known[i].prefix, strlen(known[i].prefix)) == 0)
			return known[i].name;
	return NULL;
}

/* An allocator linked into a module instead of loaded as its own library
 * (redis builds jemalloc in with the je_ prefix; musl-gcc -static puts
 * musl's malloc in the executable), found by a symbol only it defines:
 * the allocator's name, and in *sym the symbol; NULL when none is there
 * or there are no symbols. musl's mallocng keeps its state in
 * __malloc_context, its older malloc has __bin_chunk, and __init_libc is
 * musl's start-up whichever malloc it has. */
static const char *linked_allocator(const struct lm_symtab *syms, const struct lm_symbol **sym,
				    const char **symbol)
{
	static const struct { const char *symbol, *name; } known[] = {
		{ "je_malloc", "jemalloc" }, { "je_mallocx", "jemalloc" },
		{ "mallocx", "jemalloc" }, { "tc_malloc", "tcmalloc" },
		{ "mi_malloc", "mimalloc" }, { "__malloc_context", "musl's mallocng" },
		{ "__bin_chunk", "musl's oldmalloc" }, { "__init_libc", "musl's malloc" },
	};
	size_t i;

	if (!syms)
		return NULL;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		*sym = lm_symtab_by_name(syms, known[i].symbol);
		*symbol = known[i].symbol;
		if (*sym)
			return known[i].name;
	}
	return NULL;
}

/* Every function linked_allocator() and malloc_definer() look for. */
const char *const lm_glibc_heap_funcs[] = {
	"je_malloc", "je_mallocx", "mallocx", "tc_malloc", "mi_malloc", "__bin_chunk",
	"__init_libc", "malloc", NULL
};

/* A module other than glibc's own that defines malloc, or NULL: an
 * allocator linked in and stripped of the names above. The executable
 * exports its malloc to the libraries that call it (the linker puts it in
 * .dynsym), so stripping leaves it. glibc's own modules that define one
 * still use glibc's heap: libc, its loader (a minimal malloc before libc
 * is up), libc_malloc_debug and libmemusage (wrappers around libc's). */
static const struct lm_module *malloc_definer(const struct lm_symtab *syms)
{
	static const char *const glibc_own[] = { "ld-", "libc_malloc_debug", "libmemusage" };
	size_t i, j, n = syms ? lm_symtab_nsymbols(syms) : 0;

	for (i = 0; i < n; i++) {
		const struct lm_symbol *s = lm_symtab_symbol_at(syms, i);
		const struct lm_module *m;
		const char *b;
		int own = 0;

		if (s->local || !s->raw || strcmp(s->raw, "malloc") != 0)
			continue;
		m = lm_symtab_module_at(syms, s->module);
		if (!m || !m->path || is_libc_path(m->path))
			continue;
		b = basename_of(m->path);
		for (j = 0; j < sizeof(glibc_own) / sizeof(glibc_own[0]); j++)
			own |= strncmp(b, glibc_own[j], strlen(glibc_own[j])) == 0;
		if (!own)
			return m;
	}
	return NULL;
}

/* The module a symbol is in, by path, for a message. */
static const char *module_path(const struct lm_symtab *syms, const struct lm_symbol *sym)
{
	const struct lm_module *m = lm_symtab_module_at(syms, sym->module);

	return m && m->path ? m->path : "a module";
}

/* Copy the version after "release version " at p (bounded by end) into out:
 * "2.36" from "... stable release version 2.36."; -LM_EINVAL if none is. */
static int parse_version(const char *p, const char *end, char *out, size_t len)
{
	size_t n = 0;
	int dots = 0;

	while (p < end && n + 1 < len && ((*p >= '0' && *p <= '9') || *p == '.')) {
		if (*p == '.') {
			if (p + 1 >= end || p[1] < '0' || p[1] > '9')
				break;	/* the sentence's final dot */
			dots++;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	return n > 0 && dots >= 1 ? 0 : -LM_EINVAL;
}

/* Search libc's file for the banner "GNU C Library ... release version X.Y".
 * *opened: whether the file could be opened (else err says why not).
 * -LM_ENOTFOUND, err untouched, when the file has no banner. */
static int read_libc_version(const struct lm_memsrc *src, const struct lm_mapping *m,
			     char *out, size_t len, int *opened, struct lm_err *err)
{
	static const char key[] = "release version ";
	const size_t block = 1 << 20, keep = 64, limit = 64 << 20;
	char *buf;
	size_t have = 0, total = 0;
	int fd, rc = -LM_ENOTFOUND;

	fd = lm_memsrc_open_mapping_file(src, m, err);
	*opened = fd >= 0;
	if (fd < 0)
		return fd;
	buf = malloc(block + keep);
	if (!buf) {
		close(fd);
		return lm_err_set(err, LM_ENOMEM, "out of memory reading %s", m->path);
	}
	while (total < limit) {
		ssize_t r = read(fd, buf + have, block);
		char *hit;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		total += (size_t)r;
		have += (size_t)r;
		hit = memmem(buf, have, key, sizeof(key) - 1);
		while (hit) {
			const char *v = hit + sizeof(key) - 1;
			if (memmem(buf, (size_t)(hit - buf), "GNU C Library", 13) ||
			    (size_t)(hit - buf) < 200) {
				if (parse_version(v, buf + have, out, len) == 0) {
					rc = 0;
					break;
				}
			}
			hit = memmem(hit + 1, have - (size_t)(hit + 1 - buf), key, sizeof(key) - 1);
		}
		if (rc == 0)
			break;
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
	free(buf);
	close(fd);
	return rc;
}

int lm_glibc_detect(const struct lm_memsrc *src, const struct lm_symtab *syms,
		    struct lm_heap_info *info, struct lm_err *err)
{
	const struct lm_mapping *libc = NULL;
	const struct lm_glibc_layout *layout;
	char supported[256];
	const struct lm_symbol *sym = NULL;
	const struct lm_module *definer;
	const char *other, *symbol = NULL;
	char path[256];
	size_t i;
	int exact, opened = 0;

	for (i = 0; i < src->maps.n; i++) {
		const struct lm_mapping *m = &src->maps.v[i];
		if (!m->path || m->path[0] != '/')
			continue;
		other = other_allocator(m->path);
		if (other)
			return lm_err_set(err, LM_ENOTGLIBC,
					  "process %d: malloc is %s: not supported (%s is mapped); "
					  "leakmon walks only glibc's malloc",
					  (int)src->pid, other, lm_escape_str(m->path, path, sizeof(path)));
		if (is_libc_path(m->path) && (!libc || m->start < libc->start))
			libc = m;
	}
	other = linked_allocator(syms, &sym, &symbol);
	if (other)
		return lm_err_set(err, LM_ENOTGLIBC,
				  "process %d: malloc is %s: not supported (%s defines %s); "
				  "leakmon walks only glibc's malloc", (int)src->pid, other,
				  lm_escape_str(module_path(syms, sym), path, sizeof(path)), symbol);
	if (libc && (definer = malloc_definer(syms)))
		return lm_err_set(err, LM_ENOTGLIBC,
				  "process %d: malloc is not glibc's: not supported (%s defines "
				  "malloc; an allocator linked in); leakmon walks only glibc's "
				  "malloc", (int)src->pid,
				  lm_escape_str(definer->path, path, sizeof(path)));
	if (!libc && syms && (sym = lm_symtab_by_name(syms, "main_arena")))
		return lm_err_set(err, LM_ENOTGLIBC,
				  "process %d is a static binary linked with glibc (main_arena is in "
				  "%s, there is no libc.so.6): not supported; leakmon walks glibc's "
				  "heap only when glibc is loaded as libc.so.6 (link the program "
				  "dynamically)", (int)src->pid,
				  lm_escape_str(module_path(syms, sym), path, sizeof(path)));
	if (!libc)
		return lm_err_set(err, LM_ENOTGLIBC,
				  "process %d has no libc.so.6 mapped: a static binary or no glibc, "
				  "so there is no glibc malloc heap to walk", (int)src->pid);
	info->libc_base = libc->start - libc->offset;
	if (read_libc_version(src, libc, info->glibc_version,
			      sizeof(info->glibc_version), &opened, err) < 0) {
		const char *b = basename_of(libc->path);
		if (strncmp(b, "libc-", 5) == 0 &&
		    parse_version(b + 5, b + strlen(b), info->glibc_version,
				  sizeof(info->glibc_version)) == 0)
			goto found;
		if (err && err->code == LM_EPERM)
			return -LM_EPERM;
		if (err && err->code == LM_ENOPROC)	/* gone since its memory was read */
			return lm_err_set(err, LM_EEXITED, "process %d exited during the "
					  "snapshot (its libc could no longer be opened)",
					  (int)src->pid);
		if (!opened && err) {	/* its message says which file and why */
			char why[LM_ERRMSG_MAX];
			memcpy(why, err->msg, sizeof(why));
			return lm_err_set(err, LM_EVERSION, "cannot read the glibc version: %.400s",
					  why);
		}
		return lm_err_set(err, LM_EVERSION,
				  "cannot read the glibc version of %s (no \"release version\" "
				  "banner in the file)", libc->path);
	}
found:
	layout = lm_glibc_layout_nearest(info->glibc_version, &exact);
	if (!layout) {
		lm_glibc_layout_list(supported, sizeof(supported), 0);
		return lm_err_set(err, LM_EVERSION,
				  "glibc %s (%s) is not supported: leakmon knows the malloc "
				  "layouts of glibc %s", info->glibc_version, libc->path, supported);
	}
	snprintf(info->layout_version, sizeof(info->layout_version), "%s", layout->version);
	return 0;
}

const char *lm_chunk_state_name(int state)
{
	static const char *const names[] = {
		"in use", "mmapped", "tcache struct", "tcache", "fastbin",
		"unsorted", "small bin", "large bin", "top", "fencepost",
		"pymalloc block", "pymalloc free block"
	};
	if (state < 0 || (size_t)state >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[state];
}

/* ---- 2. main_arena and mp_ -------------------------------------------- */

/* libc's writable mappings (file-backed .data, then the anonymous .bss
 * continuation right after it). */
static size_t libc_data_maps(const struct walker *w, const struct lm_mapping **out, size_t max)
{
	const struct lm_maps *maps = &w->src->maps;
	size_t i, n = 0;

	for (i = 0; i < maps->n && n < max; i++) {
		const struct lm_mapping *m = &maps->v[i];
		if (!m->path || !is_libc_path(m->path) || !(m->prot & LM_PROT_W))
			continue;
		out[n++] = m;
		if (i + 1 < maps->n && n < max && !maps->v[i + 1].path &&
		    maps->v[i + 1].start == m->end && (maps->v[i + 1].prot & LM_PROT_W))
			out[n++] = &maps->v[i + 1];
	}
	return n;
}

/* A readable chunk header at a 16-aligned address? */
static int chunk_ptr_ok(const struct walker *w, uint64_t p)
{
	return p && !(p & 15) && lm_mem_view(w->src, p, 32) != NULL;
}

/* Does the malloc_state at a look like an arena? Checks the mutex, every bin
 * (empty = both links at its own header; else both into readable memory),
 * the fastbins and next. With no_heap the arena must be pristine. */
static int arena_plausible(const struct walker *w, uint64_t a, const uint8_t *ms, int no_heap)
{
	const struct lm_glibc_layout *L = w->L;
	uint32_t mutex;
	uint64_t next = ld64(ms + L->ms_next);
	unsigned i;

	memcpy(&mutex, ms + L->ms_mutex, 4);
	if (mutex > 2)
		return 0;
	if (!next || (next & 7) || (next != a && !lm_mem_view(w->src, next, L->ms_size)))
		return 0;
	for (i = 0; i < L->nfastbins; i++) {
		uint64_t f = ld64(ms + L->ms_fastbins + 8 * i);
		if (f && (no_heap || !chunk_ptr_ok(w, f)))
			return 0;
	}
	for (i = 1; i < L->nbins; i++) {
		uint64_t hdr_off = L->ms_bins + (uint64_t)(i - 1) * 16 - 16;
		uint64_t hdr = a + hdr_off;
		uint64_t fd = ld64(ms + hdr_off + 16), bk = ld64(ms + hdr_off + 24);
		if (fd == hdr && bk == hdr)
			continue;
		if (no_heap || fd == hdr || bk == hdr || !chunk_ptr_ok(w, fd) || !chunk_ptr_ok(w, bk))
			return 0;
	}
	return 1;
}

static int heap_part(const struct lm_mapping *m)
{
	return (m->prot & LM_PROT_W) && (!m->path || strcmp(m->path, "[heap]") == 0);
}

/*
 * The main heap as one range: the mapping m and its neighbours that are
 * also [heap] and touch it. brk grows one mapping, but anything that changes
 * the flags of part of it splits it: madvise(MADV_HUGEPAGE) (glibc itself
 * does that with the glibc.malloc.hugetlb tunable), mprotect, mlock.
 */
static void heap_extent(const struct lm_maps *maps, const struct lm_mapping *m,
			struct lm_mapping *ext)
{
	size_t i = (size_t)(m - maps->v), lo = i, hi = i;

	*ext = *m;
	if (!m->path)		/* an unnamed mapping of a core: only itself */
		return;
	while (lo > 0 && maps->v[lo - 1].end == maps->v[lo].start &&
	       maps->v[lo - 1].path && heap_part(&maps->v[lo - 1]))
		lo--;
	while (hi + 1 < maps->n && maps->v[hi].end == maps->v[hi + 1].start &&
	       maps->v[hi + 1].path && heap_part(&maps->v[hi + 1]))
		hi++;
	ext->start = maps->v[lo].start;
	ext->end = maps->v[hi].end;
}

/* Is top the top chunk of a main heap? It must lie in an anonymous
 * writable mapping (the [heap], or in a core an unnamed one) and end it:
 * brk moves in whole pages on every path malloc takes. The heap's extent
 * goes to *ext. */
static int main_top_mapping(const struct walker *w, uint64_t top, uint64_t *tsize,
			    struct lm_mapping *ext)
{
	const struct lm_mapping *m;
	const uint8_t *th;

	if (!top || (top & 15))
		return 0;
	m = lm_maps_find(&w->src->maps, top);
	if (!m || !heap_part(m))
		return 0;
	heap_extent(&w->src->maps, m, ext);
	th = lm_mem_view(w->src, top, 16);
	if (!th)
		return 0;
	*tsize = ld64(th + 8) & SIZE_MASK;
	/* the size is the target's: compare without letting top + size wrap */
	return top < ext->end && *tsize >= MINSIZE && *tsize <= ext->end - top &&
	       ext->end - top - *tsize < PAGE;
}

/* The next address after a (a view at a failed) where a view may succeed:
 * the start of the next captured region, 8-aligned, at most limit. A
 * mapping's size is the target's: stepping page by page through a huge,
 * uncaptured one would not end. */
static uint64_t next_captured(const struct lm_memsrc *src, uint64_t a, uint64_t limit)
{
	size_t lo = 0, hi = src->nregions;
	uint64_t next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (src->regions[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == src->nregions || src->regions[lo].start >= limit - 7)
		return limit;
	next = align_up(src->regions[lo].start, 8);
	return next < a + 8 ? a + 8 : next;
}

/* main_arena: a malloc_state in libc's data whose top is either the chunk
 * that ends the main heap, or (no main heap yet) its own unsorted bin, as
 * malloc_init_state leaves it. */
static int find_main_arena(struct walker *w)
{
	const struct lm_glibc_layout *L = w->L;
	const struct lm_mapping *dm[8];
	size_t nd = libc_data_maps(w, dm, 8), k;

	for (k = 0; k < nd; k++) {
		uint64_t a;
		for (a = dm[k]->start; a < dm[k]->end && dm[k]->end - a >= L->ms_size; a += 8) {
			const uint8_t *ms = lm_mem_view(w->src, a, L->ms_size);
			struct lm_mapping ext;
			int in_heap = 0;
			uint64_t top, tsize = 0;
			if (!ms) {
				/* skip to the next captured bytes */
				a = next_captured(w->src, a, dm[k]->end) - 8;
				continue;
			}
			top = ld64(ms + L->ms_top);
			if (top == a + L->ms_bins - 16) {
				if (!arena_plausible(w, a, ms, 1))
					continue;
			} else {
				in_heap = main_top_mapping(w, top, &tsize, &ext);
				if (!in_heap || !arena_plausible(w, a, ms, 0))
					continue;
			}
			if (in_heap)
				w->heap_ext = ext;
			w->heap_map = in_heap ? &w->heap_ext : NULL;
			w->info->main_arena = a;
			w->arenas[0].addr = a;
			w->arenas[0].top = in_heap ? top : 0;
			w->arenas[0].top_size = tsize;
			w->arenas[0].system_mem = ld64(ms + L->ms_system_mem);
			w->arenas[0].locked = ld64(ms + L->ms_mutex) & 0xffffffffu ? 1 : 0;
			return 0;
		}
	}
	if (!w->heap_map)
		return lm_err_set(w->err, LM_ENOTFOUND,
				  "process %d has no [heap] and no initialised main_arena in libc's "
				  "data: glibc malloc was never used", (int)w->src->pid);
	return lm_err_set(w->err, LM_ECORRUPT,
			  "no main_arena found in libc's data whose top chunk ends the [heap] "
			  "at 0x%" PRIx64 "-0x%" PRIx64 " of process %d (heap extended outside "
			  "[heap], or a corrupt arena)", w->heap_map->start, w->heap_map->end,
			  (int)w->src->pid);
}

/* mp_: the malloc_par whose sbrk_base is the heap start (0 with no heap)
 * and whose counters are sane; the closest to main_arena wins. */
static void find_mp(struct walker *w)
{
	const struct lm_glibc_layout *L = w->L;
	const struct lm_mapping *dm[8];
	size_t nd = libc_data_maps(w, dm, 8), k;
	/* sbrk_base: 0 before any brk; else inside the main heap's mapping
	 * below top (the mapping may also hold what preceded the first brk) */
	uint64_t lo = w->heap_map ? w->heap_map->start : 0;
	uint64_t hi = w->heap_map ? w->arenas[0].top : 0;
	uint64_t best = 0, bestd = UINT64_MAX;

	for (k = 0; k < nd; k++) {
		uint64_t a;
		for (a = dm[k]->start; a < dm[k]->end && dm[k]->end - a >= L->mp_size; a += 8) {
			const uint8_t *mp = lm_mem_view(w->src, a, L->mp_size);
			int32_t n, nmax, maxn;
			uint32_t no_dyn;
			uint64_t d;
			if (!mp) {
				a = align_up(a + 1, PAGE) - 8;
				continue;
			}
			if (ld64(mp + L->mp_sbrk_base) < lo || ld64(mp + L->mp_sbrk_base) > hi)
				continue;
			memcpy(&n, mp + L->mp_n_mmaps, 4);
			memcpy(&nmax, mp + L->mp_n_mmaps_max, 4);
			memcpy(&maxn, mp + L->mp_max_n_mmaps, 4);
			if (n < 0 || maxn < n || nmax < 0)
				continue;
			if (ld64(mp + L->mp_mmapped_mem) > ld64(mp + L->mp_max_mmapped_mem))
				continue;
			if ((n == 0) != (ld64(mp + L->mp_mmapped_mem) == 0))
				continue;
			if (ld64(mp + L->mp_arena_test) == 0 || ld64(mp + L->mp_arena_test) > (1 << 20))
				continue;
			/* tunables within glibc's own bounds: mmap_threshold (at 16 in
			 * every era) <= HEAP_MAX_SIZE / 2, no_dyn_threshold a flag, at
			 * least one tcache bin, tcache_max_bytes <= the largest bin */
			memcpy(&no_dyn, mp + L->mp_max_n_mmaps + 4, 4);	/* an int: before
				 * 2.35 mmapped_mem follows it without padding */
			if (ld64(mp + 16) > L->heap_max_size / 2 || no_dyn > 1)
				continue;
			if (L->tcache_bins &&
			    (ld64(mp + L->mp_tcache_bins) < 1 ||
			     ld64(mp + L->mp_tcache_bins) > L->tcache_bins ||
			     ld64(mp + L->mp_tcache_count) > 65535 ||
			     ld64(mp + L->mp_tcache_max_bytes) > L->tcache_max_bytes_max))
				continue;
			d = a > w->info->main_arena ? a - w->info->main_arena : w->info->main_arena - a;
			if (d < bestd) {
				best = a;
				bestd = d;
			}
		}
	}
	if (best) {
		const uint8_t *mp = lm_mem_view(w->src, best, L->mp_size);
		int32_t n;
		memcpy(&n, mp + L->mp_n_mmaps, 4);
		w->info->mp = best;
		w->info->mp_n_mmaps = (uint64_t)n;
		w->info->mp_mmapped_mem = ld64(mp + L->mp_mmapped_mem);
		w->tcache_count_max = ld64(mp + L->mp_tcache_count);
		w->info->sbrk_base = ld64(mp + L->mp_sbrk_base);
	} else {
		w->info->sbrk_base = lo;
	}
}

/* With size-range tcache bins (2.42+) a tcache may hold chunks up to
 * mp_.tcache_max_bytes (a tunable): free chunks of that size must be looked
 * up in the free set, but in-use chunks above it need not be. */
static void tcache_lookup_max(struct walker *w)
{
	uint64_t v = w->L->tcache_max_bytes_max;

	if (w->info->mp && rd64(w, w->info->mp + w->L->mp_tcache_max_bytes, &v) < 0)
		v = w->L->tcache_max_bytes_max;
	if (v > w->lookup_max)
		w->lookup_max = v + 16;	/* the bound is a chunk size, or below 2.42 a usable one */
}

/* ---- 3. arenas and heaps ---------------------------------------------- */

static int add_heap(struct walker *w, const struct heap *h)
{
	if (w->nheaps == w->heaps_cap) {
		size_t cap = w->heaps_cap ? w->heaps_cap * 2 : 16;
		struct heap *v = realloc(w->heaps, cap * sizeof(*v));
		if (!v)
			return lm_err_set(w->err, LM_ENOMEM, "out of memory listing heaps");
		w->heaps = v;
		w->heaps_cap = cap;
	}
	w->heaps[w->nheaps++] = *h;
	return 0;
}

static int list_arenas(struct walker *w)
{
	const struct lm_glibc_layout *L = w->L;
	uint64_t a = w->arenas[0].addr, next;

	w->narenas = 1;
	if (rd64(w, a + L->ms_next, &next) < 0)
		return lm_err_set(w->err, LM_ECORRUPT, "main_arena at 0x%" PRIx64 " unreadable", a);
	while (next != w->arenas[0].addr) {
		const uint8_t *ms = lm_mem_view(w->src, next, L->ms_size);
		struct arena *ar;
		size_t i;
		if (!ms || (next & 15) || !arena_plausible(w, next, ms, 0)) {
			note_corrupt(w, 0, "arena list broken: arena 0x%" PRIx64 " links to 0x%" PRIx64
				     ", which is not an arena", a, next);
			break;
		}
		for (i = 1; i < w->narenas; i++)
			if (w->arenas[i].addr == next)
				break;
		if (i < w->narenas || w->narenas >= LM_MAX_ARENAS) {
			note_corrupt(w, 0, "arena list from main_arena 0x%" PRIx64 " loops or exceeds %d "
				     "arenas at 0x%" PRIx64, w->arenas[0].addr, LM_MAX_ARENAS, next);
			break;
		}
		ar = &w->arenas[w->narenas++];
		memset(ar, 0, sizeof(*ar));
		ar->addr = next;
		ar->top = ld64(ms + L->ms_top);
		ar->system_mem = ld64(ms + L->ms_system_mem);
		ar->locked = ld64(ms + L->ms_mutex) & 0xffffffffu ? 1 : 0;
		a = next;
		next = ld64(ms + L->ms_next);
	}
	return 0;
}

/* First chunk of a heap: right after heap_info, or after the malloc_state
 * in an arena's first heap; aligned so that user pointers are 16-aligned. */
static uint64_t heap_first_chunk(const struct walker *w, uint64_t h, uint64_t arena)
{
	uint64_t after = arena == h + w->L->hi_size ? arena + w->L->ms_size : h + w->L->hi_size;
	return align_up(after + CHUNK_HDR, 16) - CHUNK_HDR;
}

static int list_heaps_of(struct walker *w, unsigned ai)
{
	const struct lm_glibc_layout *L = w->L;
	struct arena *ar = &w->arenas[ai];
	uint64_t hmask = L->heap_max_size - 1, h = ar->top & ~hmask;
	uint64_t tsize;
	size_t first_new = w->nheaps;
	unsigned n = 0;

	if (rd64(w, ar->top + 8, &tsize) < 0) {
		note_corrupt(w, ai, "arena 0x%" PRIx64 " has its top chunk at 0x%" PRIx64
			     ", which is not readable", ar->addr, ar->top);
		return 0;
	}
	ar->top_size = tsize & SIZE_MASK;
	while (h) {
		const uint8_t *hi = lm_mem_view(w->src, h, L->hi_size);
		struct heap hp = { .base = h, .arena = ai };
		uint64_t used;
		if (!hi || ld64(hi + L->hi_ar_ptr) != ar->addr) {
			note_corrupt(w, ai, "heap 0x%" PRIx64 " of arena 0x%" PRIx64 " has no valid "
				     "heap_info", h, ar->addr);
			break;
		}
		used = ld64(hi + L->hi_used);
		hp.first = heap_first_chunk(w, h, ar->addr);
		if (n == 0) {
			hp.top = ar->top;
			hp.end = ar->top + ar->top_size;
			/* A top outside the heap's own bytes, or a size that wraps
			 * around to land on the heap's end, would let the walk run
			 * off the captured region: the arena is not walked. */
			if ((ar->top & 15) || ar->top_size > L->heap_max_size ||
			    ar->top < hp.first || ar->top - h >= L->heap_max_size ||
			    hp.end < ar->top) {
				note_corrupt(w, ai, "top chunk 0x%" PRIx64 " (size 0x%" PRIx64 ") of "
					     "arena 0x%" PRIx64 " lies outside its heap 0x%" PRIx64,
					     ar->top, ar->top_size, ar->addr, h);
				break;
			}
			if (hp.end != h + used)
				note_corrupt(w, ai, "top chunk 0x%" PRIx64 " of arena 0x%" PRIx64
					     " (size 0x%" PRIx64 ") does not end its heap 0x%" PRIx64
					     " (0x%" PRIx64 " bytes used)", ar->top, ar->addr,
					     ar->top_size, h, used);
		} else {
			hp.end = h + used;
		}
		if (used > L->heap_max_size || hp.end > h + L->heap_max_size || hp.first > hp.end) {
			note_corrupt(w, ai, "heap 0x%" PRIx64 " of arena 0x%" PRIx64 " claims 0x%"
				     PRIx64 " bytes", h, ar->addr, used);
			break;
		}
		{
			int seen = cs_add(&w->heapset, h, 1, NULL);
			if (seen < 0)
				return lm_err_set(w->err, LM_ENOMEM, "out of memory");
			if (seen) {
				note_corrupt(w, ai, "heap_info.prev of arena 0x%" PRIx64 " loops back "
					     "to heap 0x%" PRIx64, ar->addr, h);
				break;
			}
		}
		if (add_heap(w, &hp))
			return -LM_ENOMEM;
		if (++n >= MAX_HEAPS_PER_ARENA) {
			note_corrupt(w, ai, "arena 0x%" PRIx64 " has more than %d heaps (a loop "
				     "through heap_info.prev?)", ar->addr, MAX_HEAPS_PER_ARENA);
			break;
		}
		h = ld64(hi + L->hi_prev);
		if (h & hmask) {
			note_corrupt(w, ai, "heap_info.prev 0x%" PRIx64 " of arena 0x%" PRIx64
				     " is not a heap", h, ar->addr);
			break;
		}
	}
	ar->nheaps = n;
	/* walk oldest first: reverse this arena's heaps into address-age order */
	for (size_t i = first_new, j = w->nheaps; i + 1 < j; i++, j--) {
		struct heap t = w->heaps[i];
		w->heaps[i] = w->heaps[j - 1];
		w->heaps[j - 1] = t;
	}
	return 0;
}

static int list_heaps(struct walker *w)
{
	size_t i;

	if (w->heap_map && w->arenas[0].top) {
		struct heap hp = {
			.base = w->info->sbrk_base ? w->info->sbrk_base : w->heap_map->start,
			.top = w->arenas[0].top,
			.end = w->arenas[0].top + w->arenas[0].top_size,
			.arena = 0,
		};
		hp.first = align_up(hp.base + CHUNK_HDR, 16) - CHUNK_HDR;
		if (add_heap(w, &hp))
			return -LM_ENOMEM;
		w->arenas[0].nheaps = 1;
	}
	for (i = 1; i < w->narenas; i++)
		if (list_heaps_of(w, (unsigned)i))
			return -LM_ENOMEM;
	return 0;
}

/* ---- 4. free sets ----------------------------------------------------- */

/* First pass: every in-use chunk of the tcache struct's size. Stops
 * quietly at a bad size; the second pass reports it. */
static int skim_heap(struct walker *w, const struct heap *hp)
{
	const struct lm_region *r = lm_mem_region(w->src, hp->first);
	uint64_t want = w->L->tcache_chunk_size, off, end, pf;
	const uint8_t *d;

	if (!r || hp->end > r->end)
		return 0;
	d = r->data;
	off = hp->first - r->start;
	/* bounded by the captured heap, whatever the target's top says */
	end = (hp->top && hp->top < hp->end ? hp->top : hp->end) - r->start;
	pf = off & ~63ULL;
	while (off < end && end - off >= CHUNK_HDR) {
		uint64_t sz = ld64(d + off + 8) & SIZE_MASK;
		prefetch_to(d, &pf, off + PREFETCH_AHEAD, end);
		if (sz < MINSIZE || (sz & 15) || sz > end - off)
			break;
		if (sz == want && off + sz + 16 <= r->end - r->start &&
		    (ld64(d + off + sz + 8) & FLAG_P) && add_candidate(w, r->start + off))
			return -LM_ENOMEM;
		off += sz;
	}
	return 0;
}

/* Can tcache bin i hold a chunk of size sz? Bins below tcache_small_bins
 * hold one size each (32 + 16 i); each later bin (2.42+) holds the sizes
 * above the last small one whose highest bit is one more than the bin's
 * predecessor's. */
static int tcache_bin_holds(const struct lm_glibc_layout *L, unsigned i, uint64_t sz)
{
	uint64_t small_max = 32 + 16ULL * (L->tcache_small_bins - 1);

	if (i < L->tcache_small_bins)
		return sz == 32 + 16ULL * i;
	return sz > small_max && !(sz & 15) &&
	       63 - __builtin_clzll(sz) == 63 - __builtin_clzll(small_max) +
					    (int)(i - L->tcache_small_bins);
}

struct tc_check {
	uint64_t key;		/* common key of its entries (random-key era) */
	size_t nentries;
	int empty;
};

/* Does the chunk at c hold a consistent tcache_perthread_struct? Adds its
 * entries to the free set only when everything checks out (the entries are
 * first collected in `tmp`). */
static int check_tcache(struct walker *w, uint64_t c, struct tc_check *tc,
			uint64_t **tmp, size_t *tmp_cap)
{
	const struct lm_glibc_layout *L = w->L;
	uint64_t u = c + 16, cmax = w->tcache_count_max ? w->tcache_count_max : 65535;
	size_t cw = L->tcache_count_width, ents_off = (size_t)L->tcache_bins * cw, n = 0;
	/* counting down needs mp_.tcache_count; without mp_ lists are only
	 * bounded, not matched against a count */
	int known = !L->tcache_counts_down || w->tcache_count_max;
	const uint8_t *t = lm_mem_view(w->src, u, ents_off + (size_t)L->tcache_bins * 8);
	unsigned i;

	memset(tc, 0, sizeof(*tc));
	if (!t)
		return 0;
	for (i = 0; i < L->tcache_bins; i++) {
		uint64_t cnt = cw == 2 ? (uint64_t)(t[2 * i] | (t[2 * i + 1] << 8)) : t[i];
		uint64_t e = ld64(t + ents_off + 8 * i), k;
		if (cnt > cmax)
			return 0;
		if (L->tcache_counts_down)
			cnt = known ? cmax - cnt : cmax;
		if (known && (cnt == 0) != (e == 0))
			return 0;
		for (k = 0; e; k++) {
			const uint8_t *ch;
			uint64_t stored, key;
			if (k >= cnt || (e & 15) || !(ch = lm_mem_view(w->src, e - 16, 32)))
				return 0;
			if (++w->tc_work > w->tc_work_max)
				return 0;	/* more than the heaps can hold: see tc_budget */
			if (!tcache_bin_holds(L, i, ld64(ch + 8) & SIZE_MASK))
				return 0;
			key = ld64(ch + 24);
			if (L->tcache_key == LM_TCKEY_STRUCT && key != u)
				return 0;
			if (L->tcache_key == LM_TCKEY_RANDOM) {
				if (!key || (tc->key && key != tc->key))
					return 0;
				tc->key = key;
			}
			if (n == *tmp_cap) {
				size_t cap = *tmp_cap ? *tmp_cap * 2 : 256;
				uint64_t *v = realloc(*tmp, cap * sizeof(*v));
				if (!v)
					return -LM_ENOMEM;
				*tmp = v;
				*tmp_cap = cap;
			}
			(*tmp)[n++] = e - 16;
			stored = ld64(ch + 16);
			e = L->safe_linking ? stored ^ (e >> 12) : stored;
		}
		if (known && k != cnt)
			return 0;
	}
	tc->nentries = n;
	tc->empty = n == 0;
	return 1;
}

/* check_tcache for one candidate address, remembered: the TLS scan meets
 * the same pointer in many words and threads. Only the verdict is kept
 * (tc is cleared); 1, 0, or -LM_ENOMEM. */
static int check_tcache_once(struct walker *w, uint64_t c, struct tc_check *tc,
			     uint64_t **tmp, size_t *tmp_cap)
{
	int seen = cs_get(&w->tcchecked, c), ok;

	if (seen > 0) {
		memset(tc, 0, sizeof(*tc));
		return seen == 1;
	}
	ok = check_tcache(w, c, tc, tmp, tmp_cap);
	if (ok >= 0 && cs_add(&w->tcchecked, c, ok == 1 ? 1 : 2, NULL) < 0)
		return -LM_ENOMEM;
	return ok;
}

/* The tcache checks together visit at most this many entries: every entry
 * is a free chunk of at least MINSIZE bytes in a captured heap, and each
 * valid struct is walked at most three times (TLS vote, key, collection).
 * A hostile struct (64 bins of 65535 entries, met by every TLS word) cannot
 * make the work exceed the captured bytes. */
static uint64_t tc_budget(const struct walker *w)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < w->nheaps; i++) {
		const struct lm_region *r = lm_mem_region(w->src, w->heaps[i].first);
		if (r && w->heaps[i].end > w->heaps[i].first)
			bytes += (w->heaps[i].end < r->end ? w->heaps[i].end : r->end) -
				 w->heaps[i].first;
	}
	if (bytes > w->src->capture_bytes)
		bytes = w->src->capture_bytes;
	return 3 * (16 + bytes / MINSIZE);
}

static unsigned arena_of_chunk(const struct walker *w, uint64_t c)
{
	size_t i;

	for (i = 0; i < w->nheaps; i++)
		if (c >= w->heaps[i].first && c < w->heaps[i].end)
			return w->heaps[i].arena;
	return 0;
}

static int add_candidate(struct walker *w, uint64_t c)
{
	if (w->ntc_cand == w->tc_cand_cap) {
		size_t cap = w->tc_cand_cap ? w->tc_cand_cap * 2 : 64;
		uint64_t *v = realloc(w->tc_cand, cap * sizeof(*v));
		if (!v)
			return lm_err_set(w->err, LM_ENOMEM, "out of memory");
		w->tc_cand = v;
		w->tc_cand_cap = cap;
	}
	w->tc_cand[w->ntc_cand++] = c;
	return 0;
}

/* Is there an in-use chunk of the tcache struct's size at user address u?
 * (Or an mmapped chunk big enough: with mmap_threshold=0 even the tcache
 * is mmapped.) */
static int tcache_sized(const struct walker *w, uint64_t u)
{
	const uint8_t *h;
	uint64_t sz;

	if (!u || (u & 15) || !(h = lm_mem_view(w->src, u - 16, 16)))
		return 0;
	sz = ld64(h + 8) & SIZE_MASK;
	if ((ld64(h + 8) & 7) == FLAG_M)
		return sz >= w->L->tcache_chunk_size && !((sz + w->L->mmap_tail) & (PAGE - 1));
	if (sz != w->L->tcache_chunk_size || !(h = lm_mem_view(w->src, u - 16 + sz, 16)))
		return 0;
	return (ld64(h + 8) & FLAG_P) != 0;
}

/* Does u point into libc's own mappings? */
static int points_into_libc(const struct walker *w, uint64_t u)
{
	const struct lm_mapping *m = lm_maps_find(&w->src->maps, u);

	return m && m->path && is_libc_path(m->path);
}

#define TLS_WINDOW 65536	/* how far below a thread pointer libc's TLS may lie */
#define TLS_VOTERS 8		/* threads used to learn the offset */
#define TLS_SCANNED (4 * TLS_VOTERS)	/* threads whose TLS window is scanned, at most */

/* glibc keeps each thread's tcache in the static TLS variable `tcache`, at
 * the same offset below every thread pointer (fs_base). Learn that offset
 * from a few threads (a word in the TLS window that points at a valid
 * tcache struct), then read every thread's tcache from it. This finds
 * empty tcaches exactly and spares a skim over the whole heap. Returns 1
 * when every thread's pointer checked out (w->tc_cand filled), 0 to fall
 * back to recognising tcache structs by content. */
static int tcaches_from_tls(struct walker *w)
{
	uint64_t votes_off[64] = { 0 }, votes_n[64] = { 0 }, best_off = 0, best_n = 0;
	uint64_t *tmp = NULL;
	size_t tmp_cap = 0, nv = 0, i, j, voters = 0, scanned = 0;
	struct tc_check tc;
	struct chunkset seen = { 0 };

	if (!w->src->nthreads || !w->L->tcache_bins || w->opts->tcache_by_content)
		return 0;
	/* a core may list a million threads: scan the windows of a few */
	for (i = 0; i < w->src->nthreads && voters < TLS_VOTERS && scanned < TLS_SCANNED; i++) {
		uint64_t tp = w->src->threads[i].regs.fs_base, lo, a, top, k, nwords;
		const struct lm_region *r = tp >= 8 ? lm_mem_region(w->src, tp - 8) : NULL;
		int voted = 0;
		if (!r)
			continue;
		scanned++;
		lo = tp - r->start > TLS_WINDOW ? tp - TLS_WINDOW : r->start;
		/* fs_base is the target's: step down from it by a count of
		 * words, so that nothing wraps below address 0 (a region at 0) */
		top = (tp - 8) & ~7ULL;
		nwords = top >= lo ? (top - lo) / 8 + 1 : 0;
		for (k = 0; k < nwords; k++) {
			uint64_t u;
			int ok;
			a = top - 8 * k;
			if (r->end - a < 8)
				continue;
			u = ld64(r->data + (a - r->start));
			ok = tcache_sized(w, u) ? check_tcache_once(w, u - 16, &tc, &tmp, &tmp_cap) : 0;
			if (ok < 0)
				break;
			if (ok != 1)
				continue;
			for (j = 0; j < nv && votes_off[j] != tp - a; j++)
				;
			if (j == nv && nv < 64)
				votes_off[nv++] = tp - a;
			if (j < nv)
				votes_n[j]++;
			voted = 1;
		}
		voters += voted;
	}
	free(tmp);
	for (j = 0; j < nv; j++)
		if (votes_n[j] > best_n) {
			best_n = votes_n[j];
			best_off = votes_off[j];
		}
	if (!best_n)
		return 0;
	w->ntc_cand = 0;
	for (i = 0; i < w->src->nthreads; i++) {
		uint64_t tp = w->src->threads[i].regs.fs_base, u;
		if (tp < best_off || lm_mem_word(w->src, tp - best_off, &u) < 0)
			goto no;	/* seen holds the tcaches of earlier threads */
		if (!u && w->L->tcache_dummy)
			goto no;	/* never 0 there: this word is not `tcache` (a
					 * core whose TLS page was lost) */
		if (!u)
			continue;	/* this thread never used malloc */
		if (w->L->tcache_dummy && points_into_libc(w, u))
			continue;	/* the dummy of a thread without a tcache */
		if (!tcache_sized(w, u))
			goto no;
		j = (size_t)cs_add(&seen, u - 16, 1, NULL);	/* threads share tcaches */
		if (j == 0 && add_candidate(w, u - 16)) {
			cs_free(&seen);
			return 0;
		}
		if (j > 1) {	/* out of memory: by content instead */
			cs_free(&seen);
			return 0;
		}
	}
	cs_free(&seen);
	w->tc_from_tls = 1;
	w->info->tcache_from_tls = 1;
	return 1;
no:
	cs_free(&seen);
	return 0;
}

static int find_tcaches(struct walker *w)
{
	uint64_t *tmp = NULL, key = 0, bestn = 0;
	size_t tmp_cap = 0, i, accepted = 0, j;
	struct tc_check *chk;
	int rc = 0;

	if (!w->ntc_cand)
		return 0;
	chk = calloc(w->ntc_cand, sizeof(*chk));
	if (!chk)
		return lm_err_set(w->err, LM_ENOMEM, "out of memory");
	/* the process-wide key: the one of the fullest valid candidate */
	for (i = 0; i < w->ntc_cand; i++) {
		int ok = check_tcache(w, w->tc_cand[i], &chk[i], &tmp, &tmp_cap);
		if (ok < 0) {
			rc = lm_err_set(w->err, LM_ENOMEM, "out of memory");
			goto out;
		}
		if (!ok) {
			chk[i].empty = -1;	/* not a tcache */
			if (w->tc_from_tls) {
				/* a thread's own tcache, stopped mid-update: keep the
				 * struct, lose its entries */
				char msg[160];
				snprintf(msg, sizeof(msg), "the tcache at 0x%" PRIx64 " was "
					 "mid-update; its free chunks count as in use",
					 w->tc_cand[i]);
				add_warning(w->info, msg);
				if (cs_add(&w->tcstructs, w->tc_cand[i], 1, NULL) < 0) {
					rc = lm_err_set(w->err, LM_ENOMEM, "out of memory");
					goto out;
				}
			}
		}
		else if (chk[i].nentries > bestn) {
			bestn = chk[i].nentries;
			key = chk[i].key;
		}
	}
	w->info->tcache_key = key;
	/* non-empty ones first, then empty ones while there are threads left
	 * to own them (an untouched user chunk of this size looks empty) */
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < w->ntc_cand; i++) {
			size_t n;
			if (chk[i].empty != pass)
				continue;
			if (pass == 0 && key && chk[i].key != key)
				continue;
			if (pass == 1 && !w->tc_from_tls && w->src->nthreads &&
			    accepted >= w->src->nthreads)
				continue;
			if (check_tcache(w, w->tc_cand[i], &chk[i], &tmp, &tmp_cap) != 1)
				continue;
			n = chk[i].nentries;
			for (j = 0; j < n; j++) {
				uint8_t old;
				int r = cs_add(&w->freeset, tmp[j], LM_CHUNK_FREE_TCACHE, &old);
				if (r < 0) {
					rc = freeset_error(w, r);
					goto out;
				}
				if (r == 1)
					note_corrupt(w, arena_of_chunk(w, tmp[j]),
						     "chunk 0x%" PRIx64 " is on two free lists "
						     "(tcache at 0x%" PRIx64 ")", tmp[j], w->tc_cand[i]);
			}
			if (cs_add(&w->tcstructs, w->tc_cand[i], 1, NULL) < 0) {
				rc = lm_err_set(w->err, LM_ENOMEM, "out of memory");
				goto out;
			}
			accepted++;
		}
	}
	w->info->tcache_structs = accepted;
out:
	free(chk);
	free(tmp);
	return rc;
}

/* Chunk p, reached on list i of the kind named list ("fastbin", "bin") of
 * arena ai, is free in that state: 0, or 1 when it was reached before (noted
 * as corruption: that list stops there), or a negative error. */
static int mark_listed(struct walker *w, unsigned ai, const char *list, unsigned i, uint64_t p,
		       uint8_t state)
{
	uint8_t old;
	int r = cs_add(&w->freeset, p, state, &old);

	if (r < 0)
		return freeset_error(w, r);
	if (r == 1)
		note_corrupt(w, ai, "%s %u of arena 0x%" PRIx64 " reaches chunk 0x%" PRIx64
			     " twice or also from another list", list, i, w->arenas[ai].addr, p);
	return r;
}

static int walk_fastbins(struct walker *w, unsigned ai)
{
	const struct lm_glibc_layout *L = w->L;
	uint64_t a = w->arenas[ai].addr;
	unsigned i;

	for (i = 0; i < L->nfastbins; i++) {
		uint64_t p, n = 0, want = 32 + 16ULL * i;
		if (rd64(w, a + L->ms_fastbins + 8 * i, &p) < 0)
			return 0;
		while (p) {
			const uint8_t *ch = lm_mem_view(w->src, p, 32);
			int r;
			if (!ch || (p & 15) || (ld64(ch + 8) & SIZE_MASK) != want || ++n > w->list_limit) {
				note_corrupt(w, ai, "fastbin %u of arena 0x%" PRIx64 " holds a bad chunk "
					     "at 0x%" PRIx64, i, a, p);
				break;
			}
			r = mark_listed(w, ai, "fastbin", i, p, LM_CHUNK_FREE_FAST);
			if (r < 0)
				return r;
			if (r == 1)
				break;
			/* safe-linking: the key is the address of the fd field */
			p = L->safe_linking ? ld64(ch + 16) ^ ((p + 16) >> 12) : ld64(ch + 16);
		}
	}
	return 0;
}

/* Bins: from each header follow fd back to the header, checking that each
 * chunk's bk points at the one before (a cheap guard against wild links). */
static int walk_bins(struct walker *w, unsigned ai)
{
	const struct lm_glibc_layout *L = w->L;
	uint64_t a = w->arenas[ai].addr;
	unsigned i;

	for (i = 1; i < L->nbins; i++) {
		uint64_t hdr = a + L->ms_bins + (uint64_t)(i - 1) * 16 - 16, prev = hdr, p, n = 0;
		uint8_t state = i == 1 ? LM_CHUNK_FREE_UNSORTED :
				i < 64 ? LM_CHUNK_FREE_SMALL : LM_CHUNK_FREE_LARGE;
		if (rd64(w, hdr + 16, &p) < 0)
			return 0;
		while (p != hdr) {
			const uint8_t *ch = lm_mem_view(w->src, p, 32);
			int r;
			if (!ch || (p & 15) || ld64(ch + 24) != prev || ++n > w->list_limit) {
				note_corrupt(w, ai, "bin %u of arena 0x%" PRIx64 " has a bad link to "
					     "0x%" PRIx64 " after 0x%" PRIx64, i, a, p, prev);
				break;
			}
			r = mark_listed(w, ai, "bin", i, p, state);
			if (r < 0)
				return r;
			if (r == 1)
				break;
			prev = p;
			p = ld64(ch + 16);
		}
	}
	return 0;
}

/* ---- 5. the walk ------------------------------------------------------ */

struct totals {
	uint64_t inuse_count, inuse_bytes, free_count, free_bytes;
	uint64_t mmapped_count, mmapped_bytes, top_bytes;
	uint64_t tcache_count, tcache_bytes, fast_count, fast_bytes;
	uint64_t fence_count, fence_bytes, walked;
};

/* Account one chunk and report it; returns the callback's value. */
static inline int emit(struct walker *w, struct totals *t, uint64_t addr, uint64_t szw,
		       int state, unsigned arena)
{
	struct lm_chunk c;
	uint64_t sz = szw & SIZE_MASK;

	t->walked++;
	switch (state) {
	case LM_CHUNK_INUSE:
	case LM_CHUNK_TCACHE_STRUCT:
		t->inuse_count++;
		t->inuse_bytes += sz;
		break;
	case LM_CHUNK_MMAPPED:
		t->inuse_count++;
		t->inuse_bytes += sz;
		t->mmapped_count++;
		t->mmapped_bytes += sz;
		break;
	case LM_CHUNK_TOP:
		t->top_bytes += sz;
		break;
	case LM_CHUNK_FENCEPOST:
		t->fence_count++;
		t->fence_bytes += sz;
		break;
	default:
		t->free_count++;
		t->free_bytes += sz;
		if (state == LM_CHUNK_FREE_TCACHE) {
			t->tcache_count++;
			t->tcache_bytes += sz;
		} else if (state == LM_CHUNK_FREE_FAST) {
			t->fast_count++;
			t->fast_bytes += sz;
		}
		break;
	}
	if (!w->fn || (!lm_chunk_is_live(state) && !w->opts->include_free))
		return 0;
	c.addr = addr;
	c.size = sz;
	/* an mmapped chunk has no next chunk whose prev_size it could use,
	 * unless glibc leaves a tail for one (mmap_tail) */
	c.usable = state == LM_CHUNK_MMAPPED && !w->L->mmap_tail ? sz - 16 : sz - 8;
	c.state = (uint8_t)state;
	c.flags = (uint8_t)(szw & 7);
	c.arena = (uint16_t)arena;
	return w->fn(w->ctx, &c);
}

/* The end of an older heap: a 16-byte chunk then a 0-size header (or just
 * the 0-size header when the old top was too small to keep). */
static int fencepost_at(const uint8_t *d, uint64_t off, uint64_t end, uint64_t sz)
{
	if (sz == 0 && off + CHUNK_HDR == end)
		return 1;
	return sz == CHUNK_HDR && off + 2 * CHUNK_HDR == end &&
	       (ld64(d + off + CHUNK_HDR + 8) & SIZE_MASK) == 0;
}

static int walk_heap(struct walker *w, const struct heap *hp, struct totals *t)
{
	const struct lm_region *r = lm_mem_region(w->src, hp->first);
	const struct arena *ar = &w->arenas[hp->arena];
	const uint8_t *d;
	uint64_t off, end, stop, lookup_max = w->freeset.n ? w->lookup_max : 0;
	uint64_t tcsize = w->tcstructs.n ? w->L->tcache_chunk_size : 0;
	uint64_t max_chunks = w->opts->max_chunks, n = 0, pf;
	int rc;

	if (!r || hp->end > r->end || hp->first > hp->end) {
		note_corrupt(w, hp->arena, "heap 0x%" PRIx64 "-0x%" PRIx64 " of arena 0x%" PRIx64
			     " was not captured whole", hp->first, hp->end, ar->addr);
		return 0;
	}
	d = r->data;
	off = hp->first - r->start;
	end = hp->end - r->start;
	/* The chunk loop stays inside the captured heap [first, end): a top
	 * pointer elsewhere is the target's word, not a bound. */
	stop = (hp->top && hp->top < hp->end ? hp->top : hp->end) - r->start;
	pf = off & ~63ULL;
	while (off < stop) {
		uint64_t szw, sz, noff;
		int state;
		if (end - off < CHUNK_HDR) {
			note_corrupt(w, hp->arena, "chunk at 0x%" PRIx64 " is cut by the end of its "
				     "heap 0x%" PRIx64 " of arena 0x%" PRIx64, r->start + off,
				     hp->end, ar->addr);
			return 0;
		}
		szw = ld64(d + off + 8);
		sz = szw & SIZE_MASK;
		prefetch_to(d, &pf, off + PREFETCH_AHEAD, end);
		if (sz < MINSIZE || (sz & 15) || sz > stop - off) {
			if (!hp->top && fencepost_at(d, off, end, sz)) {
				rc = emit(w, t, r->start + off, end - off, LM_CHUNK_FENCEPOST, hp->arena);
				if (rc)
					return rc;
				off = end;
				break;
			}
			note_corrupt(w, hp->arena, "chunk at 0x%" PRIx64 " has size 0x%" PRIx64
				     " (beyond its heap 0x%" PRIx64 "-0x%" PRIx64 " of arena 0x%"
				     PRIx64 ")", r->start + off, szw, hp->first,
				     hp->top ? hp->top : hp->end, ar->addr);
			return 0;
		}
		if (max_chunks && ++n > max_chunks) {
			note_corrupt(w, hp->arena, "heap 0x%" PRIx64 " of arena 0x%" PRIx64
				     " has more than %" PRIu64 " chunks", hp->base, ar->addr,
				     max_chunks);
			return 0;
		}
		noff = off + sz;
		if (end - noff >= CHUNK_HDR && !(ld64(d + noff + 8) & FLAG_P)) {
			state = cs_get(&w->freeset, r->start + off);
			if (state < LM_CHUNK_FREE_UNSORTED || state > LM_CHUNK_FREE_LARGE)
				state = sz < 1024 ? LM_CHUNK_FREE_SMALL : LM_CHUNK_FREE_LARGE;
		} else {
			state = LM_CHUNK_INUSE;
			if (sz <= lookup_max) {
				int s = cs_get(&w->freeset, r->start + off);
				if (s == LM_CHUNK_FREE_TCACHE || s == LM_CHUNK_FREE_FAST)
					state = s;
			}
			if (sz == tcsize && cs_get(&w->tcstructs, r->start + off) == 1)
				state = LM_CHUNK_TCACHE_STRUCT;
		}
		rc = emit(w, t, r->start + off, szw, state, hp->arena);
		if (rc)
			return rc;
		off = noff;
	}
	if (hp->top && off == stop && end - stop >= CHUNK_HDR) {
		rc = emit(w, t, hp->top, ld64(d + stop + 8), LM_CHUNK_TOP, hp->arena);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- 6. mmapped chunks ------------------------------------------------ */

/* Sorted stack pointers and non-main heap bases: a core may hold a million
 * threads and a million segments, too many to compare pairwise. */
struct sorted_addrs {
	uint64_t *sp, *heap;
	size_t nsp, nheap;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int sorted_addrs_new(const struct walker *w, struct sorted_addrs *s)
{
	size_t i;

	s->nsp = s->nheap = 0;
	s->sp = malloc((w->src->nthreads + 1) * sizeof(*s->sp));
	s->heap = malloc((w->nheaps + 1) * sizeof(*s->heap));
	if (!s->sp || !s->heap) {
		free(s->sp);
		free(s->heap);
		return lm_err_set(w->err, LM_ENOMEM, "out of memory");
	}
	for (i = 0; i < w->src->nthreads; i++)
		s->sp[s->nsp++] = w->src->threads[i].regs.rsp;
	for (i = 0; i < w->nheaps; i++)
		if (w->heaps[i].arena)
			s->heap[s->nheap++] = w->heaps[i].base;
	qsort(s->sp, s->nsp, sizeof(*s->sp), cmp_u64);
	qsort(s->heap, s->nheap, sizeof(*s->heap), cmp_u64);
	return 0;
}

/* Index of the first of the sorted v[n] at or above x. */
static size_t first_at_or_above(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int is_stack_or_heap(const struct walker *w, const struct sorted_addrs *s,
			    const struct lm_mapping *m)
{
	size_t i = first_at_or_above(s->sp, s->nsp, m->start);

	if (i < s->nsp && s->sp[i] < m->end)
		return 1;
	/* heaps all span heap_max_size: the last one starting below m's end
	 * reaches furthest */
	i = first_at_or_above(s->heap, s->nheap, m->end);
	return i > 0 && s->heap[i - 1] + w->L->heap_max_size > m->start;
}

/* Scans the captured regions (not the mappings: a huge, mostly uncaptured
 * reservation costs nothing) page by page for mmapped chunk headers. */
static int walk_mmapped(struct walker *w, struct totals *t)
{
	const struct lm_memsrc *src = w->src;
	uint64_t want = w->info->mp ? w->info->mp_n_mmaps : UINT64_MAX, found = 0;
	uint64_t skip_until = 0;	/* end of the last chunk found */
	struct sorted_addrs sa;
	size_t i;
	int rc = 0;

	if (want == 0)
		return 0;
	if ((rc = sorted_addrs_new(w, &sa)))
		return rc;
	for (i = 0; i < src->nregions && found < want; i++) {
		const struct lm_region *r = &src->regions[i];
		const struct lm_mapping *m = r->map ? r->map : lm_maps_find(&src->maps, r->start);
		uint64_t p;
		if (!m || m->path || (m->prot & (LM_PROT_R | LM_PROT_W)) != (LM_PROT_R | LM_PROT_W) ||
		    (m->prot & LM_PROT_SHARED) || is_stack_or_heap(w, &sa, m))
			continue;
		/* a region at the top of the address space (a core's segment)
		 * must not make p wrap to 0: compare by differences */
		if (r->start > UINT64_MAX - PAGE)
			continue;
		p = align_up(r->start, PAGE);
		if (p < skip_until)
			p = skip_until;
		while (p < r->end && r->end - p >= 16 && found < want) {
			const uint8_t *h = r->data + (p - r->start);
			uint64_t szw = ld64(h + 8), sz = szw & SIZE_MASK;
			uint64_t span = sz + w->L->mmap_tail;	/* the whole mapping */
			/* set_head (p, size | IS_MMAPPED), prev_size 0 unless memalign;
			 * the chunk must lie in the captured bytes, not just in its
			 * mapping: readers of the chunk look at those bytes */
			if ((szw & 7) == FLAG_M && ld64(h) == 0 && sz >= PAGE - w->L->mmap_tail &&
			    !(span & (PAGE - 1)) && sz <= UINT64_MAX - PAGE && span <= r->end - p) {
				rc = emit(w, t, p, szw, LM_CHUNK_MMAPPED, NO_ARENA);
				if (rc)
					goto out;
				found++;
				p += span;
				skip_until = p;
			} else {
				if (r->end - p <= PAGE)
					break;
				p += PAGE;
			}
		}
	}
	if (w->info->mp && found != want) {
		char msg[128];
		snprintf(msg, sizeof(msg), "found %" PRIu64 " of the %" PRIu64
			 " mmapped chunks mp_ counts", found, want);
		w->info->partial = 1;
		add_warning(w->info, msg);
	}
out:
	free(sa.sp);
	free(sa.heap);
	return rc;
}

/* ---- the entry point -------------------------------------------------- */

static void fill_info(struct walker *w, const struct totals *t)
{
	struct lm_heap_info *info = w->info;
	size_t i;

	info->narenas = w->narenas;
	for (i = 0; i < w->narenas; i++) {
		info->system_mem += w->arenas[i].system_mem;
		if (i < sizeof(info->arenas) / sizeof(info->arenas[0])) {
			struct lm_arena_info *a = &info->arenas[i];
			a->addr = w->arenas[i].addr;
			a->top = w->arenas[i].top;
			a->top_size = w->arenas[i].top_size;
			a->system_mem = w->arenas[i].system_mem;
			a->nheaps = w->arenas[i].nheaps;
			a->locked = w->arenas[i].locked;
		}
	}
	for (i = 0; i < w->nheaps; i++) {
		info->heap_bytes += w->heaps[i].end - w->heaps[i].base;
		if (w->heaps[i].arena)
			info->arena_header_bytes += w->heaps[i].first - w->heaps[i].base;
	}
	info->inuse_count = t->inuse_count;
	info->inuse_bytes = t->inuse_bytes;
	info->free_count = t->free_count;
	info->free_bytes = t->free_bytes;
	info->mmapped_count = t->mmapped_count;
	info->mmapped_bytes = t->mmapped_bytes;
	info->top_bytes = t->top_bytes;
	info->tcache_count = t->tcache_count;
	info->tcache_bytes = t->tcache_bytes;
	info->fast_count = t->fast_count;
	info->fast_bytes = t->fast_bytes;
	info->fencepost_count = t->fence_count;
	info->fencepost_bytes = t->fence_bytes;
	info->chunks_walked = t->walked;
}

static void add_warning(struct lm_heap_info *info, const char *msg)
{
	size_t n = strlen(info->warning);

	if (n + 3 >= sizeof(info->warning))
		return;
	snprintf(info->warning + n, sizeof(info->warning) - n, "%s%s", n ? "; " : "", msg);
}

/* Locked arenas: a thread was inside malloc when the target stopped, so
 * its lists may be mid-update. Live: ask for a retry, unless the caller
 * has given up retrying (allow_locked). Core: the dump is all there is;
 * walk on and say so. */
static int check_locks(struct walker *w)
{
	size_t i;

	for (i = 0; i < w->narenas; i++) {
		if (!w->arenas[i].locked)
			continue;
		if (w->src->kind == LM_SRC_CORE) {
			add_warning(w->info, "an arena was locked when the core was dumped: its "
				    "lists may be mid-update");
			break;
		}
		if (!w->opts->allow_locked)
			return lm_err_set(w->err, LM_EBUSY,
					  "arena 0x%" PRIx64 " of process %d was locked when it stopped "
					  "(a thread was inside malloc): retry the snapshot",
					  w->arenas[i].addr, (int)w->src->pid);
		w->info->partial = 1;
		add_warning(w->info, "an arena was locked at the stop (a thread inside malloc): "
			    "its counts may be off by the chunks being moved");
		break;
	}
	return 0;
}

static int walk_all(struct walker *w)
{
	struct totals t = { 0 };
	size_t i;
	int rc;

	if (!tcaches_from_tls(w)) {
		w->ntc_cand = 0;
		for (i = 0; i < w->nheaps; i++)
			if ((rc = skim_heap(w, &w->heaps[i])))
				return rc;
	}
	if ((rc = find_tcaches(w)))
		return rc;
	if (w->tc_work > w->tc_work_max) {
		w->info->partial = 1;
		add_warning(w->info, "tcache checks stopped: their lists hold more entries than "
			    "the captured heaps have chunks; some free chunks count as in use");
	}
	for (i = 0; i < w->narenas; i++) {
		if ((rc = walk_fastbins(w, (unsigned)i)) || (rc = walk_bins(w, (unsigned)i)))
			return rc;
	}
	for (i = 0; i < w->nheaps; i++) {
		rc = walk_heap(w, &w->heaps[i], &t);
		if (rc)
			goto out;
	}
	rc = walk_mmapped(w, &t);
out:
	fill_info(w, &t);
	return rc;	/* 0, an error, or the callback's non-zero value */
}

/* ---- the layout from libc's debug info -------------------------------- */

#define DEBUG_ROOT "/usr/lib/debug"

/* Reading the DWARF costs tens of milliseconds; a daemon censuses the same
 * libc again and again. The last layout read, by build-id and table base
 * (the base supplies what DWARF lacks). */
static pthread_mutex_t dwarf_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char dwarf_cache_id[41];
static const struct lm_glibc_layout *dwarf_cache_base;
static struct lm_glibc_layout dwarf_cache_layout;

static int dwarf_cache_get(const char *id, const struct lm_glibc_layout *base,
			   struct lm_glibc_layout *out)
{
	int hit;

	pthread_mutex_lock(&dwarf_cache_lock);
	hit = dwarf_cache_base == base && strcmp(dwarf_cache_id, id) == 0;
	if (hit)
		*out = dwarf_cache_layout;
	pthread_mutex_unlock(&dwarf_cache_lock);
	return hit;
}

static void dwarf_cache_put(const char *id, const struct lm_glibc_layout *base,
			    const struct lm_glibc_layout *L)
{
	pthread_mutex_lock(&dwarf_cache_lock);
	snprintf(dwarf_cache_id, sizeof(dwarf_cache_id), "%s", id);
	dwarf_cache_base = base;
	dwarf_cache_layout = *L;
	pthread_mutex_unlock(&dwarf_cache_lock);
}

/* Where libc's debug file (by build-id, as symbols found it) is installed,
 * take the structure offsets from its DWARF instead of the table; without
 * it, or when it lacks a field, the table stands. */
static void layout_from_dwarf(struct walker *w, const struct lm_symtab *syms)
{
	const struct lm_module *libc = syms ? lm_symtab_module(syms, w->info->libc_base) : NULL;
	char rel[128], why[LM_ERRMSG_MAX];
	struct lm_err ignored = { 0 };
	int fd;

	if (!libc || strlen(libc->build_id) < 4)
		return;
	if (dwarf_cache_get(libc->build_id, w->L, &w->dwarf_layout)) {
		w->L = &w->dwarf_layout;
		w->info->layout_from_dwarf = 1;
		return;
	}
	snprintf(rel, sizeof(rel), ".build-id/%.2s/%s.debug", libc->build_id, libc->build_id + 2);
	fd = lm_mapfile_open_debug(DEBUG_ROOT, rel, &ignored);
	if (fd < 0)
		return;
	if (lm_glibc_layout_dwarf(fd, w->L, &w->dwarf_layout, why, sizeof(why)) == 0) {
		dwarf_cache_put(libc->build_id, w->L, &w->dwarf_layout);
		w->L = &w->dwarf_layout;
		w->info->layout_from_dwarf = 1;
	} else {
		char msg[LM_ERRMSG_MAX + 64];
		snprintf(msg, sizeof(msg), "libc's debug info was not used: %s", why);
		add_warning(w->info, msg);
	}
	close(fd);
}

/* ---- a layout borrowed for a newer glibc ------------------------------ */

/* Refuse a walk with a borrowed layout; `why` names the check that failed. */
static int refuse_borrowed(struct walker *w, const char *why)
{
	return lm_err_set(w->err, LM_EVERSION,
			  "glibc %s of process %d is newer than leakmon's layouts (newest %s), "
			  "and its heap does not fit the %s layout: %s; a leakmon that knows "
			  "glibc %s is needed", w->info->glibc_version, (int)w->src->pid,
			  w->L->version, w->L->version, why, w->info->glibc_version);
}

/* Is p a chunk inside one of arena ai's heaps? */
static int in_arena_heaps(const struct walker *w, unsigned ai, uint64_t p)
{
	size_t i;

	for (i = 0; i < w->nheaps; i++)
		if (w->heaps[i].arena == ai && p >= w->heaps[i].first && p < w->heaps[i].end)
			return 1;
	return 0;
}

/* Every bin of arena ai empty (self-linked) or linked into its heaps. */
static int bins_in_heaps(const struct walker *w, unsigned ai, char *why, size_t len)
{
	const struct lm_glibc_layout *L = w->L;
	uint64_t a = w->arenas[ai].addr;
	unsigned i;

	for (i = 1; i < L->nbins; i++) {
		uint64_t hdr = a + L->ms_bins + (uint64_t)(i - 1) * 16 - 16, fd, bk;
		if (rd64(w, hdr + 16, &fd) < 0 || rd64(w, hdr + 24, &bk) < 0)
			return 0;
		if (fd == hdr && bk == hdr)
			continue;
		if (!in_arena_heaps(w, ai, fd) || !in_arena_heaps(w, ai, bk)) {
			snprintf(why, len, "bin %u of arena 0x%" PRIx64 " links to 0x%" PRIx64
				 "/0x%" PRIx64 ", outside the arena's heaps", i, a, fd, bk);
			return 0;
		}
	}
	return 1;
}

/*
 * The structural checks a borrowed layout must pass before its walk is
 * trusted: each names what it found when it fails. The walk has run (its
 * chunks were reported); on failure the caller gets -LM_EVERSION and must
 * drop them.
 */
static int check_borrowed_layout(struct walker *w, size_t nbad)
{
	char why[LM_ERRMSG_MAX], msg[LM_ERRMSG_MAX];
	size_t i, h;

	if (nbad)
		return refuse_borrowed(w, w->corrupt_msg);
	if (!w->info->mp)
		return refuse_borrowed(w, "no malloc_par (mp_) in libc's data fits it");
	for (i = 0; i < w->narenas; i++) {
		const struct arena *ar = &w->arenas[i];
		uint64_t heap_sum = 0;
		if (!bins_in_heaps(w, (unsigned)i, why, sizeof(why)))
			return refuse_borrowed(w, why);
		if (ar->top && !in_arena_heaps(w, (unsigned)i, ar->top)) {
			snprintf(why, sizeof(why), "the top chunk 0x%" PRIx64 " of arena 0x%"
				 PRIx64 " is outside its heaps", ar->top, ar->addr);
			return refuse_borrowed(w, why);
		}
		for (h = 0; h < w->nheaps; h++)
			if (w->heaps[h].arena == i)
				heap_sum += w->heaps[h].end - w->heaps[h].base;
		if (ar->nheaps && ar->system_mem != heap_sum) {
			snprintf(why, sizeof(why), "arena 0x%" PRIx64 " says system_mem 0x%" PRIx64
				 " but its heaps span 0x%" PRIx64 " bytes", ar->addr,
				 ar->system_mem, heap_sum);
			return refuse_borrowed(w, why);
		}
	}
	if (w->nheaps && w->L->tcache_bins && !w->info->tcache_structs)
		return refuse_borrowed(w, "no thread's tcache_perthread_struct fits it");
	if (w->tc_from_tls && w->info->tcache_structs != w->ntc_cand)
		return refuse_borrowed(w, "a thread's tcache counts and lists disagree");
	if (w->info->mmapped_count != w->info->mp_n_mmaps) {
		snprintf(why, sizeof(why), "mp_ counts %" PRIu64 " mmapped chunks, the walk "
			 "found %" PRIu64, w->info->mp_n_mmaps, w->info->mmapped_count);
		return refuse_borrowed(w, why);
	}
	w->info->layout_checked = 1;
	snprintf(msg, sizeof(msg), "glibc %s is newer than leakmon's layouts: walked with "
		 "the %s layout, which its heap fits (bins, tops, system_mem, tcaches, "
		 "mmapped chunks checked)", w->info->glibc_version, w->L->version);
	add_warning(w->info, msg);
	return 0;
}

int lm_glibc_walk(const struct lm_memsrc *src, const struct lm_symtab *syms,
		  const struct lm_walk_opts *opts, struct lm_heap_info *info,
		  lm_chunk_fn fn, void *ctx, struct lm_err *err)
{
	static const struct lm_walk_opts defaults = { 0 };
	struct walker w = { .src = src, .opts = opts ? opts : &defaults, .info = info,
			    .fn = fn, .ctx = ctx, .err = err };
	size_t i, nbad = 0;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = lm_glibc_detect(src, syms, info, err);
	if (rc)
		return rc;
	w.L = lm_glibc_layout_find(info->layout_version);
	w.borrowed = strcmp(info->layout_version, info->glibc_version) != 0;
	layout_from_dwarf(&w, syms);
	info->layout_verified = w.L->verified && !w.borrowed;
	if (!w.L->verified && !w.borrowed) {
		char msg[128];
		snprintf(msg, sizeof(msg), "glibc %s layout is not verified", w.L->version);
		add_warning(info, msg);
	}
	/* the largest chunk a tcache (bins of 32 + 16 i) or fastbin may hold */
	w.lookup_max = 32 + 16ULL * (w.L->tcache_small_bins > w.L->nfastbins ?
				     w.L->tcache_small_bins - 1 : w.L->nfastbins - 1);
	w.arenas = calloc(LM_MAX_ARENAS, sizeof(*w.arenas));
	if (!w.arenas)
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	for (i = 0; i < src->maps.n && !w.heap_map; i++)
		if (src->maps.v[i].path && strcmp(src->maps.v[i].path, "[heap]") == 0) {
			heap_extent(&src->maps, &src->maps.v[i], &w.heap_ext);
			w.heap_map = &w.heap_ext;
		}
	if ((rc = find_main_arena(&w))) {
		if (w.borrowed && rc == -LM_ECORRUPT)
			rc = refuse_borrowed(&w, "no main_arena in libc's data fits it");
		goto out;
	}
	find_mp(&w);
	if (w.L->tcache_bins > w.L->tcache_small_bins)
		tcache_lookup_max(&w);
	if ((rc = list_arenas(&w)) || (rc = check_locks(&w)) || (rc = list_heaps(&w)))
		goto out;
	w.freeset.max_bytes = opts ? opts->max_set_bytes : 0;
	w.list_limit = 16;
	for (i = 0; i < w.nheaps; i++)
		w.list_limit += (w.heaps[i].end - w.heaps[i].base) / MINSIZE;
	w.tc_work_max = tc_budget(&w);
	rc = walk_all(&w);
	if (rc)
		goto out;
	for (i = 0; i < w.narenas; i++)
		nbad += w.arenas[i].corrupt != 0;
	if (w.borrowed) {
		rc = check_borrowed_layout(&w, nbad);
		if (rc)
			goto out;
	}
	if (nbad && nbad >= w.narenas) {
		rc = lm_err_set(err, LM_ECORRUPT, "process %d: %s", (int)src->pid, w.corrupt_msg);
	} else if (nbad) {
		info->partial = 1;
		add_warning(info, w.corrupt_msg);
	}
out:
	cs_free(&w.freeset);
	cs_free(&w.tcstructs);
	cs_free(&w.heapset);
	cs_free(&w.tcchecked);
	free(w.tc_cand);
	free(w.heaps);
	free(w.arenas);
	return rc;
}
