/* SPDX-License-Identifier: MIT */
/*
 * t_daemon_lib.c - drives lib/conf, lib/cgroup and lib/selector for the
 * daemon_lib tests: one command per run, results on stdout, errors on
 * stderr with exit status 1 (78 for a configuration error).
 *
 *   t_daemon_lib conf FILE          effective settings, one "key value" line each
 *   t_daemon_lib duration TEXT      milliseconds
 *   t_daemon_lib size TEXT          bytes
 *   t_daemon_lib unit PID           the systemd unit of PID
 *   t_daemon_lib memory PID         "limit L usage U" (limit "max" if none)
 *   t_daemon_lib unit-pids UNIT     pids of a unit's cgroup, one per line
 *   t_daemon_lib resolve KIND VALUE pid and start ticks of each match
 *   t_daemon_lib diff "PID:START ..." "PID:START ..."
 *                                   instances gone and appeared between two
 *                                   sets (sorted by pid)
 *   t_daemon_lib resolve-traced KIND VALUE PID
 *                                   the same while another thread of ours
 *                                   has PID seized (as the snapshot worker
 *                                   holds a frozen copy): PID is marked
 *                                   "traced"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "cgroup.h"
#include "conf.h"
#include "selector.h"
#include "units.h"

static void print_detect(const char *who, const struct lm_conf_detect *d)
{
	size_t i;

	printf("%s.warmup_ms %llu\n", who, (unsigned long long)d->warmup_ms);
	printf("%s.window_ms %llu\n", who, (unsigned long long)d->window_ms);
	printf("%s.min_samples %u\n", who, d->min_samples);
	printf("%s.min_rate %llu\n", who, (unsigned long long)d->min_rate);
	printf("%s.alert_horizon_ms %llu\n", who, (unsigned long long)d->alert_horizon_ms);
	printf("%s.urgent_horizon_ms %llu\n", who, (unsigned long long)d->urgent_horizon_ms);
	printf("%s.resolve_after_ms %llu\n", who, (unsigned long long)d->resolve_after_ms);
	printf("%s.holders %u\n", who, (unsigned)d->holders);
	printf("%s.webhooks", who);
	for (i = 0; i < d->nwebhooks; i++)
		printf(" %s", d->webhooks[i]);
	printf("\n");
}

static int cmd_conf(const char *path)
{
	struct lm_conf *c;
	struct lm_err err = { 0 };
	size_t i, j;
	char who[128];

	if (lm_conf_load(path, &c, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return err.code == LM_ECONFIG ? 78 : 1;
	}
	printf("database %s\n", c->database);
	printf("interval_ms %llu\n", (unsigned long long)c->interval_ms);
	printf("max_pause_ms %llu\n", (unsigned long long)c->max_pause_ms);
	printf("max_memory %llu\n", (unsigned long long)c->max_memory);
	printf("snapshot_mode %d\n", c->snapshot_mode);
	printf("log_level %d\n", c->log_level);
	printf("retain_full_ms %llu\n", (unsigned long long)c->retain_full_ms);
	printf("retain_ms %llu\n", (unsigned long long)c->retain_ms);
	print_detect("daemon", &c->detect);
	for (i = 0; i < c->ntargets; i++) {
		const struct lm_conf_target *t = &c->targets[i];
		snprintf(who, sizeof(who), "target.%s", t->name);
		printf("%s.line %d\n", who, t->line);
		printf("%s.selector %s %s\n", who, lm_selector_kind_name(t->kind),
		       t->kind == LM_SEL_PID ? "" : t->value);
		if (t->kind == LM_SEL_PID)
			printf("%s.pid %d\n", who, (int)t->pid);
		if (t->has_user)
			printf("%s.uid %u\n", who, (unsigned)t->uid);
		printf("%s.interval_ms %llu\n", who, (unsigned long long)t->interval_ms);
		printf("%s.max_pause_ms %llu\n", who, (unsigned long long)t->max_pause_ms);
		printf("%s.max_memory %llu\n", who, (unsigned long long)t->max_memory);
		printf("%s.snapshot_mode %d\n", who, t->snapshot_mode);
		printf("%s.memory_limit %llu\n", who, (unsigned long long)t->memory_limit);
		print_detect(who, &t->detect);
	}
	for (i = 0; i < c->nwebhooks; i++) {
		const struct lm_conf_webhook *w = &c->webhooks[i];
		printf("webhook.%s.url %s\n", w->name, w->url);
		printf("webhook.%s.secret_file %s\n", w->name, w->secret_file ? w->secret_file : "-");
		printf("webhook.%s.timeout_ms %llu\n", w->name, (unsigned long long)w->timeout_ms);
		printf("webhook.%s.max_age_ms %llu\n", w->name, (unsigned long long)w->max_age_ms);
		for (j = 0; j < w->nheaders; j++)
			printf("webhook.%s.header %s\n", w->name, w->headers[j]);
	}
	lm_conf_free(c);
	return 0;
}

static int cmd_resolve(const char *kind, const char *value)
{
	static const char *const kinds[] = { "unit", "exe", "name", "pid" };
	struct lm_err err = { 0 };
	struct lm_proc_id *ids;
	size_t n, i;
	int k;

	for (k = 0; k < 4; k++)
		if (strcmp(kind, kinds[k]) == 0)
			break;
	if (k == 4) {
		fprintf(stderr, "unknown kind %s\n", kind);
		return 2;
	}
	if (lm_selector_resolve((enum lm_selector_kind)k, value, atoi(value), &ids, &n, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%d %llu %s%s\n", (int)ids[i].pid, (unsigned long long)ids[i].start_ticks,
		       lm_proc_id_alive(&ids[i]) ? "alive" : "dead",
		       ids[i].traced_by_us ? " traced" : "");
	free(ids);
	return 0;
}

static size_t parse_ids(char *text, struct lm_proc_id *ids, size_t max)
{
	char *tok, *save = NULL;
	size_t n = 0;

	for (tok = strtok_r(text, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save)) {
		unsigned long long start = 0;
		int pid = 0;
		if (sscanf(tok, "%d:%llu", &pid, &start) == 2) {
			ids[n].pid = pid;
			ids[n].start_ticks = start;
			ids[n].traced_by_us = 0;
			n++;
		}
	}
	return n;
}

static void print_gone(void *ctx, const struct lm_proc_id *id)
{
	(void)ctx;
	printf("gone %d:%llu\n", (int)id->pid, (unsigned long long)id->start_ticks);
}

static void print_appeared(void *ctx, const struct lm_proc_id *id)
{
	(void)ctx;
	printf("appeared %d:%llu\n", (int)id->pid, (unsigned long long)id->start_ticks);
}

static int cmd_diff(char *old_text, char *cur_text)
{
	struct lm_proc_id old[64], cur[64];
	size_t nold = parse_ids(old_text, old, 64), ncur = parse_ids(cur_text, cur, 64);

	lm_proc_ids_diff(old, nold, cur, ncur, print_appeared, print_gone, NULL);
	return 0;
}

/* Seize a process from another thread (TracerPid is then that thread's
 * id), resolve, release. */
