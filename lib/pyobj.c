/* SPDX-License-Identifier: MIT */
/*
 * pyobj.c - CPython objects read from outside (implements pyobj.h; the
 * layouts and how they were checked are in docs/python.md).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapfile.h"
#include "pyobj.h"

#define TPFLAGS_MANAGED_WEAKREF (1UL << 3)
#define TPFLAGS_MANAGED_DICT (1UL << 4)
#define TPFLAGS_HEAPTYPE (1UL << 9)
#define TPFLAGS_READY (1UL << 12)
#define TPFLAGS_HAVE_GC (1UL << 14)
#define TPFLAGS_TYPE_SUBCLASS (1UL << 31)
#define GC_HEAD_SIZE 16
#define REFCNT_MAX (1ULL << 40)		/* more references than that: not a refcount */
#define BASICSIZE_MAX (1ULL << 20)
#define TYPE_CACHE_SIZE 4096		/* power of two */
#define DICT_SCAN_MAX 4096		/* entries looked at for __module__ */

/* Checked on Debian's python3.9 (3.9.2, bullseye), python3.11 (3.11.2,
 * bookworm) and python3.13 (3.13.5, trixie) with ctypes reads of live
 * objects and sys._debugmallocstats (docs/python.md). */
static const struct lm_py_layout layouts[] = {
	{
		.minor = 9,
		.arena_size = 256 << 10, .pool_size = 4 << 10, .pool_overhead = 48,
		.nclasses = 32, .align = 16, .arena_object_size = 48,
		.tp_name = 24, .tp_basicsize = 32, .tp_flags = 168, .tp_dict = 264,
		.ht_qualname = 856,
		.str_length = 16, .str_state = 32, .str_ascii_data = 48,
		.str_utf8_length = 48, .str_utf8 = 56,
		.dict_keys = 32,
		.dk_size = 8, .dk_nentries = 32, .dk_indices = 40,
		.preheader_flags = 0, .managed_dict_preheader = 0,
	},
	{
		.minor = 11,
		.arena_size = 1 << 20, .pool_size = 16 << 10, .pool_overhead = 48,
		.nclasses = 32, .align = 16, .arena_object_size = 48,
		.tp_name = 24, .tp_basicsize = 32, .tp_flags = 168, .tp_dict = 264,
		.ht_qualname = 864,
		.str_length = 16, .str_state = 32, .str_ascii_data = 48,
		.str_utf8_length = 48, .str_utf8 = 56,
		.dict_keys = 32,
		.dk_log2_size = 8, .dk_log2_index_bytes = 9, .dk_kind = 10,
		.dk_nentries = 24, .dk_indices = 32,
		.preheader_flags = TPFLAGS_MANAGED_DICT, .managed_dict_preheader = 16,
	},
	{
		.minor = 13,
		.arena_size = 1 << 20, .pool_size = 16 << 10, .pool_overhead = 48,
		.nclasses = 32, .align = 16, .arena_object_size = 48,
		.tp_name = 24, .tp_basicsize = 32, .tp_flags = 168, .tp_dict = 264,
		.ht_qualname = 872,
		.str_length = 16, .str_state = 32, .str_ascii_data = 40,
		.str_utf8_length = 40, .str_utf8 = 48,
		.dict_keys = 32,
		.dk_log2_size = 8, .dk_log2_index_bytes = 9, .dk_kind = 10,
		.dk_nentries = 24, .dk_indices = 32,
		.preheader_flags = TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF,
		.managed_dict_preheader = 16,
	},
};

struct type_info {
	uint64_t addr;
	uint64_t flags, basicsize;
	int ok;				/* 1 a type, 0 not, -1 empty slot */
};

struct lm_python {
	const struct lm_memsrc *src;
	const struct lm_py_layout *L;
	const struct lm_module *module;
	char version[16];
	uint64_t type_type;		/* &PyType_Type */
	uint64_t unicode_type;		/* &PyUnicode_Type, 0 if unknown */
	struct type_info cache[TYPE_CACHE_SIZE];
};

/* "python3.11", "libpython3.11.so.1.0" -> 11, with *suffix the build's
 * ABI letters after the number ("t" for free-threaded); -1 if no version. */
