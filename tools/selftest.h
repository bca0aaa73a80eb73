/*
 * selftest.h - mxtls-check --selftest: does enforcement work on this
 * host, with this configuration?
 *
 * SYNOPSIS
 *	int st_run(const struct config *cfg, struct ev_loop *loop, int verbose,
 *		FILE *out);
 *	const char *st_untrusted_pem(void);
 *
 * DESCRIPTION
 *	st_run() starts local TLS servers on 127.0.0.1 (a listener and a
 *	thread per case; nothing leaves the host, no DNS is asked) and
 *	drives mxtlsd's own policy and upstream code at each: a synthetic
 *	plan (policy/plan.c's plan_finish(), the MTA-STS policy through
 *	sts_policy_parse(), TLSA rdata through rr_tlsa() and dane_usable()),
 *	route_build() with the configuration's require_tls and
 *	strict_testing (always under mode enforce: what is proven is that
 *	enforcing refuses), up_params_policy() and up_start() with a client
 *	context from tls_client_ctx(cfg->tls_ca_file), as mxtlsd makes it.
 *	The certificates are made at run time: a throw-away CA, and leaves
 *	for the MX name, for another name, expired, and expired with
 *	another name.  The context's store gets that CA added (its own
 *	copy: the CA file is not touched), so the MTA-STS cases that must
 *	pass can; the self-signed certificate is a fixed one built in
 *	(st_untrusted_pem()), so that a trust store that holds it, as no
 *	store should, is shown to make its case pass.
 *
 *	With tls_session_cache = yes the client has mxtlsd's session cache
 *	(scache_new(), up_cache_ctx()), and three cases connect twice to
 *	one MX: the second handshake must resume the first's session, and
 *	must not once the TLSA record changed.
 *
 *	Each case says what it expects (`refuse RESULT-TYPE', `deliver
 *	verified', `deliver noted RESULT-TYPE', `deliver unverified',
 *	`deliver plaintext', `deliver verified resumed') and what it got; a
 *	case has 10 seconds in all.
 *	st_run() prints the table and a last line on out, and returns 0
 *	when every case came out as expected, else 1 (the failed cases are
 *	named on the last line).
 *
 *	st_untrusted_pem() is the built-in self-signed certificate, in PEM.
 */
#ifndef MXTLS_SELFTEST_H
#define MXTLS_SELFTEST_H

#include <stdio.h>

#include <ev.h>

#include "../lib/conf.h"

int st_run(const struct config *cfg, struct ev_loop *loop, int verbose, FILE *out);
const char *st_untrusted_pem(void);

#endif
