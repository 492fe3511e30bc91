/* SPDX-License-Identifier: MIT */
/*
 * conf.c - reading leakmond.conf.
 *
 * libinih splits the file into (section, key, value); everything else is
 * here: the section kinds ([daemon], [target NAME], [webhook NAME]), one
 * table of keys per kind, value syntax (durations, sizes, modes, lists),
 * duplicate checks, and the cross-section checks at the end (every target
 * has one selector, named webhooks exist, targets inherit [daemon]).
 *
 * inih does not tell its handler the line number, so we feed it lines
 * through our own reader, which counts them. The reader also recognises
 * section headers itself (inih only reports keys, so an empty [target x]
 * would otherwise go unseen) and strips leading blanks, which turns off
 * inih's multi-line continuation: one setting, one line, like systemd.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ini.h>

#include "conf.h"
#include "log.h"
#include "snapshot.h"
#include "store.h"

/* Value types of keys. */
enum vtype {
	V_DURATION,	/* > 0 */
	V_DURATION0,	/* >= 0; 0 allowed (= none / off) */
	V_SIZE,		/* > 0 */
	V_RATE,		/* size per hour, >= 0 */
	V_COUNT,	/* integer 1..1000000 */
	V_HOLDERS,	/* integer 0..LM_CONF_MAX_HOLDERS */
	V_PATH,		/* absolute path */
	V_URL,
	V_MODE,		/* live | copy | auto */
	V_LEVEL,	/* log level */
	V_LIST,		/* names separated by commas */
	V_SELECTOR,	/* unit / exe / name / pid */
	V_HEADER,	/* "Name: value", repeatable */
	V_BOOL,		/* yes | no */
	V_USER,		/* user name or numeric uid */
	V_LISTEN,	/* numeric address and port: 127.0.0.1:9464, [::1]:9464 */
	V_TOP,		/* integer 1..LM_CONF_MAX_METRICS_TOP */
	V_FORMAT,	/* leakmon | alertmanager */
};

struct key {
	const char *name;
	enum vtype type;
	size_t off;		/* into the section's struct */
	int inherit;		/* a [target] key that defaults to [daemon]'s */
};

#define D(m) offsetof(struct lm_conf, m)
#define T(m) offsetof(struct lm_conf_target, m)
#define W(m) offsetof(struct lm_conf_webhook, m)

static const struct key daemon_keys[] = {
	{ "database", V_PATH, D(database), 0 },
	{ "interval", V_DURATION, D(interval_ms), 0 },
	{ "max_pause", V_DURATION0, D(max_pause_ms), 0 },
	{ "max_memory", V_SIZE, D(max_memory), 0 },
	{ "memory_limit", V_SIZE, D(memory_limit), 0 },
	{ "snapshot_mode", V_MODE, D(snapshot_mode), 0 },
	{ "log_level", V_LEVEL, D(log_level), 0 },
	{ "retain_full", V_DURATION, D(retain_full_ms), 0 },
	{ "retain", V_DURATION, D(retain_ms), 0 },
	{ "warmup", V_DURATION0, D(detect.warmup_ms), 0 },
	{ "window", V_DURATION, D(detect.window_ms), 0 },
	{ "min_samples", V_COUNT, D(detect.min_samples), 0 },
	{ "min_rate", V_RATE, D(detect.min_rate), 0 },
	{ "alert_horizon", V_DURATION, D(detect.alert_horizon_ms), 0 },
	{ "urgent_horizon", V_DURATION, D(detect.urgent_horizon_ms), 0 },
	{ "resolve_after", V_DURATION, D(detect.resolve_after_ms), 0 },
	{ "webhooks", V_LIST, D(detect.webhooks), 0 },
	{ "holders", V_HOLDERS, D(detect.holders), 0 },
	{ "metrics_listen", V_LISTEN, D(metrics_listen), 0 },
	{ "metrics_textfile", V_PATH, D(metrics_textfile), 0 },
	{ "metrics_top", V_TOP, D(metrics_top), 0 },
};

static const struct key target_keys[] = {
	{ "unit", V_SELECTOR, 0, 0 },
	{ "exe", V_SELECTOR, 0, 0 },
	{ "name", V_SELECTOR, 0, 0 },
	{ "pid", V_SELECTOR, 0, 0 },
	{ "user", V_USER, 0, 0 },
	{ "interval", V_DURATION, T(interval_ms), 1 },
	{ "max_pause", V_DURATION0, T(max_pause_ms), 1 },
	{ "max_memory", V_SIZE, T(max_memory), 1 },
	{ "snapshot_mode", V_MODE, T(snapshot_mode), 1 },
	{ "memory_limit", V_SIZE, T(memory_limit), 1 },
	{ "warmup", V_DURATION0, T(detect.warmup_ms), 1 },
	{ "window", V_DURATION, T(detect.window_ms), 1 },
	{ "min_samples", V_COUNT, T(detect.min_samples), 1 },
	{ "min_rate", V_RATE, T(detect.min_rate), 1 },
	{ "alert_horizon", V_DURATION, T(detect.alert_horizon_ms), 1 },
	{ "urgent_horizon", V_DURATION, T(detect.urgent_horizon_ms), 1 },
	{ "resolve_after", V_DURATION, T(detect.resolve_after_ms), 1 },
	{ "webhooks", V_LIST, T(detect.webhooks), 1 },
	{ "holders", V_HOLDERS, T(detect.holders), 1 },
};

