/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the history as Prometheus metrics (text exposition format
 * 0.0.4), for leakmond's /metrics and for node_exporter's textfile
 * collector.
 *
 * lm_metrics_render() reads, for the processes the caller names, their
 * last census from the store and the alerts firing on them, and writes
 * every metric family in one text. Per target (labels `target`, and
 * `kind`, `type` for types):
 *
 *   leakmon_build_info{version}                   1
 *   leakmon_process_info{target,pid,exe}          1 per watched process
 *   leakmon_target_processes                      processes watched
 *   leakmon_type_bytes{target,kind,type}          the top N types by bytes
 *   leakmon_type_allocations{target,kind,type}    their allocation counts
 *   leakmon_heap_inuse_bytes / _free_bytes         malloc's totals
 *   leakmon_resident_memory_bytes                  RSS
 *   leakmon_memory_limit_bytes                     the limit alerts aim at
 *   leakmon_snapshot_pause_seconds / _walk_seconds last census
 *   leakmon_last_census_timestamp_seconds
 *   leakmon_snapshots_total{target,result}        counter, from the caller
 *   leakmon_alert_firing{target,kind,type,severity}  1 per firing alert
 *   leakmon_alert_growth_bytes_per_second{target,kind,type}
 *   leakmon_alert_time_to_limit_seconds{target,kind,type}
 *
 * A target with several processes (an exe = selector matching a pool)
 * gets their sum, and the top N types of that sum: the pid is never a
 * label of the gauges, so a restart does not start new series and the
 * number of series stays bounded by targets x N. Allocation counts are
 * not called *_count: that suffix belongs to histograms and summaries
 * (promtool rejects it on a gauge).
 *
 * Type names and exe paths come from the target: they go through
 * lm_escape() (valid UTF-8, no control character) and then the label
 * value escaping of the format (backslash, double quote, newline). Two
 * raw names that escape alike would make two identical series, which
 * Prometheus refuses: only the first (more bytes) is kept.
 */
#ifndef LM_METRICS_H
#define LM_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct lm_store;

/* Results of snapshot attempts, as the `result` label says them. */
enum lm_metrics_result {
	LM_METRICS_OK,
	LM_METRICS_PARTIAL,
	LM_METRICS_FAILED,
	LM_METRICS_ABANDONED,
	LM_METRICS_NRESULTS,
};
/* LM_STORE_OK... to the index above; -1 for anything else. */
int lm_metrics_result_index(const char *status);

struct lm_metrics_process {
	int64_t instance_id;		/* row in instances: its census comes from there */
	pid_t pid;
	const char *exe;		/* may be NULL */
	uint64_t memory_limit;		/* bytes, 0 = unknown */
};

struct lm_metrics_target {
	const char *name;
	const struct lm_metrics_process *procs;
	size_t nprocs;
	uint64_t snapshots[LM_METRICS_NRESULTS];	/* attempts so far */
};

/*
 * The exposition of targets[0..n) with at most top types each, into a new
 * NUL-terminated *text (free()) of *len bytes. version: for build_info.
 * Reads the store (its connection's thread only).
 */
int lm_metrics_render(struct lm_store *store, const struct lm_metrics_target *targets,
		      size_t n, size_t top, const char *version, char **text, size_t *len,
		      struct lm_err *err);

/*
 * Replace path with text atomically: write a temporary file beside it
 * (mode 0644), then rename it over path, so a reader (node_exporter) sees
 * the old file or the new one, never half of one.
 */
int lm_metrics_write_file(const char *path, const char *text, size_t len, struct lm_err *err);

/* Label value escaping of the text format: value (already lm_escape'd)
 * with \ " and newline as \\ \" \n, into out (cap bytes, always
 * terminated; cut short at a character boundary). Returns out. */
const char *lm_metrics_label_escape(const char *value, char *out, size_t cap);

#endif
