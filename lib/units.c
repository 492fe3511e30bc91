/* SPDX-License-Identifier: MIT */
/*
 * units.c - sizes and times written for people (units.h).
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

void lm_format_rate(double bytes_per_hour, char *buf, size_t len)
{
	char b[32];

	lm_format_bytes(bytes_per_hour, b, sizeof(b));
	snprintf(buf, len, "%s/h", b);
}

void lm_format_utc(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void lm_format_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct { uint64_t ms; const char *u; } units[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "min" }, { 1000, "s" },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms && ms % units[i].ms == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].ms),
				 units[i].u);
			return;
		}
	snprintf(buf, len, "%llums", (unsigned long long)ms);
}

void lm_format_span(double seconds, enum lm_span_finest finest, char *buf, size_t len)
{
	long long v = (long long)llround(seconds);

	if (v >= 86400)
		snprintf(buf, len, "%lldd %lldh", v / 86400, v % 86400 / 3600);
	else if (v >= 3600)
		snprintf(buf, len, "%lldh %lldmin", v / 3600, v % 3600 / 60);
	else if (finest == LM_SPAN_SECONDS && v < 60)
		snprintf(buf, len, "%llds", v < 0 ? 0 : v);
	else
		snprintf(buf, len, "%lldmin", v / 60);
}
