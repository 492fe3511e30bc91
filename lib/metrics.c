/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - the Prometheus text exposition of the latest history
 * (metrics.h has the metric list and the rules for names from a target).
 *
 * Two steps: gather (SQL: each process's last census, the top types of
 * their sum per target, the firing alerts), then write family by family,
 * because the format wants every sample of a family together after its
 * HELP and TYPE lines.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "escape.h"
#include "metrics.h"
#include "store.h"

static const char *const result_names[LM_METRICS_NRESULTS] = {
	[LM_METRICS_OK] = LM_STORE_OK,
	[LM_METRICS_PARTIAL] = LM_STORE_PARTIAL,
	[LM_METRICS_FAILED] = LM_STORE_FAILED,
	[LM_METRICS_ABANDONED] = LM_STORE_ABANDONED,
};

int lm_metrics_result_index(const char *status)
{
	int i;

	for (i = 0; i < LM_METRICS_NRESULTS; i++)
		if (status && strcmp(status, result_names[i]) == 0)
			return i;
	return -1;
}

/* ---- text buffer ---- */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void __attribute__((format(printf, 2, 3))) bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 16384;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* ---- escaping ---- */

const char *lm_metrics_label_escape(const char *value, char *out, size_t cap)
{
	size_t o = 0;
	const char *s;

	if (!cap)
		return out;
	for (s = value ? value : ""; *s; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
		size_t need = rep ? 2 : 1;
		/* never cut inside a UTF-8 sequence: stop before a lead byte
		 * whose whole sequence would not fit */
		if ((unsigned char)*s >= 0xc0) {
			size_t seq = (unsigned char)*s >= 0xf0 ? 4 : (unsigned char)*s >= 0xe0 ? 3 : 2;
			if (o + seq >= cap)
				break;
		}
		if (o + need >= cap)
			break;
		if (rep)
			memcpy(out + o, rep, 2);
		else
			out[o] = *s;
		o += need;
	}
	out[o] = '\0';
	return out;
}

/* A name from a target as a label value, in a new string. */
static char *label_dup(const char *raw)
{
	char *esc = lm_escape_dup(raw), *out;
	size_t cap;

	if (!esc)
		return NULL;
	cap = 2 * strlen(esc) + 1;
	out = malloc(cap);
	if (out)
		lm_metrics_label_escape(esc, out, cap);
	free(esc);
	return out;
}

/* ---- gathered data ---- */

struct type_row {
	char kind[16];
	char *name;		/* label-escaped */
	uint64_t count, bytes;
	size_t order;		/* rank by bytes */
	int dup;		/* escapes like a bigger type: left out */
};

struct alert_row {
	char kind[16];
	char *name;		/* label-escaped */
	int level;		/* 1 info, 2 warning, 3 critical */
	double bytes_per_hour;
	double eta_s;
	int has_eta;
};

struct tdata {
	const struct lm_metrics_target *t;
	char *label;		/* the target name, label-escaped */
	char ids[4096];		/* JSON array of the census snapshot ids */
	char inst[4096];	/* JSON array of the instance ids */
	size_t ncensus;
	uint64_t inuse, free_bytes, rss, limit;
	int64_t last_us, pause_us, walk_us;
	struct type_row *types;
	size_t ntypes;
	struct alert_row *alerts;
	size_t nalerts;
};

static void tdata_free(struct tdata *td)
{
	size_t i;

	for (i = 0; i < td->ntypes; i++)
		free(td->types[i].name);
	for (i = 0; i < td->nalerts; i++)
		free(td->alerts[i].name);
	free(td->types);
	free(td->alerts);
	free(td->label);
}

static int db_error(struct lm_err *err, sqlite3 *db, const char *what)
{
	return lm_err_set(err, LM_EDB, "metrics: %s: %s", what, sqlite3_errmsg(db));
}

/* Append ",N" (or "N") to a JSON array under construction in a[cap]. */
static void json_add(char *a, size_t cap, int64_t v)
{
	size_t len = strlen(a);

	if (len + 24 < cap)
		snprintf(a + len, cap - len, "%s%lld", len ? "," : "", (long long)v);
}

