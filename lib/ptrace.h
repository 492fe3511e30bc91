/* SPDX-License-Identifier: MIT */
/*
 * ptrace.h - stopping every thread of a process and letting it go again.
 *
 * Only PTRACE_SEIZE + PTRACE_INTERRUPT are used: if we die while a target is
 * stopped, the kernel detaches it and it simply runs on (no SIGSTOP is ever
 * queued, no PTRACE_ATTACH), and a signal a thread was stopped with is
 * still delivered (stops are waited for with WNOWAIT: see ptrace.c and
 * docs/ptrace-signals.md). Threads born while we stop the others are
 * caught by re-reading /proc/PID/task until the set is stable.
 *
 * A thread in an uninterruptible sleep (vfork() parent, slow disk, NFS,
 * FUSE) stops only when the sleep ends: lm_ptrace_stop_within bounds the
 * whole stop by a pause budget, lets every thread go when one is late and
 * says which and why (docs/pause-budget.md).
 */
#ifndef LM_PTRACE_H
#define LM_PTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "clock.h"	/* lm_now_ns() for the deadlines of a stop */
#include "error.h"

struct lm_thread_regs {
	pid_t tid;
	struct user_regs_struct regs;
	struct user_fpregs_struct fpregs;
};

struct lm_stopped {
	pid_t pid;
	struct lm_thread_regs *threads;	/* every thread, registers saved */
	size_t nthreads;
	uint64_t stopped_at_ns;		/* CLOCK_MONOTONIC when the first thread stopped */
	uint64_t paused_ns;		/* set by lm_ptrace_release: first stop to last detach */
	uint64_t deadline_ns;		/* stopped_at_ns + budget, or 0 without a budget:
					 * what follows the stop shares the budget */
	int attached;			/* still holding the threads */
	void *priv;			/* ptrace.c's per-thread state (signals to give back) */
};

/* Seize and interrupt every thread; on return all are stopped with their
 * registers in st->threads. On failure nothing stays attached. */
int lm_ptrace_stop(pid_t pid, struct lm_stopped *st, struct lm_err *err);

/* The same with a pause budget (0 = none, as lm_ptrace_stop): no wait
 * goes on past stopped_at_ns + budget_ns (st->deadline_ns). A thread not
 * stopped by then: every stopped thread is detached and the call fails
 * with LM_ETIMEDOUT, naming the thread and what it is doing. A thread
 * that never stopped cannot be detached yet: it "lingers" (see
 * lm_ptrace_lingering). */
int lm_ptrace_stop_within(pid_t pid, uint64_t budget_ns, struct lm_stopped *st,
			  struct lm_err *err);

/* Threads the calling thread still traces after a stop that timed out,
 * once those that stopped since have been detached (lm_ptrace_settle,
 * which every stop also runs first; neither call blocks). A lingering
 * thread would stop, and stay stopped, the moment its sleep ends: the
 * kernel lets all of them go when the calling thread exits, so a
 * long-lived caller must end the thread that traced them when this is
 * not 0 (a command line tool just exits). */
size_t lm_ptrace_lingering(void);
size_t lm_ptrace_settle(void);

/* Detach every thread (they run on); records st->paused_ns. Safe to call
 * twice. Keeps st->threads for later use. */
void lm_ptrace_release(struct lm_stopped *st);

/* Release (if needed) and free. */
void lm_stopped_free(struct lm_stopped *st);

#endif
