/* SPDX-License-Identifier: MIT */
/*
 * t_copy.c - test and benchmark driver for the frozen-copy source.
 *
 *   t_copy compare PID          walk the heap from a live capture and from a
 *                               frozen copy; print both fingerprints and
 *                               "same" (exit 0) or "differ" (exit 1)
 *   t_copy census PID MODE [N]  N censuses (MODE live or copy), one line each:
 *                               "census I start_ns S end_ns E pause_us P
 *                               reap_us R chunks C inuse_bytes B
 *                               cow_kib K" (K: what the target copied
 *                               on write while the copy lived)
 *                               (T_COPY_NOWALK=1: capture only, no walk)
 *   t_copy verify PID user|syscall
 *                               inside one stop: snapshot every thread's
 *                               registers (general, x87/SSE/AVX), signal mask,
 *                               pending and handled signals; inject clone into
 *                               a thread stopped in user mode or inside a
 *                               syscall, kill the copy, inject wait4 to reap
 *                               it; snapshot again and compare: "verify ok"
 *   t_copy die STEP PID user|syscall
 *                               inject clone and SIGKILL ourselves at step
 *                               STEP of the injection (lm_inject_step_hook):
 *                               the target must run on unharmed
 *   t_copy untraced PID         inject clone, then let the copy go untraced
 *                               (as if we had died before PTRACE_O_EXITKILL):
 *                               it must exit at once with status 0 without
 *                               running the target's code: "untraced ok"
 *
 * Errors go to stderr as "t_copy: STATUS-NAME: message"; exit status 2 when
 * a frozen copy was refused (the caller would fall back to live), 1 for
 * other failures.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "glibc_heap.h"
#include "inject.h"
#include "memsrc.h"
#include "ptrace.h"

static int die(int code, const struct lm_err *err)
{
	fprintf(stderr, "t_copy: %s: %s\n", lm_status_name(err->code), err->msg);
	return code;
}

/* ------------------------------------------------------ fingerprints */

