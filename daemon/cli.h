/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the leakmon command line: subcommands, shared option helpers and
 * exit codes.
 */
#ifndef LM_CLI_H
#define LM_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"
#include "snapshot.h"
#include "units.h"

/* Exit codes, documented in `leakmon --help` and leakmon(1). */
enum lm_exit {
	LM_EXIT_OK = 0,
	LM_EXIT_FAILURE = 1,	/* anything not listed below */
	LM_EXIT_USAGE = 2,	/* bad command line */
	LM_EXIT_NOPROC = 3,	/* no such process */
	LM_EXIT_PERM = 4,	/* permission denied (CAP_SYS_PTRACE, ptrace_scope) */
	LM_EXIT_NOTGLIBC = 5,	/* not a glibc-malloc process */
	LM_EXIT_VERSION = 6,	/* unsupported glibc version */
	LM_EXIT_EXITED = 7,	/* the process exited during the snapshot */
	LM_EXIT_CORRUPT = 8,	/* corrupt heap, or not a valid core file */
	LM_EXIT_NOTFOUND = 9,	/* address, type or object not found */
	LM_EXIT_IO = 10,	/* file could not be read or written */
	LM_EXIT_PARTIAL = 11,	/* result printed, but partial (see warning) */
	LM_EXIT_NOTSTOPPED = 12,	/* a thread did not stop within --max-pause: abandoned */
};

int lm_exit_code(int status);		/* LM_E* (either sign) -> enum lm_exit */
void lm_cli_error(const struct lm_err *err);	/* "leakmon: MESSAGE" on stderr */
void lm_cli_warning(const char *text);		/* "leakmon: warning: TEXT" on stderr */
void lm_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a TARGET argument: a pid (digits) or the path of a core file;
 * -LM_EINVAL if it is neither. */
int lm_cli_parse_target(const char *arg, struct lm_snapshot_opts *opts);
/* Parse --mode live|copy|auto; -LM_EINVAL for any other word. */
int lm_cli_parse_mode(const char *arg, int *mode);

/* --max-pause DURATION, for every command that stops a target: how long
 * the target may stay stopped (stopping it and copying its memory); 0 =
 * no limit. */
#define LM_CLI_MAX_PAUSE_DEFAULT_MS 1000
#define LM_CLI_MAX_PAUSE_HELP \
	"  --max-pause D how long the target may stay stopped, e.g. 250ms or 2s\n" \
	"                (default 1s; 0 = no limit): a thread that does not stop\n" \
	"                in time (vfork, disk sleep) or a longer copy abandons the\n" \
	"                snapshot and lets the target go\n"
/* Parse DURATION ("250ms", "2s", "0") into ns; on error print a usage
 * error for cmd and return -1. */
int lm_cli_parse_max_pause(const char *cmd, const char *arg, uint64_t *ns);

/* --max-memory SIZE, for every command that takes a snapshot: our memory
 * for it (lm_snapshot_opts.max_memory_bytes); 0 = no limit. */
#define LM_CLI_MAX_MEMORY_DEFAULT (256ULL << 20)
#define LM_CLI_MAX_MEMORY_HELP \
	"  --max-memory S  our memory for the snapshot, e.g. 512M or 2G (default\n" \
	"                256M; 0 = no limit): a live copy of the heap, or the chunks\n" \
	"                kept for the command, that would need more is refused;\n" \
	"                --mode copy reads the copy through a window of a quarter\n" \
	"                of it (at most 64M)\n"
/* Parse SIZE ("512M", "2G", "0") into bytes; on error print a usage error
 * for cmd and return -LM_EINVAL. */
int lm_cli_parse_max_memory(const char *cmd, const char *arg, uint64_t *bytes);

int cmd_stat(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_roots(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_trends(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
