/* SPDX-License-Identifier: MIT */
/*
 * t_pause - test driver for the pause budget of lib/ptrace.c: what happens
 * to a thread that never stopped.
 *
 *   t_pause PID VTID
 *
 * PID is tests/targets/vfork_target, VTID its thread in vfork(). Each step
 * prints `ok STEP` or `FAIL STEP: why` and the driver exits 1 at the first
 * failure:
 *  1. a thread of ours stops PID with a 100 ms budget: LM_ETIMEDOUT naming
 *     VTID and vfork; VTID lingers (lm_ptrace_lingering() == 1 there);
 *  2. another thread of ours tries while the first still holds VTID: the
 *     message says VTID has not stopped since an earlier attempt (not
 *     "traced by another debugger"); PID's other threads run on;
 *  3. the vfork child is killed: VTID takes the pending interrupt and
 *     stops (the hazard); lm_ptrace_settle() in the first thread detaches
 *     it, it runs on;
 *  4. a third thread times out the same way and exits: the kernel detaches
 *     VTID (TracerPid 0), and when its next vfork child is killed it does
 *     not stop.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ptrace.h"

#define BUDGET_NS (100ULL * 1000000ULL)

static pid_t pid, vtid;

struct attempt {
	int rc;
	size_t lingering;
	struct lm_err err;
};

/* The first thread: it times out, then waits for the go to settle. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int step;		/* 1: attempt done; 2: settle now; 3: settled */
static struct attempt first;
static size_t first_after_settle;

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void attempt(struct attempt *a)
{
	struct lm_stopped st;

	memset(a, 0, sizeof(*a));
	a->rc = lm_ptrace_stop_within(pid, BUDGET_NS, &st, &a->err);
	if (a->rc == 0)
		lm_stopped_free(&st);
	a->lingering = lm_ptrace_lingering();
}

static void set_step(int s)
{
	pthread_mutex_lock(&lock);
	step = s;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void wait_step(int s)
{
	pthread_mutex_lock(&lock);
	while (step < s)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void *first_thread(void *arg)
{
	(void)arg;
	attempt(&first);
	set_step(1);
	wait_step(2);
	first_after_settle = lm_ptrace_settle();
	set_step(3);
	return NULL;
}

static void *third_thread(void *arg)
{
	attempt(arg);
	return NULL;	/* our exit must let the lingering thread go */
}

/* State letter of VTID, or 0. */
static char vstate(void)
{
	char path[96], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)vtid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static long tracer_of_vtid(void)
{
	char path[96], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)vtid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Kill VTID's vfork child; 0 when there was one. */
static int kill_vfork_child(void)
{
	char path[96];
	long child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)vtid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &child) != 1)
		child = 0;
	fclose(f);
	return child > 0 ? kill((pid_t)child, SIGKILL) : -1;
}

/* Wait up to ms for VTID's state to be (want) or not to be (!want) 't'. */
static int wait_traced_stop(int want, long ms)
{
	for (; ms > 0; ms -= 5) {
		if ((vstate() == 't') == want)
			return 1;
		nap_ms(5);
	}
	return 0;
}

static int wait_vfork(void)
{
	long ms;

	for (ms = 0; ms < 3000; ms += 5) {
		if (vstate() == 'D')
			return 1;
		nap_ms(5);
	}
	return 0;
}

#define CHECK(cond, name, ...) do { \
	if (!(cond)) { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); return 1; } \
	printf("ok %s\n", name); fflush(stdout); \
} while (0)

int main(int argc, char **argv)
{
	struct attempt second, third;
	pthread_t a, c;
	char want[96];
	long ms;

	if (argc != 3) {
		fprintf(stderr, "usage: t_pause PID VTID\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	vtid = (pid_t)atoi(argv[2]);
	CHECK(wait_vfork(), "vfork", "thread %d is not in vfork (state %c)", (int)vtid, vstate());

	/* 1 */
	pthread_create(&a, NULL, first_thread, NULL);
	wait_step(1);
	snprintf(want, sizeof(want), "thread %d of pid %d did not stop within 100 ms: in vfork",
		 (int)vtid, (int)pid);
	CHECK(first.rc == -LM_ETIMEDOUT && strstr(first.err.msg, want), "timeout",
	      "rc %d: %s", first.rc, first.err.msg);
	CHECK(first.lingering == 1, "lingering", "%zu lingering threads", first.lingering);

	/* 2 */
	attempt(&second);
	snprintf(want, sizeof(want), "thread %d of pid %d has not stopped since an earlier attempt",
		 (int)vtid, (int)pid);
	CHECK(second.rc == -LM_ETIMEDOUT && strstr(second.err.msg, want), "held-by-us",
	      "rc %d: %s", second.rc, second.err.msg);
	CHECK(second.lingering == 0, "second-lingering", "%zu", second.lingering);

	/* 3 */
	CHECK(kill_vfork_child() == 0, "kill-child", "no vfork child to kill");
	CHECK(wait_traced_stop(1, 2000), "hazard", "thread %d did not take the pending interrupt "
	      "(state %c)", (int)vtid, vstate());
	set_step(2);
	wait_step(3);
	pthread_join(a, NULL);
	CHECK(first_after_settle == 0, "settle", "%zu still lingering", first_after_settle);
	CHECK(wait_traced_stop(0, 2000), "settled-runs", "thread %d stays stopped (state %c)",
	      (int)vtid, vstate());
	for (ms = 0; ms < 2000 && tracer_of_vtid() != 0; ms += 5)
		nap_ms(5);
	CHECK(tracer_of_vtid() == 0, "settled-untraced", "TracerPid %ld", tracer_of_vtid());

	/* 4 */
	CHECK(wait_vfork(), "vfork-again", "thread %d is not in vfork (state %c)", (int)vtid,
	      vstate());
	pthread_create(&c, NULL, third_thread, &third);
	pthread_join(c, NULL);
	CHECK(third.rc == -LM_ETIMEDOUT && third.lingering == 1, "third-timeout", "rc %d, %zu "
	      "lingering: %s", third.rc, third.lingering, third.err.msg);
	for (ms = 0; ms < 2000 && tracer_of_vtid() != 0; ms += 5)
		nap_ms(5);
	CHECK(tracer_of_vtid() == 0, "exit-untraced", "TracerPid %ld after the tracing thread "
	      "exited", tracer_of_vtid());
	CHECK(kill_vfork_child() == 0, "kill-child-again", "no vfork child to kill");
	CHECK(!wait_traced_stop(1, 500), "exit-no-stop", "thread %d stopped after its tracer "
	      "thread exited", (int)vtid);
	return 0;
}
