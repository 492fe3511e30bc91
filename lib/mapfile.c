/* SPDX-License-Identifier: MIT */
/*
 * mapfile.c - opening the files behind a target's mappings, and debug
 * files, without letting the target choose what is opened (mapfile.h).
 *
 * Every path is first opened with O_PATH: that never blocks (a FIFO opened
 * for reading waits for a writer; O_PATH does not open the file at all) and
 * runs no device driver's open. fstat() on that descriptor decides; only a
 * regular file is then opened for reading, through /proc/self/fd/N, which
 * reaches the inode just checked whatever happens to the path meanwhile.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mapfile.h"
#include "memsrc.h"

int lm_mapfile_force_walk;

/* Resolution attempts when openat2() reports a concurrent rename (EAGAIN). */
#define LM_RESOLVE_TRIES 4

int lm_mapfile_name_ok(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static int reopen_for_reading(int pfd)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	return open(self, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

/* Without openat2(): one component at a time, each opened O_PATH and
 * O_NOFOLLOW relative to the directory before it, so that no symbolic link
 * is followed and no ".." leaves dirfd. An O_PATH fd, or -1 with errno. */
static int walk_beneath(int dirfd, const char *path)
{
	char comp[NAME_MAX + 1];
	const char *p = path;
	int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	while (cur >= 0) {
		size_t len;
		struct stat st;
		int next;

		while (*p == '/')
			p++;
		if (!*p)
			return cur;
		len = strcspn(p, "/");
		if (len > NAME_MAX) {
			close(cur);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		if (!lm_mapfile_name_ok(comp)) {
			close(cur);
			errno = EXDEV;	/* "." or "..": as openat2 refuses to escape */
			return -1;
		}
		next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		if (next < 0)
			return -1;
		if (*p && (fstat(next, &st) != 0 || !S_ISDIR(st.st_mode))) {
			int e = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
			close(next);
			errno = e;
			return -1;
		}
		cur = next;
	}
	return -1;
}

/* path (absolute) below dirfd, no symbolic link followed in any component,
 * "/" and ".." kept inside dirfd. An O_PATH fd, or -1 with errno. */
static int resolve_beneath(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_IN_ROOT,
	};
	int tries, fd = -1;

	if (lm_mapfile_force_walk)
		return walk_beneath(dirfd, path);
	for (tries = 0; tries < LM_RESOLVE_TRIES; tries++) {
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	/* ENOSYS: before Linux 5.6; EPERM: a system call filter that predates
	 * openat2 (systemd's SystemCallErrorNumber=EPERM). */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return walk_beneath(dirfd, path);
	return fd;
}

static const char *kind_of(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISLNK(mode))
		return "a symbolic link (not followed)";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* Why resolving failed, as the end of "PATH: not opened: ...". */
static int resolve_error(struct lm_err *err, int e, const char *path, const char *where)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return lm_err_set(err, LM_ENOTFOUND, "%s: not opened: no such file%s", path,
				  where);
	case ELOOP:
		return lm_err_set(err, LM_EPERM,
				  "%s: not opened: a component of the path%s is a symbolic "
				  "link, which is not followed", path, where);
	case EXDEV:
		return lm_err_set(err, LM_EPERM, "%s: not opened: the path leaves the root%s",
				  path, where);
	case EACCES:
	case EPERM:
		return lm_err_errno(err, LM_EPERM, e, "%s: not opened%s", path, where);
	default:
		return lm_err_errno(err, LM_EIO, e, "%s: not opened%s", path, where);
	}
}

/* Check the O_PATH fd pfd and open it for reading: a regular file, at most
 * max_size bytes (0: any), and, when map is given, the device and inode
 * that mapping shows. Closes pfd. An fd or a negative LM_E* code. */
static int check_and_open(int pfd, const char *path, const struct lm_mapping *map,
			  uint64_t max_size, struct lm_err *err)
{
	struct stat st;
	int fd, e;

	if (fstat(pfd, &st) != 0) {
		e = errno;
		close(pfd);
		return lm_err_errno(err, LM_EIO, e, "%s: not opened: fstat failed", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(pfd);
		return lm_err_set(err, LM_EPERM, "%s: not opened: the path is now %s%s", path,
				  kind_of(st.st_mode),
				  map ? ", not the mapped file" : "");
	}
	/* maps prints the kernel's device number split into major and minor;
	 * stat's st_dev encodes the same pair, so compare the pair. */
	if (map && ((uint64_t)st.st_ino != map->inode || major(st.st_dev) != map->dev_major ||
		    minor(st.st_dev) != map->dev_minor)) {
		close(pfd);
		return lm_err_set(err, LM_EPERM,
				  "%s: not opened: the path now names another file than the one "
				  "mapped (dev:inode %02x:%02x %llu, mapped %02x:%02x %llu)", path,
				  major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino,
				  map->dev_major, map->dev_minor, (unsigned long long)map->inode);
	}
	if (max_size && (uint64_t)st.st_size > max_size) {
		close(pfd);
		return lm_err_set(err, LM_EPERM, "%s: not opened: %llu bytes, more than the "
				  "%llu read at most", path, (unsigned long long)st.st_size,
				  (unsigned long long)max_size);
	}
	fd = reopen_for_reading(pfd);
	e = errno;
	close(pfd);
	if (fd < 0)
		return lm_err_errno(err, e == EACCES || e == EPERM ? LM_EPERM : LM_EIO, e,
				    "%s: not opened for reading", path);
	return fd;
}

/* The mapped file itself, through map_files: -1 (errno) when not allowed. */
static int open_map_files(pid_t pid, const struct lm_mapping *map)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)map->start, (unsigned long long)map->end);
	return open(path, O_PATH | O_CLOEXEC);
}

