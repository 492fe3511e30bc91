/* SPDX-License-Identifier: MIT */
/*
 * selector.h - which processes a target means, and which of them are new.
 *
 * A target names its processes by systemd unit (through the unit's
 * cgroup), by executable path, by process name (comm) or by pid. One
 * selector may match several processes, and the set changes as services
 * restart: a process is identified by pid *and* start time (field 22 of
 * /proc/PID/stat), so a reused pid is a new instance.
 */
#ifndef LM_SELECTOR_H
#define LM_SELECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "error.h"

struct lm_proc_id {
	pid_t pid;
	uint64_t start_ticks;	/* clock ticks after boot */
	int traced_by_us;	/* traced by a thread of the caller (see below) */
};

/*
 * The processes matching the selector now, sorted by pid (*out malloc'd,
 * *n may be 0: the target is not running). Never matches the calling
 * process, zombies or kernel threads. A process traced by one of the
 * caller's threads comes with traced_by_us set: that is either a target
 * being snapshotted right now (keep it if it is already watched) or the
 * frozen copy a snapshot made of one, which looks exactly like its target
 * (never start watching it).
 * value: unit name, executable path or comm; pid for LM_SEL_PID.
 * An exe selector also matches a process whose executable was replaced on
 * disk ("/usr/bin/api (deleted)"): it still is the service.
 */
int lm_selector_resolve(enum lm_selector_kind kind, const char *value, pid_t pid,
			struct lm_proc_id **out, size_t *n, struct lm_err *err);

/* Keep the ids (in place, order kept) whose process runs as uid, real and
 * effective (a setuid program someone else started does not count);
 * returns how many are left. */
size_t lm_selector_keep_user(struct lm_proc_id *ids, size_t n, uid_t uid);

/* Is this very process (pid and start time) still alive, and not a zombie? */
int lm_proc_id_alive(const struct lm_proc_id *id);

/* Start time in ticks of pid now; 0 with -LM_ENOPROC if it is gone. */
int lm_proc_start_ticks(pid_t pid, uint64_t *ticks, struct lm_err *err);

/* Wall-clock start of a process (microseconds since the epoch), from its
 * start ticks and the boot time in /proc/stat. */
int64_t lm_proc_start_us(uint64_t start_ticks);

/*
 * Compare two sets sorted by pid: call appeared() for each id of cur not in
 * old and gone() for each id of old not in cur. Same pid with another
 * start time counts as gone + appeared. traced_by_us is not compared.
 */
void lm_proc_ids_diff(const struct lm_proc_id *old, size_t nold,
		      const struct lm_proc_id *cur, size_t ncur,
		      void (*appeared)(void *ctx, const struct lm_proc_id *id),
		      void (*gone)(void *ctx, const struct lm_proc_id *id), void *ctx);

#endif
