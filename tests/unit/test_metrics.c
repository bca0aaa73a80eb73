/*
 * test_metrics.c - proxy/metrics.c: the exposition text of a given
 * counter state (exact lines), label escaping, the histogram's
 * cumulative buckets and exact sum, the hooks' range guards, and the
 * HTTP request-head parser against hostile input (the cap, no line end,
 * bad methods, long paths, control octets, every split of a good head).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/metrics.h"
#include "../../proxy/smap.h"
#include "t.h"

#define S(x)	x, sizeof(x) - 1

/* render - the text of m and g, NUL-ended (static) */
static const char *
render(const struct metrics *m, const struct metrics_gauges *g)
{
	static struct buf b;

	buf_free(&b);
	buf_init(&b);
	if (metrics_render(m, g, &b) < 0 || buf_append(&b, "", 1) < 0)
		return "";
	return buf_head(&b);
}

/* has_line - text holds exactly this line */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

/* has_block - text holds these lines, in this order, together */
static int
has_block(const char *text, const char *block)
{
	const char *p = strstr(text, block);

	return p && (p == text || p[-1] == '\n');
}

/* count_prefix - lines of text that start with prefix */
static int
count_prefix(const char *text, const char *prefix)
{
	int n = 0;
	size_t pl = strlen(prefix);

	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, pl) == 0)
			n++;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return n;
}

/* check_families - every series under the TYPE line of its family; counters
 * end in _total; no two families have one name once a counter's _total is
 * taken off (as parsers do: mxtls_x and mxtls_x_total would clash) */
static const char *
check_families(const char *text)
{
	static char why[256];
	char names[64][96], fam[96] = "", type[16] = "";
	int n = 0;

	for (const char *p = text; *p; ) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t) (e - p) : strlen(p), nl;
		char line[512];

		if (len >= sizeof(line))
			return "a line over 511 octets";
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (e != NULL);
		if (sscanf(line, "# TYPE %95s %15s", fam, type) == 2) {
			nl = strlen(fam);
			if (strcmp(type, "counter") == 0) {
				if (nl < 6 || strcmp(fam + nl - 6, "_total") != 0)
					return snprintf(why, sizeof(why), "counter %s", fam), why;
				fam[nl - 6] = 0;
			}
			for (int i = 0; i < n; i++)
				if (strcmp(names[i], fam) == 0)
					return snprintf(why, sizeof(why), "two families %s", fam), why;
			if (n == 64)
				return "over 64 families";
			snprintf(names[n++], sizeof(names[0]), "%s", fam);
			continue;
		}
		if (line[0] == '#')
			continue;
		nl = strlen(fam);
		if (fam[0] == 0 || strncmp(line, fam, nl) != 0)
			return snprintf(why, sizeof(why), "series outside its family: %.80s", line), why;
	}
	return NULL;
}

