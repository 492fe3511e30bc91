/* SPDX-License-Identifier: MIT */
/*
 * t_holders.c - lib/holders on a live process, for tests/alert_holders_lib.test.
 *
 *   t_holders [-c] PID PER_TYPE KIND NAME [KIND NAME]...
 *
 * Opens a snapshot of PID, finds up to PER_TYPE holder chains of each type
 * in one call, and prints for each type
 *   type KIND NAME
 *   chain LINE        (one per distinct chain, most frequent first)
 *   error SENTENCE    (when there is no chain)
 * -c: as leakmond does, a census of PID through a symbol cache first (which
 * then keeps a census's tables, without functions), and the snapshot
 * through the same cache.
 */
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "holders.h"
#include "snapshot.h"

/* A census through a new cache, which o keeps for what follows. */
static int census_first(struct lm_snapshot_opts *o, struct lm_err *err)
{
	struct lm_census *c;

	if (lm_symcache_new(&o->symcache, err) < 0 || lm_snapshot_census(o, &c, err) < 0)
		return -1;
	lm_census_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	struct lm_snapshot_opts o = { .mode = LM_MODE_LIVE };
	struct lm_holders_type types[LM_HOLDERS_MAX_TYPES + 4] = { { 0 } };
	struct lm_snapshot *snap = NULL;
	struct lm_err err = { 0 };
	size_t n = 0, i, k;
	int a, cached = argc > 1 && strcmp(argv[1], "-c") == 0;

	argc -= cached;
	argv += cached;
	if (argc < 5 || (argc - 3) % 2) {
		fprintf(stderr, "usage: t_holders [-c] PID PER_TYPE KIND NAME [KIND NAME]...\n");
		return 2;
	}
	o.pid = atoi(argv[1]);
	for (a = 3; a + 1 < argc && n < sizeof(types) / sizeof(types[0]); a += 2, n++) {
		types[n].kind = argv[a];
		types[n].name = argv[a + 1];
	}
	if ((cached && census_first(&o, &err) < 0) || lm_snapshot_open(&o, &snap, &err) < 0 ||
	    lm_holders_find(snap, types, n, strtoul(argv[2], NULL, 10), &err) < 0) {
		fprintf(stderr, "t_holders: %s\n", err.msg);
		lm_snapshot_close(snap);
		return 1;
	}
	for (i = 0; i < n; i++) {
		printf("type %s %s\n", types[i].kind, types[i].name);
		for (k = 0; k < types[i].nchains; k++)
			printf("chain %s\n", types[i].chains[k]);
		if (!types[i].nchains)
			printf("error %s\n", types[i].error);
	}
	lm_holders_clear(types, n);
	lm_snapshot_close(snap);
	lm_symcache_free(o.symcache);
	return 0;
}
