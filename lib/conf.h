/* SPDX-License-Identifier: MIT */
/*
 * conf.h - leakmond.conf: what to watch, how often, where to keep history,
 * when to alert and where to send alerts. Documented in leakmond.conf(5).
 *
 * (Named conf.h, not config.h: the lib sources include autoconf's "config.h", and a
 * lib/config.h beside them would shadow it.)
 *
 * INI syntax parsed by libinih: [daemon], [target NAME] (one per watched
 * service), [webhook NAME]. Durations take a unit (ms, s, min, h, d; a bare
 * number is seconds), sizes a binary one (K, M, G, T; a bare number is
 * bytes). Every error is reported as "FILE:LINE: what is wrong"; unknown
 * sections or keys, bad values and duplicates are errors, never ignored.
 *
 * After loading, each target carries its effective settings: what it does
 * not set itself comes from [daemon], whatever the order of the sections.
 */
#ifndef LM_CONF_H
#define LM_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define LM_CONF_DEFAULT_PATH LM_SYSCONFDIR "/leakmon/leakmond.conf"
#define LM_CONF_NAME_MAX 64	/* target and webhook names */

/* Defaults (also in leakmond.conf(5) and leakmond.conf.example). */
#define LM_CONF_DEFAULT_INTERVAL_MS (10ULL * 60 * 1000)
#define LM_CONF_DEFAULT_MAX_PAUSE_MS 250ULL
#define LM_CONF_DEFAULT_MAX_MEMORY (256ULL << 20)	/* our memory per snapshot */
#define LM_CONF_DEFAULT_WARMUP_MS (30ULL * 60 * 1000)
#define LM_CONF_DEFAULT_WINDOW_MS (24ULL * 3600 * 1000)
#define LM_CONF_DEFAULT_MIN_SAMPLES 12
#define LM_CONF_DEFAULT_MIN_RATE (1ULL << 20)	/* bytes per hour */
#define LM_CONF_DEFAULT_ALERT_HORIZON_MS (7ULL * 24 * 3600 * 1000)
#define LM_CONF_DEFAULT_URGENT_HORIZON_MS (24ULL * 3600 * 1000)
#define LM_CONF_DEFAULT_RESOLVE_AFTER_MS (2ULL * 3600 * 1000)
#define LM_CONF_DEFAULT_HOLDERS 3	/* holder chains per firing alert */
#define LM_CONF_MAX_HOLDERS 10
#define LM_CONF_SECRET_MAX 4096		/* bytes of a webhook secret_file */
#define LM_CONF_HEADER_MAX 1023		/* bytes of one "Name: value" header */
#define LM_CONF_DEFAULT_WEBHOOK_TIMEOUT_MS (10ULL * 1000)
#define LM_CONF_DEFAULT_WEBHOOK_MAX_AGE_MS (24ULL * 3600 * 1000)
#define LM_CONF_DEFAULT_METRICS_TOP 50	/* types per target in /metrics */
#define LM_CONF_MAX_METRICS_TOP 10000

enum lm_selector_kind {
	LM_SEL_UNIT,	/* systemd unit, resolved through its cgroup */
	LM_SEL_EXE,	/* every process whose /proc/PID/exe is this path */
	LM_SEL_NAME,	/* every process whose comm (/proc/PID/comm) is this */
	LM_SEL_PID,	/* one process */
};

/* Leak detection and alerting: [daemon] gives the defaults,
 * [target] overrides them. */
struct lm_conf_detect {
	uint64_t warmup_ms;		/* ignored after an instance starts */
	uint64_t window_ms;		/* history the trend looks at */
	uint32_t min_samples;		/* fewer samples: no verdict */
	uint64_t min_rate;		/* bytes per hour below which growth is not alerted */
	uint64_t alert_horizon_ms;	/* alert when the limit is this close */
	uint64_t urgent_horizon_ms;	/* urgent level when this close */
	uint64_t resolve_after_ms;	/* growth stopped this long: resolve */
	char **webhooks;		/* names of [webhook NAME] sections */
	size_t nwebhooks;
	uint32_t holders;		/* holder chains searched per firing alert; 0 = off */
};

