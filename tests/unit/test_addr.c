/*
 * test_addr.c - lib/addr.c: the three text forms of IPv4, IPv6 and
 * v4-mapped addresses (bare, URL host, [addr]:port), ports at both ends of
 * their range (read and set), comparison with and without the port,
 * sockaddrs from A and AAAA rdata, and the ADDR:PORT parser
 * round-tripping the URL-host form.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/addr.h"
#include "../../lib/dest.h"
#include "t.h"

/* mk - a sockaddr from text (family by the colon) and a port */
static struct sockaddr_storage
mk(const char *a, unsigned port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) port);
		(void) inet_pton(AF_INET6, a, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		(void) inet_pton(AF_INET, a, &s4->sin_addr);
	}
	return ss;
}

struct fcase {
	const char *in;
	unsigned port;
	const char *bare, *host, *withport;
};

static const struct fcase fcases[] = {
	{"192.0.2.1", 25, "192.0.2.1", "192.0.2.1", "[192.0.2.1]:25"},
	{"0.0.0.0", 0, "0.0.0.0", "0.0.0.0", "[0.0.0.0]:0"},
	{"255.255.255.255", 65535, "255.255.255.255", "255.255.255.255",
	 "[255.255.255.255]:65535"},
	{"2001:db8::1", 25, "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:25"},
	{"2001:DB8:0:0:0:0:0:1", 2525, "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:2525"},
	{"::", 25, "::", "[::]", "[::]:25"},
	{"::1", 1, "::1", "[::1]", "[::1]:1"},
	{"::ffff:192.0.2.1", 25, "::ffff:192.0.2.1", "[::ffff:192.0.2.1]",
	 "[::ffff:192.0.2.1]:25"},
	{"fe80::1:2:3:4", 65535, "fe80::1:2:3:4", "[fe80::1:2:3:4]",
	 "[fe80::1:2:3:4]:65535"},
	{"2001:db8:1:2:3:4:5:6", 25, "2001:db8:1:2:3:4:5:6", "[2001:db8:1:2:3:4:5:6]",
	 "[2001:db8:1:2:3:4:5:6]:25"},
};

struct pcase {
	const char *in;
	int ok;
	int family;
	unsigned port;
};

static const struct pcase pcases[] = {
	{"192.0.2.1:25", 1, AF_INET, 25},
	{"127.0.0.1:10025", 1, AF_INET, 10025},
	{"[2001:db8::1]:25", 1, AF_INET6, 25},
	{"[::]:65535", 1, AF_INET6, 65535},
	{"[192.0.2.1]:25", 1, AF_INET, 25},		/* brackets may hold IPv4 too */
	{"192.0.2.1:1", 1, AF_INET, 1},
	{"192.0.2.1:0", 0, 0, 0},
	{"192.0.2.1:65536", 0, 0, 0},
	{"192.0.2.1:", 0, 0, 0},
	{"192.0.2.1", 0, 0, 0},
	{"192.0.2.1:+25", 0, 0, 0},
	{"192.0.2.1:25x", 0, 0, 0},
	{"192.0.2.1:25 ", 0, 0, 0},
	{"192.0.2.1:99999999999999999999", 0, 0, 0},
	{":25", 0, 0, 0},
	{"[]:25", 0, 0, 0},
	{"2001:db8::1:25", 0, 0, 0},			/* IPv6 needs the brackets */
	{"[2001:db8::1]25", 0, 0, 0},
	{"[2001:db8::1:25", 0, 0, 0},
	{"[2001:db8::g]:25", 0, 0, 0},
	{"mx.example:25", 0, 0, 0},			/* no names */
	{"256.0.0.1:25", 0, 0, 0},
	{"[0000:0000:0000:0000:0000:0000:0000:0000:0000]:25", 0, 0, 0},
	{"", 0, 0, 0},
};

/* formats - every form of every address */
static void
formats(void)
{
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		const struct fcase *c = &fcases[i];
		struct sockaddr_storage ss = mk(c->in, c->port);
		char b[ADDR_STRLEN], h[ADDR_STRLEN], p[ADDR_STRLEN], name[128];

		addr_str(&ss, b, sizeof(b));
		addr_host_str(&ss, h, sizeof(h));
		addr_port_str(&ss, p, sizeof(p));
		snprintf(name, sizeof(name), "format %s port %u", c->in, c->port);
		T_CASE(name, strcmp(b, c->bare) == 0 && strcmp(h, c->host) == 0
		    && strcmp(p, c->withport) == 0 && addr_port(&ss) == c->port,
		    "got %s / %s / %s / %u", b, h, p, addr_port(&ss));
	}
}

