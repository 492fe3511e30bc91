/* SPDX-License-Identifier: MIT */
/*
 * cmd_trends.c - `leakmon trends`: from leakmond's database, the types that
 * grow fastest in each watched process, with their rate, their current
 * bytes and a sparkline of bytes over time.
 *
 * Reads through lib/store.h only, on a read-only connection: the database
 * is in WAL mode, so this never blocks the daemon writing to it. One
 * structure per instance (struct trend) feeds both the table and --json.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "census_json.h"
#include "cli.h"
#include "escape.h"
#include "selector.h"
#include "store.h"

#define DEFAULT_LIMIT 10
#define SPARK_WIDTH 24

struct trend_type {
	struct lm_store_growth *g;	/* rate, samples (owned by struct trend) */
	char alert[16];			/* level of its firing alert, "" if none */
	struct lm_store_point *pts;	/* bytes over every census, 0 when absent */
	size_t npts;
};

struct trend {
	struct lm_store_instance *in;	/* owned by the caller's array */
	struct lm_store_point *heap;	/* in-use bytes over time */
	size_t nheap;
	double heap_per_hour;
	struct lm_store_growth *growth;
	size_t ngrowth;
	struct trend_type *types;	/* one per growth row */
};

/*
 * "exited" when the daemon saw the process end; otherwise "live" only if
 * that very process (pid, start time, and a start on this boot) still runs
 * here: a daemon stopped before its target ended never closed the instance,
 * and the database may come from another machine.
 */
static const char *instance_state(const struct lm_store_instance *in)
{
	struct lm_proc_id id = { .pid = in->pid, .start_ticks = in->start_ticks };
	int64_t drift;

	if (in->ended_at_us)
		return "exited";
	if (!lm_proc_id_alive(&id))
		return "gone";
	drift = lm_proc_start_us(in->start_ticks) - in->started_at_us;
	return drift > -2000000 && drift < 2000000 ? "live" : "gone";
}

static void trends_usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmon trends [--db FILE] [--target NAME] [--limit N] [--json]\n\n"
		"The fastest-growing types of every process leakmond watches, from its\n"
		"database: growth rate (least-squares slope of bytes over the process's\n"
		"censuses), bytes in the last census, and a sparkline of bytes over time\n"
		"(lowest to highest value of that type). A type with a firing leak alert is\n"
		"marked [alert: LEVEL] (\"alert\" in --json).\n"
		"Shows each target's live processes, or its last one if none is live.\n\n"
		"  --db FILE      the database (default %s)\n"
		"  --target NAME  only this target ([target NAME] in leakmond.conf)\n"
		"  --limit N      types per process (default %d; 0 = all)\n"
		"  --json         the same data as one JSON object, with the full series\n"
		"  -h, --help     this text\n\n"
		"The database is opened read-only: safe while leakmond runs.\n"
		"See leakmon --help for exit codes.\n", LM_STORE_DEFAULT_PATH, DEFAULT_LIMIT);
}

/* ---- numbers and text ---------------------------------------------------- */

/* "+1.2 MB/h", "-800 B/h", "0 B/h" */
static void fmt_rate(double per_hour, char *buf, size_t len)
{
	char b[32];
	double a = per_hour < 0 ? -per_hour : per_hour;

	if (a < 0.5) {
		snprintf(buf, len, "0 B/h");
		return;
	}
	lm_format_bytes((uint64_t)(a + 0.5), b, sizeof(b));
	snprintf(buf, len, "%c%s/h", per_hour < 0 ? '-' : '+', b);
}

/* ISO-8601 UTC, like the views: "2026-11-28T01:03:19Z" */
static void fmt_time(int64_t us, char *buf, size_t len)
{
	if (!us)
		snprintf(buf, len, "-");
	else
		lm_format_utc(us, buf, len);
}

/* Least-squares slope of bytes against time, per hour (0 if undefined). */
static double slope_per_hour(const struct lm_store_point *p, size_t n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, x, den;
	size_t i;

	if (n < 2)
		return 0;
	for (i = 0; i < n; i++) {
		x = (double)(p[i].taken_at_us - p[0].taken_at_us) / 3.6e9;
		sx += x;
		sy += (double)p[i].bytes;
		sxx += x * x;
		sxy += x * (double)p[i].bytes;
	}
	den = (double)n * sxx - sx * sx;
	return den > 1e-12 ? ((double)n * sxy - sx * sy) / den : 0;
}

