/* SPDX-License-Identifier: MIT */
/*
 * t_mapfile.c - test driver for lib/mapfile.c: opens the file behind one
 * mapping of a live process as the symbol loader does, without stopping it.
 *
 *   t_mapfile [-w] PID NAME
 *   t_mapfile [-w] -H PATH
 *
 * Takes the first mapping of PID whose path contains NAME, opens its file
 * with lm_mapfile_open_live() and prints "opened BYTES" (the file's size as
 * read through the descriptor: 4 bytes of ELF magic checked), or "refused
 * MESSAGE" and exits 1. -H: a host path with lm_mapfile_open_host() instead.
 * -w: resolve by the component-by-component walk (the path taken where the
 * kernel lacks openat2()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapfile.h"
#include "proc.h"

static int report(int fd, const struct lm_err *err)
{
	char magic[4];
	off_t size;

	if (fd < 0) {
		printf("refused %s\n", err->msg);
		return 1;
	}
	if (pread(fd, magic, 4, 0) != 4 || memcmp(magic, "\177ELF", 4) != 0) {
		printf("opened but not an ELF file\n");
		close(fd);
		return 1;
	}
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	printf("opened %lld\n", (long long)size);
	return 0;
}

int main(int argc, char **argv)
{
	struct lm_err err = { 0 };
	struct lm_maps maps;
	int i = 1, fd = -1;
	size_t k;

	if (i < argc && !strcmp(argv[i], "-w")) {
		lm_mapfile_force_walk = 1;
		i++;
	}
	if (argc - i == 2 && !strcmp(argv[i], "-H"))
		return report(lm_mapfile_open_host(argv[i + 1], 0, &err), &err);
	if (argc - i != 2) {
		fprintf(stderr, "usage: t_mapfile [-w] PID NAME | [-w] -H PATH\n");
		return 2;
	}
	if (lm_proc_read_maps((pid_t)atoi(argv[i]), &maps, &err) < 0) {
		fprintf(stderr, "t_mapfile: %s\n", err.msg);
		return 2;
	}
	for (k = 0; k < maps.n; k++)
		if (maps.v[k].path && strstr(maps.v[k].path, argv[i + 1]))
			break;
	if (k == maps.n) {
		fprintf(stderr, "t_mapfile: no mapping of %s\n", argv[i + 1]);
		lm_maps_free(&maps);
		return 2;
	}
	fd = lm_mapfile_open_live((pid_t)atoi(argv[i]), &maps.v[k], &err);
	lm_maps_free(&maps);
	return report(fd, &err);
}
