/* SPDX-License-Identifier: MIT */
/*
 * engine_threads - a target whose threads come and go, for the attach tests.
 *
 *   engine_threads churn PROGRESS_FILE      threads are born and exit all the
 *                                           time (2 to 9 alive at once)
 *   engine_threads zombie-leader PROGRESS   the main thread exits (pthread_exit)
 *                                           and 2 threads run on
 *
 * Prints `info global_addr 0x...`, `info global_len`, `info global_pattern`
 * (a global buffer of known bytes), then `ready`; rewrites PROGRESS_FILE
 * every 5 ms with its tick count.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GLOBAL_LEN 65536

static unsigned char global_buf[GLOBAL_LEN];
static const char *progress_path;
static volatile unsigned long ticks;

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void write_progress(void)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", progress_path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%lu 0\n", ticks);
	fclose(f);
	rename(tmp, progress_path);
}

static void *ticker(void *arg)
{
	(void)arg;
	for (;;) {
		ticks++;
		write_progress();
		nap_us(5000);
	}
	return NULL;
}

static void *short_lived(void *arg)
{
	/* Live 0-2 ms, sometimes spawn a grandchild thread on the way out. */
	nap_us(rand() % 2000);
	if (arg) {
		pthread_t t;
		if (pthread_create(&t, NULL, short_lived, NULL) == 0)
			pthread_detach(t);
	}
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	for (;;)
		nap_us(1000);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	size_t i;

	if (argc < 3) {
		fprintf(stderr, "usage: engine_threads churn|zombie-leader PROGRESS_FILE\n");
		return 2;
	}
	progress_path = argv[2];
	for (i = 0; i < GLOBAL_LEN; i++)
		global_buf[i] = (unsigned char)(i * 5 + 1);
	if (pthread_create(&t, NULL, ticker, NULL) != 0)
		return 1;
	printf("info global_addr %p\ninfo global_len %d\ninfo global_pattern 5 1\nready\n",
	       (void *)global_buf, GLOBAL_LEN);
	fflush(stdout);
	if (strcmp(argv[1], "zombie-leader") == 0) {
		if (pthread_create(&t, NULL, spinner, NULL) != 0)
			return 1;
		pthread_exit(NULL);
	}
	for (;;) {
		if (pthread_create(&t, NULL, short_lived, (void *)(rand() % 2 ? &t : NULL)) == 0)
			pthread_detach(t);
		nap_us(300);
	}
}
