/* SPDX-License-Identifier: MIT */
/*
 * store.c - the SQLite history (see store.h for the model).
 *
 * How it works:
 *  - open: a writer creates the parent directories (0750) and the file
 *    (0640) itself, so SQLite's -wal and -shm files inherit that mode; it
 *    switches to WAL (readers never block the one writer), sets a busy
 *    timeout and foreign keys, and runs the embedded migrations
 *    (store_schema.h) above PRAGMA user_version, each in one IMMEDIATE
 *    transaction that re-reads the version first, so two writers starting
 *    together cannot apply a step twice. A reader opens read-only and
 *    only checks that the file is a leakmon database it understands
 *    (PRAGMA application_id 'LKMN', user_version not newer than ours).
 *  - writes: one snapshot = one transaction with statements prepared once.
 *  - retention: three DELETEs in one transaction; snapshot_types rows go
 *    with their snapshot through ON DELETE CASCADE; then the types no
 *    snapshot_types row refers to any more.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "classify.h"
#include "clock.h"
#include "store.h"
#include "store_schema.h"

#define LM_STORE_APP_ID 0x4c4b4d4e	/* 'LKMN', set by schema/001_init.sql */
#define LM_STORE_BUSY_MS 5000
#define US_PER_S INT64_C(1000000)

/* Successful censuses: the ones with per-type rows. */
#define OK_STATUS "status IN ('ok', 'partial')"

struct lm_store {
	sqlite3 *db;
	char *path;
	int readonly;
	int version;
	/* Prepared once, reset after each use (writers only). */
	sqlite3_stmt *type_insert, *type_select;
	sqlite3_stmt *snap_insert, *snap_type_insert, *snap_type_add;
};

/* ---- errors ------------------------------------------------------------ */

/* Fill err from the connection's last error: disk problems are LM_EIO,
 * everything else LM_EDB. */
static int db_error(struct lm_store *st, struct lm_err *err, const char *what)
{
	int rc = sqlite3_errcode(st->db) & 0xff;
	int code = (rc == SQLITE_IOERR || rc == SQLITE_FULL || rc == SQLITE_CANTOPEN ||
		    rc == SQLITE_READONLY) ? LM_EIO : LM_EDB;

	return lm_err_set(err, code, "database %s: %s: %s", st->path, what,
			  sqlite3_errmsg(st->db));
}

/* Counts are unsigned in C, INTEGER (signed 64-bit) in SQLite: clamp. */
static sqlite3_int64 to_db(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static uint64_t from_db(sqlite3_int64 v)
{
	return v < 0 ? 0 : (uint64_t)v;
}

static char *dup_column(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? strdup((const char *)t) : NULL;
}

/* ---- simple statements ------------------------------------------------- */

static int exec_sql(struct lm_store *st, const char *sql, struct lm_err *err,
		    const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(st, err, what);
	return 0;
}

/* Run a statement returning one integer (a PRAGMA). */
static int query_int(struct lm_store *st, const char *sql, int64_t *out,
		     struct lm_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(st, err, sql);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, err, sql);
	return 0;
}

static void rollback(struct lm_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- open: files, identity, migrations -------------------------------- */

/* mkdir -p of path's parent directories, mode 0750. */
static int make_parents(const char *path, struct lm_err *err)
{
	char buf[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(buf))
		return lm_err_set(err, LM_EINVAL, "database path too long: %s", path);
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return lm_err_errno(err, LM_EIO, errno,
					    "cannot create directory %s for the database", buf);
		*p = '/';
	}
	return 0;
}

/* Create the file ourselves so it gets 0640 whatever SQLite's default. */
static int create_file(const char *path, struct lm_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return lm_err_errno(err, errno == EACCES ? LM_EPERM : LM_EIO, errno,
				    "cannot create database %s", path);
	close(fd);
	return 0;
}

int lm_store_schema_latest(void)
{
	return lm_schema_nsteps ? lm_schema_steps[lm_schema_nsteps - 1].version : 0;
}

int lm_store_schema_version(struct lm_store *store)
{
	return store->version;
}

/* Is this a leakmon database we understand? Sets st->version. A writer
 * may find an empty file (version 0, no tables): it is new. */