struct print {
	uint64_t chunks, live, live_bytes, h;
	const struct lm_memsrc *src;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* Hash every chunk's address, size and state, and the bytes of live ones. */
static int on_chunk(void *ctx, const struct lm_chunk *c)
{
	struct print *p = ctx;

	p->chunks++;
	p->h = fnv(p->h, &c->addr, sizeof(c->addr));
	p->h = fnv(p->h, &c->size, sizeof(c->size));
	p->h = fnv(p->h, &c->state, sizeof(c->state));
	if (lm_chunk_is_live(c->state)) {
		const void *v = lm_mem_view(p->src, c->addr + 16, (size_t)c->usable);
		p->live++;
		p->live_bytes += c->size;
		if (v)
			p->h = fnv(p->h, v, (size_t)c->usable);
	}
	return 0;
}

static int open_src(pid_t pid, const char *mode, struct lm_memsrc **src, struct lm_err *err)
{
	if (strcmp(mode, "live") == 0)
		return lm_memsrc_open_live(pid, NULL, src, err);
	{
		struct lm_copy_opts o = { 0, 0, 0, 0 };
		const char *h = getenv("T_COPY_MIN_HEADROOM");
		o.min_headroom_bytes = h ? strtoull(h, NULL, 0) : 0;
		return lm_memsrc_open_copy(pid, &o, src, err);
	}
}

static int fingerprint(pid_t pid, const char *mode, struct print *p, uint64_t *pause_ns,
		       uint64_t *reap_ns, uint64_t *cow_bytes, struct lm_err *err)
{
	struct lm_walk_opts wo = { .include_free = 1 };
	struct lm_heap_info info;
	struct lm_memsrc *src;
	int r, tries;

	/* A stop that catches a thread inside malloc (or fork, which holds
	 * every arena lock) cannot be walked: take another, as the snapshot
	 * engine does. */
	for (tries = 0; tries < 50; tries++) {
		memset(p, 0, sizeof(*p));
		p->h = 1469598103934665603ull;
		r = open_src(pid, mode, &src, err);
		if (r < 0)
			return r;
		p->src = src;
		*pause_ns = src->pause_ns;
		*reap_ns = lm_memsrc_copy_reap_pause_ns(src);
		*cow_bytes = lm_memsrc_copy_cow_bytes(src);
		if (getenv("T_COPY_NOWALK")) {	/* benchmarks: the pause only */
			lm_memsrc_close(src);
			return 0;
		}
		r = lm_glibc_walk(src, NULL, &wo, &info, on_chunk, p, err);
		lm_memsrc_close(src);
		if (r != -LM_EBUSY)
			break;
		usleep(2000);
	}
	return r;
}

static int cmd_compare(pid_t pid)
{
	struct print a, b;
	struct lm_err err = { 0 };
	uint64_t pa, pb, ra, rb, cow;
	int r;

	r = fingerprint(pid, "live", &a, &pa, &ra, &cow, &err);
	if (r < 0)
		return die(1, &err);
	r = fingerprint(pid, "copy", &b, &pb, &rb, &cow, &err);
	if (r < 0)
		return die(2, &err);
	printf("live chunks %" PRIu64 " live %" PRIu64 " bytes %" PRIu64 " hash %016" PRIx64
	       " pause_us %" PRIu64 "\n", a.chunks, a.live, a.live_bytes, a.h, pa / 1000);
	printf("copy chunks %" PRIu64 " live %" PRIu64 " bytes %" PRIu64 " hash %016" PRIx64
	       " pause_us %" PRIu64 " reap_us %" PRIu64 "\n", b.chunks, b.live, b.live_bytes,
	       b.h, pb / 1000, rb / 1000);
	if (a.chunks == b.chunks && a.live == b.live && a.live_bytes == b.live_bytes && a.h == b.h) {
		printf("same\n");
		return 0;
	}
	printf("differ\n");
	return 1;
}

static int cmd_census(pid_t pid, const char *mode, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		struct lm_err err = { 0 };
		struct print p;
		uint64_t pause, reap, cow, t0 = lm_now_ns(), t1;
		int r = fingerprint(pid, mode, &p, &pause, &reap, &cow, &err);
		t1 = lm_now_ns();
		if (r < 0)
			return die(strcmp(mode, "copy") == 0 && err.code != LM_ECORRUPT ? 2 : 1, &err);
		printf("census %ld start_ns %" PRIu64 " end_ns %" PRIu64 " pause_us %" PRIu64
		       " reap_us %" PRIu64 " chunks %" PRIu64 " inuse_bytes %" PRIu64
		       " cow_kib %" PRIu64 "\n",
		       i, t0, t1, pause / 1000, reap / 1000, p.chunks, p.live_bytes, cow / 1024);
		fflush(stdout);
	}
	return 0;
}

/* ------------------------------------------------ exact state checks */

#define XSTATE_MAX 8192

struct tstate {
	pid_t tid;
	struct user_regs_struct regs;
	uint8_t xs[XSTATE_MAX];
	size_t xslen;
	uint64_t mask;
	char sig[512];		/* SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt lines */
};

static void read_sig_lines(pid_t tid, char *out, size_t len)
{
	char path[64], line[256];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long m;
		/* The target's own children exit while it is stopped: their
		 * SIGCHLD may become pending meanwhile. (That none comes from
		 * the copy is checked by copy_family's SA_SIGINFO handler.) */
		if (sscanf(line, "SigPnd: %llx", &m) == 1 || sscanf(line, "ShdPnd: %llx", &m) == 1)
			snprintf(line + 7, sizeof(line) - 7, " %016llx (SIGCHLD masked out)\n",
				 m & ~(1ull << (SIGCHLD - 1)));
		if (!strncmp(line, "SigPnd", 6) || !strncmp(line, "ShdPnd", 6) ||
		    !strncmp(line, "SigBlk", 6) || !strncmp(line, "SigIgn", 6) ||
		    !strncmp(line, "SigCgt", 6))
			strncat(out, line, len - strlen(out) - 1);
	}
	fclose(f);
}

