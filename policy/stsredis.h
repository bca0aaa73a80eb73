/*
 * stsredis.h - the MTA-STS cache that a fleet of gateways shares, in
 * Redis (sts_cache = redis://... or unix:...).
 *
 * SYNOPSIS
 *	int stsredis_init(struct ev_loop *loop, const struct stsredis_conf *c,
 *		char *err, size_t errlen);
 *	int stsredis_enabled(void);
 *	struct stsredis_q *stsredis_check(const char *domain, int lock,
 *		stsredis_cb *cb, void *arg);
 *	void stsredis_cancel(struct stsredis_q *q);
 *	void stsredis_put(const struct sts_entry *e);
 *	void stsredis_unlock(const char *domain);
 *	void stsredis_shutdown(void);
 *	const struct stsredis_stats *stsredis_stats(void);
 *
 * DESCRIPTION
 *	One connection per process (each worker has its own), hiredis's
 *	asynchronous API on the loop through its libev adapter: nothing
 *	here ever blocks.  A domain's entry is the string mxtls:sts:DOMAIN,
 *	the cache file's text (stscache_shared_format()), expiring when it
 *	is of no more use; its fetch lock is mxtls:sts-lock:DOMAIN, taken
 *	with SET NX PX for sts_fetch_timeout + 10 s and holding the
 *	gateway id and pid, given back by a script that deletes it only
 *	while it still holds ours.
 *
 *	stsredis_check() asks, in one round trip, for a domain's entry and
 *	(with lock) for its lock; cb gets ok (0: Redis could not answer),
 *	the entry's text (NULL: none; a value over 16 KiB is none) and
 *	whether the lock is now ours.  stsredis_cancel() drops the callback;
 *	the query itself lives until its replies are in.  stsredis_put()
 *	writes an entry (after a fetch, its result), stsredis_unlock() gives
 *	the lock back; both answer to nobody.
 *
 *	Redis down: when it refuses or closes the connection, or when any
 *	reply (or the connection) takes longer than sts_cache_redis_timeout,
 *	the connection is dropped, every query outstanding gets ok = 0, and
 *	stsredis_check() returns NULL until a new connection is made (after
 *	1 s, doubling to 10 s between attempts).  That is said once a minute
 *	at most.  Each new connection resynchronises: every entry of the
 *	process's cache that is still of use is written where Redis has none
 *	(SET NX GET, 32 at a time), and where it has one, that one is merged
 *	into ours (sts_cache_merge(): never a policy dropped).
 *
 *	stsredis_init() reads the URL (cfg_parse_sts_cache()); a host name
 *	is resolved there, once.  It connects at once.  Disabled (disk),
 *	everything here is a no-op and stsredis_check() returns NULL.
 *	stsredis_shutdown() closes the connection; the queries outstanding
 *	then hear nothing more.
 */
#ifndef MXTLS_STSREDIS_H
#define MXTLS_STSREDIS_H

#include <ev.h>
#include <stddef.h>

#include "sts.h"

struct stsredis_conf {
	const char *url;		/* sts_cache */
	const char *password;		/* NULL: no AUTH */
	long timeout;			/* seconds */
	long lock_time;			/* seconds a fetch lock is held at most */
	const char *owner;		/* the gateway id, in the lock */
};

struct stsredis_stats {
	int up;				/* connected now */
	unsigned long long errors;	/* connections lost, late or error replies */
	unsigned long long resync_written;	/* entries we had and Redis did not */
	unsigned long long resync_taken;	/* entries Redis had that told us more */
};

struct stsredis_q;
typedef void stsredis_cb(void *arg, int ok, const char *text, size_t len, int locked);

int stsredis_init(struct ev_loop *loop, const struct stsredis_conf *c, char *err,
    size_t errlen);
int stsredis_enabled(void);
struct stsredis_q *stsredis_check(const char *domain, int lock, stsredis_cb *cb,
    void *arg);
void stsredis_cancel(struct stsredis_q *q);
void stsredis_put(const struct sts_entry *e);
void stsredis_unlock(const char *domain);
void stsredis_shutdown(void);
const struct stsredis_stats *stsredis_stats(void);

#endif
