/* SPDX-License-Identifier: MIT */
/*
 * alert.c - from an instance's history to leak alerts and queued webhook
 * deliveries (see alert.h for the rules).
 *
 * How it works: lm_alert_evaluate() reads, in one IMMEDIATE transaction,
 * the successful snapshots of the window and every type's points in them
 * (a snapshot without the type counts as 0), judges each series with
 * lm_alert_judge(), advances each (kind, name)'s lifecycle with
 * lm_alert_step(), and writes the changes: leak_alerts rows (each in its
 * process's incident), alert_events rows, and then, through lib/incident,
 * at most one notification of the incident per configured webhook. The
 * verdicts themselves (judge, step, eta) are pure functions in verdict.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "alert.h"
#include "census_json.h"
#include "cgroup.h"
#include "conf.h"
#include "incident.h"
#include "outbox.h"
#include "store.h"
#include "units.h"

#define US_PER_S 1000000.0
#define MAX_SNAPSHOTS 4096	/* newest snapshots of the window read at most */

/* ---- settings ----------------------------------------------------------- */

void lm_alert_settings_default(struct lm_alert_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->warmup_us = (int64_t)LM_CONF_DEFAULT_WARMUP_MS * 1000;
	s->window_us = (int64_t)LM_CONF_DEFAULT_WINDOW_MS * 1000;
	s->min_samples = LM_CONF_DEFAULT_MIN_SAMPLES;
	s->min_rate = (double)LM_CONF_DEFAULT_MIN_RATE;
	s->alert_horizon_us = (int64_t)LM_CONF_DEFAULT_ALERT_HORIZON_MS * 1000;
	s->urgent_horizon_us = (int64_t)LM_CONF_DEFAULT_URGENT_HORIZON_MS * 1000;
	s->resolve_after_us = (int64_t)LM_CONF_DEFAULT_RESOLVE_AFTER_MS * 1000;
	s->holders = LM_CONF_DEFAULT_HOLDERS;
	s->alpha = 0.001;
}

void lm_alert_settings_from_conf(const struct lm_conf_target *t,
				 struct lm_alert_settings *s)
{
	lm_alert_settings_default(s);
	s->warmup_us = (int64_t)t->detect.warmup_ms * 1000;
	s->window_us = (int64_t)t->detect.window_ms * 1000;
	s->min_samples = t->detect.min_samples;
	s->min_rate = (double)t->detect.min_rate;
	s->alert_horizon_us = (int64_t)t->detect.alert_horizon_ms * 1000;
	s->urgent_horizon_us = (int64_t)t->detect.urgent_horizon_ms * 1000;
	s->resolve_after_us = (int64_t)t->detect.resolve_after_ms * 1000;
	s->memory_limit = t->memory_limit;
	s->holders = t->detect.holders;
}

/* ---- the stored part ---------------------------------------------------- */

struct instance_info {
	char *target;
	char *exe;
	pid_t pid;
	int64_t started_at_us;
	int64_t ended_at_us;	/* 0 while live */
};

struct snap_row {
	int64_t id;
	int64_t taken_at_us;
	double inuse_bytes;
	double rss_bytes;
	double owned_bytes;	/* 0 when not recorded */
};

/* One series: a type of the instance, or the heap total, or RSS. */
struct series {
	char kind[16];
	char *name;
	double *bytes;		/* one per snapshot */
	double *count;
};

/* When an alert on (kind, name) last resolved. */
struct resolved {
	char kind[16];
	char *name;
	int64_t at_us;
};

struct open_alert {
	int64_t row;
	char alert_id[37];
	char kind[16];
	char *name;
	struct lm_alert_track track;
	int seen;		/* matched a series this evaluation */
};

/* Everything one evaluation holds. */
struct eval {
	sqlite3 *db;
	const struct lm_alert_settings *s;
	int64_t instance_id;
	int64_t now_us;
	int64_t since_us;
	const char *const *webhooks;
	size_t nwebhooks;
	char host[256];
	struct instance_info inst;
	struct snap_row *snaps;
	size_t nsnaps;
	double *t;		/* seconds since since_us, per snapshot */
	struct series *series;
	size_t nseries;
	struct open_alert *open;
	size_t nopen;
	struct resolved *resolved;	/* sorted by kind, name */
	size_t nresolved;
	struct lm_alert_eta eta;
	double rss_now, owned_now;
	int have_owned;		/* every snapshot of the window has owned_bytes */
	/* The process's incident: the open one (lead's alert_id), or the one
	 * an alert opened in this evaluation; what changed in it. */
	char incident[37];
	int incident_was_open, incident_level_before;
	const char *resolve_reason;
	struct lm_alert_summary sum;
	struct lm_err *err;
};

