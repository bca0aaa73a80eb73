/*
 * fuzz_hints.c - libFuzzer target for proxy/hints.c: the input is a
 * program of learn, lookup, expire and clock steps over a small world (a
 * few MTAs, names, addresses; a cap of 16 so eviction happens), with
 * fuzzer-chosen dnsmsg values, TTLs and times.  Checked after each step:
 * entries never exceed the cap and agree with the counters, a lookup
 * gives at most max domains, each NUL-terminated, once, and each a name
 * that MTA has seen an MX answer or an MX question for.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/hints.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NNAMES	8
#define NADDRS	6
#define NMTAS	3
#define CAP	16

static char names[NNAMES][DNSMSG_NAME_MAX] = {
	"a.example", "b.example", "mx1.example", "mx2.example", "c1", "c2", "", "",
};
static const char *addrs[NADDRS] = {
	"192.0.2.1", "192.0.2.2", "10.0.0.1", "2001:db8::1", "2001:db8::2", "::ffff:192.0.2.1",
};

struct cur {
	const uint8_t *p;
	size_t n;
};

static uint8_t
byte(struct cur *c)
{
	if (c->n == 0)
		return 0;
	c->n--;
	return *c->p++;
}

static void
mkaddr(struct sockaddr_storage *ss, const char *text)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':')) {
		ss->ss_family = AF_INET6;
		inet_pton(AF_INET6, text, &((struct sockaddr_in6 *) ss)->sin6_addr);
	} else {
		ss->ss_family = AF_INET;
		inet_pton(AF_INET, text, &((struct sockaddr_in *) ss)->sin_addr);
	}
}

static void
setname(char *dst, uint8_t b, unsigned *bits)
{
	unsigned i = b % NNAMES;

	memcpy(dst, names[i], DNSMSG_NAME_MAX);
	if (bits)
		*bits |= 1u << i;
	if (b & 0x80)			/* no NUL anywhere: must be skipped */
		memset(dst, 'z', DNSMSG_NAME_MAX);
}

/* learn - one fuzzer-made answer; seen[mta]: names with an MX or MX question */
static void
learn(struct hints *h, struct cur *c, double now, unsigned seen[NMTAS])
{
	static const uint16_t types[] = { DNSMSG_MX, DNSMSG_CNAME, DNSMSG_A, DNSMSG_AAAA, 99 };
	static struct dnsmsg m;
	struct sockaddr_storage mta;
	int who = byte(c) % NMTAS;
	uint8_t f = byte(c), qn = byte(c);

	memset(&m, 0, sizeof(m));
	m.rcode = f & 1 ? (f >> 1) & 15 : 0;
	m.qtype = types[(f >> 5) % 5];
	m.qclass = f & 16 ? 3 : 1;
	setname(m.qname, qn, m.qtype == DNSMSG_MX && !(qn & 0x80) ? &seen[who] : NULL);
	m.nrr = byte(c) % 7;
	for (int i = 0; i < m.nrr; i++) {
		struct dnsmsg_rr *r = &m.rr[i];
		uint8_t t = byte(c), o = byte(c), g = byte(c);
		struct sockaddr_storage a;

		r->type = types[t % 5];
		r->ttl = t & 0x80 ? 0xffffffffu : byte(c);
		setname(r->owner, o, r->type == DNSMSG_MX && !(o & 0x80) ? &seen[who] : NULL);
		setname(r->target, g, NULL);
		mkaddr(&a, addrs[(t >> 3) % NADDRS]);
		if (a.ss_family == AF_INET)
			memcpy(r->addr, &((struct sockaddr_in *) &a)->sin_addr, 4);
		else
			memcpy(r->addr, &((struct sockaddr_in6 *) &a)->sin6_addr, 16);
	}
	mkaddr(&mta, addrs[who]);
	hints_learn(h, &mta, &m, now);
}

/* lookup - one lookup, its result checked */
static void
lookup(struct hints *h, struct cur *c, double now, const unsigned seen[NMTAS])
{
	char out[5][DNSMSG_NAME_MAX];
	struct sockaddr_storage mta, dest;
	int who = byte(c) % NMTAS, max = byte(c) % 5, n;

	mkaddr(&mta, addrs[who]);
	mkaddr(&dest, addrs[byte(c) % NADDRS]);
	memset(out, 'Q', sizeof(out));
	n = hints_domains(h, &mta, &dest, now, out, max);
	if (n < 0 || n > max)
		abort();
	for (int i = 0; i < n; i++) {
		int known = -1;

		if (memchr(out[i], '\0', DNSMSG_NAME_MAX) == NULL)
			abort();
		for (int j = 0; j < i; j++)
			if (strcmp(out[i], out[j]) == 0)
				abort();
		for (int k = 0; k < NNAMES; k++)
			if (strcmp(out[i], names[k]) == 0 && (seen[who] >> k & 1))
				known = k;
		if (known < 0)
			abort();
	}
	for (int i = n; i < 5; i++)		/* nothing written past n */
		for (size_t k = 0; k < DNSMSG_NAME_MAX; k++)
			if (out[i][k] != 'Q')
				abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hints_limits lim;
	struct hints_stats st;
	struct hints *h;
	struct cur c = { data, size };
	unsigned seen[NMTAS] = { 0 };
	double now = 1000;

	memset(names[6], 'l', DNSMSG_NAME_MAX - 1);	/* the longest name */
	memset(names[7], 'm', DNSMSG_NAME_MAX - 1);
	hints_limits_default(&lim);
	lim.max_entries = CAP;
	lim.min_ttl = 1 + byte(&c) % 8;
	lim.max_ttl = lim.min_ttl + byte(&c);
	lim.nodata_ttl = byte(&c);
	if ((h = hints_new(&lim)) == NULL)
		abort();
	for (int steps = 0; c.n > 0 && steps < 256; steps++) {
		uint8_t op = byte(&c);

		switch (op % 4) {
		case 0:
			learn(h, &c, now, seen);
			break;
		case 1:
			lookup(h, &c, now, seen);
			break;
		case 2:
			hints_expire(h, now, byte(&c) % 40);
			break;
		default:
			now += op & 0x80 ? byte(&c) * 16.0 : byte(&c) * 0.25;
		}
		hints_stats(h, &st);
		if (st.entries > CAP || st.entries != st.learned - st.evicted - st.expired
		    || st.hits > st.lookups || st.ambiguous > st.hits)
			abort();
	}
	hints_free(h);
	return 0;
}
