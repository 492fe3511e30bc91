/* SPDX-License-Identifier: MIT */
/*
 * leakmond.h - the daemon's state, shared by daemon/leakmond*.c.
 *
 * One struct leakmond holds everything: the configuration, the database,
 * the libev loop (whose thread alone touches the database and these
 * structs), the targets with their live instances, and the snapshot
 * worker. Snapshots run on the worker thread; their results come back to
 * the loop, are stored, then handed to on_snapshot_done() - the one place
 * where anything that reacts to a new snapshot (status, demo output, leak
 * detection and alerts) is called from.
 */
#ifndef LEAKMOND_H
#define LEAKMOND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "clock.h"
#include "conf.h"
#include "error.h"
#include "log.h"
#include "selector.h"
#include "snapshot.h"
#include "store.h"
#include "units.h"

/* One process of a target (pid + start time). */
struct lmd_instance {
	struct lm_proc_id id;
	int64_t instance_id;		/* row in the store's instances table */
	char *exe;
	int64_t started_at_us;
	double next_due;		/* loop time (ev_now) of the next snapshot */
	int in_flight;			/* a snapshot is queued or running */
	uint64_t memory_limit;		/* effective limit, bytes (see lmd_memory_limit) */
	uint64_t nsnapshots, nfailures;	/* this run of the daemon */
	unsigned abandoned_streak;	/* abandoned snapshots in a row (back-off) */
	int64_t last_ok_us;		/* taken_at of the last census stored */
	struct lm_ratelimit fail_log;
	struct lm_symcache *symcache;	/* its symbols across snapshots, or NULL */
};

struct lmd_target {
	char *name;
	const struct lm_conf_target *conf;	/* into d->conf; replaced on reload */
	int64_t target_id;		/* row in the store's targets table */
	struct lmd_instance **inst;
	size_t ninst;
	double next_resolve;		/* loop time */
	int waiting_logged;		/* "waiting for ..." said once */
	struct lm_ratelimit resolve_log;
};

struct lmd_worker;
struct lmd_demo;
struct lmd_alert;
struct lmd_metrics;

struct leakmond {
	struct ev_loop *loop;		/* not the default loop: see leakmond.c */
	struct lm_conf *conf;
	const char *conf_path;		/* NULL with --demo (embedded config) */
	int verbose;			/* -v: debug log level, whatever the file says */
	struct lm_store *store;
	struct lmd_target **targets;
	size_t ntargets;
	struct lmd_worker *worker;
	ev_timer tick, watchdog, retention, grace;
	ev_signal sighup, sigterm, sigint;
	int stopping;
	int exit_code;
	char last[256];			/* last snapshot, for STATUS= */
	struct lmd_demo *demo;		/* --demo state, or NULL */
	struct lmd_alert *alert;	/* leak detection and webhooks (leakmond_alert.c) */
	struct lmd_metrics *metrics;	/* /metrics and the textfile (leakmond_metrics.c) */
};

/* A finished snapshot as the worker hands it back. */
struct lmd_job {
	struct lmd_job *next;
	char *target;			/* target name at submission */
	struct lm_proc_id id;
	int64_t instance_id;
	struct lm_snapshot_opts opts;
	/* results */
	int rc;				/* 0 or -LM_E* */
	struct lm_err err;
	struct lm_census *census;	/* NULL on failure */
	int64_t started_us, finished_us;
	/* A job that is not a census (holder chains, leakmond_alert.c): the
	 * worker calls run() instead of lm_snapshot_census(), the loop hands
	 * it to done() instead of storing a snapshot; free_data(data) when
	 * the job is freed, run or not. */
	int (*run)(struct lmd_job *job);
	void (*done)(struct leakmond *d, struct lmd_job *job);
	void *data;
	void (*free_data)(void *data);
};

/*
 * After a snapshot attempt has been stored (snapshot_id > 0; 0 if storing
 * failed): update status and demo output, then whatever reacts to new
 * history. t and inst may be NULL when the target was removed by a reload
 * or the process was closed meanwhile. status is an LM_STORE_* string.
 */
