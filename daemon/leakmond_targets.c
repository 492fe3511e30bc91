/* SPDX-License-Identifier: MIT */
/*
 * leakmond_targets.c - the configured targets, the processes they match
 * right now, and when each is due for a snapshot.
 *
 * Every tick of the loop, a target whose resolve time has come is resolved
 * (lib/selector): processes that appeared become instances (a row in the
 * store, a snapshot right away), processes that are gone close theirs.
 * Resolution runs every min(interval, RESOLVE_EVERY) so a service that
 * (re)starts is picked up within seconds, not one interval later. An
 * instance is submitted to the worker when its interval has passed and it
 * has no snapshot queued or running: never two at once of one process.
 *
 * Each instance keeps a symbol cache (lib/symcache.h) so that its modules'
 * ELF files are parsed once, not at every snapshot. The worker alone uses
 * it while a job of the instance runs; the job holds a reference of its
 * own (taken in submit(), dropped by lmd_job_free() on the loop), so a
 * process that ends or a target dropped by a reload while its snapshot is
 * queued or running frees the cache only when that job is handed back.
 * References are taken and dropped on the loop thread only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "leakmond.h"
#include "proc.h"

#define RESOLVE_EVERY 5.0	/* seconds */
#define FAIL_LOG_EVERY 600	/* seconds between repeated failure lines */

static double resolve_period(const struct lmd_target *t)
{
	double interval = (double)t->conf->interval_ms / 1000.0;

	return interval < RESOLVE_EVERY ? interval : RESOLVE_EVERY;
}

struct lmd_target *lmd_find_target(struct leakmond *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ntargets; i++)
		if (strcmp(d->targets[i]->name, name) == 0)
			return d->targets[i];
	return NULL;
}

struct lmd_instance *lmd_find_instance(struct lmd_target *t, const struct lm_proc_id *id)
{
	size_t i;

	for (i = 0; i < t->ninst; i++)
		if (t->inst[i] && t->inst[i]->id.pid == id->pid &&
		    t->inst[i]->id.start_ticks == id->start_ticks)
			return t->inst[i];
	return NULL;
}

size_t lmd_count_instances(const struct leakmond *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->ntargets; i++)
		n += d->targets[i]->ninst;
	return n;
}

/* memory_limit from the configuration, else the cgroup's, else MemTotal. */
uint64_t lmd_memory_limit(const struct lmd_target *t, const struct lmd_instance *inst)
{
	uint64_t limit = UINT64_MAX, usage;

	if (t->conf->memory_limit)
		return t->conf->memory_limit;
	if (lm_cgroup_memory(inst->id.pid, &limit, &usage, NULL) == 0 && limit != UINT64_MAX)
		return limit;
	return lm_mem_total();
}

static void instance_free(struct lmd_instance *inst)
{
	if (!inst)
		return;
	lm_symcache_free(inst->symcache);
	free(inst->exe);
	free(inst);
}

/* ---- appearing and disappearing processes ---- */

struct sync_ctx {
	struct leakmond *d;
	struct lmd_target *t;
	struct lmd_instance **next;	/* the new instance list, built in pid order */
	size_t n;
};

static void appeared(void *arg, const struct lm_proc_id *id)
{
	struct sync_ctx *s = arg;
	struct lmd_target *t = s->t;
	struct lmd_instance *inst = calloc(1, sizeof(*inst));
	char exe[4096];
	struct lm_err err = { 0 };

	if (!inst) {
		lm_log(LM_LOG_ERR, "target %s: out of memory tracking pid %d", t->name, (int)id->pid);
		return;
	}
	inst->id = *id;
	if (lm_proc_exe(id->pid, exe, sizeof(exe), NULL) == 0)
		inst->exe = strdup(exe);
	inst->started_at_us = lm_proc_start_us(id->start_ticks);
	if (lm_store_instance_open(s->d->store, t->target_id, id->pid, id->start_ticks,
				   inst->exe, inst->started_at_us, &inst->instance_id, &err) < 0) {
		lm_log(LM_LOG_ERR, "target %s: cannot record pid %d in the database: %s", t->name,
		       (int)id->pid, err.msg);
		instance_free(inst);
		return;	/* tried again at the next resolution */
	}
	if (lm_symcache_new(&inst->symcache, &err) < 0)	/* then symbols load afresh */
		lm_log(LM_LOG_WARNING, "target %s: pid %d: %s", t->name, (int)id->pid, err.msg);
	inst->memory_limit = lmd_memory_limit(t, inst);
	inst->next_due = ev_now(s->d->loop);
	t->waiting_logged = 0;
	lm_log(LM_LOG_INFO, "target %s: watching pid %d (%s), instance %lld", t->name,
	       (int)id->pid, inst->exe ? inst->exe : "?", (long long)inst->instance_id);
	s->next[s->n++] = inst;
}

