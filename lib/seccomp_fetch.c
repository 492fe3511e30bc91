/* SPDX-License-Identifier: MIT */
/*
 * seccomp_fetch.c - the client of the leakmon-filters helper, and the set
 * of filters it answered (see seccomp_fetch.h, seccomp_wire.h).
 *
 * The answer describes a process that may be hostile (its filters are its
 * own programs): every count is bounded before anything is allocated, the
 * whole answer is at most LM_SF_ANSWER_MAX bytes, and reading it stops
 * after IO_TIMEOUT_MS without progress.
 */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "proc.h"
#include "seccomp_fetch.h"
#include "seccomp_wire.h"

#define IO_TIMEOUT_MS 1000

struct sf_thread {
	pid_t tid;
	uint64_t start_ticks;
	uint32_t n;
	struct sock_filter **progs;
	uint32_t *lens;
};

struct lm_seccomp_set {
	struct sf_thread *t;
	size_t n;
	pid_t alias_tid, alias_parent;
};

static __thread struct lm_seccomp_set *in_use;

void lm_seccomp_set_free(struct lm_seccomp_set *s)
{
	size_t i, j;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->t[i].n; j++)
			free(s->t[i].progs[j]);
		free(s->t[i].progs);
		free(s->t[i].lens);
	}
	free(s->t);
	free(s);
}

/* len bytes from fd, within the answer's budget: -LM_ELIMIT beyond it,
 * -LM_EIO when the answer is cut short. */
static int read_all(int fd, void *buf, size_t len, size_t *budget)
{
	char *p = buf;

	if (len > *budget)
		return -LM_ELIMIT;
	*budget -= len;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -LM_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int connect_helper(const char *path, struct lm_err *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000 };
	int fd, e;

	if (strlen(path) >= sizeof(a.sun_path))
		return lm_err_set(err, LM_EINVAL, "%s: socket path too long", path);
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lm_err_errno(err, LM_EIO, errno, "cannot create a socket for %s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		e = errno;
		close(fd);
		return lm_err_errno(err, e == ENOENT || e == ECONNREFUSED ? LM_ENOTFOUND : LM_ELIMIT,
				    e, "no seccomp filter helper at %s (leakmon-filters.socket)", path);
	}
	return fd;
}

/* One thread's filters: -LM_EIO when the answer is cut short or out of
 * bounds, -LM_ENOMEM. */
static int read_thread(int fd, struct sf_thread *t, size_t *budget)
{
	struct lm_sf_thread w;
	uint32_t i;

	if (read_all(fd, &w, sizeof(w), budget) < 0 || w.tid <= 0 ||
	    w.nfilters > LM_SF_FILTERS_MAX)
		return -LM_EIO;
	t->tid = w.tid;
	t->start_ticks = w.start_ticks;
	if (!w.nfilters)
		return 0;
	t->progs = calloc(w.nfilters, sizeof(*t->progs));
	t->lens = calloc(w.nfilters, sizeof(*t->lens));
	if (!t->progs || !t->lens)
		return -LM_ENOMEM;
	for (i = 0; i < w.nfilters; i++) {
		uint32_t len;
		if (read_all(fd, &len, sizeof(len), budget) < 0 || !len || len > LM_SF_INSNS_MAX)
			return -LM_EIO;
		t->progs[i] = malloc(len * sizeof(struct sock_filter));
		t->n = i + 1;	/* freed with the set from here on */
		if (!t->progs[i])
			return -LM_ENOMEM;
		if (read_all(fd, t->progs[i], len * sizeof(struct sock_filter), budget) < 0)
			return -LM_EIO;
		t->lens[i] = len;
	}
	return 0;
}

int lm_seccomp_fetch(const char *sock, pid_t pid, struct lm_seccomp_set **out,
		     struct lm_err *err)
{
	/* LEAKMON_FILTERS_SOCKET: a test hook (a helper started by hand). */
	const char *env = getenv("LEAKMON_FILTERS_SOCKET");
	const char *path = sock ? sock : env && *env ? env : LM_SF_SOCKET;
	struct lm_seccomp_set *s;
	struct lm_sf_head h;
	size_t budget = LM_SF_ANSWER_MAX, i;
	int32_t req = (int32_t)pid;
	int fd;

	*out = NULL;
	fd = connect_helper(path, err);
	if (fd < 0)
		return fd;
	if (write(fd, &req, sizeof(req)) != (ssize_t)sizeof(req) ||
	    read_all(fd, &h, sizeof(h), &budget) < 0 || h.magic != LM_SF_MAGIC) {
		close(fd);
		return lm_err_set(err, LM_EIO, "the seccomp filter helper at %s did not answer "
				  "for pid %d (see its journal: leakmon-filters@*.service)",
				  path, (int)pid);
	}
	if (h.error || h.nthreads > LM_SF_THREADS_MAX) {
		close(fd);
		return lm_err_errno(err, LM_ELIMIT, h.error ? h.error : EINVAL,
				    "the seccomp filter helper could not read the filters of pid %d",
				    (int)pid);
	}
	s = calloc(1, sizeof(*s));
	if (s && h.nthreads)
		s->t = calloc(h.nthreads, sizeof(*s->t));
	if (!s || (h.nthreads && !s->t)) {
		close(fd);
		lm_seccomp_set_free(s);
		return lm_err_set(err, LM_ENOMEM, "out of memory reading seccomp filters");
	}
	for (i = 0; i < h.nthreads; i++) {
		s->n = i + 1;
		if (read_thread(fd, &s->t[i], &budget) < 0) {
			close(fd);
			lm_seccomp_set_free(s);
			return lm_err_set(err, LM_EIO, "the seccomp filter helper's answer for pid %d "
					  "was cut short or out of bounds (a thread did not stop in "
					  "time?)", (int)pid);
		}
	}
	close(fd);
	*out = s;
	return 0;
}

void lm_seccomp_set_alias(struct lm_seccomp_set *s, pid_t tid, pid_t parent)
{
	if (s) {
		s->alias_tid = tid;
		s->alias_parent = parent;
	}
}

void lm_seccomp_set_use(struct lm_seccomp_set *s)
{
	in_use = s;
}

int lm_seccomp_set_lookup(pid_t tid, const struct sock_filter *const **progs,
			  const uint32_t **lens, uint32_t *n)
{
	struct lm_seccomp_set *s = in_use;
	unsigned long long count;
	struct lm_proc_status ps;
	pid_t want = tid;
	size_t i;

	if (!s)
		return -LM_ENOTFOUND;
	if (s->alias_tid && tid == s->alias_tid)
		want = s->alias_parent;
	for (i = 0; i < s->n && s->t[i].tid != want; i++)
		;
	if (i == s->n)
		return -LM_ENOTFOUND;
	/* Same thread, same number of filters: the same filters. */
	if (lm_proc_field(tid, "status", "Seccomp_filters", &count) < 0 || count != s->t[i].n)
		return -LM_ENOTFOUND;
	if (want == tid && (lm_proc_status(tid, &ps, NULL) < 0 ||
			    ps.start_time_ticks != s->t[i].start_ticks))
		return -LM_ENOTFOUND;
	*progs = (const struct sock_filter *const *)s->t[i].progs;
	*lens = s->t[i].lens;
	*n = s->t[i].n;
	return 0;
}
