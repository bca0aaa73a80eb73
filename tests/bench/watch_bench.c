/*
 * watch_bench.c - the DNS watcher's cost per packet (proxy/nfq.c learn():
 * dnspkt_unwrap, dnsmsg_parse, hints_learn), in-process, on raw packets
 * as NFQUEUE hands them (from the IP header on), built here:
 *
 *	mx4	IPv4/UDP, MX answer, the MX host's A in the additional
 *		section, EDNS OPT (what a stub resolver gets back)
 *	a4	IPv4/UDP, A answer (+ OPT)
 *	aaaa4	IPv4/UDP, AAAA answer (+ OPT)
 *	mx6	IPv6/UDP, the mx4 answer
 *	skip	IPv4/TCP from port 53, a pure ACK (queued by the rule, no
 *		message: DNSPKT_SKIP)
 *
 * Each kind cycles over VARIANTS different domains (d0.example ...), into
 * one hints map of the default cap (65,536 entries), filled before the
 * clock starts: the steady state of a busy MTA, where learns refresh or
 * evict.  Printed per kind (each figure the best of TRIES runs of
 * ROUNDS passes): ns per packet through the whole path; the parse alone
 * (unwrap + parse, no learn); and a baseline in the same run, a memcpy of
 * the packet's octets and their 16-bit ones' complement sum (what any
 * look at the packet costs); the ratios of the whole path to both.
 * Not counted: the netlink recv and verdict (the kernel's side), and
 * nfq.c's mta_key() (an address compare).  Figures only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/dnsmsg.h"
#include "../../proxy/hints.h"
#include "bclock.h"

#define VARIANTS	4096
#define ROUNDS		100		/* passes over the variants per measurement */
#define PKT_MAX		512
#define TRIES		3

enum { K_MX4, K_A4, K_AAAA4, K_MX6, K_SKIP, KINDS };

static const char *kname[KINDS] = {"mx4", "a4", "aaaa4", "mx6", "skip"};

struct pkt {
	uint8_t b[PKT_MAX];
	size_t n;
};

static struct pkt pkts[KINDS][VARIANTS];
static struct dnsmsg msg;
static volatile uint32_t sink;		/* keeps the baseline's sum alive */

/* ---- building packets */

static void
put8(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (uint8_t) v;
}

static void
put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

/* putname - NAME in labels, ending with a pointer to PTR (0: the root) */
static void
putname(struct pkt *p, const char *name, unsigned ptr)
{
	const char *s = name, *dot;

	while (*s) {
		size_t l = (dot = strchr(s, '.')) ? (size_t) (dot - s) : strlen(s);

		put8(p, (unsigned) l);
		memcpy(p->b + p->n, s, l);
		p->n += l;
		s += l + (dot != NULL);
	}
	if (ptr)
		put16(p, 0xc000 | ptr);
	else
		put8(p, 0);
}

static void
opt_rr(struct pkt *p)
{
	put8(p, 0);			/* root */
	put16(p, 41);
	put16(p, 1232);			/* UDP payload size */
	put32(p, 0);
	put16(p, 0);
}

