/* SPDX-License-Identifier: MIT */
/*
 * outbox.h - the durable outbox of alert notifications.
 *
 * lm_outbox_queue() writes a delivery into webhook_deliveries
 * (schema/002_alerts.sql) with a fresh delivery_id, inside the caller's
 * transaction: nothing is sent that was not stored first. A delivery
 * queued as waiting (lm_outbox_queue_as) is stored but not sent until
 * lm_outbox_release() has completed its payload (holder chains, found
 * later on another thread). The sender (webhook.h) reads the pending rows
 * and signs each body with lm_outbox_sign(). Alerts write here, the sender
 * reads here; neither knows the other.
 */
#ifndef LM_OUTBOX_H
#define LM_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

struct sqlite3;

/* A random identifier in UUID v4 text form (37 bytes with the NUL): for
 * deliveries and alerts. */
void lm_outbox_new_id(char out[37]);

/*
 * Store one delivery of payload (an object; "delivery_id" is set in it) to
 * the webhook named webhook, due now. alert_row: leak_alerts.id or 0.
 * delivery_id (may be NULL) receives the id.
 */
int lm_outbox_queue(struct sqlite3 *db, const char *webhook, const char *event,
		    json_t *payload, int64_t alert_row, int64_t now_us,
		    char delivery_id[37], struct lm_err *err);

/* The same, as a delivery that waits (state 'waiting', never sent) until
 * lm_outbox_release() completes its payload. waiting 0: as above. */
int lm_outbox_queue_as(struct sqlite3 *db, const char *webhook, const char *event,
			json_t *payload, int64_t alert_row, int waiting, int64_t now_us,
			char delivery_id[37], struct lm_err *err);

/*
 * Make waiting deliveries sendable, due now_us, after setting fields (an
 * object: its keys replace the payload's) in their payloads: those of
 * leak_alerts row alert_row (0: of any alert) created before
 * created_before_us (INT64_MAX: whenever). One transaction; delivery_ids
 * stay. *released (may be NULL) counts the deliveries released.
 */
int lm_outbox_release(struct sqlite3 *db, int64_t alert_row, int64_t created_before_us,
		      json_t *fields, int64_t now_us, unsigned *released, struct lm_err *err);

/* HMAC-SHA256 of data with key, as 64 lowercase hex digits and a NUL. */
void lm_outbox_sign(const void *key, size_t keylen, const void *data,
		    size_t len, char hex[65]);

#endif
