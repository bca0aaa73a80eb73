/*
 * test_dname.c - lib/dname.c: the one host-name rule in its two forms
 * (dname_host_ok: LDH; dname_dns_ok: `_' too) at its edges: `-' at either
 * end of a label, `_', labels of 63 and 64 octets, names of 253 and 254,
 * dots at either end, empty labels, NUL, 8-bit and upper case; then
 * lower-casing, the trailing dot and dname_norm().
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/dname.h"
#include "t.h"

struct ncase {
	const char *name;
	int host, dns;			/* expected of each predicate */
};

static const struct ncase ncases[] = {
	{"mx1.example", 1, 1},
	{"a", 1, 1},
	{"localhost", 1, 1},
	{"MX1.Example.NET", 1, 1},		/* either case */
	{"1.2.3.4", 1, 1},			/* digits make a label */
	{"123abc.example", 1, 1},		/* RFC 1123: a label may start with a digit */
	{"a-b.example", 1, 1},
	{"a--b.example", 1, 1},			/* xn-- style: inner hyphens */
	{"xn--bcher-kva.example", 1, 1},	/* IDNs as A-labels */
	{"-mx.example", 0, 0},			/* `-' leads a label */
	{"mx-.example", 0, 0},			/* `-' ends a label */
	{"mx.-example", 0, 0},
	{"mx.example-", 0, 0},
	{"-", 0, 0},
	{"mx.-", 0, 0},
	{"_25._tcp.mx.example", 0, 1},		/* `_': DNS names only */
	{"_mta-sts.example", 0, 1},
	{"mx_1.example", 0, 1},
	{"_", 0, 1},
	{"_-.example", 0, 0},			/* `_' does not excuse a trailing `-' */
	{"-_.example", 0, 0},
	{"mx..example", 0, 0},			/* empty label */
	{".mx.example", 0, 0},			/* leading dot */
	{"mx.example.", 0, 0},			/* trailing dot: the caller's business */
	{".", 0, 0},
	{"..", 0, 0},
	{"", 0, 0},
	{"mx example", 0, 0},
	{"mx\texample", 0, 0},
	{"mx@example", 0, 0},
	{"mx/example", 0, 0},
	{"[192.0.2.1]", 0, 0},			/* an address literal is no name */
	{"m\xc3\xa9.example", 0, 0},		/* 8-bit (UTF-8) */
	{"m\xe9.example", 0, 0},		/* 8-bit (Latin-1) */
	{"mx\x7f.example", 0, 0},
	{"*.example", 0, 0},			/* a pattern is no name */
};

/* rep - a string of n copies of c */
static void
rep(char *out, char c, size_t n)
{
	memset(out, c, n);
	out[n] = 0;
}

/* table - the fixed cases */
static void
table(void)
{
	for (size_t i = 0; i < sizeof(ncases) / sizeof(ncases[0]); i++) {
		const struct ncase *c = &ncases[i];
		size_t n = strlen(c->name);
		int h = dname_host_ok(c->name, n), d = dname_dns_ok(c->name, n);
		char label[128];

		snprintf(label, sizeof(label), "\"%s\"", c->name);
		T_CASE(label, h == c->host && d == c->dns, "host %d dns %d, want %d %d",
		    h, d, c->host, c->dns);
	}
}

/* limits - 63/64-octet labels, 253/254-octet names, NUL, the length */
static void
limits(void)
{
	char l63[64], l64[65], name[300];

	rep(l63, 'a', 63);
	rep(l64, 'a', 64);
	T_CASE("label of 63", dname_host_ok(l63, 63) && dname_dns_ok(l63, 63), "refused");
	T_CASE("label of 64", !dname_host_ok(l64, 64) && !dname_dns_ok(l64, 64), "taken");
	snprintf(name, sizeof(name), "%s.example", l63);
	T_CASE("63 then more", dname_host_ok(name, strlen(name)), "refused");
	snprintf(name, sizeof(name), "x.%s.example", l64);
	T_CASE("64 inside", !dname_dns_ok(name, strlen(name)), "taken");
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	snprintf(name, sizeof(name), "%s.%s.%s.", l63, l63, l63);
	rep(name + strlen(name), 'b', 61);
	T_CASE("name of 253", strlen(name) == 253 && dname_host_ok(name, 253)
	    && dname_dns_ok(name, 253), "refused (%zu)", strlen(name));
	strcat(name, "b");
	T_CASE("name of 254", strlen(name) == 254 && !dname_host_ok(name, 254)
	    && !dname_dns_ok(name, 254), "taken (%zu)", strlen(name));
	name[253] = '.';
	T_CASE("name of 253 and a trailing dot", !dname_dns_ok(name, 254)
	    && dname_dns_ok(name, dname_trim_dot(name, 254)), "wrong");
	T_CASE("NUL inside", !dname_host_ok("mx\0x.example", 12) && !dname_dns_ok("mx\0x", 4),
	    "taken");
	T_CASE("only the length counts", dname_host_ok("mx.example.junk", 10)
	    && !dname_host_ok("mx.example", 3), "wrong");
	T_CASE("length 0", !dname_host_ok("mx", 0) && !dname_dns_ok("mx", 0), "taken");
}

/* lower - dname_lower, dname_trim_dot, dname_norm */
static void
lower(void)
{
	char out[32], small[5];
	size_t n;

	n = dname_lower(out, sizeof(out), "MX1.Example.NET", 15);
	T_CASE("lower", n == 15 && strcmp(out, "mx1.example.net") == 0, "%s", out);
	n = dname_lower(out, sizeof(out), "A-Z_az09.@[]\xc3\x89", 15);
	T_CASE("lower touches A-Z only", n == 15 && strcmp(out, "a-z_az09.@[]\xc3\x89") == 0,
	    "%s", out);
	n = dname_lower(small, sizeof(small), "ABCDEFG", 7);
	T_CASE("lower cuts to the buffer", n == 4 && strcmp(small, "abcd") == 0, "%s", small);
	n = dname_lower(out, sizeof(out), "ABC", 2);
	T_CASE("lower takes len octets", n == 2 && strcmp(out, "ab") == 0, "%s", out);
	snprintf(out, sizeof(out), "Mixed.CASE");
	n = dname_lower(out, sizeof(out), out, strlen(out));
	T_CASE("lower in place", n == 10 && strcmp(out, "mixed.case") == 0, "%s", out);
	T_CASE("trim one dot", dname_trim_dot("a.b.", 4) == 3 && dname_trim_dot("a.b..", 5) == 4
	    && dname_trim_dot("a.b", 3) == 3 && dname_trim_dot(".", 1) == 0
	    && dname_trim_dot("", 0) == 0, "wrong");
	dname_norm(out, sizeof(out), "MX.Example.");
	T_CASE("norm", strcmp(out, "mx.example") == 0, "%s", out);
	dname_norm(out, sizeof(out), "mx.example..");
	T_CASE("norm drops one dot only", strcmp(out, "mx.example.") == 0
	    && !dname_dns_ok(out, strlen(out)), "%s", out);
	dname_norm(out, sizeof(out), ".");
	T_CASE("norm of the root", strcmp(out, "") == 0, "%s", out);
	dname_norm(small, sizeof(small), "ABCD.EFG");
	T_CASE("norm cuts, then drops the dot", strcmp(small, "abcd") == 0, "%s", small);
}

int
main(void)
{
	T_INIT("dname");
	table();
	limits();
	lower();
	return t_done();
}
