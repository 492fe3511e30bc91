/* SPDX-License-Identifier: MIT */
/*
 * selector.c - resolving a target's selector to processes.
 *
 * unit: the pids of the unit's cgroup (lib/cgroup.c); exe: every numeric
 * /proc entry whose exe link is the path; name: whose comm is the name;
 * pid: that one. Each candidate is then checked the same way (state, start
 * time, not ourselves, traced by us or not) and returned with its start
 * time.
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
#include <unistd.h>

#include "cgroup.h"
#include "proc.h"
#include "selector.h"

#define PROCS_MAX (4u << 20)

struct idset {
	struct lm_proc_id *v;
	size_t n, cap;
	int oom;
};

static void add_id(struct idset *s, pid_t pid, uint64_t start, int traced)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		struct lm_proc_id *nv;
		if (ncap > PROCS_MAX || !(nv = realloc(s->v, ncap * sizeof(*nv)))) {
			s->oom = 1;
			return;
		}
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].pid = pid;
	s->v[s->n].start_ticks = start;
	s->v[s->n].traced_by_us = traced;
	s->n++;
}

/* Small /proc/PID file into buf; -LM_EIO if unreadable. */
static int read_small(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -LM_EIO;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r < 0)
		return -LM_EIO;
	buf[r] = '\0';
	return 0;
}

/* TracerPid from /proc/PID/status, 0 if none or unreadable. */
static pid_t tracer_of(pid_t pid)
{
	char buf[4096], *p;

	if (read_small(pid, "status", buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "\nTracerPid:");
	return p ? (pid_t)atoi(p + 11) : 0;
}

/* Is pid traced by one of our threads? TracerPid is the tracing thread's
 * id: the snapshot worker's, not our pid. */
static int traced_by_us(pid_t pid)
{
	char path[64];
	pid_t tracer = tracer_of(pid);

	if (tracer <= 0)
		return 0;
	if (tracer == getpid())
		return 1;
	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tracer);
	return access(path, F_OK) == 0;
}

/* State and start time from /proc/PID/stat (fields counted after ')');
 * -LM_ENOPROC if it cannot be read, -LM_EINVAL if it is cut short. */
static int stat_of(pid_t pid, char *state, uint64_t *start)
{
	char buf[1024], *p;
	int field;

	if (read_small(pid, "stat", buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return -LM_ENOPROC;
	p++;
	for (field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -LM_EINVAL;
		if (field == 3)
			*state = *p;
		if (field == 22) {
			*start = strtoull(p, NULL, 10);
			return 0;
		}
		p += strcspn(p, " ");
	}
	return -LM_EINVAL;
}

int lm_proc_start_ticks(pid_t pid, uint64_t *ticks, struct lm_err *err)
{
	char st;

	if (stat_of(pid, &st, ticks) < 0)
		return lm_err_set(err, LM_ENOPROC, "no process with pid %d", (int)pid);
	return 0;
}

/* Keep pid if it is a live user process that is not us. */
static void consider(struct idset *s, pid_t pid)
{
	uint64_t start;
	char state;

	if (pid <= 0 || pid == getpid())
		return;
	if (stat_of(pid, &state, &start) < 0 || state == 'Z' || state == 'X')
		return;
	add_id(s, pid, start, traced_by_us(pid));
}

static int is_pid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int exe_matches(pid_t pid, const char *exe)
{
	char buf[PATH_MAX + 16];
	size_t n = strlen(exe);

	if (lm_proc_exe(pid, buf, sizeof(buf), NULL) < 0)
		return 0;	/* kernel thread, gone, or not ours to see */
	return strncmp(buf, exe, n) == 0 &&
	       (buf[n] == '\0' || strcmp(buf + n, " (deleted)") == 0);
}

static int comm_matches(pid_t pid, const char *name)
{
	char buf[64];
	size_t n;

	if (read_small(pid, "comm", buf, sizeof(buf)) < 0)
		return 0;
	n = strcspn(buf, "\n");
	buf[n] = '\0';
	return strcmp(buf, name) == 0;
}

static int scan_proc(struct idset *s, enum lm_selector_kind kind, const char *value,
		     struct lm_err *err)
{
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return lm_err_errno(err, LM_EIO, errno, "cannot list /proc");
	while ((de = readdir(d)) && !s->oom) {
		pid_t pid;
		if (!is_pid_name(de->d_name))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (kind == LM_SEL_EXE ? exe_matches(pid, value) : comm_matches(pid, value))
			consider(s, pid);
	}
	closedir(d);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct lm_proc_id *)a)->pid, y = ((const struct lm_proc_id *)b)->pid;
	return (x > y) - (x < y);
}

