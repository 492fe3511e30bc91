/* SPDX-License-Identifier: MIT */
/*
 * t_trend.c - checks of lib/trend against values worked out by hand and
 * against shapes whose verdict is known. Prints one line per check and
 * exits 1 if any failed (tests/alert_trend.test runs it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trend.h"

static int failures;

static void check(int ok, const char *what, double got, double want)
{
	printf("%s %s (got %.6g, want %.6g)\n", ok ? "ok" : "FAIL", what, got, want);
	if (!ok)
		failures++;
}

static int near(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

static unsigned long long rng = 88172645463325252ULL;
static double unif(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
	double u = unif() + 1e-300, v = unif();
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The Theil-Sen slope computed the slow, obvious way. */
static double slow_median_slope(const double *t, const double *y, size_t n)
{
	double *v = malloc(n * n * sizeof(double)), r;
	size_t i, j, m = 0;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (t[j] > t[i])
				v[m++] = (y[j] - y[i]) / (t[j] - t[i]);
	qsort(v, m, sizeof(double), cmp);
	r = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
	free(v);
	return r;
}

static int verdict_of(const double *t, const double *y, size_t n, struct lm_trend *tr)
{
	struct lm_trend_opts o = { 0 };
	struct lm_err err;

	if (lm_trend_assess(t, y, n, &o, tr, &err)) {
		printf("FAIL assess: %s\n", err.msg);
		failures++;
		return -1;
	}
	return tr->verdict;
}

static void check_verdict(const char *what, const double *t, const double *y,
			  size_t n, int want)
{
	struct lm_trend tr;
	int v = verdict_of(t, y, n, &tr);

	printf("%s %s: %s (want %s; slope %.4g [%.4g, %.4g], p %.3g, floor %.4g/%.4g)\n",
	       v == want ? "ok" : "FAIL", what, lm_trend_verdict_name(v),
	       lm_trend_verdict_name(want), tr.slope, tr.slope_lo, tr.slope_hi, tr.p,
	       tr.floor_rise, tr.floor_expected);
	if (v != want)
		failures++;
}

