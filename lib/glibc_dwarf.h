/* SPDX-License-Identifier: MIT */
/*
 * glibc_dwarf.h - glibc's malloc layout read from libc's own debug info.
 *
 * Where the debug file of the target's libc is installed (Debian's
 * libc6-dbg: /usr/lib/debug/.build-id/xx/rest.debug), its DWARF says where
 * every field of malloc_state, malloc_par, heap_info, tcache_perthread_struct
 * and tcache_entry sits in that very build: no table can be more exact. The
 * walker prefers it to the table. Facts that are code, not structure
 * (safe-linking, the mmapped chunk's tail, how many tcache bins hold one
 * size, HEAP_MAX_SIZE, the tcache dummy), still come from the table entry
 * given as base.
 */
#ifndef LM_GLIBC_DWARF_H
#define LM_GLIBC_DWARF_H

#include <stddef.h>

#include "error.h"
#include "glibc_layout.h"

/*
 * Fill *out from the DWARF in the ELF file open on fd (a libc debug file, or
 * a libc that carries its own debug info): *base with every structure field
 * replaced by what the DWARF says. 0 when every structure and field was
 * found; -LM_ENOTFOUND when not, with the reason (which structure or field)
 * in why.
 * The file is the host's, chosen by build-id; its DWARF is still bounded:
 * one compilation unit (malloc.c's) is searched, member lists are walked
 * once.
 */
int lm_glibc_layout_dwarf(int fd, const struct lm_glibc_layout *base,
			  struct lm_glibc_layout *out, char *why, size_t len);

#endif
