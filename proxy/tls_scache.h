/*
 * tls_scache.h - the client-side TLS session cache towards MX hosts,
 * keyed by what the verification depended on.
 *
 * SYNOPSIS
 *	int scache_key(const struct scache_keyin *in, struct scache_key *k);
 *	void scache_key_hex(const struct scache_key *k, char *buf, size_t len);
 *	long scache_expiry(long now, long dns_left, long sess_left,
 *		long hint_left);
 *	struct scache *scache_new(size_t max);
 *	void scache_free(struct scache *c);
 *	void scache_flush(struct scache *c, size_t max);
 *	int scache_put(struct scache *c, const struct scache_key *k,
 *		SSL_SESSION *sess, long expires, const char *match, long now);
 *	SSL_SESSION *scache_get(struct scache *c, const struct scache_key *k,
 *		long now, char *match, size_t matchlen);
 *	void scache_drop(struct scache *c, const struct scache_key *k);
 *	void scache_resumed(struct scache *c);
 *	const struct scache_stats *scache_stats(const struct scache *c);
 *
 * DESCRIPTION
 *	A resumed TLS session is not verified again: OpenSSL checks no
 *	certificate, no TLSA record and no name on resumption (with DANE,
 *	SSL_get0_dane_authority() says -1: nothing matched in this
 *	handshake).  It may only count as verified because the session it
 *	resumes was verified under exactly the same conditions, so the
 *	key is a SHA-256 digest of all of them: the MX address and port,
 *	the SNI, the TLS level, the reference names (MX name, TLSA base
 *	domain, the name before CNAMEs, the nexthop), the TLSA RRset as
 *	given to OpenSSL (sorted: order is no change), the MTA-STS policy id
 *	and whether the MX matched the policy, and the policy table's checks
 *	(its key, match= names, fingerprints, protocols=, ciphers=,
 *	servername=).  Any change is another key, hence a miss.
 *
 *	scache_key() fills k from in (every field is length-prefixed, so
 *	no two inputs digest alike by concatenation); -1 when the digest
 *	cannot be made.  scache_key_hex() writes its first 8 octets in hex
 *	for logs.
 *
 *	scache_expiry() is the entry's end, now + the least of what is left:
 *	dns_left (of the plan's shortest DNS TTL; SCACHE_NONE: the route used
 *	no DNS), sess_left (of the session's timeout) and hint_left (of the
 *	ticket's lifetime hint; SCACHE_NONE: none).  0 when nothing is left,
 *	a bound at 0 or already past (negative) included: never stored.
 *
 *	scache_new() makes a cache of at most max entries (1 or more);
 *	scache_flush() empties it and sets a new bound (a reload: the trust
 *	anchors may have changed).  scache_put() stores a copy of sess
 *	(SSL_SESSION_dup: OpenSSL marks an SSL's session not resumable
 *	when the SSL ends without our close_notify, so the cache never
 *	shares an object with an SSL) and the verdict's description under k until expires
 *	(replacing what was there), evicting the least recently used entry
 *	when full; -1 (nothing stored) when expires is not after now.
 *	scache_get() gives a copy of k's session (the caller's) and copies its
 *	description into match, or NULL: no entry, expired (now at or past
 *	its end: removed) or no longer resumable (removed).  scache_drop()
 *	removes k's entry (a failed handshake, a verdict other than the key
 *	promised).  The stats' gen counts the flushes: a caller that looked
 *	up before a flush stores nothing after it.  The clock is the caller's: now in seconds, monotonic.
 *
 *	scache_stats() counts lookups that hit and missed, entries stored,
 *	replaced, evicted (LRU), expired and dropped, the handshakes that
 *	resumed an offered session (the caller says so: scache_resumed()),
 *	and the current size.
 *
 * DIAGNOSTICS
 *	scache_new() returns NULL and scache_put() -1 when out of memory.
 */
#ifndef MXTLS_TLS_SCACHE_H
#define MXTLS_TLS_SCACHE_H

#include <limits.h>

#include <stddef.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "../policy/plan.h"

#define SCACHE_KEYLEN	32
#define SCACHE_MAX	1000000		/* tls_session_cache_size's bound */
#define SCACHE_MATCH	128
#define SCACHE_NONE	LONG_MAX	/* scache_expiry(): no such bound */

struct scache_key {
	unsigned char d[SCACHE_KEYLEN];
};

struct scache_keyin {
	const struct sockaddr_storage *addr;	/* address and port */
	const char *sni;		/* NULL or "": none */
	int level;			/* enum route_level */
	const char *mxname, *base, *orig_name, *nexthop;
	const struct plan_tlsa *tlsa;	/* as given to OpenSSL */
	int ntlsa;
	const char *sts_id;		/* NULL or "": none */
	int sts_mismatch;
	const char *tab_key;		/* policy table entry, or NULL */
	const char *const *tab_match;
	int tab_nmatch;
	const unsigned char (*tab_fp)[32];
	int tab_nfp;
	unsigned tab_protos;		/* bits; 0: protocols= not given */
	const char *tab_ciphers, *tab_servername;
};

struct scache_stats {
	unsigned long hits, misses, stored, replaced, evicted, expired, dropped;
	unsigned long resumed;		/* scache_resumed(): the MX accepted */
	unsigned long gen;		/* flushes so far */
	size_t n, max;
};

struct scache;

int scache_key(const struct scache_keyin *in, struct scache_key *k);
void scache_key_hex(const struct scache_key *k, char *buf, size_t len);
long scache_expiry(long now, long dns_left, long sess_left, long hint_left);
struct scache *scache_new(size_t max);
void scache_free(struct scache *c);
void scache_flush(struct scache *c, size_t max);
int scache_put(struct scache *c, const struct scache_key *k, SSL_SESSION *sess,
    long expires, const char *match, long now);
SSL_SESSION *scache_get(struct scache *c, const struct scache_key *k, long now,
    char *match, size_t matchlen);
void scache_drop(struct scache *c, const struct scache_key *k);
void scache_resumed(struct scache *c);
const struct scache_stats *scache_stats(const struct scache *c);

#endif
