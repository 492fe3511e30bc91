/* SPDX-License-Identifier: MIT */
/*
 * cmd_drill.c - the drill-down commands: `leakmon list`, `show`, `roots`,
 * `leaks`.
 *
 * Each opens one snapshot (lm_snapshot_open: the target is stopped only
 * while its memory is captured), answers from it, and prints either aligned
 * text or, with --json, one JSON object built from the same data. `roots`
 * and `leaks` build the reference graph (lib/refgraph.h); `list` and `show`
 * need only the sorted chunks.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census_json.h"
#include "cli.h"
#include "escape.h"
#include "ptrace.h"
#include "holders.h"
#include "refgraph.h"

#define DEFAULT_SHOW_BYTES 256
#define DEFAULT_ROOT_PATHS 3
#define MAX_ROOT_PATHS 1000
#define CLOSEST_TYPES 5

/* Options every drill command shares. */
struct drill_opts {
	const char *cmd;
	struct lm_snapshot_opts snap;
	int json;
	int max_pause_given;	/* else open_snapshot applies the default */
	int max_memory_given;	/* likewise */
};

enum { OPT_MODE = 0x100, OPT_NODEBUG, OPT_MAX_PAUSE, OPT_LIMIT, OPT_MIN, OPT_MAX, OPT_BYTES, OPT_PATHS,
       OPT_MAX_MEMORY, OPT_BAD };

/* The long options every command shares, and the table's end. */
#define COMMON_LONGOPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "mode", required_argument, NULL, OPT_MODE }, \
	{ "max-pause", required_argument, NULL, OPT_MAX_PAUSE }, \
	{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY }, \
	{ "no-debug-symbols", no_argument, NULL, OPT_NODEBUG }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }

static const char common_help[] =
	"  --json        one JSON object instead of text\n"
	"  --mode M      live: copy the heap while the target is stopped (default);\n"
	"                copy: analyse a frozen copy-on-write clone; auto: copy if large\n"
	LM_CLI_MAX_PAUSE_HELP
	LM_CLI_MAX_MEMORY_HELP
	"  --no-debug-symbols  ignore separate debug files (/usr/lib/debug)\n"
	"  -h, --help    this text\n";

static const char target_help[] =
	"TARGET is a process id or the path of a core file (gcore, systemd-coredump).\n"
	"See leakmon --help for exit codes.\n";

/* Handle an option every command shares: 1 handled, 0 not ours,
 * -LM_EINVAL a bad value (the usage error is printed). */
static int common_option(struct drill_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'j':
		o->json = 1;
		return 1;
	case OPT_MODE:
		if (lm_cli_parse_mode(arg, &o->snap.mode) < 0) {
			lm_cli_usage_error(o->cmd, "--mode is live, copy or auto, not '%s'", arg);
			return -LM_EINVAL;
		}
		return 1;
	case OPT_NODEBUG:
		o->snap.debug_root = "";
		return 1;
	case OPT_MAX_PAUSE:
		if (lm_cli_parse_max_pause(o->cmd, arg, &o->snap.max_pause_ns) < 0)
			return -LM_EINVAL;
		o->max_pause_given = 1;
		return 1;
	case OPT_MAX_MEMORY:
		if (lm_cli_parse_max_memory(o->cmd, arg, &o->snap.max_memory_bytes) < 0)
			return -LM_EINVAL;
		o->max_memory_given = 1;
		return 1;
	default:
		return 0;
	}
}

/* The next option that is the command's own (getopt_long's value), after
 * handling the shared ones: -1 at the end, OPT_BAD after a bad value of a
 * shared option (the usage error is printed). */
static int next_option(struct drill_opts *o, int argc, char **argv, const char *shortopts,
		       const struct option *longopts)
{
	int c, rc;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		rc = common_option(o, c, optarg);
		if (rc < 0)
			return OPT_BAD;
		if (rc == 0)
			return c;
	}
	return -1;
}

static int parse_u64(const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*arg || !isdigit((unsigned char)*arg))
		return -LM_EINVAL;
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end)
		return -LM_EINVAL;
	*out = v;
	return 0;
}

/* ADDR: hexadecimal, with or without 0x. */
static int parse_addr(const char *arg, uint64_t *out)
{
	const char *p = arg;
	char *end;
	unsigned long long v;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!*p || strlen(p) > 16)
		return -LM_EINVAL;
	for (end = (char *)p; *end; end++)
		if (!isxdigit((unsigned char)*end))
			return -LM_EINVAL;
	errno = 0;
	v = strtoull(p, &end, 16);
	if (errno || *end)
		return -LM_EINVAL;
	*out = v;
	return 0;
}

static int parse_target(struct drill_opts *o, const char *arg)
{
	if (lm_cli_parse_target(arg, &o->snap) < 0) {
		lm_cli_usage_error(o->cmd, "'%s' is neither a pid nor a file name", arg);
		return -LM_EINVAL;
	}
	return 0;
}

/* The "TARGET ADDR" operands that show and roots take, after the options. */
static int parse_target_and_addr(struct drill_opts *o, int argc, char **argv,
				 uint64_t *addr)
{
	if (optind + 2 != argc) {
		lm_cli_usage_error(o->cmd, "give a PID or core file, then an address");
		return -LM_EINVAL;
	}
	if (parse_target(o, argv[optind]) < 0)
		return -LM_EINVAL;
	if (parse_addr(argv[optind + 1], addr) < 0) {
		lm_cli_usage_error(o->cmd, "'%s' is not an address (hexadecimal, like 0x55d0c2a312a0)",
				   argv[optind + 1]);
		return -LM_EINVAL;
	}
	return 0;
}

static int open_snapshot(struct drill_opts *o, struct lm_snapshot **snap)
{
	struct lm_err err = { 0 };
	int rc;

	if (!o->max_pause_given)
		o->snap.max_pause_ns = LM_CLI_MAX_PAUSE_DEFAULT_MS * 1000000ULL;
	if (!o->max_memory_given)
		o->snap.max_memory_bytes = LM_CLI_MAX_MEMORY_DEFAULT;
	rc = lm_snapshot_open(&o->snap, snap, &err);
	if (rc < 0)
		lm_cli_error(&err);
	return rc;
}

