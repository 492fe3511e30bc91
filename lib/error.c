/* SPDX-License-Identifier: MIT */
/*
 * error.c - filling struct lm_err.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"

int lm_err_set(struct lm_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return -code;
}

int lm_err_errno(struct lm_err *err, int code, int errnum, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		size_t len;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
			 strerror(errnum));
		err->code = code;
	}
	return -code;
}

void lm_err_prefix(struct lm_err *err, const char *fmt, ...)
{
	char prefix[LM_ERRMSG_MAX], old[LM_ERRMSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}

const char *lm_status_name(int code)
{
	static const char *const names[LM_STATUS_MAX] = {
		[LM_OK] = "ok",
		[LM_EINVAL] = "invalid-input",
		[LM_ENOPROC] = "no-process",
		[LM_EPERM] = "permission",
		[LM_ENOTGLIBC] = "not-glibc",
		[LM_EVERSION] = "unsupported-glibc",
		[LM_EEXITED] = "exited",
		[LM_ECORRUPT] = "corrupt",
		[LM_EBUSY] = "busy",
		[LM_EIO] = "io",
		[LM_ENOMEM] = "no-memory",
		[LM_EFAULT] = "unreadable",
		[LM_ENOTFOUND] = "not-found",
		[LM_ECONFIG] = "config",
		[LM_EDB] = "database",
		[LM_ELIMIT] = "limit",
		[LM_ETIMEDOUT] = "not-stopped",
	};
	if (code < 0)
		code = -code;
	if (code >= LM_STATUS_MAX || !names[code])
		return "unknown";
	return names[code];
}
