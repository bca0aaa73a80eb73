/*
 * dnsmsg.c - the DNS watcher's packet and message parser, pure.  See
 * dnsmsg.h.
 *
 * Lengths are checked as `len - off < need' (off <= len always holds);
 * nothing here allocates, logs, reads a clock or keeps state.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dnsmsg.h"

#define IP4_HDR		20
#define IP6_HDR		40
#define UDP_HDR		8
#define TCP_HDR		20
#define DNS_HDR		12
#define IP6_EXT_MAX	8	/* extension headers walked before UDP/TCP */
#define NAME_WIRE_MAX	255	/* RFC 1035 2.3.4 */

/* bad - write the reason into why (if any) and return -1 */
static int
bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		(void) vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* be16 - a big-endian 16-bit value */
static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t) (p[0] << 8 | p[1]);
}

/* be32 - a big-endian 32-bit value */
static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
	    | (uint32_t) p[2] << 8 | p[3];
}

/* set_sa - an address and port as a sockaddr_in or sockaddr_in6 */
static void
set_sa(struct sockaddr_storage *ss, int v6, const uint8_t *addr,
    uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *) ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr, 4);
	}
}

/* ip4_hdr - the IPv4 header: where the transport lies and its protocol */
static int
ip4_hdr(const uint8_t *ip, size_t len, size_t *off, int *proto, char *why,
    size_t whylen)
{
	size_t ihl, total;

	if (len < IP4_HDR)
		return bad(why, whylen, "IPv4 header: %zu octets", len);
	ihl = (size_t) (ip[0] & 0x0f) * 4;
	if (ihl < IP4_HDR || ihl > len)
		return bad(why, whylen, "IPv4 header length %zu in %zu", ihl,
		    len);
	total = be16(ip + 2);
	if (total != len)
		return bad(why, whylen, "IPv4 total length %zu, packet %zu",
		    total, len);
	if (be16(ip + 6) & 0x3fff)
		return bad(why, whylen, "IPv4 fragment");
	*off = ihl;
	*proto = ip[9];
	return 0;
}

/* ip6_hdr - the IPv6 header and the extension headers it may walk */
static int
ip6_hdr(const uint8_t *ip, size_t len, size_t *off, int *proto, char *why,
    size_t whylen)
{
	size_t o = IP6_HDR, n;
	int nh, i;

	if (len < IP6_HDR)
		return bad(why, whylen, "IPv6 header: %zu octets", len);
	if ((size_t) be16(ip + 4) != len - IP6_HDR)
		return bad(why, whylen, "IPv6 payload length %u, packet %zu",
		    be16(ip + 4), len);
	nh = ip[6];
	for (i = 0; nh == 0 || nh == 43 || nh == 60; i++) {
		if (i == IP6_EXT_MAX)
			return bad(why, whylen, "over %d IPv6 extension headers",
			    IP6_EXT_MAX);
		if (len - o < 8)
			return bad(why, whylen, "IPv6 extension header %d "
			    "past the end", nh);
		n = ((size_t) ip[o + 1] + 1) * 8;
		if (len - o < n)
			return bad(why, whylen, "IPv6 extension header %d "
			    "of %zu octets past the end", nh, n);
		nh = ip[o];
		o += n;
	}
	if (nh == 44)
		return bad(why, whylen, "IPv6 fragment");
	*off = o;
	*proto = nh;
	return 0;
}

/* udp_seg - the DNS message in a UDP datagram at ip[off..len) */
static int
udp_seg(const uint8_t *ip, size_t len, size_t off, struct dnspkt *p,
    char *why, size_t whylen)
{
	if (len - off < UDP_HDR)
		return bad(why, whylen, "UDP header: %zu octets", len - off);
	if ((size_t) be16(ip + off + 4) != len - off)
		return bad(why, whylen, "UDP length %u, %zu octets left",
		    be16(ip + off + 4), len - off);
	if (len - off == UDP_HDR)
		return bad(why, whylen, "UDP without a payload");
	p->off = off + UDP_HDR;
	p->len = len - p->off;
	return 0;
}

/* tcp_seg - the one whole DNS message in a TCP segment at ip[off..len) */
static int
tcp_seg(const uint8_t *ip, size_t len, size_t off, struct dnspkt *p,
    char *why, size_t whylen)
{
	size_t doff, data;

	if (len - off < TCP_HDR)
		return bad(why, whylen, "TCP header: %zu octets", len - off);
	doff = (size_t) (ip[off + 12] >> 4) * 4;
	if (doff < TCP_HDR || doff > len - off)
		return bad(why, whylen, "TCP data offset %zu in %zu", doff,
		    len - off);
	data = off + doff;
	if (len - data < 2 || (size_t) be16(ip + data) != len - data - 2
	    || len - data == 2)
		return DNSPKT_SKIP;
	p->off = data + 2;
	p->len = len - p->off;
	return 0;
}

