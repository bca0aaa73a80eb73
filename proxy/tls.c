/*
 * tls.c - OpenSSL glue.  See tls.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* tls_errstr - OpenSSL's error queue as one line */
void
tls_errstr(char *buf, size_t len, const char *what)
{
	unsigned long e;
	size_t n;

	snprintf(buf, len, "%s", what);
	while ((e = ERR_get_error()) != 0) {
		n = strlen(buf);
		if (n + 3 >= len)
			continue;			/* drain the rest */
		snprintf(buf + n, len - n, ": ");
		ERR_error_string_n(e, buf + n + 2, len - n - 2);
	}
}

/* self_signed - an ECDSA P-256 certificate for hostname */
static int
self_signed(SSL_CTX *ctx, const char *hostname, char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char san[300];
	int ok = 0;

	if ((pkey = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto err;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto err;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL
	    || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto err;
	if (!X509_set_version(x, 2)
	    || !X509_gmtime_adj(X509_getm_notBefore(x), -3600)
	    || !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400))
		goto err;
	if (!X509_set_pubkey(x, pkey))
		goto err;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *) hostname, -1, -1, 0)
	    || !X509_set_issuer_name(x, name))
		goto err;
	snprintf(san, sizeof(san), "DNS:%s", hostname);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san)) == NULL
	    || !X509_add_ext(x, ext, -1))
		goto err;
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto err;
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		goto err;
	ok = 1;
err:
	if (!ok)
		tls_errstr(err, errlen, "cannot make a self-signed certificate");
	X509_EXTENSION_free(ext);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ok ? 0 : -1;
}

/* tls_server_ctx - the context towards the old MTA */
SSL_CTX *
tls_server_ctx(const char *cert, const char *key, const char *hostname,
    char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_errstr(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	/* Old MTAs: allow what they can do on this local, opportunistic hop. */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
	    | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF
	    | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
	    | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (cert && *cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			char why[512];

			snprintf(why, sizeof(why), "client_tls_cert_file %s", cert);
			tls_errstr(err, errlen, why);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			char why[512];

			snprintf(why, sizeof(why), "client_tls_key_file %s", key);
			tls_errstr(err, errlen, why);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			tls_errstr(err, errlen, "client_tls_key_file does not match "
			    "client_tls_cert_file");
			goto fail;
		}
	} else if (self_signed(ctx, hostname, err, errlen) < 0) {
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* tls_client_ctx - the context towards MX hosts */
SSL_CTX *
tls_client_ctx(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		tls_errstr(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (ca_file && *ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		char why[600];

		snprintf(why, sizeof(why), "tls_ca_file %s", ca_file);
		tls_errstr(err, errlen, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
	    | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
	    | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		tls_errstr(err, errlen, "SSL_CTX_dane_enable");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* tls_describe - protocol and cipher, as Postfix logs them */
void
tls_describe(SSL *ssl, char *buf, size_t len)
{
	int alg = 0, bits = SSL_get_cipher_bits(ssl, &alg);

	snprintf(buf, len, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), bits, alg);
}
