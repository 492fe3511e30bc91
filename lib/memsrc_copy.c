/* SPDX-License-Identifier: MIT */
/*
 * memsrc_copy.c - the frozen-copy source: the target forks a copy-on-write
 * copy of itself at our request, runs on at once, and we read the copy.
 *
 * The target's pause is the cost of one fork (copying page tables: about
 * 14 ms per GiB of touched memory), not of copying its memory.
 *
 *  1. While the target runs: check the memory headroom of its cgroup (the
 *     copy's copy-on-write pages are charged there), read its mappings,
 *     find a `syscall` gadget in libc's text (inject.h), and list dead
 *     copies left by an earlier census (zombies named "leakmon-copy").
 *  2. Stop every thread (lm_ptrace_stop), choose a thread in an interrupt
 *     stop whose seccomp filters allow clone and wait4, inject
 *     clone(flags 0, stack LM_INJECT_BAD_SP): no shared memory, no exit
 *     signal (the target never gets SIGCHLD and its wait() without
 *     __WALL/__WCLONE never sees the copy). PTRACE_O_TRACECLONE makes the
 *     copy our tracee, stopped before its first instruction. Reap old dead
 *     copies in the same stop (injected wait4). Release the target.
 *  3. Prepare the copy (it is ours; nothing here touches the target):
 *     PTRACE_O_EXITKILL (if we die, the kernel kills it), oom_score_adj
 *     1000 (the OOM killer takes it first), close all its file
 *     descriptors (so it holds no socket, pipe or lock of the target's),
 *     name it "leakmon-copy", unblock its signals and park it in pause().
 *     A parked, traced copy that receives any signal (systemd's SIGTERM to
 *     the whole cgroup) enters a signal-delivery-stop instead of running a
 *     handler; a watcher thread sees that stop within a millisecond and
 *     kills the copy, and kills it anyway when its lifetime runs out.
 *  4. Copy the copy's writable memory into local buffers (the same capture
 *     as the live source, lm_capture_pid, bounded by the lifetime).
 *  5. Kill the copy, reap it as its tracer; it is then a zombie child of
 *     the target, which only a wait in the target can remove: a second
 *     brief stop injects wait4(copy, __WALL|WNOHANG). If that fails, the
 *     pid is remembered and reaped at the next copy census of that target.
 *
 * Any failure before the target is released leaves it as it was (registers
 * and signal mask restored, the copy killed) and returns an error; the
 * caller then uses the live source. docs/copy.md discusses the risks.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "inject.h"
#include "memsrc_capture.h"
#include "memsrc_window.h"
#include "seccomp_fetch.h"

#define COPY_NAME "leakmon-copy"
#define DEFAULT_LIFETIME_NS (30ull * 1000000000ull)
#define PENDING_MAX 64		/* dead copies remembered for a later reap */
#define REAP_MAX 16		/* wait4 injected per stop, at most */
#define WATCH_PERIOD_NS 1000000	/* the watcher looks every millisecond */

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

struct watcher;

struct copy_impl {
	struct lm_capture *cap;	/* the local buffers the regions point into */
	/* Read on demand: the copy lives, watched, until the source is
	 * closed, and the regions point into the window's shadows. */
	uint64_t window_bytes;	/* asked for; 0 = copy whole */
	struct lm_window *win;	/* NULL when copied whole */
	struct watcher *watch;
	struct lm_gadget g;	/* to reap the copy at close */
	pid_t child, nspid;
	uint64_t start, budget_ns, life_ns;
	uint64_t reap_pause_ns;
	uint64_t cow_bytes;	/* what the target copied while the copy lived */
	struct lm_seccomp_set *filters;	/* read by the helper, or NULL */
};

/* --------------------------------------------------- dead copies to reap */

/* A dead copy we could not reap yet: pid in the target's pid namespace. */
struct pending {
	pid_t target;
	uint64_t target_start;	/* start time: a recycled target pid is not ours */
	pid_t nspid;
};

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending pending[PENDING_MAX];
static size_t npending;

static void pending_add(pid_t target, uint64_t start, pid_t nspid)
{
	pthread_mutex_lock(&pending_lock);
	if (npending < PENDING_MAX)
		pending[npending++] = (struct pending){ target, start, nspid };
	pthread_mutex_unlock(&pending_lock);
}

