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
 *
 * The session cache (tls_scache.h, when p.scache is set): before the
 * handshake the key of everything the verification depends on is made
 * and its session, if any, offered.  OpenSSL verifies nothing on
 * resumption: SSL_get_verify_result() is the stored session's (X509_V_OK
 * for a session verified before, whatever the TLSA records or names are
 * now), and with DANE SSL_get0_dane_authority() is -1 (no TLSA record
 * matched in this handshake; the matching runs in certificate
 * verification, which a resumed handshake skips; seen with OpenSSL 3.0
 * for TLS 1.2 and 1.3 alike).  judge_full() would call a resumed DANE
 * session a mismatch and a resumed MTA-STS one verified, both for the
 * wrong reason; judge_resumed() says verified only because the cache
 * stores only what was verified, under a key of everything that
 * verification depended on.  New sessions reach new_session() (TLS 1.2: during the
 * handshake, before the verdict, kept in u->pend until it; TLS 1.3:
 * tickets after it); they are stored when the verdict was what the
 * key promises.  A failed handshake, or another verdict, drops the
 * entry that was offered.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/dane.h"
#include "../policy/ptable_load.h"
#include "tls.h"
#include "tls_scache.h"
#include "up_int.h"

static const char *x509_err_name(long e, char *buf, size_t len);
static void policy_fail(struct up *u, enum rtype rtype, long verr,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int dane_setup(struct up *u);
static int sts_setup(struct up *u);
static int judge_sts(struct up *u);
static int judge_dane(struct up *u);
static int table_tls(struct up *u);
static int names_setup(struct up *u);
static int judge_names(struct up *u);
static int judge_fp(struct up *u);
static int verified(struct up *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int ex_index(void);
static long mono_s(void);
static int level_verifies(enum route_level l);
static void cache_offer(struct up *u, const char *sni);
static void cache_store(struct up *u, SSL_SESSION *sess);
static void cache_verdict(struct up *u, int rc);
static int new_session(SSL *ssl, SSL_SESSION *sess);
static int judge_resumed(struct up *u);
static int judge_full(struct up *u);

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
	/* require_tls's floor: X.7.4, security features not supported */
	up_fail(u, u->p.floor && rtype == RTYPE_STARTTLS_NOT_SUPPORTED ? "4.7.4" : "4.7.5",
	    "%s", why);
}

/* verified - the level's check passed: what matched (ui->match), and the
 * log line; 0 */
static int
verified(struct up *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->i.match, sizeof(u->i.match), fmt, ap);
	va_end(ap);
	u->i.verified = 1;
	msg_info("%s: Verified TLS connection established to %s: %s (%s)", u->sid,
	    u->i.peer, u->i.tlsinfo, u->i.match);
	return 0;
}

/* up_tls_lenient - is what the level would refuse only noted? */
int
up_tls_lenient(const struct up *u)
{
	return ROUTE_SOFT(u->p.level) || (u->p.soft && ROUTE_TLS_REQUIRED(u->p.level));
}

/* up_tls_plain_ok - may it go on without TLS, the lack only noted?  As
 * lenient, but require_tls's floor holds under MTA-STS testing too
 * (report-only refuses nothing) */
int
up_tls_plain_ok(const struct up *u)
{
	return u->p.soft ? up_tls_lenient(u) : ROUTE_SOFT(u->p.level) && !u->p.floor;
}

/* tls_required - is TLS a must at this level, or by the floor? */
static int
tls_required(const struct up *u)
{
	return ROUTE_TLS_REQUIRED(u->p.level) || u->p.floor;
}

/* up_soft_fail - MTA-STS testing or report-only: note what enforcing
 * would have refused */
void
up_soft_fail(struct up *u, enum rtype rtype, const char *fmt, ...)
{
	va_list ap;

	if (u->i.soft_rtype != RTYPE_NONE)
		return;				/* the first one counts */
	u->i.soft_rtype = rtype;
	va_start(ap, fmt);
	vsnprintf(u->soft_why, sizeof(u->soft_why), fmt, ap);
	va_end(ap);
	if (u->p.soft)
		msg_info("%s: report-only: would refuse (%s): %s: %s; delivering anyway",
		    u->sid, route_level_str(u->p.level), rtype_str(rtype), u->soft_why);
	else
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
		tls_errstr(conn_errbuf(&u->c), CONN_ERR_MAX, "SSL_dane_enable");
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
		snprintf(conn_errbuf(&u->c), CONN_ERR_MAX, "no usable TLSA record for %s", u->base);
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
		tls_errstr(conn_errbuf(&u->c), CONN_ERR_MAX, "SSL_set1_host");
		return -1;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);	/* judged after the handshake */
	return 0;
}