static int check_identity(struct lm_store *st, struct lm_err *err)
{
	int64_t app_id, version, ntables;
	int r;

	r = query_int(st, "PRAGMA application_id", &app_id, err);
	if (r == 0)
		r = query_int(st, "PRAGMA user_version", &version, err);
	if (r == 0)
		r = query_int(st, "SELECT count(*) FROM sqlite_master", &ntables, err);
	if (r < 0) {
		int rc = sqlite3_errcode(st->db) & 0xff;

		if (rc == SQLITE_NOTADB)
			return lm_err_set(err, LM_EDB, "%s is not a SQLite database "
					  "(and so not a leakmon database)", st->path);
		/* A WAL reader without write access to the directory needs the
		 * -wal and -shm files, which leakmond keeps once it has run. */
		if ((rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY) && st->readonly)
			return lm_err_set(err, LM_EPERM, "cannot open database %s: "
					  "reading it needs its %s-wal and %s-shm files "
					  "(leakmond creates them) or write access to its "
					  "directory", st->path, st->path, st->path);
		return r;
	}
	if (app_id == 0 && version == 0 && ntables == 0) {
		if (st->readonly)
			return lm_err_set(err, LM_EDB, "%s is an empty database: leakmond "
					  "has not written to it yet", st->path);
		st->version = 0;
		return 0;
	}
	if (app_id != LM_STORE_APP_ID)
		return lm_err_set(err, LM_EDB, "%s is a SQLite database but not a "
				  "leakmon database (application_id %lld)", st->path,
				  (long long)app_id);
	if (version > lm_store_schema_latest())
		return lm_err_set(err, LM_EDB, "%s has schema version %lld, written by "
				  "a newer leakmon; this one knows up to version %d: "
				  "upgrade leakmon", st->path, (long long)version,
				  lm_store_schema_latest());
	st->version = (int)version;
	return 0;
}

/* Apply one migration unless another writer did it first. */
static int apply_step(struct lm_store *st, const struct lm_schema_step *step,
		      struct lm_err *err)
{
	char sql[64];
	int64_t version;
	int r;

	r = exec_sql(st, "BEGIN IMMEDIATE", err, "starting a migration");
	if (r < 0)
		return r;
	r = query_int(st, "PRAGMA user_version", &version, err);
	if (r == 0 && version >= step->version) {
		st->version = (int)version;
		return exec_sql(st, "COMMIT", err, "ending a migration");
	}
	if (r == 0 && sqlite3_exec(st->db, step->sql, NULL, NULL, NULL) != SQLITE_OK) {
		char what[128];

		snprintf(what, sizeof(what), "migration schema/%s", step->file);
		r = db_error(st, err, what);
	}
	if (r == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", step->version);
		r = exec_sql(st, sql, err, "recording the schema version");
	}
	if (r == 0)
		r = exec_sql(st, "COMMIT", err, "committing a migration");
	if (r < 0) {
		rollback(st);
		return r;
	}
	st->version = step->version;
	return 0;
}

static int migrate(struct lm_store *st, struct lm_err *err)
{
	unsigned i;
	int r;

	for (i = 0; i < lm_schema_nsteps; i++) {
		if (lm_schema_steps[i].version <= st->version)
			continue;
		r = apply_step(st, &lm_schema_steps[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int prepare(struct lm_store *st, const char *sql, sqlite3_stmt **s,
		   struct lm_err *err)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s,
			       NULL) != SQLITE_OK)
		return db_error(st, err, "preparing a statement");
	return 0;
}

static int prepare_writers(struct lm_store *st, struct lm_err *err)
{
	int r;

	r = prepare(st, "INSERT OR IGNORE INTO types (kind, name) VALUES (?1, ?2)",
		    &st->type_insert, err);
	if (r == 0)
		r = prepare(st, "SELECT id FROM types WHERE kind = ?1 AND name = ?2",
			    &st->type_select, err);
	if (r == 0)
		r = prepare(st, "INSERT INTO snapshots (instance_id, taken_at_us, "
			    "status, error, source, pause_us, walk_us, inuse_count, "
			    "inuse_bytes, free_count, free_bytes, mmapped_count, "
			    "mmapped_bytes, top_bytes, arenas, rss_bytes, ntypes, owned_bytes) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
			    "?12, ?13, ?14, ?15, ?16, ?17, ?18)", &st->snap_insert, err);
	if (r == 0)
		r = prepare(st, "INSERT OR IGNORE INTO snapshot_types (snapshot_id, "
			    "type_id, count, bytes) VALUES (?1, ?2, ?3, ?4)",
			    &st->snap_type_insert, err);
	/* A census should not name a type twice; if it does, add them up. */
	if (r == 0)
		r = prepare(st, "UPDATE snapshot_types SET count = count + ?3, "
			    "bytes = bytes + ?4 WHERE snapshot_id = ?1 AND type_id = ?2",
			    &st->snap_type_add, err);
	return r;
}

static int open_connection(struct lm_store *st, struct lm_err *err)
{
	int flags = st->readonly ? SQLITE_OPEN_READONLY
				 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc;

	rc = sqlite3_open_v2(st->path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!st->db)
			return lm_err_set(err, LM_ENOMEM, "out of memory opening %s", st->path);
		return lm_err_set(err, LM_EIO, "cannot open database %s: %s", st->path,
				  sqlite3_errmsg(st->db));
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, LM_STORE_BUSY_MS);
	return exec_sql(st, "PRAGMA foreign_keys = ON", err, "enabling foreign keys");
}

