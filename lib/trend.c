/* SPDX-License-Identifier: MIT */
/*
 * trend.c - Theil-Sen slope, Sen's interval, Mann-Kendall test, and the
 * shape tests that tell a leak from a cache, a step or a sawtooth.
 *
 * See trend.h for the method and why. Everything here is plain arithmetic
 * on the caller's arrays: no I/O, no global state. The cost is O(n^2) in
 * the number of samples after reduction (at most LM_TREND_HARD_MAX).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trend.h"

#define DEFAULT_MIN_SAMPLES 8
#define DEFAULT_ALPHA 0.001
#define DEFAULT_CI 0.95

/* The floor must rise by at least this share of what the slope predicts. */
#define FLOOR_SHARE 0.5
/* Each third's upper slope bound must reach this share of the slope. */
#define PART_SHARE 0.5
/* The later half's upper slope bound must reach this share of the earlier
 * half's lower bound. */
#define DECEL_SHARE 0.5

double lm_norm_sf(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

/* Bisection on the monotone tail: 200 halvings are far below double
 * precision and cost nothing next to the O(n^2) work. */
double lm_norm_isf(double p)
{
	double lo = -40, hi = 40;
	int i;

	if (!(p > 0))
		return INFINITY;
	if (!(p < 1))
		return -INFINITY;
	for (i = 0; i < 200; i++) {
		double mid = 0.5 * (lo + hi);
		if (lm_norm_sf(mid) > p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

const char *lm_trend_verdict_name(int verdict)
{
	switch (verdict) {
	case LM_TREND_FEW: return "few-samples";
	case LM_TREND_FLAT: return "flat";
	case LM_TREND_SLOW: return "slow";
	case LM_TREND_FLOOR: return "floor-flat";
	case LM_TREND_STOPPED: return "stopped";
	case LM_TREND_GROWING: return "growing";
	}
	return "unknown";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Quantile q in [0, 1] of v[0..n) (sorted in place), linear interpolation. */
static double quantile(double *v, size_t n, double q)
{
	double pos, frac;
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	if (i + 1 >= n)
		return v[n - 1];
	frac = pos - (double)i;
	return v[i] + frac * (v[i + 1] - v[i]);
}

/* Mann-Kendall S and its variance with the tie correction
 * var = [n(n-1)(2n+5) - sum over tie groups t(t-1)(2t+5)] / 18. */
static void mann_kendall(const double *y, size_t n, double *scratch,
			 double *s_out, double *var_out)
{
	double s = 0, var, dn = (double)n;
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			s += (y[j] > y[i]) - (y[j] < y[i]);
	var = dn * (dn - 1) * (2 * dn + 5);
	memcpy(scratch, y, n * sizeof(*y));
	qsort(scratch, n, sizeof(*scratch), cmp_double);
	for (i = 0; i < n; i = j) {
		double tg;
		for (j = i + 1; j < n && scratch[j] == scratch[i]; j++)
			;
		tg = (double)(j - i);
		var -= tg * (tg - 1) * (2 * tg + 5);
	}
	*s_out = s;
	*var_out = var / 18;
}

/* Put the k-th smallest of v[lo..hi] at v[k], smaller ones before it and
 * larger ones after (Hoare's selection, median-of-three pivot): O(n) on
 * average, where sorting the n(n-1)/2 slopes would be O(n^2 log n). */
static void select_kth(double *v, size_t lo, size_t hi, size_t k)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		double a = v[lo], b = v[mid], c = v[hi], pivot, tmp;

		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				tmp = v[i];
				v[i] = v[j];
				v[j] = tmp;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

/*
 * Theil-Sen slope and Sen's interval: with N pairwise slopes in order and
 * C = z(ci) * sqrt(var S), the bounds are the slopes of rank (N - C)/2 and
 * (N + C)/2 + 1 (1-based). slopes must hold n(n-1)/2 doubles.
 * Returns the number of pairs (0: no two distinct times).
 */
static size_t sen_slope(const double *t, const double *y, size_t n,
			double var_s, double ci, double *slopes,
			double *slope, double *lo, double *hi)
{
	size_t i, j, m = 0, ilo, ihi, h;
	double c, m1, m2, below;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (t[j] > t[i])
				slopes[m++] = (y[j] - y[i]) / (t[j] - t[i]);
	if (m == 0) {
		*slope = *lo = *hi = 0;
		return 0;
	}
	h = m / 2;
	select_kth(slopes, 0, m - 1, h);
	if (m % 2) {
		*slope = slopes[h];
	} else {
		below = slopes[0];	/* the largest of the lower half */
		for (i = 1; i < h; i++)
			if (slopes[i] > below)
				below = slopes[i];
		*slope = 0.5 * (below + slopes[h]);
	}
	c = lm_norm_isf((1 - ci) / 2) * sqrt(var_s > 0 ? var_s : 0);
	m1 = ((double)m - c) / 2;
	m2 = ((double)m + c) / 2;
	/* 1-based rank r is index r - 1. */
	ilo = m1 < 1 ? 0 : (size_t)llround(m1) - 1;
	ihi = (size_t)(m2 + 1 > (double)m ? (double)m : llround(m2 + 1)) - 1;
	if (ilo > h)
		ilo = h;
	if (ihi < h)
		ihi = h;
	if (ilo < h)
		select_kth(slopes, 0, h - 1, ilo);
	if (ihi > h)
		select_kth(slopes, h + 1, m - 1, ihi);
	*lo = slopes[ilo];
	*hi = slopes[ihi];
	return m;
}

/* Reduce a long series to at most max points: mean time and median value
 * of consecutive blocks (medians keep the robustness to outliers). */
static int reduce(const double *t, const double *y, size_t n, size_t max,
		  double **rt, double **ry, size_t *rn)
{
	size_t k = (n + max - 1) / max, nb = (n + k - 1) / k, b;
	double *bt = malloc(nb * sizeof(*bt)), *by = malloc(nb * sizeof(*by));
	double tmp[LM_TREND_HARD_MAX];

	if (!bt || !by || k > LM_TREND_HARD_MAX) {
		free(bt);
		free(by);
		return -LM_ENOMEM;
	}
	for (b = 0; b < nb; b++) {
		size_t s = b * k, e = s + k < n ? s + k : n, i;
		double st = 0;
		for (i = s; i < e; i++) {
			st += t[i];
			tmp[i - s] = y[i];
		}
		bt[b] = st / (double)(e - s);
		by[b] = quantile(tmp, e - s, 0.5);
	}
	*rt = bt;
	*ry = by;
	*rn = nb;
	return 0;
}

static void fill_defaults(const struct lm_trend_opts *in, struct lm_trend_opts *o)
{
	*o = *in;
	if (!o->min_samples)
		o->min_samples = DEFAULT_MIN_SAMPLES;
	if (o->min_samples < 3)
		o->min_samples = 3;
	if (!(o->alpha > 0 && o->alpha < 1))
		o->alpha = DEFAULT_ALPHA;
	if (!(o->ci > 0 && o->ci < 1))
		o->ci = DEFAULT_CI;
	if (!o->max_samples)
		o->max_samples = LM_TREND_MAX_SAMPLES;
	if (o->max_samples > LM_TREND_HARD_MAX)
		o->max_samples = LM_TREND_HARD_MAX;
	if (o->max_samples < o->min_samples)
		o->max_samples = o->min_samples;
}

static int check_input(const double *t, const double *y, size_t n,
		       struct lm_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isfinite(t[i]) || !isfinite(y[i]))
			return lm_err_set(err, LM_EINVAL,
					  "trend: sample %zu is not a finite number", i);
		if (i && t[i] < t[i - 1])
			return lm_err_set(err, LM_EINVAL,
					  "trend: sample %zu is older than the one before it; give samples oldest first", i);
	}
	return 0;
}

/* The statistics on n <= LM_TREND_HARD_MAX samples. */
static int fit_reduced(const double *t, const double *y, size_t n,
		       const struct lm_trend_opts *o, struct lm_trend *tr,
		       struct lm_err *err)
{
	size_t npairs = n * (n - 1) / 2, i;
	double *slopes = malloc((npairs > n ? npairs : n) * sizeof(*slopes));

	if (!slopes)
		return lm_err_set(err, LM_ENOMEM, "trend: out of memory for %zu sample pairs", npairs);
	mann_kendall(y, n, slopes, &tr->s, &tr->var_s);
	if (tr->var_s > 0) {
		double s = tr->s;
		s = s > 0 ? s - 1 : s < 0 ? s + 1 : 0;
		tr->z = s / sqrt(tr->var_s);
		tr->p = lm_norm_sf(tr->z);
	} else {
		tr->z = 0;
		tr->p = 1;
	}
	sen_slope(t, y, n, tr->var_s, o->ci, slopes, &tr->slope,
		  &tr->slope_lo, &tr->slope_hi);
	/* Level at t1: the median of the residual intercepts. */
	for (i = 0; i < n; i++)
		slopes[i] = y[i] - tr->slope * (t[i] - tr->t1);
	tr->level = quantile(slopes, n, 0.5);
	free(slopes);

	if (tr->s <= 0 || !(tr->p < o->alpha) || !(tr->slope_lo > 0))
		tr->verdict = LM_TREND_FLAT;
	else if (tr->slope < o->min_rate)
		tr->verdict = LM_TREND_SLOW;
	else
		tr->verdict = LM_TREND_GROWING;
	return 0;
}

/* Samples of [a, b) in time, as an index range. */
static void time_range(const double *t, size_t n, double a, double b, int last,
		       size_t *s, size_t *e)
{
	size_t i = 0;

	while (i < n && t[i] < a)
		i++;
	*s = i;
	while (i < n && (t[i] < b || (last && t[i] <= b)))
		i++;
	*e = i;
}

/* Floor test: lower quartile of the last quarter against the first. */
static int floor_test(const double *t, const double *y, size_t n,
		      struct lm_trend *tr, double *scratch)
{
	double q = (tr->t1 - tr->t0) / 4, fa, fb, ca = 0, cb = 0;
	size_t as, ae, bs, be, i;

	time_range(t, n, tr->t0, tr->t0 + q, 0, &as, &ae);
	time_range(t, n, tr->t1 - q, tr->t1, 1, &bs, &be);
	if (ae - as < 2 || be - bs < 2)
		return 1;	/* too few to judge: do not veto */
	for (i = as; i < ae; i++)
		ca += t[i];
	for (i = bs; i < be; i++)
		cb += t[i];
	ca /= (double)(ae - as);
	cb /= (double)(be - bs);
	memcpy(scratch, y + as, (ae - as) * sizeof(*y));
	fa = quantile(scratch, ae - as, 0.25);
	memcpy(scratch, y + bs, (be - bs) * sizeof(*y));
	fb = quantile(scratch, be - bs, 0.25);
	tr->floor_rise = fb - fa;
	tr->floor_expected = tr->slope * (cb - ca);
	return tr->floor_rise >= FLOOR_SHARE * tr->floor_expected;
}

/* Theil-Sen slope and interval of the samples in [a, b) (b included when
 * last); 0 when fewer than 3 samples. */
static int part_slope(const double *t, const double *y, size_t n, double a,
		      double b, int last, double ci, double *slopes,
		      double *scratch, double *sl, double *lo, double *hi)
{
	size_t s, e;
	double ms, var;

	time_range(t, n, a, b, last, &s, &e);
	if (e - s < 3)
		return 0;
	mann_kendall(y + s, e - s, scratch, &ms, &var);
	return sen_slope(t + s, y + s, e - s, var, ci, slopes, sl, lo, hi) > 0;
}

/*
 * Persistence test: every third consistent with the overall slope (its
 * upper bound reaches PART_SHARE of it), and no significant deceleration
 * (the later half's upper bound reaches DECEL_SHARE of the earlier half's
 * lower bound): a cache that fills decelerates, a leak does not.
 */
static int persistence_test(const double *t, const double *y, size_t n,
			    const struct lm_trend_opts *o, struct lm_trend *tr,
			    double *slopes, double *scratch)
{
	double third = (tr->t1 - tr->t0) / 3, half = (tr->t1 - tr->t0) / 2;
	double sl, lo1, hi1, lo2, hi2;
	int k, ok = 1;

	for (k = 0; k < 3; k++) {
		double lo, hi;
		tr->part_slope_hi[k] = NAN;
		if (!part_slope(t, y, n, tr->t0 + k * third, tr->t0 + (k + 1) * third,
				k == 2, o->ci, slopes, scratch, &sl, &lo, &hi))
			continue;
		tr->part_slope_hi[k] = hi;
		if (hi < PART_SHARE * tr->slope) {
			ok = 0;
			if (k == 2)
				tr->recent_flat = 1;
		}
	}
	if (part_slope(t, y, n, tr->t0, tr->t0 + half, 0, o->ci, slopes, scratch,
		       &sl, &lo1, &hi1) &&
	    part_slope(t, y, n, tr->t0 + half, tr->t1, 1, o->ci, slopes, scratch,
		       &sl, &lo2, &hi2) &&
	    lo1 > 0 && hi2 < DECEL_SHARE * lo1) {
		tr->decelerating = 1;
		ok = 0;
	}
	return ok;
}

static int fit_common(const double *t, const double *y, size_t n,
		      const struct lm_trend_opts *opts, struct lm_trend *tr,
		      int shape, struct lm_err *err)
{
	struct lm_trend_opts o;
	double *rt = NULL, *ry = NULL, *slopes = NULL, *scratch = NULL;
	const double *ut = t, *uy = y;
	size_t un = n;
	int rc;

	memset(tr, 0, sizeof(*tr));
	tr->part_slope_hi[0] = tr->part_slope_hi[1] = tr->part_slope_hi[2] = NAN;
	tr->p = 1;
	fill_defaults(opts, &o);
	rc = check_input(t, y, n, err);
	if (rc)
		return rc;
	if (n > o.max_samples) {
		if (reduce(t, y, n, o.max_samples, &rt, &ry, &un))
			return lm_err_set(err, LM_ENOMEM, "trend: cannot reduce %zu samples", n);
		ut = rt;
		uy = ry;
	}
	tr->n = un;
	if (un) {
		tr->t0 = ut[0];
		tr->t1 = ut[un - 1];
	}
	if (un < o.min_samples || !(tr->t1 > tr->t0)) {
		tr->verdict = LM_TREND_FEW;
		goto out;
	}
	rc = fit_reduced(ut, uy, un, &o, tr, err);
	if (rc || !shape || tr->verdict != LM_TREND_GROWING)
		goto out;
	slopes = malloc((un * (un - 1) / 2 + 1) * sizeof(*slopes));
	scratch = malloc(un * sizeof(*scratch));
	if (!slopes || !scratch) {
		rc = lm_err_set(err, LM_ENOMEM, "trend: out of memory for the shape tests");
		goto out;
	}
	/* Both tests always run: lib/alert keeps an open alert on the
	 * recent-growth part alone. */
	tr->floor_ok = floor_test(ut, uy, un, tr, scratch);
	tr->persist_ok = persistence_test(ut, uy, un, &o, tr, slopes, scratch);
	if (!tr->floor_ok)
		tr->verdict = LM_TREND_FLOOR;
	else if (!tr->persist_ok)
		tr->verdict = LM_TREND_STOPPED;
out:
	free(rt);
	free(ry);
	free(slopes);
	free(scratch);
	return rc;
}

int lm_trend_fit(const double *t, const double *y, size_t n,
		 const struct lm_trend_opts *opts, struct lm_trend *out,
		 struct lm_err *err)
{
	return fit_common(t, y, n, opts, out, 0, err);
}

int lm_trend_assess(const double *t, const double *y, size_t n,
		    const struct lm_trend_opts *opts, struct lm_trend *out,
		    struct lm_err *err)
{
	return fit_common(t, y, n, opts, out, 1, err);
}
