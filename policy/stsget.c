/*
 * stsget.c - the MTA-STS policy that applies to a domain.  See stsget.h.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/addr.h"
#include "../lib/log.h"
#include "dns.h"
#include "fetch.h"
#include "stscache.h"
#include "stsget.h"
#include "stsredis.h"

#define T_A	1
#define T_TXT	16
#define T_AAAA	28
#define MAX_WAITERS 64
#define REFRESH_SCAN 300.0

struct inflight {			/* one fetch, shared by its waiters */
	struct inflight *next;
	char domain[STS_NAME_MAX];
	char id[STS_ID_MAX + 1];
	struct dns_q *qa, *qaaaa;
	int pending;
	struct sockaddr_storage addrs[8];
	int naddrs;
	struct fetch *fetch;
	struct stsget *waiters[MAX_WAITERS];
	int nwaiters;
	int lockfd;			/* the fetch lock (stscache_lock()), or -1 */
	ev_timer lockw;			/* another process holds it: try again */
	time_t wait_start;
	struct stsredis_q *rq;		/* the shared cache asked */
	int rlocked;			/* its fetch lock is ours */
	ev_timer rpoll;			/* another gateway fetches: ask again */
	time_t had_fetched;		/* what the local entry had at the start */
	time_t had_fail_until;
	int rbad_said;			/* a bad shared entry logged */
};

struct stsget {
	char domain[STS_NAME_MAX];
	stsget_cb *cb;
	void *arg;
	struct dns_q *qtxt;
	struct inflight *in;
	ev_timer kick;
	struct sts_result res;
};

static struct ev_loop *g_loop;
static struct stsget_conf g_conf;
static struct inflight *inflights;
static ev_timer scan_w;
static struct stsget_stats g_stats;

/* now - the wall clock (RFC 8461 times are wall-clock times) */
static time_t
now(void)
{
	return time(NULL);
}

/* deliver - hand the result over and free */
static void
deliver(struct stsget *g)
{
	g_stats.hits += g->cb && g->res.from_cache;	/* not the refresh timer's */
	if (g->cb)
		g->cb(g->arg, &g->res);
	dns_cancel(g->qtxt);
	free(g);
}

/* use_cached - the result is the cached policy, when one applies */
static void
use_cached(struct stsget *g, const struct sts_entry *e)
{
	if (sts_cache_applies(e, now())) {
		g->res.has_policy = 1;	/* mode none is a policy too */
		snprintf(g->res.id, sizeof(g->res.id), "%s", e->id);
		g->res.policy = e->policy;
		g->res.from_cache = 1;
	}
}

/* use_failure - the failure the result reports: the last fetch's, when
 * this lookup made none and the published policy is not the cached one */
static void
use_failure(struct stsget *g, const struct sts_entry *e, enum sts_txt txt,
    const char *id)
{
	enum rtype rtype = sts_cache_failure(e, txt, id, now());

	if (rtype != RTYPE_NONE) {
		g->res.rtype = rtype;
		snprintf(g->res.why, sizeof(g->res.why), "%s", e->fail_why);
	}
}

/* inflight_done - the fetch (or the lookups before it) ended */
static void
inflight_done(struct inflight *in, int ok, const char *body, size_t len,
    enum rtype rtype, const char *why)
{
	struct sts_entry *e = stscache_get(in->domain);
	struct sts_policy p;
	char pwhy[256];

