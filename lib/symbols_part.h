/* SPDX-License-Identifier: MIT */
/*
 * symbols_part.h - the pieces lm_symtab_load() is made of, shared by
 * lib/symbols.c and lib/symcache.c only (not a public interface).
 *
 * A module is found from the mappings (an lm_modspan); its file, parsed on
 * its own, is a part: its layout, build-id and symbols at run-time
 * addresses, names in its own arena. A table is assembled from the parts of
 * the modules mapped now. Parts and tables are reference counted so that a
 * cache can keep them across censuses while tables built from them are
 * still in use. Both counts are atomic: parts and tables are shared
 * between the caches of several processes, which different threads use.
 */
#ifndef LM_SYMBOLS_PART_H
#define LM_SYMBOLS_PART_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "memsrc.h"
#include "symbols.h"

/* One module as the mappings show it. */
struct lm_modspan {
	const struct lm_mapping *low;	/* its lowest mapping (in the source's maps) */
	uint64_t lo, hi;		/* span of its mappings */
};

/* Which file was read: enough to tell a file replaced or rewritten on disk. */
struct lm_file_id {
	int present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct lm_modpart;

/* 0, or -LM_EINVAL when libelf cannot be used. Call before the others. */
int lm_symbols_init(struct lm_err *err);

/* The modules of maps, in address order (*out malloc'd; spans point into maps). */
int lm_modspans(const struct lm_maps *maps, struct lm_modspan **out, size_t *n,
		struct lm_err *err);

/* Parse the module file open on fd (not closed) whose lowest mapping is
 * low, with its debug file under opts->debug_root (NULL: the default; "":
 * none), keeping the symbols a table of opts's kind holds (opts NULL: the
 * defaults, every symbol). Returns 1 (*out holds one reference), 0 (not
 * an ELF file) or -LM_ENOMEM. */
int lm_modpart_load(int fd, const struct lm_mapping *low, const struct lm_symtab_opts *opts,
		    struct lm_modpart **out);
struct lm_modpart *lm_modpart_hold(struct lm_modpart *p);
void lm_modpart_put(struct lm_modpart *p);
/* Its references now (1: only the caller's). */
unsigned lm_modpart_refs(const struct lm_modpart *p);
/* The debug file lm_modpart_load() looked for (present 0 when it had no
 * build-id, the lookup was disabled, or no file was there). */
const struct lm_file_id *lm_modpart_debug_id(const struct lm_modpart *p);
/* What is known now of the debug file lm_modpart_load() would read for p
 * (present 0 when no usable file is there): 0, or -LM_ENOTFOUND when p has
 * no build-id or debug files are disabled (none is looked for). */
int lm_modpart_debug_id_now(const struct lm_modpart *p, const char *debug_root,
			    struct lm_file_id *id);

/* What is known of the file open on fd (present 0 if fstat fails). */
void lm_file_id_of(int fd, struct lm_file_id *id);
int lm_file_id_equal(const struct lm_file_id *a, const struct lm_file_id *b);

/* A table of the modules spans[i] with parts[i] (NULL: not a module,
 * skipped); the table holds its own references to the parts. Returns 0 or
 * -LM_ENOMEM. */
int lm_symtab_assemble(struct lm_modpart *const *parts, const struct lm_modspan *spans,
		       size_t n, struct lm_symtab **out);
/* Record a module whose file was not opened (why: "PATH: not opened: ..."),
 * for lm_symtab_unreadable(). 0, or -LM_ENOMEM. */
int lm_symtab_note_unreadable(struct lm_symtab *tab, const char *why);
/* One more reference: lm_symtab_free() drops one, the last frees it. */
struct lm_symtab *lm_symtab_hold(struct lm_symtab *tab);
/* Its references now (1: only the caller's). */
unsigned lm_symtab_refs(const struct lm_symtab *tab);
/* 1 when lm_symtab_assemble(parts, spans, n) would build a table the same
 * as tab, with no module noted unreadable: the same parts (the same
 * pointers) at the same places. */
int lm_symtab_built_from(const struct lm_symtab *tab, struct lm_modpart *const *parts,
			 const struct lm_modspan *spans, size_t n);

#endif