/* Exit status after a result was printed: partial walks say so. */
static int finish(const struct lm_snapshot *snap)
{
	const struct lm_census *c = lm_snapshot_result(snap);

	if (c && c->warning)
		lm_cli_warning(c->warning);
	if (lm_snapshot_heap(snap)->partial || (c && c->partial))
		return LM_EXIT_PARTIAL;
	return LM_EXIT_OK;
}

static int print_json(json_t *o)
{
	int rc;

	if (!o) {
		fprintf(stderr, "leakmon: out of memory while printing\n");
		return -LM_ENOMEM;
	}
	rc = json_dumpf(o, stdout, JSON_COMPACT);
	json_decref(o);
	putchar('\n');
	return rc < 0 ? -LM_EIO : 0;
}

static json_t *json_addr(uint64_t a)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, a);
	return json_string(buf);
}

/* ---- types ---- */

static void json_set_type(json_t *o, const struct lm_type *t)
{
	json_object_set_new(o, "kind", t ? json_string(lm_kind_name(t->kind)) : json_null());
	json_object_set_new(o, "name", t ? lm_json_name(t->name) : json_null());
}

/* Levenshtein distance, bounded inputs (type names are short). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t *row;
	size_t d;

	if (la > 200)
		la = 200;
	if (lb > 200)
		lb = 200;
	row = malloc((lb + 1) * sizeof(*row));
	if (!row)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t sub = prev + (tolower((unsigned char)a[i - 1]) !=
					     tolower((unsigned char)b[j - 1]));
			size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			prev = cur;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

/* Type id's type, and how many types the snapshot's classifier knows. */
static const struct lm_type *snap_type(const struct lm_snapshot *snap, uint32_t id)
{
	return lm_classifier_type(lm_snapshot_classifier(snap), id);
}

static size_t snap_ntypes(const struct lm_snapshot *snap)
{
	return lm_classifier_ntypes(lm_snapshot_classifier(snap));
}

static void print_closest_types(const struct lm_snapshot *snap, const char *arg)
{
	size_t n = snap_ntypes(snap), i, k, best[CLOSEST_TYPES], nbest = 0;
	size_t dist[CLOSEST_TYPES];
	char label[512];

	for (i = 0; i < n; i++) {
		const struct lm_type *t = snap_type(snap, (uint32_t)i);
		size_t d1, d2, d;
		lm_holders_type_label(t, label, sizeof(label));
		d1 = edit_distance(arg, label);
		d2 = edit_distance(arg, t->name);
		d = d1 < d2 ? d1 : d2;
		if (strstr(t->name, arg) || strstr(arg, t->name))
			d = d > 2 ? d / 4 : 0;	/* substrings rank high */
		for (k = nbest; k > 0 && dist[k - 1] > d; k--)
			if (k < CLOSEST_TYPES) {
				dist[k] = dist[k - 1];
				best[k] = best[k - 1];
			}
		if (k < CLOSEST_TYPES) {
			dist[k] = d;
			best[k] = i;
			if (nbest < CLOSEST_TYPES)
				nbest++;
		}
	}
	fprintf(stderr, "leakmon list: no type '%s' in this heap", arg);
	if (nbest == 0) {
		fprintf(stderr, " (the heap has no allocations)\n");
		return;
	}
	fprintf(stderr, "; closest:");
	for (k = 0; k < nbest; k++) {
		lm_holders_type_label(snap_type(snap, (uint32_t)best[k]), label, sizeof(label));
		fprintf(stderr, "%s '%s'", k ? "," : "", label);
	}
	fprintf(stderr, " (leakmon stat lists them all)\n");
}

/* Is this the type's name, raw or as printed (escaped, see escape.h)? */
static int name_matches(const char *type_name, const char *arg)
{
	char shown[1024];

	if (!strcmp(type_name, arg))
		return 1;
	return lm_escape(type_name, strlen(type_name), shown, sizeof(shown)) < sizeof(shown) &&
	       !strcmp(shown, arg);
}

/* TYPE: "kind:name", "class Foo" as stat prints it, or a bare name.
 * Returns the type id, or -LM_ENOTFOUND / -LM_EINVAL (message printed). */
static int64_t resolve_type(const struct lm_snapshot *snap, const char *arg)
{
	size_t n = snap_ntypes(snap), i, nmatch = 0;
	const char *colon = strchr(arg, ':'), *space = strchr(arg, ' ');
	int kind = -1;
	const char *name = arg;
	int64_t found = -1;
	char kbuf[32], shown[1024];

	/* kind:name (but "ns::Foo" is a name) */
	if (colon && colon[1] != ':' && (size_t)(colon - arg) < sizeof(kbuf)) {
		memcpy(kbuf, arg, (size_t)(colon - arg));
		kbuf[colon - arg] = '\0';
		kind = lm_kind_parse(kbuf);
		if (kind >= 0)
			name = colon + 1;
	}
	if (kind < 0 && space && (size_t)(space - arg) < sizeof(kbuf)) {
		memcpy(kbuf, arg, (size_t)(space - arg));
		kbuf[space - arg] = '\0';
		kind = lm_kind_parse(kbuf);
		if (kind == LM_KIND_CLASS || kind == LM_KIND_SYMBOL || kind == LM_KIND_INTERNAL ||
		    kind == LM_KIND_PYTHON)
			name = space + 1;
		else
			kind = -1;
	}
	for (i = 0; i < n; i++) {
		const struct lm_type *t = snap_type(snap, (uint32_t)i);
		if (!name_matches(t->name, name) || (kind >= 0 && t->kind != kind))
			continue;
		if (nmatch++ == 0)
			found = (int64_t)i;
	}
	if (nmatch == 1)
		return found;
	if (nmatch > 1) {
		fprintf(stderr, "leakmon list: '%s' names %zu types; say which with KIND:NAME:", arg,
			nmatch);
		for (i = 0; i < n; i++) {
			const struct lm_type *t = snap_type(snap, (uint32_t)i);
			if (name_matches(t->name, name))
				fprintf(stderr, " %s:%s", lm_kind_name(t->kind),
					lm_escape_str(t->name, shown, sizeof(shown)));
		}
		fprintf(stderr, "\n");
		return -LM_EINVAL;
	}
	print_closest_types(snap, arg);
	return -LM_ENOTFOUND;
}

