/* SPDX-License-Identifier: MIT */
/*
 * fuzz_conf.c - libFuzzer harness: leakmond.conf (lib/conf.c) read from a
 * file, as leakmond --check-config and a SIGHUP reload read it (the input
 * is written to a memfd), then the lookups the daemon makes on it; the
 * value parsers on the input's first line too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lm_conf *conf = NULL;
	struct lm_err err = { 0 };
	char path[64], line[128], buf[64];
	uint64_t v;
	size_t i, n = 0;
	int fd;

	while (n < size && n + 1 < sizeof(line) && data[n] != '\n' && data[n] != '\0') {
		line[n] = (char)data[n];
		n++;
	}
	line[n] = '\0';
	if (lm_parse_duration_ms(line, &v) == 0)
		lm_format_duration(v, buf, sizeof(buf));
	(void)lm_parse_size(line, &v);
	lm_url_redact(line, buf, sizeof(buf));

	fd = fz_memfd("fuzz-conf", data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	if (lm_conf_load(path, &conf, &err) == 0) {
		for (i = 0; i < conf->ntargets; i++)
			(void)lm_conf_find_webhook(conf, conf->targets[i].name);
		(void)lm_conf_find_target(conf, "api");
		lm_conf_free(conf);
	}
	close(fd);
	return 0;
}
