/* SPDX-License-Identifier: MIT */
/*
 * escape.c - names from a target, made safe to show (see escape.h).
 *
 * One pass over the bytes: each step either recognises one valid UTF-8
 * sequence (copied as is, unless it encodes a control or format character)
 * or takes one byte and writes it as \xHH. The validity rules are those of
 * RFC 3629 (the table of well-formed byte sequences in the Unicode
 * standard): the second byte's range depends on the first, which excludes
 * overlong forms, surrogates and code points above U+10FFFF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf)
		n = 2;
	else if (b >= 0xe0 && b <= 0xef)
		n = 3;
	else if (b >= 0xf0 && b <= 0xf4)
		n = 4;
	else
		return 0;	/* continuation byte, overlong lead, or beyond U+10FFFF */
	if (b == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (b == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (b == 0xf0)
		lo = 0x90;	/* overlong */
	else if (b == 0xf4)
		hi = 0x8f;	/* above U+10FFFF */
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	*cp = b & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return n;
}

/* Characters shown as escapes although they are valid UTF-8. */
static int hidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* Append n bytes of piece if they fit whole; count them anyway. */
static void put(char *out, size_t cap, size_t *used, int *full, const char *piece,
		size_t n)
{
	if (!*full && cap && *used + n < cap)
		memcpy(out + *used, piece, n);
	else
		*full = 1;
	*used += n;
}

size_t lm_escape(const char *s, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, used = 0, n, k, kept = 0;
	int full = 0;
	uint32_t cp;

	while (i < len) {
		n = utf8_seq(u + i, len - i, &cp);
		if (n && !hidden(cp)) {
			put(out, cap, &used, &full, s + i, n);
		} else {
			for (k = 0; k < (n ? n : 1); k++) {
				char e[4] = { '\\', 'x', hex[u[i + k] >> 4], hex[u[i + k] & 15] };
				put(out, cap, &used, &full, e, sizeof(e));
			}
		}
		if (!full)
			kept = used;
		i += n ? n : 1;
	}
	if (cap)
		out[kept < cap ? kept : cap - 1] = '\0';
	return used;
}

const char *lm_escape_str(const char *s, char *out, size_t cap)
{
	if (!s)
		s = "";
	lm_escape(s, strlen(s), out, cap);
	return out;
}

char *lm_escape_dup(const char *s)
{
	size_t len, need;
	char *out;

	if (!s)
		s = "";
	len = strlen(s);
	need = lm_escape(s, len, NULL, 0) + 1;
	out = malloc(need);
	if (out)
		lm_escape(s, len, out, need);
	return out;
}
