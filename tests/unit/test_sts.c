/*
 * test_sts.c - MTA-STS (RFC 8461): the TXT record (3.1), the policy file
 * (3.2), mx patterns (4.1), the cache rules (5, 5.1) with a fake clock, the
 * negative cache's failure as each later session reports it (RFC 8460
 * 4.3.2.2), and the cache file format (stscache.c), old files included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../policy/sts.h"
#include "../../policy/stscache.h"
#include "t.h"

struct txtcase {
	const char *name;
	const char *recs[3];
	int ok;
	const char *id;
};

static const struct txtcase txts[] = {
	{"plain record", {"v=STSv1; id=20240101T000000;", NULL}, 1, "20240101T000000"},
	{"no spaces, no final ;", {"v=STSv1;id=abc", NULL}, 1, "abc"},
	{"extra white space", {"v=STSv1 ;  id=abc  ; ", NULL}, 1, "abc"},
	{"unknown field ignored", {"v=STSv1; foo=bar; id=x1", NULL}, 1, "x1"},
	{"other TXT records ignored", {"google-site-verification=x", "v=STSv1; id=z", NULL}, 1, "z"},
	{"32-char id", {"v=STSv1; id=abcdefghijklmnopqrstuvwxyz012345", NULL}, 1,
	 "abcdefghijklmnopqrstuvwxyz012345"},
	{"33-char id refused", {"v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456", NULL}, 0, NULL},
	{"empty id refused", {"v=STSv1; id=", NULL}, 0, NULL},
	{"id with punctuation refused", {"v=STSv1; id=a-b", NULL}, 0, NULL},
	{"no id refused", {"v=STSv1;", NULL}, 0, NULL},
	{"id twice refused", {"v=STSv1; id=a; id=b", NULL}, 0, NULL},
	{"two STSv1 records: no policy", {"v=STSv1; id=a", "v=STSv1; id=b", NULL}, 0, NULL},
	{"no STSv1 record", {"v=spf1 -all", NULL}, 0, NULL},
	{"v=STSv1 not first", {"id=a; v=STSv1", NULL}, 0, NULL},
	{"STSv10 is not STSv1", {"v=STSv10; id=a", NULL}, 0, NULL},
	{"field without =", {"v=STSv1; id=a; junk", NULL}, 0, NULL},
	{"empty field in the middle", {"v=STSv1;; id=a", NULL}, 0, NULL},
	{"lower-case v=stsv1 is not a record", {"v=stsv1; id=a", NULL}, 0, NULL},
};

static void
txt(void)
{
	for (size_t i = 0; i < sizeof(txts) / sizeof(txts[0]); i++) {
		const char *recs[3];
		size_t lens[3];
		int n = 0, r;
		char id[STS_ID_MAX + 1] = "";
		const char *why = NULL;

		for (; txts[i].recs[n]; n++) {
			recs[n] = txts[i].recs[n];
			lens[n] = strlen(recs[n]);
		}
		r = sts_txt_parse(recs, lens, n, id, &why);
		T_CASE(txts[i].name, txts[i].ok ? (r == 1 && strcmp(id, txts[i].id) == 0)
		    : (r == 0 && why != NULL), "r=%d id=%s why=%s", r, id, why ? why : "-");
	}
	{
		const char *rec = "v=STSv1; id=a\0b";
		size_t len = 15;
		char id[STS_ID_MAX + 1];
		const char *why = NULL;

		T_CASE("NUL byte in TXT refused", sts_txt_parse(&rec, &len, 1, id, &why) == 0, "accepted");
	}
}

struct polcase {
	const char *name;
	const char *body;
	int ok;
	const char *why;		/* expected part of the reason */
};

