/* SPDX-License-Identifier: MIT */
/*
 * thread_why.c - why a thread of a process does not stop when asked.
 *
 * Sources, all read with one bounded read() each:
 *  - stat: the state letter after the last ')' (the name before it is the
 *    target's to choose, parentheses included).
 *  - syscall: "NR ARG1 ... SP PC" while the thread sleeps in a system call,
 *    "running" or "-1 SP PC" otherwise. A vfork() parent sleeps in vfork
 *    (x86-64), or in clone with CLONE_VFORK in its first argument (every
 *    architecture, posix_spawn).
 *  - wchan: the kernel function the thread sleeps in ("0" when none). A
 *    vfork() parent shows kernel_clone (wait_for_vfork_done inlined) or
 *    wait_for_vfork_done itself, depending on the kernel build.
 *  - children: the vfork child's pid, worth naming (where CONFIG_PROC_CHILDREN
 *    is set).
 * wchan and syscall need ptrace access to the target, which the caller has.
 */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "thread_why.h"

/* Read /proc/PID/task/TID/NAME into buf (NUL-terminated); length or -1. */
static ssize_t read_task_file(pid_t pid, pid_t tid, const char *name, char *buf, size_t len)
{
	char path[96];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return r;
}

static char state_letter(pid_t pid, pid_t tid)
{
	char buf[512], *p;

	if (read_task_file(pid, tid, "stat", buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The wait channel as a plain identifier, or "" when there is none. */
static void wchan_name(pid_t pid, pid_t tid, char *out, size_t len)
{
	char buf[128];
	size_t i, n = 0;

	out[0] = '\0';
	if (read_task_file(pid, tid, "wchan", buf, sizeof(buf)) <= 0 || !strcmp(buf, "0"))
		return;
	for (i = 0; buf[i] && n + 1 < len; i++) {
		char c = buf[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.'))
			break;
		out[n++] = c;
	}
	out[n] = '\0';
}

static int sleeps_in_vfork(pid_t pid, pid_t tid, const char *wchan)
{
	char buf[256];
	long nr;
	unsigned long long arg1 = 0;

	if (strstr(wchan, "vfork"))
		return 1;
	if (read_task_file(pid, tid, "syscall", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%ld %llx", &nr, &arg1) < 1)
		return 0;
#ifdef SYS_vfork
	if (nr == SYS_vfork)
		return 1;
#endif
	return nr == SYS_clone && (arg1 & CLONE_VFORK);
}

/* The first child of the thread, or 0. */
static pid_t first_child(pid_t pid, pid_t tid)
{
	char buf[64];
	long v;

	if (read_task_file(pid, tid, "children", buf, sizeof(buf)) <= 0)
		return 0;
	v = strtol(buf, NULL, 10);
	return v > 0 ? (pid_t)v : 0;
}

static const char *state_name(char s)
{
	switch (s) {
	case 'R': return "running (R)";
	case 'S': return "sleeping (S)";
	case 'D': return "in disk sleep (D)";
	case 'T': return "stopped (T)";
	case 't': return "in a ptrace stop (t)";
	case 'Z': case 'X': return "exiting";
	case 'I': return "idle (I)";
	default: return NULL;
	}
}

void lm_thread_why(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char wchan[64], s = state_letter(pid, tid);
	const char *name = state_name(s);

	if (!len)
		return;
	wchan_name(pid, tid, wchan, sizeof(wchan));
	if (s && s != 'R' && sleeps_in_vfork(pid, tid, wchan)) {
		pid_t child = first_child(pid, tid);
		if (child)
			snprintf(buf, len, "in vfork (its child %d has not exec'd or exited)",
				 (int)child);
		else
			snprintf(buf, len, "in vfork (its child has not exec'd or exited)");
	} else if (!name) {
		snprintf(buf, len, "in an unknown state");
	} else if (wchan[0] && s != 'R' && s != 'Z' && s != 'X') {
		snprintf(buf, len, "%s in %s", name, wchan);
	} else {
		snprintf(buf, len, "%s", name);
	}
}