static void json_close(char *a, size_t cap)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "[%s]", a);
	snprintf(a, cap, "%s", tmp);
}

/* Each process's last census: totals into td, snapshot ids into td->ids. */
static int gather_census(sqlite3 *db, struct tdata *td, struct lm_err *err)
{
	static const char sql[] =
		"SELECT id, taken_at_us, coalesce(pause_us, 0), coalesce(walk_us, 0), "
		"coalesce(inuse_bytes, 0), coalesce(free_bytes, 0), coalesce(rss_bytes, 0) "
		"FROM snapshots WHERE instance_id = ? AND status IN ('ok', 'partial') "
		"ORDER BY taken_at_us DESC, id DESC LIMIT 1";
	sqlite3_stmt *st;
	size_t i;

	/* The ids fit in 4 KiB: a target with hundreds of processes keeps
	 * the first ones (the array is cut at a whole number). */
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(err, db, "reading the last censuses");
	for (i = 0; i < td->t->nprocs; i++) {
		const struct lm_metrics_process *p = &td->t->procs[i];
		json_add(td->inst, sizeof(td->inst) - 2, p->instance_id);
		td->limit += p->memory_limit;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, p->instance_id);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		json_add(td->ids, sizeof(td->ids) - 2, sqlite3_column_int64(st, 0));
		td->ncensus++;
		td->inuse += (uint64_t)sqlite3_column_int64(st, 4);
		td->free_bytes += (uint64_t)sqlite3_column_int64(st, 5);
		td->rss += (uint64_t)sqlite3_column_int64(st, 6);
		if (sqlite3_column_int64(st, 1) > td->last_us) {
			td->last_us = sqlite3_column_int64(st, 1);
			td->pause_us = sqlite3_column_int64(st, 2);
			td->walk_us = sqlite3_column_int64(st, 3);
		}
	}
	sqlite3_finalize(st);
	json_close(td->ids, sizeof(td->ids));
	json_close(td->inst, sizeof(td->inst));
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct type_row *x = *(const struct type_row *const *)a;
	const struct type_row *y = *(const struct type_row *const *)b;
	int c = strcmp(x->kind, y->kind);

	if (!c)
		c = strcmp(x->name, y->name);
	return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* Mark the types whose escaped (kind, name) a bigger type already has. */
static int mark_duplicates(struct tdata *td)
{
	struct type_row **v;
	size_t i;

	if (td->ntypes < 2)
		return 0;
	if (!(v = malloc(td->ntypes * sizeof(*v))))
		return -LM_ENOMEM;
	for (i = 0; i < td->ntypes; i++)
		v[i] = &td->types[i];
	qsort(v, td->ntypes, sizeof(*v), cmp_name);
	for (i = 1; i < td->ntypes; i++)
		if (strcmp(v[i]->kind, v[i - 1]->kind) == 0 && strcmp(v[i]->name, v[i - 1]->name) == 0)
			v[i]->dup = 1;
	free(v);
	return 0;
}

/* The top types of the sum of the censuses, biggest first. */
static int gather_types(sqlite3 *db, struct tdata *td, size_t top, struct lm_err *err)
{
	static const char sql[] =
		"SELECT ty.kind, ty.name, sum(st.count), sum(st.bytes) AS b "
		"FROM snapshot_types st JOIN types ty ON ty.id = st.type_id "
		"WHERE st.snapshot_id IN (SELECT value FROM json_each(?)) "
		"GROUP BY st.type_id ORDER BY b DESC, ty.kind, ty.name LIMIT ?";
	sqlite3_stmt *st;
	int rc;

	if (!td->ncensus || !top)
		return 0;
	if (!(td->types = calloc(top, sizeof(*td->types))))
		return lm_err_set(err, LM_ENOMEM, "metrics: out of memory");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(err, db, "reading the types");
	sqlite3_bind_text(st, 1, td->ids, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)top);
	while (td->ntypes < top && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct type_row *r = &td->types[td->ntypes];
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		snprintf(r->kind, sizeof(r->kind), "%s", kind ? kind : "");
		if (!(r->name = label_dup((const char *)sqlite3_column_text(st, 1)))) {
			sqlite3_finalize(st);
			return lm_err_set(err, LM_ENOMEM, "metrics: out of memory");
		}
		r->count = (uint64_t)sqlite3_column_int64(st, 2);
		r->bytes = (uint64_t)sqlite3_column_int64(st, 3);
		r->order = td->ntypes++;
	}
	sqlite3_finalize(st);
	if (mark_duplicates(td) < 0)
		return lm_err_set(err, LM_ENOMEM, "metrics: out of memory");
	return 0;
}

