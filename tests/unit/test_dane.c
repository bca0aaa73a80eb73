/*
 * test_dane.c - rdata decoding, the DANE rules (RFC 7672 2.2, 3.1.3),
 * the verify-error mapping (RFC 8460 4.3) and the combined decision
 * (route_build), table-driven.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "../../lib/dname.h"
#include "../../policy/dane.h"
#include "../../policy/plan.h"
#include "../../policy/route.h"
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

struct rulecase {
	const char *name;
	struct dane_in in;
	enum dane_state want;
	const char *rtype;
};

#define S DNS_SECURE
#define I DNS_INSECURE
#define B DNS_BOGUS
#define X DNS_INDETERMINATE
static const struct rulecase rules[] = {
	/* RFC 7672 2.2.1: DANE needs a secure MX RRset. */
	{"insecure MX: no DANE", {I, S, 0, S, 1, 1}, DANE_NONE, NULL},
	{"bogus MX: fail", {B, S, 0, S, 1, 1}, DANE_FAIL, "dnssec-invalid"},
	/* 2.2.2: ... and secure address records. */
	{"insecure A: no DANE", {S, I, 0, S, 1, 1}, DANE_NONE, NULL},
	{"bogus A: fail", {S, B, 0, S, 1, 1}, DANE_FAIL, "dnssec-invalid"},
	{"no TLSA lookup: no DANE", {S, S, 0, S, 1, 1}, DANE_NONE, NULL},
	/* 2.2.3: TLSA lookup outcomes. */
	{"secure usable TLSA: authenticated", {S, S, 1, S, 1, 2}, DANE_AUTH, NULL},
	{"secure TLSA, none usable: TLS unauthenticated", {S, S, 1, S, 1, 0}, DANE_UNAUTH, NULL},
	{"secure denial (NODATA/NXDOMAIN): no DANE", {S, S, 1, S, 0, 0}, DANE_NONE, NULL},
	{"insecure TLSA: no DANE", {S, S, 1, I, 1, 1}, DANE_NONE, NULL},
	{"bogus TLSA: fail", {S, S, 1, B, 1, 1}, DANE_FAIL, "dnssec-invalid"},
	{"indeterminate TLSA (SERVFAIL): fail", {S, S, 1, X, 0, 0}, DANE_FAIL, "dnssec-invalid"},
};

static void
rules_test(void)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		enum rtype rt;
		const char *why;
		enum dane_state st = dane_host_state(&rules[i].in, &rt, &why);
		const char *rtype = rtype_str(rt);
		int ok = st == rules[i].want && ((rules[i].rtype == NULL && rtype == NULL)
		    || (rules[i].rtype && rtype && strcmp(rtype, rules[i].rtype) == 0));

		T_CASE(rules[i].name, ok, "state=%s rtype=%s", dane_state_str(st), rtype ? rtype : "-");
	}
	T_CASE("verify: name mismatch", strcmp(rtype_str(dane_rtype_for_verify(X509_V_ERR_HOSTNAME_MISMATCH, 1)),
	    "certificate-host-mismatch") == 0, "wrong");
	T_CASE("verify: expired", strcmp(rtype_str(dane_rtype_for_verify(X509_V_ERR_CERT_HAS_EXPIRED, 0)),
	    "certificate-expired") == 0, "wrong");
	T_CASE("verify: no TLSA match", strcmp(rtype_str(dane_rtype_for_verify(X509_V_ERR_DANE_NO_MATCH, 1)),
	    "tlsa-invalid") == 0, "wrong");
	T_CASE("verify: untrusted without DANE", strcmp(rtype_str(dane_rtype_for_verify(
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0)), "certificate-not-trusted") == 0, "wrong");
	T_CASE("verify: other", strcmp(rtype_str(dane_rtype_for_verify(X509_V_ERR_CERT_SIGNATURE_FAILURE, 1)),
	    "validation-failure") == 0, "wrong");
	T_CASE("log names", strcmp(dane_usage_str(3), "DANE-EE(3)") == 0
	    && strcmp(dane_selector_str(1), "SPKI(1)") == 0
	    && strcmp(dane_mtype_str(1), "SHA2-256(1)") == 0, "wrong");
}

