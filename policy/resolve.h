/*
 * resolve.h - collect the DNS answers for a recipient domain's plan.
 *
 * SYNOPSIS
 *	void resolve_init(const struct resolve_conf *conf);
 *	struct resolve *resolve_start(struct ev_loop *loop,
 *		const char *domain, resolve_cb *cb, void *arg);
 *	void resolve_cancel(struct resolve *r);
 *
 * DESCRIPTION
 *	resolve_start() looks up the MX RRset of domain (no MX: the implicit
 *	MX, RFC 5321 5.1), then A and AAAA of every MX host (at most
 *	PLAN_MAX_HOSTS, in preference order), then, for hosts whose MX and
 *	address records are secure, the TLSA RRset at _25._tcp of the
 *	CNAME-expanded name and, when that is securely absent and the name
 *	was an alias, at _25._tcp of the original name (RFC 7672 2.2.2).
 *	With conf->sts (resolve_init()'s, set once stsget_init() has
 *	succeeded), the MTA-STS policy (stsget.h) is looked up at the same
 *	time and lands in plan->sts.  Lookups run in parallel.  When all
 *	are in, cb gets the finished plan (plan_finish()) and owns it from
 *	then on (plan_free()); the resolve object is gone after cb returns.
 *	resolve_cancel() stops early; cb is not called.  A guard timer (RESOLVE_TIMEOUT) turns a hung lookup into
 *	a temporary failure.
 */
#ifndef MXTLS_RESOLVE_H
#define MXTLS_RESOLVE_H

#include <ev.h>

#include "plan.h"

#define RESOLVE_TIMEOUT 60.0

struct resolve;
typedef void resolve_cb(void *arg, struct plan *p);

struct resolve *resolve_start(struct ev_loop *loop, const char *domain,
    resolve_cb *cb, void *arg);
void resolve_cancel(struct resolve *r);

struct resolve_conf {
	int sts;			/* look up MTA-STS too */
};

void resolve_init(const struct resolve_conf *conf);

#endif
