/* SPDX-License-Identifier: MIT */
/*
 * symcache_bench.c - what the symbol cache saves a daemon that takes a
 * census of one process every interval (bench/symcache.sh runs it).
 *
 *   symcache_bench PID [ROUNDS]
 *
 * Takes ROUNDS pairs of censuses of PID, one loading symbols afresh and one
 * through a cache kept for the whole run, alternating so that both see the
 * same target. Prints the median CPU time (ours: user + system) and wall
 * time per census of each, their ratio, the memory the cache holds between
 * censuses (malloc'd bytes and our RSS with it and after freeing it), then
 * on one memory source the symbol loads alone (afresh and cached) and what
 * the classifier's per-census setup costs on the same symbols (the other
 * candidate for caching).
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "snapshot.h"
#include "symcache.h"

#define CLASSIFIER_ROUNDS 50

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const struct lm_err *err)
{
	fprintf(stderr, "symcache_bench: %s: %s\n", what, err->msg);
	exit(1);
}

/* One census; its CPU and wall milliseconds. */
static void timed_census(const struct lm_snapshot_opts *opts, double *cpu, double *wall)
{
	double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
	struct lm_census *c;
	struct lm_err err = { 0 };

	if (lm_snapshot_census(opts, &c, &err) < 0)
		die("census", &err);
	*cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	*wall = clock_ms(CLOCK_MONOTONIC) - w0;
	lm_census_free(c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

struct alone {
	double fresh_ms, cached_ms;	/* CPU per symbol load */
	double classifier_ms;		/* CPU per lm_classifier_new + free */
	size_t nsyms;
};

/* The symbols alone, on one memory source: loaded afresh, through the
 * cache, and the classifier set up on them. */
static void symbols_alone(pid_t pid, struct lm_symcache *cache, int rounds, struct alone *a)
{
	struct lm_live_opts lo = { 0 };
	struct lm_memsrc *src;
	struct lm_symtab *tab;
	struct lm_err err = { 0 };
	double t0;
	int i;

	if (lm_memsrc_open_live(pid, &lo, &src, &err) < 0)
		die("memory source", &err);
	t0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < rounds; i++) {
		if (lm_symtab_load(src, NULL, &tab, &err) < 0)
			die("symbols", &err);
		lm_symtab_free(tab);
	}
	a->fresh_ms = (clock_ms(CLOCK_PROCESS_CPUTIME_ID) - t0) / rounds;
	t0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < rounds; i++) {
		if (lm_symcache_load(cache, src, NULL, &tab, &err) < 0)
			die("symbols", &err);
		lm_symtab_free(tab);
	}
	a->cached_ms = (clock_ms(CLOCK_PROCESS_CPUTIME_ID) - t0) / rounds;
	if (lm_symcache_load(cache, src, NULL, &tab, &err) < 0)
		die("symbols", &err);
	a->nsyms = lm_symtab_nsymbols(tab);
	t0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < CLASSIFIER_ROUNDS; i++) {
		struct lm_classifier *cls;
		if (lm_classifier_new(src, tab, &cls, &err) < 0)
			die("classifier", &err);
		lm_classifier_free(cls);
	}
	a->classifier_ms = (clock_ms(CLOCK_PROCESS_CPUTIME_ID) - t0) / CLASSIFIER_ROUNDS;
	lm_symtab_free(tab);
	lm_memsrc_close(src);
}

int main(int argc, char **argv)
{
	struct lm_snapshot_opts plain = { .mode = LM_MODE_LIVE }, cached;
	struct lm_symcache_stats st;
	struct lm_err err = { 0 };
	double *cpu[2], *wall[2], mc[2], mw[2];
	struct alone alone;
	size_t held_before, held_with;
	long rss_with, rss_after;
	int rounds, i;

	if (argc < 2) {
		fprintf(stderr, "usage: symcache_bench PID [ROUNDS]\n");
		return 2;
	}
	plain.pid = atoi(argv[1]);
	rounds = argc > 2 ? atoi(argv[2]) : 20;
	if (rounds < 1)
		rounds = 1;
	for (i = 0; i < 2; i++) {
		cpu[i] = calloc((size_t)rounds, sizeof(double));
		wall[i] = calloc((size_t)rounds, sizeof(double));
		if (!cpu[i] || !wall[i])
			return 1;
	}
	cached = plain;
	held_before = mallinfo2().uordblks;
	if (lm_symcache_new(&cached.symcache, &err) < 0)
		die("cache", &err);
	for (i = 0; i < rounds; i++) {
		timed_census(&plain, &cpu[0][i], &wall[0][i]);
		timed_census(&cached, &cpu[1][i], &wall[1][i]);
	}
	lm_symcache_stats(cached.symcache, &st);
	symbols_alone(plain.pid, cached.symcache, rounds, &alone);
	held_with = mallinfo2().uordblks;
	rss_with = rss_kb();
	lm_symcache_free(cached.symcache);
	malloc_trim(0);
	rss_after = rss_kb();
	for (i = 0; i < 2; i++) {
		mc[i] = median(cpu[i], rounds);
		mw[i] = median(wall[i], rounds);
	}
	printf("censuses of pid %d: %d without the cache, %d with it, alternating; %zu symbols\n",
	       (int)plain.pid, rounds, rounds, alone.nsyms);
	printf("without cache: cpu %8.2f ms/census  wall %8.2f ms/census (medians)\n", mc[0], mw[0]);
	printf("with cache:    cpu %8.2f ms/census  wall %8.2f ms/census (medians)\n", mc[1], mw[1]);
	printf("ratio (without/with): cpu %.1fx  wall %.1fx\n", mc[0] / mc[1], mw[0] / mw[1]);
	printf("symbols alone: cpu %.2f ms/load afresh, %.3f ms/load through the cache (%.0fx)\n",
	       alone.fresh_ms, alone.cached_ms, alone.fresh_ms / alone.cached_ms);
	printf("cache: %" PRIu64 " loads, %" PRIu64 " tables reused, %" PRIu64 " modules parsed, %"
	       PRIu64 " reused\n", st.loads, st.tables_reused, st.modules_parsed, st.modules_reused);
	printf("held by the cache between censuses: %.2f MB malloc'd; our RSS %.1f MB with it, "
	       "%.1f MB after freeing it\n", (double)(held_with - held_before) / 1e6,
	       rss_with / 1024.0, rss_after / 1024.0);
	printf("classifier setup (lm_classifier_new + free) on these symbols: %.3f ms cpu/census\n",
	       alone.classifier_ms);
	for (i = 0; i < 2; i++) {
		free(cpu[i]);
		free(wall[i]);
	}
	return 0;
}
