/*
 * fuzz_config.c - libFuzzer target for the configuration parser.  On
 * success the printed configuration must parse back; on failure the
 * message must name the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c, c2;
	char err[512];

	cfg_defaults(&c);
	if (cfg_parse(&c, "fuzz.cf", (const char *) data, size, err, sizeof(err)) == 0) {
		char *out = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&out, &len);

		cfg_print(&c, fp);
		fclose(fp);
		cfg_defaults(&c2);
		if (cfg_parse(&c2, "printed", out, len, err, sizeof(err)) != 0)
			abort();		/* -n output must be valid input */
		if (c2.nlisten != c.nlisten || c2.max_sessions != c.max_sessions)
			abort();
		cfg_free(&c2);
		free(out);
	} else if (strncmp(err, "fuzz.cf", 7) != 0) {
		abort();
	}
	cfg_free(&c);
	return 0;
}
