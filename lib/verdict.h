/* SPDX-License-Identifier: MIT */
/*
 * verdict.h - the verdicts of leak detection on one series, without a
 * database or a clock: is it growing (lm_alert_judge), what is the time to
 * the memory limit (lm_alert_eta), and how does an alert's lifecycle move
 * (lm_alert_step). alert.h says what the rules are and stores the results;
 * the evaluation harness (bench/detect_eval.c) drives these directly.
 */
#ifndef LM_VERDICT_H
#define LM_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "trend.h"

enum lm_alert_level {
	LM_ALERT_NONE,
	LM_ALERT_INFO,		/* long significant growth, limit far away */
	LM_ALERT_WARNING,	/* limit within alert_horizon */
	LM_ALERT_CRITICAL,	/* limit within urgent_horizon */
};

#define LM_ALERT_KIND_PROCESS "process"	/* pseudo kind: heap, memory */

/* Looser test that keeps an open alert open (hysteresis). */
#define LM_ALERT_KEEP_ALPHA 0.05
#define LM_ALERT_KEEP_CI 0.99
/* Opening needs the strict test to pass at this many consecutive
 * snapshots (the window as it was at each). */
#define LM_ALERT_CONFIRM 3

struct lm_alert_settings {
	int64_t warmup_us;		/* ignored after an instance starts */
	int64_t window_us;		/* history the trend looks at */
	size_t min_samples;
	double min_rate;		/* bytes per hour */
	int64_t alert_horizon_us;
	int64_t urgent_horizon_us;
	int64_t resolve_after_us;
	uint64_t memory_limit;		/* bytes; 0 = cgroup memory.max, else MemTotal */
	double alpha;			/* opening significance (0 = 0.001) */
	unsigned holders;		/* holder chains per firing alert; 0 = none */
};

/* The first time the trend may look at: max(now - window, start + warmup). */
int64_t lm_alert_window_start(const struct lm_alert_settings *s,
			      int64_t started_at_us, int64_t now_us);

/* Time to limit from the whole-process trend (value units: bytes, time
 * unit: seconds). INFINITY when not growing. */
struct lm_alert_eta {
	double limit;
	double level;		/* fitted current usage */
	double eta_s;		/* at the slope */
	double eta_pess_s;	/* at the upper bound of the slope */
	double eta_sure_s;	/* at the lower bound: what sets the level */
};
void lm_alert_eta(const struct lm_trend *proc, double limit,
		  struct lm_alert_eta *out);

/*
 * Judge one series (times in seconds, ascending; values) for opening
 * (is_open 0: strict test) or keeping (is_open 1: loose test) an alert.
 * *growing tells whether it passes; *level the level it would have now
 * given eta_level_s, the process's sure eta (NONE when it does not pass,
 * or when it would be info but the series is shorter than 90% of the
 * window).
 */
int lm_alert_judge(const struct lm_alert_settings *s, const double *t,
		   const double *y, size_t n, int is_open, double eta_level_s,
		   struct lm_trend *tr, int *growing, int *level,
		   struct lm_err *err);

/* Lifecycle of one (instance, kind, name). */
struct lm_alert_track {
	int open;
	int level;
	int64_t opened_at_us;
	int64_t quiet_since_us;	/* 0 while growth is seen */
};

enum lm_alert_change {
	LM_ALERT_UNCHANGED,
	LM_ALERT_OPENED,
	LM_ALERT_ESCALATED,	/* open, level rose */
	LM_ALERT_RESOLVED,
};

/* Advance the lifecycle at now_us with the judgement of this snapshot
 * (growing and level from lm_alert_judge with is_open = tr->open). */
int lm_alert_step(struct lm_alert_track *tr, int growing, int level,
		  int64_t now_us, const struct lm_alert_settings *s);

const char *lm_alert_level_name(int level);	/* "info", "warning", "critical" */
/* The way back, from the database's text: LM_ALERT_NONE for NULL or any
 * other text. */
int lm_alert_level_from_name(const char *name);

/* ---- what an evaluation did (lib/alert fills it, lib/incident adds to it) ---- */

/* A firing alert whose deliveries wait (state 'waiting') for the holder
 * chains of its type: the caller searches a snapshot of the instance
 * (lib/holders) and completes them with lm_outbox_release(). */
#define LM_ALERT_MAX_NEED 16
struct lm_alert_need {
	int64_t alert_row;	/* leak_alerts.id: webhook_deliveries.alert */
	char kind[16];
	char name[512];
};

struct lm_alert_summary {
	unsigned evaluated;	/* series judged */
	unsigned open;		/* alerts open after this evaluation */
	unsigned opened, escalated, resolved;
	unsigned queued;	/* webhook deliveries queued (waiting ones included) */
	unsigned nneed;		/* alerts waiting for holders */
	struct lm_alert_need need[LM_ALERT_MAX_NEED];
};

#endif
