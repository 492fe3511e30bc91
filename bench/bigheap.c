/* SPDX-License-Identifier: MIT */
/*
 * bigheap.c - the benchmark target: a heap pre-filled to about SIZE bytes
 * (default 1 GiB) in about COUNT chunks (default 10 million), plus a stall
 * meter: a thread that wakes every 100 us and records the longest gap it
 * saw between two wake-ups. That gap is the target's longest stall as the
 * target itself experiences it (ptrace stop, gcore, page-table copy...).
 *
 *   bigheap [COUNT]       prints "ready", then on every SIGUSR1 prints
 *                         "stall MAX_US" for the window since the previous
 *                         SIGUSR1 and starts a new window.
 *
 * Chunk sizes cycle through a small mix (24..200 bytes); a third of the
 * blocks start with a pointer to a named static object, as typed objects do.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct record_type { const char *name; };
const struct record_type bench_record_type = { "bench_record" };

static volatile sig_atomic_t report_requested;
static volatile uint64_t max_gap_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_usr1(int sig)
{
	(void)sig;
	report_requested = 1;
}

static void *stall_meter(void *arg)
{
	struct timespec tick = { 0, 100000 };
	uint64_t last = now_ns();

	(void)arg;
	for (;;) {
		uint64_t t;
		nanosleep(&tick, NULL);
		t = now_ns();
		if (t - last > max_gap_ns)
			max_gap_ns = t - last;
		last = t;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 24, 40, 56, 88, 120, 200, 72, 152 };
	size_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	void **blocks = malloc(count * sizeof(*blocks));
	uint64_t total = 0;
	pthread_t meter;
	size_t i;

	if (!blocks) {
		perror("bigheap: malloc");
		return 1;
	}
	for (i = 0; i < count; i++) {
		size_t n = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		blocks[i] = malloc(n);
		if (!blocks[i]) {
			perror("bigheap: malloc");
			return 1;
		}
		memset(blocks[i], 'a' + (int)(i % 26), n);
		if (i % 3 == 0)
			*(const struct record_type **)blocks[i] = &bench_record_type;
		total += n;
	}
	signal(SIGUSR1, on_usr1);
	if (pthread_create(&meter, NULL, stall_meter, NULL) != 0)
		return 1;
	printf("info chunks %zu\ninfo requested_bytes %llu\nready\n", count,
	       (unsigned long long)total);
	fflush(stdout);
	for (;;) {
		pause();
		if (report_requested) {
			report_requested = 0;
			printf("stall %llu\n", (unsigned long long)(max_gap_ns / 1000));
			fflush(stdout);
			max_gap_ns = 0;
		}
	}
}