int lm_selector_resolve(enum lm_selector_kind kind, const char *value, pid_t pid,
			struct lm_proc_id **out, size_t *n, struct lm_err *err)
{
	struct idset s = { 0 };
	pid_t *pids = NULL;
	size_t npids = 0, i;
	int r = 0;

	*out = NULL;
	*n = 0;
	switch (kind) {
	case LM_SEL_PID:
		consider(&s, pid);
		break;
	case LM_SEL_UNIT:
		r = lm_cgroup_unit_pids(value, &pids, &npids, err);
		for (i = 0; r == 0 && i < npids; i++)
			consider(&s, pids[i]);
		free(pids);
		break;
	case LM_SEL_EXE:
	case LM_SEL_NAME:
		r = scan_proc(&s, kind, value, err);
		break;
	default:
		r = lm_err_set(err, LM_EINVAL, "unknown selector kind %d", (int)kind);
	}
	if (r == 0 && s.oom)
		r = lm_err_set(err, LM_ENOMEM, "out of memory resolving %s = %s",
			       lm_selector_kind_name(kind), value ? value : "");
	if (r < 0) {
		free(s.v);
		return r;
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), id_cmp);
	*out = s.v;
	*n = s.n;
	return 0;
}

/* Real and effective uid from /proc/PID/status ("Uid: real effective
 * saved fs"); -LM_EIO if unreadable, -LM_EINVAL if it has no such line. */
static int uids_of(pid_t pid, unsigned long *real, unsigned long *eff)
{
	char buf[4096], *p;

	if (read_small(pid, "status", buf, sizeof(buf)) < 0)
		return -LM_EIO;
	if (!(p = strstr(buf, "\nUid:")))
		return -LM_EINVAL;
	return sscanf(p + 5, "%lu %lu", real, eff) == 2 ? 0 : -LM_EINVAL;
}

size_t lm_selector_keep_user(struct lm_proc_id *ids, size_t n, uid_t uid)
{
	unsigned long real, eff;
	size_t i, j;

	for (i = j = 0; i < n; i++)
		if (uids_of(ids[i].pid, &real, &eff) == 0 && real == uid && eff == uid)
			ids[j++] = ids[i];
	return j;
}

int lm_proc_id_alive(const struct lm_proc_id *id)
{
	uint64_t start;
	char state;

	return stat_of(id->pid, &state, &start) == 0 && start == id->start_ticks &&
	       state != 'Z' && state != 'X';
}

int64_t lm_proc_start_us(uint64_t start_ticks)
{
	static long long btime = -1;
	long hz = sysconf(_SC_CLK_TCK);
	char line[256];
	FILE *f;

	if (btime < 0 && (f = fopen("/proc/stat", "re"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %lld", &btime) == 1)
				break;
		fclose(f);
	}
	if (btime < 0 || hz <= 0)
		return 0;
	return (int64_t)btime * 1000000 + (int64_t)(start_ticks * 1000000 / (uint64_t)hz);
}

void lm_proc_ids_diff(const struct lm_proc_id *old, size_t nold,
		      const struct lm_proc_id *cur, size_t ncur,
		      void (*appeared)(void *ctx, const struct lm_proc_id *id),
		      void (*gone)(void *ctx, const struct lm_proc_id *id), void *ctx)
{
	size_t i = 0, j = 0;

	while (i < nold || j < ncur) {
		if (j == ncur || (i < nold && old[i].pid < cur[j].pid)) {
			gone(ctx, &old[i++]);
		} else if (i == nold || cur[j].pid < old[i].pid) {
			appeared(ctx, &cur[j++]);
		} else {
			if (old[i].start_ticks != cur[j].start_ticks) {
				gone(ctx, &old[i]);
				appeared(ctx, &cur[j]);
			}
			i++, j++;
		}
	}
}
