/* SPDX-License-Identifier: MIT */
/*
 * fuzz_proc.c - libFuzzer harness: /proc/PID/stat and /proc/PID/status
 * text (lib/proc.c's lm_proc_parse_stat and lm_proc_parse_field: a comm may
 * hold anything, spaces and parentheses included).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "VmRSS", "VmSize", "Uid", "Private_Dirty", "" };
	char *text = malloc(size + 1);
	struct lm_proc_status st = { 0 };
	unsigned long long v;
	size_t i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)lm_proc_parse_stat(text, &st);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		(void)lm_proc_parse_field(text, keys[i], &v);
	free(text);
	return 0;
}
