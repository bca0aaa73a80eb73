/*
 * stsget.h - the MTA-STS policy that applies to a domain, now.
 *
 * SYNOPSIS
 *	int stsget_init(struct ev_loop *loop, const struct stsget_conf *c,
 *		char *err, size_t errlen);
 *	struct stsget *stsget_start(const char *domain, stsget_cb *cb,
 *		void *arg);
 *	void stsget_cancel(struct stsget *g);
 *	void stsget_reconfigure(const struct stsget_conf *c);
 *	void stsget_conf_of(const struct config *cfg, struct stsget_conf *c);
 *	const struct stsget_stats *stsget_stats(void);
 *
 * DESCRIPTION
 *	stsget_start() looks up the _mta-sts TXT record, applies the cache
 *	rules (sts.h) and, when they say so, resolves mta-sts.<domain> with
 *	the same validating resolver and fetches the policy (fetch.h).  A
 *	fetch for a domain already in flight is shared.  A refresh of a
 *	policy that still applies runs in the background: the asker gets the
 *	cached policy at once.  The callback gets the policy that applies
 *	(or none; struct sts_result, sts.h) and, when something failed, the RFC 8460 result type and
 *	reason (sts-policy-fetch-error, sts-policy-invalid,
 *	sts-webpki-invalid), from the loop.  A failed fetch is remembered
 *	in the cache entry (memory and disk) with its type and reason: while
 *	sts_negative_ttl holds no new fetch is made, and every result for
 *	the domain whose TXT record names a policy the cache cannot supply
 *	carries that failure again, not only the first (RFC 8460 4.3.2.2
 *	counts each session made without the policy).  A timer refreshes
 *	policies that near max_age even when no mail flows.  The
 *	configuration is copied; stsget_reconfigure() replaces it (SIGHUP).
 *	stsget_conf_of() is what mxtls.conf asks for (sts_cache_dir,
 *	sts_cache, sts_cache_redis_timeout, gateway_id, tls_ca_file,
 *	sts_fetch_timeout, sts_refresh_before, sts_negative_ttl); its strings
 *	point into cfg; the Redis password (the contents of
 *	sts_cache_redis_password_file) is the caller's to read and set.
 *
 *	With a shared cache (sts_cache = redis..., stsredis.h), a fetch the
 *	rules ask for asks Redis first: when another gateway's entry there
 *	has the published id's policy fetched since ours, or its failure
 *	still holding, that is merged into ours (sts_cache_merge()) and used
 *	without a fetch ("another gateway fetched it"); else the gateway
 *	that gets the domain's lock fetches and writes its result there, and
 *	the others ask again every 100 ms until it is there (or
 *	sts_fetch_timeout + 10 s have passed: then they fetch).  Whenever
 *	Redis cannot answer, the lookup goes on as without it (the disk
 *	lock, its own fetch): counted in redis_fallbacks.  The lookups that
 *	need no fetch never wait for Redis.
 *
 *	stsget_stats() counts, since start-up, the lookups answered with a
 *	cached policy (hits), the policy fetches started (a refresh too) and
 *	those that failed; for the metrics (proxy/metrics_srv.h).
 */
#ifndef MXTLS_STSGET_H
#define MXTLS_STSGET_H

#include <ev.h>

#include "../lib/conf.h"
#include "sts.h"

struct stsget_conf {
	const char *cache_dir;
	const char *sts_cache;		/* disk, or the shared cache's URL */
	const char *redis_password;	/* its AUTH password, or NULL */
	long redis_timeout;
	const char *gateway_id;		/* in its fetch locks */
	const char *ca_file;
	long fetch_timeout;
	struct sts_conf rules;
};

struct stsget_stats {
	unsigned long long hits;	/* answered with a cached policy */
	unsigned long long fetches;	/* started */
	unsigned long long fetch_failures;
	unsigned long long redis_shared;	/* fetches another gateway made */
	unsigned long long redis_fallbacks;	/* ... decided without Redis */
};

struct stsget;
typedef void stsget_cb(void *arg, const struct sts_result *r);

int stsget_init(struct ev_loop *loop, const struct stsget_conf *c, char *err,
    size_t errlen);
struct stsget *stsget_start(const char *domain, stsget_cb *cb, void *arg);
void stsget_cancel(struct stsget *g);
void stsget_reconfigure(const struct stsget_conf *c);
void stsget_conf_of(const struct config *cfg, struct stsget_conf *c);
const struct stsget_stats *stsget_stats(void);

#endif
