/* SPDX-License-Identifier: MIT */
/*
 * rtti.h - vtables found through C++ run-time type information, for modules
 * shipped without a .symtab (stripped executables and libraries).
 *
 * A stripped C++ program keeps every polymorphic class's RTTI: each vtable
 * has, just before the entry its objects point to, a pointer to the class's
 * type_info, whose second word points to the mangled type name ("5Order",
 * "N4shop4CartIiEE"). Read from the module's file, with its dynamic
 * relocations applied, this names the vtables the symbol table would have
 * named: lib/symbols.c adds them as VTABLE symbols "_ZTV<mangled>", so a
 * census of a stripped program gives the same classes as one with symbols.
 *
 * What is accepted as a type_info (docs/rtti.md): its first word is
 * libstdc++'s __class_type_info, __si_class_type_info or
 * __vmi_class_type_info vtable + 16 (a relocation naming that vtable, or its
 * address in this module), and its name lies in a read-only segment of the
 * module and demangles as a type. A vtable: an 8-aligned word holding such a
 * type_info's address, after an offset-to-top word that is 0 or a small
 * negative multiple of 8 and is not relocated. x86_64 ELF only; everything
 * read is bounded by the file.
 */
#ifndef LM_RTTI_H
#define LM_RTTI_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>

struct lm_rtti_vtable {
	uint64_t addr;	/* ELF address of the vtable's offset-to-top word */
	char *raw;	/* "_ZTV" + mangled type name, malloc'd */
};

/* The vtables of elf named by their RTTI, in *out (n in *n; free with
 * lm_rtti_free). At most max of them. Returns 0 (also when there are none
 * or the file is not x86_64), -LM_ENOMEM when out of memory. */
int lm_rtti_vtables(Elf *elf, size_t max, struct lm_rtti_vtable **out, size_t *n);
void lm_rtti_free(struct lm_rtti_vtable *v, size_t n);

#endif
