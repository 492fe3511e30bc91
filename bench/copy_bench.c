/* SPDX-License-Identifier: MIT */
/*
 * copy_bench.c - the malloc-heavy target of bench/copy_bench.sh: a heap
 * pre-filled to MIB MiB, then one thread that allocates and frees without
 * pause (sizes 16..1024, a working set of 64 Ki blocks, each block written).
 *
 *   copy_bench [MIB]      prints "ready", then every second
 *                         "rate OPS CPU_OPS": malloc+free pairs in that
 *                         second, and per second of its own CPU time
 *
 * Its rate with and without censuses running gives the throughput the
 * censuses cost it; CPU_OPS leaves out what a busy machine's scheduler
 * takes (it counts only what the target itself pays: pauses aside,
 * copy-on-write faults and the like).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKING 65536

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 256, i;
	static void *work[WORKING];
	uint64_t x = 88172645463325252ull, ops = 0, t0, c0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < mib * 8; i++) {		/* 128 KiB pieces in 96-byte chunks */
		long j;
		for (j = 0; j < 128 * 1024 / 96; j++) {
			char *p = malloc(80);
			if (!p)
				return 1;
			memset(p, (int)j, 80);
		}
	}
	printf("ready\n");
	t0 = now_ns();
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (;;) {
		size_t k, n;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (size_t)(x % WORKING);
		n = 16 + (size_t)((x >> 20) % 1009);
		free(work[k]);
		work[k] = malloc(n);
		if (work[k])
			memset(work[k], (int)k, n < 64 ? n : 64);
		if (++ops % 4096 == 0) {
			uint64_t t = now_ns();
			if (t - t0 >= 1000000000ull) {
				uint64_t c = clock_ns(CLOCK_THREAD_CPUTIME_ID);
				printf("rate %llu %llu\n",
				       (unsigned long long)(ops * 1000000000ull / (t - t0)),
				       (unsigned long long)(c > c0 ? ops * 1000000000ull / (c - c0) : 0));
				ops = 0;
				t0 = t;
				c0 = c;
			}
		}
	}
}
