/* SPDX-License-Identifier: MIT */
/*
 * leakmond_alert.c - leak detection and webhook delivery in the daemon:
 * the glue between the loop and lib/alert + lib/webhook.
 *
 * After each stored census, lmd_alert_snapshot() runs the detector on the
 * instance's history (lm_alert_evaluate: trends, alert lifecycle, queued
 * deliveries, one transaction) and wakes the webhook sender. The sender
 * (lib/webhook) lives on the daemon's loop and sends the outbox with
 * libcurl's multi-socket interface, never blocking. A sweep timer resolves
 * the alerts of instances that have ended. Everything runs on the loop
 * thread, like every other use of the database.
 *
 * Holder chains: the deliveries of an alert that opens or escalates are
 * stored waiting (lib/alert). A holders job goes to the snapshot worker -
 * never the loop: the reference graph of a 1 GiB heap takes seconds - and
 * opens a snapshot of the instance, searches the chains of every waiting
 * type at once (lib/holders) and closes it. Back on the loop, the chains
 * go into the waiting payloads, which become sendable (lm_outbox_release),
 * and the sender is woken. Whatever goes wrong, the deliveries still go
 * out, once, with "holders": [] and "holders_error": the job fails (target
 * gone), the deliveries wait longer than HOLDERS_MAX_WAIT_S (the sweep
 * releases them), or leakmond stopped before the job ran (released at the
 * next start). Only waiting rows are ever released, so a late job finds
 * nothing to send twice.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include <sqlite3.h>

#include "alert.h"
#include "census_json.h"
#include "escape.h"
#include "holders.h"
#include "leakmond.h"
#include "outbox.h"
#include "webhook.h"

#define SWEEP_S 2.0	/* look for ended instances with open alerts */
#define HOLDERS_MAX_WAIT_S 300	/* then deliveries go out without holders */

struct lmd_alert {
	struct lm_webhook_sender *sender;
	ev_timer sweep;
	char host[256];
	/* Test hook: LEAKMOND_TEST_HOLDERS_DELAY_MS delays every holders job,
	 * so that a test can end the target while its job waits. */
	long holders_delay_ms;
};

/* What a holders job carries to the worker and back. */
struct holders_job {
	struct lm_alert_need need[LM_ALERT_MAX_NEED];
	struct lm_holders_type types[LM_ALERT_MAX_NEED];
	size_t n;
	unsigned per_type;
	long delay_ms;
};

static void on_attempt(void *ctx, const struct lm_webhook_attempt *a)
{
	if (a->delivered)
		lm_log(LM_LOG_INFO, "webhook %s: %s %s delivered (attempt %d, HTTP %ld)",
		       a->webhook, a->event, a->delivery_id, a->attempt, a->status);
	else if (a->expired)
		lm_log(LM_LOG_ERR, "webhook %s: giving up on %s %s after %d attempts: %s",
		       a->webhook, a->event, a->delivery_id, a->attempt,
		       a->error ? a->error : "failed");
	else
		lm_log(LM_LOG_WARNING, "webhook %s: %s %s attempt %d failed: %s; will retry",
		       a->webhook, a->event, a->delivery_id, a->attempt,
		       a->error ? a->error : "failed");
}

/* The webhooks a target alerts to, by target name (for ended instances). */
static size_t webhooks_of(void *ctx, const char *target, const char *const **names)
{
	struct leakmond *d = ctx;
	const struct lm_conf_target *t = lm_conf_find_target(d->conf, target);
	const struct lm_conf_detect *det = t ? &t->detect : &d->conf->detect;

	*names = (const char *const *)det->webhooks;
	return det->nwebhooks;
}

static void report(struct leakmond *d, const char *target, pid_t pid,
		   const struct lm_alert_summary *sum)
{
	struct lmd_alert *a = d->alert;

	if (sum->opened || sum->escalated || sum->resolved)
		lm_log(LM_LOG_NOTICE, "target %s: pid %d: leak alerts: %u opened, %u escalated, "
		       "%u resolved, %u open (see the alerts view)", target, (int)pid,
		       sum->opened, sum->escalated, sum->resolved, sum->open);
	if (sum->queued && a->sender)
		lm_webhook_sender_kick(a->sender);
}

