/* SPDX-License-Identifier: MIT */
/*
 * units.h - sizes written for people, and times in one form.
 *
 * One style everywhere (the CLI, leakmond's log and demo, alert texts, the
 * report): decimal units with one decimal, "812 B", "53.2 MB", "-4.8 kB".
 * Decimal because the figures are rates and totals read at a glance, not
 * page counts; exact byte counts go to --json and the database.
 */
#ifndef LM_UNITS_H
#define LM_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* bytes (may be negative: a shrinking rate) into buf: "1.1 MB". */
void lm_format_bytes(double bytes, char *buf, size_t len);

/* Microseconds since the epoch as ISO-8601 UTC, the form of the database
 * views, JSON and payloads: "2026-11-24T22:00:00Z". */
void lm_format_utc(int64_t us, char *buf, size_t len);

#endif
