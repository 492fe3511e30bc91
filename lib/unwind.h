/* SPDX-License-Identifier: MIT */
/*
 * unwind.h - the call stacks of a snapshot's threads, from their saved
 * registers and the captured stack memory.
 *
 * Works the same on a live capture, a frozen copy and a core file: the
 * target is never touched again. Frames come from elfutils' libdwfl driven
 * by our own callbacks (registers from src->threads, memory from the memory
 * source, call-frame information from each module's own ELF file); when CFI
 * runs out, the frame-pointer chain is followed while it stays inside the
 * thread's stack. Function names come from our symbol table
 * (lm_symtab_nearest: local symbols too), not from libdwfl.
 */
#ifndef LM_UNWIND_H
#define LM_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memsrc.h"
#include "symbols.h"

#define LM_UNWIND_MAX_FRAMES 256

struct lm_frame {
	uint64_t pc;		/* frame 0: the exact pc; callers: the return address */
	uint64_t sp;		/* the stack pointer in this frame */
	int exact;		/* pc is exact (frame 0 or a signal frame) */
};

struct lm_unwinder;

int lm_unwinder_new(const struct lm_memsrc *src, const struct lm_symtab *syms,
		    struct lm_unwinder **out, struct lm_err *err);
void lm_unwinder_free(struct lm_unwinder *u);

/* Frames of thread ti (index into src->threads), innermost first. The array
 * is owned by the unwinder (computed once, cached). At least frame 0 is
 * always returned for a thread with registers. */
int lm_unwind_thread(struct lm_unwinder *u, size_t ti, const struct lm_frame **frames,
		     size_t *nframes, struct lm_err *err);

/* The frame whose part of the stack holds the word at addr: the k with
 * frames[k].sp <= addr < frames[k+1].sp; the last frame owns everything
 * above it. -1 when addr is below frame 0's sp. */
int lm_unwind_frame_of(const struct lm_frame *frames, size_t nframes, uint64_t addr);

/* "function+0x1c" for a frame (looked up at pc - 1 for return addresses, so
 * a call at the end of a function names that function); "module+0x1234"
 * without a symbol; "0x7f..." outside any module. */
void lm_frame_function(const struct lm_symtab *syms, const struct lm_frame *f,
		       char *buf, size_t len);

#endif
