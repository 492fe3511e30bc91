/* SPDX-License-Identifier: MIT */
/*
 * copy_family - a target that checks, from the inside, that frozen-copy
 * censuses leave no trace on it.
 *
 *   copy_family [MIB]
 *
 * MIB (default 0): that many MiB of extra heap, touched, in 64 KiB blocks
 * (a bigger heap makes the copy live longer, for the signal test).
 * Keeps two children of its own alive at all times (each sleeps a few ms
 * and exits with a known code) and waits for them with waitpid(-1): every
 * pid it reaps must be its own with the right status, ECHILD must never
 * come while it has children, and every SIGCHLD (SA_SIGINFO) must name one
 * of its children. Blocks SIGUSR1 and SIGRTMIN+3 in every thread with one
 * of each pending (thread- and process-directed) and checks mask and
 * pending set on every round. Only the main thread takes SIGCHLD. A reader thread sits in read() on a pipe the
 * main loop feeds (an interrupted read must restart, not fail), a sleeper
 * thread in nanosleep(), a spinner thread in user mode.
 *
 * Prints "info ..." lines and "ready", then every 100 ms
 * "status rounds R reads D sleeps S spins P errors E"; each problem also
 * prints one "error ..." line.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIDS_MAX 64

static pid_t kids[KIDS_MAX];
static atomic_int nkids_alive;
static atomic_long reads, sleeps, spins, errors;
static atomic_int foreign_sigchld;
static int pipefd[2];
static sigset_t chld_set;

static void error_line(const char *what, long v)
{
	atomic_fetch_add(&errors, 1);
	printf("error %s %ld\n", what, v);
	fflush(stdout);
}

static int kid_index(pid_t p)
{
	int i;

	for (i = 0; i < KIDS_MAX; i++)
		if (kids[i] == p)
			return i;
	return -1;
}

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (kid_index(si->si_pid) < 0)
		atomic_fetch_add(&foreign_sigchld, 1);
}

static void *reader(void *arg)
{
	char c;

	(void)arg;
	for (;;) {
		ssize_t r = read(pipefd[0], &c, 1);
		if (r == 1)
			atomic_fetch_add(&reads, 1);
		else
			error_line("read", r < 0 ? -errno : r);
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 3000000 };
		int r = nanosleep(&ts, NULL);
		if (r == 0)
			atomic_fetch_add(&sleeps, 1);
		else
			error_line("nanosleep", -errno);
	}
	return NULL;
}

/* Spins in user mode for ~1 ms, then sleeps ~1 ms. */
static void *spinner(void *arg)
{
	volatile double x = 1.0;

	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 1000000 }, t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			int i;
			for (i = 0; i < 1000; i++)
				x = x * 1.0000001 + 0.5;
			clock_gettime(CLOCK_MONOTONIC, &t1);
		} while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 1000000);
		atomic_fetch_add(&spins, 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void spawn_kid(void)
{
	int slot = kid_index(0);
	pid_t p;

	if (slot < 0) {
		error_line("no-slot", 0);
		return;
	}
	/* SIGCHLD stays blocked until the pid is on record: the handler
	 * must know every child of ours. */
	pthread_sigmask(SIG_BLOCK, &chld_set, NULL);
	p = fork();
	if (p == 0) {
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
		_exit((getpid() % 50) + 1);
	}
	if (p < 0) {
		error_line("fork", -errno);
		pthread_sigmask(SIG_UNBLOCK, &chld_set, NULL);
		return;
	}
	kids[slot] = p;
	atomic_fetch_add(&nkids_alive, 1);
	pthread_sigmask(SIG_UNBLOCK, &chld_set, NULL);
}

/* Reap one child with waitpid(-1): it must be ours, with its code. */
static void reap_one(void)
{
	int st, i;
	pid_t p = waitpid(-1, &st, 0);

	if (p < 0) {
		error_line(errno == ECHILD ? "echild-with-children" : "waitpid", -errno);
		return;
	}
	i = kid_index(p);
	if (i < 0) {
		error_line("foreign-child", p);
		return;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != (p % 50) + 1)
		error_line("child-status", st);
	kids[i] = 0;
	atomic_fetch_sub(&nkids_alive, 1);
}

static void check_signals(const sigset_t *want_blocked)
{
	sigset_t cur, pend;
	int s;

	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	sigpending(&pend);
	for (s = 1; s < SIGRTMAX; s++) {
		if (sigismember(&cur, s) != sigismember(want_blocked, s))
			error_line("mask", s);
		if (sigismember(&pend, s) != (s == SIGUSR1 || s == SIGRTMIN + 3))
			error_line("pending", s);
	}
}

static void start(void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL) != 0) {
		perror("pthread_create");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 0;
	struct sigaction sa;
	sigset_t blocked;
	struct timespec last, now;
	long rounds = 0, i;
	void **keep;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGRTMIN + 3);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	pthread_sigmask(SIG_SETMASK, NULL, &blocked);
	if (pipe(pipefd) < 0)
		return 1;
	/* Something for the census to find. */
	keep = malloc(2000 * sizeof(*keep));
	for (i = 0; i < 2000; i++)
		keep[i] = malloc(16 + (size_t)(i % 40) * 8);
	for (i = 0; i < mib * 16; i++) {
		char *b = malloc(65536 - 64);
		if (b)
			memset(b, (int)i, 65536 - 64);
	}
	/* Only the main thread takes SIGCHLD (it interrupts nanosleep). */
	sigemptyset(&chld_set);
	sigaddset(&chld_set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld_set, NULL);
	start(reader);
	start(sleeper);
	start(spinner);
	pthread_sigmask(SIG_UNBLOCK, &chld_set, NULL);
	raise(SIGUSR1);				/* thread-directed, main thread */
	kill(getpid(), SIGRTMIN + 3);		/* process-directed, shared */
	printf("info pid %d\n", (int)getpid());
	printf("ready\n");
	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		while (atomic_load(&nkids_alive) < 2)
			spawn_kid();
		reap_one();
		if (write(pipefd[1], "x", 1) != 1)
			error_line("write", -errno);
		check_signals(&blocked);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 >= 100) {
			if (atomic_load(&foreign_sigchld))
				error_line("foreign-sigchld", atomic_exchange(&foreign_sigchld, 0));
			printf("status rounds %ld reads %ld sleeps %ld spins %ld errors %ld\n", rounds,
			       atomic_load(&reads), atomic_load(&sleeps), atomic_load(&spins),
			       atomic_load(&errors));
			last = now;
		}
	}
	return 0;
}
