/*
 * stscache_bench.c - MTA-STS policy lookups from the in-memory cache:
 * for N cached domains, the cost of what a session does per message
 * (find the entry, apply the cache rules for a TXT answer with the same
 * id, match the MX host against the patterns), against the same number
 * of lookups of domains with no policy, in the same run.
 *
 * Prints: bench sts: cached_lookups_per_sec=... nopolicy_lookups_per_sec=...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../policy/stscache.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	int ndomains = argc > 1 ? atoi(argv[1]) : 10000;
	long rounds = argc > 2 ? atol(argv[2]) : 5000000;
	struct sts_conf conf = {86400, 300, 60};
	struct sts_policy p;
	char why[128], name[64], err[256];
	const char *body = "version: STSv1\nmode: enforce\nmx: mx1.example.net\nmx: *.example.net\nmax_age: 604800\n";
	time_t t = 1700000000;
	double t0, t1, t2;
	long hits = 0, misses = 0;

	if (stscache_init("", t, err, sizeof(err)) < 0 || sts_policy_parse(body, strlen(body), &p, why, sizeof(why)) < 0)
		return 1;
	for (int i = 0; i < ndomains; i++) {
		struct sts_entry *e;

		snprintf(name, sizeof(name), "d%d.example", i);
		if ((e = stscache_add(name)) == NULL)
			return 1;
		sts_cache_fetched(e, "id1", &p, t);
	}
	t0 = now_s();
	for (long r = 0; r < rounds; r++) {
		struct sts_entry *e;

		snprintf(name, sizeof(name), "d%ld.example", r % ndomains);
		e = stscache_get(name);
		if (e && sts_cache_step(e, STS_TXT_FOUND, "id1", t + 10, &conf) == STS_EXTEND
		    && sts_mx_match(&e->policy, "mx7.example.net"))
			hits++;
	}
	t1 = now_s();
	for (long r = 0; r < rounds; r++) {
		snprintf(name, sizeof(name), "n%ld.example", r % ndomains);
		if (stscache_get(name) == NULL
		    && sts_cache_step(NULL, STS_TXT_NONE, NULL, t + 10, &conf) == STS_NONE)
			misses++;
	}
	t2 = now_s();
	printf("bench sts: domains=%d lookups=%ld cached_lookups_per_sec=%.0f "
	    "nopolicy_lookups_per_sec=%.0f ns_per_cached_lookup=%.1f ratio=%.2f\n",
	    ndomains, rounds, (double) hits / (t1 - t0), (double) misses / (t2 - t1),
	    (t1 - t0) * 1e9 / (double) rounds, ((double) hits / (t1 - t0))
	    / ((double) misses / (t2 - t1)));
	return hits == rounds && misses == rounds ? 0 : 1;
}
