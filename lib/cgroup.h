/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h - the target's control group: its systemd unit, its members, its
 * memory limit and usage.
 *
 * Works on pure cgroup v2 (production servers), v1 and hybrid layouts (v2
 * at /sys/fs/cgroup/unified without the memory controller, v1 memory at
 * /sys/fs/cgroup/memory). Mount points come from /proc/self/mountinfo,
 * never assumed.
 */
#ifndef LM_CGROUP_H
#define LM_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Memory limit and current usage of pid's cgroup: v2 memory.max and
 * memory.current, else v1 memory.limit_in_bytes and memory.usage_in_bytes.
 * *limit = UINT64_MAX when unlimited (the caller then uses MemTotal). */
int lm_cgroup_memory(pid_t pid, uint64_t *limit, uint64_t *usage, struct lm_err *err);

/* The systemd unit pid belongs to ("api.service"), from the cgroup path of
 * the v2 (0::) line or the v1 name=systemd line. -LM_ENOTFOUND when none. */
int lm_cgroup_unit(pid_t pid, char *buf, size_t len, struct lm_err *err);

/* Every process (not thread) in a unit's cgroup, searched under the v2 or
 * name=systemd hierarchy ("api.service" matches .../api.service/ anywhere,
 * e.g. system.slice/api.service). *pids is malloc'd; *n may be 0. */
int lm_cgroup_unit_pids(const char *unit, pid_t **pids, size_t *n, struct lm_err *err);

/* MemTotal from /proc/meminfo, in bytes (0 on failure). */
uint64_t lm_mem_total(void);

#endif
