/* SPDX-License-Identifier: MIT */
/*
 * proc.c - reading /proc/PID: mappings, threads, exe, status.
 *
 * Files under /proc are read whole into a growing buffer (a maps file of a
 * big process is several hundred KiB) and then parsed; nothing is kept open.
 * Errors name the pid and the file: ENOENT/ESRCH means the process is gone
 * (LM_ENOPROC), EACCES/EPERM means we lack the right to look (LM_EPERM).
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* No /proc file we read is legitimately bigger than this (a maps file of
 * 65530 mappings with long paths is about 16 MiB). */
#define PROC_FILE_MAX (64u << 20)
#define TASKS_MAX (1u << 20)

/* Map an errno from opening /proc/PID/... to our codes, with a sentence. */
static int proc_errno(struct lm_err *err, int errnum, pid_t pid, const char *what)
{
	if (errnum == ENOENT || errnum == ESRCH)
		return lm_err_set(err, LM_ENOPROC, "no process with pid %d", (int)pid);
	if (errnum == EACCES || errnum == EPERM)
		return lm_err_set(err, LM_EPERM,
				  "cannot read /proc/%d/%s: permission denied; reading another "
				  "user's process needs CAP_SYS_PTRACE (run as root or grant it) "
				  "and kernel.yama.ptrace_scope <= 1", (int)pid, what);
	if (errnum == ENOMEM)
		return lm_err_set(err, LM_ENOMEM, "out of memory reading /proc/%d/%s",
				  (int)pid, what);
	return lm_err_errno(err, LM_EIO, errnum, "cannot read /proc/%d/%s", (int)pid, what);
}

