/* SPDX-License-Identifier: MIT */
/*
 * t_webhook.c - drive lib/webhook on a real libev loop against real HTTP
 * receivers (tests/webhook_receiver.py), for tests/alert_webhook.test.
 *
 *   t_webhook --db FILE
 *             [--hook NAME URL SECRET_FILE|- TIMEOUT_MS MAX_AGE_MS]...
 *             [--queue NAME]...        queue one leak.firing delivery
 *             [--queue-waiting NAME]... the same, waiting for holders
 *             [--release-waiting WHY]  release every waiting delivery with
 *                                      "holders": [], "holders_error": WHY
 *             [--until N] [--seconds S]
 *
 * Opens (creating and migrating) the store at FILE, queues the deliveries,
 * releases the waiting ones if asked (as leakmond does when it starts),
 * then runs the loop until N deliveries were delivered in this run or S
 * seconds passed (default 20). Prints
 *   queued NAME DELIVERY_ID
 *   attempt MS NAME DELIVERY_ID N STATUS delivered|failed|expired [ERROR]
 *   row NAME DELIVERY_ID STATE ATTEMPTS
 * where MS is the time since the loop started, in milliseconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <ev.h>
#include <jansson.h>
#include <sqlite3.h>

#include "conf.h"
#include "outbox.h"
#include "store.h"
#include "webhook.h"

struct run {
	struct ev_loop *loop;
	double t0;
	int delivered, until;
};

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void on_attempt(void *ctx, const struct lm_webhook_attempt *a)
{
	struct run *r = ctx;

	printf("attempt %.0f %s %s %d %ld %s%s%s\n", (now_s() - r->t0) * 1000, a->webhook,
	       a->delivery_id, a->attempt, a->status,
	       a->delivered ? "delivered" : a->expired ? "expired" : "failed",
	       a->error ? " " : "", a->error ? a->error : "");
	fflush(stdout);
	if (a->delivered && ++r->delivered >= r->until && r->until > 0)
		ev_break(r->loop, EVBREAK_ALL);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static int usage(void)
{
	fprintf(stderr, "usage: t_webhook --db FILE [--hook NAME URL SECRET|- TIMEOUT_MS MAX_AGE_MS]... "
		"[--queue NAME]... [--until N] [--seconds S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct lm_conf_webhook hooks[8];
	const char *queue[16], *db_path = NULL, *release_why = NULL;
	int waiting[16];
	size_t nhooks = 0, nqueue = 0, i;
	double seconds = 20;
	struct lm_store *store;
	struct lm_webhook_sender *sender;
	struct lm_err err;
	struct run r = { 0 };
	ev_timer deadline;
	sqlite3_stmt *st;
	int a;

	memset(hooks, 0, sizeof(hooks));
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--db") && a + 1 < argc) {
			db_path = argv[++a];
		} else if (!strcmp(argv[a], "--hook") && a + 5 < argc && nhooks < 8) {
			struct lm_conf_webhook *h = &hooks[nhooks++];
			h->name = argv[a + 1];
			h->url = argv[a + 2];
			h->secret_file = strcmp(argv[a + 3], "-") ? argv[a + 3] : NULL;
			h->timeout_ms = strtoull(argv[a + 4], NULL, 10);
			h->max_age_ms = strtoull(argv[a + 5], NULL, 10);
			a += 5;
		} else if ((!strcmp(argv[a], "--queue") || !strcmp(argv[a], "--queue-waiting")) &&
			   a + 1 < argc && nqueue < 16) {
			waiting[nqueue] = !strcmp(argv[a], "--queue-waiting");
			queue[nqueue++] = argv[++a];
		} else if (!strcmp(argv[a], "--release-waiting") && a + 1 < argc) {
			release_why = argv[++a];
		} else if (!strcmp(argv[a], "--until") && a + 1 < argc) {
			r.until = atoi(argv[++a]);
		} else if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
			seconds = atof(argv[++a]);
		} else {
			return usage();
		}
	}
	if (!db_path)
		return usage();
	if (lm_store_open(db_path, LM_STORE_READWRITE, &store, &err)) {
		fprintf(stderr, "t_webhook: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < nqueue; i++) {
		char id[37];
		json_t *p = json_pack("{s:s, s:s, s:s, s:i}", "event", "leak.firing",
				      "level", "warning", "target", "test", "pid", 1234);
		if (lm_outbox_queue_as(lm_store_db(store), queue[i], "leak.firing", p, 0, waiting[i],
					(int64_t)(now_s() * 1e6), id, &err)) {
			fprintf(stderr, "t_webhook: %s\n", err.msg);
			return 1;
		}
		json_decref(p);
		printf("queued%s %s %s\n", waiting[i] ? "-waiting" : "", queue[i], id);
	}
	if (release_why) {
		json_t *f = json_pack("{s:[], s:s}", "holders", "holders_error", release_why);
		unsigned n = 0;
		if (lm_outbox_release(lm_store_db(store), 0, INT64_MAX, f,
				      (int64_t)(now_s() * 1e6), &n, &err)) {
			fprintf(stderr, "t_webhook: %s\n", err.msg);
			return 1;
		}
		json_decref(f);
		printf("released %u\n", n);
	}
	fflush(stdout);
	r.loop = EV_DEFAULT;
	r.t0 = now_s();
	if (lm_webhook_sender_new(r.loop, lm_store_db(store), hooks, nhooks, on_attempt, &r,
				  &sender, &err)) {
		fprintf(stderr, "t_webhook: %s\n", err.msg);
		return 1;
	}
	ev_timer_init(&deadline, on_deadline, seconds, 0.);
	ev_timer_start(r.loop, &deadline);
	ev_run(r.loop, 0);
	lm_webhook_sender_free(sender);
	if (sqlite3_prepare_v2(lm_store_db(store), "SELECT webhook, delivery_id, state, attempts "
			       "FROM webhook_deliveries ORDER BY id", -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("row %s %s %s %d\n", sqlite3_column_text(st, 0),
			       sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			       sqlite3_column_int(st, 3));
		sqlite3_finalize(st);
	}
	lm_store_close(store);
	return 0;
}