/* dns - the DNS message of kind k for domain i, in m (from octet 0) */
static void
dns(struct pkt *m, int k, int i)
{
	char dom[32], mx[40];
	unsigned q, ex;

	snprintf(dom, sizeof(dom), "d%d.example", i);
	snprintf(mx, sizeof(mx), "mx.d%d.example", i);
	m->n = 0;
	put16(m, (unsigned) (0x1000 + i));	/* id */
	put16(m, 0x8180);		/* QR RD RA, NOERROR */
	put16(m, 1);
	put16(m, 1);
	put16(m, 0);
	put16(m, k == K_MX4 || k == K_MX6 ? 2 : 1);
	q = (unsigned) m->n;
	if (k == K_MX4 || k == K_MX6) {
		putname(m, dom, 0);
		put16(m, DNSMSG_MX);
		put16(m, 1);
		put16(m, 0xc000 | q);
		put16(m, DNSMSG_MX);
		put16(m, 1);
		put32(m, 3600);
		put16(m, 2 + 3 + 2);
		put16(m, 10);
		ex = (unsigned) m->n;
		putname(m, "mx", q);
		put16(m, 0xc000 | ex);	/* additional: the MX host's A */
		put16(m, DNSMSG_A);
		put16(m, 1);
		put32(m, 3600);
		put16(m, 4);
		put32(m, 0xc0000000u | (uint32_t) i);
	} else {
		int aaaa = k == K_AAAA4;

		putname(m, mx, 0);
		put16(m, aaaa ? DNSMSG_AAAA : DNSMSG_A);
		put16(m, 1);
		put16(m, 0xc000 | q);
		put16(m, aaaa ? DNSMSG_AAAA : DNSMSG_A);
		put16(m, 1);
		put32(m, 3600);
		put16(m, aaaa ? 16 : 4);
		if (aaaa) {
			put32(m, 0x20010db8);
			put32(m, 0);
			put32(m, 0);
			put32(m, (uint32_t) i);
		} else
			put32(m, 0xc0000000u | (uint32_t) i);
	}
	opt_rr(m);
}

/* csum - the 16-bit ones' complement sum of b[0..n) */
static uint32_t
csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t) b[i] << 8 | b[i + 1];
	if (i < n)
		s += (uint32_t) b[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* build - packet of kind k for domain i: IPv4 or IPv6, UDP or TCP */
static void
build(struct pkt *p, int k, int i)
{
	struct pkt m;
	size_t l4 = k == K_SKIP ? 20 : 8;
	uint16_t dport = (uint16_t) (20000 + i);

	if (k == K_SKIP)
		m.n = 0;
	else
		dns(&m, k, i);
	p->n = 0;
	if (k == K_MX6) {
		put32(p, 0x60000000);
		put16(p, (unsigned) (l4 + m.n));
		put8(p, 17);
		put8(p, 64);
		put32(p, 0x20010db8);	/* 2001:db8:53::53 -> 2001:db8:53::1 */
		put32(p, 0x00530000);
		put32(p, 0);
		put32(p, 0x53);
		put32(p, 0x20010db8);
		put32(p, 0x00530000);
		put32(p, 0);
		put32(p, 1);
	} else {
		uint32_t ck;

		put8(p, 0x45);
		put8(p, 0);
		put16(p, (unsigned) (20 + l4 + m.n));
		put16(p, (unsigned) i);
		put16(p, 0x4000);	/* DF */
		put8(p, 64);
		put8(p, k == K_SKIP ? 6 : 17);
		put16(p, 0);
		put32(p, 0xc6336435);	/* 198.51.100.53 -> 198.51.100.1 */
		put32(p, 0xc6336401);
		ck = csum(p->b, 20) ^ 0xffff;
		p->b[10] = (uint8_t) (ck >> 8);
		p->b[11] = (uint8_t) (ck & 0xff);
	}
	put16(p, 53);
	put16(p, dport);
	if (k == K_SKIP) {
		put32(p, 0x10000000u + (uint32_t) i);	/* seq */
		put32(p, 0x20000000u + (uint32_t) i);	/* ack */
		put16(p, 0x5010);	/* data offset 5, ACK */
		put16(p, 64240);
		put16(p, 0);
		put16(p, 0);
	} else {
		put16(p, (unsigned) (8 + m.n));
		put16(p, 0);		/* not checked: the kernel has */
		memcpy(p->b + p->n, m.b, m.n);
		p->n += m.n;
	}
}

static double
min(double a, double b)
{
	return a < b ? a : b;
}

/* ---- the path of nfq.c learn() */

static struct hints *
map_new(void)
{
	struct hints_limits lim;
	struct hints *h;
	struct sockaddr_storage mta;
	struct sockaddr_in *s4 = (struct sockaddr_in *) &mta;
	uint32_t a;

	hints_limits_default(&lim);
	lim.seed[0] = 0x0123456789abcdefULL;
	lim.seed[1] = 0xfedcba9876543210ULL;
	if ((h = hints_new(&lim)) == NULL) {
		perror("hints_new");
		exit(2);
	}
	/* full: cap many A answers of other names, the same MTA */
	memset(&mta, 0, sizeof(mta));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(0xc6336401);
	memset(&msg, 0, sizeof(msg));
	msg.qclass = 1;
	msg.qtype = DNSMSG_A;
	msg.nrr = 1;
	for (uint32_t i = 0; i < lim.max_entries; i++) {
		msg.rr[0].type = DNSMSG_A;
		msg.rr[0].ttl = 3600;
		snprintf(msg.rr[0].owner, DNSMSG_NAME_MAX, "host%u.fill.example", i);
		snprintf(msg.qname, DNSMSG_NAME_MAX, "%s", msg.rr[0].owner);
		a = htonl(0x0a000000u + i);
		memcpy(msg.rr[0].addr, &a, 4);
		hints_learn(h, &mta, &msg, 1.0);
	}
	return h;
}

/* learn - nfq.c's learn() without its counters and log; 1 when learnt */
static int
learn(struct hints *h, const uint8_t *pkt, size_t len, double t, int do_learn)
{
	struct dnspkt p;

	if (dnspkt_unwrap(pkt, len, &p, NULL, 0) != 0)
		return 0;
	if (dnsmsg_parse(pkt + p.off, p.len, &msg, NULL, 0) < 0 || msg.rcode != 0)
		return 0;
	if (do_learn)
		hints_learn(h, &p.dst, &msg, t);
	return 1;
}

/* run - ns per packet of kind k: mode 0 the whole path, 1 parse only,
 * 2 memcpy + checksum; *ok = packets that reached the learn */
static double
run(struct hints *h, int k, int mode, long *ok)
{
	static uint8_t copy[PKT_MAX];
	static int r0;
	double t0, t = 2.0 + r0++;
	long n = 0;

	*ok = 0;
	t0 = now();
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < VARIANTS; i++) {
			const struct pkt *p = &pkts[k][i];

			if (mode == 2) {
				memcpy(copy, p->b, p->n);
				sink += csum(copy, p->n);
			} else
				*ok += learn(h, p->b, p->n, t, mode == 0);
			n++;
		}
		t += 0.001;
	}
	return (now() - t0) * 1e9 / (double) n;
}

