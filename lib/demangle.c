/* SPDX-License-Identifier: MIT */
/*
 * demangle.c - C++ names through the C++ runtime's demangler (demangle.h).
 */
#include <stdlib.h>
#include <string.h>

#include "demangle.h"

/* From the C++ runtime (libstdc++); the build links -lstdc++. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *lm_demangle(const char *mangled, int is_type)
{
	int status = 0;
	char *out;

	if (!mangled || !*mangled)
		return NULL;
	if (!is_type && strncmp(mangled, "_Z", 2) != 0)
		return NULL;
	if (strnlen(mangled, LM_MAX_DEMANGLE + 1) > LM_MAX_DEMANGLE)
		return NULL;	/* a file's names are untrusted: keep the work bounded */
	out = __cxa_demangle(mangled, NULL, NULL, &status);
	if (status != 0 || (out && strlen(out) > 2 * LM_MAX_DEMANGLE)) {
		free(out);	/* failed, or a crafted name that expands */
		return NULL;
	}
	return out;
}
