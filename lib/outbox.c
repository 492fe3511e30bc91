/* SPDX-License-Identifier: MIT */
/*
 * outbox.c - the durable outbox of alert notifications (outbox.h): rows of
 * webhook_deliveries written, released and identified here; lib/webhook.c
 * sends them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "outbox.h"

void lm_outbox_new_id(char out[37])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < sizeof(b)) {	/* no entropy source: time and pid still differ */
		struct timespec ts;
		unsigned long x;
		size_t i;
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^ (unsigned long)getpid();
		for (i = 0; i < sizeof(b); i++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			b[i] = (unsigned char)(x >> 56);
		}
	}
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

int lm_outbox_queue(struct sqlite3 *db, const char *webhook, const char *event,
		    json_t *payload, int64_t alert_row, int64_t now_us,
		    char delivery_id[37], struct lm_err *err)
{
	return lm_outbox_queue_as(db, webhook, event, payload, alert_row, 0, now_us,
				  delivery_id, err);
}

int lm_outbox_queue_as(struct sqlite3 *db, const char *webhook, const char *event,
			json_t *payload, int64_t alert_row, int waiting, int64_t now_us,
			char delivery_id[37], struct lm_err *err)
{
	char id[37];
	char *text;
	sqlite3_stmt *st;
	int rc;

	lm_outbox_new_id(id);
	if (json_object_set_new(payload, "delivery_id", json_string(id)))
		return lm_err_set(err, LM_ENOMEM, "webhook %s: cannot build the payload", webhook);
	text = json_dumps(payload, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (!text)
		return lm_err_set(err, LM_ENOMEM, "webhook %s: cannot encode the payload", webhook);
	if (sqlite3_prepare_v2(db, "INSERT INTO webhook_deliveries (delivery_id, alert, webhook, "
			       "event, payload, created_at_us, next_attempt_us, state) "
			       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		free(text);
		return lm_err_set(err, LM_EDB, "webhook %s: cannot queue a delivery: %s",
				  webhook, sqlite3_errmsg(db));
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (alert_row > 0)
		sqlite3_bind_int64(st, 2, alert_row);
	sqlite3_bind_text(st, 3, webhook, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now_us);
	sqlite3_bind_int64(st, 7, now_us);
	sqlite3_bind_text(st, 8, waiting ? "waiting" : "pending", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(text);
	if (rc != SQLITE_DONE)
		return lm_err_set(err, LM_EDB, "webhook %s: cannot queue a delivery: %s",
				  webhook, sqlite3_errmsg(db));
	if (delivery_id)
		memcpy(delivery_id, id, sizeof(id));
	return 0;
}

/* Merge fields into one waiting row's payload and make it sendable;
 * -LM_EDB if the row cannot be read or written. */
static int release_row(sqlite3 *db, int64_t id, const char *payload, json_t *fields,
		       int64_t now_us)
{
	json_error_t jerr;
	json_t *j = json_loads(payload, 0, &jerr);
	sqlite3_stmt *st;
	char *text;
	int rc;

	if (!j || json_object_update(j, fields) < 0 ||
	    !(text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)))) {
		json_decref(j);
		return -LM_EDB;
	}
	json_decref(j);
	if (sqlite3_prepare_v2(db, "UPDATE webhook_deliveries SET payload = ?2, state = 'pending', "
			       "next_attempt_us = ?3 WHERE id = ?1 AND state = 'waiting'", -1, &st,
			       NULL) != SQLITE_OK) {
		free(text);
		return -LM_EDB;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_us);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -LM_EDB;
	sqlite3_finalize(st);
	free(text);
	return rc;
}

static int release_all(sqlite3 *db, int64_t alert_row, int64_t created_before_us,
		       json_t *fields, int64_t now_us, unsigned *released)
{
	sqlite3_stmt *st;
	int rc = 0, step;

	if (sqlite3_prepare_v2(db, "SELECT id, payload FROM webhook_deliveries "
			       "WHERE state = 'waiting' AND (?1 = 0 OR alert = ?1) "
			       "AND created_at_us < ?2 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return -LM_EDB;
	sqlite3_bind_int64(st, 1, alert_row);
	sqlite3_bind_int64(st, 2, created_before_us);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *payload = (const char *)sqlite3_column_text(st, 1);
		rc = payload ? release_row(db, sqlite3_column_int64(st, 0), payload, fields, now_us)
			     : -LM_EDB;
		if (rc == 0 && released)
			(*released)++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -LM_EDB;
	sqlite3_finalize(st);
	return rc;
}

int lm_outbox_release(struct sqlite3 *db, int64_t alert_row, int64_t created_before_us,
		      json_t *fields, int64_t now_us, unsigned *released, struct lm_err *err)
{
	unsigned n = 0;
	int rc;

	if (released)
		*released = 0;
	/* One transaction: every delivery of the alert goes out, or none. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return lm_err_set(err, LM_EDB, "webhooks: cannot release waiting deliveries: %s",
				  sqlite3_errmsg(db));
	rc = release_all(db, alert_row, created_before_us, fields, now_us, &n);
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
		if (released)
			*released = n;
		return 0;
	}
	rc = lm_err_set(err, LM_EDB, "webhooks: cannot release waiting deliveries: %s",
			sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

void lm_outbox_sign(const void *key, size_t keylen, const void *data,
		    size_t len, char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;

	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen))
		maclen = 0;
	for (i = 0; i < maclen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[2 * i] = 0;
}