/* Move the remembered copies of this target into v (at most max). */
static size_t pending_take(pid_t target, uint64_t start, pid_t *v, size_t max)
{
	size_t i, n = 0, k = 0;

	pthread_mutex_lock(&pending_lock);
	for (i = 0; i < npending; i++) {
		if (pending[i].target == target && n < max) {
			if (pending[i].target_start == start)
				v[n++] = pending[i].nspid;
			continue;	/* taken, or belongs to a dead target */
		}
		pending[k++] = pending[i];
	}
	npending = k;
	pthread_mutex_unlock(&pending_lock);
	return n;
}

static int has_pid(const pid_t *v, size_t n, pid_t p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == p)
			return 1;
	return 0;
}

/* The last NSpid of /proc/PID/status: the pid as the target sees it. */
static pid_t ns_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;
		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (p = line + 6;; p = end) {
			long x = strtol(p, &end, 10);
			if (end == p)
				break;
			v = (pid_t)x;
		}
		break;
	}
	fclose(f);
	return v;
}

/* Zombie copies a census that died left behind: children of target named
 * COPY_NAME, state Z. Appended to v (up to max). Scans /proc: the kernel
 * here has no /proc/PID/task/TID/children. */
static size_t find_dead_copies(pid_t target, pid_t *v, size_t n, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return n;
	while (n < max && (e = readdir(d))) {
		char path[300], buf[512], *p, state;
		int ppid;
		FILE *f;
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (!p || !strstr(buf, "(" COPY_NAME ") ") || !(p = strrchr(buf, ')')))
			continue;
		if (sscanf(p + 1, " %c %d", &state, &ppid) != 2 || state != 'Z' || ppid != target)
			continue;
		{
			pid_t nsp = ns_pid((pid_t)atoi(e->d_name));
			if (nsp > 0 && !has_pid(v, n, nsp))
				v[n++] = nsp;
		}
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------- headroom */

static uint64_t mem_available(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

/* Refuse when the copy's copy-on-write pages could push the target's cgroup
 * (or the machine) over its memory limit. */
static int check_headroom(pid_t pid, uint64_t min, struct lm_err *err)
{
	uint64_t limit, usage, headroom, avail;
	int r;

	if (!min)
		return 0;
	r = lm_cgroup_memory(pid, &limit, &usage, err);
	if (r < 0) {
		lm_err_prefix(err, "cannot tell the memory headroom of pid %d, so no frozen copy",
			      (int)pid);
		return r;
	}
	avail = mem_available();
	headroom = limit == UINT64_MAX ? avail : (usage < limit ? limit - usage : 0);
	if (avail && avail < headroom)
		headroom = avail;
	if (headroom < min)
		return lm_err_set(err, LM_ELIMIT,
				  "pid %d's cgroup has %llu MiB of memory headroom, less than the "
				  "%llu MiB a frozen copy needs; using the live mode",
				  (int)pid, (unsigned long long)(headroom >> 20),
				  (unsigned long long)(min >> 20));
	return 0;
}

/* ---------------------------------------------------- inside the stop */

static const uint64_t NO_ARGS[6];

/* A held thread fit for injecting clone and wait4: in an interrupt stop,
 * its seccomp filters allowing both. Prefer threads stopped in user mode
 * (no interrupted syscall to restart). Returns the index or a negative code. */
static int pick_thread(const struct lm_stopped *st, const struct lm_gadget *g, int need_clone,
		       struct lm_err *err)
{
	int pass;
	size_t i;
	struct lm_err why = { 0 };

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < st->nthreads; i++) {
			const struct lm_thread_regs *t = &st->threads[i];
			uint64_t cl[6] = { 0, LM_INJECT_BAD_SP, 0, 0, 0, 0 };
			uint64_t w4[6] = { 1, 0, __WALL | WNOHANG, 0, 0, 0 };
			struct user_regs_struct r;
			if (pass == 0 && t->regs.orig_rax != (unsigned long long)-1)
				continue;
			if (pass == 1 && t->regs.orig_rax == (unsigned long long)-1)
				continue;
			if (!lm_inject_thread_usable(t->tid))
				continue;
			lm_inject_regs(&t->regs, g, SYS_clone, cl, &r);
			if (need_clone && lm_inject_seccomp_allows(t->tid, &r, &why) < 0)
				continue;
			lm_inject_regs(&t->regs, g, SYS_wait4, w4, &r);
			if (lm_inject_seccomp_allows(t->tid, &r, &why) < 0)
				continue;
			return (int)i;
		}
	}
	if (why.code)
		return lm_err_set(err, why.code, "%s", why.msg);
	return lm_err_set(err, LM_EBUSY,
			  "no thread of pid %d is in a state where a system call can be injected "
			  "(all in signal delivery or group-stop)", (int)st->pid);
}

/* Inject wait4(p, NULL, __WALL|WNOHANG, NULL) for each dead copy. Those not
 * reaped (not yet dead, or an error) go back to the pending list. */
static void reap_copies(const struct lm_stopped *st, int ti, const struct lm_gadget *g,
			const pid_t *v, size_t n, uint64_t start)
{
	const struct lm_thread_regs *t = &st->threads[ti];
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t a[6] = { (uint64_t)(int64_t)v[i], 0, __WALL | WNOHANG, 0, 0, 0 };
		struct lm_inject_result res;
		if (lm_inject_syscall(t->tid, &t->regs, g, SYS_wait4, a, &res, NULL) < 0 ||
		    res.ret == 0)
			pending_add(st->pid, start, v[i]);
		/* -ECHILD: someone else reaped it (a target waiting with __WALL). */
	}
}

