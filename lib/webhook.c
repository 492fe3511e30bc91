/* SPDX-License-Identifier: MIT */
/*
 * webhook.c - the sender that drains the outbox of alert notifications
 * (outbox.h, webhook_deliveries) over HTTP(S) on a libev loop (see
 * webhook.h).
 *
 * How it works: a scan reads the due pending deliveries (next_attempt_us
 * <= now), takes a lease on each (attempts + 1, next_attempt_us pushed past
 * the timeout plus the backoff, so a crash mid-transfer still retries
 * later) and adds one libcurl easy handle per delivery to a multi handle.
 * libcurl tells us which sockets to watch (socket_cb -> ev_io) and when to
 * call it back (timer_cb -> ev_timer); each event is handed to
 * curl_multi_socket_action(), and finished transfers are collected with
 * curl_multi_info_read(). A 2xx marks the delivery delivered; anything else
 * sets next_attempt_us to now + backoff. The scan timer then sleeps until
 * the next due delivery (at most SCAN_MAX_S, to notice deliveries queued
 * by another process). Nothing here blocks: SQLite statements are small
 * and local, transfers are asynchronous.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <sqlite3.h>

#include "config.h"
#include "clock.h"
#include "conf.h"
#include "outbox.h"
#include "units.h"
#include "webhook.h"
#include "alertmanager.h"

#define SCAN_BATCH 64		/* due deliveries read per scan */
#define SCAN_MAX_S 30.0		/* look at the outbox at least this often */
#define CONNECT_TIMEOUT_MS 10000L
/* Alertmanager resolves an alert whose endsAt has passed: firing alerts
 * are sent again every RESEND_S with endsAt ENDS_AFTER_RESENDS periods
 * ahead (Prometheus's own rule: 4 x its resend delay of 1 min), so one
 * lost resend changes nothing and a leakmond that stopped lets them end. */
#define AM_RESEND_S 60.0
#define AM_ENDS_AFTER_RESENDS 4
#define AM_RESEND_BATCH 1000

/* ---- the sender -------------------------------------------------------- */

struct hook {
	char *name;
	char *url;
	unsigned char *secret;	/* NULL: unsigned */
	size_t secret_len;
	long timeout_ms;
	char **headers;
	size_t nheaders;
	int64_t max_age_us;
	int format;		/* enum lm_webhook_format */
};

struct xfer {
	struct lm_webhook_sender *s;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	int64_t row;
	char delivery_id[40];
	char event[32];
	char webhook[LM_CONF_NAME_MAX + 1];
	int attempt;
	int64_t created_at_us, max_age_us;
	size_t got;		/* response bytes seen */
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *next;
};

struct sock {
	ev_io io;
	curl_socket_t fd;
	struct lm_webhook_sender *s;
	struct sock *next;	/* every watched socket, for the final cleanup */
};

struct lm_webhook_sender {
	struct ev_loop *loop;
	sqlite3 *db;
	CURLM *multi;
	ev_timer curl_timer;	/* libcurl's timeout */
	ev_timer scan_timer;	/* next due delivery */
	struct hook *hooks;
	size_t nhooks;
	struct xfer *xfers;
	size_t inflight;
	struct sock *socks;
	lm_webhook_report_fn report;
	void *ctx;
	int scanning;
	ev_timer resend_timer;	/* Alertmanager: firing alerts again */
	double resend_s;
};

static void hooks_free(struct hook *v, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].url);
		if (v[i].secret)
			memset(v[i].secret, 0, v[i].secret_len);
		free(v[i].secret);
		for (j = 0; j < v[i].nheaders; j++)
			free(v[i].headers[j]);
		free(v[i].headers);
	}
	free(v);
}

/* The secret: the file's bytes without a trailing newline. */
static int read_secret(const struct lm_conf_webhook *c, struct hook *h, struct lm_err *err)
{
	unsigned char buf[LM_CONF_SECRET_MAX];
	size_t len = 0;
	int rc = lm_conf_read_secret(c->secret_file, buf, sizeof(buf), &len, err);

	if (rc < 0) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return lm_err_set(err, LM_ECONFIG, "webhook %s: %s", c->name, msg);
	}
	h->secret = malloc(len);
	if (!h->secret)
		return lm_err_set(err, LM_ENOMEM, "webhook %s: out of memory", c->name);
	memcpy(h->secret, buf, len);
	memset(buf, 0, sizeof(buf));
	h->secret_len = len;
	return 0;
}

