/*
 * route.h - which MX addresses to try, in which order, with what TLS.
 *
 * SYNOPSIS
 *	void route_build(const struct plan *p,
 *		const struct sockaddr_storage *orig, enum mx_mismatch mode,
 *		int strict_testing, struct route *rt);
 *	const char *route_level_str(enum route_level l);
 *
 * DESCRIPTION
 *	route_build() is the combined decision, pure: everything it uses is
 *	an argument, and it keeps nothing from one call to the next.  The
 *	old MTA connected to orig.  When orig is an address of one of the
 *	domain's MX hosts, that host is tried first, then the others in
 *	preference order.  When it is not, mode decides: MX_REROUTE tries the validated MX
 *	hosts instead, MX_PASS keeps orig (opportunistic, no DANE: it is not
 *	a validated MX host), MX_REFUSE fails; MX_AUTO reroutes when the
 *	domain has DANE and passes otherwise.  A domain that does not exist
 *	(NXDOMAIN) keeps orig.  Each candidate carries its TLS level:
 *	ROUTE_DANE (TLS authenticated by TLSA), ROUTE_STS (MTA-STS enforce:
 *	TLS with PKIX and the MX name checked), ROUTE_STS_TESTING (the same
 *	checks, failures logged and delivery going on; strict_testing makes
 *	it ROUTE_STS), ROUTE_ENCRYPT (TLS required, not authenticated),
 *	ROUTE_MAY (opportunistic).  DANE wins over MTA-STS host by host
 *	(RFC 8461 2): MTA-STS applies to hosts without DANE.  Under an
 *	enforced policy, hosts that match no mx pattern are listed with
 *	sts_skip set and not connected to.  Hosts whose DANE
 *	lookups failed are listed with `failed' set: they are reported, not
 *	connected to.  At most ROUTE_MAX candidates are listed; those past
 *	it are dropped, and the flags of the ones listed stay their own.
 *
 *	rt->verdict is ROUTE_TRY (try rt->cands in order), ROUTE_TEMPFAIL,
 *	ROUTE_REFUSE (temporary too), or ROUTE_NULLMX (permanent), with
 *	rt->reply the reply text for the old MTA.
 */
#ifndef MXTLS_ROUTE_H
#define MXTLS_ROUTE_H

#include "../lib/conf.h"		/* enum mx_mismatch */
#include "plan.h"

#define ROUTE_MAX 16

enum route_level { ROUTE_MAY, ROUTE_ENCRYPT, ROUTE_STS_TESTING, ROUTE_STS, ROUTE_DANE };

/* What a level asks (Postfix's TLS_REQUIRED() and TLS_MUST_MATCH() are
 * the model): TLS or no delivery; failures only noted (MTA-STS testing);
 * plaintext allowed; an MTA-STS level; the peer authenticated or no
 * delivery. */
#define ROUTE_TLS_REQUIRED(l)	((l) == ROUTE_ENCRYPT || (l) == ROUTE_STS \
				    || (l) == ROUTE_DANE)
#define ROUTE_SOFT(l)		((l) == ROUTE_STS_TESTING)
#define ROUTE_MAY_PLAIN(l)	((l) == ROUTE_MAY)
#define ROUTE_IS_STS(l)		((l) == ROUTE_STS || (l) == ROUTE_STS_TESTING)
#define ROUTE_MUST_MATCH(l)	((l) == ROUTE_STS || (l) == ROUTE_DANE)
enum route_verdict { ROUTE_TRY, ROUTE_TEMPFAIL, ROUTE_REFUSE, ROUTE_NULLMX };

struct route_cand {
	struct sockaddr_storage addr;
	int host;			/* index into the plan, -1: orig only */
	enum route_level level;
	int failed;			/* DANE lookups failed: do not connect */
	int sts_skip;			/* not an mx pattern of an enforced policy */
	int sts_mismatch;		/* not an mx pattern (testing: go on) */
};

struct route {
	enum route_verdict verdict;
	char reply[1024];		/* for TEMPFAIL, REFUSE, NULLMX */
	enum rtype rtype;		/* RFC 8460 result type, or RTYPE_NONE */
	int rerouted;			/* orig was not an MX address */
	struct route_cand cands[ROUTE_MAX];
	int ncands;
};

void route_build(const struct plan *p, const struct sockaddr_storage *orig,
    enum mx_mismatch mode, int strict_testing, struct route *rt);
const char *route_level_str(enum route_level l);

#endif
