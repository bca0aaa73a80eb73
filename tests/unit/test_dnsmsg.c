/*
 * test_dnsmsg.c - proxy/dnsmsg.c: real DNS responses built here, wrapped
 * in IPv4/IPv6 and UDP/TCP, then hostile ones (truncation at every
 * offset, pointer loops, bad lengths, bad labels, bad packets).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/dnsmsg.h"
#include "../common/dnsbuild.h"
#include "t.h"

static struct dnsmsg m;	/* large; one for all cases */
static char why[200];

/* hdr - a response header: flags, qdcount, ancount */
static void
hdr(struct dnsb *w, unsigned flags, unsigned qd, unsigned an)
{
	db_header(w, 0x1234, flags, qd, an, 0, 0);
}

/* question - the question example.com type at offset 12 */
static void
question(struct dnsb *w, unsigned type)
{
	db_name(w, "example.com");
	db_u16(w, type);
	db_u16(w, 1);
}

/* rrhead - owner pointer to off, type, class, ttl; returns rdlength's spot */
static size_t
rrhead(struct dnsb *w, unsigned off, unsigned type, unsigned class)
{
	db_u16(w, 0xc000 | off);
	return db_rr(w, type, class, 3600);
}

/* mx_msg - MX example.com: 10 mx1.example.com, 20 mx2.example.net */
static void
mx_msg(struct dnsb *w)
{
	size_t at;

	hdr(w, 0x8180, 1, 2);
	question(w, DNSMSG_MX);
	at = rrhead(w, 12, DNSMSG_MX, 1);
	db_u16(w, 10);
	db_nameptr(w, "MX1", 12);	/* upper case: kept lower */
	db_rdend(w, at);
	at = rrhead(w, 12, DNSMSG_MX, 1);
	db_u16(w, 20);
	db_name(w, "mx2.example.net");
	db_rdend(w, at);
}

/* wrap - msg in IPv4/IPv6 (v6) and UDP/TCP (tcp), from sport to 40000 */
static size_t
wrap(const struct dnsb *msg, int v6, int tcp, unsigned sport, uint8_t *out)
{
	static const uint8_t s4[4] = {192, 0, 2, 53}, d4[4] = {192, 0, 2, 25};
	static const uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x53};
	static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x25};
	static struct dnsb w;
	struct db_ip ip = {
		.v6 = v6, .tcp = tcp, .src = v6 ? s6 : s4, .dst = v6 ? d6 : d4,
		.sport = sport, .dport = 40000, .ipid = 1,
	};

	db_wrap(&w, msg, &ip);
	memcpy(out, w.b, w.n);
	return w.n;
}

/* parse - dnsmsg_parse() on w into m */
static int
parse(const struct dnsb *w)
{
	why[0] = '\0';
	return dnsmsg_parse(w->b, w->n, &m, why, sizeof(why));
}

/* mx_ok - whether m holds the two MX answers of mx_msg() */
static int
mx_ok(void)
{
	return m.nrr == 2 && m.nskipped == 0 && m.id == 0x1234 && m.rcode == 0
	    && strcmp(m.qname, "example.com") == 0 && m.qtype == DNSMSG_MX
	    && m.qclass == 1 && m.rr[0].type == DNSMSG_MX
	    && m.rr[0].pref == 10 && m.rr[0].ttl == 3600
	    && strcmp(m.rr[0].owner, "example.com") == 0
	    && strcmp(m.rr[0].target, "mx1.example.com") == 0
	    && m.rr[1].pref == 20
	    && strcmp(m.rr[1].target, "mx2.example.net") == 0;
}