/* Firing alerts of the processes, one row per (kind, name): the highest
 * level, the fastest growth and the nearest limit among the processes. */
static int gather_alerts(sqlite3 *db, struct tdata *td, struct lm_err *err)
{
	static const char sql[] =
		"SELECT kind, name, max(CASE level WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 "
		"ELSE 1 END), max(coalesce(bytes_per_hour, 0)), min(eta_seconds) "
		"FROM leak_alerts WHERE state = 'firing' "
		"AND instance_id IN (SELECT value FROM json_each(?)) "
		"GROUP BY kind, name ORDER BY kind, name LIMIT 10000";
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(err, db, "reading the alerts");
	sqlite3_bind_text(st, 1, td->inst, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct alert_row *r;
		if (td->nalerts == cap) {
			struct alert_row *nv = realloc(td->alerts, (cap ? cap * 2 : 8) * sizeof(*nv));
			if (!nv)
				break;
			td->alerts = nv;
			cap = cap ? cap * 2 : 8;
		}
		r = &td->alerts[td->nalerts];
		memset(r, 0, sizeof(*r));
		snprintf(r->kind, sizeof(r->kind), "%s", (const char *)sqlite3_column_text(st, 0));
		if (!(r->name = label_dup((const char *)sqlite3_column_text(st, 1))))
			break;
		r->level = sqlite3_column_int(st, 2);
		r->bytes_per_hour = sqlite3_column_double(st, 3);
		r->has_eta = sqlite3_column_type(st, 4) != SQLITE_NULL;
		r->eta_s = sqlite3_column_double(st, 4);
		td->nalerts++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(err, db, "reading the alerts");
	if (rc == SQLITE_ROW)
		return lm_err_set(err, LM_ENOMEM, "metrics: out of memory");
	return 0;
}

/* ---- writing ---- */

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *level_name(int level)
{
	return level >= 3 ? "critical" : level == 2 ? "warning" : "info";
}

/* One gauge per target with a census; value from a field of tdata. */
enum tfield { F_INUSE, F_FREE, F_RSS, F_PAUSE, F_WALK, F_LAST };

static void per_target(struct buf *b, struct tdata *td, size_t n, const char *name,
		       const char *help, enum tfield f)
{
	size_t i;

	family(b, name, "gauge", help);
	for (i = 0; i < n; i++) {
		const struct tdata *x = &td[i];
		if (!x->ncensus)
			continue;
		switch (f) {
		case F_INUSE:
			bprintf(b, "%s{target=\"%s\"} %llu\n", name, x->label, (unsigned long long)x->inuse);
			break;
		case F_FREE:
			bprintf(b, "%s{target=\"%s\"} %llu\n", name, x->label,
				(unsigned long long)x->free_bytes);
			break;
		case F_RSS:
			bprintf(b, "%s{target=\"%s\"} %llu\n", name, x->label, (unsigned long long)x->rss);
			break;
		case F_PAUSE:
			bprintf(b, "%s{target=\"%s\"} %.6f\n", name, x->label, x->pause_us / 1e6);
			break;
		case F_WALK:
			bprintf(b, "%s{target=\"%s\"} %.6f\n", name, x->label, x->walk_us / 1e6);
			break;
		case F_LAST:
			bprintf(b, "%s{target=\"%s\"} %.3f\n", name, x->label, x->last_us / 1e6);
			break;
		}
	}
}

static void write_processes(struct buf *b, struct tdata *td, size_t n)
{
	size_t i, j;

	family(b, "leakmon_process_info", "gauge",
	       "A process leakmond watches: its pid and executable (always 1).");
	for (i = 0; i < n; i++)
		for (j = 0; j < td[i].t->nprocs; j++) {
			const struct lm_metrics_process *p = &td[i].t->procs[j];
			char *exe = label_dup(p->exe ? p->exe : "");
			if (!exe) {
				b->oom = 1;
				return;
			}
			bprintf(b, "leakmon_process_info{target=\"%s\",pid=\"%d\",exe=\"%s\"} 1\n",
				td[i].label, (int)p->pid, exe);
			free(exe);
		}
	family(b, "leakmon_target_processes", "gauge", "Processes of the target leakmond watches.");
	for (i = 0; i < n; i++)
		bprintf(b, "leakmon_target_processes{target=\"%s\"} %zu\n", td[i].label,
			td[i].t->nprocs);
}

static void write_types(struct buf *b, struct tdata *td, size_t n, int bytes)
{
	const char *name = bytes ? "leakmon_type_bytes" : "leakmon_type_allocations";
	size_t i, j;

	family(b, name, "gauge", bytes ?
	       "Bytes of the type's live allocations (chunk sizes) in the last census; the top types by bytes." :
	       "Live allocations of the type in the last census; the top types by bytes.");
	for (i = 0; i < n; i++)
		for (j = 0; j < td[i].ntypes; j++) {
			const struct type_row *r = &td[i].types[j];
			if (r->dup)
				continue;
			bprintf(b, "%s{target=\"%s\",kind=\"%s\",type=\"%s\"} %llu\n", name, td[i].label,
				r->kind, r->name, (unsigned long long)(bytes ? r->bytes : r->count));
		}
}

static void write_limits(struct buf *b, struct tdata *td, size_t n)
{
	size_t i;

	family(b, "leakmon_memory_limit_bytes", "gauge",
	       "The memory limit the alerts' time to limit is measured against.");
	for (i = 0; i < n; i++)
		if (td[i].limit)
			bprintf(b, "leakmon_memory_limit_bytes{target=\"%s\"} %llu\n", td[i].label,
				(unsigned long long)td[i].limit);
}

static void write_snapshots(struct buf *b, struct tdata *td, size_t n)
{
	size_t i;
	int r;

	family(b, "leakmon_snapshots_total", "counter",
	       "Snapshot attempts since leakmond started, by result.");
	for (i = 0; i < n; i++)
		for (r = 0; r < LM_METRICS_NRESULTS; r++)
			bprintf(b, "leakmon_snapshots_total{target=\"%s\",result=\"%s\"} %llu\n",
				td[i].label, result_names[r], (unsigned long long)td[i].t->snapshots[r]);
}

static void write_alerts(struct buf *b, struct tdata *td, size_t n)
{
	size_t i, j;

	family(b, "leakmon_alert_firing", "gauge",
	       "A leak alert firing on the type, with its severity (always 1).");
	for (i = 0; i < n; i++)
		for (j = 0; j < td[i].nalerts; j++) {
			const struct alert_row *a = &td[i].alerts[j];
			bprintf(b, "leakmon_alert_firing{target=\"%s\",kind=\"%s\",type=\"%s\","
				"severity=\"%s\"} 1\n", td[i].label, a->kind, a->name, level_name(a->level));
		}
	family(b, "leakmon_alert_growth_bytes_per_second", "gauge",
	       "Growth of a type with a firing alert (Theil-Sen slope).");
	for (i = 0; i < n; i++)
		for (j = 0; j < td[i].nalerts; j++) {
			const struct alert_row *a = &td[i].alerts[j];
			bprintf(b, "leakmon_alert_growth_bytes_per_second{target=\"%s\",kind=\"%s\","
				"type=\"%s\"} %.3f\n", td[i].label, a->kind, a->name,
				a->bytes_per_hour / 3600.0);
		}
	family(b, "leakmon_alert_time_to_limit_seconds", "gauge",
	       "Time until the process reaches its memory limit at the current growth, "
	       "for a type with a firing alert.");
	for (i = 0; i < n; i++)
		for (j = 0; j < td[i].nalerts; j++) {
			const struct alert_row *a = &td[i].alerts[j];
			if (a->has_eta)
				bprintf(b, "leakmon_alert_time_to_limit_seconds{target=\"%s\",kind=\"%s\","
					"type=\"%s\"} %.0f\n", td[i].label, a->kind, a->name, a->eta_s);
		}
}

static void write_all(struct buf *b, struct tdata *td, size_t n, const char *version)
{
	char v[128];

	family(b, "leakmon_build_info", "gauge", "The leakmon version that serves these metrics (always 1).");
	bprintf(b, "leakmon_build_info{version=\"%s\"} 1\n",
		lm_metrics_label_escape(version, v, sizeof(v)));
	write_processes(b, td, n);
	write_types(b, td, n, 1);
	write_types(b, td, n, 0);
	per_target(b, td, n, "leakmon_heap_inuse_bytes", "Bytes of all live allocations "
		   "(malloc's in-use chunks, mmapped ones included) in the last census.", F_INUSE);
	per_target(b, td, n, "leakmon_heap_free_bytes", "Bytes in malloc's free lists and "
		   "caches in the last census.", F_FREE);
	per_target(b, td, n, "leakmon_resident_memory_bytes", "Resident set size of the "
		   "target's processes at the last census.", F_RSS);
	write_limits(b, td, n);
	per_target(b, td, n, "leakmon_snapshot_pause_seconds", "How long the last census "
		   "stopped the target.", F_PAUSE);
	per_target(b, td, n, "leakmon_snapshot_walk_seconds", "How long the last census "
		   "walked and classified the heap.", F_WALK);
	per_target(b, td, n, "leakmon_last_census_timestamp_seconds", "When the last census "
		   "was taken (Unix time).", F_LAST);
	write_snapshots(b, td, n);
	write_alerts(b, td, n);
}

int lm_metrics_render(struct lm_store *store, const struct lm_metrics_target *targets,
		      size_t n, size_t top, const char *version, char **text, size_t *len,
		      struct lm_err *err)
{
	sqlite3 *db = lm_store_db(store);
	struct tdata *td = calloc(n ? n : 1, sizeof(*td));
	struct buf b = { 0 };
	size_t i;
	int r = 0;

	*text = NULL;
	*len = 0;
	if (!td)
		return lm_err_set(err, LM_ENOMEM, "metrics: out of memory");
	for (i = 0; i < n && r == 0; i++) {
		td[i].t = &targets[i];
		if (!(td[i].label = label_dup(targets[i].name)))
			r = lm_err_set(err, LM_ENOMEM, "metrics: out of memory");
		else if ((r = gather_census(db, &td[i], err)) == 0 &&
			 (r = gather_types(db, &td[i], top, err)) == 0)
			r = gather_alerts(db, &td[i], err);
	}
	if (r == 0) {
		write_all(&b, td, n, version);
		if (b.oom)
			r = lm_err_set(err, LM_ENOMEM, "metrics: out of memory");
	}
	for (i = 0; i < n; i++)
		tdata_free(&td[i]);
	free(td);
	if (r < 0) {
		free(b.p);
		return r;
	}
	*text = b.p;
	*len = b.len;
	return 0;
}

int lm_metrics_write_file(const char *path, const char *text, size_t len, struct lm_err *err)
{
	char tmp[4096];
	size_t off = 0;
	int fd, e;

	/* Not *.prom: node_exporter ignores the file while it is written. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return lm_err_set(err, LM_EINVAL, "metrics_textfile %s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return lm_err_errno(err, LM_EIO, errno, "metrics_textfile: cannot create %s "
				    "(does its directory exist, may leakmond write there?)", tmp);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	e = errno;
	if (off < len || fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		e = off < len ? e : errno;
		close(fd);
		unlink(tmp);
		return lm_err_errno(err, LM_EIO, e, "metrics_textfile: cannot write %s", tmp);
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		return lm_err_errno(err, LM_EIO, e, "metrics_textfile: cannot rename %s to %s",
				    tmp, path);
	}
	return 0;
}
