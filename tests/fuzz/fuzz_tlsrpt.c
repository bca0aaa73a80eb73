/*
 * fuzz_tlsrpt.c - libFuzzer target for the TLSRPT record parser; the
 * input's lines are the TXT records.  Kept URIs must be mailto:/https:.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../report/tlsrpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	const char *recs[4];
	size_t lens[4], start = 0;
	int n = 0;
	struct tlsrpt_rec r;
	const char *why;

	memcpy(copy, data, size);
	for (size_t i = 0; i <= size && n < 4; i++)
		if (i == size || copy[i] == '\n') {
			recs[n] = copy + start;
			lens[n] = i - start;
			n++;
			start = i + 1;
		}
	if (tlsrpt_parse(recs, lens, n, &r, &why) == 1) {
		if (r.nrua < 1 || r.nrua > TLSRPT_MAX_RUA)
			abort();
		for (int i = 0; i < r.nrua; i++)
			if (strncasecmp(r.rua[i].uri, "mailto:", 7) != 0
			    && strncasecmp(r.rua[i].uri, "https://", 8) != 0)
				abort();
	}
	free(copy);
	return 0;
}
