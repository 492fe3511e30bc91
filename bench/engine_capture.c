/* SPDX-License-Identifier: MIT */
/*
 * engine_capture - benchmark of the live memory source: how long a capture
 * stops the target, against how much it copies.
 *
 *   engine_capture PID [N]
 *
 * Runs N (default 3) live captures of PID back to back and prints, per
 * capture, one line:
 *   capture I pause_us P bytes B mb_per_ms R prepare_ms W peak_rss_kb K
 * where pause is the target's stopped time (lm_ptrace_stop to the last
 * detach), bytes what was copied, R = bytes / 1e6 / pause in ms, W the wall
 * time of the whole open (mostly pre-faulting our buffers while the target
 * runs) and K our own peak RSS.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "memsrc.h"

int main(int argc, char **argv)
{
	int pid, n, i;

	if (argc < 2) {
		fprintf(stderr, "usage: engine_capture PID [N]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	n = argc > 2 ? atoi(argv[2]) : 3;
	for (i = 0; i < n; i++) {
		struct lm_memsrc *src;
		struct lm_err err = { 0 };
		struct rusage ru;
		uint64_t t0 = lm_now_ns(), wall;
		int r = lm_memsrc_open_live(pid, NULL, &src, &err);

		wall = lm_now_ns() - t0;
		if (r < 0) {
			fprintf(stderr, "engine_capture: %s\n", err.msg);
			return 1;
		}
		getrusage(RUSAGE_SELF, &ru);
		printf("capture %d pause_us %" PRIu64 " bytes %" PRIu64 " mb_per_ms %.2f "
		       "prepare_ms %.0f peak_rss_kb %ld\n", i + 1, src->pause_ns / 1000,
		       src->capture_bytes,
		       src->pause_ns ? (double)src->capture_bytes / 1e6 / (src->pause_ns / 1e6) : 0.0,
		       (double)(wall - src->pause_ns) / 1e6, ru.ru_maxrss);
		fflush(stdout);
		lm_memsrc_close(src);
	}
	return 0;
}