/* dnspkt_unwrap - an IP packet from NFQUEUE to its DNS message */
int
dnspkt_unwrap(const uint8_t *ip, size_t len, struct dnspkt *p, char *why,
    size_t whylen)
{
	size_t off = 0;
	int v6, proto = 0, r;

	memset(p, 0, sizeof(*p));
	if (len < 1)
		return bad(why, whylen, "empty packet");
	if ((ip[0] >> 4) == 4)
		v6 = 0;
	else if ((ip[0] >> 4) == 6)
		v6 = 1;
	else
		return bad(why, whylen, "IP version %d", ip[0] >> 4);
	r = v6 ? ip6_hdr(ip, len, &off, &proto, why, whylen)
	    : ip4_hdr(ip, len, &off, &proto, why, whylen);
	if (r != 0)
		return r;
	if (proto == 17)
		r = udp_seg(ip, len, off, p, why, whylen);
	else if (proto == 6)
		r = tcp_seg(ip, len, off, p, why, whylen);
	else
		return DNSPKT_SKIP;
	if (r != 0)
		return r;
	if (be16(ip + off) != 53)
		return DNSPKT_SKIP;
	p->tcp = proto == 6;
	set_sa(&p->src, v6, v6 ? ip + 8 : ip + 12, be16(ip + off));
	set_sa(&p->dst, v6, v6 ? ip + 24 : ip + 16, be16(ip + off + 2));
	return 0;
}

/*
 * name_read - the name at msg[*off], decompressed, as lower-case text
 * without the trailing dot ("" for the root) in out[DNSMSG_NAME_MAX];
 * *off moves past the name where it is (not where a pointer led).  A
 * label with '.' or an octet outside 0x21..0x7e sets *odd and puts '?'
 * in the text; a malformed name is -1.
 */
static int
name_read(const uint8_t *msg, size_t len, size_t *off, char *out, int *odd,
    char *why, size_t whylen)
{
	size_t o = *off, run = *off, wire = 0, t = 0, end = 0, i;
	int ptrs = 0, jumped = 0;
	uint8_t c;

	*odd = 0;
	for (;;) {
		if (o >= len)
			return bad(why, whylen, "name at %zu past the end", *off);
		c = msg[o];
		if ((c & 0xc0) == 0xc0) {
			if (len - o < 2)
				return bad(why, whylen, "name at %zu: pointer "
				    "past the end", *off);
			if (++ptrs > DNSMSG_MAX_PTRS)
				return bad(why, whylen, "name at %zu: over %d "
				    "pointers", *off, DNSMSG_MAX_PTRS);
			i = (size_t) (be16(msg + o) & 0x3fff);
			if (i >= run)
				return bad(why, whylen, "name at %zu: pointer "
				    "to %zu not backwards", *off, i);
			if (i < DNS_HDR)
				return bad(why, whylen, "name at %zu: pointer "
				    "into the header", *off);
			if (!jumped)
				end = o + 2;
			jumped = 1;
			o = run = i;
			continue;
		}
		if (c & 0xc0)
			return bad(why, whylen, "name at %zu: label type "
			    "0x%02x", *off, c & 0xc0);
		wire += (size_t) c + 1;
		if (wire + (c != 0) > NAME_WIRE_MAX)	/* room for the root */
			return bad(why, whylen, "name at %zu over %d octets",
			    *off, NAME_WIRE_MAX);
		if (c == 0)
			break;
		if (len - o - 1 < c)
			return bad(why, whylen, "name at %zu: label past the "
			    "end", *off);
		if (t > 0)
			out[t++] = '.';
		for (i = 1; i <= c; i++) {
			uint8_t b = msg[o + i];

			if (b < 0x21 || b > 0x7e || b == '.') {
				*odd = 1;
				b = '?';
			} else if (b >= 'A' && b <= 'Z')
				b = (uint8_t) (b - 'A' + 'a');
			out[t++] = (char) b;
		}
		o += (size_t) c + 1;
	}
	out[t] = '\0';
	*off = jumped ? end : o + 1;
	return 0;
}

/* rr_keep - the rdata of an answer kept: A, AAAA, MX, CNAME */
static int
rr_keep(const uint8_t *msg, size_t rd, size_t rdlen,
    struct dnsmsg_rr *rr, int *odd, char *why, size_t whylen)
{
	size_t o = rd;

