/* SPDX-License-Identifier: MIT */
/*
 * fuzz_core.c - libFuzzer harness: a core file from the input, opened as
 * `leakmon leaks/roots CORE` would: lm_snapshot_open (core source, symbols,
 * heap walk, classification), then the reference graph's leaks and the
 * root chains of one live chunk (which unwinds the threads).
 *
 * The input is the whole core file, written to a regular file (fz_file:
 * a core's path may not be a symbolic link such as /proc/self/fd/N). The last byte also picks the chunk asked about. Paths
 * in the core's NT_FILE note are opened as they are for any core (the
 * seed names this machine's libc).
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "refgraph.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lm_snapshot_opts opts = { .debug_root = "" };
	struct lm_snapshot *snap = NULL;
	struct lm_refgraph *g = NULL;
	struct lm_leaks *leaks = NULL;
	struct lm_root_paths *paths = NULL;
	struct lm_err err = { 0 };
	char path[128];
	size_t i, live = 0, pick = size ? data[size - 1] : 0;
	int rc;

	if (fz_file("core", data, size, path, sizeof(path)) < 0)
		return 0;
	opts.core_path = path;
	rc = lm_snapshot_open(&opts, &snap, &err);
	if (getenv("LM_FUZZ_VERBOSE"))	/* to check what a seed reaches */
		fprintf(stderr, "snapshot: rc %d, %zu chunks: %s\n", rc,
			snap ? lm_snapshot_nchunks(snap) : 0, err.msg);
	if (rc == 0 && lm_refgraph_new(snap, &g, &err) == 0) {
		if (lm_refgraph_leaks(g, &leaks, &err) == 0)
			lm_leaks_free(leaks);
		for (i = 0; i < lm_snapshot_nchunks(snap); i++) {
			if (!lm_chunk_is_live(lm_snapshot_chunk_state(snap, i)) || live++ != pick)
				continue;
			if (lm_refgraph_roots(g, i, 2, &paths, &err) == 0)
				lm_root_paths_free(paths);
			break;
		}
		lm_refgraph_free(g);
	}
	lm_snapshot_close(snap);
	return 0;
}
