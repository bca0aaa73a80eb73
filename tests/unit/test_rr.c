/*
 * test_rr.c - rdata decoding as libunbound hands it over (rr.c): wire
 * names, MX, TLSA (with what DANE can use of it), their presentation
 * forms, table-driven with hostile input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/dname.h"
#include "../../policy/dane.h"
#include "../../policy/rr.h"
#include "t.h"

static void
names(void)
{
	const unsigned char ok[] = "\3mx1\7example\3net\0";
	const unsigned char root[] = "\0";
	const unsigned char ptr[] = "\3mx1\xc0\x0c";
	const unsigned char longlab[] = "\x40xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\0";
	const unsigned char trunc[] = "\7exam";
	const unsigned char bad[] = "\3m x\0";
	char out[RR_NAME_MAX];
	size_t off = 0;
	int r;

	r = rr_name(ok, sizeof(ok) - 1, &off, out, sizeof(out));
	T_CASE("name decodes", r == 0 && strcmp(out, "mx1.example.net") == 0 && off == 17,
	    "r=%d out=%s off=%zu", r, out, off);
	off = 0;
	r = rr_name(root, 1, &off, out, sizeof(out));
	T_CASE("root name", r == 0 && strcmp(out, ".") == 0, "r=%d out=%s", r, out);
	off = 0;
	T_CASE("compression pointer refused", rr_name(ptr, sizeof(ptr) - 1, &off, out, sizeof(out)) < 0, "accepted");
	off = 0;
	T_CASE("64-octet label refused", rr_name(longlab, sizeof(longlab) - 1, &off, out, sizeof(out)) < 0, "accepted");
	off = 0;
	T_CASE("truncated name refused", rr_name(trunc, sizeof(trunc) - 1, &off, out, sizeof(out)) < 0, "accepted");
	off = 0;
	T_CASE("space in label refused", rr_name(bad, sizeof(bad) - 1, &off, out, sizeof(out)) < 0, "accepted");
	off = 0;
	T_CASE("empty input refused", rr_name(ok, 0, &off, out, sizeof(out)) < 0, "accepted");
	{
		unsigned char mx[] = "\0\12\3mx1\7example\0";
		int pref;

		r = rr_mx(mx, sizeof(mx) - 1, &pref, out, sizeof(out));
		T_CASE("MX decodes", r == 0 && pref == 10 && strcmp(out, "mx1.example") == 0,
		    "r=%d pref=%d out=%s", r, pref, out);
		T_CASE("MX with trailing junk refused", rr_mx(mx, sizeof(mx), &pref, out, sizeof(out)) < 0,
		    "accepted");
		T_CASE("MX too short refused", rr_mx(mx, 2, &pref, out, sizeof(out)) < 0, "accepted");
	}
	T_CASE("name check", dname_dns_ok("mx1.example", 11) && !dname_dns_ok("mx1..example", 12)
	    && !dname_dns_ok("", 0) && !dname_dns_ok("a b", 3), "wrong");
}

/* wire_name - n labels of l octets each, as wire format; its length */
static size_t
wire_name(unsigned char *w, size_t wlen, int n, int l)
{
	size_t o = 0;

	for (int i = 0; i < n && o + 1 + (size_t) l + 1 <= wlen; i++) {
		w[o++] = (unsigned char) l;
		memset(w + o, 'a', (size_t) l);
		o += (size_t) l;
	}
	w[o++] = 0;
	return o;
}

/* long_name - three labels of 63 and one of last (at most 63) into w
 * (at least 256 octets); its wire length */
static size_t
long_name(unsigned char *w, int last)
{
	size_t n = wire_name(w, 256, 3, 63);

	w[n - 1] = (unsigned char) last;	/* the root's place */
	memset(w + n, 'b', (size_t) last);
	w[n + (size_t) last] = 0;
	return n + (size_t) last + 1;
}

