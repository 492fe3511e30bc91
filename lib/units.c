/* SPDX-License-Identifier: MIT */
/*
 * units.c - sizes written for people (units.h).
 */
#include <math.h>
#include <stdio.h>

#include "units.h"

void lm_format_bytes(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	int u = 0;

	while (fabs(bytes) >= 1000.0 && u < 4)
		bytes /= 1000.0, u++;
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}
