/* SPDX-License-Identifier: MIT */
/*
 * store.h - the SQLite history kept by leakmond.
 *
 * One writer (the daemon) and any number of readers (`sqlite3`, `leakmon
 * trends`): the database runs in WAL mode, so a reader never blocks the
 * writer. The schema lives in schema/NNN_*.sql; those files are embedded in
 * the binary at build time and applied in order on open, tracked by
 * PRAGMA user_version (file NNN brings the database to version NNN).
 *
 * Tables (see schema/001_init.sql for the columns and the operator views):
 *   targets         one row per configured target name
 *   instances       one process of a target: pid + start time (a restart,
 *                   or a reused pid with a new start time, is a new row)
 *   snapshots       one census attempt of an instance: time, pause, walk
 *                   time, heap totals, RSS, status, error
 *   types           (kind, name), stable ids
 *   snapshot_types  per snapshot and type: count, bytes
 * Only counts, sizes and type names are stored: never memory contents.
 *
 * Times are integers, microseconds since the Unix epoch (UTC), in columns
 * named *_us; the views convert them to ISO-8601 UTC text.
 *
 * Other modules may add their own tables with a later migration
 * (schema/002_alerts.sql, ...) and run their own statements through
 * lm_store_db(). A row of theirs that references snapshots(id) or
 * instances(id) must say ON DELETE CASCADE or SET NULL: retention deletes
 * old snapshots, and ended instances that have none left. Foreign keys are
 * enforced (PRAGMA foreign_keys = ON on every connection we open).
 */
/*
 * A struct lm_store is one SQLite connection opened without SQLite's own
 * mutexes: use it from one thread at a time (leakmond: the event loop).
 * Writes wait up to 5 s for a lock another writer holds (busy timeout).
 */
#ifndef LM_STORE_H
#define LM_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "snapshot.h"

/* Where the daemon keeps its database unless configured otherwise. */
#define LM_STORE_DEFAULT_PATH "/var/lib/leakmon/leakmon.db"

/* Default retention: every snapshot for 7 days, then one per
 * hour per instance until 90 days, then none. */
#define LM_STORE_RETAIN_FULL_S (7 * 24 * 3600)
#define LM_STORE_RETAIN_S (90 * 24 * 3600)

/* Snapshot status values (the `status` column). */
#define LM_STORE_OK "ok"		/* complete census */
#define LM_STORE_PARTIAL "partial"	/* census stored, but incomplete */
#define LM_STORE_FAILED "failed"	/* no census: error says why */
#define LM_STORE_ABANDONED "abandoned"	/* stopped (max_pause, shutdown) */

enum lm_store_flags {
	LM_STORE_READONLY = 0,	/* readers: never creates, never migrates */
	LM_STORE_READWRITE = 1,	/* the daemon: creates file and dirs, migrates */
};

struct lm_store;

/*
 * Open (READWRITE: create if needed, parent dirs 0750, file 0640) the
 * database at path, set WAL mode, a busy timeout and foreign keys, and
 * apply pending migrations. Fails with LM_ENOTFOUND if a READONLY open
 * finds no file, LM_EDB if the file is not a leakmon database or was
 * written by a newer leakmon (schema version higher than this build knows).
 */
int lm_store_open(const char *path, int flags, struct lm_store **out,
		  struct lm_err *err);
void lm_store_close(struct lm_store *store);

/* The connection, for modules with their own tables and statements. */
struct sqlite3 *lm_store_db(struct lm_store *store);

/* The schema version of the open database, and the newest this build knows. */
int lm_store_schema_version(struct lm_store *store);
int lm_store_schema_latest(void);

/* Find or add a target by name. */
int lm_store_target(struct lm_store *store, const char *name,
		    int64_t *target_id, struct lm_err *err);

/*
 * Find or add the instance of target_id with this pid and start time
 * (start_ticks: field 22 of /proc/PID/stat). The same pid and start time
 * give back the same instance (re-opened if it had been closed, e.g.
 * across a daemon restart); anything else is a new instance. exe may be
 * NULL; started_at_us is the process start as wall-clock time.
 */
int lm_store_instance_open(struct lm_store *store, int64_t target_id,
			   pid_t pid, uint64_t start_ticks, const char *exe,
			   int64_t started_at_us, int64_t *instance_id,
			   struct lm_err *err);
