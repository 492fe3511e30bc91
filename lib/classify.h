/* SPDX-License-Identifier: MIT */
/*
 * classify.h - give every live chunk a type.
 *
 *  class     word at user+0 points into a vtable (_ZTV) symbol (8-aligned,
 *            at least 16 bytes in, as a vptr does): the class name
 *  symbol    word at user+0, or at user+8 after a small counter, points to
 *            the start of a named data object (not a vtable): its name
 *  string    NUL-terminated text for which this chunk is exactly what
 *            malloc(strlen + 1) returns: "string"
 *  internal  malloc's own structures: "tcache"
 *  python    a CPython object (pyobj.h) when the target runs a supported
 *            CPython: its type's name ("dict", "app.Session"); a dead one
 *            (reference count 0, on a free list): "dead tuple"; a pymalloc
 *            block that holds no object: "non-object 64" (block size)
 *  size      anything else, by usable size: "size 72" up to 1024 bytes,
 *            then power-of-two ranges "size 1025-2048"
 *
 * (kind, name) is a stable key: names never change meaning.
 */
#ifndef LM_CLASSIFY_H
#define LM_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "glibc_heap.h"
#include "memsrc.h"
#include "pyobj.h"
#include "symbols.h"

enum lm_type_kind {
	LM_KIND_CLASS,
	LM_KIND_SYMBOL,
	LM_KIND_STRING,
	LM_KIND_INTERNAL,
	LM_KIND_SIZE,
	LM_KIND_PYTHON,
	LM_KIND_MAX
};

const char *lm_kind_name(int kind);		/* "class", "symbol", ... */
int lm_kind_parse(const char *s);		/* -1 if unknown */

struct lm_type {
	uint8_t kind;		/* enum lm_type_kind */
	const char *name;	/* owned by the classifier */
};

struct lm_classifier;

int lm_classifier_new(const struct lm_memsrc *src, const struct lm_symtab *syms,
		      struct lm_classifier **out, struct lm_err *err);
void lm_classifier_free(struct lm_classifier *cls);

/* Type id of a live chunk; ids are dense, from 0, stable for the
 * classifier's lifetime. */
uint32_t lm_classify(struct lm_classifier *cls, const struct lm_chunk *chunk);

size_t lm_classifier_ntypes(const struct lm_classifier *cls);

/* At most this many symbols give class or symbol types in one classifier
 * (one census); a chunk pointing at any further symbol is typed as if it
 * pointed at none (by its text or size), and counted here. */
#define LM_CLASSIFY_MAX_NAMED_TYPES 16384
uint64_t lm_classifier_folded(const struct lm_classifier *cls);
const struct lm_type *lm_classifier_type(const struct lm_classifier *cls, uint32_t id);
/* Find or add a type by (kind, name); returns its id. */
uint32_t lm_classifier_intern(struct lm_classifier *cls, int kind, const char *name);

/* The CPython whose objects the classifier names (found at creation), or
 * NULL; then lm_classifier_python_note says why not, or "" when the
 * target runs no CPython. */
struct lm_python *lm_classifier_python(const struct lm_classifier *cls);
const char *lm_classifier_python_note(const struct lm_classifier *cls);
/* Type id of a live pymalloc block of size bytes at addr: the type of the
 * object it holds, else "non-object SIZE". */
uint32_t lm_classify_pyblock(struct lm_classifier *cls, uint64_t addr, const uint8_t *data,
			     uint64_t size);

/* The size-class name for a usable size ("size 72", "size 1025-2048") into buf. */
void lm_size_class_name(uint64_t usable, char *buf, size_t len);

#endif
