/*
 * sts.h - MTA-STS (RFC 8461), the pure part: TXT record, policy file,
 * MX patterns, and the cache rules of section 5.
 *
 * SYNOPSIS
 *	int sts_txt_parse(const char *const *txt, const size_t *len, int n,
 *		char id[STS_ID_MAX + 1], const char **why);
 *	int sts_policy_parse(const char *body, size_t len,
 *		struct sts_policy *p, char *why, size_t whylen);
 *	int sts_mx_match(const struct sts_policy *p, const char *host);
 *	enum sts_step sts_cache_step(const struct sts_entry *e,
 *		enum sts_txt txt, const char *id, time_t now,
 *		const struct sts_conf *conf);
 *	void sts_cache_fetched(struct sts_entry *e, const char *id,
 *		const struct sts_policy *p, time_t now);
 *	void sts_cache_failed(struct sts_entry *e, time_t now,
 *		const struct sts_conf *conf, enum rtype rtype,
 *		const char *why);
 *	enum rtype sts_cache_failure(const struct sts_entry *e,
 *		enum sts_txt txt, const char *id, time_t now);
 *	void sts_cache_set_failure(struct sts_entry *e, enum rtype rtype,
 *		const char *why);
 *	int sts_cache_merge(struct sts_entry *e, const struct sts_entry *r);
 *	enum rtype sts_fail_type(const char *name);
 *	int sts_cache_applies(const struct sts_entry *e, time_t now);
 *
 * DESCRIPTION
 *	sts_txt_parse() reads the TXT RRset at _mta-sts.<domain> (each
 *	record's strings already joined): records that do not start with
 *	`v=STSv1' are ignored; exactly one must; it needs `id=' (1-32
 *	alphanumerics); fields are separated by `;' with optional white
 *	space; unknown fields are ignored.  Returns 1 with the id, or 0 with
 *	a reason (none, several, malformed).
 *
 *	sts_policy_parse() reads the policy file of section 3.2: `key: value'
 *	lines ending in LF or CRLF, trailing white space ignored, `version:
 *	STSv1' (first), `mode: enforce|testing|none', one or more `mx:'
 *	patterns (a leading `*.' matches exactly one label), `max_age' from 0
 *	to 31557600; unknown keys ignored; a missing or invalid required
 *	field, a duplicated single-valued field, a NUL byte or a bare CR
 *	invalidates the policy, and `why' names the line and the reason.
 *
 *	sts_mx_match() tells whether an MX host name matches a pattern.
 *
 *	The cache rules: sts_cache_step() says what to do for a message,
 *	given the cached entry, the TXT lookup's outcome and the time:
 *	STS_USE (the cached policy applies as it is), STS_FETCH (fetch, and
 *	meanwhile use the cached policy when one applies), STS_NONE (no
 *	policy), STS_DROP (forget the entry: a cached `mode: none' whose TXT
 *	is gone), STS_EXTEND (TXT seen with the same id: extend the life).
 *	A policy nearing the end of max_age (conf->refresh_before) asks for a
 *	FETCH in the background.  A failed fetch is not retried before
 *	conf->negative_ttl has passed, nor any fetch before conf->min_interval.
 *
 *	sts_cache_failed() records a failed fetch: the negative cache, and
 *	the failure's RFC 8460 result type and reason, kept until the next
 *	successful fetch (sts_cache_fetched()) or the next failure.
 *	sts_cache_failure() is the failure a message reports when its lookup
 *	did not fetch: the stored type while the TXT record is there
 *	(STS_TXT_FOUND) and its id is not that of a cached policy that still
 *	applies; RTYPE_NONE otherwise.  So every session made without the policy
 *	during negative_ttl counts as that failure (RFC 8460 4.3.2.2), not
 *	only the one whose fetch failed.  sts_cache_set_failure() sets the
 *	type (sts-policy-fetch-error, sts-policy-invalid or
 *	sts-webpki-invalid; anything else is taken as the first) and the
 *	reason (control and non-ASCII bytes become `?').  sts_fail_type()
 *	reads one of those three words (the cache file's fail-type), and
 *	is RTYPE_NONE for any other.
 *	sts_cache_merge() takes into e what another gateway's entry r for the
 *	same domain (the shared cache, stsredis.h) knows: its policy when
 *	fetched later than e's (or e has none), its failure when it holds
 *	longer; e's own policy is never dropped for one fetched earlier or
 *	for none (no downgrade), and r's fetch counts as an attempt (no
 *	refetch before min_interval).  1 when e changed.
 *	Time is always an argument: these never read a clock.
 *
 *	struct sts_result is what a lookup of a domain's policy (stsget.h)
 *	comes back with and a plan (plan.h) keeps: the policy that applies,
 *	if any, its id, whether it came from the cache, the TXT answer's
 *	TTL, and the failure to report (an RFC 8460 result type and reason)
 *	when the policy could not be had.
 */
