/* SPDX-License-Identifier: MIT */
/*
 * cmd_report.c - `leakmon report`: leakmond's history as one self-contained
 * HTML page (lib/report.c draws it), for a browser, a ticket or a mail.
 *
 * The database is opened read-only (WAL: never blocks the daemon); the page
 * is written to FILE.tmp and renamed, so an existing report is replaced
 * whole or not at all.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "report.h"
#include "store.h"

#define DEFAULT_SINCE_MS (7ULL * 24 * 3600 * 1000)
#define DEFAULT_TYPES 5

static void report_usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmon report [--db FILE] [--target NAME] [--since DURATION]\n"
		"                      [--types N] -o FILE.html\n\n"
		"leakmond's history as one HTML page that needs nothing else (inline SVG,\n"
		"no script, works offline): per target and process, the growing types'\n"
		"bytes over time, the heap in use and RSS against the memory limit, the\n"
		"snapshot pauses, and the alerts with their time to the limit and holder\n"
		"chains.\n\n"
		"  --db FILE         the database (default %s)\n"
		"  --target NAME     only this target ([target NAME] in leakmond.conf)\n"
		"  --since DURATION  history of the last DURATION (default 7d; e.g. 12h, 30d)\n"
		"  --types N         growing types charted per process (1-10, default %d)\n"
		"  -o, --output FILE the page to write (replaced whole)\n"
		"  -h, --help        this text\n\n"
		"See leakmon --help for exit codes.\n", LM_STORE_DEFAULT_PATH, DEFAULT_TYPES);
}

struct report_args {
	const char *db, *target, *output;
	uint64_t since_ms;
	size_t types;
};

/* 0: go on; 1: --help was printed; -LM_EINVAL: a usage error (printed). */
static int parse_args(int argc, char **argv, struct report_args *a)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "target", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 's' },
		{ "types", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	long v;
	int c;

	a->db = LM_STORE_DEFAULT_PATH;
	a->target = a->output = NULL;
	a->since_ms = DEFAULT_SINCE_MS;
	a->types = DEFAULT_TYPES;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a->db = optarg; break;
		case 't': a->target = optarg; break;
		case 'o': a->output = optarg; break;
		case 's':
			if (lm_parse_duration_ms(optarg, &a->since_ms) < 0 || !a->since_ms) {
				lm_cli_usage_error("report", "--since wants a duration like 12h or 7d, "
						   "not '%s'", optarg);
				return -LM_EINVAL;
			}
			break;
		case 'n':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 10) {
				lm_cli_usage_error("report", "--types wants a number from 1 to 10, not '%s'",
						   optarg);
				return -LM_EINVAL;
			}
			a->types = (size_t)v;
			break;
		case 'h':
			report_usage(stdout);
			return 1;
		default:
			lm_cli_usage_error("report", "unknown option");
			return -LM_EINVAL;
		}
	}
	if (optind < argc) {
		lm_cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
		return -LM_EINVAL;
	}
	if (!a->output) {
		lm_cli_usage_error("report", "say where to write the page: -o FILE.html");
		return -LM_EINVAL;
	}
	return 0;
}

static int write_page(struct lm_store *st, const struct report_args *a)
{
	struct lm_report_opts o = { .target = a->target, .types = a->types, .source = a->db };
	struct lm_err err = { 0 };
	char tmp[4096];
	size_t n = 0;
	FILE *f;
	int r;

	o.since_us = (int64_t)time(NULL) * 1000000 - (int64_t)a->since_ms * 1000;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", a->output) >= sizeof(tmp)) {
		fprintf(stderr, "leakmon report: -o %s: path too long\n", a->output);
		return LM_EXIT_USAGE;
	}
	if (!(f = fopen(tmp, "we"))) {
		fprintf(stderr, "leakmon report: cannot write %s: %s (does the directory exist?)\n",
			tmp, strerror(errno));
		return LM_EXIT_IO;
	}
	r = lm_report_write(st, &o, f, &n, &err);
	if (fclose(f) != 0 && r == 0)
		r = lm_err_set(&err, LM_EIO, "cannot write %s", tmp);
	if (r == 0 && rename(tmp, a->output) < 0)
		r = lm_err_set(&err, LM_EIO, "cannot rename %s to %s: %s", tmp, a->output,
			       strerror(errno));
	if (r < 0) {
		unlink(tmp);
		lm_cli_error(&err);
		return r == -LM_EIO ? LM_EXIT_IO : LM_EXIT_FAILURE;
	}
	if (a->target && !n) {
		fprintf(stderr, "leakmon report: no snapshot of a target named '%s' in %s in that "
			"period (wrote an empty report to %s)\n", a->target, a->db, a->output);
		return LM_EXIT_NOTFOUND;
	}
	printf("%s: %zu process%s\n", a->output, n, n == 1 ? "" : "es");
	return LM_EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
	struct lm_err err = { 0 };
	struct report_args a;
	struct lm_store *st;
	int rc = parse_args(argc, argv, &a);

	if (rc)
		return rc < 0 ? lm_exit_code(rc) : LM_EXIT_OK;
	rc = lm_store_open(a.db, LM_STORE_READONLY, &st, &err);
	if (rc < 0) {
		if (-rc == LM_ENOTFOUND) {
			fprintf(stderr, "leakmon report: %s; pass --db FILE (leakmond writes the file "
				"named by 'database =' in leakmond.conf, default %s)\n", err.msg,
				LM_STORE_DEFAULT_PATH);
			return LM_EXIT_IO;
		}
		lm_cli_error(&err);
		return lm_exit_code(rc);	/* LM_EDB: LM_EXIT_FAILURE */
	}
	rc = write_page(st, &a);
	lm_store_close(st);
	return rc;
}
