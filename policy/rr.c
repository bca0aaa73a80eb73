/*
 * rr.c - pure decoding of DNS rdata.  See rr.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../lib/dname.h"
#include "rr.h"

/* rr_name - one uncompressed wire-format name */
int
rr_name(const unsigned char *p, size_t len, size_t *off, char *out, size_t outlen)
{
	size_t o = *off, w = 0, total = 0;

	if (outlen < 2)
		return -1;
	for (;;) {
		size_t l;

		if (len - o < 1 || o > len)
			return -1;
		l = p[o++];
		if (l == 0)
			break;
		if (l > 63 || len - o < l)
			return -1;		/* also catches 0xc0 pointers */
		total += l + 1;		/* its length octet and the label */
		if (total > 254)
			return -1;	/* 255 octets on the wire with the root: 253 as text */
		if (w + l + 2 > outlen)
			return -1;
		if (w > 0)
			out[w++] = '.';
		for (size_t i = 0; i < l; i++) {
			unsigned char c = p[o + i];

			if (!isalnum(c) && c != '-' && c != '_')
				return -1;	/* a dot or NUL inside a label, too */
			out[w++] = (char) c;
		}
		o += l;
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	if (strcmp(out, ".") != 0 && !dname_dns_ok(out, w))
		return -1;			/* e.g. a hyphen at a label's end */
	(void) dname_lower(out, outlen, out, w);
	*off = o;
	return 0;
}

/* rr_mx - preference and exchange */
int
rr_mx(const unsigned char *rd, size_t len, int *pref, char *host, size_t hostlen)
{
	size_t off = 2;

	if (len < 3)
		return -1;
	*pref = (rd[0] << 8) | rd[1];
	if (rr_name(rd, len, &off, host, hostlen) < 0 || off != len)
		return -1;
	return 0;
}

/* rr_tlsa - strict TLSA decoding */
int
rr_tlsa(const unsigned char *rd, size_t len, struct rr_tlsa *t, const char **why)
{
	if (len < 4) {
		*why = "TLSA record too short";
		return -1;
	}
	t->usage = rd[0];
	t->selector = rd[1];
	t->mtype = rd[2];
	t->data = rd + 3;
	t->len = len - 3;
	if (t->usage > 3) {
		*why = "unknown certificate usage";
		return -1;
	}
	if (t->selector > 1) {
		*why = "unknown selector";
		return -1;
	}
	switch (t->mtype) {
	case 0:
		break;
	case 1:
		if (t->len != 32) {
			*why = "SHA2-256 data is not 32 octets";
			return -1;
		}
		break;
	case 2:
		if (t->len != 64) {
			*why = "SHA2-512 data is not 64 octets";
			return -1;
		}
		break;
	default:
		*why = "unknown matching type";
		return -1;
	}
	return 0;
}

/* rr_tlsa_text - presentation form */
void
rr_tlsa_text(const struct rr_tlsa *t, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	int n = snprintf(out, outlen, "%u %u %u ", t->usage, t->selector, t->mtype);
	size_t w;

	if (n < 0 || (size_t) n >= outlen)
		return;
	w = (size_t) n;
	for (size_t i = 0; i < t->len; i++) {
		if (w + 3 + 3 >= outlen) {
			if (w + 4 <= outlen)
				memcpy(out + w, "...", 3), w += 3;
			break;
		}
		out[w++] = hex[t->data[i] >> 4];
		out[w++] = hex[t->data[i] & 15];
	}
	out[w] = 0;
}

/* rr_tlsa_raw_text - presentation form of TLSA rdata as published, even
 * when it does not parse: "U S M HEX", or RFC 3597's "\\# LEN HEX" when
 * it is shorter than its three fixed octets */
void
rr_tlsa_raw_text(const unsigned char *rd, size_t len, char *out, size_t outlen)
{
	struct rr_tlsa t;

	if (len >= 3) {
		memset(&t, 0, sizeof(t));
		t.usage = rd[0];
		t.selector = rd[1];
		t.mtype = rd[2];
		t.data = rd + 3;
		t.len = len - 3;
		rr_tlsa_text(&t, out, outlen);
		return;
	}
	/* RFC 3597's generic form; at most two octets here */
	if (len == 0)
		snprintf(out, outlen, "\\# 0");
	else if (len == 1)
		snprintf(out, outlen, "\\# 1 %02X", rd[0]);
	else
		snprintf(out, outlen, "\\# 2 %02X%02X", rd[0], rd[1]);
}

