/*
 * smap.c - the Postfix socketmap wire format, pure.  See smap.h.
 *
 * Lengths are checked as `len - off < need' throughout; nothing here
 * allocates, logs, or reads a clock.
 */
#include <stddef.h>
#include <string.h>

#include "../lib/dest.h"
#include "../lib/dname.h"
#include "smap.h"

/* smap_read - one netstring at the start of buf */
int
smap_read(const char *buf, size_t len, const char **data, size_t *dlen,
    size_t *used, const char **why)
{
	size_t i, n = 0;

	for (i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (i == SMAP_DIGITS)
			return *why = "length over 5 digits", SMAP_BAD;
		if (i == 1 && buf[0] == '0')
			return *why = "length with a leading zero", SMAP_BAD;
		n = n * 10 + (size_t) (buf[i] - '0');
		if (n > SMAP_MAX)
			return *why = "over 10000 octets", SMAP_BAD;
	}
	if (i == len)
		return SMAP_NEED;
	if (i == 0)
		return *why = "no length", SMAP_BAD;
	if (buf[i] != ':')
		return *why = "no colon after the length", SMAP_BAD;
	i++;
	if (len - i < n + 1)
		return SMAP_NEED;
	if (buf[i + n] != ',')
		return *why = "no comma after the payload", SMAP_BAD;
	*data = buf + i;
	*dlen = n;
	*used = i + n + 1;
	return SMAP_OK;
}

/* smap_name_char - an octet a map name may hold */
static int
smap_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* smap_text_ok - no NUL, CR or LF in p[0..n) */
static int
smap_text_ok(const char *p, size_t n)
{
	return memchr(p, 0, n) == NULL && memchr(p, '\r', n) == NULL
	    && memchr(p, '\n', n) == NULL;
}

/* smap_split - `name key' */
int
smap_split(const char *p, size_t n, struct smap_req *req, const char **why)
{
	const char *sp = memchr(p, ' ', n);
	size_t i;

	if (sp == NULL)
		return *why = "no space after the map name", -1;
	req->name = p;
	req->namelen = (size_t) (sp - p);
	req->key = sp + 1;
	req->keylen = n - req->namelen - 1;
	if (req->namelen == 0)
		return *why = "empty map name", -1;
	if (req->namelen > SMAP_NAME_MAX)
		return *why = "map name too long", -1;
	for (i = 0; i < req->namelen; i++)
		if (!smap_name_char(p[i]))
			return *why = "bad octet in the map name", -1;
	if (req->keylen == 0)
		return *why = "empty key", -1;
	if (!smap_text_ok(req->key, req->keylen))
		return *why = "NUL, CR or LF in the key", -1;
	return 0;
}

/* smap_reply - a reply as one netstring */
int
smap_reply(char *out, size_t size, int kind, const char *text, size_t tlen,
    size_t *outlen)
{
	static const char *const word[] = {
		[SMAP_R_OK] = "OK ", [SMAP_R_NOTFOUND] = "NOTFOUND ",
		[SMAP_R_TEMP] = "TEMP ", [SMAP_R_PERM] = "PERM ",
	};
	char digits[SMAP_DIGITS];
	size_t wlen, plen, nd = 0, off, v;

	if (kind < SMAP_R_OK || kind > SMAP_R_PERM)
		return -1;
	if ((kind == SMAP_R_OK && tlen == 0)
	    || (kind == SMAP_R_NOTFOUND && tlen != 0))
		return -1;
	if (tlen > SMAP_MAX || (tlen > 0 && !smap_text_ok(text, tlen)))
		return -1;
	wlen = strlen(word[kind]);
	if (tlen > SMAP_MAX - wlen)
		return -1;
	plen = wlen + tlen;
	v = plen;
	do {
		digits[nd++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v > 0);
	/* nd + 1 (':') + plen + 1 (','), each term bounded above */
	if (size < nd + 2 || size - nd - 2 < plen)
		return -1;
	for (off = 0; off < nd; off++)
		out[off] = digits[nd - 1 - off];
	out[off++] = ':';
	memcpy(out + off, word[kind], wlen);
	off += wlen;
	if (tlen)
		memcpy(out + off, text, tlen);
	off += tlen;
	out[off++] = ',';
	*outlen = off;
	return 0;
}

/* smap_key_parse - domain, domain., [host], [host]:port */
int
smap_key_parse(const char *key, size_t len, struct smap_key *k,
    const char **why)
{
	size_t hlen;

	memset(k, 0, sizeof(*k));
	if (len > 0 && key[0] == '[') {
		k->kind = SMAP_KEY_HOST;
		if ((k->family = dest_parse(key, len, k->name, sizeof(k->name), &k->port,
		    why)) < 0) {
			k->family = 0;
			return -1;
		}
		return 0;
	}
	k->kind = SMAP_KEY_DOMAIN;
	hlen = dname_trim_dot(key, len);
	if (!dname_dns_ok(key, hlen))
		return *why = "not a domain name", -1;
	dname_lower(k->name, sizeof(k->name), key, hlen);
	return 0;
}