/* Alertmanager's base URL (http://am:9093) gets its alerts path; a URL
 * that already ends with it stays as it is. */
static char *alertmanager_url(const char *url)
{
	size_t len = url ? strlen(url) : 0, pl = strlen(LM_ALERTMANAGER_PATH);
	char *out;

	if (len >= pl && strcmp(url + len - pl, LM_ALERTMANAGER_PATH) == 0)
		return strdup(url);
	while (len && url[len - 1] == '/')
		len--;
	if (!(out = malloc(len + pl + 1)))
		return NULL;
	memcpy(out, url, len);
	memcpy(out + len, LM_ALERTMANAGER_PATH, pl + 1);
	return out;
}

static int hooks_build(const struct lm_conf_webhook *confs, size_t n,
		       struct hook **out, struct lm_err *err)
{
	struct hook *v = calloc(n + 1, sizeof(*v));
	size_t i, j;
	int rc;

	if (!v)
		return lm_err_set(err, LM_ENOMEM, "webhooks: out of memory");
	for (i = 0; i < n; i++) {
		const struct lm_conf_webhook *c = &confs[i];
		struct hook *h = &v[i];
		h->name = strdup(c->name);
		h->format = c->format;
		h->url = c->format == LM_WEBHOOK_FORMAT_ALERTMANAGER ? alertmanager_url(c->url) :
			strdup(c->url ? c->url : "");
		h->timeout_ms = c->timeout_ms ? (long)c->timeout_ms :
			(long)LM_CONF_DEFAULT_WEBHOOK_TIMEOUT_MS;
		h->max_age_us = (int64_t)(c->max_age_ms ? c->max_age_ms :
					  LM_CONF_DEFAULT_WEBHOOK_MAX_AGE_MS) * 1000;
		h->headers = calloc(c->nheaders + 1, sizeof(char *));
		if (!h->name || !h->url || !h->headers) {
			hooks_free(v, n);
			return lm_err_set(err, LM_ENOMEM, "webhooks: out of memory");
		}
		for (j = 0; j < c->nheaders; j++) {
			h->headers[j] = strdup(c->headers[j]);
			if (!h->headers[j]) {
				hooks_free(v, n);
				return lm_err_set(err, LM_ENOMEM, "webhooks: out of memory");
			}
			h->nheaders++;
		}
		if (c->secret_file && (rc = read_secret(c, h, err))) {
			hooks_free(v, n);
			return rc;
		}
	}
	*out = v;
	return 0;
}

static const struct hook *find_hook(const struct lm_webhook_sender *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nhooks; i++)
		if (!strcmp(s->hooks[i].name, name))
			return &s->hooks[i];
	return NULL;
}

static size_t hook_inflight(const struct lm_webhook_sender *s, const char *name)
{
	const struct xfer *x;
	size_t n = 0;

	for (x = s->xfers; x; x = x->next)
		n += !strcmp(x->webhook, name);
	return n;
}

static int row_inflight(const struct lm_webhook_sender *s, int64_t row)
{
	const struct xfer *x;

	for (x = s->xfers; x; x = x->next)
		if (x->row == row)
			return 1;
	return 0;
}

/* Exponential backoff with +-25% jitter after `attempts` failures. */
static int64_t backoff_us(int attempts)
{
	double ms = LM_WEBHOOK_BACKOFF_MIN_MS;
	unsigned short r = 0;
	int i;

	for (i = 1; i < attempts && ms < LM_WEBHOOK_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > LM_WEBHOOK_BACKOFF_MAX_MS)
		ms = LM_WEBHOOK_BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned short)(lm_wall_us() & 0xffff);
	ms *= 0.75 + 0.5 * (r / 65535.0);
	return (int64_t)(ms * 1000);
}