/* test_render - a given state, its exact lines */
static void
test_render(void)
{
	static struct metrics m;
	struct metrics_gauges g = {.sessions_open = 3, .sts_entries = 7, .sts_hits = 11,
	    .sts_fetches = 5, .sts_fetch_failures = 2, .journal_errors = 4, .dns_watch = 1,
	    .sts_redis = 2, .sts_redis_up = 1, .sts_redis_shared = 13, .sts_redis_fallbacks = 14,
	    .sts_redis_errors = 15,
	    .dns_learned = 17, .dns_skipped = 3, .dns_bad = 2, .dns_overruns = 1,
	    .hints_entries = 12, .hints_lookups = 9, .hints_hits = 6, .hints_ambiguous = 1,
	    .tls_cache_entries = 4, .tls_cache_hits = 5, .tls_cache_misses = 2, .tls_resumed = 3,
	    .workers = 2, .worker_restarts = 5};
	const char *t;

	memset(&m, 0, sizeof(m));
	m.sessions = 42;
	m.attempts[PTYPE_TLSA][RTYPE_SUCCESS] = 9;
	m.attempts[PTYPE_STS][RTYPE_STS_WEBPKI_INVALID] = 2;
	m.attempts[PTYPE_NO_POLICY_FOUND][RTYPE_STARTTLS_NOT_SUPPORTED] = 1;
	m.actions[RACTION_REFUSED][RTYPE_DANE_REQUIRED] = 6;
	m.actions[RACTION_DELIVERED][RTYPE_SUCCESS] = 9;
	m.records = 20;
	m.journal_lost = 3;
	m.smap[SMAP_R_OK] = 8;
	m.smap[0] = 1;
	m.early[METRICS_EARLY_STARTED] = 6;
	m.early[METRICS_EARLY_USED] = 4;
	m.early[METRICS_EARLY_WRONG] = 1;
	m.upc_hits = 7;
	m.upc_misses = 3;
	m.upc_idle = 2;
	m.upc_dropped[METRICS_UPC_CLOSED] = 4;
	m.upc_dropped[METRICS_UPC_RSET] = 1;
	t = render(&m, &g);
	T_CASE("upstream connection cache: idle gauge, hits, misses, drops by reason, zeros too",
	    has_line(t, "mxtls_upstream_cache_idle 2")
	    && has_line(t, "# TYPE mxtls_upstream_cache_idle gauge")
	    && has_line(t, "mxtls_upstream_cache_hits_total 7")
	    && has_line(t, "mxtls_upstream_cache_misses_total 3")
	    && has_line(t, "mxtls_upstream_cache_dropped_total{reason=\"closed\"} 4")
	    && has_line(t, "mxtls_upstream_cache_dropped_total{reason=\"rset\"} 1")
	    && has_line(t, "mxtls_upstream_cache_dropped_total{reason=\"expired\"} 0")
	    && has_line(t, "mxtls_upstream_cache_dropped_total{reason=\"drain\"} 0")
	    && has_line(t, "# TYPE mxtls_upstream_cache_dropped_total counter"), "%s", t);
	T_CASE("dns watcher: up, packets by result, overruns", has_line(t, "mxtls_dns_watch_up 1")
	    && has_line(t, "mxtls_dns_watch_packets_total{result=\"learned\"} 17")
	    && has_line(t, "mxtls_dns_watch_packets_total{result=\"skipped\"} 3")
	    && has_line(t, "mxtls_dns_watch_packets_total{result=\"bad\"} 2")
	    && has_line(t, "mxtls_dns_watch_overruns_total 1")
	    && has_line(t, "# TYPE mxtls_dns_watch_packets_total counter"), "%s", t);
	T_CASE("tls session cache: entries gauge, hits, misses, resumed",
	    has_line(t, "mxtls_tls_session_cache_entries 4")
	    && has_line(t, "# TYPE mxtls_tls_session_cache_entries gauge")
	    && has_line(t, "mxtls_tls_session_cache_hits_total 5")
	    && has_line(t, "mxtls_tls_session_cache_misses_total 2")
	    && has_line(t, "mxtls_tls_session_cache_evicted_total 0")
	    && has_line(t, "mxtls_tls_resumed_total 3")
	    && has_line(t, "# TYPE mxtls_tls_resumed_total counter"), "%s", t);
	T_CASE("hints: entries gauge, lookups, hits, ambiguous", has_line(t, "mxtls_hints_entries 12")
	    && has_line(t, "# TYPE mxtls_hints_entries gauge")
	    && has_line(t, "mxtls_hints_lookups_total 9") && has_line(t, "mxtls_hints_hits_total 6")
	    && has_line(t, "mxtls_hints_ambiguous_total 1"), "%s", t);
	T_CASE("early upstream by outcome, zeros too",
	    has_line(t, "mxtls_early_upstream_total{outcome=\"started\"} 6")
	    && has_line(t, "mxtls_early_upstream_total{outcome=\"used\"} 4")
	    && has_line(t, "mxtls_early_upstream_total{outcome=\"wrong\"} 1")
	    && has_line(t, "mxtls_early_upstream_total{outcome=\"failed\"} 0"), "%s", t);
	T_CASE("sessions gauge and counter", has_block(t,
		"# HELP mxtls_sessions_open Sessions with the old MTA open now.\n"
		"# TYPE mxtls_sessions_open gauge\n"
		"mxtls_sessions_open 3\n"
		"# HELP mxtls_sessions_total Sessions with the old MTA accepted.\n"
		"# TYPE mxtls_sessions_total counter\n"
		"mxtls_sessions_total 42\n"), "%s", t);
	T_CASE("text starts with the first family", strncmp(t, "# HELP mxtls_sessions_open ", 27) == 0,
	    "%.40s", t);
	T_CASE("attempt tlsa success", has_line(t,
		"mxtls_upstream_attempts_total{policy_type=\"tlsa\",result=\"success\"} 9"), "%s", t);
	T_CASE("attempt sts webpki", has_line(t,
		"mxtls_upstream_attempts_total{policy_type=\"sts\",result=\"sts-webpki-invalid\"} 2"),
	    "%s", t);
	T_CASE("attempt no-policy-found starttls", has_line(t,
		"mxtls_upstream_attempts_total{policy_type=\"no-policy-found\","
		"result=\"starttls-not-supported\"} 1"), "%s", t);
	T_CASE("a zero combination is written", has_line(t,
		"mxtls_upstream_attempts_total{policy_type=\"tlsa\",result=\"dane-required\"} 0"),
	    "%s", t);
	T_CASE("every policy type x every worded result",
	    count_prefix(t, "mxtls_upstream_attempts_total{") == PTYPE_COUNT * (RTYPE_COUNT - 1),
	    "%d", count_prefix(t, "mxtls_upstream_attempts_total{"));
	T_CASE("workers gauge", strstr(t, "\n# TYPE mxtls_workers gauge\nmxtls_workers 2\n") != NULL,
	    "%s", t);
	T_CASE("worker restarts counter", strstr(t, "\n# TYPE mxtls_worker_restarts_total counter\n"
	    "mxtls_worker_restarts_total 5\n") != NULL, "%s", t);
	T_CASE("no result=none while zero", strstr(t, "result=\"none\"") == NULL, "%s", t);
	T_CASE("refused by result", has_line(t,
		"mxtls_attempt_actions_total{action=\"refused\",result=\"dane-required\"} 6"), "%s", t);
	T_CASE("every action x every worded result",
	    count_prefix(t, "mxtls_attempt_actions_total{") == RACTION_COUNT * (RTYPE_COUNT - 1),
	    "%d", count_prefix(t, "mxtls_attempt_actions_total{"));
	T_CASE("counter TYPE lines", has_line(t, "# TYPE mxtls_upstream_attempts_total counter")
	    && has_line(t, "# TYPE mxtls_attempt_actions_total counter"), "%s", t);
	T_CASE("sts, journal and socketmap", has_block(t,
		"# HELP mxtls_sts_cache_entries MTA-STS cache entries (domains) held in memory.\n"
		"# TYPE mxtls_sts_cache_entries gauge\n"
		"mxtls_sts_cache_entries 7\n"
		"# HELP mxtls_sts_cache_hits_total MTA-STS lookups answered with a cached policy.\n"
		"# TYPE mxtls_sts_cache_hits_total counter\n"
		"mxtls_sts_cache_hits_total 11\n"
		"# HELP mxtls_sts_fetches_total MTA-STS policy fetches started.\n"
		"# TYPE mxtls_sts_fetches_total counter\n"
		"mxtls_sts_fetches_total 5\n"
		"# HELP mxtls_sts_fetch_failures_total MTA-STS policy fetches that failed "
		"(no address, HTTPS, invalid).\n"
		"# TYPE mxtls_sts_fetch_failures_total counter\n"
		"mxtls_sts_fetch_failures_total 2\n"), "%s", t);
	T_CASE("the shared cache: up only when every process with one is connected",
	    has_block(t, "# TYPE mxtls_sts_redis_up gauge\nmxtls_sts_redis_up 0\n")
	    && has_line(t, "mxtls_sts_redis_shared_total 13")
	    && has_line(t, "mxtls_sts_redis_fallbacks_total 14")
	    && has_line(t, "mxtls_sts_redis_errors_total 15"), "%s", t);
	T_CASE("journal and socketmap", has_block(t,
		"# HELP mxtls_journal_records_total Attempt records written to the journal.\n"
		"# TYPE mxtls_journal_records_total counter\n"
		"mxtls_journal_records_total 17\n"
		"# HELP mxtls_journal_errors_total Journal writes and syncs that failed.\n"
		"# TYPE mxtls_journal_errors_total counter\n"
		"mxtls_journal_errors_total 4\n"
		"# HELP mxtls_socketmap_queries_total Socketmap queries, by answer (bad: "
		"closed without one).\n"
		"# TYPE mxtls_socketmap_queries_total counter\n"
		"mxtls_socketmap_queries_total{answer=\"bad\"} 1\n"
		"mxtls_socketmap_queries_total{answer=\"ok\"} 8\n"
		"mxtls_socketmap_queries_total{answer=\"notfound\"} 0\n"
		"mxtls_socketmap_queries_total{answer=\"temp\"} 0\n"
		"mxtls_socketmap_queries_total{answer=\"perm\"} 0\n"), "%s", t);
	T_CASE("ends with a line feed", t[strlen(t) - 1] == '\n', "%s", t);
	{
		const char *why = check_families(t);

		T_CASE("families well formed, no name clashes", why == NULL, "%s", why);
	}
	m.attempts[PTYPE_STS][RTYPE_NONE] = 4;
	m.actions[RACTION_FAILED][RTYPE_NONE] = 5;
	t = render(&m, &g);
	T_CASE("RTYPE_NONE once counted is result=none", has_line(t,
		"mxtls_upstream_attempts_total{policy_type=\"sts\",result=\"none\"} 4")
	    && has_line(t, "mxtls_attempt_actions_total{action=\"failed\",result=\"none\"} 5"),
	    "%s", t);
	g.sessions_open = -1;
	t = render(&m, &g);
	T_CASE("a negative gauge is 0", has_line(t, "mxtls_sessions_open 0"), "%s", t);
}

