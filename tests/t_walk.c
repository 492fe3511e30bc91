/* SPDX-License-Identifier: MIT */
/*
 * t_walk.c - test driver for the glibc heap walker.
 *
 *   t_walk [-s] [-S] [-t] [-C] [-L] [-r N] PID|COREFILE
 *
 * Opens a memory source (a number is a live pid, anything else a core
 * file), walks the heap with free chunks included, and prints one
 * "key value..." line per figure: the detected version and addresses,
 * totals, and counts per chunk state. -s adds "size NAME COUNT BYTES" lines
 * for live chunks (in use and mmapped; not tcache structs) named like
 * lib/classify.h's size types ("size 72", "size 1025-2048"); -S prints one
 * line per chunk ("chunk ADDR SIZE STATE"). -C finds tcache structs by
 * content only (not through the threads' TLS); -L walks locked arenas
 * (allow_locked) instead of failing with "busy". -t times the walk (-r N: best
 * of N walks over the same capture) and prints chunks/s. Errors go to
 * stderr as "t_walk: STATUS-NAME: message" with exit status 1.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glibc_heap.h"
#include "memsrc.h"

struct sizecount {
	uint64_t usable, count, bytes;
};

struct tally {
	uint64_t state_count[16], state_bytes[16];
	struct sizecount *sizes;
	size_t nsizes, cap;
	int want_sizes, print_chunks;
};

static int add_size(struct tally *t, const struct lm_chunk *c)
{
	size_t i;

	for (i = 0; i < t->nsizes; i++)
		if (t->sizes[i].usable == c->usable)
			break;
	if (i == t->nsizes) {
		if (t->nsizes == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 64;
			struct sizecount *v = realloc(t->sizes, cap * sizeof(*v));
			if (!v)
				return -1;
			t->sizes = v;
			t->cap = cap;
		}
		t->sizes[t->nsizes++] = (struct sizecount){ c->usable, 0, 0 };
	}
	t->sizes[i].count++;
	t->sizes[i].bytes += c->size;
	return 0;
}

static int on_chunk(void *ctx, const struct lm_chunk *c)
{
	struct tally *t = ctx;

	t->state_count[c->state & 15]++;
	t->state_bytes[c->state & 15] += c->size;
	if (t->print_chunks)
		printf("chunk 0x%" PRIx64 " %" PRIu64 " %s\n", c->addr, c->size,
		       lm_chunk_state_name(c->state));
	if (t->want_sizes && (c->state == LM_CHUNK_INUSE || c->state == LM_CHUNK_MMAPPED))
		return add_size(t, c) ? -LM_ENOMEM : 0;
	return 0;
}

/* The size-type name, as lib/classify.h defines it. */
static void size_name(uint64_t usable, char *buf, size_t len)
{
	uint64_t hi = 2048;

	if (usable <= 1024) {
		snprintf(buf, len, "size %" PRIu64, usable);
		return;
	}
	while (hi < usable)
		hi *= 2;
	snprintf(buf, len, "size %" PRIu64 "-%" PRIu64, hi / 2 + 1, hi);
}

