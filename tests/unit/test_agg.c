/*
 * test_agg.c - TLSRPT aggregation and rendering (report/agg.c): counts,
 * policy grouping, the UTC day boundary, per-host DANE reports, stable
 * order, report-id and file name, gzip, and every rendered report run
 * through a field-by-field RFC 8460 section 4 validator (which must
 * itself reject hand-made bad reports).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "../../report/agg.h"
#include "t.h"

#define DAY	1763769600LL		/* 2025-11-22T00:00:00Z */

static const struct report_meta meta = {"Example Org", "mailto:tlsrpt@example.org",
	"mxtls.example.org"};

/* mk - one record */
static void
mk(struct rec *r, long long t, const char *dom, const char *ptype, const char *pol,
    const char *pat, const char *mx, const char *ip, const char *src,
    const char *result, const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->sid, sizeof(r->sid), "T%lld", t);
	snprintf(r->domain, sizeof(r->domain), "%s", dom);
	snprintf(r->ptype, sizeof(r->ptype), "%s", ptype);
	snprintf(r->policy, sizeof(r->policy), "%s", pol);
	snprintf(r->mxpat, sizeof(r->mxpat), "%s", pat);
	snprintf(r->mx, sizeof(r->mx), "%s", mx);
	snprintf(r->ip, sizeof(r->ip), "%s", ip);
	snprintf(r->helo, sizeof(r->helo), "%s", mx);
	snprintf(r->src, sizeof(r->src), "%s", src);
	snprintf(r->result, sizeof(r->result), "%s", result);
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	snprintf(r->action, sizeof(r->action), "%s",
	    strcmp(result, "success") ? "refused" : "delivered");
}

/* find - the report for a domain */
static const struct agg_report *
find(const struct agg *a, const char *dom)
{
	for (int i = 0; i < agg_count(a); i++)
		if (strcmp(agg_get(a, i)->domain, dom) == 0)
			return agg_get(a, i);
	return NULL;
}

/* find_fail - a failure detail by result type, sending IP and receiving IP */
static const struct agg_fail *
find_fail(const struct agg_policy *p, const char *result, const char *src, const char *ip)
{
	for (int i = 0; i < p->nfails; i++)
		if (strcmp(p->fails[i].result, result) == 0 && strcmp(p->fails[i].src, src) == 0
		    && strcmp(p->fails[i].ip, ip) == 0)
			return &p->fails[i];
	return NULL;
}

/*
 * The RFC 8460 section 4 validator.  Returns 1, or 0 with why filled.
 */
static char vwhy[256];

static int
bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vwhy, sizeof(vwhy), fmt, ap);
	va_end(ap);
	return 0;
}

/* in_set - s is one of the NULL-terminated list */
static int
in_set(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

/* keys_ok - o is an object, every member known, every required one there */
static int
keys_ok(const cJSON *o, const char *what, const char *const *known, const char *const *req)
{
	const cJSON *m;

	if (!cJSON_IsObject(o))
		return bad("%s is not an object", what);
	cJSON_ArrayForEach(m, o)
		if (!in_set(m->string, known))
			return bad("unknown member %s in %s", m->string, what);
	for (; *req; req++)
		if (!cJSON_GetObjectItemCaseSensitive(o, *req))
			return bad("%s lacks %s", what, *req);
	return 1;
}

/* str_ok - a string member (when present); nonempty when asked */
static int
str_ok(const cJSON *o, const char *key, int nonempty)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return 1;
	if (!cJSON_IsString(v))
		return bad("%s is not a string", key);
	if (nonempty && *v->valuestring == 0)
		return bad("%s is empty", key);
	return 1;
}

/* strs_ok - an array of strings (when present) */
static int
strs_ok(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;

	if (v == NULL)
		return 1;
	if (!cJSON_IsArray(v))
		return bad("%s is not an array", key);
	cJSON_ArrayForEach(e, v)
		if (!cJSON_IsString(e))
			return bad("%s has an item that is not a string", key);
	return 1;
}

/* count_of - an integer >= 0, or -1 */
static double
count_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15
	    || v->valuedouble != (double) (long long) v->valuedouble)
		return -1;
	return v->valuedouble;
}

/* digits - n ASCII digits */
static int
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* rfc3339 - date-time (RFC 3339 5.6) */
static int
rfc3339(const char *s)
{
	int mo, d, h, mi, se;

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-'
	    || !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2)
	    || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return 0;
	mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14), se = atoi(s + 17);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return 0;
	s += 19;
	if (*s == '.') {
		if (!digits(++s, 1))
			return 0;
		while (digits(s, 1))
			s++;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == 0)
		return 1;
	return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2)
	    && s[6] == 0;
}