/* SIGKILL the copy, our tracee. kill() needs CAP_KILL for a copy of another
 * user's process, which the daemon's unit does not have (the copy lived on
 * and its reaper waited forever); PTRACE_KILL needs only our hold on it
 * (since Linux 5.19 in any state), but works only from the tracing thread:
 * from the watcher thread a refused kill leaves the copy, stopped or
 * parked, to the tracing thread's kill when the census ends. */
static void kill_tracee(pid_t child)
{
	if (kill(child, SIGKILL) < 0 && errno == EPERM)
		ptrace(PTRACE_KILL, child, NULL, NULL);
}

struct made {
	pid_t child;		/* the copy, as we see it */
	pid_t nspid;		/* the copy, as the target sees it */
	pid_t parent_tid;	/* the thread that forked it */
};

/* Inject the clone in thread ti. On failure no copy exists. */
static int inject_clone(const struct lm_stopped *st, int ti, const struct lm_gadget *g,
			struct made *m, struct lm_err *err)
{
	const struct lm_thread_regs *t = &st->threads[ti];
	uint64_t a[6] = { 0, LM_INJECT_BAD_SP, 0, 0, 0, 0 };
	struct lm_inject_result res;
	int r;

	r = lm_inject_syscall(t->tid, &t->regs, g, SYS_clone, a, &res, err);
	if (r == 0 && res.ret < 0)
		r = lm_err_errno(err, LM_ELIMIT, (int)-res.ret,
				 "pid %d could not fork a frozen copy", (int)st->pid);
	if (r == 0 && res.child <= 0)
		r = lm_err_set(err, LM_EIO, "pid %d forked, but the copy was not attached",
			       (int)st->pid);
	if (r < 0) {
		if (res.child > 0) {
			kill_tracee(res.child);
			waitpid(res.child, NULL, __WALL);
			if (res.ret > 0)
				pending_add(st->pid, 0, (pid_t)res.ret);
		}
		return r;
	}
	m->child = res.child;
	m->nspid = (pid_t)res.ret;
	m->parent_tid = t->tid;
	return 0;
}

/* ------------------------------------------------------------ the copy */

