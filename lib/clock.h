/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the two clocks leakmon reads.
 *
 * lm_now_ns() measures durations (pauses, walks, deadlines): it is
 * CLOCK_MONOTONIC, which no clock adjustment moves. lm_wall_us() stamps
 * events for people and for the database: microseconds since the Unix
 * epoch (UTC), the unit of every *_us column (store.h).
 */
#ifndef LM_CLOCK_H
#define LM_CLOCK_H

#include <stdint.h>

uint64_t lm_now_ns(void);	/* CLOCK_MONOTONIC in ns */
int64_t lm_wall_us(void);	/* CLOCK_REALTIME in us since the epoch */

#endif
