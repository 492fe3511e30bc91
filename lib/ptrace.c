/* SPDX-License-Identifier: MIT */
/*
 * ptrace.c - stopping every thread of a process and letting it go again.
 *
 * How a stop works:
 *  1. list /proc/PID/task; PTRACE_SEIZE every thread not yet held (options
 *     0: no PTRACE_O_EXITKILL, so if we die the kernel just detaches and the
 *     target runs on), then PTRACE_INTERRUPT each, then wait for each stop
 *     (waitid(P_PID, tid, WNOWAIT), see below). Seizing all before
 *     interrupting any keeps the stop short.
 *  2. repeat with a fresh task list until a round finds no new thread
 *     (a thread may be born while we stop the others), at most ROUNDS_MAX
 *     rounds.
 *  3. save every thread's registers.
 *
 * What a wait can report, and what we do:
 *  - PTRACE_EVENT_STOP with SIGTRAP: our interrupt. Nothing to re-inject.
 *  - PTRACE_EVENT_STOP with a stop signal: the process is in (or entering) a
 *    group-stop. We detach with 0; the kernel puts the thread back into the
 *    group-stop, so a process stopped by its user stays stopped.
 *  - a plain stop with signal S: signal-delivery-stop. The thread dequeued S
 *    after we seized it and before our interrupt took effect (a trap
 *    pending at that point comes first in get_signal(), so the window is
 *    the few microseconds between PTRACE_SEIZE and PTRACE_INTERRUPT; the
 *    stop also consumes the interrupt). The thread is stopped (registers
 *    readable); we keep it there and give S back with PTRACE_DETACH(tid, S).
 *  - exited / killed / ECHILD / ESRCH: the thread is gone; drop it.
 *
 * Why the wait uses WNOWAIT (a tracer killed mid-stop lost a signal): in a
 * signal-delivery-stop the dequeued signal exists in one place only, the
 * tracee's task->exit_code, which ptrace_stop() (kernel/signal.c) set to S
 * and which ptrace_signal() reads back when the tracee resumes: 0 means
 * "the debugger cancelled the signal" and it is discarded. A plain
 * waitpid() of the stop runs wait_task_stopped() (kernel/exit.c), which
 * does `*p_code = 0` (p_code = &task->exit_code for a ptrace stop) unless
 * WNOWAIT is given: from then on S lived only in our memory until
 * PTRACE_DETACH(tid, S) wrote it back (ptrace_detach() sets
 * child->exit_code = data). If we were SIGKILLed in between - the whole
 * capture, milliseconds to seconds - exit_ptrace() -> __ptrace_detach() ->
 * __ptrace_unlink() (kernel/ptrace.c) detached the thread without touching
 * exit_code and woke it with ptrace_signal_wake_up(); ptrace_stop()
 * returned exit_code 0 and S was silently lost. tests/engine_kill.test
 * lost 1 of 30 SIGRTMIN that way in CI, and t_ptrace hold-kill reproduced
 * it every time (docs/ptrace-signals.md). waitid(WNOWAIT) reports the same
 * stop but leaves exit_code = S, so the kernel keeps the signal for the
 * whole stop: if we die, __ptrace_unlink() wakes the thread, ptrace_stop()
 * returns S and the signal is delivered; if we live, PTRACE_DETACH(tid, S)
 * sets the same value. An unconsumed stop report is harmless: it stops
 * being reportable the moment the thread resumes (task_stopped_code() only
 * looks at stopped or traced tasks), and exits are still reaped.
 *
 * All ptrace calls of one lm_stopped must come from the same thread of
 * ours: ptrace ties a tracee to the tracing thread, not to the process.
 *
 * The pause budget (lm_ptrace_stop_within): a thread in an uninterruptible
 * sleep (a vfork() parent until its child execs or exits, a read from a
 * slow disk, NFS or FUSE) takes our interrupt only when the sleep ends,
 * which may be never; meanwhile every thread already stopped stays
 * stopped. So with a budget the waits poll (waitid WNOHANG|WNOWAIT, naps
 * of 20 us growing to 1 ms) and give up at the deadline: every stopped
 * thread is detached at once and the call fails with LM_ETIMEDOUT naming
 * the late thread and its state (thread_why.c). A thread that never
 * stopped cannot be detached (PTRACE_DETACH wants a stopped tracee): it
 * stays seized with our interrupt pending and would stop, and stay
 * stopped, when its sleep ends. It is kept on this thread's "lingering"
 * list: lm_ptrace_settle() detaches each one that has stopped since, and
 * the kernel lets all of them go, and cancels the pending interrupt, when
 * the tracing thread exits (__ptrace_unlink() clears the pending traps).
 * A caller that lives on (the daemon) must therefore end the thread that
 * traced them; see lm_ptrace_lingering().
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "ptrace.h"
#include "thread_why.h"

#define ROUNDS_MAX 64
#define SEIZE_TRIES 10
#define POLL_FIRST_NS 20000ULL		/* first nap while polling for a stop */
#define POLL_MAX_NS 1000000ULL		/* longest nap: the overshoot past a deadline */