static int minor_from_name(const char *name, char *suffix, size_t slen)
{
	const char *p = strstr(name, "python3.");
	char *end;
	long minor;
	size_t n = 0;

	suffix[0] = '\0';
	if (!p)
		return -1;
	p += strlen("python3.");
	if (!isdigit((unsigned char)*p))
		return -1;
	minor = strtol(p, &end, 10);
	if (minor < 0 || minor > 99)
		return -1;
	while (isalpha((unsigned char)end[n]) && n + 1 < slen) {
		suffix[n] = end[n];
		n++;
	}
	suffix[n] = '\0';
	return (int)minor;
}

int lm_python_find(const struct lm_memsrc *src, const struct lm_symtab *syms,
		   struct lm_python **out, char *why, size_t whylen)
{
	const struct lm_symbol *tt, *ut;
	const struct lm_module *m;
	struct lm_python *py;
	char suffix[8];
	int minor;
	size_t i;

	*out = NULL;
	why[0] = '\0';
	if (!syms || !(tt = lm_symtab_by_name(syms, "PyType_Type")))
		return 0;
	m = lm_symtab_module_at(syms, tt->module);
	minor = minor_from_name(m->name, suffix, sizeof(suffix));
	if (minor < 0) {
		snprintf(why, whylen, "CPython found in %s, but its version cannot be told from "
			 "that name: Python objects not counted", m->name);
		return 0;
	}
	if (strchr(suffix, 't')) {
		snprintf(why, whylen, "CPython 3.%d in %s is a free-threaded build, whose objects "
			 "live in mimalloc heaps, not pymalloc arenas: not supported, Python "
			 "objects not counted", minor, m->name);
		return 0;
	}
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == minor)
			break;
	if (i == sizeof(layouts) / sizeof(layouts[0])) {
		snprintf(why, whylen, "CPython 3.%d in %s: its object layout is not one leakmon "
			 "knows (3.9, 3.11, 3.13): Python objects not counted", minor, m->name);
		return 0;
	}
	py = calloc(1, sizeof(*py));
	if (!py)
		return -LM_ENOMEM;
	py->src = src;
	py->L = &layouts[i];
	py->module = m;
	py->type_type = tt->addr;
	ut = lm_symtab_by_name(syms, "PyUnicode_Type");
	py->unicode_type = ut ? ut->addr : 0;
	snprintf(py->version, sizeof(py->version), "3.%d", minor);
	for (i = 0; i < TYPE_CACHE_SIZE; i++)
		py->cache[i].ok = -1;
	*out = py;
	return 1;
}

void lm_python_free(struct lm_python *py)
{
	free(py);
}

const struct lm_py_layout *lm_python_layout(const struct lm_python *py)
{
	return py->L;
}

const struct lm_module *lm_python_module(const struct lm_python *py)
{
	return py->module;
}

const char *lm_python_version(const struct lm_python *py)
{
	return py->version;
}

static int word(const struct lm_python *py, uint64_t addr, uint64_t *v)
{
	return lm_mem_word(py->src, addr, v);
}

/* Is T a type object: its type is `type` or a ready subclass of it. */
static int check_type(struct lm_python *py, uint64_t t, struct type_info *out)
{
	const struct lm_py_layout *L = py->L;
	uint64_t meta, metameta, metaflags, name;

	if ((t & 7) || word(py, t + 8, &meta) < 0)
		return 0;
	if (meta != py->type_type) {
		if ((meta & 7) || word(py, meta + 8, &metameta) < 0 || metameta != py->type_type ||
		    word(py, meta + L->tp_flags, &metaflags) < 0 ||
		    !(metaflags & TPFLAGS_TYPE_SUBCLASS))
			return 0;
	}
	if (word(py, t + L->tp_flags, &out->flags) < 0 ||
	    word(py, t + L->tp_basicsize, &out->basicsize) < 0 ||
	    word(py, t + L->tp_name, &name) < 0)
		return 0;
	return (out->flags & TPFLAGS_READY) && name != 0 && out->basicsize >= 16 &&
	       out->basicsize <= BASICSIZE_MAX;
}

static const struct type_info *type_info(struct lm_python *py, uint64_t t)
{
	struct type_info *e = &py->cache[(t >> 3) & (TYPE_CACHE_SIZE - 1)];

	if (e->ok < 0 || e->addr != t) {
		e->addr = t;
		e->ok = check_type(py, t, e);
	}
	return e;
}

int lm_python_object_at(struct lm_python *py, uint64_t addr, uint64_t len,
			uint64_t *obj, uint64_t *type)
{
	const uint8_t *p;

	if (len < 16 || !(p = lm_mem_view(py->src, addr, len < 48 ? len : 48)))
		return 0;
	return lm_python_object_in(py, addr, p, len, obj, type);
}