static void report(struct lm_webhook_sender *s, const struct xfer *x, long status,
		   int delivered, int expired, const char *error)
{
	struct lm_webhook_attempt a;

	if (!s->report)
		return;
	a.webhook = x->webhook;
	a.delivery_id = x->delivery_id;
	a.event = x->event;
	a.attempt = x->attempt;
	a.status = status;
	a.delivered = delivered;
	a.expired = expired;
	a.error = error;
	s->report(s->ctx, &a);
}

static void exec_update(struct lm_webhook_sender *s, const char *sql, int64_t row,
			int64_t a, int64_t b, long status, const char *text)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	sqlite3_bind_int64(st, 4, status);
	if (text)
		sqlite3_bind_text(st, 5, text, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static void xfer_free(struct xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->body);
	free(x);
}

static void unlink_xfer(struct lm_webhook_sender *s, struct xfer *x)
{
	struct xfer **p;

	for (p = &s->xfers; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			s->inflight--;
			return;
		}
}

static void schedule_scan(struct lm_webhook_sender *s, double after_s);
static void scan(struct lm_webhook_sender *s);

/* A transfer ended: record the outcome. */
static void finish(struct lm_webhook_sender *s, struct xfer *x, CURLcode result)
{
	long status = 0;
	int64_t now = lm_wall_us();
	char msg[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(s->multi, x->easy);
	unlink_xfer(s, x);
	/* A 2xx status means the receiver took the delivery, even if we then
	 * cut off its response body (too long or never-ending). */
	if (!x->row) {		/* an Alertmanager resend: the next one retries */
		if (result != CURLE_OK)
			snprintf(msg, sizeof(msg), "%s", x->errbuf[0] ? x->errbuf :
				 curl_easy_strerror(result));
		else
			snprintf(msg, sizeof(msg), "HTTP status %ld", status);
		if (status < 200 || status >= 300)
			report(s, x, status, 0, 0, msg);
	} else if (status >= 200 && status < 300) {
		exec_update(s, "UPDATE webhook_deliveries SET state = 'delivered', "
			    "delivered_at_us = ?2, last_status = ?4, last_error = NULL WHERE id = ?1",
			    x->row, now, 0, status, NULL);
		report(s, x, status, 1, 0, NULL);
	} else {
		int64_t next = now + backoff_us(x->attempt);
		int expired = next - x->created_at_us > x->max_age_us;
		if (result != CURLE_OK)
			snprintf(msg, sizeof(msg), "%s", x->errbuf[0] ? x->errbuf :
				 curl_easy_strerror(result));
		else
			snprintf(msg, sizeof(msg), "HTTP status %ld", status);
		if (expired)
			exec_update(s, "UPDATE webhook_deliveries SET state = 'expired', "
				    "last_status = ?4, last_error = ?5 WHERE id = ?1",
				    x->row, 0, 0, status, msg);
		else
			exec_update(s, "UPDATE webhook_deliveries SET next_attempt_us = ?2, "
				    "last_status = ?4, last_error = ?5 WHERE id = ?1",
				    x->row, next, 0, status, msg);
		report(s, x, status, 0, expired, msg);
	}
	xfer_free(x);
}

static void check_done(struct lm_webhook_sender *s)
{
	CURLMsg *m;
	int left, any = 0;

	while ((m = curl_multi_info_read(s->multi, &left))) {
		struct xfer *x = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x) {
			finish(s, x, m->data.result);
			any = 1;
		}
	}
	if (any)	/* slots are free: more may go out now */
		schedule_scan(s, 0);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *k = w->data;
	struct lm_webhook_sender *s = k->s;	/* k may be freed by the call */
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	curl_multi_socket_action(s->multi, k->fd, action, &running);
	check_done(s);
}

static void curl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lm_webhook_sender *s = w->data;
	int running;

	curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what libcurl asks. */
