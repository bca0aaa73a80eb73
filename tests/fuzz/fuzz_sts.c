/*
 * fuzz_sts.c - libFuzzer target for the MTA-STS TXT and policy parsers:
 * the input is a policy file; split at NUL-free points it is also a set
 * of TXT records.  Parsed patterns must match themselves (the plain ones).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct sts_policy p;
	char why[256];
	char id[STS_ID_MAX + 1];
	const char *recs[4];
	size_t lens[4];
	const char *w;
	int n = 0;
	size_t start = 0;

	memcpy(copy, data, size);
	if (sts_policy_parse(copy, size, &p, why, sizeof(why)) == 0) {
		if (p.nmx > STS_MAX_MX || p.max_age < 0 || p.max_age > STS_MAX_AGE)
			abort();
		for (int i = 0; i < p.nmx; i++)
			if (p.mx[i][0] != '*' && !sts_pattern_match(p.mx[i], p.mx[i]))
				abort();
	}
	for (size_t i = 0; i <= size && n < 4; i++)
		if (i == size || copy[i] == '\n') {
			recs[n] = copy + start;
			lens[n] = i - start;
			n++;
			start = i + 1;
		}
	if (sts_txt_parse(recs, lens, n, id, &w) == 1) {
		size_t il = strlen(id);

		if (il < 1 || il > STS_ID_MAX)
			abort();
	}
	free(copy);
	return 0;
}