static struct sockaddr_storage
v4(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *) &ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(25);
	inet_pton(AF_INET, a, &s->sin_addr);
	return ss;
}

static struct plan *
mkplan(int nhosts, const enum dane_state *states)
{
	struct plan *p = calloc(1, sizeof(*p));
	static const char *addrs[] = {"192.0.2.31", "192.0.2.32", "192.0.2.33"};

	snprintf(p->domain, sizeof(p->domain), "d.example");
	p->status = PLAN_OK;
	p->mx_sec = DNS_SECURE;
	p->nhosts = nhosts;
	for (int i = 0; i < nhosts; i++) {
		snprintf(p->hosts[i].name, sizeof(p->hosts[i].name), "mx%d.d.example", i + 1);
		p->hosts[i].pref = 10 * (i + 1);
		p->hosts[i].addrs[0] = v4(addrs[i]);
		p->hosts[i].naddrs = 1;
		p->hosts[i].dane = states[i];
		if (states[i] != DANE_NONE)
			p->has_dane = 1;
	}
	return p;
}

static void
routes(void)
{
	static const enum dane_state two_dane[] = {DANE_AUTH, DANE_AUTH};
	static const enum dane_state none2[] = {DANE_NONE, DANE_NONE};
	static const enum dane_state fail_then_auth[] = {DANE_FAIL, DANE_AUTH, DANE_UNAUTH};
	struct sockaddr_storage mx2 = v4("192.0.2.32"), rogue = v4("192.0.2.99");
	struct route rt;
	struct plan *p;

	p = mkplan(2, two_dane);
	route_build(p, &mx2, MX_AUTO, 0, &rt);
	T_CASE("orig is an MX: it goes first", rt.verdict == ROUTE_TRY && rt.ncands == 2
	    && rt.cands[0].host == 1 && rt.cands[1].host == 0 && !rt.rerouted
	    && rt.cands[0].level == ROUTE_DANE, "n=%d first=%d", rt.ncands, rt.cands[0].host);
	route_build(p, &rogue, MX_AUTO, 0, &rt);
	T_CASE("DANE domain, orig not an MX: rerouted in preference order", rt.rerouted
	    && rt.ncands == 2 && rt.cands[0].host == 0 && rt.cands[1].host == 1, "n=%d", rt.ncands);
	route_build(p, &rogue, MX_REFUSE, 0, &rt);
	T_CASE("mx_mismatch = refuse", rt.verdict == ROUTE_REFUSE
	    && strncmp(rt.reply, "451 4.7.5", 9) == 0, "verdict=%d %s", rt.verdict, rt.reply);
	route_build(p, &rogue, MX_PASS, 0, &rt);
	T_CASE("mx_mismatch = pass keeps orig, opportunistic", rt.ncands == 1
	    && rt.cands[0].host == -1 && rt.cands[0].level == ROUTE_MAY, "n=%d", rt.ncands);
	plan_free(p);

	p = mkplan(2, none2);
	route_build(p, &rogue, MX_AUTO, 0, &rt);
	T_CASE("no policy, orig not an MX: pass", rt.ncands == 1 && rt.cands[0].host == -1
	    && !rt.rerouted, "n=%d", rt.ncands);
	route_build(p, &rogue, MX_REROUTE, 0, &rt);
	T_CASE("mx_mismatch = reroute applies to no-policy domains too", rt.ncands == 2
	    && rt.rerouted && rt.cands[0].level == ROUTE_MAY, "n=%d", rt.ncands);
	plan_free(p);

	p = mkplan(3, fail_then_auth);
	route_build(p, &rogue, MX_AUTO, 0, &rt);
	T_CASE("failed DANE host listed, not connected; levels kept", rt.ncands == 3
	    && rt.cands[0].failed && !rt.cands[1].failed && rt.cands[1].level == ROUTE_DANE
	    && rt.cands[2].level == ROUTE_ENCRYPT, "n=%d", rt.ncands);
	plan_free(p);

	p = calloc(1, sizeof(*p));
	p->status = PLAN_TEMPFAIL;
	p->rtype = RTYPE_DNSSEC_INVALID;
	snprintf(p->why, sizeof(p->why), "MX lookup failed DNSSEC validation");
	route_build(p, &rogue, MX_AUTO, 0, &rt);
	T_CASE("bogus MX: tempfail 4.7.5, never a downgrade", rt.verdict == ROUTE_TEMPFAIL
	    && strncmp(rt.reply, "451 4.7.5", 9) == 0 && rt.ncands == 0, "%s", rt.reply);
	p->rtype = RTYPE_NONE;
	route_build(p, &rogue, MX_AUTO, 0, &rt);
	T_CASE("DNS failure: tempfail 4.4.3", rt.verdict == ROUTE_TEMPFAIL
	    && strncmp(rt.reply, "451 4.4.3", 9) == 0, "%s", rt.reply);
	p->status = PLAN_NULLMX;
	route_build(p, &rogue, MX_AUTO, 0, &rt);
	T_CASE("null MX: 556 5.1.10", rt.verdict == ROUTE_NULLMX
	    && strncmp(rt.reply, "556 5.1.10", 10) == 0, "%s", rt.reply);
	p->status = PLAN_NODOMAIN;
	route_build(p, &rogue, MX_AUTO, 0, &rt);
	T_CASE("NXDOMAIN: orig, opportunistic", rt.verdict == ROUTE_TRY && rt.ncands == 1
	    && rt.cands[0].host == -1, "n=%d", rt.ncands);
	plan_free(p);
}

