/*
 * dnsbuild.c - DNS messages and their packets, for tests and benches.
 */
#include <stdlib.h>
#include <string.h>

#include "dnsbuild.h"

/* db_u8 - one octet */
void
db_u8(struct dnsb *w, unsigned v)
{
	if (w->n >= sizeof(w->b))
		abort();
	w->b[w->n++] = (uint8_t) v;
}

/* db_u16 - a big-endian 16-bit value */
void
db_u16(struct dnsb *w, unsigned v)
{
	db_u8(w, v >> 8 & 0xff);
	db_u8(w, v & 0xff);
}

/* db_u32 - a big-endian 32-bit value */
void
db_u32(struct dnsb *w, uint32_t v)
{
	db_u16(w, v >> 16);
	db_u16(w, v & 0xffff);
}

/* db_bytes - n octets as they are */
void
db_bytes(struct dnsb *w, const void *p, size_t n)
{
	if (n > sizeof(w->b) - w->n)
		abort();
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* db_labels - a dotted name's labels, no terminator */
void
db_labels(struct dnsb *w, const char *name)
{
	const char *p = name, *dot;
	size_t l;

	while (*p) {
		dot = strchr(p, '.');
		l = dot ? (size_t) (dot - p) : strlen(p);
		db_u8(w, (unsigned) l);
		db_bytes(w, p, l);
		p += l;
		if (*p == '.')
			p++;
	}
}

/* db_name - a name in full, ending with the root */
void
db_name(struct dnsb *w, const char *name)
{
	db_labels(w, name);
	db_u8(w, 0);
}

/* db_nameptr - labels, then a compression pointer to off */
void
db_nameptr(struct dnsb *w, const char *name, unsigned off)
{
	db_labels(w, name);
	db_u16(w, 0xc000 | off);
}

/* db_header - start a message: id, flags and the four counts */
void
db_header(struct dnsb *w, unsigned id, unsigned flags, unsigned qd,
    unsigned an, unsigned ns, unsigned ar)
{
	w->n = 0;
	db_u16(w, id);
	db_u16(w, flags);
	db_u16(w, qd);
	db_u16(w, an);
	db_u16(w, ns);
	db_u16(w, ar);
}

/* db_rr - type, class, TTL and a zero rdlength; where that rdlength is */
size_t
db_rr(struct dnsb *w, unsigned type, unsigned class, uint32_t ttl)
{
	size_t at;

	db_u16(w, type);
	db_u16(w, class);
	db_u32(w, ttl);
	at = w->n;
	db_u16(w, 0);
	return at;
}

/* db_rdend - the rdlength at at: what was written after it */
void
db_rdend(struct dnsb *w, size_t at)
{
	size_t l = w->n - at - 2;

	w->b[at] = (uint8_t) (l >> 8);
	w->b[at + 1] = (uint8_t) l;
}

/* db_opt - an EDNS OPT record */
void
db_opt(struct dnsb *w, unsigned udpsize)
{
	db_u8(w, 0);
	db_u16(w, 41);
	db_u16(w, udpsize);
	db_u32(w, 0);
	db_u16(w, 0);
}

/* db_csum - the 16-bit ones' complement sum of b[0..n), folded */
unsigned
db_csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t) b[i] << 8 | b[i + 1];
	if (i < n)
		s += (uint32_t) b[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned) s;
}

/* db_wrap - msg in an IPv4/IPv6 and UDP/TCP packet, into out */
void
db_wrap(struct dnsb *out, const struct dnsb *msg, const struct db_ip *ip)
{
	size_t mn = msg ? msg->n : 0;
	size_t l4 = ip->tcp ? 20 + (msg ? 2 : 0) : 8;
	unsigned ck;

	out->n = 0;
	if (ip->v6) {
		db_u32(out, 0x60000000);
		db_u16(out, (unsigned) (l4 + mn));
		db_u8(out, ip->tcp ? 6 : 17);
		db_u8(out, 64);
		db_bytes(out, ip->src, 16);
		db_bytes(out, ip->dst, 16);
	} else {
		db_u8(out, 0x45);
		db_u8(out, 0);
		db_u16(out, (unsigned) (20 + l4 + mn));
		db_u16(out, ip->ipid);
		db_u16(out, 0x4000);	/* DF */
		db_u8(out, 64);
		db_u8(out, ip->tcp ? 6 : 17);
		db_u16(out, 0);
		db_bytes(out, ip->src, 4);
		db_bytes(out, ip->dst, 4);
		ck = db_csum(out->b, 20) ^ 0xffff;
		out->b[10] = (uint8_t) (ck >> 8);
		out->b[11] = (uint8_t) ck;
	}
	db_u16(out, ip->sport);
	db_u16(out, ip->dport);
	if (ip->tcp) {
		db_u32(out, 1);		/* seq */
		db_u32(out, 1);		/* ack */
		db_u16(out, msg ? 0x5018 : 0x5010);	/* offset 5, (PSH) ACK */
		db_u16(out, 65535);
		db_u32(out, 0);		/* checksum, urgent */
		if (msg)
			db_u16(out, (unsigned) mn);
	} else {
		db_u16(out, (unsigned) (8 + mn));
		db_u16(out, 0);
	}
	if (msg)
		db_bytes(out, msg->b, mn);
}