static void print_sizes(const struct tally *t)
{
	/* merge exact sizes into their named types */
	struct { char name[48]; uint64_t count, bytes; } *v = calloc(t->nsizes + 1, sizeof(*v));
	size_t n = 0, i, j;

	if (!v)
		return;
	for (i = 0; i < t->nsizes; i++) {
		char name[48];
		size_name(t->sizes[i].usable, name, sizeof(name));
		for (j = 0; j < n; j++)
			if (strcmp(v[j].name, name) == 0)
				break;
		if (j == n)
			snprintf(v[n++].name, sizeof(v[0].name), "%s", name);
		v[j].count += t->sizes[i].count;
		v[j].bytes += t->sizes[i].bytes;
	}
	for (j = 0; j < n; j++)
		printf("size %s %" PRIu64 " %" PRIu64 "\n", v[j].name, v[j].count, v[j].bytes);
	free(v);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void print_info(const struct lm_heap_info *h)
{
	size_t i;

	printf("glibc %s\n", h->glibc_version);
	printf("verified %d\n", h->layout_verified);
	printf("layout %s checked %d\n", h->layout_version, h->layout_checked);
	printf("layout_dwarf %d\n", h->layout_from_dwarf);
	printf("libc_base 0x%" PRIx64 "\n", h->libc_base);
	printf("main_arena 0x%" PRIx64 "\n", h->main_arena);
	printf("mp 0x%" PRIx64 "\n", h->mp);
	printf("sbrk_base 0x%" PRIx64 "\n", h->sbrk_base);
	printf("arenas %zu\n", h->narenas);
	for (i = 0; i < h->narenas && i < sizeof(h->arenas) / sizeof(h->arenas[0]); i++)
		printf("arena %zu 0x%" PRIx64 " heaps %u system_mem %" PRIu64 " top %" PRIu64 "\n",
		       i, h->arenas[i].addr, h->arenas[i].nheaps, h->arenas[i].system_mem,
		       h->arenas[i].top_size);
	printf("inuse %" PRIu64 " %" PRIu64 "\n", h->inuse_count, h->inuse_bytes);
	printf("free %" PRIu64 " %" PRIu64 "\n", h->free_count, h->free_bytes);
	printf("mmapped %" PRIu64 " %" PRIu64 "\n", h->mmapped_count, h->mmapped_bytes);
	printf("tcache %" PRIu64 " %" PRIu64 "\n", h->tcache_count, h->tcache_bytes);
	printf("fast %" PRIu64 " %" PRIu64 "\n", h->fast_count, h->fast_bytes);
	printf("top %" PRIu64 "\n", h->top_bytes);
	printf("tcache_structs %" PRIu64 "\n", h->tcache_structs);
	printf("tcache_source %s\n", h->tcache_from_tls ? "tls" : "content");
	printf("fencepost %" PRIu64 " %" PRIu64 "\n", h->fencepost_count, h->fencepost_bytes);
	printf("arena_header_bytes %" PRIu64 "\n", h->arena_header_bytes);
	printf("system_mem %" PRIu64 "\n", h->system_mem);
	printf("mp_n_mmaps %" PRIu64 "\n", h->mp_n_mmaps);
	printf("mp_mmapped_mem %" PRIu64 "\n", h->mp_mmapped_mem);
	printf("chunks %" PRIu64 "\n", h->chunks_walked);
	printf("partial %d\n", h->partial);
	if (h->warning[0])
		printf("warning %s\n", h->warning);
}

static int usage(void)
{
	fprintf(stderr, "usage: t_walk [-s] [-S] [-t] [-C] [-L] [-D] [-r N] PID|COREFILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct lm_walk_opts opts = { .include_free = 1 };
	struct lm_heap_info *info = calloc(1, sizeof(*info));
	struct tally tally = { 0 };
	struct lm_memsrc *src = NULL;
	struct lm_err err = { 0 };
	int opt, timing = 0, repeat = 1, rc, i, with_syms = 0;
	struct lm_symtab *syms = NULL;
	uint64_t best = UINT64_MAX, best_cpu = UINT64_MAX;
	char *end;
	long pid;

	while ((opt = getopt(argc, argv, "sStCLDr:")) != -1) {
		switch (opt) {
		case 's': tally.want_sizes = 1; break;
		case 'S': tally.print_chunks = 1; break;
		case 't': timing = 1; break;
		case 'C': opts.tcache_by_content = 1; break;
		case 'L': opts.allow_locked = 1; break;
		case 'D': with_syms = 1; break;	/* symbols: libc's DWARF layout too */
		case 'r': repeat = atoi(optarg); break;
		default: return usage();
		}
	}
	if (optind + 1 != argc || !info || repeat < 1)
		return usage();
	pid = strtol(argv[optind], &end, 10);
	if (*end == '\0' && pid > 0)
		rc = lm_memsrc_open_live((pid_t)pid, NULL, &src, &err);
	else
		rc = lm_memsrc_open_core(argv[optind], &src, &err);
	if (rc) {
		fprintf(stderr, "t_walk: %s: %s\n", lm_status_name(-rc), err.msg);
		free(info);
		return 1;
	}
	if (with_syms && lm_symtab_load(src, NULL, &syms, &err) < 0) {
		fprintf(stderr, "t_walk: symbols: %s\n", err.msg);
		syms = NULL;
	}
	for (i = 0; i < repeat; i++) {
		uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), dt;
		memset(&tally.state_count, 0, sizeof(tally.state_count));
		memset(&tally.state_bytes, 0, sizeof(tally.state_bytes));
		tally.nsizes = 0;
		rc = lm_glibc_walk(src, syms, &opts, info, on_chunk, &tally, &err);
		dt = clock_ns(CLOCK_MONOTONIC) - t0;
		if (dt < best)
			best = dt;
		dt = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		if (dt < best_cpu)
			best_cpu = dt;
		if (rc)
			break;
	}
	if (rc) {
		fprintf(stderr, "t_walk: %s: %s\n", lm_status_name(-rc), err.msg);
		lm_symtab_free(syms);
		lm_memsrc_close(src);
		free(tally.sizes);
		free(info);
		return 1;
	}
	print_info(info);
	for (i = 0; i <= LM_CHUNK_FENCEPOST; i++)
		printf("state %s %" PRIu64 " %" PRIu64 "\n", lm_chunk_state_name(i),
		       tally.state_count[i], tally.state_bytes[i]);
	if (tally.want_sizes)
		print_sizes(&tally);
	if (timing)
		printf("walk_ns %" PRIu64 " cpu_ns %" PRIu64 " chunks_per_s %.0f "
		       "chunks_per_cpu_s %.0f capture_bytes %" PRIu64 " pause_ns %" PRIu64 "\n",
		       best, best_cpu,
		       best ? (double)info->chunks_walked * 1e9 / (double)best : 0.0,
		       best_cpu ? (double)info->chunks_walked * 1e9 / (double)best_cpu : 0.0,
		       src->capture_bytes, src->pause_ns);
	lm_symtab_free(syms);
	lm_memsrc_close(src);
	free(tally.sizes);
	free(info);
	return 0;
}
