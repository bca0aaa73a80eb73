/*
 * dnsbuild.h - DNS messages and the packets that carry them, built octet
 * by octet for the tests, the fuzz seeds and the benches (never for the
 * product: mxtlsd builds no DNS packets).
 *
 * SYNOPSIS
 *	struct dnsb w = { .n = 0 };
 *	void db_u8(struct dnsb *w, unsigned v);
 *	void db_u16(struct dnsb *w, unsigned v);
 *	void db_u32(struct dnsb *w, uint32_t v);
 *	void db_bytes(struct dnsb *w, const void *p, size_t n);
 *	void db_labels(struct dnsb *w, const char *name);
 *	void db_name(struct dnsb *w, const char *name);
 *	void db_nameptr(struct dnsb *w, const char *name, unsigned off);
 *	void db_header(struct dnsb *w, unsigned id, unsigned flags,
 *		unsigned qd, unsigned an, unsigned ns, unsigned ar);
 *	size_t db_rr(struct dnsb *w, unsigned type, unsigned class,
 *		uint32_t ttl);
 *	void db_rdend(struct dnsb *w, size_t at);
 *	void db_opt(struct dnsb *w, unsigned udpsize);
 *	void db_wrap(struct dnsb *out, const struct dnsb *msg,
 *		const struct db_ip *ip);
 *	unsigned db_csum(const uint8_t *b, size_t n);
 *
 * DESCRIPTION
 *	Every writer appends to w->b at w->n, in network order, and aborts
 *	when the buffer (DNSB_MAX octets) would overflow: a test that builds
 *	too much is a broken test.  w->b and w->n stay plain, so a test may
 *	patch octets in place to make a hostile message.
 *
 *	db_labels() writes a dotted name's labels with no terminator ("": none,
 *	and each label's length is its length, so a label of 64 or more octets
 *	comes out as given: the tests want those); db_name() adds the root,
 *	db_nameptr() a compression pointer to off instead.  db_header() starts
 *	a message (w->n = 0).  db_rr() writes a resource record's type, class,
 *	TTL and a zero rdlength, after the owner the caller wrote, and returns
 *	where that rdlength is; db_rdend() sets it to what was written since.
 *	db_opt() appends an EDNS OPT record (root owner).
 *
 *	db_wrap() puts msg in an IPv4 or IPv6 header and UDP or TCP (ip->tcp:
 *	one segment with the two-octet length prefix, PSH ACK), from
 *	ip->src:ip->sport to ip->dst:ip->dport; ip->src and ip->dst are 4 or 16
 *	octets as ip->v6 says.  A NULL msg makes a bare segment (TCP: ACK
 *	only, no length prefix; UDP: an empty datagram).  The IPv4 header checksum is filled in; the UDP
 *	and TCP checksums are 0 (NFQUEUE's packets were checked by the kernel).
 *	db_csum() is the 16-bit ones' complement sum of b[0..n), folded.
 */
#ifndef MXTLS_TESTS_DNSBUILD_H
#define MXTLS_TESTS_DNSBUILD_H

#include <stddef.h>
#include <stdint.h>

#define DNSB_MAX	8192

struct dnsb {
	uint8_t b[DNSB_MAX];
	size_t n;
};

struct db_ip {
	int v6;				/* IPv6, else IPv4 */
	int tcp;			/* TCP, else UDP */
	const uint8_t *src, *dst;	/* 4 or 16 octets */
	unsigned sport, dport;
	unsigned ipid;			/* IPv4 identification */
};

void db_u8(struct dnsb *w, unsigned v);
void db_u16(struct dnsb *w, unsigned v);
void db_u32(struct dnsb *w, uint32_t v);
void db_bytes(struct dnsb *w, const void *p, size_t n);
void db_labels(struct dnsb *w, const char *name);
void db_name(struct dnsb *w, const char *name);
void db_nameptr(struct dnsb *w, const char *name, unsigned off);
void db_header(struct dnsb *w, unsigned id, unsigned flags, unsigned qd,
    unsigned an, unsigned ns, unsigned ar);
size_t db_rr(struct dnsb *w, unsigned type, unsigned class, uint32_t ttl);
void db_rdend(struct dnsb *w, size_t at);
void db_opt(struct dnsb *w, unsigned udpsize);
void db_wrap(struct dnsb *out, const struct dnsb *msg, const struct db_ip *ip);
unsigned db_csum(const uint8_t *b, size_t n);

#endif
