/*
 * fetch.h - HTTPS GET for MTA-STS policies: libcurl's multi interface,
 * driven by the libev loop (no blocking, no thread per fetch).
 *
 * SYNOPSIS
 *	int fetch_init(struct ev_loop *loop, char *err, size_t errlen);
 *	struct fetch *fetch_start(const struct fetch_req *req, fetch_cb *cb,
 *		void *arg);
 *	void fetch_cancel(struct fetch *f);
 *
 * DESCRIPTION
 *	fetch_start() gets https://HOST/PATH from the given addresses
 *	(CURLOPT_RESOLVE: libcurl never asks the system resolver; the
 *	addresses come from mxtls's own validating resolver), PKIX-verified
 *	against req->ca_file with the host name checked, redirects not
 *	followed (RFC 8461 3.3), with connect and total timeouts.  The
 *	callback gets the body only for HTTP 200 with Content-Type text/plain
 *	(parameters allowed) and at most FETCH_MAX bytes; otherwise a reason
 *	and the RFC 8460 result type (sts-webpki-invalid for a certificate
 *	problem of the policy host, sts-policy-fetch-error for the rest).
 *	It is called from the loop, never from inside fetch_start().
 */
#ifndef MXTLS_FETCH_H
#define MXTLS_FETCH_H

#include <stddef.h>
#include <sys/socket.h>

#include <ev.h>

#include "../report/rtype.h"

#define FETCH_MAX	65536

struct fetch_req {
	const char *host;
	const char *path;
	const struct sockaddr_storage *addrs;
	int naddrs;
	const char *ca_file;
	long timeout;			/* seconds, total */
};

struct fetch;
typedef void fetch_cb(void *arg, int ok, const char *body, size_t len,
    enum rtype rtype, const char *why);

int fetch_init(struct ev_loop *loop, char *err, size_t errlen);
struct fetch *fetch_start(const struct fetch_req *req, fetch_cb *cb, void *arg);
void fetch_cancel(struct fetch *f);
void fetch_shutdown(void);

#endif