/* test_escape - label values as the format requires */
static void
test_escape(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "plain"},
		{"", ""},
		{"a\\b", "a\\\\b"},
		{"say \"hi\"", "say \\\"hi\\\""},
		{"two\nlines", "two\\nlines"},
		{"\\\"\n", "\\\\\\\"\\n"},
		{"tab\tstays", "tab\tstays"},
		{"{},=", "{},="},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		int ok;

		buf_init(&b);
		ok = metrics_label_value(&b, cases[i].in) == 0 && buf_append(&b, "", 1) == 0
		    && strcmp(buf_head(&b), cases[i].out) == 0;
		T_CASE(cases[i].out, ok, "got [%s]", b.data ? buf_head(&b) : "");
		buf_free(&b);
	}
}

/* test_histogram - the hook's buckets, cumulative in the text */
static void
test_histogram(void)
{
	struct metrics_gauges g;
	const char *t;

	memset(&metrics, 0, sizeof(metrics));
	memset(&g, 0, sizeof(g));
	metrics_lookup(0.5);		/* 0.001 */
	metrics_lookup(1.0);		/* 0.001: le is inclusive */
	metrics_lookup(1.0004);		/* 0.005 */
	metrics_lookup(7.25);		/* 0.01 */
	metrics_lookup(999.9996);	/* 1 */
	metrics_lookup(59999.0);	/* 60 */
	metrics_lookup(70000.0);	/* +Inf */
	metrics_lookup(-3.0);		/* a step backwards: 0 */
	metrics_lookup(NAN);		/* 0 */
	T_CASE("raw buckets", metrics.lookup_bucket[0] == 4 && metrics.lookup_bucket[1] == 1
	    && metrics.lookup_bucket[2] == 1 && metrics.lookup_bucket[8] == 1
	    && metrics.lookup_bucket[13] == 1 && metrics.lookup_bucket[14] == 1,
	    "%llu %llu %llu", metrics.lookup_bucket[0], metrics.lookup_bucket[1],
	    metrics.lookup_bucket[2]);
	t = render(&metrics, &g);
	T_CASE("histogram text", has_block(t,
		"# TYPE mxtls_policy_lookup_seconds histogram\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.001\"} 4\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.005\"} 5\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.01\"} 6\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.025\"} 6\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.05\"} 6\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.1\"} 6\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.25\"} 6\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"0.5\"} 6\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"1\"} 7\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"2.5\"} 7\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"5\"} 7\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"10\"} 7\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"30\"} 7\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"60\"} 8\n"
		"mxtls_policy_lookup_seconds_bucket{le=\"+Inf\"} 9\n"
		/* 0.5+1+1.0004+7.25+999.9996+59999+70000 ms, to the us */
		"mxtls_policy_lookup_seconds_sum 131.008750\n"
		"mxtls_policy_lookup_seconds_count 9\n"), "%s", t);
	memset(&metrics, 0, sizeof(metrics));
	t = render(&metrics, &g);
	T_CASE("empty histogram", has_block(t,
		"mxtls_policy_lookup_seconds_bucket{le=\"+Inf\"} 0\n"
		"mxtls_policy_lookup_seconds_sum 0.000000\n"
		"mxtls_policy_lookup_seconds_count 0\n"), "%s", t);
}