	if (in->lockfd == -3) {			/* another process fetched it */
		ok = e != NULL && sts_cache_applies(e, now()) && (e->fetched >= in->wait_start
		    || strcmp(e->id, in->id) == 0);
		if (!ok && e) {
			rtype = e->fail_rtype;
			why = e->fail_why;
		}
		goto waiters;
	}
	if (ok && sts_policy_parse(body, len, &p, pwhy, sizeof(pwhy)) < 0) {
		ok = 0;
		rtype = RTYPE_STS_POLICY_INVALID;
		why = pwhy;
		msg_warn("mta-sts: policy of %s is invalid: %s", in->domain, pwhy);
	}
	if (ok) {
		if (e == NULL)
			e = stscache_add(in->domain);
		if (e) {
			sts_cache_fetched(e, in->id, &p, now());
			(void) stscache_save(e);
			msg_info("mta-sts: policy for %s fetched: id %s, mode %s, max_age %ld, "
			    "%d mx patterns", in->domain, in->id, sts_mode_str(p.mode),
			    p.max_age, p.nmx);
		}
	} else {
		if (e == NULL)
			e = stscache_add(in->domain);
		if (e) {
			/* Kept, on disk too: each session until the next fetch
			 * reports this failure, after a restart as well. */
			sts_cache_failed(e, now(), &g_conf.rules, rtype, why);
			(void) stscache_save(e);
		}
		msg_warn("mta-sts: no new policy for %s: %s", in->domain, why);
		g_stats.fetch_failures++;
	}
	if (in->lockfd >= 0)
		close(in->lockfd);		/* saved: the others may read it */
	if (e && stsredis_enabled()) {
		stsredis_put(e);		/* before the lock goes: in order */
		if (in->rlocked)
			stsredis_unlock(in->domain);
	}
waiters:
	for (int i = 0; i < in->nwaiters; i++) {
		struct stsget *g = in->waiters[i];

		g->in = NULL;
		if (ok) {
			use_cached(g, e);
			g->res.from_cache = 0;	/* just fetched */
		} else {
			use_cached(g, e);	/* the old one, if it still applies */
			g->res.rtype = e ? e->fail_rtype : rtype;
			snprintf(g->res.why, sizeof(g->res.why), "%s", e ? e->fail_why : why);
		}
		deliver(g);
	}
	/* unlink and free */
	for (struct inflight **pp = &inflights; *pp; pp = &(*pp)->next)
		if (*pp == in) {
			*pp = in->next;
			break;
		}
	free(in);
}

/* on_fetched - the HTTPS fetch finished */
static void
on_fetched(void *arg, int ok, const char *body, size_t len, enum rtype rtype,
    const char *why)
{
	struct inflight *in = arg;

	in->fetch = NULL;
	inflight_done(in, ok, body, len, rtype, why);
}

/* on_host - an address of mta-sts.<domain> */
static void
on_host(void *arg, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	struct inflight *in = arg;

	(void) why;
	in->pending--;
	if (u && sec != DNS_BOGUS && sec != DNS_INDETERMINATE && u->havedata)
		for (int i = 0; u->data[i] && in->naddrs < 8; i++)
			if (addr_from_rdata(&in->addrs[in->naddrs], u->qtype == T_A ? AF_INET
				: AF_INET6, u->data[i], (size_t) u->len[i], 0) == 0)
				in->naddrs++;
	if (u && u->qtype == T_A)
		in->qa = NULL;
	else
		in->qaaaa = NULL;
	if (in->pending > 0)
		return;
	if (in->naddrs == 0) {
		char w[STS_NAME_MAX + 64];

		snprintf(w, sizeof(w), "mta-sts.%s has no address", in->domain);
		inflight_done(in, 0, NULL, 0, RTYPE_STS_POLICY_FETCH_ERROR, w);
		return;
	}
	{
		char host[STS_NAME_MAX + 16];
		struct fetch_req req;

		snprintf(host, sizeof(host), "mta-sts.%s", in->domain);
		req.host = host;
		req.path = "/.well-known/mta-sts.txt";
		req.addrs = in->addrs;
		req.naddrs = in->naddrs;
		req.ca_file = g_conf.ca_file;
		req.timeout = g_conf.fetch_timeout;
		if ((in->fetch = fetch_start(&req, on_fetched, in)) == NULL)
			inflight_done(in, 0, NULL, 0, RTYPE_STS_POLICY_FETCH_ERROR,
			    "cannot start the HTTPS fetch");
	}
}

/* lookup_host - the fetch itself: mta-sts.<domain>'s addresses first */
static void
lookup_host(struct inflight *in)
{
	char host[STS_NAME_MAX + 16];

	snprintf(host, sizeof(host), "mta-sts.%s", in->domain);
	in->pending = 2;
	in->qa = dns_query(host, T_A, on_host, in);
	in->qaaaa = dns_query(host, T_AAAA, on_host, in);
}

/* on_lockw - is the other process's fetch over?  Then its disk entry, or
 * (nothing new there, or it took too long) a fetch of our own */