/*
 * The writer's settings: WAL (persistent in the file), NORMAL sync (safe
 * with WAL; a power cut can lose the last snapshot, never corrupt), and
 * the -wal and -shm files kept when we close: a reader who may read but
 * not write the directory (an operator in the file's group) can open a WAL
 * database only while those files exist.
 */
static int setup_writer(struct lm_store *st, struct lm_err *err)
{
	sqlite3_stmt *s;
	const unsigned char *mode;
	int ok, persist = 1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
		return db_error(st, err, "setting WAL mode");
	ok = sqlite3_step(s) == SQLITE_ROW && (mode = sqlite3_column_text(s, 0)) &&
	     !strcmp((const char *)mode, "wal");
	sqlite3_finalize(s);
	if (!ok)
		return lm_err_set(err, LM_EDB, "database %s: cannot switch to WAL mode "
				  "(is it on a network file system?)", st->path);
	sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	/* ... but truncated after checkpoints, so it does not stay large. */
	return exec_sql(st, "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = "
			"4194304", err, "setting synchronous");
}

int lm_store_open(const char *path, int flags, struct lm_store **out,
		  struct lm_err *err)
{
	struct lm_store *st;
	struct stat sb;
	int r;

	*out = NULL;
	if (!path || !*path)
		return lm_err_set(err, LM_EINVAL, "no database path given");
	st = calloc(1, sizeof(*st));
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return lm_err_set(err, LM_ENOMEM, "out of memory opening %s", path);
	}
	st->readonly = !(flags & LM_STORE_READWRITE);

	if (st->readonly) {
		if (stat(path, &sb) < 0) {
			r = errno == ENOENT
				? lm_err_set(err, LM_ENOTFOUND, "no leakmon database at %s", path)
				: lm_err_errno(err, errno == EACCES ? LM_EPERM : LM_EIO, errno,
					       "cannot read database %s", path);
			goto fail;
		}
	} else {
		r = make_parents(path, err);
		if (r == 0 && stat(path, &sb) < 0)
			r = create_file(path, err);
		if (r < 0)
			goto fail;
	}

	r = open_connection(st, err);
	if (r == 0)
		r = check_identity(st, err);
	if (r == 0 && !st->readonly)
		r = setup_writer(st, err);
	if (r == 0 && !st->readonly)
		r = migrate(st, err);
	if (r == 0 && !st->readonly)
		r = prepare_writers(st, err);
	if (r < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	lm_store_close(st);
	return r;
}

void lm_store_close(struct lm_store *store)
{
	if (!store)
		return;
	sqlite3_finalize(store->type_insert);
	sqlite3_finalize(store->type_select);
	sqlite3_finalize(store->snap_insert);
	sqlite3_finalize(store->snap_type_insert);
	sqlite3_finalize(store->snap_type_add);
	if (store->db)
		sqlite3_close_v2(store->db);
	free(store->path);
	free(store);
}

struct sqlite3 *lm_store_db(struct lm_store *store)
{
	return store->db;
}

static int need_writer(struct lm_store *st, struct lm_err *err)
{
	if (st->readonly)
		return lm_err_set(err, LM_EINVAL, "database %s is open read-only", st->path);
	return 0;
}

/* ---- targets and instances -------------------------------------------- */

/* Run a one-shot statement with a single-integer result row (or none). */
static int step_id(struct lm_store *st, sqlite3_stmt *s, int64_t *id, int *found,
		   struct lm_err *err, const char *what)
{
	int rc = sqlite3_step(s);

	if (found)
		*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW && id)
		*id = sqlite3_column_int64(s, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, err, what);
	return 0;
}

int lm_store_target(struct lm_store *store, const char *name,
		    int64_t *target_id, struct lm_err *err)
{
	sqlite3_stmt *s = NULL;
	int found = 0, r;

	r = need_writer(store, err);
	if (r < 0)
		return r;
	if (!name || !*name)
		return lm_err_set(err, LM_EINVAL, "empty target name");
	if (sqlite3_prepare_v2(store->db, "INSERT OR IGNORE INTO targets (name, "
			       "created_at_us) VALUES (?1, ?2)", -1, &s, NULL) != SQLITE_OK)
		return db_error(store, err, "adding a target");
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, lm_wall_us());
	r = step_id(store, s, NULL, NULL, err, "adding a target");
	sqlite3_finalize(s);
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(store->db, "SELECT id FROM targets WHERE name = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return db_error(store, err, "finding a target");
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	r = step_id(store, s, target_id, &found, err, "finding a target");
	sqlite3_finalize(s);
	if (r == 0 && !found)
		r = lm_err_set(err, LM_EDB, "database %s: target %s vanished", store->path, name);
	return r;
}

