/* SPDX-License-Identifier: MIT */
/*
 * seccomp_fetch.h - a target's seccomp filters, read for us by the
 * leakmon-filters helper (seccomp_wire.h) while the target runs, and
 * consulted in the stop when the kernel will not show them to us.
 *
 * Why this is safe to rely on: a thread's filters are never removed, only
 * added, and a thread's filter count (Seccomp_filters in /proc/TID/status,
 * readable by its tracer) counts them; synchronising threads (TSYNC) only
 * ever replaces a thread's filters by a longer chain that contains them. So
 * the same thread (same tid and start time) with the same count has the
 * same filters we were given. Any difference and the set is not used.
 */
#ifndef LM_SECCOMP_FETCH_H
#define LM_SECCOMP_FETCH_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct sock_filter;
struct lm_seccomp_set;

/* Ask the helper listening on sock (NULL: $LEAKMON_FILTERS_SOCKET, a test
 * hook, else LM_SF_SOCKET) for the filters of
 * pid's threads. -LM_ENOTFOUND when no helper listens there; -LM_ELIMIT,
 * -LM_EIO or -LM_ENOMEM when it refused, failed or answered out of bounds. */
int lm_seccomp_fetch(const char *sock, pid_t pid, struct lm_seccomp_set **out,
		     struct lm_err *err);
void lm_seccomp_set_free(struct lm_seccomp_set *s);

/* tid (born from parent, whose filters it inherited: the frozen copy) is
 * looked up as parent, without the start-time check. */
void lm_seccomp_set_alias(struct lm_seccomp_set *s, pid_t tid, pid_t parent);

/* The set the calling thread's injections consult (NULL: none). */
void lm_seccomp_set_use(struct lm_seccomp_set *s);

/* The filters of tid from the set in use, if they are provably still its
 * filters (see above): 0 with *progs[i], *lens[i] for i < *n;
 * -LM_ENOTFOUND when the set does not cover tid or tid's filters changed.
 * The arrays belong to the set. */
int lm_seccomp_set_lookup(pid_t tid, const struct sock_filter *const **progs,
			  const uint32_t **lens, uint32_t *n);

#endif