/* ---- list ---- */

static void list_usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmon list [OPTIONS] --type TYPE TARGET\n\n"
		"The live allocations of one type, in address order: user address (hex) and\n"
		"usable size in bytes.\n\n"
		"  --type TYPE   a type as `leakmon stat` prints it ('string', 'size 72',\n"
		"                'class shop::Cart<int>', 'shop::Cart<int>') or KIND:NAME\n"
		"                (kinds: class, symbol, string, internal, size)\n"
		"  --limit N     print at most N allocations (default: all)\n"
		"  --min-size B  only allocations of at least B usable bytes\n"
		"  --max-size B  only allocations of at most B usable bytes\n%s\n%s",
		common_help, target_help);
}

static int list_print(const struct lm_snapshot *snap, uint32_t type, uint64_t limit,
		      uint64_t min, uint64_t max, int json)
{
	const struct lm_type *t = snap_type(snap, type);
	json_t *o = NULL, *arr = NULL;
	uint64_t count = 0, bytes = 0, usable = 0, shown = 0;
	char label[512];
	size_t i;

	lm_holders_type_label(t, label, sizeof(label));
	if (json) {
		o = json_object();
		arr = json_array();
		if (!o || !arr) {
			json_decref(o);
			json_decref(arr);
			return print_json(NULL);
		}
	} else {
		printf("%-18s  %12s\n", "address", "usable");
	}
	for (i = 0; i < lm_snapshot_nchunks(snap); i++) {
		struct lm_chunk cbuf;
		const struct lm_chunk *c;
		if (!lm_chunk_is_live(lm_snapshot_chunk_state(snap, i)) ||
		    lm_snapshot_chunk_type(snap, i) != type)
			continue;
		c = lm_snapshot_chunk(snap, i, &cbuf);
		if (c->usable < min || c->usable > max)
			continue;
		count++;
		bytes += c->size;
		usable += c->usable;
		if (limit && shown >= limit)
			continue;
		shown++;
		if (json) {
			json_t *a = json_object();
			json_object_set_new(a, "address", json_addr(lm_chunk_user(c)));
			json_object_set_new(a, "usable", json_integer((json_int_t)c->usable));
			json_object_set_new(a, "size", json_integer((json_int_t)c->size));
			json_array_append_new(arr, a);
		} else {
			printf("0x%-16" PRIx64 "  %12" PRIu64 "\n", lm_chunk_user(c), c->usable);
		}
	}
	if (json) {
		json_t *ty = json_object();
		json_set_type(ty, t);
		json_object_set_new(o, "type", ty);
		json_object_set_new(o, "count", json_integer((json_int_t)count));
		json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
		json_object_set_new(o, "usable_bytes", json_integer((json_int_t)usable));
		json_object_set_new(o, "shown", json_integer((json_int_t)shown));
		json_object_set_new(o, "allocations", arr);
		return print_json(o);
	}
	printf(" %" PRIu64 " allocation%s of %s", count, count == 1 ? "" : "s", label);
	if (shown < count)
		printf(" (%" PRIu64 " shown; --limit)", shown);
	printf(": %" PRIu64 " usable bytes, %" PRIu64 " bytes in chunks\n", usable, bytes);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "min-size", required_argument, NULL, OPT_MIN },
		{ "max-size", required_argument, NULL, OPT_MAX },
		COMMON_LONGOPTS,
	};
	struct drill_opts o = { .cmd = "list", .snap = { .mode = LM_MODE_LIVE } };
	uint64_t limit = 0, min = 0, max = UINT64_MAX;
	const char *type = NULL;
	struct lm_snapshot *snap = NULL;
	int64_t tid;
	int c, rc;

	while ((c = next_option(&o, argc, argv, "jt:h", longopts)) != -1) {
		switch (c) {
		case OPT_BAD: return LM_EXIT_USAGE;
		case 't': type = optarg; break;
		case OPT_LIMIT:
		case OPT_MIN:
		case OPT_MAX: {
			uint64_t v;
			if (parse_u64(optarg, &v) < 0) {
				lm_cli_usage_error("list", "%s wants a number of %s, not '%s'",
						   c == OPT_LIMIT ? "--limit" : c == OPT_MIN ?
						   "--min-size" : "--max-size",
						   c == OPT_LIMIT ? "lines" : "bytes", optarg);
				return LM_EXIT_USAGE;
			}
			*(c == OPT_LIMIT ? &limit : c == OPT_MIN ? &min : &max) = v;
			break;
		}
		case 'h': list_usage(stdout); return LM_EXIT_OK;
		default: list_usage(stderr); return LM_EXIT_USAGE;
		}
	}
	if (!type || !*type) {
		lm_cli_usage_error("list", "--type TYPE is required");
		return LM_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		lm_cli_usage_error("list", "give exactly one PID or core file");
		return LM_EXIT_USAGE;
	}
	if (parse_target(&o, argv[optind]) < 0)
		return LM_EXIT_USAGE;
	rc = lm_exit_code(open_snapshot(&o, &snap));
	if (rc)
		return rc;
	tid = resolve_type(snap, type);
	if (tid < 0) {
		rc = lm_exit_code((int)tid);
	} else if (list_print(snap, (uint32_t)tid, limit, min, max, o.json) < 0) {
		rc = LM_EXIT_FAILURE;
	} else {
		rc = finish(snap);
	}
	lm_snapshot_close(snap);
	return rc;
}