int lm_store_instance_open(struct lm_store *store, int64_t target_id,
			   pid_t pid, uint64_t start_ticks, const char *exe,
			   int64_t started_at_us, int64_t *instance_id,
			   struct lm_err *err)
{
	sqlite3_stmt *s = NULL;
	int found = 0, r;

	r = need_writer(store, err);
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(store->db, "SELECT id FROM instances WHERE target_id = ?1 "
			       "AND pid = ?2 AND start_ticks = ?3", -1, &s, NULL) != SQLITE_OK)
		return db_error(store, err, "finding an instance");
	sqlite3_bind_int64(s, 1, target_id);
	sqlite3_bind_int64(s, 2, pid);
	sqlite3_bind_int64(s, 3, to_db(start_ticks));
	r = step_id(store, s, instance_id, &found, err, "finding an instance");
	sqlite3_finalize(s);
	if (r < 0)
		return r;

	if (found) {
		/* Seen before (daemon restart): live again, keep the first exe. */
		if (sqlite3_prepare_v2(store->db, "UPDATE instances SET ended_at_us = NULL, "
				       "exe = coalesce(exe, ?2) WHERE id = ?1", -1, &s,
				       NULL) != SQLITE_OK)
			return db_error(store, err, "reopening an instance");
		sqlite3_bind_int64(s, 1, *instance_id);
	} else {
		if (sqlite3_prepare_v2(store->db, "INSERT INTO instances (target_id, pid, "
				       "start_ticks, exe, started_at_us) VALUES (?1, ?3, ?4, "
				       "?2, ?5)", -1, &s, NULL) != SQLITE_OK)
			return db_error(store, err, "adding an instance");
		sqlite3_bind_int64(s, 1, target_id);
		sqlite3_bind_int64(s, 3, pid);
		sqlite3_bind_int64(s, 4, to_db(start_ticks));
		sqlite3_bind_int64(s, 5, started_at_us);
	}
	if (exe)
		sqlite3_bind_text(s, 2, exe, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	r = step_id(store, s, NULL, NULL, err, "recording an instance");
	sqlite3_finalize(s);
	if (r == 0 && !found)
		*instance_id = sqlite3_last_insert_rowid(store->db);
	return r;
}

int lm_store_instance_close(struct lm_store *store, int64_t instance_id,
			    int64_t ended_at_us, struct lm_err *err)
{
	sqlite3_stmt *s;
	int r;

	r = need_writer(store, err);
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(store->db, "UPDATE instances SET ended_at_us = ?2 "
			       "WHERE id = ?1 AND ended_at_us IS NULL", -1, &s,
			       NULL) != SQLITE_OK)
		return db_error(store, err, "closing an instance");
	sqlite3_bind_int64(s, 1, instance_id);
	sqlite3_bind_int64(s, 2, ended_at_us ? ended_at_us : lm_wall_us());
	r = step_id(store, s, NULL, NULL, err, "closing an instance");
	sqlite3_finalize(s);
	return r;
}

/* ---- instance lists ---------------------------------------------------- */

#define INSTANCE_COLUMNS \
	"i.id, i.target_id, t.name, i.pid, i.start_ticks, i.exe, i.started_at_us, " \
	"coalesce(i.ended_at_us, 0), coalesce((SELECT max(s.taken_at_us) FROM " \
	"snapshots s WHERE s.instance_id = i.id AND s." OK_STATUS "), 0) "

void lm_store_instances_free(struct lm_store_instance *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].target);
		free(v[i].exe);
	}
	free(v);
}

static int read_instance(sqlite3_stmt *s, struct lm_store_instance *in)
{
	memset(in, 0, sizeof(*in));
	in->id = sqlite3_column_int64(s, 0);
	in->target_id = sqlite3_column_int64(s, 1);
	in->target = dup_column(s, 2);
	in->pid = (pid_t)sqlite3_column_int64(s, 3);
	in->start_ticks = from_db(sqlite3_column_int64(s, 4));
	in->exe = dup_column(s, 5);
	in->started_at_us = sqlite3_column_int64(s, 6);
	in->ended_at_us = sqlite3_column_int64(s, 7);
	in->last_taken_at_us = sqlite3_column_int64(s, 8);
	return in->target ? 0 : -LM_ENOMEM;
}

