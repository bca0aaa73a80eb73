/*
 * metrics.c - the counters, their Prometheus text, the head of an HTTP
 * request for them.  See metrics.h.
 */
#include <stddef.h>
#include <string.h>

#include "metrics.h"

struct metrics metrics;

/* The upper bounds of the lookup latency buckets, in ms and as written. */
const double metrics_bucket_ms[METRICS_NBUCKETS - 1] = {
	1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000
};
static const char *const bucket_le[METRICS_NBUCKETS] = {
	"0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
	"2.5", "5", "10", "30", "60", "+Inf"
};
static const char *const smap_word[METRICS_SMAP_KINDS] = {
	"bad", "ok", "notfound", "temp", "perm"
};

static int family(struct buf *out, const char *name, const char *type,
    const char *help);
static int labelled(struct buf *out, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2, unsigned long long v);
static int render_attempts(const struct metrics *m, struct buf *out);
static int render_actions(const struct metrics *m, struct buf *out);
static int render_lookup(const struct metrics *m, struct buf *out);
static int render_rest(const struct metrics *m, const struct metrics_gauges *g,
    struct buf *out);
static int render_upc(const struct metrics *m, struct buf *out);
static int req_line(const char *p, size_t n, struct metrics_req *r);
static int bad_octets(const char *p, size_t n);

/* family - the HELP and TYPE lines of a metric */
static int
family(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* metrics_label_value - a label value, escaped as the format requires */
int
metrics_label_value(struct buf *out, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '\\' ? "\\\\" : *s == '"' ? "\\\""
		    : *s == '\n' ? "\\n" : NULL;

		if (e ? buf_puts(out, e) : buf_append(out, s, 1))
			return -1;
	}
	return 0;
}

/* labelled - one series with one or two labels (k2 NULL: one) */
static int
labelled(struct buf *out, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, unsigned long long v)
{
	if (buf_printf(out, "%s{%s=\"", name, k1) < 0 || metrics_label_value(out, v1) < 0)
		return -1;
	if (k2 && (buf_printf(out, "\",%s=\"", k2) < 0 || metrics_label_value(out, v2) < 0))
		return -1;
	return buf_printf(out, "\"} %llu\n", v);
}

/* rtype_word - a result type's word; "none" for RTYPE_NONE */
static const char *
rtype_word(int r)
{
	const char *w = rtype_str((enum rtype) r);

	return w ? w : "none";
}

/* render_attempts - upstream attempts by policy type and result */
static int
render_attempts(const struct metrics *m, struct buf *out)
{
	const char *n = "mxtls_upstream_attempts_total";

	if (family(out, n, "counter", "Upstream attempts journaled, by RFC 8460 "
		"policy type and result type.") < 0)
		return -1;
	for (int p = 0; p < PTYPE_COUNT; p++)
		for (int r = 0; r < RTYPE_COUNT; r++) {
			if (r == RTYPE_NONE && m->attempts[p][r] == 0)
				continue;
			if (labelled(out, n, "policy_type", ptype_str((enum ptype) p),
				"result", rtype_word(r), m->attempts[p][r]) < 0)
				return -1;
		}
	return 0;
}

/* render_actions - what mxtlsd did with the attempts, by result */
static int
render_actions(const struct metrics *m, struct buf *out)
{
	const char *n = "mxtls_attempt_actions_total";

	if (family(out, n, "counter", "Upstream attempts journaled, by what mxtlsd "
		"did (the journal's action) and result type.") < 0)
		return -1;
	for (int a = 0; a < RACTION_COUNT; a++)
		for (int r = 0; r < RTYPE_COUNT; r++) {
			const char *w = raction_str((enum raction) a);

			if (r == RTYPE_NONE && m->actions[a][r] == 0)
				continue;
			if (labelled(out, n, "action", w ? w : "unknown", "result",
				rtype_word(r), m->actions[a][r]) < 0)
				return -1;
		}
	return 0;
}

