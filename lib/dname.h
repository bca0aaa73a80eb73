/*
 * dname.h - domain names in presentation form: the one syntax check and
 * the one lower-casing.
 *
 * SYNOPSIS
 *	int dname_host_ok(const char *name, size_t len);
 *	int dname_dns_ok(const char *name, size_t len);
 *	size_t dname_trim_dot(const char *name, size_t len);
 *	size_t dname_lower(char *out, size_t size, const char *in,
 *		size_t len);
 *	void dname_norm(char *out, size_t size, const char *in);
 *
 * DESCRIPTION
 *	Two predicates, one rule (one implementation): a name of 1 to
 *	DNAME_MAX (253) octets, labels of 1 to 63 octets separated by single
 *	dots, no dot at either end, no `-' at either end of a label, US-ASCII
 *	only, either case.  They differ in the octets a label may hold:
 *
 *	dname_host_ok() is a host name (RFC 952, RFC 1123 2.1, RFC 5321
 *	`Domain'): letters, digits and `-'.  For the names mxtls itself
 *	says or publishes: its own EHLO name and report submitter
 *	(configuration), the domains of the report message's addresses, the
 *	host of an https rua.
 *
 *	dname_dns_ok() also allows `_' in a label, as names found in the
 *	DNS may have it (MX and CNAME targets, and the names MX hosts greet
 *	with, are taken as the DNS has them, as Postfix's valid_hostname()
 *	does); for those names and for what is matched against them: MTA-STS
 *	mx patterns, the policy and MX domains of journal records.  Service
 *	owner names (`_25._tcp.mx', `_mta-sts.domain', `_smtp._tls.domain')
 *	are built by mxtls from checked names, never checked themselves.
 *
 *	A trailing dot is not part of either rule; a caller that tolerates
 *	one (MTA-STS patterns, URL hosts) drops it first: dname_trim_dot() is
 *	len less one trailing dot, if there is one.
 *
 *	dname_lower() copies in[0..len) to out, at most size - 1 octets (size
 *	at least 1) and a NUL, with A-Z in lower case and every other octet
 *	as it is; out may be in.  It returns the octets written.
 *	dname_norm() is the form names are compared in: in lower case (as
 *	dname_lower(), up to its NUL) without one trailing dot.
 */
#ifndef MXTLS_DNAME_H
#define MXTLS_DNAME_H

#include <stddef.h>

#define DNAME_MAX	253		/* octets, without the trailing dot */

int dname_host_ok(const char *name, size_t len);
int dname_dns_ok(const char *name, size_t len);
size_t dname_trim_dot(const char *name, size_t len);
size_t dname_lower(char *out, size_t size, const char *in, size_t len);
void dname_norm(char *out, size_t size, const char *in);

#endif