/* test_hooks - the counting calls, out-of-range values included */
static void
test_hooks(void)
{
	memset(&metrics, 0, sizeof(metrics));
	metrics_session();
	metrics_session();
	metrics_attempt(PTYPE_TLSA, RTYPE_DANE_REQUIRED, RACTION_REFUSED);
	metrics_attempt(PTYPE_STS, (enum rtype) 999, RACTION_FAILED);
	metrics_attempt((enum ptype) 77, RTYPE_SUCCESS, (enum raction) 88);
	metrics_journal_lost();
	metrics_smap_answer(SMAP_R_OK);
	metrics_smap_answer(SMAP_R_PERM);
	metrics_smap_answer(0);
	metrics_smap_answer(-5);
	metrics_smap_answer(99);
	T_CASE("sessions", metrics.sessions == 2, "%llu", metrics.sessions);
	T_CASE("attempt counted", metrics.attempts[PTYPE_TLSA][RTYPE_DANE_REQUIRED] == 1
	    && metrics.actions[RACTION_REFUSED][RTYPE_DANE_REQUIRED] == 1, "no");
	T_CASE("bad result type is none", metrics.attempts[PTYPE_STS][RTYPE_NONE] == 1
	    && metrics.actions[RACTION_FAILED][RTYPE_NONE] == 1, "no");
	T_CASE("records: every call, bad enums too; lost apart",
	    metrics.records == 3 && metrics.journal_lost == 1, "%llu %llu", metrics.records,
	    metrics.journal_lost);
	T_CASE("socketmap answers", metrics.smap[SMAP_R_OK] == 1 && metrics.smap[SMAP_R_PERM] == 1
	    && metrics.smap[0] == 3, "%llu %llu %llu", metrics.smap[1], metrics.smap[4],
	    metrics.smap[0]);
}

