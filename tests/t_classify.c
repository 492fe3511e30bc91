/* SPDX-License-Identifier: MIT */
/*
 * t_classify.c - test driver for symbols.c and classify.c: loads a target's
 * symbols and classifies chunks given by address (no heap walker needed) or
 * every live chunk the walker finds.
 *
 *   t_classify [-n] SOURCE objs           read "obj ADDR KIND NAME" lines
 *       (a census target's output) on stdin; classify the chunk at each user
 *       address (its header read at ADDR-8); print "bad ..." for every
 *       mismatch and "got KIND NAME COUNT BYTES" per type; exit 1 on mismatch
 *   t_classify [-n] SOURCE lookup ADDR...   "ADDR NAME" of the containing symbol
 *   t_classify [-n] SOURCE nearest ADDR...  "ADDR NAME" of the nearest symbol
 *   t_classify [-n] SOURCE modules          one line per module
 *   t_classify [-n] SOURCE census          walk the heap (lib/glibc_heap.c),
 *       classify every live chunk, print "got KIND NAME COUNT BYTES" per type
 *   t_classify [-n] SOURCE bench [ROUNDS]   walk the heap ROUNDS times without
 *       and ROUNDS times with classification; print the classification rate
 *
 *   t_classify names USABLE...              size-class names and kind names
 *
 * SOURCE is a pid (live, stopped only while captured) or core:PATH.
 * -n: no separate debug files (debug_root ""); -d DIR: debug files under DIR
 * (DIR/.build-id/xx/rest.debug) instead of /usr/lib/debug.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "glibc_heap.h"
#include "memsrc.h"
#include "symbols.h"

static void die(const char *what, const struct lm_err *err)
{
	fprintf(stderr, "t_classify: %s: %s\n", what, err->msg);
	exit(2);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* A chunk from its user address: header word at user-8. */
static int chunk_at(const struct lm_memsrc *src, uint64_t user, struct lm_chunk *c)
{
	uint64_t word;

	if (lm_mem_word(src, user - 8, &word) != 0)
		return -1;
	memset(c, 0, sizeof(*c));
	c->addr = user - 16;
	c->size = word & ~7ULL;
	c->flags = word & 7;
	c->state = (word & 2) ? LM_CHUNK_MMAPPED : LM_CHUNK_INUSE;
	c->usable = c->size - ((word & 2) ? 16 : 8);
	c->arena = (word & 2) ? 0xffff : 0;
	return c->size >= 32 ? 0 : -1;
}

struct tally {
	uint64_t count, bytes;
};

static int cmd_objs(const struct lm_memsrc *src, struct lm_classifier *cls)
{
	char line[1024];
	struct tally *t = calloc(1 << 16, sizeof(*t));
	size_t i, nobj = 0, bad = 0;

	while (fgets(line, sizeof(line), stdin)) {
		char kind[32], name[512];
		unsigned long long addr;
		struct lm_chunk c;
		const struct lm_type *ty;
		uint32_t id;
		int n = 0;

		if (sscanf(line, "obj %llx %31s %n", &addr, kind, &n) != 2 || n == 0)
			continue;
		snprintf(name, sizeof(name), "%s", line + n);
		name[strcspn(name, "\n")] = 0;
		nobj++;
		if (chunk_at(src, addr, &c) != 0) {
			printf("bad %#llx unreadable chunk header\n", addr);
			bad++;
			continue;
		}
		id = lm_classify(cls, &c);
		ty = lm_classifier_type(cls, id);
		if (id < (1 << 16)) {
			t[id].count++;
			t[id].bytes += c.size;
		}
		if (strcmp(lm_kind_name(ty->kind), kind) != 0 || strcmp(ty->name, name) != 0) {
			printf("bad %#llx want %s %s got %s %s (chunk size %" PRIu64 ")\n", addr,
			       kind, name, lm_kind_name(ty->kind), ty->name, c.size);
			bad++;
		}
	}
	for (i = 0; i < lm_classifier_ntypes(cls) && i < (1 << 16); i++) {
		const struct lm_type *ty = lm_classifier_type(cls, (uint32_t)i);
		if (t[i].count)
			printf("got %s %s %" PRIu64 " %" PRIu64 "\n", lm_kind_name(ty->kind),
			       ty->name, t[i].count, t[i].bytes);
	}
	printf("objects %zu mismatches %zu\n", nobj, bad);
	free(t);
	return bad || nobj == 0 ? 1 : 0;
}

