/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c - a process's control groups: its systemd unit, the members of a
 * unit, its memory limit and usage.
 *
 * Nothing is assumed about where cgroup file systems are mounted: each call
 * reads /proc/self/mountinfo for the cgroup2 mount and the v1 "memory" and
 * "name=systemd" hierarchies, then /proc/PID/cgroup for the process's path
 * in each ("0::/system.slice/api.service", "4:memory:/system.slice/...").
 * A path is turned into a directory by replacing the mount's root (the
 * fourth mountinfo field, "/" unless a sub-tree is bind-mounted) with the
 * mount point.
 *
 * Pure v2 servers have everything in the cgroup2 tree; hybrid ones (these
 * machines) have a cgroup2 tree without the memory controller, so the limit
 * comes from the v1 memory hierarchy and the unit from either tree.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"

/* Bounds for the walk of a cgroup tree (a busy host has a few thousand). */
#define WALK_MAX_DEPTH 32
#define WALK_MAX_DIRS 200000
#define PIDS_MAX (4u << 20)

struct cg_mount {
	char dir[PATH_MAX];	/* mount point */
	char root[PATH_MAX];	/* root of the hierarchy that is mounted there */
	int found;
};

struct cg_mounts {
	struct cg_mount v2, memory, systemd;
};

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/* Is word one of the comma-separated words of list? */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static void keep_mount(struct cg_mount *m, const char *root, const char *dir)
{
	/* Prefer a mount of the whole hierarchy over a bind mount of a part. */
	if (m->found && strcmp(m->root, "/") == 0)
		return;
	snprintf(m->root, sizeof(m->root), "%s", root);
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	m->found = 1;
}

