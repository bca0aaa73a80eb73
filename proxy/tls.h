/*
 * tls.h - OpenSSL glue: the two TLS contexts and log descriptions.
 *
 * SYNOPSIS
 *	SSL_CTX *tls_server_ctx(const char *cert, const char *key,
 *		const char *hostname, char *err, size_t errlen);
 *	SSL_CTX *tls_client_ctx(const char *ca_file, char *err, size_t errlen);
 *	void tls_describe(SSL *ssl, char *buf, size_t len);
 *	void tls_errstr(char *buf, size_t len, const char *what);
 *
 * DESCRIPTION
 *	tls_server_ctx() makes the context mxtlsd uses towards the old MTA:
 *	the configured certificate chain and key, or, when cert is empty, an
 *	ECDSA P-256 self-signed certificate for hostname made now.  Old MTAs
 *	are old: TLS 1.0 and up are accepted on this hop, which is local and
 *	only ever opportunistic.
 *
 *	tls_client_ctx() makes the context for connections to MX hosts:
 *	TLS 1.2 or newer, the PKIX trust anchors of ca_file (MTA-STS), DANE
 *	enabled; what is verified is decided per connection by policy.
 *
 *	tls_describe() writes `TLSv1.3 with cipher X (256/256 bits)', as
 *	Postfix logs it.  tls_errstr() drains OpenSSL's error queue into
 *	one line.
 *
 * DIAGNOSTICS
 *	The constructors return NULL with a reason in err.
 */
#ifndef MXTLS_TLS_H
#define MXTLS_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

SSL_CTX *tls_server_ctx(const char *cert, const char *key,
    const char *hostname, char *err, size_t errlen);
SSL_CTX *tls_client_ctx(const char *ca_file, char *err, size_t errlen);
void tls_describe(SSL *ssl, char *buf, size_t len);
void tls_errstr(char *buf, size_t len, const char *what);

#endif