/* Kill the copy and reap it as its tracer (it becomes the target's zombie). */
static void kill_copy(pid_t child)
{
	int status, i;

	kill_tracee(child);
	for (i = 0; i < 64; i++) {
		pid_t r = waitpid(child, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return;
	}
}

/* Wait for the copy's first stop (it is born stopped, before running). */
static int wait_birth(pid_t child, struct lm_err *err)
{
	int status;

	for (;;) {
		pid_t r = waitpid(child, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == child && WIFSTOPPED(status))
			return 0;
		return lm_err_set(err, LM_EIO, "the frozen copy %d ended before its first stop",
				  (int)child);
	}
}

/* Run one syscall in the copy if its seccomp filters allow it; the copy is
 * ours, so its registers are simply left as they end. */
static long copy_syscall(pid_t child, const struct lm_gadget *tg, long nr, const uint64_t a[6],
			 int *ran, struct lm_err *err)
{
	struct user_regs_struct base, r;
	struct lm_gadget g1 = *tg, *g = &g1;
	long ret = -1;

	g1.pad = 0;	/* the copy runs from the gadget, never from a stub */
	*ran = 0;
	if (ptrace(PTRACE_GETREGS, child, NULL, &base) < 0)
		return lm_err_errno(err, LM_EIO, errno, "cannot read the copy's registers");
	lm_inject_regs(&base, g, nr, a, &r);
	if (lm_inject_seccomp_allows(child, &r, NULL) < 0)
		return 0;
	if (lm_inject_syscall_raw(child, &base, g, nr, a, &ret, err) < 0)
		return -LM_EIO;
	*ran = 1;
	return ret;
}

/* Name the copy COPY_NAME (for ps, systemctl status, and to find a dead one
 * later): prctl needs the name in the copy's memory, so write it over 16
 * bytes of the copy's writable memory and put them back (copy-on-write: the
 * target's page is untouched). */
static void name_copy(pid_t child, const struct lm_maps *maps, const struct lm_gadget *g)
{
	char save[16], name[16] = COPY_NAME;
	uint64_t at = 0;
	size_t i;
	int ran;

	for (i = 0; i < maps->n && !at; i++)
		if (lm_memsrc_wants_mapping(&maps->v[i]))
			at = maps->v[i].start;
	if (!at)
		return;
	{
		struct iovec l = { save, sizeof(save) }, r = { (void *)(uintptr_t)at, sizeof(save) };
		struct iovec ln = { name, sizeof(name) };
		uint64_t a[6] = { PR_SET_NAME, at, 0, 0, 0, 0 };
		if (process_vm_readv(child, &l, 1, &r, 1, 0) != (ssize_t)sizeof(save))
			return;
		if (process_vm_writev(child, &ln, 1, &r, 1, 0) != (ssize_t)sizeof(name))
			return;
		copy_syscall(child, g, SYS_prctl, a, &ran, NULL);
		process_vm_writev(child, &l, 1, &r, 1, 0);
	}
}

/* If memory runs out while the copy lives, the OOM killer must take the
 * copy, not the service: oom_score_adj 1000 (best effort). */
static void oom_first(pid_t child)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)child);
	f = fopen(path, "we");
	if (f) {
		fputs("1000\n", f);
		fclose(f);
	}
}

/* Set the copy up to be harmless and to die on any signal; *parked says
 * whether it sleeps in pause() (else it stays in a ptrace stop and the
 * watcher polls its pending signals). */
static int prepare_copy(pid_t child, const struct lm_maps *maps, const struct lm_gadget *tg,
			int *parked, struct lm_err *err)
{
	uint64_t a[6] = { 0, ~0u, 0, 0, 0, 0 }, none = 0;
	struct user_regs_struct base, r;
	struct lm_gadget g1 = *tg, *g = &g1;
	int ran;

	g1.pad = 0;	/* the copy runs from the gadget, never from a stub */
	*parked = 0;
	if (wait_birth(child, err) < 0)
		return -LM_EIO;
	if (ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)(long)PTRACE_O_EXITKILL) < 0)
		return lm_err_errno(err, LM_EIO, errno, "cannot set PTRACE_O_EXITKILL on the copy");
	oom_first(child);
	if (copy_syscall(child, g, SYS_close_range, a, &ran, err) == -LM_EIO)
		return -LM_EIO;
	name_copy(child, maps, g);
	if (ptrace(PTRACE_GETREGS, child, NULL, &base) < 0)
		return lm_err_errno(err, LM_EIO, errno, "cannot read the copy's registers");
	lm_inject_regs(&base, g, SYS_pause, NO_ARGS, &r);
	if (lm_inject_seccomp_allows(child, &r, NULL) < 0)
		return 0;
	if (ptrace(PTRACE_SETREGS, child, NULL, &r) < 0 ||
	    ptrace(PTRACE_SETSIGMASK, child, (void *)sizeof(none), &none) < 0 ||
	    ptrace(PTRACE_CONT, child, NULL, NULL) < 0)
		return lm_err_errno(err, LM_EIO, errno, "cannot park the copy in pause()");
	*parked = 1;
	return 0;
}

/* ------------------------------------------------------------- watcher */

enum { WHY_NONE, WHY_SIGNAL, WHY_LIFETIME, WHY_GONE };