/* ---- show ---- */

static void show_usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmon show [OPTIONS] TARGET ADDR\n\n"
		"The allocation that contains ADDR (hexadecimal, any address inside it): its\n"
		"start, chunk and usable size, type, state (in use, or free and on which list),\n"
		"a hex + ASCII dump of its first bytes, and its outgoing references: every\n"
		"aligned word that points into another allocation or to a symbol.\n\n"
		"  --bytes N     dump the first N bytes (default %d; 0 = none)\n%s\n%s",
		DEFAULT_SHOW_BYTES, common_help, target_help);
}

static const char *state_text(int st)
{
	switch (st) {
	case LM_CHUNK_INUSE: return "in use";
	case LM_CHUNK_MMAPPED: return "in use (mmapped)";
	case LM_CHUNK_TCACHE_STRUCT: return "in use (malloc's own tcache)";
	case LM_CHUNK_PYBLOCK: return "in use (a CPython pymalloc block)";
	default: return "free";
	}
}

/* Where a chunk-less address is, for the error message. */
static void describe_outside(const struct lm_snapshot *snap, uint64_t addr, char *buf,
			     size_t len)
{
	ptrdiff_t i = lm_snapshot_find_chunk(snap, addr);
	const struct lm_symbol *s;
	const struct lm_mapping *m;

	if (i >= 0 && lm_snapshot_chunk_state(snap, (size_t)i) == LM_CHUNK_TOP) {
		snprintf(buf, len, "it is in an arena's top chunk (memory malloc has not handed out)");
		return;
	}
	if (i >= 0) {
		snprintf(buf, len, "it is in malloc's own %s", lm_chunk_state_name(lm_snapshot_chunk_state(snap, (size_t)i)));
		return;
	}
	s = lm_symtab_lookup(lm_snapshot_symtab(snap), addr);
	if (s && s->name && s->name[0]) {
		const struct lm_module *mod =
			lm_symtab_module_at(lm_snapshot_symtab(snap), s->module);
		snprintf(buf, len, "it is %s!%s+0x%" PRIx64, mod ? mod->name : "?", s->name,
			 addr - s->addr);
		return;
	}
	m = lm_maps_find(&lm_snapshot_source(snap)->maps, addr);
	if (m)
		snprintf(buf, len, "it is in the mapping %s 0x%" PRIx64 "-0x%" PRIx64,
			 m->path ? m->path : "(anonymous)", m->start, m->end);
	else
		snprintf(buf, len, "no mapping contains it");
}

/* The chunk holding addr (header included), or -LM_ENOTFOUND (said on
 * stderr). */
static int find_allocation(const struct lm_snapshot *snap, const char *cmd, uint64_t addr,
			   size_t *out)
{
	ptrdiff_t i = lm_snapshot_find_chunk(snap, addr);
	char why[256], shown[1024];

	if (i >= 0 && lm_snapshot_chunk_state(snap, (size_t)i) != LM_CHUNK_TOP &&
	    lm_snapshot_chunk_state(snap, (size_t)i) != LM_CHUNK_FENCEPOST) {
		*out = (size_t)i;
		return 0;
	}
	describe_outside(snap, addr, why, sizeof(why));
	lm_escape_str(why, shown, sizeof(shown));	/* symbol and mapping names */
	fprintf(stderr, "leakmon %s: 0x%" PRIx64 " is not inside any heap allocation: %s\n",
		cmd, addr, shown);
	return -LM_ENOTFOUND;
}

/* What show and roots do after their options: read the TARGET ADDR
 * operands, open the snapshot and find the allocation at ADDR. An exit
 * code; *snap is left for the caller to close (NULL if never opened). */
static int open_at_address(struct drill_opts *o, int argc, char **argv,
			   struct lm_snapshot **snap, uint64_t *addr, size_t *idx)
{
	int rc;

	if (parse_target_and_addr(o, argc, argv, addr) < 0)
		return LM_EXIT_USAGE;
	rc = lm_exit_code(open_snapshot(o, snap));
	if (rc)
		return rc;
	return lm_exit_code(find_allocation(*snap, o->cmd, *addr, idx));
}

static void hexdump(const uint8_t *p, size_t n, uint64_t addr)
{
	size_t i, j;

	for (i = 0; i < n; i += 16) {
		printf("  0x%-14" PRIx64 " ", addr + i);
		for (j = 0; j < 16; j++) {
			if (i + j < n)
				printf(" %02x", p[i + j]);
			else
				printf("   ");
		}
		printf("  |");
		for (j = 0; j < 16 && i + j < n; j++)
			putchar(isprint(p[i + j]) ? p[i + j] : '.');
		printf("|\n");
	}
}

