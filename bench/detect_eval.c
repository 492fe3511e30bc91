/* SPDX-License-Identifier: MIT */
/*
 * detect_eval.c - evaluation harness of the leak detector (lib/alert.c, lib/trend.c).
 *
 * Synthetic memory series with ground truth, run sample by sample through
 * the same library calls the daemon makes (lm_alert_window_start,
 * lm_trend_fit + lm_alert_eta for the time to limit, lm_alert_judge,
 * lm_alert_step), with the default settings of leakmond.conf(5) except
 * where noted: one sample every 10 minutes, 24 h window, 2 h warm-up,
 * min_rate 1 MiB/h, 12 samples minimum, limit 2 GiB, resolve_after 2 h.
 *
 * For every shape and several seeds it prints: how many runs raised an
 * alert, precision (alerts opened while a leak is really there / all
 * alerts opened), recall (leaking runs detected), the detection delay in
 * samples after the leak started, and the error of the time to limit
 * (point estimate, and the pessimistic one) against the truth
 * (limit - noise-free level) / true rate, as the median over every
 * evaluation while the alert is open.
 *
 *   detect_eval [--runs N] [--check] [--verbose] [--shape SUBSTRING]
 *
 * --check exits 1 unless: no alert on any non-leak shape, every leaking
 * run detected, and the median time-to-limit error of the steady leaks
 * within 20%.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "trend.h"

#define MiB (1024.0 * 1024.0)
#define STEP_S 600.0			/* one sample every 10 minutes */
#define NSAMPLES (5 * 24 * 6)		/* five days */
#define BASE (200 * MiB)
#define LIMIT (2048 * MiB)

struct rng { unsigned long long s; };

