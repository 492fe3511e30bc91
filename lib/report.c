/* SPDX-License-Identifier: MIT */
/*
 * report.c - the HTML report (report.h): read each process's history from
 * the store, draw each chart as inline SVG, write one page.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "escape.h"
#include "report.h"
#include "store.h"
#include "units.h"

#define MAX_PROCS 200		/* processes per page */
#define MAX_ALERTS 100		/* alerts per process */
#define MAX_POINTS 1500		/* points per line: longer series are thinned */
#define W 760			/* chart size, px */
#define H 240
#define ML 80			/* margins: left (y labels), right, top, bottom */
#define MR 20
#define MT 30
#define MB 40

static const char *const colors[] = {
	"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
	"#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
};

/* ---- text ---- */

char *lm_report_html_escape(const char *s)
{
	char *esc = lm_escape_dup(s ? s : ""), *out, *o;
	const char *p;

	if (!esc)
		return NULL;
	out = malloc(strlen(esc) * 6 + 1);
	if (out) {
		for (o = out, p = esc; *p; p++) {
			const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" :
				*p == '"' ? "&quot;" : *p == '\'' ? "&#39;" : NULL;
			if (rep)
				o += sprintf(o, "%s", rep);
			else
				*o++ = *p;
		}
		*o = '\0';
	}
	free(esc);
	return out;
}

/* Print s escaped for HTML. */
static void put_html(FILE *f, const char *s)
{
	char *e = lm_report_html_escape(s);

	fputs(e ? e : "?", f);
	free(e);
}

static void fmt_time(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (!us || !gmtime_r(&t, &tm))
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* The time-to-limit column reads in minutes and up. */
static void fmt_duration(double s, char *buf, size_t len)
{
	if (!isfinite(s))
		snprintf(buf, len, "no limit in sight");
	else
		lm_format_span(s, LM_SPAN_MINUTES, buf, len);
}

/* ---- charts ---- */

struct line {
	char *label;		/* HTML-escaped */
	int64_t *t;		/* microseconds */
	double *v;
	size_t n;
	int dashed;
};

static void line_free(struct line *l)
{
	free(l->label);
	free(l->t);
	free(l->v);
}

static int line_alloc(struct line *l, size_t n)
{
	l->t = calloc(n ? n : 1, sizeof(*l->t));
	l->v = calloc(n ? n : 1, sizeof(*l->v));
	return l->t && l->v ? 0 : -LM_ENOMEM;
}

enum unit { U_BYTES, U_MS };

static void fmt_value(double v, enum unit u, char *buf, size_t len)
{
	if (u == U_BYTES)
		lm_format_bytes(v, buf, len);
	else
		snprintf(buf, len, "%.1f ms", v);
}

/* An SVG line chart of lines against time, from 0 up; hline (if > 0) a
 * dashed horizontal line, such as the memory limit. */
static void chart(FILE *f, const char *title, const char *css, enum unit u,
		  struct line *lines, size_t nlines, double hline, const char *hlabel)
{
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;
	double vmax = hline > 0 ? hline : 0, x, y;
	char a[48], b[48];
	size_t i, j, step;
	int k;

	for (i = 0; i < nlines; i++)
		for (j = 0; j < lines[i].n; j++) {
			t0 = lines[i].t[j] < t0 ? lines[i].t[j] : t0;
			t1 = lines[i].t[j] > t1 ? lines[i].t[j] : t1;
			vmax = lines[i].v[j] > vmax ? lines[i].v[j] : vmax;
		}
	fprintf(f, "<figure class=\"chart %s\"><figcaption>%s</figcaption>\n", css, title);
	if (t0 > t1) {
		fprintf(f, "<p class=\"empty\">no data in this period</p></figure>\n");
		return;
	}
	if (t1 == t0)
		t1 = t0 + 1;
	vmax = vmax > 0 ? vmax * 1.05 : 1;
	fprintf(f, "<svg width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\"><title>%s</title>\n", W, H, W, H, title);
	/* axes and grid */
	for (k = 0; k <= 4; k++) {
		y = MT + (H - MT - MB) * (1 - k / 4.0);
		fmt_value(vmax * k / 4.0, u, a, sizeof(a));
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"ylabel\">%s</text>\n",
			ML, y, W - MR, y, ML - 6, y + 4, a);
	}
	fmt_time(t0, a, sizeof(a));
	fmt_time(t1, b, sizeof(b));
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"xlabel\">%s</text>"
		"<text x=\"%d\" y=\"%d\" class=\"xlabel end\">%s</text>\n",
		ML, H - MB + 18, a, W - MR, H - MB + 18, b);
	if (hline > 0) {
		y = MT + (H - MT - MB) * (1 - hline / vmax);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"limit\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"limitlabel\">%s</text>\n",
			ML, y, W - MR, y, W - MR - 4, y - 4, hlabel);
	}
	for (i = 0; i < nlines; i++) {
		const struct line *l = &lines[i];
		step = l->n > MAX_POINTS ? (l->n + MAX_POINTS - 1) / MAX_POINTS : 1;
		fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
			"data-label=\"%s\" points=\"", colors[i % 10],
			l->dashed ? " stroke-dasharray=\"6 4\"" : "", l->label);
		for (j = 0; j < l->n; j += step) {
			x = ML + (double)(W - ML - MR) * (double)(l->t[j] - t0) / (double)(t1 - t0);
			y = MT + (H - MT - MB) * (1 - l->v[j] / vmax);
			fprintf(f, "%.1f,%.1f ", x, y);
		}
		if (l->n && (l->n - 1) % step) {	/* always the last point */
			x = ML + (double)(W - ML - MR) * (double)(l->t[l->n - 1] - t0) / (double)(t1 - t0);
			y = MT + (H - MT - MB) * (1 - l->v[l->n - 1] / vmax);
			fprintf(f, "%.1f,%.1f", x, y);
		}
		fprintf(f, "\"/>\n");
	}
	fprintf(f, "</svg>\n<ul class=\"legend\">");
	for (i = 0; i < nlines; i++) {
		fmt_value(lines[i].n ? lines[i].v[lines[i].n - 1] : 0, u, a, sizeof(a));
		fprintf(f, "<li><span class=\"swatch\" style=\"background:%s\"></span>%s "
			"<span class=\"last\">(last %s)</span></li>", colors[i % 10], lines[i].label, a);
	}
	fprintf(f, "</ul></figure>\n");
}