	switch (rr->type) {
	case DNSMSG_A:
	case DNSMSG_AAAA:
		if (rdlen != (rr->type == DNSMSG_A ? 4u : 16u))
			return bad(why, whylen, "%s %s: rdlength %zu",
			    rr->type == DNSMSG_A ? "A" : "AAAA", rr->owner,
			    rdlen);
		memcpy(rr->addr, msg + rd, rdlen);
		return 0;
	case DNSMSG_MX:
		if (rdlen < 3)
			return bad(why, whylen, "MX %s: rdlength %zu",
			    rr->owner, rdlen);
		rr->pref = be16(msg + rd);
		o += 2;
		break;
	}
	/* the name must end at the rdata's end, read only within it */
	if (name_read(msg, rd + rdlen, &o, rr->target, odd, why, whylen) != 0)
		return -1;
	if (o != rd + rdlen)
		return bad(why, whylen, "%s %s: name ends %zu octets before "
		    "the rdata's end", rr->type == DNSMSG_MX ? "MX" : "CNAME",
		    rr->owner, rd + rdlen - o);
	return 0;
}

/* kept_type - whether an answer's type is one dnsmsg_parse() keeps */
static int
kept_type(uint16_t type)
{
	return type == DNSMSG_A || type == DNSMSG_AAAA || type == DNSMSG_MX
	    || type == DNSMSG_CNAME;
}

/* answer - one answer-section record at msg[*off] */
static int
answer(const uint8_t *msg, size_t len, size_t *off, struct dnsmsg *m,
    char *why, size_t whylen)
{
	struct dnsmsg_rr tmp, *rr;
	size_t rd, rdlen;
	uint16_t type, class;
	int odd, odd2 = 0;

	rr = m->nrr < DNSMSG_MAX_RR ? &m->rr[m->nrr] : &tmp;
	memset(rr, 0, sizeof(*rr));
	if (name_read(msg, len, off, rr->owner, &odd, why, whylen) != 0)
		return -1;
	if (len - *off < 10)
		return bad(why, whylen, "answer %s past the end", rr->owner);
	type = be16(msg + *off);
	class = be16(msg + *off + 2);
	rr->ttl = be32(msg + *off + 4);
	if (rr->ttl > 0x7fffffff)	/* RFC 2181 8 */
		rr->ttl = 0;
	rdlen = be16(msg + *off + 8);
	rd = *off + 10;
	if (len - rd < rdlen)
		return bad(why, whylen, "answer %s: rdlength %zu past the end",
		    rr->owner, rdlen);
	*off = rd + rdlen;
	if (class != 1 || !kept_type(type)) {
		m->nskipped++;
		return 0;
	}
	rr->type = type;
	if (rr_keep(msg, rd, rdlen, rr, &odd2, why, whylen) != 0)
		return -1;
	if (odd || odd2 || rr == &tmp)
		m->nskipped++;
	else
		m->nrr++;
	return 0;
}

/* dnsmsg_parse - a DNS response's header, question and answers */
int
dnsmsg_parse(const uint8_t *msg, size_t len, struct dnsmsg *m, char *why,
    size_t whylen)
{
	size_t off = DNS_HDR;
	uint16_t flags, ancount, i;
	int odd;

	m->id = 0;
	m->rcode = 0;
	m->qname[0] = '\0';
	m->qtype = m->qclass = 0;
	m->nrr = m->nskipped = 0;
	if (len < DNS_HDR)
		return bad(why, whylen, "DNS header: %zu octets", len);
	m->id = be16(msg);
	flags = be16(msg + 2);
	if (!(flags & 0x8000))
		return bad(why, whylen, "a query, not a response");
	if ((flags >> 11 & 0x0f) != 0)
		return bad(why, whylen, "opcode %d", flags >> 11 & 0x0f);
	m->rcode = flags & 0x0f;
	if (be16(msg + 4) != 1)
		return bad(why, whylen, "%u questions", be16(msg + 4));
	ancount = be16(msg + 6);
	if (name_read(msg, len, &off, m->qname, &odd, why, whylen) != 0)
		return -1;
	if (odd)
		return bad(why, whylen, "question name with '.' or a "
		    "non-printable octet in a label");
	if (len - off < 4)
		return bad(why, whylen, "question %s past the end", m->qname);
	m->qtype = be16(msg + off);
	m->qclass = be16(msg + off + 2);
	off += 4;
	for (i = 0; i < ancount; i++)
		if (answer(msg, len, &off, m, why, whylen) != 0)
			return -1;
	return 0;
}