static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct lm_webhook_sender *s = userp;
	struct sock *k = socketp;
	int kind;

	if (what == CURL_POLL_REMOVE) {
		if (k) {
			struct sock **p;
			ev_io_stop(s->loop, &k->io);
			for (p = &s->socks; *p; p = &(*p)->next)
				if (*p == k) {
					*p = k->next;
					break;
				}
			free(k);
			curl_multi_assign(s->multi, fd, NULL);
		}
		return 0;
	}
	kind = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return -1;
		k->fd = fd;
		k->s = s;
		ev_io_init(&k->io, io_cb, fd, kind);
		k->io.data = k;
		k->next = s->socks;
		s->socks = k;
		curl_multi_assign(s->multi, fd, k);
	} else {
		ev_io_stop(s->loop, &k->io);
		ev_io_set(&k->io, fd, kind);
	}
	ev_io_start(s->loop, &k->io);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called back in timeout_ms. */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct lm_webhook_sender *s = userp;

	ev_timer_stop(s->loop, &s->curl_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&s->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(s->loop, &s->curl_timer);
	}
	return 0;
}

/* Response bodies are read into nothing, and only so far. */
static size_t discard_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;

	x->got += n;
	return x->got > LM_WEBHOOK_MAX_RESPONSE ? 0 : n;
}

/* The body as sent: the stored payload plus "sent_at". */
static char *render_body(const char *payload)
{
	json_error_t jerr;
	json_t *j = json_loads(payload, 0, &jerr);
	char ts[32], *out;

	if (!j)
		return NULL;
	lm_format_utc(lm_wall_us(), ts, sizeof(ts));
	json_object_set_new(j, "sent_at", json_string(ts));
	out = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(j);
	return out;
}

static struct curl_slist *add_header(struct curl_slist *l, int *ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct curl_slist *add_header(struct curl_slist *l, int *ok, const char *fmt, ...)
{
	char buf[LM_CONF_HEADER_MAX + 1];
	struct curl_slist *n;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(buf)) {	/* never send a header cut short */
		*ok = 0;
		return l;
	}
	n = curl_slist_append(l, buf);
	if (!n) {
		*ok = 0;
		return l;
	}
	return n;
}

/* The body for h: leakmon's document, or Alertmanager's alerts (the alert
 * opened at opened_us, resolved at resolved_us or still firing). */
static char *body_for(const struct lm_webhook_sender *s, const struct hook *h,
		      const char *event, const char *payload, int64_t created_at_us,
		      int64_t opened_us, int64_t resolved_us)
{
	int64_t now = lm_wall_us(), ends;

	if (h->format != LM_WEBHOOK_FORMAT_ALERTMANAGER)
		return render_body(payload);
	if (strcmp(event, "leak.resolved") == 0)
		ends = resolved_us ? resolved_us : created_at_us;
	else
		ends = now + (int64_t)(s->resend_s * AM_ENDS_AFTER_RESENDS * 1e6);
	return lm_alertmanager_body(payload, opened_us ? opened_us : created_at_us, ends, now);
}

/* One POST. row 0: an Alertmanager resend, which no row records, whose
 * body (taken over) is given ready-made. -LM_ENOMEM when it cannot be
 * started (a row stays pending and is tried again). */