struct watcher {
	pid_t child;
	uint64_t deadline_ns;
	int parked;
	atomic_int stop;
	atomic_int why;
	pthread_t th;
};

/* Does the (not parked) copy have a signal pending? */
static int signal_pending(pid_t child)
{
	char path[64], line[256];
	unsigned long long m;
	int yes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if ((sscanf(line, "SigPnd: %llx", &m) == 1 || sscanf(line, "ShdPnd: %llx", &m) == 1) &&
		    m)
			yes = 1;
	fclose(f);
	return yes;
}

static void *watch(void *arg)
{
	struct watcher *w = arg;
	struct timespec ts = { 0, WATCH_PERIOD_NS };

	while (!atomic_load(&w->stop)) {
		siginfo_t si;
		int why = WHY_NONE;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)w->child, &si,
			   WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) == 0 &&
		    si.si_pid == w->child)
			why = si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED ?
				WHY_SIGNAL : WHY_GONE;
		else if (!w->parked && signal_pending(w->child))
			why = WHY_SIGNAL;
		else if (lm_now_ns() > w->deadline_ns)
			why = WHY_LIFETIME;
		if (why != WHY_NONE) {
			atomic_store(&w->why, why);
			kill_tracee(w->child);
			break;
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ------------------------------------------------------------- the whole */

static void reap_now(struct lm_memsrc *src, const struct lm_gadget *g, uint64_t start,
		     pid_t nspid, uint64_t budget_ns);
static uint64_t copy_private_bytes(pid_t child);
static int stop_watching(struct lm_memsrc *src, struct watcher *w, int r, uint64_t life,
			 struct lm_err *err);

/* A copy read on demand: close the window (no reader is left), stop
 * watching, kill and reap the copy. */
static void end_window(struct lm_memsrc *src, struct copy_impl *ci)
{
	lm_window_close(ci->win);
	ci->win = NULL;
	stop_watching(src, ci->watch, 0, ci->life_ns, NULL);
	free(ci->watch);
	ci->watch = NULL;
	ci->cow_bytes = copy_private_bytes(ci->child);
	kill_copy(ci->child);
	reap_now(src, &ci->g, ci->start, ci->nspid, ci->budget_ns);
}

static void copy_free(struct lm_memsrc *src)
{
	struct copy_impl *ci = src->impl;

	if (ci && ci->win)
		end_window(src, ci);
	if (ci) {
		lm_capture_free(ci->cap);
		lm_seccomp_set_free(ci->filters);
	}
	free(src->impl);
	src->impl = NULL;
}

/* Was every byte the readers saw read from the copy? The watcher kills a
 * copy that outlives its lifetime or receives a signal; a window that then
 * loads a block gets nothing and gives zeros. */
static int copy_check(const struct lm_memsrc *src, struct lm_err *err)
{
	const struct copy_impl *ci = src->impl;
	int why, r;

	if (!ci || !ci->win)
		return 0;
	r = lm_window_check(ci->win, err);
	if (r == 0)
		return 0;
	why = atomic_load(&ci->watch->why);
	if (why == WHY_LIFETIME)
		return lm_err_set(err, LM_ELIMIT,
				  "the frozen copy of pid %d outlived its maximum lifetime of "
				  "%llu ms while being read and was killed", (int)src->pid,
				  (unsigned long long)(ci->life_ns / 1000000));
	if (why == WHY_SIGNAL)
		return lm_err_set(err, LM_EBUSY,
				  "the frozen copy of pid %d received a signal while being read "
				  "(the service is being stopped?) and was killed", (int)src->pid);
	lm_err_prefix(err, "the frozen copy of pid %d", (int)src->pid);
	return r;
}

uint64_t lm_memsrc_copy_reap_pause_ns(const struct lm_memsrc *src)
{
	const struct copy_impl *ci = src && src->kind == LM_SRC_COPY ? src->impl : NULL;

	return ci ? ci->reap_pause_ns : 0;
}

uint64_t lm_memsrc_copy_cow_bytes(const struct lm_memsrc *src)
{
	const struct copy_impl *ci = src && src->kind == LM_SRC_COPY ? src->impl : NULL;

	if (ci && ci->win)
		return copy_private_bytes(ci->child);	/* so far: the copy lives */
	return ci ? ci->cow_bytes : 0;
}

/*
 * After the fork every anonymous page is shared by the target and the copy.
 * A page the target writes while the copy lives is copied for the target,
 * and the original stays with the copy alone: so the copy's private dirty
 * memory just before it dies is what the target had to copy (plus the few
 * pages the parked copy itself touched). Those copy-on-write faults are the
 * census's cost to a write-heavy target (bench/copy_bench.sh).
 */
static uint64_t copy_private_bytes(pid_t child)
{
	unsigned long long kib = 0;

	if (lm_proc_field(child, "smaps_rollup", "Private_Dirty", &kib) < 0)
		return 0;
	return (uint64_t)kib * 1024;
}

/* Step 2: stop, fork the copy, reap old copies, release. */
static int fork_copy(struct lm_memsrc *src, const struct lm_gadget *g, uint64_t start,
		     pid_t *dead, size_t ndead, struct made *m, uint64_t budget_ns,
		     struct lm_err *err)
{
	struct lm_stopped st;
	int ti, r;

	r = lm_ptrace_stop_within(src->pid, budget_ns, &st, err);
	if (r < 0)
		return r;
	src->taken_at_us = lm_wall_us();
	ti = pick_thread(&st, g, 1, err);
	r = ti;
	if (ti >= 0 && lm_inject_pad_in_use(&st, g))
		r = lm_err_set(err, LM_EBUSY, "a thread of pid %d is inside our restore stub; retry",
			       (int)src->pid);
	else if (ti >= 0 && !lm_inject_gadget_valid(src->pid, g))
		r = lm_err_set(err, LM_EBUSY, "the text of pid %d changed under us; retry",
			       (int)src->pid);
	if (r >= 0)
		r = inject_clone(&st, ti, g, m, err);
	if (r >= 0 && ndead)
		reap_copies(&st, ti, g, dead, ndead, start);
	lm_ptrace_release(&st);
	src->pause_ns = st.paused_ns;
	if (r >= 0) {
		src->threads = st.threads;
		src->nthreads = st.nthreads;
		st.threads = NULL;
		st.nthreads = 0;
	} else {
		/* Not reaped: keep them for next time. */
		size_t i;
		for (i = 0; i < ndead; i++)
			pending_add(src->pid, start, dead[i]);
	}
	lm_stopped_free(&st);
	return r < 0 ? r : 0;
}

/* Step 5: a second brief stop to reap the dead copy in the target. */
static void reap_now(struct lm_memsrc *src, const struct lm_gadget *g, uint64_t start,
		     pid_t nspid, uint64_t budget_ns)
{
	struct copy_impl *ci = src->impl;
	struct lm_stopped st;
	pid_t v[REAP_MAX];
	size_t n;
	int ti;

	n = pending_take(src->pid, start, v, REAP_MAX - 1);
	v[n++] = nspid;
	if (lm_ptrace_stop_within(src->pid, budget_ns, &st, NULL) < 0) {
		while (n)
			pending_add(src->pid, start, v[--n]);
		return;
	}
	lm_seccomp_set_use(ci->filters);	/* this may run on another thread */
	ti = pick_thread(&st, g, 0, NULL);
	lm_seccomp_set_use(NULL);
	if (ti >= 0 && !lm_inject_pad_in_use(&st, g) && lm_inject_gadget_valid(src->pid, g))
		reap_copies(&st, ti, g, v, n, start);
	else
		while (n)
			pending_add(src->pid, start, v[--n]);
	lm_ptrace_release(&st);
	ci->reap_pause_ns = st.paused_ns;
	lm_stopped_free(&st);
}

/* Stop watching the copy (the capture is over); turn what the watcher saw
 * into the result of the capture r. */
static int stop_watching(struct lm_memsrc *src, struct watcher *w, int r, uint64_t life,
			 struct lm_err *err)
{
	int why;

	atomic_store(&w->stop, 1);
	pthread_join(w->th, NULL);
	why = atomic_load(&w->why);
	if (why == WHY_SIGNAL)
		return lm_err_set(err, LM_EBUSY,
				  "the frozen copy of pid %d received a signal (the service is "
				  "being stopped?) and was killed", (int)src->pid);
	if (why == WHY_LIFETIME || (r == -LM_ELIMIT && lm_now_ns() > w->deadline_ns))
		return lm_err_set(err, LM_ELIMIT,
				  "the frozen copy of pid %d outlived its maximum lifetime of "
				  "%llu ms and was killed", (int)src->pid,
				  (unsigned long long)(life / 1000000));
	if (r < 0 || why == WHY_GONE)
		return r < 0 ? r : lm_err_set(err, LM_EIO, "the frozen copy of pid %d vanished",
					      (int)src->pid);
	return 0;
}

/* Read the copy on demand instead of copying it: 0 when the window is
 * open, -LM_EINVAL when none was asked for, or lm_window_open's code. Any
 * failure (no userfaultfd here) leaves src as it was. */
static int try_window(struct lm_memsrc *src, struct copy_impl *ci, pid_t child)
{
	int r;

	if (!ci->window_bytes)
		return -LM_EINVAL;
	r = lm_window_open(src, child, ci->window_bytes, &ci->win, NULL);
	if (r == 0)
		return 0;
	src->nregions = 0;
	src->capture_bytes = 0;
	return r;
}

/* Steps 3 and 4: prepare the copy, watch it, capture it (or open a window
 * on it, and keep watching it until the source is closed). */
static int capture_copy(struct lm_memsrc *src, pid_t child, const struct lm_gadget *g,
			const struct lm_copy_opts *opts, struct lm_err *err)
{
	struct copy_impl *ci = src->impl;
	uint64_t life = opts && opts->max_copy_lifetime_ns ? opts->max_copy_lifetime_ns
							   : DEFAULT_LIFETIME_NS;
	struct watcher *w = calloc(1, sizeof(*w));
	struct lm_proc_status ps;
	int r;

	if (!w)
		return lm_err_set(err, LM_ENOMEM, "out of memory watching the frozen copy");
	w->child = child;
	w->deadline_ns = lm_now_ns() + life;
	r = lm_proc_read_maps(child, &src->maps, err);
	if (r == 0)
		r = prepare_copy(child, &src->maps, g, &w->parked, err);
	if (r == 0 && pthread_create(&w->th, NULL, watch, w) != 0)
		r = lm_err_set(err, LM_ENOMEM, "cannot start the copy's watcher thread");
	if (r < 0) {
		free(w);
		return r;
	}
	if (lm_proc_status(src->pid, &ps, NULL) == 0) {
		src->rss_bytes = ps.rss_bytes;
		src->owned_bytes = ps.owned_bytes;
	}
	ci->life_ns = life;
	if (try_window(src, ci, child) == 0) {
		ci->watch = w;
		src->window_bytes = ci->window_bytes;
		return 0;
	}
	r = lm_capture_pid(ci->cap, src, child, opts ? opts->max_capture_bytes : 0,
			   w->deadline_ns, err);
	r = stop_watching(src, w, r, life, err);
	free(w);
	return r;
}

/* Can we read a thread's seccomp filters ourselves? The kernel shows them
 * only to a tracer with CAP_SYS_ADMIN that has no filter of its own. */
static int can_read_filters(void)
{
	unsigned long long mode = 1, cap = 0;
	char line[256];
	FILE *f;

	if (lm_proc_field(getpid(), "status", "Seccomp", &mode) < 0 || mode != 0)
		return 0;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &cap) == 1)
			break;
	fclose(f);
	return (cap >> 21) & 1;	/* CAP_SYS_ADMIN */
}