/* Where the names in /proc/PID/maps start from, as an O_PATH directory
 * (root names it, for messages). The kernel writes a mapped file's path
 * relative to the reader's root when the reader can reach that file's mount,
 * else relative to the root of the mount namespace it belongs to: ours for
 * a target in our mount namespace (even a chrooted one), the target's root
 * for a container (pivot_root makes the two one). -1 with errno. */
static int open_target_root(pid_t pid, char *root, size_t len)
{
	struct stat ours, theirs;
	char ns[64];

	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
	if (stat(ns, &theirs) == 0 && stat("/proc/self/ns/mnt", &ours) == 0 &&
	    theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino)
		snprintf(root, len, "/");
	else
		snprintf(root, len, "/proc/%d/root", (int)pid);
	return open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

int lm_mapfile_open_live(pid_t pid, const struct lm_mapping *map, struct lm_err *err)
{
	char root[64], where[80];
	int pfd, rootfd, e;

	if (!map->path || map->path[0] != '/')
		return lm_err_set(err, LM_EINVAL, "mapping %#llx-%#llx is not backed by a file",
				  (unsigned long long)map->start, (unsigned long long)map->end);
	pfd = open_map_files(pid, map);
	if (pfd >= 0)
		/* The kernel's own reference to the mapped file: no id check
		 * (overlayfs and btrfs show other numbers to stat). */
		return check_and_open(pfd, map->path, NULL, 0, err);
	if (ends_with(map->path, " (deleted)"))
		return lm_err_set(err, LM_ENOTFOUND,
				  "%s: not opened: the file was deleted after it was mapped, and "
				  "only /proc/%d/map_files reaches it (needs CAP_SYS_ADMIN or "
				  "CAP_CHECKPOINT_RESTORE)", map->path, (int)pid);
	rootfd = open_target_root(pid, root, sizeof(root));
	if (rootfd < 0)
		return lm_err_errno(err, errno == ENOENT ? LM_ENOPROC : LM_EPERM, errno,
				    "%s: not opened: cannot open %s", map->path, root);
	pfd = resolve_beneath(rootfd, map->path);
	e = errno;
	close(rootfd);
	if (pfd < 0) {
		snprintf(where, sizeof(where), " below %s", root);
		return resolve_error(err, e, map->path, where);
	}
	return check_and_open(pfd, map->path, map, 0, err);
}

/* path below the directory dir (which is followed: it is ours, not the
 * target's), nothing below it followed; a regular file of at most max_size
 * bytes (0: any). */
static int open_below(const char *dir, const char *path, uint64_t max_size, struct lm_err *err)
{
	char where[80];
	int pfd, dirfd, e;

	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return lm_err_errno(err, errno == ENOENT ? LM_ENOTFOUND : LM_EIO, errno,
				    "%s: not opened: cannot open the directory %s", path, dir);
	pfd = resolve_beneath(dirfd, path);
	e = errno;
	close(dirfd);
	if (pfd < 0) {
		snprintf(where, sizeof(where), strcmp(dir, "/") ? " below %.60s" : "", dir);
		return resolve_error(err, e, path, where);
	}
	return check_and_open(pfd, path, NULL, max_size, err);
}

int lm_mapfile_open_host(const char *path, uint64_t max_size, struct lm_err *err)
{
	if (!path || path[0] != '/')
		return lm_err_set(err, LM_EINVAL, "%s: not opened: not an absolute path",
				  path ? path : "(no path)");
	return open_below("/", path, max_size, err);
}

int lm_mapfile_open_debug(const char *dir, const char *rel, struct lm_err *err)
{
	return open_below(dir, rel, LM_DEBUG_FILE_MAX, err);
}

/* A core names its files by path only: the file now at that path may be
 * another (an upgrade since, or a container's file whose path leads to
 * something else on this host). Where the core holds the file's first page
 * (the kernel dumps it for ELF files, gdb's gcore does too), compare it
 * with the file's: 1 when they differ, 0 when they match or the core has
 * no copy to compare. */
static int core_first_page_differs(const struct lm_memsrc *src, const struct lm_mapping *map,
				   int fd)
{
	uint8_t mem[4096], file[4096];
	const struct lm_mapping *first = NULL;
	ssize_t n;
	size_t i, len;

	for (i = 0; i < src->maps.n; i++) {
		const struct lm_mapping *m = &src->maps.v[i];
		if (m->offset == 0 && m->path && strcmp(m->path, map->path) == 0 &&
		    (!first || m->start < first->start))
			first = m;
	}
	if (!first)
		return 0;
	len = first->end - first->start < sizeof(mem) ? first->end - first->start : sizeof(mem);
	if (lm_mem_read(src, first->start, mem, len) < 0)
		return 0;
	do
		n = pread(fd, file, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return 0;	/* unreadable: its readers will say so */
	/* a file shorter than the page: the rest of the mapped page is zeros */
	for (i = (size_t)n; i < len; i++)
		if (mem[i])
			return 1;
	return memcmp(mem, file, (size_t)n) != 0;
}

int lm_memsrc_open_mapping_file(const struct lm_memsrc *src,
				const struct lm_mapping *map, struct lm_err *err)
{
	int fd;

	if (!map->path || map->path[0] != '/')
		return lm_err_set(err, LM_EINVAL, "mapping %#llx-%#llx is not backed by a file",
				  (unsigned long long)map->start, (unsigned long long)map->end);
	if (src->kind != LM_SRC_CORE && src->pid > 0)
		return lm_mapfile_open_live(src->pid, map, err);
	/* A core's NT_FILE notes give no device or inode to compare. */
	fd = lm_mapfile_open_host(map->path, 0, err);
	if (fd >= 0 && core_first_page_differs(src, map, fd)) {
		close(fd);
		return lm_err_set(err, LM_EPERM, "%s: not opened: another file than the one "
				  "the core's process mapped (its first page differs from the "
				  "core's copy); read the core where the process's files are "
				  "(inside its container, or before an upgrade)", map->path);
	}
	return fd;
}
