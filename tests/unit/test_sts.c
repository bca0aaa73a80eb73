/*
 * test_sts.c - MTA-STS (RFC 8461): the TXT record (3.1), the policy file
 * (3.2), mx patterns (4.1), and the cache rules (5, 5.1) with a fake clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/sts.h"
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
	sts_cache_failed(&e, t + 700000, &conf);
	T_CASE("cache: after a failed fetch, no refetch within negative_ttl (cached applies)",
	    sts_cache_step(&e, STS_TXT_FOUND, "c", t + 700100, &conf) == STS_USE, "no");
	T_CASE("cache: refetch after negative_ttl",
	    sts_cache_step(&e, STS_TXT_FOUND, "c", t + 700000 + 301, &conf) == STS_FETCH, "no");
	{
		struct sts_entry f;

		memset(&f, 0, sizeof(f));
		sts_cache_failed(&f, t, &conf);
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

int
main(void)
{
	T_INIT("sts");
	txt();
	policies();
	patterns();
	cache();
	return t_done();
}