static const struct key webhook_keys[] = {
	{ "url", V_URL, W(url), 0 },
	{ "secret_file", V_PATH, W(secret_file), 0 },
	{ "timeout", V_DURATION, W(timeout_ms), 0 },
	{ "header", V_HEADER, 0, 0 },
	{ "max_age", V_DURATION, W(max_age_ms), 0 },
	{ "allow_insecure", V_BOOL, W(allow_insecure), 0 },
	{ "format", V_FORMAT, W(format), 0 },
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

enum section { SEC_NONE, SEC_DAEMON, SEC_TARGET, SEC_WEBHOOK, SEC_BAD };

/* Per-section bookkeeping that the public structs need not carry. */
struct seen {
	int line[24];		/* line of each key of the table, 0 = not set */
	int webhooks_line;
};

struct parser {
	struct lm_conf *conf;
	const char *file;
	int lineno;
	/* reader input: a FILE or a string */
	FILE *fp;
	const char *text;
	/* current section */
	enum section sec;
	size_t index;		/* target or webhook index */
	int daemon_line;
	struct seen daemon_seen;
	struct seen *target_seen;	/* one per target */
	size_t target_seen_cap;
	struct seen *webhook_seen;
	size_t webhook_seen_cap;
	int selector_line;	/* of the current target's selector */
	/* the error with the lowest line number */
	int failed;
	int error_line;
	struct lm_err *err;
	int oom;
};

static void parse_error(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void parse_error(struct parser *p, int line, const char *fmt, ...)
{
	char msg[LM_ERRMSG_MAX];
	va_list ap;

	/* Report the earliest error in the file: checks made after reading
	 * it (a target without selector) may point before one found while
	 * reading. */
	if (p->failed && (line <= 0 || line >= p->error_line))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->failed = 1;
	p->error_line = line > 0 ? line : 0;
	if (line > 0)
		lm_err_set(p->err, LM_ECONFIG, "%s:%d: %s", p->file, line, msg);
	else
		lm_err_set(p->err, LM_ECONFIG, "%s: %s", p->file, msg);
}

/* ---- value syntax ---- */

/* A decimal number (with an optional fraction) followed by a unit word;
 * the unit is returned as a pointer into s and a length, blanks around it
 * skipped. */
static int split_number(const char *s, double *num, const char **unit, size_t *ulen)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -LM_EINVAL;
	errno = 0;
	*num = strtod(s, &end);
	if (errno || end == s || !isfinite(*num))
		return -LM_EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	*unit = end;
	*ulen = strlen(end);
	while (*ulen && isspace((unsigned char)end[*ulen - 1]))
		(*ulen)--;
	return 0;
}

static int unit_is(const char *unit, size_t len, const char *const *names)
{
	for (; *names; names++)
		if (strlen(*names) == len && strncasecmp(unit, *names, len) == 0)
			return 1;
	return 0;
}

int lm_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const char *const u_ms[] = { "ms", "msec", NULL };
	static const char *const u_s[] = { "", "s", "sec", "second", "seconds", NULL };
	static const char *const u_min[] = { "m", "min", "minute", "minutes", NULL };
	static const char *const u_h[] = { "h", "hr", "hour", "hours", NULL };
	static const char *const u_d[] = { "d", "day", "days", NULL };
	static const char *const u_w[] = { "w", "week", "weeks", NULL };
	const char *unit;
	double num, scale;
	size_t ulen;

	if (split_number(s, &num, &unit, &ulen) < 0)
		return -LM_EINVAL;
	if (unit_is(unit, ulen, u_ms))
		scale = 1;
	else if (unit_is(unit, ulen, u_s))
		scale = 1e3;
	else if (unit_is(unit, ulen, u_min))
		scale = 60e3;
	else if (unit_is(unit, ulen, u_h))
		scale = 3600e3;
	else if (unit_is(unit, ulen, u_d))
		scale = 86400e3;
	else if (unit_is(unit, ulen, u_w))
		scale = 7 * 86400e3;
	else
		return -LM_EINVAL;
	num *= scale;
	/* Ten years is more than any interval or horizon means. */
	if (num > 10.0 * 366 * 86400e3)
		return -LM_EINVAL;
	*ms = (uint64_t)llround(num);
	return 0;
}

int lm_parse_size(const char *s, uint64_t *bytes)
{
	static const char *const sfx = "KMGTP";
	const char *unit, *p;
	double num, scale = 1;
	size_t ulen;

	if (split_number(s, &num, &unit, &ulen) < 0)
		return -LM_EINVAL;
	if (ulen > 0 && (p = strchr(sfx, toupper((unsigned char)unit[0])))) {
		scale = ldexp(1.0, 10 * (int)(p - sfx + 1));
		unit++;
		ulen--;
		/* K, KB, KiB all mean 1024: memory is counted in binary units. */
		if (ulen && (unit[0] == 'i' || unit[0] == 'I')) {
			unit++;
			ulen--;
		}
	}
	if (ulen == 1 && (unit[0] == 'B' || unit[0] == 'b'))
		ulen = 0;
	if (ulen != 0)
		return -LM_EINVAL;
	num *= scale;
	if (num >= 18e18)
		return -LM_EINVAL;
	*bytes = (uint64_t)llround(num);
	return 0;
}

/* A size per hour: "1M", "1M/h", "1M/hour", "1 MiB per hour". */
static int parse_rate(const char *s, uint64_t *bytes_per_hour)
{
	static const char *const tails[] = { "/h", "/hour", "per hour", "/hr", NULL };
	char buf[128];
	size_t len = strlen(s);
	int i;

	if (len >= sizeof(buf))
		return -LM_EINVAL;
	memcpy(buf, s, len + 1);
	for (i = 0; tails[i]; i++) {
		size_t tl = strlen(tails[i]);
		if (len > tl && strcasecmp(buf + len - tl, tails[i]) == 0) {
			buf[len - tl] = '\0';
			break;
		}
	}
	return lm_parse_size(buf, bytes_per_hour);
}

const char *lm_selector_kind_name(enum lm_selector_kind kind)
{
	switch (kind) {
	case LM_SEL_UNIT: return "unit";
	case LM_SEL_EXE: return "exe";
	case LM_SEL_NAME: return "name";
	case LM_SEL_PID: return "pid";
	}
	return "?";
}