/* ---- one process ---- */

struct proc {
	int64_t id;
	char *target, *exe;
	int pid;
	int64_t started_us, ended_us;
};

static int series_line(struct lm_store *st, int64_t inst, const char *kind, const char *name,
		       int64_t since, const char *label, struct line *l, struct lm_err *err)
{
	struct lm_store_point *pts = NULL;
	size_t n = 0, i;
	int r = lm_store_series(st, inst, kind, name, since, &pts, &n, err);

	if (r < 0)
		return r;
	memset(l, 0, sizeof(*l));
	if (line_alloc(l, n) < 0 || !(l->label = lm_report_html_escape(label))) {
		free(pts);
		return lm_err_set(err, LM_ENOMEM, "report: out of memory");
	}
	for (i = 0; i < n; i++) {
		l->t[i] = pts[i].taken_at_us;
		l->v[i] = (double)pts[i].bytes;
	}
	l->n = n;
	free(pts);
	return 0;
}

static void growth_chart(FILE *f, struct lm_store *st, const struct proc *p,
			 const struct lm_report_opts *o, struct lm_err *err)
{
	struct lm_store_growth *g = NULL;
	struct line lines[10];
	size_t ng = 0, n = 0, i;
	char label[1200];

	if (lm_store_growth(st, p->id, o->types < 10 ? o->types : 10, &g, &ng, err) < 0) {
		fprintf(f, "<p class=\"error\">");
		put_html(f, err->msg);
		fprintf(f, "</p>\n");
		return;
	}
	for (i = 0; i < ng; i++) {
		if (g[i].bytes_per_hour <= 0)
			continue;
		snprintf(label, sizeof(label), "%s%s%s, +", !strcmp(g[i].kind, "size") ||
			 !strcmp(g[i].kind, "string") ? "" : g[i].kind,
			 !strcmp(g[i].kind, "size") || !strcmp(g[i].kind, "string") ? "" : " ",
			 g[i].name);
		lm_format_rate(g[i].bytes_per_hour, label + strlen(label), sizeof(label) - strlen(label));
		if (series_line(st, p->id, g[i].kind, g[i].name, o->since_us, label, &lines[n], err) == 0)
			n++;
	}
	lm_store_growth_free(g, ng);
	chart(f, "Growing types: bytes over time", "growth", U_BYTES, lines, n, 0, NULL);
	for (i = 0; i < n; i++)
		line_free(&lines[i]);
}

