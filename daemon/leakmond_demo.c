/* SPDX-License-Identifier: MIT */
/*
 * leakmond_demo.c - `leakmond --demo`: the first thing a newcomer runs.
 *
 * No configuration file and no service needed: start the bundled
 * leakmon-demo program (a service whose session cache is never pruned) as
 * our child, in its own process group so Ctrl-C reaches only us, write an
 * embedded configuration that watches it every few seconds with the
 * database in a fresh temporary directory, and print each snapshot's top
 * types with their growth since the first snapshot. On the way out the
 * demo program is stopped; the database stays for sqlite3.
 *
 * The child is reaped by polling from a timer, never by a SIGCHLD handler:
 * see leakmond.c on why the loop must not reap children. The child is also
 * our tracee while a snapshot runs, and a wait on a traced child reports
 * its ptrace stops too (even without WUNTRACED): child_exited() looks with
 * WNOWAIT and reaps only an exit, so a stop stays for the snapshot thread.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "escape.h"
#include "leakmond.h"

#define DEMO_PROGRAM "leakmon-demo"
#define DEMO_SCRIPT "leakmon-demo.py"
#define TOP_TYPES 8

extern char **environ;

struct first_seen {
	uint8_t kind;
	char *name;
	uint64_t bytes;
};

struct lmd_demo {
	pid_t child;
	char dir[PATH_MAX];
	char db[PATH_MAX];
	ev_timer reap, duration;
	struct first_seen *first;
	size_t nfirst;
	uint64_t first_inuse;
	unsigned shown;
};

/* leakmon-demo next to our own binary (build tree, same bin dir), else PATH;
 * -LM_ENOTFOUND when it is nowhere. */
static int find_demo(char *out, size_t len)
{
	char self[PATH_MAX], *slash, *path, *dir, *save = NULL;
	ssize_t r = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (r > 0) {
		self[r] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(out, len, "%s/%s", self, DEMO_PROGRAM);
			if (access(out, X_OK) == 0)
				return 0;
			/* sbin/leakmond with bin/leakmon-demo */
			if ((slash = strrchr(self, '/'))) {
				snprintf(out, len, "%.*s/bin/%s", (int)(slash - self), self, DEMO_PROGRAM);
				if (access(out, X_OK) == 0)
					return 0;
			}
		}
	}
	path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, DEMO_PROGRAM);
		if (access(out, X_OK) == 0) {
			free(path);
			return 0;
		}
	}
	free(path);
	return -LM_ENOTFOUND;
}

/* The Python demo service: in the source tree (a build tree's leakmond),
 * else where make install put it (pkgdatadir, the schema directory's
 * parent); and python3: Debian's, else the first in PATH. -LM_ENOTFOUND
 * (said in err) when either is missing. */
static int find_python_demo(char *script, size_t slen, char *python, size_t plen,
			    struct lm_err *err)
{
	char *path, *dir, *save = NULL;

	snprintf(script, slen, "%s/../demo/%s", LM_SRC_SCHEMA_DIR, DEMO_SCRIPT);
	if (access(script, R_OK) != 0) {
		snprintf(script, slen, "%s/../%s", LM_SCHEMA_DIR, DEMO_SCRIPT);
		if (access(script, R_OK) != 0)
			return lm_err_set(err, LM_ENOTFOUND, "cannot find %s in the source "
					  "tree or in %s/..: install leakmon completely "
					  "(make install)", DEMO_SCRIPT, LM_SCHEMA_DIR);
	}
	snprintf(python, plen, "/usr/bin/python3");
	if (access(python, X_OK) == 0)
		return 0;
	path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(python, plen, "%s/python3", dir);
		if (access(python, X_OK) == 0) {
			free(path);
			return 0;
		}
	}
	free(path);
	return lm_err_set(err, LM_ENOTFOUND, "no python3 in /usr/bin or PATH: "
			  "install python3 (apt-get install python3)");
}