/* render_lookup - the policy lookup latency histogram */
static int
render_lookup(const struct metrics *m, struct buf *out)
{
	const char *n = "mxtls_policy_lookup_seconds";
	unsigned long long cum = 0;

	if (family(out, n, "histogram", "Time the policy lookups of a domain took "
		"(DNS, DANE, MTA-STS), per plan.") < 0)
		return -1;
	for (int i = 0; i < METRICS_NBUCKETS; i++) {
		cum += m->lookup_bucket[i];
		if (buf_printf(out, "%s_bucket{le=\"%s\"} %llu\n", n, bucket_le[i], cum) < 0)
			return -1;
	}
	return buf_printf(out, "%s_sum %llu.%06llu\n%s_count %llu\n", n,
	    m->lookup_sum_us / 1000000, m->lookup_sum_us % 1000000, n, m->lookup_count);
}

/* scalar - one family of one unlabelled series */
static int
scalar(struct buf *out, const char *name, const char *type, const char *help,
    unsigned long long v)
{
	if (family(out, name, type, help) < 0)
		return -1;
	return buf_printf(out, "%s %llu\n", name, v);
}

/* render_rest - the MTA-STS cache, the journal, the socketmap */
static int
render_rest(const struct metrics *m, const struct metrics_gauges *g, struct buf *out)
{
	const char *n = "mxtls_socketmap_queries_total";

	if (scalar(out, "mxtls_tls_session_cache_entries", "gauge",
		"TLS sessions to MX hosts held for resumption.", g->tls_cache_entries) < 0
	    || scalar(out, "mxtls_tls_session_cache_hits_total", "counter",
		"TLS handshakes to MX hosts that offered a cached session.",
		g->tls_cache_hits) < 0
	    || scalar(out, "mxtls_tls_session_cache_misses_total", "counter",
		"... that had none to offer (none for the key, or expired).",
		g->tls_cache_misses) < 0
	    || scalar(out, "mxtls_tls_session_cache_stored_total", "counter",
		"TLS sessions stored after a verdict their key promises.",
		g->tls_cache_stored) < 0
	    || scalar(out, "mxtls_tls_session_cache_evicted_total", "counter",
		"... evicted at tls_session_cache_size.", g->tls_cache_evicted) < 0
	    || scalar(out, "mxtls_tls_session_cache_expired_total", "counter",
		"... removed past their DNS TTL or session lifetime.", g->tls_cache_expired) < 0
	    || scalar(out, "mxtls_tls_session_cache_dropped_total", "counter",
		"... dropped after a failed handshake or another verdict.",
		g->tls_cache_dropped) < 0
	    || scalar(out, "mxtls_tls_resumed_total", "counter",
		"TLS handshakes to MX hosts that resumed a cached session.", g->tls_resumed) < 0
	    || scalar(out, "mxtls_sts_cache_entries", "gauge",
		"MTA-STS cache entries (domains) held in memory.", g->sts_entries) < 0
	    || scalar(out, "mxtls_sts_cache_hits_total", "counter",
		"MTA-STS lookups answered with a cached policy.", g->sts_hits) < 0
	    || scalar(out, "mxtls_sts_fetches_total", "counter",
		"MTA-STS policy fetches started.", g->sts_fetches) < 0
	    || scalar(out, "mxtls_sts_fetch_failures_total", "counter",
		"MTA-STS policy fetches that failed (no address, HTTPS, invalid).",
		g->sts_fetch_failures) < 0
	    || scalar(out, "mxtls_sts_redis_up", "gauge",
		"1 when the shared MTA-STS cache (sts_cache = redis...) is connected.",
		g->sts_redis && g->sts_redis_up == g->sts_redis) < 0
	    || scalar(out, "mxtls_sts_redis_shared_total", "counter",
		"MTA-STS fetches saved: another gateway's entry in Redis used.",
		g->sts_redis_shared) < 0
	    || scalar(out, "mxtls_sts_redis_fallbacks_total", "counter",
		"MTA-STS fetch decisions made without Redis (down or too slow).",
		g->sts_redis_fallbacks) < 0
	    || scalar(out, "mxtls_sts_redis_errors_total", "counter",
		"Redis connections lost, refused, or too slow to answer.",
		g->sts_redis_errors) < 0
	    || scalar(out, "mxtls_journal_records_total", "counter",
		"Attempt records written to the journal.",
		m->records - m->journal_lost) < 0
	    || scalar(out, "mxtls_journal_errors_total", "counter",
		"Journal writes and syncs that failed.", g->journal_errors) < 0
	    || family(out, n, "counter", "Socketmap queries, by answer (bad: "
		"closed without one).") < 0)
		return -1;
	for (int k = 0; k < METRICS_SMAP_KINDS; k++)
		if (labelled(out, n, "answer", smap_word[k], NULL, NULL, m->smap[k]) < 0)
			return -1;
	return 0;
}

