/*
 * dane.c - the DANE rules of RFC 7672, pure.  See dane.h.
 */
#include <openssl/x509_vfy.h>

#include "dane.h"

/* dane_state_str - for logs */
const char *
dane_state_str(enum dane_state s)
{
	switch (s) {
	case DANE_NONE:
		return "none";
	case DANE_AUTH:
		return "dane";
	case DANE_UNAUTH:
		return "dane-unusable";
	case DANE_FAIL:
		return "dane-fail";
	}
	return "?";
}

/* dane_usable - DANE-TA(2) and DANE-EE(3) only, for SMTP */
int
dane_usable(const struct rr_tlsa *t)
{
	return t->usage == 2 || t->usage == 3;
}

/* dane_host_state - what DANE asks of one MX host */
enum dane_state
dane_host_state(const struct dane_in *in, enum rtype *rtype, const char **why)
{
	*rtype = RTYPE_NONE;
	*why = NULL;
	if (in->mx_sec == DNS_BOGUS) {
		*rtype = RTYPE_DNSSEC_INVALID;
		*why = "MX lookup failed DNSSEC validation";
		return DANE_FAIL;
	}
	if (in->mx_sec != DNS_SECURE)
		return DANE_NONE;
	if (in->addr_sec == DNS_BOGUS) {
		*rtype = RTYPE_DNSSEC_INVALID;
		*why = "address lookup failed DNSSEC validation";
		return DANE_FAIL;
	}
	if (in->addr_sec != DNS_SECURE)
		return DANE_NONE;
	if (!in->tlsa_looked_up)
		return DANE_NONE;
	switch (in->tlsa_sec) {
	case DNS_BOGUS:
		*rtype = RTYPE_DNSSEC_INVALID;
		*why = "TLSA lookup failed DNSSEC validation";
		return DANE_FAIL;
	case DNS_INDETERMINATE:
		*rtype = RTYPE_DNSSEC_INVALID;
		*why = "TLSA lookup failed";
		return DANE_FAIL;
	case DNS_INSECURE:
		return DANE_NONE;
	case DNS_SECURE:
		break;
	}
	if (!in->tlsa_exists)
		return DANE_NONE;		/* securely denied */
	return in->nusable > 0 ? DANE_AUTH : DANE_UNAUTH;
}

/* dane_rtype_for_verify - OpenSSL verify error to RFC 8460 result type */
enum rtype
dane_rtype_for_verify(long e, int dane)
{
	switch (e) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return RTYPE_CERTIFICATE_HOST_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return RTYPE_CERTIFICATE_EXPIRED;
	case X509_V_ERR_DANE_NO_MATCH:
		return RTYPE_TLSA_INVALID;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return dane ? RTYPE_TLSA_INVALID : RTYPE_CERTIFICATE_NOT_TRUSTED;
	default:
		return RTYPE_VALIDATION_FAILURE;
	}
}

/* dane_usage_str - as Postfix logs it */
const char *
dane_usage_str(int u)
{
	static const char *n[] = {"PKIX-TA(0)", "PKIX-EE(1)", "DANE-TA(2)", "DANE-EE(3)"};

	return (unsigned) u < 4 ? n[u] : "usage(?)";
}

/* dane_selector_str - as Postfix logs it */
const char *
dane_selector_str(int s)
{
	return s == 0 ? "Cert(0)" : s == 1 ? "SPKI(1)" : "selector(?)";
}

/* dane_mtype_str - as Postfix logs it */
const char *
dane_mtype_str(int m)
{
	return m == 0 ? "Full(0)" : m == 1 ? "SHA2-256(1)" : m == 2 ? "SHA2-512(2)"
	    : "mtype(?)";
}