static void
names_hostile(void)
{
	unsigned char w[400];
	char out[RR_NAME_MAX];
	size_t n, off;
	int r;

	/* three labels of 63 and a last one of 60, 61, 62: 252, 253 (the
	 * most a name can be: 255 on the wire) and 254 octets as text */
	n = long_name(w, 60);
	off = 0;
	r = rr_name(w, n, &off, out, sizeof(out));
	T_CASE("252-octet name decodes", r == 0 && strlen(out) == 252 && off == n,
	    "r=%d len=%zu", r, strlen(out));
	n = long_name(w, 61);
	off = 0;
	r = rr_name(w, n, &off, out, sizeof(out));
	T_CASE("253-octet name (255 on the wire) decodes", r == 0 && strlen(out) == 253
	    && off == n, "r=%d len=%zu", r, strlen(out));
	n = long_name(w, 62);
	off = 0;
	T_CASE("254-octet name (256 on the wire) refused", rr_name(w, n, &off, out,
	    sizeof(out)) < 0 && off == 0, "accepted, off=%zu", off);
	n = wire_name(w, sizeof(w), 4, 63);
	off = 0;
	T_CASE("255-octet name refused, offset untouched", rr_name(w, n, &off, out,
	    sizeof(out)) < 0 && off == 0, "accepted, off=%zu", off);
	n = wire_name(w, sizeof(w), 6, 63);
	off = 0;
	T_CASE("a name longer than any buffer refused", rr_name(w, n, &off, out,
	    sizeof(out)) < 0, "accepted");
	{
		static const unsigned char ok[] = "\3mx1\7example\3net\0";

		off = 0;
		T_CASE("output too small refused", rr_name(ok, sizeof(ok) - 1, &off, out, 15) < 0,
		    "accepted");
		off = 0;
		T_CASE("output of one octet refused", rr_name(ok, sizeof(ok) - 1, &off, out, 1) < 0,
		    "accepted");
		off = 0;
		T_CASE("output of exactly the name fits", rr_name(ok, sizeof(ok) - 1, &off, out, 16) == 0
		    && strcmp(out, "mx1.example.net") == 0, "refused");
		off = sizeof(ok) + 5;
		T_CASE("offset beyond the rdata refused", rr_name(ok, sizeof(ok) - 1, &off, out,
		    sizeof(out)) < 0, "accepted");
		off = sizeof(ok) - 1;
		T_CASE("offset at the end refused", rr_name(ok, sizeof(ok) - 1, &off, out,
		    sizeof(out)) < 0, "accepted");
	}
	{
		static const unsigned char hy_end[] = "\4mx1-\7example\0";
		static const unsigned char hy_start[] = "\4-mx1\7example\0";
		static const unsigned char upper[] = "\3MX1\7EXAMPLE\0";
		static const unsigned char nul[] = "\3m\0x\7example\0";
		static const unsigned char hi[] = "\3m\xe9x\7example\0";

		off = 0;
		T_CASE("hyphen at a label's end refused", rr_name(hy_end, sizeof(hy_end) - 1, &off, out,
		    sizeof(out)) < 0, "accepted");
		off = 0;
		T_CASE("hyphen at a label's start refused", rr_name(hy_start, sizeof(hy_start) - 1, &off,
		    out, sizeof(out)) < 0, "accepted");
		off = 0;
		r = rr_name(upper, sizeof(upper) - 1, &off, out, sizeof(out));
		T_CASE("upper case comes out lower case", r == 0 && strcmp(out, "mx1.example") == 0,
		    "r=%d out=%s", r, out);
		off = 0;
		T_CASE("NUL in a label refused", rr_name(nul, sizeof(nul) - 1, &off, out,
		    sizeof(out)) < 0, "accepted");
		off = 0;
		T_CASE("non-ASCII octet in a label refused", rr_name(hi, sizeof(hi) - 1, &off, out,
		    sizeof(out)) < 0, "accepted");
	}
	{
		static const unsigned char ptr[] = "\0\12\xc0\x0c";
		static const unsigned char dot[] = "\0\12\0";
		int pref;

		T_CASE("MX with a compressed exchange refused", rr_mx(ptr, sizeof(ptr) - 1, &pref, out,
		    sizeof(out)) < 0, "accepted");
		r = rr_mx(dot, sizeof(dot) - 1, &pref, out, sizeof(out));
		T_CASE("MX to the root (null MX) decodes as \".\"", r == 0 && pref == 10
		    && strcmp(out, ".") == 0, "r=%d out=%s", r, out);
	}
}

struct tlsacase {
	const char *name;
	unsigned char rd[70];
	size_t len;
	int ok;
	int usable;
};

static const struct tlsacase tlsas[] = {
	{"3 1 1 with 32 octets", {3, 1, 1}, 35, 1, 1},
	{"2 0 1 with 32 octets", {2, 0, 1}, 35, 1, 1},
	{"3 0 2 with 64 octets", {3, 0, 2}, 67, 1, 1},
	{"3 1 0 full data", {3, 1, 0, 0x30}, 4, 1, 1},
	{"1 1 1 (PKIX-EE) well formed, unusable for SMTP", {1, 1, 1}, 35, 1, 0},
	{"0 0 1 (PKIX-TA) well formed, unusable for SMTP", {0, 0, 1}, 35, 1, 0},
	{"3 1 1 with 20 octets: bad length", {3, 1, 1}, 23, 0, 0},
	{"3 1 2 with 32 octets: bad length", {3, 1, 2}, 35, 0, 0},
	{"4 1 1: unknown usage", {4, 1, 1}, 35, 0, 0},
	{"3 2 1: unknown selector", {3, 2, 1}, 35, 0, 0},
	{"3 1 3: unknown matching type", {3, 1, 3}, 35, 0, 0},
	{"3 1 0 without data", {3, 1, 0}, 3, 0, 0},
	{"two octets", {3, 1}, 2, 0, 0},
};

