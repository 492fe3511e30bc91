/* SPDX-License-Identifier: MIT */
/*
 * incident.c - one notification per process's incident, built from the
 * alerts stored for it (see incident.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "census_json.h"
#include "incident.h"
#include "outbox.h"
#include "units.h"

/* One alert of the incident as stored. */
struct member {
	int64_t row;
	char alert_id[37];
	char kind[16];
	char *name;
	int level;
	int firing;
	int64_t count, bytes, samples, opened_at_us, resolved_at_us;
	double bytes_per_hour, count_per_hour, confidence;
};

struct incident {
	struct member *m;	/* by id: m[0] is the lead */
	size_t n;
	size_t nfiring;
	int level_firing;	/* highest level of the firing alerts */
	int level_all;		/* highest level of any */
};

static void incident_free(struct incident *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		free(in->m[i].name);
	free(in->m);
}

static void read_member(sqlite3_stmt *st, struct member *m)
{
	const char *name = (const char *)sqlite3_column_text(st, 3);

	memset(m, 0, sizeof(*m));
	m->row = sqlite3_column_int64(st, 0);
	snprintf(m->alert_id, sizeof(m->alert_id), "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(m->kind, sizeof(m->kind), "%s", (const char *)sqlite3_column_text(st, 2));
	m->name = strdup(name ? name : "");
	m->level = lm_alert_level_from_name((const char *)sqlite3_column_text(st, 4));
	m->firing = !strcmp((const char *)sqlite3_column_text(st, 5), "firing");
	m->count = sqlite3_column_int64(st, 6);
	m->bytes = sqlite3_column_int64(st, 7);
	m->bytes_per_hour = sqlite3_column_double(st, 8);
	m->count_per_hour = sqlite3_column_double(st, 9);
	m->confidence = sqlite3_column_double(st, 10);
	m->samples = sqlite3_column_int64(st, 11);
	m->opened_at_us = sqlite3_column_int64(st, 12);
	m->resolved_at_us = sqlite3_column_int64(st, 13);
}

static int load_incident(const struct lm_incident_ctx *c, struct incident *in,
			 struct lm_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(in, 0, sizeof(*in));
	if (sqlite3_prepare_v2(c->db, "SELECT id, alert_id, kind, name, level, state, count, "
			       "bytes, bytes_per_hour, count_per_hour, confidence, samples, "
			       "opened_at_us, resolved_at_us FROM leak_alerts "
			       "WHERE instance_id = ?1 AND incident_id = ?2 ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return lm_err_set(err, LM_EDB, "alerts: reading an incident: %s",
				  sqlite3_errmsg(c->db));
	sqlite3_bind_int64(st, 1, c->instance_id);
	sqlite3_bind_text(st, 2, c->incident_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct member *m;
		void *p = realloc(in->m, (in->n + 1) * sizeof(*in->m));
		if (!p)
			break;
		in->m = p;
		m = &in->m[in->n];
		read_member(st, m);
		if (!m->name)
			break;
		in->n++;
		if (m->level > in->level_all)
			in->level_all = m->level;
		if (m->firing) {
			in->nfiring++;
			if (m->level > in->level_firing)
				in->level_firing = m->level;
		}
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		incident_free(in);
		return lm_err_set(err, LM_ENOMEM, "alerts: out of memory reading an incident");
	}
	if (rc != SQLITE_DONE) {
		incident_free(in);
		return lm_err_set(err, LM_EDB, "alerts: reading an incident: %s",
				  sqlite3_errmsg(c->db));
	}
	return 0;
}

static json_t *json_eta(double v)
{
	return isfinite(v) ? json_integer((json_int_t)llround(v)) : json_null();
}

static json_t *json_time(int64_t us)
{
	char ts[32];

	if (!us)
		return json_null();
	lm_format_utc(us, ts, sizeof(ts));
	return json_string(ts);
}

/* One alert of the incident as "types" lists it. */
static json_t *member_json(const struct member *m)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "kind", json_string(m->kind));
	json_object_set_new(o, "name", lm_json_name(m->name));	/* the target's */
	json_object_set_new(o, "alert_id", json_string(m->alert_id));
	json_object_set_new(o, "state", json_string(m->firing ? "firing" : "resolved"));
	json_object_set_new(o, "level", json_string(lm_alert_level_name(m->level)));
	json_object_set_new(o, "count", json_integer((json_int_t)m->count));
	json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
	json_object_set_new(o, "bytes_per_hour", json_integer((json_int_t)llround(m->bytes_per_hour)));
	json_object_set_new(o, "count_per_hour", json_integer((json_int_t)llround(m->count_per_hour)));
	json_object_set_new(o, "confidence", json_real(floor(m->confidence * 1e6) / 1e6));
	json_object_set_new(o, "opened_at", json_time(m->opened_at_us));
	json_object_set_new(o, "resolved_at", json_time(m->firing ? 0 : m->resolved_at_us));
	return o;
}

