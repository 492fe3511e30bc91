/* SPDX-License-Identifier: MIT */
/*
 * log.c - log lines on stderr, with journald priority prefixes when
 * journald is the reader.
 *
 * systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is
 * connected to the journal; if fd 2 still is that stream (and not, say,
 * redirected by a wrapper), "<N>" prefixes give every line its priority.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"

static int log_level = LM_LOG_INFO;
static int log_prefix;

static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void lm_log_init(int level)
{
	log_prefix = stderr_is_journal();
	lm_log_set_level(level);
}

void lm_log_set_level(int level)
{
	if (level < LM_LOG_ERR)
		level = LM_LOG_ERR;
	if (level > LM_LOG_DEBUG)
		level = LM_LOG_DEBUG;
	log_level = level;
}

int lm_log_get_level(void)
{
	return log_level;
}

void lm_log_set_prefix(int on)
{
	log_prefix = on;
}

static const char *const level_names[] = {
	[LM_LOG_ERR] = "error", [LM_LOG_WARNING] = "warning", [LM_LOG_NOTICE] = "notice",
	[LM_LOG_INFO] = "info", [LM_LOG_DEBUG] = "debug",
};

int lm_log_level_parse(const char *name)
{
	int i;

	for (i = LM_LOG_ERR; i <= LM_LOG_DEBUG; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	if (strcmp(name, "err") == 0)
		return LM_LOG_ERR;
	if (strcmp(name, "warn") == 0)
		return LM_LOG_WARNING;
	return -1;
}

const char *lm_log_level_name(int level)
{
	if (level < LM_LOG_ERR || level > LM_LOG_DEBUG)
		return "unknown";
	return level_names[level];
}

void lm_log(int level, const char *fmt, ...)
{
	char msg[2048], line[2048];
	size_t len = 0, mlen;
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	if (log_prefix)
		len = (size_t)snprintf(line, sizeof(line), "<%d>", level);
	else if (level <= LM_LOG_WARNING)
		len = (size_t)snprintf(line, sizeof(line), "%s: ", level_names[level]);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mlen = strlen(msg);
	/* Keep one message on one line: journald splits on newlines. */
	for (size_t i = 0; i < mlen; i++)
		if (msg[i] == '\n')
			msg[i] = ' ';
	/* Messages carry names a target chose (types, paths, process names):
	 * no control character or invalid UTF-8 reaches the log as is. */
	lm_escape(msg, mlen, line + len, sizeof(line) - len);
	len = strlen(line);
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to complain to. */
	}
	errno = saved;
}

int lm_ratelimit_ok(struct lm_ratelimit *rl, int64_t now_us, int64_t interval_s,
		    uint64_t *suppressed)
{
	if (rl->last_us && now_us - rl->last_us < interval_s * 1000000) {
		rl->suppressed++;
		return 0;
	}
	rl->last_us = now_us;
	if (suppressed)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}
