/* SPDX-License-Identifier: MIT */
/*
 * leakmond_metrics.c - /metrics for Prometheus and the textfile for
 * node_exporter (metrics_listen, metrics_textfile, metrics_top in
 * [daemon]).
 *
 * The text is rendered on the loop thread, the only one that reads the
 * database (lib/metrics), at most once a second after a snapshot and every
 * REFRESH_S anyway (processes come and go, the alert sweep resolves
 * alerts). The HTTP server is libmicrohttpd with its own thread: it only
 * copies the last rendered text under a mutex, so a scrape never waits for
 * the database or a snapshot, and a slow or hostile client costs one of
 * MAX_CONNECTIONS slots until CONNECTION_TIMEOUT_S and nothing else.
 *
 * snapshots_total counts since this leakmond started (a counter may reset:
 * Prometheus's rate() handles that); retention deletes history, so the
 * database could not give a counter that only grows.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "leakmond.h"
#include "metrics.h"

#define TICK_S 1.0		/* dirty text is rendered again this often at most */
#define REFRESH_S 10.0		/* and rendered anyway this often */
#define MAX_CONNECTIONS 16
#define CONNECTION_TIMEOUT_S 10
#define ERROR_LOG_EVERY_S 600

struct counts {
	char name[LM_CONF_NAME_MAX + 1];
	uint64_t n[LM_METRICS_NRESULTS];
};

struct lmd_metrics {
	struct MHD_Daemon *mhd;
	char *listen;			/* what mhd listens on */
	pthread_mutex_t lock;		/* text, len: shared with mhd's thread */
	char *text;
	size_t len;
	struct counts *counts;
	size_t ncounts;
	ev_timer tick;
	int dirty;
	double rendered_at;		/* loop time */
	struct lm_ratelimit render_log, file_log;
};

/* ---- HTTP (libmicrohttpd's thread) ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char *body = strdup(msg);

	return body ? reply(c, status, "text/plain; charset=utf-8", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct lmd_metrics *m = cls;
	char *body;
	size_t len;

	(void)version;
	(void)upload;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	if (*upload_size)	/* a GET with a body: not ours to read */
		return MHD_NO;
	(void)con_cls;
	if (strcmp(url, "/") == 0)
		return reply_text(c, MHD_HTTP_OK, "leakmond: the metrics are at /metrics\n");
	if (strcmp(url, "/metrics") != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
	pthread_mutex_lock(&m->lock);
	len = m->len;
	body = malloc(len ? len : 1);
	if (body && len)
		memcpy(body, m->text, len);
	pthread_mutex_unlock(&m->lock);
	if (!body)
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	lm_log(LM_LOG_DEBUG, "metrics server: %s", msg);
}

static int server_start(struct lmd_metrics *m, const char *listen)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	const struct sockaddr *sa;
	unsigned port, flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;

	if (lm_parse_listen(listen, host, sizeof(host), &port) < 0) {
		lm_log(LM_LOG_ERR, "metrics_listen = %s: not an address and port", listen);
		return -LM_ECONFIG;
	}
	if (listen[0] == '[') {
		inet_pton(AF_INET6, host, &sin6.sin6_addr);
		sin6.sin6_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		inet_pton(AF_INET, host, &sin.sin_addr);
		sin.sin_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&sin;
	}
	m->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, m,
				  MHD_OPTION_SOCK_ADDR, sa,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				  MHD_OPTION_END);
	if (!m->mhd) {
		lm_log(LM_LOG_ERR, "metrics_listen = %s: cannot listen there (address in use by "
		       "another program, or not an address of this machine); choose another "
		       "port or address", listen);
		return -LM_ECONFIG;
	}
	if (!(m->listen = strdup(listen))) {
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		return -LM_ENOMEM;
	}
	lm_log(LM_LOG_INFO, "metrics: serving http://%s/metrics", listen);
	return 0;
}

static void server_stop(struct lmd_metrics *m)
{
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
	free(m->listen);
	m->listen = NULL;
}

/* ---- rendering (loop thread) ---- */

static struct counts *counts_of(struct lmd_metrics *m, const char *target)
{
	struct counts *nc;
	size_t i;

	for (i = 0; i < m->ncounts; i++)
		if (strcmp(m->counts[i].name, target) == 0)
			return &m->counts[i];
	if (!(nc = realloc(m->counts, (m->ncounts + 1) * sizeof(*nc))))
		return NULL;
	m->counts = nc;
	nc = &m->counts[m->ncounts++];
	memset(nc, 0, sizeof(*nc));
	snprintf(nc->name, sizeof(nc->name), "%s", target);
	return nc;
}

