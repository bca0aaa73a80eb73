/*
 * smap_answer.h - what mxtlsd's socketmap says to Postfix about a key,
 * pure: a policy-table entry or a plan in, the reply's kind and text out.
 *
 * SYNOPSIS
 *	int smap_map_of(const char *name, size_t len);
 *	void smap_answer_entry(const struct ptab_entry *e,
 *		const struct smap_ctx *cx, struct smap_answer *a);
 *	void smap_answer_plan(const struct plan *p,
 *		const struct smap_ctx *cx, struct smap_answer *a);
 *	void smap_answer_simple(int kind, const char *text,
 *		const struct smap_ctx *cx, struct smap_answer *a);
 *	void smap_answer_none(const struct smap_ctx *cx,
 *		struct smap_answer *a);
 *
 * DESCRIPTION
 *	smap_map_of() is SMAP_MAP_POSTFIX for the map name `postfix',
 *	SMAP_MAP_TLSRPT for `postfix-tlsrpt' (Postfix 3.10's TLSRPT
 *	attributes added), -1 for any other name.
 *
 *	The answers follow Postfix's smtp_tls_policy_maps syntax (TLS_README,
 *	TLSRPT_README), one line, the attributes separated by one space:
 *
 *	smap_answer_entry(): the admin's table entry, as `OK LEVEL' and the
 *	attributes Postfix knows: match= (verify and secure: the names
 *	joined by `:'; fingerprint: the SHA-256 digests, colon-separated
 *	upper-case hex, joined by `|'), protocols= (as the exclusions
 *	`!SSLv2:!SSLv3:...' every Postfix reads), ciphers= (a grade only:
 *	Postfix's ciphers= takes no OpenSSL cipher list, so a list is left
 *	out and Postfix's smtp_tls_mandatory_ciphers apply), tafile= and
 *	servername=.  mxtls's own mode= is never said.  A value that holds
 *	white space, `,', `{', `}' or a control octet cannot be said in
 *	Postfix's syntax: the answer is TEMP naming the entry's line.
 *
 *	smap_answer_plan(): the policy lookups' outcome, in this order:
 *		PLAN_TEMPFAIL			TEMP <the plan's reason>
 *		null MX, NXDOMAIN		NOTFOUND
 *		a host with DANE_AUTH or
 *		DANE_UNAUTH			OK dane-only (RFC 7672 first,
 *						RFC 8461 section 2)
 *		every host DANE_FAIL		TEMP <the first host's reason>
 *		MTA-STS enforce (testing too
 *		with cx->strict_testing)	OK secure match=P1:P2...
 *						servername=hostname; a
 *						pattern `*.d' is written `.d'
 *		anything else (MTA-STS
 *		testing, none, no policy, a
 *		policy that could not be had)	smap_answer_none(): NOTFOUND
 *						(OK encrypt with require_tls)
 *	With SMAP_MAP_TLSRPT, an MTA-STS answer has `policy_type=sts
 *	policy_domain=D', one `mx_host_pattern=P' per mx: line and one
 *	`{ policy_string = LINE }' per policy line (a line holding `{', `}'
 *	or an octet outside printable ASCII is left out) appended; when they
 *	would not fit in SMAP_ANSWER_MAX, the plain answer is given.  A
 *	policy that could not be had gets no policy_failure= attribute:
 *	Postfix's policy_failure forces the delivery to fail, and RFC 8461
 *	section 5 says to deliver as though there were no policy (mxtlsd's
 *	own journal reports that failure).
 *
 *	smap_answer_simple() is a reply of the given kind and text (the
 *	lookup deadline's TEMP, PERM unknown map), cleaned as below.
 *
 *	smap_answer_none() is the answer for a destination no policy
 *	applies to (a plan's last case above, a next hop without a table
 *	entry, no DNS lookups): NOTFOUND, or with cx->require_tls (the
 *	floor: never plaintext) `OK encrypt', as mxtlsd's own sessions do;
 *	in report-only NOTFOUND (report-only refuses nothing).  A null MX
 *	and NXDOMAIN stay NOTFOUND: there is no MX to send to.
 *
 *	With cx->report_only (mode = report-only), or an entry's
 *	mode=report-only, any answer that could make Postfix refuse or
 *	defer (TEMP, and OK at a level above may) becomes `OK may'.
 *	NOTFOUND and PERM are kept.
 *
 *	Every text is at most SMAP_ANSWER_MAX octets and holds no NUL, CR
 *	or LF: a reason is cut there and any control octet in it becomes
 *	`?'; an MTA-STS pattern or domain holding anything but letters,
 *	digits, `-', `_', `.' (and one leading `*.') makes the answer TEMP.
 *
 * DIAGNOSTICS
 *	None: every input has an answer.  a->kind is SMAP_R_OK,
 *	SMAP_R_NOTFOUND, SMAP_R_TEMP or SMAP_R_PERM; a->text (a->len
 *	octets, NUL-ended) goes to smap_reply() as it is.
 */
#ifndef MXTLS_SMAP_ANSWER_H
#define MXTLS_SMAP_ANSWER_H

#include <stddef.h>

#include "../policy/plan.h"
#include "../policy/ptable.h"
#include "smap.h"

#define SMAP_MAP_POSTFIX	0
#define SMAP_MAP_TLSRPT		1

/* The longest text: a reply's payload is at most SMAP_MAX octets, and
 * "NOTFOUND " is the longest word before it. */
#define SMAP_ANSWER_MAX	(SMAP_MAX - 9)
#define SMAP_REASON_MAX	400		/* octets of a TEMP reason */

struct smap_ctx {
	int map;			/* SMAP_MAP_POSTFIX or SMAP_MAP_TLSRPT */
	int report_only;		/* mode = report-only */
	int strict_testing;		/* MTA-STS testing enforced */
	int require_tls;		/* the floor: never plaintext */
};

struct smap_answer {
	int kind;			/* SMAP_R_* */
	size_t len;
	char text[SMAP_ANSWER_MAX + 1];
};

int smap_map_of(const char *name, size_t len);
void smap_answer_entry(const struct ptab_entry *e, const struct smap_ctx *cx,
    struct smap_answer *a);
void smap_answer_plan(const struct plan *p, const struct smap_ctx *cx,
    struct smap_answer *a);
void smap_answer_simple(int kind, const char *text, const struct smap_ctx *cx,
    struct smap_answer *a);
void smap_answer_none(const struct smap_ctx *cx, struct smap_answer *a);

#endif
