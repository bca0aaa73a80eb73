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
#include "../common/dnsbuild.h"
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

/* ---- building packets (tests/common/dnsbuild.c) */

/* dns - the DNS message of kind k for domain i, in m */
static void
dns(struct dnsb *m, int k, int i)
{
	char dom[32], mx[40];
	unsigned q, ex;
	size_t at;
	int ismx = k == K_MX4 || k == K_MX6, aaaa = k == K_AAAA4;

	snprintf(dom, sizeof(dom), "d%d.example", i);
	snprintf(mx, sizeof(mx), "mx.d%d.example", i);
	/* QR RD RA, NOERROR; the MX answer has the MX host's A beside OPT */
	db_header(m, (unsigned) (0x1000 + i), 0x8180, 1, 1, 0, ismx ? 2 : 1);
	q = (unsigned) m->n;
	db_name(m, ismx ? dom : mx);
	db_u16(m, ismx ? DNSMSG_MX : aaaa ? DNSMSG_AAAA : DNSMSG_A);
	db_u16(m, 1);
	db_u16(m, 0xc000 | q);
	if (ismx) {
		at = db_rr(m, DNSMSG_MX, 1, 3600);
		db_u16(m, 10);
		ex = (unsigned) m->n;
		db_nameptr(m, "mx", q);
		db_rdend(m, at);
		db_u16(m, 0xc000 | ex);
		at = db_rr(m, DNSMSG_A, 1, 3600);
		db_u32(m, 0xc0000000u | (uint32_t) i);
	} else if (aaaa) {
		at = db_rr(m, DNSMSG_AAAA, 1, 3600);
		db_u32(m, 0x20010db8);
		db_u32(m, 0);
		db_u32(m, 0);
		db_u32(m, (uint32_t) i);
	} else {
		at = db_rr(m, DNSMSG_A, 1, 3600);
		db_u32(m, 0xc0000000u | (uint32_t) i);
	}
	db_rdend(m, at);
	db_opt(m, 1232);
}

/* build - packet of kind k for domain i: IPv4 or IPv6, UDP or TCP */
static void
build(struct pkt *p, int k, int i)
{
	/* 198.51.100.53 -> 198.51.100.1; 2001:db8:53::53 -> 2001:db8:53::1 */
	static const uint8_t s4[4] = {198, 51, 100, 53}, d4[4] = {198, 51, 100, 1};
	static const uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x53, [15] = 0x53};
	static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x53, [15] = 1};
	static struct dnsb m, w;
	struct db_ip ip = {
		.v6 = k == K_MX6, .tcp = k == K_SKIP,
		.src = k == K_MX6 ? s6 : s4, .dst = k == K_MX6 ? d6 : d4,
		.sport = 53, .dport = (unsigned) (20000 + i), .ipid = (unsigned) i,
	};

	if (k != K_SKIP)
		dns(&m, k, i);
	db_wrap(&w, k == K_SKIP ? NULL : &m, &ip);
	if (w.n > sizeof(p->b))
		abort();
	memcpy(p->b, w.b, w.n);
	p->n = w.n;
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
				sink += db_csum(copy, p->n);
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