static int read_mounts(struct cg_mounts *ms, struct lm_err *err)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	memset(ms, 0, sizeof(*ms));
	if (!f)
		return lm_err_errno(err, LM_EIO, errno, "cannot read /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		char root[PATH_MAX], dir[PATH_MAX], fstype[64], opts[1024];
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, dir) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		unescape(root);
		unescape(dir);
		if (strcmp(fstype, "cgroup2") == 0)
			keep_mount(&ms->v2, root, dir);
		else if (strcmp(fstype, "cgroup") == 0) {
			if (has_word(opts, "memory"))
				keep_mount(&ms->memory, root, dir);
			if (has_word(opts, "name=systemd"))
				keep_mount(&ms->systemd, root, dir);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* The process's paths: v2 ("0::"), v1 memory, v1 name=systemd. "" if absent. */
struct cg_paths {
	char v2[PATH_MAX], memory[PATH_MAX], systemd[PATH_MAX];
	int has_v2;
};

static int read_paths(pid_t pid, struct cg_paths *ps, struct lm_err *err)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;

	memset(ps, 0, sizeof(*ps));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT || errno == ESRCH)
			return lm_err_set(err, LM_ENOPROC, "no process with pid %d", (int)pid);
		return lm_err_errno(err, LM_EIO, errno, "cannot read %s", path);
	}
	while (getline(&line, &cap, f) > 0) {
		char *c1 = strchr(line, ':'), *c2, *nl;
		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = *c2 = '\0';
		if ((nl = strchr(c2 + 1, '\n')))
			*nl = '\0';
		if (strcmp(line, "0") == 0 && c1 + 1 == c2) {
			snprintf(ps->v2, sizeof(ps->v2), "%s", c2 + 1);
			ps->has_v2 = 1;
		} else {
			if (has_word(c1 + 1, "memory"))
				snprintf(ps->memory, sizeof(ps->memory), "%s", c2 + 1);
			if (has_word(c1 + 1, "name=systemd"))
				snprintf(ps->systemd, sizeof(ps->systemd), "%s", c2 + 1);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* Directory of cgroup path cg in mount m; -LM_ENOTFOUND if the path is not
 * visible there. */
static int cg_dir(const struct cg_mount *m, const char *cg, char *out, size_t len)
{
	size_t rl = strlen(m->root);

	if (!m->found || cg[0] != '/')
		return -LM_ENOTFOUND;
	if (strcmp(m->root, "/") != 0) {
		if (strncmp(cg, m->root, rl) != 0 || (cg[rl] != '/' && cg[rl] != '\0'))
			return -LM_ENOTFOUND;
		cg += rl;
	}
	if (strcmp(cg, "/") == 0)
		cg = "";
	if ((size_t)snprintf(out, len, "%s%s", m->dir, cg) >= len)
		return -LM_ENOTFOUND;
	return 0;
}

/* First line of dir/name as a number; "max" is UINT64_MAX. -LM_EIO if it
 * cannot be read, -LM_EINVAL if it is not a number. */
static int read_u64(const char *dir, const char *name, uint64_t *val)
{
	char path[PATH_MAX + 64], buf[64], *end;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -LM_EIO;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -LM_EIO;
	buf[r] = '\0';
	if (strncmp(buf, "max", 3) == 0) {
		*val = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*val = strtoull(buf, &end, 10);
	return errno || end == buf ? -LM_EINVAL : 0;
}

/* v2: memory.max of the group and every ancestor below the mount point
 * (a parent's limit binds its children too); the smallest wins. */
static int memory_v2(const struct cg_mount *m, const char *dir, uint64_t *limit,
		     uint64_t *usage)
{
	char cur[PATH_MAX];
	size_t mlen = strlen(m->dir);
	uint64_t v;

	if (read_u64(dir, "memory.max", &v) < 0)
		return -LM_ENOTFOUND;	/* no memory controller here */
	*limit = v;
	if (read_u64(dir, "memory.current", usage) < 0)
		*usage = 0;
	snprintf(cur, sizeof(cur), "%s", dir);
	for (;;) {
		char *slash = strrchr(cur, '/');
		if (!slash || (size_t)(slash - cur) < mlen)
			break;
		*slash = '\0';
		if (strlen(cur) < mlen)
			break;
		if (read_u64(cur, "memory.max", &v) == 0 && v < *limit)
			*limit = v;
	}
	return 0;
}

/* v1 reports "unlimited" as the largest page-aligned value below 2^63. */
static uint64_t v1_limit(uint64_t v)
{
	return v >= (1ULL << 62) ? UINT64_MAX : v;
}

/* v1: memory.stat's hierarchical_memory_limit already folds in the
 * ancestors; memory.limit_in_bytes is the group's own. */
static int memory_v1(const char *dir, uint64_t *limit, uint64_t *usage)
{
	char path[PATH_MAX + 32], line[256];
	uint64_t own;
	FILE *f;
	int found = 0;

	if (read_u64(dir, "memory.limit_in_bytes", &own) < 0)
		return -LM_ENOTFOUND;
	*limit = v1_limit(own);
	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	f = fopen(path, "re");
	if (f) {
		unsigned long long h;
		while (!found && fgets(line, sizeof(line), f))
			if (sscanf(line, "hierarchical_memory_limit %llu", &h) == 1)
				found = 1, *limit = v1_limit(h) < *limit ? v1_limit(h) : *limit;
		fclose(f);
	}
	if (read_u64(dir, "memory.usage_in_bytes", usage) < 0)
		*usage = 0;
	return 0;
}

int lm_cgroup_memory(pid_t pid, uint64_t *limit, uint64_t *usage, struct lm_err *err)
{
	struct cg_mounts ms;
	struct cg_paths ps;
	char dir[PATH_MAX];
	int r;

	*limit = UINT64_MAX;
	*usage = 0;
	if ((r = read_mounts(&ms, err)) < 0 || (r = read_paths(pid, &ps, err)) < 0)
		return r;
	if (ps.has_v2 && cg_dir(&ms.v2, ps.v2, dir, sizeof(dir)) == 0 &&
	    memory_v2(&ms.v2, dir, limit, usage) == 0)
		return 0;
	if (ps.memory[0] && cg_dir(&ms.memory, ps.memory, dir, sizeof(dir)) == 0 &&
	    memory_v1(dir, limit, usage) == 0)
		return 0;
	/* No memory controller anywhere: no cgroup limit, usage unknown. */
	return 0;
}

/* Unit suffixes a process can live in (slices hold units, not processes). */
static int is_unit_name(const char *s, size_t n)
{
	static const char *const sfx[] = { ".service", ".scope", ".socket", ".mount",
					   ".swap", NULL };
	int i;

	for (i = 0; sfx[i]; i++) {
		size_t l = strlen(sfx[i]);
		if (n > l && strncmp(s + n - l, sfx[i], l) == 0)
			return 1;
	}
	return 0;
}

/* The deepest unit component of a cgroup path: in
 * "/user.slice/user@0.service/app.slice/x.service" that is x.service;
 * -LM_ENOTFOUND if there is none (or it does not fit buf). */
static int unit_of_path(const char *path, char *buf, size_t len)
{
	const char *p = path, *best = NULL;
	size_t best_len = 0;

	while (*p) {
		size_t n;
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n && is_unit_name(p, n))
			best = p, best_len = n;
		p += n;
	}
	if (!best || best_len >= len)
		return -LM_ENOTFOUND;
	memcpy(buf, best, best_len);
	buf[best_len] = '\0';
	return 0;
}

int lm_cgroup_unit(pid_t pid, char *buf, size_t len, struct lm_err *err)
{
	struct cg_paths ps;
	int r;

	if ((r = read_paths(pid, &ps, err)) < 0)
		return r;
	if (ps.has_v2 && unit_of_path(ps.v2, buf, len) == 0)
		return 0;
	if (ps.systemd[0] && unit_of_path(ps.systemd, buf, len) == 0)
		return 0;
	return lm_err_set(err, LM_ENOTFOUND, "process %d is not in a systemd unit's cgroup "
			  "(cgroup path '%s')", (int)pid, ps.has_v2 ? ps.v2 : ps.systemd);
}

/* ---- members of a unit ---- */

struct pidset {
	pid_t *v;
	size_t n, cap;
	size_t dirs;		/* directories visited, for the bound */
	int oom;
};

static void add_pid(struct pidset *s, pid_t pid)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		pid_t *nv;
		if (ncap > PIDS_MAX || !(nv = realloc(s->v, ncap * sizeof(*nv)))) {
			s->oom = 1;
			return;
		}
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = pid;
}

static void read_procs(struct pidset *s, const char *dir)
{
	char path[PATH_MAX + 16];
	long v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return;	/* removed meanwhile */
	while (fscanf(f, "%ld", &v) == 1)
		if (v > 0 && v <= INT_MAX)
			add_pid(s, (pid_t)v);
	fclose(f);
}

/*
 * Walk dir. Once inside the unit (collect = 1), every group's processes
 * belong to it; outside, look for a directory named unit.
 */
static void walk(struct pidset *s, const char *dir, const char *unit, int collect, int depth)
{
	struct dirent *de;
	DIR *d;

	if (depth > WALK_MAX_DEPTH || ++s->dirs > WALK_MAX_DIRS || s->oom)
		return;
	if (collect)
		read_procs(s, dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		int inside;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		inside = collect || strcmp(de->d_name, unit) == 0;
		walk(s, sub, unit, inside, depth + 1);
	}
	closedir(d);
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int lm_cgroup_unit_pids(const char *unit, pid_t **pids, size_t *n, struct lm_err *err)
{
	struct pidset s = { 0 };
	struct cg_mounts ms;
	size_t i, j;
	int r;

	*pids = NULL;
	*n = 0;
	if (!unit || !*unit || strchr(unit, '/'))
		return lm_err_set(err, LM_EINVAL, "'%s' is not a unit name", unit ? unit : "");
	if ((r = read_mounts(&ms, err)) < 0)
		return r;
	if (!ms.v2.found && !ms.systemd.found)
		return lm_err_set(err, LM_ENOTFOUND, "no cgroup2 or name=systemd hierarchy is "
				  "mounted (see /proc/self/mountinfo): units cannot be resolved");
	if (ms.v2.found)
		walk(&s, ms.v2.dir, unit, 0, 0);
	if (ms.systemd.found && !(ms.v2.found && strcmp(ms.v2.dir, ms.systemd.dir) == 0))
		walk(&s, ms.systemd.dir, unit, 0, 0);
	if (s.oom) {
		free(s.v);
		return lm_err_set(err, LM_ENOMEM, "out of memory listing the processes of %s", unit);
	}
	/* A hybrid host lists a process in both trees: keep it once. */
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), pid_cmp);
	for (i = j = 0; i < s.n; i++)
		if (j == 0 || s.v[j - 1] != s.v[i])
			s.v[j++] = s.v[i];
	*pids = s.v;
	*n = j;
	return 0;
}

uint64_t lm_mem_total(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}