/* Target and webhook names: what fits in a log line and a URL unquoted. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LM_CONF_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.@:-", *s))
			return 0;
	return 1;
}

/* Drop one pair of surrounding double quotes. Returns a malloc'd copy. */
static char *unquote(const char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		return strndup(v + 1, n - 2);
	return strdup(v);
}

static void free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* "a, b,c" -> {"a","b","c"}; every name valid, no duplicates. */
static int parse_list(struct parser *p, const char *v, char ***out, size_t *n)
{
	char **list = NULL, *copy = strdup(v), *tok, *save = NULL;
	size_t cnt = 0, i;

	if (!copy)
		return -LM_ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end, **nl;
		while (isspace((unsigned char)*tok))
			tok++;
		end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!valid_name(tok)) {
			parse_error(p, p->lineno, "'%s' is not a webhook name (letters, digits, _.@:-)", tok);
			goto fail;
		}
		for (i = 0; i < cnt; i++)
			if (strcmp(list[i], tok) == 0) {
				parse_error(p, p->lineno, "webhook '%s' is listed twice", tok);
				goto fail;
			}
		nl = realloc(list, (cnt + 1) * sizeof(*list));
		if (!nl || !(nl[cnt] = strdup(tok))) {
			list = nl ? nl : list;
			p->oom = 1;
			goto fail;
		}
		list = nl;
		cnt++;
	}
	free(copy);
	*out = list;
	*n = cnt;
	return 0;
fail:
	free(copy);
	free_list(list, cnt);
	return -LM_EINVAL;
}

/* ---- sections ---- */

static struct lm_conf_target *cur_target(struct parser *p)
{
	return &p->conf->targets[p->index];
}

static struct lm_conf_webhook *cur_webhook(struct parser *p)
{
	return &p->conf->webhooks[p->index];
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 4;
	while (ncap < need)
		ncap *= 2;
	void *nv = realloc(*v, ncap * elem);
	if (!nv)
		return -LM_ENOMEM;
	memset((char *)nv + *cap * elem, 0, (ncap - *cap) * elem);
	*v = nv;
	*cap = ncap;
	return 0;
}

/* What a [target NAME] and a [webhook NAME] header share: a valid name,
 * not one given before (first_line: the header that gave it, 0 if none),
 * one more zeroed element in the section's array *v (n in use, of elem
 * bytes) and in the parser's seen array. The name's copy for the new
 * element, or NULL with the error recorded. */
static char *add_named_section(struct parser *p, const char *kind, const char *name, int line,
			       int first_line, void **v, size_t n, size_t elem,
			       struct seen **seen, size_t *seen_cap)
{
	size_t cap = n;
	char *copy;

	p->sec = SEC_BAD;
	if (!valid_name(name)) {
		parse_error(p, line, "[%s %s]: a %s name is 1 to %d letters, digits or _.@:-",
			    kind, name, kind, LM_CONF_NAME_MAX);
		return NULL;
	}
	if (first_line) {
		parse_error(p, line, "duplicate %s '%s' (first defined at line %d)", kind, name,
			    first_line);
		return NULL;
	}
	if (grow(v, &cap, n + 1, elem) < 0 || grow((void **)seen, seen_cap, n + 1, sizeof(**seen)) < 0) {
		p->oom = 1;
		return NULL;
	}
	memset((char *)*v + n * elem, 0, elem);
	copy = strdup(name);
	if (!copy)
		p->oom = 1;
	return copy;
}

static void begin_target(struct parser *p, const char *name, int line)
{
	struct lm_conf *c = p->conf;
	const struct lm_conf_target *first = lm_conf_find_target(c, name);
	char *copy = add_named_section(p, "target", name, line, first ? first->line : 0,
				       (void **)&c->targets, c->ntargets, sizeof(*c->targets),
				       &p->target_seen, &p->target_seen_cap);

	if (copy) {
		c->targets[c->ntargets] = (struct lm_conf_target){
			.name = copy, .line = line, .kind = -1,
		};
		p->index = c->ntargets++;
		p->sec = SEC_TARGET;
	}
}

static void begin_webhook(struct parser *p, const char *name, int line)
{
	struct lm_conf *c = p->conf;
	const struct lm_conf_webhook *first = lm_conf_find_webhook(c, name);
	char *copy = add_named_section(p, "webhook", name, line, first ? first->line : 0,
				       (void **)&c->webhooks, c->nwebhooks, sizeof(*c->webhooks),
				       &p->webhook_seen, &p->webhook_seen_cap);

	if (copy) {
		c->webhooks[c->nwebhooks] = (struct lm_conf_webhook){
			.name = copy, .line = line,
			.timeout_ms = LM_CONF_DEFAULT_WEBHOOK_TIMEOUT_MS,
			.max_age_ms = LM_CONF_DEFAULT_WEBHOOK_MAX_AGE_MS,
		};
		p->index = c->nwebhooks++;
		p->sec = SEC_WEBHOOK;
	}
}

