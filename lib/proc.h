/* SPDX-License-Identifier: MIT */
/*
 * proc.h - reading /proc/PID: mappings, threads, exe, status.
 *
 * Everything read here is a snapshot of a moving target; callers that need
 * a consistent view read again while the process is stopped.
 */
#ifndef LM_PROC_H
#define LM_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define LM_PROT_R	0x1
#define LM_PROT_W	0x2
#define LM_PROT_X	0x4
#define LM_PROT_SHARED	0x8	/* 's' in maps; otherwise private */

struct lm_mapping {
	uint64_t start, end;	/* [start, end) */
	uint64_t offset;	/* file offset of start */
	unsigned prot;		/* LM_PROT_* */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char *path;		/* NULL when anonymous; "[heap]", "[stack]", ... */
};

struct lm_maps {
	struct lm_mapping *v;	/* sorted by start */
	size_t n;
};

int lm_proc_read_maps(pid_t pid, struct lm_maps *out, struct lm_err *err);
/* Parse maps text (as in /proc/PID/maps); used by tests and the core source. */
int lm_maps_parse(const char *text, struct lm_maps *out, struct lm_err *err);
void lm_maps_free(struct lm_maps *maps);
/* The mapping containing addr, or NULL. Binary search. */
const struct lm_mapping *lm_maps_find(const struct lm_maps *maps, uint64_t addr);
/* Deep copy (paths duplicated). */
int lm_maps_copy(const struct lm_maps *from, struct lm_maps *to);

/* Thread ids in /proc/PID/task, ascending. *tids is malloc'd. */
int lm_proc_list_tasks(pid_t pid, pid_t **tids, size_t *n, struct lm_err *err);

struct lm_proc_status {
	char comm[64];
	char state;			/* R, S, D, T, t, Z, X */
	uint64_t start_time_ticks;	/* field 22 of /proc/PID/stat */
	uint64_t rss_bytes;		/* VmRSS */
	/* RssAnon + VmSwap: the memory the process itself owns. Not shared
	 * memory (RssShmem: shared buffers first touched count in RSS) nor
	 * file pages (RssFile), which the kernel may drop or others hold. */
	uint64_t owned_bytes;
	uint64_t vm_bytes;		/* VmSize */
	uid_t uid;			/* real uid */
	pid_t ppid;
	int threads;
};
int lm_proc_status(pid_t pid, struct lm_proc_status *st, struct lm_err *err);
/* The number after "key:" in /proc/PID/FILE ("status", "smaps_rollup": kB
 * values are left in kB). 0, or a negative LM_E* code: the file's read error,
 * -LM_ENOTFOUND when the key is missing, -LM_EINVAL when it has no number. */
int lm_proc_field(pid_t pid, const char *file, const char *key, unsigned long long *val);

/* The parsers behind lm_proc_status and lm_proc_field, on text already
 * read (NUL-terminated): /proc/PID/stat into st's comm, state, ppid,
 * threads and start time; "key: number" lines of status-like files. 0, or
 * -LM_EINVAL when the text is malformed, -LM_ENOTFOUND when the key is
 * missing. */
int lm_proc_parse_stat(const char *text, struct lm_proc_status *st);
int lm_proc_parse_field(const char *text, const char *key, unsigned long long *val);

/* readlink of /proc/PID/exe into buf (NUL-terminated; " (deleted)" kept). */
int lm_proc_exe(pid_t pid, char *buf, size_t len, struct lm_err *err);

/* Does the process exist (kill(pid, 0) or /proc/PID present)? */
int lm_proc_exists(pid_t pid);

#endif