static int db_fail(struct eval *e, const char *what)
{
	return lm_err_set(e->err, LM_EDB, "alerts of instance %lld: %s: %s",
			  (long long)e->instance_id, what, sqlite3_errmsg(e->db));
}

static char *col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? strdup((const char *)s) : NULL;
}

static int prepare(struct eval *e, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(e->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_fail(e, "cannot prepare a statement");
	return 0;
}

static int load_instance(struct eval *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(e, "SELECT t.name, i.exe, i.pid, i.started_at_us, i.ended_at_us "
			     "FROM instances i JOIN targets t ON t.id = i.target_id "
			     "WHERE i.id = ?", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, e->instance_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		e->inst.target = col_strdup(st, 0);
		e->inst.exe = col_strdup(st, 1);
		e->inst.pid = (pid_t)sqlite3_column_int64(st, 2);
		e->inst.started_at_us = sqlite3_column_int64(st, 3);
		e->inst.ended_at_us = sqlite3_column_int64(st, 4);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = lm_err_set(e->err, LM_ENOTFOUND, "alerts: no instance %lld in the database",
				(long long)e->instance_id);
	} else {
		rc = db_fail(e, "reading the instance");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The window's successful snapshots, oldest first (the newest
 * MAX_SNAPSHOTS of them at most). */
static int load_snapshots(struct eval *e)
{
	sqlite3_stmt *st;
	size_t cap = 64, i;
	int rc;

	if ((rc = prepare(e, "SELECT id, taken_at_us, inuse_bytes, rss_bytes, owned_bytes FROM snapshots "
			     "WHERE instance_id = ?1 AND status IN ('ok', 'partial') "
			     "AND taken_at_us >= ?2 AND taken_at_us <= ?3 "
			     "ORDER BY taken_at_us DESC, id DESC LIMIT ?4", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, e->instance_id);
	sqlite3_bind_int64(st, 2, e->since_us);
	sqlite3_bind_int64(st, 3, e->now_us);
	sqlite3_bind_int(st, 4, MAX_SNAPSHOTS);
	e->snaps = malloc(cap * sizeof(*e->snaps));
	if (!e->snaps)
		goto nomem;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct snap_row *r;
		if (e->nsnaps == cap) {
			void *p = realloc(e->snaps, 2 * cap * sizeof(*e->snaps));
			if (!p)
				goto nomem;
			e->snaps = p;
			cap *= 2;
		}
		r = &e->snaps[e->nsnaps++];
		r->id = sqlite3_column_int64(st, 0);
		r->taken_at_us = sqlite3_column_int64(st, 1);
		r->inuse_bytes = sqlite3_column_double(st, 2);
		r->rss_bytes = sqlite3_column_double(st, 3);
		r->owned_bytes = sqlite3_column_double(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(e, "reading snapshots");
	/* Oldest first. */
	for (i = 0; i < e->nsnaps / 2; i++) {
		struct snap_row tmp = e->snaps[i];
		e->snaps[i] = e->snaps[e->nsnaps - 1 - i];
		e->snaps[e->nsnaps - 1 - i] = tmp;
	}
	e->t = malloc((e->nsnaps + 1) * sizeof(*e->t));
	if (!e->t)
		return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory");
	for (i = 0; i < e->nsnaps; i++)
		e->t[i] = (double)(e->snaps[i].taken_at_us - e->since_us) / US_PER_S;
	return 0;
nomem:
	sqlite3_finalize(st);
	return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory reading snapshots");
}

static struct series *add_series(struct eval *e, const char *kind, const char *name)
{
	struct series *s;
	void *p = realloc(e->series, (e->nseries + 1) * sizeof(*e->series));

	if (!p)
		return NULL;
	e->series = p;
	s = &e->series[e->nseries];
	memset(s, 0, sizeof(*s));
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	s->name = strdup(name);
	s->bytes = calloc(e->nsnaps + 1, sizeof(double));
	s->count = calloc(e->nsnaps + 1, sizeof(double));
	if (!s->name || !s->bytes || !s->count) {
		free(s->name);
		free(s->bytes);
		free(s->count);
		return NULL;
	}
	e->nseries++;
	return s;
}

/* Index of snapshot id among e->snaps (ids are not assumed sorted). */
static ptrdiff_t snap_index(const struct eval *e, int64_t id, size_t hint)
{
	size_t i;

	if (hint < e->nsnaps && e->snaps[hint].id == id)
		return (ptrdiff_t)hint;
	for (i = 0; i < e->nsnaps; i++)
		if (e->snaps[i].id == id)
			return (ptrdiff_t)i;
	return -1;
}

/* Every type's points, grouped by type, in time order. */
static int load_types(struct eval *e)
{
	sqlite3_stmt *st;
	int64_t cur_type = -1;
	struct series *cur = NULL;
	size_t hint = 0;
	int rc;

	if (!e->nsnaps)
		return 0;
	if ((rc = prepare(e, "SELECT st.type_id, ty.kind, ty.name, s.id, st.count, st.bytes "
			     "FROM snapshots s JOIN snapshot_types st ON st.snapshot_id = s.id "
			     "JOIN types ty ON ty.id = st.type_id "
			     "WHERE s.instance_id = ?1 AND s.status IN ('ok', 'partial') "
			     "AND s.taken_at_us >= ?2 AND s.taken_at_us <= ?3 "
			     "ORDER BY st.type_id, s.taken_at_us, s.id", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, e->instance_id);
	sqlite3_bind_int64(st, 2, e->snaps[0].taken_at_us);
	sqlite3_bind_int64(st, 3, e->snaps[e->nsnaps - 1].taken_at_us);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t type = sqlite3_column_int64(st, 0);
		ptrdiff_t k;
		if (type != cur_type) {
			const char *kind = (const char *)sqlite3_column_text(st, 1);
			const char *name = (const char *)sqlite3_column_text(st, 2);
			cur = add_series(e, kind ? kind : "?", name ? name : "?");
			if (!cur) {
				sqlite3_finalize(st);
				return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory for type series");
			}
			cur_type = type;
			hint = 0;
		}
		k = snap_index(e, sqlite3_column_int64(st, 3), hint);
		if (k < 0)
			continue;
		cur->count[k] = sqlite3_column_double(st, 4);
		cur->bytes[k] = sqlite3_column_double(st, 5);
		hint = (size_t)k + 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(e, "reading type counts");
	return 0;
}

static int load_open_alerts(struct eval *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(e, "SELECT id, alert_id, kind, name, level, opened_at_us, "
			     "quiet_since_us, incident_id FROM leak_alerts "
			     "WHERE instance_id = ? AND state = 'firing' ORDER BY id", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, e->instance_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct open_alert *a;
		void *p = realloc(e->open, (e->nopen + 1) * sizeof(*e->open));
		if (!p) {
			sqlite3_finalize(st);
			return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory");
		}
		e->open = p;
		a = &e->open[e->nopen++];
		memset(a, 0, sizeof(*a));
		a->row = sqlite3_column_int64(st, 0);
		snprintf(a->alert_id, sizeof(a->alert_id), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		snprintf(a->kind, sizeof(a->kind), "%s", (const char *)sqlite3_column_text(st, 2));
		a->name = col_strdup(st, 3);
		a->track.open = 1;
		a->track.level = lm_alert_level_from_name((const char *)sqlite3_column_text(st, 4));
		a->track.opened_at_us = sqlite3_column_int64(st, 5);
		a->track.quiet_since_us = sqlite3_column_int64(st, 6);
		/* Alerts open together share one incident; the oldest names it
		 * should an older database have left them apart. */
		if (!e->incident[0]) {
			const char *inc = (const char *)sqlite3_column_text(st, 7);
			snprintf(e->incident, sizeof(e->incident), "%s", inc ? inc : a->alert_id);
			e->incident_was_open = 1;
		}
		if (a->track.level > e->incident_level_before)
			e->incident_level_before = a->track.level;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(e, "reading open alerts");
	return 0;
}

static struct open_alert *find_open(struct eval *e, const char *kind, const char *name)
{
	size_t i;

	for (i = 0; i < e->nopen; i++)
		if (!strcmp(e->open[i].kind, kind) && e->open[i].name &&
		    !strcmp(e->open[i].name, name))
			return &e->open[i];
	return NULL;
}

/* The memory limit of the instance: configured, cgroup, MemTotal. */
static double memory_limit(const struct eval *e)
{
	uint64_t limit = 0, usage = 0;

	if (e->s->memory_limit)
		return (double)e->s->memory_limit;
	if (!e->inst.ended_at_us &&
	    lm_cgroup_memory(e->inst.pid, &limit, &usage, NULL) == 0 &&
	    limit && limit != UINT64_MAX)
		return (double)limit;
	limit = lm_mem_total();
	return limit ? (double)limit : INFINITY;
}

/*
 * Time to limit of the whole process: the faster-growing of its memory and
 * heap in-use (by the lower slope bound: growth it surely has), against the
 * distance from its memory's level to the limit. Its memory is what it owns
 * (RssAnon + VmSwap), or RSS for snapshots stored before that was recorded.
 */
static int process_eta(struct eval *e)
{
	double *rss = malloc((e->nsnaps + 1) * sizeof(double));
	double *heap = malloc((e->nsnaps + 1) * sizeof(double));
	struct lm_trend_opts o = { 0 };
	struct lm_trend tr_rss, tr_heap, best;
	size_t i, have_rss = 0, have_owned = 0;
	int rc;

	if (!rss || !heap) {
		free(rss);
		free(heap);
		return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory");
	}
	for (i = 0; i < e->nsnaps; i++)
		have_owned += e->snaps[i].owned_bytes > 0;
	e->have_owned = e->nsnaps && have_owned == e->nsnaps;
	for (i = 0; i < e->nsnaps; i++) {
		rss[i] = e->have_owned ? e->snaps[i].owned_bytes : e->snaps[i].rss_bytes;
		heap[i] = e->snaps[i].inuse_bytes;
		have_rss += rss[i] > 0;
	}
	e->rss_now = e->nsnaps ? e->snaps[e->nsnaps - 1].rss_bytes : 0;
	e->owned_now = e->nsnaps ? e->snaps[e->nsnaps - 1].owned_bytes : 0;
	o.min_samples = e->s->min_samples;
	o.alpha = e->s->alpha > 0 ? e->s->alpha : 0.001;
	rc = lm_trend_fit(e->t, heap, e->nsnaps, &o, &tr_heap, e->err);
	if (!rc && have_rss == e->nsnaps)
		rc = lm_trend_fit(e->t, rss, e->nsnaps, &o, &tr_rss, e->err);
	else
		tr_rss = tr_heap;
	free(rss);
	free(heap);
	if (rc)
		return rc;
	best = tr_rss;
	if ((tr_heap.verdict == LM_TREND_GROWING || tr_heap.verdict == LM_TREND_SLOW) &&
	    (!(best.verdict == LM_TREND_GROWING || best.verdict == LM_TREND_SLOW) ||
	     tr_heap.slope_lo > best.slope_lo)) {
		best.verdict = tr_heap.verdict;
		best.slope = tr_heap.slope;
		best.slope_lo = tr_heap.slope_lo;
		best.slope_hi = tr_heap.slope_hi;
	}
	lm_alert_eta(&best, memory_limit(e), &e->eta);
	return 0;
}

/* What an alert's row says about one series at this evaluation. */
struct finding {
	const struct series *ser;
	struct lm_trend tr;
	double count_per_hour;
	double last_bytes, last_count;
};

static int add_event(struct eval *e, int64_t row, const char *event, int level,
		     const struct finding *f)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(e, "INSERT INTO alert_events (alert, at_us, event, level, "
			     "bytes_per_hour, eta_seconds) VALUES (?, ?, ?, ?, ?, ?)", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_int64(st, 2, e->now_us);
	sqlite3_bind_text(st, 3, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, lm_alert_level_name(level), -1, SQLITE_STATIC);
	if (f)
		sqlite3_bind_double(st, 5, f->tr.slope * 3600);
	if (isfinite(e->eta.eta_s))
		sqlite3_bind_double(st, 6, e->eta.eta_s);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(e, "recording an alert event");
	sqlite3_finalize(st);
	return rc;
}

/* Bind the statistics columns shared by INSERT and UPDATE (?10..?22). */
static void bind_stats(struct eval *e, sqlite3_stmt *st, const struct finding *f)
{
	sqlite3_bind_int64(st, 10, e->now_us);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)f->tr.n);
	sqlite3_bind_int64(st, 12, e->since_us);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)f->last_count);
	sqlite3_bind_int64(st, 14, (sqlite3_int64)f->last_bytes);
	sqlite3_bind_double(st, 15, f->tr.slope * 3600);
	sqlite3_bind_double(st, 16, f->tr.slope_hi * 3600);
	sqlite3_bind_double(st, 17, f->count_per_hour);
	sqlite3_bind_double(st, 18, 1 - f->tr.p);
	sqlite3_bind_int64(st, 19, (sqlite3_int64)e->rss_now);
	if (isfinite(e->eta.limit))
		sqlite3_bind_int64(st, 20, (sqlite3_int64)e->eta.limit);
	if (isfinite(e->eta.eta_s))
		sqlite3_bind_double(st, 21, e->eta.eta_s);
	if (isfinite(e->eta.eta_pess_s))
		sqlite3_bind_double(st, 22, e->eta.eta_pess_s);
}

static int open_alert(struct eval *e, const struct finding *f, int level)
{
	char id[37];
	sqlite3_stmt *st;
	int64_t row;
	int rc;

	lm_outbox_new_id(id);
	if (!e->incident[0])	/* none open: this alert leads a new one */
		snprintf(e->incident, sizeof(e->incident), "%s", id);
	if ((rc = prepare(e, "INSERT INTO leak_alerts (alert_id, instance_id, kind, name, "
			     "level, state, opened_at_us, updated_at_us, samples, window_start_us, "
			     "count, bytes, bytes_per_hour, bytes_per_hour_hi, count_per_hour, "
			     "confidence, rss_bytes, limit_bytes, eta_seconds, eta_seconds_pessimistic, "
			     "incident_id) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, 'firing', ?10, ?10, ?11, ?12, ?13, ?14, ?15, "
			     "?16, ?17, ?18, ?19, ?20, ?21, ?22, ?6)", &st)))
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, e->instance_id);
	sqlite3_bind_text(st, 3, f->ser->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, f->ser->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, lm_alert_level_name(level), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->incident, -1, SQLITE_STATIC);
	bind_stats(e, st, f);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(e, "opening an alert");
	sqlite3_finalize(st);
	if (rc)
		return rc;
	row = sqlite3_last_insert_rowid(e->db);
	if ((rc = add_event(e, row, "opened", level, f)))
		return rc;
	e->sum.opened++;
	return 0;
}

/* Refresh an open alert's figures (and level, quiet time). */
static int update_alert(struct eval *e, const struct open_alert *a, const struct finding *f)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(e, "UPDATE leak_alerts SET level = ?2, quiet_since_us = ?3, "
			     "updated_at_us = ?10, samples = ?11, window_start_us = ?12, "
			     "count = ?13, bytes = ?14, bytes_per_hour = ?15, bytes_per_hour_hi = ?16, "
			     "count_per_hour = ?17, confidence = ?18, rss_bytes = ?19, "
			     "limit_bytes = ?20, eta_seconds = ?21, eta_seconds_pessimistic = ?22 "
			     "WHERE id = ?1", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, a->row);
	sqlite3_bind_text(st, 2, lm_alert_level_name(a->track.level), -1, SQLITE_STATIC);
	if (a->track.quiet_since_us)
		sqlite3_bind_int64(st, 3, a->track.quiet_since_us);
	bind_stats(e, st, f);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(e, "updating an alert");
	sqlite3_finalize(st);
	return rc;
}

static int resolve_alert(struct eval *e, const struct open_alert *a,
			 const struct finding *f, const char *reason)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(e, "UPDATE leak_alerts SET state = 'resolved', resolved_at_us = ?2, "
			     "resolve_reason = ?3, updated_at_us = ?2 WHERE id = ?1", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, a->row);
	sqlite3_bind_int64(st, 2, e->now_us);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(e, "resolving an alert");
	sqlite3_finalize(st);
	if (rc || (rc = add_event(e, a->row, "resolved", a->track.level, f)))
		return rc;
	e->resolve_reason = reason;
	e->sum.resolved++;
	return 0;
}

/* A finding for an alert whose type has no series now (vanished). */
static void empty_finding(struct finding *f, struct series *tmp, const struct open_alert *a)
{
	memset(f, 0, sizeof(*f));
	memset(tmp, 0, sizeof(*tmp));
	snprintf(tmp->kind, sizeof(tmp->kind), "%s", a->kind);
	tmp->name = a->name;
	f->ser = tmp;
	f->tr.p = 1;
}

static int cmp_resolved(const void *a, const void *b)
{
	const struct resolved *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);
	return c ? c : strcmp(x->name, y->name);
}

/* When each of the instance's types last had an alert resolved. */
static int load_resolved(struct eval *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(e, "SELECT kind, name, max(resolved_at_us) FROM leak_alerts "
			     "WHERE instance_id = ? AND state = 'resolved' "
			     "AND resolved_at_us IS NOT NULL GROUP BY kind, name", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, e->instance_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct resolved *r;
		void *p = realloc(e->resolved, (e->nresolved + 1) * sizeof(*e->resolved));
		if (!p) {
			sqlite3_finalize(st);
			return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory");
		}
		e->resolved = p;
		r = &e->resolved[e->nresolved];
		snprintf(r->kind, sizeof(r->kind), "%s", (const char *)sqlite3_column_text(st, 0));
		r->name = col_strdup(st, 1);
		r->at_us = sqlite3_column_int64(st, 2);
		if (!r->name) {
			sqlite3_finalize(st);
			return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory");
		}
		e->nresolved++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(e, "reading resolved alerts");
	if (e->nresolved > 1)
		qsort(e->resolved, e->nresolved, sizeof(*e->resolved), cmp_resolved);
	return 0;
}

/* The first snapshot an opening judgement of ser may use: after the last
 * resolution of an alert on it, so that the growth which opened that alert
 * cannot open another; 0 when none resolved. */
static size_t evidence_start(const struct eval *e, const struct series *ser)
{
	struct resolved key, *r;
	size_t i;

	if (!e->nresolved)
		return 0;
	snprintf(key.kind, sizeof(key.kind), "%s", ser->kind);
	key.name = ser->name;
	r = bsearch(&key, e->resolved, e->nresolved, sizeof(*e->resolved), cmp_resolved);
	if (!r)
		return 0;
	for (i = 0; i < e->nsnaps && e->snaps[i].taken_at_us <= r->at_us; i++)
		;
	return i;
}

static int judge_series(struct eval *e, struct series *ser)
{
	struct open_alert *a = find_open(e, ser->kind, ser->name);
	struct finding f;
	struct lm_alert_track track = { 0 };
	int growing, level, change, rc;
	/* Opening again after a resolution: only what came after it. */
	size_t from = a ? 0 : evidence_start(e, ser);

	memset(&f, 0, sizeof(f));
	f.ser = ser;
	rc = lm_alert_judge(e->s, e->t + from, ser->bytes + from, e->nsnaps - from, a != NULL,
			    e->eta.eta_sure_s, &f.tr, &growing, &level, e->err);
	if (rc)
		return rc;
	e->sum.evaluated++;
	if (!a && !growing)
		return 0;
	/* Too few snapshots in the window (failing snapshots, a gap): no
	 * evidence either way, so an open alert neither resolves nor
	 * changes. */
	if (a && f.tr.verdict == LM_TREND_FEW) {
		a->seen = 1;
		return 0;
	}
	if (e->nsnaps) {
		f.last_bytes = ser->bytes[e->nsnaps - 1];
		f.last_count = ser->count[e->nsnaps - 1];
	}
	{
		struct lm_trend ct;
		struct lm_trend_opts o = { 0 };
		o.min_samples = e->s->min_samples;
		if (lm_trend_fit(e->t, ser->count, e->nsnaps, &o, &ct, NULL) == 0)
			f.count_per_hour = ct.slope * 3600;
	}
	if (a) {
		a->seen = 1;
		change = lm_alert_step(&a->track, growing, level, e->now_us, e->s);
		if (change == LM_ALERT_RESOLVED)
			return resolve_alert(e, a, &f, "growth stopped");
		if ((rc = update_alert(e, a, &f)))
			return rc;
		if (change == LM_ALERT_ESCALATED) {
			if ((rc = add_event(e, a->row, "escalated", a->track.level, &f)))
				return rc;
			e->sum.escalated++;
		}
		return rc;
	}
	change = lm_alert_step(&track, growing, level, e->now_us, e->s);
	if (change == LM_ALERT_OPENED)
		return open_alert(e, &f, track.level);
	return 0;
}

/* Alerts whose type no longer appears in the window: no growth seen. */
static int judge_vanished(struct eval *e)
{
	size_t i;
	int rc;

	for (i = 0; i < e->nopen; i++) {
		struct open_alert *a = &e->open[i];
		struct finding f;
		struct series tmp;
		if (a->seen || e->nsnaps < e->s->min_samples)
			continue;
		empty_finding(&f, &tmp, a);
		if (lm_alert_step(&a->track, 0, LM_ALERT_NONE, e->now_us, e->s) ==
		    LM_ALERT_RESOLVED)
			rc = resolve_alert(e, a, &f, "growth stopped");
		else
			rc = update_alert(e, a, &f);
		if (rc)
			return rc;
	}
	return 0;
}

static int resolve_all(struct eval *e, const char *reason)
{
	size_t i;
	int rc;

	for (i = 0; i < e->nopen; i++) {
		struct finding f;
		struct series tmp;
		empty_finding(&f, &tmp, &e->open[i]);
		if ((rc = resolve_alert(e, &e->open[i], &f, reason)))
			return rc;
	}
	return 0;
}

static void eval_free(struct eval *e)
{
	size_t i;

	free(e->inst.target);
	free(e->inst.exe);
	free(e->snaps);
	free(e->t);
	for (i = 0; i < e->nseries; i++) {
		free(e->series[i].name);
		free(e->series[i].bytes);
		free(e->series[i].count);
	}
	free(e->series);
	for (i = 0; i < e->nopen; i++)
		free(e->open[i].name);
	free(e->open);
	for (i = 0; i < e->nresolved; i++)
		free(e->resolved[i].name);
	free(e->resolved);
}

/* The pseudo types of the whole process: the heap, and the memory it owns
 * when every snapshot of the window recorded it (process_eta first). */
static int add_process_series(struct eval *e)
{
	struct series *heap = add_series(e, LM_ALERT_KIND_PROCESS, "heap");
	struct series *mem;
	size_t i;

	if (!heap)
		return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory");
	for (i = 0; i < e->nsnaps; i++)
		heap->bytes[i] = e->snaps[i].inuse_bytes;
	if (!e->have_owned)
		return 0;
	mem = add_series(e, LM_ALERT_KIND_PROCESS, "memory");
	if (!mem)
		return lm_err_set(e->err, LM_ENOMEM, "alerts: out of memory");
	for (i = 0; i < e->nsnaps; i++)
		mem->bytes[i] = e->snaps[i].owned_bytes;
	return 0;
}

/* The incident's notification, once every alert change is stored. */
static int notify_incident(struct eval *e)
{
	struct lm_incident_ctx c;

	memset(&c, 0, sizeof(c));
	c.db = e->db;
	c.instance_id = e->instance_id;
	c.incident_id = e->incident;
	c.host = e->host;
	c.target = e->inst.target;
	c.exe = e->inst.exe;
	c.pid = e->inst.pid;
	c.since_us = e->since_us;
	c.now_us = e->now_us;
	c.rss_now = e->rss_now;
	c.owned_now = e->owned_now;
	c.eta = &e->eta;
	c.webhooks = e->webhooks;
	c.nwebhooks = e->nwebhooks;
	c.holders = e->s->holders;
	c.was_open = e->incident_was_open;
	c.level_before = e->incident_level_before;
	c.resolve_reason = e->resolve_reason;
	return lm_incident_notify(&c, &e->sum, e->err);
}

static int judge_all(struct eval *e)
{
	size_t i;
	int rc;

	if (e->inst.ended_at_us)
		return resolve_all(e, "instance ended");
	e->since_us = lm_alert_window_start(e->s, e->inst.started_at_us, e->now_us);
	if ((rc = load_snapshots(e)) || (rc = load_types(e)) || (rc = load_resolved(e)) ||
	    (rc = process_eta(e)) || (rc = add_process_series(e)))
		return rc;
	for (i = 0; i < e->nseries; i++)
		if ((rc = judge_series(e, &e->series[i])))
			return rc;
	return judge_vanished(e);
}

static int evaluate_locked(struct eval *e)
{
	int rc;

	if ((rc = load_instance(e)) || (rc = load_open_alerts(e)) || (rc = judge_all(e)))
		return rc;
	return notify_incident(e);
}

static void set_host(struct eval *e, const char *host)
{
	if (host)
		snprintf(e->host, sizeof(e->host), "%s", host);
	else if (gethostname(e->host, sizeof(e->host) - 1))
		snprintf(e->host, sizeof(e->host), "localhost");
	e->host[sizeof(e->host) - 1] = 0;
}

static int run_in_transaction(struct eval *e, int (*fn)(struct eval *))
{
	int rc;

	if (sqlite3_exec(e->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(e, "cannot begin a transaction");
	rc = fn(e);
	if (rc) {
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (sqlite3_exec(e->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(e, "cannot commit");
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

static unsigned count_open(struct eval *e)
{
	sqlite3_stmt *st;
	unsigned n = 0;

	if (sqlite3_prepare_v2(e->db, "SELECT count(*) FROM leak_alerts WHERE instance_id = ? "
			       "AND state = 'firing'", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, e->instance_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (unsigned)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int lm_alert_evaluate(struct lm_store *store, int64_t instance_id,
		      const struct lm_alert_settings *s,
		      const char *const *webhooks, size_t nwebhooks,
		      const char *host, int64_t now_us,
		      struct lm_alert_summary *sum, struct lm_err *err)
{
	struct eval e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.db = lm_store_db(store);
	e.s = s;
	e.instance_id = instance_id;
	e.now_us = now_us;
	e.webhooks = webhooks;
	e.nwebhooks = nwebhooks;
	e.err = err;
	e.eta.eta_s = e.eta.eta_pess_s = e.eta.limit = INFINITY;
	set_host(&e, host);
	rc = run_in_transaction(&e, evaluate_locked);
	e.sum.open = count_open(&e);
	if (sum)
		*sum = e.sum;
	eval_free(&e);
	return rc;
}

/* ---- instances that ended ---------------------------------------------- */

int lm_alert_resolve_ended(struct lm_store *store, lm_alert_webhooks_fn lookup,
			   void *ctx, const char *host, int64_t now_us,
			   struct lm_alert_summary *sum, struct lm_err *err)
{
	sqlite3 *db = lm_store_db(store);
	sqlite3_stmt *st;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc = 0;
	struct lm_alert_settings s;
	struct lm_alert_summary total = { 0 };

	lm_alert_settings_default(&s);
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT a.instance_id FROM leak_alerts a "
			       "JOIN instances i ON i.id = a.instance_id "
			       "WHERE a.state = 'firing' AND i.ended_at_us IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return lm_err_set(err, LM_EDB, "alerts: cannot look for ended instances: %s",
				  sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		void *p = realloc(ids, (n + 1) * sizeof(*ids));
		if (!p)
			break;
		ids = p;
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	for (i = 0; i < n && !rc; i++) {
		const char *const *names = NULL;
		size_t nn = 0;
		struct lm_alert_summary one;
		char target[LM_CONF_NAME_MAX + 1] = "";

		if (lookup) {
			sqlite3_stmt *q;
			if (sqlite3_prepare_v2(db, "SELECT t.name FROM instances i JOIN targets t "
					       "ON t.id = i.target_id WHERE i.id = ?", -1, &q,
					       NULL) == SQLITE_OK) {
				sqlite3_bind_int64(q, 1, ids[i]);
				if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
					snprintf(target, sizeof(target), "%s",
						 (const char *)sqlite3_column_text(q, 0));
				sqlite3_finalize(q);
			}
			nn = lookup(ctx, target, &names);
		}
		rc = lm_alert_evaluate(store, ids[i], &s, names, nn, host, now_us, &one, err);
		total.resolved += one.resolved;
		total.queued += one.queued;	/* resolved events need no holders */
	}
	free(ids);
	if (sum)
		*sum = total;
	return rc;
}
