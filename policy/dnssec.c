/*
 * dnssec.c - the DNSSEC state of a DNS answer, pure.  See dnssec.h.
 */
#include <stddef.h>

#include "dnssec.h"

#define RCODE_NOERROR	0
#define RCODE_NXDOMAIN	3

/* dns_sec_str - for logs */
const char *
dns_sec_str(enum dns_sec s)
{
	switch (s) {
	case DNS_SECURE:
		return "secure";
	case DNS_INSECURE:
		return "insecure";
	case DNS_BOGUS:
		return "bogus";
	case DNS_INDETERMINATE:
		return "indeterminate";
	}
	return "?";
}

/* dns_sec_of - the DNSSEC state of an answer */
enum dns_sec
dns_sec_of(int err, const struct dns_status *st)
{
	if (err != 0 || st == NULL)
		return DNS_INDETERMINATE;
	if (st->bogus)
		return DNS_BOGUS;
	if (st->rcode != RCODE_NOERROR && st->rcode != RCODE_NXDOMAIN)
		return DNS_INDETERMINATE;
	return st->secure ? DNS_SECURE : DNS_INSECURE;
}
