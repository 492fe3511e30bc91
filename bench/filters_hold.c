/*
 * filters_hold.c - how long reading a thread's seccomp filters holds it:
 * the sequence leakmon-filters runs per thread (PTRACE_SEIZE, INTERRUPT,
 * wait for the stop polling every 50 us, PTRACE_SECCOMP_GET_FILTER for
 * each filter, DETACH), timed from the seize to the detach.
 *
 *   filters_hold TID [ROUNDS]    (root; prints min, median, max in us)
 *
 * The extra pause a filtered target sees before each frozen copy made
 * through the helper, per thread (the threads are held one at a time).
 */
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

static struct sock_filter prog[4096];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int tid = argc > 1 ? atoi(argv[1]) : 0, rounds = argc > 2 ? atoi(argv[2]) : 200, i;
	struct timespec tick = { 0, 50000 }, gap = { 0, 2000000 };
	double *v;

	if (tid <= 0 || rounds <= 0 || !(v = calloc((size_t)rounds, sizeof(*v)))) {
		fprintf(stderr, "usage: filters_hold TID [ROUNDS]\n");
		return 2;
	}
	for (i = 0; i < rounds; i++) {
		double t0 = now_us();
		unsigned long idx;
		int status, k;

		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0 ||
		    ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
			perror("seize");
			return 1;
		}
		for (k = 0; k < 2000 && waitpid(tid, &status, __WALL | WNOHANG) != tid; k++)
			nanosleep(&tick, NULL);
		for (idx = 0; idx < 1024; idx++) {
			long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
			if (n <= 0 || n > 4096 ||
			    ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, prog) != n)
				break;
		}
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		v[i] = now_us() - t0;
		nanosleep(&gap, NULL);
	}
	qsort(v, (size_t)rounds, sizeof(*v), cmp);
	printf("held per read of the filters of thread %d (%d rounds): min %.0f us, median %.0f us, max %.0f us\n",
	       tid, rounds, v[0], v[rounds / 2], v[rounds - 1]);
	free(v);
	return 0;
}
