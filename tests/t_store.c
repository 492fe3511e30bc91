/* SPDX-License-Identifier: MIT */
/*
 * t_store.c - drive lib/store.c on real SQLite files for the
 * tests/daemon_store*.test scripts, which then check the results with the
 * sqlite3 shell (the operators' tool) rather than with our own readers.
 *
 *   t_store demo DB            fill a known history (below), print ids
 *   t_store bulk DB NSNAP NTYPES   NSNAP snapshots of NTYPES types each
 *   t_store thin-fill DB DAYS STEP_S NOW   a snapshot every STEP_S seconds
 *                              for DAYS days before NOW, and an old
 *                              instance that exited (see thin_fill)
 *   t_store retention DB NOW FULL_S RETAIN_S   apply retention, print count
 *   t_store churn DB NSNAP NTYPES   NSNAP snapshots an hour apart from T0,
 *                              each of "size 24" and NTYPES classes of its
 *                              own ("churn SNAP J"): types that die with it
 *   t_store open DB ro|rw      open, print "version V latest L" or the error
 *   t_store growth DB [TARGET] lm_store_growth of the trends instances
 *   t_store series DB TARGET KIND NAME   lm_store_series (KIND - = total)
 *
 * Times are fixed (T0 below) so the views give fixed text. Exit status:
 * 0, or 1 with the lm_err message on stderr (prefixed "error CODE: ").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "store.h"

#define T0_US INT64_C(1700000000000000)	/* 2023-11-14T22:13:20Z */
#define MIN_US INT64_C(60000000)

static int die(const struct lm_err *err)
{
	fprintf(stderr, "error %s: %s\n", lm_status_name(err->code), err->msg);
	return 1;
}

/* A census built by hand: ntypes types, values filled by the caller. */
static struct lm_census *census_new(size_t ntypes, int64_t taken_at_us)
{
	struct lm_census *c = calloc(1, sizeof(*c));

	if (!c || !(c->types = calloc(ntypes ? ntypes : 1, sizeof(*c->types)))) {
		perror("calloc");
		exit(99);
	}
	c->ntypes = ntypes;
	c->taken_at_us = taken_at_us;
	c->source = "live";
	c->pause_us = 1500;
	c->walk_us = 20000;
	return c;
}

static void census_set(struct lm_census *c, size_t i, int kind, const char *name,
		       uint64_t count, uint64_t bytes)
{
	c->types[i].kind = (uint8_t)kind;
	c->types[i].name = strdup(name);
	c->types[i].count = count;
	c->types[i].bytes = bytes;
	c->totals.inuse_count += count;
	c->totals.inuse_bytes += bytes;
}

static void census_done(struct lm_census *c)
{
	size_t i;

	for (i = 0; i < c->ntypes; i++)
		free(c->types[i].name);
	free(c->types);
	free(c);
}

/*
 * The demo history:
 *  target api, instance A (pid 1000, start_ticks 500, started T0):
 *    censuses at T0+10min*k, k = 1..6: class Order k*100 objects, k*6400
 *    bytes (+38400 B/h); string "string" 50 / 3200 constant; size "size 72"
 *    (7-k)*10 objects of 80 bytes (shrinks); k = 4 is a failed attempt
 *    (error "process exited") instead; class Cache appears at k = 5
 *    (1 / 1000) and k = 6 (2 / 2000); then A exits at T0+70min.
 *  target api, instance B (pid 1001, start_ticks 900, started T0+80min):
 *    censuses at T0+90 and T0+100min: class Order 10/640 then 20/1280.
 *  target worker, instance W (pid 2000, start 700, started T0): one census
 *    at T0+30min: symbol PyDict_Type 5 / 240, partial.
 */
