/* SPDX-License-Identifier: MIT */
/*
 * memtarget - a target for the memory-source tests: known bytes in a global
 * buffer and in a malloc'd buffer, 4 extra threads, and visible progress.
 *
 *   memtarget [PROGRESS_FILE]
 *
 * Prints `info global_addr 0x...`, `info global_len N`, `info heap_addr`,
 * `info heap_len`, `info big_addr`, `info big_len` (an mmapped chunk),
 * `info sparse_addr` (with MEMTARGET_SPARSE=1: the one touched page of a
 * 4 GiB anonymous mapping), the
 * byte patterns (byte i = i * MUL + ADD, mod 256), then `ready`. Afterwards
 * every thread counts, and the first one rewrites PROGRESS_FILE every 5 ms
 * with "TICKS SIGNALS SELF_SENT SELF_LOST SELF_DUP" (SIGNALS counts SIGRTMIN
 * deliveries: queued signals are never merged, so a signal lost by a tracer
 * shows up as a shortfall).
 *
 * With MEMTARGET_SELFSIG=1 a sixth thread sends itself SIGRTMIN+1 with
 * tgkill() as fast as it can (SELF_SENT counts them). A signal a thread
 * sends itself is delivered before tgkill() returns to user space, through
 * a signal-delivery-stop when the thread is traced; so when tgkill()
 * returns and the handler has not run, the signal was lost (SELF_LOST
 * counts those; SELF_DUP counts extra runs of the handler). The thread
 * spends most of its time in signal delivery, so a tracer that seizes it
 * often catches it in a signal-delivery-stop.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GLOBAL_LEN (256 * 1024)
#define HEAP_LEN 100000
#define BIG_LEN (3 * 1024 * 1024)
#define SPARSE_LEN (4ull << 30)

static unsigned char global_buf[GLOBAL_LEN];
static volatile unsigned long ticks[5];
static volatile sig_atomic_t signals_seen;
static volatile unsigned long self_sent, self_seen, self_lost, self_dup;
static const char *progress_path;

static void fill(unsigned char *p, size_t n, unsigned mul, unsigned add)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * mul + add);
}

/* Any of the five threads may run this, two at once: count atomically, or
 * a lost increment would look like a lost signal. */
static void on_rt(int sig)
{
	(void)sig;
	__atomic_fetch_add(&signals_seen, 1, __ATOMIC_RELAXED);
}

/* SIGRTMIN+1: only the self-signalling thread receives it (tgkill). */
static void on_self(int sig)
{
	(void)sig;
	self_seen++;
}

static void nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void write_progress(void)
{
	char buf[64], tmp[4096];
	int fd, n;

	if (!progress_path)
		return;
	/* Write a new file and rename it over the old one, so that readers
	 * never see it empty. */
	n = snprintf(buf, sizeof(buf), "%lu %d %lu %lu %lu\n", ticks[1], (int)signals_seen,
		     self_sent, self_lost, self_dup);
	snprintf(tmp, sizeof(tmp), "%s.tmp", progress_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) < 0)
			perror("write");
		close(fd);
		rename(tmp, progress_path);
	}
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (;;) {
		ticks[id]++;
		if (id == 1)
			write_progress();
		nap_ms(id == 1 ? 5 : 2);
	}
	return NULL;
}

/* Send ourselves SIGRTMIN+1 in a loop; the handler runs before tgkill()
 * returns, unless a tracer discarded the signal. */
static void *self_signaller(void *arg)
{
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);

	(void)arg;
	for (;;) {
		unsigned long before = self_seen;
		if (syscall(SYS_tgkill, pid, tid, SIGRTMIN + 1) != 0) {
			nap_ms(1);	/* not sent (EAGAIN): not counted */
			continue;
		}
		self_sent++;
		if (self_seen == before)
			self_lost++;
		else if (self_seen - before > 1)
			self_dup += self_seen - before - 1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t t[5];
	unsigned char *heap, *big, *sparse = NULL;
	int i, nthreads = 5;

	progress_path = argc > 1 ? argv[1] : NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_rt;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = on_self;
	sigaction(SIGRTMIN + 1, &sa, NULL);

	fill(global_buf, GLOBAL_LEN, 31, 7);
	heap = malloc(HEAP_LEN);
	big = malloc(BIG_LEN);
	if (!heap || !big)
		return 1;
	fill(heap, HEAP_LEN, 17, 3);
	/* With MEMTARGET_SPARSE=1: 4 GiB of address space, one page of it
	 * touched; captures must copy that page and not fault the rest in.
	 * (Off by default: gdb's gcore would write all 4 GiB.) */
	if (getenv("MEMTARGET_SPARSE")) {
		sparse = mmap(NULL, SPARSE_LEN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (sparse == MAP_FAILED)
			return 1;
		fill(sparse + SPARSE_LEN / 2, 4096, 3, 9);
	}
	fill(big, BIG_LEN, 13, 101);
	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i + 1)) != 0)
			return 1;
	if (getenv("MEMTARGET_SELFSIG")) {
		if (pthread_create(&t[4], NULL, self_signaller, NULL) != 0)
			return 1;
		nthreads++;
	}
	printf("info global_addr %p\ninfo global_len %d\ninfo global_pattern 31 7\n",
	       (void *)global_buf, GLOBAL_LEN);
	printf("info heap_addr %p\ninfo heap_len %d\ninfo heap_pattern 17 3\n",
	       (void *)heap, HEAP_LEN);
	printf("info big_addr %p\ninfo big_len %d\ninfo big_pattern 13 101\n",
	       (void *)big, BIG_LEN);
	if (sparse)
		printf("info sparse_addr %p\ninfo sparse_len 4096\ninfo sparse_pattern 3 9\n",
		       (void *)(sparse + SPARSE_LEN / 2));
	printf("info threads %d\nready\n", nthreads);
	fflush(stdout);
	for (;;)
		pause();
}