static int start_transfer(struct lm_webhook_sender *s, const struct hook *h,
			  int64_t row, const char *delivery_id, const char *event,
			  const char *payload, int64_t created_at_us, int attempts,
			  int64_t opened_us, int64_t resolved_us, char *body)
{
	struct xfer *x = calloc(1, sizeof(*x));
	int ok = 1;
	size_t i;
	int64_t now = lm_wall_us();

	if (!x) {
		free(body);
		return -LM_ENOMEM;
	}
	x->s = s;
	x->row = row;
	x->attempt = attempts + 1;
	x->created_at_us = created_at_us;
	x->max_age_us = h->max_age_us;
	snprintf(x->delivery_id, sizeof(x->delivery_id), "%s", delivery_id);
	snprintf(x->event, sizeof(x->event), "%s", event);
	snprintf(x->webhook, sizeof(x->webhook), "%s", h->name);
	x->body = body ? body : body_for(s, h, event, payload, created_at_us, opened_us,
					 resolved_us);
	x->easy = curl_easy_init();
	if (!x->body || !x->easy) {
		xfer_free(x);
		return -LM_ENOMEM;
	}
	x->hdrs = add_header(x->hdrs, &ok, "Content-Type: application/json");
	x->hdrs = add_header(x->hdrs, &ok, "Expect:");
	x->hdrs = add_header(x->hdrs, &ok, "User-Agent: leakmon/%s", PACKAGE_VERSION);
	x->hdrs = add_header(x->hdrs, &ok, "X-Leakmon-Delivery: %s", x->delivery_id);
	x->hdrs = add_header(x->hdrs, &ok, "X-Leakmon-Event: %s", x->event);
	if (h->secret) {
		char hex[65];
		lm_outbox_sign(h->secret, h->secret_len, x->body, strlen(x->body), hex);
		x->hdrs = add_header(x->hdrs, &ok, "X-Leakmon-Signature: sha256=%s", hex);
	}
	for (i = 0; i < h->nheaders; i++)
		x->hdrs = add_header(x->hdrs, &ok, "%s", h->headers[i]);
	if (!ok) {
		xfer_free(x);
		return -LM_ENOMEM;
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, h->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 h->timeout_ms < CONNECT_TIMEOUT_MS ? h->timeout_ms : CONNECT_TIMEOUT_MS);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	/* The lease: if we die mid-transfer, the next daemon retries later. */
	if (row)
		exec_update(s, "UPDATE webhook_deliveries SET attempts = attempts + 1, "
		    "last_attempt_us = ?2, next_attempt_us = ?3 WHERE id = ?1",
			    row, now, now + (int64_t)h->timeout_ms * 1000 + backoff_us(x->attempt),
			    0, NULL);
	if (curl_multi_add_handle(s->multi, x->easy) != CURLM_OK) {
		xfer_free(x);
		return -LM_ENOMEM;
	}
	x->next = s->xfers;
	s->xfers = x;
	s->inflight++;
	return 0;
}

static void expire(struct lm_webhook_sender *s, int64_t row, const char *why)
{
	exec_update(s, "UPDATE webhook_deliveries SET state = 'expired', last_error = ?5 "
		    "WHERE id = ?1", row, 0, 0, 0, why);
}