/* The process exited (or went out of scope): set ended_at. */
int lm_store_instance_close(struct lm_store *store, int64_t instance_id,
			    int64_t ended_at_us, struct lm_err *err);

/* An instance still open (ended_at unset) in the database. */
struct lm_store_instance {
	int64_t id;
	int64_t target_id;
	char *target;		/* target name */
	pid_t pid;
	uint64_t start_ticks;
	char *exe;		/* may be NULL */
	int64_t started_at_us;
	int64_t ended_at_us;	/* 0 while live */
	int64_t last_taken_at_us;	/* last successful census, 0 if none */
};

/*
 * Open instances (ended_at unset): the daemon calls this at start to close
 * those whose process went away while it was not running.
 * target_name NULL = every target. Free with lm_store_instances_free().
 */
int lm_store_open_instances(struct lm_store *store, const char *target_name,
			    struct lm_store_instance **out, size_t *n,
			    struct lm_err *err);
/*
 * What `leakmon trends` shows: every live instance of each target, or, for
 * a target with none live, its most recent one (highest start time);
 * ordered by target name, then start time.
 */
int lm_store_latest_instances(struct lm_store *store, const char *target_name,
			      struct lm_store_instance **out, size_t *n,
			      struct lm_err *err);
void lm_store_instances_free(struct lm_store_instance *v, size_t n);

/*
 * Record one snapshot of an instance: the row in `snapshots` and, when c is
 * not NULL, one `snapshot_types` row per type, all in one transaction.
 * status is one of the LM_STORE_* strings; error may be NULL. With c NULL
 * (a failed or abandoned attempt) taken_at_us gives the time (0 = now);
 * with c set, c->taken_at_us is used and taken_at_us is ignored.
 */
int lm_store_add_snapshot(struct lm_store *store, int64_t instance_id,
			  const struct lm_census *c, const char *status,
			  const char *error, int64_t taken_at_us,
			  int64_t *snapshot_id, struct lm_err *err);

/*
 * Apply retention at time now_us: keep every snapshot younger than
 * retain_full_s; between retain_full_s and retain_s keep one per hour
 * (UTC hour) per instance, preferring a successful census (the earliest of
 * the hour); delete everything older than retain_s, and instances that
 * ended before then and have no snapshot left. *deleted (may be NULL)
 * gets the number of snapshots removed. One transaction.
 */
int lm_store_retention(struct lm_store *store, int64_t now_us,
		       int64_t retain_full_s, int64_t retain_s,
		       uint64_t *deleted, struct lm_err *err);

/*
 * Growth of one type over an instance's successful censuses (like the
 * type_growth view); a census without the type counts as 0.
 */
struct lm_store_growth {
	char kind[16];
	char *name;
	uint64_t samples;		/* censuses in which the type appears */
	int64_t first_at_us, last_at_us;	/* the instance's first, last census */
	uint64_t first_bytes, last_bytes;	/* the type's bytes then (0 if absent) */
	uint64_t last_count;
	double bytes_per_hour;		/* least-squares slope, rounded to 0.1; */
	double count_per_hour;		/* 0 until two censuses */
};

/*
 * Types of an instance ordered by bytes_per_hour, fastest growing first;
 * at most limit rows (0 = all). Free with lm_store_growth_free().
 */
int lm_store_growth(struct lm_store *store, int64_t instance_id, size_t limit,
		    struct lm_store_growth **out, size_t *n, struct lm_err *err);
void lm_store_growth_free(struct lm_store_growth *v, size_t n);

/* One point of a series. */
struct lm_store_point {
	int64_t snapshot_id;
	int64_t taken_at_us;
	uint64_t count;
	uint64_t bytes;
};

/*
 * The series of one type of an instance, oldest first, over every
 * successful census taken at or after since_us: a census without the type
 * gives a point with count and bytes 0. kind NULL gives the heap total
 * (inuse_count, inuse_bytes) instead. Free *pts with free().
 */
int lm_store_series(struct lm_store *store, int64_t instance_id,
		    const char *kind, const char *name, int64_t since_us,
		    struct lm_store_point **pts, size_t *n, struct lm_err *err);

#endif
