/* SPDX-License-Identifier: MIT */
/*
 * fuzz_elf.c - libFuzzer harness: a module's ELF file from the input, read
 * as lm_symtab_load reads every file mapped in a target (lib/symbols.c:
 * layout, build-id, .dynsym/.symtab, demangling), then assembled into a
 * table and looked up.
 *
 * The input is the file, in a memfd. It is "mapped" read-only at a fixed
 * address, so the load bias comes from its own program headers. No debug
 * file is looked for. An input of odd size is read as for a census (data
 * symbols, and of the functions malloc only).
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "symbols.h"
#include "symbols_part.h"

#define BASE 0x555555554000ULL

static const char *const census_funcs[] = { "malloc", NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lm_mapping map = { .start = BASE, .prot = LM_PROT_R | LM_PROT_X,
				  .path = "/fuzz/libfuzz.so" };
	struct lm_modspan span;
	struct lm_modpart *part = NULL;
	struct lm_symtab *tab = NULL;
	struct lm_err err = { 0 };
	struct lm_symtab_opts so = { .debug_root = "", .keep_funcs = census_funcs };
	char path[64];
	size_t i, n;
	int fd;

	if (lm_symbols_init(&err) < 0)
		return 0;
	fd = fz_memfd("fuzz-elf", data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	map.end = BASE + ((size + 4095) & ~4095ULL) + 4096;
	span = (struct lm_modspan){ .low = &map, .lo = map.start, .hi = map.end };
	so.data_only = size & 1;
	if (lm_modpart_load(fd, &map, &so, &part) == 1 &&
	    lm_symtab_assemble(&part, &span, 1, &tab) == 0) {
		n = lm_symtab_nsymbols(tab);
		for (i = 0; i < n && i < 64; i++) {
			const struct lm_symbol *s = lm_symtab_symbol_at(tab, i);
			(void)lm_symtab_lookup(tab, s->addr + s->size / 2);
			(void)lm_symtab_by_name(tab, s->name);
		}
		(void)lm_symtab_nearest(tab, BASE + size / 2);
		(void)lm_symtab_module(tab, BASE);
		lm_symtab_free(tab);
	}
	if (part)
		lm_modpart_put(part);
	close(fd);
	return 0;
}