/* test_wraps - the MX message through all four wrappings */
static void
test_wraps(void)
{
	static const char *names[] = { "ipv4/udp", "ipv4/tcp", "ipv6/udp",
	    "ipv6/tcp" };
	uint8_t pkt[9000];
	struct dnspkt p;
	struct dnsb w;
	size_t n;
	int i, r;
	char tn[64], addr[64];

	mx_msg(&w);
	for (i = 0; i < 4; i++) {
		int v6 = i >> 1, tcp = i & 1;
		const struct sockaddr_in *s4 = (const void *) &p.src;
		const struct sockaddr_in6 *s6 = (const void *) &p.src;
		const struct sockaddr_in *d4 = (const void *) &p.dst;
		const struct sockaddr_in6 *d6 = (const void *) &p.dst;
		int addrs;

		n = wrap(&w, v6, tcp, 53, pkt);
		r = dnspkt_unwrap(pkt, n, &p, why, sizeof(why));
		if (v6) {
			inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
			addrs = p.src.ss_family == AF_INET6
			    && ntohs(s6->sin6_port) == 53
			    && strcmp(addr, "2001:db8::53") == 0
			    && ntohs(d6->sin6_port) == 40000
			    && d6->sin6_addr.s6_addr[15] == 0x25;
		} else {
			inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
			addrs = p.src.ss_family == AF_INET
			    && ntohs(s4->sin_port) == 53
			    && strcmp(addr, "192.0.2.53") == 0
			    && ntohs(d4->sin_port) == 40000
			    && d4->sin_addr.s_addr == htonl(0xc0000219);
		}
		snprintf(tn, sizeof(tn), "unwrap %s", names[i]);
		T_CASE(tn, r == 0 && p.tcp == tcp && p.len == w.n
		    && p.off + p.len == n && memcmp(pkt + p.off, w.b, w.n) == 0
		    && addrs, "r=%d why=%s tcp=%d off=%zu len=%zu addr=%s", r,
		    why, p.tcp, p.off, p.len, addr);
		r = dnsmsg_parse(pkt + p.off, p.len, &m, why, sizeof(why));
		snprintf(tn, sizeof(tn), "mx two exchanges via %s", names[i]);
		T_CASE(tn, r == 0 && mx_ok(), "r=%d why=%s nrr=%d t0=%s t1=%s",
		    r, why, m.nrr, m.rr[0].target, m.rr[1].target);
	}
}

