/* SPDX-License-Identifier: MIT */
/*
 * error.h - status codes and the error buffer every lib/ function fills.
 *
 * Functions return 0 on success or a negative LM_E* code, and write a human
 * sentence (what failed, on which input, what to do) into a struct lm_err.
 * Only daemon/ decides whether to print, retry or exit; the CLI maps each
 * code to its own exit status (see lm_exit_code()).
 */
#ifndef LM_ERROR_H
#define LM_ERROR_H

#include <stdarg.h>

enum lm_status {
	LM_OK = 0,
	LM_EINVAL,	/* bad argument or input from the user */
	LM_ENOPROC,	/* no such process */
	LM_EPERM,	/* ptrace or /proc access denied */
	LM_ENOTGLIBC,	/* not a glibc-malloc process (static, jemalloc, ...) */
	LM_EVERSION,	/* glibc version not in our layout table */
	LM_EEXITED,	/* the process exited during the snapshot */
	LM_ECORRUPT,	/* target data is inconsistent (corrupt heap, bad core) */
	LM_EBUSY,	/* an arena lock was held: the state is mid-update, retry */
	LM_EIO,		/* I/O error on a file we read or write */
	LM_ENOMEM,	/* out of memory */
	LM_EFAULT,	/* target address not readable / not captured */
	LM_ENOTFOUND,	/* asked-for object (address, type, symbol) not found */
	LM_ECONFIG,	/* configuration error */
	LM_EDB,		/* database error */
	LM_ELIMIT,	/* a configured bound (pause, size) would be exceeded */
	LM_ETIMEDOUT,	/* a thread did not stop within the pause budget */
	LM_STATUS_MAX
};

#define LM_ERRMSG_MAX 512

struct lm_err {
	int code;			/* enum lm_status, positive */
	char msg[LM_ERRMSG_MAX];	/* one sentence, no trailing newline */
};

/* Fill err (may be NULL) and return -code, so callers can write
 * `return lm_err_set(err, LM_EINVAL, "bad %s", x);` */
int lm_err_set(struct lm_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like lm_err_set, with ": strerror(errnum)" appended. */
int lm_err_errno(struct lm_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix an existing message with more context ("snapshot of 1234: ..."). */
void lm_err_prefix(struct lm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A short stable name for a code ("no-process", "permission", ...). */
const char *lm_status_name(int code);

#endif
