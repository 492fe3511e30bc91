/* SPDX-License-Identifier: MIT */
/*
 * vfork_target - a process with one thread stuck in vfork() and a main
 * thread that measures how long it is ever kept from running.
 *
 *   vfork_target [CHILD_SECONDS]
 *
 * A second thread calls vfork() again and again; each child sleeps
 * CHILD_SECONDS (default 30) before _exit(), so the parent thread spends
 * nearly all its time waiting for the child to exec or exit: a killable
 * sleep that no ptrace interrupt ends. Prints `info vfork_tid TID`, then
 * `ready` once the first vfork() is under way (a few strings are on the
 * heap, so that a census has something to find).
 *
 * The main thread wakes every millisecond and keeps the longest gap
 * between two wake-ups. On SIGUSR1 it prints `maxgap_us N` (the longest
 * gap since the previous SIGUSR1, in microseconds) and starts over: a test
 * sends SIGUSR1 before and after stopping the process, and the second line
 * is the longest the main thread was frozen meanwhile.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NBLOCKS 50
#define BLOCK_SIZE 200

static volatile sig_atomic_t report_wanted;
static unsigned child_seconds = 30;
static volatile pid_t vfork_tid;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static void on_usr1(int sig)
{
	(void)sig;
	report_wanted = 1;
}

/* The child shares our memory until it exits: it only makes plain system
 * calls (prctl, nanosleep, _exit). */
static void *vfork_loop(void *arg)
{
	(void)arg;
	vfork_tid = (pid_t)syscall(SYS_gettid);
	for (;;) {
		pid_t child = vfork();
		if (child == 0) {
			struct timespec ts = { (time_t)child_seconds, 0 };
			/* Die with us: a test that kills us leaves no sleeper. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			nanosleep(&ts, NULL);
			_exit(0);
		}
		if (child > 0)
			waitpid(child, NULL, 0);
		else
			sleep(1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 1000000 };
	struct sigaction sa;
	sigset_t usr1;
	pthread_t th;
	void *blocks[NBLOCKS];
	uint64_t last, maxgap = 0;
	int i;

	if (argc > 1)
		child_seconds = (unsigned)strtoul(argv[1], NULL, 10);
	for (i = 0; i < NBLOCKS; i++) {
		blocks[i] = malloc(BLOCK_SIZE);
		memset(blocks[i], 'x', BLOCK_SIZE - 1);
		((char *)blocks[i])[BLOCK_SIZE - 1] = '\0';
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	/* Only the main thread takes SIGUSR1: the vfork thread is born with
	 * it blocked. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&th, NULL, vfork_loop, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	while (!vfork_tid)
		nanosleep(&tick, NULL);
	printf("info vfork_tid %d\n", (int)vfork_tid);
	/* Let the thread get into vfork() before saying ready. */
	nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	printf("ready\n");
	fflush(stdout);

	last = now_us();
	for (;;) {
		uint64_t t;
		nanosleep(&tick, NULL);
		t = now_us();
		if (t - last > maxgap)
			maxgap = t - last;
		last = t;
		if (report_wanted) {
			report_wanted = 0;
			printf("maxgap_us %llu\n", (unsigned long long)maxgap);
			fflush(stdout);
			maxgap = 0;
			last = now_us();
		}
	}
	(void)blocks;
	return 0;
}