/* One line per alert that opened or escalated at at_us: which type, how
 * loud, how fast it grows and how soon the limit comes - what an operator
 * watching the log or --demo needs without opening the database. */
static void log_events(struct leakmond *d, const char *target, pid_t pid, int64_t instance_id,
		       int64_t at_us)
{
	sqlite3_stmt *st;
	char name[512], rate[32], span[40], eta[48];
	const char *kind;
	int bare;

	if (sqlite3_prepare_v2(lm_store_db(d->store),
	    "SELECT e.event, e.level, a.kind, a.name, e.bytes_per_hour, e.eta_seconds "
	    "FROM alert_events e JOIN leak_alerts a ON a.id = e.alert WHERE a.instance_id = ? "
	    "AND e.at_us = ? AND e.event IN ('opened', 'escalated') ORDER BY e.id LIMIT 20",
	    -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, instance_id);
	sqlite3_bind_int64(st, 2, at_us);
	while (sqlite3_step(st) == SQLITE_ROW) {
		double bph = sqlite3_column_double(st, 4);
		lm_format_bytes((uint64_t)(bph > 0 ? bph : 0), rate, sizeof(rate));
		if (sqlite3_column_type(st, 5) == SQLITE_NULL)
			snprintf(eta, sizeof(eta), "not in sight");
		else {
			/* "in 7h 50min", "in 2d 4h": as an operator reads it. */
			lm_format_span(sqlite3_column_double(st, 5), LM_SPAN_MINUTES, span,
				       sizeof(span));
			snprintf(eta, sizeof(eta), "in %s", span);
		}
		/* "class Session", but "string" and "size 24" alone, like leakmon's tables. */
		kind = (const char *)sqlite3_column_text(st, 2);
		bare = !kind || !strcmp(kind, "string") || !strcmp(kind, "size");
		lm_log(LM_LOG_NOTICE, "target %s: pid %d: leak alert %s (%s): %s%s%s grows %s/h; "
		       "memory limit %s", target, (int)pid, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), bare ? "" : kind, bare ? "" : " ",
		       lm_escape_str((const char *)sqlite3_column_text(st, 3), name, sizeof(name)),
		       rate, eta);
	}
	sqlite3_finalize(st);
}

/* ---- holder chains ----------------------------------------------------- */

/* Release waiting deliveries (alert_row 0: every alert's, created before
 * created_before_us) with fields merged into their payloads. */
static void release(struct leakmond *d, int64_t alert_row, int64_t created_before_us,
		    json_t *fields, const char *what)
{
	struct lm_err err = { 0 };
	unsigned n = 0;

	if (lm_outbox_release(lm_store_db(d->store), alert_row, created_before_us, fields,
			      lm_wall_us(), &n, &err) < 0)
		lm_log(LM_LOG_ERR, "%s: %s", what, err.msg);	/* stays waiting: retried by the sweep */
	else if (n && d->alert && d->alert->sender)
		lm_webhook_sender_kick(d->alert->sender);
}

/* Release with "holders": [] and why. */
static void release_empty(struct leakmond *d, int64_t alert_row, int64_t created_before_us,
			  const char *why)
{
	json_t *f = json_pack("{s:[],s:s}", "holders", "holders_error", why);

	if (!f) {
		lm_log(LM_LOG_ERR, "out of memory releasing deliveries");
		return;
	}
	release(d, alert_row, created_before_us, f, "releasing deliveries without holders");
	json_decref(f);
}

static void holders_free(void *p)
{
	struct holders_job *h = p;

	if (!h)
		return;
	lm_holders_clear(h->types, h->n);
	free(h);
}