struct seize_arg {
	pid_t pid;
	int ok;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage;	/* 0 start, 1 seized, 2 release */
};

static void *seize_thread(void *p)
{
	struct seize_arg *a = p;

	a->ok = ptrace(PTRACE_SEIZE, a->pid, NULL, NULL) == 0;
	pthread_mutex_lock(&a->lock);
	a->stage = 1;
	pthread_cond_broadcast(&a->cond);
	while (a->stage != 2)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	if (a->ok)
		ptrace(PTRACE_DETACH, a->pid, NULL, NULL);
	return NULL;
}

static int cmd_resolve_traced(const char *kind, const char *value, pid_t pid)
{
	struct seize_arg a = { .pid = pid };
	pthread_t th;
	int r;

	pthread_mutex_init(&a.lock, NULL);
	pthread_cond_init(&a.cond, NULL);
	pthread_create(&th, NULL, seize_thread, &a);
	pthread_mutex_lock(&a.lock);
	while (a.stage != 1)
		pthread_cond_wait(&a.cond, &a.lock);
	pthread_mutex_unlock(&a.lock);
	if (!a.ok) {
		fprintf(stderr, "cannot seize %d\n", (int)pid);
		r = 1;
	} else {
		r = cmd_resolve(kind, value);
	}
	pthread_mutex_lock(&a.lock);
	a.stage = 2;
	pthread_cond_broadcast(&a.cond);
	pthread_mutex_unlock(&a.lock);
	pthread_join(th, NULL);
	return r;
}

int main(int argc, char **argv)
{
	struct lm_err err = { 0 };
	uint64_t u, usage;
	char buf[256];

	if (argc == 3 && strcmp(argv[1], "conf") == 0)
		return cmd_conf(argv[2]);
	if (argc == 3 && strcmp(argv[1], "duration") == 0) {
		if (lm_parse_duration_ms(argv[2], &u) < 0)
			return 1;
		lm_format_duration(u, buf, sizeof(buf));
		printf("%llu %s\n", (unsigned long long)u, buf);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "span") == 0) {
		char secs[64];

		lm_format_span(strtod(argv[2], NULL), LM_SPAN_MINUTES, buf, sizeof(buf));
		lm_format_span(strtod(argv[2], NULL), LM_SPAN_SECONDS, secs, sizeof(secs));
		printf("%s|%s\n", buf, secs);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "size") == 0) {
		if (lm_parse_size(argv[2], &u) < 0)
			return 1;
		printf("%llu\n", (unsigned long long)u);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "unit") == 0) {
		if (lm_cgroup_unit(atoi(argv[2]), buf, sizeof(buf), &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		printf("%s\n", buf);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "memory") == 0) {
		if (lm_cgroup_memory(atoi(argv[2]), &u, &usage, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		if (u == UINT64_MAX)
			printf("limit max usage %llu\n", (unsigned long long)usage);
		else
			printf("limit %llu usage %llu\n", (unsigned long long)u,
			       (unsigned long long)usage);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "unit-pids") == 0) {
		pid_t *pids;
		size_t n, i;
		if (lm_cgroup_unit_pids(argv[2], &pids, &n, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		for (i = 0; i < n; i++)
			printf("%d\n", (int)pids[i]);
		free(pids);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "resolve") == 0)
		return cmd_resolve(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "diff") == 0)
		return cmd_diff(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "resolve-traced") == 0)
		return cmd_resolve_traced(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: t_daemon_lib conf FILE | duration T | size S | unit PID | "
		"memory PID | unit-pids UNIT | resolve KIND VALUE | resolve-traced KIND VALUE PID\n");
	return 2;
}