/* test_kinds - A, AAAA, a CNAME chain, skipped types and classes */
static void
test_kinds(void)
{
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct dnsb w;
	size_t at, www, alias;
	int r;

	/* www.example.com CNAME alias.example.com CNAME host.example.net A */
	hdr(&w, 0x8180, 1, 6);
	www = w.n;
	db_name(&w, "www.example.com");
	db_u16(&w, DNSMSG_A);
	db_u16(&w, 1);
	at = rrhead(&w, (unsigned) www, DNSMSG_CNAME, 1);
	alias = w.n;
	db_nameptr(&w, "alias", (unsigned) www + 4);	/* alias.example.com */
	db_rdend(&w, at);
	at = rrhead(&w, (unsigned) alias, DNSMSG_CNAME, 1);
	db_name(&w, "host.example.net");
	db_rdend(&w, at);
	at = rrhead(&w, (unsigned) at + 2, DNSMSG_A, 1);	/* host... */
	db_u32(&w, 0xc0000201);
	db_rdend(&w, at);
	at = rrhead(&w, 12, DNSMSG_AAAA, 1);
	memcpy(w.b + w.n, a6, 16);
	w.n += 16;
	db_rdend(&w, at);
	at = rrhead(&w, 12, 16, 1);	/* TXT */
	db_u8(&w, 3);
	db_u8(&w, 'a');
	db_u8(&w, 'b');
	db_u8(&w, 'c');
	db_rdend(&w, at);
	at = rrhead(&w, 12, DNSMSG_A, 3);	/* CHAOS */
	db_u32(&w, 0x7f000001);
	db_rdend(&w, at);
	r = parse(&w);
	T_CASE("cname chain", r == 0 && m.nrr == 4
	    && strcmp(m.qname, "www.example.com") == 0
	    && m.rr[0].type == DNSMSG_CNAME
	    && strcmp(m.rr[0].owner, "www.example.com") == 0
	    && strcmp(m.rr[0].target, "alias.example.com") == 0
	    && strcmp(m.rr[1].owner, "alias.example.com") == 0
	    && strcmp(m.rr[1].target, "host.example.net") == 0,
	    "r=%d why=%s nrr=%d t0=%s o1=%s t1=%s", r, why, m.nrr,
	    m.rr[0].target, m.rr[1].owner, m.rr[1].target);
	T_CASE("a answer", r == 0 && m.nrr >= 3 && m.rr[2].type == DNSMSG_A
	    && strcmp(m.rr[2].owner, "host.example.net") == 0
	    && memcmp(m.rr[2].addr, "\xc0\x00\x02\x01", 4) == 0,
	    "r=%d owner=%s", r, m.rr[2].owner);
	T_CASE("aaaa answer", r == 0 && m.nrr == 4
	    && m.rr[3].type == DNSMSG_AAAA
	    && memcmp(m.rr[3].addr, a6, 16) == 0, "r=%d nrr=%d", r, m.nrr);
	T_CASE("txt and chaos skipped", r == 0 && m.nskipped == 2,
	    "nskipped=%d", m.nskipped);

	/* NS is skipped too; the root owner is "" */
	hdr(&w, 0x8180, 1, 2);
	db_name(&w, "");
	db_u16(&w, 2);
	db_u16(&w, 1);
	at = rrhead(&w, 12, 2, 1);
	db_name(&w, "a.root-servers.net");
	db_rdend(&w, at);
	at = rrhead(&w, 12, DNSMSG_MX, 1);	/* null MX at the root */
	db_u16(&w, 0);
	db_u8(&w, 0);
	db_rdend(&w, at);
	r = parse(&w);
	T_CASE("root name and ns skipped", r == 0 && m.qname[0] == '\0'
	    && m.nskipped == 1 && m.nrr == 1 && m.rr[0].owner[0] == '\0'
	    && m.rr[0].target[0] == '\0' && m.rr[0].pref == 0,
	    "r=%d why=%s nrr=%d nskipped=%d", r, why, m.nrr, m.nskipped);

	/* a TTL with the top bit set is 0 */
	hdr(&w, 0x8180, 1, 2);
	question(&w, DNSMSG_A);
	at = rrhead(&w, 12, DNSMSG_A, 1);
	db_u32(&w, 1);
	db_rdend(&w, at);
	w.b[at - 4] = 0x80;
	at = rrhead(&w, 12, DNSMSG_A, 1);
	db_u32(&w, 2);
	db_rdend(&w, at);
	w.b[at - 4] = 0x7f;
	w.b[at - 3] = w.b[at - 2] = w.b[at - 1] = 0xff;
	r = parse(&w);
	T_CASE("ttl over 2^31-1 is 0", r == 0 && m.nrr == 2
	    && m.rr[0].ttl == 0 && m.rr[1].ttl == 0x7fffffff,
	    "r=%d ttl0=%u ttl1=%u", r, m.rr[0].ttl, m.rr[1].ttl);

	/* rcode kept; TC set, no answers */
	hdr(&w, 0x8383, 1, 0);
	question(&w, DNSMSG_MX);
	r = parse(&w);
	T_CASE("nxdomain rcode kept", r == 0 && m.rcode == 3 && m.nrr == 0,
	    "r=%d rcode=%d", r, m.rcode);
}

/* test_truncate - the MX message cut at every length, raw and wrapped */
static void
test_truncate(void)
{
	uint8_t pkt[9000], *cut;
	struct dnspkt p;
	struct dnsb w;
	size_t n, i;
	int bad = 0, v, r;

	mx_msg(&w);
	for (i = 0; i < w.n; i++) {
		cut = malloc(i ? i : 1);	/* exact size: ASan sees overruns */
		memcpy(cut, w.b, i);
		r = dnsmsg_parse(cut, i, &m, why, sizeof(why));
		if (r != -1 || why[0] == '\0' || m.nrr > 2)
			bad++;
		free(cut);
	}
	T_CASE("message cut at every offset is -1", bad == 0,
	    "%d of %zu accepted", bad, w.n);
	for (v = 0; v < 4; v++) {
		bad = 0;
		n = wrap(&w, v >> 1, v & 1, 53, pkt);
		for (i = 0; i < n; i++) {
			cut = malloc(i ? i : 1);
			memcpy(cut, pkt, i);
			r = dnspkt_unwrap(cut, i, &p, why, sizeof(why));
			if (r != -1 && r != DNSPKT_SKIP)
				bad++;
			free(cut);
		}
		T_CASE(v == 0 ? "ipv4/udp cut at every offset refused" :
		    v == 1 ? "ipv4/tcp cut at every offset refused" :
		    v == 2 ? "ipv6/udp cut at every offset refused" :
		    "ipv6/tcp cut at every offset refused", bad == 0,
		    "%d of %zu accepted", bad, n);
	}
}