int main(void)
{
	static double t[4000], y[4000];
	struct lm_trend_opts o = { 0 };
	struct lm_trend tr;
	struct lm_err err;
	size_t i, n;
	clock_t c0;

	/* Normal tail and its inverse. */
	check(near(lm_norm_sf(1.959964), 0.025, 1e-6), "norm_sf(1.96)", lm_norm_sf(1.959964), 0.025);
	check(near(lm_norm_isf(0.001), 3.090232, 1e-5), "norm_isf(0.001)", lm_norm_isf(0.001), 3.090232);

	/* Mann-Kendall by hand: 1..5 gives S = 10, var = 5*4*15/18. */
	o.min_samples = 3;
	for (i = 0; i < 5; i++) {
		t[i] = (double)i;
		y[i] = (double)i + 1;
	}
	lm_trend_fit(t, y, 5, &o, &tr, &err);
	check(tr.s == 10, "MK S of 1..5", tr.s, 10);
	check(near(tr.var_s, 50.0 / 3, 1e-9), "MK var of 1..5", tr.var_s, 50.0 / 3);
	check(tr.slope == 1, "Theil-Sen slope of 1..5", tr.slope, 1);
	check(near(tr.level, 5, 1e-12), "level at the last time", tr.level, 5);

	/* Ties: 1 1 2 3 gives S = 5, var = (4*3*13 - 2*1*9)/18, z = (S-1)/sd. */
	y[0] = 1; y[1] = 1; y[2] = 2; y[3] = 3;
	lm_trend_fit(t, y, 4, &o, &tr, &err);
	check(tr.s == 5, "MK S with a tie", tr.s, 5);
	check(near(tr.var_s, 138.0 / 18, 1e-9), "MK var with tie correction", tr.var_s, 138.0 / 18);
	check(near(tr.p, lm_norm_sf(4 / sqrt(138.0 / 18)), 1e-12), "MK one-sided p", tr.p,
	      lm_norm_sf(4 / sqrt(138.0 / 18)));

	/* Theil-Sen against the obvious computation, random data, odd and even
	 * pair counts, ties in time. */
	for (n = 5; n <= 60; n += 11) {
		for (i = 0; i < n; i++) {
			t[i] = (double)(i / 2 * 2) + (i % 7 == 3);
			y[i] = 3 * t[i] + 10 * gauss();
		}
		for (i = 1; i < n; i++)	/* keep t ascending */
			if (t[i] < t[i - 1])
				t[i] = t[i - 1];
		lm_trend_fit(t, y, n, &o, &tr, &err);
		{
			double want = slow_median_slope(t, y, n);
			char what[64];
			snprintf(what, sizeof(what), "Theil-Sen = sorted median, n=%zu", n);
			check(near(tr.slope, want, 1e-9 * (1 + fabs(want))), what, tr.slope, want);
			check(tr.slope_lo <= tr.slope && tr.slope <= tr.slope_hi,
			      "slope inside its interval", tr.slope_lo, tr.slope_hi);
		}
	}

	/* Robust to outliers: 20% wild values do not move the slope much. */
	for (i = 0; i < 200; i++) {
		t[i] = 600.0 * (double)i;
		y[i] = 1e8 + 50.0 * t[i] + 1e4 * gauss();
		if (i % 5 == 2)
			y[i] += 5e8 * unif();
	}
	lm_trend_fit(t, y, 200, &o, &tr, &err);
	check(near(tr.slope, 50, 5), "slope with 20% outliers", tr.slope, 50);
	check(tr.slope_lo < 50 && 50 < tr.slope_hi + 5, "true slope within the 95% interval (or close)",
	      tr.slope_lo, tr.slope_hi);

	/* Errors: time going backwards, NaN. */
	t[3] = t[2] - 1;
	check(lm_trend_fit(t, y, 10, &o, &tr, &err) == -LM_EINVAL, "time going backwards is refused", 0, 0);
	t[3] = t[2] + 1;
	y[4] = NAN;
	check(lm_trend_fit(t, y, 10, &o, &tr, &err) == -LM_EINVAL, "NaN is refused", 0, 0);

	/* Few samples. */
	for (i = 0; i < 5; i++) {
		t[i] = (double)i;
		y[i] = (double)i;
	}
	o.min_samples = 8;
	lm_trend_fit(t, y, 5, &o, &tr, &err);
	check(tr.verdict == LM_TREND_FEW, "5 samples < min_samples 8: few", tr.verdict, LM_TREND_FEW);

	/* Shapes, 144 samples (a day at 10 minutes), noise 1. */
	n = 144;
	for (i = 0; i < n; i++) {
		t[i] = 600.0 * (double)i;
		y[i] = 1000 + 0.5 * (double)i + gauss();
	}
	check_verdict("steady growth", t, y, n, LM_TREND_GROWING);
	for (i = 0; i < n; i++)
		y[i] = 1000 + gauss();
	check_verdict("flat noise", t, y, n, LM_TREND_FLAT);
	for (i = 0; i < n; i++)
		y[i] = 1000 + (i < 48 ? 1.5 * (double)i : 72) + gauss();
	check_verdict("fills then flat (plateau)", t, y, n, LM_TREND_STOPPED);
	for (i = 0; i < n; i++)
		y[i] = 1000 + (i >= 70 ? 60 : 0) + gauss();
	check_verdict("single step up", t, y, n, LM_TREND_STOPPED);
	for (i = 0; i < n; i++)	/* 20-sample cycles, 7.2 cycles in view */
		y[i] = 1000 + 5.0 * (double)((i + 6) % 20) + gauss();
	check_verdict("sawtooth without a leak", t, y, n, LM_TREND_FLAT);
	/* 35-sample cycles, 4.1 in view, starting at a trough: the extra ramp
	 * makes Mann-Kendall significant (p < 0.001); the floor test, which
	 * compares the lower quartiles of the first and last quarters, does
	 * not see the floor rise and rejects it. */
	for (i = 0; i < n; i++)
		y[i] = 1000 + 100.0 * (double)(i % 35) / 35 + 0.2 * ((double)((i * 7919) % 11) - 5);
	check_verdict("sawtooth, significant Mann-Kendall", t, y, n, LM_TREND_FLOOR);
	for (i = 0; i < n; i++)
		y[i] = 1000 + 5.0 * (double)((i + 6) % 20) + 0.5 * (double)i + gauss();
	check_verdict("sawtooth with a leak", t, y, n, LM_TREND_GROWING);
	for (i = 0; i < n; i++)
		y[i] = 1000 + 100 * (1 - exp(-(double)i / 20)) + gauss();
	check_verdict("cache filling (exponential), slowing down", t, y, n, LM_TREND_STOPPED);

	/* Bounded cost: 4000 samples are reduced to LM_TREND_MAX_SAMPLES. */
	for (i = 0; i < 4000; i++) {
		t[i] = 10.0 * (double)i;
		y[i] = 5e6 + 3.0 * (double)i + 50 * gauss();
	}
	c0 = clock();
	o.min_samples = 0;
	lm_trend_assess(t, y, 4000, &o, &tr, &err);
	check(tr.n <= LM_TREND_MAX_SAMPLES, "4000 samples reduced", (double)tr.n, LM_TREND_MAX_SAMPLES);
	check(tr.verdict == LM_TREND_GROWING && near(tr.slope, 0.3, 0.01),
	      "reduced series still growing at 0.3/s", tr.slope, 0.3);
	printf("# assess of 4000 samples: %.1f ms CPU\n",
	       (double)(clock() - c0) * 1000 / CLOCKS_PER_SEC);

	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
