/*
 * fuzz_hints.c - libFuzzer target for proxy/hints.c: the input is a
 * program of learn, lookup, expire and clock steps over a small world (a
 * few MTAs, names, addresses; a cap of 16 so eviction happens), with
 * fuzzer-chosen dnsmsg values, TTLs and times.  Checked after each step:
 * entries never exceed the cap and agree with the counters, a lookup
 * gives at most max domains, each NUL-terminated, once, and each a name
 * that MTA has seen an MX answer or an MX question for.  A model that
 * keeps every fact learnt (a linear list, no cap) says which domains are
 * right: what the map gives must be among them (never wrong), and while
 * nothing was evicted (half the runs have a cap of 2048, never reached)
 * it must be all of them, or max of them.
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

/* the model: every fact learnt, never evicted, with its latest expiry */
enum { F_MX = 1, F_CNAME, F_ADDR, F_NOMX };
struct fact {
	int kind, mta, owner, target;	/* target: a name index */
	uint8_t addr[17];		/* F_ADDR: length, then the octets */
	double expires;
};
static struct fact facts[256 * 8];
static int nfacts;
static uint32_t min_ttl, max_ttl, nodata_ttl;

/* model_addr - the address as the map keys it: IPv4-mapped as IPv4 */
static void
model_addr(uint8_t key[17], const uint8_t *a, int v6)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(key, 0, 17);
	if (v6 && memcmp(a, mapped, 12) != 0) {
		key[0] = 16;
		memcpy(key + 1, a, 16);
	} else {
		key[0] = 4;
		memcpy(key + 1, v6 ? a + 12 : a, 4);
	}
}

/* model_learn - add or refresh a fact; F_MX drops the owner's F_NOMX */
static void
model_learn(struct fact *f, uint32_t ttl, double now)
{
	ttl = ttl < min_ttl ? min_ttl : ttl > max_ttl ? max_ttl : ttl;
	f->expires = now + ttl;
	for (int i = 0; f->kind == F_MX && i < nfacts; i++)
		if (facts[i].kind == F_NOMX && facts[i].mta == f->mta
		    && facts[i].owner == f->owner)
			facts[i].expires = 0;
	for (int i = 0; i < nfacts; i++) {
		struct fact *g = &facts[i];

		if (g->kind == f->kind && g->mta == f->mta && g->owner == f->owner
		    && g->target == f->target && memcmp(g->addr, f->addr, 17) == 0) {
			g->expires = f->expires;
			return;
		}
	}
	facts[nfacts++] = *f;
}

/* model_domains - the domains dest serves for mta in the model: a bit set */
static unsigned
model_domains(int mta, const uint8_t dest[17], double now)
{
	int depth[NNAMES], queue[NNAMES], nq = 0;
	unsigned doms = 0;

	for (int k = 0; k < NNAMES; k++)
		depth[k] = -1;
	for (int i = 0; i < nfacts; i++)
		if (facts[i].kind == F_ADDR && facts[i].mta == mta && facts[i].expires > now
		    && memcmp(facts[i].addr, dest, 17) == 0 && depth[facts[i].owner] < 0) {
			depth[facts[i].owner] = 0;
			queue[nq++] = facts[i].owner;
		}
	for (int q = 0; q < nq; q++) {
		if (depth[queue[q]] >= HINTS_CNAME_MAX)
			continue;
		for (int i = 0; i < nfacts; i++)
			if (facts[i].kind == F_CNAME && facts[i].mta == mta && facts[i].expires > now
			    && facts[i].target == queue[q] && depth[facts[i].owner] < 0) {
				depth[facts[i].owner] = depth[queue[q]] + 1;
				queue[nq++] = facts[i].owner;
			}
	}
	for (int i = 0; i < nfacts; i++) {
		const struct fact *f = &facts[i];

		if (f->mta != mta || f->expires <= now)
			continue;
		if ((f->kind == F_MX && depth[f->target] >= 0)
		    || (f->kind == F_NOMX && depth[f->owner] >= 0))
			doms |= 1u << f->owner;
	}
	return doms;
}

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

