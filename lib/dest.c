/*
 * dest.c - `[host]' and `[host]:port' destinations, for the policy table
 * and the socketmap's keys alike.  See dest.h.
 */
#include <arpa/inet.h>
#include <string.h>

#include "addr.h"
#include "dest.h"

/* ip_norm - an IP literal in its one text form: its family, 0 (not an
 * address, a name perhaps), -1 (meant as an address, and bad) */
static int
ip_norm(const char *p, size_t n, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	struct sockaddr_storage ss;
	int family = memchr(p, ':', n) ? AF_INET6 : AF_INET;

	if (n >= sizeof(text))
		return family == AF_INET6 ? -1 : 0;
	memcpy(text, p, n);
	text[n] = 0;
	if (inet_pton(family, text, bin) != 1)
		return family == AF_INET6 || strspn(text, "0123456789.") == n ? -1 : 0;
	if (addr_from_rdata(&ss, family, bin, family == AF_INET ? 4 : 16, 0) < 0)
		return -1;
	addr_str(&ss, out, size);
	return family;
}

/* dest_host_norm - an address in its one text form, or a name in lower case */
int
dest_host_norm(const char *h, size_t len, char *out, size_t size)
{
	int family;

	if (len == 0 || size < DEST_HOST_MAX)
		return -1;
	if ((family = ip_norm(h, len, out, size)) != 0)
		return family;
	len = dname_trim_dot(h, len);
	if (!dname_dns_ok(h, len))
		return -1;
	dname_lower(out, size, h, len);
	return 0;
}

/* port_parse - 1..65535 in decimal digits, no leading zero */
static int
port_parse(const char *p, size_t n, unsigned *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || p[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned) (p[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* dest_parse - [host] or [host]:port */
int
dest_parse(const char *s, size_t len, char *host, size_t size, unsigned *port,
    const char **why)
{
	const char *rb = len > 0 && s[0] == '[' ? memchr(s, ']', len) : NULL;
	size_t after;
	int family;

	*port = 0;
	if (rb == NULL || (family = dest_host_norm(s + 1, (size_t) (rb - s - 1), host,
	    size)) < 0)
		return *why = "not [address] or [host name]", -1;
	after = len - (size_t) (rb - s) - 1;
	if (after > 0 && rb[1] != ':')
		return *why = "expected :PORT after ]", -1;
	if (after > 0 && port_parse(rb + 2, after - 1, port) < 0)
		return *why = "bad port", -1;
	return family;
}
