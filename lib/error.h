/* SPDX-License-Identifier: MIT */
/*
 * error.h - status codes and the error buffer every lib/ function fills.
 *
 * One return convention, in lib/ and daemon/ alike, for every function whose
 * result says whether it worked ("did it work" returns):
 *
 *   - It returns int: 0 on success, or a negative LM_E* code (-LM_ENOMEM,
 *     -LM_EINVAL, ...) saying what kind of failure it was. Never -1, never a
 *     positive code, never an exit status, never errno.
 *   - A function that takes a struct lm_err writes the sentence there (what
 *     failed, on which input, what to do) with lm_err_set()/lm_err_errno(),
 *     which return the code, so `return lm_err_set(err, LM_EIO, ...);`.
 *     A small private helper without one returns the code alone, and its
 *     caller, which knows the input, writes the sentence.
 *   - A caller passes a code on unchanged (`if (rc < 0) return rc;`) or
 *     replaces it deliberately; it tests `rc < 0`, never `rc == -1`.
 *   - A function whose success is a non-negative number (a type id, a file
 *     descriptor it opened for its caller) returns it, or a negative LM_E*
 *     code on failure; its comment says so.
 *   - A function with two kinds of success returns 1 or 0 besides the
 *     negative codes, and its comment says which is which: a search 1 found,
 *     0 not found; an option parser 1 "handled" or "--help printed, stop".
 *
 * Other results are not "did it work" returns and keep their natural type:
 * a predicate (is_*, has_*, *_valid: 1 or 0), a count, size or length
 * (size_t, or ssize_t with -1 for "could not read"), an index or a parsed
 * enum value (-1 for "none" or "not a name"), a file
 * descriptor (-1 with errno set, like open()), a pointer (NULL on failure,
 * with a struct lm_err if the caller must say why), and a callback handed
 * to another library (libcurl, libdw, inih, qsort), which returns what that
 * library expects.
 *
 * Only daemon/ decides whether to print, retry or exit. A leakmon command
 * (cmd_* in daemon/) and the steps it is split into return exit statuses
 * (enum lm_exit); the helpers below them return codes, and the one table
 * from codes to exit statuses is lm_exit_code() in daemon/cli.c.
 *
 * tools/check-returns.sh (make check-returns, tests/return_convention.test)
 * finds the forms this convention replaced.
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
