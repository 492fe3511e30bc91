/* SPDX-License-Identifier: MIT */
/*
 * leakmon.c - the investigation CLI: `leakmon COMMAND [OPTIONS] TARGET`.
 *
 * A thin dispatcher: every command lives in its own cmd_*.c file and calls
 * into lib/ for the work.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
};

static const struct command commands[] = {
	{ "stat", cmd_stat, "stat [--json] [--top N] [--mode live|copy|auto] PID|COREFILE\n"
	  "        census of the heap per type (count, bytes), largest first" },
	{ "list", cmd_list, "list [--json] --type TYPE [--limit N] [--min-size B] [--max-size B] PID|COREFILE\n"
	  "        the allocations of one type: address and usable size" },
	{ "show", cmd_show, "show [--json] [--bytes N] PID|COREFILE ADDR\n"
	  "        the allocation containing ADDR: type, state, dump, references" },
	{ "roots", cmd_roots, "roots [--json] [--max N] PID|COREFILE ADDR\n"
	  "        shortest chains from a root (global, stack, register) to ADDR" },
	{ "leaks", cmd_leaks, "leaks [--json] PID|COREFILE\n"
	  "        allocations no root reaches, by type (direct / indirect)" },
	{ "trends", cmd_trends, "trends [--db FILE] [--target NAME] [--limit N] [--json]\n"
	  "        fastest-growing types per target, from leakmond's database" },
	{ "report", cmd_report, "report [--db FILE] [--target NAME] [--since DURATION] -o FILE.html\n"
	  "        the history as one self-contained HTML page with charts" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: leakmon COMMAND [OPTIONS] ...\n\n"
		"Inspect the glibc malloc heap of a live process (by PID) or of a core file,\n"
		"without debug symbols and without restarting it.\n\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  leakmon %s\n", commands[i].synopsis);
	fprintf(out, "\n`leakmon COMMAND --help` describes each command's options.\n\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  other failure\n"
		"  2  bad command line\n"
		"  3  no such process\n"
		"  4  permission denied (needs CAP_SYS_PTRACE; see kernel.yama.ptrace_scope)\n"
		"  5  not a glibc-malloc process (static binary, jemalloc, tcmalloc, ...)\n"
		"  6  unsupported glibc version\n"
		"  7  the process exited during the snapshot\n"
		"  8  corrupt heap, or a file that is not a valid core\n"
		"  9  address, type or object not found\n"
		" 10  a file could not be read or written\n"
		" 11  result printed but partial (a warning says what is missing)\n"
		" 12  abandoned: a thread did not stop within --max-pause (vfork, disk\n"
		"     sleep); every thread was let go, the target runs on\n"
		"\nSee leakmon(1).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return LM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return LM_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("leakmon %s\n", PACKAGE_VERSION);
		return LM_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "leakmon: unknown command '%s'; commands are stat, list, show, "
		"roots, leaks, trends, report (see leakmon --help)\n", argv[1]);
	return LM_EXIT_USAGE;
}