/* ip_ok - an IPv4 or IPv6 address */
static int
ip_ok(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static const char *const top_keys[] = {"organization-name", "date-range", "contact-info",
	"report-id", "policies", NULL};
static const char *const range_keys[] = {"start-datetime", "end-datetime", NULL};
static const char *const item_keys[] = {"policy", "summary", "failure-details", NULL};
static const char *const item_req[] = {"policy", "summary", NULL};
static const char *const pol_keys[] = {"policy-type", "policy-string", "policy-domain",
	"mx-host", NULL};
static const char *const pol_req[] = {"policy-type", "policy-domain", NULL};
static const char *const sum_keys[] = {"total-successful-session-count",
	"total-failure-session-count", NULL};
static const char *const fd_keys[] = {"result-type", "sending-mta-ip", "receiving-mx-hostname",
	"receiving-mx-helo", "receiving-ip", "failed-session-count", "additional-information",
	"failure-reason-code", NULL};
/* sending-mta-ip and receiving-mx-hostname are left out only for a failure
 * before any MX host was known (a DNS failure of the MX lookup itself). */
static const char *const fd_req[] = {"result-type", "failed-session-count", NULL};
static const char *const ptypes[] = {"tlsa", "sts", "no-policy-found", NULL};
static const char *const rtypes[] = {"starttls-not-supported", "certificate-host-mismatch",
	"certificate-expired", "certificate-not-trusted", "validation-failure", "tlsa-invalid",
	"dnssec-invalid", "dane-required", "sts-policy-fetch-error", "sts-policy-invalid",
	"sts-webpki-invalid", NULL};

/* valid_fd - one failure-details item; adds its count to *sum */
static int
valid_fd(const cJSON *f, double *sum)
{
	double n;
	const cJSON *v;

	if (!keys_ok(f, "failure-details item", fd_keys, fd_req))
		return 0;
	for (const char *const *k = fd_keys; *k; k++)
		if (strcmp(*k, "failed-session-count") != 0 && !str_ok(f, *k, 0))
			return 0;
	v = cJSON_GetObjectItemCaseSensitive(f, "result-type");
	if (!in_set(v->valuestring, rtypes))
		return bad("unknown result-type %s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(f, "sending-mta-ip");
	if (v && !ip_ok(v->valuestring))
		return bad("sending-mta-ip %s is not an address", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(f, "receiving-ip");
	if (v && !ip_ok(v->valuestring))
		return bad("receiving-ip %s is not an address", v->valuestring);
	if ((n = count_of(f, "failed-session-count")) < 0)
		return bad("failed-session-count is not an integer >= 0");
	*sum += n;
	return 1;
}

/* valid_item - one policies[] item */
static int
valid_item(const cJSON *it)
{
	const cJSON *p, *s, *fd, *f, *t;
	double ok, failed, sum = 0;

	if (!keys_ok(it, "policies item", item_keys, item_req))
		return 0;
	p = cJSON_GetObjectItemCaseSensitive(it, "policy");
	if (!keys_ok(p, "policy", pol_keys, pol_req) || !str_ok(p, "policy-type", 1)
	    || !str_ok(p, "policy-domain", 1) || !strs_ok(p, "policy-string")
	    || !strs_ok(p, "mx-host"))
		return 0;
	t = cJSON_GetObjectItemCaseSensitive(p, "policy-type");
	if (!in_set(t->valuestring, ptypes))
		return bad("unknown policy-type %s", t->valuestring);
	if ((strcmp(t->valuestring, "no-policy-found") != 0)
	    != (cJSON_GetObjectItemCaseSensitive(p, "policy-string") != NULL))
		return bad("policy-string wrongly present or absent for %s", t->valuestring);
	s = cJSON_GetObjectItemCaseSensitive(it, "summary");
	if (!keys_ok(s, "summary", sum_keys, sum_keys))
		return 0;
	if ((ok = count_of(s, sum_keys[0])) < 0 || (failed = count_of(s, sum_keys[1])) < 0)
		return bad("a summary count is not an integer >= 0");
	if ((fd = cJSON_GetObjectItemCaseSensitive(it, "failure-details")) != NULL) {
		if (!cJSON_IsArray(fd))
			return bad("failure-details is not an array");
		cJSON_ArrayForEach(f, fd)
			if (!valid_fd(f, &sum))
				return 0;
	}
	if (sum != failed)
		return bad("total-failure-session-count %.0f but failure-details sum to %.0f",
		    failed, sum);
	if (ok + failed == 0)
		return bad("a policy with no sessions");
	return 1;
}

/* utf8_ok - the text is UTF-8 (RFC 3629), as JSON text must be */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], cp;
		size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : (c & 0xf0) == 0xe0 ? 3
		    : c >= 0xf0 && c <= 0xf4 ? 4 : 0;

		if (n == 0 || len - i < n)
			return 0;
		cp = n == 1 ? c : c & (0x7fU >> n);
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3fU);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
		    || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}