static double uniform(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (double)((r->s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double gauss(struct rng *r)
{
	double u = uniform(r), v = uniform(r);
	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

struct shape {
	const char *name;
	int leak;		/* ground truth */
	double rate;		/* bytes per hour of the leak */
	double leak_start_h;	/* the leak begins here */
	int steady;		/* time to limit checked within 20% */
	/* value at hour h without noise (the leak part included) */
	double (*clean)(const struct shape *sh, double h, struct rng *r);
	double noise;		/* Gaussian sigma, bytes */
	double outliers;	/* share of samples replaced by wild values */
};

static double leak_part(const struct shape *sh, double h)
{
	return sh->leak && h > sh->leak_start_h ? sh->rate * (h - sh->leak_start_h) : 0;
}

static double f_steady(const struct shape *sh, double h, struct rng *r)
{
	return BASE + leak_part(sh, h);
}

/* Usage builds up for 3 hours, then is released (GC, flush, batch). */
static double f_sawtooth(const struct shape *sh, double h, struct rng *r)
{
	double phase = fmod(h, 3.0) / 3.0;
	return BASE + 300 * MiB * phase + leak_part(sh, h);
}

/* A cache that fills (time constant 1.5 h) to 300 MiB, then stays. */
static double f_cache(const struct shape *sh, double h, struct rng *r)
{
	return BASE + 300 * MiB * (1 - exp(-h / 1.5));
}

/* One step up of 200 MiB on day 2. */
static double f_step(const struct shape *sh, double h, struct rng *r)
{
	return BASE + (h >= 40 ? 200 * MiB : 0);
}

/* Warm-up: 400 MiB in the first 1.5 hours (caches, pools, JIT), then flat
 * - or then the leak, for the warm-up + slow leak shape. */
static double f_warmup(const struct shape *sh, double h, struct rng *r)
{
	return BASE + 400 * MiB * (h < 1.5 ? h / 1.5 : 1) + leak_part(sh, h);
}

/* Bursts: 8% of samples see a batch holding 100-600 MiB. */
static double f_bursty(const struct shape *sh, double h, struct rng *r)
{
	double v = BASE + leak_part(sh, h);
	if (uniform(r) < 0.08)
		v += (100 + 500 * uniform(r)) * MiB;
	return v;
}

static const struct shape shapes[] = {
	{ "steady 20 MiB/h", 1, 20 * MiB, 0, 1, f_steady, 2 * MiB, 0 },
	{ "steady 12 MiB/h", 1, 12 * MiB, 0, 1, f_steady, 2 * MiB, 0 },
	{ "steady 1.5 MiB/h", 1, 1.5 * MiB, 0, 1, f_steady, 1 * MiB, 0 },
	{ "leak in heavy noise", 1, 4 * MiB, 0, 0, f_steady, 40 * MiB, 0.05 },
	{ "warm-up then slow leak", 1, 2 * MiB, 1.5, 0, f_warmup, 2 * MiB, 0 },
	{ "sawtooth + leak", 1, 3 * MiB, 0, 0, f_sawtooth, 2 * MiB, 0 },
	{ "bursty + leak", 1, 3 * MiB, 0, 0, f_bursty, 2 * MiB, 0 },
	{ "sawtooth", 0, 0, 0, 0, f_sawtooth, 2 * MiB, 0 },
	{ "cache fills, then flat", 0, 0, 0, 0, f_cache, 2 * MiB, 0 },
	{ "single step up", 0, 0, 0, 0, f_step, 2 * MiB, 0 },
	{ "warm-up", 0, 0, 0, 0, f_warmup, 2 * MiB, 0 },
	{ "bursty usage", 0, 0, 0, 0, f_bursty, 2 * MiB, 0 },
	{ "flat, heavy noise", 0, 0, 0, 0, f_steady, 40 * MiB, 0.05 },
};

struct run_result {
	int opened;		/* alerts opened */
	int true_open;		/* opened while the leak was there */
	int detected_at;	/* sample index, -1 */
	int level;		/* highest level */
	double eta_err_med;	/* median |relative error| while open */
	double eta_pess_err_med;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int run_one(const struct shape *sh, const struct lm_alert_settings *s,
		   unsigned seed, struct run_result *res, int verbose)
{
	static double t[NSAMPLES], y[NSAMPLES], truth[NSAMPLES];
	double errs[NSAMPLES], perrs[NSAMPLES];
	size_t nerr = 0, i;
	struct rng r = { 0x9e3779b97f4a7c15ULL ^ ((unsigned long long)seed * 0xbf58476d1ce4e5b9ULL) };
	struct lm_alert_track track = { 0 };
	struct lm_err err;

	memset(res, 0, sizeof(*res));
	res->detected_at = -1;
	for (i = 0; i < 16; i++)
		uniform(&r);
	for (i = 0; i < NSAMPLES; i++) {
		double h = (double)i * STEP_S / 3600;
		t[i] = (double)i * STEP_S;
		truth[i] = sh->clean(sh, h, &r);
		y[i] = truth[i] + sh->noise * gauss(&r);
		if (sh->outliers > 0 && uniform(&r) < sh->outliers)
			y[i] += (uniform(&r) - 0.3) * 8 * sh->noise;
	}
	for (i = 0; i < NSAMPLES; i++) {
		int64_t now = (int64_t)(t[i] * 1e6);
		int64_t since = lm_alert_window_start(s, 0, now);
		size_t first = 0, n;
		struct lm_trend proc, tr;
		struct lm_alert_eta eta;
		struct lm_trend_opts o = { 0 };
		int growing, level, change;
		double h = t[i] / 3600;

		while (first <= i && t[first] * 1e6 < (double)since)
			first++;
		n = i + 1 - first;
		o.min_samples = s->min_samples;
		o.alpha = s->alpha;
		/* The time to limit from the whole process (here the series
		 * itself), then the series judged with it, as lib/alert does. */
		if (lm_trend_fit(t + first, y + first, n, &o, &proc, &err)) {
			fprintf(stderr, "detect_eval: %s\n", err.msg);
			return -1;
		}
		lm_alert_eta(&proc, LIMIT, &eta);
		if (lm_alert_judge(s, t + first, y + first, n, track.open, eta.eta_sure_s,
				   &tr, &growing, &level, &err)) {
			fprintf(stderr, "detect_eval: %s\n", err.msg);
			return -1;
		}
		change = lm_alert_step(&track, growing, level, now, s);
		if (change == LM_ALERT_OPENED) {
			int real = sh->leak && h >= sh->leak_start_h;
			res->opened++;
			res->true_open += real;
			if (real && res->detected_at < 0)
				res->detected_at = (int)i;
			if (verbose)
				fprintf(stderr, "  seed %u: opened at sample %zu (%.1f h) %s, %.2f MiB/h, eta %.1f h\n",
					seed, i, h, lm_alert_level_name(level), tr.slope * 3600 / MiB,
					eta.eta_s / 3600);
		} else if (change == LM_ALERT_RESOLVED && verbose) {
			fprintf(stderr, "  seed %u: resolved at sample %zu (%.1f h)\n", seed, i, h);
		} else if (verbose && i % 36 == 0 && tr.verdict >= LM_TREND_SLOW) {
			fprintf(stderr, "  seed %u: %.0f h verdict %s slope %.2f MiB/h floor %.1f/%.1f parts %.2f %.2f %.2f\n",
				seed, h, lm_trend_verdict_name(tr.verdict), tr.slope * 3600 / MiB,
				tr.floor_rise / MiB, tr.floor_expected / MiB,
				tr.part_slope_hi[0] * 3600 / MiB, tr.part_slope_hi[1] * 3600 / MiB,
				tr.part_slope_hi[2] * 3600 / MiB);
		}
		if (track.open && track.level > res->level)
			res->level = track.level;
		if (track.open && sh->leak && h >= sh->leak_start_h && isfinite(eta.eta_s)) {
			/* noise-free level: the clean curve (bursts excluded) */
			double true_eta = (LIMIT - (BASE + leak_part(sh, h) +
					     (sh->clean == f_warmup ? 400 * MiB : 0))) /
				   sh->rate * 3600;
			if (sh->clean == f_steady || sh->clean == f_warmup) {
				errs[nerr] = fabs(eta.eta_s - true_eta) / true_eta;
				perrs[nerr] = fabs(eta.eta_pess_s - true_eta) / true_eta;
				nerr++;
			}
		}
	}
	res->eta_err_med = median(errs, nerr);
	res->eta_pess_err_med = median(perrs, nerr);
	return 0;
}

int main(int argc, char **argv)
{
	struct lm_alert_settings s;
	unsigned runs = 10, k;
	int check = 0, verbose = 0, bad = 0, a;
	const char *only = NULL;
	size_t i;
	int tp_all = 0, opened_all = 0;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--runs") && a + 1 < argc)
			runs = (unsigned)atoi(argv[++a]);
		else if (!strcmp(argv[a], "--check"))
			check = 1;
		else if (!strcmp(argv[a], "--verbose"))
			verbose = 1;
		else if (!strcmp(argv[a], "--shape") && a + 1 < argc)
			only = argv[++a];
		else {
			fprintf(stderr, "usage: detect_eval [--runs N] [--check] [--verbose] [--shape SUBSTRING]\n");
			return 2;
		}
	}
	lm_alert_settings_default(&s);
	s.warmup_us = 2LL * 3600 * 1000000;

	printf("# detector evaluation: %u runs per shape, %d samples of 10 min, window 24 h, warmup 2 h\n",
	       runs, NSAMPLES);
	printf("%-24s %4s %6s %9s %7s %9s %9s %9s %9s %-8s\n", "shape", "leak", "alerts",
	       "precision", "recall", "delay_med", "delay_max", "eta_err", "eta_pess", "level");
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape *sh = &shapes[i];
		double delays[256], eerr[256], perr[256];
		size_t nd = 0, ne = 0;
		int opened = 0, tp = 0, detected = 0, maxlevel = 0;
		char prec[16], rec[16], dmed[16], dmax[16], ee[16], pe[16];

		if (only && !strstr(sh->name, only))
			continue;
		if (verbose)
			fprintf(stderr, "%s\n", sh->name);
		for (k = 0; k < runs && k < 256; k++) {
			struct run_result res;
			if (run_one(sh, &s, k + 1, &res, verbose))
				return 99;
			opened += res.opened;
			tp += res.true_open;
			if (res.level > maxlevel)
				maxlevel = res.level;
			if (res.detected_at >= 0) {
				detected++;
				delays[nd++] = res.detected_at - sh->leak_start_h * 3600 / STEP_S;
			}
			if (!isnan(res.eta_err_med)) {
				eerr[ne] = res.eta_err_med;
				perr[ne++] = res.eta_pess_err_med;
			}
		}
		tp_all += tp;
		opened_all += opened;
		snprintf(prec, sizeof(prec), opened ? "%.2f" : "-", opened ? (double)tp / opened : 0);
		snprintf(rec, sizeof(rec), sh->leak ? "%.2f" : "-", (double)detected / runs);
		if (nd) {
			double dm = median(delays, nd);
			snprintf(dmed, sizeof(dmed), "%.0f", dm);
			snprintf(dmax, sizeof(dmax), "%.0f", delays[nd - 1]);
		} else {
			snprintf(dmed, sizeof(dmed), "-");
			snprintf(dmax, sizeof(dmax), "-");
		}
		if (ne) {
			snprintf(ee, sizeof(ee), "%.1f%%", 100 * median(eerr, ne));
			snprintf(pe, sizeof(pe), "%.1f%%", 100 * median(perr, ne));
		} else {
			snprintf(ee, sizeof(ee), "-");
			snprintf(pe, sizeof(pe), "-");
		}
		printf("%-24s %4s %6d %9s %7s %9s %9s %9s %9s %-8s\n", sh->name,
		       sh->leak ? "yes" : "no", opened, prec, rec, dmed, dmax, ee, pe,
		       maxlevel ? lm_alert_level_name(maxlevel) : "-");
		if (!sh->leak && opened) {
			printf("FAIL: %s: %d alerts on a shape without a leak\n", sh->name, opened);
			bad = 1;
		}
		if (sh->leak && (unsigned)detected != runs) {
			printf("FAIL: %s: %u of %u leaking runs missed\n", sh->name,
			       runs - (unsigned)detected, runs);
			bad = 1;
		}
		if (sh->leak && opened != tp) {
			printf("FAIL: %s: %d alerts before the leak started\n", sh->name, opened - tp);
			bad = 1;
		}
		if (sh->steady && (!ne || !(median(eerr, ne) <= 0.20))) {
			printf("FAIL: %s: time to limit off by more than 20%%\n", sh->name);
			bad = 1;
		}
	}
	printf("# overall precision %.2f (%d of %d alerts on real leaks)\n",
	       opened_all ? (double)tp_all / opened_all : 1.0, tp_all, opened_all);
	return check && bad ? 1 : 0;
}
