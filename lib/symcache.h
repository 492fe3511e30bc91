/* SPDX-License-Identifier: MIT */
/*
 * symcache.h - symbol tables kept across censuses of one process.
 *
 * Loading a process's symbols parses every module's ELF file (and its debug
 * file) and demangles every name: for a process with libstdc++ that is most
 * of a small census. Between two censuses of one process the modules hardly
 * ever change, so a cache keeps each module's parsed file and the last
 * table: lm_symcache_load() returns the same table as lm_symtab_load()
 * would, reusing what has not changed.
 *
 * A module's parsed file is reused when the module starts at the same
 * address, from the same file offset, with the same path, and the file the
 * memory source opens for it is the same (device, inode, size, mtime,
 * ctime: a package upgrade that replaced the file is reloaded), and so is
 * its debug file (one that appeared, vanished or changed is reloaded). New
 * modules (dlopen) are loaded, vanished ones (dlclose) dropped. When every
 * module is reused and no span changed, the last table itself is returned.
 *
 * Parsed files are also shared between the caches of all processes: a
 * module that another cache parsed from the same file (device, inode,
 * size, mtime, ctime) mapped at the same address from the same offset and
 * path, with the same debug root and debug file, is not parsed again but
 * held (a server's forked workers map their files where their parent did:
 * one copy of each module's symbols for all of them). A shared parsed file
 * lives while a cache or a table holds it. So are tables: a table built
 * from the same shared parts at the same places (no module unreadable) is
 * the same table, held by every cache that would build it. Parts and
 * tables are shared only between loads of the same kind (data_only,
 * keep_funcs). LEAKMON_SHARED_SYMBOLS=0 in the environment turns the
 * sharing off (to measure what it saves).
 *
 * One thread at a time uses a cache and the tables it returns; different
 * caches may be used by different threads at once. lm_symtab_free() releases a returned table as usual.
 */
#ifndef LM_SYMCACHE_H
#define LM_SYMCACHE_H

#include <stdint.h>

#include "error.h"
#include "memsrc.h"
#include "symbols.h"

struct lm_symcache;

/* What the cache did, summed over its loads. */
struct lm_symcache_stats {
	uint64_t loads;
	uint64_t tables_reused;		/* loads that returned the last table */
	uint64_t tables_shared;		/* loads that returned another cache's table */
	uint64_t modules_reused;	/* modules whose parsed file was kept */
	uint64_t modules_parsed;	/* modules read from their files */
	uint64_t modules_shared;	/* modules another cache had parsed */
	uint64_t modules_dropped;	/* cached modules no longer mapped */
};

int lm_symcache_new(struct lm_symcache **out, struct lm_err *err);
/* One more owner; lm_symcache_free() drops one, the last frees the cache. */
struct lm_symcache *lm_symcache_hold(struct lm_symcache *c);
void lm_symcache_free(struct lm_symcache *c);

/* As lm_symtab_load(src, opts, out, err), through the cache. A change of
 * opts->debug_root empties the cache first. A cache keeps tables of one
 * kind (opts->data_only and keep_funcs, the list compared by address), that
 * of its first load: a load of the other kind is loaded afresh, the cache
 * untouched (a daemon's censuses want data symbols every interval, a search
 * for holders wants functions once in a while). */
int lm_symcache_load(struct lm_symcache *c, const struct lm_memsrc *src,
		     const struct lm_symtab_opts *opts, struct lm_symtab **out,
		     struct lm_err *err);

void lm_symcache_stats(const struct lm_symcache *c, struct lm_symcache_stats *out);

#endif