static int demo(struct lm_store *st, struct lm_err *err)
{
	int64_t api, worker, a, a2, b, w, sid;
	struct lm_census *c;
	int k, r;

	if ((r = lm_store_target(st, "api", &api, err)) < 0 ||
	    (r = lm_store_target(st, "worker", &worker, err)) < 0)
		return r;
	if ((r = lm_store_instance_open(st, api, 1000, 500, "/usr/bin/api", T0_US, &a, err)) < 0)
		return r;
	/* The same process seen again (daemon restart) is the same instance. */
	if ((r = lm_store_instance_open(st, api, 1000, 500, NULL, T0_US, &a2, err)) < 0)
		return r;
	printf("instance A %" PRId64 " again %" PRId64 "\n", a, a2);
	for (k = 1; k <= 6; k++) {
		int64_t t = T0_US + k * 10 * MIN_US;

		if (k == 4) {
			r = lm_store_add_snapshot(st, a, NULL, LM_STORE_FAILED,
						  "process exited", t, &sid, err);
			if (r < 0)
				return r;
			continue;
		}
		c = census_new(k >= 5 ? 4 : 3, t);
		c->pid = 1000;
		census_set(c, 0, LM_KIND_CLASS, "Order", (uint64_t)k * 100, (uint64_t)k * 6400);
		census_set(c, 1, LM_KIND_STRING, "string", 50, 3200);
		census_set(c, 2, LM_KIND_SIZE, "size 72", (uint64_t)(7 - k) * 10,
			   (uint64_t)(7 - k) * 800);
		if (k >= 5)	/* appears late: absent censuses count as 0 */
			census_set(c, 3, LM_KIND_CLASS, "Cache", (uint64_t)k - 4,
				   (uint64_t)(k - 4) * 1000);
		c->totals.rss_bytes = 4096 * 1000;
		c->totals.free_bytes = 1000;
		r = lm_store_add_snapshot(st, a, c, LM_STORE_OK, NULL, 0, &sid, err);
		census_done(c);
		if (r < 0)
			return r;
	}
	if ((r = lm_store_instance_close(st, a, T0_US + 70 * MIN_US, err)) < 0)
		return r;
	if ((r = lm_store_instance_open(st, api, 1001, 900, "/usr/bin/api",
					T0_US + 80 * MIN_US, &b, err)) < 0)
		return r;
	for (k = 1; k <= 2; k++) {
		c = census_new(1, T0_US + (80 + k * 10) * MIN_US);
		census_set(c, 0, LM_KIND_CLASS, "Order", (uint64_t)k * 10, (uint64_t)k * 640);
		r = lm_store_add_snapshot(st, b, c, LM_STORE_OK, NULL, 0, &sid, err);
		census_done(c);
		if (r < 0)
			return r;
	}
	if ((r = lm_store_instance_open(st, worker, 2000, 700, "/usr/bin/worker", T0_US, &w, err)) < 0)
		return r;
	c = census_new(1, T0_US + 30 * MIN_US);
	census_set(c, 0, LM_KIND_SYMBOL, "PyDict_Type", 5, 240);
	r = lm_store_add_snapshot(st, w, c, LM_STORE_PARTIAL, "arena 2 skipped", 0, &sid, err);
	census_done(c);
	if (r < 0)
		return r;
	printf("instance B %" PRId64 " W %" PRId64 "\n", b, w);
	return 0;
}

