/* SPDX-License-Identifier: MIT */
/*
 * sparse_map.c - a test target with a huge, mostly absent file-backed
 * private writable mapping next to a heap of known contents.
 *
 *   sparse_map FILE
 *
 * Maps all of FILE (a sparse file of any size: the test makes 16 GiB)
 * MAP_PRIVATE with PROT_READ|PROT_WRITE, writes three of its pages (each
 * becomes the process's own anonymous copy; the first holds a pointer to a
 * heap block) and reads two others (page-cache pages, present but never
 * written). Allocates NBLK x malloc(424) filled with 0xa5 and prints
 * `expect size size 424 COUNT BYTES`, `info map_addr 0x...`,
 * `info map_len N`, then "ready", and waits. Output goes through write(2)
 * on a stack buffer, never stdio (whose buffer would be a heap chunk).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NBLK 2001
#define BLK 424

static void *blk[NBLK];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) != n)
		exit(3);
}

int main(int argc, char **argv)
{
	volatile unsigned char sink = 0;
	struct stat st;
	unsigned char *map;
	size_t len, page = 4096;
	int fd, i;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)(1 << 24))
		return 4;
	len = (size_t)st.st_size;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 5;
	close(fd);
	for (i = 0; i < NBLK; i++) {
		blk[i] = malloc(BLK);
		if (!blk[i])
			return 6;
		memset(blk[i], 0xa5, BLK);
	}
	/* written: the process's own copies */
	memcpy(map, &blk[0], sizeof(blk[0]));
	map[len / 2] = 1;
	map[len - page] = 2;
	/* read only: present page-cache pages */
	sink += map[page * 7];
	sink += map[len / 3];
	(void)sink;
	say("expect size size %d %d %d\n", BLK, NBLK, NBLK * (BLK + 8));
	say("info map_addr %p\n", (void *)map);
	say("info map_len %zu\n", len);
	say("ready\n");
	for (;;)
		pause();
}
