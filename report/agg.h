/*
 * agg.h - one UTC day of attempt records into RFC 8460 reports, pure.
 *
 * SYNOPSIS
 *	struct agg *agg_new(long long day);
 *	int agg_add(struct agg *a, const struct rec *r);
 *	void agg_finish(struct agg *a);
 *	int agg_count(const struct agg *a);
 *	const struct agg_report *agg_get(const struct agg *a, int i);
 *	void agg_free(struct agg *a);
 *
 *	int agg_render(const struct agg_report *r, long long day,
 *		const struct report_meta *m, struct buf *out);
 *	void agg_report_id(const struct agg_report *r, long long day,
 *		const char *submitter, char *buf, size_t len);
 *	void agg_filename(const struct agg_report *r, long long day,
 *		const char *submitter, char *buf, size_t len);
 *	int agg_gzip(const char *in, size_t len, struct buf *out);
 *
 * DESCRIPTION
 *	day is the start of a UTC day (seconds since the epoch, a multiple
 *	of 86400); the day is [day, day + 86400).  agg_add() counts one
 *	record (record.h) into the report of its policy domain (r->domain),
 *	and, when it is a DANE record (policy type tlsa) for an MX host
 *	other than that domain, also into a per-host report for the MX host
 *	(per_host = 1: RFC 8460 3 lets an MX host publish its own TLSRPT
 *	record; the caller keeps such a report only when the host does).
 *	It returns 1 when counted, 0 when the record is not usable here: its
 *	time is outside the day, its domain is empty or not a host name, its
 *	policy type or result type is not a word of rtype.h (nor is its
 *	action, coming from a journal line), or its result type is
 *	`connection-failure'
 *	(a TCP-level failure before any TLS: journaled, but not a TLS session
 *	in the sense of RFC 8460, so not reported); -1 when out of memory.
 *	When an MX host is also a recipient domain that day, its DANE results
 *	join that domain's report (one report per _smtp._tls address); such a
 *	report has per_host = 0.
 *
 *	Within a report, policies are grouped by (policy type, policy
 *	strings, policy domain, mx-host list); result type `success' counts
 *	as a successful session, anything else as a failure, grouped into
 *	failure details by (result type, sending IP, receiving MX host name,
 *	receiving HELO, receiving IP, failure reason code).  For tlsa and
 *	no-policy-found policies the mx-host list is the MX host; for sts,
 *	the policy's mx patterns.
 *
 *	agg_finish() puts reports, policies and failure details in a stable
 *	order (by name, then by count); call it once after the last add
 *	(pointers from agg_get() are valid until the next agg_add()).
 *
 *	agg.c counts; render.c writes a report out.  agg_render() writes
 *	the report as RFC 8460 4 JSON (cJSON): the
 *	organization-name, date-range (the whole UTC day, start
 *	YYYY-MM-DDT00:00:00Z, end YYYY-MM-DDT23:59:59Z), contact-info,
 *	report-id and policies[] with policy, summary and failure-details.
 *	agg_report_id() is <YYYY.MM.DDT00.00.00Z+domain@submitter> without
 *	the angle brackets; the same inputs always give the same id, which
 *	is what lets mxtls-report send a report once.  agg_filename() is
 *	the RFC 8460 5.1 name: submitter!domain!begin!end.json.gz (begin
 *	and end in epoch seconds).  agg_gzip() compresses with a gzip header
 *	(zlib).  Each returns 0, or -1 when out of memory.
 */
#ifndef MXTLS_AGG_H
#define MXTLS_AGG_H

#include <stddef.h>

#include "../lib/buf.h"
#include "record.h"
#include "rtype.h"

struct agg_fail {
	enum rtype type;
	const char *result;		/* its word: rtype_str(type) */
	char src[64];
	char mx[REC_NAME];
	char helo[REC_NAME];
	char ip[64];
	char reason[128];
	long count;
};

struct agg_policy {
	enum ptype type;
	const char *ptype;		/* its word: ptype_str(type) */
	char *policy;			/* policy strings, LF-separated */
	char *mxhost;			/* mx-host list, LF-separated */
	char domain[REC_NAME];		/* policy-domain */
	long ok, failed;
	struct agg_fail *fails;
	int nfails;
};

struct agg_report {
	char domain[REC_NAME];		/* where _smtp._tls is looked up */
	int per_host;			/* DANE results for an MX host */
	long ok, failed;		/* over all its policies */
	struct agg_policy *pols;
	int npols;
};

struct report_meta {
	const char *org;		/* organization-name */
	const char *contact;		/* contact-info */
	const char *submitter;		/* for the report-id */
};

struct agg;

struct agg *agg_new(long long day);
int agg_add(struct agg *a, const struct rec *r);
void agg_finish(struct agg *a);
int agg_count(const struct agg *a);
const struct agg_report *agg_get(const struct agg *a, int i);
void agg_free(struct agg *a);

int agg_render(const struct agg_report *r, long long day,
    const struct report_meta *m, struct buf *out);
void agg_report_id(const struct agg_report *r, long long day,
    const char *submitter, char *buf, size_t len);
void agg_filename(const struct agg_report *r, long long day,
    const char *submitter, char *buf, size_t len);
int agg_gzip(const char *in, size_t len, struct buf *out);

#endif