/* Outgoing references of chunk i: to other chunks or to symbols. */
static json_t *show_references(const struct lm_snapshot *snap, size_t i, int json)
{
	struct lm_chunk cbuf, tbuf;
	const struct lm_chunk *c = lm_snapshot_chunk(snap, i, &cbuf);
	/* an allocation's words: its usable size (into the next chunk's
	 * prev_size field); free memory's: up to that field; a pymalloc
	 * block's: all of it */
	uint64_t span = lm_chunk_readable(c);
	size_t nwords = (size_t)(span / 8), k, n = 0;
	const uint8_t *p = lm_mem_view(lm_snapshot_source(snap), lm_chunk_user(c), nwords * 8);
	json_t *arr = json ? json_array() : NULL;
	char label[512], sym[512];

	if (!json)
		printf("references:\n");
	for (k = 0; p && k < nwords; k++) {
		uint64_t v;
		ptrdiff_t t;
		const struct lm_symbol *s;
		json_t *r;

		memcpy(&v, p + k * 8, 8);
		if (v < 4096)
			continue;
		t = lm_snapshot_find_chunk(snap, v);
		s = NULL;
		if (t >= 0 && (size_t)t != i &&
		    v >= lm_chunk_user_at(lm_snapshot_chunk_addr(snap, (size_t)t),
					  lm_snapshot_chunk_state(snap, (size_t)t)) &&
		    lm_snapshot_chunk_state(snap, (size_t)t) != LM_CHUNK_TOP &&
		    lm_snapshot_chunk_state(snap, (size_t)t) != LM_CHUNK_FENCEPOST) {
			const struct lm_chunk *tc = lm_snapshot_chunk(snap, (size_t)t, &tbuf);
			const struct lm_type *ty = lm_holders_chunk_type(snap, (size_t)t);
			n++;
			if (!json) {
				lm_holders_type_label(ty, label, sizeof(label));
				printf("  +0x%-6zx 0x%-14" PRIx64 " -> 0x%" PRIx64 "%s  %s%s%s\n", k * 8, v,
				       lm_chunk_user(tc), v == lm_chunk_user(tc) ? "" : " (interior)",
				       lm_chunk_is_live(tc->state) ? label : "free chunk: ",
				       lm_chunk_is_live(tc->state) ? "" : lm_chunk_state_name(tc->state),
				       lm_chunk_is_live(tc->state) ? "" : " (dangling?)");
				continue;
			}
			r = json_object();
			json_object_set_new(r, "offset", json_integer((json_int_t)(k * 8)));
			json_object_set_new(r, "value", json_addr(v));
			json_object_set_new(r, "address", json_addr(lm_chunk_user(tc)));
			json_set_type(r, ty);
			json_object_set_new(r, "state", json_string(lm_chunk_is_live(tc->state) ?
					    "in use" : "free"));
			json_array_append_new(arr, r);
			continue;
		}
		if (t >= 0)
			continue;
		s = lm_symtab_lookup(lm_snapshot_symtab(snap), v);
		if (!s || !s->name || !s->name[0])
			continue;
		{
			const struct lm_module *mod =
				lm_symtab_module_at(lm_snapshot_symtab(snap), s->module);
			if (v == s->addr)
				snprintf(sym, sizeof(sym), "%s!%s", mod ? mod->name : "?", s->name);
			else
				snprintf(sym, sizeof(sym), "%s!%s+0x%" PRIx64, mod ? mod->name : "?",
					 s->name, v - s->addr);
		}
		n++;
		if (!json) {
			printf("  +0x%-6zx 0x%-14" PRIx64 " -> %s\n", k * 8, v,
			       lm_escape_str(sym, label, sizeof(label)));
			continue;
		}
		r = json_object();
		json_object_set_new(r, "offset", json_integer((json_int_t)(k * 8)));
		json_object_set_new(r, "value", json_addr(v));
		json_object_set_new(r, "symbol", lm_json_name(sym));
		json_array_append_new(arr, r);
	}
	if (!json && n == 0)
		printf("  (none)\n");
	return arr;
}

/* A Python str's text, cut at len - 1 bytes ("..." appended when cut). */
static int py_str_text(const struct lm_snapshot *snap, const struct lm_type *t, uint64_t user,
		       uint64_t usable, char *buf, size_t len)
{
	struct lm_python *py = lm_classifier_python(lm_snapshot_classifier(snap));
	uint64_t obj, type;
	int cut;

	if (!py || !t || t->kind != LM_KIND_PYTHON || strcmp(t->name, "str") != 0 || len < 8 ||
	    !lm_python_object_at(py, user, usable, &obj, &type) ||
	    lm_python_str_text(py, obj, buf, len - 3, &cut) < 0)
		return 0;
	if (cut)
		strcat(buf, "...");
	return 1;
}