/* render_watch - the DNS watcher, its hints, early upstream */
static int
render_watch(const struct metrics *m, const struct metrics_gauges *g, struct buf *out)
{
	static const char *const early_word[METRICS_EARLY_KINDS] = {
		"started", "used", "wrong", "failed"
	};
	const char *n = "mxtls_dns_watch_packets_total", *e = "mxtls_early_upstream_total";

	if (scalar(out, "mxtls_dns_watch_up", "gauge", "1 when the DNS watcher reads its "
		"NFQUEUE (dns_watch_queue).", (unsigned long long) (g->dns_watch != 0)) < 0
	    || family(out, n, "counter", "DNS answers read from the queue, by what became of "
		"them (each was accepted unchanged first).") < 0
	    || labelled(out, n, "result", "learned", NULL, NULL, g->dns_learned) < 0
	    || labelled(out, n, "result", "skipped", NULL, NULL, g->dns_skipped) < 0
	    || labelled(out, n, "result", "bad", NULL, NULL, g->dns_bad) < 0
	    || scalar(out, "mxtls_dns_watch_overruns_total", "counter", "Times the queue's "
		"socket overflowed (the kernel let those packets through unread).",
		g->dns_overruns) < 0
	    || scalar(out, "mxtls_dns_watch_verdict_errors_total", "counter",
		"Verdicts that could not be sent.", g->dns_verdict_errors) < 0
	    || scalar(out, "mxtls_hints_entries", "gauge", "Facts the DNS watcher holds "
		"(MX, CNAME, A, AAAA, no-MX), within their TTLs.", g->hints_entries) < 0
	    || scalar(out, "mxtls_hints_learned_total", "counter", "Facts learnt.",
		g->hints_learned) < 0
	    || scalar(out, "mxtls_hints_evicted_total", "counter", "Facts evicted at the cap.",
		g->hints_evicted) < 0
	    || scalar(out, "mxtls_hints_expired_total", "counter", "Facts removed past their TTL.",
		g->hints_expired) < 0
	    || scalar(out, "mxtls_hints_lookups_total", "counter", "Sessions that asked the "
		"watcher which domain their destination serves.", g->hints_lookups) < 0
	    || scalar(out, "mxtls_hints_hits_total", "counter", "... and got a domain.",
		g->hints_hits) < 0
	    || scalar(out, "mxtls_hints_ambiguous_total", "counter", "... and got several.",
		g->hints_ambiguous) < 0
	    || family(out, e, "counter", "Early upstream: started on a hint, then at the "
		"first RCPT the hint used or wrong, or the early upstream failed before it.") < 0)
		return -1;
	for (int k = 0; k < METRICS_EARLY_KINDS; k++)
		if (labelled(out, e, "outcome", early_word[k], NULL, NULL, m->early[k]) < 0)
			return -1;
	return 0;
}

/* metrics_upc_drop_str - a drop reason's label word */
const char *
metrics_upc_drop_str(enum metrics_upc_drop why)
{
	static const char *const words[METRICS_UPC_DROPS] = {
		"closed", "data", "expired", "evicted", "rset", "dead", "reload", "drain"
	};

	return (unsigned) why < METRICS_UPC_DROPS ? words[why] : "?";
}

