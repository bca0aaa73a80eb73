/*
 * dnssec.h - the DNSSEC state of a DNS answer, pure.
 *
 * SYNOPSIS
 *	enum dns_sec dns_sec_of(int err, const struct dns_status *st);
 *	const char *dns_sec_str(enum dns_sec s);
 *
 * DESCRIPTION
 *	enum dns_sec is what the policy makes of an answer: DNS_SECURE
 *	(validated, answers and authenticated denials alike), DNS_INSECURE
 *	(not signed, provably), DNS_BOGUS (validation failed) and
 *	DNS_INDETERMINATE (no answer to judge: a lookup error or SERVFAIL).
 *
 *	dns_sec_of() is the classification.  err is the resolver's error
 *	for the lookup (0: none); st holds what of the answer decides, and
 *	is NULL when there was no answer.  A lookup error or no answer is
 *	DNS_INDETERMINATE; a bogus answer is DNS_BOGUS whatever else it
 *	says; a response code other than NOERROR and NXDOMAIN is
 *	DNS_INDETERMINATE; then the answer is DNS_SECURE when validated and
 *	DNS_INSECURE when not.
 *
 *	dns_sec_str() names a state for logs ("?" for a value that is not
 *	one).  Both are pure; dns.c (libunbound) feeds dns_sec_of().
 */
#ifndef MXTLS_DNSSEC_H
#define MXTLS_DNSSEC_H

enum dns_sec { DNS_SECURE, DNS_INSECURE, DNS_BOGUS, DNS_INDETERMINATE };

struct dns_status {		/* what of an answer decides its state */
	int bogus;			/* validation failed */
	int secure;			/* validated */
	int rcode;			/* the DNS response code */
};

enum dns_sec dns_sec_of(int err, const struct dns_status *st);
const char *dns_sec_str(enum dns_sec s);

#endif
