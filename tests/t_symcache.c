/* SPDX-License-Identifier: MIT */
/*
 * t_symcache.c - test driver for the symbol cache (lib/symcache.c): every
 * census of one process is taken twice, through one cache kept for the
 * whole run and without any, so that a test can compare the two.
 *
 *   t_symcache [-d DIR] PID OUTDIR
 *
 * Reads one step name per line on stdin; for each, writes
 *   OUTDIR/NAME.cached.syms   the symbol table of a census (data symbols)
 *                             through the cache
 *   OUTDIR/NAME.plain.syms    the same loaded afresh (one line per module,
 *                             one per symbol, every field)
 *   OUTDIR/NAME.full.syms     the full table of a drill-down snapshot
 *   OUTDIR/NAME.full.json     that snapshot's census (by the full table)
 *   OUTDIR/NAME.cached.json   the census through the cache (lm_snapshot_census)
 *   OUTDIR/NAME.plain.json    the census without it
 * (census JSON without its timings and the target's RSS, which differ from
 * one census to the next) and prints "NAME loads L tables_reused T parsed P reused R dropped D"
 * with what the cache did during the step. -d: debug files under DIR.
 *
 *   t_symcache -s PID1 PID2 OUTDIR
 *
 * Two processes, two caches: loads PID1's symbols through the first, then
 * PID2's through the second (which may use what the first parsed), and
 * writes OUTDIR/second.cached.syms and OUTDIR/second.plain.syms (loaded
 * afresh, no cache); prints "first parsed P shared S tables_shared T" and
 * "second parsed P shared S tables_shared T".
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census_json.h"
#include "glibc_heap.h"
#include "snapshot.h"
#include "symcache.h"

static void die(const char *what, const struct lm_err *err)
{
	fprintf(stderr, "t_symcache: %s: %s\n", what, err ? err->msg : "failed");
	exit(2);
}

static FILE *out_file(const char *dir, const char *step, const char *suffix)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, step, suffix);
	f = fopen(path, "w");
	if (!f)
		die(path, NULL);
	return f;
}

static void dump_symtab(const struct lm_symtab *tab, FILE *f)
{
	size_t i;

	for (i = 0; i < lm_symtab_nmodules(tab); i++) {
		const struct lm_module *m = lm_symtab_module_at(tab, i);
		fprintf(f, "module %s %s %#" PRIx64 "-%#" PRIx64 " bias %#" PRIx64
			" data %#" PRIx64 "-%#" PRIx64 " symtab %d debug %d build_id %s\n",
			m->path, m->name, m->lo, m->hi, m->bias, m->data_lo, m->data_hi,
			m->has_symtab, m->debug_file, m->build_id);
	}
	for (i = 0; i < lm_symtab_nsymbols(tab); i++) {
		const struct lm_symbol *s = lm_symtab_symbol_at(tab, i);
		fprintf(f, "%#" PRIx64 " %" PRIu64 " kind %d local %d module %d %s %s\n",
			s->addr, s->size, s->kind, s->local, s->module, s->raw, s->name);
	}
}

/* The census as JSON, without the fields that change between censuses of
 * a process that does nothing: timings, and its RSS (file pages come and
 * go, e.g. when a mapped file is rewritten). */
static void write_census(const struct lm_census *c, const char *dir, const char *step,
			 const char *suffix)
{
	json_t *j = lm_census_to_json(c, 0);
	FILE *f = out_file(dir, step, suffix);

	if (!j)
		die("census to JSON", NULL);
	json_object_del(j, "taken_at");
	json_object_del(j, "pause_us");
	json_object_del(j, "walk_us");
	json_object_del(json_object_get(j, "totals"), "rss_bytes");
	json_dumpf(j, f, JSON_INDENT(1) | JSON_SORT_KEYS);
	fputc('\n', f);
	fclose(f);
	json_decref(j);
}

/* Open a snapshot (keeping its symbols) and dump its table. */
static void snapshot_dump(struct lm_snapshot_opts *opts, const char *dir, const char *step,
			  const char *suffix)
{
	struct lm_snapshot *snap;
	struct lm_err err = { 0 };
	FILE *f;

	if (lm_snapshot_open(opts, &snap, &err) < 0)
		die("snapshot", &err);
	f = out_file(dir, step, suffix);
	dump_symtab(lm_snapshot_symtab(snap), f);
	fclose(f);
	lm_snapshot_close(snap);
}

/* A census's table of the process (data symbols; the cache's kind) loaded
 * through cache or afresh (NULL) from a drill-down snapshot's memory, into
 * NAME.SUFFIX; afresh, the snapshot's own full table into NAME.full.syms. */