/* Run an instance query (?1 = target name or NULL) into a new array. */
static int list_instances(struct lm_store *st, const char *sql, const char *target,
			  struct lm_store_instance **out, size_t *n, struct lm_err *err)
{
	struct lm_store_instance *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(st, err, "listing instances");
	if (target)
		sqlite3_bind_text(s, 1, target, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = lm_err_set(err, LM_ENOMEM, "out of memory listing instances");
				break;
			}
			v = nv;
		}
		if (read_instance(s, &v[len++]) < 0) {
			r = lm_err_set(err, LM_ENOMEM, "out of memory listing instances");
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_error(st, err, "listing instances");
	sqlite3_finalize(s);
	if (r < 0) {
		lm_store_instances_free(v, len);
		return r;
	}
	*out = v;
	*n = len;
	return 0;
}

int lm_store_open_instances(struct lm_store *store, const char *target_name,
			    struct lm_store_instance **out, size_t *n,
			    struct lm_err *err)
{
	return list_instances(store,
		"SELECT " INSTANCE_COLUMNS "FROM instances i JOIN targets t ON "
		"t.id = i.target_id WHERE i.ended_at_us IS NULL AND (?1 IS NULL OR "
		"t.name = ?1) ORDER BY t.name, i.started_at_us, i.id",
		target_name, out, n, err);
}

int lm_store_latest_instances(struct lm_store *store, const char *target_name,
			      struct lm_store_instance **out, size_t *n,
			      struct lm_err *err)
{
	/* Live instances, or the most recent one of a target with none live. */
	return list_instances(store,
		"SELECT " INSTANCE_COLUMNS "FROM instances i JOIN targets t ON "
		"t.id = i.target_id WHERE (?1 IS NULL OR t.name = ?1) AND "
		"(i.ended_at_us IS NULL OR (NOT EXISTS (SELECT 1 FROM instances l "
		"WHERE l.target_id = i.target_id AND l.ended_at_us IS NULL) AND "
		"i.id = (SELECT l.id FROM instances l WHERE l.target_id = i.target_id "
		"ORDER BY l.started_at_us DESC, l.id DESC LIMIT 1))) "
		"ORDER BY t.name, i.started_at_us, i.id",
		target_name, out, n, err);
}

/* ---- snapshots --------------------------------------------------------- */

static void bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	sqlite3_bind_int64(s, i, to_db(v));
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
	if (t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static int run_reset(struct lm_store *st, sqlite3_stmt *s, struct lm_err *err,
		     const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(st, err, what);
	return 0;
}

static int insert_snapshot_row(struct lm_store *st, int64_t instance_id,
			       const struct lm_census *c, const char *status,
			       const char *error, int64_t taken_at_us,
			       struct lm_err *err)
{
	sqlite3_stmt *s = st->snap_insert;

	sqlite3_bind_int64(s, 1, instance_id);
	sqlite3_bind_int64(s, 2, taken_at_us);
	sqlite3_bind_text(s, 3, status, -1, SQLITE_STATIC);
	bind_text_or_null(s, 4, error);
	if (c) {
		bind_text_or_null(s, 5, c->source);
		bind_u64(s, 6, c->pause_us);
		bind_u64(s, 7, c->walk_us);
		bind_u64(s, 8, c->totals.inuse_count);
		bind_u64(s, 9, c->totals.inuse_bytes);
		bind_u64(s, 10, c->totals.free_count);
		bind_u64(s, 11, c->totals.free_bytes);
		bind_u64(s, 12, c->totals.mmapped_count);
		bind_u64(s, 13, c->totals.mmapped_bytes);
		bind_u64(s, 14, c->totals.top_bytes);
		bind_u64(s, 15, c->totals.arenas);
		bind_u64(s, 16, c->totals.rss_bytes);
		bind_u64(s, 17, c->ntypes);
		if (c->totals.owned_bytes)	/* unknown (a core): NULL */
			bind_u64(s, 18, c->totals.owned_bytes);
	}	/* else the totals stay NULL: there was no census */
	return run_reset(st, s, err, "adding a snapshot");
}

/* The id of type (kind, name), added if new. */
static int type_id(struct lm_store *st, const char *kind, const char *name,
		   int64_t *id, struct lm_err *err)
{
	int rc, r;

	sqlite3_bind_text(st->type_insert, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->type_insert, 2, name, -1, SQLITE_STATIC);
	r = run_reset(st, st->type_insert, err, "adding a type");
	if (r < 0)
		return r;
	if (sqlite3_changes(st->db) == 1) {
		*id = sqlite3_last_insert_rowid(st->db);
		return 0;
	}
	sqlite3_bind_text(st->type_select, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->type_select, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->type_select);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st->type_select, 0);
	else
		r = db_error(st, err, "finding a type");
	sqlite3_reset(st->type_select);
	sqlite3_clear_bindings(st->type_select);
	return r;
}

