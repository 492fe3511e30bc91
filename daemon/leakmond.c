/* SPDX-License-Identifier: MIT */
/*
 * leakmond.c - the leakmon service: watches the configured targets, takes a
 * heap census of each every interval, keeps the history in SQLite.
 *
 *   leakmond [-c FILE] [-v]          run in the foreground (systemd, containers)
 *   leakmond --check-config [-c FILE]
 *   leakmond --demo [--duration D]   watch the bundled demo program
 *
 * Structure: one libev loop owns every timer and signal and is the only
 * thread that touches the database and the target list; snapshots run on
 * the worker thread (leakmond_worker.c) and come back through ev_async to
 * on_job_done(), which stores them and calls on_snapshot_done().
 *
 * The loop is a fresh ev_loop_new(), not libev's default loop, on purpose:
 * the default loop installs a SIGCHLD handler that reaps *any* child with
 * waitpid(-1), and for a tracer that includes its ptrace stops - it would
 * steal the stop notifications the snapshot engine waits for.
 *
 * systemd: READY=1 once the configuration and database are open, STATUS=
 * after every snapshot, WATCHDOG=1 from a loop timer (so a stalled loop
 * stops the pings), RELOADING=1/READY=1 around SIGHUP, STOPPING=1.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "leakmond.h"

#define EX_CONFIG 78
#define TICK_S 0.25		/* how often due work is looked for */
#define GRACE_S 10.0		/* SIGTERM: wait this long for a running snapshot */
#define RETENTION_FIRST_S 5.0	/* after start: catch up after a downtime */
#define RETENTION_EVERY_S 3600.0
#define FAIL_LOG_EVERY_S 600
#define BACKOFF_MAX_S 3600.0	/* longest wait after abandoned snapshots */
#define BACKOFF_MAX_SHIFT 10	/* at most 2^10 intervals */

void lmd_update_status(struct leakmond *d)
{
	size_t nproc = lmd_count_instances(d);

	/* First start with the installed default file: say so where an
	 * operator looks first (systemctl status), not only in the journal. */
	if (d->ntargets == 0 && !d->stopping) {
		sd_notifyf(0, "STATUS=No targets configured in %s: watching nothing "
			   "(add a [target NAME] section, then reload)",
			   d->conf_path ? d->conf_path : "the configuration");
		return;
	}
	sd_notifyf(0, "STATUS=%s%zu target%s, %zu process%s watched%s%s",
		   d->stopping ? "Stopping; " : "", d->ntargets, d->ntargets == 1 ? "" : "s",
		   nproc, nproc == 1 ? "" : "es", d->last[0] ? "; last snapshot: " : "", d->last);
}

static const char *status_of(const struct lmd_job *job)
{
	if (job->rc == 0)
		return job->census->partial ? LM_STORE_PARTIAL : LM_STORE_OK;
	if (job->rc == -LM_ELIMIT || job->rc == -LM_ETIMEDOUT)
		return LM_STORE_ABANDONED;
	return LM_STORE_FAILED;
}