/* Per-thread bookkeeping while stopping; st->threads gets the result. */
struct held {
	pid_t tid;
	int sig;	/* signal to give back at detach (0 = none) */
	int stopped;	/* waitid reported a stop */
	int gone;	/* exited meanwhile */
	int interrupted;	/* PTRACE_INTERRUPT sent */
};

/* Private part of struct lm_stopped (st->priv), kept from stop to release
 * for the signals to give back. */
struct stop_state {
	struct held *v;
	size_t n, cap;
	uint64_t budget_ns;	/* 0 = wait as long as it takes */
	uint64_t deadline_ns;	/* first stop + budget, once the first stop is known */
	pid_t late_tid;		/* the thread that did not stop in time */
};

/* Threads this thread of ours still traces after a stop that timed out:
 * seized, interrupted, never seen stopped. Per thread because ptrace
 * is. */
static __thread struct {
	pid_t *v;
	size_t n, cap;
} lingering;

/* The value of kernel.yama.ptrace_scope, or -1 when Yama is absent. */
static int yama_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* TracerPid from /proc/TID/status: another debugger already holds it? */
static long tracer_pid(pid_t tid)
{
	char path[64], line[256];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* State letter of one thread (Z for a zombie leader), or 0. */
static char thread_state(pid_t pid, pid_t tid)
{
	char path[96], buf[512], *p;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

/* Is tid a thread of this process? (TracerPid names the tracing thread.) */
static int is_our_thread(long tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld", tid);
	return access(path, F_OK) == 0;
}

static int eperm_error(struct lm_err *err, pid_t pid, pid_t tid)
{
	long tracer = tracer_pid(tid);
	int scope = yama_scope();

	if (tracer > 0 && is_our_thread(tracer)) {
		/* Ours: another of our threads still holds it, after a stop it
		 * never reached (it is let go when that thread ends). */
		char why[160];
		lm_thread_why(pid, tid, why, sizeof(why));
		return lm_err_set(err, LM_ETIMEDOUT,
				  "thread %d of pid %d has not stopped since an earlier attempt: %s; "
				  "retry later", (int)tid, (int)pid, why);
	}
	if (tracer > 0)
		return lm_err_set(err, LM_EPERM,
				  "cannot attach to pid %d: thread %d is already traced by pid %ld "
				  "(a debugger or another leakmon); detach it and retry",
				  (int)pid, (int)tid, tracer);
	if (scope >= 0)
		return lm_err_set(err, LM_EPERM,
				  "cannot attach to pid %d: permission denied; needs CAP_SYS_PTRACE "
				  "(run as root or grant it) and kernel.yama.ptrace_scope <= 1 (now %d)",
				  (int)pid, scope);
	return lm_err_set(err, LM_EPERM,
			  "cannot attach to pid %d: permission denied; needs CAP_SYS_PTRACE "
			  "(run as root or grant it)", (int)pid);
}

static int held_has(const struct stop_state *s, pid_t tid)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].tid == tid)
			return 1;
	return 0;
}