/* On the worker thread: nothing here touches the daemon or the database. */
static int holders_run(struct lmd_job *job)
{
	struct holders_job *h = job->data;
	struct lm_snapshot *snap = NULL;
	struct timespec ts = { h->delay_ms / 1000, (h->delay_ms % 1000) * 1000000L };
	int rc;

	if (h->delay_ms)
		nanosleep(&ts, NULL);
	if (!lm_proc_id_alive(&job->id))
		return lm_err_set(&job->err, LM_EEXITED, "pid %d exited before its holders were "
				  "searched", (int)job->id.pid);
	if ((rc = lm_snapshot_open(&job->opts, &snap, &job->err)) < 0)
		return rc;
	rc = lm_holders_find(snap, h->types, h->n, h->per_type, &job->err);
	lm_snapshot_close(snap);
	return rc;
}

/* One type's fields: its chains, or none and why. */
static json_t *holders_fields(const struct lm_holders_type *t)
{
	json_t *f = json_object(), *a = json_array();
	size_t i;

	if (!f || !a) {
		json_decref(f);
		json_decref(a);
		return NULL;
	}
	for (i = 0; i < t->nchains; i++)
		json_array_append_new(a, lm_json_name(t->chains[i]));	/* target's names */
	json_object_set_new(f, "holders", a);
	if (!t->nchains)
		json_object_set_new(f, "holders_error", lm_json_name(t->error[0] ? t->error :
								      "no holder chain found"));
	return f;
}

/* Back on the loop: fill the waiting payloads, or release them empty. */
static void holders_done(struct leakmond *d, struct lmd_job *job)
{
	struct holders_job *h = job->data;
	char why[sizeof(job->err.msg) + 48];
	size_t i;

	lm_log(job->rc < 0 ? LM_LOG_WARNING : LM_LOG_INFO,
	       "target %s: pid %d: holder chains of %zu type%s %s in %.2f s%s%s", job->target,
	       (int)job->id.pid, h->n, h->n == 1 ? "" : "s", job->rc < 0 ? "failed" : "found",
	       (double)(job->finished_us - job->started_us) / 1e6, job->rc < 0 ? ": " : "",
	       job->rc < 0 ? job->err.msg : "");
	snprintf(why, sizeof(why), "holder search failed: %s", job->err.msg);
	for (i = 0; i < h->n; i++) {
		json_t *f;
		if (job->rc < 0) {
			release_empty(d, h->need[i].alert_row, INT64_MAX, why);
			continue;
		}
		f = holders_fields(&h->types[i]);
		if (!f) {
			release_empty(d, h->need[i].alert_row, INT64_MAX, "out of memory");
			continue;
		}
		release(d, h->need[i].alert_row, INT64_MAX, f, "filling in holder chains");
		json_decref(f);
	}
}

/* Queue the search for the alerts of sum that wait for holders. */
static void submit_holders(struct leakmond *d, struct lmd_target *t, struct lmd_instance *inst,
			   const struct lm_alert_summary *sum)
{
	struct lmd_alert *a = d->alert;
	struct lmd_job *job = calloc(1, sizeof(*job));
	struct holders_job *h = calloc(1, sizeof(*h));
	size_t i;

	if (!job || !h || !(job->target = strdup(t->name))) {
		free(job);
		free(h);
		for (i = 0; i < sum->nneed; i++)
			release_empty(d, sum->need[i].alert_row, INT64_MAX, "out of memory");
		return;
	}
	h->n = sum->nneed;
	h->per_type = t->conf->detect.holders;
	h->delay_ms = a->holders_delay_ms;
	for (i = 0; i < h->n; i++) {
		h->need[i] = sum->need[i];
		h->types[i].kind = h->need[i].kind;
		h->types[i].name = h->need[i].name;
	}
	lmd_job_aim(job, t, inst);
	job->run = holders_run;
	job->done = holders_done;
	job->data = h;
	job->free_data = holders_free;
	lm_log(LM_LOG_DEBUG, "target %s: holder search in pid %d queued for %zu type%s", t->name,
	       (int)inst->id.pid, h->n, h->n == 1 ? "" : "s");
	lmd_worker_submit(d->worker, job);
}

