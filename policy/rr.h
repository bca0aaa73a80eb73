/*
 * rr.h - pure decoding of DNS rdata as libunbound hands it over.
 *
 * SYNOPSIS
 *	int rr_name(const unsigned char *p, size_t len, size_t *off,
 *		char *out, size_t outlen);
 *	int rr_mx(const unsigned char *rd, size_t len, int *pref,
 *		char *host, size_t hostlen);
 *	int rr_tlsa(const unsigned char *rd, size_t len, struct rr_tlsa *t,
 *		const char **why);
 *	void rr_tlsa_text(const struct rr_tlsa *t, char *out, size_t outlen);
 *	void rr_tlsa_raw_text(const unsigned char *rd, size_t len, char *out,
 *		size_t outlen);
 *
 * DESCRIPTION
 *	rr_name() reads an uncompressed wire-format name at *off (a
 *	compression pointer is an error: libunbound's rdata has none), and
 *	writes it in presentation form, lower case, without the final dot
 *	(the root is ".").  Any other name must pass dname_dns_ok()
 *	(lib/dname.h): host names in MX and CNAME targets must be host names,
 *	`_' allowed.
 *
 *	rr_mx() decodes MX rdata.  rr_tlsa() decodes TLSA rdata strictly:
 *	usage 0-3, selector 0-1, matching type 0-2 and a data length that
 *	fits the matching type (SHA2-256: 32, SHA2-512: 64, Full: at least
 *	one octet).  It returns 0 for a well-formed record (t->data points
 *	into rd), -1 with a reason otherwise.  rr_tlsa_text() writes
 *	`3 1 1 ABCD...' as in a zone file (long data shortened with `...').
 *	rr_tlsa_raw_text() does the same for rdata that may not parse (the
 *	three numbers as published), and RFC 3597's `\# 2 0301' for rdata
 *	shorter than three octets.
 *
 * DIAGNOSTICS
 *	Every length is checked as `len - off < need'; nothing is read
 *	beyond len.
 */
#ifndef MXTLS_RR_H
#define MXTLS_RR_H

#include <stddef.h>
#include <stdint.h>

#define RR_NAME_MAX 256

struct rr_tlsa {
	uint8_t usage, selector, mtype;
	const unsigned char *data;
	size_t len;
};

int rr_name(const unsigned char *p, size_t len, size_t *off, char *out,
    size_t outlen);
int rr_mx(const unsigned char *rd, size_t len, int *pref, char *host,
    size_t hostlen);
int rr_tlsa(const unsigned char *rd, size_t len, struct rr_tlsa *t,
    const char **why);
void rr_tlsa_text(const struct rr_tlsa *t, char *out, size_t outlen);
void rr_tlsa_raw_text(const unsigned char *rd, size_t len, char *out,
    size_t outlen);

#endif