static int held_add(struct stop_state *s, pid_t tid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct held *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -LM_ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n++].tid = tid;
	return 0;
}

/* Wait for one interrupted thread to report a stop (or its end). The stop
 * is looked at with WNOWAIT and left unconsumed, so that a signal-delivery-
 * stop keeps its signal in the kernel (see the top of this file); an exit
 * is reaped. For a ptrace stop waitid's si_status is the tracee's whole
 * exit_code (wait_task_stopped(): infop->status = exit_code): S for a
 * signal-delivery-stop, SIG | PTRACE_EVENT_STOP << 8 for an interrupt or
 * group-stop trap. */
static void nap_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/* With a deadline (not 0) the wait polls and returns 1 when the deadline
 * passed before the thread stopped; 0 otherwise. */
static int wait_stop(struct held *h, uint64_t deadline_ns)
{
	uint64_t nap = POLL_FIRST_NS;
	int nohang = deadline_ns ? WNOHANG : 0;

	for (;;) {
		siginfo_t si;
		int status;
		uint64_t now;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)h->tid, &si,
			   WEXITED | WSTOPPED | WNOWAIT | __WALL | nohang) < 0) {
			if (errno == EINTR)
				continue;
			h->gone = 1;	/* ECHILD: not ours any more */
			return 0;
		}
		if (si.si_pid == 0) {	/* WNOHANG: nothing to report yet */
			now = lm_now_ns();
			if (now >= deadline_ns)
				return 1;
			nap_ns(nap < deadline_ns - now ? nap : deadline_ns - now);
			if (nap < POLL_MAX_NS)
				nap *= 2;
			continue;
		}
		if (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED) {
			if ((si.si_status >> 8) != 0)
				h->sig = 0;	/* interrupt stop or group-stop */
			else
				h->sig = si.si_status;	/* signal-delivery-stop: give it back later */
			h->stopped = 1;
			return 0;
		}
		/* CLD_EXITED, CLD_KILLED or CLD_DUMPED: reap it (WNOWAIT left
		 * it waitable). */
		while (waitpid(h->tid, &status, __WALL) < 0 && errno == EINTR)
			;
		h->gone = 1;
		return 0;
	}
}

static int lingering_has(pid_t tid)
{
	size_t i;

	for (i = 0; i < lingering.n; i++)
		if (lingering.v[i] == tid)
			return 1;
	return 0;
}

/* The list dies with the thread of ours that owns it (the kernel lets
 * its threads go then): a key's destructor frees it. */
static pthread_key_t lingering_key;
static pthread_once_t lingering_once = PTHREAD_ONCE_INIT;

static void lingering_free(void *unused)
{
	(void)unused;
	free(lingering.v);
	lingering.v = NULL;
	lingering.n = lingering.cap = 0;
}

static void lingering_key_init(void)
{
	if (pthread_key_create(&lingering_key, lingering_free) != 0)
		lingering_key = (pthread_key_t)-1;
}

/* Remember a thread we could not detach. If even that fails (out of
 * memory), the thread is still released when this thread of ours exits. */
static void lingering_add(pid_t tid)
{
	pthread_once(&lingering_once, lingering_key_init);
	if (lingering_key != (pthread_key_t)-1)
		pthread_setspecific(lingering_key, &lingering);	/* any non-NULL value */
	if (lingering.n == lingering.cap) {
		size_t cap = lingering.cap ? lingering.cap * 2 : 8;
		pid_t *nv = realloc(lingering.v, cap * sizeof(*nv));
		if (!nv)
			return;
		lingering.v = nv;
		lingering.cap = cap;
	}
	lingering.v[lingering.n++] = tid;
}

