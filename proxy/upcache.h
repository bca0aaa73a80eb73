/*
 * upcache.h - the upstream connection cache: idle, verified upstream
 * connections kept between client sessions (issue 13).
 *
 * SYNOPSIS
 *	void upc_key_make(struct upc_key *k, const struct up_params *p,
 *		const char *tlsa, unsigned tab_gen);
 *	int upc_key_eq(const struct upc_key *a, const struct upc_key *b);
 *
 *	void upc_conf(struct ev_loop *loop, long secs, long size, long per_dest);
 *	int upc_on(void);
 *	int upc_park(struct up *u, const struct upc_key *k, const char *sid);
 *	struct up *upc_take(const struct upc_key *k);
 *	void upc_flush(enum metrics_upc_drop why);
 *	long upc_idle(void);
 *
 * DESCRIPTION
 *	The key of an upstream is everything its use was judged by: the
 *	MX address and port, the source address (upstream_source = client:
 *	one old MTA's), SO_MARK, our EHLO name, the TLS level, the TLSA
 *	records as text, the MTA-STS policy id, the policy table entry (its
 *	key and the table's generation), report-only and require_tls's
 *	floor.  upc_key_make() builds it from the up_params an upstream is
 *	(or would be) started with; it is the one rule both for keeping a
 *	session's upstream for its next transaction (sess_route.c) and for
 *	handing a cached one to another session.  upc_key_eq() compares.
 *
 *	upc_conf() sets the limits: an entry stays idle at most secs
 *	(upstream_cache_time; 0: the cache is off and empty), size in all
 *	(upstream_cache_size), per_dest per MX address and port
 *	(upstream_cache_per_dest).  upc_on() says whether it is on.
 *
 *	upc_park() takes an idle upstream (up_idle(): nothing in flight)
 *	under key k: 0 when the cache has it (the caller forgets it), -1
 *	when the cache is off (the caller says QUIT).  To make room the
 *	oldest entry of the destination, then the oldest of all, is closed
 *	(evicted).  A cached upstream that becomes readable is dropped:
 *	end of file (closed), or any byte, a 421 included (data); so is one
 *	whose time is over (expired, with QUIT).  upc_take() hands out the
 *	newest entry of key k, or NULL (the caller rebinds it with
 *	up_park() and says RSET, up_probe() within UPC_PROBE_TIMEOUT,
 *	before using it).  upc_flush() closes all
 *	(QUIT), counted as why: SIGTERM (drain), SIGHUP (reload: any policy
 *	input, the table, trust anchors or settings, may have changed).
 *	upc_idle() is the number of idle entries.
 */
#ifndef MXTLS_UPCACHE_H
#define MXTLS_UPCACHE_H

#include <stdint.h>

#include <ev.h>

#include "metrics.h"
#include "up.h"

#define UPC_PROBE_TIMEOUT 10		/* s: the RSET on a cached connection */

struct upc_key {
	char addr[80];			/* [192.0.2.25]:25 */
	char src[80];			/* source address, or "" */
	uint32_t mark;
	char helo[256];
	int level;			/* enum route_level */
	char tlsa[1024];		/* the TLSA records as used, or "" */
	char sts_id[40];		/* MTA-STS policy id, or "" */
	char tab[256];			/* the table entry's key, or "" */
	unsigned tab_gen;		/* ... from this table generation */
	int soft, floor;
};

void upc_key_make(struct upc_key *k, const struct up_params *p, const char *tlsa,
    unsigned tab_gen);
int upc_key_eq(const struct upc_key *a, const struct upc_key *b);
void upc_conf(struct ev_loop *loop, long secs, long size, long per_dest);
int upc_on(void);
int upc_park(struct up *u, const struct upc_key *k, const char *sid);
struct up *upc_take(const struct upc_key *k);
void upc_flush(enum metrics_upc_drop why);
long upc_idle(void);

#endif
