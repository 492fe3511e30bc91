/* SPDX-License-Identifier: MIT */
/*
 * memsrc_window.h - internal to the memory sources: read a frozen process
 * (the copy-on-write clone of the frozen-copy source) on demand, through a
 * window of bounded size, instead of copying all of it.
 *
 * Every mapping the capture would copy gets a range of local address space
 * (a "shadow") that mirrors it and holds no memory at first. The first read
 * of a block of a shadow faults; a thread of ours answers the fault
 * (userfaultfd) by reading that block from the process and mapping it in.
 * At most window_bytes of blocks are mapped at once: loading one more
 * first drops the oldest (MADV_DONTNEED), whose next read simply faults
 * again. So regions keep a plain data pointer, readers need no change, and
 * a pointer into a region stays valid until the source is closed; what is
 * bounded is how much of it is resident.
 *
 * The process must not change while it is read (a frozen clone does not),
 * and must stay alive until lm_window_close: a block that cannot be read
 * reads as zeros and is remembered (lm_window_check).
 */
#ifndef LM_MEMSRC_WINDOW_H
#define LM_MEMSRC_WINDOW_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "memsrc.h"

struct lm_window;

/* Bytes per block: one fault, one read. */
#define LM_WINDOW_BLOCK (2u << 20)
/* Fewest blocks a window holds, whatever window_bytes says. */
#define LM_WINDOW_MIN_BLOCKS 4

/* Mirror every mapping of src->maps that lm_memsrc_wants_mapping accepts
 * from process pid into shadows, appending regions to src: anonymous
 * mappings whole (a page the process lacks reads as zeros), file-backed ones
 * only where the process has pages (pagemap). LM_EIO when this kernel
 * or our privileges give no userfaultfd (the caller then copies whole). */
int lm_window_open(struct lm_memsrc *src, pid_t pid, uint64_t window_bytes,
		   struct lm_window **out, struct lm_err *err);
/* 0 when every block loaded so far was read from the process; otherwise a
 * negative LM_E* code and a message saying what was lost. */
int lm_window_check(const struct lm_window *w, struct lm_err *err);
/* Blocks loaded so far (faults answered): for benchmarks. */
uint64_t lm_window_loads(const struct lm_window *w);
/* Stop answering faults, unmap everything, free w (NULL is fine). The
 * regions that pointed into it must not be read afterwards. */
void lm_window_close(struct lm_window *w);

#endif
