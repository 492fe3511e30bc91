/*
 * mapmany.c - a test target that maps a file, read-only from offset 0, N
 * times (as a process may map any file it likes, a crafted ELF file
 * included), for tests/hostile_symbols.test.
 *
 *   mapmany FILE N
 *
 * Prints "info first 0x..." (the first mapping's address) and "ready", then
 * waits until killed. Exits 3 when FILE cannot be opened or mapped.
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
	long i, n;
	int fd;

	if (argc != 3 || (n = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: mapmany FILE N\n");
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
	printf("info first %p\nready\n", first);
	fflush(stdout);
	for (;;)
		pause();
}