/* expect_bad - parse w; the case passes if it is -1 with a reason */
static void
expect_bad(const char *tn, const struct dnsb *w, const char *want)
{
	int r = parse(w);

	T_CASE(tn, r == -1 && strstr(why, want) != NULL, "r=%d why=%s", r,
	    why);
}

/* test_pointers - loops, forward, into the header, too many */
static void
test_pointers(void)
{
	struct dnsb w;
	size_t at, o;
	int i;

	hdr(&w, 0x8180, 1, 0);
	db_u16(&w, 0xc00c);	/* question name points at itself */
	db_u16(&w, 15);
	db_u16(&w, 1);
	expect_bad("pointer to itself", &w, "not backwards");

	mx_msg(&w);
	hdr(&w, 0x8180, 1, 1);
	question(&w, DNSMSG_MX);
	at = rrhead(&w, 12, DNSMSG_MX, 1);
	db_u16(&w, 10);
	o = w.n;
	db_u16(&w, 0xc000 | (unsigned) (o + 2));	/* forward */
	db_u16(&w, 0xc000 | (unsigned) o);
	db_rdend(&w, at);
	expect_bad("forward pointer", &w, "not backwards");

	/* a two-pointer cycle: A at o points to B at o+2 is forward; B to A */
	hdr(&w, 0x8180, 1, 1);
	question(&w, DNSMSG_MX);
	o = w.n;
	db_u16(&w, 0xc000 | (unsigned) (o + 2));
	db_u16(&w, 0xc000 | (unsigned) o);
	db_u16(&w, DNSMSG_MX);
	db_u16(&w, 1);
	db_u32(&w, 1);
	db_u16(&w, 0);
	expect_bad("two-pointer cycle", &w, "not backwards");
	/* and the same cycle entered from the second pointer */
	hdr(&w, 0x8180, 1, 1);
	question(&w, DNSMSG_MX);
	o = w.n;
	db_u8(&w, 1);
	db_u8(&w, 'a');
	db_u16(&w, 0xc000 | (unsigned) (o + 4));	/* to the next name: fwd */
	db_u16(&w, 0xc000 | (unsigned) o);	/* back to "a" + ptr */
	db_u16(&w, DNSMSG_MX);
	db_u16(&w, 1);
	db_u32(&w, 1);
	db_u16(&w, 0);
	expect_bad("label then pointer cycle", &w, "not backwards");

	hdr(&w, 0x8180, 1, 0);
	db_u8(&w, 1);
	db_u8(&w, 'x');
	db_u16(&w, 0xc002);	/* into the header */
	db_u16(&w, 15);
	db_u16(&w, 1);
	expect_bad("pointer into the header", &w, "header");

	/* a chain of DNSMSG_MAX_PTRS + 1 pointers, each one further back */
	hdr(&w, 0x8180, 1, 2);
	question(&w, DNSMSG_MX);
	at = rrhead(&w, 12, 99, 1);	/* the chain, in a skipped rdata */
	for (i = 0; i < DNSMSG_MAX_PTRS; i++)
		db_u16(&w, 0xc000 | (unsigned) (i == 0 ? 12 : w.n - 2));
	db_rdend(&w, at);
	o = w.n - 2;
	at = rrhead(&w, (unsigned) o, DNSMSG_A, 1);
	db_u32(&w, 1);
	db_rdend(&w, at);
	expect_bad("too many pointers", &w, "pointers");
	/* exactly DNSMSG_MAX_PTRS is fine */
	w.b[at - 10] = (uint8_t) (0xc0 | (o - 2) >> 8);
	w.b[at - 9] = (uint8_t) (o - 2);
	T_CASE("max pointers kept", parse(&w) == 0 && m.nrr == 1
	    && m.nskipped == 1 && strcmp(m.rr[0].owner, "example.com") == 0, "why=%s", why);
}

