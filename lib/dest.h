/*
 * dest.h - a destination as Postfix writes one: `[host]' or `[host]:port',
 * the host an IP address literal or a host name.
 *
 * SYNOPSIS
 *	int dest_host_norm(const char *h, size_t len, char *out, size_t size);
 *	int dest_parse(const char *s, size_t len, char *host, size_t size,
 *		unsigned *port, const char **why);
 *
 * DESCRIPTION
 *	dest_host_norm() puts h[0..len) in the one form destinations are
 *	compared in: an IPv4 or IPv6 literal in its one text form
 *	(addr_str(): `2001:DB8:0::1' is `2001:db8::1'), else a name in lower
 *	case without one trailing dot, for which dname_dns_ok() holds.  A
 *	host with a `:', or of digits and dots only, must be an address.
 *	size is at least DEST_HOST_MAX.
 *
 *	dest_parse() reads `[host]' or `[host]:port' (the whole of s[0..len)):
 *	the host as dest_host_norm() gives it, and the port 1..65535 in
 *	decimal digits without a leading zero, or 0 when none is given.
 *
 * DIAGNOSTICS
 *	dest_host_norm() returns AF_INET or AF_INET6 for an address, 0 for a
 *	name, -1 for neither.  dest_parse() returns the same, with *why set
 *	for -1 (a fixed string: `not [address] or [host name]', `expected
 *	:PORT after ]', `bad port').
 */
#ifndef MXTLS_DEST_H
#define MXTLS_DEST_H

#include <stddef.h>

#include "dname.h"

#define DEST_HOST_MAX	(DNAME_MAX + 1)

int dest_host_norm(const char *h, size_t len, char *out, size_t size);
int dest_parse(const char *s, size_t len, char *host, size_t size, unsigned *port,
    const char **why);

#endif