size_t lm_ptrace_settle(void)
{
	size_t i = 0;

	while (i < lingering.n) {
		struct held h = { .tid = lingering.v[i] };
		/* A deadline in the past: one look, no wait. */
		wait_stop(&h, 1);
		if (h.stopped)
			ptrace(PTRACE_DETACH, h.tid, NULL, (void *)(long)h.sig);
		if (h.stopped || h.gone)
			lingering.v[i] = lingering.v[--lingering.n];
		else
			i++;
	}
	if (!lingering.n) {
		free(lingering.v);
		lingering.v = NULL;
		lingering.cap = 0;
	}
	return lingering.n;
}

size_t lm_ptrace_lingering(void)
{
	return lm_ptrace_settle();
}

/* Detach every held, stopped thread, giving back consumed signals. With a
 * deadline, a thread that has not stopped by then joins the lingering
 * list instead (see the top of this file). */
static void detach_all(struct stop_state *s)
{
	/* No deadline yet with a budget: we failed before the first stop
	 * (seizing a later thread); the threads seized so far get the budget. */
	uint64_t deadline = s->deadline_ns ? s->deadline_ns :
			    s->budget_ns ? lm_now_ns() + s->budget_ns : 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct held *h = &s->v[i];
		if (h->gone)
			continue;
		if (!h->stopped) {
			/* Seized but not stopped: a tracee must be stopped to
			 * be detached, so interrupt it first. */
			if (!h->interrupted)
				ptrace(PTRACE_INTERRUPT, h->tid, NULL, NULL);
			h->interrupted = 1;
		}
	}
	for (i = 0; i < s->n; i++) {
		struct held *h = &s->v[i];
		if (h->gone)
			continue;
		/* Without a budget this waits as it always did; with one,
		 * once the deadline has passed, it is one look. */
		if (!h->stopped && wait_stop(h, deadline)) {
			lingering_add(h->tid);
			h->gone = 1;
			continue;
		}
		if (!h->gone)
			ptrace(PTRACE_DETACH, h->tid, NULL, (void *)(long)h->sig);
		h->gone = 1;
	}
}

/* PTRACE_SEIZE one thread: 0 when seized, 1 when the thread is gone or
 * exiting (skip it), -LM_EPERM, or -LM_EIO with errno set by the refusal.
 * A thread between exit_mm() and becoming a zombie still shows as running
 * in /proc but refuses to be seized with EPERM, like a zombie does: retry a
 * little before calling EPERM a permission problem. */
static int seize_thread(pid_t pid, pid_t tid)
{
	int attempt;

	for (attempt = 0; attempt < SEIZE_TRIES; attempt++) {
		char state;
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) == 0)
			return 0;
		if (errno == ESRCH)
			return 1;	/* exited since the listing */
		if (errno != EPERM)
			return -LM_EIO;
		state = thread_state(pid, tid);
		if (state == 0 || state == 'Z' || state == 'X')
			return 1;	/* gone, or a zombie (leader) */
		usleep(200);
	}
	return -LM_EPERM;
}

/* LM_ETIMEDOUT for a thread that did not stop within budget_ns, or (0)
 * that still has not stopped since an earlier attempt of ours. */
static int late_error(struct lm_err *err, pid_t pid, pid_t tid, uint64_t budget_ns)
{
	char why[160];

	lm_thread_why(pid, tid, why, sizeof(why));
	if (!budget_ns)
		return lm_err_set(err, LM_ETIMEDOUT,
				  "thread %d of pid %d has not stopped since an earlier attempt: %s; "
				  "retry later", (int)tid, (int)pid, why);
	return lm_err_set(err, LM_ETIMEDOUT,
			  "thread %d of pid %d did not stop within %llu ms: %s; every thread was "
			  "let go again; retry later or allow a longer pause", (int)tid, (int)pid,
			  (unsigned long long)((budget_ns + 999999) / 1000000), why);
}