/* table_tls - the table entry's protocols= and ciphers= */
static int
table_tls(struct up *u)
{
	static const int vers[PTAB_NPROTOS] = {
		[PTAB_SSLV2] = 0, [PTAB_SSLV3] = SSL3_VERSION, [PTAB_TLSV1] = TLS1_VERSION,
		[PTAB_TLSV1_1] = TLS1_1_VERSION, [PTAB_TLSV1_2] = TLS1_2_VERSION,
		[PTAB_TLSV1_3] = TLS1_3_VERSION,
	};
	static const struct {
		const char *grade, *list;
	} grades[] = {			/* Postfix's tls_*_cipherlist defaults */
		{"high", "aNULL:-aNULL:HIGH:@STRENGTH"},
		{"medium", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"},
		{"low", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"},
		{"export", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"},
		{"null", "eNULL:!aNULL"},
	};
	const struct ptab_entry *e = &u->tab;
	SSL *ssl = u->c.ssl;

	if (e->protocols) {
		/* A client offers a range, without holes: the highest run of
		 * versions allowed (!TLSv1.2 is TLSv1.3, never a downgrade). */
		int lo, hi = PTAB_NPROTOS - 1;

		while (hi >= PTAB_SSLV3 && !(e->proto_ok & (1u << hi)))
			hi--;
		for (lo = hi; lo > PTAB_SSLV3 && (e->proto_ok & (1u << (lo - 1))); lo--)
			;
		if (hi < PTAB_SSLV3 || SSL_set_min_proto_version(ssl, vers[lo]) != 1
		    || SSL_set_max_proto_version(ssl, vers[hi]) != 1) {
			snprintf(conn_errbuf(&u->c), CONN_ERR_MAX, "policy table %s: protocols= "
			    "leaves no protocol OpenSSL can use", e->key);
			return -1;
		}
	}
	if (e->ciphers) {
		const char *list = e->ciphers;

		for (size_t i = 0; i < sizeof(grades) / sizeof(grades[0]); i++)
			if (strcmp(e->ciphers, grades[i].grade) == 0)
				list = grades[i].list;
		if (SSL_set_cipher_list(ssl, list) != 1) {
			snprintf(conn_errbuf(&u->c), CONN_ERR_MAX, "policy table %s: ciphers=%s: "
			    "no cipher OpenSSL knows", e->key, e->ciphers);
			return -1;
		}
	}
	return 0;
}

/* names_setup - verify, secure: PKIX (or the tafile= anchors, as DANE-TA)
 * and the match= names */
static int
names_setup(struct up *u)
{
	const struct ptab_entry *e = &u->tab;
	SSL *ssl = u->c.ssl;
	char names[PTAB_MATCH_MAX][260];
	int n = 0, rc = 0;

	for (int i = 0; i < e->nmatch; i++) {
		const char *m = e->match[i];

		if (strcmp(m, "hostname") == 0) {
			if (u->orig_name[0])	/* the MX name from DNS, not the banner's */
				snprintf(names[n++], sizeof(names[0]), "%s", u->i.mxname);
		} else if (strcmp(m, "nexthop") == 0) {
			if (u->nexthop[0])
				snprintf(names[n++], sizeof(names[0]), "%s", u->nexthop);
		} else if (strcmp(m, "dot-nexthop") == 0) {
			if (u->nexthop[0])
				snprintf(names[n++], sizeof(names[0]), ".%s", u->nexthop);
		} else {
			snprintf(names[n++], sizeof(names[0]), "%s", m);
		}
	}
	if (n == 0) {
		snprintf(conn_errbuf(&u->c), CONN_ERR_MAX, "policy table %s: no name to verify "
		    "%s against", e->key, u->i.peer);
		return -1;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (e->tafile) {
		struct ptab_ta *ta;
		int nta, added = 0;

		if (ptab_ta_read(e->tafile, &ta, &nta, conn_errbuf(&u->c), CONN_ERR_MAX) < 0)
			return -1;
		if (SSL_dane_enable(ssl, names[0]) <= 0)
			rc = -1;
		for (int i = 0; rc == 0 && i < nta; i++)
			if (SSL_dane_tlsa_add(ssl, 2, (uint8_t) ta[i].selector, 0, ta[i].der,
			    ta[i].len) > 0)
				added++;
		ptab_ta_free(ta, nta);
		if (rc < 0 || added == 0) {
			tls_errstr(conn_errbuf(&u->c), CONN_ERR_MAX, "tafile trust anchors");
			return -1;
		}
	} else if (SSL_set1_host(ssl, names[0]) != 1) {
		tls_errstr(conn_errbuf(&u->c), CONN_ERR_MAX, "SSL_set1_host");
		return -1;
	}
	for (int i = 1; i < n; i++)
		if (SSL_add1_host(ssl, names[i]) != 1) {
			tls_errstr(conn_errbuf(&u->c), CONN_ERR_MAX, "SSL_add1_host");
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
	/* SNI: the TLSA base domain under DANE, else the MX's name; the
	 * table's servername= over both. */
	const char *sni = u->p.level == ROUTE_DANE ? u->base : u->i.mxname[0]
	    ? u->i.mxname : NULL;

	if (u->has_tab && u->tab.servername)
		sni = strcmp(u->tab.servername, "hostname") != 0 ? u->tab.servername
		    : u->i.mxname[0] ? u->i.mxname : NULL;
	if (conn_starttls(&u->c, u->p.tls_ctx, 0, sni) < 0)
		return -1;
	if (u->p.ktls)			/* taken up where the kernel has `tls' */
		SSL_set_options(u->c.ssl, SSL_OP_ENABLE_KTLS);
	if (u->has_tab && table_tls(u) < 0)
		return -1;
	if ((u->p.level == ROUTE_DANE && dane_setup(u) < 0)
	    || (ROUTE_IS_STS(u->p.level) && sts_setup(u) < 0)
	    || ((u->p.level == ROUTE_VERIFY || u->p.level == ROUTE_SECURE)
	    && names_setup(u) < 0))
		return -1;
	cache_offer(u, sni);
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
		return verified(u, "MTA-STS %s, policy id %s", mode, u->i.sts_id);
	}
	msg_info("%s: Untrusted TLS connection established to %s: %s (MTA-STS %s, "
	    "policy id %s)", u->sid, u->i.peer, u->i.tlsinfo, mode, u->i.sts_id);
	if (verr == X509_V_OK) {
		up_soft_fail(u, RTYPE_VALIDATION_FAILURE, "%s matches no mx pattern", u->i.mxname);
		return 0;
	}
	if (up_tls_lenient(u)) {
		up_soft_fail(u, dane_rtype_for_verify(verr, 0), "certificate of %s: %s",
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
	if (up_tls_lenient(u)) {
		up_soft_fail(u, dane_rtype_for_verify(verr, 1), "%s", why);
		return 0;
	}
	policy_fail(u, dane_rtype_for_verify(verr, 1), verr, "%s", why);
	return -1;
}

/* judge_names - verify, secure: a valid chain for one of the names */
static int
judge_names(struct up *u)
{
	SSL *ssl = u->c.ssl;
	long verr = SSL_get_verify_result(ssl);
	const char *lv = route_level_str(u->p.level);

	if (verr == X509_V_OK && u->tab.tafile && SSL_get0_dane_authority(ssl, NULL, NULL) < 0)
		verr = X509_V_ERR_CERT_UNTRUSTED;
	if (verr == X509_V_OK) {
		const char *peer = SSL_get0_peername(ssl);

		return verified(u, "policy table %s, %.60s", lv, peer ? peer : "?");
	}
	msg_info("%s: Untrusted TLS connection established to %s: %s (policy table %s)",
	    u->sid, u->i.peer, u->i.tlsinfo, lv);
	if (up_tls_lenient(u)) {
		up_soft_fail(u, dane_rtype_for_verify(verr, 0), "certificate of %s: %s",
		    u->i.peer, X509_verify_cert_error_string(verr));
		return 0;
	}
	policy_fail(u, dane_rtype_for_verify(verr, 0), verr, "policy table %s %s: "
	    "certificate of %s not verified: %s", u->tab.key, lv, u->i.peer,
	    X509_verify_cert_error_string(verr));
	return -1;
}

/* judge_fp - fingerprint: the certificate's or its key's SHA-256 digest
 * is one of match= */
static int
judge_fp(struct up *u)
{
	X509 *x = SSL_get1_peer_certificate(u->c.ssl);
	unsigned char cd[EVP_MAX_MD_SIZE], kd[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned cn = 0, kn = 0;
	const char *what = NULL;
	int dl;

	/* As Postfix: the digest of the whole certificate, or of its
	 * SubjectPublicKeyInfo (DER) */
	if (x && X509_digest(x, EVP_sha256(), cd, &cn) == 1
	    && (dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0
	    && EVP_Digest(der, (size_t) dl, kd, &kn, EVP_sha256(), NULL) == 1)
		for (int i = 0; i < u->tab.nfp && what == NULL; i++)
			what = cn == 32 && memcmp(u->tab.fp[i], cd, 32) == 0 ? "certificate"
			    : kn == 32 && memcmp(u->tab.fp[i], kd, 32) == 0 ? "public key" : NULL;
	OPENSSL_free(der);
	X509_free(x);
	if (what) {
		return verified(u, "policy table fingerprint, SHA-256 of the %s", what);
	}
	msg_info("%s: Untrusted TLS connection established to %s: %s (policy table "
	    "fingerprint)", u->sid, u->i.peer, u->i.tlsinfo);
	if (up_tls_lenient(u)) {
		up_soft_fail(u, RTYPE_VALIDATION_FAILURE, "certificate of %s matches no "
		    "fingerprint", u->i.peer);
		return 0;
	}
	policy_fail(u, RTYPE_VALIDATION_FAILURE, X509_V_OK, "policy table %s fingerprint: "
	    "%s %s", u->tab.key, x ? "no match= digest is that of the certificate of"
	    : "no certificate from", u->i.peer);
	return -1;
}

/* judge_full - a full handshake: the level's checks */
static int
judge_full(struct up *u)
{
	if (ROUTE_IS_STS(u->p.level))
		return judge_sts(u);
	if (u->p.level == ROUTE_DANE)
		return judge_dane(u);
	if (u->p.level == ROUTE_VERIFY || u->p.level == ROUTE_SECURE)
		return judge_names(u);
	if (u->p.level == ROUTE_FINGERPRINT)
		return judge_fp(u);
	msg_info("%s: %s TLS connection established to %s: %s", u->sid,
	    u->p.level == ROUTE_ENCRYPT ? "Untrusted" : "Anonymous", u->i.peer,
	    u->i.tlsinfo);
	return 0;
}

/* judge_resumed - a resumed session: verified as the session it
 * resumes was, under the same key (nothing is checked again); the
 * verdict's line is that session's, and one more says so */
static int
judge_resumed(struct up *u)
{
	char hex[20];

	u->i.resumed = 1;
	scache_resumed(u->p.scache);
	if (ROUTE_IS_STS(u->p.level) && u->p.sts_mismatch)
		return judge_full(u);	/* never stored: the key says so */
	scache_key_hex(&u->skey, hex, sizeof(hex));
	if (u->p.level == ROUTE_DANE) {
		snprintf(u->i.match, sizeof(u->i.match), "%s", u->smatch);
		u->i.verified = 1;
		msg_info("%s: Verified TLS connection established to %s: %s (%s matched)",
		    u->sid, u->i.peer, u->i.tlsinfo, u->i.match);
	} else if (level_verifies(u->p.level)) {
		(void) verified(u, "%s", u->smatch);
	} else {
		msg_info("%s: %s TLS connection established to %s: %s", u->sid,
		    u->p.level == ROUTE_ENCRYPT ? "Untrusted" : "Anonymous", u->i.peer,
		    u->i.tlsinfo);
	}
	msg_info("%s: TLS session with %s resumed (key %s)%s", u->sid, u->i.peer, hex,
	    u->i.verified ? ": verified as the session it resumes was" : "");
	return 0;
}

/* ktls_note - whether kernel TLS took the sends; logged when that changes
 * (it is the same for every connection but for the cipher: the kernel's
 * `tls' module, OpenSSL's build) */
static void
ktls_note(struct up *u)
{
	static int said;
	BIO *w = SSL_get_wbio(u->c.ssl);
	int on = w != NULL && BIO_get_ktls_send(w);

	u->i.ktls = on;
	if (!u->p.ktls || said == 1 + on)
		return;
	said = 1 + on;
	if (on)
		msg_info("%s: kernel TLS sends data to %s (tls_ktls)", u->sid, u->i.peer);
	else
		msg_info("%s: tls_ktls: no kernel TLS to %s (the kernel's tls module, "
		    "OpenSSL's build or the cipher does not offer it); OpenSSL "
		    "encrypts", u->sid, u->i.peer);
}

/* up_tls_judge - the handshake is done: does this TLS session meet the
 * level?  -1 after UP_FAIL */
int
up_tls_judge(struct up *u)
{
	int rc;

	u->i.tls = 1;
	u->i.tls_version = SSL_get_version(u->c.ssl);
	tls_describe(u->c.ssl, u->i.tlsinfo, sizeof(u->i.tlsinfo));
	ktls_note(u);
	if (u->offered && SSL_session_reused(u->c.ssl))
		rc = judge_resumed(u);
	else
		rc = judge_full(u);
	cache_verdict(u, rc);
	return rc;
}

/* ex_index - where an SSL keeps its struct up, for new_session() */
static int
ex_index(void)
{
	static int idx = -1;

	if (idx < 0)
		idx = SSL_get_ex_new_index(0, "mxtls up", NULL, NULL, NULL);
	return idx;
}

/* mono_s - the monotonic clock in whole seconds: the cache's */
static long
mono_s(void)
{
	return (long) clock_mono();
}

/* level_verifies - does the level authenticate the MX? */
static int
level_verifies(enum route_level l)
{
	return l == ROUTE_DANE || ROUTE_IS_STS(l) || l == ROUTE_VERIFY || l == ROUTE_SECURE
	    || l == ROUTE_FINGERPRINT;
}

/* cache_offer - the key of what this handshake will be judged by, and
 * the session cached under it, offered for resumption */
static void
cache_offer(struct up *u, const char *sni)
{
	struct scache_keyin in = {
		.addr = &u->p.addr, .sni = sni, .level = (int) u->p.level,
		.mxname = u->i.mxname, .base = u->base, .orig_name = u->orig_name,
		.nexthop = u->nexthop, .tlsa = u->p.tlsa, .ntlsa = u->p.ntlsa,
		.sts_id = u->i.sts_id, .sts_mismatch = u->p.sts_mismatch,
	};
	SSL_SESSION *sess;
	char hex[20];

	/* tafile= anchors are read from a file each time: not keyed, never
	 * cached */
	if (u->p.scache == NULL || u->p.level == ROUTE_NONE
	    || (u->has_tab && u->tab.tafile) || ex_index() < 0)
		return;
	if (u->p.level != ROUTE_DANE)
		in.ntlsa = 0;
	if (u->has_tab) {
		in.tab_key = u->tab.key;
		in.tab_match = (const char *const *) u->tab.match;
		in.tab_nmatch = u->tab.nmatch;
		in.tab_fp = (const unsigned char (*)[32]) u->tab.fp;
		in.tab_nfp = u->tab.nfp;
		in.tab_protos = u->tab.protocols ? u->tab.proto_ok : 0;
		in.tab_ciphers = u->tab.ciphers;
		in.tab_servername = u->tab.servername;
	}
	if (scache_key(&in, &u->skey) < 0 || SSL_set_ex_data(u->c.ssl, ex_index(), u) != 1)
		return;
	u->has_skey = 1;
	u->sgen = scache_stats(u->p.scache)->gen;
	sess = scache_get(u->p.scache, &u->skey, mono_s(), u->smatch, sizeof(u->smatch));
	if (sess == NULL)
		return;
	if (SSL_set_session(u->c.ssl, sess) == 1) {
		u->offered = 1;
		scache_key_hex(&u->skey, hex, sizeof(hex));
		msg_info("%s: offering a cached TLS session to %s (key %s)", u->sid,
		    u->i.peer, hex);
	}
	SSL_SESSION_free(sess);
}

/* cache_store - a session of a verdict the key promises, cached until
 * the plan's DNS TTL or the session's lifetime runs out */
static void
cache_store(struct up *u, SSL_SESSION *sess)
{
	long wall = (long) time(NULL), now = mono_s(), t0 = (long) SSL_SESSION_get_time(sess);
	long sess_left = t0 + (long) SSL_SESSION_get_timeout(sess) - wall;
	unsigned long hint = SSL_SESSION_get_ticket_lifetime_hint(sess);
	long hint_left = SCACHE_NONE, dns_left = SCACHE_NONE, exp;
	char hex[20], why[40];

	/* Verified before a reload: not for after it */
	if (!SSL_SESSION_is_resumable(sess) || scache_stats(u->p.scache)->gen != u->sgen)
		return;
	/* TLS 1.3: lifetime 0 means do not resume; TLS 1.2: 0 is unsaid */
	if (hint > 0 || SSL_SESSION_get_protocol_version(sess) >= TLS1_3_VERSION)
		hint_left = t0 + (long) (hint > 604800 ? 604800 : hint) - wall;
	if (u->dns_until >= 0)
		dns_left = u->dns_until - now;
	if ((exp = scache_expiry(now, dns_left, sess_left, hint_left)) == 0)
		return;
	if (scache_put(u->p.scache, &u->skey, sess, exp, u->i.resumed ? u->smatch : u->i.match,
	    now) < 0 || u->stored++)
		return;
	scache_key_hex(&u->skey, hex, sizeof(hex));
	if (dns_left != SCACHE_NONE)
		snprintf(why, sizeof(why), "DNS TTL %lds left", dns_left);
	else
		snprintf(why, sizeof(why), "no DNS TTL");
	msg_info("%s: TLS session with %s cached for %lds (key %s; %s, session %lds)",
	    u->sid, u->i.peer, exp - now, hex, why, hint_left < sess_left
	    ? hint_left : sess_left);
}

/* cache_verdict - after the verdict (rc): store what waited for it, or
 * drop the entry that did not keep its promise */
static void
cache_verdict(struct up *u, int rc)
{
	u->judged = 1;
	if (!u->has_skey)
		return;
	u->cache_ok = rc == 0 && (level_verifies(u->p.level) ? u->i.verified
	    : u->i.soft_rtype == RTYPE_NONE);
	if (u->cache_ok && u->pend)
		cache_store(u, u->pend);
	SSL_SESSION_free(u->pend);
	u->pend = NULL;
	if (!u->cache_ok && u->offered) {
		scache_drop(u->p.scache, &u->skey);
		u->offered = 0;
	}
}

/* up_tls_forget - the handshake failed: its offered session is no good */
void
up_tls_forget(struct up *u)
{
	if (u->offered)
		scache_drop(u->p.scache, &u->skey);
	u->offered = 0;
	u->has_skey = 0;		/* a plaintext retry stores nothing */
}

/* new_session - OpenSSL has a new session for an SSL of ours: kept for
 * the verdict, or stored after it; 1 when the reference is ours */
static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct up *u = ex_index() >= 0 ? SSL_get_ex_data(ssl, ex_index()) : NULL;

	if (u == NULL || !u->has_skey)
		return 0;
	if (!u->judged) {
		SSL_SESSION_free(u->pend);
		u->pend = sess;
		return 1;
	}
	if (u->cache_ok)
		cache_store(u, sess);
	return 0;
}

/* up_cache_ctx - ctx tells mxtlsd of new client sessions (no cache of
 * OpenSSL's own: tls_scache's key decides what may be resumed) */
void
up_cache_ctx(SSL_CTX *ctx)
{
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT
	    | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_sess_set_new_cb(ctx, new_session);
}

/* up_tls_unoffered - no STARTTLS (refusal: the MX's reply to it, or NULL
 * when not offered); 0: plaintext will do, -1 after UP_FAIL */
int
up_tls_unoffered(struct up *u, const char *refusal)
{
	if (up_tls_plain_ok(u)) {
		if (refusal)
			up_soft_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, "%s refused STARTTLS", u->i.peer);
		else
			up_soft_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, "STARTTLS not offered by %s",
			    u->i.peer);
		return 0;
	}
	if (!tls_required(u))
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

	up_tls_forget(u);
	if (up_tls_plain_ok(u) && !u->i.plain_retry) {
		if (err)
			up_soft_fail(u, RTYPE_VALIDATION_FAILURE, "TLS handshake with %s failed: %s",
			    u->i.peer, err);
		else
			up_soft_fail(u, RTYPE_VALIDATION_FAILURE, "TLS handshake with %s failed",
			    u->i.peer);
		up_retry_plain(u, detail);
		return 1;
	}
	if (tls_required(u)) {
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