/* valid_report - the whole RFC 8460 4 report */
static int
valid_report(const char *json, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *dr, *s, *e, *pa, *it;
	int rc = 0;

	if (o == NULL) {
		bad("not JSON");
		goto out;
	}
	if (!utf8_ok((const unsigned char *) json, len)) {
		bad("not UTF-8");
		goto out;
	}
	if (!keys_ok(o, "report", top_keys, top_keys) || !str_ok(o, "organization-name", 0)
	    || !str_ok(o, "contact-info", 0) || !str_ok(o, "report-id", 1))
		goto out;
	dr = cJSON_GetObjectItemCaseSensitive(o, "date-range");
	if (!keys_ok(dr, "date-range", range_keys, range_keys) || !str_ok(dr, range_keys[0], 1)
	    || !str_ok(dr, range_keys[1], 1))
		goto out;
	s = cJSON_GetObjectItemCaseSensitive(dr, "start-datetime");
	e = cJSON_GetObjectItemCaseSensitive(dr, "end-datetime");
	if (!rfc3339(s->valuestring) || !rfc3339(e->valuestring)) {
		bad("date-range is not RFC 3339: %s .. %s", s->valuestring, e->valuestring);
		goto out;
	}
	if (strcmp(s->valuestring, e->valuestring) >= 0) {
		bad("date-range ends before it starts");
		goto out;
	}
	pa = cJSON_GetObjectItemCaseSensitive(o, "policies");
	if (!cJSON_IsArray(pa) || cJSON_GetArraySize(pa) == 0) {
		bad("policies is not a non-empty array");
		goto out;
	}
	cJSON_ArrayForEach(it, pa)
		if (!valid_item(it))
			goto out;
	rc = 1;
out:
	cJSON_Delete(o);
	return rc;
}

/* render_str - agg_render() into a fresh NUL-terminated string */
static char *
render_str(const struct agg_report *r, long long day)
{
	struct buf b;
	char *s = NULL;

	buf_init(&b);
	if (agg_render(r, day, &meta, &b) == 0 && buf_append(&b, "", 1) == 0)
		s = strdup(buf_head(&b));
	buf_free(&b);
	return s;
}

/* validate_all - every report of an aggregate through the validator */
static int
validate_all(const struct agg *a, long long day, int *nchecked)
{
	for (int i = 0; i < agg_count(a); i++) {
		char *s = render_str(agg_get(a, i), day);
		int ok = s && valid_report(s, strlen(s));

		if (!ok) {
			printf("# invalid report for %s: %s\n# %s\n", agg_get(a, i)->domain, vwhy,
			    s ? s : "(render failed)");
			free(s);
			return 0;
		}
		(*nchecked)++;
		free(s);
	}
	return 1;
}

#define TLSA_A	"3 1 1 0D3A28AA"
#define TLSA_B	"2 0 1 ABCDEF01"
#define STS_POL	"version: STSv1\nmode: enforce\nmx: mx1.sts.example\nmx: *.backup.sts.example\nmax_age: 604800\n"
#define STS_PAT	"mx1.sts.example\n*.backup.sts.example\n"

/* mixed - a day with tlsa, sts and no-policy-found, in a given order */
static int
mixed(struct agg *a, const int *order, int n)
{
	struct rec r;
	int counted = 0;

	for (int i = 0; i < n; i++) {
		int k = order ? order[i] : i;
		long long t = DAY + 60 * k;

		switch (k % 8) {
		case 0:
			mk(&r, t, "dane.example", "tlsa", TLSA_A "\n" TLSA_B "\n", "",
			    "mx1.dane-host.example", "192.0.2.31", "192.0.2.1", "success", "");
			break;
		case 1:
			mk(&r, t, "dane.example", "tlsa", TLSA_B "\n" TLSA_A "\n", "",
			    "mx1.dane-host.example", "192.0.2.31", "192.0.2.2", "tlsa-invalid",
			    "X509_V_ERR_DANE_NO_MATCH");
			break;
		case 2:
			mk(&r, t, "dane.example", "tlsa", "3 1 1 FFFF\n", "",
			    "mx2.dane-host.example", "2001:db8::25", "192.0.2.1", "success", "");
			break;
		case 3:
			mk(&r, t, "sts.example", "sts", STS_POL, STS_PAT, "mx1.sts.example",
			    "198.51.100.7", "192.0.2.1", "success", "");
			break;
		case 4:
			mk(&r, t, "sts.example", "sts", STS_POL, STS_PAT, "mx1.sts.example",
			    "198.51.100.7", "192.0.2.1", "certificate-expired", "");
			break;
		case 5:
			mk(&r, t, "plain.example", "no-policy-found", "", "", "mx.plain.example",
			    "203.0.113.9", "192.0.2.1", "success", "");
			break;
		case 6:
			mk(&r, t, "plain.example", "no-policy-found", "", "", "mx.plain.example",
			    "", "192.0.2.1", "starttls-not-supported", "");
			break;
		default:
			mk(&r, t, "dane.example", "tlsa", TLSA_A "\n", "", "mx1.dane-host.example",
			    "192.0.2.31", "192.0.2.2", "dnssec-invalid", "");
			break;
		}
		counted += agg_add(a, &r) == 1;
	}
	return counted;
}

/* all_json - every report rendered, concatenated */
static char *
all_json(const struct agg *a)
{
	struct buf b;
	char *s;

	buf_init(&b);
	for (int i = 0; i < agg_count(a); i++) {
		agg_render(agg_get(a, i), DAY, &meta, &b);
		buf_append(&b, "\n", 1);
	}
	buf_append(&b, "", 1);
	s = strdup(buf_head(&b));
	buf_free(&b);
	return s;
}

