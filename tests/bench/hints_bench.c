/*
 * hints_bench.c - what the DNS watcher learns (proxy/hints.c): learns per
 * second (one answer of one record each, into a map capped at n entries:
 * the first n fill it, the rest evict the oldest) and lookups per second
 * (hints_domains() for a random learnt MX address, a hit each time; and
 * an unknown address, a miss), with 100,000 entries against 1,000 in the
 * same run: a ratio near 1 says neither grows with the map.  Figures only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "../../proxy/hints.h"
#include "bclock.h"

#define LOOKUPS	1000000

static void
v4(struct sockaddr_storage *ss, uint32_t a)
{
	struct sockaddr_in *s = (struct sockaddr_in *) ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_addr.s_addr = htonl(a);
}

/* one MX answer and one A answer for domain i, through m */
static void
learn_pair(struct hints *h, const struct sockaddr_storage *mta, struct dnsmsg *m, size_t i,
    double t)
{
	uint32_t a = htonl(0x0a000000u + (uint32_t) i);

	m->nrr = 1;
	m->qtype = DNSMSG_MX;
	m->rr[0].type = DNSMSG_MX;
	m->rr[0].ttl = 3600;
	snprintf(m->rr[0].owner, DNSMSG_NAME_MAX, "d%zu.example", i);
	snprintf(m->rr[0].target, DNSMSG_NAME_MAX, "mx%zu.provider.example", i);
	snprintf(m->qname, DNSMSG_NAME_MAX, "%s", m->rr[0].owner);
	hints_learn(h, mta, m, t);
	m->qtype = DNSMSG_A;
	m->rr[0].type = DNSMSG_A;
	snprintf(m->rr[0].owner, DNSMSG_NAME_MAX, "mx%zu.provider.example", i);
	m->rr[0].target[0] = '\0';
	memcpy(m->rr[0].addr, &a, 4);
	snprintf(m->qname, DNSMSG_NAME_MAX, "%s", m->rr[0].owner);
	hints_learn(h, mta, m, t);
}

/* run - a map of n entries: learns/s, lookups/s over hot pairs (0: all); *hits */
static void
run(size_t n, size_t hot, double *learns, double *lookups, size_t *hits)
{
	struct hints_limits lim;
	struct hints *h;
	static struct dnsmsg m;
	struct sockaddr_storage mta, dest;
	char out[4][DNSMSG_NAME_MAX];
	size_t pairs = n;		/* 2n entries: n fill, n evict */
	double t0;

	hints_limits_default(&lim);
	lim.max_entries = (uint32_t) n;
	lim.seed[0] = 0x0123456789abcdefULL;
	lim.seed[1] = 0xfedcba9876543210ULL;
	if ((h = hints_new(&lim)) == NULL) {
		perror("hints_new");
		exit(1);
	}
	memset(&m, 0, sizeof(m));
	m.qclass = 1;
	v4(&mta, 0xc0000201);
	t0 = now();
	for (size_t i = 0; i < pairs; i++)
		learn_pair(h, &mta, &m, i, 1.0);
	*learns = 2.0 * pairs / (now() - t0);
	*hits = 0;
	t0 = now();
	for (size_t k = 0; k < LOOKUPS; k++) {
		size_t live = hot ? hot : pairs / 2;	/* the newest n/2 pairs are whole */
		size_t i = pairs - live + (k * 2654435761u) % live;

		v4(&dest, 0x0a000000u + (uint32_t) (k % 2 ? i : i + 0x800000));
		*hits += hints_domains(h, &mta, &dest, 2.0, out, 4) == 1;
	}
	*lookups = LOOKUPS / (now() - t0);
	hints_free(h);
}

int
main(void)
{
	double bl, bk, sl, sk, hl, hk;
	size_t bh, sh, hh;

	run(100000, 0, &bl, &bk, &bh);
	run(1000, 0, &sl, &sk, &sh);
	run(100000, 500, &hl, &hk, &hh);
	printf("bench hints: entries=100000 learns_per_s=%.0f lookups_per_s=%.0f hits=%zu/%d\n",
	    bl, bk, bh, LOOKUPS);
	printf("bench hints: entries=1000 learns_per_s=%.0f lookups_per_s=%.0f hits=%zu/%d\n",
	    sl, sk, sh, LOOKUPS);
	printf("bench hints: entries=100000 lookups over 1000 of them (cache-warm) "
	    "lookups_per_s=%.0f hits=%zu/%d\n", hk, hh, LOOKUPS);
	printf("bench hints: 100000 vs 1000 entries: learns ratio=%.2f lookups ratio=%.2f "
	    "(cache-warm %.2f)\n", bl / sl, bk / sk, hk / sk);
	return 0;
}
