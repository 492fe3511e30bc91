/* SPDX-License-Identifier: MIT */
/*
 * mapmany.c - a test target that maps a file, read-only from offset 0, N
 * times (as a process may map any file it likes, a crafted ELF file
 * included), for tests/hostile_symbols.test.
 *
 *   mapmany FILE N [NOBJ]
 *
 * With NOBJ, also allocates NOBJ blocks of 24 bytes, block i starting with
 * the address of the first mapping + 64 + 16 i: where tests/hostile_elf.py
 * "objects" puts its data object obj_i (a type pointer to it, for the
 * classifier). Prints "info first 0x..." (the first mapping's address) and
 * "ready", then waits until killed. Exits 3 when FILE cannot be opened or
 * mapped.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	void *first = NULL;
	long i, n, nobj = argc > 3 ? atol(argv[3]) : 0;
	int fd;

	if (argc < 3 || argc > 4 || (n = atol(argv[2])) < 1 || nobj < 0) {
		fprintf(stderr, "usage: mapmany FILE N [NOBJ]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		perror(argv[1]);
		return 3;
	}
	for (i = 0; i < n; i++) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 3;
		}
		if (!first)
			first = p;
	}
	for (i = 0; i < nobj; i++) {
		void **b = malloc(24);
		if (!b)
			return 3;
		b[0] = (char *)first + 64 + 16 * i;
		b[1] = NULL;
		b[2] = NULL;
	}
	printf("info first %p\nready\n", first);
	fflush(stdout);
	for (;;)
		pause();
}
