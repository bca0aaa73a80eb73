/*
 * up_tls.c - the upstream client's TLS judgement: the reference
 * identities before the handshake (DANE: OpenSSL's DANE API and the TLSA
 * records; MTA-STS: PKIX and the MX name), the verdict after it, and
 * what the level says when STARTTLS is missing, refused or broken.  See
 * up_int.h.
 *
 * Verification never stops a handshake (SSL_VERIFY_NONE): the result is
 * judged here afterwards, so every failure is named, with the RFC 8460
 * result type and the OpenSSL verify error for the journal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "../lib/log.h"
#include "../policy/dane.h"
#include "tls.h"
#include "up_int.h"

static const char *x509_err_name(long e, char *buf, size_t len);
static void policy_fail(struct up *u, enum rtype rtype, long verr,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void soft_fail(struct up *u, enum rtype rtype, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int dane_setup(struct up *u);
static int sts_setup(struct up *u);
static int judge_sts(struct up *u);
static int judge_dane(struct up *u);

/* x509_err_name - the verify error's name, for reports */
static const char *
x509_err_name(long e, char *buf, size_t len)
{
	static const struct {
		long e;
		const char *n;
	} names[] = {
		{X509_V_ERR_DANE_NO_MATCH, "X509_V_ERR_DANE_NO_MATCH"},
		{X509_V_ERR_HOSTNAME_MISMATCH, "X509_V_ERR_HOSTNAME_MISMATCH"},
		{X509_V_ERR_CERT_HAS_EXPIRED, "X509_V_ERR_CERT_HAS_EXPIRED"},
		{X509_V_ERR_CERT_NOT_YET_VALID, "X509_V_ERR_CERT_NOT_YET_VALID"},
		{X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT"},
		{X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN"},
		{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"},
		{X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE"},
		{X509_V_ERR_CERT_UNTRUSTED, "X509_V_ERR_CERT_UNTRUSTED"},
		{X509_V_ERR_CERT_SIGNATURE_FAILURE, "X509_V_ERR_CERT_SIGNATURE_FAILURE"},
		{X509_V_ERR_INVALID_CA, "X509_V_ERR_INVALID_CA"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, len, "X509_V_ERR_%ld", e);
	return buf;
}

/* policy_fail - a failure that policy forbids working around (verr: the
 * verify error, or X509_V_OK when there is none to name) */
static void
policy_fail(struct up *u, enum rtype rtype, long verr, const char *fmt, ...)
{
	char why[sizeof(u->i.why)], nb[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	u->i.rtype = rtype;
	snprintf(u->i.rcode, sizeof(u->i.rcode), "%s",
	    verr != X509_V_OK ? x509_err_name(verr, nb, sizeof(nb)) : "");
	up_fail(u, "4.7.5", "%s", why);
}

/* soft_fail - MTA-STS testing: note what enforce would have refused */
static void
soft_fail(struct up *u, enum rtype rtype, const char *fmt, ...)
{
	va_list ap;

	if (u->i.soft_rtype != RTYPE_NONE)
		return;				/* the first one counts */
	u->i.soft_rtype = rtype;
	va_start(ap, fmt);
	vsnprintf(u->soft_why, sizeof(u->soft_why), fmt, ap);
	va_end(ap);
	msg_info("%s: MTA-STS testing (policy id %s): %s: %s; delivering anyway",
	    u->sid, u->i.sts_id, rtype_str(rtype), u->soft_why);
}

/* dane_setup - TLSA records and reference names into the new SSL */
static int
dane_setup(struct up *u)
{
	SSL *ssl = u->c.ssl;
	int added = 0;

	if (SSL_dane_enable(ssl, u->base) <= 0) {
		tls_errstr(u->c.err, sizeof(u->c.err), "SSL_dane_enable");
		return -1;
	}
	(void) SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* DANE-TA names: the base domain, and the MX name before CNAMEs. */
	if (u->orig_name[0] && strcmp(u->orig_name, u->base) != 0)
		(void) SSL_add1_host(ssl, u->orig_name);
	for (int i = 0; i < u->p.ntlsa; i++) {
		const struct plan_tlsa *t = &u->p.tlsa[i];
		int r = SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype,
		    t->data, t->len);

		if (r > 0)
			added++;
		else
			msg_warn("%s: TLSA %u %u %u for %s not accepted by OpenSSL",
			    u->sid, t->usage, t->selector, t->mtype, u->base);
	}
	if (added == 0) {
		snprintf(u->c.err, sizeof(u->c.err), "no usable TLSA record for %s", u->base);
		return -1;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);	/* judged after the handshake */
	return 0;
}

/* sts_setup - MTA-STS: PKIX, and the certificate must name the MX host */
static int
sts_setup(struct up *u)
{
	SSL *ssl = u->c.ssl;

	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, u->i.mxname) != 1) {
		tls_errstr(u->c.err, sizeof(u->c.err), "SSL_set1_host");
		return -1;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);	/* judged after the handshake */
	return 0;
}

/* up_tls_start - the handshake after STARTTLS's 220, with what the level
 * will judge it by */
int
up_tls_start(struct up *u)
{
	/* SNI: the TLSA base domain under DANE, else the MX's name. */
	if (conn_starttls(&u->c, u->p.tls_ctx, 0, u->p.level == ROUTE_DANE
		? u->base : u->i.mxname[0] ? u->i.mxname : NULL) < 0)
		return -1;
	if (u->p.level == ROUTE_DANE)
		return dane_setup(u);
	if (ROUTE_IS_STS(u->p.level))
		return sts_setup(u);
	return 0;
}

/* judge_sts - MTA-STS: a PKIX-valid certificate for the MX name, and
 * the MX matching the policy */
static int
judge_sts(struct up *u)
{
	const char *mode = u->p.level == ROUTE_STS ? "enforce" : "testing";
	long verr = SSL_get_verify_result(u->c.ssl);

	if (verr == X509_V_OK && !u->p.sts_mismatch) {
		u->i.verified = 1;
		snprintf(u->i.match, sizeof(u->i.match), "MTA-STS %s, policy id %s", mode,
		    u->i.sts_id);
		msg_info("%s: Verified TLS connection established to %s: %s (%s)",
		    u->sid, u->i.peer, u->i.tlsinfo, u->i.match);
		return 0;
	}
	msg_info("%s: Untrusted TLS connection established to %s: %s (MTA-STS %s, "
	    "policy id %s)", u->sid, u->i.peer, u->i.tlsinfo, mode, u->i.sts_id);
	if (verr == X509_V_OK) {
		soft_fail(u, RTYPE_VALIDATION_FAILURE, "%s matches no mx pattern", u->i.mxname);
		return 0;
	}
	if (ROUTE_SOFT(u->p.level)) {
		soft_fail(u, dane_rtype_for_verify(verr, 0), "certificate of %s: %s",
		    u->i.peer, X509_verify_cert_error_string(verr));
		return 0;
	}
	policy_fail(u, dane_rtype_for_verify(verr, 0), verr,
	    "MTA-STS: certificate of %s not valid: %s", u->i.peer,
	    X509_verify_cert_error_string(verr));
	return -1;
}

/* judge_dane - DANE: the certificate matched a TLSA record */
static int
judge_dane(struct up *u)
{
	SSL *ssl = u->c.ssl;
	long verr = SSL_get_verify_result(ssl);
	int other = u->orig_name[0] && strcmp(u->orig_name, u->base) != 0;
	char why[1024];			/* peer, base and orig_name fit */

	if (verr == X509_V_OK && SSL_get0_dane_authority(ssl, NULL, NULL) >= 0) {
		uint8_t usage = 0, sel = 0, mt = 0;

		(void) SSL_get0_dane_tlsa(ssl, &usage, &sel, &mt, NULL, NULL);
		snprintf(u->i.match, sizeof(u->i.match), "%s %s %s", dane_usage_str(usage),
		    dane_selector_str(sel), dane_mtype_str(mt));
		u->i.verified = 1;
		msg_info("%s: Verified TLS connection established to %s: %s (%s matched)",
		    u->sid, u->i.peer, u->i.tlsinfo, u->i.match);
		return 0;
	}
	if (verr == X509_V_OK)
		verr = X509_V_ERR_DANE_NO_MATCH;
	msg_info("%s: Untrusted TLS connection established to %s: %s", u->sid,
	    u->i.peer, u->i.tlsinfo);
	if (verr == X509_V_ERR_DANE_NO_MATCH)
		snprintf(why, sizeof(why), "TLSA record mismatch for %s", u->i.peer);
	else if (verr == X509_V_ERR_HOSTNAME_MISMATCH)
		snprintf(why, sizeof(why), "certificate name mismatch for %s (DANE-TA, "
		    "names %s%s%s)", u->i.peer, u->base, other ? ", " : "",
		    other ? u->orig_name : "");
	else
		snprintf(why, sizeof(why), "DANE certificate verification failed for "
		    "%s: %s", u->i.peer, X509_verify_cert_error_string(verr));
	policy_fail(u, dane_rtype_for_verify(verr, 1), verr, "%s", why);
	return -1;
}

/* up_tls_judge - the handshake is done: does this TLS session meet the
 * level?  -1 after UP_FAIL */
int
up_tls_judge(struct up *u)
{
	u->i.tls = 1;
	u->i.tls_version = SSL_get_version(u->c.ssl);
	tls_describe(u->c.ssl, u->i.tlsinfo, sizeof(u->i.tlsinfo));
	if (ROUTE_IS_STS(u->p.level))
		return judge_sts(u);
	if (u->p.level == ROUTE_DANE)
		return judge_dane(u);
	msg_info("%s: %s TLS connection established to %s: %s", u->sid,
	    u->p.level == ROUTE_ENCRYPT ? "Untrusted" : "Anonymous", u->i.peer,
	    u->i.tlsinfo);
	return 0;
}

/* up_tls_unoffered - no STARTTLS (refusal: the MX's reply to it, or NULL
 * when not offered); 0: plaintext will do, -1 after UP_FAIL */
int
up_tls_unoffered(struct up *u, const char *refusal)
{
	if (ROUTE_SOFT(u->p.level)) {
		if (refusal)
			soft_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, "%s refused STARTTLS", u->i.peer);
		else
			soft_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, "STARTTLS not offered by %s",
			    u->i.peer);
		return 0;
	}
	if (!ROUTE_TLS_REQUIRED(u->p.level))
		return 0;
	if (refusal)
		policy_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, X509_V_OK, "TLS is required, but "
		    "host %s refused STARTTLS: %s", u->i.peer, refusal);
	else
		policy_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, X509_V_OK, "TLS is required, but "
		    "was not offered by host %s", u->i.peer);
	return -1;
}

/* up_tls_broken - the handshake failed (err; NULL: the connection
 * closed): retry in plaintext or fail as the level says (1), or 0 */
int
up_tls_broken(struct up *u, const char *err)
{
	const char *detail = err ? err : "connection closed";

	if (ROUTE_SOFT(u->p.level) && !u->i.plain_retry) {
		if (err)
			soft_fail(u, RTYPE_VALIDATION_FAILURE, "TLS handshake with %s failed: %s",
			    u->i.peer, err);
		else
			soft_fail(u, RTYPE_VALIDATION_FAILURE, "TLS handshake with %s failed",
			    u->i.peer);
		up_retry_plain(u, detail);
		return 1;
	}
	if (ROUTE_TLS_REQUIRED(u->p.level)) {
		policy_fail(u, RTYPE_VALIDATION_FAILURE, X509_V_OK, "TLS handshake with %s "
		    "failed: %s", u->i.peer, detail);
		return 1;
	}
	if (!u->i.plain_retry) {
		up_retry_plain(u, detail);
		return 1;
	}
	return 0;
}
