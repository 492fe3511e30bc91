/* SPDX-License-Identifier: MIT */
/*
 * cmd_stat.c - `leakmon stat`: the census of a heap per type, the
 * `!dumpheap -stat` of a native process.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "census_json.h"
#include "cli.h"
#include "escape.h"

#define DEFAULT_TOP 30

static void stat_usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmon stat [--json] [--top N] [--mode live|copy|auto] [--max-pause D]\n"
		"                    [--max-memory S] PID|COREFILE\n\n"
		"Census of the glibc malloc heap of a live process or a core file: every live\n"
		"allocation gets a type (C++ class, typed object, string, or size class); types\n"
		"are listed by the bytes they hold, largest first.\n\n"
		"  --json        one JSON object with totals and every type\n"
		"  --top N       show the N largest types (default %d; 0 = all)\n"
		"  --mode M      live: copy the heap while the target is stopped (default);\n"
		"                copy: analyse a frozen copy-on-write clone (shortest pause);\n"
		"                auto: copy for large targets\n"
		LM_CLI_MAX_PAUSE_HELP
		LM_CLI_MAX_MEMORY_HELP
		"  --no-debug-symbols  ignore separate debug files (/usr/lib/debug)\n"
		"  -h, --help    this text\n\n"
		"count is the number of allocations, bytes the sum of their chunk sizes.\n"
		"See leakmon --help for exit codes.\n", DEFAULT_TOP);
}

/* "class shop::Cart<int>", "string", "size 72"; the name escaped (the
 * target chose it: no escape sequence reaches the terminal). */
static void type_label(const struct lm_type_stat *t, char *buf, size_t len)
{
	char name[1024];

	lm_escape_str(t->name, name, sizeof(name));
	if (t->kind == LM_KIND_STRING || t->kind == LM_KIND_SIZE)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s %s", lm_kind_name(t->kind), name);
}

static void print_table(const struct lm_census *c, size_t top)
{
	char label[1024], inuse[32], freeb[32], mm[32];
	size_t i, n = top && top < c->ntypes ? top : c->ntypes;

	printf("%10s  %12s  %s\n", "count", "bytes", "type");
	for (i = 0; i < n; i++) {
		type_label(&c->types[i], label, sizeof(label));
		printf("%10llu  %12llu  %s\n", (unsigned long long)c->types[i].count,
		       (unsigned long long)c->types[i].bytes, label);
	}
	if (n < c->ntypes)
		printf("%10s  %12s  (%zu more types; --top 0 shows all)\n", "...", "...",
		       c->ntypes - n);
	lm_format_bytes(c->totals.inuse_bytes, inuse, sizeof(inuse));
	lm_format_bytes(c->totals.free_bytes, freeb, sizeof(freeb));
	lm_format_bytes(c->totals.mmapped_bytes, mm, sizeof(mm));
	printf(" totals: %llu in use (%s), %llu free (%s), %llu mmapped (%s), %llu arena%s; ",
	       (unsigned long long)c->totals.inuse_count, inuse,
	       (unsigned long long)c->totals.free_count, freeb,
	       (unsigned long long)c->totals.mmapped_count, mm,
	       (unsigned long long)c->totals.arenas, c->totals.arenas == 1 ? "" : "s");
	if (c->totals.py_blocks) {
		char py[32];
		lm_format_bytes(c->totals.py_bytes, py, sizeof(py));
		printf("in use includes %llu CPython pymalloc blocks (%s); ",
		       (unsigned long long)c->totals.py_blocks, py);
	}
	if (!strcmp(c->source, "core"))
		printf("from a core file\n");
	else
		printf("target stopped %.1f ms (%s)\n", c->pause_us / 1000.0, c->source);
}

static int print_json(const struct lm_census *c)
{
	json_t *o = lm_census_to_json(c, 0);
	int rc;

	if (!o)
		return -LM_ENOMEM;
	rc = json_dumpf(o, stdout, JSON_COMPACT);
	json_decref(o);
	putchar('\n');
	return rc < 0 ? -LM_EIO : 0;
}

static int parse_count(const char *arg, size_t *out)
{
	char *end;
	long long v = strtoll(arg, &end, 10);

	if (*arg == '\0' || *end || v < 0)
		return -LM_EINVAL;
	*out = (size_t)v;
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "max-pause", required_argument, NULL, 'P' },
		{ "max-memory", required_argument, NULL, 'M' },
		{ "no-debug-symbols", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lm_snapshot_opts opts = {
		.mode = LM_MODE_LIVE,
		.max_pause_ns = LM_CLI_MAX_PAUSE_DEFAULT_MS * 1000000ULL,
		.max_memory_bytes = LM_CLI_MAX_MEMORY_DEFAULT,
	};
	struct lm_census *census = NULL;
	struct lm_err err = { 0 };
	size_t top = DEFAULT_TOP;
	int json = 0, c, rc;

	while ((c = getopt_long(argc, argv, "jt:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 't':
			if (parse_count(optarg, &top) < 0) {
				lm_cli_usage_error("stat", "--top wants a number >= 0, not '%s'", optarg);
				return LM_EXIT_USAGE;
			}
			break;
		case 'm':
			if (lm_cli_parse_mode(optarg, &opts.mode) < 0) {
				lm_cli_usage_error("stat", "--mode is live, copy or auto, not '%s'", optarg);
				return LM_EXIT_USAGE;
			}
			break;
		case 'D': opts.debug_root = ""; break;
		case 'P':
			if (lm_cli_parse_max_pause("stat", optarg, &opts.max_pause_ns) < 0)
				return LM_EXIT_USAGE;
			break;
		case 'M':
			if (lm_cli_parse_max_memory("stat", optarg, &opts.max_memory_bytes) < 0)
				return LM_EXIT_USAGE;
			break;
		case 'h': stat_usage(stdout); return LM_EXIT_OK;
		default: stat_usage(stderr); return LM_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		lm_cli_usage_error("stat", "give exactly one PID or core file");
		return LM_EXIT_USAGE;
	}
	if (lm_cli_parse_target(argv[optind], &opts) < 0) {
		lm_cli_usage_error("stat", "'%s' is neither a pid nor a file name", argv[optind]);
		return LM_EXIT_USAGE;
	}
	rc = lm_snapshot_census(&opts, &census, &err);
	if (rc < 0) {
		lm_cli_error(&err);
		return lm_exit_code(rc);
	}
	if (json ? print_json(census) < 0 : (print_table(census, top), 0)) {
		lm_census_free(census);
		fprintf(stderr, "leakmon: out of memory while printing the census\n");
		return LM_EXIT_FAILURE;
	}
	rc = LM_EXIT_OK;
	if (census->warning)
		lm_cli_warning(census->warning);
	if (census->partial)
		rc = LM_EXIT_PARTIAL;
	lm_census_free(census);
	return rc;
}
