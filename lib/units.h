/* SPDX-License-Identifier: MIT */
/*
 * units.h - sizes written for people, and times in one form.
 *
 * One style everywhere (the CLI, leakmond's log and demo, alert texts, the
 * report): decimal units with one decimal, "812 B", "53.2 MB", "-4.8 kB".
 * Decimal because the figures are rates and totals read at a glance, not
 * page counts; exact byte counts go to --json and the database.
 *
 * Times: instants in ISO-8601 UTC; durations in d, h, min, s and ms with no
 * space between number and unit ("2h 3min"), the units leakmond.conf reads.
 */
#ifndef LM_UNITS_H
#define LM_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* bytes (may be negative: a shrinking rate) into buf: "1.1 MB". */
void lm_format_bytes(double bytes, char *buf, size_t len);

/* A growth rate, bytes per hour, in the same style: "1.1 MB/h", "-800 B/h". */
void lm_format_rate(double bytes_per_hour, char *buf, size_t len);

/* Microseconds since the epoch as ISO-8601 UTC, the form of the database
 * views, JSON and payloads: "2026-11-24T22:00:00Z". */
void lm_format_utc(int64_t us, char *buf, size_t len);

/* A configured duration, in milliseconds, in the largest unit that divides
 * it exactly, so it reads back as it is written in leakmond.conf: "12min",
 * "250ms", "3h", "2d". */
void lm_format_duration(uint64_t ms, char *buf, size_t len);

/* A span of seconds (a time to the memory limit), rounded to the second and
 * shown in its two largest units: "2d 4h", "7h 50min", "5min". Below a
 * minute, finest decides: LM_SPAN_MINUTES prints "0min" (tables whose
 * column reads in minutes), LM_SPAN_SECONDS prints "50s" (a negative span
 * is "0s"). */
enum lm_span_finest { LM_SPAN_MINUTES, LM_SPAN_SECONDS };
void lm_format_span(double seconds, enum lm_span_finest finest, char *buf, size_t len);

#endif