static int snap_thread(pid_t tid, struct tstate *s)
{
	struct iovec io = { s->xs, sizeof(s->xs) };

	memset(s, 0, sizeof(*s));
	s->tid = tid;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &s->regs) < 0 ||
	    ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(s->mask), &s->mask) < 0)
		return -1;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &io) == 0)
		s->xslen = io.iov_len;
	read_sig_lines(tid, s->sig, sizeof(s->sig));
	return 0;
}

/* Compare the register areas of two XSAVE images: x87/SSE (0-415) and the
 * AVX upper halves (576-831); the header's in-use bits may legitimately
 * differ. */
static int same_xstate(const struct tstate *a, const struct tstate *b)
{
	size_t hi = a->xslen < 832 ? a->xslen : 832;

	if (a->xslen != b->xslen)
		return 0;
	if (memcmp(a->xs, b->xs, a->xslen < 416 ? a->xslen : 416) != 0)
		return 0;
	return hi <= 576 || memcmp(a->xs + 576, b->xs + 576, hi - 576) == 0;
}

static int compare_threads(const struct tstate *a, const struct tstate *b)
{
	int bad = 0;

	if (memcmp(&a->regs, &b->regs, sizeof(a->regs)) != 0) {
		printf("thread %d: general registers differ (rip %llx -> %llx, rax %llx -> %llx, "
		       "orig_rax %llx -> %llx)\n", (int)a->tid, a->regs.rip, b->regs.rip,
		       a->regs.rax, b->regs.rax, a->regs.orig_rax, b->regs.orig_rax);
		bad = 1;
	}
	if (!same_xstate(a, b)) {
		printf("thread %d: floating-point/vector registers differ\n", (int)a->tid);
		bad = 1;
	}
	if (a->mask != b->mask) {
		printf("thread %d: signal mask %llx -> %llx\n", (int)a->tid,
		       (unsigned long long)a->mask, (unsigned long long)b->mask);
		bad = 1;
	}
	if (strcmp(a->sig, b->sig) != 0) {
		printf("thread %d: signal state differs:\n%s--\n%s", (int)a->tid, a->sig, b->sig);
		bad = 1;
	}
	return bad;
}

/* Index of a usable thread stopped in user mode (want_syscall 0) or in a
 * syscall (1), or -1. */
static int choose(const struct lm_stopped *st, int want_syscall)
{
	size_t i;

	for (i = 0; i < st->nthreads; i++) {
		int in_sys = st->threads[i].regs.orig_rax != (unsigned long long)-1;
		if (in_sys == want_syscall && lm_inject_thread_usable(st->threads[i].tid))
			return (int)i;
	}
	return -1;
}

static int wait_stopped(pid_t child)
{
	int status;

	while (waitpid(child, &status, __WALL) < 0)
		if (errno != EINTR)
			return -1;
	return WIFSTOPPED(status) ? 0 : -1;
}

/* Stop pid, pick a thread, find the gadget. */
static int setup(pid_t pid, const char *kind, struct lm_stopped *st, int *ti,
		 struct lm_gadget *g, struct lm_err *err)
{
	struct lm_maps maps;
	int r;

	r = lm_proc_read_maps(pid, &maps, err);
	if (r < 0)
		return r;
	r = lm_inject_find_gadget(pid, &maps, g, err);
	lm_maps_free(&maps);
	if (r < 0)
		return r;
	r = lm_ptrace_stop(pid, st, err);
	if (r < 0)
		return r;
	*ti = choose(st, strcmp(kind, "syscall") == 0);
	if (*ti < 0) {
		lm_ptrace_release(st);
		lm_stopped_free(st);
		return lm_err_set(err, LM_ENOTFOUND, "no thread of pid %d stopped %s", (int)pid,
				  strcmp(kind, "syscall") == 0 ? "inside a syscall" : "in user mode");
	}
	return 0;
}