/* Heap in use and RSS against the limit; and the pauses. */
static void memory_and_pause(FILE *f, struct lm_store *st, const struct proc *p,
			     const struct lm_report_opts *o, struct lm_err *err)
{
	sqlite3 *db = lm_store_db(st);
	sqlite3_stmt *s = NULL;
	struct line mem[2], pause[1];
	size_t cap = 64;
	double limit = 0;
	char hl[64], lb[32];

	memset(mem, 0, sizeof(mem));
	memset(pause, 0, sizeof(pause));
	if (series_line(st, p->id, NULL, NULL, o->since_us, "heap in use", &mem[0], err) < 0)
		goto out;
	if (line_alloc(&mem[1], cap) < 0 || line_alloc(&pause[0], cap) < 0)
		goto out;
	mem[1].label = strdup("resident (RSS)");
	mem[1].dashed = 1;
	pause[0].label = strdup("pause");
	if (sqlite3_prepare_v2(db, "SELECT taken_at_us, rss_bytes, pause_us, status FROM snapshots "
			       "WHERE instance_id = ? AND taken_at_us >= ? AND pause_us IS NOT NULL "
			       "ORDER BY taken_at_us, id", -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, p->id);
	sqlite3_bind_int64(s, 2, o->since_us);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (pause[0].n == cap) {
			int64_t *t1 = realloc(mem[1].t, 2 * cap * sizeof(int64_t));
			double *v1 = t1 ? realloc(mem[1].v, 2 * cap * sizeof(double)) : NULL;
			int64_t *t2 = v1 ? realloc(pause[0].t, 2 * cap * sizeof(int64_t)) : NULL;
			double *v2 = t2 ? realloc(pause[0].v, 2 * cap * sizeof(double)) : NULL;
			if (t1)
				mem[1].t = t1;
			if (v1)
				mem[1].v = v1;
			if (t2)
				pause[0].t = t2;
			if (!v2)
				break;
			pause[0].v = v2;
			cap *= 2;
		}
		pause[0].t[pause[0].n] = sqlite3_column_int64(s, 0);
		pause[0].v[pause[0].n++] = (double)sqlite3_column_int64(s, 2) / 1000.0;
		if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
			mem[1].t[mem[1].n] = sqlite3_column_int64(s, 0);
			mem[1].v[mem[1].n++] = (double)sqlite3_column_int64(s, 1);
		}
	}
	sqlite3_finalize(s);
	/* The limit alerts measured against (the database knows no other). */
	if (sqlite3_prepare_v2(db, "SELECT max(limit_bytes) FROM leak_alerts WHERE instance_id = ?",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, p->id);
		if (sqlite3_step(s) == SQLITE_ROW)
			limit = sqlite3_column_double(s, 0);
		sqlite3_finalize(s);
	}
	lm_format_bytes(limit, lb, sizeof(lb));
	snprintf(hl, sizeof(hl), "memory limit %s", lb);
	chart(f, limit > 0 ? "Heap in use and RSS against the memory limit" :
	      "Heap in use and RSS (no alert has measured a limit yet)", "memory", U_BYTES,
	      mem, 2, limit, hl);
	chart(f, "Snapshot pauses (how long the target was stopped)", "pauses", U_MS, pause, 1, 0,
	      NULL);
out:
	line_free(&mem[0]);
	line_free(&mem[1]);
	line_free(&pause[0]);
}

