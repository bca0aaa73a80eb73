/*
 * discover.h - TLSRPT policy discovery (RFC 8460 3) in a libev loop.
 *
 * SYNOPSIS
 *	int discover(struct ev_loop *loop, struct disc *d, int n,
 *		double timeout);
 *	const char *disc_status_str(enum disc_status s);
 *
 * DESCRIPTION
 *	discover() looks up the TXT RRset at _smtp._tls.<d[i].domain> for
 *	each of the n entries, all in parallel through policy/dns.c (which
 *	the caller has set up with dns_init()), and runs loop until every
 *	answer is in or timeout seconds have passed.  The character strings
 *	of each TXT record are joined, and the RRset goes to tlsrpt_parse().
 *
 *	Each entry ends in one state:
 *	DISC_FOUND	a TLSRPT record; d->rec holds its rua URIs.
 *	DISC_NONE	no TLSRPT record (NXDOMAIN, no TXT, no record with
 *			v=TLSRPTv1, or one that tlsrpt_parse() refuses);
 *			d->why says which.  Nothing is to be sent.
 *	DISC_ERROR	the lookup failed, timed out, or DNSSEC validation
 *			said bogus; d->why says so.  The answer is unknown,
 *			so the caller should try again later.
 *	Insecure answers are fine: TLSRPT does not require DNSSEC.
 *
 *	For each https: rua of a found record, discover() also looks up the
 *	host's A and AAAA records, so that the POST goes where mxtls's own
 *	resolver says (as mxtlsd's MTA-STS fetches do): d->resolve[j] is a
 *	libcurl CURLOPT_RESOLVE entry `host:port:addr,...', or "" when the
 *	URL names an IP address literal or is a mailto: URI.  When no
 *	address could be found, d->rua_err[j] says why (it is "" otherwise).
 *
 * DIAGNOSTICS
 *	discover() returns 0, or -1 when it could not start (out of memory;
 *	each entry is then DISC_ERROR with a reason).
 */
#ifndef MXTLS_DISCOVER_H
#define MXTLS_DISCOVER_H

#include <ev.h>

#include "../report/tlsrpt.h"

#define DISC_NAME	256
#define DISC_WHY	320
#define DISC_RESOLVE	1024

enum disc_status { DISC_PENDING, DISC_FOUND, DISC_NONE, DISC_ERROR };

struct disc {
	char domain[DISC_NAME];		/* in: the report's policy domain */
	enum disc_status status;	/* out */
	char why[DISC_WHY];		/* out: for NONE and ERROR */
	struct tlsrpt_rec rec;		/* out: for FOUND */
	char resolve[TLSRPT_MAX_RUA][DISC_RESOLVE];	/* out: https rua */
	char rua_err[TLSRPT_MAX_RUA][DISC_WHY];		/* out: https rua */
};

int discover(struct ev_loop *loop, struct disc *d, int n, double timeout);
const char *disc_status_str(enum disc_status s);

#endif