/* Read /proc/PID/NAME whole, NUL-terminated. *out is malloc'd. */
static int proc_read_file(pid_t pid, const char *name, char **out, size_t *outlen,
			  struct lm_err *err)
{
	char path[64];
	size_t cap = 16384, len = 0;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return proc_errno(err, errno, pid, name);
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return lm_err_set(err, LM_ENOMEM, "out of memory reading %s", path);
	}
	for (;;) {
		ssize_t r;
		if (cap - len < 4096) {
			char *nb;
			if (cap >= PROC_FILE_MAX) {
				free(buf);
				close(fd);
				return lm_err_set(err, LM_ELIMIT, "%s is larger than %u MiB",
						  path, PROC_FILE_MAX >> 20);
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return lm_err_set(err, LM_ENOMEM, "out of memory reading %s", path);
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			free(buf);
			close(fd);
			return proc_errno(err, e, pid, name);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	if (outlen)
		*outlen = len;
	return 0;
}

void lm_maps_free(struct lm_maps *maps)
{
	size_t i;

	if (!maps)
		return;
	for (i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}

static int mapping_cmp(const void *a, const void *b)
{
	const struct lm_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Parse one maps line "start-end perms offset maj:min inode [path]":
 * -LM_EINVAL if it is not one, -LM_ENOMEM. */
static int parse_maps_line(const char *line, size_t len, struct lm_mapping *m)
{
	unsigned long long start, end, offset, inode;
	unsigned maj, min;
	char perms[5];
	int pos = 0;
	char tmp[256];
	size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
	const char *path;

	memcpy(tmp, line, n);
	tmp[n] = '\0';
	if (sscanf(tmp, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms, &offset,
		   &maj, &min, &inode, &pos) != 7 || pos <= 0 || end < start ||
	    strlen(perms) != 4)
		return -LM_EINVAL;
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->offset = offset;
	m->dev_major = maj;
	m->dev_minor = min;
	m->inode = inode;
	m->prot = (perms[0] == 'r' ? LM_PROT_R : 0) | (perms[1] == 'w' ? LM_PROT_W : 0) |
		  (perms[2] == 'x' ? LM_PROT_X : 0) | (perms[3] == 's' ? LM_PROT_SHARED : 0);
	/* The path starts after the inode and its padding; it may contain
	 * spaces and may be longer than tmp, so take it from the line. */
	path = line + pos;
	while (path < line + len && *path == ' ')
		path++;
	if (path < line + len) {
		m->path = strndup(path, (size_t)(line + len - path));
		if (!m->path)
			return -LM_ENOMEM;
	}
	return 0;
}

int lm_maps_parse(const char *text, struct lm_maps *out, struct lm_err *err)
{
	size_t cap = 64, n = 0, lineno = 0;
	struct lm_mapping *v = malloc(cap * sizeof(*v));
	const char *p = text;

	out->v = NULL;
	out->n = 0;
	if (!v)
		return lm_err_set(err, LM_ENOMEM, "out of memory parsing mappings");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		int r;

		lineno++;
		if (len == 0) {
			p += nl ? 1 : 0;
			if (!nl)
				break;
			continue;
		}
		if (n == cap) {
			struct lm_mapping *nv = realloc(v, cap * 2 * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
			cap *= 2;
		}
		r = parse_maps_line(p, len, &v[n]);
		if (r == -LM_ENOMEM)
			goto nomem;
		if (r < 0) {
			struct lm_maps tmp = { v, n };
			lm_maps_free(&tmp);
			return lm_err_set(err, LM_EINVAL, "mappings line %zu is malformed: '%.*s'",
					  lineno, (int)(len > 120 ? 120 : len), p);
		}
		n++;
		p += len + (nl ? 1 : 0);
	}
	qsort(v, n, sizeof(*v), mapping_cmp);
	out->v = v;
	out->n = n;
	return 0;
nomem:
	{
		struct lm_maps tmp = { v, n };
		lm_maps_free(&tmp);
	}
	return lm_err_set(err, LM_ENOMEM, "out of memory parsing mappings");
}

int lm_proc_read_maps(pid_t pid, struct lm_maps *out, struct lm_err *err)
{
	char *text;
	int r;

	out->v = NULL;
	out->n = 0;
	r = proc_read_file(pid, "maps", &text, NULL, err);
	if (r < 0)
		return r;
	r = lm_maps_parse(text, out, err);
	free(text);
	if (r < 0)
		lm_err_prefix(err, "/proc/%d/maps", (int)pid);
	return r;
}

const struct lm_mapping *lm_maps_find(const struct lm_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lm_mapping *m = &maps->v[mid];
		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

int lm_maps_copy(const struct lm_maps *from, struct lm_maps *to)
{
	size_t i;

	to->n = 0;
	to->v = NULL;
	if (from->n == 0)
		return 0;
	to->v = calloc(from->n, sizeof(*to->v));
	if (!to->v)
		return -LM_ENOMEM;
	for (i = 0; i < from->n; i++) {
		to->v[i] = from->v[i];
		to->v[i].path = NULL;
		if (from->v[i].path && !(to->v[i].path = strdup(from->v[i].path))) {
			to->n = i;
			lm_maps_free(to);
			return -LM_ENOMEM;
		}
	}
	to->n = from->n;
	return 0;
}

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

int lm_proc_list_tasks(pid_t pid, pid_t **tids, size_t *n, struct lm_err *err)
{
	char path[64];
	size_t cap = 16, cnt = 0;
	pid_t *v;
	struct dirent *de;
	DIR *d;

	*tids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return proc_errno(err, errno, pid, "task");
	v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return lm_err_set(err, LM_ENOMEM, "out of memory listing %s", path);
	}
	while ((de = readdir(d))) {
		char *end;
		long t;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		t = strtol(de->d_name, &end, 10);
		if (*end || t <= 0 || t > INT_MAX)
			continue;
		if (cnt == cap) {
			pid_t *nv;
			if (cap >= TASKS_MAX) {
				free(v);
				closedir(d);
				return lm_err_set(err, LM_ELIMIT, "%s lists more than %u threads",
						  path, TASKS_MAX);
			}
			nv = realloc(v, cap * 2 * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return lm_err_set(err, LM_ENOMEM, "out of memory listing %s", path);
			}
			v = nv;
			cap *= 2;
		}
		v[cnt++] = (pid_t)t;
	}
	closedir(d);
	if (cnt == 0) {
		/* A process whose every thread has exited (a zombie being reaped). */
		free(v);
		return lm_err_set(err, LM_ENOPROC, "no process with pid %d (no threads left)",
				  (int)pid);
	}
	qsort(v, cnt, sizeof(*v), tid_cmp);
	*tids = v;
	*n = cnt;
	return 0;
}

/* Parse /proc/PID/stat: comm is in parentheses and may hold anything, so
 * the fields are counted from the last ')'. */
int lm_proc_parse_stat(const char *text, struct lm_proc_status *st)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	const char *p;
	unsigned long long f[24];
	int i;
	size_t clen;

	if (!open || !close || close < open)
		return -LM_EINVAL;
	clen = (size_t)(close - open - 1);
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, clen);
	st->comm[clen] = '\0';
	p = close + 1;
	while (*p == ' ')
		p++;
	if (!*p)
		return -LM_EINVAL;
	st->state = *p++;
	/* Fields 4.. are numbers (some may be negative: read them as signed
	 * text but keep the bits); we need up to field 22. */
	for (i = 4; i <= 22; i++) {
		char *end;
		while (*p == ' ')
			p++;
		f[i - 4] = strtoull(p, &end, 10);
		if (end == p) {
			long long s = strtoll(p, &end, 10);
			if (end == p)
				return -LM_EINVAL;
			f[i - 4] = (unsigned long long)s;
		}
		p = end;
	}
	st->ppid = (pid_t)f[4 - 4];
	st->threads = (int)f[20 - 4];
	st->start_time_ticks = f[22 - 4];
	return 0;
}

/* "Key:   123 kB" from /proc/PID/status, in bytes when scale is 1024. */
int lm_proc_parse_field(const char *text, const char *key, unsigned long long *val)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			char *end;
			*val = strtoull(p + klen + 1, &end, 10);
			return end == p + klen + 1 ? -LM_EINVAL : 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -LM_ENOTFOUND;
}

int lm_proc_field(pid_t pid, const char *file, const char *key, unsigned long long *val)
{
	char *text;
	int r;

	r = proc_read_file(pid, file, &text, NULL, NULL);
	if (r < 0)
		return r;
	r = lm_proc_parse_field(text, key, val);
	free(text);
	return r;
}

int lm_proc_status(pid_t pid, struct lm_proc_status *st, struct lm_err *err)
{
	char *text;
	unsigned long long v;
	int r;

	memset(st, 0, sizeof(*st));
	r = proc_read_file(pid, "stat", &text, NULL, err);
	if (r < 0)
		return r;
	if (lm_proc_parse_stat(text, st) < 0) {
		free(text);
		return lm_err_set(err, LM_EIO, "/proc/%d/stat is malformed", (int)pid);
	}
	free(text);
	r = proc_read_file(pid, "status", &text, NULL, err);
	if (r < 0)
		return r;
	/* Kernel threads and zombies have no Vm* lines: leave those at 0. */
	if (lm_proc_parse_field(text, "VmRSS", &v) == 0)
		st->rss_bytes = v * 1024;
	if (lm_proc_parse_field(text, "RssAnon", &v) == 0)
		st->owned_bytes = v * 1024;
	if (lm_proc_parse_field(text, "VmSwap", &v) == 0)
		st->owned_bytes += v * 1024;
	if (lm_proc_parse_field(text, "VmSize", &v) == 0)
		st->vm_bytes = v * 1024;
	if (lm_proc_parse_field(text, "Uid", &v) == 0)
		st->uid = (uid_t)v;
	free(text);
	return 0;
}

int lm_proc_exe(pid_t pid, char *buf, size_t len, struct lm_err *err)
{
	char path[64];
	ssize_t r;

	if (len == 0)
		return lm_err_set(err, LM_EINVAL, "no room for the executable path");
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	r = readlink(path, buf, len - 1);
	if (r < 0)
		return proc_errno(err, errno, pid, "exe");
	buf[r] = '\0';
	return 0;
}

int lm_proc_exists(pid_t pid)
{
	char path[64];

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) == 0 || errno == EPERM)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}