/* odd_and_short - another family, and buffers too small */
static void
odd_and_short(void)
{
	struct sockaddr_storage un, v6 = mk("2001:db8:1:2:3:4:5:6", 65535),
	    big = mk("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	char b[ADDR_STRLEN], small[8];

	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	addr_str(&un, b, sizeof(b));
	T_CASE("another family is ?", strcmp(b, "?") == 0, "%s", b);
	addr_port_str(&un, b, sizeof(b));
	T_CASE("another family with port is [?]:0", strcmp(b, "[?]:0") == 0
	    && addr_port(&un) == 0, "%s", b);
	addr_host_str(&un, b, sizeof(b));
	T_CASE("another family as host is ?", strcmp(b, "?") == 0, "%s", b);
	addr_set_port(&un, 25);
	T_CASE("another family takes no port", addr_port(&un) == 0, "%u", addr_port(&un));
	T_CASE("another family equals nothing", !addr_same(&un, &un) && !addr_same_ip(&un, &un),
	    "equal");
	addr_port_str(&v6, small, sizeof(small));
	T_CASE("a short buffer is cut and terminated", strcmp(small, "[2001:d") == 0, "%s", small);
	addr_port_str(&big, b, sizeof(b));
	T_CASE("ADDR_STRLEN holds the longest", strlen(b) == 47 && strlen(b) < ADDR_STRLEN, "%s", b);
}

/* compare - with and without the port */
static void
compare(void)
{
	struct sockaddr_storage a = mk("192.0.2.1", 25), a2 = mk("192.0.2.1", 25),
	    ap = mk("192.0.2.1", 26), b = mk("192.0.2.2", 25), m = mk("::ffff:192.0.2.1", 25),
	    x = mk("2001:db8::1", 25), x2 = mk("2001:db8::1", 25), xp = mk("2001:db8::1", 587),
	    y = mk("2001:db8::2", 25);

	T_CASE("same v4", addr_same(&a, &a2) && addr_same_ip(&a, &a2), "differ");
	T_CASE("v4 other port", !addr_same(&a, &ap) && addr_same_ip(&a, &ap), "wrong");
	T_CASE("v4 other address", !addr_same(&a, &b) && !addr_same_ip(&a, &b), "equal");
	T_CASE("v4-mapped is not v4", !addr_same(&a, &m) && !addr_same_ip(&a, &m), "equal");
	T_CASE("same v6", addr_same(&x, &x2) && addr_same_ip(&x, &x2), "differ");
	T_CASE("v6 other port", !addr_same(&x, &xp) && addr_same_ip(&x, &xp), "wrong");
	T_CASE("v6 other address", !addr_same(&x, &y) && !addr_same_ip(&x, &y), "equal");
	addr_set_port(&ap, 25);
	addr_set_port(&xp, 25);
	T_CASE("set port v4", addr_same(&a, &ap) && memcmp(&a, &ap, sizeof(a)) == 0, "differ");
	T_CASE("set port v6", addr_same(&x, &xp) && memcmp(&x, &xp, sizeof(x)) == 0, "differ");
	addr_set_port(&ap, 65535);
	T_CASE("set port 65535", addr_port(&ap) == 65535, "%u", addr_port(&ap));
}

/* rdata - A and AAAA rdata to sockaddrs */
static void
rdata(void)
{
	static const unsigned char a[4] = {192, 0, 2, 7}, aaaa[16] = {0x20, 0x01, 0x0d, 0xb8,
		[15] = 9};
	struct sockaddr_storage ss, want = mk("192.0.2.7", 25), want6 = mk("2001:db8::9", 0);
	char b[ADDR_STRLEN];

	T_CASE("A rdata", addr_from_rdata(&ss, AF_INET, a, 4, 25) == 0 && addr_same(&ss, &want)
	    && memcmp(&ss, &want, sizeof(ss)) == 0, "differs");
	addr_port_str(&ss, b, sizeof(b));
	T_CASE("A rdata formats", strcmp(b, "[192.0.2.7]:25") == 0, "%s", b);
	T_CASE("AAAA rdata", addr_from_rdata(&ss, AF_INET6, aaaa, 16, 0) == 0
	    && addr_same(&ss, &want6) && memcmp(&ss, &want6, sizeof(ss)) == 0, "differs");
	addr_port_str(&ss, b, sizeof(b));
	T_CASE("AAAA rdata formats", strcmp(b, "[2001:db8::9]:0") == 0, "%s", b);
	T_CASE("A rdata of 16 octets", addr_from_rdata(&ss, AF_INET, aaaa, 16, 25) < 0
	    && ss.ss_family == 0, "taken");
	T_CASE("AAAA rdata of 4 octets", addr_from_rdata(&ss, AF_INET6, a, 4, 25) < 0
	    && ss.ss_family == 0, "taken");
	T_CASE("A rdata of 3 octets", addr_from_rdata(&ss, AF_INET, a, 3, 25) < 0, "taken");
	T_CASE("AAAA rdata of 0 octets", addr_from_rdata(&ss, AF_INET6, aaaa, 0, 25) < 0, "taken");
	T_CASE("another family", addr_from_rdata(&ss, AF_UNIX, a, 4, 25) < 0, "taken");
}

/* parse - ADDR:PORT and [ADDR]:PORT, and the round trip */
static void
parse(void)
{
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		struct sockaddr_storage ss;
		socklen_t len = 0;
		int r = addr_parse(c->in, &ss, &len);
		char name[128];

		snprintf(name, sizeof(name), "parse \"%s\"", c->in);
		if (c->ok)
			T_CASE(name, r == 0 && ss.ss_family == c->family && addr_port(&ss) == c->port
			    && len == (c->family == AF_INET6 ? sizeof(struct sockaddr_in6)
				: sizeof(struct sockaddr_in)), "r=%d", r);
		else
			T_CASE(name, r < 0, "accepted");
	}
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		struct sockaddr_storage ss = mk(fcases[i].in, 25), back;
		char h[ADDR_STRLEN], text[ADDR_STRLEN + 8], name[128];
		socklen_t len;

		addr_host_str(&ss, h, sizeof(h));
		snprintf(text, sizeof(text), "%s:25", h);
		snprintf(name, sizeof(name), "round trip %s", text);
		T_CASE(name, addr_parse(text, &back, &len) == 0 && addr_same(&ss, &back)
		    && memcmp(&ss, &back, sizeof(ss)) == 0, "differs");
	}
}