/* A "[...]" line (already stripped of leading blanks). */
static void section_line(struct parser *p, char *line)
{
	char *close = strchr(line, ']'), *name, *arg, *end;

	if (!close) {
		parse_error(p, p->lineno, "section header without ']'");
		p->sec = SEC_BAD;
		return;
	}
	*close = '\0';
	name = line + 1;
	while (isspace((unsigned char)*name))
		name++;
	end = name + strlen(name);
	while (end > name && isspace((unsigned char)end[-1]))
		*--end = '\0';
	arg = name + strcspn(name, " \t");
	if (*arg) {
		*arg++ = '\0';
		while (isspace((unsigned char)*arg))
			arg++;
		if (arg[0] == '"' && arg[strlen(arg) - 1] == '"' && strlen(arg) >= 2) {
			arg[strlen(arg) - 1] = '\0';
			arg++;
		}
	}
	if (strcmp(name, "daemon") == 0 && !*arg) {
		if (p->daemon_line) {
			parse_error(p, p->lineno, "second [daemon] section (the first is at line %d)",
				    p->daemon_line);
			p->sec = SEC_BAD;
			return;
		}
		p->daemon_line = p->lineno;
		p->sec = SEC_DAEMON;
	} else if (strcmp(name, "target") == 0 && *arg) {
		begin_target(p, arg, p->lineno);
	} else if (strcmp(name, "webhook") == 0 && *arg) {
		begin_webhook(p, arg, p->lineno);
	} else if ((strcmp(name, "target") == 0 || strcmp(name, "webhook") == 0) && !*arg) {
		parse_error(p, p->lineno, "[%s] needs a name: [%s NAME]", name, name);
		p->sec = SEC_BAD;
	} else {
		parse_error(p, p->lineno, "unknown section [%s%s%s]: expected [daemon], "
			    "[target NAME] or [webhook NAME]", name, *arg ? " " : "", arg);
		p->sec = SEC_BAD;
	}
}

/* ---- keys ---- */

static const struct key *find_key(const struct key *tab, size_t n, const char *name,
				  size_t *idx)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0) {
			*idx = i;
			return &tab[i];
		}
	return NULL;
}

static int parse_mode(const char *v)
{
	if (strcmp(v, "live") == 0)
		return LM_MODE_LIVE;
	if (strcmp(v, "copy") == 0)
		return LM_MODE_COPY;
	if (strcmp(v, "auto") == 0)
		return LM_MODE_AUTO;
	return -1;
}

static int parse_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	size_t i;

	for (i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	return -1;
}

/* The user:password@ of a URL becomes ***@ (scheme and host kept):
 * credentials in a URL never reach a message. */
void lm_url_redact(const char *url, char *buf, size_t len)
{
	const char *scheme = strstr(url, "://"), *auth, *end, *at;

	auth = scheme ? scheme + 3 : url;
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	if (at)
		snprintf(buf, len, "%.*s***%s", (int)(auth - url), url, at);
	else
		snprintf(buf, len, "%s", url);
}

/* user = NAME or UID: the processes a target's selector may match are
 * those running as this user (real and effective uid). */
static void set_user(struct parser *p, struct lm_conf_target *t, const char *v)
{
	struct passwd pw, *found = NULL;
	char buf[4096], *end;
	unsigned long uid;

	errno = 0;
	uid = strtoul(v, &end, 10);
	if (*v && !*end && !errno && uid < (uid_t)-1) {
		t->uid = (uid_t)uid;
	} else if (getpwnam_r(v, &pw, buf, sizeof(buf), &found) == 0 && found) {
		t->uid = pw.pw_uid;
	} else {
		parse_error(p, p->lineno, "user = %s: no such user; give a user name or a "
			    "numeric uid", v);
		return;
	}
	t->has_user = 1;
}

static void set_selector(struct parser *p, const char *key, const char *v)
{
	struct lm_conf_target *t = cur_target(p);
	char *end;
	long pid;

	if ((int)t->kind != -1) {
		parse_error(p, p->lineno, "target '%s' already has a selector (%s= at line %d): "
			    "give exactly one of unit=, exe=, name=, pid=", t->name,
			    lm_selector_kind_name(t->kind), p->selector_line);
		return;
	}
	p->selector_line = p->lineno;
	if (strcmp(key, "pid") == 0) {
		errno = 0;
		pid = strtol(v, &end, 10);
		if (errno || *end || end == v || pid <= 0 || pid > INT_MAX) {
			parse_error(p, p->lineno, "pid = %s: expected a process id (a positive integer)", v);
			return;
		}
		t->kind = LM_SEL_PID;
		t->pid = (pid_t)pid;
		return;
	}
	if (!*v) {
		parse_error(p, p->lineno, "%s = needs a value", key);
		return;
	}
	if (strcmp(key, "unit") == 0) {
		if (strchr(v, '/') || strlen(v) > 255) {
			parse_error(p, p->lineno, "unit = %s: expected a systemd unit name like api.service", v);
			return;
		}
		t->kind = LM_SEL_UNIT;
		/* "api" means "api.service", as with systemctl. */
		if (!strchr(v, '.')) {
			t->value = malloc(strlen(v) + sizeof(".service"));
			if (t->value)
				sprintf(t->value, "%s.service", v);
		} else {
			t->value = strdup(v);
		}
	} else if (strcmp(key, "exe") == 0) {
		if (v[0] != '/') {
			parse_error(p, p->lineno, "exe = %s: expected the absolute path of the executable", v);
			return;
		}
		t->kind = LM_SEL_EXE;
		t->value = strdup(v);
	} else {
		if (strlen(v) > 15) {
			parse_error(p, p->lineno, "name = %s: process names (comm) are at most 15 "
				    "characters; use exe = PATH to match the full path", v);
			return;
		}
		t->kind = LM_SEL_NAME;
		t->value = strdup(v);
	}
	if (!t->value)
		p->oom = 1;
}