/*
 * A sparkline of bytes, width cells (padded with spaces): each cell is the
 * largest value of its share of the points, scaled from the series' lowest
 * to highest value.
 */
static void sparkline(const struct lm_store_point *p, size_t n, size_t width,
		      char *buf, size_t len)
{
	static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	uint64_t lo = UINT64_MAX, hi = 0, v;
	size_t cells = n < width ? n : width, c, i, from, to, used = 0;
	unsigned level;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		lo = p[i].bytes < lo ? p[i].bytes : lo;
		hi = p[i].bytes > hi ? p[i].bytes : hi;
	}
	for (c = 0; c < cells; c++) {
		from = c * n / cells;
		to = (c + 1) * n / cells;
		for (v = 0, i = from; i < to; i++)
			v = p[i].bytes > v ? p[i].bytes : v;
		level = hi > lo ? (unsigned)((double)(v - lo) * 7.0 / (double)(hi - lo) + 0.5) : 0;
		if (used + 4 >= len)
			break;
		used += (size_t)snprintf(buf + used, len - used, "%s", bars[level > 7 ? 7 : level]);
	}
	/* Pad to width cells, so the column after it lines up. */
	for (; c < width && used + 1 < len; c++)
		buf[used++] = ' ';
	buf[used] = '\0';
}

/* "class Order", "string", "size 72": like `leakmon stat`, the name
 * escaped (the database keeps it as the target chose it). */
static void type_label(const struct lm_store_growth *g, char *buf, size_t len)
{
	char name[1024];

	lm_escape_str(g->name, name, sizeof(name));
	if (!strcmp(g->kind, "string") || !strcmp(g->kind, "size"))
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s %s", g->kind, name);
}

static uint64_t last_bytes(const struct lm_store_point *p, size_t n)
{
	return n ? p[n - 1].bytes : 0;
}

static uint64_t last_count(const struct lm_store_point *p, size_t n)
{
	return n ? p[n - 1].count : 0;
}

/* ---- loading -------------------------------------------------------------- */

static void trend_free(struct trend *t)
{
	size_t i;

	for (i = 0; t->types && i < t->ngrowth; i++)
		free(t->types[i].pts);
	free(t->types);
	lm_store_growth_free(t->growth, t->ngrowth);
	free(t->heap);
	memset(t, 0, sizeof(*t));
}

static void load_alerts(struct lm_store *st, struct trend *t);

static int trend_load(struct lm_store *st, struct lm_store_instance *in, size_t limit,
		      struct trend *t, struct lm_err *err)
{
	size_t i;
	int r;

	memset(t, 0, sizeof(*t));
	t->in = in;
	r = lm_store_series(st, in->id, NULL, NULL, 0, &t->heap, &t->nheap, err);
	if (r == 0)
		r = lm_store_growth(st, in->id, limit, &t->growth, &t->ngrowth, err);
	if (r < 0)
		return r;
	t->heap_per_hour = round(slope_per_hour(t->heap, t->nheap) * 10) / 10;	/* like the views */
	t->types = calloc(t->ngrowth ? t->ngrowth : 1, sizeof(*t->types));
	if (!t->types)
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	for (i = 0; i < t->ngrowth && r == 0; i++) {
		t->types[i].g = &t->growth[i];
		r = lm_store_series(st, in->id, t->growth[i].kind, t->growth[i].name, 0,
				    &t->types[i].pts, &t->types[i].npts, err);
	}
	if (r == 0)
		load_alerts(st, t);
	return r;
}

/* The level of each type's firing leak alert (leakmond's leak_alerts), so
 * the table can mark what is alerted on. A database without alerts (an
 * older schema) leaves every mark empty. */
static void load_alerts(struct lm_store *st, struct trend *t)
{
	sqlite3_stmt *q;
	size_t i;

	if (sqlite3_prepare_v2(lm_store_db(st), "SELECT level FROM leak_alerts WHERE "
			       "instance_id = ? AND kind = ? AND name = ? AND state = 'firing'",
			       -1, &q, NULL) != SQLITE_OK)
		return;
	for (i = 0; i < t->ngrowth; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, t->in->id);
		sqlite3_bind_text(q, 2, t->growth[i].kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, t->growth[i].name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
			snprintf(t->types[i].alert, sizeof(t->types[i].alert), "%s",
				 (const char *)sqlite3_column_text(q, 0));
	}
	sqlite3_finalize(q);
}

/* ---- output --------------------------------------------------------------- */