/* Step 1, for a filtered target we cannot read: the leakmon-filters helper
 * reads its threads' filters now, while it runs (it must be their only
 * tracer for that). No helper: the stop refuses to inject, saying why. */
static int fetch_filters(pid_t pid, struct lm_seccomp_set **out, struct lm_err *err)
{
	unsigned long long mode = 0;
	struct lm_err why = { 0 };
	int r;

	*out = NULL;
	if (lm_proc_field(pid, "status", "Seccomp", &mode) < 0 || mode != 2 || can_read_filters())
		return 0;
	r = lm_seccomp_fetch(NULL, pid, out, &why);
	if (r == 0 || r == -LM_ENOTFOUND)
		return 0;
	return lm_err_set(err, LM_ELIMIT, "pid %d has seccomp filters we cannot read: %s",
			  (int)pid, why.msg);
}

static int open_copy(struct lm_memsrc *src, const struct lm_copy_opts *opts,
		     struct lm_err *err)
{
	pid_t pid = src->pid, dead[REAP_MAX];
	struct lm_proc_status ps;
	struct lm_gadget g;
	struct lm_maps maps;
	struct made m = { 0, 0, 0 };
	size_t ndead;
	uint64_t start;
	int r;

	r = check_headroom(pid, opts ? opts->min_headroom_bytes : 0, err);
	if (r < 0)
		return r;
	r = lm_proc_status(pid, &ps, err);
	if (r < 0)
		return r;
	start = ps.start_time_ticks;
	r = lm_proc_read_maps(pid, &maps, err);
	if (r < 0)
		return r;
	r = lm_inject_find_gadget(pid, &maps, &g, err);
	lm_maps_free(&maps);
	if (r < 0)
		return r;
	/* Without the restore stub, our death in the middle of the injection
	 * would leave a thread of the target running libc's _exit: no. */
	if (!g.pad)
		return lm_err_set(err, LM_ELIMIT,
				  "no zero padding at the end of the text of libc or of the "
				  "executable of pid %d to hold the restore stub", (int)pid);
	r = fetch_filters(pid, &((struct copy_impl *)src->impl)->filters, err);
	if (r < 0)
		return r;
	ndead = pending_take(pid, start, dead, REAP_MAX);
	ndead = find_dead_copies(pid, dead, ndead, REAP_MAX);

