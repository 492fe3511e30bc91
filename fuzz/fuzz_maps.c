/* SPDX-License-Identifier: MIT */
/*
 * fuzz_maps.c - libFuzzer harness: /proc/PID/maps text (lib/proc.c's
 * lm_maps_parse, which the live source and the core source also use), then
 * lookups and a copy of what was parsed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct lm_maps maps = { 0 }, copy = { 0 };
	struct lm_err err = { 0 };
	size_t i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (lm_maps_parse(text, &maps, &err) == 0) {
		for (i = 0; i < maps.n; i++) {
			(void)lm_maps_find(&maps, maps.v[i].start);
			(void)lm_maps_find(&maps, maps.v[i].end - 1);
		}
		if (lm_maps_copy(&maps, &copy) == 0)
			lm_maps_free(&copy);
		lm_maps_free(&maps);
	}
	free(text);
	return 0;
}