/* name_index - which of names[] s is, or -1 (no NUL: skipped) */
static int
name_index(const char *s)
{
	if (memchr(s, '\0', DNSMSG_NAME_MAX) == NULL)
		return -1;
	for (int k = 0; k < NNAMES; k++)
		if (strcmp(s, names[k]) == 0)
			return k;
	abort();
}

/* model_msg - what the model learns from m (hints.h, written again) */
static void
model_msg(const struct dnsmsg *m, int who, double now)
{
	int nmx = 0;

	if (m->rcode != 0)
		return;
	for (int i = 0; i < m->nrr; i++) {
		const struct dnsmsg_rr *r = &m->rr[i];
		struct fact f = { .mta = who, .owner = name_index(r->owner),
		    .target = name_index(r->target) };

		nmx += r->type == DNSMSG_MX;
		if (f.owner < 0 || f.target < 0)
			continue;
		if (r->type == DNSMSG_MX && r->target[0] != '\0')
			f.kind = F_MX;
		else if (r->type == DNSMSG_CNAME)
			f.kind = F_CNAME;
		else if (r->type == DNSMSG_A || r->type == DNSMSG_AAAA) {
			f.kind = F_ADDR;
			f.target = 0;
			model_addr(f.addr, r->addr, r->type == DNSMSG_AAAA);
		} else
			continue;
		if (f.kind != F_MX && f.kind != F_CNAME)
			f.target = 0;
		model_learn(&f, r->ttl, now);
	}
	if (nmx == 0 && m->qtype == DNSMSG_MX && m->qclass == 1 && name_index(m->qname) >= 0
	    && m->qname[0] != '\0') {
		struct fact f = { .kind = F_NOMX, .mta = who, .owner = name_index(m->qname) };

		model_learn(&f, nodata_ttl, now);
	}
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
	model_msg(&m, who, now);
}

/* lookup - one lookup, its result checked */
static void
lookup(struct hints *h, struct cur *c, double now, const unsigned seen[NMTAS])
{
	char out[5][DNSMSG_NAME_MAX];
	struct sockaddr_storage mta, dest;
	int who = byte(c) % NMTAS, max = byte(c) % 5, n;

	uint8_t dkey[17];
	unsigned want, got = 0;
	struct hints_stats st;

	mkaddr(&mta, addrs[who]);
	mkaddr(&dest, addrs[byte(c) % NADDRS]);
	if (dest.ss_family == AF_INET)
		model_addr(dkey, (const uint8_t *) &((struct sockaddr_in *) &dest)->sin_addr, 0);
	else
		model_addr(dkey, ((struct sockaddr_in6 *) &dest)->sin6_addr.s6_addr, 1);
	want = model_domains(who, dkey, now);
	memset(out, 'Q', sizeof(out));
	n = hints_domains(h, &mta, &dest, now, out, max);
	if (n < 0 || n > max)
		abort();
	for (int i = 0; i < n; i++) {		/* never wrong */
		int k = name_index(out[i]);

		if (k < 0 || !(want >> k & 1))
			abort();
		got |= 1u << k;
	}
	hints_stats(h, &st);
	if (st.evicted == 0) {			/* and, nothing evicted, complete */
		int nwant = __builtin_popcount(want);

		if (n != (nwant < max ? nwant : max) || (nwant <= max && got != want))
			abort();
	}
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
	uint32_t cap;

	memset(names[6], 'l', DNSMSG_NAME_MAX - 1);	/* the longest name */
	memset(names[7], 'm', DNSMSG_NAME_MAX - 1);
	hints_limits_default(&lim);
	cap = byte(&c) & 1 ? CAP : 2048;	/* 2048: never full in 256 steps */
	lim.max_entries = cap;
	lim.min_ttl = 1 + byte(&c) % 8;
	lim.max_ttl = lim.min_ttl + byte(&c);
	lim.nodata_ttl = byte(&c);
	min_ttl = lim.min_ttl;
	max_ttl = lim.max_ttl;
	nodata_ttl = lim.nodata_ttl ? lim.nodata_ttl : 300;
	nfacts = 0;
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
		if (st.entries > cap || st.entries != st.learned - st.evicted - st.expired
		    || st.hits > st.lookups || st.ambiguous > st.hits)
			abort();
	}
	hints_free(h);
	return 0;
}