static void print_trend(const struct trend *t)
{
	char started[32], last[32], cur[32], rate[32], label[1024], spark[SPARK_WIDTH * 4 + 1];
	size_t i;

	fmt_time(t->in->started_at_us, started, sizeof(started));
	fmt_time(t->in->last_taken_at_us, last, sizeof(last));
	printf("%s  pid %d  %s  started %s  %zu census%s, last %s\n", t->in->target,
	       (int)t->in->pid, instance_state(t->in), started,
	       t->nheap, t->nheap == 1 ? "" : "es", last);
	if (!t->nheap) {
		printf("  no successful census yet\n\n");
		return;
	}
	printf("  %12s  %10s  %10s  %-*s  %s\n", "rate", "bytes", "count", SPARK_WIDTH,
	       "history", "type");
	fmt_rate(t->heap_per_hour, rate, sizeof(rate));
	lm_format_bytes(last_bytes(t->heap, t->nheap), cur, sizeof(cur));
	sparkline(t->heap, t->nheap, SPARK_WIDTH, spark, sizeof(spark));
	printf("  %12s  %10s  %10llu  %s  %s\n", rate, cur,
	       (unsigned long long)last_count(t->heap, t->nheap), spark, "(heap in use)");
	for (i = 0; i < t->ngrowth; i++) {
		const struct trend_type *ty = &t->types[i];

		fmt_rate(ty->g->bytes_per_hour, rate, sizeof(rate));
		lm_format_bytes(last_bytes(ty->pts, ty->npts), cur, sizeof(cur));
		sparkline(ty->pts, ty->npts, SPARK_WIDTH, spark, sizeof(spark));
		type_label(ty->g, label, sizeof(label));
		printf("  %12s  %10s  %10llu  %s  %s%s%s%s\n", rate, cur,
		       (unsigned long long)last_count(ty->pts, ty->npts), spark, label,
		       ty->alert[0] ? "  [alert: " : "", ty->alert, ty->alert[0] ? "]" : "");
	}
	putchar('\n');
}

static json_t *series_json(const struct lm_store_point *p, size_t n)
{
	json_t *a = json_array();
	char ts[32];
	size_t i;

	for (i = 0; a && i < n; i++) {
		fmt_time(p[i].taken_at_us, ts, sizeof(ts));
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "taken_at", ts,
						   "count", (json_int_t)p[i].count,
						   "bytes", (json_int_t)p[i].bytes));
	}
	return a;
}

static json_t *trend_json(const struct trend *t)
{
	const char *state = instance_state(t->in);
	json_t *o, *types;
	char ts[32];
	size_t i;

	o = json_pack("{s:s, s:i, s:I, s:b, s:s, s:I}", "target", t->in->target,
		      "pid", (int)t->in->pid, "instance_id", (json_int_t)t->in->id,
		      "live", !strcmp(state, "live"), "state", state,
		      "censuses", (json_int_t)t->nheap);
	if (!o)
		return NULL;
	json_object_set_new(o, "exe", lm_json_name(t->in->exe));
	fmt_time(t->in->started_at_us, ts, sizeof(ts));
	json_object_set_new(o, "started_at", json_string(ts));
	fmt_time(t->in->ended_at_us, ts, sizeof(ts));
	json_object_set_new(o, "ended_at", t->in->ended_at_us ? json_string(ts) : json_null());
	json_object_set_new(o, "heap", json_pack("{s:I, s:I, s:f, s:o}",
		"bytes", (json_int_t)last_bytes(t->heap, t->nheap),
		"count", (json_int_t)last_count(t->heap, t->nheap),
		"bytes_per_hour", t->heap_per_hour,
		"series", series_json(t->heap, t->nheap)));
	types = json_array();
	for (i = 0; types && i < t->ngrowth; i++) {
		const struct trend_type *ty = &t->types[i];

		json_array_append_new(types, json_pack(
			"{s:s, s:o, s:I, s:I, s:I, s:I, s:f, s:f, s:o}",
			"kind", ty->g->kind, "name", lm_json_name(ty->g->name),
			"samples", (json_int_t)ty->g->samples,
			"bytes", (json_int_t)last_bytes(ty->pts, ty->npts),
			"count", (json_int_t)last_count(ty->pts, ty->npts),
			"first_bytes", (json_int_t)ty->g->first_bytes,
			"bytes_per_hour", ty->g->bytes_per_hour,
			"count_per_hour", ty->g->count_per_hour,
			"series", series_json(ty->pts, ty->npts)));
	}
	for (i = 0; types && i < t->ngrowth; i++)
		json_object_set_new(json_array_get(types, i), "alert", t->types[i].alert[0] ?
				    json_string(t->types[i].alert) : json_null());
	json_object_set_new(o, "types", types);
	return o;
}

