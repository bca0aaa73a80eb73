/*
 * summary.h - the delivery summary: one log line per recipient of a
 *	delivery attempt, in Postfix's shape, with the TLS policy that
 *	applied.  Pure.
 *
 * SYNOPSIS
 *	struct summary { ... };
 *	const char *summary_policy(enum route_level level, int table,
 *		enum ptab_level tab_level, char *buf, size_t len);
 *	size_t summary_fields(struct summary *sm, struct log_field *f,
 *		char *to, size_t tolen);
 *
 * DESCRIPTION
 *	summary_policy() is the policy= word of an attempt at TLS level
 *	level: table:LEVEL when the admin's policy table entry decided
 *	(table set; LEVEL its word, ptable.h), else dane, sts-enforce,
 *	sts-testing, or none (opportunistic TLS, require_tls's floor, a
 *	held message delivered with its policy waived: no published policy
 *	held the MX to anything).  buf holds the table: word.
 *
 *	summary_fields() fills f (SUMMARY_NFIELDS entries) for msg_fields()
 *	(log.h): to=<ADDR>, relay=, tls=, policy=, verified=yes|no,
 *	from=<ADDR>, size=, status=sent|deferred|bounced, and the reply as
 *	detail; to holds <ADDR>, sm->sizebuf the size.  The number of
 *	fields.  The text line is
 *	SID: to=<a>, relay=mx[192.0.2.25]:25, tls=TLSv1.3, policy=dane,
 *	    verified=yes, from=<b>, size=123, status=sent (250 2.0.0 Ok)
 */
#ifndef MXTLS_SUMMARY_H
#define MXTLS_SUMMARY_H

#include <stddef.h>

#include "../lib/log.h"
#include "../policy/ptable.h"
#include "../policy/route.h"

#define SUMMARY_NFIELDS	9
#define SUMMARY_ADDR_MAX	1024	/* an address, as logged */

struct summary {
	const char *to;			/* the recipient, without <> */
	const char *from;		/* the sender, without <> */
	const char *relay;		/* name[addr]:port, or none */
	const char *tls;		/* TLSv1.3, or none */
	const char *policy;		/* summary_policy() */
	int verified;			/* the MX was authenticated by policy */
	unsigned long long size;	/* message octets relayed */
	const char *status;		/* sent, deferred, bounced */
	const char *detail;		/* the reply the old MTA heard */
	char sizebuf[24];
	char frombuf[SUMMARY_ADDR_MAX + 3];
};

const char *summary_policy(enum route_level level, int table, enum ptab_level tab_level,
    char *buf, size_t len);
size_t summary_fields(struct summary *sm, struct log_field *f, char *to, size_t tolen);

#endif
