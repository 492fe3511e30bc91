/* SPDX-License-Identifier: MIT */
/*
 * t_memsrc - test driver for the memory sources.
 *
 *   t_memsrc live PID [CHECK...]     capture a live process once
 *   t_memsrc core FILE [CHECK...]    open a core file
 *   t_memsrc loop PID N              N live captures back to back (for the
 *                                    SIGKILL test: it is killed mid-way)
 * CHECK is ADDR:LEN:MUL:ADD: the LEN bytes at ADDR must be i * MUL + ADD.
 * T_MEMSRC_MAX_CAPTURE / T_MEMSRC_MAX_PAUSE_NS set the live options;
 * T_MEMSRC_MAPS=1 lists the mappings.
 *
 * Prints `pid N`, `nthreads N`, `regions N`, `capture_bytes N`, `pause_us N`,
 * `rss_bytes N`, `exe PATH`, one `check ADDR ok` per check; on error prints
 * `error NAME: MESSAGE` and exits 2; a failed check exits 1.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsrc.h"

static int check(const struct lm_memsrc *src, const char *spec)
{
	unsigned long long addr, len;
	unsigned mul, add;
	const uint8_t *p;
	unsigned long long i;
	uint64_t w;

	if (sscanf(spec, "%llx:%llu:%u:%u", &addr, &len, &mul, &add) != 4) {
		fprintf(stderr, "bad check '%s'\n", spec);
		return 1;
	}
	p = lm_mem_view(src, addr, len);
	if (!p) {
		printf("check %#llx not captured\n", addr);
		return 1;
	}
	for (i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i * mul + add)) {
			printf("check %#llx mismatch at +%llu: %#x\n", addr, i, p[i]);
			return 1;
		}
	/* The other readers must agree with the view. */
	if (len >= 16) {
		uint8_t buf[16];
		if (lm_mem_read(src, addr + 8, buf, 8) < 0 || memcmp(buf, p + 8, 8) ||
		    lm_mem_word(src, addr, &w) < 0 || memcmp(&w, p, 8)) {
			printf("check %#llx: lm_mem_read/lm_mem_word disagree\n", addr);
			return 1;
		}
	}
	if (lm_mem_view(src, addr + len - 1, 2) == p + len - 1 &&
	    !lm_mem_region(src, addr + len)) {
		printf("check %#llx: view past a region end\n", addr);
		return 1;
	}
	printf("check %#llx ok\n", addr);
	return 0;
}

static void print_src(const struct lm_memsrc *src)
{
	printf("pid %d\nnthreads %zu\nregions %zu\nmappings %zu\ncapture_bytes %" PRIu64
	       "\npause_us %" PRIu64 "\nrss_bytes %" PRIu64 "\nexe %s\n",
	       (int)src->pid, src->nthreads, src->nregions, src->maps.n, src->capture_bytes,
	       src->pause_ns / 1000, src->rss_bytes, src->exe ? src->exe : "-");
}

int main(int argc, char **argv)
{
	struct lm_memsrc *src = NULL;
	struct lm_err err = { 0 };
	struct lm_live_opts opts = { 0, 0 };
	int r, i, bad = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: t_memsrc live PID|core FILE|loop PID N [CHECK...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "loop")) {
		long n = argc > 3 ? atol(argv[3]) : 100;
		for (i = 0; i < n; i++) {
			r = lm_memsrc_open_live(atoi(argv[2]), NULL, &src, &err);
			if (r < 0) {
				printf("error %s: %s\n", lm_status_name(r), err.msg);
				return 2;
			}
			lm_memsrc_close(src);
		}
		printf("loops %ld\n", n);
		return 0;
	}
	if (getenv("T_MEMSRC_MAX_CAPTURE"))
		opts.max_capture_bytes = strtoull(getenv("T_MEMSRC_MAX_CAPTURE"), NULL, 0);
	if (getenv("T_MEMSRC_MAX_PAUSE_NS"))
		opts.max_pause_ns = strtoull(getenv("T_MEMSRC_MAX_PAUSE_NS"), NULL, 0);
	if (!strcmp(argv[1], "live"))
		r = lm_memsrc_open_live(atoi(argv[2]), &opts, &src, &err);
	else
		r = lm_memsrc_open_core(argv[2], &src, &err);
	if (r < 0) {
		printf("error %s: %s\n", lm_status_name(r), err.msg);
		return 2;
	}
	print_src(src);
	if (getenv("T_MEMSRC_MAPS"))
		for (i = 0; i < (int)src->maps.n; i++)
			printf("map %" PRIx64 "-%" PRIx64 " %c%c%c %s\n", src->maps.v[i].start,
			       src->maps.v[i].end, src->maps.v[i].prot & LM_PROT_R ? 'r' : '-',
			       src->maps.v[i].prot & LM_PROT_W ? 'w' : '-',
			       src->maps.v[i].prot & LM_PROT_X ? 'x' : '-',
			       src->maps.v[i].path ? src->maps.v[i].path : "");
	for (i = 3; i < argc; i++)
		bad |= check(src, argv[i]);
	lm_memsrc_close(src);
	return bad;
}
