/* SPDX-License-Identifier: MIT */
/*
 * fault_cost.c - what one page fault costs on this machine, for reading
 * bench/copy_bench.sh's throughput figure.
 *
 * A frozen-copy census forks the target: afterwards every page the target
 * writes takes one fault, a copy-on-write fault (a 4 KiB copy) while the
 * copy lives, a write-protect fault that reuses the page after it is gone.
 * What a census costs a write-heavy target is therefore about
 * (pages it writes) x (cost of one such fault), and the second factor is a
 * property of the machine (on a virtual machine every fault may exit to the
 * hypervisor), not of leakmon. This program measures it, with a plain write
 * to a resident page as the baseline:
 *
 *   fault_cost [MIB]     prints one line
 *     "fault_cost write_ns W fresh_ns F cow_ns C reuse_ns R pages N"
 *     W: write to a resident, writable page (no fault)
 *     F: first write to a fresh anonymous page (allocation + zeroing)
 *     C: write to a page shared with a live fork child (copy-on-write)
 *     R: write to a page whose fork child has exited (write-protect reuse)
 *   each the mean over N pages (MIB MiB, default 64).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Mean cost in ns of writing one byte to each of the n pages at p. */
static double touch(volatile char *p, size_t n)
{
	uint64_t t0 = now_ns();
	size_t i;

	for (i = 0; i < n; i++)
		p[i * PAGE]++;
	return (double)(now_ns() - t0) / (double)n;
}

static char *map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("fault_cost: mmap");
		exit(1);
	}
	/* Keep huge pages out: the census case is 4 KiB pages. */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64;
	size_t n = mib * 1024 * 1024 / PAGE;
	/* Two halves: one written while the child lives, one after it died. */
	char *p = map(2 * n * PAGE);
	double fresh, write, cow, reuse;
	pid_t child;

	fresh = touch(p, 2 * n);
	write = touch(p, 2 * n);
	child = fork();
	if (child < 0) {
		perror("fault_cost: fork");
		return 1;
	}
	if (child == 0) {
		pause();
		_exit(0);
	}
	cow = touch(p, n);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	reuse = touch(p + n * PAGE, n);
	printf("fault_cost write_ns %.0f fresh_ns %.0f cow_ns %.0f reuse_ns %.0f pages %zu\n",
	       write, fresh, cow, reuse, n);
	return 0;
}