struct lm_conf_target {
	char *name;
	int line;			/* of the [target NAME] header */
	enum lm_selector_kind kind;
	char *value;			/* unit, exe path or name (NULL for pid) */
	pid_t pid;			/* LM_SEL_PID */
	int has_user;			/* user = given: only processes of that uid */
	uid_t uid;			/* their real and effective uid */
	uint64_t interval_ms;
	uint64_t max_pause_ms;		/* 0 = no limit */
	uint64_t max_memory;		/* bytes of ours one snapshot may use */
	int snapshot_mode;		/* enum lm_snapshot_mode */
	uint64_t memory_limit;		/* bytes; 0 = cgroup memory.max, else MemTotal */
	struct lm_conf_detect detect;
};

struct lm_conf_webhook {
	char *name;
	int line;
	char *url;
	char *secret_file;		/* NULL = unsigned */
	uint64_t timeout_ms;
	char **headers;			/* "Name: value", in file order */
	size_t nheaders;
	uint64_t max_age_ms;		/* give up on a delivery older than this */
	int allow_insecure;		/* http:// may carry the signature and headers */
	int format;			/* enum lm_webhook_format */
};

enum lm_webhook_format {
	LM_WEBHOOK_FORMAT_LEAKMON,	/* leakmon's own JSON document */
	LM_WEBHOOK_FORMAT_ALERTMANAGER,	/* Prometheus Alertmanager's /api/v2/alerts */
};

struct lm_conf {
	char *path;			/* the file read, or the name given to the parser */
	char *database;
	uint64_t interval_ms;		/* default for targets */
	uint64_t max_pause_ms;		/* default for targets; 0 = no limit */
	uint64_t max_memory;		/* default for targets */
	uint64_t memory_limit;		/* default for targets; 0 = cgroup, else MemTotal */
	int snapshot_mode;		/* default for targets: enum lm_snapshot_mode */
	int log_level;			/* enum lm_log_level */
	uint64_t retain_full_ms;	/* keep every snapshot this long */
	uint64_t retain_ms;		/* then one per hour until this age */
	struct lm_conf_detect detect;	/* defaults for targets */
	char *metrics_listen;		/* "ADDR:PORT" serving /metrics; NULL = off */
	char *metrics_textfile;		/* the same text, rewritten after each snapshot */
	uint32_t metrics_top;		/* types per target in the exposition */
	struct lm_conf_target *targets;
	size_t ntargets;
	struct lm_conf_webhook *webhooks;
	size_t nwebhooks;
};

/* Read and validate a file. Errors: LM_ECONFIG with "FILE:LINE: ..." (or
 * "FILE: ..." when it cannot be read). */
int lm_conf_load(const char *path, struct lm_conf **out, struct lm_err *err);
/* The same from text in memory; name stands for the file in messages. */
int lm_conf_parse_string(const char *text, const char *name, struct lm_conf **out,
			 struct lm_err *err);
void lm_conf_free(struct lm_conf *conf);

const struct lm_conf_target *lm_conf_find_target(const struct lm_conf *conf,
						  const char *name);
const struct lm_conf_webhook *lm_conf_find_webhook(const struct lm_conf *conf,
						   const char *name);

/* Value syntax, shared with the command line. 0 or -LM_EINVAL. */
int lm_parse_duration_ms(const char *s, uint64_t *ms);
int lm_parse_size(const char *s, uint64_t *bytes);
/* The way back, lm_format_duration(), is in units.h. */

const char *lm_selector_kind_name(enum lm_selector_kind kind);

/* "127.0.0.1:9464" or "[::1]:9464": a numeric address and a port (1-65535)
 * into host (the address without brackets) and *port. 0 or -LM_EINVAL. */
int lm_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port);

/* url into buf with any user:password@ replaced by ***@, for messages. */
void lm_url_redact(const char *url, char *buf, size_t len);

/* A webhook secret: the bytes of path without trailing newlines, into
 * buf (cap bytes at most). LM_ECONFIG when it cannot be read, is empty or
 * is longer than cap. */
int lm_conf_read_secret(const char *path, unsigned char *buf, size_t cap, size_t *len,
			struct lm_err *err);

#endif
