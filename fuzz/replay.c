/* SPDX-License-Identifier: MIT */
/*
 * replay.c - runs a fuzz harness's LLVMFuzzerTestOneInput on the files
 * named, once each, without libFuzzer: the harnesses built with the normal
 * compiler (fuzz/replay_NAME, make check) replay the seeds and every input
 * that crashed once, so those stay fixed in every build, with or without
 * clang (and under ASan/UBSan in `tools/check.sh --asan`).
 *
 *   replay_NAME FILE...    prints "replayed N inputs"
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *in;
	size_t len = 0, cap = 0, r;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!nb) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		r = fread(buf + len, 1, cap - len, f);
		len += r;
	} while (r > 0);
	fclose(f);
	/* an exact-size copy, so that reading past the input is caught */
	in = malloc(len ? len : 1);
	if (!in) {
		free(buf);
		return -1;
	}
	memcpy(in, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(in, len);
	free(in);
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (replay(argv[i]) < 0)
			return 1;
	printf("replayed %d inputs\n", argc - 1);
	return 0;
}
