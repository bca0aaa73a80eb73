/*
 * fuzz_stscache.c - libFuzzer target for the MTA-STS cache file format
 * (policy/stscache.c stscache_parse, stscache_format): any bytes parse or
 * are refused with a reason; what parses formats again and parses back to
 * the same entry (domain, id, times, failure, policy).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/stscache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sts_entry a, b;
	static char buf[1 << 17];
	char why[256];
	int n;

	memset(&a, 0, sizeof(a));
	if (stscache_parse((const char *) data, size, &a, why, sizeof(why)) < 0) {
		if (why[0] == 0)
			abort();		/* a refusal always says why */
		return 0;
	}
	if ((n = stscache_format(&a, buf, sizeof(buf))) < 0)
		return 0;			/* too large to write: never saved */
	memset(&b, 0, sizeof(b));
	if (stscache_parse(buf, (size_t) n, &b, why, sizeof(why)) < 0)
		abort();			/* we cannot read what we wrote */
	if (strcmp(a.domain, b.domain) != 0 || a.has_policy != b.has_policy
	    || strcmp(a.id, b.id) != 0 || a.fetched != b.fetched
	    || a.expires != b.expires || a.fail_until != b.fail_until
	    || a.fail_rtype != b.fail_rtype
	    || strcmp(a.fail_why, b.fail_why) != 0
	    || a.policy.mode != b.policy.mode || a.policy.max_age != b.policy.max_age
	    || a.policy.nmx != b.policy.nmx)
		abort();
	for (int i = 0; i < a.policy.nmx; i++)
		if (strcmp(a.policy.mx[i], b.policy.mx[i]) != 0)
			abort();
	return 0;
}
