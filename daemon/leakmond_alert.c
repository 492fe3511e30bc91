/*
 * leakmond_alert.c - leak detection and webhook delivery in the daemon
 * (issue 5): the glue between the loop and lib/alert + lib/webhook.
 *
 * After each stored census, lmd_alert_snapshot() runs the detector on the
 * instance's history (lm_alert_evaluate: trends, alert lifecycle, queued
 * deliveries, one transaction) and wakes the webhook sender. The sender
 * (lib/webhook) lives on the daemon's loop and sends the outbox with
 * libcurl's multi-socket interface, never blocking. A sweep timer resolves
 * the alerts of instances that have ended. Everything runs on the loop
 * thread, like every other use of the database.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "leakmond.h"
#include "webhook.h"

#define SWEEP_S 2.0	/* look for ended instances with open alerts */

struct lmd_alert {
	struct lm_webhook_sender *sender;
	ev_timer sweep;
	char host[256];
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

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct leakmond *d = w->data;
	struct lmd_alert *a = d->alert;
	struct lm_alert_summary sum = { 0 };
	struct lm_err err = { 0 };

	(void)loop;
	(void)revents;
	if (lm_alert_resolve_ended(d->store, webhooks_of, d, a->host, lmd_now_us(), &sum,
				   &err) < 0)
		lm_log(LM_LOG_WARNING, "alerts of ended processes: %s", err.msg);
	else if (sum.resolved)
		report(d, "(ended)", 0, &sum);
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
	if (lm_alert_evaluate(d->store, inst->instance_id, &s,
			      (const char *const *)t->conf->detect.webhooks,
			      t->conf->detect.nwebhooks, a->host, job->census->taken_at_us,
			      &sum, &err) < 0) {
		lm_log(LM_LOG_WARNING, "target %s: pid %d: leak detection: %s", t->name,
		       (int)job->id.pid, err.msg);
		return;
	}
	report(d, t->name, job->id.pid, &sum);
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
