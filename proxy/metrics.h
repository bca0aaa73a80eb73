/*
 * metrics.h - mxtlsd's counters, their Prometheus text, and the head of
 * an HTTP request for them; pure but for the one counter instance.
 *
 * SYNOPSIS
 *	extern struct metrics metrics;
 *
 *	void metrics_session(void);
 *	void metrics_attempt(enum ptype p, enum rtype r, enum raction a);
 *	void metrics_journal_lost(void);
 *	void metrics_lookup(double ms);
 *	void metrics_smap_answer(int kind);
 *	void metrics_early(enum metrics_early k);
 *	void metrics_upc_dropped(enum metrics_upc_drop why);
 *	const char *metrics_upc_drop_str(enum metrics_upc_drop why);
 *
 *	int metrics_render(const struct metrics *m,
 *		const struct metrics_gauges *g, struct buf *out);
 *	int metrics_label_value(struct buf *out, const char *s);
 *	int metrics_req_parse(const char *buf, size_t len,
 *		struct metrics_req *r);
 *
 * DESCRIPTION
 *	The counters are plain integers in one struct: mxtlsd is one
 *	libev loop, nothing else touches them.  Each hook is one call where
 *	the thing happens: metrics_session() where a session is made,
 *	metrics_attempt() where an attempt record is written
 *	(sess_journal(): every journal record passes there, so the records
 *	written are those minus what metrics_journal_lost() counted there),
 *	metrics_lookup() where a plan is logged (its lookups took ms
 *	milliseconds), metrics_smap_answer() where the socketmap answers
 *	(kind: SMAP_R_OK, SMAP_R_NOTFOUND, SMAP_R_TEMP, SMAP_R_PERM of
 *	smap.h; anything else counts as `bad': a request that got no answer
 *	but a closed connection).  The arrays are sized by the enums of
 *	report/rtype.h, so a new result type, policy type or action shows
 *	up without a change here.
 *
 *	What is a level rather than a count (sessions open now, MTA-STS
 *	cache entries), and the counts other modules keep (policy/stsget.h,
 *	proxy.journal_errors), are read at scrape time into a struct
 *	metrics_gauges by the server (metrics_srv.h).
 *
 *	metrics_sum() adds one worker's counters to a total (workers = N:
 *	every field).  metrics_gauges_sum() adds one worker's gauges: the
 *	counts and cache sizes summed, sts_entries the largest (each worker
 *	caches the same domains), dns_watch or-ed (mxtls_sts_redis_up is 1
 *	when every process with a Redis is connected); sessions_open, workers
 *	and worker_restarts are left alone (they are totals already).
 *
 *	metrics_render() appends the Prometheus text exposition format,
 *	version 0.0.4, of both to out: `# HELP', `# TYPE', one line per
 *	series, names prefixed `mxtls_'.  Every combination of label
 *	words is written, zeros too (a series that appears late breaks
 *	rate()); RTYPE_NONE, which has no word, is written as result="none"
 *	only when it is not zero.  The histogram's buckets are cumulative,
 *	with le="+Inf" equal to _count; _sum is in seconds, exact to the
 *	microsecond.  metrics_label_value() appends s as a label value,
 *	escaped as the format requires (backslash, double quote and line
 *	feed as \\, \" and \n).  Both return 0, or -1 when memory ran out.
 *
 *	metrics_req_parse() reads the head of an HTTP/1.0 or 1.1 request
 *	in buf[0..len): the request line `METHOD SP TARGET SP HTTP/1.x',
 *	header lines, an empty line; lines end in CRLF or LF.  It returns
 *	0 while the head is not complete and could still be (read more,
 *	then call again with all of it), or 1 with r->status: 200 (GET or
 *	HEAD of /metrics, a query string allowed), 400
 *	(a malformed line, a NUL or other control octet, a bare CR), 404
 *	(another path), 405 (another method), 414 (a request line over
 *	METRICS_LINE_MAX), 431 (a head of METRICS_HEAD_MAX octets without
 *	its end, or over METRICS_HEADERS_MAX header lines) or 505 (another
 *	version).  It stops at the first thing that decides the answer, so
 *	that a hostile head is refused before it ends; r->used is where the
 *	head ended (for 200: what was read of the request).  r->head is
 *	set once a request line of method HEAD was read, whatever the
 *	status: a response to HEAD has no body.
 *
 * DIAGNOSTICS
 *	Nothing here reads beyond len, logs or reads a clock.
 */
#ifndef MXTLS_METRICS_H
#define MXTLS_METRICS_H

#include <stddef.h>

#include "../lib/buf.h"
#include "../report/rtype.h"

#define METRICS_HEAD_MAX	8192	/* octets of a request head */
#define METRICS_LINE_MAX	2048	/* octets of the request line */
#define METRICS_HEADERS_MAX	64	/* header lines */
#define METRICS_NBUCKETS	15	/* lookup latency, the last is +Inf */
#define METRICS_SMAP_KINDS	5	/* bad, ok, notfound, temp, perm */

/* early upstream (sess_route.c): started, then at the first RCPT the
 * hint was used or wrong, or the early upstream failed before it */
enum metrics_early { METRICS_EARLY_STARTED, METRICS_EARLY_USED, METRICS_EARLY_WRONG,
	METRICS_EARLY_FAILED, METRICS_EARLY_KINDS };