static void
test_counts(void)
{
	struct agg *a = agg_new(DAY);
	const struct agg_report *r;
	const struct agg_fail *f;
	struct rec rc;
	int i;

	/* sts.example: 5 ok; expired 3x from .1 to .7, 3x from .2 to .7,
	 * 1x from .1 to .8; webpki 4x from .1 to .7, 1x from .2 to .7 */
	for (i = 0; i < 15; i++) {
		const char *src = i < 5 || i == 8 || i == 9 || i == 10 || i == 11 || i >= 13
		    ? "192.0.2.1" : "192.0.2.2";
		const char *ip = i == 11 ? "198.51.100.8" : "198.51.100.7";
		const char *res = i < 5 ? "success" : i < 12 ? "certificate-expired"
		    : "sts-webpki-invalid";

		mk(&rc, DAY + i, "sts.example", "sts", STS_POL, STS_PAT, "mx1.sts.example", ip,
		    src, res, "");
		agg_add(a, &rc);
	}
	for (i = 0; i < 2; i++) {
		mk(&rc, DAY + 100 + i, "sts.example", "sts", STS_POL, STS_PAT, "mx1.sts.example",
		    "198.51.100.7", "192.0.2.1", "sts-webpki-invalid", "");
		agg_add(a, &rc);
	}
	/* Attempts the admin's policy table decided are in no report. */
	for (i = 0; i < 3; i++) {
		mk(&rc, DAY + 200 + i, "sts.example", "sts", STS_POL, STS_PAT, "mx1.sts.example",
		    "198.51.100.7", "192.0.2.1", i ? "success" : "certificate-expired", "");
		snprintf(rc.table, sizeof(rc.table), "sts.example secure");
		T_CASE("counts: a policy-table record is not counted", agg_add(a, &rc) == 0,
		    "counted");
	}
	agg_finish(a);
	r = find(a, "sts.example");
	T_CASE("counts: one report, one policy", agg_count(a) == 1 && r && r->npols == 1,
	    "reports=%d", agg_count(a));
	if (r == NULL || r->npols != 1)
		goto out;
	T_CASE("counts: successes and failures", r->ok == 5 && r->failed == 12
	    && r->pols[0].ok == 5 && r->pols[0].failed == 12, "ok=%ld failed=%ld", r->ok, r->failed);
	f = find_fail(&r->pols[0], "certificate-expired", "192.0.2.1", "198.51.100.7");
	T_CASE("counts: per result type, sending and receiving IP (1)", f && f->count == 3,
	    "count=%ld", f ? f->count : -1);
	f = find_fail(&r->pols[0], "certificate-expired", "192.0.2.2", "198.51.100.7");
	T_CASE("counts: per result type, sending and receiving IP (2)", f && f->count == 3,
	    "count=%ld", f ? f->count : -1);
	f = find_fail(&r->pols[0], "certificate-expired", "192.0.2.1", "198.51.100.8");
	T_CASE("counts: per result type, sending and receiving IP (3)", f && f->count == 1,
	    "count=%ld", f ? f->count : -1);
	f = find_fail(&r->pols[0], "sts-webpki-invalid", "192.0.2.1", "198.51.100.7");
	T_CASE("counts: per result type, sending and receiving IP (4)", f && f->count == 4,
	    "count=%ld", f ? f->count : -1);
	T_CASE("counts: five failure details", r->pols[0].nfails == 5, "nfails=%d",
	    r->pols[0].nfails);
	T_CASE("counts: failure details by type, then by count",
	    r->pols[0].nfails == 5 && r->pols[0].fails[0].count == 3
	    && r->pols[0].fails[2].count == 1
	    && strcmp(r->pols[0].fails[3].result, "sts-webpki-invalid") == 0
	    && strcmp(r->pols[0].fails[0].src, "192.0.2.1") == 0, "first=%s/%ld",
	    r->pols[0].fails[0].src, r->pols[0].fails[0].count);
out:
	agg_free(a);
}