static int show_print(const struct lm_snapshot *snap, size_t i, uint64_t addr, uint64_t nbytes,
		      int json)
{
	struct lm_chunk cbuf;
	const struct lm_chunk *c = lm_snapshot_chunk(snap, i, &cbuf);
	const struct lm_type *t = lm_holders_chunk_type(snap, i);
	int live = lm_chunk_is_live(c->state);
	uint64_t dump = nbytes < c->usable ? nbytes : c->usable, user = lm_chunk_user(c);
	const uint8_t *p;
	char label[512], text[LM_PY_NAME_MAX + 1];
	int has_text = live && py_str_text(snap, t, user, c->usable, text, sizeof(text));

	/* the dump never runs past the chunk: an allocation's usable bytes
	 * reach into the next chunk's prev_size field, free memory's do not
	 * (a pymalloc block has no header: all of it) */
	if (dump > lm_chunk_readable(c))
		dump = lm_chunk_readable(c);
	p = lm_mem_view(lm_snapshot_source(snap), user, (size_t)dump);
	if (json) {
		json_t *o = json_object(), *d = json_object();
		char *hex = malloc(dump * 2 + 1);
		uint64_t k;

		json_object_set_new(o, "address", json_addr(user));
		json_object_set_new(o, "query", json_addr(addr));
		json_object_set_new(o, "offset", json_integer((json_int_t)(addr - user)));
		if (has_text)
			json_object_set_new(o, "text", lm_json_name(text));
		json_object_set_new(o, "chunk", json_addr(c->addr));
		json_object_set_new(o, "chunk_size", json_integer((json_int_t)c->size));
		json_object_set_new(o, "usable", json_integer((json_int_t)c->usable));
		json_set_type(o, live ? t : NULL);
		json_object_set_new(o, "state", json_string(live ? "in use" : "free"));
		json_object_set_new(o, "list", live ? json_null() :
				    json_string(lm_chunk_state_name(c->state)));
		json_object_set_new(o, "mmapped", json_boolean(c->state == LM_CHUNK_MMAPPED));
		json_object_set_new(o, "arena", c->arena == 0xffff ? json_null() :
				    json_integer(c->arena));
		if (hex && p) {
			for (k = 0; k < dump; k++)
				snprintf(hex + k * 2, 3, "%02x", p[k]);
			hex[dump * 2] = '\0';
		}
		json_object_set_new(d, "length", json_integer(p ? (json_int_t)dump : 0));
		json_object_set_new(d, "hex", json_string(hex && p ? hex : ""));
		free(hex);
		json_object_set_new(o, "dump", d);
		json_object_set_new(o, "references", show_references(snap, i, 1));
		return print_json(o);
	}
	lm_holders_type_label(live ? t : NULL, label, sizeof(label));
	printf("allocation 0x%" PRIx64, user);
	if (addr != user)
		printf(" (ADDR 0x%" PRIx64 " is at offset %" PRId64 ")", addr,
		       (int64_t)(addr - user));
	printf("\n  chunk      0x%" PRIx64 ", %" PRIu64 " bytes\n", c->addr, c->size);
	printf("  usable     %" PRIu64 " bytes\n", c->usable);
	printf("  type       %s\n", live ? label : "- (free memory)");
	if (has_text) {
		char shown[4 * LM_PY_NAME_MAX + 8];
		printf("  text       \"%s\"\n", lm_escape_str(text, shown, sizeof(shown)));
	}
	if (live)
		printf("  state      %s\n", state_text(c->state));
	else
		printf("  state      free, on the %s list\n", lm_chunk_state_name(c->state));
	if (c->arena != 0xffff)
		printf("  arena      %u%s\n", c->arena, c->arena == 0 ? " (main_arena)" : "");
	if (dump) {
		printf("first %" PRIu64 " bytes:\n", dump);
		if (p)
			hexdump(p, (size_t)dump, user);
		else
			printf("  (not captured)\n");
	}
	show_references(snap, i, 0);
	return 0;
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bytes", required_argument, NULL, OPT_BYTES },
		COMMON_LONGOPTS,
	};
	struct drill_opts o = { .cmd = "show", .snap = { .mode = LM_MODE_LIVE } };
	uint64_t nbytes = DEFAULT_SHOW_BYTES, addr;
	struct lm_snapshot *snap = NULL;
	size_t idx = 0;
	int c, rc;

	while ((c = next_option(&o, argc, argv, "jh", longopts)) != -1) {
		switch (c) {
		case OPT_BAD: return LM_EXIT_USAGE;
		case OPT_BYTES:
			if (parse_u64(optarg, &nbytes) < 0) {
				lm_cli_usage_error("show", "--bytes wants a number, not '%s'", optarg);
				return LM_EXIT_USAGE;
			}
			break;
		case 'h': show_usage(stdout); return LM_EXIT_OK;
		default: show_usage(stderr); return LM_EXIT_USAGE;
		}
	}
	rc = open_at_address(&o, argc, argv, &snap, &addr, &idx);
	if (rc == 0)
		rc = show_print(snap, idx, addr, nbytes, o.json) < 0 ? LM_EXIT_FAILURE : finish(snap);
	lm_snapshot_close(snap);
	return rc;
}

/* ---- roots ---- */

static void roots_usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmon roots [OPTIONS] TARGET ADDR\n\n"
		"Up to N shortest chains of references from a root to the allocation that\n"
		"contains ADDR (hexadecimal). Roots are named: a global as\n"
		"'module!symbol+off (.bss)', a stack slot as 'thread TID frame #k function+off',\n"
		"a register as 'thread TID register', other writable memory by its mapping.\n"
		"Each step shows the allocation's address and type and the offset, inside it,\n"
		"of the pointer to the next step. Without a chain, the allocation is leaked:\n"
		"direct (no other allocation points to it) or indirect.\n\n"
		"  --max N       at most N chains (default %d)\n%s\n%s",
		DEFAULT_ROOT_PATHS, common_help, target_help);
}

/* Root names, modules, symbols, functions: the target's, escaped. */
static json_t *json_str_or_null(const char *s)
{
	return s && *s ? lm_json_name(s) : json_null();
}

static const char *leak_word(int st)
{
	switch (st) {
	case LM_LEAK_DIRECT: return "direct";
	case LM_LEAK_INDIRECT: return "indirect";
	case LM_LEAK_INTERNAL: return "internal";
	default: return NULL;
	}
}

static int roots_json(const struct lm_snapshot *snap, const struct lm_root_paths *r,
		      uint64_t addr, uint64_t graph_ns)
{
	json_t *o = json_object(), *paths = json_array();
	size_t p, k;

	json_object_set_new(o, "address",
			    json_addr(lm_chunk_user_at(lm_snapshot_chunk_addr(snap, r->target),
						       lm_snapshot_chunk_state(snap, r->target))));
	json_object_set_new(o, "query", json_addr(addr));
	json_set_type(o, lm_holders_chunk_type(snap, r->target));
	json_object_set_new(o, "reachable", json_boolean(r->reachable));
	json_object_set_new(o, "leak", json_str_or_null(r->reachable ? NULL : leak_word(r->leak_state)));
	for (p = 0; p < r->npaths; p++) {
		const struct lm_path *path = &r->paths[p];
		const struct lm_root *rt = &path->root;
		json_t *jp = json_object(), *root = json_object(), *steps = json_array();

		json_object_set_new(root, "kind", json_string(lm_root_kind_name(rt->kind)));
		json_object_set_new(root, "name", lm_json_name(rt->name));
		json_object_set_new(root, "module", json_str_or_null(rt->module));
		json_object_set_new(root, "symbol", json_str_or_null(rt->symbol));
		json_object_set_new(root, "section", json_str_or_null(rt->section));
		json_object_set_new(root, "thread", rt->tid ? json_integer(rt->tid) : json_null());
		json_object_set_new(root, "frame", rt->kind == LM_ROOT_STACK && rt->frame >= 0 ?
				    json_integer(rt->frame) : json_null());
		json_object_set_new(root, "function", json_str_or_null(rt->function));
		json_object_set_new(root, "register", json_str_or_null(rt->reg));
		json_object_set_new(root, "slot", rt->kind == LM_ROOT_REGISTER ? json_null() :
				    json_addr(rt->slot));
		for (k = 0; k < path->nsteps; k++) {
			json_t *s = json_object();
			json_object_set_new(s, "address", json_addr(path->steps[k].addr));
			json_set_type(s, lm_holders_chunk_type(snap, path->steps[k].chunk));
			json_object_set_new(s, "offset", json_integer((json_int_t)path->steps[k].offset));
			json_array_append_new(steps, s);
		}
		json_object_set_new(jp, "root", root);
		json_object_set_new(jp, "steps", steps);
		json_array_append_new(paths, jp);
	}
	json_object_set_new(o, "paths", paths);
	json_object_set_new(o, "graph_us", json_integer((json_int_t)(graph_ns / 1000)));
	return print_json(o);
}