static void holders_cell(FILE *f, const char *payload)
{
	json_error_t jerr;
	json_t *j = payload ? json_loads(payload, 0, &jerr) : NULL;
	json_t *h = json_object_get(j, "holders");
	size_t i;

	if (!json_array_size(h)) {
		fprintf(f, "<td class=\"holders\">-</td>");
		json_decref(j);
		return;
	}
	fprintf(f, "<td class=\"holders\"><ul>");
	for (i = 0; i < json_array_size(h) && i < 10; i++) {
		fprintf(f, "<li><code>");
		put_html(f, json_string_value(json_array_get(h, i)));
		fprintf(f, "</code></li>");
	}
	fprintf(f, "</ul></td>");
	json_decref(j);
}

static void alerts_table(FILE *f, struct lm_store *st, const struct proc *p)
{
	sqlite3_stmt *s;
	char a[48], b[48], rate[48], eta[48];
	int n = 0;

	if (sqlite3_prepare_v2(lm_store_db(st),
	    "SELECT a.kind, a.name, a.level, a.state, a.opened_at_us, a.resolved_at_us, "
	    "a.bytes_per_hour, a.eta_seconds, (SELECT d.payload FROM webhook_deliveries d "
	    "WHERE d.alert = a.id AND d.event = 'leak.firing' ORDER BY d.id DESC LIMIT 1) "
	    "FROM leak_alerts a WHERE a.instance_id = ? ORDER BY a.opened_at_us, a.id LIMIT ?",
	    -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, p->id);
	sqlite3_bind_int(s, 2, MAX_ALERTS);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (!n++)
			fprintf(f, "<table class=\"alerts\"><caption>Alerts</caption><tr><th>type</th>"
				"<th>level</th><th>state</th><th>opened</th><th>resolved</th>"
				"<th>growth</th><th>time to limit</th><th>holder chains</th></tr>\n");
		fmt_time(sqlite3_column_int64(s, 4), a, sizeof(a));
		fmt_time(sqlite3_column_int64(s, 5), b, sizeof(b));
		lm_format_rate(sqlite3_column_double(s, 6), rate, sizeof(rate));
		fmt_duration(sqlite3_column_type(s, 7) == SQLITE_NULL ? INFINITY :
			     sqlite3_column_double(s, 7), eta, sizeof(eta));
		fprintf(f, "<tr class=\"%s %s\"><td>", (const char *)sqlite3_column_text(s, 2),
			(const char *)sqlite3_column_text(s, 3));
		put_html(f, (const char *)sqlite3_column_text(s, 0));
		fputc(' ', f);
		put_html(f, (const char *)sqlite3_column_text(s, 1));
		fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>+%s</td><td>%s</td>",
			(const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
			a, b, rate, eta);
		holders_cell(f, (const char *)sqlite3_column_text(s, 8));
		fprintf(f, "</tr>\n");
	}
	sqlite3_finalize(s);
	fprintf(f, n ? "</table>\n" : "<p class=\"noalerts\">No alert.</p>\n");
}

static void write_proc(FILE *f, struct lm_store *st, const struct proc *p,
		       const struct lm_report_opts *o, struct lm_err *err)
{
	char a[48], b[48];

	fmt_time(p->started_us, a, sizeof(a));
	fmt_time(p->ended_us, b, sizeof(b));
	fprintf(f, "<section class=\"process\"><h2>");
	put_html(f, p->target);
	fprintf(f, " <small>pid %d</small></h2>\n<p class=\"meta\"><code>", p->pid);
	put_html(f, p->exe ? p->exe : "?");
	fprintf(f, "</code> started %s%s%s</p>\n", a, p->ended_us ? ", ended " : "",
		p->ended_us ? b : "");
	growth_chart(f, st, p, o, err);
	memory_and_pause(f, st, p, o, err);
	alerts_table(f, st, p);
	fprintf(f, "</section>\n");
}

/* ---- the page ---- */

