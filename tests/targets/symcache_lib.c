/* SPDX-License-Identifier: MIT */
/*
 * symcache_lib.c - the library tests/targets/dlopen_target loads: objects
 * laid out like an interpreter's ({refcount, type}) whose type is this
 * library's data object, so a census names them after it while the
 * library is mapped. Built twice, with SYMCACHE_TYPE naming the object
 * differently, to stand for two versions of one package.
 */
#include <stdlib.h>

#ifndef SYMCACHE_TYPE
#define SYMCACHE_TYPE symcache_type_a
#endif

struct symcache_type {
	const char *name;
	long size;
};

struct symcache_obj {
	long refcount;
	const struct symcache_type *type;
	long payload[2];
};

const struct symcache_type SYMCACHE_TYPE = { "symcache", sizeof(struct symcache_obj) };

void symcache_lib_make(long count);

/* Objects are never freed: they outlive a dlclose, as leaks do. */
void symcache_lib_make(long count)
{
	long i;

	for (i = 0; i < count; i++) {
		struct symcache_obj *o = malloc(sizeof(*o));
		if (!o)
			abort();
		o->refcount = 1;
		o->type = &SYMCACHE_TYPE;
	}
}
