/* SPDX-License-Identifier: MIT */
/*
 * alert_shapes.c - a test target whose memory has one shape over time, for
 * the leak alerts on real processes (tests/alert_shapes.test).
 *
 *   alert_shapes shm|step|leak|leak2
 *
 *  shm   the heap stays flat; a shared anonymous mapping is touched a page
 *        run at a time (RssShmem grows 1 MiB every 0.25 s, up to 256 MiB),
 *        as a database's backends touch its shared buffers: no leak.
 *  step  after STEP_AFTER seconds the heap grows once by 16 MiB (blocks
 *        kept reachable), then stays flat: no leak.
 *  leak  blocks of LEAK_SIZE bytes are allocated and dropped, 16 every
 *        0.25 s (about 256 KiB/s): a leak of type "size 2049-4096".
 *  leak2 the same, and as many blocks of LEAK2_SIZE bytes beside them: a
 *        leak of two types ("size 2049-4096" and "size 1000") from
 *        the same code path, as one incident.
 *
 * Prints "ready" at once, then runs until killed. Sizes are odd so that
 * nothing else in the process shares the leaking type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024UL * 1024)
#define SHM_MAX (256 * MiB)
#define STEP_AFTER 8
#define STEP_BYTES (16 * MiB)
#define LEAK_SIZE 4072
#define LEAK2_SIZE 1000
#define TICK_US 250000

static void *volatile kept;	/* the step's blocks stay reachable */

static void shm_tick(unsigned char *shm, size_t *touched)
{
	size_t i;

	if (*touched + MiB > SHM_MAX)
		return;
	for (i = 0; i < MiB; i += 4096)
		shm[*touched + i] = 1;
	*touched += MiB;
}

static void step_once(void)
{
	size_t n = STEP_BYTES / 8192, i;
	void **v = malloc(n * sizeof(*v));

	for (i = 0; v && i < n; i++) {
		v[i] = malloc(8000);
		if (v[i])
			memset(v[i], 0x5a, 8000);
	}
	kept = v;
}

__attribute__((noinline)) static void leak_tick(size_t size)
{
	int i;

	for (i = 0; i < 16; i++) {
		void *p = malloc(size);
		if (p)
			memset(p, 0x01, size);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned char *shm = NULL;
	size_t touched = 0;
	long ticks = 0;

	if (strcmp(mode, "shm") && strcmp(mode, "step") && strcmp(mode, "leak") &&
	    strcmp(mode, "leak2")) {
		fprintf(stderr, "usage: alert_shapes shm|step|leak|leak2\n");
		return 2;
	}
	if (!strcmp(mode, "shm")) {
		shm = mmap(NULL, SHM_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shm == MAP_FAILED) {
			perror("alert_shapes: mmap");
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (;; ticks++) {
		if (shm)
			shm_tick(shm, &touched);
		else if (!strncmp(mode, "leak", 4)) {
			leak_tick(LEAK_SIZE);
			if (mode[4] == '2')
				leak_tick(LEAK2_SIZE);
		}
		else if (ticks == STEP_AFTER * 1000000L / TICK_US)
			step_once();
		usleep(TICK_US);
	}
}