static void
test_grouping(void)
{
	struct agg *a = agg_new(DAY);
	const struct agg_report *r;
	struct rec rc;
	int n = 0;

	T_CASE("grouping: records counted", mixed(a, NULL, 64) == 64, "no");
	mk(&rc, DAY, "", "tlsa", TLSA_A, "", "mx.example", "192.0.2.1", "192.0.2.9", "success", "");
	T_CASE("grouping: empty domain ignored", agg_add(a, &rc) == 0, "counted");
	mk(&rc, DAY, "x.example", "dmarc", "", "", "mx.example", "192.0.2.1", "192.0.2.9",
	    "success", "");
	T_CASE("grouping: unknown policy type ignored", agg_add(a, &rc) == 0, "counted");
	mk(&rc, DAY, "bad/domain!x", "sts", "", "", "mx.example", "192.0.2.1", "192.0.2.9",
	    "success", "");
	T_CASE("grouping: a domain that is no host name ignored", agg_add(a, &rc) == 0, "counted");
	mk(&rc, DAY, "sts.example", "sts", STS_POL, STS_PAT, "mx1.sts.example", "198.51.100.7",
	    "192.0.2.1", "connection-failure", "ECONNREFUSED");
	T_CASE("grouping: connection-failure not counted", agg_add(a, &rc) == 0, "counted");
	mk(&rc, DAY, "odd.example", "no-policy-found", "", "", "mx.odd.example", "192.0.2.77",
	    "192.0.2.1", "starttls-not-supported", "");
	snprintf(rc.helo, sizeof(rc.helo), "mx\xff\xc0\x80 caf\xc3\xa9 \xed\xa0\x80\"\\\x01");
	agg_add(a, &rc);
	agg_finish(a);

	r = find(a, "dane.example");
	/* TLSA_A+TLSA_B in either order: one; TLSA_A alone: another;
	 * mx2's TLSA: a third */
	T_CASE("grouping: same TLSA set one policy, other TLSA text another",
	    r && r->npols == 3, "npols=%d", r ? r->npols : -1);
	if (r && r->npols == 3) {
		const struct agg_policy *ab = NULL, *ao = NULL;

		for (int i = 0; i < 3; i++) {
			if (strcmp(r->pols[i].policy, TLSA_B "\n" TLSA_A "\n") == 0
			    || strcmp(r->pols[i].policy, TLSA_A "\n" TLSA_B "\n") == 0)
				ab = &r->pols[i];
			if (strcmp(r->pols[i].policy, TLSA_A "\n") == 0)
				ao = &r->pols[i];
		}
		T_CASE("grouping: TLSA set counts (either RR order)", ab && ab->ok == 8
		    && ab->failed == 8 && ab->nfails == 1, "ab=%p", (const void *) ab);
		T_CASE("grouping: TLSA single-RR policy", ao && ao->ok == 0 && ao->failed == 8
		    && strcmp(ao->mxhost, "mx1.dane-host.example\n") == 0
		    && strcmp(ao->domain, "dane.example") == 0, "ao=%p", (const void *) ao);
		T_CASE("grouping: policies ordered by mx-host",
		    strcmp(r->pols[2].mxhost, "mx2.dane-host.example\n") == 0, "%s",
		    r->pols[2].mxhost);
	}
	r = find(a, "sts.example");
	T_CASE("grouping: sts patterns as mx-host", r && r->npols == 1
	    && strcmp(r->pols[0].mxhost, STS_PAT) == 0 && strcmp(r->pols[0].policy, STS_POL) == 0
	    && r->ok == 8 && r->failed == 8, "r=%p", (const void *) r);
	if (r) {
		char *s = render_str(r, DAY);

		T_CASE("grouping: sts JSON mx-host and policy-string arrays", s
		    && strstr(s, "\"mx-host\":[\"mx1.sts.example\",\"*.backup.sts.example\"]")
		    && strstr(s, "\"policy-string\":[\"version: STSv1\",\"mode: enforce\","),
		    "%s", s ? s : "-");
		free(s);
	}
	r = find(a, "plain.example");
	T_CASE("grouping: no-policy-found", r && r->npols == 1
	    && strcmp(r->pols[0].ptype, "no-policy-found") == 0 && r->ok == 8 && r->failed == 8,
	    "r=%p", (const void *) r);
	if (r) {
		char *s = render_str(r, DAY);

		T_CASE("grouping: no-policy-found has no policy-string; empty receiving-ip left out",
		    s && strstr(s, "policy-string") == NULL && strstr(s, "receiving-ip") == NULL
		    && strstr(s, "\"mx-host\":[\"mx.plain.example\"]"), "%s", s ? s : "-");
		free(s);
	}
	r = find(a, "odd.example");
	if (r) {
		char *s = render_str(r, DAY);

		T_CASE("grouping: a HELO that is not UTF-8 is rendered as valid UTF-8", s
		    && strstr(s, "\"receiving-mx-helo\":\"mx??? caf\xc3\xa9 ???\\\"\\\\\\u0001\""),
		    "%s", s ? s : "-");
		free(s);
	}
	T_CASE("grouping: validator accepts tlsa, sts, no-policy-found reports",
	    validate_all(a, DAY, &n) && n == agg_count(a) && n == 6, "checked %d of %d", n,
	    agg_count(a));
	agg_free(a);
}

static void
test_days(void)
{
	long long t[] = {DAY - 1, DAY, DAY + 86399, DAY + 86400};
	int want_today[] = {0, 1, 1, 0}, want_before[] = {1, 0, 0, 0}, want_after[] = {0, 0, 0, 1};
	struct agg *today = agg_new(DAY), *before = agg_new(DAY - 86400),
	    *after = agg_new(DAY + 86400);
	struct rec r;
	int ok = 1;

	for (int i = 0; i < 4; i++) {
		mk(&r, t[i], "day.example", "sts", STS_POL, STS_PAT, "mx1.sts.example",
		    "198.51.100.7", "192.0.2.1", "success", "");
		ok &= agg_add(today, &r) == want_today[i];
		ok &= agg_add(before, &r) == want_before[i];
		ok &= agg_add(after, &r) == want_after[i];
	}
	T_CASE("days: 23:59:59, 00:00:00, 23:59:59, 00:00:00 split at UTC midnight", ok, "no");
	agg_finish(today);
	agg_finish(before);
	agg_finish(after);
	T_CASE("days: counts per day", agg_count(today) == 1 && agg_get(today, 0)->ok == 2
	    && agg_get(before, 0)->ok == 1 && agg_get(after, 0)->ok == 1, "no");
	{
		char *s = render_str(agg_get(before, 0), DAY - 86400);

		T_CASE("days: date-range is the whole UTC day", s
		    && strstr(s, "\"date-range\":{\"start-datetime\":\"2025-11-21T00:00:00Z\","
			"\"end-datetime\":\"2025-11-21T23:59:59Z\"}"), "%s", s ? s : "-");
		free(s);
	}
	agg_free(today);
	agg_free(before);
	agg_free(after);
}