static void
tlsa(void)
{
	for (size_t i = 0; i < sizeof(tlsas) / sizeof(tlsas[0]); i++) {
		struct rr_tlsa t;
		const char *why = NULL;
		int r = rr_tlsa(tlsas[i].rd, tlsas[i].len, &t, &why);
		int ok = tlsas[i].ok ? (r == 0 && dane_usable(&t) == tlsas[i].usable)
		    : (r < 0 && why != NULL);

		T_CASE(tlsas[i].name, ok, "r=%d why=%s", r, why ? why : "-");
	}
	{
		unsigned char rd[35] = {3, 1, 1, 0xab, 0xcd};
		struct rr_tlsa t;
		const char *why;
		char txt[200];

		rr_tlsa(rd, sizeof(rd), &t, &why);
		rr_tlsa_text(&t, txt, sizeof(txt));
		T_CASE("presentation form", strncmp(txt, "3 1 1 ABCD00", 12) == 0 && strlen(txt) == 6 + 64,
		    "%s", txt);
		rr_tlsa_text(&t, txt, 20);
		T_CASE("presentation form truncated", strlen(txt) < 20 && strstr(txt, "...") != NULL, "%s", txt);
	}
	{
		/* Records that do not parse, shown as published (for reports). */
		static const unsigned char bad_usage[] = {4, 1, 1, 0x0f, 0xa0};
		static const unsigned char short2[] = {3, 1};
		char txt[64];

		rr_tlsa_raw_text(bad_usage, sizeof(bad_usage), txt, sizeof(txt));
		T_CASE("raw presentation of an unknown usage", strcmp(txt, "4 1 1 0FA0") == 0,
		    "%s", txt);
		rr_tlsa_raw_text(short2, sizeof(short2), txt, sizeof(txt));
		T_CASE("raw presentation of 2 octets (RFC 3597)", strcmp(txt, "\\# 2 0301") == 0,
		    "%s", txt);
		rr_tlsa_raw_text(short2, 0, txt, sizeof(txt));
		T_CASE("raw presentation of nothing", strcmp(txt, "\\# 0") == 0, "%s", txt);
		rr_tlsa_raw_text(bad_usage, sizeof(bad_usage), txt, 8);
		T_CASE("raw presentation bounded", strlen(txt) < 8, "%s", txt);
	}
}

static void
tlsa_hostile(void)
{
	static const unsigned char rd[35] = {3, 1, 1, 0xab, 0xcd};
	static const unsigned char u255[] = {255, 1, 1, 0};
	static const unsigned char sha512_65[68] = {3, 1, 2};
	struct rr_tlsa t;
	const char *why = NULL;
	char txt[64];

	T_CASE("usage 255 refused", rr_tlsa(u255, sizeof(u255), &t, &why) < 0 && why != NULL,
	    "accepted");
	why = NULL;
	T_CASE("3 1 2 with 65 octets refused", rr_tlsa(sha512_65, sizeof(sha512_65), &t, &why) < 0
	    && why != NULL, "accepted");
	why = NULL;
	T_CASE("nothing at all refused", rr_tlsa(rd, 0, &t, &why) < 0 && why != NULL, "accepted");
	rr_tlsa(rd, sizeof(rd), &t, &why);
	memset(txt, 'x', sizeof(txt));
	rr_tlsa_text(&t, txt, 6);
	T_CASE("presentation form in a buffer too small for the numbers", memchr(txt, 0, 6) != NULL,
	    "not terminated");
	rr_tlsa_text(&t, txt, 7);
	T_CASE("presentation form with room for the numbers only", strcmp(txt, "3 1 1 ") == 0,
	    "%s", txt);
	rr_tlsa_raw_text(rd, 1, txt, sizeof(txt));
	T_CASE("raw presentation of 1 octet (RFC 3597)", strcmp(txt, "\\# 1 03") == 0, "%s", txt);
	rr_tlsa_raw_text(rd, 3, txt, sizeof(txt));
	T_CASE("raw presentation of the three numbers alone", strcmp(txt, "3 1 1 ") == 0, "%s", txt);
}

int
main(void)
{
	T_INIT("rr");
	names();
	names_hostile();
	tlsa();
	tlsa_hostile();
	return t_done();
}