/* Reap every held thread that has exited (a pending stop stays pending).
 * Returns how many were reaped. */
static size_t reap_exited(struct stop_state *s)
{
	size_t i, reaped = 0;

	for (i = 0; i < s->n; i++) {
		struct held *h = &s->v[i];
		siginfo_t si;
		int status;

		if (h->gone)
			continue;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)h->tid, &si,
			   WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 || si.si_pid == 0)
			continue;
		/* A tracer's wait reports ptrace stops even when asked for
		 * exits only: leave those waiting for wait_stop. */
		if (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED &&
		    si.si_code != CLD_DUMPED)
			continue;
		while (waitpid(h->tid, &status, __WALL) < 0 && errno == EINTR)
			;
		h->gone = 1;
		reaped++;
	}
	return reaped;
}

/* A thread late because its process is dying: a killed group leader is
 * reported only once its other threads are reaped, and those, being
 * traced, wait for us to reap them. Reap the dead and look again briefly
 * (the process is going away: its pause no longer matters). 1 when h has
 * stopped or gone since. */
#define DYING_GRACE_NS (100ULL * 1000000ULL)
static int late_because_dying(struct stop_state *s, struct held *h)
{
	if (!reap_exited(s))
		return 0;
	return !wait_stop(h, lm_now_ns() + DYING_GRACE_NS);
}

/* One round: seize + interrupt every thread not yet held, then wait for
 * them. Returns the number of new threads, or a negative code. */
static int stop_round(pid_t pid, struct stop_state *s, struct lm_stopped *st,
		      struct lm_err *err)
{
	pid_t *tids;
	size_t ntids, i, first_new = s->n;
	int r, added = 0;

	r = lm_proc_list_tasks(pid, &tids, &ntids, err);
	if (r < 0)
		return s->n && r == -LM_ENOPROC ?
			lm_err_set(err, LM_EEXITED, "process %d exited during the snapshot",
				   (int)pid) : r;
	for (i = 0; i < ntids; i++) {
		pid_t tid = tids[i];
		if (held_has(s, tid))
			continue;
		if (lingering_has(tid)) {
			free(tids);
			return late_error(err, pid, tid, 0);
		}
		/* Reserve the slot first: a thread seized but not recorded
		 * would never be detached (and would stop for good at its
		 * next signal). */
		if (held_add(s, tid) < 0) {
			free(tids);
			return lm_err_set(err, LM_ENOMEM, "out of memory stopping pid %d",
					  (int)pid);
		}
		r = seize_thread(pid, tid);
		if (r > 0) {
			s->n--;		/* gone or going: not ours */
			continue;
		}
		if (r < 0) {
			int e = errno;	/* the refusal's, for -LM_EIO */
			s->n--;
			free(tids);
			if (r == -LM_EPERM)
				return eperm_error(err, pid, tid);
			return lm_err_errno(err, LM_EIO, e,
					    "cannot attach to thread %d of pid %d", (int)tid, (int)pid);
		}
		added++;
	}
	free(tids);
	if (!st->stopped_at_ns && added) {
		st->stopped_at_ns = lm_now_ns();
		if (s->budget_ns)
			s->deadline_ns = st->deadline_ns = st->stopped_at_ns + s->budget_ns;
	}
	/* A failed interrupt means the thread is exiting: the wait reports it. */
	for (i = first_new; i < s->n; i++) {
		ptrace(PTRACE_INTERRUPT, s->v[i].tid, NULL, NULL);
		s->v[i].interrupted = 1;
	}
	for (i = first_new; i < s->n; i++) {
		if (wait_stop(&s->v[i], s->deadline_ns) &&
		    !late_because_dying(s, &s->v[i])) {
			s->late_tid = s->v[i].tid;
			return late_error(err, pid, s->late_tid, s->budget_ns);
		}
	}
	return added;
}

static int save_registers(pid_t pid, struct stop_state *s, struct lm_stopped *st,
			  struct lm_err *err)
{
	size_t i, n = 0;

