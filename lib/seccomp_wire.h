/* SPDX-License-Identifier: MIT */
/*
 * seccomp_wire.h - what the leakmon-filters helper answers on its socket.
 *
 * Reading a thread's seccomp filters (PTRACE_SECCOMP_GET_FILTER) takes
 * CAP_SYS_ADMIN and a reader without a filter of its own, which the daemon's
 * sandboxed unit is not. The helper (daemon/leakmon-filters.c, a separate
 * socket-activated unit that does nothing else) reads them for it while
 * the target runs; the daemon evaluates them later, in the stop (inject.h).
 *
 * Both ends are on one machine: native byte order, fixed-size fields.
 *   request:  int32 pid
 *   answer:   struct lm_sf_head, then nthreads times
 *               struct lm_sf_thread, then nfilters times
 *                 uint32 ninsns, then ninsns struct sock_filter (8 bytes)
 * A thread whose Seccomp mode is not 2 (filter) is listed with nfilters 0
 * only when it has no filter at all (mode 0); mode 1 threads are left out.
 * The reader checks every count against the bounds below: the answer is
 * about a hostile process and must not make the reader unbounded.
 */
#ifndef LM_SECCOMP_WIRE_H
#define LM_SECCOMP_WIRE_H

#include <stdint.h>

#define LM_SF_MAGIC 0x464d534cu		/* "LSMF" */
#define LM_SF_THREADS_MAX 64		/* threads read per request */
#define LM_SF_FILTERS_MAX 1024		/* stacked filters per thread */
#define LM_SF_INSNS_MAX 4096		/* BPF_MAXINSNS */
#define LM_SF_ANSWER_MAX (8u << 20)	/* bytes of one answer, all counted */

/* Where the socket unit listens (systemd/leakmon-filters.socket). */
#define LM_SF_SOCKET "/run/leakmon-filters.sock"

struct lm_sf_head {
	uint32_t magic;
	int32_t error;		/* 0, or the errno that stopped the helper */
	uint32_t nthreads;
	uint32_t reserved;
};

struct lm_sf_thread {
	int32_t tid;
	uint32_t nfilters;
	uint64_t start_ticks;	/* /proc/TID/stat field 22, read while stopped */
};

#endif
