/* SPDX-License-Identifier: MIT */
/*
 * census_json.c - the census as one JSON object:
 *   {"pid", "exe", "glibc", "source", "taken_at", "pause_us", "walk_us",
 *    "totals": {...}, "types": [{"kind", "name", "count", "bytes"}, ...]}
 * plus "partial" and "warning" when the walk could not cover everything.
 * Names and paths come from the target: they go through lm_escape, so the
 * document is valid UTF-8 and no name is dropped (json_string refuses
 * invalid UTF-8).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "census_json.h"
#include "escape.h"
#include "units.h"

json_t *lm_json_name(const char *s)
{
	char *e;
	json_t *j;

	if (!s)
		return json_null();
	e = lm_escape_dup(s);
	j = e ? json_string(e) : NULL;
	free(e);
	return j;
}

static json_t *totals_json(const struct lm_totals *t)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "inuse_count", (json_int_t)t->inuse_count,
			 "inuse_bytes", (json_int_t)t->inuse_bytes,
			 "free_count", (json_int_t)t->free_count,
			 "free_bytes", (json_int_t)t->free_bytes,
			 "mmapped_count", (json_int_t)t->mmapped_count,
			 "mmapped_bytes", (json_int_t)t->mmapped_bytes,
			 "top_bytes", (json_int_t)t->top_bytes,
			 "arenas", (json_int_t)t->arenas,
			 "rss_bytes", (json_int_t)t->rss_bytes,
			 "pymalloc_count", (json_int_t)t->py_blocks,
			 "pymalloc_bytes", (json_int_t)t->py_bytes);
}

static json_t *types_json(const struct lm_census *c, size_t top)
{
	json_t *arr = json_array();
	size_t i, n = top && top < c->ntypes ? top : c->ntypes;

	for (i = 0; arr && i < n; i++) {
		const struct lm_type_stat *t = &c->types[i];
		if (json_array_append_new(arr, json_pack("{s:s, s:o, s:I, s:I}",
				"kind", lm_kind_name(t->kind), "name", lm_json_name(t->name),
				"count", (json_int_t)t->count,
				"bytes", (json_int_t)t->bytes)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *lm_census_to_json(const struct lm_census *c, size_t top)
{
	char when[32];
	json_t *o;

	lm_format_utc(c->taken_at_us, when, sizeof(when));
	o = json_pack("{s:i, s:o, s:o, s:s, s:s, s:I, s:I, s:o, s:o}",
		      "pid", (int)c->pid, "exe", lm_json_name(c->exe),
		      "glibc", lm_json_name(c->glibc),
		      "source", c->source, "taken_at", when,
		      "pause_us", (json_int_t)c->pause_us,
		      "walk_us", (json_int_t)c->walk_us,
		      "totals", totals_json(&c->totals),
		      "types", types_json(c, top));
	if (o && c->partial)
		json_object_set_new(o, "partial", json_true());
	if (o && c->warning)
		json_object_set_new(o, "warning", lm_json_name(c->warning));
	return o;
}