void on_snapshot_done(struct leakmond *d, struct lmd_target *t, struct lmd_instance *inst,
		      const struct lmd_job *job, const char *status, int64_t snapshot_id);

/* leakmond_targets.c: targets, resolution, scheduling. */
/* Follow a new configuration (d->conf is replaced by the caller after). */
int lmd_targets_sync(struct leakmond *d, const struct lm_conf *conf);
void lmd_targets_tick(struct leakmond *d);	/* resolve what is due, submit snapshots */
void lmd_targets_free(struct leakmond *d);
struct lmd_target *lmd_find_target(struct leakmond *d, const char *name);
struct lmd_instance *lmd_find_instance(struct lmd_target *t, const struct lm_proc_id *id);
size_t lmd_count_instances(const struct leakmond *d);
uint64_t lmd_memory_limit(const struct lmd_target *t, const struct lmd_instance *inst);
/* Point a new job at inst of t: its identity and snapshot options from the
 * target's configuration (and a hold on the instance's symbol cache). */
void lmd_job_aim(struct lmd_job *job, const struct lmd_target *t, struct lmd_instance *inst);

/* leakmond_worker.c: the snapshot thread. done() runs on the loop thread. */
struct lmd_worker *lmd_worker_start(struct ev_loop *loop,
				    void (*done)(struct lmd_job *job, void *ctx), void *ctx,
				    struct lm_err *err);
void lmd_worker_submit(struct lmd_worker *w, struct lmd_job *job);
/* Jobs queued or running. */
size_t lmd_worker_pending(struct lmd_worker *w);
/* The job running now (NULL if idle); valid until it is handed back. */
const struct lmd_job *lmd_worker_running(struct lmd_worker *w);
/* Take the queued (not yet started) jobs back, for shutdown. */
struct lmd_job *lmd_worker_take_queued(struct lmd_worker *w);
/* Stop the thread: join it if idle (0); returns -LM_EBUSY (thread left
 * running) if a snapshot is still in progress. */
int lmd_worker_stop(struct lmd_worker *w);
void lmd_job_free(struct lmd_job *job);

/* leakmond_demo.c: --demo. prepare() starts the demo program (python: the
 * bundled Python service under python3) and writes the embedded
 * configuration (*conf_text, malloc'd); arm() starts its timers once the
 * loop exists; stop() ends the demo program. */
int lmd_demo_prepare(struct leakmond *d, uint64_t interval_ms, int python, char **conf_text,
		     struct lm_err *err);
void lmd_demo_arm(struct leakmond *d, uint64_t duration_ms);
void lmd_demo_snapshot(struct leakmond *d, const struct lmd_job *job, const char *status);
void lmd_demo_stop(struct leakmond *d);

/* leakmond_alert.c: leak detection and webhooks, state in d->alert. */
int lmd_alert_start(struct leakmond *d);	/* after the loop and targets exist */
void lmd_alert_snapshot(struct leakmond *d, struct lmd_target *t, struct lmd_instance *inst,
			const struct lmd_job *job, int64_t snapshot_id);
void lmd_alert_reload(struct leakmond *d);	/* after d->conf was replaced */
void lmd_alert_stop(struct leakmond *d);	/* before the store and loop go */

/* leakmond_metrics.c: Prometheus exposition, state in d->metrics. start()
 * fails when metrics_listen cannot be bound; snapshot() counts an attempt
 * by its LM_STORE_* status. */
int lmd_metrics_start(struct leakmond *d);	/* after the alerts */
void lmd_metrics_snapshot(struct leakmond *d, const char *target, const char *status);
void lmd_metrics_reload(struct leakmond *d);	/* after d->conf was replaced */
void lmd_metrics_stop(struct leakmond *d);	/* before the store and loop go */

/* leakmond.c */
void lmd_stop(struct leakmond *d, const char *why);
void lmd_update_status(struct leakmond *d);

#endif