/* render_upc - the upstream connection cache */
static int
render_upc(const struct metrics *m, struct buf *out)
{
	const char *n = "mxtls_upstream_cache_dropped_total";

	if (scalar(out, "mxtls_upstream_cache_idle", "gauge", "Idle upstream connections "
		"held for later sessions (upstream_cache_time).", m->upc_idle) < 0
	    || scalar(out, "mxtls_upstream_cache_hits_total", "counter", "Sessions that "
		"took a cached upstream connection (its RSET accepted).", m->upc_hits) < 0
	    || scalar(out, "mxtls_upstream_cache_misses_total", "counter", "... that "
		"found none fitting and connected afresh.", m->upc_misses) < 0
	    || family(out, n, "counter", "Cached upstream connections closed or dropped, "
		"by reason.") < 0)
		return -1;
	for (int k = 0; k < METRICS_UPC_DROPS; k++)
		if (labelled(out, n, "reason", metrics_upc_drop_str((enum metrics_upc_drop) k),
		    NULL, NULL, m->upc_dropped[k]) < 0)
			return -1;
	return 0;
}

/* metrics_sum - add one worker's counters to a total */
void
metrics_sum(struct metrics *into, const struct metrics *add)
{
	unsigned long long *d = (unsigned long long *) into;
	const unsigned long long *a = (const unsigned long long *) add;

	_Static_assert(sizeof(*into) % sizeof(*d) == 0, "counters only");
	for (size_t i = 0; i < sizeof(*into) / sizeof(*d); i++)
		d[i] += a[i];
}

/* metrics_gauges_sum - add one worker's gauges (its caches, its counts) */
void
metrics_gauges_sum(struct metrics_gauges *into, const struct metrics_gauges *add)
{
#define G(f) offsetof(struct metrics_gauges, f)
	/* the gauges that add up over the workers (the fields, named once) */
	static const size_t summed[] = {G(sts_hits), G(sts_fetches),
		G(sts_fetch_failures), G(sts_redis), G(sts_redis_up), G(sts_redis_shared),
		G(sts_redis_fallbacks), G(sts_redis_errors), G(journal_errors), G(dns_packets),
		G(dns_learned), G(dns_skipped), G(dns_bad), G(dns_overruns),
		G(dns_verdict_errors), G(hints_entries), G(hints_learned),
		G(hints_evicted), G(hints_expired), G(hints_lookups),
		G(hints_hits), G(hints_ambiguous), G(tls_cache_entries),
		G(tls_cache_hits), G(tls_cache_misses), G(tls_cache_stored),
		G(tls_cache_evicted), G(tls_cache_expired), G(tls_cache_dropped),
		G(tls_resumed)};
#undef G

	for (size_t i = 0; i < sizeof(summed) / sizeof(summed[0]); i++)
		*(unsigned long long *) (void *) ((char *) into + summed[i])
		    += *(const unsigned long long *) (const void *) ((const char *) add
		    + summed[i]);
	/* every worker caches the same domains' policies: the largest */
	if (add->sts_entries > into->sts_entries)
		into->sts_entries = add->sts_entries;
	into->dns_watch |= add->dns_watch;
}

/* metrics_render - the exposition text of the counters and gauges */
int
metrics_render(const struct metrics *m, const struct metrics_gauges *g,
    struct buf *out)
{
	if (scalar(out, "mxtls_sessions_open", "gauge", "Sessions with the old MTA open now.",
		(unsigned long long) (g->sessions_open > 0 ? g->sessions_open : 0)) < 0
	    || scalar(out, "mxtls_sessions_total", "counter",
		"Sessions with the old MTA accepted.", m->sessions) < 0
	    || render_attempts(m, out) < 0 || render_actions(m, out) < 0
	    || render_lookup(m, out) < 0 || render_watch(m, g, out) < 0
	    || render_upc(m, out) < 0 || render_rest(m, g, out) < 0)
		return -1;
	if (scalar(out, "mxtls_workers", "gauge", "Worker processes running now "
		"(workers = N; 1 for one process).", (unsigned long long) g->workers) < 0
	    || scalar(out, "mxtls_worker_restarts_total", "counter",
		"Workers the parent started again after one died.", g->worker_restarts) < 0)
		return -1;
	return 0;
}

