/*
 * test_dane.c - the DNSSEC state of an answer (dnssec.c), the DANE rules
 * (RFC 7672 2.2, 3.1.3) and the verify-error mapping (RFC 8460 4.3),
 * table-driven.  Rdata decoding is test_rr.c's, plans test_plan.c's,
 * the combined decision test_route.c's.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "../../policy/dane.h"
#include "../../policy/dnssec.h"
#include "t.h"

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

struct seccase {
	const char *name;
	int err;
	int answer;			/* 0: no answer at all */
	struct dns_status st;
	enum dns_sec want;
};

static const struct seccase secs[] = {
	{"validated answer: secure", 0, 1, {0, 1, 0}, S},
	{"validated NXDOMAIN (authenticated denial): secure", 0, 1, {0, 1, 3}, S},
	{"unsigned answer: insecure", 0, 1, {0, 0, 0}, I},
	{"unsigned NXDOMAIN: insecure", 0, 1, {0, 0, 3}, I},
	{"bogus: bogus", 0, 1, {1, 0, 0}, B},
	{"bogus and secure both set: bogus", 0, 1, {1, 1, 0}, B},
	{"bogus SERVFAIL: bogus", 0, 1, {1, 0, 2}, B},
	{"SERVFAIL: indeterminate", 0, 1, {0, 0, 2}, X},
	{"secure SERVFAIL: indeterminate", 0, 1, {0, 1, 2}, X},
	{"REFUSED: indeterminate", 0, 1, {0, 1, 5}, X},
	{"a response code out of range: indeterminate", 0, 1, {0, 1, -1}, X},
	{"a lookup error: indeterminate", -2, 1, {0, 1, 0}, X},
	{"no answer: indeterminate", 0, 0, {0, 0, 0}, X},
};

static void
dnssec_test(void)
{
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		enum dns_sec got = dns_sec_of(secs[i].err, secs[i].answer ? &secs[i].st : NULL);

		T_CASE(secs[i].name, got == secs[i].want, "got %s", dns_sec_str(got));
	}
	T_CASE("state names", strcmp(dns_sec_str(DNS_SECURE), "secure") == 0
	    && strcmp(dns_sec_str(DNS_INSECURE), "insecure") == 0
	    && strcmp(dns_sec_str(DNS_BOGUS), "bogus") == 0
	    && strcmp(dns_sec_str(DNS_INDETERMINATE), "indeterminate") == 0
	    && strcmp(dns_sec_str((enum dns_sec) 42), "?") == 0, "wrong");
}

int
main(void)
{
	T_INIT("dane");
	dnssec_test();
	rules_test();
	return t_done();
}