	lm_seccomp_set_use(((struct copy_impl *)src->impl)->filters);
	r = fork_copy(src, &g, start, dead, ndead, &m, opts ? opts->max_pause_ns : 0, err);
	if (r < 0) {
		lm_seccomp_set_use(NULL);
		return r;
	}
	/* The copy inherited the filters of the thread that forked it. */
	lm_seccomp_set_alias(((struct copy_impl *)src->impl)->filters, m.child, m.parent_tid);
	r = capture_copy(src, m.child, &g, opts, err);
	lm_seccomp_set_use(NULL);
	if (r == 0 && ((struct copy_impl *)src->impl)->win) {
		/* Read on demand: killed and reaped when the source closes. */
		struct copy_impl *ci = src->impl;
		ci->g = g;
		ci->child = m.child;
		ci->nspid = m.nspid;
		ci->start = start;
		ci->budget_ns = opts ? opts->max_pause_ns : 0;
		return 0;
	}
	((struct copy_impl *)src->impl)->cow_bytes = copy_private_bytes(m.child);
	kill_copy(m.child);
	reap_now(src, &g, start, m.nspid, opts ? opts->max_pause_ns : 0);
	return r;
}

int lm_memsrc_open_copy(pid_t pid, const struct lm_copy_opts *opts,
			struct lm_memsrc **out, struct lm_err *err)
{
	return lm_memsrc_open_copy_window(pid, opts, 0, out, err);
}

