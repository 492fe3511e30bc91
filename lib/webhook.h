/* SPDX-License-Identifier: MIT */
/*
 * webhook.h - the sender of the outbox of alert notifications (outbox.h).
 *
 * A lm_webhook_sender lives on the caller's libev loop and drives
 * libcurl's multi-socket interface (CURLMOPT_SOCKETFUNCTION and
 * TIMERFUNCTION mapped onto ev_io and ev_timer watchers), so no transfer
 * ever blocks the loop. For each due delivery it POSTs the stored payload
 * plus "sent_at", with
 *     Content-Type: application/json
 *     X-Leakmon-Delivery: <delivery_id>
 *     X-Leakmon-Event: leak.firing | leak.resolved
 *     X-Leakmon-Signature: sha256=<HMAC-SHA256(secret, body), hex>
 * (signature only when the webhook has a secret_file) and the webhook's
 * extra headers. TLS peer and host verification stay on, redirects are not
 * followed, each attempt has the webhook's timeout, and the response body is
 * read into nothing and cut off after LM_WEBHOOK_MAX_RESPONSE bytes, so a
 * slow or hostile receiver costs one connection slot until its timeout and
 * nothing else. A 2xx status delivers; anything else is retried with
 * exponential backoff (1 s doubling to 10 min) and +-25% jitter, until the
 * delivery is older than the webhook's max_age (state 'expired'). Pending
 * deliveries are read from the database, so a restarted daemon resumes them
 * with the same delivery_id.
 */
#ifndef LM_WEBHOOK_H
#define LM_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

struct ev_loop;
struct sqlite3;
struct lm_conf_webhook;

#define LM_WEBHOOK_MAX_RESPONSE (64 * 1024)	/* bytes of response read */
#define LM_WEBHOOK_MAX_INFLIGHT 32		/* transfers at once, all webhooks */
#define LM_WEBHOOK_MAX_PER_HOOK 4		/* transfers at once, one webhook */
#define LM_WEBHOOK_BACKOFF_MIN_MS 1000
#define LM_WEBHOOK_BACKOFF_MAX_MS (10 * 60 * 1000)

struct lm_webhook_sender;

/* Outcome of one attempt, for logging by the daemon (may be NULL). */
struct lm_webhook_attempt {
	const char *webhook;
	const char *delivery_id;
	const char *event;
	int attempt;		/* 1 for the first */
	long status;		/* HTTP status, 0 when none */
	int delivered;
	int expired;		/* given up: older than max_age */
	const char *error;	/* NULL or what went wrong */
};
typedef void (*lm_webhook_report_fn)(void *ctx, const struct lm_webhook_attempt *a);

/*
 * A sender on loop for the deliveries in db, to the webhooks confs[0..n).
 * Secrets are read now (an unreadable secret_file is an LM_ECONFIG error).
 * It starts sending what is due at once.
 */
int lm_webhook_sender_new(struct ev_loop *loop, struct sqlite3 *db,
			  const struct lm_conf_webhook *confs, size_t n,
			  lm_webhook_report_fn report, void *ctx,
			  struct lm_webhook_sender **out, struct lm_err *err);
/* New configuration (SIGHUP): transfers in flight finish under the old one.
 * On error the old configuration stays. */
int lm_webhook_sender_configure(struct lm_webhook_sender *s,
				const struct lm_conf_webhook *confs, size_t n,
				struct lm_err *err);
/* New deliveries were queued: look at the outbox now. */
void lm_webhook_sender_kick(struct lm_webhook_sender *s);
/* Transfers in flight and deliveries pending in the database. */
void lm_webhook_sender_stats(struct lm_webhook_sender *s, size_t *inflight,
			     size_t *pending);
/* Abort the transfers in flight (they stay pending in the database) and
 * free everything. */
void lm_webhook_sender_free(struct lm_webhook_sender *s);

#endif
