/* SPDX-License-Identifier: MIT */
/*
 * alert.h - leak alerts: when a growing type becomes an alert, at which
 * level, when it resolves, and what the webhooks are told.
 *
 * After each snapshot of an instance, lm_alert_evaluate() reads the
 * instance's history from the store (the snapshots of the last `window`,
 * minus the `warmup` after the process started), runs lib/trend on every
 * type, on the heap total (in-use bytes) and on the memory the process owns
 * (RssAnon + VmSwap: not shared memory nor file pages, which grow without a
 * leak when a server first touches its shared buffers), and updates the
 * alerts:
 *
 *   - growing: lm_trend_assess() says GROWING (significant Mann-Kendall,
 *     Theil-Sen slope >= min_rate, floor rising, every third growing);
 *   - time to limit: from the whole process (the faster of owned memory
 *     and heap in-use by the lower bound of the slope, counted only when
 *     significantly increasing): distance from its fitted level to the
 *     limit (memory_limit, else the cgroup's memory.max, else MemTotal),
 *     divided by the slope (eta), by its upper bound (pessimistic eta,
 *     reported) and by its lower bound (sure eta, which sets the level: a
 *     single step then a plateau has a wide interval reaching down to 0,
 *     so it does not escalate);
 *   - a series whose slope, or (to open) the lower bound of its slope, is
 *     not positive never alerts;
 *   - level: critical when the sure eta is within urgent_horizon,
 *     warning within alert_horizon, info otherwise - and info only once the
 *     growth has held over a whole window at a ten times stricter
 *     significance (long growth, far from a limit, nothing urgent);
 *   - evidence: the samples must span a quarter of the window at least
 *     (two hours of a cache filling look like a leak; six do not), and the
 *     strict test must pass on the window as it was at the last
 *     LM_ALERT_CONFIRM snapshots, not just this one;
 *   - lifecycle (lm_alert_step): one open alert per (instance, kind, name);
 *     it opens on the strict test above, then stays open while a looser
 *     test (alpha 0.05, half min_rate, last third not flat, no clear
 *     deceleration, at 99% confidence intervals) still sees growth; only when that
 *     test has failed continuously for resolve_after does it resolve. The
 *     level only rises while open (a louder alert is sent again), never
 *     falls, so a noisy estimate cannot make it flap. An instance that ends
 *     resolves its alerts. A type whose alert resolved opens again only on
 *     the same evidence as the first time, gathered after the resolution:
 *     the snapshots before it are not looked at.
 *
 * Every change is stored (leak_alerts, alert_events; view `alerts`) and,
 * in the same transaction, the alerts open together in one process form
 * one incident, of which lib/incident queues at most one delivery per
 * webhook of the target in webhook_deliveries for lib/webhook to send.
 * With `holders` on, an incident's leak.firing deliveries are queued
 * waiting: the summary lists them (need) for the caller to search the
 * holder chains of its fastest-growing type and release them; resolved
 * events go out at once.
 *
 * The whole heap and the owned memory appear as the types (process, heap)
 * and (process, memory); snapshots without owned memory (stored before it
 * was recorded) leave the latter out.
 */
#ifndef LM_ALERT_H
#define LM_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "trend.h"
#include "verdict.h"	/* levels, settings, and the verdicts on one series */

struct lm_store;
struct lm_conf_target;

/* The defaults of leakmond.conf(5). */
void lm_alert_settings_default(struct lm_alert_settings *s);
/* A target's effective settings from the parsed configuration. */
void lm_alert_settings_from_conf(const struct lm_conf_target *t,
				 struct lm_alert_settings *s);

/* ---- the stored part ----
 * (struct lm_alert_summary, what an evaluation did, is in verdict.h, which
 * lib/incident shares without depending on this module) */

/*
 * Evaluate instance_id at now_us (normally the time of its last snapshot)
 * and store the outcome. webhooks: the names this target alerts to; host:
 * this machine's name for payloads (NULL = gethostname()). An instance that
 * has ended resolves its open alerts. sum may be NULL.
 */
int lm_alert_evaluate(struct lm_store *store, int64_t instance_id,
		      const struct lm_alert_settings *s,
		      const char *const *webhooks, size_t nwebhooks,
		      const char *host, int64_t now_us,
		      struct lm_alert_summary *sum, struct lm_err *err);

/* Resolve the open alerts of every instance that has ended (the daemon
 * calls this after closing instances). Same webhook list semantics as
 * lm_alert_evaluate, looked up per target through lookup (may be NULL:
 * no deliveries). */
typedef size_t (*lm_alert_webhooks_fn)(void *ctx, const char *target,
				       const char *const **names);
int lm_alert_resolve_ended(struct lm_store *store, lm_alert_webhooks_fn lookup,
			   void *ctx, const char *host, int64_t now_us,
			   struct lm_alert_summary *sum, struct lm_err *err);

#endif