/* The watched targets and their processes, as lib/metrics takes them. */
static int build_targets(struct leakmond *d, struct lm_metrics_target **out,
			 struct lm_metrics_process **procs_out)
{
	struct lmd_metrics *m = d->metrics;
	struct lm_metrics_target *tv = calloc(d->ntargets ? d->ntargets : 1, sizeof(*tv));
	struct lm_metrics_process *pv = calloc(lmd_count_instances(d) + 1, sizeof(*pv));
	size_t i, j, np = 0;

	if (!tv || !pv) {
		free(tv);
		free(pv);
		return -LM_ENOMEM;
	}
	for (i = 0; i < d->ntargets; i++) {
		struct lmd_target *t = d->targets[i];
		struct counts *c = counts_of(m, t->name);
		tv[i].name = t->name;
		tv[i].procs = &pv[np];
		for (j = 0; j < t->ninst; j++) {
			struct lmd_instance *inst = t->inst[j];
			pv[np].instance_id = inst->instance_id;
			pv[np].pid = inst->id.pid;
			pv[np].exe = inst->exe;
			pv[np].memory_limit = inst->memory_limit;
			np++;
		}
		tv[i].nprocs = (size_t)(&pv[np] - tv[i].procs);
		if (c)
			memcpy(tv[i].snapshots, c->n, sizeof(c->n));
	}
	*out = tv;
	*procs_out = pv;
	return 0;
}

static void render(struct leakmond *d)
{
	struct lmd_metrics *m = d->metrics;
	struct lm_metrics_target *tv;
	struct lm_metrics_process *pv;
	struct lm_err err = { 0 };
	char *text = NULL, *old;
	size_t len = 0;
	uint64_t sup = 0;
	int r;

	m->dirty = 0;
	m->rendered_at = ev_now(d->loop);
	if (build_targets(d, &tv, &pv) < 0) {
		r = lm_err_set(&err, LM_ENOMEM, "metrics: out of memory");
	} else {
		r = lm_metrics_render(d->store, tv, d->ntargets, d->conf->metrics_top,
				      PACKAGE_VERSION, &text, &len, &err);
		free(tv);
		free(pv);
	}
	if (r < 0) {	/* keep serving the last good text */
		if (lm_ratelimit_ok(&m->render_log, lm_wall_us(), ERROR_LOG_EVERY_S, &sup))
			lm_log(LM_LOG_WARNING, "%s", err.msg);
		return;
	}
	if (d->conf->metrics_textfile &&
	    lm_metrics_write_file(d->conf->metrics_textfile, text, len, &err) < 0 &&
	    lm_ratelimit_ok(&m->file_log, lm_wall_us(), ERROR_LOG_EVERY_S, &sup))
		lm_log(LM_LOG_WARNING, "%s", err.msg);
	pthread_mutex_lock(&m->lock);
	old = m->text;
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
}

static int wanted(const struct leakmond *d)
{
	return d->conf->metrics_listen || d->conf->metrics_textfile;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct leakmond *d = w->data;
	struct lmd_metrics *m = d->metrics;

	(void)revents;
	if (wanted(d) && (m->dirty || ev_now(loop) - m->rendered_at >= REFRESH_S))
		render(d);
}

/* ---- the daemon's hooks ---- */

int lmd_metrics_start(struct leakmond *d)
{
	struct lmd_metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -LM_ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	d->metrics = m;
	if (d->conf->metrics_listen && (r = server_start(m, d->conf->metrics_listen)) < 0)
		return r;
	if (wanted(d))
		render(d);
	ev_timer_init(&m->tick, on_tick, TICK_S, TICK_S);
	m->tick.data = d;
	ev_timer_start(d->loop, &m->tick);
	return 0;
}

void lmd_metrics_snapshot(struct leakmond *d, const char *target, const char *status)
{
	struct lmd_metrics *m = d->metrics;
	struct counts *c;
	int i = lm_metrics_result_index(status);

	if (!m)
		return;
	if (i >= 0 && (c = counts_of(m, target)))
		c->n[i]++;
	m->dirty = 1;
}

void lmd_metrics_reload(struct leakmond *d)
{
	struct lmd_metrics *m = d->metrics;
	const char *want = d->conf->metrics_listen;

	if (!m)
		return;
	if (!want || !m->listen || strcmp(want, m->listen) != 0) {
		if (m->listen)
			lm_log(LM_LOG_INFO, "metrics: no longer serving http://%s/metrics", m->listen);
		server_stop(m);
		/* On failure (logged) the metrics stay off until the next reload. */
		if (want)
			server_start(m, want);
	}
	if (wanted(d))
		render(d);
}

void lmd_metrics_stop(struct leakmond *d)
{
	struct lmd_metrics *m = d->metrics;

	if (!m)
		return;
	server_stop(m);
	if (d->loop)
		ev_timer_stop(d->loop, &m->tick);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m->counts);
	free(m);
	d->metrics = NULL;
}