/* test_lengths - counts, rdlengths, long names and labels */
static void
test_lengths(void)
{
	struct dnsb w;
	size_t at;
	char big[400];
	int i;

	hdr(&w, 0x8180, 1, 60000);
	question(&w, DNSMSG_MX);
	at = rrhead(&w, 12, DNSMSG_A, 1);
	db_u32(&w, 1);
	db_rdend(&w, at);
	expect_bad("huge ancount few records", &w, "past the end");

	for (i = 0; i < 3; i++) {
		static const unsigned t[] = { DNSMSG_A, DNSMSG_AAAA, DNSMSG_MX };
		static const char *tn[] = { "a rdlength 5", "aaaa rdlength 4",
		    "mx rdlength 2" };

		hdr(&w, 0x8180, 1, 1);
		question(&w, DNSMSG_MX);
		at = rrhead(&w, 12, t[i], 1);
		db_u32(&w, 0xc0000201);
		if (i == 0)
			db_u8(&w, 0);
		if (i == 2)
			w.n -= 2;
		db_rdend(&w, at);
		expect_bad(tn[i], &w, "rdlength");
	}

	/* MX whose exchange runs past the rdata (into the next octets) */
	hdr(&w, 0x8180, 1, 1);
	question(&w, DNSMSG_MX);
	at = rrhead(&w, 12, DNSMSG_MX, 1);
	db_u16(&w, 10);
	db_name(&w, "mx.example.com");
	db_rdend(&w, at);
	w.b[at + 1] -= 3;	/* the rdata ends inside the name */
	expect_bad("mx name past rdlength", &w, "past the end");
	/* and one that ends before the rdata's end */
	hdr(&w, 0x8180, 1, 1);
	question(&w, DNSMSG_MX);
	at = rrhead(&w, 12, DNSMSG_MX, 1);
	db_u16(&w, 10);
	db_name(&w, "mx.example.com");
	db_u16(&w, 0);
	db_rdend(&w, at);
	expect_bad("mx name short of rdlength", &w, "before");

	/* 63-octet labels: 4 of them are 257 octets on the wire */
	memset(big, 'a', sizeof(big));
	for (i = 63; i < 4 * 64; i += 64)
		big[i] = '.';
	big[4 * 64 - 1] = '\0';
	hdr(&w, 0x8180, 1, 0);
	db_name(&w, big);
	db_u16(&w, 1);
	db_u16(&w, 1);
	expect_bad("name over 255 octets", &w, "over 255");
	/* 3 labels of 63 and one of 61: 255, the longest; text 253 */
	big[3 * 64 + 61] = '\0';
	hdr(&w, 0x8180, 1, 0);
	db_name(&w, big);
	db_u16(&w, 1);
	db_u16(&w, 1);
	T_CASE("name of 255 octets kept", parse(&w) == 0
	    && strlen(m.qname) == 253, "why=%s len=%zu", why, strlen(m.qname));
	big[3 * 64 + 61] = 'a';
	big[3 * 64 + 62] = '\0';
	hdr(&w, 0x8180, 1, 0);
	db_name(&w, big);
	db_u16(&w, 1);
	db_u16(&w, 1);
	expect_bad("name of 256 octets", &w, "over 255");
	/* the long name made by a pointer: 2 + 253 + root */
	hdr(&w, 0x8180, 1, 1);
	big[3 * 64 + 61] = '\0';
	db_name(&w, big);
	db_u16(&w, 1);
	db_u16(&w, 1);
	db_u8(&w, 1);
	db_u8(&w, 'b');
	db_u16(&w, 0xc00c);
	db_u16(&w, DNSMSG_A);
	db_u16(&w, 1);
	db_u32(&w, 1);
	db_u16(&w, 4);
	db_u32(&w, 1);
	expect_bad("pointer makes a name over 255", &w, "over 255");

	hdr(&w, 0x8180, 1, 0);
	db_u8(&w, 64);
	for (i = 0; i < 64; i++)
		db_u8(&w, 'a');
	db_u8(&w, 0);
	db_u16(&w, 1);
	db_u16(&w, 1);
	expect_bad("64-octet label", &w, "label type");
	hdr(&w, 0x8180, 1, 0);
	db_u8(&w, 0x80);
	db_u8(&w, 0);
	db_u16(&w, 1);
	db_u16(&w, 1);
	expect_bad("label type 0x80", &w, "label type");
}