int lm_memsrc_open_copy_window(pid_t pid, const struct lm_copy_opts *opts,
			       uint64_t window_bytes, struct lm_memsrc **out,
			       struct lm_err *err)
{
	struct lm_memsrc *src;
	char exe[4096];
	int r;

	*out = NULL;
	if (pid <= 0)
		return lm_err_set(err, LM_EINVAL, "invalid pid %d", (int)pid);
	r = lm_memsrc_new(LM_SRC_COPY, &src, err);
	if (r < 0)
		return r;
	src->pid = pid;
	src->impl = calloc(1, sizeof(struct copy_impl));
	src->impl_free = copy_free;
	if (src->impl)
		((struct copy_impl *)src->impl)->cap = lm_capture_new();
	if (src->impl && ((struct copy_impl *)src->impl)->cap)
		lm_capture_unpinned(((struct copy_impl *)src->impl)->cap);
	if (!src->impl || !((struct copy_impl *)src->impl)->cap) {
		lm_memsrc_close(src);
		return lm_err_set(err, LM_ENOMEM, "out of memory opening a frozen copy");
	}
	((struct copy_impl *)src->impl)->window_bytes = window_bytes;
	src->impl_check = copy_check;
	if (lm_proc_exe(pid, exe, sizeof(exe), NULL) == 0)
		src->exe = strdup(exe);
	r = open_copy(src, opts, err);
	if (r < 0) {
		lm_err_prefix(err, "no frozen copy of pid %d", (int)pid);
		lm_memsrc_close(src);
		return r;
	}
	lm_memsrc_sort_regions(src);
	*out = src;
	return 0;
}
