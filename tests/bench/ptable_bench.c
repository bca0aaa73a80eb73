/*
 * ptable_bench.c - the policy table (policy/ptable.c): load time of
 * 100,000 entries, and lookups per second in it (a domain's own key, a
 * subdomain found through its `.parent' key, a miss that walks every
 * parent, a [host]:port destination), against the same lookups in a
 * table of 100 entries in the same run: a ratio near 1 says the lookups
 * do not grow with the table.  Figures only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../policy/ptable.h"
#include "bclock.h"

#define LOOKUPS	2000000

/* build - a table of n entries: own keys, .parent keys, destinations */
static char *
build(size_t n, size_t *len)
{
	size_t cap = n * 64 + 64, w = 0;
	char *text = malloc(cap);

	for (size_t i = 0; i < n; i++) {
		if (i % 4 == 3)
			w += (size_t) snprintf(text + w, cap - w, "[10.%zu.%zu.%zu]:25 encrypt\n",
			    i >> 16 & 255, i >> 8 & 255, i & 255);
		else
			w += (size_t) snprintf(text + w, cap - w, "%sd%zu.example %s\n",
			    i % 4 == 1 ? "." : "", i, i % 2 ? "secure" : "dane-only");
	}
	*len = w;
	return text;
}

/* run - LOOKUPS lookups of the four kinds in a table of n; lookups/s */
static double
run(size_t n, double *load_s, size_t *found)
{
	size_t len;
	char *text = build(n, &len), err[256], name[64];
	struct ptable t;
	double t0 = now(), t1;

	if (ptable_parse(&t, "bench", text, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "ptable_bench: %s\n", err);
		exit(1);
	}
	*load_s = now() - t0;
	*found = 0;
	t1 = now();
	for (size_t k = 0; k < LOOKUPS; k++) {
		size_t i = (k * 2654435761u) % n;

		switch (k % 4) {
		case 0:
			snprintf(name, sizeof(name), "d%zu.example", i & ~(size_t) 3);
			*found += ptable_find(&t, name) != NULL;
			break;
		case 1:
			snprintf(name, sizeof(name), "mx.d%zu.example", (i & ~(size_t) 3) + 1);
			*found += ptable_find(&t, name) != NULL;
			break;
		case 2:
			snprintf(name, sizeof(name), "a.b.c.miss%zu.example", i);
			*found += ptable_find(&t, name) != NULL;
			break;
		default:
			snprintf(name, sizeof(name), "10.%zu.%zu.%zu", i >> 16 & 255, i >> 8 & 255,
			    (i | 3) & 255);
			*found += ptable_find_dest(&t, name, 25) != NULL;
		}
	}
	t1 = now() - t1;
	ptable_free(&t);
	free(text);
	return LOOKUPS / t1;
}

int
main(void)
{
	double big_load, small_load, big, small;
	size_t big_found, small_found;

	big = run(100000, &big_load, &big_found);
	small = run(100, &small_load, &small_found);
	printf("bench ptable: entries=100000 load_s=%.3f lookups_per_s=%.0f found=%zu/%d\n",
	    big_load, big, big_found, LOOKUPS);
	printf("bench ptable: entries=100 load_s=%.5f lookups_per_s=%.0f found=%zu/%d\n",
	    small_load, small, small_found, LOOKUPS);
	printf("bench ptable: lookups_per_s 100000 vs 100 entries: ratio=%.2f\n", big / small);
	return 0;
}