static void roots_text(const struct lm_snapshot *snap, const struct lm_root_paths *r)
{
	struct lm_chunk tbuf;
	const struct lm_chunk *tc = lm_snapshot_chunk(snap, r->target, &tbuf);
	char label[512];
	size_t p, k;

	lm_holders_type_label(lm_holders_chunk_type(snap, r->target), label, sizeof(label));
	printf("0x%" PRIx64 " (%s, %" PRIu64 " bytes) ", lm_chunk_user(tc), label, tc->usable);
	if (r->leak_state == LM_LEAK_INTERNAL) {
		printf("is malloc's own tcache: its thread's `tcache` variable holds it\n");
		return;
	}
	if (!r->reachable) {
		printf("is unreachable: leaked (%s: %s)\n", leak_word(r->leak_state),
		       r->leak_state == LM_LEAK_DIRECT ? "no other allocation points to it" :
		       "only other leaked allocations point to it");
		return;
	}
	printf("is reachable; %zu shortest chain%s:\n", r->npaths, r->npaths == 1 ? "" : "s");
	for (p = 0; p < r->npaths; p++) {
		const struct lm_path *path = &r->paths[p];
		printf("#%zu  %-8s %s\n", p + 1, lm_root_kind_name(path->root.kind),
		       lm_escape_str(path->root.name, label, sizeof(label)));
		for (k = 0; k < path->nsteps; k++) {
			const struct lm_path_step *s = &path->steps[k];
			lm_holders_type_label(lm_holders_chunk_type(snap, s->chunk), label, sizeof(label));
			if (k + 1 < path->nsteps)
				printf("      -> 0x%-14" PRIx64 " %-32s +0x%" PRIx64 "\n", s->addr,
				       label, s->offset);
			else
				printf("      -> 0x%-14" PRIx64 " %-32s (target%s)\n", s->addr, label,
				       s->offset ? ", pointed at inside" : "");
		}
	}
}

int cmd_roots(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max", required_argument, NULL, OPT_PATHS },
		COMMON_LONGOPTS,
	};
	struct drill_opts o = { .cmd = "roots", .snap = { .mode = LM_MODE_LIVE } };
	uint64_t max = DEFAULT_ROOT_PATHS, addr;
	struct lm_snapshot *snap = NULL;
	struct lm_refgraph *g = NULL;
	struct lm_root_paths *res = NULL;
	struct lm_err err = { 0 };
	size_t idx;
	int c, rc;

	while ((c = next_option(&o, argc, argv, "jh", longopts)) != -1) {
		switch (c) {
		case OPT_BAD: return LM_EXIT_USAGE;
		case OPT_PATHS:
			if (parse_u64(optarg, &max) < 0 || max == 0 || max > MAX_ROOT_PATHS) {
				lm_cli_usage_error("roots", "--max wants a number from 1 to %d, not '%s'",
						   MAX_ROOT_PATHS, optarg);
				return LM_EXIT_USAGE;
			}
			break;
		case 'h': roots_usage(stdout); return LM_EXIT_OK;
		default: roots_usage(stderr); return LM_EXIT_USAGE;
		}
	}
	rc = open_at_address(&o, argc, argv, &snap, &addr, &idx);
	if (rc == 0 && !lm_chunk_is_live(lm_snapshot_chunk_state(snap, (size_t)idx))) {
		fprintf(stderr, "leakmon roots: 0x%" PRIx64 " is in a free chunk (on the %s list): "
			"free memory has no roots\n", addr, lm_chunk_state_name(lm_snapshot_chunk_state(snap, (size_t)idx)));
		rc = LM_EXIT_NOTFOUND;
	}
	if (rc == 0) {
		uint64_t t0 = lm_now_ns();
		rc = lm_refgraph_new(snap, &g, &err);
		if (rc == 0)
			rc = lm_refgraph_roots(g, idx, (size_t)max, &res, &err);
		if (rc == 0)	/* a frozen copy read on demand may have died */
			rc = lm_memsrc_check(lm_snapshot_source(snap), &err);
		t0 = lm_now_ns() - t0;
		if (rc < 0) {
			lm_cli_error(&err);
			rc = lm_exit_code(rc);
		} else if (o.json) {
			rc = roots_json(snap, res, addr, t0) < 0 ? LM_EXIT_FAILURE : finish(snap);
		} else {
			roots_text(snap, res);
			rc = finish(snap);
		}
	}
	lm_root_paths_free(res);
	lm_refgraph_free(g);
	lm_snapshot_close(snap);
	return rc;
}

/* ---- leaks ---- */

static void leaks_usage(FILE *out)
{
	fprintf(out,
		"Usage: leakmon leaks [OPTIONS] TARGET\n\n"
		"The live allocations that no chain of references from a root (registers and\n"
		"stacks of every thread, writable data of every module, other writable memory\n"
		"that is not malloc's) reaches, grouped by type. Like valgrind's definitely\n"
		"and indirectly lost: 'direct' allocations are pointed to by no other leaked\n"
		"allocation, 'indirect' ones only by other leaked allocations. References are\n"
		"conservative (any aligned word pointing into an allocation), so a stale\n"
		"pointer can hide a leak, never invent one.\n\n%s\n%s",
		common_help, target_help);
}

static const struct lm_type *leak_type(const struct lm_snapshot *snap, uint32_t id)
{
	if (id == UINT32_MAX || id >= snap_ntypes(snap))
		return NULL;
	return snap_type(snap, id);
}