static int insert_type_row(struct lm_store *st, int64_t snapshot_id,
			   const struct lm_type_stat *t, struct lm_err *err)
{
	const char *kind = t->kind < LM_KIND_MAX ? lm_kind_name(t->kind) : NULL;
	int64_t tid = 0;
	int r;

	if (!kind || !t->name)
		return lm_err_set(err, LM_EINVAL, "census has a type with kind %u and "
				  "name %s: not storable", t->kind,
				  t->name ? t->name : "(none)");
	r = type_id(st, kind, t->name, &tid, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st->snap_type_insert, 1, snapshot_id);
	sqlite3_bind_int64(st->snap_type_insert, 2, tid);
	bind_u64(st->snap_type_insert, 3, t->count);
	bind_u64(st->snap_type_insert, 4, t->bytes);
	r = run_reset(st, st->snap_type_insert, err, "adding a type count");
	if (r < 0 || sqlite3_changes(st->db) == 1)
		return r;
	sqlite3_bind_int64(st->snap_type_add, 1, snapshot_id);
	sqlite3_bind_int64(st->snap_type_add, 2, tid);
	bind_u64(st->snap_type_add, 3, t->count);
	bind_u64(st->snap_type_add, 4, t->bytes);
	return run_reset(st, st->snap_type_add, err, "adding a type count");
}

static int valid_status(const char *s)
{
	return s && (!strcmp(s, LM_STORE_OK) || !strcmp(s, LM_STORE_PARTIAL) ||
		     !strcmp(s, LM_STORE_FAILED) || !strcmp(s, LM_STORE_ABANDONED));
}

int lm_store_add_snapshot(struct lm_store *store, int64_t instance_id,
			  const struct lm_census *c, const char *status,
			  const char *error, int64_t taken_at_us,
			  int64_t *snapshot_id, struct lm_err *err)
{
	int64_t sid = 0;
	size_t i;
	int r;

	r = need_writer(store, err);
	if (r < 0)
		return r;
	if (!valid_status(status))
		return lm_err_set(err, LM_EINVAL, "snapshot status '%s' is not one of "
				  "ok, partial, failed, abandoned", status ? status : "");
	if (c)
		taken_at_us = c->taken_at_us;
	if (!taken_at_us)
		taken_at_us = lm_wall_us();

	r = exec_sql(store, "BEGIN IMMEDIATE", err, "starting a snapshot");
	if (r < 0)
		return r;
	r = insert_snapshot_row(store, instance_id, c, status, error, taken_at_us, err);
	if (r == 0) {
		sid = sqlite3_last_insert_rowid(store->db);
		for (i = 0; c && i < c->ntypes && r == 0; i++)
			r = insert_type_row(store, sid, &c->types[i], err);
	}
	if (r == 0)
		r = exec_sql(store, "COMMIT", err, "committing a snapshot");
	if (r < 0) {
		rollback(store);
		return r;
	}
	if (snapshot_id)
		*snapshot_id = sid;
	return 0;
}

/* ---- retention --------------------------------------------------------- */

/*
 * ?1 = cut_all (older: deleted), ?2 = cut_full (older: thinned). In the
 * thinned range each (instance, UTC hour) keeps one snapshot: a successful
 * one if any, the earliest. The choice is stable, so running retention
 * again keeps the same rows.
 */
static const char retention_delete_old[] =
	"DELETE FROM snapshots WHERE taken_at_us < ?1";
static const char retention_thin[] =
	"DELETE FROM snapshots WHERE taken_at_us >= ?1 AND taken_at_us < ?2 "
	"AND id NOT IN (SELECT (SELECT k.id FROM snapshots k "
	"  WHERE k.instance_id = g.instance_id "
	"  AND k.taken_at_us >= g.hour * 3600000000 "
	"  AND k.taken_at_us < (g.hour + 1) * 3600000000 "
	"  AND k.taken_at_us >= ?1 AND k.taken_at_us < ?2 "
	"  ORDER BY (k." OK_STATUS ") DESC, k.taken_at_us, k.id LIMIT 1) "
	" FROM (SELECT DISTINCT instance_id, taken_at_us / 3600000000 AS hour "
	"  FROM snapshots WHERE taken_at_us >= ?1 AND taken_at_us < ?2) g)";
static const char retention_instances[] =
	"DELETE FROM instances WHERE ended_at_us IS NOT NULL AND ended_at_us < ?1 "
	"AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.instance_id = instances.id)";
/* Types no kept census has: the names a target chose (every distinct class
 * or symbol it ever pointed at) must not pile up forever. One pass over
 * snapshot_types (an ephemeral index of its type ids), run only when
 * retention deleted snapshots. */
