/* SPDX-License-Identifier: MIT */
/*
 * fuzz_unwind.c - libFuzzer harness: the unwinder (lib/unwind.c: libdwfl
 * over our callbacks, then the frame-pointer chain) on a crafted module
 * and stack, as `leakmon roots` unwinds a core's threads.
 *
 * Input (little endian; a short input reads zeros):
 *   u32 elf_len   bytes of the module's ELF file that follow
 *   elf_len bytes the module, in a file (fz_file) mapped r-x at BASE under
 *                 its path (a core-like source opens that path)
 *   u64 rip, rsp, rbp, rbx   the one thread's registers
 *   the rest      the stack's bytes, from STACK up (64 KiB, zeros after)
 * Symbols come from the same file (lm_symtab_load), frames are named with
 * lm_frame_function as `roots` names them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "memsrc.h"
#include "symbols.h"
#include "unwind.h"

#define BASE 0x555555554000ULL
#define STACK 0x7ffd00000000ULL
#define STACK_BYTES 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int add_maps(struct lm_memsrc *src, const char *path, size_t elf_len)
{
	src->maps.v = calloc(2, sizeof(*src->maps.v));
	if (!src->maps.v || !(src->maps.v[0].path = strdup(path)) ||
	    !(src->maps.v[1].path = strdup("[stack]")))
		return -1;
	src->maps.n = 2;
	src->maps.v[0].start = BASE;
	src->maps.v[0].end = BASE + ((elf_len + 4095) & ~4095ULL) + 4096;
	src->maps.v[0].prot = LM_PROT_R | LM_PROT_X;
	src->maps.v[0].inode = 1;
	src->maps.v[1].start = STACK;
	src->maps.v[1].end = STACK + STACK_BYTES;
	src->maps.v[1].prot = LM_PROT_R | LM_PROT_W;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct lm_symtab_opts so = { .debug_root = "" };
	struct lm_memsrc *src = NULL;
	struct lm_symtab *syms = NULL;
	struct lm_unwinder *u = NULL;
	struct lm_err err = { 0 };
	const struct lm_frame *frames;
	uint8_t *stack = NULL;
	size_t elf_len, nframes, i;
	char path[128], name[256];

	elf_len = fz_u32(&f);
	if (elf_len > f.n)
		elf_len = f.n;
	if (fz_file("module.so", f.p, elf_len, path, sizeof(path)) < 0)
		return 0;
	f.p += elf_len;
	f.n -= elf_len;
	if (lm_memsrc_new(LM_SRC_CORE, &src, &err) < 0)
		goto out;
	src->pid = 4242;
	stack = calloc(1, STACK_BYTES);
	src->threads = calloc(1, sizeof(*src->threads));
	if (!stack || !src->threads || add_maps(src, path, elf_len) < 0)
		goto out;
	src->nthreads = 1;
	src->threads[0].tid = 4242;
	src->threads[0].regs.rip = fz_u64(&f);
	src->threads[0].regs.rsp = fz_u64(&f);
	src->threads[0].regs.rbp = fz_u64(&f);
	src->threads[0].regs.rbx = fz_u64(&f);
	fz_bytes(&f, stack, f.n < STACK_BYTES ? f.n : STACK_BYTES);
	if (lm_memsrc_add_region(src, STACK, STACK + STACK_BYTES, stack, &src->maps.v[1],
				 &err) < 0)
		goto out;
	lm_memsrc_sort_regions(src);
	if (lm_symtab_load(src, &so, &syms, &err) < 0)
		goto out;
	if (getenv("LM_FUZZ_VERBOSE"))
		fprintf(stderr, "%zu modules, %zu symbols\n", lm_symtab_nmodules(syms),
			lm_symtab_nsymbols(syms));
	if (lm_unwinder_new(src, syms, &u, &err) < 0)
		goto out;
	if (lm_unwind_thread(u, 0, &frames, &nframes, &err) == 0) {
		if (getenv("LM_FUZZ_VERBOSE"))	/* to check what a seed reaches */
			fprintf(stderr, "%zu frames\n", nframes);
		for (i = 0; i < nframes; i++) {
			lm_frame_function(syms, &frames[i], name, sizeof(name));
			if (getenv("LM_FUZZ_VERBOSE"))
				fprintf(stderr, "#%zu %s sp %#llx\n", i, name,
					(unsigned long long)frames[i].sp);
		}
		(void)lm_unwind_frame_of(frames, nframes, STACK + 0x100);
	}
out:
	lm_unwinder_free(u);
	lm_symtab_free(syms);
	lm_memsrc_close(src);
	free(stack);
	return 0;
}