/* ---- timers ------------------------------------------------------------- */

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct leakmond *d = w->data;
	struct lmd_alert *a = d->alert;
	struct lm_alert_summary sum = { 0 };
	struct lm_err err = { 0 };

	(void)loop;
	(void)revents;
	if (lm_alert_resolve_ended(d->store, webhooks_of, d, a->host, lm_wall_us(), &sum,
				   &err) < 0)
		lm_log(LM_LOG_WARNING, "alerts of ended processes: %s", err.msg);
	else if (sum.resolved)
		report(d, "(ended)", 0, &sum);
	release_empty(d, 0, lm_wall_us() - (int64_t)HOLDERS_MAX_WAIT_S * 1000000,
		      "no holder chains after 5 minutes (the search did not finish)");
}

int lmd_alert_start(struct leakmond *d)
{
	struct lmd_alert *a = calloc(1, sizeof(*a));
	struct lm_err err = { 0 };

	if (!a)
		return -LM_ENOMEM;
	if (gethostname(a->host, sizeof(a->host) - 1) < 0)
		strcpy(a->host, "localhost");
	d->alert = a;
	if (getenv("LEAKMOND_TEST_HOLDERS_DELAY_MS"))
		a->holders_delay_ms = atol(getenv("LEAKMOND_TEST_HOLDERS_DELAY_MS"));
	/* No job of the previous run survived it: what still waits goes now. */
	release_empty(d, 0, INT64_MAX, "leakmond restarted before the holder chains were found");
	if (lm_webhook_sender_new(d->loop, lm_store_db(d->store), d->conf->webhooks,
				  d->conf->nwebhooks, on_attempt, d, &a->sender, &err) < 0) {
		lm_log(LM_LOG_ERR, "%s", err.msg);
		return -err.code;
	}
	ev_timer_init(&a->sweep, on_sweep, SWEEP_S, SWEEP_S);
	a->sweep.data = d;
	ev_timer_start(d->loop, &a->sweep);
	return 0;
}

void lmd_alert_snapshot(struct leakmond *d, struct lmd_target *t, struct lmd_instance *inst,
			const struct lmd_job *job, int64_t snapshot_id)
{
	struct lmd_alert *a = d->alert;
	struct lm_alert_settings s;
	struct lm_alert_summary sum = { 0 };
	struct lm_err err = { 0 };

	if (!a || !t || !inst || !snapshot_id || job->rc < 0 || !job->census)
		return;
	lm_alert_settings_from_conf(t->conf, &s);
	s.memory_limit = inst->memory_limit;	/* configured, cgroup or MemTotal */
	if (!d->worker || d->stopping)
		s.holders = 0;	/* no search could run: send at once */
	if (lm_alert_evaluate(d->store, inst->instance_id, &s,
			      (const char *const *)t->conf->detect.webhooks,
			      t->conf->detect.nwebhooks, a->host, job->census->taken_at_us,
			      &sum, &err) < 0) {
		lm_log(LM_LOG_WARNING, "target %s: pid %d: leak detection: %s", t->name,
		       (int)job->id.pid, err.msg);
		return;
	}
	if (sum.opened || sum.escalated)
		log_events(d, t->name, job->id.pid, inst->instance_id, job->census->taken_at_us);
	report(d, t->name, job->id.pid, &sum);
	if (sum.nneed)
		submit_holders(d, t, inst, &sum);
}

void lmd_alert_reload(struct leakmond *d)
{
	struct lmd_alert *a = d->alert;
	struct lm_err err = { 0 };

	if (a && a->sender &&
	    lm_webhook_sender_configure(a->sender, d->conf->webhooks, d->conf->nwebhooks,
					&err) < 0)
		lm_log(LM_LOG_ERR, "%s; webhooks keep their previous settings", err.msg);
}

void lmd_alert_stop(struct leakmond *d)
{
	struct lmd_alert *a = d->alert;

	if (!a)
		return;
	if (d->loop)
		ev_timer_stop(d->loop, &a->sweep);
	lm_webhook_sender_free(a->sender);	/* in-flight deliveries stay pending */
	free(a);
	d->alert = NULL;
}
