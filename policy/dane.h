/*
 * dane.h - the DANE rules of RFC 7672, pure.
 *
 * SYNOPSIS
 *	enum dane_state dane_host_state(const struct dane_in *in,
 *		enum rtype *rtype, const char **why);
 *	int dane_usable(const struct rr_tlsa *t);
 *	const char *dane_state_str(enum dane_state s);
 *	enum rtype dane_rtype_for_verify(long verify_error, int dane);
 *	const char *dane_usage_str(int u), *dane_selector_str(int s),
 *		*dane_mtype_str(int m);
 *
 * DESCRIPTION
 *	dane_host_state() decides, for one MX host, from the DNSSEC states
 *	of the MX RRset, the host's address records and its TLSA RRset:
 *
 *	DANE_NONE	no DANE for this host: the MX RRset or the addresses
 *			are not secure (RFC 7672 2.2.1), or the TLSA RRset
 *			is insecure or securely denied
 *	DANE_AUTH	secure TLSA with at least one usable record
 *			(DANE-TA(2), DANE-EE(3); 3.1.3 drops PKIX-TA(0) and
 *			PKIX-EE(1)): TLS required, authenticated by TLSA
 *	DANE_UNAUTH	secure TLSA RRset, none usable: TLS required,
 *			no authentication (RFC 7672 3.1.3, 2.2)
 *	DANE_FAIL	the TLSA (or address) lookup was bogus or
 *			indeterminate: this MX fails, temporarily; *rtype is
 *			the RFC 8460 result type, *why a reason
 *
 *	dane_rtype_for_verify() maps an OpenSSL verify error to an RFC 8460
 *	result type (certificate-host-mismatch, certificate-expired,
 *	certificate-not-trusted, tlsa-invalid, validation-failure).
 */
#ifndef MXTLS_DANE_H
#define MXTLS_DANE_H

#include "dnssec.h"
#include "rr.h"
#include "../report/rtype.h"

enum dane_state { DANE_NONE, DANE_AUTH, DANE_UNAUTH, DANE_FAIL };

struct dane_in {
	enum dns_sec mx_sec;		/* the MX RRset (or the implicit MX) */
	enum dns_sec addr_sec;		/* the host's A and AAAA together */
	int tlsa_looked_up;		/* 0 when no TLSA lookup was made */
	enum dns_sec tlsa_sec;
	int tlsa_exists;		/* the answer had TLSA records */
	int nusable;			/* of them, usable and well-formed */
};

enum dane_state dane_host_state(const struct dane_in *in, enum rtype *rtype,
    const char **why);
int dane_usable(const struct rr_tlsa *t);
const char *dane_state_str(enum dane_state s);
enum rtype dane_rtype_for_verify(long verify_error, int dane);
const char *dane_usage_str(int u);
const char *dane_selector_str(int s);
const char *dane_mtype_str(int m);

#endif