void on_snapshot_done(struct leakmond *d, struct lmd_target *t, struct lmd_instance *inst,
		      const struct lmd_job *job, const char *status, int64_t snapshot_id)
{
	char when[32], bytes[32];
	time_t sec = (time_t)(job->finished_us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	if (job->census) {
		lm_format_bytes(job->census->totals.inuse_bytes, bytes, sizeof(bytes));
		snprintf(d->last, sizeof(d->last), "%s pid %d %s at %s, %s in use", job->target,
			 (int)job->id.pid, status, when, bytes);
	} else {
		snprintf(d->last, sizeof(d->last), "%s pid %d %s at %s (%s)", job->target,
			 (int)job->id.pid, status, when, lm_status_name(job->err.code));
	}
	lmd_update_status(d);
	if (d->demo)
		lmd_demo_snapshot(d, job, status);
	/* Leak detection and alerts (daemon/leakmond_alert.c). */
	lmd_alert_snapshot(d, t, inst, job, snapshot_id);
	lmd_metrics_snapshot(d, job->target, status);
}

static void log_result(struct lmd_instance *inst,
		       const struct lmd_job *job, const char *status)
{
	const struct lm_census *c = job->census;
	uint64_t suppressed = 0;
	char bytes[32];

	if (c) {
		/* After failures, say once that it works again. */
		if (inst && inst->fail_log.last_us) {
			lm_log(LM_LOG_NOTICE, "target %s: snapshots of pid %d work again",
			       job->target, (int)job->id.pid);
			memset(&inst->fail_log, 0, sizeof(inst->fail_log));
		}
		lm_format_bytes(c->totals.inuse_bytes, bytes, sizeof(bytes));
		lm_log(c->partial ? LM_LOG_NOTICE : LM_LOG_INFO,
		       "target %s: pid %d: %s in %llu allocations, %zu types, paused %.1f ms, "
		       "walk %.1f ms (%s)%s%s", job->target, (int)job->id.pid, bytes,
		       (unsigned long long)c->totals.inuse_count, c->ntypes, c->pause_us / 1000.0,
		       c->walk_us / 1000.0, c->source, c->warning ? ": " : "",
		       c->warning ? c->warning : "");
		return;
	}
	if (job->rc == -LM_EEXITED || job->rc == -LM_ENOPROC) {
		lm_log(LM_LOG_INFO, "target %s: pid %d exited during the snapshot", job->target,
		       (int)job->id.pid);
		return;
	}
	/* A failure repeats every interval until something changes: say it
	 * once, then at most every FAIL_LOG_EVERY_S. */
	if (inst && !lm_ratelimit_ok(&inst->fail_log, lm_wall_us(), FAIL_LOG_EVERY_S, &suppressed))
		return;
	if (suppressed)
		lm_log(LM_LOG_WARNING, "target %s: snapshot of pid %d %s: %s (%llu more failures "
		       "since the last report)", job->target, (int)job->id.pid, status,
		       job->err.msg, (unsigned long long)suppressed);
	else
		lm_log(LM_LOG_WARNING, "target %s: snapshot of pid %d %s: %s", job->target,
		       (int)job->id.pid, status, job->err.msg);
}

/*
 * Every abandoned attempt stops the target for up to max_pause for nothing
 * (a thread in vfork or disk sleep, a heap too big to copy in time). After
 * the second in a row, wait 2, 4, 8... intervals (at most BACKOFF_MAX_S,
 * never less than one interval); any other outcome ends the streak.
 */
static void back_off(struct leakmond *d, struct lmd_target *t, struct lmd_instance *inst,
		     const struct lmd_job *job, const char *status)
{
	double interval = (double)t->conf->interval_ms / 1000.0, delay;
	unsigned n;

	if (strcmp(status, LM_STORE_ABANDONED) != 0) {
		if (inst->abandoned_streak > 1)
			lm_log(LM_LOG_NOTICE, "target %s: pid %d: back to one snapshot every %.0f s",
			       job->target, (int)job->id.pid, interval);
		inst->abandoned_streak = 0;
		return;
	}
	n = ++inst->abandoned_streak;
	if (n < 2)
		return;
	delay = interval * (double)(1u << (n - 1 < BACKOFF_MAX_SHIFT ? n - 1 : BACKOFF_MAX_SHIFT));
	if (delay > BACKOFF_MAX_S)
		delay = interval > BACKOFF_MAX_S ? interval : BACKOFF_MAX_S;
	if (inst->next_due < ev_now(d->loop) + delay)
		inst->next_due = ev_now(d->loop) + delay;
	lm_log(LM_LOG_NOTICE, "target %s: pid %d: %u abandoned snapshots in a row; backing off, "
	       "next attempt in %.0f s", job->target, (int)job->id.pid, n, delay);
}

/* A job is back from the worker (loop thread). */
static void on_job_done(struct lmd_job *job, void *ctx)
{
	struct leakmond *d = ctx;
	struct lmd_target *t = lmd_find_target(d, job->target);
	struct lmd_instance *inst = t ? lmd_find_instance(t, &job->id) : NULL;
	const char *status, *error;
	struct lm_err err = { 0 };
	int64_t snapshot_id = 0;

	if (job->done) {	/* not a census: its owner takes it */
		job->done(d, job);
		goto out;
	}
	if (job->rc == 0 && !job->census)	/* never expected: keep it a failure */
		job->rc = lm_err_set(&job->err, LM_EIO, "the snapshot returned no census");
	status = status_of(job);
	error = job->rc < 0 ? job->err.msg : job->census->warning;
	if (inst) {
		inst->in_flight = 0;
		inst->nsnapshots++;
		if (job->rc < 0)
			inst->nfailures++;
		else
			inst->last_ok_us = job->census->taken_at_us;
		inst->memory_limit = lmd_memory_limit(t, inst);
		back_off(d, t, inst, job, status);
	}
	if (t && (job->rc == -LM_EEXITED || job->rc == -LM_ENOPROC))
		t->next_resolve = ev_now(d->loop);	/* close the instance now */
	log_result(inst, job, status);
	if (lm_store_add_snapshot(d->store, job->instance_id, job->rc == 0 ? job->census : NULL,
				  status, error, job->rc == 0 ? 0 : job->finished_us,
				  &snapshot_id, &err) < 0) {
		lm_log(LM_LOG_ERR, "target %s: cannot store the snapshot of pid %d: %s",
		       job->target, (int)job->id.pid, err.msg);
		snapshot_id = 0;
	}
	on_snapshot_done(d, t, inst, job, status, snapshot_id);
out:
	lmd_job_free(job);
	if (d->stopping && lmd_worker_pending(d->worker) == 0)
		ev_break(d->loop, EVBREAK_ALL);
}

/* ---- timers ---- */

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	lmd_targets_tick(w->data);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sd_notify(0, "WATCHDOG=1");
}

