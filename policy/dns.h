/*
 * dns.h - asynchronous DNS with DNSSEC status (libunbound in libev).
 *
 * SYNOPSIS
 *	int dns_init(struct ev_loop *loop, const struct dns_conf *conf,
 *		char *err, size_t errlen);
 *	struct dns_q *dns_query(const char *name, int type, dns_cb *cb,
 *		void *arg);
 *	void dns_cancel(struct dns_q *q);
 *	void dns_shutdown(void);
 *
 * DESCRIPTION
 *	dns_init() makes the libunbound context: full recursion from the
 *	root hints (conf->root_hints, or libunbound's built-in ones), or
 *	forwarding to conf->forward (a validating resolver), validation with
 *	the trust anchors in conf->trust_anchor, and answers delivered in a
 *	thread whose pipe libev watches.  It must run before privileges are
 *	dropped (the thread starts at the first query).
 *
 *	dns_query() starts a lookup and never calls back from inside
 *	itself.  The callback gets the answer's DNSSEC state and the raw
 *	ub_result (freed after the callback returns).  dns_cancel() stops a
 *	lookup whose asker went away; its callback is never called.
 *
 *	The DNSSEC state is dnssec.h's dns_sec_of() of the answer (pure):
 *	DNS_BOGUS when validation failed, DNS_INDETERMINATE on a lookup
 *	error or SERVFAIL, DNS_SECURE when validated (answers and
 *	authenticated denials alike), else DNS_INSECURE.  libunbound caches
 *	answers within their TTLs; mxtls keeps no second cache.
 *
 * DIAGNOSTICS
 *	dns_init() returns -1 with a reason naming the option or file.
 */
#ifndef MXTLS_DNS_H
#define MXTLS_DNS_H

#include <stddef.h>

#include <ev.h>
#include <unbound.h>

#include "dnssec.h"

struct dns_conf {
	const char *trust_anchor;	/* file, or "" */
	const char *root_hints;		/* file, or "" */
	const char *forward;		/* "ADDR[,ADDR...]" or "" */
};

struct dns_q;
typedef void dns_cb(void *arg, enum dns_sec sec, const struct ub_result *r,
    const char *why);

int dns_init(struct ev_loop *loop, const struct dns_conf *conf, char *err,
    size_t errlen);
struct dns_q *dns_query(const char *name, int type, dns_cb *cb, void *arg);
void dns_cancel(struct dns_q *q);
void dns_shutdown(void);

#endif
