/* SPDX-License-Identifier: MIT */
/*
 * incident.h - what webhooks are told about a process's leak: one
 * incident, not one message per growing type.
 *
 * A leak grows the types it allocates, the heap and the process's memory
 * together. lib/alert keeps one alert row per growing series (its level,
 * rate and lifecycle), and gives the alerts of one process that are open
 * at the same time one incident_id: the alert_id of the alert that opened
 * the incident (its lead). After an evaluation has stored its changes,
 * lm_incident_notify() reads the incident's alerts back and queues at most
 * one delivery per webhook, referencing the lead's row:
 *
 *   - leak.firing when the incident opened, or when its level (the highest
 *     of its firing alerts) rose;
 *   - leak.resolved when its last firing alert resolved;
 *   - nothing otherwise: alerts that join an open incident at its level
 *     (a type, the heap, a big array moving to the next size class as it
 *     grows) are stored and listed in its next notification.
 *
 * The payload keeps the per-alert fields of the lead (type, count, bytes,
 * growth) and adds "incident_id" and "types": every alert of the incident
 * with its state, level, rate and size. With holders on, a leak.firing
 * waits for the holder chains of its fastest-growing firing type (named in
 * "holders_type").
 */
#ifndef LM_INCIDENT_H
#define LM_INCIDENT_H

#include <stdint.h>
#include <sys/types.h>

#include "verdict.h"	/* levels and struct lm_alert_summary */

struct sqlite3;

/* At most this many alerts are listed in a payload's "types" (the rest
 * are counted in "types_left_off"): a payload stays small. */
#define LM_INCIDENT_MAX_TYPES 64

struct lm_incident_ctx {
	struct sqlite3 *db;
	int64_t instance_id;
	const char *incident_id;	/* the lead's alert_id */
	const char *host, *target, *exe;
	pid_t pid;
	int64_t since_us, now_us;	/* window start, evaluation time */
	double rss_now, owned_now;	/* owned_now 0: unknown */
	const struct lm_alert_eta *eta;
	const char *const *webhooks;
	size_t nwebhooks;
	int holders;			/* the target searches holder chains */
	/* What this evaluation changed. */
	int was_open;			/* the incident was open before it */
	int level_before;		/* its level then (LM_ALERT_NONE if not open) */
	const char *resolve_reason;	/* of the last resolution, or NULL */
};

/* Queue the incident's notification, if this evaluation calls for one,
 * in the caller's transaction; sum->queued and sum->need are updated. */
int lm_incident_notify(const struct lm_incident_ctx *c, struct lm_alert_summary *sum,
		       struct lm_err *err);

#endif
