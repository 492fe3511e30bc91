/* SPDX-License-Identifier: MIT */
/*
 * trend.h - is a series of (time, value) samples growing, how fast, and is
 * it a leak rather than a cache, a warm-up, a step or a sawtooth?
 *
 * Statistics (lm_trend_fit):
 *   - Theil-Sen slope: the median of the slopes of every pair of samples,
 *     robust to outliers (up to ~29% of the samples can be wild), with
 *     Sen's confidence interval from the distribution of Kendall's S.
 *   - Mann-Kendall test: S = sum of sign(y_j - y_i) over every pair i < j,
 *     variance corrected for ties, normal approximation with continuity
 *     correction, one-sided p-value for "increasing".
 *   O(n^2) in time and memory; longer series are first reduced to at most
 *   max_samples points by block medians, so the cost is bounded.
 *
 * Leak shape (lm_trend_assess), on top of a significant positive trend:
 *   - floor: a leak lifts the whole distribution, its low part included;
 *     a sawtooth (usage that builds up and is released) or bursty usage
 *     lifts only the peaks. The lower quartile of the last quarter of the
 *     window must exceed that of the first quarter by at least half of what
 *     the slope predicts between them.
 *   - persistence: a leak grows throughout the window; a cache that filled
 *     and stays flat, a warm-up that ended, or a single step up do not.
 *     Each third of the window must be consistent with growth: the upper
 *     bound of its own Theil-Sen slope must reach half the overall slope.
 *     And the growth must not decelerate: the upper slope bound of the
 *     later half must reach half the lower bound of the earlier half (a
 *     cache filling towards its size slows down; a leak does not).
 *     With heavy noise the bounds are wide and these tests do not get in
 *     the way; with clean data they reject flat stretches at once.
 *   Both need the window to be longer than the cycles and fills they must
 *   recognise: a sawtooth period longer than a quarter of the window, or a
 *   cache still filling across the whole window, look like growth (they are
 *   growth, as far as that window can tell).
 */
#ifndef LM_TREND_H
#define LM_TREND_H

#include <stddef.h>

#include "error.h"

/* Bounds on the work per series. */
#define LM_TREND_MAX_SAMPLES 256	/* default reduction target */
#define LM_TREND_HARD_MAX 1024		/* max_samples is capped here */

struct lm_trend_opts {
	size_t min_samples;	/* fewer: LM_TREND_FEW (0 = 8) */
	double min_rate;	/* value units per time unit; below: LM_TREND_SLOW */
	double alpha;		/* Mann-Kendall significance (0 = 0.001) */
	double ci;		/* two-sided confidence of the slope interval (0 = 0.95) */
	size_t max_samples;	/* 0 = LM_TREND_MAX_SAMPLES */
};

enum lm_trend_verdict {
	LM_TREND_FEW,		/* not enough samples */
	LM_TREND_FLAT,		/* no significant growth (or shrinking) */
	LM_TREND_SLOW,		/* significant, but slower than min_rate */
	LM_TREND_FLOOR,		/* the floor does not rise: sawtooth, bursts */
	LM_TREND_STOPPED,	/* part of the window is flat: plateau, step */
	LM_TREND_GROWING,	/* a leak, as far as the window can tell */
};

struct lm_trend {
	size_t n;		/* samples used (after reduction) */
	double t0, t1;		/* first and last time */
	double slope;		/* Theil-Sen, value units per time unit */
	double slope_lo, slope_hi;	/* Sen's interval at opts.ci */
	double level;		/* fitted value at t1 (median intercept) */
	double s, var_s, z, p;	/* Mann-Kendall; p one-sided, for growth */
	double floor_rise;	/* lower quartile, last quarter - first quarter */
	double floor_expected;	/* slope x distance between those quarters */
	double part_slope_hi[3];	/* upper slope bound of each third */
	int floor_ok, persist_ok;	/* shape tests passed (assess only) */
	int recent_flat;	/* the last third is flat */
	int decelerating;	/* the later half grows clearly slower */
	int verdict;		/* enum lm_trend_verdict */
};

/*
 * Theil-Sen and Mann-Kendall on n samples (t ascending). Fills every field
 * but the shape ones; verdict is FEW, FLAT or GROWING (significant with a
 * positive lower slope bound) or SLOW. Returns 0, or -LM_EINVAL (t not
 * ascending, non-finite values) / -LM_ENOMEM.
 */
int lm_trend_fit(const double *t, const double *y, size_t n,
		 const struct lm_trend_opts *opts, struct lm_trend *out,
		 struct lm_err *err);

/* lm_trend_fit, then the floor and persistence tests, which may turn
 * GROWING into FLOOR or STOPPED. */
int lm_trend_assess(const double *t, const double *y, size_t n,
		    const struct lm_trend_opts *opts, struct lm_trend *out,
		    struct lm_err *err);

/* "growing", "flat", ... */
const char *lm_trend_verdict_name(int verdict);

/* Standard normal upper tail, P(Z > z), and its inverse for p in (0, 1). */
double lm_norm_sf(double z);
double lm_norm_isf(double p);

#endif
