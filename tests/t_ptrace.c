/* SPDX-License-Identifier: MIT */
/*
 * t_ptrace - test driver for lib/ptrace.c: dies holding a signal.
 *
 *   t_ptrace hold-kill PID TRIES
 *
 * Stops PID with lm_ptrace_stop() up to TRIES times until one of its threads
 * is held in a signal-delivery-stop (a signal the thread dequeued after we
 * seized it and before our interrupt took effect: PTRACE_GETSIGINFO shows
 * that signal, not our PTRACE_EVENT_STOP trap). Then it prints
 * `held SIG tid TID after N stops` and SIGKILLs itself with the thread still
 * stopped, which is the worst moment for a tracer to die: the kernel's
 * exit_ptrace() detaches the thread, and the signal survives only if the
 * thread's exit_code still holds it. Without a catch in TRIES stops it
 * prints `held none after TRIES stops` and exits 3.
 *
 * A target that keeps signalling itself (memtarget with
 * MEMTARGET_SELFSIG=1) is caught within a few hundred stops.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "ptrace.h"

/* The signal a stopped thread is held with, or 0 for our own trap (an
 * interrupt stop or a group-stop, both PTRACE_EVENT_STOP). */
static int held_signal(pid_t tid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0)
		return 0;
	if ((si.si_code >> 8) == PTRACE_EVENT_STOP)
		return 0;
	return si.si_signo;
}

int main(int argc, char **argv)
{
	struct lm_err err = { 0 };
	long tries, n;
	pid_t pid;

	if (argc != 4 || strcmp(argv[1], "hold-kill")) {
		fprintf(stderr, "usage: t_ptrace hold-kill PID TRIES\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[2]);
	tries = atol(argv[3]);
	for (n = 1; n <= tries; n++) {
		struct lm_stopped st;
		size_t i;
		int r = lm_ptrace_stop(pid, &st, &err);

		if (r < 0) {
			printf("error %s: %s\n", lm_status_name(r), err.msg);
			return 2;
		}
		for (i = 0; i < st.nthreads; i++) {
			int sig = held_signal(st.threads[i].tid);
			if (sig) {
				printf("held %d tid %d after %ld stops\n", sig,
				       (int)st.threads[i].tid, n);
				fflush(stdout);
				raise(SIGKILL);
			}
		}
		lm_stopped_free(&st);
	}
	printf("held none after %ld stops\n", tries);
	return 3;
}