static int spawn_demo(struct lmd_demo *demo, char *const argv[], struct lm_err *err)
{
	const char *prog = argv[0];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&attr);
	/* Its own process group: Ctrl-C in the terminal is for leakmond, which
	 * then stops the demo program itself. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(&demo->child, prog, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return lm_err_errno(err, LM_EIO, r, "cannot start %s", prog);
	return 0;
}

int lmd_demo_prepare(struct leakmond *d, uint64_t interval_ms, int python, char **conf_text,
		     struct lm_err *err)
{
	struct lmd_demo *demo = calloc(1, sizeof(*demo));
	char prog[PATH_MAX], script[PATH_MAX], interval[32], what[2 * PATH_MAX + 64];
	char *argv[3] = { prog, NULL, NULL };
	const char *tmp = getenv("TMPDIR");
	int r;

	*conf_text = NULL;
	if (!demo)
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	if (python) {
		r = find_python_demo(script, sizeof(script), prog, sizeof(prog), err);
		if (r < 0) {
			free(demo);
			return r;
		}
		argv[1] = script;
		snprintf(what, sizeof(what), "%s run by %s", script, prog);
	} else if (find_demo(prog, sizeof(prog)) < 0) {
		free(demo);
		return lm_err_set(err, LM_ENOTFOUND, "cannot find %s next to leakmond or in "
				  "PATH: install leakmon completely (make install)", DEMO_PROGRAM);
	} else {
		snprintf(what, sizeof(what), "%s", prog);
	}
	snprintf(demo->dir, sizeof(demo->dir), "%s/leakmon-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(demo->dir)) {
		r = lm_err_errno(err, LM_EIO, errno, "cannot create a directory in %s",
				 tmp && *tmp ? tmp : "/tmp");
		free(demo);
		return r;
	}
	snprintf(demo->db, sizeof(demo->db), "%s/leakmon.db", demo->dir);
	if ((r = spawn_demo(demo, argv, err)) < 0) {
		rmdir(demo->dir);
		free(demo);
		return r;
	}
	d->demo = demo;
	lm_format_duration(interval_ms, interval, sizeof(interval));
	/* Short warm-up and window so the leak is judged within minutes. */
	if (asprintf(conf_text,
		     "[daemon]\n"
		     "database = %s\n"
		     "interval = %s\n"
		     "max_pause = 1s\n"
		     "warmup = 0s\n"
		     "window = 10min\n"
		     "min_samples = 5\n"
		     "log_level = notice\n"
		     "[target demo]\n"
		     "pid = %d\n", demo->db, interval, (int)demo->child) < 0) {
		*conf_text = NULL;
		return lm_err_set(err, LM_ENOMEM, "out of memory");
	}
	printf("leakmond --demo: watching %s (pid %d), a %sservice whose session cache is never "
	       "pruned.\n"
	       "A heap census every %s; the history goes to %s\n"
	       "Look at it while this runs (or after):\n"
	       "  sqlite3 %s 'select * from latest_census'\n"
	       "  sqlite3 %s 'select * from type_growth order by bytes_per_hour desc limit 5'\n"
	       "Ctrl-C stops the demo; the database stays.\n\n",
	       what, (int)demo->child, python ? "Python " : "", interval, demo->db, demo->db,
	       demo->db);
	fflush(stdout);
	return 0;
}

/* Has the child exited (then reaped, its status in *st)? */
static int child_exited(pid_t child, int *st)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid != child)
		return 0;
	if (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED && si.si_code != CLD_DUMPED)
		return 0;	/* a ptrace stop: not ours to take */
	return waitpid(child, st, WNOHANG) == child;
}

