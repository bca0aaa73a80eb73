/*
 * check - resolve one NAME TYPE in the lab's DNSSEC world with libunbound,
 * validating from the lab root, and print what a DANE client would see.
 *
 * SYNOPSIS
 *	check -d OUTDIR [-4|-6] [-n] [-v] NAME TYPE
 *	check -r ROOT.HINTS -t ROOT.KEY [-4|-6] [-n] [-v] NAME TYPE
 *
 *	cc -o check check.c $(pkg-config --cflags --libs libunbound)
 *
 * DESCRIPTION
 *	Full recursion from the root hints (no forwarders, no resolv.conf),
 *	with the trust anchor file as the only anchor.  Prints one summary line
 *
 *	  STATUS rcode=RCODE nxdomain=0|1 havedata=0|1 qname=NAME canon=NAME|- ttl=N
 *
 *	where STATUS is secure, insecure, bogus or servfail; then, for a bogus
 *	answer, "why_bogus: TEXT"; then one line per record of the answer RRset,
 *	"rdata HEX" (wire form), each followed by a decoded line for the types
 *	the lab cares about: "a ADDR", "aaaa ADDR", "mx PREF NAME",
 *	"cname NAME", "ns NAME", "tlsa USAGE SELECTOR MTYPE HEX", "txt TEXT"
 *	(the record's strings joined).
 *
 *	-d OUTDIR  use OUTDIR/root.hints and OUTDIR/root.key (build.sh output)
 *	-r FILE    root hints;  -t FILE  trust anchor file (DS or DNSKEY lines)
 *	-n         no trust anchor at all (everything is insecure)
 *	-4 / -6    query the servers over IPv4 only / IPv6 only
 *	-v         libunbound verbosity 2 on stderr
 *
 * EXIT STATUS
 *	0 when an answer (of any status) was obtained, 2 on usage or resolver
 *	errors.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <unbound.h>

static const struct { const char *name; int type; } types[] = {
	{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "MX", 15 },
	{ "TXT", 16 }, { "AAAA", 28 }, { "DS", 43 }, { "RRSIG", 46 },
	{ "NSEC", 47 }, { "DNSKEY", 48 }, { "TLSA", 52 },
};

static const char *rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
};

static void usage(void)
{
	fprintf(stderr, "usage: check (-d OUTDIR | -r HINTS -t TAFILE) [-4|-6] [-n] [-v] NAME TYPE\n");
	exit(2);
}

static int parse_type(const char *s)
{
	size_t i;
	char *end;
	long v;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	if (strncasecmp(s, "TYPE", 4) == 0)
		s += 4;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

/* print_name - an uncompressed wire-format name at p (len bytes left) */
static int print_name(const unsigned char *p, int len)
{
	int off = 0;

	if (len < 1)
		return -1;
	if (p[0] == 0) {
		putchar('.');
		return 1;
	}
	while (off < len && p[off] != 0) {
		int l = p[off++], i;

		if (l > 63 || off + l > len)
			return -1;
		for (i = 0; i < l; i++) {
			unsigned char c = p[off + i];

			if (c == '.' || c == '\\')
				printf("\\%c", c);
			else if (isgraph(c))
				putchar(c);
			else
				printf("\\%03u", c);
		}
		putchar('.');
		off += l;
	}
	if (off >= len)
		return -1;
	return off + 1;
}

static void print_hex(const unsigned char *p, int len)
{
	int i;

	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
}

static void decode(int type, const unsigned char *d, int len)
{
	char buf[INET6_ADDRSTRLEN];

	switch (type) {
	case 1:
		if (len == 4 && inet_ntop(AF_INET, d, buf, sizeof(buf)))
			printf("a %s\n", buf);
		break;
	case 28:
		if (len == 16 && inet_ntop(AF_INET6, d, buf, sizeof(buf)))
			printf("aaaa %s\n", buf);
		break;
	case 15:
		if (len >= 3) {
			printf("mx %u ", (unsigned)(d[0] << 8 | d[1]));
			if (print_name(d + 2, len - 2) < 0)
				printf("?");
			putchar('\n');
		}
		break;
	case 5:
	case 2:
		printf(type == 5 ? "cname " : "ns ");
		if (print_name(d, len) < 0)
			printf("?");
		putchar('\n');
		break;
	case 16:	/* the character strings, joined; non-printables as \DDD */
		printf("txt ");
		for (int off = 0; off < len; ) {
			int l = d[off++];

			for (int i = 0; i < l && off < len; i++, off++) {
				if (isprint(d[off]) && d[off] != '\\')
					putchar(d[off]);
				else
					printf("\\%03u", d[off]);
			}
		}
		putchar('\n');
		break;
	case 52:
		if (len >= 3) {
			printf("tlsa %u %u %u ", d[0], d[1], d[2]);
			print_hex(d + 3, len - 3);
			putchar('\n');
		}
		break;
	}
}

