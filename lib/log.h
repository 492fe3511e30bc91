/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's log lines on stderr.
 *
 * One line per message. When journald reads our stderr (JOURNAL_STREAM
 * names the same device:inode as fd 2) each line starts with the syslog
 * priority in angle brackets ("<4>"), which journald turns into the
 * message's priority; otherwise lines are plain, with the level spelled
 * out for warnings and errors. Safe to call from several threads: each line
 * is written with one write(2).
 */
#ifndef LM_LOG_H
#define LM_LOG_H

#include <stdint.h>

/* syslog(3) priorities. */
enum lm_log_level {
	LM_LOG_ERR = 3,
	LM_LOG_WARNING = 4,
	LM_LOG_NOTICE = 5,
	LM_LOG_INFO = 6,
	LM_LOG_DEBUG = 7,
};

/* Look at JOURNAL_STREAM and set the level (messages above it are dropped). */
void lm_log_init(int level);
void lm_log_set_level(int level);
int lm_log_get_level(void);
/* Force prefixes on (1) or off (0), for tests; lm_log_init decides otherwise. */
void lm_log_set_prefix(int on);

void lm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "debug", "info", "notice", "warning", "error" -> level; -1 if unknown. */
int lm_log_level_parse(const char *name);
const char *lm_log_level_name(int level);

/*
 * A rate limit for repeated messages: lm_ratelimit_ok() says yes at most
 * once per interval_s, and counts what it refused, so the next line can say
 * how many were suppressed (*suppressed is set and the counter reset).
 */
struct lm_ratelimit {
	int64_t last_us;
	uint64_t suppressed;
};
int lm_ratelimit_ok(struct lm_ratelimit *rl, int64_t now_us, int64_t interval_s,
		    uint64_t *suppressed);

#endif