/* dests - [host] and [host]:port (lib/dest.c), for the policy table and
 * the socketmap's keys */
static void
dests(void)
{
	static const struct {
		const char *in, *host;	/* host NULL: refused */
		int family;
		unsigned port;
	} cases[] = {
		{"[192.0.2.1]", "192.0.2.1", AF_INET, 0},
		{"[2001:DB8:0:0::1]:25", "2001:db8::1", AF_INET6, 25},
		{"[MX.Example.COM.]:587", "mx.example.com", 0, 587},
		{"[mx.example.com]:65535", "mx.example.com", 0, 65535},
		{"[192.0.2.256]", NULL, 0, 0},	/* digits and dots: an address or nothing */
		{"[2001:db8::g]", NULL, 0, 0},
		{"[]", NULL, 0, 0}, {"[mx.example.com", NULL, 0, 0},
		{"[mx.example.com]x", NULL, 0, 0}, {"[mx.example.com]:", NULL, 0, 0},
		{"[mx.example.com]:0", NULL, 0, 0}, {"[mx.example.com]:025", NULL, 0, 0},
		{"[mx.example.com]:65536", NULL, 0, 0}, {"[-mx.example.com]", NULL, 0, 0},
		{"mx.example.com", NULL, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[DEST_HOST_MAX] = "", name[128];
		const char *why = NULL;
		unsigned port = 99;
		int r = dest_parse(cases[i].in, strlen(cases[i].in), host, sizeof(host), &port,
		    &why);

		snprintf(name, sizeof(name), "dest %s: %s", cases[i].in,
		    cases[i].host ? cases[i].host : "refused");
		T_CASE(name, cases[i].host ? r == cases[i].family && strcmp(host, cases[i].host)
		    == 0 && port == cases[i].port : r < 0 && why != NULL,
		    "r=%d host %s port %u why %s", r, host, port, why ? why : "-");
	}
}

int
main(void)
{
	T_INIT("addr");
	formats();
	odd_and_short();
	compare();
	rdata();
	parse();
	dests();
	return t_done();
}