static void
on_lockw(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct inflight *in = w->data;
	time_t t = now();

	(void) revents;
	if ((in->lockfd = stscache_lock(in->domain)) == -2
	    && t - in->wait_start <= g_conf.fetch_timeout + 10)
		return;
	ev_timer_stop(loop, w);
	if (in->lockfd != -2 && stscache_reread(in->domain, in->wait_start, t)) {
		if (in->lockfd >= 0)
			close(in->lockfd);
		in->lockfd = -3;
		msg_info("mta-sts: policy for %s: another worker fetched it", in->domain);
		inflight_done(in, 1, NULL, 0, RTYPE_NONE, NULL);
		return;
	}
	if (in->lockfd == -2)
		in->lockfd = -1;		/* waited long enough: fetch */
	lookup_host(in);
}

/* local_fetch - the fetch, under the disk lock that the workers on the
 * cache dir share */
static void
local_fetch(struct inflight *in)
{
	in->lockfd = stscache_lock(in->domain);
	if (in->lockfd == -2) {
		/* Another worker fetches it: its entry, once saved. */
		in->wait_start = now();
		ev_timer_init(&in->lockw, on_lockw, 0.05, 0.05);
		in->lockw.data = in;
		ev_timer_start(g_loop, &in->lockw);
	} else {
		lookup_host(in);
	}
}

/* shared_enough - does the entry, with what the shared cache told us,
 * make the fetch needless: a policy for the published id fetched since
 * ours, or another gateway's failure, still holding? */
static int
shared_enough(const struct inflight *in, const struct sts_entry *e, time_t t)
{
	if (sts_cache_applies(e, t) && strcmp(e->id, in->id) == 0
	    && e->fetched > in->had_fetched)
		return 1;
	return e->fail_rtype != RTYPE_NONE && e->fail_until > t
	    && e->fail_until > in->had_fail_until;
}

static void on_rpoll(struct ev_loop *loop, ev_timer *w, int revents);

/* on_shared - the shared cache's entry for the domain, and its lock */
static void
on_shared(void *arg, int ok, const char *text, size_t len, int locked)
{
	struct inflight *in = arg;
	struct sts_entry *e = stscache_add(in->domain);
	time_t t = now();

	in->rq = NULL;
	if (!ok || e == NULL) {
		/* Redis is down (it says so): fetch as one gateway alone. */
		g_stats.redis_fallbacks++;
		local_fetch(in);
		return;
	}
	if (text) {
		char why[256];

		if (stscache_take_shared(e, text, len, t, why, sizeof(why)) < 0
		    && !in->rbad_said++)
			msg_warn("sts cache: redis entry for %s ignored: %s", in->domain, why);
	}
	if (shared_enough(in, e, t)) {
		if (locked)
			stsredis_unlock(in->domain);
		g_stats.redis_shared++;
		msg_info("mta-sts: policy for %s: another gateway fetched it", in->domain);
		in->lockfd = -3;
		inflight_done(in, 1, NULL, 0, RTYPE_NONE, NULL);
		return;
	}
	if (locked || t - in->wait_start > g_conf.fetch_timeout + 10) {
		in->rlocked = locked;		/* else waited long enough */
		lookup_host(in);
		return;
	}
	ev_timer_init(&in->rpoll, on_rpoll, 0.1, 0.);
	in->rpoll.data = in;
	ev_timer_start(g_loop, &in->rpoll);
}

/* shared_ask - ask the shared cache (and for its lock); -1: not there */
static int
shared_ask(struct inflight *in)
{
	if (!stsredis_enabled())
		return -1;
	if (in->wait_start == 0) {
		struct sts_entry *e = stscache_get(in->domain);

		in->wait_start = now();
		in->had_fetched = e && e->has_policy ? e->fetched : 0;
		in->had_fail_until = e ? e->fail_until : 0;
	}
	if ((in->rq = stsredis_check(in->domain, 1, on_shared, in)) == NULL) {
		g_stats.redis_fallbacks++;
		return -1;
	}
	return 0;
}

/* on_rpoll - another gateway holds the lock: has it written? */
static void
on_rpoll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct inflight *in = w->data;

	(void) loop;
	(void) revents;
	if (shared_ask(in) < 0)
		local_fetch(in);
}