static void
test_per_host(void)
{
	struct agg *a = agg_new(DAY);
	const struct agg_report *r;
	struct rec rc;
	int n = 0;

	mixed(a, NULL, 16);
	/* MX == domain (case and trailing dot aside): no per-host report */
	mk(&rc, DAY, "Self.Example", "tlsa", TLSA_A, "", "self.example.", "192.0.2.40",
	    "192.0.2.1", "success", "");
	agg_add(a, &rc);
	/* sts with another MX host: no per-host report either */
	mk(&rc, DAY, "sts.example", "sts", STS_POL, STS_PAT, "mx9.elsewhere.example",
	    "192.0.2.41", "192.0.2.1", "success", "");
	agg_add(a, &rc);
	agg_finish(a);
	r = find(a, "mx1.dane-host.example");
	T_CASE("per-host: DANE report for the MX host", r && r->per_host == 1 && r->npols == 2
	    && r->ok == 2 && r->failed == 4, "r=%p", (const void *) r);
	if (r && r->npols == 2) {
		char *s = render_str(r, DAY);

		T_CASE("per-host: policy-domain and mx-host are the MX host",
		    strcmp(r->pols[0].domain, "mx1.dane-host.example") == 0
		    && strcmp(r->pols[0].mxhost, "mx1.dane-host.example\n") == 0 && s
		    && strstr(s, "\"policy-domain\":\"mx1.dane-host.example\","
			"\"mx-host\":[\"mx1.dane-host.example\"]"), "%s", s ? s : "-");
		free(s);
	}
	r = find(a, "dane.example");
	T_CASE("per-host: the domain's own report is not per-host", r && r->per_host == 0,
	    "r=%p", (const void *) r);
	T_CASE("per-host: none for MX == domain", find(a, "self.example")
	    && find(a, "self.example")->per_host == 0 && find(a, "self.example")->npols == 1,
	    "no self.example");
	T_CASE("per-host: none for sts", find(a, "mx9.elsewhere.example") == NULL
	    && find(a, "mx1.sts.example") == NULL, "found");
	T_CASE("per-host: reports", agg_count(a) == 6, "count=%d", agg_count(a));
	T_CASE("per-host: validator accepts every report", validate_all(a, DAY, &n), "no");
	agg_free(a);

	/* the MX host is a recipient domain of the day too: one report */
	a = agg_new(DAY);
	mk(&rc, DAY, "dane.example", "tlsa", TLSA_A, "", "mx.shared.example", "192.0.2.40",
	    "192.0.2.1", "success", "");
	agg_add(a, &rc);
	mk(&rc, DAY + 1, "mx.shared.example", "tlsa", TLSA_A, "", "mx.shared.example",
	    "192.0.2.40", "192.0.2.1", "tlsa-invalid", "");
	agg_add(a, &rc);
	agg_finish(a);
	r = find(a, "mx.shared.example");
	T_CASE("per-host: merged with the host's own domain report", agg_count(a) == 2 && r
	    && r->per_host == 0 && r->npols == 1 && r->ok == 1 && r->failed == 1,
	    "count=%d", agg_count(a));
	agg_free(a);
}

static void
test_order(void)
{
	enum { N = 200 };
	int fwd[N], rev[N], shuf[N];
	struct agg *a = agg_new(DAY), *b = agg_new(DAY), *c = agg_new(DAY);
	char *ja, *jb, *jc;
	unsigned seed = 12345;
	int sorted = 1;

	for (int i = 0; i < N; i++)
		fwd[i] = rev[N - 1 - i] = shuf[i] = i;
	for (int i = N - 1; i > 0; i--) {
		int j, t;

		seed = seed * 1103515245 + 12345;
		j = (int) ((seed >> 8) % (unsigned) (i + 1));
		t = shuf[i];
		shuf[i] = shuf[j];
		shuf[j] = t;
	}
	mixed(a, fwd, N);
	mixed(b, rev, N);
	/* add half, finish, add the rest: the indexes are rebuilt */
	mixed(c, shuf, N / 2);
	agg_finish(c);
	mixed(c, shuf + N / 2, N / 2);
	agg_finish(a);
	agg_finish(b);
	agg_finish(c);
	ja = all_json(a);
	jb = all_json(b);
	jc = all_json(c);
	T_CASE("order: same reports whatever the order of records", ja && jb && jc
	    && strcmp(ja, jb) == 0 && strcmp(ja, jc) == 0, "\n%s\n%s", ja, jc);
	for (int i = 1; i < agg_count(a); i++)
		sorted &= strcmp(agg_get(a, i - 1)->domain, agg_get(a, i)->domain) < 0;
	T_CASE("order: reports by domain", sorted && agg_count(a) == 5, "count=%d",
	    agg_count(a));
	T_CASE("order: add after finish does not duplicate", agg_count(c) == agg_count(a)
	    && agg_get(c, 0)->ok == agg_get(a, 0)->ok, "c=%d", agg_count(c));
	free(ja);
	free(jb);
	free(jc);
	agg_free(a);
	agg_free(b);
	agg_free(c);
}