static int cmd_lookup(const struct lm_symtab *tab, char **args, int nargs, int nearest)
{
	int i, rc = 0;

	for (i = 0; i < nargs; i++) {
		uint64_t a = strtoull(args[i], NULL, 16);
		const struct lm_symbol *s = nearest ? lm_symtab_nearest(tab, a)
						    : lm_symtab_lookup(tab, a);
		if (s) {
			const struct lm_module *m = lm_symtab_module_at(tab, s->module);
			printf("%s %s +%#" PRIx64 " %s %s\n", args[i], s->name, a - s->addr,
			       m ? m->name : "?", s->kind == LM_SYM_VTABLE ? "vtable" :
			       s->kind == LM_SYM_FUNC ? "func" : "object");
		} else {
			printf("%s -\n", args[i]);
			rc = 1;
		}
	}
	return rc;
}

static int cmd_modules(const struct lm_symtab *tab)
{
	size_t i;

	for (i = 0; i < lm_symtab_nmodules(tab); i++) {
		const struct lm_module *m = lm_symtab_module_at(tab, i);
		printf("%s lo=%#" PRIx64 " hi=%#" PRIx64 " bias=%#" PRIx64 " data=%#" PRIx64
		       "-%#" PRIx64 " symtab=%d debug=%d build_id=%s\n", m->path, m->lo, m->hi,
		       m->bias, m->data_lo, m->data_hi, m->has_symtab, m->debug_file,
		       m->build_id[0] ? m->build_id : "-");
	}
	printf("symbols %zu\n", lm_symtab_nsymbols(tab));
	{
		char why[2048];
		if (lm_symtab_unreadable(tab, why, sizeof(why)))
			printf("missing %s\n", why);
	}
	return 0;
}

struct census {
	struct lm_classifier *cls;
	struct tally *t;
	size_t cap;
	uint64_t live, checksum;
	int classify;
};

static int census_chunk(void *ctx, const struct lm_chunk *c)
{
	struct census *cs = ctx;
	uint32_t id;

	if (!lm_chunk_is_live(c->state))
		return 0;
	cs->live++;
	if (!cs->classify)
		return 0;
	id = lm_classify(cs->cls, c);
	cs->checksum += id;
	if (id < cs->cap) {
		cs->t[id].count++;
		cs->t[id].bytes += c->size;
	}
	return 0;
}

static int walk(const struct lm_memsrc *src, const struct lm_symtab *tab, struct census *cs)
{
	struct lm_walk_opts wo = { 0 };
	struct lm_heap_info info;
	struct lm_err err = { 0 };

	memset(&info, 0, sizeof(info));
	if (lm_glibc_walk(src, tab, &wo, &info, census_chunk, cs, &err) < 0)
		die("walk", &err);
	return 0;
}

static int cmd_census(const struct lm_memsrc *src, const struct lm_symtab *tab,
		      struct lm_classifier *cls)
{
	struct census cs = { .cls = cls, .cap = 1 << 16, .classify = 1 };
	size_t i;

	cs.t = calloc(cs.cap, sizeof(*cs.t));
	walk(src, tab, &cs);
	for (i = 0; i < lm_classifier_ntypes(cls) && i < cs.cap; i++) {
		const struct lm_type *ty = lm_classifier_type(cls, (uint32_t)i);
		if (cs.t[i].count)
			printf("got %s %s %" PRIu64 " %" PRIu64 "\n", lm_kind_name(ty->kind),
			       ty->name, cs.t[i].count, cs.t[i].bytes);
	}
	printf("live %" PRIu64 "\n", cs.live);
	printf("folded %" PRIu64 "\n", lm_classifier_folded(cls));
	free(cs.t);
	return cs.live ? 0 : 1;
}

/* The walk alone, then walk + classify: the difference is what the
 * classifier costs. CPU time too: on a shared machine the wall clock
 * includes waiting for a core. */
static int cmd_bench(const struct lm_memsrc *src, const struct lm_symtab *tab,
		     struct lm_classifier *cls, int rounds)
{
	struct census cs = { .cls = cls, .cap = 1 << 16 };
	double t[2], c[2];
	int pass, k;

