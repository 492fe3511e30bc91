/* SPDX-License-Identifier: MIT */
/*
 * units.h - sizes written for people.
 *
 * One style everywhere (the CLI, leakmond's log and demo, alert texts, the
 * report): decimal units with one decimal, "812 B", "53.2 MB", "-4.8 kB".
 * Decimal because the figures are rates and totals read at a glance, not
 * page counts; exact byte counts go to --json and the database.
 */
#ifndef LM_UNITS_H
#define LM_UNITS_H

#include <stddef.h>

/* bytes (may be negative: a shrinking rate) into buf: "1.1 MB". */
void lm_format_bytes(double bytes, char *buf, size_t len);

#endif