int main(int argc, char **argv)
{
	const char *outdir = NULL, *hints = NULL, *ta = NULL;
	char hbuf[4096], tbuf[4096];
	int no_ta = 0, only4 = 0, only6 = 0, verbose = 0, opt, type, err, i;
	struct ub_ctx *ctx;
	struct ub_result *res = NULL;
	const char *status;

	while ((opt = getopt(argc, argv, "d:r:t:n46v")) != -1) {
		switch (opt) {
		case 'd': outdir = optarg; break;
		case 'r': hints = optarg; break;
		case 't': ta = optarg; break;
		case 'n': no_ta = 1; break;
		case '4': only4 = 1; break;
		case '6': only6 = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || (only4 && only6))
		usage();
	if (outdir) {
		snprintf(hbuf, sizeof(hbuf), "%s/root.hints", outdir);
		snprintf(tbuf, sizeof(tbuf), "%s/root.key", outdir);
		if (!hints)
			hints = hbuf;
		if (!ta)
			ta = tbuf;
	}
	if (!hints || (!ta && !no_ta))
		usage();
	type = parse_type(argv[optind + 1]);
	if (type < 0) {
		fprintf(stderr, "check: unknown type %s\n", argv[optind + 1]);
		return 2;
	}

	ctx = ub_ctx_create();
	if (!ctx) {
		fprintf(stderr, "check: ub_ctx_create failed\n");
		return 2;
	}
#define SET(o, v) do { \
		if ((err = ub_ctx_set_option(ctx, o, v)) != 0) { \
			fprintf(stderr, "check: option %s %s: %s\n", o, v, ub_strerror(err)); \
			return 2; \
		} } while (0)
	/* the lab root is the only root; no resolv.conf, no hosts file */
	SET("root-hints:", hints);
	/* do not chase every NS name's addresses in advance: fewer queries */
	SET("target-fetch-policy:", "0 0 0 0 0");
	/* val-log-level 2 makes why_bogus say which record and why */
	SET("val-log-level:", "2");
	if (only4)
		SET("do-ip6:", "no");
	if (only6)
		SET("do-ip4:", "no");
	if (verbose)
		SET("verbosity:", "2");
	if (!no_ta && (err = ub_ctx_add_ta_file(ctx, ta)) != 0) {
		fprintf(stderr, "check: trust anchor %s: %s\n", ta, ub_strerror(err));
		return 2;
	}

	err = ub_resolve(ctx, argv[optind], type, 1 /* IN */, &res);
	if (err != 0) {
		fprintf(stderr, "check: resolve %s %s: %s\n", argv[optind],
			argv[optind + 1], ub_strerror(err));
		ub_ctx_delete(ctx);
		return 2;
	}
	if (res->secure)
		status = "secure";
	else if (res->bogus)
		status = "bogus";
	else if (res->rcode == 2)
		status = "servfail";
	else
		status = "insecure";
	printf("%s rcode=", status);
	if (res->rcode >= 0 && res->rcode < (int)(sizeof(rcodes) / sizeof(rcodes[0])))
		printf("%s", rcodes[res->rcode]);
	else
		printf("%d", res->rcode);
	printf(" nxdomain=%d havedata=%d qname=%s canon=%s ttl=%d\n",
	       res->nxdomain, res->havedata, res->qname,
	       res->canonname ? res->canonname : "-", res->ttl);
	if (res->bogus && res->why_bogus)
		printf("why_bogus: %s\n", res->why_bogus);
	for (i = 0; res->havedata && res->data[i]; i++) {
		printf("rdata ");
		print_hex((unsigned char *)res->data[i], res->len[i]);
		putchar('\n');
		decode(res->qtype, (unsigned char *)res->data[i], res->len[i]);
	}
	ub_resolve_free(res);
	ub_ctx_delete(ctx);
	return 0;
}
