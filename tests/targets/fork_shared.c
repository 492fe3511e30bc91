/* SPDX-License-Identifier: MIT */
/*
 * fork_shared.c - a test target whose heap is shared copy-on-write with a
 * child it forked (as a pre-forking server's, or Redis's during BGSAVE).
 *
 * Allocates NBLK x malloc(1000) filled with 0xa5 (64 MiB or so), forks a
 * child that only sleeps (and dies with its parent: PR_SET_PDEATHSIG),
 * prints `expect size size 1000 COUNT BYTES`, `info child PID`, "ready",
 * and waits. Output goes through write(2), never stdio (whose buffer would
 * be one more heap chunk).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define NBLK 64000
#define BLK 1000

static void *blk[NBLK];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) != n)
		exit(3);
}

int main(void)
{
	pid_t child;
	int i;

	for (i = 0; i < NBLK; i++) {
		blk[i] = malloc(BLK);
		if (!blk[i])
			return 4;
		memset(blk[i], 0xa5, BLK);
	}
	child = fork();
	if (child < 0)
		return 5;
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	say("expect size size %d %d %d\n", BLK, NBLK, NBLK * ((BLK + 8 + 15) & ~15));
	say("info child %d\n", (int)child);
	say("ready\n");
	for (;;)
		pause();
}