/* ---- the command ------------------------------------------------------------ */

struct trends_opts {
	const char *db;
	const char *target;
	size_t limit;
	int json;
};

/* 0: go on; 1: --help was printed; -LM_EINVAL: a usage error (printed). */
static int parse_args(int argc, char **argv, struct trends_opts *o)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "target", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	long v;
	int c;

	o->db = LM_STORE_DEFAULT_PATH;
	o->target = NULL;
	o->limit = DEFAULT_LIMIT;
	o->json = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->db = optarg; break;
		case 't': o->target = optarg; break;
		case 'j': o->json = 1; break;
		case 'n':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0) {
				lm_cli_usage_error("trends", "--limit wants a number >= 0, not '%s'", optarg);
				return -LM_EINVAL;
			}
			o->limit = (size_t)v;
			break;
		case 'h':
			trends_usage(stdout);
			return 1;
		default:
			lm_cli_usage_error("trends", "unknown option");
			return -LM_EINVAL;
		}
	}
	if (optind < argc) {
		lm_cli_usage_error("trends", "unexpected argument '%s'", argv[optind]);
		return -LM_EINVAL;
	}
	return 0;
}

static int open_db(const char *path, struct lm_store **st)
{
	struct lm_err err = { 0 };
	int r = lm_store_open(path, LM_STORE_READONLY, st, &err);

	if (r == 0)
		return 0;
	if (-r == LM_ENOTFOUND) {
		fprintf(stderr, "leakmon trends: %s. leakmond writes its history to the "
			"file named by 'database =' in /etc/leakmon/leakmond.conf (default "
			"%s); pass --db FILE to read another one.\n", err.msg,
			LM_STORE_DEFAULT_PATH);
		return LM_EXIT_IO;
	}
	lm_cli_error(&err);
	return lm_exit_code(r);	/* LM_EDB: LM_EXIT_FAILURE */
}

static int report(struct lm_store *st, const struct trends_opts *o,
		  struct lm_store_instance *in, size_t n)
{
	struct lm_err err = { 0 };
	json_t *root = NULL, *arr = NULL;
	struct trend t;
	size_t i;
	int r = 0;

	if (o->json) {
		root = json_pack("{s:s}", "database", o->db);
		arr = json_array();
		if (!root || !arr)
			return LM_EXIT_FAILURE;
		json_object_set_new(root, "instances", arr);
	}
	for (i = 0; i < n && r == 0; i++) {
		r = trend_load(st, &in[i], o->limit, &t, &err);
		if (r == 0 && o->json)
			json_array_append_new(arr, trend_json(&t));
		else if (r == 0)
			print_trend(&t);
		trend_free(&t);
	}
	if (r < 0) {
		json_decref(root);
		lm_cli_error(&err);
		return LM_EXIT_FAILURE;
	}
	if (o->json) {
		json_dumpf(root, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(root);
	}
	return fflush(stdout) == 0 ? LM_EXIT_OK : LM_EXIT_IO;
}

int cmd_trends(int argc, char **argv)
{
	struct lm_err err = { 0 };
	struct trends_opts o;
	struct lm_store_instance *in = NULL;
	struct lm_store *st;
	size_t n = 0;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? lm_exit_code(rc) : LM_EXIT_OK;
	rc = open_db(o.db, &st);
	if (rc)
		return rc;
	if (lm_store_latest_instances(st, o.target, &in, &n, &err) < 0) {
		lm_cli_error(&err);
		lm_store_close(st);
		return LM_EXIT_FAILURE;
	}
	if (n == 0 && o.target) {
		fprintf(stderr, "leakmon trends: no target named '%s' in %s (leakmon "
			"trends without --target lists them all)\n", o.target, o.db);
		rc = LM_EXIT_NOTFOUND;
	} else if (n == 0 && !o.json) {
		printf("No process recorded in %s yet: leakmond has not found a target.\n", o.db);
		rc = LM_EXIT_OK;
	} else {
		rc = report(st, &o, in, n);
	}
	lm_store_instances_free(in, n);
	lm_store_close(st);
	return rc;
}
