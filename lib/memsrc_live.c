/* SPDX-License-Identifier: MIT */
/*
 * memsrc_live.c - the live source: stop the target, copy its private
 * writable memory into local buffers, let it go, analyse the copies.
 *
 * The stopped time is what the target pays, so everything that can happen
 * before the stop does:
 *  1. read /proc/PID/maps while the target runs and prepare the capture
 *     buffers (lm_capture_prepare, memsrc_capture.c);
 *  2. stop every thread (lm_ptrace_stop), read maps again (the layout may
 *     have changed: a mapping that moved or grew gets a new buffer), read
 *     RSS;
 *  3. copy the pages that exist (lm_capture_pid);
 *  4. detach at once, then sort and index the regions.
 * The source's impl is its struct lm_capture: the buffers its regions
 * point into.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memsrc_capture.h"

/* The live source's state: the buffers it copied the target into. */
static void live_free(struct lm_memsrc *src)
{
	lm_capture_free(src->impl);
	src->impl = NULL;
}

static int exited_error(struct lm_err *err, pid_t pid)
{
	return lm_err_set(err, LM_EEXITED, "process %d exited during the snapshot", (int)pid);
}

/* While the target is stopped: layout, RSS, memory, registers. */
static int capture_stopped(struct lm_memsrc *src, const struct lm_live_opts *opts,
			   struct lm_stopped *st, struct lm_err *err)
{
	struct lm_proc_status ps;
	uint64_t deadline = 0;
	int r;

	pid_t mpid = lm_memory_pid(src->pid);

	if (opts && opts->max_pause_ns)
		deadline = st->stopped_at_ns + opts->max_pause_ns;
	r = lm_proc_read_maps(mpid, &src->maps, err);
	if (r < 0)
		return r == -LM_ENOPROC ? exited_error(err, src->pid) : r;
	if (lm_proc_status(mpid, &ps, NULL) == 0) {
		src->rss_bytes = ps.rss_bytes;
		src->owned_bytes = ps.owned_bytes;
	}
	src->taken_at_us = lm_wall_us();
	r = lm_capture_pid(src->impl, src, mpid, opts ? opts->max_capture_bytes : 0,
			   deadline, err);
	if (r < 0)
		return r;
	src->threads = st->threads;
	src->nthreads = st->nthreads;
	st->threads = NULL;
	st->nthreads = 0;
	return 0;
}

int lm_memsrc_open_live(pid_t pid, const struct lm_live_opts *opts,
			struct lm_memsrc **out, struct lm_err *err)
{
	struct lm_memsrc *src;
	struct lm_maps before;
	struct lm_stopped st;
	char exe[4096];
	int r;

	*out = NULL;
	if (pid <= 0)
		return lm_err_set(err, LM_EINVAL, "invalid pid %d", (int)pid);
	r = lm_memsrc_new(LM_SRC_LIVE, &src, err);
	if (r < 0)
		return r;
	src->pid = pid;
	src->impl = lm_capture_new();
	src->impl_free = live_free;
	if (!src->impl) {
		r = lm_err_set(err, LM_ENOMEM, "out of memory opening pid %d", (int)pid);
		goto fail;
	}
	r = lm_proc_read_maps(lm_memory_pid(pid), &before, err);
	if (r < 0)
		goto fail;
	if (lm_proc_exe(pid, exe, sizeof(exe), NULL) == 0)
		src->exe = strdup(exe);
	r = lm_capture_prepare(src->impl, pid, &before, opts ? opts->max_capture_bytes : 0, err);
	lm_maps_free(&before);
	if (r < 0)
		goto fail;

	/* The stop and the capture share one budget (st.deadline_ns). */
	r = lm_ptrace_stop_within(pid, opts ? opts->max_pause_ns : 0, &st, err);
	if (r < 0)
		goto fail;
	r = capture_stopped(src, opts, &st, err);
	lm_ptrace_release(&st);
	src->pause_ns = st.paused_ns;
	lm_stopped_free(&st);
	if (r < 0)
		goto fail;
	lm_memsrc_sort_regions(src);
	*out = src;
	return 0;
fail:
	lm_memsrc_close(src);
	return r;
}