static void
test_many(void)
{
	enum { N = 3000 };
	struct agg *a = agg_new(DAY);
	struct rec rc;
	char dom[64], mx[64];
	int ok = 1;

	/* past every initial table size; a second pass after agg_finish() */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < N; i++) {
			snprintf(dom, sizeof(dom), "d%d.example", i);
			snprintf(mx, sizeof(mx), "mx.h%d.example", i % 700);
			mk(&rc, DAY + i, dom, "tlsa", TLSA_A, "", mx, "192.0.2.5",
			    i % 3 ? "192.0.2.1" : "192.0.2.2", i % 2 ? "success" : "tlsa-invalid",
			    "");
			ok &= agg_add(a, &rc) == 1;
		}
		agg_finish(a);
	}
	T_CASE("many: every add counted", ok, "no");
	T_CASE("many: one report per domain and per MX host", agg_count(a) == N + 700,
	    "count=%d", agg_count(a));
	T_CASE("many: counts doubled by the second pass, no duplicates",
	    find(a, "d7.example") && find(a, "d7.example")->ok == 2
	    && find(a, "d8.example")->failed == 2 && find(a, "d8.example")->pols[0].nfails == 1
	    && find(a, "mx.h7.example") && find(a, "mx.h7.example")->ok
	    + find(a, "mx.h7.example")->failed == 2 * (N / 700 + (7 < N % 700)), "no");
	agg_free(a);
}

static void
test_names(void)
{
	struct agg *a = agg_new(DAY);
	struct rec rc;
	char id[512], fn[512];

	mk(&rc, DAY + 5, "Company-Y.Example", "sts", STS_POL, STS_PAT, "mx1.sts.example",
	    "198.51.100.7", "192.0.2.1", "success", "");
	agg_add(a, &rc);
	agg_finish(a);
	agg_report_id(agg_get(a, 0), DAY, "mxtls.example.org", id, sizeof(id));
	T_CASE("names: report-id", strcmp(id, "2025.11.22T00.00.00Z+company-y.example@mxtls.example.org")
	    == 0, "%s", id);
	agg_filename(agg_get(a, 0), DAY, "mxtls.example.org", fn, sizeof(fn));
	T_CASE("names: file name", strcmp(fn,
	    "mxtls.example.org!company-y.example!1763769600!1763855999.json.gz") == 0, "%s", fn);
	agg_filename(agg_get(a, 0), DAY, "../evil!x", fn, sizeof(fn));
	T_CASE("names: no / or ! from the submitter", strcmp(fn,
	    ".._evil_x!company-y.example!1763769600!1763855999.json.gz") == 0, "%s", fn);
	agg_report_id(agg_get(a, 0), DAY, "mxtls.example.org", id, 12);
	T_CASE("names: short buffer truncates, terminated", strlen(id) == 11, "%s", id);
	{
		char *s = render_str(agg_get(a, 0), DAY);

		T_CASE("names: report-id in the JSON, no additional-information, no empty "
		    "failure-details", s && strstr(s, "\"report-id\":\"2025.11.22T00.00.00Z+"
			"company-y.example@mxtls.example.org\"") && !strstr(s, "additional-information")
		    && !strstr(s, "failure-details")
		    && strstr(s, "\"organization-name\":\"Example Org\"")
		    && strstr(s, "\"contact-info\":\"mailto:tlsrpt@example.org\""), "%s", s ? s : "-");
		free(s);
	}
	agg_free(a);
}

/* gunzip - inflate a gzip stream; NULL when it is not one */
static char *
gunzip(const char *in, size_t len, size_t *outlen)
{
	z_stream z;
	size_t cap = 4096, n = 0;
	char *out = malloc(cap);
	int zr = Z_OK;

	memset(&z, 0, sizeof(z));
	if (out == NULL || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *) (uintptr_t) in;
	z.avail_in = (uInt) len;
	while (zr == Z_OK) {
		if (n == cap) {
			char *p = realloc(out, cap * 2);

			if (p == NULL)
				break;
			out = p;
			cap *= 2;
		}
		z.next_out = (Bytef *) out + n;
		z.avail_out = (uInt) (cap - n);
		zr = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
	}
	inflateEnd(&z);
	if (zr != Z_STREAM_END || z.avail_in != 0) {
		free(out);
		return NULL;
	}
	*outlen = n;
	return out;
}

