/* SPDX-License-Identifier: MIT */
/*
 * memsrc.h - a memory source: the target's memory and mappings, whatever they
 * come from.
 *
 * Three kinds, one interface:
 *  - live: the target is stopped (lm_ptrace_stop), its writable mappings are
 *    copied into pre-faulted local buffers, then it is released at once; all
 *    analysis reads those copies.
 *  - copy: a frozen copy-on-write clone of the target is read at leisure,
 *    on demand through a bounded window (lm_memsrc_open_copy_window), or
 *    copied whole like a live target.
 *  - core: an ELF core file, mmap'ed; PT_LOAD segments are the regions,
 *    NT_FILE gives the mappings' paths, NT_PRSTATUS the threads' registers.
 *
 * Readers (walker, classifier, refgraph) see only regions of captured bytes:
 * lm_mem_view returns a pointer into local memory, or NULL when any byte of
 * the range was not captured. Nothing here ever writes to the target.
 *
 * A region's data is always a plain pointer valid until close, also for a
 * source read on demand: there the pointer is into address space whose
 * pages are filled when first read and dropped again when the window is
 * full (a later read refills them); so readers may hold views and do
 * pointer arithmetic as they please, and only how much is resident at once
 * is bounded (docs/memory.md). Such a source may be read by one thread at
 * a time or several; a read blocks while its block is loaded.
 */
#ifndef LM_MEMSRC_H
#define LM_MEMSRC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "proc.h"
#include "ptrace.h"

enum lm_memsrc_kind { LM_SRC_LIVE, LM_SRC_COPY, LM_SRC_CORE };

struct lm_region {
	uint64_t start, end;		/* target addresses [start, end) */
	const uint8_t *data;		/* local bytes of [start, end) */
	const struct lm_mapping *map;	/* the mapping it belongs to (in src->maps) */
};

struct lm_memsrc {
	enum lm_memsrc_kind kind;
	pid_t pid;			/* target pid (from the core's notes for cores) */
	char *exe;			/* path of the executable, or NULL */
	struct lm_maps maps;		/* every mapping of the target */
	struct lm_region *regions;	/* captured memory, sorted by start, disjoint */
	size_t nregions;
	size_t regions_cap;		/* allocated entries of regions */
	struct lm_thread_regs *threads;	/* every thread's registers at the stop */
	size_t nthreads;
	uint64_t pause_ns;		/* how long the target was stopped (0 for cores) */
	uint64_t capture_bytes;		/* total bytes captured */
	uint64_t window_bytes;		/* read on demand: the most of it held at once; 0 = all held */
	uint64_t rss_bytes;		/* target RSS at the stop, when known */
	uint64_t owned_bytes;		/* its RssAnon + VmSwap then (lm_proc_status) */
	int64_t taken_at_us;		/* wall clock (CLOCK_REALTIME) of the stop */
	void *impl;			/* kind-specific state */
	/* Frees impl (and whatever the kind owns), called first by
	 * lm_memsrc_close; NULL when there is nothing to free. */
	void (*impl_free)(struct lm_memsrc *src);
	/* For lm_memsrc_check; NULL when every byte is read before open
	 * returns. */
	int (*impl_check)(const struct lm_memsrc *src, struct lm_err *err);
	size_t last_region;		/* lookup cache: index of the last region hit */
};

struct lm_live_opts {
	/* Abandon (release the target, return LM_ELIMIT) if a copy would need
	 * more than this many bytes; 0 = no limit. */
	uint64_t max_capture_bytes;
	/* Pause budget from the first thread stopped; 0 = no limit. A thread
	 * not stopped by then: every thread is let go, LM_ETIMEDOUT; the
	 * capture not done by then: the target is released, LM_ELIMIT. */
	uint64_t max_pause_ns;
};

struct lm_copy_opts {
	uint64_t max_capture_bytes;	/* as for live */
	uint64_t min_headroom_bytes;	/* refuse (LM_ELIMIT) when the target's cgroup
					 * has less memory headroom than this */
	uint64_t max_copy_lifetime_ns;	/* kill the copy after this long */
	uint64_t max_pause_ns;		/* budget of each stop of the target (stopping
					 * it, forking the copy; reaping it): as for live */
};

int lm_memsrc_open_live(pid_t pid, const struct lm_live_opts *opts,
			struct lm_memsrc **out, struct lm_err *err);
int lm_memsrc_open_core(const char *path, struct lm_memsrc **out,
			struct lm_err *err);
/* Frozen copy (docs/copy.md): a copy-on-write clone of the stopped target is
 * made, the target released at once, the clone read at leisure and killed.
 * Fails without touching the target when a copy cannot be made; the caller
 * then falls back to lm_memsrc_open_live. */
int lm_memsrc_open_copy(pid_t pid, const struct lm_copy_opts *opts,
			struct lm_memsrc **out, struct lm_err *err);
/* As lm_memsrc_open_copy, but the copy is not copied: it lives, frozen,
 * until lm_memsrc_close and is read on demand, with at most window_bytes of
 * it in our memory at once (memsrc_window.h). When this kernel gives us no
 * userfaultfd it is copied whole as by lm_memsrc_open_copy. */
int lm_memsrc_open_copy_window(pid_t pid, const struct lm_copy_opts *opts,
			       uint64_t window_bytes, struct lm_memsrc **out,
			       struct lm_err *err);
void lm_memsrc_close(struct lm_memsrc *src);
/* 0 when every byte read so far is the target's. A source read on demand
 * (lm_memsrc_open_copy_window) reads zeros where its process could not be
 * read (the copy was killed: lifetime, signal): then a negative LM_E* code
 * and why. Call it after an analysis, before trusting its result. */
int lm_memsrc_check(const struct lm_memsrc *src, struct lm_err *err);
/* Our memory that holds the target's bytes: the window's bound for a
 * source read on demand, none for a core (its file's pages, mapped), every
 * captured byte otherwise. */
uint64_t lm_memsrc_held_bytes(const struct lm_memsrc *src);

/* Pointer to len captured bytes at addr, or NULL. Valid until close. */
const void *lm_mem_view(const struct lm_memsrc *src, uint64_t addr, size_t len);
/* Copy len bytes; 0, or -LM_EFAULT when not captured. */
int lm_mem_read(const struct lm_memsrc *src, uint64_t addr, void *buf, size_t len);
/* Read one 64-bit word; 0 or -LM_EFAULT. */
int lm_mem_word(const struct lm_memsrc *src, uint64_t addr, uint64_t *val);
/* The captured region containing addr, or NULL. */
const struct lm_region *lm_mem_region(const struct lm_memsrc *src, uint64_t addr);

/* Used by the source implementations: sort and index regions. */
void lm_memsrc_sort_regions(struct lm_memsrc *src);

/* Used by the source implementations: a zeroed source of this kind (pid,
 * maps, regions... empty) that lm_memsrc_close frees. */
int lm_memsrc_new(enum lm_memsrc_kind kind, struct lm_memsrc **out, struct lm_err *err);
/* Append one region (regions must be sorted again before use). */
int lm_memsrc_add_region(struct lm_memsrc *src, uint64_t start, uint64_t end,
			 const uint8_t *data, const struct lm_mapping *map, struct lm_err *err);

/* Does the live/copy capture copy this mapping? Private, readable and
 * writable, not [vvar]/[vsyscall]/[vdso]: heaps, anonymous memory, modules'
 * .data/.bss, thread stacks. */
int lm_memsrc_wants_mapping(const struct lm_mapping *m);

#endif