/* test_header - QR, opcode, qdcount, short header */
static void
test_header(void)
{
	struct dnsb w;

	mx_msg(&w);
	w.b[2] &= 0x7f;
	expect_bad("query refused", &w, "query");
	mx_msg(&w);
	w.b[2] |= 0x10;		/* opcode 2 */
	expect_bad("opcode refused", &w, "opcode");
	mx_msg(&w);
	w.b[5] = 0;
	expect_bad("qdcount 0", &w, "0 questions");
	mx_msg(&w);
	w.b[5] = 2;
	expect_bad("qdcount 2", &w, "2 questions");
	mx_msg(&w);
	w.b[2] &= 0x7f;
	T_CASE("why may be NULL", dnsmsg_parse(w.b, w.n, &m, NULL, 0) == -1
	    && dnspkt_unwrap(w.b, 3, &(struct dnspkt) { 0 }, NULL, 0) == -1,
	    "no");
	mx_msg(&w);
	w.b[2] |= 0x02;		/* TC: read as is */
	T_CASE("tc set parsed", parse(&w) == 0 && mx_ok(), "why=%s", why);
}

/* test_labels - label octets: case, dots and controls */
static void
test_labels(void)
{
	struct dnsb w;
	size_t at;
	int r;

	hdr(&w, 0x8180, 1, 3);
	question(&w, DNSMSG_MX);
	at = rrhead(&w, 12, DNSMSG_MX, 1);
	db_u16(&w, 10);
	db_u8(&w, 4);
	db_u8(&w, 'm');
	db_u8(&w, '\n');
	db_u8(&w, 'x');
	db_u8(&w, '1');
	db_u16(&w, 0xc00c);
	db_rdend(&w, at);
	at = rrhead(&w, 12, DNSMSG_MX, 1);
	db_u16(&w, 20);
	db_u8(&w, 3);
	db_u8(&w, 'a');
	db_u8(&w, '.');
	db_u8(&w, 'b');
	db_u16(&w, 0xc00c);
	db_rdend(&w, at);
	at = rrhead(&w, 12, DNSMSG_MX, 1);
	db_u16(&w, 30);
	db_u8(&w, 5);
	db_u8(&w, '_');
	db_u8(&w, 'M');
	db_u8(&w, '-');
	db_u8(&w, '*');
	db_u8(&w, '~');
	db_u16(&w, 0xc00c);
	db_rdend(&w, at);
	r = parse(&w);
	T_CASE("control and dot in a label skip the record", r == 0
	    && m.nrr == 1 && m.nskipped == 2
	    && strcmp(m.rr[0].target, "_m-*~.example.com") == 0,
	    "r=%d why=%s nrr=%d nskipped=%d t=%s", r, why, m.nrr, m.nskipped,
	    m.rr[0].target);
	hdr(&w, 0x8180, 1, 0);
	db_u8(&w, 2);
	db_u8(&w, 'a');
	db_u8(&w, ' ');
	db_u8(&w, 0);
	db_u16(&w, 1);
	db_u16(&w, 1);
	expect_bad("space in the question refused", &w, "question name");
}

