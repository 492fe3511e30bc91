/* SPDX-License-Identifier: MIT */
/*
 * dlopen_target.cpp - a test target whose modules change while it runs, for
 * the symbol cache (tests/symbols_cache.test): a C++ program (libstdc++ is
 * mapped) that loads and unloads a small library on command.
 *
 * Commands, one per line, from the FIFO named by the only argument (opened
 * for reading and writing, so that it never ends):
 *   open PATH COUNT   dlopen PATH and have it allocate COUNT objects that
 *                     point at its data object (a "symbol" type while the
 *                     library is mapped, a size class once it is not)
 *   close             dlclose the library opened last (its objects stay)
 * Each command is answered "ok COMMAND" (or "error ...") on stdout.
 *
 * Output: "expect class Shape COUNT BYTES" for the objects made at the
 * start, then "ready", then the answers.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Shape {
	virtual ~Shape() {}
	long sides = 4;
};

#define NSHAPES 50

static Shape *shapes[NSHAPES];
static void *handles[16];
static int nhandles;

static void do_open(const char *path, long count)
{
	void (*make)(long);

	if (nhandles == 16) {
		printf("error too many libraries\n");
		return;
	}
	handles[nhandles] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handles[nhandles]) {
		printf("error %s\n", dlerror());
		return;
	}
	make = (void (*)(long))dlsym(handles[nhandles], "symcache_lib_make");
	if (!make) {
		printf("error %s\n", dlerror());
		return;
	}
	make(count);
	nhandles++;
	printf("ok open\n");
}

static void do_close(void)
{
	if (nhandles == 0 || dlclose(handles[nhandles - 1]) != 0) {
		printf("error nothing to close\n");
		return;
	}
	nhandles--;
	printf("ok close\n");
}

int main(int argc, char **argv)
{
	static char outbuf[4096];
	char line[4096], path[4096];
	long count;
	FILE *cmd;
	int i;

	if (argc != 2 || !(cmd = fopen(argv[1], "r+"))) {
		fprintf(stderr, "usage: dlopen_target FIFO\n");
		return 2;
	}
	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	for (i = 0; i < NSHAPES; i++)
		shapes[i] = new Shape;
	printf("expect class Shape %d %d\n", NSHAPES, NSHAPES * 32);
	printf("ready\n");
	while (fgets(line, sizeof(line), cmd)) {
		if (sscanf(line, "open %4095s %ld", path, &count) == 2)
			do_open(path, count);
		else if (strncmp(line, "close", 5) == 0)
			do_close();
		else
			printf("error unknown command\n");
	}
	return 0;
}
