/*
 * fuzz_stscache.c - libFuzzer target for the MTA-STS cache file format
 * (policy/stscache.c stscache_parse, stscache_format): any bytes parse or
 * are refused with a reason; what parses formats again and parses back to
 * the same entry (domain, id, times, failure, policy).  As a value of the
 * shared cache (stscache_shared_parse) merged into an entry holding an
 * enforce policy (sts_cache_merge): that policy is never dropped, and
 * nothing moves back in time.
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
	if (stscache_shared_parse(a.domain, (const char *) data, size, 1700000000, &b, why,
		sizeof(why)) == 0) {
		static struct sts_entry l;
		static const char pol[] = "version: STSv1\nmode: enforce\nmx: mx.example\n"
		    "max_age: 86400\n";
		struct sts_policy p;
		time_t f = 1700000000 - 3600, fu;

		memset(&l, 0, sizeof(l));
		memcpy(l.domain, a.domain, sizeof(l.domain));
		if (sts_policy_parse(pol, sizeof(pol) - 1, &p, why, sizeof(why)) < 0)
			abort();
		sts_cache_fetched(&l, "local", &p, f);
		fu = l.fail_until;
		(void) sts_cache_merge(&l, &b);
		if (!l.has_policy || l.fetched < f || l.fail_until < fu
		    || (l.fetched == f && strcmp(l.id, "local") != 0))
			abort();
	}
	return 0;
}