static void
test_gzip(void)
{
	struct agg *a = agg_new(DAY);
	struct buf js, gz;
	char *back;
	size_t n = 0;

	buf_init(&js);
	buf_init(&gz);
	mixed(a, NULL, 400);
	agg_finish(a);
	for (int i = 0; i < agg_count(a); i++)
		agg_render(agg_get(a, i), DAY, &meta, &js);
	buf_puts(&gz, "prefix");
	T_CASE("gzip: compresses", agg_gzip(buf_head(&js), buf_used(&js), &gz) == 0
	    && buf_used(&gz) > 16 && (unsigned char) buf_head(&gz)[6] == 0x1f
	    && (unsigned char) buf_head(&gz)[7] == 0x8b, "used=%zu", buf_used(&gz));
	back = gunzip(buf_head(&gz) + 6, buf_used(&gz) - 6, &n);
	T_CASE("gzip: round trip", back && n == buf_used(&js)
	    && memcmp(back, buf_head(&js), n) == 0, "n=%zu want %zu", n, buf_used(&js));
	free(back);
	buf_reset(&gz);
	T_CASE("gzip: empty input", agg_gzip("", 0, &gz) == 0
	    && (back = gunzip(buf_head(&gz), buf_used(&gz), &n)) != NULL && n == 0, "no");
	free(back);
	{
		/* bigger than one output reservation, incompressible-ish */
		size_t big = 1 << 20;
		char *in = malloc(big);
		unsigned s = 1;

		for (size_t i = 0; i < big; i++) {
			s = s * 1103515245 + 12345;
			in[i] = (char) (s >> 16);
		}
		buf_reset(&gz);
		back = NULL;
		T_CASE("gzip: 1 MiB of noise round trip", in && agg_gzip(in, big, &gz) == 0
		    && (back = gunzip(buf_head(&gz), buf_used(&gz), &n)) != NULL && n == big
		    && memcmp(back, in, big) == 0, "n=%zu", n);
		free(back);
		free(in);
	}
	buf_free(&js);
	buf_free(&gz);
	agg_free(a);
}

static void
test_validator(void)
{
	static const char good[] =
	    "{\"organization-name\":\"o\",\"date-range\":{\"start-datetime\":\"2025-11-22T00:00:00Z\","
	    "\"end-datetime\":\"2025-11-22T23:59:59Z\"},\"contact-info\":\"c\",\"report-id\":\"x\","
	    "\"policies\":[{\"policy\":{\"policy-type\":\"sts\",\"policy-string\":[\"a\"],"
	    "\"policy-domain\":\"d.example\",\"mx-host\":[\"m\"]},\"summary\":{"
	    "\"total-successful-session-count\":1,\"total-failure-session-count\":2},"
	    "\"failure-details\":[{\"result-type\":\"certificate-expired\","
	    "\"sending-mta-ip\":\"192.0.2.1\",\"receiving-mx-hostname\":\"m\","
	    "\"failed-session-count\":2}]}]}";
	static const struct {
		const char *from, *to, *what;
	} breaks[] = {
		{"\"contact-info\"", "\"contact-inf0\"", "an unknown top-level member"},
		{",\"report-id\":\"x\"", "", "a missing report-id"},
		{"\"policy-domain\"", "\"policy-domian\"", "an unknown policy member"},
		{"\"total-failure-session-count\":2}", "\"total-failure-session-count\":2,\"x\":1}",
		    "an unknown summary member"},
		{"\"failed-session-count\":2}", "\"failed-session-count\":2,\"extra\":\"\"}",
		    "an unknown failure-details member"},
		{"\"total-failure-session-count\":2", "\"total-failure-session-count\":3",
		    "a summary that is not the sum of failure-details"},
		{"\"failed-session-count\":2", "\"failed-session-count\":\"2\"", "a count as a string"},
		{"\"total-successful-session-count\":1", "\"total-successful-session-count\":1.5",
		    "a fractional count"},
		{"\"total-successful-session-count\":1", "\"total-successful-session-count\":-1",
		    "a negative count"},
		{"2025-11-22T00:00:00Z", "2025-11-22 00:00:00", "a date that is not RFC 3339"},
		{"[\"a\"]", "\"a\"", "a policy-string that is not an array"},
		{"[\"m\"]", "[1]", "an mx-host array with a number"},
		{"\"sts\"", "\"dmarc\"", "an unknown policy-type"},
		{"192.0.2.1", "192.0.2.300", "a sending-mta-ip that is no address"},
		{"\"organization-name\":\"o\"", "\"organization-name\":\"o\xc0\xaf\"",
		    "text that is not UTF-8"},
	};
	char buf[2048];

	T_CASE("validator: accepts a hand-made good report", valid_report(good, strlen(good)),
	    "%s", vwhy);
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		const char *p = strstr(good, breaks[i].from);
		char name[128];

		snprintf(name, sizeof(name), "validator: rejects %s", breaks[i].what);
		if (p == NULL) {
			T_CASE(name, 0, "test data: %s not in the good report", breaks[i].from);
			continue;
		}
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int) (p - good), good, breaks[i].to,
		    p + strlen(breaks[i].from));
		T_CASE(name, !valid_report(buf, strlen(buf)), "accepted: %s", buf);
	}
}

int
main(void)
{
	T_INIT("agg");
	test_validator();
	test_counts();
	test_grouping();
	test_days();
	test_per_host();
	test_order();
	test_many();
	test_names();
	test_gzip();
	return t_done();
}
