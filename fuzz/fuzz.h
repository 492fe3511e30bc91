/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer harnesses share: a reader that decodes
 * fields from the fuzz input (running out of input reads zeros, so every
 * input decodes to something), and files holding bytes: a memfd, or a
 * regular file where the library opens a path.
 */
#ifndef LM_FUZZ_H
#define LM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline void fz_bytes(struct fz *f, void *out, size_t len)
{
	size_t k = len < f->n ? len : f->n;

	memcpy(out, f->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	f->p += k;
	f->n -= k;
}

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v;
	fz_bytes(f, &v, 1);
	return v;
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t v;
	fz_bytes(f, &v, 4);
	return v;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t v;
	fz_bytes(f, &v, 8);
	return v;
}

/* A memfd holding data[0..len), rewound; its path into path. -1 on failure. */
static inline int fz_memfd(const char *name, const uint8_t *data, size_t len,
			   char *path, size_t pathlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	lseek(fd, 0, SEEK_SET);
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* A regular file holding data[0..len) under a private directory made once
 * per process (the library refuses symbolic links such as /proc/self/fd/N
 * where a target names a file); its path into path. 0 or -1. */
static char fz_dir[128], fz_path[192];

static inline void fz_cleanup(void)
{
	if (fz_path[0])
		unlink(fz_path);
	rmdir(fz_dir);
}

static inline int fz_file(const char *name, const uint8_t *data, size_t len,
			  char *path, size_t pathlen)
{
	FILE *f;
	size_t w;

	if (!fz_dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(fz_dir, sizeof(fz_dir), "%.100s/leakmon-fuzz-XXXXXX",
			 t && t[0] == '/' ? t : "/tmp");
		if (!mkdtemp(fz_dir)) {
			fz_dir[0] = '\0';
			return -1;
		}
		atexit(fz_cleanup);
	}
	/* one file per harness: removed at exit with the directory */
	snprintf(fz_path, sizeof(fz_path), "%s/%s", fz_dir, name);
	snprintf(path, pathlen, "%s", fz_path);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

#endif
