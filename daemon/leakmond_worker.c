/* SPDX-License-Identifier: MIT */
/*
 * leakmond_worker.c - the thread that takes snapshots.
 *
 * A snapshot stops the target, copies its memory and walks its heap: that
 * can take seconds, so it must not run on the loop. One worker thread takes
 * jobs from a FIFO queue, runs lm_snapshot_census() (or the job's own run(),
 * such as the search for holder chains) and puts the finished
 * job on a done list; ev_async wakes the loop, which hands each job to the
 * done() callback. One thread means one snapshot at a time, so a process is
 * never snapshotted twice at once and the machine is never loaded by more
 * than one walk. The worker never touches the database or the daemon's
 * structures: only the job it holds.
 *
 * Signals are blocked in the worker: they belong to the loop, and a signal
 * handler interrupting the engine's waitpid() calls would only get in the
 * way.
 *
 * After each job the worker gives malloc's free pages back (malloc_trim):
 * a walk's temporary arrays would otherwise stay in the daemon's RSS.
 *
 * A snapshot abandoned because a thread of the target did not stop within
 * max_pause (vfork, disk sleep) leaves that thread traced by the worker,
 * with our interrupt pending: it would stop, and stay stopped, the moment
 * its sleep ends. The kernel lets such threads go, interrupt cancelled,
 * when the thread that traced them exits (ptrace.h). So after such a job
 * the worker hands a fresh thread its place and ends.
 */
#include "config.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leakmond.h"
#include "ptrace.h"
#include "symbols.h"

struct lmd_worker {
	struct ev_loop *loop;
	ev_async async;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct lmd_job *queue, *queue_tail;	/* waiting */
	struct lmd_job *running;		/* in lm_snapshot_census */
	struct lmd_job *done, *done_tail;	/* finished, not yet handed back */
	size_t pending;				/* queued + running + done */
	int quit;
	void (*done_cb)(struct lmd_job *job, void *ctx);
	void *ctx;
};

