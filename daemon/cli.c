/* SPDX-License-Identifier: MIT */
/*
 * cli.c - helpers shared by the leakmon commands: exit codes, error
 * printing, target and size parsing, human units.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "escape.h"

int lm_exit_code(int status)
{
	if (status < 0)
		status = -status;
	switch (status) {
	case LM_OK: return LM_EXIT_OK;
	case LM_EINVAL: return LM_EXIT_USAGE;
	case LM_ENOPROC: return LM_EXIT_NOPROC;
	case LM_EPERM: return LM_EXIT_PERM;
	case LM_ENOTGLIBC: return LM_EXIT_NOTGLIBC;
	case LM_EVERSION: return LM_EXIT_VERSION;
	case LM_EEXITED: return LM_EXIT_EXITED;
	case LM_ECORRUPT: return LM_EXIT_CORRUPT;
	case LM_ENOTFOUND: return LM_EXIT_NOTFOUND;
	case LM_EIO: return LM_EXIT_IO;
	case LM_ETIMEDOUT: return LM_EXIT_NOTSTOPPED;
	default: return LM_EXIT_FAILURE;
	}
}

/* Messages may quote what a target chose (paths, names): escaped. */
void lm_cli_error(const struct lm_err *err)
{
	char msg[sizeof(err->msg) * 4];

	lm_escape_str(err->msg[0] ? err->msg : lm_status_name(err->code), msg, sizeof(msg));
	fprintf(stderr, "leakmon: %s\n", msg);
}

void lm_cli_warning(const char *text)
{
	char *msg = lm_escape_dup(text);

	fprintf(stderr, "leakmon: warning: %s\n", msg ? msg : "(out of memory)");
	free(msg);
}

void lm_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "leakmon %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see leakmon %s --help)\n", cmd);
}

int lm_cli_parse_target(const char *arg, struct lm_snapshot_opts *opts)
{
	const char *p;
	char *end;
	long pid;

	for (p = arg; *p && isdigit((unsigned char)*p); p++)
		;
	if (*arg && !*p) {
		errno = 0;
		pid = strtol(arg, &end, 10);
		if (errno || pid <= 0 || pid > 0x3fffffff)
			return -LM_EINVAL;
		opts->pid = (pid_t)pid;
		opts->core_path = NULL;
		return 0;
	}
	if (!*arg)
		return -LM_EINVAL;
	opts->pid = 0;
	opts->core_path = arg;
	return 0;
}

int lm_cli_parse_mode(const char *arg, int *mode)
{
	if (!strcmp(arg, "live"))
		*mode = LM_MODE_LIVE;
	else if (!strcmp(arg, "copy"))
		*mode = LM_MODE_COPY;
	else if (!strcmp(arg, "auto"))
		*mode = LM_MODE_AUTO;
	else
		return -LM_EINVAL;
	return 0;
}

int lm_cli_parse_max_pause(const char *cmd, const char *arg, uint64_t *ns)
{
	uint64_t ms;

	if (lm_parse_duration_ms(arg, &ms) < 0) {
		lm_cli_usage_error(cmd, "--max-pause: '%s' is not a duration such as 250ms or 2s "
				   "(0 = no limit)", arg);
		return -LM_EINVAL;
	}
	*ns = ms * 1000000ULL;
	return 0;
}

int lm_cli_parse_max_memory(const char *cmd, const char *arg, uint64_t *bytes)
{
	if (lm_parse_size(arg, bytes) < 0 || (*bytes && *bytes < (16ULL << 20))) {
		lm_cli_usage_error(cmd, "--max-memory: '%s' is not a size of at least 16M such "
				   "as 512M or 2G (0 = no limit)", arg);
		return -LM_EINVAL;
	}
	return 0;
}