int
main(void)
{
	struct hints *h;
	struct hints_stats st;
	double full[KINDS], parse[KINDS], base[KINDS];
	long ok[KINDS], okp, okb;

	for (int k = 0; k < KINDS; k++)
		for (int i = 0; i < VARIANTS; i++)
			build(&pkts[k][i], k, i);
	h = map_new();
	/* warm-up: one pass of each, so the variants are in the map */
	for (int k = 0; k < KINDS; k++)
		(void) run(h, k, 0, &ok[k]);
	/* each figure the best of TRIES, the three alternated */
	for (int k = 0; k < KINDS; k++) {
		base[k] = parse[k] = full[k] = 1e30;
		for (int r = 0; r < TRIES; r++) {
			base[k] = min(base[k], run(h, k, 2, &okb));
			parse[k] = min(parse[k], run(h, k, 1, &okp));
			full[k] = min(full[k], run(h, k, 0, &ok[k]));
		}
	}
	hints_stats(h, &st);
	for (int k = 0; k < KINDS; k++)
		printf("bench watch: packet=%s octets=%zu ns_per_packet=%.0f parse_only=%.0f "
		    "memcpy_csum=%.0f ratio_vs_memcpy_csum=%.1f ratio_vs_parse=%.2f learnt=%ld/%ld\n",
		    kname[k], pkts[k][0].n, full[k], parse[k], base[k], full[k] / base[k],
		    full[k] / parse[k], ok[k], (long) ROUNDS * VARIANTS);
	printf("bench watch: hints map entries=%llu (cap 65536, filled before timing) "
	    "learned=%llu refreshed=%llu evicted=%llu; %d domains per kind, %d passes\n",
	    (unsigned long long) st.entries, (unsigned long long) st.learned,
	    (unsigned long long) st.refreshed, (unsigned long long) st.evicted, VARIANTS, ROUNDS);
	hints_free(h);
	return 0;
}
