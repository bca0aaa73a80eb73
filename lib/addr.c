/*
 * addr.c - IPv4 and IPv6 socket addresses: text forms, comparison, rdata.
 * See addr.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* ntop - the address alone; 1 for IPv6, 0 for IPv4, -1 otherwise ("?") */
static int
ntop(const struct sockaddr_storage *ss, char *a, size_t len)
{
	if (ss->ss_family == AF_INET6
	    && inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ss)->sin6_addr, a,
		(socklen_t) len) != NULL)
		return 1;
	if (ss->ss_family == AF_INET
	    && inet_ntop(AF_INET, &((const struct sockaddr_in *) ss)->sin_addr, a,
		(socklen_t) len) != NULL)
		return 0;
	snprintf(a, len, "?");
	return -1;
}

/* addr_str - 192.0.2.1, 2001:db8::1 */
void
addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	(void) ntop(ss, a, sizeof(a));
	snprintf(buf, len, "%s", a);
}

/* addr_host_str - 192.0.2.1, [2001:db8::1]: the host of a URL */
void
addr_host_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, ntop(ss, a, sizeof(a)) == 1 ? "[%s]" : "%s", a);
}

/* addr_port_str - [192.0.2.1]:25, [2001:db8::1]:25 */
void
addr_port_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	(void) ntop(ss, a, sizeof(a));
	snprintf(buf, len, "[%s]:%u", a, addr_port(ss));
}

/* addr_port - the port in host order; 0 for another family */
unsigned
addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *) ss)->sin_port);
	return 0;
}

/* addr_set_port - the port, given in host order */
void
addr_set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *) ss)->sin6_port = htons((uint16_t) port);
	else if (ss->ss_family == AF_INET)
		((struct sockaddr_in *) ss)->sin_port = htons((uint16_t) port);
}

/* addr_same_ip - equal family and address, ports ignored */
int
addr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *) a)->sin_addr.s_addr
		    == ((const struct sockaddr_in *) b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
		    &((const struct sockaddr_in6 *) b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return 0;
}

/* addr_same - equal family, address and port */
int
addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_same_ip(a, b) && addr_port(a) == addr_port(b);
}

/* addr_from_rdata - A or AAAA rdata and a port as a socket address */
int
addr_from_rdata(struct sockaddr_storage *ss, int family, const void *rd,
    size_t len, unsigned port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET && len == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *) ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, rd, 4);
	} else if (family == AF_INET6 && len == 16) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, rd, 16);
	} else {
		return -1;
	}
	addr_set_port(ss, port);
	return 0;
}

/* addr_parse - ADDR:PORT or [ADDR]:PORT */
int
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *sep;
	size_t hlen;
	char *end;
	long p;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		if ((sep = strchr(s, ']')) == NULL || sep[1] != ':')
			return -1;
		s++;
		port = sep + 2;
	} else {
		if ((sep = strrchr(s, ':')) == NULL || strchr(s, ':') != sep)
			return -1;
		port = sep + 1;
	}
	hlen = (size_t) (sep - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (!isdigit((unsigned char) *port))
		return -1;
	errno = 0;
	p = strtol(port, &end, 10);
	if (errno || *end || p < 1 || p > 65535)
		return -1;
	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) p);
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *) ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) p);
		*sslen = sizeof(*s4);
	}
	return 0;
}
