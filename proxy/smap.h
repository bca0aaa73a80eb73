/*
 * smap.h - the Postfix socketmap wire format, pure: netstrings, the
 * `name key' request, the reply, and the query key.
 *
 * SYNOPSIS
 *	int smap_read(const char *buf, size_t len, const char **data,
 *		size_t *dlen, size_t *used, const char **why);
 *	int smap_split(const char *p, size_t n, struct smap_req *req,
 *		const char **why);
 *	int smap_reply(char *out, size_t size, int kind, const char *text,
 *		size_t tlen, size_t *outlen);
 *	int smap_key_parse(const char *key, size_t len, struct smap_key *k,
 *		const char **why);
 *
 * DESCRIPTION
 *	Postfix's socketmap client (socketmap_table(5)) sends one request
 *	and reads one reply, each as one netstring, `LEN:DATA,', on a
 *	connection it keeps open for more.  Nothing here touches a socket,
 *	allocates or logs; every pointer handed back points into the
 *	caller's bytes.  smap_srv.c is the server that uses it.
 *
 *	smap_read() reads one netstring at the start of buf[0..len).  LEN
 *	is 1 to SMAP_DIGITS decimal digits, no sign, no space, no leading
 *	zero but in `0' itself; the payload is at most SMAP_MAX octets, and
 *	a longer one is refused as soon as the digits say so, before its
 *	octets arrive.  It returns SMAP_NEED (all there is so far is a
 *	valid beginning: read more, then call again with all of it),
 *	SMAP_OK (*data, *dlen: the payload, inside buf; *used: the octets
 *	of the whole netstring, at most len, the next one starting there)
 *	or SMAP_BAD (*why: a static reason; the stream cannot be resynced
 *	and the caller closes the connection).  The payload may hold any
 *	octet, NUL too: what a request may hold is smap_split()'s rule.
 *
 *	smap_split() splits a payload into the map name (up to the first
 *	space: 1 to SMAP_NAME_MAX octets of letters, digits, `_' and `-',
 *	as the last field of Postfix's socketmap:...:name) and the key
 *	(everything after that space, as Postfix looked it up: not empty,
 *	spaces allowed, no NUL, CR or LF).  0, or -1 and *why.
 *
 *	smap_reply() writes a reply netstring to out[0..size): kind
 *	SMAP_R_OK (`OK value', text not empty), SMAP_R_NOTFOUND
 *	(`NOTFOUND ', tlen must be 0), SMAP_R_TEMP (`TEMP reason') or
 *	SMAP_R_PERM (`PERM reason'; the reason may be empty).  It refuses
 *	(rather than sanitises) text holding a NUL, CR or LF: such text is
 *	the caller's bug, and an altered value would be a different policy.
 *	text may be NULL when tlen is 0.  It returns 0 and *outlen (no NUL
 *	is appended), or -1 with nothing promised of out: size too small,
 *	the payload over SMAP_MAX, a bad kind or bad text.
 *
 * DIAGNOSTICS
 *	Nothing here reads beyond the given length, allocates or logs; a
 *	reason handed back is a static string for the caller's log line.
 *
 *	smap_key_parse() reads a key in the forms Postfix's TLS policy
 *	lookups use: `domain', `domain.', `[host]', `[host]:port',
 *	`[192.0.2.1]', `[2001:db8::1]:25'.  k->kind is SMAP_KEY_DOMAIN or
 *	SMAP_KEY_HOST (bracketed); k->name is the name in lower case
 *	without one trailing dot (dname_dns_ok() holds of it) or, for an IP
 *	literal (k->family AF_INET or AF_INET6, else 0), the address in its
 *	one text form (addr_str()); a bracketed host of digits and dots
 *	only that is no IPv4 address is refused.  k->port is 1..65535 in decimal digits
 *	without a leading zero, or 0 when there is none.  A port needs the
 *	brackets; a service name is no port.  0, or -1 and *why.
 */
#ifndef MXTLS_SMAP_H
#define MXTLS_SMAP_H

#include <stddef.h>

#include "../lib/dname.h"

#define SMAP_MAX	10000		/* payload octets, either direction */
#define SMAP_DIGITS	5		/* of the length prefix */
#define SMAP_NAME_MAX	64		/* octets of a map name */

#define SMAP_NEED	0
#define SMAP_OK		1
#define SMAP_BAD	(-1)

struct smap_req {
	const char *name;		/* inside the payload, not NUL-ended */
	size_t namelen;
	const char *key;		/* inside the payload, not NUL-ended */
	size_t keylen;
};

#define SMAP_R_OK	1
#define SMAP_R_NOTFOUND	2
#define SMAP_R_TEMP	3
#define SMAP_R_PERM	4

#define SMAP_KEY_DOMAIN	1		/* domain, domain. */
#define SMAP_KEY_HOST	2		/* [host], [host]:port */

struct smap_key {
	int kind;			/* SMAP_KEY_DOMAIN or SMAP_KEY_HOST */
	int family;			/* AF_INET, AF_INET6 (HOST only), or 0 */
	unsigned port;			/* 0: none */
	char name[DNAME_MAX + 1];	/* lower case, no trailing dot */
};

int smap_read(const char *buf, size_t len, const char **data, size_t *dlen,
    size_t *used, const char **why);
int smap_split(const char *p, size_t n, struct smap_req *req,
    const char **why);
int smap_reply(char *out, size_t size, int kind, const char *text,
    size_t tlen, size_t *outlen);
int smap_key_parse(const char *key, size_t len, struct smap_key *k,
    const char **why);

#endif
