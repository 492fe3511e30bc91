/* SPDX-License-Identifier: MIT */
/*
 * fake_python.c - a process that looks like CPython 3.11 to leakmon but
 * holds hostile pymalloc state, for python_hostile.test. Built as
 * fake-python3.11 (the version comes from the module's name); exports
 * PyType_Type and PyUnicode_Type like the interpreter; `g_arenas` in its
 * .bss points at a malloc'd arena_object array, as obmalloc.c's static does.
 *
 *   fake-python3.11 cycle   one arena of two pools: the first holds 10
 *                           64-byte blocks, 2 free in a free list that loops,
 *                           objects whose types are hostile (a qualname str
 *                           claiming 2^40 bytes, a type dict claiming 2^40
 *                           entries, a type that is its own type, a type
 *                           without a name); the second pool's header is
 *                           garbage (size class 200)
 *   fake-python3.11 dup     the same arena described by two descriptors
 *
 * Prints "info pool_live 8" etc., then "ready", and waits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA (1u << 20)
#define POOL (16u << 10)
#define OVERHEAD 48
#define BLOCK 64

/* 3.11 offsets (docs/python.md) */
#define TP_NAME 24
#define TP_BASICSIZE 32
#define TP_FLAGS 168
#define TP_DICT 264
#define HT_QUALNAME 864
#define READY (1UL << 12)
#define HEAPTYPE (1UL << 9)
#define TYPE_SUBCLASS (1UL << 31)

unsigned char PyType_Type[1024] __attribute__((aligned(16)));
unsigned char PyUnicode_Type[1024] __attribute__((aligned(16)));
void *volatile g_arenas;

struct arena_obj {
	uint64_t address, pool_address;
	uint32_t nfreepools, ntotalpools;
	uint64_t freepools, nextarena, prevarena;
};

struct pool_hdr {
	uint32_t count, pad;
	uint64_t freeblock, nextpool, prevpool;
	uint32_t arenaindex, szidx, nextoffset, maxnextoffset;
};

static void put(void *base, size_t off, uint64_t v)
{
	memcpy((char *)base + off, &v, 8);
}

static unsigned char *new_type(uint64_t meta, uint64_t flags, uint64_t basicsize, uint64_t name)
{
	unsigned char *t = calloc(1, 1024);

	put(t, 0, 1);
	put(t, 8, meta);
	put(t, TP_NAME, name);
	put(t, TP_BASICSIZE, basicsize);
	put(t, TP_FLAGS, flags);
	return t;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "cycle";
	unsigned char *map = mmap(NULL, 2 * ARENA, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t a = ((uint64_t)(uintptr_t)map + ARENA - 1) & ~(uint64_t)(ARENA - 1);
	unsigned char *pool = (unsigned char *)(uintptr_t)a, *b, *huge_str, *dict, *keys;
	struct arena_obj *arr = calloc(16, sizeof(*arr));
	struct pool_hdr h = { 0 };
	unsigned char *t_long, *t_self, *t_noname;
	int i;

	if (map == MAP_FAILED || !arr)
		return 1;
	put(PyType_Type, 0, 1);
	put(PyType_Type, 8, (uint64_t)(uintptr_t)PyType_Type);
	put(PyType_Type, TP_FLAGS, READY | TYPE_SUBCLASS);
	put(PyType_Type, TP_BASICSIZE, 904);
	put(PyType_Type, TP_NAME, (uint64_t)(uintptr_t)"type");

	/* a str claiming 2^40 ASCII bytes (compact, ascii) */
	huge_str = calloc(1, 256);
	put(huge_str, 0, 1);
	put(huge_str, 8, (uint64_t)(uintptr_t)PyUnicode_Type);
	put(huge_str, 16, 1ULL << 40);
	put(huge_str, 32, 0x64 | 0x80);
	memset(huge_str + 48, 'x', 200);
	/* a dict whose keys claim 2^40 entries */
	keys = calloc(1, 256);
	keys[8] = 3;
	keys[9] = 3;
	keys[10] = 1;
	put(keys, 24, 1ULL << 40);
	dict = calloc(1, 64);
	put(dict, 32, (uint64_t)(uintptr_t)keys);
	t_long = new_type((uint64_t)(uintptr_t)PyType_Type, READY | HEAPTYPE, 16,
			  (uint64_t)(uintptr_t)"Long");
	put(t_long, HT_QUALNAME, (uint64_t)(uintptr_t)huge_str);
	put(t_long, TP_DICT, (uint64_t)(uintptr_t)dict);
	t_self = calloc(1, 1024);
	put(t_self, 0, 1);
	put(t_self, 8, (uint64_t)(uintptr_t)t_self);	/* its own type */
	t_noname = new_type((uint64_t)(uintptr_t)PyType_Type, READY, 16, 0);

	/* pool 0: 10 blocks carved; 2 and 3 free, the list looping */
	h.count = 8;
	h.freeblock = a + OVERHEAD + 2 * BLOCK;
	h.szidx = BLOCK / 16 - 1;
	h.nextoffset = OVERHEAD + 10 * BLOCK;
	h.maxnextoffset = POOL - BLOCK;
	memcpy(pool, &h, sizeof(h));
	put(pool, OVERHEAD + 2 * BLOCK, a + OVERHEAD + 3 * BLOCK);
	put(pool, OVERHEAD + 3 * BLOCK, a + OVERHEAD + 2 * BLOCK);
	for (i = 0; i < 10; i++) {
		unsigned char *t = i == 0 ? t_long : i == 1 ? t_self : i == 4 ? t_noname : NULL;
		b = pool + OVERHEAD + i * BLOCK;
		if (!t || i == 2 || i == 3)
			continue;
		put(b, 0, 1);
		put(b, 8, (uint64_t)(uintptr_t)t);
	}
	/* pool 1: garbage header */
	h.szidx = 200;
	memcpy(pool + POOL, &h, sizeof(h));

	arr[0].address = a;
	arr[0].pool_address = a + 2 * POOL;
	arr[0].ntotalpools = ARENA / POOL;
	arr[0].nfreepools = ARENA / POOL - 2;
	for (i = 1; i < 16; i++)
		arr[i].nextarena = i < 15 ? (uint64_t)(uintptr_t)&arr[i + 1] : 0;
	if (!strcmp(mode, "dup")) {
		arr[1] = arr[0];	/* one arena, two descriptors */
		arr[1].nextarena = 0;
	}
	g_arenas = arr;
	printf("info pool_live 8\ninfo mode %s\nready\n", mode);
	fflush(stdout);
	for (;;)
		pause();
}
