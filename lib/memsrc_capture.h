/* SPDX-License-Identifier: MIT */
/*
 * memsrc_capture.h - internal to the memory sources: copy a stopped or
 * frozen process's private writable memory into local buffers and index it
 * as regions of a source. The live source runs it on the stopped target,
 * the frozen-copy source on the copy.
 *
 * A struct lm_capture owns the local buffers; the source that created it
 * frees it (through its impl_free) after its regions are no longer read.
 */
#ifndef LM_MEMSRC_CAPTURE_H
#define LM_MEMSRC_CAPTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "memsrc.h"
#include "proc.h"

struct lm_capture;

/* An empty capture (no buffers), or NULL when out of memory. */
struct lm_capture *lm_capture_new(void);
/* Read through /proc/PID/mem instead of process_vm_readv. The latter pins
 * the pages, and a read-only pin of an anonymous page shared copy-on-write
 * (a frozen copy's pages, all shared with the target) makes the kernel give
 * the reading side's process its own copy of the page first: reading a
 * frozen copy that way doubles the heap in the target's cgroup. Slower per
 * byte (the kernel copies through a bounce page): for the copy, whose
 * reading does not stop the target. */
void lm_capture_unpinned(struct lm_capture *c);
/* Unmap every buffer and free c (NULL is fine). */
void lm_capture_free(struct lm_capture *c);

/* Optional, before stopping: allocate and pre-fault buffers for `maps` of
 * process pid (read while it still runs) so that the copy made while it is
 * stopped takes no page faults in our memory. lm_capture_pid reuses a
 * prepared buffer for every mapping that has not changed and allocates the
 * rest. LM_ELIMIT when the bytes that exist exceed max_capture_bytes. */
int lm_capture_prepare(struct lm_capture *c, pid_t pid, const struct lm_maps *maps,
		       uint64_t max_capture_bytes, struct lm_err *err);

/* Copy every mapping of src->maps that lm_memsrc_wants_mapping accepts
 * from process pid (stopped, or a frozen copy) into c's buffers, appending
 * regions to src. Bounded by max_capture_bytes (0 = none) and by a deadline
 * (CLOCK_MONOTONIC ns, 0 = none). */
int lm_capture_pid(struct lm_capture *c, struct lm_memsrc *src, pid_t pid,
		   uint64_t max_capture_bytes, uint64_t deadline_ns, struct lm_err *err);

/* The pid through which to read pid's memory and maps: its own, or a live
 * thread of its group when the main thread has exited (a zombie). */
pid_t lm_memory_pid(pid_t pid);

#endif