static json_t *types_json(const struct incident *in)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < in->n && i < LM_INCIDENT_MAX_TYPES; i++)
		json_array_append_new(a, member_json(&in->m[i]));
	return a;
}

/* The payload: the lead's fields as one alert had them, plus the incident. */
static json_t *payload(const struct lm_incident_ctx *c, const struct incident *in,
		       const char *event, int level)
{
	const struct member *lead = &in->m[0];
	json_t *p = json_object(), *type = json_object(), *growth = json_object();
	json_t *mem = json_object();

	if (!p || !type || !growth || !mem) {
		json_decref(p);
		json_decref(type);
		json_decref(growth);
		json_decref(mem);
		return NULL;
	}
	json_object_set_new(p, "event", json_string(event));
	json_object_set_new(p, "level", json_string(lm_alert_level_name(level)));
	json_object_set_new(p, "alert_id", json_string(lead->alert_id));
	json_object_set_new(p, "incident_id", json_string(c->incident_id));
	json_object_set_new(p, "delivery_id", json_null());	/* set when queued */
	json_object_set_new(p, "host", json_string(c->host));
	json_object_set_new(p, "target", json_string(c->target ? c->target : ""));
	json_object_set_new(p, "pid", json_integer(c->pid));
	/* The exe path and the type names are the target's: escaped, so that
	 * invalid UTF-8 cannot make json_string() drop them. */
	json_object_set_new(p, "exe", lm_json_name(c->exe));
	json_object_set_new(type, "kind", json_string(lead->kind));
	json_object_set_new(type, "name", lm_json_name(lead->name));
	json_object_set_new(p, "type", type);
	json_object_set_new(p, "count", json_integer((json_int_t)lead->count));
	json_object_set_new(p, "bytes", json_integer((json_int_t)lead->bytes));
	json_object_set_new(growth, "bytes_per_hour", json_integer((json_int_t)llround(lead->bytes_per_hour)));
	json_object_set_new(growth, "count_per_hour", json_integer((json_int_t)llround(lead->count_per_hour)));
	json_object_set_new(growth, "samples", json_integer((json_int_t)lead->samples));
	json_object_set_new(growth, "window_start", json_time(c->since_us));
	json_object_set_new(growth, "confidence", json_real(floor(lead->confidence * 1e6) / 1e6));
	json_object_set_new(p, "growth", growth);
	json_object_set_new(p, "types", types_json(in));
	if (in->n > LM_INCIDENT_MAX_TYPES)
		json_object_set_new(p, "types_left_off",
				    json_integer((json_int_t)(in->n - LM_INCIDENT_MAX_TYPES)));
	json_object_set_new(mem, "rss_bytes", json_integer((json_int_t)c->rss_now));
	json_object_set_new(mem, "owned_bytes", c->owned_now > 0 ?
			    json_integer((json_int_t)c->owned_now) : json_null());
	json_object_set_new(mem, "limit_bytes", isfinite(c->eta->limit) ?
			    json_integer((json_int_t)c->eta->limit) : json_null());
	json_object_set_new(mem, "eta_seconds", json_eta(c->eta->eta_s));
	json_object_set_new(mem, "eta_seconds_pessimistic", json_eta(c->eta->eta_pess_s));
	json_object_set_new(p, "memory", mem);
	/* Filled in later (lm_outbox_release) when the daemon has searched
	 * the heap for chains; empty when holders are off. */
	json_object_set_new(p, "holders", json_array());
	return p;
}