static void
plans(void)
{
	struct plan *p = calloc(1, sizeof(*p));

	p->status = PLAN_OK;
	p->mx_sec = DNS_SECURE;
	p->nhosts = 2;
	snprintf(p->hosts[0].name, sizeof(p->hosts[0].name), "mx1.example");
	p->hosts[0].a_sec = DNS_SECURE;
	p->hosts[0].aaaa_sec = DNS_SECURE;
	p->hosts[0].naddrs = 1;
	p->hosts[0].tlsa_looked_up = 1;
	p->hosts[0].tlsa_sec = DNS_SECURE;
	p->hosts[0].tlsa_exists = 1;
	p->hosts[0].ntlsa = 1;
	p->hosts[0].tlsa[0].data = malloc(32);
	p->hosts[0].tlsa[0].len = 32;
	snprintf(p->hosts[1].name, sizeof(p->hosts[1].name), "mx2.example");
	p->hosts[1].a_sec = DNS_SECURE;
	p->hosts[1].aaaa_sec = DNS_INDETERMINATE;	/* AAAA failed, A worked */
	p->hosts[1].naddrs = 1;
	p->hosts[1].tlsa_looked_up = 1;
	p->hosts[1].tlsa_sec = DNS_BOGUS;
	plan_finish(p);
	T_CASE("plan: usable TLSA -> dane", p->hosts[0].dane == DANE_AUTH, "%s",
	    dane_state_str(p->hosts[0].dane));
	T_CASE("plan: one failed family does not spoil the other", p->hosts[1].addr_sec == DNS_SECURE,
	    "%s", dns_sec_str(p->hosts[1].addr_sec));
	T_CASE("plan: bogus TLSA -> fail with reason", p->hosts[1].dane == DANE_FAIL
	    && strstr(p->hosts[1].why, "TLSA lookup failed DNSSEC validation") != NULL, "%s",
	    p->hosts[1].why);
	T_CASE("plan: has_dane", p->has_dane, "no");
	plan_free(p);
}

int
main(void)
{
	T_INIT("dane");
	names();
	tlsa();
	rules_test();
	routes();
	plans();
	return t_done();
}