static int valid_header(const char *h)
{
	const char *colon = strchr(h, ':'), *c;

	if (!colon || colon == h)
		return 0;
	for (c = h; c < colon; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return 0;
	for (c = h; *c; c++)
		if (*c == '\r' || *c == '\n')
			return 0;
	return 1;
}

static void add_header(struct parser *p, const char *v)
{
	struct lm_conf_webhook *w = cur_webhook(p);
	char **nh, *h;

	h = unquote(v);
	if (!h) {
		p->oom = 1;
		return;
	}
	/* Header values are often credentials (Authorization: Bearer ...):
	 * errors say what is wrong, never what the value is. */
	if (!valid_header(h)) {
		parse_error(p, p->lineno, "header = (value not shown): expected \"Name: value\" "
			    "with a name of letters, digits, '-' and '_', on one line");
		free(h);
		return;
	}
	if (strlen(h) > LM_CONF_HEADER_MAX) {
		parse_error(p, p->lineno, "header = (value not shown): %zu bytes, more than the "
			    "%d a header may have", strlen(h), LM_CONF_HEADER_MAX);
		free(h);
		return;
	}
	nh = realloc(w->headers, (w->nheaders + 1) * sizeof(*nh));
	if (!nh) {
		free(h);
		p->oom = 1;
		return;
	}
	w->headers = nh;
	w->headers[w->nheaders++] = h;
}

int lm_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = s, *hend;
	unsigned char addr[sizeof(struct in6_addr)];
	char buf[INET6_ADDRSTRLEN + 1], *end;
	unsigned long u;

	if (*s == '[') {	/* [IPv6]:PORT */
		h = s + 1;
		hend = strchr(h, ']');
		if (!hend || hend[1] != ':')
			return -LM_EINVAL;
		colon = hend + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -LM_EINVAL;	/* none, or a bare IPv6 address */
		hend = colon;
	}
	if (hend == h || (size_t)(hend - h) >= sizeof(buf))
		return -LM_EINVAL;
	memcpy(buf, h, (size_t)(hend - h));
	buf[hend - h] = '\0';
	if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, buf, addr) != 1)
		return -LM_EINVAL;
	errno = 0;
	u = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || colon[1] == '+' || colon[1] == '-' ||
	    u < 1 || u > 65535 || strlen(buf) >= hostlen)
		return -LM_EINVAL;
	strcpy(host, buf);
	*port = (unsigned)u;
	return 0;
}

/* metrics_listen = ADDR:PORT: checked now, so --check-config finds a typo. */
static void set_listen(struct parser *p, const struct key *k, char **field, const char *v)
{
	char host[INET6_ADDRSTRLEN + 1], *s;
	unsigned port;

	if (lm_parse_listen(v, host, sizeof(host), &port) < 0) {
		parse_error(p, p->lineno, "%s = %s: expected a numeric address and a port, like "
			    "127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464", k->name, v);
		return;
	}
	if (!(s = strdup(v))) {
		p->oom = 1;
		return;
	}
	free(*field);
	*field = s;
}

/* Parse v as k's type into the field at base + k->off. */
static void set_value(struct parser *p, const struct key *k, char *base, const char *v,
		      struct seen *seen)
{
	uint64_t u;
	char *end;
	int i;

	switch (k->type) {
	case V_DURATION:
	case V_DURATION0:
		if (lm_parse_duration_ms(v, &u) < 0) {
			parse_error(p, p->lineno, "%s = %s: expected a duration like 250ms, 30s, "
				    "10min, 2h or 7d", k->name, v);
			return;
		}
		if (u == 0 && k->type == V_DURATION) {
			parse_error(p, p->lineno, "%s = %s: must be more than 0", k->name, v);
			return;
		}
		if (strcmp(k->name, "interval") == 0 && u < 1000) {
			parse_error(p, p->lineno, "interval = %s: the shortest interval is 1s", v);
			return;
		}
		*(uint64_t *)(base + k->off) = u;
		return;
	case V_SIZE:
		if (lm_parse_size(v, &u) < 0 || u == 0) {
			parse_error(p, p->lineno, "%s = %s: expected a size like 512M or 2G", k->name, v);
			return;
		}
		*(uint64_t *)(base + k->off) = u;
		return;
	case V_RATE:
		if (parse_rate(v, &u) < 0) {
			parse_error(p, p->lineno, "%s = %s: expected bytes per hour like 1M or 64K/h",
				    k->name, v);
			return;
		}
		*(uint64_t *)(base + k->off) = u;
		return;
	case V_COUNT:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno || *end || end == v || u < 2 || u > 1000000) {
			parse_error(p, p->lineno, "%s = %s: expected a whole number from 2 to 1000000",
				    k->name, v);
			return;
		}
		*(uint32_t *)(base + k->off) = (uint32_t)u;
		return;
	case V_HOLDERS:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno || *end || end == v || u > LM_CONF_MAX_HOLDERS) {
			parse_error(p, p->lineno, "%s = %s: expected a whole number from 0 (off) to %d",
				    k->name, v, LM_CONF_MAX_HOLDERS);
			return;
		}
		*(uint32_t *)(base + k->off) = (uint32_t)u;
		return;
	case V_PATH:
	case V_URL: {
		char *s = unquote(v), **field = (char **)(base + k->off);
		if (!s) {
			p->oom = 1;
			return;
		}
		if (k->type == V_PATH && s[0] != '/') {
			parse_error(p, p->lineno, "%s = %s: expected an absolute path", k->name, v);
			free(s);
			return;
		}
		if (k->type == V_URL && strncmp(s, "https://", 8) != 0 &&
		    strncmp(s, "http://", 7) != 0) {
			char shown[256];
			lm_url_redact(s, shown, sizeof(shown));
			parse_error(p, p->lineno, "%s = %s: expected an http:// or https:// URL",
				    k->name, shown);
			free(s);
			return;
		}
		free(*field);
		*field = s;
		return;
	}
	case V_MODE:
		i = parse_mode(v);
		if (i < 0) {
			parse_error(p, p->lineno, "%s = %s: expected live, copy or auto", k->name, v);
			return;
		}
		*(int *)(base + k->off) = i;
		return;
	case V_LEVEL:
		i = lm_log_level_parse(v);
		if (i < 0) {
			parse_error(p, p->lineno, "%s = %s: expected error, warning, notice, info "
				    "or debug", k->name, v);
			return;
		}
		*(int *)(base + k->off) = i;
		return;
	case V_LIST: {
		struct lm_conf_detect *d = (struct lm_conf_detect *)
			(base + k->off - offsetof(struct lm_conf_detect, webhooks));
		if (parse_list(p, v, &d->webhooks, &d->nwebhooks) == 0)
			seen->webhooks_line = p->lineno;
		return;
	}
	case V_BOOL:
		i = parse_bool(v);
		if (i < 0) {
			parse_error(p, p->lineno, "%s = %s: expected yes or no", k->name, v);
			return;
		}
		*(int *)(base + k->off) = i;
		return;
	case V_USER:
		set_user(p, (struct lm_conf_target *)base, v);
		return;
	case V_LISTEN:
		set_listen(p, k, (char **)(base + k->off), v);
		return;
	case V_FORMAT:
		if (strcmp(v, "leakmon") == 0)
			*(int *)(base + k->off) = LM_WEBHOOK_FORMAT_LEAKMON;
		else if (strcmp(v, "alertmanager") == 0)
			*(int *)(base + k->off) = LM_WEBHOOK_FORMAT_ALERTMANAGER;
		else
			parse_error(p, p->lineno, "%s = %s: expected leakmon or alertmanager",
				    k->name, v);
		return;
	case V_TOP:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno || *end || end == v || u < 1 || u > LM_CONF_MAX_METRICS_TOP) {
			parse_error(p, p->lineno, "%s = %s: expected a whole number from 1 to %d",
				    k->name, v, LM_CONF_MAX_METRICS_TOP);
			return;
		}
		*(uint32_t *)(base + k->off) = (uint32_t)u;
		return;
	case V_SELECTOR:
	case V_HEADER:
		return;	/* handled by the caller */
	}
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	const struct key *tab, *k;
	struct seen *seen;
	size_t n, idx;
	char *base;

	(void)section;	/* we track sections ourselves, with their lines */
	if (p->failed || p->oom)
		return 1;
	switch (p->sec) {
	case SEC_NONE:
		parse_error(p, p->lineno, "'%s' is outside of any section: put it under [daemon] "
			    "or [target NAME]", name);
		return 1;
	case SEC_BAD:
		return 1;
	case SEC_DAEMON:
		tab = daemon_keys, n = NKEYS(daemon_keys);
		base = (char *)p->conf, seen = &p->daemon_seen;
		break;
	case SEC_TARGET:
		tab = target_keys, n = NKEYS(target_keys);
		base = (char *)cur_target(p), seen = &p->target_seen[p->index];
		break;
	default:
		tab = webhook_keys, n = NKEYS(webhook_keys);
		base = (char *)cur_webhook(p), seen = &p->webhook_seen[p->index];
		break;
	}
	k = find_key(tab, n, name, &idx);
	if (!k) {
		parse_error(p, p->lineno, "unknown key '%s' in [%s]", name,
			    p->sec == SEC_DAEMON ? "daemon" :
			    p->sec == SEC_TARGET ? "target" : "webhook");
		return 1;
	}
	if (k->type == V_HEADER) {
		add_header(p, value);
		return 1;
	}
	if (seen->line[idx]) {
		parse_error(p, p->lineno, "'%s' is already set at line %d", name, seen->line[idx]);
		return 1;
	}
	seen->line[idx] = p->lineno;
	if (k->type == V_SELECTOR)
		set_selector(p, name, value);
	else
		set_value(p, k, base, value, seen);
	return 1;
}