static void gone(void *arg, const struct lm_proc_id *id)
{
	struct sync_ctx *s = arg;
	struct lmd_instance *inst = NULL;
	struct lm_err err = { 0 };
	size_t i;

	for (i = 0; i < s->t->ninst && !inst; i++)
		if (s->t->inst[i] && s->t->inst[i]->id.pid == id->pid &&
		    s->t->inst[i]->id.start_ticks == id->start_ticks) {
			inst = s->t->inst[i];
			s->t->inst[i] = NULL;	/* update_instances drops the slot */
		}
	if (!inst)
		return;
	lm_log(LM_LOG_INFO, "target %s: pid %d is gone (instance %lld, %llu snapshots)",
	       s->t->name, (int)id->pid, (long long)inst->instance_id,
	       (unsigned long long)inst->nsnapshots);
	if (lm_store_instance_close(s->d->store, inst->instance_id, lm_wall_us(), &err) < 0)
		lm_log(LM_LOG_ERR, "target %s: cannot close instance %lld: %s", s->t->name,
		       (long long)inst->instance_id, err.msg);
	/* A snapshot in flight finds no instance when it returns and is
	 * stored by its instance id alone. */
	instance_free(inst);
}

static int id_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct lm_proc_id *)a)->pid, y = ((const struct lm_proc_id *)b)->pid;
	return (x > y) - (x < y);
}

/* Replace t's instances by those of the processes in ids. */
static void update_instances(struct leakmond *d, struct lmd_target *t,
			     const struct lm_proc_id *ids, size_t n)
{
	struct lm_proc_id *old = calloc(t->ninst + 1, sizeof(*old));
	struct sync_ctx s = { d, t, calloc(n + t->ninst + 1, sizeof(*s.next)), 0 };
	size_t i;

	if (!old || !s.next) {
		free(old);
		free(s.next);
		lm_log(LM_LOG_ERR, "target %s: out of memory", t->name);
		return;
	}
	for (i = 0; i < t->ninst; i++)
		old[i] = t->inst[i]->id;
	qsort(old, t->ninst, sizeof(*old), id_cmp);	/* the diff wants pid order */
	lm_proc_ids_diff(old, t->ninst, ids, n, appeared, gone, &s);
	for (i = 0; i < t->ninst; i++)
		if (t->inst[i])
			s.next[s.n++] = t->inst[i];
	free(old);
	free(t->inst);
	t->inst = s.next;
	t->ninst = s.n;
}

/* A process traced by our worker is a watched target being snapshotted
 * (keep it) or the frozen copy of one (a new pid: never watch it). */
static size_t drop_copies(struct lmd_target *t, struct lm_proc_id *ids, size_t n)
{
	size_t i, j;

	for (i = j = 0; i < n; i++)
		if (!ids[i].traced_by_us || lmd_find_instance(t, &ids[i]))
			ids[j++] = ids[i];
	return j;
}

static void resolve(struct leakmond *d, struct lmd_target *t)
{
	const struct lm_conf_target *c = t->conf;
	struct lm_proc_id *ids;
	struct lm_err err = { 0 };
	uint64_t suppressed = 0;
	size_t n;

	if (lm_selector_resolve(c->kind, c->value, c->pid, &ids, &n, &err) < 0) {
		if (lm_ratelimit_ok(&t->resolve_log, lm_wall_us(), FAIL_LOG_EVERY, &suppressed))
			lm_log(LM_LOG_WARNING, "target %s: cannot resolve %s: %s (%llu more suppressed)",
			       t->name, lm_selector_kind_name(c->kind), err.msg,
			       (unsigned long long)suppressed);
		return;
	}
	n = drop_copies(t, ids, n);
	if (c->has_user)	/* name = matches what anyone can call a process */
		n = lm_selector_keep_user(ids, n, c->uid);
	update_instances(d, t, ids, n);
	free(ids);
	if (t->ninst == 0 && !t->waiting_logged) {
		if (c->kind == LM_SEL_PID)
			lm_log(LM_LOG_NOTICE, "target %s: no process %d; waiting for it", t->name,
			       (int)c->pid);
		else
			lm_log(LM_LOG_NOTICE, "target %s: no process matches %s = %s yet; waiting",
			       t->name, lm_selector_kind_name(c->kind), c->value);
		t->waiting_logged = 1;
	}
}

void lmd_job_aim(struct lmd_job *job, const struct lmd_target *t, struct lmd_instance *inst)
{
	job->id = inst->id;
	job->instance_id = inst->instance_id;
	job->opts.pid = inst->id.pid;
	job->opts.mode = t->conf->snapshot_mode;
	job->opts.max_pause_ns = t->conf->max_pause_ms * 1000000ULL;
	job->opts.max_memory_bytes = t->conf->max_memory;
	if (inst->symcache)	/* the census's parsed symbols; lmd_job_free drops it */
		job->opts.symcache = lm_symcache_hold(inst->symcache);
}

static void submit(struct leakmond *d, struct lmd_target *t, struct lmd_instance *inst)
{
	struct lmd_job *job = calloc(1, sizeof(*job));

	if (!job || !(job->target = strdup(t->name))) {
		free(job);
		lm_log(LM_LOG_ERR, "target %s: out of memory queueing a snapshot", t->name);
		return;
	}
	lmd_job_aim(job, t, inst);
	inst->in_flight = 1;
	lm_log(LM_LOG_DEBUG, "target %s: snapshot of pid %d queued", t->name, (int)inst->id.pid);
	lmd_worker_submit(d->worker, job);
}

