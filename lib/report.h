/* SPDX-License-Identifier: MIT */
/*
 * report.h - the history as one self-contained HTML page (`leakmon
 * report`): per target and process, inline SVG charts of the growing
 * types' bytes over time, the heap in use and RSS against the memory
 * limit, the snapshot pauses, and the alerts with their time to the limit
 * and holder chains. No script, stylesheet, font or image is loaded from
 * anywhere: the page works offline and from a mail attachment.
 *
 * Names from a target go through lm_escape() (no control character,
 * valid UTF-8) and then HTML escaping (& < > " '), so a type name cannot
 * open a tag.
 */
#ifndef LM_REPORT_H
#define LM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct lm_store;

struct lm_report_opts {
	const char *target;	/* NULL: every target */
	int64_t since_us;	/* history from this time on */
	size_t types;		/* growing types charted per process */
	const char *source;	/* the database's name, for the page header */
};

/* Write the page for the processes with a snapshot since o->since_us.
 * *nprocs (may be NULL) gets how many were reported. */
int lm_report_write(struct lm_store *store, const struct lm_report_opts *o, FILE *out,
		    size_t *nprocs, struct lm_err *err);

/* s with & < > " ' as entities, after lm_escape(); a new string. */
char *lm_report_html_escape(const char *s);

#endif
