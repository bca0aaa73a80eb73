/*
 * hints.h - what the DNS watcher learns (issue 12), bounded and pure: per
 * querying MTA address, the MX, CNAME, A and AAAA answers it received,
 * each until its TTL, and which recipient domain(s) a destination address
 * serves for that MTA.  A hint only: policy is always decided from
 * mxtlsd's own validated lookups.
 *
 * SYNOPSIS
 *	void hints_limits_default(struct hints_limits *lim);
 *	struct hints *hints_new(const struct hints_limits *lim);
 *	void hints_free(struct hints *h);
 *	void hints_learn(struct hints *h, const struct sockaddr_storage *mta,
 *		const struct dnsmsg *m, double now);
 *	int hints_domains(struct hints *h,
 *		const struct sockaddr_storage *mta,
 *		const struct sockaddr_storage *dest, double now,
 *		char out[][DNSMSG_NAME_MAX], int max);
 *	int hints_expire(struct hints *h, double now, int max_work);
 *	void hints_stats(const struct hints *h, struct hints_stats *st);
 *
 * DESCRIPTION
 *	Nothing here touches a socket, reads a clock or logs: time is the
 *	caller's `now', in seconds.  hints_new() allocates everything the
 *	map will ever use (about 600 octets per entry and two hash tables
 *	of 4-octet heads, a power of two of at least twice the entries);
 *	nothing else allocates.
 *
 *	hints_limits_default() fills lim with the defaults: max_entries
 *	65536 (the cap, over all MTAs together), min_ttl 5 s (a 0-TTL
 *	answer still helps the connection that follows it), max_ttl 86400
 *	s, nodata_ttl 300 s (how long `this domain has no MX' is kept: the
 *	SOA minimum is in the authority section, which the parser does not
 *	read), seed 0.  The caller should set seed[] to random octets: the
 *	tables hash with SipHash-2-4 under that key, so that whoever writes
 *	DNS answers cannot aim many entries at one chain.  hints_new(NULL)
 *	takes the defaults; a zero field takes its default.  max_entries is
 *	1 to HINTS_MAX_ENTRIES, min_ttl at most max_ttl.
 *
 *	hints_learn() learns from one parsed DNS answer (dnsmsg.h) received
 *	by the MTA at address mta (AF_INET or AF_INET6, port ignored; an
 *	IPv4-mapped IPv6 address, here and in an AAAA record, is its IPv4
 *	address).  A rcode other than NOERROR (0) learns nothing.  Each MX
 *	record (domain -> exchange;
 *	the null MX of RFC 7505, an empty exchange, is skipped), CNAME
 *	(alias -> target), A and AAAA (name -> address) record becomes one
 *	entry, and an answer to an IN MX question holding no MX record
 *	(NODATA) records that qname has no MX, so that its own A or AAAA is
 *	its implicit MX (RFC 5321 5.1); a later MX for it drops that.  A
 *	record whose names lack their NUL is skipped.  An entry expires at
 *	now + ttl, the ttl clamped to [min_ttl, max_ttl].  Learning an entry
 *	already there (same MTA, kind, owner, target or address) refreshes
 *	it: a new expiry, and it becomes the newest.  At the cap, the
 *	least recently learned (or refreshed) entry is evicted; lookups do
 *	not change that order.
 *
 *	hints_domains() gives the domains whose MX host has address dest
 *	(port ignored) as the MTA mta learned it, unexpired: dest's names
 *	(A/AAAA), the aliases that lead to them through at most
 *	HINTS_CNAME_MAX CNAMEs (a loop ends there: each name is visited
 *	once), then the domains with an MX naming any of them, and each of
 *	those names that has no MX of its own (an MX NODATA answer seen)
 *	as its own implicit MX.  At most max domains are written to out[],
 *	each NUL-terminated and given once, the most recently learned
 *	first.  One is a certain hint, several an ambiguous one (pass max
 *	of at least 2 to tell them apart).  The work is bounded: at most
 *	HINTS_NAMES_MAX names of dest are followed and HINTS_WALK_MAX
 *	entries looked at per call, so a hint may be missed (never wrong)
 *	when one address has more names than that.
 *
 *	Expiry is lazy: an expired entry met on any chain a learn or lookup
 *	walks is removed then.  hints_expire() also sweeps: it looks at the
 *	next max_work slots of the table (a hand going round it, so every
 *	slot is looked at once in each max_entries / max_work calls) and
 *	removes the expired ones; the watcher calls it from a timer.
 *
 *	hints_stats() copies the counters: learned (entries added),
 *	refreshed, evicted (at the cap), expired (removed past their TTL,
 *	lazily, by the sweep, or as the oldest at the cap), entries (now),
 *	lookups, hits (lookups with a domain), ambiguous (with several).
 *
 *	Every learn and lookup is O(1) on average: two hash tables with
 *	chaining, one by the whole entry (for refresh), one by what a
 *	lookup searches for (the address, an MX exchange, a CNAME target,
 *	the no-MX domain); no call walks all entries, but for hints_expire()
 *	up to max_work.
 *
 * DIAGNOSTICS
 *	hints_new() returns NULL with errno EINVAL (bad limits) or ENOMEM.
 *	hints_domains() returns the number of domains written, 0 to max
 *	(0 for an address that is neither AF_INET nor AF_INET6).
 *	hints_expire() returns the number of entries it removed.
 */
#ifndef MXTLS_HINTS_H
#define MXTLS_HINTS_H

#include <stdint.h>
#include <sys/socket.h>

#include "dnsmsg.h"

#define HINTS_MAX_ENTRIES	(1u << 24)
#define HINTS_CNAME_MAX		8
#define HINTS_NAMES_MAX		32
#define HINTS_WALK_MAX		4096

struct hints_limits {
	uint32_t max_entries;
	uint32_t min_ttl, max_ttl, nodata_ttl;	/* seconds */
	uint64_t seed[2];
};

struct hints_stats {
	uint64_t learned, refreshed, evicted, expired;
	uint64_t entries;
	uint64_t lookups, hits, ambiguous;
};

struct hints;

void hints_limits_default(struct hints_limits *lim);
struct hints *hints_new(const struct hints_limits *lim);
void hints_free(struct hints *h);
void hints_learn(struct hints *h, const struct sockaddr_storage *mta,
    const struct dnsmsg *m, double now);
int hints_domains(struct hints *h, const struct sockaddr_storage *mta,
    const struct sockaddr_storage *dest, double now, char out[][DNSMSG_NAME_MAX], int max);
int hints_expire(struct hints *h, double now, int max_work);
void hints_stats(const struct hints *h, struct hints_stats *st);

#endif
