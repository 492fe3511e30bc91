/* SPDX-License-Identifier: MIT */
/*
 * holder_target.c - a service that leaks into a table nobody prunes, for
 * the holder chains of leak alerts (tests/alert_holders.test).
 *
 * Every tick it adds records to g_record_table, a growing array whose
 * pointer is a global in .bss: every leaked record stays reachable from
 * that one named global, the way a forgotten cache holds a real leak.
 * Records start with a pointer to record_meta, so leakmon types them
 * "symbol record_meta". Scratch strings are allocated and freed around
 * them (a heap that moves, not only grows).
 *
 *   holder_target [--rate N]   records per second (default 300)
 *
 * It prints the type and the global that holds it, for the test to
 * compare with the alert's "holders":
 *   holder_target: pid 1234, type symbol record_meta, holder g_record_table
 * Stops on SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct record_meta {
	const char *name;
	size_t size;
};

struct record {
	const struct record_meta *meta;
	unsigned long id;
	char note[200];
};

/* Named, global: what the classifier names the records after. */
const struct record_meta record_meta = { "record", sizeof(struct record) };

/* The holder: a global pointer to the table of every record. */
struct record **g_record_table;
size_t g_record_count, g_record_cap;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void add_record(void)
{
	struct record *r;
	char *scratch = malloc(64);

	if (g_record_count == g_record_cap) {
		size_t cap = g_record_cap ? g_record_cap * 2 : 256;
		struct record **t = realloc(g_record_table, cap * sizeof(*t));
		if (!t)
			abort();
		g_record_table = t;
		g_record_cap = cap;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !scratch)
		abort();
	r->meta = &record_meta;
	r->id = g_record_count;
	snprintf(scratch, 64, "record %lu", r->id);
	memcpy(r->note, scratch, strlen(scratch) + 1);
	g_record_table[g_record_count++] = r;
	free(scratch);
}

int main(int argc, char **argv)
{
	unsigned long rate = 300;
	const int ticks_per_s = 10;

	if (argc == 3 && strcmp(argv[1], "--rate") == 0)
		rate = strtoul(argv[2], NULL, 10);
	else if (argc != 1) {
		fprintf(stderr, "usage: holder_target [--rate N]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("holder_target: pid %d, type symbol record_meta, holder g_record_table\n",
	       (int)getpid());
	fflush(stdout);
	while (!stop_requested) {
		struct timespec ts = { 0, 1000000000L / ticks_per_s };
		unsigned long i;
		for (i = 0; i < rate / ticks_per_s; i++)
			add_record();
		nanosleep(&ts, NULL);
	}
	return 0;
}