	cs.t = calloc(cs.cap, sizeof(*cs.t));
	walk(src, tab, &cs);	/* warm up: first-time detection, page faults */
	for (pass = 0; pass < 2; pass++) {
		double t0 = now_s(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		cs.classify = pass;
		cs.live = 0;
		for (k = 0; k < rounds; k++)
			walk(src, tab, &cs);
		cs.live /= rounds;
		t[pass] = now_s() - t0;
		c[pass] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	printf("%d rounds of %" PRIu64 " live chunks: walk %.3f s (%.3f cpu), walk+classify %.3f s "
	       "(%.3f cpu); classification %.1f million chunks per cpu second, walk+classify "
	       "%.1f million per cpu second (%zu types, checksum %" PRIu64 ")\n", rounds, cs.live,
	       t[0], c[0], t[1], c[1], (double)cs.live * rounds / (c[1] - c[0]) / 1e6,
	       (double)cs.live * rounds / c[1] / 1e6, lm_classifier_ntypes(cls), cs.checksum);
	free(cs.t);
	return 0;
}

/* t_classify names USABLE...: size-class names, then every kind name and
 * whether it parses back (no target needed). */
static int cmd_names(char **args, int nargs)
{
	char buf[64];
	int i, k, rc = 0;

	for (i = 0; i < nargs; i++) {
		lm_size_class_name(strtoull(args[i], NULL, 0), buf, sizeof(buf));
		printf("%s %s\n", args[i], buf);
	}
	for (k = 0; k < LM_KIND_MAX; k++) {
		printf("kind %d %s\n", k, lm_kind_name(k));
		if (lm_kind_parse(lm_kind_name(k)) != k)
			rc = 1;
	}
	if (lm_kind_parse("klass") != -1)
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	struct lm_symtab_opts so = { 0 };
	struct lm_memsrc *src = NULL;
	struct lm_symtab *tab = NULL;
	struct lm_classifier *cls = NULL;
	struct lm_err err = { 0 };
	const char *cmd;
	double t0, c0;
	int rc, a = 1;

	for (; argc > a && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "-n") == 0)
			so.debug_root = "";
		else if (strcmp(argv[a], "-d") == 0 && argc > a + 1)
			so.debug_root = argv[++a];
		else
			break;
	}
	if (argc > a && strcmp(argv[a], "names") == 0)
		return cmd_names(argv + a + 1, argc - a - 1);
	if (argc < a + 2) {
		fprintf(stderr, "usage: t_classify [-n|-d DIR] PID|core:PATH objs|lookup|nearest|modules|census|bench ...\n");
		return 2;
	}
	if (strncmp(argv[a], "core:", 5) == 0)
		rc = lm_memsrc_open_core(argv[a] + 5, &src, &err);
	else
		rc = lm_memsrc_open_live(atoi(argv[a]), NULL, &src, &err);
	if (rc < 0)
		die("open", &err);
	cmd = argv[a + 1];
	t0 = now_s();
	c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	if (lm_symtab_load(src, &so, &tab, &err) < 0)
		die("symbols", &err);
	fprintf(stderr, "t_classify: %zu symbols of %zu modules loaded in %.1f ms (%.1f ms cpu)\n",
		lm_symtab_nsymbols(tab), lm_symtab_nmodules(tab), (now_s() - t0) * 1e3,
		(clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e3);
	if (lm_classifier_new(src, tab, &cls, &err) < 0)
		die("classifier", &err);

	if (strcmp(cmd, "objs") == 0)
		rc = cmd_objs(src, cls);
	else if (strcmp(cmd, "lookup") == 0 || strcmp(cmd, "nearest") == 0)
		rc = cmd_lookup(tab, argv + a + 2, argc - a - 2, cmd[0] == 'n');
	else if (strcmp(cmd, "modules") == 0)
		rc = cmd_modules(tab);
	else if (strcmp(cmd, "census") == 0)
		rc = cmd_census(src, tab, cls);
	else if (strcmp(cmd, "bench") == 0)
		rc = cmd_bench(src, tab, cls, argc > a + 2 ? atoi(argv[a + 2]) : 1);
	else {
		fprintf(stderr, "t_classify: unknown command %s\n", cmd);
		rc = 2;
	}
	lm_classifier_free(cls);
	lm_symtab_free(tab);
	lm_memsrc_close(src);
	return rc;
}