/* test_max - more than DNSMSG_MAX_RR answers */
static void
test_max(void)
{
	struct dnsb w;
	size_t at;
	int i, r, ok = 1;

	hdr(&w, 0x8180, 1, DNSMSG_MAX_RR + 6);
	question(&w, DNSMSG_A);
	for (i = 0; i < DNSMSG_MAX_RR + 6; i++) {
		at = rrhead(&w, 12, DNSMSG_A, 1);
		db_u32(&w, (uint32_t) i);
		db_rdend(&w, at);
	}
	r = parse(&w);
	for (i = 0; i < m.nrr; i++)
		if (m.rr[i].addr[3] != i)
			ok = 0;
	T_CASE("over max rr kept max, rest counted", r == 0
	    && m.nrr == DNSMSG_MAX_RR && m.nskipped == 6 && ok,
	    "r=%d why=%s nrr=%d nskipped=%d", r, why, m.nrr, m.nskipped);
	/* a bad record past the maximum is still found */
	w.b[at + 1] = 5;
	db_u8(&w, 0);
	expect_bad("bad record past max still checked", &w, "rdlength");
}

/* test_packets - IP and transport headers */
static void
test_packets(void)
{
	uint8_t pkt[9000], ext[9000];
	struct dnspkt p;
	struct dnsb w;
	size_t n;
	int r;

	mx_msg(&w);
	n = wrap(&w, 0, 0, 53, pkt);
	pkt[6] = 0x20;		/* MF */
	T_CASE("ipv4 more fragments", dnspkt_unwrap(pkt, n, &p, why,
	    sizeof(why)) == -1 && strstr(why, "fragment"), "why=%s", why);
	pkt[6] = 0x00;
	pkt[7] = 0x10;		/* offset */
	T_CASE("ipv4 fragment offset", dnspkt_unwrap(pkt, n, &p, why,
	    sizeof(why)) == -1 && strstr(why, "fragment"), "why=%s", why);
	n = wrap(&w, 0, 0, 53, pkt);
	T_CASE("ipv4 total length over len", dnspkt_unwrap(pkt, n - 1, &p,
	    why, sizeof(why)) == -1 && strstr(why, "total length"), "why=%s",
	    why);
	pkt[0] = 0x44;
	T_CASE("ipv4 ihl 16", dnspkt_unwrap(pkt, n, &p, why,
	    sizeof(why)) == -1 && strstr(why, "header length"), "why=%s", why);
	pkt[0] = 0x45;
	pkt[25] += 1;		/* UDP length */
	T_CASE("udp length mismatch", dnspkt_unwrap(pkt, n, &p, why,
	    sizeof(why)) == -1 && strstr(why, "UDP length"), "why=%s", why);
	pkt[25] -= 1;
	pkt[9] = 1;		/* ICMP */
	T_CASE("icmp skipped", dnspkt_unwrap(pkt, n, &p, why,
	    sizeof(why)) == DNSPKT_SKIP, "why=%s", why);

	/* IPv4 options: skipped */
	n = wrap(&w, 0, 0, 53, pkt);
	memcpy(ext, pkt, 20);
	memset(ext + 20, 1, 8);	/* 8 NOPs */
	memcpy(ext + 28, pkt + 20, n - 20);
	ext[0] = 0x47;
	ext[2] = (uint8_t) ((n + 8) >> 8);
	ext[3] = (uint8_t) (n + 8);
	r = dnspkt_unwrap(ext, n + 8, &p, why, sizeof(why));
	T_CASE("ipv4 options skipped", r == 0 && p.off == 36 && p.len == w.n,
	    "r=%d why=%s off=%zu", r, why, p.off);

	n = wrap(&w, 0, 0, 5353, pkt);
	T_CASE("udp not from port 53 skipped", dnspkt_unwrap(pkt, n, &p,
	    why, sizeof(why)) == DNSPKT_SKIP, "why=%s", why);
	n = wrap(&w, 1, 1, 853, pkt);
	T_CASE("tcp not from port 53 skipped", dnspkt_unwrap(pkt, n, &p,
	    why, sizeof(why)) == DNSPKT_SKIP, "why=%s", why);

	/* TCP: the message split over two segments, and two in one */
	n = wrap(&w, 0, 1, 53, pkt);
	pkt[2] = (uint8_t) ((n - 10) >> 8);
	pkt[3] = (uint8_t) (n - 10);
	T_CASE("tcp split message skipped", dnspkt_unwrap(pkt, n - 10, &p,
	    why, sizeof(why)) == DNSPKT_SKIP, "why=%s", why);
	n = wrap(&w, 0, 1, 53, pkt);
	pkt[41] -= 1;		/* prefix one short of the payload */
	T_CASE("tcp prefix under payload skipped", dnspkt_unwrap(pkt, n, &p,
	    why, sizeof(why)) == DNSPKT_SKIP, "why=%s", why);
	n = wrap(&w, 0, 1, 53, pkt);
	pkt[32] = 0x40;		/* data offset 16 */
	T_CASE("tcp data offset under 20", dnspkt_unwrap(pkt, n, &p, why,
	    sizeof(why)) == -1 && strstr(why, "data offset"), "why=%s", why);
	/* a pure ACK: no payload */
	{
		struct dnsb e = { .n = 0 };

		n = wrap(&e, 1, 1, 53, pkt);
		T_CASE("tcp zero-length message skipped", dnspkt_unwrap(pkt,
		    n, &p, why, sizeof(why)) == DNSPKT_SKIP, "n=%zu", n);
		pkt[5] -= 2;
		T_CASE("tcp pure ack skipped", dnspkt_unwrap(pkt, n - 2, &p,
		    why, sizeof(why)) == DNSPKT_SKIP, "why=%s", why);
	}

	{
		struct dnsb e = { .n = 0 };

		n = wrap(&e, 0, 0, 53, pkt);
		T_CASE("udp without a payload", dnspkt_unwrap(pkt, n, &p, why,
		    sizeof(why)) == -1 && strstr(why, "payload"), "why=%s",
		    why);
	}

	/* IPv6: payload length, a destination-options header, fragment */
	n = wrap(&w, 1, 0, 53, pkt);
	T_CASE("ipv6 payload length over len", dnspkt_unwrap(pkt, n - 1, &p,
	    why, sizeof(why)) == -1 && strstr(why, "payload length"),
	    "why=%s", why);
	memcpy(ext, pkt, 40);
	memset(ext + 40, 0, 8);
	ext[40] = 17;		/* next: UDP */
	ext[42] = 1;		/* PadN */
	ext[43] = 4;
	memcpy(ext + 48, pkt + 40, n - 40);
	ext[6] = 60;
	ext[5] = (uint8_t) (n - 40 + 8);
	ext[4] = (uint8_t) ((n - 40 + 8) >> 8);
	r = dnspkt_unwrap(ext, n + 8, &p, why, sizeof(why));
	T_CASE("ipv6 destination options walked", r == 0 && p.off == 56
	    && p.len == w.n, "r=%d why=%s off=%zu", r, why, p.off);
	ext[41] = 200;		/* header length past the end */
	T_CASE("ipv6 extension header past the end", dnspkt_unwrap(ext,
	    n + 8, &p, why, sizeof(why)) == -1 && strstr(why, "extension"),
	    "why=%s", why);
	ext[41] = 0;
	ext[6] = 44;
	T_CASE("ipv6 fragment header refused", dnspkt_unwrap(ext, n + 8, &p,
	    why, sizeof(why)) == -1 && strstr(why, "fragment"), "why=%s", why);
	ext[6] = 0;
	ext[40] = 0;		/* hop-by-hop pointing at itself again... */
	T_CASE("ipv6 extension chain ends", dnspkt_unwrap(ext, n + 8, &p,
	    why, sizeof(why)) != 0, "why=%s", why);
	pkt[0] = 0x50;
	T_CASE("ip version 5", dnspkt_unwrap(pkt, n, &p, why, sizeof(why))
	    == -1 && strstr(why, "version"), "why=%s", why);
}

int
main(void)
{
	T_INIT("test_dnsmsg");
	test_wraps();
	test_kinds();
	test_truncate();
	test_pointers();
	test_lengths();
	test_header();
	test_labels();
	test_max();
	test_packets();
	return t_done();
}
