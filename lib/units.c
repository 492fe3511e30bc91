/* SPDX-License-Identifier: MIT */
/*
 * units.c - sizes written for people (units.h).
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "units.h"

void lm_format_bytes(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	int u = 0;

	while (fabs(bytes) >= 1000.0 && u < 4)
		bytes /= 1000.0, u++;
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void lm_format_utc(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