static void on_retention(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct leakmond *d = w->data;
	struct lm_err err = { 0 };
	uint64_t deleted = 0;

	(void)loop;
	(void)revents;
	if (lm_store_retention(d->store, lm_wall_us(), (int64_t)(d->conf->retain_full_ms / 1000),
			       (int64_t)(d->conf->retain_ms / 1000), &deleted, &err) < 0)
		lm_log(LM_LOG_WARNING, "retention: %s", err.msg);
	else if (deleted)
		lm_log(LM_LOG_INFO, "retention: removed %llu old snapshots",
		       (unsigned long long)deleted);
}

/* SIGTERM waited long enough: record the running snapshot as abandoned.
 * Exiting releases its target: a SEIZEd tracee runs on when its tracer dies. */
static void on_grace(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct leakmond *d = w->data;
	const struct lmd_job *job = lmd_worker_running(d->worker);
	struct lm_err err = { 0 };

	(void)revents;
	if (job && !job->run) {	/* a census: its attempt is history too */
		lm_log(LM_LOG_WARNING, "target %s: abandoning the snapshot of pid %d to stop",
		       job->target, (int)job->id.pid);
		if (lm_store_add_snapshot(d->store, job->instance_id, NULL, LM_STORE_ABANDONED,
					  "leakmond stopped during the snapshot", 0, NULL, &err) < 0)
			lm_log(LM_LOG_ERR, "cannot store the abandoned snapshot: %s", err.msg);
	}
	ev_break(loop, EVBREAK_ALL);
}

/* ---- signals ---- */