struct rcase {
	const char *label;
	const char *in;
	size_t len;
	int want;			/* 0: need more; else the status */
	int head;
};

static const struct rcase rcases[] = {
	{"GET 1.1", S("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 200, 0},
	{"GET 1.0 no headers", S("GET /metrics HTTP/1.0\r\n\r\n"), 200, 0},
	{"HEAD", S("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 200, 1},
	{"LF only", S("GET /metrics HTTP/1.1\nHost: a\n\n"), 200, 0},
	{"query string", S("GET /metrics?x=1 HTTP/1.1\r\n\r\n"), 200, 0},
	{"Prometheus' headers", S("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9425\r\n"
		"User-Agent: Prometheus/2.42.0\r\nAccept: application/openmetrics-text;"
		"version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
		"Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"), 200, 0},
	{"empty", S(""), 0, 0},
	{"part of the request line", S("GET /met"), 0, 0},
	{"request line, no headers end", S("GET /metrics HTTP/1.1\r\nHost: a\r\n"), 0, 0},
	{"CR before its LF", S("GET /metrics HTTP/1.1\r\n\r"), 0, 0},
	{"other path", S("GET /metricsx HTTP/1.1\r\n\r\n"), 404, 0},
	{"root", S("GET / HTTP/1.1\r\n\r\n"), 404, 0},
	{"prefix path", S("GET /metric HTTP/1.1\r\n\r\n"), 404, 0},
	{"404 before the head ends", S("GET /admin HTTP/1.1\r\n"), 404, 0},
	{"POST", S("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), 405, 0},
	{"405 before the head ends", S("DELETE /metrics HTTP/1.1\r\n"), 405, 0},
	{"lower-case get", S("get /metrics HTTP/1.1\r\n\r\n"), 400, 0},
	{"method with a digit", S("G3T /metrics HTTP/1.1\r\n\r\n"), 400, 0},
	{"no target", S("GET  HTTP/1.1\r\n\r\n"), 400, 0},
	{"two spaces", S("GET  /metrics HTTP/1.1\r\n\r\n"), 400, 0},
	{"no version", S("GET /metrics\r\n\r\n"), 400, 0},
	{"HTTP/0.9 style", S("GET /metrics\n"), 400, 0},
	{"absolute form", S("GET http://a/metrics HTTP/1.1\r\n\r\n"), 400, 0},
	{"HTTP/2.0", S("GET /metrics HTTP/2.0\r\n\r\n"), 505, 0},
	{"HTTP/1.2", S("GET /metrics HTTP/1.2\r\n\r\n"), 505, 0},
	{"version junk", S("GET /metrics HTTP/1.1x\r\n\r\n"), 400, 0},
	{"version lower case", S("GET /metrics http/1.1\r\n\r\n"), 400, 0},
	{"trailing space", S("GET /metrics HTTP/1.1 \r\n\r\n"), 400, 0},
	{"NUL in the request line", S("GET /met\0rics HTTP/1.1\r\n\r\n"), 400, 0},
	{"NUL before the line ends", S("GET /metrics\0"), 400, 0},
	{"bare CR in the line", S("GET /metrics\rHTTP/1.1\r\n\r\n"), 400, 0},
	{"bare CR in a header", S("GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n"), 400, 0},
	{"escape in a header", S("GET /metrics HTTP/1.1\r\nA: \033[2J\r\n\r\n"), 400, 0},
	{"DEL in the target", S("GET /metrics\177 HTTP/1.1\r\n\r\n"), 400, 0},
	{"8-bit target", S("GET /m\xc3\xa9trics HTTP/1.1\r\n\r\n"), 400, 0},
	{"header without a colon", S("GET /metrics HTTP/1.1\r\nHost a\r\n\r\n"), 400, 0},
	{"header with an empty name", S("GET /metrics HTTP/1.1\r\n: a\r\n\r\n"), 400, 0},
	{"space before a colon", S("GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n"), 400, 0},
	{"folded header", S("GET /metrics HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), 400, 0},
	{"tab in a value", S("GET /metrics HTTP/1.1\r\nA: b\tc\r\n\r\n"), 200, 0},
	{"8-bit value", S("GET /metrics HTTP/1.1\r\nA: \xff\r\n\r\n"), 200, 0},
	{"TLS hello", S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400, 0},
	{"SMTP", S("EHLO x\r\n"), 400, 0},
};

/* test_parse_table - the cases above, whole */
static void
test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		struct metrics_req r;
		int rc = metrics_req_parse(c->in, c->len, &r);
		int got = rc == 0 ? 0 : r.status;

		T_CASE(c->label, got == c->want && (rc == 0 || r.head == c->head)
		    && (rc == 0 || r.used <= c->len), "rc %d status %d head %d used %zu", rc,
		    r.status, r.head, r.used);
	}
}

/* test_parse_split - every prefix of a good head needs more */
static void
test_parse_split(void)
{
	static const char good[] = "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
	size_t n = sizeof(good) - 1;
	struct metrics_req r;
	int bad = -1;

	for (size_t k = 0; k < n && bad < 0; k++)
		if (metrics_req_parse(good, k, &r) != 0)
			bad = (int) k;
	T_CASE("every prefix needs more", bad < 0, "prefix %d decided %d", bad, r.status);
	T_CASE("whole: 200, used all", metrics_req_parse(good, n, &r) == 1 && r.status == 200
	    && r.used == n, "%d %zu", r.status, r.used);
}

/* test_parse_caps - the head cap, the line cap, the header count */
static void
test_parse_caps(void)
{
	static char big[METRICS_HEAD_MAX + 64];
	struct metrics_req r;
	size_t n;
	int rc;

	/* A head that never ends: need more until the cap, then 431. */
	n = (size_t) snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nX: ");
	memset(big + n, 'a', sizeof(big) - n);
	rc = metrics_req_parse(big, METRICS_HEAD_MAX - 1, &r);
	T_CASE("no end below the cap: need more", rc == 0, "rc %d status %d", rc, r.status);
	rc = metrics_req_parse(big, METRICS_HEAD_MAX, &r);
	T_CASE("no end at the cap: 431", rc == 1 && r.status == 431, "rc %d status %d", rc,
	    r.status);
	/* Many short lines, each complete, past the cap. */
	n = (size_t) snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\n");
	while (n + 4 < sizeof(big)) {
		memcpy(big + n, "A:\r\n", 4);
		n += 4;
	}
	rc = metrics_req_parse(big, n, &r);
	T_CASE("too many header lines: 431", rc == 1 && r.status == 431, "rc %d status %d", rc,
	    r.status);
	/* METRICS_HEADERS_MAX headers are fine, one more is not. */
	n = (size_t) snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\n");
	for (int i = 0; i < METRICS_HEADERS_MAX; i++)
		n += (size_t) snprintf(big + n, sizeof(big) - n, "H%d: v\r\n", i);
	memcpy(big + n, "\r\n", 2);
	rc = metrics_req_parse(big, n + 2, &r);
	T_CASE("METRICS_HEADERS_MAX headers: 200", rc == 1 && r.status == 200, "rc %d status %d",
	    rc, r.status);
	memcpy(big + n, "X: y\r\n\r\n", 8);
	rc = metrics_req_parse(big, n + 8, &r);
	T_CASE("one header more: 431", rc == 1 && r.status == 431, "rc %d status %d", rc,
	    r.status);
	/* A long path: 414 as soon as the line is too long, before its end. */
	n = (size_t) snprintf(big, sizeof(big), "GET /");
	memset(big + n, 'p', METRICS_LINE_MAX);
	rc = metrics_req_parse(big, METRICS_LINE_MAX + 1, &r);
	T_CASE("request line over the cap, unended: 414", rc == 1 && r.status == 414,
	    "rc %d status %d", rc, r.status);
	rc = metrics_req_parse(big, METRICS_LINE_MAX, &r);
	T_CASE("request line at the cap, unended: need more", rc == 0, "rc %d status %d", rc,
	    r.status);
	/* A request line of exactly METRICS_LINE_MAX octets plus CRLF is fine. */
	n = (size_t) snprintf(big, sizeof(big), "GET /metrics?");
	memset(big + n, 'q', METRICS_LINE_MAX - n - 9);
	n = METRICS_LINE_MAX - 9;
	memcpy(big + n, " HTTP/1.1\r\n\r\n", 13);
	rc = metrics_req_parse(big, METRICS_LINE_MAX + 4, &r);
	T_CASE("request line of METRICS_LINE_MAX: 200", rc == 1 && r.status == 200,
	    "rc %d status %d", rc, r.status);
	memcpy(big + METRICS_LINE_MAX - 9, "q HTTP/1.1\r\n\r\n", 15);
	rc = metrics_req_parse(big, METRICS_LINE_MAX + 6, &r);
	T_CASE("one octet more: 414", rc == 1 && r.status == 414, "rc %d status %d", rc,
	    r.status);
}

/* main - run them */
/* test_gauges_sum - one worker's gauges added to another's: every counted
 * field adds up, the policy entries are the largest, the watcher is on
 * when one is, and what the fleet keeps itself is left alone */
static void
test_gauges_sum(void)
{
	struct metrics_gauges a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.sessions_open = 3;
	a.workers = 2;
	a.sts_entries = 5;
	b.sts_entries = 9;
	b.dns_watch = 1;
	a.sts_hits = 1, b.sts_hits = 2;
	a.sts_fetches = 10, b.sts_fetches = 20;
	a.sts_fetch_failures = 100, b.sts_fetch_failures = 200;
	a.journal_errors = 1000, b.journal_errors = 2000;
	a.dns_packets = 7, b.dns_packets = 70;
	a.dns_learned = 8, b.dns_learned = 70;
	a.dns_skipped = 9, b.dns_skipped = 70;
	a.dns_bad = 10, b.dns_bad = 70;
	a.dns_overruns = 11, b.dns_overruns = 70;
	a.dns_verdict_errors = 12, b.dns_verdict_errors = 70;
	a.hints_entries = 1, b.hints_entries = 2;
	a.hints_learned = 3, b.hints_learned = 4;
	a.hints_evicted = 5, b.hints_evicted = 6;
	a.hints_expired = 7, b.hints_expired = 8;
	a.hints_lookups = 9, b.hints_lookups = 10;
	a.hints_hits = 11, b.hints_hits = 12;
	a.hints_ambiguous = 13, b.hints_ambiguous = 14;
	a.tls_cache_entries = 15, b.tls_cache_entries = 16;
	a.tls_cache_hits = 17, b.tls_cache_hits = 18;
	a.tls_cache_misses = 19, b.tls_cache_misses = 20;
	a.tls_cache_stored = 21, b.tls_cache_stored = 22;
	a.tls_cache_evicted = 23, b.tls_cache_evicted = 24;
	a.tls_cache_expired = 25, b.tls_cache_expired = 26;
	a.tls_cache_dropped = 27, b.tls_cache_dropped = 28;
	a.tls_resumed = 29, b.tls_resumed = 30;
	a.sts_redis = 1, b.sts_redis = 1;
	a.sts_redis_up = 1, b.sts_redis_up = 1;
	a.sts_redis_shared = 31, b.sts_redis_shared = 32;
	a.sts_redis_fallbacks = 33, b.sts_redis_fallbacks = 34;
	a.sts_redis_errors = 35, b.sts_redis_errors = 36;
	metrics_gauges_sum(&a, &b);
	T_CASE("gauges sum: the shared cache's counts add up", a.sts_redis == 2
	    && a.sts_redis_up == 2 && a.sts_redis_shared == 63 && a.sts_redis_fallbacks == 67
	    && a.sts_redis_errors == 71, "%llu %llu %llu", a.sts_redis, a.sts_redis_up,
	    a.sts_redis_shared);
	T_CASE("gauges sum: the MTA-STS and journal counts add up", a.sts_hits == 3
	    && a.sts_fetches == 30 && a.sts_fetch_failures == 300 && a.journal_errors == 3000,
	    "%llu %llu %llu %llu", a.sts_hits, a.sts_fetches, a.sts_fetch_failures,
	    a.journal_errors);
	T_CASE("gauges sum: the DNS watcher's counts add up", a.dns_packets == 77
	    && a.dns_learned == 78 && a.dns_skipped == 79 && a.dns_bad == 80
	    && a.dns_overruns == 81 && a.dns_verdict_errors == 82, "%llu %llu",
	    a.dns_packets, a.dns_verdict_errors);
	T_CASE("gauges sum: the hints' counts add up", a.hints_entries == 3
	    && a.hints_learned == 7 && a.hints_evicted == 11 && a.hints_expired == 15
	    && a.hints_lookups == 19 && a.hints_hits == 23 && a.hints_ambiguous == 27,
	    "%llu %llu", a.hints_entries, a.hints_ambiguous);
	T_CASE("gauges sum: the TLS session cache's counts add up", a.tls_cache_entries == 31
	    && a.tls_cache_hits == 35 && a.tls_cache_misses == 39 && a.tls_cache_stored == 43
	    && a.tls_cache_evicted == 47 && a.tls_cache_expired == 51
	    && a.tls_cache_dropped == 55 && a.tls_resumed == 59, "%llu %llu",
	    a.tls_cache_entries, a.tls_resumed);
	T_CASE("gauges sum: policy entries are the largest, the watcher on if one is",
	    a.sts_entries == 9 && a.dns_watch == 1, "%llu %d", a.sts_entries, a.dns_watch);
	T_CASE("gauges sum: the fleet's own gauges are left alone", a.sessions_open == 3
	    && a.workers == 2, "%ld %ld", a.sessions_open, a.workers);
}

int
main(void)
{
	T_INIT("test_metrics");
	test_gauges_sum();
	test_render();
	test_escape();
	test_histogram();
	test_hooks();
	test_parse_table();
	test_parse_split();
	test_parse_caps();
	return t_done();
}