static const char style[] =
	"body{font-family:sans-serif;margin:2em;color:#222;max-width:1000px}"
	"h1{font-size:1.5em}h2{border-top:2px solid #ccc;padding-top:.6em}"
	"figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}"
	"svg{background:#fafafa;border:1px solid #ddd}"
	".grid{stroke:#ddd;stroke-width:1}.ylabel{font-size:11px;text-anchor:end;fill:#555}"
	".xlabel{font-size:11px;fill:#555}.xlabel.end{text-anchor:end}"
	".limit{stroke:#000;stroke-width:1.5;stroke-dasharray:8 4}"
	".limitlabel{font-size:11px;text-anchor:end}"
	".legend{list-style:none;padding:0;margin:.3em 0}.legend li{display:inline-block;"
	"margin-right:1.2em;font-size:13px}.swatch{display:inline-block;width:12px;height:12px;"
	"margin-right:4px;vertical-align:middle}.last{color:#777}"
	"table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
	"vertical-align:top;text-align:left}tr.critical td:nth-child(2){color:#b00;font-weight:bold}"
	"tr.warning td:nth-child(2){color:#b60}.holders ul{margin:0;padding-left:1em}"
	".meta,.empty,.noalerts{color:#555}";

static int list_procs(struct lm_store *st, const struct lm_report_opts *o, struct proc **out,
		      size_t *n, struct lm_err *err)
{
	sqlite3 *db = lm_store_db(st);
	sqlite3_stmt *s;
	struct proc *v = calloc(MAX_PROCS, sizeof(*v));

	*out = v;
	*n = 0;
	if (!v)
		return lm_err_set(err, LM_ENOMEM, "report: out of memory");
	if (sqlite3_prepare_v2(db, "SELECT i.id, t.name, i.pid, i.exe, i.started_at_us, "
			       "coalesce(i.ended_at_us, 0) FROM instances i JOIN targets t "
			       "ON t.id = i.target_id WHERE (?1 IS NULL OR t.name = ?1) AND EXISTS "
			       "(SELECT 1 FROM snapshots s WHERE s.instance_id = i.id AND "
			       "s.taken_at_us >= ?2) ORDER BY t.name, i.started_at_us, i.id LIMIT ?3",
			       -1, &s, NULL) != SQLITE_OK)
		return lm_err_set(err, LM_EDB, "report: %s", sqlite3_errmsg(db));
	if (o->target)
		sqlite3_bind_text(s, 1, o->target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, o->since_us);
	sqlite3_bind_int(s, 3, MAX_PROCS);
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct proc *p = &v[(*n)++];
		const char *exe = (const char *)sqlite3_column_text(s, 3);
		p->id = sqlite3_column_int64(s, 0);
		p->target = strdup((const char *)sqlite3_column_text(s, 1));
		p->pid = sqlite3_column_int(s, 2);
		p->exe = exe ? strdup(exe) : NULL;
		p->started_us = sqlite3_column_int64(s, 4);
		p->ended_us = sqlite3_column_int64(s, 5);
	}
	sqlite3_finalize(s);
	return 0;
}

int lm_report_write(struct lm_store *store, const struct lm_report_opts *o, FILE *out,
		    size_t *nprocs, struct lm_err *err)
{
	struct proc *v = NULL;
	size_t n = 0, i;
	char since[48], now[48];
	int r = list_procs(store, o, &v, &n, err);

	if (r == 0) {
		fmt_time(o->since_us, since, sizeof(since));
		fmt_time((int64_t)time(NULL) * 1000000, now, sizeof(now));
		fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			"<title>leakmon report</title><style>%s</style></head><body>\n"
			"<h1>leakmon report</h1>\n<p class=\"meta\">", style);
		put_html(out, o->source ? o->source : "");
		fprintf(out, ": %zu process%s with snapshots since %s; written %s by leakmon %s.</p>\n",
			n, n == 1 ? "" : "es", o->since_us ? since : "the start", now, PACKAGE_VERSION);
		for (i = 0; i < n; i++)
			write_proc(out, store, &v[i], o, err);
		if (!n)
			fprintf(out, "<p class=\"empty\">No snapshot in this period.</p>\n");
		fprintf(out, "</body></html>\n");
	}
	for (i = 0; i < n; i++) {
		free(v[i].target);
		free(v[i].exe);
	}
	free(v);
	if (nprocs)
		*nprocs = n;
	if (r == 0 && ferror(out))
		r = lm_err_set(err, LM_EIO, "report: write error");
	return r;
}
