/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - the pure part of leak detection (verdict.h): no database, no
 * clock; lib/alert.c and the evaluation harness (bench/detect_eval.c)
 * drive it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

#define US_PER_S 1000000.0
#define INFO_FULL_WINDOW 0.9	/* info needs growth over this share of the window */
#define INFO_ALPHA_SHARE 0.1	/* and a significance ten times stricter */
#define MIN_SPAN_SHARE 0.25	/* any alert needs growth over this share of the window */

int64_t lm_alert_window_start(const struct lm_alert_settings *s,
			      int64_t started_at_us, int64_t now_us)
{
	int64_t a = now_us - s->window_us, b = started_at_us + s->warmup_us;
	return a > b ? a : b;
}

void lm_alert_eta(const struct lm_trend *proc, double limit,
		  struct lm_alert_eta *out)
{
	double dist;

	out->limit = limit;
	out->level = proc->level;
	out->eta_s = out->eta_pess_s = out->eta_sure_s = INFINITY;
	/* Only a significantly increasing process has a time to limit. */
	if (proc->verdict == LM_TREND_FEW || proc->verdict == LM_TREND_FLAT)
		return;
	dist = limit - proc->level;
	if (dist < 0)
		dist = 0;
	if (proc->slope > 0)
		out->eta_s = dist / proc->slope;
	if (proc->slope_hi > 0)
		out->eta_pess_s = dist / proc->slope_hi;
	if (proc->slope_lo > 0)
		out->eta_sure_s = dist / proc->slope_lo;
}

static void judge_opts(const struct lm_alert_settings *s, int is_open,
		       struct lm_trend_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_samples = s->min_samples;
	o->min_rate = s->min_rate / 3600 * (is_open ? 0.5 : 1);
	o->alpha = is_open ? LM_ALERT_KEEP_ALPHA : (s->alpha > 0 ? s->alpha : 0.001);
	/* Keeping asks "has growth clearly stopped?": wider intervals. */
	o->ci = is_open ? LM_ALERT_KEEP_CI : 0;
}

/* The strict test on the series as it was at the previous snapshots too:
 * a single lucky window cannot open an alert. */
static int confirmed(const struct lm_alert_settings *s, const double *t,
		     const double *y, size_t n)
{
	struct lm_trend_opts o;
	struct lm_trend tr;
	size_t k;

	judge_opts(s, 0, &o);
	for (k = 1; k < LM_ALERT_CONFIRM; k++) {
		if (n <= k || lm_trend_assess(t, y, n - k, &o, &tr, NULL) ||
		    tr.verdict != LM_TREND_GROWING)
			return 0;
	}
	return 1;
}

int lm_alert_judge(const struct lm_alert_settings *s, const double *t,
		   const double *y, size_t n, int is_open, double eta_level_s,
		   struct lm_trend *tr, int *growing, int *level,
		   struct lm_err *err)
{
	struct lm_trend_opts o;
	int rc;

	judge_opts(s, is_open, &o);
	rc = lm_trend_assess(t, y, n, &o, tr, err);
	*growing = 0;
	*level = LM_ALERT_NONE;
	if (rc)
		return rc;
	if (is_open) {
		/* Keep: still significant (loosely), and the recent part
		 * neither flat nor clearly slowing down. */
		*growing = (tr->verdict == LM_TREND_GROWING || tr->verdict == LM_TREND_FLOOR ||
			    tr->verdict == LM_TREND_STOPPED) &&
			   !tr->recent_flat && !tr->decelerating && tr->slope > 0;
	} else {
		/* Open: significant growth of the right shape, seen over a
		 * quarter of the window at least (a shorter stretch cannot
		 * tell a leak from a cache still filling), three times. */
		*growing = tr->verdict == LM_TREND_GROWING && tr->slope_lo > 0 &&
			   tr->t1 - tr->t0 >= MIN_SPAN_SHARE * (double)s->window_us / US_PER_S &&
			   confirmed(s, t, y, n);
	}
	if (!*growing)
		return 0;
	if (eta_level_s <= (double)s->urgent_horizon_us / US_PER_S)
		*level = LM_ALERT_CRITICAL;
	else if (eta_level_s <= (double)s->alert_horizon_us / US_PER_S)
		*level = LM_ALERT_WARNING;
	else if (is_open)
		*level = LM_ALERT_INFO;
	else if (tr->t1 - tr->t0 >= INFO_FULL_WINDOW * (double)s->window_us / US_PER_S &&
		 tr->p < o.alpha * INFO_ALPHA_SHARE)
		*level = LM_ALERT_INFO;
	return 0;
}

int lm_alert_step(struct lm_alert_track *tr, int growing, int level,
		  int64_t now_us, const struct lm_alert_settings *s)
{
	if (!tr->open) {
		if (!growing || level == LM_ALERT_NONE)
			return LM_ALERT_UNCHANGED;
		tr->open = 1;
		tr->level = level;
		tr->opened_at_us = now_us;
		tr->quiet_since_us = 0;
		return LM_ALERT_OPENED;
	}
	if (growing) {
		tr->quiet_since_us = 0;
		if (level > tr->level) {
			tr->level = level;
			return LM_ALERT_ESCALATED;
		}
		return LM_ALERT_UNCHANGED;
	}
	if (!tr->quiet_since_us)
		tr->quiet_since_us = now_us;
	if (now_us - tr->quiet_since_us >= s->resolve_after_us) {
		tr->open = 0;
		return LM_ALERT_RESOLVED;
	}
	return LM_ALERT_UNCHANGED;
}

const char *lm_alert_level_name(int level)
{
	switch (level) {
	case LM_ALERT_INFO: return "info";
	case LM_ALERT_WARNING: return "warning";
	case LM_ALERT_CRITICAL: return "critical";
	}
	return "none";
}

int lm_alert_level_from_name(const char *name)
{
	int level;

	for (level = LM_ALERT_INFO; name && level <= LM_ALERT_CRITICAL; level++)
		if (!strcmp(name, lm_alert_level_name(level)))
			return level;
	return LM_ALERT_NONE;
}
