/* SPDX-License-Identifier: MIT */
/*
 * store_schema.h - the migrations embedded in the binary (private to
 * lib/store.c). lib/schema_sql.c is generated at build time from
 * schema/NNN_*.sql by lib/schema_embed.awk (rule in lib/local.am).
 */
#ifndef LM_STORE_SCHEMA_H
#define LM_STORE_SCHEMA_H

struct lm_schema_step {
	int version;		/* NNN of the file: user_version after it */
	const char *file;	/* "001_init.sql" */
	const char *sql;	/* the whole file */
};

extern const struct lm_schema_step lm_schema_steps[];
extern const unsigned lm_schema_nsteps;

#endif
