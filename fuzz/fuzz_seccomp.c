/* SPDX-License-Identifier: MIT */
/*
 * fuzz_seccomp.c - libFuzzer harness: a seccomp filter as the frozen-copy
 * source reads it from a target (PTRACE_SECCOMP_GET_FILTER) and runs it
 * before injecting a system call (lib/inject.c's lm_seccomp_bpf_run).
 *
 * Input: a struct seccomp_data (64 bytes: the call being checked), then the
 * program's instructions (8 bytes each, at most 4096 as the kernel allows).
 */
#include "config.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "inject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct seccomp_data d;
	struct sock_filter *prog;
	size_t n;
	uint32_t ret;

	fz_bytes(&f, &d, sizeof(d));
	n = f.n / sizeof(*prog);
	if (n > BPF_MAXINSNS)
		n = BPF_MAXINSNS;
	/* an exact-size copy, so reading past the program is caught */
	prog = malloc((n ? n : 1) * sizeof(*prog));
	if (!prog)
		return 0;
	fz_bytes(&f, prog, n * sizeof(*prog));
	(void)lm_seccomp_bpf_run(prog, (unsigned)n, &d, &ret);
	free(prog);
	return 0;
}
