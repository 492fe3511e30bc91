/* SPDX-License-Identifier: MIT */
/*
 * copy_seccomp - a target whose seccomp filter forbids clone(2).
 *
 *   copy_seccomp errno|kill|allow|none
 *
 * Installs a raw BPF filter (no libseccomp needed): clone (56) fails with
 * EPERM ("errno") or kills the whole process ("kill"); everything else,
 * clone3 included (pthread_create uses it), is allowed. Then starts a
 * thread, allocates, prints "ready" and every 50 ms "alive N". A frozen
 * copy must be refused without ever running clone here: with "kill", a
 * single injected clone would end the process. "none" installs no filter
 * (a plain small target). "allow" installs the same filter with clone
 * allowed: filtered, yet a copy may be made once its filter is read.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int kill_it = argc > 1 && strcmp(argv[1], "kill") == 0;
	int allow = argc > 1 && strcmp(argv[1], "allow") == 0;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, allow ? SECCOMP_RET_ALLOW : kill_it ? SECCOMP_RET_KILL_PROCESS
						  : SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	pthread_t t;
	void **keep;
	long i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	int none = argc > 1 && strcmp(argv[1], "none") == 0;

	if (!none && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)) {
		perror("seccomp");
		return 1;
	}
	if (pthread_create(&t, NULL, idle, NULL) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	keep = malloc(500 * sizeof(*keep));
	for (i = 0; i < 500; i++)
		keep[i] = malloc(24 + (size_t)i % 100);
	printf("info filter %s\n", none ? "none" : allow ? "allow" : kill_it ? "kill" : "errno");
	printf("ready\n");
	for (i = 0;; i++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
		printf("alive %ld\n", i);
	}
	return 0;
}