/* An object in the block, live (a reference count from 1) or dead (0). */
static int object_in(struct lm_python *py, uint64_t addr, const uint8_t *p, uint64_t len,
		     int dead, uint64_t *obj, uint64_t *type)
{
	static const unsigned offsets[] = { 0, GC_HEAD_SIZE, 2 * GC_HEAD_SIZE };
	size_t i;

	for (i = 0; i < 3; i++) {
		uint64_t off = offsets[i], refcnt, t, want, min;
		const struct type_info *ti;

		if (off + 16 > len)
			break;
		memcpy(&refcnt, p + off, 8);
		memcpy(&t, p + off + 8, 8);
		if ((dead ? refcnt != 0 : refcnt == 0) || refcnt >= REFCNT_MAX || t < 4096)
			continue;
		ti = type_info(py, t);
		if (ti->ok != 1)
			continue;
		want = (ti->flags & TPFLAGS_HAVE_GC ? GC_HEAD_SIZE : 0) +
		       (ti->flags & py->L->preheader_flags ? py->L->managed_dict_preheader : 0);
		/* a compact str is shorter than str's basic size (which is
		 * that of the non-compact form) */
		min = t == py->unicode_type ? py->L->str_ascii_data + 1 : ti->basicsize;
		if (want != off || min > len - off)
			continue;
		*obj = addr + off;
		*type = t;
		return 1;
	}
	return 0;
}

int lm_python_object_in(struct lm_python *py, uint64_t addr, const uint8_t *p,
			uint64_t len, uint64_t *obj, uint64_t *type)
{
	return object_in(py, addr, p, len, 0, obj, type);
}

int lm_python_dead_object_in(struct lm_python *py, uint64_t addr, const uint8_t *p,
			     uint64_t len)
{
	uint64_t obj, type;

	return object_in(py, addr, p, len, 1, &obj, &type);
}

int lm_python_dead_object_type(struct lm_python *py, uint64_t addr, const uint8_t *p,
			       uint64_t len, uint64_t *type)
{
	uint64_t obj;

	return object_in(py, addr, p, len, 1, &obj, type);
}

/* Up to len - 1 bytes of NUL-terminated text at addr into buf: from the
 * captured memory, else (read-only data such as a C type's tp_name is not
 * captured) from the file mapped there. -LM_EFAULT when neither has it. */
static int read_cstr(struct lm_python *py, uint64_t addr, char *buf, size_t len)
{
	const struct lm_mapping *m = NULL;
	size_t i, n = 0;
	ssize_t got;
	int fd;

	for (i = 0; i + 1 < len; i++) {
		const char *c = lm_mem_view(py->src, addr + i, 1);
		if (!c)
			break;
		buf[i] = *c;
		if (!*c)
			return 0;
	}
	if (i + 1 >= len) {
		buf[len - 1] = '\0';
		return 0;
	}
	for (i = 0; i < py->src->maps.n; i++)
		if (addr >= py->src->maps.v[i].start && addr < py->src->maps.v[i].end) {
			m = &py->src->maps.v[i];
			break;
		}
	if (!m || !m->path || m->path[0] != '/')
		return -LM_EFAULT;
	fd = lm_memsrc_open_mapping_file(py->src, m, NULL);
	if (fd < 0)
		return -LM_EFAULT;
	n = len - 1;
	if (n > m->end - addr)
		n = m->end - addr;
	got = pread(fd, buf, n, (off_t)(m->offset + (addr - m->start)));
	close(fd);
	if (got <= 0)
		return -LM_EFAULT;
	buf[got] = '\0';
	return 0;
}

int lm_python_str_text(struct lm_python *py, uint64_t obj, char *buf, size_t len, int *cut)
{
	const struct lm_py_layout *L = py->L;
	uint64_t t, length, state, data;
	const char *p;

	*cut = 0;
	if (len == 0 || word(py, obj + 8, &t) < 0 || (py->unicode_type && t != py->unicode_type) ||
	    word(py, obj + L->str_length, &length) < 0 ||
	    word(py, obj + L->str_state, &state) < 0)
		return -LM_ENOTFOUND;
	/* state bits: interned 2, kind 3, compact 1, ascii 1 */
	if ((state >> 5 & 3) == 3) {
		data = obj + L->str_ascii_data;
	} else if ((state >> 5 & 1) && word(py, obj + L->str_utf8, &data) == 0 && data &&
		   word(py, obj + L->str_utf8_length, &length) == 0) {
		/* compact, not ASCII: its UTF-8 form, when cached */
	} else {
		return -LM_ENOTFOUND;
	}
	if (length >= len) {
		length = len - 1;
		*cut = 1;
	}
	p = lm_mem_view(py->src, data, length);
	if (!p && length)
		return -LM_ENOTFOUND;
	memcpy(buf, p, length);
	buf[length] = '\0';
	return strlen(buf) == length ? 0 : -LM_ENOTFOUND;
}