/* nsnap snapshots of ntypes types ("size N" names, like real censuses). */
static int bulk(struct lm_store *st, long nsnap, long ntypes, struct lm_err *err)
{
	int64_t tgt, inst, sid;
	char name[32];
	long i, j;
	int r;

	if ((r = lm_store_target(st, "bulk", &tgt, err)) < 0 ||
	    (r = lm_store_instance_open(st, tgt, 3000, 1, "/usr/bin/bulk", T0_US, &inst, err)) < 0)
		return r;
	for (i = 0; i < nsnap; i++) {
		struct lm_census *c = census_new((size_t)ntypes, T0_US + i * 10 * MIN_US);

		for (j = 0; j < ntypes; j++) {
			snprintf(name, sizeof(name), "size %ld", 24 + 16 * j);
			census_set(c, (size_t)j, j % 7 ? LM_KIND_SIZE : LM_KIND_CLASS, name,
				   (uint64_t)(50000 + i * j * 7),
				   (uint64_t)((50000 + i * j * 7) * (32 + 16 * j)));
		}
		c->totals.rss_bytes = 100 << 20;
		r = lm_store_add_snapshot(st, inst, c, LM_STORE_OK, NULL, 0, &sid, err);
		census_done(c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int churn(struct lm_store *st, long nsnap, long ntypes, struct lm_err *err)
{
	int64_t tgt, inst, sid;
	char name[48];
	long i, j;
	int r;

	if ((r = lm_store_target(st, "churn", &tgt, err)) < 0 ||
	    (r = lm_store_instance_open(st, tgt, 5000, 1, "/usr/bin/churn", T0_US, &inst, err)) < 0)
		return r;
	for (i = 0; i < nsnap; i++) {
		struct lm_census *c = census_new((size_t)ntypes + 1, T0_US + i * 60 * MIN_US);

		census_set(c, 0, LM_KIND_SIZE, "size 24", 10, 320);
		for (j = 0; j < ntypes; j++) {
			snprintf(name, sizeof(name), "churn %ld %ld", i, j);
			census_set(c, (size_t)j + 1, LM_KIND_CLASS, name, 1, 32);
		}
		r = lm_store_add_snapshot(st, inst, c, LM_STORE_OK, NULL, 0, &sid, err);
		census_done(c);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Instance 4000: a snapshot every step_s for days before now; every 5th one
 * failed. Instance 4001: ran from now - days to now - days + 5 days, one
 * census an hour, then exited.
 */
static int thin_fill(struct lm_store *st, long days, long step_s, int64_t now,
		     struct lm_err *err)
{
	int64_t tgt, inst, old, sid, t, start = now - (int64_t)days * 86400 * 1000000;
	long i = 0;
	int r;

	if ((r = lm_store_target(st, "thin", &tgt, err)) < 0 ||
	    (r = lm_store_instance_open(st, tgt, 4000, 1, NULL, start, &inst, err)) < 0 ||
	    (r = lm_store_instance_open(st, tgt, 4001, 2, NULL, start, &old, err)) < 0)
		return r;
	for (t = start; t < start + 5 * 86400 * INT64_C(1000000); t += 3600 * INT64_C(1000000)) {
		struct lm_census *c = census_new(1, t);

		census_set(c, 0, LM_KIND_SIZE, "size 24", 1, 32);
		r = lm_store_add_snapshot(st, old, c, LM_STORE_OK, NULL, 0, &sid, err);
		census_done(c);
		if (r < 0)
			return r;
	}
	if ((r = lm_store_instance_close(st, old, t, err)) < 0)
		return r;
	for (t = now - (int64_t)days * 86400 * 1000000; t <= now; t += (int64_t)step_s * 1000000, i++) {
		struct lm_census *c;

		if (i % 5 == 0) {
			r = lm_store_add_snapshot(st, inst, NULL, LM_STORE_FAILED, "busy", t, &sid, err);
		} else {
			c = census_new(2, t);
			census_set(c, 0, LM_KIND_CLASS, "Order", (uint64_t)i, (uint64_t)i * 64);
			census_set(c, 1, LM_KIND_STRING, "string", 1, 32);
			r = lm_store_add_snapshot(st, inst, c, LM_STORE_OK, NULL, 0, &sid, err);
			census_done(c);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int growth(struct lm_store *st, const char *target, struct lm_err *err)
{
	struct lm_store_instance *in;
	struct lm_store_growth *g;
	size_t ni, ng, i, j;
	int r;

	if ((r = lm_store_latest_instances(st, target, &in, &ni, err)) < 0)
		return r;
	for (i = 0; i < ni && r == 0; i++) {
		printf("instance %s pid %d live %d\n", in[i].target, (int)in[i].pid,
		       in[i].ended_at_us == 0);
		if ((r = lm_store_growth(st, in[i].id, 0, &g, &ng, err)) < 0)
			break;
		for (j = 0; j < ng; j++)
			printf("%s|%s|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%.1f|%.1f\n",
			       g[j].kind, g[j].name, g[j].samples, g[j].first_bytes,
			       g[j].last_bytes, g[j].bytes_per_hour, g[j].count_per_hour);
		lm_store_growth_free(g, ng);
	}
	lm_store_instances_free(in, ni);
	return r;
}

static int series(struct lm_store *st, const char *target, const char *kind,
		  const char *name, struct lm_err *err)
{
	struct lm_store_instance *in;
	struct lm_store_point *p;
	size_t ni, np, i, j;
	int r;

	if ((r = lm_store_latest_instances(st, target, &in, &ni, err)) < 0)
		return r;
	for (i = 0; i < ni && r == 0; i++) {
		r = lm_store_series(st, in[i].id, strcmp(kind, "-") ? kind : NULL, name,
				    0, &p, &np, err);
		for (j = 0; r == 0 && j < np; j++)
			printf("%" PRId64 " %" PRIu64 " %" PRIu64 "\n",
			       (p[j].taken_at_us - T0_US) / MIN_US, p[j].count, p[j].bytes);
		if (r == 0)
			free(p);
	}
	lm_store_instances_free(in, ni);
	return r;
}

int main(int argc, char **argv)
{
	struct lm_err err = { 0 };
	struct lm_store *st;
	const char *cmd, *db;
	int rw, r;

	if (argc < 3) {
		fprintf(stderr, "usage: t_store demo|bulk|churn|thin-fill|retention|open|growth|series "
			"DB ...\n");
		return 99;
	}
	cmd = argv[1];
	db = argv[2];
	rw = strcmp(cmd, "growth") && strcmp(cmd, "series") &&
	     !(!strcmp(cmd, "open") && argc > 3 && !strcmp(argv[3], "ro"));
	r = lm_store_open(db, rw ? LM_STORE_READWRITE : LM_STORE_READONLY, &st, &err);
	if (r < 0)
		return die(&err);

	if (!strcmp(cmd, "demo"))
		r = demo(st, &err);
	else if (!strcmp(cmd, "bulk") && argc == 5)
		r = bulk(st, atol(argv[3]), atol(argv[4]), &err);
	else if (!strcmp(cmd, "churn") && argc == 5)
		r = churn(st, atol(argv[3]), atol(argv[4]), &err);
	else if (!strcmp(cmd, "thin-fill") && argc == 6)
		r = thin_fill(st, atol(argv[3]), atol(argv[4]), strtoll(argv[5], NULL, 10), &err);
	else if (!strcmp(cmd, "retention") && argc == 6) {
		uint64_t n = 0;

		r = lm_store_retention(st, strtoll(argv[3], NULL, 10), atol(argv[4]),
				       atol(argv[5]), &n, &err);
		if (r == 0)
			printf("deleted %" PRIu64 "\n", n);
	} else if (!strcmp(cmd, "open"))
		printf("version %d latest %d\n", lm_store_schema_version(st),
		       lm_store_schema_latest());
	else if (!strcmp(cmd, "growth"))
		r = growth(st, argc > 3 ? argv[3] : NULL, &err);
	else if (!strcmp(cmd, "series") && argc == 6)
		r = series(st, argv[3], argv[4], argv[5], &err);
	else {
		fprintf(stderr, "t_store: bad arguments\n");
		r = 0;
		lm_store_close(st);
		return 99;
	}
	lm_store_close(st);
	return r < 0 ? die(&err) : 0;
}