	st->threads = calloc(s->n ? s->n : 1, sizeof(*st->threads));
	if (!st->threads)
		return lm_err_set(err, LM_ENOMEM, "out of memory saving registers of pid %d",
				  (int)pid);
	for (i = 0; i < s->n; i++) {
		struct held *h = &s->v[i];
		struct lm_thread_regs *t = &st->threads[n];
		if (h->gone)
			continue;
		t->tid = h->tid;
		if (ptrace(PTRACE_GETREGS, h->tid, NULL, &t->regs) < 0) {
			if (errno == ESRCH) {
				/* A stopped thread only vanishes when the whole
				 * process is killed or another thread exec's. */
				return lm_err_set(err, LM_EEXITED,
						  "process %d exited during the snapshot (thread %d gone)",
						  (int)pid, (int)h->tid);
			}
			return lm_err_errno(err, LM_EIO, errno,
					    "cannot read registers of thread %d of pid %d",
					    (int)h->tid, (int)pid);
		}
		/* Floating-point registers are a bonus (roots in xmm registers
		 * are rare); ignore failure. */
		ptrace(PTRACE_GETFPREGS, h->tid, NULL, &t->fpregs);
		n++;
	}
	st->nthreads = n;
	return 0;
}

int lm_ptrace_stop(pid_t pid, struct lm_stopped *st, struct lm_err *err)
{
	return lm_ptrace_stop_within(pid, 0, st, err);
}

int lm_ptrace_stop_within(pid_t pid, uint64_t budget_ns, struct lm_stopped *st,
			  struct lm_err *err)
{
	struct stop_state *s;
	int r = 0, round;

	memset(st, 0, sizeof(*st));
	st->pid = pid;
	if (pid <= 0)
		return lm_err_set(err, LM_EINVAL, "invalid pid %d", (int)pid);
	if (pid == getpid())
		return lm_err_set(err, LM_EINVAL, "pid %d is leakmon itself", (int)pid);
	lm_ptrace_settle();
	s = calloc(1, sizeof(*s));
	if (!s)
		return lm_err_set(err, LM_ENOMEM, "out of memory stopping pid %d", (int)pid);
	s->budget_ns = budget_ns;
	for (round = 0; round < ROUNDS_MAX; round++) {
		r = stop_round(pid, s, st, err);
		if (r <= 0)
			break;
	}
	if (r == 0) {
		size_t i, alive = 0;
		for (i = 0; i < s->n; i++)
			alive += !s->v[i].gone;
		if (alive == 0)
			r = s->n ? lm_err_set(err, LM_EEXITED, "process %d exited during the snapshot",
					      (int)pid)
				 : lm_err_set(err, LM_ENOPROC, "no process with pid %d", (int)pid);
	} else if (r > 0) {
		r = lm_err_set(err, LM_EBUSY,
			       "pid %d kept creating threads through %d rounds of stopping them; "
			       "retry later", (int)pid, ROUNDS_MAX);
	}
	if (r == 0)
		r = save_registers(pid, s, st, err);
	if (r < 0) {
		detach_all(s);
		free(s->v);
		free(s);
		free(st->threads);
		st->threads = NULL;
		st->nthreads = 0;
		return r;
	}
	/* Keep the per-thread signals for release: stash the state. */
	st->attached = 1;
	st->priv = s;
	return 0;
}

void lm_ptrace_release(struct lm_stopped *st)
{
	struct stop_state *s = st->priv;

	if (!st->attached)
		return;
	if (s) {
		detach_all(s);
		free(s->v);
		free(s);
	}
	st->priv = NULL;
	st->attached = 0;
	st->paused_ns = lm_now_ns() - st->stopped_at_ns;
}

void lm_stopped_free(struct lm_stopped *st)
{
	if (!st)
		return;
	lm_ptrace_release(st);
	free(st->threads);
	st->threads = NULL;
	st->nthreads = 0;
}
