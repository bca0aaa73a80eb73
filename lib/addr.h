/*
 * addr.h - IPv4 and IPv6 socket addresses: text forms, comparison, rdata.
 *
 * SYNOPSIS
 *	void addr_str(const struct sockaddr_storage *ss, char *buf,
 *		size_t len);
 *	void addr_host_str(const struct sockaddr_storage *ss, char *buf,
 *		size_t len);
 *	void addr_port_str(const struct sockaddr_storage *ss, char *buf,
 *		size_t len);
 *	unsigned addr_port(const struct sockaddr_storage *ss);
 *	void addr_set_port(struct sockaddr_storage *ss, unsigned port);
 *	int addr_same(const struct sockaddr_storage *a,
 *		const struct sockaddr_storage *b);
 *	int addr_same_ip(const struct sockaddr_storage *a,
 *		const struct sockaddr_storage *b);
 *	int addr_from_rdata(struct sockaddr_storage *ss, int family,
 *		const void *rd, size_t len, unsigned port);
 *	int addr_parse(const char *s, struct sockaddr_storage *ss,
 *		socklen_t *sslen);
 *
 * DESCRIPTION
 *	The one place mxtls turns addresses into text and back (nothing else
 *	calls inet_ntop).  Only AF_INET and AF_INET6 are addresses; any other
 *	family formats as `?' and equals nothing.
 *
 *	addr_str() writes the address alone, as the logs and the journal
 *	show it: `192.0.2.1', `2001:db8::1', `::ffff:192.0.2.1'.
 *	addr_host_str() writes it as the host of a URL or an endpoint:
 *	IPv4 bare, IPv6 in brackets (`192.0.2.1', `[2001:db8::1]'); curl's
 *	resolve lists and the configuration's endpoints use it.
 *	addr_port_str() writes `[192.0.2.1]:25', `[2001:db8::1]:25'.  Each
 *	writes at most len - 1 octets and a NUL (ADDR_STRLEN is enough for
 *	any of them); addr_port() is the port in host order (0 for another
 *	family), addr_set_port() sets it (nothing for another family).
 *
 *	addr_same() is true when family, address and port are equal;
 *	addr_same_ip() ignores the port.
 *
 *	addr_from_rdata() builds ss (zeroed first) from the rdata of an A
 *	(family AF_INET, 4 octets) or AAAA record (AF_INET6, 16 octets) and
 *	a port; 0, or -1 when the length does not fit the family.
 *
 *	addr_parse() reads `ADDR:PORT' or `[ADDR]:PORT' (an IPv6 address
 *	needs the brackets), the port 1..65535 in decimal digits and nothing
 *	after it, into ss (zeroed first) and its length; 0, or -1 for
 *	anything else.
 */
#ifndef MXTLS_ADDR_H
#define MXTLS_ADDR_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 8)	/* [ADDR6]:65535 */

void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
void addr_host_str(const struct sockaddr_storage *ss, char *buf, size_t len);
void addr_port_str(const struct sockaddr_storage *ss, char *buf, size_t len);
unsigned addr_port(const struct sockaddr_storage *ss);
void addr_set_port(struct sockaddr_storage *ss, unsigned port);
int addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
int addr_same_ip(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b);
int addr_from_rdata(struct sockaddr_storage *ss, int family, const void *rd,
    size_t len, unsigned port);
int addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen);

#endif
