/* SPDX-License-Identifier: MIT */
/*
 * t_alert.c - lib/alert on a real store, for tests/alert_store.test.
 *
 *   t_alert DB
 *
 * Writes the history of one instance into a fresh database at DB, one
 * census per simulated minute: a type "Leaky" grows 1 MiB per minute, a
 * type "Cache" fills in 5 minutes then stays, "string" stays flat; the
 * heap total follows their sum, RSS the heap plus 50 MiB, the memory it
 * owns the heap plus 20 MiB. After each
 * census it calls lm_alert_evaluate() (window 30 min, warmup 0, 12 samples,
 * limit 4 GiB, resolve_after 10 min, webhook "hook"). The leak stops at
 * minute 60 (its alerts resolve), starts again at minute 100 (new alerts),
 * and the instance ends at minute 150 (they resolve at once).
 * Prints each change ("opened ...", "resolved ...") and exits 0; the test
 * checks the tables and views with sqlite3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "classify.h"
#include "snapshot.h"
#include "store.h"

#define MiB (1024ULL * 1024)
#define MIN_US (60LL * 1000000)

int main(int argc, char **argv)
{
	struct lm_store *store;
	struct lm_err err;
	struct lm_alert_settings s;
	int64_t target, inst, t0 = 1800000000LL * 1000000, now = 0;
	const char *hooks[] = { "hook" };
	unsigned seed = 7;
	int minute;

	if (argc != 2) {
		fprintf(stderr, "usage: t_alert DB\n");
		return 2;
	}
	if (lm_store_open(argv[1], LM_STORE_READWRITE, &store, &err) ||
	    lm_store_target(store, "api", &target, &err) ||
	    lm_store_instance_open(store, target, 4242, 1000, "/usr/bin/api", t0, &inst, &err)) {
		fprintf(stderr, "t_alert: %s\n", err.msg);
		return 1;
	}
	lm_alert_settings_default(&s);
	s.warmup_us = 0;
	s.window_us = 30 * MIN_US;
	s.min_samples = 12;
	s.min_rate = 1 * MiB;	/* per hour */
	s.resolve_after_us = 10 * MIN_US;
	s.memory_limit = 4096 * MiB;

	for (minute = 0; minute < 150; minute++) {
		struct lm_type_stat types[3];
		struct lm_census c;
		struct lm_alert_summary sum;
		int64_t sid;
		/* leaks for an hour, stops for 40 minutes, leaks again */
		uint64_t leak = (uint64_t)(minute < 60 ? minute : minute < 100 ? 60 : minute - 40) * MiB;
		uint64_t cache = (uint64_t)(minute < 5 ? minute : 5) * 8 * MiB;
		uint64_t jitter = (uint64_t)(rand_r(&seed) % 64) * 1024;

		memset(&c, 0, sizeof(c));
		now = t0 + minute * MIN_US;
		types[0] = (struct lm_type_stat){ LM_KIND_CLASS, (char *)"Leaky", leak / 64 + 1, leak + jitter };
		types[1] = (struct lm_type_stat){ LM_KIND_CLASS, (char *)"Cache", cache / 256 + 1, cache + 4096 };
		types[2] = (struct lm_type_stat){ LM_KIND_STRING, (char *)"string", 1000, 64000 + jitter };
		c.pid = 4242;
		c.source = "live";
		c.taken_at_us = now;
		c.types = types;
		c.ntypes = 3;
		c.totals.inuse_bytes = types[0].bytes + types[1].bytes + types[2].bytes;
		c.totals.inuse_count = types[0].count + types[1].count + types[2].count;
		c.totals.rss_bytes = c.totals.inuse_bytes + 50 * MiB;
		c.totals.owned_bytes = c.totals.inuse_bytes + 20 * MiB;
		if (lm_store_add_snapshot(store, inst, &c, LM_STORE_OK, NULL, 0, &sid, &err) ||
		    lm_alert_evaluate(store, inst, &s, hooks, 1, "testhost", now, &sum, &err)) {
			fprintf(stderr, "t_alert: minute %d: %s\n", minute, err.msg);
			return 1;
		}
		if (sum.opened || sum.resolved || sum.escalated)
			printf("minute %d: opened %u escalated %u resolved %u open %u queued %u\n",
			       minute, sum.opened, sum.escalated, sum.resolved, sum.open, sum.queued);
	}
	/* The process ends: its open alerts resolve at once. */
	{
		struct lm_alert_summary sum;
		if (lm_store_instance_close(store, inst, now + MIN_US, &err) ||
		    lm_alert_evaluate(store, inst, &s, hooks, 1, "testhost", now + MIN_US, &sum, &err)) {
			fprintf(stderr, "t_alert: close: %s\n", err.msg);
			return 1;
		}
		printf("ended: resolved %u open %u\n", sum.resolved, sum.open);
	}
	lm_store_close(store);
	return 0;
}