/* start_fetch - join or start the fetch for g's domain; 0: joined */
static int
start_fetch(struct stsget *g, const char *id, int wait)
{
	struct inflight *in;
	char host[STS_NAME_MAX + 16];

	for (in = inflights; in; in = in->next)
		if (strcmp(in->domain, g->domain) == 0)
			break;
	if (in == NULL) {
		if ((in = calloc(1, sizeof(*in))) == NULL)
			return -1;
		snprintf(in->domain, sizeof(in->domain), "%s", g->domain);
		snprintf(in->id, sizeof(in->id), "%s", id);
		in->next = inflights;
		inflights = in;
		g_stats.fetches++;
		{
			struct sts_entry *e = stscache_add(g->domain);

			if (e)
				e->last_attempt = now();
		}
		(void) host;
		in->lockfd = -1;
		if (shared_ask(in) < 0)
			local_fetch(in);
	}
	if (!wait)
		return 1;
	if (in->nwaiters >= MAX_WAITERS)
		return -1;
	in->waiters[in->nwaiters++] = g;
	g->in = in;
	return 0;
}

/* on_txt - the _mta-sts TXT answer */
static void
on_txt(void *arg, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	struct stsget *g = arg;
	struct sts_entry *e = stscache_get(g->domain);
	enum sts_txt txt = STS_TXT_NONE;
	char id[STS_ID_MAX + 1] = "";
	const char *twhy = NULL;
	enum sts_step step;

	g->qtxt = NULL;
	g->res.txt_ttl = u && sec != DNS_BOGUS && sec != DNS_INDETERMINATE ? u->ttl : 0;
	if (sec == DNS_BOGUS || sec == DNS_INDETERMINATE) {
		txt = STS_TXT_ERROR;
		(void) why;
	} else if (u && u->havedata) {
		const char *recs[16];
		size_t lens[16];
		char flat[16][512];
		int n = 0;

		/* Join each record's character strings. */
		for (int i = 0; u->data[i] && n < 16; i++) {
			const unsigned char *d = (const unsigned char *) u->data[i];
			size_t off = 0, w = 0;

			while (off < (size_t) u->len[i]) {
				size_t sl = d[off++], take;

				if (sl > (size_t) u->len[i] - off)
					break;		/* malformed: keep what came before */
				take = sl < sizeof(flat[n]) - 1 - w ? sl : sizeof(flat[n]) - 1 - w;
				memcpy(flat[n] + w, d + off, take);
				w += take;
				off += sl;
			}
			recs[n] = flat[n];
			lens[n] = w;
			n++;
		}
		if (sts_txt_parse(recs, lens, n, id, &twhy) == 1)
			txt = STS_TXT_FOUND;
		else if (twhy && strcmp(twhy, "no v=STSv1 TXT record") != 0)
			msg_info("mta-sts: _mta-sts.%s: %s: no policy discovered", g->domain, twhy);
	}
	step = sts_cache_step(e, txt, id, now(), &g_conf.rules);
	switch (step) {
	case STS_USE:
		use_cached(g, e);
		break;
	case STS_EXTEND:{
			time_t before = e->expires;
			long worth = e->policy.max_age / 10 > 3600 ? e->policy.max_age / 10 : 3600;

			sts_cache_extend(e, now());
			/* On disk only when it matters: not a write per message. */
			if (e->expires - before >= worth)
				(void) stscache_save(e);
			use_cached(g, e);
			break;
		}
	case STS_NONE:
		break;
	case STS_DROP:
		msg_info("mta-sts: %s withdrew its policy (mode none, TXT gone)", g->domain);
		stscache_drop(g->domain);
		e = NULL;
		break;
	case STS_FETCH:
		if (sts_cache_applies(e, now()) && strcmp(e->id, id) == 0) {
			/* proactive refresh: the cached copy serves meanwhile */
			use_cached(g, e);
			(void) start_fetch(g, id, 0);
			break;
		}
		if (start_fetch(g, id, 1) == 0)
			return;			/* delivered when the fetch ends */
		use_cached(g, e);
		break;
	}
	/* No fetch for this message: inside sts_negative_ttl it is made
	 * without the policy, as the one whose fetch failed was. */
	use_failure(g, e, txt, id);
	deliver(g);
}

/* on_kick - a start-up failure, reported from the loop */
static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) loop;
	(void) revents;
	deliver(w->data);
}