/* Start what is due and allowed; then sleep until the next due one. */
static void scan(struct lm_webhook_sender *s)
{
	sqlite3_stmt *st;
	int64_t now = lm_wall_us(), next = 0;
	double sleep_s = SCAN_MAX_S;

	if (s->scanning)
		return;
	s->scanning = 1;
	if (sqlite3_prepare_v2(s->db, "SELECT d.id, d.delivery_id, d.webhook, d.event, d.payload, "
			       "d.created_at_us, d.attempts, a.opened_at_us, a.resolved_at_us "
			       "FROM webhook_deliveries d LEFT JOIN leak_alerts a ON a.id = d.alert "
			       "WHERE d.state = 'pending' AND d.next_attempt_us <= ? "
			       "ORDER BY d.next_attempt_us, d.id LIMIT ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, SCAN_BATCH);
		while (sqlite3_step(st) == SQLITE_ROW && s->inflight < LM_WEBHOOK_MAX_INFLIGHT) {
			int64_t row = sqlite3_column_int64(st, 0);
			const char *id = (const char *)sqlite3_column_text(st, 1);
			const char *name = (const char *)sqlite3_column_text(st, 2);
			const char *event = (const char *)sqlite3_column_text(st, 3);
			const char *payload = (const char *)sqlite3_column_text(st, 4);
			int64_t created = sqlite3_column_int64(st, 5);
			int attempts = sqlite3_column_int(st, 6);
			const struct hook *h;

			if (!id || !name || !event || !payload || row_inflight(s, row))
				continue;
			h = find_hook(s, name);
			if (!h) {
				/* Not configured (any more): keep it for a
				 * while in case the webhook comes back. */
				if (now - created > (int64_t)LM_CONF_DEFAULT_WEBHOOK_MAX_AGE_MS * 1000)
					expire(s, row, "webhook no longer configured");
				continue;
			}
			if (now - created > h->max_age_us) {
				expire(s, row, "older than max_age");
				continue;
			}
			if (hook_inflight(s, name) >= LM_WEBHOOK_MAX_PER_HOOK)
				continue;
			start_transfer(s, h, row, id, event, payload, created, attempts,
				       sqlite3_column_int64(st, 7), sqlite3_column_int64(st, 8), NULL);
		}
		sqlite3_finalize(st);
	}
	/* The earliest delivery not in flight that is due later. */
	if (sqlite3_prepare_v2(s->db, "SELECT min(next_attempt_us) FROM webhook_deliveries "
			       "WHERE state = 'pending' AND next_attempt_us > ?", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			next = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (next > now && (double)(next - now) / 1e6 < sleep_s)
		sleep_s = (double)(next - now) / 1e6;
	s->scanning = 0;
	schedule_scan(s, sleep_s);
	/* Let libcurl start the new transfers. */
	{
		int running;
		curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

static void scan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	scan(w->data);
	check_done(w->data);
}

static void schedule_scan(struct lm_webhook_sender *s, double after_s)
{
	ev_timer_stop(s->loop, &s->scan_timer);
	ev_timer_set(&s->scan_timer, after_s > 0 ? after_s : 0., 0.);
	ev_timer_start(s->loop, &s->scan_timer);
}

static int any_alertmanager(const struct lm_webhook_sender *s)
{
	size_t i;

	for (i = 0; i < s->nhooks; i++)
		if (s->hooks[i].format == LM_WEBHOOK_FORMAT_ALERTMANAGER)
			return 1;
	return 0;
}

/* Add the alerts of one firing delivery to batch (a JSON array). */
static void batch_add(const struct lm_webhook_sender *s, const struct hook *h, json_t *batch,
		      sqlite3_stmt *st)
{
	const char *payload = (const char *)sqlite3_column_text(st, 2);
	char *text = payload ? body_for(s, h, "leak.firing", payload, sqlite3_column_int64(st, 4),
					sqlite3_column_int64(st, 5), 0) : NULL;
	json_error_t jerr;
	json_t *alerts = text ? json_loads(text, 0, &jerr) : NULL;

	if (json_is_array(alerts))
		json_array_extend(batch, alerts);
	json_decref(alerts);
	free(text);
}

/*
 * Alertmanager: send every firing alert again, from its latest firing
 * delivery to each format = alertmanager webhook, once that delivery is
 * delivered (one still pending carries the alert itself when it goes).
 * All of a webhook's alerts go in one POST (Alertmanager takes an array),
 * so the per-webhook connection limit never leaves one out. Nothing is
 * stored: a resend that fails is followed by the next.
 */
static void resend(struct lm_webhook_sender *s)
{
	sqlite3_stmt *st;
	json_t **batch;
	size_t i;

	if (!any_alertmanager(s) || !(batch = calloc(s->nhooks, sizeof(*batch))))
		return;
	if (sqlite3_prepare_v2(s->db,
	    "SELECT d.webhook, d.event, d.payload, d.delivery_id, d.created_at_us, a.opened_at_us "
	    "FROM webhook_deliveries d JOIN leak_alerts a ON a.id = d.alert "
	    /* an incident fires while any of its alerts does, though its
	     * lead (which its deliveries reference) may have resolved */
	    "WHERE (a.state = 'firing' OR EXISTS (SELECT 1 FROM leak_alerts b "
	    "WHERE b.incident_id = a.incident_id AND b.instance_id = a.instance_id "
	    "AND b.state = 'firing')) AND d.event = 'leak.firing' AND d.state = 'delivered' "
	    "AND d.id = (SELECT max(d2.id) FROM webhook_deliveries d2 WHERE d2.alert = d.alert "
	    "AND d2.webhook = d.webhook AND d2.event = 'leak.firing') "
	    "ORDER BY d.id LIMIT ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, AM_RESEND_BATCH);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			const struct hook *h = name ? find_hook(s, name) : NULL;
			size_t k = h ? (size_t)(h - s->hooks) : 0;

			if (!h || h->format != LM_WEBHOOK_FORMAT_ALERTMANAGER)
				continue;
			if (!batch[k] && !(batch[k] = json_array()))
				continue;
			batch_add(s, h, batch[k], st);
		}
		sqlite3_finalize(st);
	}
	for (i = 0; i < s->nhooks; i++) {
		char *body = json_array_size(batch[i]) ? json_dumps(batch[i], JSON_COMPACT) : NULL;
		if (body && s->inflight < LM_WEBHOOK_MAX_INFLIGHT)
			start_transfer(s, &s->hooks[i], 0, "resend", "leak.firing", NULL, 0, 0, 0, 0,
				       body);
		else
			free(body);
		json_decref(batch[i]);
	}
	free(batch);
	{
		int running;
		curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

static void resend_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	resend(w->data);
	check_done(w->data);
}

int lm_webhook_sender_new(struct ev_loop *loop, struct sqlite3 *db,
			  const struct lm_conf_webhook *confs, size_t n,
			  lm_webhook_report_fn report_fn, void *ctx,
			  struct lm_webhook_sender **out, struct lm_err *err)
{
	struct lm_webhook_sender *s;
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return lm_err_set(err, LM_EIO, "webhooks: libcurl failed to initialise");
	s = calloc(1, sizeof(*s));
	if (!s)
		return lm_err_set(err, LM_ENOMEM, "webhooks: out of memory");
	s->loop = loop;
	s->db = db;
	s->report = report_fn;
	s->ctx = ctx;
	if ((rc = hooks_build(confs, n, &s->hooks, err))) {
		free(s);
		return rc;
	}
	s->nhooks = n;
	s->multi = curl_multi_init();
	if (!s->multi) {
		hooks_free(s->hooks, s->nhooks);
		free(s);
		return lm_err_set(err, LM_ENOMEM, "webhooks: libcurl multi handle failed");
	}
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	ev_timer_init(&s->curl_timer, curl_timer_cb, 0., 0.);
	s->curl_timer.data = s;
	ev_timer_init(&s->scan_timer, scan_cb, 0., 0.);
	s->scan_timer.data = s;
	/* Test hook: LEAKMON_TEST_AM_RESEND_MS shortens the resend period. */
	s->resend_s = getenv("LEAKMON_TEST_AM_RESEND_MS") ?
		atof(getenv("LEAKMON_TEST_AM_RESEND_MS")) / 1000.0 : AM_RESEND_S;
	if (!(s->resend_s > 0.1))
		s->resend_s = AM_RESEND_S;
	ev_timer_init(&s->resend_timer, resend_cb, s->resend_s, s->resend_s);
	s->resend_timer.data = s;
	ev_timer_start(loop, &s->resend_timer);
	schedule_scan(s, 0);
	*out = s;
	return 0;
}

int lm_webhook_sender_configure(struct lm_webhook_sender *s,
				const struct lm_conf_webhook *confs, size_t n,
				struct lm_err *err)
{
	struct hook *v;
	int rc = hooks_build(confs, n, &v, err);

	if (rc)
		return rc;
	hooks_free(s->hooks, s->nhooks);
	s->hooks = v;
	s->nhooks = n;
	schedule_scan(s, 0);
	return 0;
}

void lm_webhook_sender_kick(struct lm_webhook_sender *s)
{
	if (s)
		schedule_scan(s, 0);
}

void lm_webhook_sender_stats(struct lm_webhook_sender *s, size_t *inflight,
			     size_t *pending)
{
	sqlite3_stmt *st;

	if (inflight)
		*inflight = s->inflight;
	if (!pending)
		return;
	*pending = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM webhook_deliveries "
			       "WHERE state = 'pending'", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*pending = (size_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
}

void lm_webhook_sender_free(struct lm_webhook_sender *s)
{
	if (!s)
		return;
	while (s->xfers) {
		struct xfer *x = s->xfers;
		s->xfers = x->next;
		curl_multi_remove_handle(s->multi, x->easy);
		xfer_free(x);
	}
	ev_timer_stop(s->loop, &s->scan_timer);
	ev_timer_stop(s->loop, &s->curl_timer);
	ev_timer_stop(s->loop, &s->resend_timer);
	curl_multi_cleanup(s->multi);
	while (s->socks) {	/* what libcurl did not remove itself */
		struct sock *k = s->socks;
		s->socks = k->next;
		ev_io_stop(s->loop, &k->io);
		free(k);
	}
	hooks_free(s->hooks, s->nhooks);
	free(s);
}
