/* SPDX-License-Identifier: MIT */
/*
 * symbols.h - the target's modules and their ELF symbols, at run-time addresses.
 *
 * For every file-backed module in the memory source: .dynsym, .symtab where
 * not stripped, and a separate debug file (/usr/lib/debug/.build-id/xx/y.debug)
 * when one is present: never required. Addresses include the load bias.
 * C++ names are demangled (vtables: "_ZTV3Foo" -> kind VTABLE, name "Foo").
 * Read with elfutils' libelf.
 */
#ifndef LM_SYMBOLS_H
#define LM_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "demangle.h"	/* lm_demangle(), which symbols.c uses for every name */
#include "error.h"
#include "memsrc.h"

enum lm_sym_kind { LM_SYM_FUNC, LM_SYM_OBJECT, LM_SYM_VTABLE, LM_SYM_OTHER };

struct lm_module {
	char *path;		/* as mapped, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6 */
	const char *name;	/* basename of path */
	uint64_t bias;		/* load bias: run-time address - ELF address */
	uint64_t lo, hi;	/* span of all its mappings */
	uint64_t data_lo, data_hi;	/* writable span (.data/.bss), 0 if none */
	int has_symtab;		/* .symtab found (in the file or a debug file) */
	int debug_file;		/* a separate debug file was used */
	char build_id[41];	/* hex, "" when absent */
};

struct lm_symbol {
	uint64_t addr;		/* run-time address */
	uint64_t size;
	const char *name;	/* demangled (for vtables: the class name) */
	const char *raw;	/* as in the symbol table */
	unsigned char kind;	/* enum lm_sym_kind */
	unsigned char local;	/* STB_LOCAL */
	unsigned short module;	/* index into modules */
};

struct lm_symtab_opts {
	const char *debug_root;	/* default "/usr/lib/debug"; "" disables */
	/* 1: a table for a census: data objects and vtables only, and of the
	 * functions only those named in keep_funcs (NULL-terminated; NULL:
	 * none). A census classifies by data symbols alone, and functions
	 * are most of a module's symbols (nine in ten of a server's): leaving
	 * them out is most of the memory a table costs. Stack frames and
	 * function pointers need the full table (data_only 0). */
	int data_only;
	const char *const *keep_funcs;
};

struct lm_symtab;

int lm_symtab_load(const struct lm_memsrc *src, const struct lm_symtab_opts *opts,
		   struct lm_symtab **out, struct lm_err *err);
void lm_symtab_free(struct lm_symtab *tab);

size_t lm_symtab_nmodules(const struct lm_symtab *tab);
const struct lm_module *lm_symtab_module_at(const struct lm_symtab *tab, size_t i);
/* The module whose mappings contain addr, or NULL. */
const struct lm_module *lm_symtab_module(const struct lm_symtab *tab, uint64_t addr);
/* The first mapping of a module's file in src: the one to open it through
 * (lm_memsrc_open_mapping_file), or NULL. */
const struct lm_mapping *lm_module_mapping(const struct lm_memsrc *src,
					   const struct lm_module *m);
/* The module whose basename or path matches (libc: "libc.so.6"), or NULL. */
const struct lm_module *lm_symtab_module_named(const struct lm_symtab *tab, const char *name);

/* The symbol whose [addr, addr+size) contains addr (size 0 symbols match
 * exactly), or NULL. Used for vtables and data objects. */
const struct lm_symbol *lm_symtab_lookup(const struct lm_symtab *tab, uint64_t addr);
/* The nearest symbol at or below addr in the same module (functions for
 * stack frames), or NULL. */
const struct lm_symbol *lm_symtab_nearest(const struct lm_symtab *tab, uint64_t addr);
/* Every symbol, sorted by address (aliases at one address: the preferred
 * name first); the index of a symbol is its offset from symbol_at(0). */
size_t lm_symtab_nsymbols(const struct lm_symtab *tab);
const struct lm_symbol *lm_symtab_symbol_at(const struct lm_symtab *tab, size_t i);
/* By raw or demangled name, first match; NULL if none. */
const struct lm_symbol *lm_symtab_by_name(const struct lm_symtab *tab, const char *name);

/* The modules whose file was not opened (their symbols are missing), for a
 * warning: their number, and in buf "symbols missing for N modules: PATH:
 * not opened: why; ..." (the first few word for word). 0 and buf "" when
 * every module's file was opened. */
size_t lm_symtab_unreadable(const struct lm_symtab *tab, char *buf, size_t len);

/* Bytes held now by all parsed module files (shared between tables) and
 * by all tables (their own symbol arrays and lookup indexes), across
 * threads: what symbols cost a daemon, for its account of its memory. */
void lm_symbols_held(uint64_t *parts, uint64_t *tables);

#endif
