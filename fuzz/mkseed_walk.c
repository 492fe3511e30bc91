/* SPDX-License-Identifier: MIT */
/*
 * mkseed_walk.c - write a seed for fuzz_walk (its input format is described
 * in fuzz_walk.c) from a real heap: a live pid or a core file.
 *
 *   mkseed_walk PID|CORE OUTFILE
 *
 * Keeps the mappings the walker and the reference graph read (libc's
 * writable data and the anonymous mapping after it, [heap], other
 * anonymous rw mappings, the other modules' writable data, renamed to one
 * program file, the stacks from a page below each thread's stack pointer),
 * at most 24, and stores their non-zero 8-byte words as patches. The chunk
 * `roots` is asked about is the fourth live one.
 * The libc mapping is renamed to a file that does not exist, named after
 * the detected version, so the harness never opens a file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glibc_heap.h"
#include "memsrc.h"

#define MAX_MAPS 24

static const char *const versions[] = {
	"2.36", "2.28", "2.29", "2.30", "2.31", "2.32", "2.33", "2.34", "2.35",
	"2.37", "2.38", "2.39", "2.40", "2.41",
};

static void put(FILE *f, const void *p, size_t n)
{
	fwrite(p, 1, n, f);
}

/* The harness's name code of a mapping, or -1 to leave it out. */
static int name_code(const struct lm_mapping *m)
{
	if (!lm_memsrc_wants_mapping(m))
		return -1;
	if (!m->path)
		return 0;
	if (strcmp(m->path, "[heap]") == 0)
		return 1;
	if (strcmp(m->path, "[stack]") == 0)
		return 3;
	if (strstr(m->path, "/libc.so.6") || strstr(m->path, "/libc-2."))
		return 2;
	return m->path[0] == '/' ? 4 : -1;	/* other modules' data: roots */
}

int main(int argc, char **argv)
{
	struct lm_heap_info *info = calloc(1, sizeof(*info));
	struct lm_memsrc *src = NULL;
	struct lm_err err = { 0 };
	const struct lm_mapping *keep[MAX_MAPS];
	uint64_t kstart[MAX_MAPS];
	int kcode[MAX_MAPS];
	size_t nkeep = 0, i, t;
	unsigned char hdr[5] = { 0, 0, 0, 0, 3 };
	char *end;
	long pid;
	FILE *out;

	if (argc != 3 || !info) {
		fprintf(stderr, "usage: mkseed_walk PID|CORE OUTFILE\n");
		return 2;
	}
	pid = strtol(argv[1], &end, 10);
	if ((*end == '\0' && pid > 0 ? lm_memsrc_open_live((pid_t)pid, NULL, &src, &err)
				      : lm_memsrc_open_core(argv[1], &src, &err)) < 0 ||
	    lm_glibc_detect(src, NULL, info, &err) < 0) {
		fprintf(stderr, "mkseed_walk: %s: %s\n", argv[1], err.msg);
		return 1;
	}
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(versions[i], info->glibc_version) == 0)
			hdr[0] = (unsigned char)i;
	for (i = 0; i < src->maps.n && nkeep < MAX_MAPS; i++) {
		const struct lm_mapping *m = &src->maps.v[i];
		int code = name_code(m);
		uint64_t start = m->start;
		if (code < 0)
			continue;
		if (code == 3)	/* a stack: from a page below the lowest sp in it */
			for (t = 0; t < src->nthreads; t++) {
				uint64_t sp = src->threads[t].regs.rsp;
				if (sp >= m->start && sp < m->end && (sp & ~4095ULL) - 4096 > start)
					start = (sp & ~4095ULL) - 4096;
			}
		keep[nkeep] = m;
		kstart[nkeep] = start;
		kcode[nkeep++] = code;
	}
	hdr[2] = (unsigned char)nkeep;
	hdr[3] = (unsigned char)(src->nthreads < 4 ? src->nthreads : 4);
	out = fopen(argv[2], "wb");
	if (!out) {
		perror(argv[2]);
		return 1;
	}
	put(out, hdr, sizeof(hdr));
	for (i = 0; i < nkeep; i++) {
		uint64_t len = keep[i]->end - kstart[i];
		uint32_t len32 = len > 0xffffffffULL ? 0xfffff000U : (uint32_t)len;
		unsigned char prot = (unsigned char)keep[i]->prot, code = (unsigned char)kcode[i];
		put(out, &kstart[i], 8);
		put(out, &len32, 4);
		put(out, &prot, 1);
		put(out, &code, 1);
	}
	for (t = 0; t < hdr[3]; t++) {
		const struct lm_thread_regs *r = &src->threads[t];
		uint32_t tid = (uint32_t)r->tid;
		uint64_t v[5] = { r->regs.fs_base, r->regs.rsp, r->regs.rip, r->regs.rbp,
				  r->regs.rbx };
		put(out, &tid, 4);
		put(out, v, sizeof(v));
	}
	for (i = 0; i < nkeep; i++) {
		uint64_t a = kstart[i];
		while (a < keep[i]->end) {
			const uint64_t *w = lm_mem_view(src, a, 8);
			uint64_t b = a;
			uint16_t len;
			if (!w || *w == 0) {
				a += 8;
				continue;
			}
			while (b < keep[i]->end && b - a < 65528 && (w = lm_mem_view(src, b, 8)) && *w)
				b += 8;
			len = (uint16_t)(b - a);
			put(out, &a, 8);
			put(out, &len, 2);
			put(out, lm_mem_view(src, a, len), len);
			a = b;
		}
	}
	fclose(out);
	lm_memsrc_close(src);
	free(info);
	return 0;
}