/* bad_octets - a NUL, a control octet or a bare CR in a line (a CR at
 * its end is the CRLF's, or its LF is still to come) */
static int
bad_octets(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) p[i];

		if (c == '\r' && i + 1 == n)
			continue;		/* CRLF, or its LF is still to come */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 1;
	}
	return 0;
}

/* req_line - METHOD SP TARGET SP HTTP/1.x: the status it decides */
static int
req_line(const char *p, size_t n, struct metrics_req *r)
{
	const char *sp1 = memchr(p, ' ', n), *sp2, *t, *v;
	size_t ml, tl, vl, pl;

	if (n && p[n - 1] == '\r')
		n--;
	if (sp1 == NULL || sp1 == p || (sp2 = memchr(sp1 + 1, ' ', n - (size_t) (sp1 + 1 - p)))
	    == NULL || sp2 == sp1 + 1)
		return 400;
	ml = (size_t) (sp1 - p);
	t = sp1 + 1;
	tl = (size_t) (sp2 - t);
	v = sp2 + 1;
	vl = n - (size_t) (v - p);
	for (size_t i = 0; i < ml; i++)
		if (p[i] < 'A' || p[i] > 'Z')
			return 400;
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char) t[i] <= 0x20 || (unsigned char) t[i] >= 0x7f)
			return 400;
	if (t[0] != '/')
		return 400;
	if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.'
	    || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return 505;
	if (!(ml == 3 && memcmp(p, "GET", 3) == 0) && !(ml == 4 && memcmp(p, "HEAD", 4) == 0))
		return 405;
	r->head = ml == 4;
	for (pl = 0; pl < tl && t[pl] != '?'; pl++)
		;
	return pl == 8 && memcmp(t, "/metrics", 8) == 0 ? 200 : 404;
}

/* header_ok - NAME: value, NAME a token; no folded continuation */
static int
header_ok(const char *p, size_t n)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	size_t i;

	for (i = 0; i < n && p[i] != ':'; i++) {
		unsigned char c = (unsigned char) p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
			|| (c && strchr(tchar, c))))
			return 0;
	}
	return i > 0 && i < n;
}

/* done - the head is decided: status, and how far it was read */
static int
done(struct metrics_req *r, int status, size_t used)
{
	r->status = status;
	r->used = used;
	return 1;
}

/* metrics_req_parse - the head of a request, as far as it came */
int
metrics_req_parse(const char *buf, size_t len, struct metrics_req *r)
{
	size_t off = 0;
	int line = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		const char *lf = memchr(buf + off, '\n', len - off);
		size_t end = lf ? (size_t) (lf - buf) : len, n = end - off;
		int st;

		if (bad_octets(buf + off, n))
			return done(r, 400, end);
		if (line == 0 && n > METRICS_LINE_MAX + (size_t) (lf && n && buf[end - 1] == '\r'))
			return done(r, 414, end);
		if (lf == NULL || end >= METRICS_HEAD_MAX)
			return len >= METRICS_HEAD_MAX ? done(r, 431, len) : 0;
		if (line == 0) {
			if ((st = req_line(buf, n, r)) != 200)
				return done(r, st, end + 1);
		} else if (n == 0 || (n == 1 && buf[off] == '\r')) {
			return done(r, 200, end + 1);
		} else if (line > METRICS_HEADERS_MAX) {
			return done(r, 431, end + 1);
		} else if (!header_ok(buf + off, n)) {
			return done(r, 400, end + 1);
		}
		line++;
		off = end + 1;
	}
}