static const char retention_types[] =
	"DELETE FROM types WHERE id NOT IN "
	"(SELECT type_id FROM snapshot_types)";

static int run_retention_step(struct lm_store *st, const char *sql, int64_t cut_all,
			      int64_t cut_full, uint64_t *changed, struct lm_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(st, err, "preparing retention");
	sqlite3_bind_int64(s, 1, cut_all);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, cut_full);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_error(st, err, "applying retention");
	if (changed)
		*changed += (uint64_t)sqlite3_changes(st->db);
	return 0;
}

int lm_store_retention(struct lm_store *store, int64_t now_us_, int64_t retain_full_s,
		       int64_t retain_s, uint64_t *deleted, struct lm_err *err)
{
	int64_t cut_full, cut_all;
	uint64_t n = 0;
	int r;

	r = need_writer(store, err);
	if (r < 0)
		return r;
	if (retain_full_s < 0 || retain_s < retain_full_s || retain_s > INT64_MAX / US_PER_S)
		return lm_err_set(err, LM_EINVAL, "retention: retain_full (%llds) must be "
				  "at least 0 and at most retain (%llds)",
				  (long long)retain_full_s, (long long)retain_s);
	cut_full = now_us_ - retain_full_s * US_PER_S;
	cut_all = now_us_ - retain_s * US_PER_S;

	r = exec_sql(store, "BEGIN IMMEDIATE", err, "starting retention");
	if (r == 0)
		r = run_retention_step(store, retention_delete_old, cut_all, cut_full, &n, err);
	if (r == 0)
		r = run_retention_step(store, retention_thin, cut_all, cut_full, &n, err);
	if (r == 0)
		r = run_retention_step(store, retention_instances, cut_all, cut_full, NULL, err);
	if (r == 0 && n > 0)
		r = run_retention_step(store, retention_types, cut_all, cut_full, NULL, err);
	if (r == 0)
		r = exec_sql(store, "COMMIT", err, "committing retention");
	if (r < 0) {
		rollback(store);
		return r;
	}
	if (deleted)
		*deleted = n;
	return 0;
}

/* ---- readers: growth and series ---------------------------------------- */

/*
 * Like the type_growth view, for one instance (?1): x = hours since the
 * instance started; a census without the type counts as 0, so the x sums
 * (c) run over every census of the instance and the y sums (f) over those
 * where the type appears.
 */
static const char growth_sql[] =
	"WITH c AS (SELECT count(*) AS n, min(s.taken_at_us) AS t0, "
	"  max(s.taken_at_us) AS t1, sum(x) AS sx, sum(x * x) AS sxx "
	"  FROM (SELECT s.taken_at_us, (s.taken_at_us - (SELECT started_at_us FROM "
	"   instances WHERE id = ?1)) / 3600000000.0 AS x FROM snapshots s "
	"   WHERE s.instance_id = ?1 AND s." OK_STATUS ") s) "
	"SELECT ty.kind, ty.name, f.n, c.t0, c.t1, "
	" coalesce((SELECT st.bytes FROM snapshots s JOIN snapshot_types st "
	"  ON st.snapshot_id = s.id AND st.type_id = f.type_id WHERE s.instance_id = ?1 "
	"  AND s.taken_at_us = c.t0 AND s." OK_STATUS " LIMIT 1), 0), "
	" coalesce((SELECT st.bytes FROM snapshots s JOIN snapshot_types st "
	"  ON st.snapshot_id = s.id AND st.type_id = f.type_id WHERE s.instance_id = ?1 "
	"  AND s.taken_at_us = c.t1 AND s." OK_STATUS " LIMIT 1), 0) AS last_bytes, "
	" coalesce((SELECT st.count FROM snapshots s JOIN snapshot_types st "
	"  ON st.snapshot_id = s.id AND st.type_id = f.type_id WHERE s.instance_id = ?1 "
	"  AND s.taken_at_us = c.t1 AND s." OK_STATUS " LIMIT 1), 0), "
	" CASE WHEN c.n * c.sxx - c.sx * c.sx > 1e-12 THEN round((c.n * f.sxb - "
	"  c.sx * f.sb) / (c.n * c.sxx - c.sx * c.sx), 1) ELSE 0 END AS bph, "
	" CASE WHEN c.n * c.sxx - c.sx * c.sx > 1e-12 THEN round((c.n * f.sxc - "
	"  c.sx * f.sc) / (c.n * c.sxx - c.sx * c.sx), 1) ELSE 0 END "
	"FROM (SELECT st.type_id, count(*) AS n, sum(st.bytes) AS sb, "
	"  sum(x * st.bytes) AS sxb, sum(st.count) AS sc, sum(x * st.count) AS sxc "
	" FROM (SELECT s.id, (s.taken_at_us - (SELECT started_at_us FROM instances "
	"   WHERE id = ?1)) / 3600000000.0 AS x FROM snapshots s "
	"   WHERE s.instance_id = ?1 AND s." OK_STATUS ") s "
	" JOIN snapshot_types st ON st.snapshot_id = s.id "
	" GROUP BY st.type_id) f, c "
	"JOIN types ty ON ty.id = f.type_id "
	"ORDER BY bph DESC, last_bytes DESC, ty.kind, ty.name "
	"LIMIT ?2";

