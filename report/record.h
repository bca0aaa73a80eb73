/*
 * record.h - one upstream attempt, as a journal line (JSON), pure.
 *
 * SYNOPSIS
 *	int rec_to_json(const struct rec *r, struct buf *out);
 *	char *rec_utf8_dup(const char *s, size_t n);
 *	int rec_json_lines(struct cJSON *o, const char *key,
 *		const char *lines);
 *	int rec_json_str(struct cJSON *o, const char *key, const char *s);
 *	int rec_from_json(const char *line, size_t len, struct rec *r,
 *		const char **why);
 *	void journal_replay(const char *text, size_t len,
 *		void (*fn)(const struct rec *, void *), void *arg,
 *		struct journal_stats *st);
 *
 * DESCRIPTION
 *	A record holds what RFC 8460 reports need about one attempt: the
 *	time (UTC seconds), session id, policy domain, policy type (tlsa,
 *	sts, no-policy-found), policy strings and mx patterns (LF-separated),
 *	MX host, receiving IP, receiving HELO, sending IP, result type
 *	(`success' or an RFC 8460 result type), failure reason code, what
 *	mxtlsd did (delivered, refused, delivered-anyway, failed, or
 *	would-refuse under mode = report-only), and, only when the admin's
 *	policy table decided, its entry (`policy-table': `KEY LEVEL').
 *	Records of mxtlsd since fleet reports also carry the gateway's id
 *	(`gateway-id', mxtls.conf's gateway_id) and a `record-id' unique in
 *	the fleet (GATEWAY:SID:PID:N, N the attempt's number in the
 *	session); both are optional when read, since older records have
 *	none: one with a record-id is printable ASCII without spaces.
 *
 *	rec_to_json() appends one line (cJSON, unformatted, LF-ended); bytes
 *	that are not UTF-8 (whatever an MX sent) become `?', so that every
 *	line is valid JSON.  rec_utf8_dup() is that copy (malloc'd, n bytes),
 *	and rec_json_lines() adds an LF-separated list to a cJSON object as
 *	an array of such strings (empty items left out), rec_json_str() one
 *	such string member; the report renderer
 *	(agg.c) uses both.
 *	rec_from_json() reads one back; anything missing, mistyped or too
 *	long is refused with a reason, and so is a policy type, result type
 *	or action that is not exactly a word of rtype.h.  journal_replay() walks a day's file:
 *	each whole line is parsed and handed to fn; a corrupt line is counted
 *	and skipped (the first one's line number and reason are kept in the
 *	stats); a last line without LF (a crash cut it) is counted as
 *	torn and skipped.  The record handed to fn points at its line
 *	(r->line, r->linelen, r->lineno) for the callback's time.  Never fatal.
 */
#ifndef MXTLS_RECORD_H
#define MXTLS_RECORD_H

#include <stddef.h>

#include "../lib/buf.h"

#define REC_NAME	256
#define REC_LIST	4096
#define REC_LINE_MAX	16384
#define REC_GWID	72		/* gateway-id: 64 bytes, NUL */
#define REC_RID		160		/* record-id */

struct rec {
	long long time;
	char sid[32];
	char domain[REC_NAME];
	char ptype[20];			/* tlsa | sts | no-policy-found */
	char policy[REC_LIST];		/* policy strings, LF-separated */
	char mxpat[REC_LIST];		/* mx patterns, LF-separated */
	char mx[REC_NAME];
	char ip[64];
	char helo[REC_NAME];
	char src[64];
	int sport;			/* mxtlsd's source port, 0: none */
	char result[40];		/* success or an RFC 8460 type */
	char reason[128];
	char action[20];		/* delivered | refused | delivered-anyway |
					 * failed | would-refuse */
	char table[REC_NAME + 32];	/* `KEY LEVEL' of the policy table entry
					 * that applied, or "": optional */
	char gw[REC_GWID];		/* gateway-id, or "": optional (older
					 * records have none) */
	char rid[REC_RID];		/* record-id, unique in the fleet, or "":
					 * optional (never deduplicated) */
	const char *line;		/* journal_replay(): the line read, */
	size_t linelen;			/* valid during the callback only, */
	long lineno;			/* and its number (from 1) */
};

struct journal_stats {
	long lines;
	long good;
	long bad;
	int torn;
	long first_bad;			/* line number of the first bad line, */
	const char *first_why;		/* and why (a static string) */
};

struct cJSON;

int rec_to_json(const struct rec *r, struct buf *out);
char *rec_utf8_dup(const char *s, size_t n);
int rec_json_lines(struct cJSON *o, const char *key, const char *lines);
int rec_json_str(struct cJSON *o, const char *key, const char *s);
int rec_from_json(const char *line, size_t len, struct rec *r, const char **why);
void journal_replay(const char *text, size_t len,
    void (*fn)(const struct rec *, void *), void *arg, struct journal_stats *st);

#endif