static int leaks_json(const struct lm_snapshot *snap, const struct lm_leaks *l, uint64_t graph_ns)
{
	json_t *o = json_object(), *types = json_array(), *tot = json_object();
	const struct lm_leak_totals *t = &l->totals;
	size_t i, k;

	for (i = 0; i < l->ntypes; i++) {
		const struct lm_leak_type *r = &l->types[i];
		json_t *jt = json_object(), *ex = json_array();
		json_set_type(jt, leak_type(snap, r->type));
		json_object_set_new(jt, "direct_count", json_integer((json_int_t)r->direct_count));
		json_object_set_new(jt, "direct_bytes", json_integer((json_int_t)r->direct_bytes));
		json_object_set_new(jt, "indirect_count", json_integer((json_int_t)r->indirect_count));
		json_object_set_new(jt, "indirect_bytes", json_integer((json_int_t)r->indirect_bytes));
		for (k = 0; k < r->nexamples; k++)
			json_array_append_new(ex, json_addr(r->examples[k]));
		json_object_set_new(jt, "examples", ex);
		json_array_append_new(types, jt);
	}
#define TOT(f) json_object_set_new(tot, #f, json_integer((json_int_t)t->f))
	TOT(direct_count); TOT(direct_bytes); TOT(indirect_count); TOT(indirect_bytes);
	TOT(reachable_count); TOT(reachable_bytes); TOT(live_count); TOT(live_bytes);
	TOT(internal_count); TOT(internal_bytes); TOT(root_bytes); TOT(scanned_bytes);
	TOT(unscanned_count);
#undef TOT
	json_object_set_new(o, "pid", json_integer(lm_snapshot_source(snap)->pid));
	json_object_set_new(o, "source", json_string(lm_snapshot_result(snap) ?
						     lm_snapshot_result(snap)->source : "?"));
	json_object_set_new(o, "graph_us", json_integer((json_int_t)(graph_ns / 1000)));
	json_object_set_new(o, "types", types);
	json_object_set_new(o, "totals", tot);
	return print_json(o);
}

static void leaks_text(const struct lm_snapshot *snap, const struct lm_leaks *l, uint64_t graph_ns)
{
	const struct lm_leak_totals *t = &l->totals;
	char label[512], b1[32], b2[32], b3[32];
	size_t i, k;

	printf("%8s  %12s  %8s  %12s  %-32s  %s\n", "direct", "bytes", "indirect", "bytes",
	       "type", "examples");
	for (i = 0; i < l->ntypes; i++) {
		const struct lm_leak_type *r = &l->types[i];
		lm_holders_type_label(leak_type(snap, r->type), label, sizeof(label));
		printf("%8" PRIu64 "  %12" PRIu64 "  %8" PRIu64 "  %12" PRIu64 "  %-32s ",
		       r->direct_count, r->direct_bytes, r->indirect_count, r->indirect_bytes, label);
		for (k = 0; k < r->nexamples && k < 3; k++)
			printf(" 0x%" PRIx64, r->examples[k]);
		printf("\n");
	}
	if (l->ntypes == 0)
		printf("%8s  %12s  %8s  %12s  (no leaks: every allocation is reachable)\n",
		       "-", "-", "-", "-");
	lm_format_bytes(t->direct_bytes, b1, sizeof(b1));
	lm_format_bytes(t->indirect_bytes, b2, sizeof(b2));
	lm_format_bytes(t->live_bytes, b3, sizeof(b3));
	printf(" totals: %" PRIu64 " direct (%s), %" PRIu64 " indirect (%s) of %" PRIu64
	       " live allocations (%s); %" PRIu64 " reachable\n", t->direct_count, b1,
	       t->indirect_count, b2, t->live_count, b3, t->reachable_count);
	lm_format_bytes(t->root_bytes, b1, sizeof(b1));
	lm_format_bytes(t->scanned_bytes, b2, sizeof(b2));
	printf(" scanned %s of roots and %s of allocations in %.1f ms\n", b1, b2,
	       graph_ns / 1e6);
	if (t->unscanned_count)
		printf(" note: %" PRIu64 " allocations were not captured and not scanned\n",
		       t->unscanned_count);
}

int cmd_leaks(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
	};
	struct drill_opts o = { .cmd = "leaks", .snap = { .mode = LM_MODE_LIVE } };
	struct lm_snapshot *snap = NULL;
	struct lm_refgraph *g = NULL;
	struct lm_leaks *l = NULL;
	struct lm_err err = { 0 };
	uint64_t t0;
	int c, rc;

	while ((c = next_option(&o, argc, argv, "jh", longopts)) != -1) {
		switch (c) {
		case OPT_BAD: return LM_EXIT_USAGE;
		case 'h': leaks_usage(stdout); return LM_EXIT_OK;
		default: leaks_usage(stderr); return LM_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		lm_cli_usage_error("leaks", "give exactly one PID or core file");
		return LM_EXIT_USAGE;
	}
	if (parse_target(&o, argv[optind]) < 0)
		return LM_EXIT_USAGE;
	rc = lm_exit_code(open_snapshot(&o, &snap));
	if (rc)
		return rc;
	t0 = lm_now_ns();
	rc = lm_refgraph_new(snap, &g, &err);
	if (rc == 0)
		rc = lm_refgraph_leaks(g, &l, &err);
	if (rc == 0)	/* a frozen copy read on demand may have died */
		rc = lm_memsrc_check(lm_snapshot_source(snap), &err);
	t0 = lm_now_ns() - t0;
	if (rc < 0) {
		lm_cli_error(&err);
		rc = lm_exit_code(rc);
	} else if (o.json) {
		rc = leaks_json(snap, l, t0) < 0 ? LM_EXIT_FAILURE : finish(snap);
	} else {
		leaks_text(snap, l, t0);
		rc = finish(snap);
	}
	lm_leaks_free(l);
	lm_refgraph_free(g);
	lm_snapshot_close(snap);
	return rc;
}