/* the upstream connection cache (upcache.h): why an entry was closed or
 * dropped (closed: the MX hung up; data: it sent something, a 421 too;
 * expired: upstream_cache_time; evicted: the size limits; rset: a
 * session's RSET on it was refused; dead: it failed at that RSET;
 * reload: SIGHUP; drain: SIGTERM) */
enum metrics_upc_drop { METRICS_UPC_CLOSED, METRICS_UPC_DATA, METRICS_UPC_EXPIRED,
	METRICS_UPC_EVICTED, METRICS_UPC_RSET, METRICS_UPC_DEAD, METRICS_UPC_RELOAD,
	METRICS_UPC_DRAIN, METRICS_UPC_DROPS };

struct metrics {
	unsigned long long sessions;
	unsigned long long attempts[PTYPE_COUNT][RTYPE_COUNT];
	unsigned long long actions[RACTION_COUNT][RTYPE_COUNT];
	unsigned long long records;		/* attempt records made */
	unsigned long long journal_lost;	/* ... not written */
	unsigned long long lookup_bucket[METRICS_NBUCKETS];	/* not cumulative */
	unsigned long long lookup_count;
	unsigned long long lookup_sum_us;
	unsigned long long smap[METRICS_SMAP_KINDS];
	unsigned long long early[METRICS_EARLY_KINDS];
	unsigned long long upc_hits;		/* cached upstreams taken (RSET ok) */
	unsigned long long upc_misses;		/* ... none fitted: a new one */
	unsigned long long upc_dropped[METRICS_UPC_DROPS];
	unsigned long long upc_idle;		/* a level: entries now (upcache.c) */
};

struct metrics_gauges {			/* read at scrape time */
	long sessions_open;		/* in all workers */
	long workers;			/* running now */
	unsigned long long worker_restarts;
	unsigned long long sts_entries;
	unsigned long long sts_hits;
	unsigned long long sts_fetches;
	unsigned long long sts_fetch_failures;
	unsigned long long sts_redis;		/* processes with sts_cache = redis */
	unsigned long long sts_redis_up;	/* ... connected to it now */
	unsigned long long sts_redis_shared, sts_redis_fallbacks, sts_redis_errors;
	unsigned long long journal_errors;	/* appends and syncs */
	int dns_watch;			/* the DNS watcher reads its queue */
	unsigned long long dns_packets, dns_learned, dns_skipped, dns_bad;
	unsigned long long dns_overruns, dns_verdict_errors;
	unsigned long long hints_entries, hints_learned, hints_evicted, hints_expired;
	unsigned long long hints_lookups, hints_hits, hints_ambiguous;
	/* the TLS session cache towards MX hosts (tls_scache.h) */
	unsigned long long tls_cache_entries, tls_cache_hits, tls_cache_misses;
	unsigned long long tls_cache_stored, tls_cache_evicted, tls_cache_expired;
	unsigned long long tls_cache_dropped, tls_resumed;
};

struct metrics_req {
	int status;			/* 200, 400, 404, 405, 414, 431, 505 */
	int head;			/* HEAD: no body, whatever the status */
	size_t used;
};

extern struct metrics metrics;
extern const double metrics_bucket_ms[METRICS_NBUCKETS - 1];

/* metrics_session - a session was made */
static inline void
metrics_session(void)
{
	metrics.sessions++;
}

/* metrics_attempt - an attempt record: its policy type, result, action */
static inline void
metrics_attempt(enum ptype p, enum rtype r, enum raction a)
{
	metrics.records++;
	if ((unsigned) r >= RTYPE_COUNT)
		r = RTYPE_NONE;
	if ((unsigned) p < PTYPE_COUNT)
		metrics.attempts[p][r]++;
	if ((unsigned) a < RACTION_COUNT)
		metrics.actions[a][r]++;
}

/* metrics_early - early upstream: what became of a hint */
static inline void
metrics_early(enum metrics_early k)
{
	if ((unsigned) k < METRICS_EARLY_KINDS)
		metrics.early[k]++;
}

/* metrics_upc_dropped - a cached upstream was closed or dropped */
static inline void
metrics_upc_dropped(enum metrics_upc_drop why)
{
	if ((unsigned) why < METRICS_UPC_DROPS)
		metrics.upc_dropped[why]++;
}

/* metrics_journal_lost - an attempt record could not be written */
static inline void
metrics_journal_lost(void)
{
	metrics.journal_lost++;
}

/* metrics_lookup - the policy lookups of a domain took ms milliseconds */
static inline void
metrics_lookup(double ms)
{
	int i = 0;

	if (!(ms >= 0.))
		ms = 0.;			/* NaN, a clock step */
	while (i < METRICS_NBUCKETS - 1 && ms > metrics_bucket_ms[i])
		i++;
	metrics.lookup_bucket[i]++;
	metrics.lookup_count++;
	metrics.lookup_sum_us += (unsigned long long) (ms * 1000. + .5);
}

/* metrics_smap_answer - the socketmap answered (SMAP_R_*; else bad) */
static inline void
metrics_smap_answer(int kind)
{
	metrics.smap[kind >= 1 && kind < METRICS_SMAP_KINDS ? kind : 0]++;
}

const char *metrics_upc_drop_str(enum metrics_upc_drop why);
void metrics_sum(struct metrics *into, const struct metrics *add);
void metrics_gauges_sum(struct metrics_gauges *into, const struct metrics_gauges *add);
int metrics_render(const struct metrics *m, const struct metrics_gauges *g,
    struct buf *out);
int metrics_label_value(struct buf *out, const char *s);
int metrics_req_parse(const char *buf, size_t len, struct metrics_req *r);

#endif
