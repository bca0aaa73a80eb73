/*
 * dnsmsg.h - the DNS answers an old MTA receives, as the DNS watcher sees
 * them (issue 12): an IP packet from NFQUEUE unwrapped to its DNS
 * message, and the message's MX, A, AAAA and CNAME answers.  Pure: octets
 * in, a struct out; nothing in the packet is trusted.
 *
 * SYNOPSIS
 *	int dnspkt_unwrap(const uint8_t *ip, size_t len, struct dnspkt *p,
 *		char *why, size_t whylen);
 *	int dnsmsg_parse(const uint8_t *msg, size_t len, struct dnsmsg *m,
 *		char *why, size_t whylen);
 *
 * DESCRIPTION
 *	dnspkt_unwrap() reads an IPv4 or IPv6 packet (as NFQUEUE hands it:
 *	from the IP header on) carrying a DNS response from port 53: UDP, or
 *	TCP whose payload is one whole DNS message with its two-octet length
 *	(RFC 1035 4.2.2; anything else, such as a message split over
 *	segments, is refused with DNSPKT_SKIP).  It gives the addresses and
 *	ports (src: the DNS server, dst: the MTA that asked; a sockaddr_in
 *	or sockaddr_in6, port in network order) and where the DNS message
 *	lies in ip[].  IPv4 options are skipped; the IPv6
 *	hop-by-hop, routing and destination-options headers are walked (at
 *	most 8, each checked against len).  Fragments (IPv4 MF or offset,
 *	an IPv6 fragment header), lengths that disagree with len (IPv4 total
 *	length, IPv6 payload length, UDP length, a TCP data offset past the
 *	end), UDP without a payload, and versions other than 4 and 6 are
 *	-1; p->len is never 0 when 0 is returned.  Another protocol or
 *	IPv6 next header, a source port other than 53, and TCP that is not
 *	exactly one non-empty message (a length prefix other than the
 *	payload's length less two) are DNSPKT_SKIP.  Checksums are not
 *	checked (the kernel has).
 *
 *	dnsmsg_parse() reads a DNS message: it must be a response (QR set),
 *	opcode QUERY, with exactly one question; rcode is kept.  Every
 *	answer-section record of class IN and of type MX, A, AAAA or CNAME
 *	is kept (owner and target names in lower case without the trailing
 *	dot, the root as ""; TTL, one over 2^31 - 1 as 0, RFC 2181 8;
 *	preference; address), at most DNSMSG_MAX_RR; others are counted in
 *	nskipped, their rdata skipped unread.  Authority and additional sections are not
 *	read.  No count or length is trusted: every read is checked against
 *	len, compression pointers must point backwards (before the name that
 *	uses them) and at most DNSMSG_MAX_PTRS are followed in one name, a
 *	name is at most 255 octets on the wire (RFC 1035 2.3.4), and an
 *	rdlength must be exactly what the type needs (A 4, AAAA 16, MX 2
 *	plus a name that ends at the rdata's end, CNAME a name that does);
 *	any of these is -1 for the whole message, as is an ancount larger
 *	than the records there (the TC bit changes nothing: a truncated
 *	message is read like any other).  A pointer must point before the
 *	start of the labels that hold it (so each pointer goes further
 *	back) and not into the 12-octet header; labels are 1 to 63 octets
 *	(types 0x40 and 0x80 are -1).  A label octet outside 0x21..0x7e, or
 *	a '.', refuses the record (counted in nskipped) in an answer and
 *	the message in the question: a kept name never holds a control
 *	character, a space or an ambiguous dot.  Past DNSMSG_MAX_RR kept
 *	records the rest are still checked, and counted in nskipped.
 *
 * DIAGNOSTICS
 *	0; DNSPKT_SKIP (dnspkt_unwrap: not a packet the watcher reads, such
 *	as TCP without a whole message); or -1 with the reason in why (when
 *	why is not NULL).  Whatever is not 0 leaves *p or *m partly filled,
 *	not to be used.
 */
#ifndef MXTLS_DNSMSG_H
#define MXTLS_DNSMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNSMSG_NAME_MAX	254		/* a name's text, with its NUL */
#define DNSMSG_MAX_RR	64
#define DNSMSG_MAX_PTRS	32
#define DNSPKT_SKIP	1

enum { DNSMSG_A = 1, DNSMSG_CNAME = 5, DNSMSG_MX = 15, DNSMSG_AAAA = 28 };

struct dnspkt {
	struct sockaddr_storage src;	/* the DNS server (port 53) */
	struct sockaddr_storage dst;	/* the MTA that asked */
	int tcp;
	size_t off, len;		/* the DNS message in ip[] */
};

struct dnsmsg_rr {
	uint16_t type;			/* DNSMSG_A ... */
	uint32_t ttl;
	char owner[DNSMSG_NAME_MAX];
	char target[DNSMSG_NAME_MAX];	/* MX exchange, CNAME target */
	uint16_t pref;			/* MX */
	uint8_t addr[16];		/* A: 4 octets, AAAA: 16 */
};

struct dnsmsg {
	uint16_t id;
	int rcode;
	char qname[DNSMSG_NAME_MAX];
	uint16_t qtype, qclass;
	struct dnsmsg_rr rr[DNSMSG_MAX_RR];
	int nrr;
	int nskipped;			/* answers not kept: other types or
					 * classes, or past DNSMSG_MAX_RR */
};

int dnspkt_unwrap(const uint8_t *ip, size_t len, struct dnspkt *p, char *why,
    size_t whylen);
int dnsmsg_parse(const uint8_t *msg, size_t len, struct dnsmsg *m, char *why,
    size_t whylen);

#endif
