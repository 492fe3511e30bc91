/* SPDX-License-Identifier: MIT */
/*
 * demangle.h - C++ names made readable, with bounded work.
 *
 * Names come from a target's files, so they are untrusted: a name longer
 * than LM_MAX_DEMANGLE bytes is not demangled, nor one whose demangled text
 * would be more than twice that (a crafted name can expand a lot).
 */
#ifndef LM_DEMANGLE_H
#define LM_DEMANGLE_H

#define LM_MAX_DEMANGLE 8192

/* Demangle a C++ symbol or type name; returns malloc'd text or NULL if the
 * name is not mangled. Types: pass "3Foo" style (no _Z prefix) with is_type. */
char *lm_demangle(const char *mangled, int is_type);

#endif
