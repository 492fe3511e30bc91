/* SPDX-License-Identifier: MIT */
/*
 * census_json.h - a census as JSON (the `leakmon stat --json` document; the
 * daemon's logs and tests use the same shape).
 */
#ifndef LM_CENSUS_JSON_H
#define LM_CENSUS_JSON_H

#include <jansson.h>

#include "snapshot.h"

/* New reference, or NULL when out of memory. */
json_t *lm_census_to_json(const struct lm_census *c, size_t top);

/* A JSON string of a name or path a target chose, escaped (escape.h):
 * always valid UTF-8, never NULL but when out of memory; json null for
 * NULL. New reference. */
json_t *lm_json_name(const char *s);

#endif