/* Time thread tid spent on a CPU (ns): /proc/TID/schedstat, first field. */
static uint64_t thread_cpu_ns(pid_t tid)
{
	char path[64];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)tid);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int cmd_verify(pid_t pid, const char *kind)
{
	struct lm_err err = { 0 };
	struct lm_stopped st;
	struct lm_gadget g;
	struct tstate *before, after;
	struct lm_inject_result res = { 0, 0 }, res2 = { 0, 0 };
	uint64_t clone_args[6] = { 0, LM_INJECT_BAD_SP, 0, 0, 0, 0 };
	int ti, r, bad = 0;
	size_t i;
	uint64_t t_stop = lm_now_ns(), t_clone = 0, cpu_clone = 0;

	r = setup(pid, kind, &st, &ti, &g, &err);
	t_stop = lm_now_ns() - t_stop;
	if (r < 0)
		return die(1, &err);
	before = calloc(st.nthreads, sizeof(*before));
	for (i = 0; before && i < st.nthreads; i++)
		if (snap_thread(st.threads[i].tid, &before[i]) < 0)
			bad = 1;
	cpu_clone = thread_cpu_ns(st.threads[ti].tid);
	t_clone = lm_now_ns();
	r = lm_inject_syscall(st.threads[ti].tid, &st.threads[ti].regs, &g, SYS_clone,
			      clone_args, &res, &err);
	t_clone = lm_now_ns() - t_clone;
	cpu_clone = thread_cpu_ns(st.threads[ti].tid) - cpu_clone;
	if (r == 0 && res.child > 0) {
		uint64_t w[6] = { (uint64_t)res.ret, 0, __WALL | WNOHANG, 0, 0, 0 };
		wait_stopped(res.child);
		kill(res.child, SIGKILL);
		waitpid(res.child, NULL, __WALL);
		r = lm_inject_syscall(st.threads[ti].tid, &st.threads[ti].regs, &g, SYS_wait4, w,
				      &res2, &err);
		if (r == 0 && res2.ret != res.ret) {
			printf("wait4 in the target returned %ld, expected %ld\n", res2.ret, res.ret);
			bad = 1;
		}
	}
	for (i = 0; before && i < st.nthreads; i++)
		if (snap_thread(st.threads[i].tid, &after) < 0 ||
		    compare_threads(&before[i], &after))
			bad = 1;
	lm_ptrace_release(&st);
	lm_stopped_free(&st);
	free(before);
	if (r < 0)
		return die(1, &err);
	if (res.ret <= 0 || bad || !before) {
		printf("verify failed (clone returned %ld)\n", res.ret);
		return 1;
	}
	printf("verify ok thread-kind %s gadget %s stub %s copy %ld (stop+text scan %llu us, "
	       "clone %llu us, of which on cpu %llu us)\n", kind,
	       g.kind == LM_GADGET_EXIT ? "exit" : "fault", g.pad ? "yes" : "no", res.ret,
	       (unsigned long long)(t_stop / 1000), (unsigned long long)(t_clone / 1000),
	       (unsigned long long)(cpu_clone / 1000));
	return 0;
}

/* Field 52 of /proc/PID/stat (exit_code) and the state, of a zombie. */
static int zombie_exit_code(pid_t p, int *code)
{
	char path[64], buf[1024], *s;
	int field = 2;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
	f = fopen(path, "re");
	if (!f)
		return -1;
	s = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!s || !(s = strrchr(buf, ')')) || s[1] != ' ' || s[2] != 'Z')
		return -1;
	for (s += 2; *s && field < 52; s++)
		if (*s == ' ')
			field++;
	*code = atoi(s);
	return 0;
}

