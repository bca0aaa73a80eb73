/*
 * stscache.h - the MTA-STS policy cache: memory, and disk so that
 * policies survive restarts (RFC 8461 5).
 *
 * SYNOPSIS
 *	int stscache_init(const char *dir, time_t now, char *err,
 *		size_t errlen);
 *	struct sts_entry *stscache_get(const char *domain);
 *	struct sts_entry *stscache_add(const char *domain);
 *	void stscache_drop(const char *domain);
 *	int stscache_save(const struct sts_entry *e);
 *	int stscache_lock(const char *domain);
 *	int stscache_reread(const char *domain, time_t since, time_t now);
 *	void stscache_walk(void (*fn)(struct sts_entry *, void *), void *arg);
 *	int stscache_format(const struct sts_entry *e, char *buf, size_t len);
 *	int stscache_parse(const char *text, size_t len, struct sts_entry *e,
 *		char *why, size_t whylen);
 *	int stscache_shared_format(const struct sts_entry *e, time_t now,
 *		char *buf, size_t len, time_t *expire_at);
 *	int stscache_shared_parse(const char *domain, const char *text,
 *		size_t len, time_t now, struct sts_entry *e, char *why,
 *		size_t whylen);
 *	time_t stscache_shared_until(const struct sts_entry *e);
 *	int stscache_take_shared(struct sts_entry *e, const char *text,
 *		size_t len, time_t now, char *why, size_t whylen);
 *
 * DESCRIPTION
 *	Entries live in a hash table keyed by domain (lower case).
 *	stscache_init() loads every file of dir (one per domain); a file that
 *	does not parse is removed with a log line, never fatal; one whose
 *	policy has expired and whose failure (below) no longer holds is
 *	removed quietly.  stscache_save() writes an entry that has a policy
 *	or a failure atomically (a temporary file, fsync, rename).
 *	stscache_lock() takes a domain's fetch lock (flock on the dot file
 *	.lock.DOMAIN in dir, never read as an entry), shared by every process
 *	on the directory (mxtlsd's workers): the locked fd, -2 while another
 *	process holds it, -1 when there is no lock to take (no dir, an
 *	error: fetch anyway).  stscache_reread() loads a domain's disk entry
 *	into memory when another process wrote it since `since' (a policy
 *	fetched then, or a failure still holding): 1 then, else 0.
 *	stscache_format() and stscache_parse() are the pure file format:
 *
 *		mxtls-sts 1
 *		domain: D
 *		id: ID			policy: all three or none
 *		fetched: EPOCH
 *		expires: EPOCH
 *		fail-until: EPOCH	the last fetch failed (sts.h)
 *		fail-type: TYPE		its RFC 8460 result type
 *		fail-why: TEXT		its reason (when there is one)
 *		(blank line)
 *		the policy in canonical form, when there is one
 *
 *	An entry without a failure is written without the fail- lines, in
 *	the form of the files written before they existed; a fail-until
 *	without fail-type loads as sts-policy-fetch-error.
 *	An empty dir keeps the cache in memory only.
 *
 *	stscache_shared_format() and stscache_shared_parse() are the same
 *	text as a value in the cache gateways share (stsredis.h):
 *	the format's length and, in expire_at, when the shared copy is of no
 *	more use (the later of the policy's expiry and the failure's end);
 *	-1 when nothing in the entry is worth sharing at now.  The parse
 *	checks what a file's name checks on disk: the entry is the domain's,
 *	and its failure does not hold longer than sts_negative_ttl can make
 *	it.  stscache_shared_until() is when an entry is of no more use (0:
 *	never was).  stscache_take_shared() is what a gateway does with
 *	another's value for e's domain: parsed, merged into e
 *	(sts_cache_merge()) and, when that changed e, saved; 1 then, 0 when
 *	it told e nothing new, -1 with why when it does not parse.
 */
#ifndef MXTLS_STSCACHE_H
#define MXTLS_STSCACHE_H

#include <stddef.h>
#include <time.h>

#include "sts.h"

int stscache_init(const char *dir, time_t now, char *err, size_t errlen);
struct sts_entry *stscache_get(const char *domain);
struct sts_entry *stscache_add(const char *domain);
void stscache_drop(const char *domain);
int stscache_save(const struct sts_entry *e);
int stscache_lock(const char *domain);
int stscache_reread(const char *domain, time_t since, time_t now);
void stscache_walk(void (*fn)(struct sts_entry *, void *), void *arg);
int stscache_format(const struct sts_entry *e, char *buf, size_t len);
int stscache_parse(const char *text, size_t len, struct sts_entry *e,
    char *why, size_t whylen);
int stscache_shared_format(const struct sts_entry *e, time_t now, char *buf,
    size_t len, time_t *expire_at);
int stscache_shared_parse(const char *domain, const char *text, size_t len,
    time_t now, struct sts_entry *e, char *why, size_t whylen);
time_t stscache_shared_until(const struct sts_entry *e);
int stscache_take_shared(struct sts_entry *e, const char *text, size_t len,
    time_t now, char *why, size_t whylen);
size_t stscache_count(void);

#endif
