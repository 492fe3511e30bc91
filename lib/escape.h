/* SPDX-License-Identifier: MIT */
/*
 * escape.h - names from a target, made safe to show.
 *
 * Type names (demangled C++ classes, symbol names), module paths, root
 * names and the like come from the target's memory and files: whoever
 * controls the target chooses their bytes. Printed raw they could move the
 * operator's cursor, recolour or retitle the terminal (escape sequences),
 * forge log lines, or, when not valid UTF-8, make jansson refuse the string
 * (json_string() returns NULL and the name would vanish from the JSON).
 *
 * lm_escape() keeps valid, printable UTF-8 as it is and writes every other
 * byte as the four characters \xHH (lower-case hex):
 *   - C0 controls 0x00-0x1f and DEL 0x7f,
 *   - C1 controls U+0080-U+009F (both bytes of their UTF-8 form),
 *   - the invisible bidirectional and line-separator format characters
 *     (U+200E, U+200F, U+2028-U+202E, U+2066-U+2069: all bytes),
 *   - every byte that is not part of a valid UTF-8 sequence (stray
 *     continuation bytes, overlong forms, surrogates, above U+10FFFF,
 *     truncated sequences).
 * The result is printable, valid UTF-8 and never contains a control
 * character, so it is fit for a terminal, a log line and json_string()
 * alike. A backslash stays a backslash: the form is for reading, not for
 * decoding back. Stored data (SQLite) keeps the raw bytes; only what leaves
 * the program goes through here.
 */
#ifndef LM_ESCAPE_H
#define LM_ESCAPE_H

#include <stddef.h>

/* Escape len bytes of s into out (cap bytes, always NUL-terminated when cap
 * > 0). Returns the length the whole result needs, as snprintf does; a
 * result cut short never ends inside an escape or a UTF-8 sequence. */
size_t lm_escape(const char *s, size_t len, char *out, size_t cap);

/* lm_escape of a NUL-terminated string (NULL is taken as ""), returning
 * out: for printf arguments. */
const char *lm_escape_str(const char *s, char *out, size_t cap);

/* The escaped form in a new string; NULL when out of memory. */
char *lm_escape_dup(const char *s);

#endif