static void on_reap(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct leakmond *d = w->data;
	struct lmd_demo *demo = d->demo;
	int st;

	(void)loop;
	(void)revents;
	if (demo->child > 0 && child_exited(demo->child, &st)) {
		demo->child = 0;
		lm_log(LM_LOG_WARNING, "leakmon-demo ended (%s %d)",
		       WIFSIGNALED(st) ? "signal" : "exit status",
		       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		d->exit_code = 1;
		lmd_stop(d, "demo program gone");
	}
}

static void on_duration(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	lmd_stop(w->data, "--duration reached");
}

void lmd_demo_arm(struct leakmond *d, uint64_t duration_ms)
{
	struct lmd_demo *demo = d->demo;

	ev_timer_init(&demo->reap, on_reap, 1., 1.);
	demo->reap.data = d;
	ev_timer_start(d->loop, &demo->reap);
	if (duration_ms) {
		ev_timer_init(&demo->duration, on_duration, (double)duration_ms / 1000.0, 0.);
		demo->duration.data = d;
		ev_timer_start(d->loop, &demo->duration);
	}
}

static uint64_t first_bytes(struct lmd_demo *demo, const struct lm_type_stat *ts, int *found)
{
	size_t i;

	for (i = 0; i < demo->nfirst; i++)
		if (demo->first[i].kind == ts->kind && strcmp(demo->first[i].name, ts->name) == 0) {
			*found = 1;
			return demo->first[i].bytes;
		}
	*found = 0;
	return 0;
}

static void remember_first(struct lmd_demo *demo, const struct lm_census *c)
{
	size_t i;

	demo->first = calloc(c->ntypes + 1, sizeof(*demo->first));
	if (!demo->first)
		return;
	for (i = 0; i < c->ntypes; i++) {
		demo->first[demo->nfirst].kind = c->types[i].kind;
		demo->first[demo->nfirst].name = strdup(c->types[i].name);
		demo->first[demo->nfirst].bytes = c->types[i].bytes;
		if (demo->first[demo->nfirst].name)
			demo->nfirst++;
	}
	demo->first_inuse = c->totals.inuse_bytes;
}

static void fmt_growth(int64_t delta, char *buf, size_t len)
{
	char b[32];

	lm_format_bytes((uint64_t)(delta < 0 ? -delta : delta), b, sizeof(b));
	snprintf(buf, len, "%s%s", delta < 0 ? "-" : "+", b);
}

void lmd_demo_snapshot(struct leakmond *d, const struct lmd_job *job, const char *status)
{
	struct lmd_demo *demo = d->demo;
	const struct lm_census *c = job->census;
	char when[32], inuse[32], growth[32], bytes[32], type[1100], name[1024];
	time_t sec = (time_t)(job->finished_us / 1000000);
	struct tm tm;
	size_t i;

	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (!c) {
		printf("%s  snapshot %s: %s\n\n", when, status,
		       lm_escape_str(job->err.msg, name, sizeof(name)));
		fflush(stdout);
		return;
	}
	if (!demo->first)
		remember_first(demo, c);
	demo->shown++;
	lm_format_bytes(c->totals.inuse_bytes, inuse, sizeof(inuse));
	fmt_growth((int64_t)(c->totals.inuse_bytes - demo->first_inuse), growth, sizeof(growth));
	printf("%s  snapshot %u of pid %d: %s in use (%s since the first), %llu allocations, "
	       "target paused %.1f ms\n", when, demo->shown, (int)c->pid, inuse, growth,
	       (unsigned long long)c->totals.inuse_count, c->pause_us / 1000.0);
	printf("  %12s %12s %12s  %s\n", "count", "bytes", "growth", "type");
	for (i = 0; i < c->ntypes && i < TOP_TYPES; i++) {
		const struct lm_type_stat *ts = &c->types[i];
		int found;
		uint64_t fb = first_bytes(demo, ts, &found);
		lm_format_bytes(ts->bytes, bytes, sizeof(bytes));
		fmt_growth((int64_t)(ts->bytes - fb), growth, sizeof(growth));
		/* "class Session", but "string" and "size 24" as they are; the
		 * name escaped, as everywhere (escape.h). */
		lm_escape_str(ts->name, name, sizeof(name));
		if (ts->kind == LM_KIND_CLASS || ts->kind == LM_KIND_SYMBOL ||
		    ts->kind == LM_KIND_PYTHON)
			snprintf(type, sizeof(type), "%s %s", lm_kind_name(ts->kind), name);
		else
			snprintf(type, sizeof(type), "%s", name);
		printf("  %12llu %12s %12s  %s%s\n", (unsigned long long)ts->count, bytes,
		       demo->shown == 1 ? "" : growth, type, found || demo->shown == 1 ? "" : " (new)");
	}
	if (c->warning)
		printf("  (partial: %s)\n", lm_escape_str(c->warning, name, sizeof(name)));
	printf("\n");
	fflush(stdout);
}

void lmd_demo_stop(struct leakmond *d)
{
	struct lmd_demo *demo = d->demo;
	size_t i;
	int st, tries;

	if (!demo)
		return;
	if (d->loop) {
		ev_timer_stop(d->loop, &demo->reap);
		ev_timer_stop(d->loop, &demo->duration);
	}
	if (demo->child > 0) {
		kill(demo->child, SIGTERM);
		for (tries = 0; tries < 40; tries++) {
			if (child_exited(demo->child, &st))
				break;
			usleep(50000);
		}
		if (tries == 40) {
			kill(demo->child, SIGKILL);
			for (tries = 0; tries < 40 && !child_exited(demo->child, &st); tries++)
				usleep(50000);
		}
	}
	if (demo->shown)
		printf("Demo stopped. The history stays in %s:\n"
		       "  sqlite3 %s 'select * from type_growth order by bytes_per_hour desc "
		       "limit 5'\n", demo->db, demo->db);
	fflush(stdout);
	for (i = 0; i < demo->nfirst; i++)
		free(demo->first[i].name);
	free(demo->first);
	free(demo);
	d->demo = NULL;
}
