/*
 * route.h - which MX addresses to try, in which order, with what TLS.
 *
 * SYNOPSIS
 *	void route_build(const struct plan *p,
 *		const struct sockaddr_storage *orig,
 *		const struct route_opts *o, struct route *rt);
 *	const char *route_level_str(enum route_level l);
 *	long route_resume_ttl(enum route_level l, int has_plan,
 *		long min_ttl, double left_ms);
 *	const struct ptab_entry *route_table_entry(const struct ptable *t,
 *		const struct plan *p, const struct sockaddr_storage *orig);
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
 *
 *	o->tab, the admin's policy table entry for the domain or for orig
 *	(ptable.h), overrides what the domain publishes, as Postfix's
 *	smtp_tls_policy_maps does: none (ROUTE_NONE: never STARTTLS), may,
 *	encrypt, fingerprint, verify and secure are the level of every
 *	host; dane is DANE where a host has usable TLSA records, encrypt
 *	where it has only unusable ones, a failed host where its lookups
 *	failed, may elsewhere; dane-only is DANE where usable records are,
 *	a failed host (dane_only set) elsewhere.  MTA-STS is not used.  A
 *	[host] entry keeps orig, whatever the MX hosts.  An entry also
 *	decides a domain whose lookups failed (PLAN_TEMPFAIL), except dane
 *	and dane-only: orig, at the entry's level.  Under mx_mismatch auto a
 *	domain entry reroutes when its level authenticates the MX (dane,
 *	dane-only, fingerprint, verify, secure), and passes otherwise.
 *
 *	o->require_tls is a floor: without a table entry, ROUTE_MAY becomes
 *	ROUTE_ENCRYPT, and ROUTE_STS_TESTING stays but requires TLS (floor
 *	set on both: the refusal for missing STARTTLS is 4.7.4).  o->report_only (mode = report-only, or the entry's
 *	mode=report-only) sets rt->soft: nothing is refused for a policy
 *	reason.  A tempfail or refusal becomes rt->would (the verdict that
 *	enforcing would have given, its reply and result type kept) and
 *	orig at ROUTE_MAY; failed hosts stay listed, to be journaled as
 *	would-refusals and then tried at ROUTE_MAY.  A DNSSEC-bogus or
 *	indeterminate answer is never a downgrade otherwise: no option but
 *	a table entry changes a tempfail.
 *
 *	route_table_entry() is the entry of table t (NULL: none) that applies
 *	to mail for p's domain that the old MTA sent to orig: orig's
 *	[addr]:port, its [addr], the [name]:port or [name] of the MX host at
 *	that address, then the domain's own or its nearest .parent's; NULL
 *	when none.
 *
 *	route_resume_ttl() is how long a TLS session verified at level l may
 *	be resumed, as far as the DNS answers go: -1 when l's verdict does
 *	not depend on them (ROUTE_DNS_VERDICT false: may, encrypt and
 *	fingerprint promise nothing the DNS said, and the session's own
 *	lifetime is the only bound), or without a plan; else the seconds
 *	left (left_ms) of the plan's shortest TTL (min_ttl), 0 (cache
 *	nothing) when the plan counted no TTL (min_ttl < 0) or it has run
 *	out.
 *
 *	rt->verdict is ROUTE_TRY (try rt->cands in order), ROUTE_TEMPFAIL,
 *	ROUTE_REFUSE (temporary too), or ROUTE_NULLMX (permanent), with
 *	rt->reply the reply text for the old MTA.
 */
#ifndef MXTLS_ROUTE_H
#define MXTLS_ROUTE_H

#include "../lib/conf.h"		/* enum mx_mismatch */
#include "plan.h"
#include "ptable.h"

#define ROUTE_MAX 16

enum route_level {
	ROUTE_NONE,			/* table: no TLS at all */
	ROUTE_MAY, ROUTE_ENCRYPT, ROUTE_STS_TESTING, ROUTE_STS, ROUTE_DANE,
	ROUTE_FINGERPRINT,		/* table: a certificate or key digest */
	ROUTE_VERIFY, ROUTE_SECURE,	/* table: PKIX and match= names */
	ROUTE_NLEVELS
};

/* What a level asks (Postfix's TLS_REQUIRED() and TLS_MUST_MATCH() are
 * the model): TLS or no delivery; failures only noted (MTA-STS testing);
 * plaintext allowed; never STARTTLS; an MTA-STS level; the peer
 * authenticated or no delivery; PKIX with reference names. */
#define ROUTE_TLS_REQUIRED(l)	((l) >= ROUTE_ENCRYPT && (l) != ROUTE_STS_TESTING)
#define ROUTE_SOFT(l)		((l) == ROUTE_STS_TESTING)
#define ROUTE_MAY_PLAIN(l)	((l) == ROUTE_MAY)
#define ROUTE_NO_TLS(l)		((l) == ROUTE_NONE)
#define ROUTE_IS_STS(l)		((l) == ROUTE_STS || (l) == ROUTE_STS_TESTING)
#define ROUTE_MUST_MATCH(l)	((l) >= ROUTE_STS)
#define ROUTE_NAMES(l)		(ROUTE_IS_STS(l) || (l) == ROUTE_VERIFY || (l) == ROUTE_SECURE)
/* the verdict rests on DNS answers: TLSA records, MX names, the STS id */
#define ROUTE_DNS_VERDICT(l)	((l) == ROUTE_DANE || ROUTE_NAMES(l))
enum route_verdict { ROUTE_TRY, ROUTE_TEMPFAIL, ROUTE_REFUSE, ROUTE_NULLMX };

struct route_cand {
	struct sockaddr_storage addr;
	int host;			/* index into the plan, -1: orig only */
	enum route_level level;
	int failed;			/* DANE lookups failed: do not connect */
	int sts_skip;			/* not an mx pattern of an enforced policy */
	int sts_mismatch;		/* not an mx pattern (testing: go on) */
	int dane_only;			/* failed: dane-only, no usable TLSA */
	int floor;			/* require_tls: TLS a must (may raised
					 * to encrypt, or MTA-STS testing) */
};

struct route {
	enum route_verdict verdict;
	char reply[1024];		/* for TEMPFAIL, REFUSE, NULLMX */
	enum rtype rtype;		/* RFC 8460 result type, or RTYPE_NONE */
	int rerouted;			/* orig was not an MX address */
	int table;			/* o->tab decided */
	int soft;			/* report-only: nothing refused */
	enum route_verdict would;	/* report-only: what enforce would say
					 * (ROUTE_TRY: nothing), with reply
					 * and rtype */
	struct route_cand cands[ROUTE_MAX];
	int ncands;
};

struct route_opts {
	enum mx_mismatch mismatch;
	int strict_testing;
	int require_tls;		/* the floor */
	int report_only;		/* mode = report-only (global) */
	const struct ptab_entry *tab;	/* the table entry, or NULL */
};

void route_build(const struct plan *p, const struct sockaddr_storage *orig,
    const struct route_opts *o, struct route *rt);
const char *route_level_str(enum route_level l);
long route_resume_ttl(enum route_level l, int has_plan, long min_ttl, double left_ms);
const struct ptab_entry *route_table_entry(const struct ptable *t, const struct plan *p,
    const struct sockaddr_storage *orig);

#endif