static const struct polcase pols[] = {
	{"RFC example", "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
	 "mx: backupmx.example.com\nmax_age: 604800\n", 1, NULL},
	{"CRLF lines", "version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n", 1, NULL},
	{"no final newline", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1", 1, NULL},
	{"trailing white space", "version: STSv1  \nmode: enforce\t\nmx: a.example \nmax_age: 5 \n", 1, NULL},
	{"unknown key ignored", "version: STSv1\nmode: enforce\nfoo: bar\nmx: a.example\nmax_age: 5\n", 1, NULL},
	{"mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 5\n", 1, NULL},
	{"max_age 0", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 0\n", 1, NULL},
	{"max_age at the limit", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n", 1, NULL},
	{"max_age above the limit", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", 0,
	 "line 4: max_age above"},
	{"max_age negative", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", 0, "line 4: max_age"},
	{"max_age huge", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 99999999999999999999\n", 0,
	 "line 4: max_age"},
	{"version not first", "mode: enforce\nversion: STSv1\nmx: a.example\nmax_age: 5\n", 0,
	 "line 1: version must come first"},
	{"wrong version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n", 0, "line 1: version is not STSv1"},
	{"bad mode", "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 5\n", 0,
	 "line 2: mode is not enforce"},
	{"no mode", "version: STSv1\nmx: a.example\nmax_age: 5\n", 0, "no mode field"},
	{"no max_age", "version: STSv1\nmode: enforce\nmx: a.example\n", 0, "no max_age field"},
	{"no mx in enforce", "version: STSv1\nmode: enforce\nmax_age: 5\n", 0, "no mx field"},
	{"duplicate mode", "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 5\n", 0,
	 "line 3: mode given twice"},
	{"duplicate max_age", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 5\nmax_age: 6\n", 0,
	 "line 5: max_age given twice"},
	{"bare CR", "version: STSv1\nmode: enforce\rmx: a.example\nmax_age: 5\n", 0, "line 2: bare CR"},
	{"bad mx pattern", "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 5\n", 0, "line 3: bad mx pattern"},
	{"wildcard in the middle", "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 5\n", 0,
	 "line 3: bad mx pattern"},
	{"bare wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n", 0, "line 3: bad mx pattern"},
	{"line without colon", "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 5\n", 0,
	 "line 2: bad key"},
	{"empty body", "", 0, "no version field"},
	{"HTML instead of a policy", "<html><body>404</body></html>\n", 0, "line 1:"},
};

static void
policies(void)
{
	for (size_t i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
		struct sts_policy p;
		char why[256] = "";
		int r = sts_policy_parse(pols[i].body, strlen(pols[i].body), &p, why, sizeof(why));

		T_CASE(pols[i].name, pols[i].ok ? r == 0 : (r < 0 && strstr(why, pols[i].why) != NULL),
		    "r=%d why=%s", r, why);
	}
	{
		struct sts_policy p;
		char why[256];
		const char *b = "version: STSv1\nmode: enforce\nmx: MAIL.Example.COM.\nmx: *.example.net\nmax_age: 604800\n";

		sts_policy_parse(b, strlen(b), &p, why, sizeof(why));
		T_CASE("fields read", p.mode == STS_MODE_ENFORCE && p.max_age == 604800 && p.nmx == 2
		    && strcmp(p.mx[0], "mail.example.com") == 0 && strcmp(p.mx[1], "*.example.net") == 0,
		    "mode=%d age=%ld nmx=%d mx0=%s", p.mode, p.max_age, p.nmx, p.mx[0]);
		T_CASE("policy text kept for reports", strstr(p.text, "mode: enforce\n") != NULL, "%s", p.text);
	}
	{
		char b[64] = "version: STSv1\nmode: enforce\0\nmx: a.example\nmax_age: 5\n";
		struct sts_policy p;
		char why[256] = "";

		T_CASE("NUL byte refused", sts_policy_parse(b, 54, &p, why, sizeof(why)) < 0
		    && strstr(why, "NUL"), "why=%s", why);
	}
	{
		size_t n = 1024 * 1024;
		char *big = malloc(n), why[256] = "";
		struct sts_policy p;
		int r;

		memset(big, 'a', n);
		memcpy(big, "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 5\nfoo: ", 58);
		r = sts_policy_parse(big, n, &p, why, sizeof(why));
		T_CASE("1 MB refused as over 64 KiB", r < 0 && strstr(why, "64 KiB"), "r=%d why=%s", r, why);
		r = sts_policy_parse(big, 65536, &p, why, sizeof(why));
		T_CASE("a 64 KiB policy with a long unknown line parses", r == 0, "r=%d why=%s", r, why);
		free(big);
	}
	{
		char b[16384];
		int n = snprintf(b, sizeof(b), "version: STSv1\nmode: enforce\nmax_age: 5\n");
		struct sts_policy p;
		char why[256] = "";

		for (int i = 0; i < 40; i++)
			n += snprintf(b + n, sizeof(b) - (size_t) n, "mx: m%d.example\n", i);
		T_CASE("too many mx patterns refused", sts_policy_parse(b, (size_t) n, &p, why, sizeof(why)) < 0
		    && strstr(why, "more than"), "why=%s", why);
	}
}

static void
patterns(void)
{
	struct {
		const char *pat, *host;
		int want;
	} c[] = {
		{"mail.example.com", "mail.example.com", 1},
		{"mail.example.com", "MAIL.example.COM", 1},
		{"mail.example.com", "mail.example.com.", 1},
		{"mail.example.com", "mx.example.com", 0},
		{"*.example.net", "mx1.example.net", 1},
		{"*.example.net", "a.b.example.net", 0},	/* exactly one label */
		{"*.example.net", "example.net", 0},
		{"*.example.net", ".example.net", 0},
		{"*.example.net", "mx1.example.net.evil", 0},
		{"*.example.net", "mx1example.net", 0},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[160];

		snprintf(name, sizeof(name), "pattern %s vs %s", c[i].pat, c[i].host);
		T_CASE(name, sts_pattern_match(c[i].pat, c[i].host) == c[i].want, "got %d",
		    !c[i].want);
	}
}

static void
cache(void)
{
	struct sts_conf conf = {86400, 300, 60};
	struct sts_entry e;
	struct sts_policy p;
	char why[128];
	const char *body = "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 604800\n";
	time_t t = 1700000000;

	memset(&e, 0, sizeof(e));
	sts_policy_parse(body, strlen(body), &p, why, sizeof(why));
	T_CASE("cache: nothing cached, TXT found -> fetch",
	    sts_cache_step(NULL, STS_TXT_FOUND, "a", t, &conf) == STS_FETCH, "no");
	T_CASE("cache: nothing cached, no TXT -> no policy",
	    sts_cache_step(NULL, STS_TXT_NONE, NULL, t, &conf) == STS_NONE, "no");
	sts_cache_fetched(&e, "a", &p, t);
	T_CASE("cache: same id -> use, extend", sts_cache_step(&e, STS_TXT_FOUND, "a", t + 60, &conf)
	    == STS_EXTEND, "got %d", sts_cache_step(&e, STS_TXT_FOUND, "a", t + 60, &conf));
	T_CASE("cache: TXT gone -> cached policy still applies (downgrade resistance)",
	    sts_cache_step(&e, STS_TXT_NONE, NULL, t + 3600, &conf) == STS_USE, "no");
	T_CASE("cache: TXT lookup fails -> cached policy applies",
	    sts_cache_step(&e, STS_TXT_ERROR, NULL, t + 3600, &conf) == STS_USE, "no");
	T_CASE("cache: id changed -> refetch", sts_cache_step(&e, STS_TXT_FOUND, "b", t + 3600, &conf)
	    == STS_FETCH, "no");
	T_CASE("cache: expired and TXT gone -> no policy",
	    sts_cache_step(&e, STS_TXT_NONE, NULL, t + 604800, &conf) == STS_NONE, "no");
	T_CASE("cache: near max_age, same id -> proactive refetch",
	    sts_cache_step(&e, STS_TXT_FOUND, "a", t + 604800 - 3600, &conf) == STS_FETCH, "no");
	sts_cache_extend(&e, t + 500000);
	T_CASE("cache: extension pushes expiry", e.expires == t + 500000 + 604800, "expires=%ld",
	    (long) (e.expires - t));
	T_CASE("cache: extended policy outlives the first max_age",
	    sts_cache_step(&e, STS_TXT_NONE, NULL, t + 604800 + 10, &conf) == STS_USE, "no");
	/* failure: negative cache and rate limit */
	sts_cache_failed(&e, t + 700000, &conf, RTYPE_STS_POLICY_FETCH_ERROR, "HTTP status 404");
	T_CASE("cache: after a failed fetch, no refetch within negative_ttl (cached applies)",
	    sts_cache_step(&e, STS_TXT_FOUND, "c", t + 700100, &conf) == STS_USE, "no");
	T_CASE("cache: refetch after negative_ttl",
	    sts_cache_step(&e, STS_TXT_FOUND, "c", t + 700000 + 301, &conf) == STS_FETCH, "no");
	{
		struct sts_entry f;

		memset(&f, 0, sizeof(f));
		sts_cache_failed(&f, t, &conf, RTYPE_STS_POLICY_FETCH_ERROR, "HTTP status 404");
		T_CASE("cache: failed domain with no policy costs one fetch per interval",
		    sts_cache_step(&f, STS_TXT_FOUND, "x", t + 10, &conf) == STS_NONE
		    && sts_cache_step(&f, STS_TXT_FOUND, "x", t + 301, &conf) == STS_FETCH, "no");
	}
	{
		struct sts_entry g;
		struct sts_policy pn;
		const char *nb = "version: STSv1\nmode: none\nmax_age: 604800\n";

		memset(&g, 0, sizeof(g));
		sts_policy_parse(nb, strlen(nb), &pn, why, sizeof(why));
		sts_cache_fetched(&g, "n", &pn, t);
		T_CASE("cache: mode none dropped when the TXT record disappears",
		    sts_cache_step(&g, STS_TXT_NONE, NULL, t + 60, &conf) == STS_DROP, "no");
		T_CASE("cache: mode none kept while TXT stays",
		    sts_cache_step(&g, STS_TXT_FOUND, "n", t + 60, &conf) == STS_EXTEND, "no");
	}
	{
		struct sts_entry h;

		memset(&h, 0, sizeof(h));
		sts_cache_fetched(&h, "a", &p, t);
		h.last_attempt = t;
		T_CASE("cache: a new id is fetched at once, even right after a fetch",
		    sts_cache_step(&h, STS_TXT_FOUND, "b", t + 1, &conf) == STS_FETCH, "no");
		h.expires = t + 3600;		/* near max_age: a refresh is due */
		h.fetched = t - 604800 + 3600;
		T_CASE("cache: a refresh of the same id at most once per min_interval",
		    sts_cache_step(&h, STS_TXT_FOUND, "a", t + 30, &conf) == STS_EXTEND
		    && sts_cache_step(&h, STS_TXT_FOUND, "a", t + 61, &conf) == STS_FETCH, "no");
	}
}

/* dash - a string that may be NULL, "-" for NULL */
static const char *
dash(const char *s)
{
	return s ? s : "-";
}

/* failure - the failure a lookup reports, "-" for none */
static const char *
failure(const struct sts_entry *e, enum sts_txt txt, const char *id, time_t now)
{
	return dash(rtype_str(sts_cache_failure(e, txt, id, now)));
}

/* negative - a failed fetch: every session inside negative_ttl reports it */
static void
negative(void)
{
	struct sts_conf conf = {86400, 300, 60};
	struct sts_entry e, h;
	struct sts_policy p;
	char why[128];
	const char *body = "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 604800\n";
	const char *invalid = "line 4: max_age is not a number of seconds";
	time_t t = 1700000000;
	int n = 0, steps = 0;

	memset(&e, 0, sizeof(e));
	sts_policy_parse(body, strlen(body), &p, why, sizeof(why));
	sts_cache_failed(&e, t, &conf, RTYPE_STS_POLICY_INVALID, invalid);
	T_CASE("negative: the entry keeps the failure's kind and reason",
	    strcmp(dash(rtype_str(e.fail_rtype)), "sts-policy-invalid") == 0
	    && strcmp(e.fail_why, invalid) == 0 && e.fail_until == t + 300,
	    "rtype=%s why=%s until=%+ld", dash(rtype_str(e.fail_rtype)), e.fail_why,
	    (long) (e.fail_until - t));
	/* N sessions inside the window: N failures, no fetch */
	for (int i = 0; i < 10; i++) {
		time_t now = t + 1 + i * 29;

		steps += sts_cache_step(&e, STS_TXT_FOUND, "x", now, &conf) == STS_NONE;
		n += strcmp(failure(&e, STS_TXT_FOUND, "x", now), "sts-policy-invalid") == 0;
	}
	T_CASE("negative: 10 lookups inside negative_ttl, 10 without a fetch",
	    steps == 10, "%d of 10", steps);
	T_CASE("negative: 10 lookups inside negative_ttl, 10 report sts-policy-invalid",
	    n == 10, "%d of 10", n);
	T_CASE("negative: a new TXT id inside the window reports the failure too",
	    strcmp(failure(&e, STS_TXT_FOUND, "y", t + 100), "sts-policy-invalid") == 0,
	    "got %s", failure(&e, STS_TXT_FOUND, "y", t + 100));
	T_CASE("negative: TXT record gone -> no policy, no failure",
	    strcmp(failure(&e, STS_TXT_NONE, NULL, t + 100), "-") == 0,
	    "got %s", failure(&e, STS_TXT_NONE, NULL, t + 100));
	T_CASE("negative: TXT lookup failed -> no failure of the policy fetch",
	    strcmp(failure(&e, STS_TXT_ERROR, NULL, t + 100), "-") == 0,
	    "got %s", failure(&e, STS_TXT_ERROR, NULL, t + 100));
	T_CASE("negative: after negative_ttl the next lookup fetches",
	    sts_cache_step(&e, STS_TXT_FOUND, "x", t + 300, &conf) == STS_FETCH, "no");
	sts_cache_failed(&e, t + 300, &conf, RTYPE_STS_WEBPKI_INVALID, "certificate not valid");
	T_CASE("negative: the next failure replaces kind and reason",
	    strcmp(failure(&e, STS_TXT_FOUND, "x", t + 301), "sts-webpki-invalid") == 0
	    && strcmp(e.fail_why, "certificate not valid") == 0, "got %s: %s",
	    failure(&e, STS_TXT_FOUND, "x", t + 301), e.fail_why);
	sts_cache_fetched(&e, "x", &p, t + 600);
	T_CASE("negative: a fetched policy clears the failure",
	    e.fail_rtype == RTYPE_NONE && e.fail_why[0] == 0
	    && strcmp(failure(&e, STS_TXT_FOUND, "x", t + 601), "-") == 0,
	    "rtype=%s why=%s", dash(rtype_str(e.fail_rtype)), e.fail_why);

	/* a cached policy that applies: only a newer id is "without the policy" */
	memset(&h, 0, sizeof(h));
	sts_cache_fetched(&h, "a", &p, t);
	sts_cache_failed(&h, t + 10, &conf, RTYPE_STS_POLICY_FETCH_ERROR, "HTTP status 404");
	T_CASE("negative: failed refresh of the id in hand -> the policy, no failure",
	    sts_cache_step(&h, STS_TXT_FOUND, "a", t + 20, &conf) == STS_EXTEND
	    && strcmp(failure(&h, STS_TXT_FOUND, "a", t + 20), "-") == 0, "got %s",
	    failure(&h, STS_TXT_FOUND, "a", t + 20));
	T_CASE("negative: failed fetch of a newer id -> the cached policy, and the failure",
	    sts_cache_step(&h, STS_TXT_FOUND, "b", t + 20, &conf) == STS_USE
	    && strcmp(failure(&h, STS_TXT_FOUND, "b", t + 20), "sts-policy-fetch-error") == 0,
	    "got %s", failure(&h, STS_TXT_FOUND, "b", t + 20));
	T_CASE("negative: the cached policy expired -> the failure",
	    strcmp(failure(&h, STS_TXT_FOUND, "a", t + 604800), "sts-policy-fetch-error") == 0,
	    "got %s", failure(&h, STS_TXT_FOUND, "a", t + 604800));

	/* what goes in: the three types, anything else a fetch error; one line */
	memset(&h, 0, sizeof(h));
	sts_cache_failed(&h, t, &conf, RTYPE_TLSA_INVALID, "a\nb\001c\377d");
	T_CASE("negative: unknown type kept as sts-policy-fetch-error, reason made one line",
	    strcmp(dash(rtype_str(h.fail_rtype)), "sts-policy-fetch-error") == 0
	    && strcmp(h.fail_why, "a?b?c?d") == 0, "rtype=%s why=%s",
	    dash(rtype_str(h.fail_rtype)), h.fail_why);
	sts_cache_failed(&h, t, &conf, RTYPE_STS_WEBPKI_INVALID, NULL);
	T_CASE("negative: no reason given", strcmp(dash(rtype_str(h.fail_rtype)), "sts-webpki-invalid") == 0
	    && h.fail_why[0] == 0, "rtype=%s why=%s", dash(rtype_str(h.fail_rtype)), h.fail_why);
	T_CASE("negative: the result type names are the RFC 8460 ones",
	    sts_fail_type("sts-policy-fetch-error") && sts_fail_type("sts-policy-invalid")
	    && sts_fail_type("sts-webpki-invalid") && !sts_fail_type("success")
	    && !sts_fail_type("") && !sts_fail_type(NULL), "no");
	T_CASE("negative: no entry, no failure",
	    strcmp(failure(NULL, STS_TXT_FOUND, "x", t), "-") == 0, "got something");
}

/* reload - format, then parse: what a restart makes of an entry */
static int
reload(const struct sts_entry *e, struct sts_entry *out, char *text, size_t len,
    char *why, size_t whylen)
{
	int n = stscache_format(e, text, len);

	why[0] = 0;
	if (n < 0) {
		snprintf(why, whylen, "format failed");
		return -1;
	}
	return stscache_parse(text, (size_t) n, out, why, whylen);
}

/* cachefile - the cache file: negative entries, and files written before */
static void
cachefile(void)
{
	struct sts_conf conf = {86400, 300, 60};
	struct sts_entry e, r;
	struct sts_policy p;
	char text[12288], why[256];
	const char *body = "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 604800\n";
	const char *reason = "https://mta-sts.notfound.example: HTTP status 404 (redirects are not followed)";
	time_t t = 1700000000;
	int rc, n = 0;

	sts_policy_parse(body, strlen(body), &p, why, sizeof(why));
	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "notfound.example");
	sts_cache_failed(&e, t, &conf, RTYPE_STS_POLICY_FETCH_ERROR, reason);
	rc = reload(&e, &r, text, sizeof(text), why, sizeof(why));
	T_CASE("cache file: a negative entry is written and read back",
	    rc == 0 && !r.has_policy && strcmp(r.domain, e.domain) == 0
	    && r.fail_until == e.fail_until && strcmp(dash(rtype_str(r.fail_rtype)), "sts-policy-fetch-error") == 0
	    && strcmp(r.fail_why, reason) == 0, "rc=%d why=%s text=%s", rc, why, text);
	/* a restart inside the window: the loaded entry goes on reporting */
	for (int i = 0; i < 5; i++)
		n += rc == 0 && sts_cache_step(&r, STS_TXT_FOUND, "x", t + 10 + i, &conf) == STS_NONE
		    && strcmp(failure(&r, STS_TXT_FOUND, "x", t + 10 + i), "sts-policy-fetch-error") == 0;
	T_CASE("cache file: after a restart, 5 lookups inside the window, 5 failures",
	    n == 5, "%d of 5", n);

	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "example.com");
	sts_cache_fetched(&e, "id1", &p, t);
	rc = stscache_format(&e, text, sizeof(text));
	T_CASE("cache file: a policy without a failure keeps the version 1 form",
	    rc > 0 && strncmp(text, "mxtls-sts 1\ndomain: example.com\nid: id1\nfetched: 1700000000\n"
	    "expires: 1700604800\n\nversion: STSv1\n", 93) == 0 && !strstr(text, "fail"),
	    "rc=%d text=%s", rc, text);
	sts_cache_failed(&e, t + 5, &conf, RTYPE_STS_WEBPKI_INVALID, "certificate not valid");
	rc = reload(&e, &r, text, sizeof(text), why, sizeof(why));
	T_CASE("cache file: a policy and a newer failure, both read back",
	    rc == 0 && r.has_policy && strcmp(r.id, "id1") == 0 && r.policy.nmx == 1
	    && strcmp(dash(rtype_str(r.fail_rtype)), "sts-webpki-invalid") == 0
	    && r.fail_until == t + 305 && strcmp(r.fail_why, "certificate not valid") == 0,
	    "rc=%d why=%s text=%s", rc, why, text);

	{
		const char *old = "mxtls-sts 1\ndomain: example.com\nid: id1\nfetched: 1700000000\n"
		    "expires: 1700604800\n\nversion: STSv1\nmode: enforce\nmx: a.example\nmax_age: 604800\n";

		rc = stscache_parse(old, strlen(old), &r, why, sizeof(why));
		T_CASE("cache file: a file written before failures were kept still loads",
		    rc == 0 && r.has_policy && r.fail_rtype == RTYPE_NONE && r.fail_until == 0
		    && strcmp(r.policy.mx[0], "a.example") == 0, "rc=%d why=%s", rc, why);
	}
	{
		const char *kindless = "mxtls-sts 1\ndomain: example.com\nfail-until: 1700000300\n\n";

		rc = stscache_parse(kindless, strlen(kindless), &r, why, sizeof(why));
		T_CASE("cache file: a negative entry without a kind loads as sts-policy-fetch-error",
		    rc == 0 && !r.has_policy && r.fail_until == 1700000300 && r.fail_rtype != RTYPE_NONE
		    && strcmp(rtype_str(r.fail_rtype), "sts-policy-fetch-error") == 0, "rc=%d why=%s", rc, why);
	}
	{
		static const struct {
			const char *name, *text, *why;
		} bad[] = {
			{"cache file: neither policy nor failure refused",
			 "mxtls-sts 1\ndomain: example.com\n\n", "header incomplete"},
			{"cache file: unknown failure type refused",
			 "mxtls-sts 1\ndomain: example.com\nfail-until: 5\nfail-type: success\n\n",
			 "unknown failure type"},
			{"cache file: a kind without fail-until refused",
			 "mxtls-sts 1\ndomain: example.com\nfail-type: sts-policy-invalid\n\n",
			 "header incomplete"},
			{"cache file: a negative entry with a policy body refused",
			 "mxtls-sts 1\ndomain: example.com\nfail-until: 5\n\nversion: STSv1\n",
			 "policy without id"},
			{"cache file: half a policy header refused",
			 "mxtls-sts 1\ndomain: example.com\nid: a\nfail-until: 5\n\n", "header incomplete"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			why[0] = 0;
			rc = stscache_parse(bad[i].text, strlen(bad[i].text), &r, why, sizeof(why));
			T_CASE(bad[i].name, rc < 0 && strstr(why, bad[i].why), "rc=%d why=%s", rc, why);
		}
	}
}

/* put - a file of the cache directory */
static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* exists - is there such a file in the cache directory? */
static int
exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* restart - stscache_init() over a directory with a negative entry in its
 * window, one past it, and a policy file of the first format */
static void
restart(void)
{
	struct sts_conf conf = {86400, 300, 60};
	char dir[] = "/tmp/test_sts.XXXXXX", text[4096], err[256], path[512];
	struct sts_entry e;
	const struct sts_entry *r;
	time_t t = time(NULL);
	int n = 0;

	if (mkdtemp(dir) == NULL) {
		T_CASE("restart: temporary directory", 0, "mkdtemp failed");
		return;
	}
	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "broken.example");
	sts_cache_failed(&e, t - 10, &conf, RTYPE_STS_POLICY_INVALID, "line 4: max_age is not a number of seconds");
	if (stscache_format(&e, text, sizeof(text)) > 0)
		put(dir, "broken.example", text);
	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "gone.example");
	sts_cache_failed(&e, t - 400, &conf, RTYPE_STS_POLICY_FETCH_ERROR, "HTTP status 404");
	if (stscache_format(&e, text, sizeof(text)) > 0)
		put(dir, "gone.example", text);
	snprintf(text, sizeof(text), "mxtls-sts 1\ndomain: old.example\nid: id1\nfetched: %lld\n"
	    "expires: %lld\n\nversion: STSv1\nmode: enforce\nmx: a.example\nmax_age: 604800\n",
	    (long long) t - 100, (long long) t - 100 + 604800);
	put(dir, "old.example", text);
	snprintf(text, sizeof(text), "mxtls-sts 1\ndomain: far.example\nfail-until: %lld\n\n",
	    (long long) t + 10 * 86400);
	put(dir, "far.example", text);

	T_CASE("restart: the cache directory loads", stscache_init(dir, t, err, sizeof(err)) == 0,
	    "%s", err);
	r = stscache_get("broken.example");
	for (int i = 0; i < 5 && r; i++)
		n += sts_cache_step(r, STS_TXT_FOUND, "x", t + i, &conf) == STS_NONE
		    && strcmp(failure(r, STS_TXT_FOUND, "x", t + i), "sts-policy-invalid") == 0;
	T_CASE("restart: a negative entry inside its window: no fetch, 5 of 5 report it",
	    r && n == 5 && strcmp(r->fail_why, "line 4: max_age is not a number of seconds") == 0,
	    "entry %s, %d of 5, why=%s", r ? "loaded" : "missing", n, r ? r->fail_why : "-");
	T_CASE("restart: a negative entry past its window is removed",
	    stscache_get("gone.example") == NULL && !exists(dir, "gone.example"), "kept");
	r = stscache_get("old.example");
	T_CASE("restart: a policy file of the first format loads",
	    r && r->has_policy && r->fail_rtype == RTYPE_NONE && sts_cache_applies(r, t), "not loaded");
	T_CASE("restart: a fail-until beyond any sts_negative_ttl is discarded",
	    stscache_get("far.example") == NULL && !exists(dir, "far.example"), "kept");
	stscache_drop("broken.example");
	stscache_drop("old.example");
	snprintf(path, sizeof(path), "%s", dir);
	rmdir(path);
	(void) stscache_init("", t, err, sizeof(err));
}

/* shared - two processes on one cache directory: one fetch lock per
 * domain, and the loser reads the winner's disk entry */
static void
shared(void)
{
	char dir[] = "/tmp/test_sts.XXXXXX", err[256], path[600], text[4096];
	time_t t = time(NULL);
	struct sts_entry e;
	int fd, st = -1, n;
	pid_t pid;

	if (mkdtemp(dir) == NULL || stscache_init(dir, t, err, sizeof(err)) < 0) {
		T_CASE("shared: temporary directory", 0, "mkdtemp or init failed");
		return;
	}
	fd = stscache_lock("lock.example");
	T_CASE("shared: the first takes the lock", fd >= 0, "fd=%d", fd);
	if ((pid = fork()) == 0)
		_exit(stscache_lock("lock.example") == -2 ? 0 : 1);
	if (pid > 0)
		waitpid(pid, &st, 0);
	T_CASE("shared: another process finds it held", pid > 0 && WIFEXITED(st)
	    && WEXITSTATUS(st) == 0, "status %d", st);
	if ((pid = fork()) == 0)
		_exit(stscache_lock("other.example") >= 0 ? 0 : 1);
	if (pid > 0)
		waitpid(pid, &st, 0);
	T_CASE("shared: another domain's lock is free", pid > 0 && WIFEXITED(st)
	    && WEXITSTATUS(st) == 0, "status %d", st);
	T_CASE("shared: nothing on disk yet: nothing to read",
	    stscache_reread("lock.example", t, t) == 0, "read something");
	/* the winner saves its policy, as another process */
	n = snprintf(text, sizeof(text), "mxtls-sts 1\ndomain: lock.example\nid: id7\n"
	    "fetched: %lld\nexpires: %lld\n\nversion: STSv1\nmode: enforce\nmx: a.example\n"
	    "max_age: 86400\n", (long long) t, (long long) t + 86400);
	snprintf(path, sizeof(path), "%s/lock.example", dir);
	{
		FILE *fp = fopen(path, "w");

		if (fp) {
			fwrite(text, 1, (size_t) n, fp);
			fclose(fp);
		}
	}
	close(fd);
	T_CASE("shared: an entry older than the wait is not taken",
	    stscache_reread("lock.example", t + 5, t + 5) == 0, "taken");
	T_CASE("shared: the winner's entry is read into memory",
	    stscache_reread("lock.example", t, t) == 1 && stscache_get("lock.example")
	    && strcmp(stscache_get("lock.example")->id, "id7") == 0, "not read");
	memset(&e, 0, sizeof(e));
	T_CASE("shared: the lock file is not an entry at start-up",
	    stscache_init(dir, t, err, sizeof(err)) == 0
	    && stscache_get(".lock.lock.example") == NULL, "%s", err);
	stscache_drop("lock.example");
	snprintf(path, sizeof(path), "%s/.lock.lock.example", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.lock.other.example", dir);
	unlink(path);
	rmdir(dir);
	(void) stscache_init("", t, err, sizeof(err));
}

/* entry - an entry for d: a policy (id, mode) fetched at f, or none */
static void
entry(struct sts_entry *e, const char *d, const char *id, const char *mode, time_t f)
{
	char body[256], why[256];
	struct sts_policy p;

	memset(e, 0, sizeof(*e));
	snprintf(e->domain, sizeof(e->domain), "%s", d);
	if (id == NULL)
		return;
	snprintf(body, sizeof(body), "version: STSv1\nmode: %s\nmx: mx1.%s\nmx: *.%s\n"
	    "max_age: 86400\n", mode, d, d);
	(void) sts_policy_parse(body, strlen(body), &p, why, sizeof(why));
	sts_cache_fetched(e, id, &p, f);
}

/* redis_value - the shared cache's value: round trip, expiry, hostile
 * values refused with a reason */
static void
redis_value(void)
{
	struct sts_conf conf = {86400, 300, 60};
	struct sts_entry e, r;
	char text[12288], why[256], bad[16384];
	time_t t = 1700000000, exat = 0;
	int n, rc;

	entry(&e, "shared.example", "id7", "enforce", t);
	n = stscache_shared_format(&e, t + 1, text, sizeof(text), &exat);
	rc = n > 0 ? stscache_shared_parse("shared.example", text, (size_t) n, t + 1, &r, why,
	    sizeof(why)) : -1;
	T_CASE("redis value: a policy round trip", rc == 0 && r.has_policy
	    && strcmp(r.id, "id7") == 0 && r.fetched == t && r.expires == t + 86400
	    && r.policy.mode == STS_MODE_ENFORCE && r.policy.nmx == 2
	    && strcmp(r.policy.mx[1], "*.shared.example") == 0 && r.policy.max_age == 86400
	    && r.fail_rtype == RTYPE_NONE && exat == t + 86400, "rc=%d why=%s exat=%lld", rc, why,
	    (long long) exat);
	sts_cache_failed(&e, t + 10, &conf, RTYPE_STS_WEBPKI_INVALID, "bad certificate\r\nX: 1");
	n = stscache_shared_format(&e, t + 11, text, sizeof(text), &exat);
	rc = n > 0 ? stscache_shared_parse("shared.example", text, (size_t) n, t + 11, &r, why,
	    sizeof(why)) : -1;
	T_CASE("redis value: a policy and a failure round trip, reason one line", rc == 0
	    && r.has_policy && r.fail_until == t + 310 && r.fail_rtype == RTYPE_STS_WEBPKI_INVALID
	    && strcmp(r.fail_why, "bad certificate??X: 1") == 0 && exat == t + 86400,
	    "rc=%d why=%s fail_why=%s", rc, why, r.fail_why);
	entry(&e, "neg.example", NULL, NULL, 0);
	sts_cache_failed(&e, t, &conf, RTYPE_STS_POLICY_INVALID, "line 2: no mode");
	n = stscache_shared_format(&e, t, text, sizeof(text), &exat);
	rc = n > 0 ? stscache_shared_parse("neg.example", text, (size_t) n, t, &r, why,
	    sizeof(why)) : -1;
	T_CASE("redis value: a negative entry round trip, expiring with its failure", rc == 0
	    && !r.has_policy && r.fail_rtype == RTYPE_STS_POLICY_INVALID && exat == t + 300,
	    "rc=%d why=%s exat=%lld", rc, why, (long long) exat);
	T_CASE("redis value: nothing of use (the failure over) is not shared",
	    stscache_shared_format(&e, t + 300, text, sizeof(text), &exat) == -1, "shared");
	entry(&e, "old.example", "id1", "testing", t - 86400);
	T_CASE("redis value: an expired policy is not shared",
	    stscache_shared_format(&e, t, text, sizeof(text), &exat) == -1, "shared");

	entry(&e, "shared.example", "id7", "enforce", t);
	n = stscache_shared_format(&e, t, text, sizeof(text), &exat);
	rc = stscache_shared_parse("other.example", text, (size_t) n, t, &r, why, sizeof(why));
	T_CASE("redis value: another domain's value refused", rc < 0
	    && strcmp(why, "domain does not match") == 0, "rc=%d why=%s", rc, why);
	{
		static const struct {
			const char *name, *value, *why;
		} hostile[] = {
			{"empty", "", "truncated"},
			{"no header end", "mxtls-sts 1\ndomain: shared.example\n", "truncated"},
			{"no magic", "domain: shared.example\nfail-until: 1700000100\n\n",
			    "header incomplete"},
			{"unknown line", "mxtls-sts 1\ndomain: shared.example\nevil: 1\n\n",
			    "unknown header line"},
			{"fail-until far ahead", "mxtls-sts 1\ndomain: shared.example\n"
			    "fail-until: 1800000000\nfail-type: sts-policy-invalid\n\n",
			    "fail-until too far ahead"},
			{"unknown failure type", "mxtls-sts 1\ndomain: shared.example\n"
			    "fail-until: 1700000100\nfail-type: starttls-not-supported\n\n",
			    "unknown failure type"},
			{"policy without times", "mxtls-sts 1\ndomain: shared.example\n"
			    "fail-until: 1700000100\n\nversion: STSv1\nmode: none\nmx: a\n"
			    "max_age: 1\n", "policy without id"},
			{"times out of range", "mxtls-sts 1\ndomain: shared.example\nid: a\n"
			    "fetched: 1700000000\nexpires: 1600000000\n\nversion: STSv1\n"
			    "mode: enforce\nmx: a.example\nmax_age: 60\n", "times out of range"},
			{"bad policy", "mxtls-sts 1\ndomain: shared.example\nid: a\n"
			    "fetched: 1700000000\nexpires: 1700000060\n\nversion: STSv1\n"
			    "mode: always\nmx: a.example\nmax_age: 60\n", "mode"},
			{"negative time", "mxtls-sts 1\ndomain: shared.example\nid: a\n"
			    "fetched: -5\nexpires: 1700000060\n\n", "unknown header line"},
		};

		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
			char name[128];

			snprintf(name, sizeof(name), "redis value refused: %s", hostile[i].name);
			rc = stscache_shared_parse("shared.example", hostile[i].value,
			    strlen(hostile[i].value), t, &r, why, sizeof(why));
			T_CASE(name, rc < 0 && strstr(why, hostile[i].why) != NULL, "rc=%d why=%s",
			    rc, why);
		}
	}
	memcpy(bad, "mxtls-sts 1\ndomain: shared.example\nfail-until: 1700000100\n\0\n", 61);
	rc = stscache_shared_parse("shared.example", bad, 61, t, &r, why, sizeof(why));
	T_CASE("redis value refused: a NUL byte", rc < 0 && strcmp(why, "NUL byte") == 0,
	    "rc=%d why=%s", rc, why);
	memset(bad, 'a', sizeof(bad));
	memcpy(bad, "mxtls-sts 1\ndomain: ", 20);
	bad[sizeof(bad) - 2] = '\n';
	bad[sizeof(bad) - 1] = '\n';
	rc = stscache_shared_parse("shared.example", bad, sizeof(bad), t, &r, why, sizeof(why));
	T_CASE("redis value refused: a header of 16 KiB", rc < 0
	    && strcmp(why, "header too long") == 0, "rc=%d why=%s", rc, why);
}

/* merge - another gateway's entry into ours: newer policies and longer
 * failures come in, nothing we know goes */
static void
merge(void)
{
	struct sts_conf conf = {86400, 300, 60};
	struct sts_entry e, r;
	time_t t = 1700000000;
	int ch;

	entry(&e, "m.example", NULL, NULL, 0);
	entry(&r, "m.example", "id2", "enforce", t);
	ch = sts_cache_merge(&e, &r);
	T_CASE("merge: a policy where we had none", ch && e.has_policy && strcmp(e.id, "id2") == 0
	    && e.fetched == t && e.last_attempt == t
	    && sts_cache_step(&e, STS_TXT_FOUND, "id2", t + 5, &conf) == STS_EXTEND,
	    "ch=%d id=%s", ch, e.id);
	T_CASE("merge: the same entry again changes nothing", sts_cache_merge(&e, &r) == 0,
	    "changed");
	entry(&r, "m.example", "id3", "testing", t + 100);
	ch = sts_cache_merge(&e, &r);
	T_CASE("merge: a policy fetched later replaces ours (a new id, a new mode)", ch
	    && strcmp(e.id, "id3") == 0 && e.policy.mode == STS_MODE_TESTING
	    && e.expires == t + 100 + 86400, "ch=%d id=%s", ch, e.id);
	entry(&r, "m.example", "id2", "enforce", t);
	ch = sts_cache_merge(&e, &r);
	T_CASE("merge: a policy fetched earlier does not replace ours", !ch
	    && strcmp(e.id, "id3") == 0, "ch=%d id=%s", ch, e.id);
	entry(&r, "m.example", NULL, NULL, 0);
	sts_cache_failed(&r, t + 200, &conf, RTYPE_STS_WEBPKI_INVALID, "expired certificate");
	ch = sts_cache_merge(&e, &r);
	T_CASE("merge: another gateway's failure without a policy keeps ours (no downgrade)",
	    ch && e.has_policy && strcmp(e.id, "id3") == 0 && e.fail_until == t + 500
	    && e.fail_rtype == RTYPE_STS_WEBPKI_INVALID && sts_cache_applies(&e, t + 300)
	    && strcmp(e.fail_why, "expired certificate") == 0, "ch=%d has=%d", ch, e.has_policy);
	T_CASE("merge: while it holds, no fetch of our own (negative cache shared)",
	    sts_cache_step(&e, STS_TXT_FOUND, "id4", t + 300, &conf) == STS_USE
	    && strcmp(failure(&e, STS_TXT_FOUND, "id4", t + 300), "sts-webpki-invalid") == 0,
	    "step=%d", sts_cache_step(&e, STS_TXT_FOUND, "id4", t + 300, &conf));
	entry(&r, "m.example", NULL, NULL, 0);
	sts_cache_failed(&r, t + 100, &conf, RTYPE_STS_POLICY_FETCH_ERROR, "timeout");
	ch = sts_cache_merge(&e, &r);
	T_CASE("merge: a failure ending sooner than ours changes nothing", !ch
	    && e.fail_rtype == RTYPE_STS_WEBPKI_INVALID && e.fail_until == t + 500, "ch=%d", ch);
	entry(&e, "m.example", "id3", "enforce", t);
	e.expires = t + 86400 + 50;		/* extended here */
	entry(&r, "m.example", "id3", "enforce", t);
	r.expires = t + 86400 + 900;		/* ... and longer there */
	ch = sts_cache_merge(&e, &r);
	T_CASE("merge: the same fetch extended there: the later expiry", ch
	    && e.expires == t + 86400 + 900, "ch=%d expires=%lld", ch, (long long) e.expires);
	r.expires = t + 86400;
	T_CASE("merge: ... never an earlier one", sts_cache_merge(&e, &r) == 0
	    && e.expires == t + 86400 + 900, "expires=%lld", (long long) e.expires);
	entry(&e, "m.example", "id3", "enforce", t);
	entry(&r, "m.example", "id9", "none", t + 10);
	ch = sts_cache_merge(&e, &r);
	T_CASE("merge: a later mode none is taken (the domain withdrew it)", ch
	    && e.policy.mode == STS_MODE_NONE && strcmp(e.id, "id9") == 0, "ch=%d", ch);
}

int
main(void)
{
	T_INIT("sts");
	redis_value();
	merge();
	txt();
	policies();
	patterns();
	cache();
	negative();
	cachefile();
	restart();
	shared();
	return t_done();
}