/* ---- the line reader we give inih ---- */

/* Read one line of input into a malloc'd buffer; NULL at the end. */
static char *next_line(struct parser *p)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t r;

	if (p->fp) {
		r = getline(&line, &cap, p->fp);
		if (r < 0) {
			free(line);
			return NULL;
		}
		return line;
	}
	if (!*p->text)
		return NULL;
	r = (ssize_t)strcspn(p->text, "\n");
	if (p->text[r] == '\n')
		r++;
	line = strndup(p->text, (size_t)r);
	p->text += r;
	if (!line)
		p->oom = 1;
	return line;
}

/*
 * A "header = Name: value" line of a [webhook] section, taken here rather
 * than by inih: inih's line buffer (200 bytes in Debian's build) is shorter
 * than a bearer token. Same syntax as inih's (the key, '=' or ':', the
 * value without surrounding blanks and without a " ;" comment); the length
 * limit is the header's own (LM_CONF_HEADER_MAX). 1 if it was one.
 */
static int header_line(struct parser *p, char *s)
{
	static const char key[] = "header";
	char *v, *end, *c;

	if (p->sec != SEC_WEBHOOK || strncmp(s, key, sizeof(key) - 1) != 0)
		return 0;
	v = s + sizeof(key) - 1;
	v += strspn(v, " \t");
	if (*v != '=' && *v != ':')
		return 0;
	v++;
	v += strspn(v, " \t");
	for (c = v; (c = strchr(c, ';')); c++)
		if (c > v && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	end = v + strlen(v);
	while (end > v && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	on_key(p, "webhook", key, v);
	return 1;
}

static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	char *line = next_line(p), *s;
	size_t len;

	if (!line)
		return NULL;
	p->lineno++;
	s = line;
	if (p->lineno == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;	/* a UTF-8 byte order mark */
	for (; *s == ' ' || *s == '\t'; s++)
		;
	if (header_line(p, s)) {
		free(line);
		memcpy(str, "#\n", 3);	/* done: inih sees a comment */
		return str;
	}
	len = strlen(s);
	if (len + 1 > (size_t)num) {
		static char empty[] = "\n";
		parse_error(p, p->lineno, "line longer than %d characters", num - 2);
		s = empty;
		len = 1;
	}
	if (*s == '[')
		section_line(p, s);	/* modifies s: give inih a comment instead */
	if (*s == '[')
		memcpy(str, "#\n", 3);
	else
		memcpy(str, s, len + 1);
	free(line);
	return str;
}

/* ---- after the file: defaults, inheritance, cross-checks ---- */

static void set_defaults(struct lm_conf *c)
{
	c->interval_ms = LM_CONF_DEFAULT_INTERVAL_MS;
	c->max_pause_ms = LM_CONF_DEFAULT_MAX_PAUSE_MS;
	c->max_memory = LM_CONF_DEFAULT_MAX_MEMORY;
	/* a live capture of a target bigger than max_memory allows is refused:
	 * auto copies those, and the rest pause as briefly as live */
	c->snapshot_mode = LM_MODE_AUTO;
	c->log_level = LM_LOG_INFO;
	c->retain_full_ms = (uint64_t)LM_STORE_RETAIN_FULL_S * 1000;
	c->retain_ms = (uint64_t)LM_STORE_RETAIN_S * 1000;
	c->detect.warmup_ms = LM_CONF_DEFAULT_WARMUP_MS;
	c->detect.window_ms = LM_CONF_DEFAULT_WINDOW_MS;
	c->detect.min_samples = LM_CONF_DEFAULT_MIN_SAMPLES;
	c->detect.min_rate = LM_CONF_DEFAULT_MIN_RATE;
	c->detect.alert_horizon_ms = LM_CONF_DEFAULT_ALERT_HORIZON_MS;
	c->detect.urgent_horizon_ms = LM_CONF_DEFAULT_URGENT_HORIZON_MS;
	c->detect.resolve_after_ms = LM_CONF_DEFAULT_RESOLVE_AFTER_MS;
	c->detect.holders = LM_CONF_DEFAULT_HOLDERS;
	c->metrics_top = LM_CONF_DEFAULT_METRICS_TOP;
}

static int copy_list(char **from, size_t n, char ***to)
{
	size_t i;

	*to = NULL;
	if (n == 0)
		return 0;
	*to = calloc(n, sizeof(**to));
	if (!*to)
		return -LM_ENOMEM;
	for (i = 0; i < n; i++)
		if (!((*to)[i] = strdup(from[i])))
			return -LM_ENOMEM;
	return 0;
}

/* Give a target what it did not set from [daemon]. */
static int inherit(struct parser *p, struct lm_conf_target *t, const struct seen *seen)
{
	size_t i, di;

	for (i = 0; i < NKEYS(target_keys); i++) {
		const struct key *k = &target_keys[i], *dk;
		if (!k->inherit || seen->line[i])
			continue;
		dk = find_key(daemon_keys, NKEYS(daemon_keys), k->name, &di);
		if (!dk)
			continue;
		switch (k->type) {
		case V_COUNT:
		case V_HOLDERS:
			*(uint32_t *)((char *)t + k->off) = *(uint32_t *)((char *)p->conf + dk->off);
			break;
		case V_MODE:
		case V_LEVEL:
			*(int *)((char *)t + k->off) = *(int *)((char *)p->conf + dk->off);
			break;
		case V_LIST:
			t->detect.nwebhooks = p->conf->detect.nwebhooks;
			if (copy_list(p->conf->detect.webhooks, p->conf->detect.nwebhooks,
				      &t->detect.webhooks) < 0)
				return -LM_ENOMEM;
			break;
		default:
			*(uint64_t *)((char *)t + k->off) = *(uint64_t *)((char *)p->conf + dk->off);
			break;
		}
	}
	return 0;
}

static void check_webhook_names(struct parser *p, const struct lm_conf_detect *d, int line)
{
	size_t i;

	for (i = 0; i < d->nwebhooks; i++)
		if (!lm_conf_find_webhook(p->conf, d->webhooks[i]))
			parse_error(p, line, "no [webhook %s] section for webhooks = %s",
				    d->webhooks[i], d->webhooks[i]);
}

int lm_conf_read_secret(const char *path, unsigned char *buf, size_t cap, size_t *len,
			struct lm_err *err)
{
	size_t n = 0;
	ssize_t r = 0;
	struct stat st;
	/* O_NONBLOCK: a FIFO there must not hang the daemon or --check-config */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return lm_err_errno(err, LM_ECONFIG, errno, "cannot read secret_file %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lm_err_set(err, LM_ECONFIG, "secret_file %s is not a regular file; put the "
				  "shared secret in a file", path);
	}
	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	if (r < 0) {
		int e = errno;
		close(fd);
		return lm_err_errno(err, LM_ECONFIG, e, "cannot read secret_file %s", path);
	}
	/* one byte more than the limit tells a file that is too long */
	if (n == cap && read(fd, buf, 1) > 0) {
		close(fd);
		return lm_err_set(err, LM_ECONFIG, "secret_file %s is longer than %zu bytes",
				  path, cap);
	}
	close(fd);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (!n)
		return lm_err_set(err, LM_ECONFIG, "secret_file %s is empty; put the shared "
				  "secret in it", path);
	*len = n;
	return 0;
}

/* A secret_file that cannot be read is a configuration error, reported at
 * its line: found now by --check-config, not when the daemon starts. */
static void check_secret(struct parser *p, const struct lm_conf_webhook *w, int line)
{
	unsigned char buf[LM_CONF_SECRET_MAX];
	struct lm_err e = { 0 };
	size_t len;

	if (!w->secret_file)
		return;
	if (lm_conf_read_secret(w->secret_file, buf, sizeof(buf), &len, &e) < 0)
		parse_error(p, line, "%s", e.msg);
	memset(buf, 0, sizeof(buf));
}

/* Does the URL carry user:password@? */
static int url_has_userinfo(const char *url)
{
	const char *auth = strstr(url, "://");

	auth = auth ? auth + 3 : url;
	return memchr(auth, '@', strcspn(auth, "/?#")) != NULL;
}

/* Over http:// anyone on the path reads the signature, the headers and
 * the URL's credentials (and can replay them): only with allow_insecure. */
static void check_insecure(struct parser *p, const struct lm_conf_webhook *w, int line)
{
	const char *what;

	if (!w->url || strncmp(w->url, "http://", 7) != 0 || w->allow_insecure)
		return;
	if (w->secret_file)
		what = "the signature made with secret_file";
	else if (w->nheaders)
		what = "its header = lines";
	else if (url_has_userinfo(w->url))
		what = "the user:password in the URL";
	else
		return;
	parse_error(p, line, "[webhook %s] url = http://...: %s would travel in clear text; "
		    "use https://, or set allow_insecure = yes in [webhook %s] to accept that",
		    w->name, what, w->name);
}

static void finish(struct parser *p)
{
	struct lm_conf *c = p->conf;
	size_t i;

	if (!c->database && !(c->database = strdup(LM_STORE_DEFAULT_PATH)))
		p->oom = 1;
	if (c->retain_ms < c->retain_full_ms) {
		size_t ri = 0;
		find_key(daemon_keys, NKEYS(daemon_keys), "retain", &ri);
		parse_error(p, p->daemon_seen.line[ri] ? p->daemon_seen.line[ri] : p->daemon_line,
			    "retain must be at least retain_full");
	}
	if (c->metrics_textfile) {
		size_t len = strlen(c->metrics_textfile), mi = 0;
		find_key(daemon_keys, NKEYS(daemon_keys), "metrics_textfile", &mi);
		/* node_exporter's textfile collector reads *.prom files only. */
		if (len < 6 || strcmp(c->metrics_textfile + len - 5, ".prom") != 0 ||
		    c->metrics_textfile[len - 6] == '/')
			parse_error(p, p->daemon_seen.line[mi], "metrics_textfile = %s: the name must "
				    "end in .prom (node_exporter's textfile collector reads only those)",
				    c->metrics_textfile);
	}
	check_webhook_names(p, &c->detect, p->daemon_seen.webhooks_line);
	for (i = 0; i < c->nwebhooks; i++) {
		size_t si = 0;
		if (!c->webhooks[i].url)
			parse_error(p, c->webhooks[i].line, "[webhook %s] has no url =",
				    c->webhooks[i].name);
		find_key(webhook_keys, NKEYS(webhook_keys), "secret_file", &si);
		check_secret(p, &c->webhooks[i], p->webhook_seen[i].line[si]);
		find_key(webhook_keys, NKEYS(webhook_keys), "url", &si);
		check_insecure(p, &c->webhooks[i], p->webhook_seen[i].line[si]);
	}
	for (i = 0; i < c->ntargets; i++) {
		struct lm_conf_target *t = &c->targets[i];
		if ((int)t->kind == -1) {
			parse_error(p, t->line, "target '%s' has no selector: give one of unit =, "
				    "exe =, name = or pid =", t->name);
			t->kind = LM_SEL_PID;
		}
		if (inherit(p, t, &p->target_seen[i]) < 0)
			p->oom = 1;
		if (p->target_seen[i].webhooks_line)
			check_webhook_names(p, &t->detect, p->target_seen[i].webhooks_line);
	}
}

static int parse(struct parser *p, struct lm_conf **out)
{
	int r;

	*out = NULL;
	p->conf = calloc(1, sizeof(*p->conf));
	if (!p->conf)
		return lm_err_set(p->err, LM_ENOMEM, "out of memory reading %s", p->file);
	set_defaults(p->conf);
	p->conf->path = strdup(p->file);
	r = ini_parse_stream(reader, p, on_key, p);
	/* inih's own complaint (a line that is neither a section nor key =
	 * value) counts if it comes before ours. */
	if (r > 0)
		parse_error(p, r, "expected 'key = value', '[section]' or a comment");
	else if (r == -2)
		p->oom = 1;
	if (!p->failed && !p->oom)
		finish(p);
	free(p->target_seen);
	free(p->webhook_seen);
	if (p->oom && !p->failed)
		lm_err_set(p->err, LM_ENOMEM, "out of memory reading %s", p->file);
	if (p->failed || p->oom || !p->conf->path) {
		lm_conf_free(p->conf);
		return p->oom && !p->failed ? -LM_ENOMEM : -LM_ECONFIG;
	}
	*out = p->conf;
	return 0;
}

int lm_conf_load(const char *path, struct lm_conf **out, struct lm_err *err)
{
	struct parser p = { .file = path, .err = err };
	int r;

	*out = NULL;
	p.fp = fopen(path, "re");
	if (!p.fp)
		return lm_err_errno(err, LM_ECONFIG, errno, "%s: cannot open the configuration", path);
	r = parse(&p, out);
	if (r == 0 && ferror(p.fp)) {
		lm_conf_free(*out);
		*out = NULL;
		r = lm_err_set(err, LM_ECONFIG, "%s: read error", path);
	}
	fclose(p.fp);
	return r;
}

int lm_conf_parse_string(const char *text, const char *name, struct lm_conf **out,
			 struct lm_err *err)
{
	struct parser p = { .file = name, .text = text, .err = err };

	return parse(&p, out);
}

static void free_detect(struct lm_conf_detect *d)
{
	free_list(d->webhooks, d->nwebhooks);
}

void lm_conf_free(struct lm_conf *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->ntargets; i++) {
		free(c->targets[i].name);
		free(c->targets[i].value);
		free_detect(&c->targets[i].detect);
	}
	free(c->targets);
	for (i = 0; i < c->nwebhooks; i++) {
		struct lm_conf_webhook *w = &c->webhooks[i];
		free(w->name);
		free(w->url);
		free(w->secret_file);
		free_list(w->headers, w->nheaders);
	}
	free(c->webhooks);
	free_detect(&c->detect);
	free(c->path);
	free(c->database);
	free(c->metrics_listen);
	free(c->metrics_textfile);
	free(c);
}

const struct lm_conf_target *lm_conf_find_target(const struct lm_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->ntargets; i++)
		if (strcmp(conf->targets[i].name, name) == 0)
			return &conf->targets[i];
	return NULL;
}

const struct lm_conf_webhook *lm_conf_find_webhook(const struct lm_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nwebhooks; i++)
		if (strcmp(conf->webhooks[i].name, name) == 0)
			return &conf->webhooks[i];
	return NULL;
}