static void census_syms_dump(const struct lm_snapshot_opts *opts, struct lm_symcache *cache,
			     const char *dir, const char *step, const char *suffix)
{
	struct lm_symtab_opts so = { .debug_root = opts->debug_root, .data_only = 1,
				     .keep_funcs = lm_glibc_heap_funcs };
	struct lm_snapshot_opts o = *opts;
	struct lm_snapshot *snap;
	struct lm_symtab *tab;
	struct lm_err err = { 0 };
	FILE *f;
	int rc;

	o.symcache = NULL;
	if (lm_snapshot_open(&o, &snap, &err) < 0)
		die("snapshot", &err);
	rc = cache ? lm_symcache_load(cache, lm_snapshot_source(snap), &so, &tab, &err)
		   : lm_symtab_load(lm_snapshot_source(snap), &so, &tab, &err);
	if (rc < 0)
		die("census symbols", &err);
	f = out_file(dir, step, suffix);
	dump_symtab(tab, f);
	fclose(f);
	lm_symtab_free(tab);
	if (!cache) {
		f = out_file(dir, step, "full.syms");
		dump_symtab(lm_snapshot_symtab(snap), f);
		fclose(f);
		if (!lm_snapshot_result(snap))
			die("snapshot without a census", NULL);
		write_census(lm_snapshot_result(snap), dir, step, "full.json");
	}
	lm_snapshot_close(snap);
}

static void census(struct lm_snapshot_opts *opts, const char *dir, const char *step,
		   const char *suffix)
{
	struct lm_census *c;
	struct lm_err err = { 0 };

	if (lm_snapshot_census(opts, &c, &err) < 0)
		die("census", &err);
	write_census(c, dir, step, suffix);
	lm_census_free(c);
}

static void step(struct lm_snapshot_opts *opts, struct lm_symcache *cache, const char *dir,
		 const char *name)
{
	struct lm_symcache_stats a, b;

	lm_symcache_stats(cache, &a);
	opts->symcache = cache;
	census(opts, dir, name, "cached.json");
	lm_symcache_stats(cache, &b);
	census_syms_dump(opts, cache, dir, name, "cached.syms");
	opts->symcache = NULL;
	census(opts, dir, name, "plain.json");
	census_syms_dump(opts, NULL, dir, name, "plain.syms");
	printf("%s loads %" PRIu64 " tables_reused %" PRIu64 " parsed %" PRIu64 " reused %"
	       PRIu64 " dropped %" PRIu64 "\n", name, b.loads - a.loads,
	       b.tables_reused - a.tables_reused, b.modules_parsed - a.modules_parsed,
	       b.modules_reused - a.modules_reused, b.modules_dropped - a.modules_dropped);
	fflush(stdout);
}

/* Load pid's symbols through cache (NULL: afresh); print what it did. */
static void load_through(struct lm_snapshot_opts *opts, int pid, struct lm_symcache *cache,
			 const char *label)
{
	struct lm_symcache_stats st;
	struct lm_snapshot *snap;
	struct lm_err err = { 0 };

	opts->pid = pid;
	opts->symcache = cache;
	if (lm_snapshot_open(opts, &snap, &err) < 0)
		die("snapshot", &err);
	lm_snapshot_close(snap);
	lm_symcache_stats(cache, &st);
	printf("%s parsed %" PRIu64 " shared %" PRIu64 " tables_shared %" PRIu64 "\n", label,
	       st.modules_parsed, st.modules_shared, st.tables_shared);
}

/* -s PID1 PID2 OUTDIR (see the top). */
static int two_processes(char **argv)
{
	struct lm_snapshot_opts opts = { .mode = LM_MODE_LIVE };
	struct lm_symcache *a, *b;
	struct lm_err err = { 0 };

	if (lm_symcache_new(&a, &err) < 0 || lm_symcache_new(&b, &err) < 0)
		die("cache", &err);
	load_through(&opts, atoi(argv[2]), a, "first");
	load_through(&opts, atoi(argv[3]), b, "second");
	snapshot_dump(&opts, argv[4], "second", "cached.syms");
	opts.symcache = NULL;
	snapshot_dump(&opts, argv[4], "second", "plain.syms");
	lm_symcache_free(a);
	lm_symcache_free(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct lm_snapshot_opts opts = { .mode = LM_MODE_LIVE };
	struct lm_symcache *cache;
	struct lm_err err = { 0 };
	char line[256];
	int a = 1;

	if (argc == 5 && strcmp(argv[1], "-s") == 0)
		return two_processes(argv);
	if (argc > 2 && strcmp(argv[1], "-d") == 0) {
		opts.debug_root = argv[2];
		a = 3;
	}
	if (argc - a != 2) {
		fprintf(stderr, "usage: t_symcache [-d DIR] PID OUTDIR\n");
		return 2;
	}
	opts.pid = atoi(argv[a]);
	if (lm_symcache_new(&cache, &err) < 0)
		die("cache", &err);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line)
			step(&opts, cache, argv[a + 1], line);
	}
	lm_symcache_free(cache);
	return 0;
}
