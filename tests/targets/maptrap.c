/* SPDX-License-Identifier: MIT */
/*
 * maptrap.c - a test target that sets traps at the path of a library it has
 * mapped, for tests/mapfile_traps.test: whoever opens that path instead of
 * the mapped file hangs (a FIFO), reads a file it must not (a symbolic link
 * to a root-only file), or takes another library's symbols for its own.
 *
 *   maptrap LIB DIR MODE [ARG]
 *
 * Copies LIB (tests/targets/libsymcache_a.so) to DIR/lib/libmaptrap.so,
 * dlopens the copy and has it allocate NOBJ objects whose type is its data
 * object symcache_type_a, then sets the trap MODE:
 *   keep          none
 *   fifo-deleted  deletes the library, puts FIFOs at "PATH (deleted)" and
 *                 PATH (the name /proc/PID/maps shows, and the plain one)
 *   fifo          in a private mount namespace (entered before the library
 *   symlink       is mapped, as a container's), mounts DIR/trap over DIR/lib,
 *   other         where libmaptrap.so is a FIFO, a symbolic link to ARG, or a
 *                 copy of the file ARG
 * Output: "expect symbol symcache_type_a NOBJ BYTES" (what a census finds
 * when it reads the mapped library), "info lib PATH", then "ready"; then it
 * waits until killed. A mode that cannot be set up prints "error ..." and
 * exits 3 (no mount namespace without CAP_SYS_ADMIN).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBJ 40
#define CHUNK 48	/* malloc(32) on x86_64: 32 bytes and the size field, aligned */

static void die(const char *what)
{
	printf("error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(3);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (in < 0 || out < 0)
		die(from);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die(to);
	if (n < 0)
		die(from);
	close(in);
	close(out);
}

/* A private mount namespace, so the mount over DIR/lib is ours alone. */
static void private_namespace(void)
{
	if (unshare(CLONE_NEWNS) != 0)
		die("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("making / private");
}

/* DIR/trap/libmaptrap.so as the mode wants it, mounted over DIR/lib. */
static void mount_trap(const char *dir, const char *mode, const char *arg)
{
	char trap[4096], entry[4096], lib[4096];

	snprintf(trap, sizeof(trap), "%s/trap", dir);
	snprintf(entry, sizeof(entry), "%s/trap/libmaptrap.so", dir);
	snprintf(lib, sizeof(lib), "%s/lib", dir);
	if (mkdir(trap, 0755) != 0 && errno != EEXIST)
		die(trap);
	if (!strcmp(mode, "fifo") ? mkfifo(entry, 0644) != 0 :
	    !strcmp(mode, "symlink") ? symlink(arg, entry) != 0 : 0)
		die(entry);
	if (!strcmp(mode, "other"))
		copy_file(arg, entry, 0755);
	if (mount(trap, lib, NULL, MS_BIND, NULL) != 0)
		die("mounting the trap over the library's directory");
}

int main(int argc, char **argv)
{
	char lib[4096], name[4096];
	const char *dir, *mode;
	void (*make)(long);
	void *h;
	int ns;

	if (argc < 4) {
		fprintf(stderr, "usage: maptrap LIB DIR keep|fifo-deleted|fifo|symlink|other [ARG]\n");
		return 2;
	}
	dir = argv[2];
	mode = argv[3];
	ns = !strcmp(mode, "fifo") || !strcmp(mode, "symlink") || !strcmp(mode, "other");
	if (ns && argc != 5) {
		fprintf(stderr, "maptrap: mode %s needs ARG\n", mode);
		return 2;
	}
	if (ns)
		private_namespace();
	snprintf(lib, sizeof(lib), "%s/lib", dir);
	if (mkdir(lib, 0755) != 0 && errno != EEXIST)
		die(lib);
	snprintf(lib, sizeof(lib), "%s/lib/libmaptrap.so", dir);
	copy_file(argv[1], lib, 0755);
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h || !(make = (void (*)(long))dlsym(h, "symcache_lib_make"))) {
		printf("error %s\n", dlerror());
		return 3;
	}
	make(NOBJ);
	if (!strcmp(mode, "fifo-deleted")) {
		if (unlink(lib) != 0 || mkfifo(lib, 0644) != 0)
			die(lib);
		snprintf(name, sizeof(name), "%s (deleted)", lib);
		if (mkfifo(name, 0644) != 0)
			die(name);
	} else if (ns) {
		mount_trap(dir, mode, argv[4]);
	} else if (strcmp(mode, "keep") != 0) {
		fprintf(stderr, "maptrap: unknown mode %s\n", mode);
		return 2;
	}
	printf("expect symbol symcache_type_a %d %d\n", NOBJ, NOBJ * CHUNK);
	printf("info lib %s\n", lib);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
