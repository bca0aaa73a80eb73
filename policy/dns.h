/*
 * dns.h - asynchronous DNS with DNSSEC status (libunbound in libev).
 *
 * SYNOPSIS
 *	int dns_conf_of(const struct config *c, struct dns_conf *dc);
 *	int dns_init(struct ev_loop *loop, const struct dns_conf *conf,
 *		char *err, size_t errlen);
 *	struct dns_q *dns_query(const char *name, int type, dns_cb *cb,
 *		void *arg);
 *	void dns_cancel(struct dns_q *q);
 *	void dns_shutdown(void);
 *
 * DESCRIPTION
 *	dns_conf_of() is the resolver mxtls.conf asks for (dns_resolver,
 *	dns_trust_anchor_file, dns_root_hints_file), the same for mxtlsd and
 *	mxtls-report; dc points into c.  It returns -1 for dns_resolver =
 *	none: no resolver at all.
 *
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

struct config;

struct dns_conf {
	const char *trust_anchor;	/* file, or "" */
	const char *root_hints;		/* file, or "" */
	const char *forward;		/* "ADDR[,ADDR...]" or "" */
};

struct dns_q;
typedef void dns_cb(void *arg, enum dns_sec sec, const struct ub_result *r,
    const char *why);

int dns_conf_of(const struct config *c, struct dns_conf *dc);
int dns_init(struct ev_loop *loop, const struct dns_conf *conf, char *err,
    size_t errlen);
struct dns_q *dns_query(const char *name, int type, dns_cb *cb, void *arg);
void dns_cancel(struct dns_q *q);
void dns_shutdown(void);

#endif