/* The str value of key `key` in the dict at d, or 0. */
static uint64_t dict_str_value(struct lm_python *py, uint64_t d, const char *key)
{
	const struct lm_py_layout *L = py->L;
	const uint8_t *k;
	uint64_t keys, nentries, entries, i, esize, koff;
	char text[64];
	int cut;

	if (word(py, d + L->dict_keys, &keys) < 0 ||
	    !(k = lm_mem_view(py->src, keys, L->dk_indices)))
		return 0;
	memcpy(&nentries, k + L->dk_nentries, 8);
	if (L->dk_size) {
		/* 3.9-3.10: the size, indices of 1, 2, 4 or 8 bytes by size,
		 * {hash, key, value} entries */
		uint64_t size;
		memcpy(&size, k + L->dk_size, 8);
		if (size > (1ULL << 30) || nentries > size || nentries > DICT_SCAN_MAX)
			return 0;
		entries = keys + L->dk_indices +
			  size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffULL ? 4 : 8);
		esize = 24;
		koff = 8;
	} else {
		if (k[L->dk_log2_size] > 30 || k[L->dk_log2_index_bytes] > 34)
			return 0;
		if (nentries > (1ULL << k[L->dk_log2_size]) || nentries > DICT_SCAN_MAX)
			return 0;
		entries = keys + L->dk_indices + (1ULL << k[L->dk_log2_index_bytes]);
		/* all-str keys: {key, value}; general: {hash, key, value} */
		esize = k[L->dk_kind] ? 16 : 24;
		koff = k[L->dk_kind] ? 0 : 8;
	}
	for (i = 0; i < nentries; i++) {
		uint64_t kk, v;
		if (word(py, entries + i * esize + koff, &kk) < 0 || !kk)
			continue;
		if (lm_python_str_text(py, kk, text, sizeof(text), &cut) == 0 && !cut &&
		    strcmp(text, key) == 0 &&
		    word(py, entries + i * esize + koff + 8, &v) == 0)
			return v;
	}
	return 0;
}

int lm_python_type_name(struct lm_python *py, uint64_t type, char *buf, size_t len)
{
	const struct lm_py_layout *L = py->L;
	const struct type_info *ti = type_info(py, type);
	char qual[LM_PY_NAME_MAX + 1], mod[LM_PY_NAME_MAX + 1];
	uint64_t name, q, dict, m;
	int cut;

	if (ti->ok != 1)
		return -LM_ENOTFOUND;
	if ((ti->flags & TPFLAGS_HEAPTYPE) && word(py, type + L->ht_qualname, &q) == 0 &&
	    lm_python_str_text(py, q, qual, sizeof(qual), &cut) == 0) {
		if (word(py, type + L->tp_dict, &dict) == 0 && dict &&
		    (m = dict_str_value(py, dict, "__module__")) != 0 &&
		    lm_python_str_text(py, m, mod, sizeof(mod), &cut) == 0 &&
		    strcmp(mod, "builtins") != 0)
			snprintf(buf, len, "%s.%s", mod, qual);
		else
			snprintf(buf, len, "%s", qual);
		return 0;
	}
	if (word(py, type + L->tp_name, &name) < 0 ||
	    read_cstr(py, name, qual, sizeof(qual)) < 0 || !qual[0])
		return -LM_ENOTFOUND;
	snprintf(buf, len, "%s", qual);
	return 0;
}

int lm_python_module_dict(struct lm_python *py, uint64_t obj, uint64_t *dict, char *name,
			  size_t len)
{
	uint64_t d, n;
	int cut;

	/* PyModuleObject: {refcount, type, md_dict, ...} on 3.9-3.13 */
	if (word(py, obj + 16, &d) < 0 || !d || (d & 7))
		return -LM_ENOTFOUND;
	if (name && (!(n = dict_str_value(py, d, "__name__")) ||
		     lm_python_str_text(py, n, name, len, &cut) < 0))
		return -LM_ENOTFOUND;
	*dict = d;
	return 0;
}
