/* SPDX-License-Identifier: MIT */
/*
 * leakmon-filters.c - reads the seccomp filters of one process's threads
 * for leakmond, and does nothing else.
 *
 * Started by systemd for one connection on /run/leakmon-filters.sock
 * (leakmon-filters.socket, Accept=yes; the socket is on stdin and stdout).
 * The kernel shows a thread's filters (PTRACE_SECCOMP_GET_FILTER) only to a
 * tracer that holds CAP_SYS_ADMIN and runs without a filter of its own;
 * leakmond has neither, on purpose. This helper has both, so it stays tiny:
 * it answers only the user it runs as (leakmond's) or root, reads one pid
 * per connection, and never writes to the target.
 *
 * Each thread is held only while its filters are read: PTRACE_SEIZE and
 * PTRACE_INTERRUPT, the filters, PTRACE_DETACH (tens of microseconds). A
 * thread that does not stop within STOP_WAIT_MS (a vfork, D state) ends the
 * request: the helper exits, and its exit detaches the thread, which runs on
 * (the seize never stops a thread that did not reach the stop).
 * The answer's format is in lib/seccomp_wire.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "seccomp_wire.h"

#define STOP_WAIT_MS 100

static struct sock_filter prog[LM_SF_INSNS_MAX];

/* All of buf to the connection; -LM_EIO when the reader has gone. */
static int write_all(const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -LM_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Answer errno e to the reader; main's exit status. */
static int fail(int e)
{
	struct lm_sf_head h = { LM_SF_MAGIC, e, 0, 0 };

	write_all(&h, sizeof(h));
	return 1;
}

/* A field of /proc/TID/status ("Seccomp"), or -1. */
static long status_field(pid_t pid, pid_t tid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Field 22 of /proc/PID/task/TID/stat (after the last ')': the name may
 * hold anything), or 0. */
static unsigned long long start_ticks(pid_t pid, pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	size_t n;
	int field;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

/* Hold tid until it reaches its interrupt stop; -LM_EPERM when it cannot be
 * seized, -LM_EIO when waiting for it fails (one that does not stop in
 * time ends the helper). */
static int hold(pid_t tid)
{
	/* Poll every 50 us: the stop comes within microseconds, and each
	 * poll period is time the thread may spend held. */
	struct timespec tick = { 0, 50000 };
	int i, status;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0 ||
	    ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		fprintf(stderr, "leakmon-filters: cannot hold thread %d: %m\n", (int)tid);
		return -LM_EPERM;
	}
	for (i = 0; i < STOP_WAIT_MS * 20; i++) {
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == tid && WIFSTOPPED(status))
			return 0;
		if (r < 0 && errno != EINTR)
			return -LM_EIO;
		nanosleep(&tick, NULL);
	}
	/* The header is sent: the reader sees a short answer. Our exit lets
	 * the thread go. */
	fprintf(stderr, "leakmon-filters: thread %d did not stop within %d ms\n", (int)tid,
		STOP_WAIT_MS);
	exit(1);
}

/* Read and send the filters of one held thread: -LM_ELIMIT for more
 * filters than the answer holds, -LM_EIO when one cannot be read or sent. */
static int send_thread(pid_t pid, pid_t tid)
{
	struct lm_sf_thread t = { tid, 0, 0 };
	long counts[LM_SF_FILTERS_MAX];
	unsigned long idx;

	t.start_ticks = start_ticks(pid, tid);
	for (idx = 0; idx < LM_SF_FILTERS_MAX; idx++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
		if (n < 0 && errno == ENOENT)
			break;
		if (n <= 0 || n > LM_SF_INSNS_MAX) {
			fprintf(stderr, "leakmon-filters: cannot read filter %lu of thread %d: %s\n",
				idx, (int)tid, n < 0 ? strerror(errno) : "bad length");
			return -LM_EIO;
		}
		counts[idx] = n;
	}
	if (idx == LM_SF_FILTERS_MAX)
		return -LM_ELIMIT;
	t.nfilters = (uint32_t)idx;
	if (write_all(&t, sizeof(t)) < 0)
		return -LM_EIO;
	for (idx = 0; idx < t.nfilters; idx++) {
		uint32_t n = (uint32_t)counts[idx];
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, prog) != counts[idx] ||
		    write_all(&n, sizeof(n)) < 0 || write_all(prog, n * sizeof(prog[0])) < 0)
			return -LM_EIO;
	}
	return 0;
}

static int peer_allowed(void)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	return cr.uid == 0 || cr.uid == getuid();
}

int main(int argc, char **argv)
{
	pid_t tids[LM_SF_THREADS_MAX];
	struct lm_sf_head h = { LM_SF_MAGIC, 0, 0, 0 };
	char path[64];
	int32_t pid;
	size_t i, n = 0;
	struct dirent *e;
	DIR *d;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "leakmon-filters: started by leakmon-filters.socket, "
			"with the connection on stdin and stdout; takes no arguments\n");
		return 2;
	}
	if (!peer_allowed())
		return fail(EPERM);
	if (read(STDIN_FILENO, &pid, sizeof(pid)) != (ssize_t)sizeof(pid) || pid <= 0)
		return fail(EINVAL);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return fail(errno);
	while ((e = readdir(d)) && n < LM_SF_THREADS_MAX) {
		long tid = strtol(e->d_name, NULL, 10);
		if (tid > 0 && status_field(pid, (pid_t)tid, "Seccomp") != 1)
			tids[n++] = (pid_t)tid;
	}
	closedir(d);
	h.nthreads = (uint32_t)n;
	if (write_all(&h, sizeof(h)) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (status_field(pid, tids[i], "Seccomp") == 0) {
			struct lm_sf_thread t = { tids[i], 0, start_ticks(pid, tids[i]) };
			if (write_all(&t, sizeof(t)) < 0)
				return 1;
			continue;
		}
		if (hold(tids[i]) < 0)
			return 1;	/* the reader sees a short answer */
		if (send_thread(pid, tids[i]) < 0)
			return 1;	/* exiting detaches the thread */
		ptrace(PTRACE_DETACH, tids[i], NULL, NULL);
	}
	return 0;
}