#ifndef MXTLS_STS_H
#define MXTLS_STS_H

#include <stddef.h>
#include <time.h>

#include "../report/rtype.h"

#define STS_ID_MAX	32
#define STS_MAX_MX	32
#define STS_NAME_MAX	256
#define STS_BODY_MAX	65536
#define STS_MAX_AGE	31557600L
#define STS_WHY_MAX	512
#define STS_NEGATIVE_TTL_MAX 86400L	/* the longest sts_negative_ttl */

enum sts_mode { STS_MODE_NONE, STS_MODE_TESTING, STS_MODE_ENFORCE };

struct sts_policy {
	enum sts_mode mode;
	long max_age;
	int nmx;
	char mx[STS_MAX_MX][STS_NAME_MAX];	/* lower case */
	char text[2048];		/* the policy lines, for reports */
};

enum sts_txt { STS_TXT_FOUND, STS_TXT_NONE, STS_TXT_ERROR };
enum sts_step { STS_USE, STS_FETCH, STS_NONE, STS_DROP, STS_EXTEND };

struct sts_conf {
	long refresh_before;		/* refetch this long before expiry */
	long negative_ttl;		/* after a failed fetch */
	long min_interval;		/* between fetches of one domain */
};

struct sts_entry {
	char domain[STS_NAME_MAX];
	int has_policy;
	char id[STS_ID_MAX + 1];
	time_t fetched;			/* when the policy was fetched */
	time_t expires;			/* fetched (or extended) + max_age */
	time_t last_attempt;		/* last fetch attempt */
	time_t fail_until;		/* negative cache after a failure */
	enum rtype fail_rtype;		/* its RFC 8460 result type, or RTYPE_NONE */
	char fail_why[STS_WHY_MAX];	/* its reason (printable ASCII) */
	struct sts_policy policy;
};

struct sts_result {
	int has_policy;
	char id[STS_ID_MAX + 1];
	struct sts_policy policy;
	enum rtype rtype;		/* a failure to report, or RTYPE_NONE */
	char why[STS_WHY_MAX];
	int from_cache;
	long txt_ttl;			/* TTL of the TXT answer, -1: none */
};

int sts_txt_parse(const char *const *txt, const size_t *len, int n,
    char id[STS_ID_MAX + 1], const char **why);
int sts_policy_parse(const char *body, size_t len, struct sts_policy *p,
    char *why, size_t whylen);
int sts_mx_match(const struct sts_policy *p, const char *host);
int sts_pattern_match(const char *pattern, const char *host);
enum sts_step sts_cache_step(const struct sts_entry *e, enum sts_txt txt,
    const char *id, time_t now, const struct sts_conf *conf);
void sts_cache_fetched(struct sts_entry *e, const char *id,
    const struct sts_policy *p, time_t now);
void sts_cache_failed(struct sts_entry *e, time_t now,
    const struct sts_conf *conf, enum rtype rtype, const char *why);
enum rtype sts_cache_failure(const struct sts_entry *e, enum sts_txt txt,
    const char *id, time_t now);
void sts_cache_set_failure(struct sts_entry *e, enum rtype rtype,
    const char *why);
enum rtype sts_fail_type(const char *name);
int sts_cache_merge(struct sts_entry *e, const struct sts_entry *r);
void sts_cache_extend(struct sts_entry *e, time_t now);
int sts_cache_applies(const struct sts_entry *e, time_t now);
const char *sts_mode_str(enum sts_mode m);

#endif