void lmd_stop(struct leakmond *d, const char *why)
{
	struct lmd_job *queued, *next;
	const struct lmd_job *running;

	if (d->stopping) {
		lm_log(LM_LOG_NOTICE, "%s again: stopping now", why);
		on_grace(d->loop, &d->grace, 0);
		return;
	}
	d->stopping = 1;
	lm_log(LM_LOG_INFO, "%s: stopping", why);
	sd_notify(0, "STOPPING=1");
	lmd_update_status(d);
	ev_timer_stop(d->loop, &d->tick);
	ev_timer_stop(d->loop, &d->retention);
	/* Snapshots not started yet are simply not taken. */
	for (queued = lmd_worker_take_queued(d->worker); queued; queued = next) {
		struct lmd_target *t = lmd_find_target(d, queued->target);
		struct lmd_instance *inst = t ? lmd_find_instance(t, &queued->id) : NULL;
		next = queued->next;
		if (inst && !queued->run)
			inst->in_flight = 0;
		lmd_job_free(queued);
	}
	if (lmd_worker_pending(d->worker) == 0) {
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	running = lmd_worker_running(d->worker);
	if (running && running->run)
		lm_log(LM_LOG_INFO, "waiting up to %.0f s for the holder search in %s (pid %d) "
		       "to finish", GRACE_S, running->target, (int)running->id.pid);
	else if (running)
		lm_log(LM_LOG_INFO, "waiting up to %.0f s for the snapshot of %s (pid %d) to finish",
		       GRACE_S, running->target, (int)running->id.pid);
	ev_timer_init(&d->grace, on_grace, GRACE_S, 0.);
	d->grace.data = d;
	ev_timer_start(d->loop, &d->grace);
}

static void reload(struct leakmond *d)
{
	struct lm_conf *nc = NULL;
	struct lm_err err = { 0 };

	if (!d->conf_path) {
		lm_log(LM_LOG_NOTICE, "SIGHUP: nothing to reload (embedded --demo configuration)");
		return;
	}
	sd_notify(0, "RELOADING=1\nSTATUS=Reloading the configuration");
	lm_log(LM_LOG_INFO, "SIGHUP: reloading %s", d->conf_path);
	if (lm_conf_load(d->conf_path, &nc, &err) < 0) {
		lm_log(LM_LOG_ERR, "%s; keeping the running configuration", err.msg);
	} else if (lmd_targets_sync(d, nc) < 0) {
		lm_log(LM_LOG_ERR, "reload of %s failed (see above); keeping the running "
		       "configuration", d->conf_path);
		lm_conf_free(nc);
	} else {
		if (strcmp(nc->database, d->conf->database) != 0)
			lm_log(LM_LOG_WARNING, "database = %s: a new database takes a restart; "
			       "still writing %s", nc->database, d->conf->database);
		free(nc->database);
		nc->database = strdup(d->conf->database);
		lm_conf_free(d->conf);
		d->conf = nc;
		lmd_alert_reload(d);
		lmd_metrics_reload(d);
		if (!d->verbose)
			lm_log_set_level(nc->log_level);
		lm_log(LM_LOG_INFO, "configuration reloaded: %zu targets", d->ntargets);
	}
	sd_notify(0, "READY=1");
	lmd_update_status(d);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct leakmond *d = w->data;

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		if (!d->stopping)
			reload(d);
	}
	else
		lmd_stop(d, w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- start ---- */

/* Instances the database still has open whose process is gone (the daemon
 * was not running when it ended): close them. Live ones are found again by
 * the first resolution and get their old instance back. */
static void close_stale_instances(struct leakmond *d)
{
	struct lm_store_instance *v;
	struct lm_err err = { 0 };
	size_t n, i;

	if (lm_store_open_instances(d->store, NULL, &v, &n, &err) < 0) {
		lm_log(LM_LOG_WARNING, "cannot list open instances: %s", err.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		struct lm_proc_id id = { .pid = v[i].pid, .start_ticks = v[i].start_ticks };
		if (lm_proc_id_alive(&id))
			continue;
		if (lm_store_instance_close(d->store, v[i].id, lm_wall_us(), &err) < 0)
			lm_log(LM_LOG_WARNING, "cannot close instance %lld: %s",
			       (long long)v[i].id, err.msg);
		else
			lm_log(LM_LOG_DEBUG, "target %s: pid %d ended while leakmond was not "
			       "running", v[i].target, (int)v[i].pid);
	}
	lm_store_instances_free(v, n);
}

static int start(struct leakmond *d)
{
	struct lm_err err = { 0 };
	uint64_t wd_usec = 0;
	int r;

	r = lm_store_open(d->conf->database, LM_STORE_READWRITE, &d->store, &err);
	if (r < 0) {
		lm_log(LM_LOG_ERR, "%s", err.msg);
		return r;
	}
	close_stale_instances(d);
	d->loop = ev_loop_new(EVFLAG_AUTO);
	if (!d->loop) {
		lm_log(LM_LOG_ERR, "cannot create the event loop");
		return -LM_ENOMEM;
	}
	d->worker = lmd_worker_start(d->loop, on_job_done, d, &err);
	if (!d->worker) {
		lm_log(LM_LOG_ERR, "%s", err.msg);
		return -err.code;
	}
	if ((r = lmd_targets_sync(d, d->conf)) < 0)
		return r;
	if ((r = lmd_alert_start(d)) < 0)
		return r;
	if ((r = lmd_metrics_start(d)) < 0)
		return r;

	ev_signal_init(&d->sighup, on_signal, SIGHUP);
	ev_signal_init(&d->sigterm, on_signal, SIGTERM);
	ev_signal_init(&d->sigint, on_signal, SIGINT);
	d->sighup.data = d->sigterm.data = d->sigint.data = d;
	ev_signal_start(d->loop, &d->sighup);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);

	ev_timer_init(&d->tick, on_tick, 0., TICK_S);
	d->tick.data = d;
	ev_timer_start(d->loop, &d->tick);
	ev_timer_init(&d->retention, on_retention, RETENTION_FIRST_S, RETENTION_EVERY_S);
	d->retention.data = d;
	ev_timer_start(d->loop, &d->retention);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		ev_timer_init(&d->watchdog, on_watchdog, 0., (double)wd_usec / 2e6);
		d->watchdog.data = d;
		ev_timer_start(d->loop, &d->watchdog);
		lm_log(LM_LOG_DEBUG, "watchdog: pinging every %.1f s", (double)wd_usec / 2e6);
	}
	lm_log(LM_LOG_INFO, "leakmond %s: %zu target%s, database %s", PACKAGE_VERSION,
	       d->ntargets, d->ntargets == 1 ? "" : "s", d->conf->database);
	if (d->ntargets == 0)
		lm_log(LM_LOG_NOTICE, "no [target NAME] section in %s: watching nothing; "
		       "add one (leakmond.conf(5)) and reload (SIGHUP, systemctl reload leakmond)",
		       d->conf_path ? d->conf_path : "the configuration");
	sd_notify(0, "READY=1");
	lmd_update_status(d);
	return 0;
}

/* After the loop: nothing may block long here (systemd's stop timeout). */
static void finish(struct leakmond *d)
{
	int busy = d->worker && lmd_worker_stop(d->worker) < 0;

	if (d->demo)
		lmd_demo_stop(d);
	lmd_alert_stop(d);
	lmd_metrics_stop(d);
	lmd_targets_free(d);
	lm_store_close(d->store);
	d->store = NULL;
	if (busy) {
		/* The worker is inside a snapshot and owns the loop's async
		 * watcher: leave without tearing down what it still uses. */
		lm_log(LM_LOG_INFO, "stopped");
		_exit(d->exit_code);
	}
	if (d->loop)
		ev_loop_destroy(d->loop);
	lm_conf_free(d->conf);
	lm_log(LM_LOG_INFO, "stopped");
}

/* ---- command line ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmond [-c FILE] [-v]\n"
		"       leakmond --check-config [-c FILE]\n"
		"       leakmond --demo|--demo-python [--duration D] [--interval D] [-v]\n"
		"\n"
		"Watch the services named in the configuration, take a census of each one's\n"
		"glibc heap every interval, and keep the history in SQLite.\n"
		"Runs in the foreground; logs to stderr.\n"
		"\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -v, --verbose       log debug messages\n"
		"      --check-config  validate the configuration and exit (0 valid, 78 not)\n"
		"      --demo          no configuration needed: start the bundled leakmon-demo\n"
		"                      program and watch its heap grow\n"
		"      --demo-python   the same with the bundled Python service (leakmon-demo.py,\n"
		"                      run by python3): its objects by class, growing\n"
		"      --duration D    with --demo*: stop after D (e.g. 60s; default: Ctrl-C)\n"
		"      --interval D    with --demo*: time between snapshots (default 3s)\n"
		"  -h, --help          this text\n"
		"  -V, --version       the version\n"
		"\nSignals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop.\n"
		"Exit status: 0 stopped by a signal, 1 failure, 2 bad command line,\n"
		"78 configuration error.  See leakmond(8) and leakmond.conf(5).\n",
		LM_CONF_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_DEMO, OPT_DEMO_PYTHON, OPT_DURATION, OPT_INTERVAL };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "demo", no_argument, NULL, OPT_DEMO },
		{ "demo-python", no_argument, NULL, OPT_DEMO_PYTHON },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct leakmond d = { 0 };
	struct lm_err err = { 0 };
	const char *path = LM_CONF_DEFAULT_PATH;
	int check = 0, demo = 0, c;
	uint64_t duration_ms = 0, interval_ms = 3000;

	while ((c = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			d.verbose = 1;
			break;
		case OPT_CHECK:
			check = 1;
			break;
		case OPT_DEMO:
		case OPT_DEMO_PYTHON:
			demo = c == OPT_DEMO_PYTHON ? 2 : 1;
			break;
		case OPT_DURATION:
		case OPT_INTERVAL:
			if (lm_parse_duration_ms(optarg, c == OPT_DURATION ? &duration_ms : &interval_ms) < 0 ||
			    (c == OPT_INTERVAL && interval_ms < 1000)) {
				fprintf(stderr, "leakmond: --%s %s: expected a duration like 30s or 5min "
					"(at least 1s)\n", c == OPT_DURATION ? "duration" : "interval", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("leakmond %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "leakmond: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	lm_log_init(d.verbose ? LM_LOG_DEBUG : LM_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);

	if (demo) {
		char *text = NULL;
		if (lmd_demo_prepare(&d, interval_ms, demo == 2, &text, &err) < 0) {
			lm_log(LM_LOG_ERR, "--demo: %s", err.msg);
			return 1;
		}
		c = lm_conf_parse_string(text, "<demo configuration>", &d.conf, &err);
		free(text);
	} else {
		d.conf_path = path;
		c = lm_conf_load(path, &d.conf, &err);
	}
	if (c < 0) {
		if (check)
			fprintf(stderr, "%s\n", err.msg);
		else if (c == -LM_ECONFIG && !d.demo)
			/* Exit 78: the unit does not restart (RestartPreventExitStatus). */
			lm_log(LM_LOG_ERR, "%s; not starting: fix the file (check it with "
			       "leakmond --check-config -c %s), then start leakmond again", err.msg, path);
		else
			lm_log(LM_LOG_ERR, "%s", err.msg);
		if (d.demo)
			lmd_demo_stop(&d);
		return c == -LM_ECONFIG ? EX_CONFIG : 1;
	}
	if (check) {
		printf("%s: ok (%zu target%s, %zu webhook%s)\n", path, d.conf->ntargets,
		       d.conf->ntargets == 1 ? "" : "s", d.conf->nwebhooks,
		       d.conf->nwebhooks == 1 ? "" : "s");
		lm_conf_free(d.conf);
		return 0;
	}
	if (!d.verbose)
		lm_log_set_level(d.conf->log_level);
	if (start(&d) < 0) {
		d.exit_code = 1;
		finish(&d);
		return 1;
	}
	if (d.demo)
		lmd_demo_arm(&d, duration_ms);
	ev_run(d.loop, 0);
	finish(&d);
	return d.exit_code;
}