static int cmd_untraced(pid_t pid)
{
	struct lm_err err = { 0 };
	struct lm_stopped st;
	struct lm_gadget g;
	struct lm_inject_result res = { 0, 0 }, res2 = { 0, 0 };
	uint64_t clone_args[6] = { 0, LM_INJECT_BAD_SP, 0, 0, 0, 0 };
	int ti, r, code = -1, i;

	r = setup(pid, "user", &st, &ti, &g, &err);
	if (r < 0)
		r = setup(pid, "syscall", &st, &ti, &g, &err);
	if (r < 0)
		return die(1, &err);
	r = lm_inject_syscall(st.threads[ti].tid, &st.threads[ti].regs, &g, SYS_clone,
			      clone_args, &res, &err);
	if (r == 0 && res.child > 0) {
		wait_stopped(res.child);
		/* What the kernel does when the tracer dies: detach. */
		ptrace(PTRACE_DETACH, res.child, NULL, NULL);
		for (i = 0; i < 200 && zombie_exit_code(res.child, &code) < 0; i++)
			usleep(5000);
		{
			uint64_t w[6] = { (uint64_t)res.ret, 0, __WALL | WNOHANG, 0, 0, 0 };
			r = lm_inject_syscall(st.threads[ti].tid, &st.threads[ti].regs, &g,
					      SYS_wait4, w, &res2, &err);
		}
	}
	lm_ptrace_release(&st);
	lm_stopped_free(&st);
	if (r < 0)
		return die(1, &err);
	if (g.kind != LM_GADGET_EXIT) {
		printf("untraced: no exit gadget (fault gadget: the copy died of SIGSEGV, code %#x)\n",
		       code);
		return 77;
	}
	if (code != 0 || res2.ret != res.ret) {
		printf("untraced failed: exit code %#x, reaped %ld (copy %ld)\n", code, res2.ret,
		       res.ret);
		return 1;
	}
	printf("untraced ok\n");
	return 0;
}

static int die_at;

static void die_hook(int step)
{
	if (step == die_at)
		raise(SIGKILL);
}

static int cmd_die(pid_t pid, int step, const char *kind)
{
	struct lm_err err = { 0 };
	struct lm_stopped st;
	struct lm_gadget g;
	struct lm_inject_result res = { 0, 0 };
	uint64_t clone_args[6] = { 0, LM_INJECT_BAD_SP, 0, 0, 0, 0 };
	int ti, r;

	r = setup(pid, kind, &st, &ti, &g, &err);
	if (r < 0)
		return die(1, &err);
	if (!g.pad) {
		lm_ptrace_release(&st);
		lm_stopped_free(&st);
		printf("die: no padding for a restore stub in pid %d\n", (int)pid);
		return 77;
	}
	die_at = step;
	lm_inject_step_hook = die_hook;
	r = lm_inject_syscall(st.threads[ti].tid, &st.threads[ti].regs, &g, SYS_clone,
			      clone_args, &res, &err);
	lm_inject_step_hook = NULL;
	if (res.child > 0) {
		kill(res.child, SIGKILL);
		waitpid(res.child, NULL, __WALL);
	}
	lm_ptrace_release(&st);
	lm_stopped_free(&st);
	printf("die: step %d never came (%s)\n", step, r < 0 ? err.msg : "ok");
	return 1;
}

int main(int argc, char **argv)
{
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: t_copy compare|census|verify|untraced PID [ARGS]\n");
		return 1;
	}
	pid = (pid_t)atoi(argv[2]);
	if (!strcmp(argv[1], "compare"))
		return cmd_compare(pid);
	if (!strcmp(argv[1], "census") && argc >= 4)
		return cmd_census(pid, argv[3], argc > 4 ? atol(argv[4]) : 1);
	if (!strcmp(argv[1], "verify") && argc >= 4)
		return cmd_verify(pid, argv[3]);
	if (!strcmp(argv[1], "untraced"))
		return cmd_untraced(pid);
	if (!strcmp(argv[1], "die") && argc >= 5)
		return cmd_die((pid_t)atoi(argv[3]), atoi(argv[2]), argv[4]);
	fprintf(stderr, "t_copy: unknown command %s\n", argv[1]);
	return 1;
}
