/* SPDX-License-Identifier: MIT */
/*
 * pyobj.h - CPython objects read from outside: is there a Python object in
 * this block of the target's memory, what is its type, what is the type
 * called.
 *
 * A CPython interpreter is recognised by its exported PyType_Type symbol;
 * its version comes from the name of the module holding it ("python3.11",
 * "libpython3.11.so.1.0"). Only versions whose layouts were checked
 * against a running interpreter are read (docs/python.md); any other
 * version, a free-threaded build ("python3.13t") included, is reported as
 * not supported with the reason, and none of its objects are named.
 *
 * An object is {refcount, type pointer, ...}; a block holds one at offset
 * 0, or after the 16-byte GC header when its type has Py_TPFLAGS_HAVE_GC,
 * plus 16 bytes more for the pre-header of a managed __dict__ (3.11+). The
 * offset must agree with the type's flags and the type's basic size must
 * fit in the block, so a word that merely looks like a type pointer is not
 * enough. A type object is one whose own type is `type`, or a subclass of
 * it (a metaclass such as ABCMeta). Everything read is target data: every
 * read is bounded and checked, names are cut at LM_PY_NAME_MAX bytes.
 */
#ifndef LM_PYOBJ_H
#define LM_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "memsrc.h"
#include "symbols.h"

#define LM_PY_NAME_MAX 200

/* Field offsets and allocator constants of one CPython minor version
 * (x86-64). */
struct lm_py_layout {
	int minor;			/* 3.minor */
	unsigned arena_size, pool_size;	/* pymalloc */
	unsigned pool_overhead;		/* bytes of pool header before the first block */
	unsigned nclasses, align;	/* size classes: (szidx + 1) * align bytes */
	unsigned arena_object_size;	/* struct arena_object */
	unsigned tp_name, tp_basicsize, tp_flags, tp_dict;
	unsigned ht_qualname;		/* PyHeapTypeObject */
	unsigned str_length, str_state, str_ascii_data, str_utf8_length, str_utf8;
	unsigned dict_keys;		/* PyDictObject.ma_keys */
	/* the keys object: 3.11+ keep log2 sizes (dk_size 0), 3.9-3.10 the
	 * size itself (dk_size) and always {hash, key, value} entries */
	unsigned dk_size, dk_log2_size, dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices;
	/* bytes before the GC header when the type's flags have any of
	 * preheader_flags (a managed __dict__, 3.11; or weakref list, 3.12+) */
	unsigned long preheader_flags;
	unsigned managed_dict_preheader;
};

struct lm_python;

/* 1 and *out when the target runs a supported CPython; 0 and *out NULL
 * otherwise, with why "" when there is no CPython at all, or the reason a
 * CPython found is not read ("CPython 3.9 in python3.9: layout not
 * supported"). -LM_ENOMEM on out of memory. */
int lm_python_find(const struct lm_memsrc *src, const struct lm_symtab *syms,
		   struct lm_python **out, char *why, size_t whylen);
void lm_python_free(struct lm_python *py);

const struct lm_py_layout *lm_python_layout(const struct lm_python *py);
const struct lm_module *lm_python_module(const struct lm_python *py);
const char *lm_python_version(const struct lm_python *py);	/* "3.11" */

/* Does the block [addr, addr + len) hold an object? 1 with *obj (its
 * address) and *type (its type object), else 0. */
int lm_python_object_at(struct lm_python *py, uint64_t addr, uint64_t len,
			uint64_t *obj, uint64_t *type);
/* The same with the block's first min(len, 48) bytes already at hand. */
int lm_python_object_in(struct lm_python *py, uint64_t addr, const uint8_t *data,
			uint64_t len, uint64_t *obj, uint64_t *type);
/* Does the block hold a dead object: one with a reference count of 0 that
 * CPython keeps on a free list for reuse (lists, dicts, tuples...)? Its
 * other words are stale: what they point at was freed and may be reused. */
int lm_python_dead_object_in(struct lm_python *py, uint64_t addr, const uint8_t *data,
			     uint64_t len);
/* The same, with its type object in *type. */
int lm_python_dead_object_type(struct lm_python *py, uint64_t addr, const uint8_t *data,
			       uint64_t len, uint64_t *type);

/* The name of type object `type` into buf: built-in and C types by their
 * tp_name ("dict", "collections.deque"), classes defined in Python as
 * module.qualname ("app.Session"). -LM_ENOTFOUND when it cannot be read. */
int lm_python_type_name(struct lm_python *py, uint64_t type, char *buf, size_t len);

/* The text of str object `obj` (ASCII or with its UTF-8 cached), at most
 * len - 1 bytes, into buf; *cut set when it was longer. -LM_ENOTFOUND when
 * obj is no readable str. */
int lm_python_str_text(struct lm_python *py, uint64_t obj, char *buf, size_t len, int *cut);

/* Module object `obj`: its namespace dict in *dict and, unless name is
 * NULL, its __name__ in name. -LM_ENOTFOUND when either cannot be read. */
int lm_python_module_dict(struct lm_python *py, uint64_t obj, uint64_t *dict, char *name,
			  size_t len);

#endif