static void append(struct lmd_job **head, struct lmd_job **tail, struct lmd_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static void *worker_main(void *arg);

/* With --verbose: where our memory is after a job (malloc's heap, the
 * symbols, SQLite's), for bench/daemon_memory.sh. Only reads counters:
 * the database is the loop's. */
static void log_memory(const struct lmd_job *job)
{
	struct mallinfo2 mi;
	uint64_t parts, tables;

	if (lm_log_get_level() < LM_LOG_DEBUG)
		return;
	mi = mallinfo2();
	lm_symbols_held(&parts, &tables);
	lm_log(LM_LOG_DEBUG, "memory after the snapshot of pid %d: malloc in use %zu kB "
	       "(mmapped %zu kB), free but kept %zu kB; symbols: modules %llu kB, tables "
	       "%llu kB; sqlite %lld kB", (int)job->opts.pid, (mi.uordblks + mi.hblkhd) >> 10,
	       mi.hblkhd >> 10, mi.fordblks >> 10, (unsigned long long)parts >> 10,
	       (unsigned long long)tables >> 10, (long long)sqlite3_memory_used() >> 10);
}

/* With w->lock held: start the thread that takes over from this one (it
 * inherits our all-blocked signal mask). 0, or -LM_ENOMEM when it could
 * not be started (pthread_create lacked memory or threads): then this
 * thread carries on, and the lingering threads are let
 * go by lm_ptrace_settle() once they stop, or when the daemon exits. */
static int hand_over(struct lmd_worker *w)
{
	pthread_t next;

	if (pthread_create(&next, NULL, worker_main, w) != 0)
		return -LM_ENOMEM;
	pthread_detach(pthread_self());
	w->thread = next;
	return 0;
}

static void *worker_main(void *arg)
{
	struct lmd_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct lmd_job *job;
		while (!w->queue && !w->quit)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->quit)
			break;
		job = w->queue;
		w->queue = job->next;
		if (!w->queue)
			w->queue_tail = NULL;
		w->running = job;
		pthread_mutex_unlock(&w->lock);

		job->started_us = lm_wall_us();
		job->rc = job->run ? job->run(job) :
			  lm_snapshot_census(&job->opts, &job->census, &job->err);
		job->finished_us = lm_wall_us();
		/* What the walk freed stays in this thread's arena otherwise
		 * (glibc returns an arena's free pages only from its top): a
		 * daemon is idle between censuses, let them go. */
		malloc_trim(0);
		log_memory(job);

		pthread_mutex_lock(&w->lock);
		w->running = NULL;
		append(&w->done, &w->done_tail, job);
		ev_async_send(w->loop, &w->async);
		if (lm_ptrace_lingering() > 0 && hand_over(w) == 0) {
			pthread_mutex_unlock(&w->lock);
			return NULL;	/* our exit lets the lingering threads go */
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* On the loop thread: hand back every finished job, oldest first. */
static void on_async(struct ev_loop *loop, ev_async *a, int revents)
{
	struct lmd_worker *w = a->data;
	struct lmd_job *job, *next;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&w->lock);
	job = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	for (; job; job = next) {
		next = job->next;
		pthread_mutex_lock(&w->lock);
		w->pending--;
		pthread_mutex_unlock(&w->lock);
		w->done_cb(job, w->ctx);
	}
}

struct lmd_worker *lmd_worker_start(struct ev_loop *loop,
				    void (*done)(struct lmd_job *job, void *ctx), void *ctx,
				    struct lm_err *err)
{
	struct lmd_worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int r;

	if (!w) {
		lm_err_set(err, LM_ENOMEM, "out of memory starting the snapshot thread");
		return NULL;
	}
	w->loop = loop;
	w->done_cb = done;
	w->ctx = ctx;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	ev_async_init(&w->async, on_async);
	w->async.data = w;
	ev_async_start(loop, &w->async);
	/* The thread inherits the mask: create it with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		ev_async_stop(loop, &w->async);
		free(w);
		lm_err_errno(err, LM_ENOMEM, r, "cannot start the snapshot thread");
		return NULL;
	}
	return w;
}

void lmd_worker_submit(struct lmd_worker *w, struct lmd_job *job)
{
	pthread_mutex_lock(&w->lock);
	append(&w->queue, &w->queue_tail, job);
	w->pending++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

size_t lmd_worker_pending(struct lmd_worker *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->pending;
	pthread_mutex_unlock(&w->lock);
	return n;
}

const struct lmd_job *lmd_worker_running(struct lmd_worker *w)
{
	const struct lmd_job *job;

	pthread_mutex_lock(&w->lock);
	job = w->running;
	pthread_mutex_unlock(&w->lock);
	return job;
}

struct lmd_job *lmd_worker_take_queued(struct lmd_worker *w)
{
	struct lmd_job *job, *j;

	pthread_mutex_lock(&w->lock);
	job = w->queue;
	w->queue = w->queue_tail = NULL;
	for (j = job; j; j = j->next)
		w->pending--;
	pthread_mutex_unlock(&w->lock);
	return job;
}

int lmd_worker_stop(struct lmd_worker *w)
{
	pthread_t thread;
	int busy;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	busy = w->running != NULL;
	thread = w->thread;	/* hand_over() may have replaced it */
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	ev_async_stop(w->loop, &w->async);
	if (busy)
		return -LM_EBUSY;	/* the process exit ends it; a SEIZEd target runs on */
	pthread_join(thread, NULL);
	while (w->done) {
		struct lmd_job *next = w->done->next;
		lmd_job_free(w->done);
		w->done = next;
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
	return 0;
}

void lmd_job_free(struct lmd_job *job)
{
	if (!job)
		return;
	lm_census_free(job->census);
	lm_symcache_free(job->opts.symcache);	/* the job's reference (submit()) */
	if (job->free_data)
		job->free_data(job->data);
	free(job->target);
	free(job);
}