/* The firing type (not a whole-process series) growing fastest, or NULL. */
static const struct member *fastest_type(const struct incident *in)
{
	const struct member *best = NULL;
	size_t i;

	for (i = 0; i < in->n; i++)
		if (in->m[i].firing && strcmp(in->m[i].kind, LM_ALERT_KIND_PROCESS) &&
		    (!best || in->m[i].bytes_per_hour > best->bytes_per_hour))
			best = &in->m[i];
	return best;
}

/* Should this firing wait for holder chains? For one type: the fastest. */
static int wants_holders(const struct lm_incident_ctx *c, const struct incident *in,
			 json_t *p, struct lm_alert_summary *sum)
{
	const struct member *t = fastest_type(in);
	struct lm_alert_need *n;
	json_t *ht;

	if (!c->nwebhooks || !c->holders || !t)
		return 0;
	if (sum->nneed == LM_ALERT_MAX_NEED || strlen(t->name) >= sizeof(n->name)) {
		json_object_set_new(p, "holders_error", json_string(
			sum->nneed == LM_ALERT_MAX_NEED ? "too many alerts at once: not searched" :
			"type name too long to search"));
		return 0;
	}
	n = &sum->need[sum->nneed++];
	n->alert_row = in->m[0].row;	/* the deliveries reference the lead */
	snprintf(n->kind, sizeof(n->kind), "%s", t->kind);
	snprintf(n->name, sizeof(n->name), "%s", t->name);
	if ((ht = json_object())) {
		json_object_set_new(ht, "kind", json_string(t->kind));
		json_object_set_new(ht, "name", lm_json_name(t->name));
		json_object_set_new(p, "holders_type", ht);
	}
	return 1;
}

/* Which event this evaluation calls for, and at which level; NULL: none. */
static const char *event_of(const struct lm_incident_ctx *c, const struct incident *in,
			    int *level)
{
	if (!in->nfiring) {
		*level = in->level_all;
		return c->resolve_reason ? "leak.resolved" : NULL;
	}
	*level = in->level_firing;
	if (!c->was_open || in->level_firing > c->level_before)
		return "leak.firing";
	return NULL;
}

int lm_incident_notify(const struct lm_incident_ctx *c, struct lm_alert_summary *sum,
		       struct lm_err *err)
{
	struct incident in;
	const char *event;
	json_t *p;
	size_t i;
	int level = LM_ALERT_NONE, waiting = 0, rc = 0;

	if (!c->incident_id || !c->incident_id[0] || !c->nwebhooks)
		return 0;
	if ((rc = load_incident(c, &in, err)))
		return rc;
	if (!in.n || !(event = event_of(c, &in, &level))) {
		incident_free(&in);
		return 0;
	}
	if (!(p = payload(c, &in, event, level))) {
		incident_free(&in);
		return lm_err_set(err, LM_ENOMEM, "alerts: out of memory for a payload");
	}
	if (!in.nfiring)
		json_object_set_new(p, "reason", json_string(c->resolve_reason));
	else
		waiting = wants_holders(c, &in, p, sum);
	for (i = 0; i < c->nwebhooks && !rc; i++) {
		rc = lm_outbox_queue_as(c->db, c->webhooks[i], event, p, in.m[0].row, waiting,
					c->now_us, NULL, err);
		if (!rc)
			sum->queued++;
	}
	json_decref(p);
	incident_free(&in);
	return rc;
}
