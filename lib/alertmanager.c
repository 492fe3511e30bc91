/* SPDX-License-Identifier: MIT */
/*
 * alertmanager.c - the Alertmanager body of a leak alert (alertmanager.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alertmanager.h"
#include "units.h"

static const char *const levels[] = { "info", "warning", "critical" };

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A number as annotation text (annotations are strings). */
static json_t *num_text(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.0f", v);
	return json_string(buf);
}

static json_t *types_text(json_t *p);

static json_t *annotations(json_t *p)
{
	json_t *a = json_object(), *type = json_object_get(p, "type");
	json_t *eta = json_object_get(json_object_get(p, "memory"), "eta_seconds");
	json_t *holders = json_object_get(p, "holders");
	double bph = json_number_value(json_object_get(json_object_get(p, "growth"),
						       "bytes_per_hour"));
	char rate[32], ttl[32], summary[1024], *chains = NULL;
	size_t i, len = 0;

	if (!a)
		return NULL;
	lm_format_rate(bph, rate, sizeof(rate));
	if (json_is_number(eta))
		lm_format_span(json_number_value(eta), LM_SPAN_SECONDS, ttl, sizeof(ttl));
	else
		snprintf(ttl, sizeof(ttl), "no limit in sight");
	snprintf(summary, sizeof(summary), "%s %s of %s on %s grows %s; memory limit in %s",
		 str(type, "kind"), str(type, "name"), str(p, "target"), str(p, "host"), rate,
		 ttl);
	/* Holder chains, one a line. */
	for (i = 0; i < json_array_size(holders); i++) {
		const char *c = json_string_value(json_array_get(holders, i));
		size_t cl = c ? strlen(c) : 0;
		char *n = realloc(chains, len + cl + 2);
		if (!n)
			break;
		chains = n;
		if (len)
			chains[len++] = '\n';
		memcpy(chains + len, c ? c : "", cl);
		len += cl;
		chains[len] = '\0';
	}
	json_object_set_new(a, "summary", json_string(summary));
	json_object_set_new(a, "rate", json_string(rate));
	json_object_set_new(a, "time_to_limit", json_string(ttl));
	json_object_set_new(a, "holders", json_string(chains ? chains :
			    json_is_string(json_object_get(p, "holders_error")) ?
			    str(p, "holders_error") : ""));
	free(chains);
	json_object_set_new(a, "bytes_per_hour", num_text(bph));
	if (json_is_number(eta))
		json_object_set_new(a, "eta_seconds", num_text(json_number_value(eta)));
	json_object_set_new(a, "pid", num_text((double)json_integer_value(json_object_get(p, "pid"))));
	json_object_set_new(a, "exe", json_string(str(p, "exe")));
	json_object_set_new(a, "alert_id", json_string(str(p, "alert_id")));
	json_object_set_new(a, "delivery_id", json_string(str(p, "delivery_id")));
	json_object_set_new(a, "types", types_text(p));
	return a;
}

/* The incident's growing types, one a line: "kind name rate/h (state)". */
static json_t *types_text(json_t *p)
{
	json_t *types = json_object_get(p, "types");
	char *text = NULL, line[1024], rate[32];
	size_t len = 0, i;
	json_t *out;

	for (i = 0; i < json_array_size(types); i++) {
		json_t *t = json_array_get(types, i);
		size_t ll;
		char *n;
		lm_format_rate(json_number_value(json_object_get(t, "bytes_per_hour")), rate,
			       sizeof(rate));
		ll = (size_t)snprintf(line, sizeof(line), "%s%s %s %s (%s)", len ? "\n" : "",
				      str(t, "kind"), str(t, "name"), rate, str(t, "state"));
		if (ll >= sizeof(line))
			ll = sizeof(line) - 1;
		if (!(n = realloc(text, len + ll + 1)))
			break;
		text = n;
		memcpy(text + len, line, ll + 1);
		len += ll;
	}
	out = json_string(text ? text : "");
	free(text);
	return out;
}

static json_t *labels(json_t *p, const char *severity)
{
	json_t *l = json_object(), *type = json_object_get(p, "type");

	if (!l)
		return NULL;
	json_object_set_new(l, "alertname", json_string(LM_ALERTMANAGER_ALERTNAME));
	json_object_set_new(l, "target", json_string(str(p, "target")));
	json_object_set_new(l, "kind", json_string(str(type, "kind")));
	json_object_set_new(l, "type", json_string(str(type, "name")));
	json_object_set_new(l, "severity", json_string(severity));
	json_object_set_new(l, "host", json_string(str(p, "host")));
	return l;
}

static json_t *alert(json_t *p, const char *severity, json_t *ann, const char *starts,
		     const char *ends)
{
	json_t *a = json_object();

	if (!a)
		return NULL;
	json_object_set_new(a, "labels", labels(p, severity));
	json_object_set(a, "annotations", ann);
	json_object_set_new(a, "startsAt", json_string(starts));
	json_object_set_new(a, "endsAt", json_string(ends));
	return a;
}

char *lm_alertmanager_body(const char *payload, int64_t starts_us, int64_t ends_us,
			   int64_t now_us)
{
	json_error_t jerr;
	json_t *p = json_loads(payload, 0, &jerr), *arr, *ann;
	char starts[32], ends[32], now[32], *out = NULL;
	const char *level;
	size_t i;

	if (!p || !json_is_object(json_object_get(p, "type"))) {
		json_decref(p);
		return NULL;
	}
	level = str(p, "level");
	lm_format_utc(starts_us, starts, sizeof(starts));
	lm_format_utc(ends_us, ends, sizeof(ends));
	lm_format_utc(now_us, now, sizeof(now));
	arr = json_array();
	ann = annotations(p);
	if (arr && ann) {
		json_array_append_new(arr, alert(p, level, ann, starts, ends));
		/* The quieter levels of a firing alert end now (labels are the
		 * identity: an escalated alert is another alert). */
		if (strcmp(str(p, "event"), "leak.firing") == 0)
			for (i = 0; i < sizeof(levels) / sizeof(levels[0]) &&
				    strcmp(levels[i], level) != 0; i++)
				json_array_append_new(arr, alert(p, levels[i], ann, starts, now));
		out = json_dumps(arr, JSON_COMPACT);
	}
	json_decref(ann);
	json_decref(arr);
	json_decref(p);
	return out;
}