/* stsget_start - the policy for a domain */
struct stsget *
stsget_start(const char *domain, stsget_cb *cb, void *arg)
{
	struct stsget *g = calloc(1, sizeof(*g));
	char name[STS_NAME_MAX + 16];

	if (g == NULL)
		return NULL;
	snprintf(g->domain, sizeof(g->domain), "%s", domain);
	g->res.txt_ttl = 0;			/* no answer: do not reuse */
	g->cb = cb;
	g->arg = arg;
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	if ((g->qtxt = dns_query(name, T_TXT, on_txt, g)) == NULL) {
		use_cached(g, stscache_get(domain));
		ev_timer_init(&g->kick, on_kick, 0., 0.);
		g->kick.data = g;
		ev_timer_start(g_loop, &g->kick);
	}
	return g;
}

/* stsget_stats - what the lookups did since start-up */
const struct stsget_stats *
stsget_stats(void)
{
	return &g_stats;
}

/* stsget_cancel - the asker went away */
void
stsget_cancel(struct stsget *g)
{
	if (g == NULL)
		return;
	if (g->in) {
		struct inflight *in = g->in;

		for (int i = 0; i < in->nwaiters; i++)
			if (in->waiters[i] == g) {
				in->waiters[i] = in->waiters[--in->nwaiters];
				break;
			}
	}
	g->cb = NULL;
	if (g->qtxt) {
		dns_cancel(g->qtxt);
		g->qtxt = NULL;
	}
	if (ev_is_active(&g->kick))
		ev_timer_stop(g_loop, &g->kick);
	free(g);
}

/* scan_one - refresh a policy nearing max_age, even without mail */
static void
scan_one(struct sts_entry *e, void *arg)
{
	time_t t = *(time_t *) arg;

	if (e->has_policy && e->fetched + e->policy.max_age - t <= g_conf.rules.refresh_before
	    && t < e->expires && t >= e->fail_until)
		(void) stsget_start(e->domain, NULL, NULL);
}

/* on_scan - the refresh timer */
static void
on_scan(struct ev_loop *loop, ev_timer *w, int revents)
{
	time_t t = now();

	(void) loop;
	(void) w;
	(void) revents;
	stscache_walk(scan_one, &t);
}

/* own - g_conf keeps copies, never the caller's strings */
static void
own(const struct stsget_conf *c)
{
	static char *dir, *ca;

	free(dir);
	free(ca);
	dir = strdup(c->cache_dir ? c->cache_dir : "");
	ca = strdup(c->ca_file ? c->ca_file : "");
	g_conf = *c;
	g_conf.cache_dir = dir ? dir : "";
	g_conf.ca_file = ca ? ca : "";
	/* read by stsredis_init() alone, which keeps copies */
	g_conf.sts_cache = NULL;
	g_conf.redis_password = NULL;
	g_conf.gateway_id = NULL;
}

/* stsget_reconfigure - new settings (SIGHUP); the cache stays */
void
stsget_reconfigure(const struct stsget_conf *c)
{
	own(c);
}

/* stsget_init - cache and refresh timer */
int
stsget_init(struct ev_loop *loop, const struct stsget_conf *c, char *err,
    size_t errlen)
{
	g_loop = loop;
	own(c);
	if (stscache_init(g_conf.cache_dir, now(), err, errlen) < 0)
		return -1;
	{
		struct stsredis_conf rc = {c->sts_cache, c->redis_password, c->redis_timeout,
			c->fetch_timeout + 10, c->gateway_id};

		if (stsredis_init(loop, &rc, err, errlen) < 0)
			return -1;
	}
	if (fetch_init(loop, err, errlen) < 0)
		return -1;
	ev_timer_init(&scan_w, on_scan, REFRESH_SCAN, REFRESH_SCAN);
	ev_timer_start(loop, &scan_w);
	ev_unref(loop);
	return 0;
}

/* stsget_conf_of - the MTA-STS settings of a configuration */
void
stsget_conf_of(const struct config *cfg, struct stsget_conf *c)
{
	c->cache_dir = cfg->sts_cache_dir;
	c->sts_cache = cfg->sts_cache;
	c->redis_password = NULL;		/* the caller reads the file */
	c->redis_timeout = cfg->sts_cache_redis_timeout;
	c->gateway_id = cfg->gateway_id;
	c->ca_file = cfg->tls_ca_file;
	c->fetch_timeout = cfg->sts_fetch_timeout;
	c->rules.refresh_before = cfg->sts_refresh_before;
	c->rules.negative_ttl = cfg->sts_negative_ttl;
	c->rules.min_interval = 60;
}