void lmd_targets_tick(struct leakmond *d)
{
	double now = ev_now(d->loop);
	size_t i, j;

	if (d->stopping)
		return;
	for (i = 0; i < d->ntargets; i++) {
		struct lmd_target *t = d->targets[i];
		double interval = (double)t->conf->interval_ms / 1000.0;
		if (now >= t->next_resolve) {
			resolve(d, t);
			t->next_resolve = now + resolve_period(t);
		}
		for (j = 0; j < t->ninst; j++) {
			struct lmd_instance *inst = t->inst[j];
			if (inst->in_flight || now < inst->next_due)
				continue;
			submit(d, t, inst);
			/* Keep the rhythm; after a long stall, start afresh. */
			inst->next_due += interval;
			if (inst->next_due <= now)
				inst->next_due = now + interval;
		}
	}
}

static void target_free(struct leakmond *d, struct lmd_target *t, int close_instances)
{
	struct lm_err err = { 0 };
	size_t i;

	for (i = 0; i < t->ninst; i++) {
		if (close_instances &&
		    lm_store_instance_close(d->store, t->inst[i]->instance_id, lm_wall_us(), &err) < 0)
			lm_log(LM_LOG_ERR, "target %s: cannot close instance %lld: %s", t->name,
			       (long long)t->inst[i]->instance_id, err.msg);
		instance_free(t->inst[i]);
	}
	free(t->inst);
	free(t->name);
	free(t);
}

static int same_selector(const struct lm_conf_target *a, const struct lm_conf_target *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == LM_SEL_PID)
		return a->pid == b->pid;
	return strcmp(a->value, b->value) == 0;
}

/* A target for configuration c, registered in the store. */
static struct lmd_target *target_new(struct leakmond *d, const struct lm_conf_target *c)
{
	struct lmd_target *t = calloc(1, sizeof(*t));
	struct lm_err err = { 0 };

	if (!t || !(t->name = strdup(c->name))) {
		free(t);
		lm_log(LM_LOG_ERR, "target %s: out of memory", c->name);
		return NULL;
	}
	t->conf = c;
	if (lm_store_target(d->store, c->name, &t->target_id, &err) < 0) {
		lm_log(LM_LOG_ERR, "target %s: %s", c->name, err.msg);
		free(t->name);
		free(t);
		return NULL;
	}
	return t;
}

static int in_list(struct lmd_target *const *v, size_t n, const struct lmd_target *t)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == t)
			return 1;
	return 0;
}

/*
 * Make d->targets follow conf: keep the state of targets still configured
 * with the same selector, drop the others (closing their instances: they
 * are no longer watched), add the new ones. First every new target is
 * created (which may fail: then nothing has changed and the caller keeps
 * its old configuration), then the switch, which cannot fail.
 */
int lmd_targets_sync(struct leakmond *d, const struct lm_conf *conf)
{
	struct lmd_target **next = calloc(conf->ntargets + 1, sizeof(*next));
	size_t i, j;

	if (!next)
		return -LM_ENOMEM;
	for (i = 0; i < conf->ntargets; i++) {
		const struct lm_conf_target *c = &conf->targets[i];
		struct lmd_target *t = lmd_find_target(d, c->name);
		if (t && !same_selector(t->conf, c)) {
			lm_log(LM_LOG_INFO, "target %s: selector changed to %s", c->name,
			       lm_selector_kind_name(c->kind));
			t = NULL;	/* the old one is closed below */
		}
		next[i] = t ? t : target_new(d, c);
		if (!next[i]) {
			for (j = 0; j < i; j++)
				if (!in_list(d->targets, d->ntargets, next[j]))
					target_free(d, next[j], 0);
			free(next);
			return -LM_EDB;
		}
	}
	for (i = 0; i < conf->ntargets; i++) {
		struct lmd_target *t = next[i];
		double interval = (double)conf->targets[i].interval_ms / 1000.0;
		t->conf = &conf->targets[i];
		/* A shorter interval applies now, not one old interval later. */
		for (j = 0; j < t->ninst; j++)
			if (t->inst[j]->next_due > ev_now(d->loop) + interval)
				t->inst[j]->next_due = ev_now(d->loop) + interval;
		if (t->next_resolve > ev_now(d->loop) + resolve_period(t))
			t->next_resolve = ev_now(d->loop);
	}
	for (i = 0; i < d->ntargets; i++)
		if (!in_list(next, conf->ntargets, d->targets[i])) {
			lm_log(LM_LOG_INFO, "target %s: no longer configured", d->targets[i]->name);
			target_free(d, d->targets[i], 1);
		}
	free(d->targets);
	d->targets = next;
	d->ntargets = conf->ntargets;
	return 0;
}

void lmd_targets_free(struct leakmond *d)
{
	size_t i;

	for (i = 0; i < d->ntargets; i++)
		target_free(d, d->targets[i], 0);
	free(d->targets);
	d->targets = NULL;
	d->ntargets = 0;
}