void lm_store_growth_free(struct lm_store_growth *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

static int read_growth(sqlite3_stmt *s, struct lm_store_growth *g)
{
	const unsigned char *kind = sqlite3_column_text(s, 0);

	memset(g, 0, sizeof(*g));
	snprintf(g->kind, sizeof(g->kind), "%s", kind ? (const char *)kind : "");
	g->name = dup_column(s, 1);
	g->samples = from_db(sqlite3_column_int64(s, 2));
	g->first_at_us = sqlite3_column_int64(s, 3);
	g->last_at_us = sqlite3_column_int64(s, 4);
	g->first_bytes = from_db(sqlite3_column_int64(s, 5));
	g->last_bytes = from_db(sqlite3_column_int64(s, 6));
	g->last_count = from_db(sqlite3_column_int64(s, 7));
	g->bytes_per_hour = sqlite3_column_double(s, 8);
	g->count_per_hour = sqlite3_column_double(s, 9);
	return g->name ? 0 : -LM_ENOMEM;
}

int lm_store_growth(struct lm_store *store, int64_t instance_id, size_t limit,
		    struct lm_store_growth **out, size_t *n, struct lm_err *err)
{
	struct lm_store_growth *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(store->db, growth_sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(store, err, "computing type growth");
	sqlite3_bind_int64(s, 1, instance_id);
	sqlite3_bind_int64(s, 2, limit && limit < INT64_MAX ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = lm_err_set(err, LM_ENOMEM, "out of memory reading growth");
				break;
			}
			v = nv;
		}
		if (read_growth(s, &v[len++]) < 0) {
			r = lm_err_set(err, LM_ENOMEM, "out of memory reading growth");
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_error(store, err, "computing type growth");
	sqlite3_finalize(s);
	if (r < 0) {
		lm_store_growth_free(v, len);
		return r;
	}
	*out = v;
	*n = len;
	return 0;
}

int lm_store_series(struct lm_store *store, int64_t instance_id,
		    const char *kind, const char *name, int64_t since_us,
		    struct lm_store_point **pts, size_t *n, struct lm_err *err)
{
	static const char type_sql[] =
		"SELECT s.id, s.taken_at_us, coalesce(st.count, 0), coalesce(st.bytes, 0) "
		"FROM snapshots s LEFT JOIN snapshot_types st ON st.snapshot_id = s.id "
		"AND st.type_id = (SELECT id FROM types WHERE kind = ?3 AND name = ?4) "
		"WHERE s.instance_id = ?1 AND s.taken_at_us >= ?2 AND s." OK_STATUS " "
		"ORDER BY s.taken_at_us, s.id";
	static const char total_sql[] =
		"SELECT s.id, s.taken_at_us, coalesce(s.inuse_count, 0), "
		"coalesce(s.inuse_bytes, 0) FROM snapshots s "
		"WHERE s.instance_id = ?1 AND s.taken_at_us >= ?2 AND s." OK_STATUS " "
		"ORDER BY s.taken_at_us, s.id";
	struct lm_store_point *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s;
	int rc, r = 0;

	*pts = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(store->db, kind ? type_sql : total_sql, -1, &s,
			       NULL) != SQLITE_OK)
		return db_error(store, err, "reading a series");
	sqlite3_bind_int64(s, 1, instance_id);
	sqlite3_bind_int64(s, 2, since_us);
	if (kind) {
		sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, name ? name : "", -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = lm_err_set(err, LM_ENOMEM, "out of memory reading a series");
				break;
			}
			v = nv;
		}
		v[len].snapshot_id = sqlite3_column_int64(s, 0);
		v[len].taken_at_us = sqlite3_column_int64(s, 1);
		v[len].count = from_db(sqlite3_column_int64(s, 2));
		v[len].bytes = from_db(sqlite3_column_int64(s, 3));
		len++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_error(store, err, "reading a series");
	sqlite3_finalize(s);
	if (r < 0) {
		free(v);
		return r;
	}
	*pts = v;
	*n = len;
	return 0;
}
