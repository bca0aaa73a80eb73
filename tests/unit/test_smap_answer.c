/*
 * test_smap_answer.c - proxy/smap_answer.c: every answer the socketmap
 * gives Postfix.  Table entries as ptable_parse() reads them (each level,
 * match=, fingerprints, protocols=, grades and cipher lists, report-only),
 * plans of every shape (DNS trouble, null MX, DANE before MTA-STS, every
 * DANE host failing, MTA-STS enforce and testing, a policy that could not
 * be had), the TLSRPT map's attributes, and hostile plans: reasons and
 * patterns with CR, LF, NUL and spaces, policy lines with braces, a policy
 * too big for a reply, and random bytes everywhere; every answer must go
 * through smap_reply() and be at most SMAP_ANSWER_MAX octets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/smap_answer.h"
#include "t.h"

static const char table[] =
    "sec.example       secure match=.sec.example:mx.other.example "
    "protocols=>=TLSv1.2 servername=hostname\n"
    "ver.example       verify tafile=/etc/mxtls/ca.pem ciphers=high\n"
    "list.example      encrypt ciphers=ECDHE+AESGCM:!aNULL\n"
    "fp.example        fingerprint match=00112233445566778899aabbccddeeff"
    "00112233445566778899aabbccddeeff\n"
    "ro.example        secure mode=report-only\n"
    "may.example       may\n"
    "none.example      none\n"
    "dane.example      dane-only\n"
    ".sub.example      encrypt\n"
    "[192.0.2.25]:25   encrypt protocols=TLSv1.3\n";

static struct ptable tab;
static const struct smap_ctx px = {SMAP_MAP_POSTFIX, 0, 0, 0};
static const struct smap_ctx ro = {SMAP_MAP_POSTFIX, 1, 0, 0};
static const struct smap_ctx rpt = {SMAP_MAP_TLSRPT, 0, 0, 0};

/* wire_ok - the answer is a reply smap_reply() takes, within the cap */
static int
wire_ok(const struct smap_answer *a)
{
	static char out[SMAP_MAX + 16];
	size_t n;

	if (a->len > SMAP_ANSWER_MAX || strlen(a->text) != a->len)
		return 0;
	if (memchr(a->text, '\r', a->len) || memchr(a->text, '\n', a->len))
		return 0;
	return smap_reply(out, sizeof(out), a->kind, a->text, a->len, &n) == 0;
}

/* is - kind and text */
static int
is(const struct smap_answer *a, int kind, const char *text)
{
	return a->kind == kind && strcmp(a->text, text) == 0 && wire_ok(a);
}

/* entry_case - the answer for a table key */
static void
entry_case(const char *label, const char *dom, const struct smap_ctx *cx,
    int kind, const char *text)
{
	const struct ptab_entry *e = dom[0] == '[' ? ptable_find_dest(&tab, "192.0.2.25", 25)
	    : ptable_find(&tab, dom);
	struct smap_answer a;

	if (e == NULL) {
		T_CASE(label, 0, "no entry for %s", dom);
		return;
	}
	smap_answer_entry(e, cx, &a);
	T_CASE(label, is(&a, kind, text), "got %d \"%s\"", a.kind, a.text);
}

/* test_entries - the admin's table in Postfix's words */
static void
test_entries(void)
{
	char err[256];
	struct smap_answer a;
	struct ptab_entry e;

	if (ptable_parse(&tab, "t", table, sizeof(table) - 1, err, sizeof(err)) < 0) {
		T_CASE("table parses", 0, "%s", err);
		return;
	}
	entry_case("secure: match, servername, protocols as exclusions", "sec.example", &px,
	    SMAP_R_OK, "secure match=.sec.example:mx.other.example servername=hostname "
	    "protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1");
	entry_case("verify: tafile and a cipher grade", "ver.example", &px, SMAP_R_OK,
	    "verify match=hostname ciphers=high tafile=/etc/mxtls/ca.pem");
	entry_case("an OpenSSL cipher list is not said", "list.example", &px, SMAP_R_OK,
	    "encrypt");
	entry_case("fingerprint: colon-separated upper-case hex", "fp.example", &px, SMAP_R_OK,
	    "fingerprint match=00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
	entry_case("entry mode=report-only: may, mode= never said", "ro.example", &px,
	    SMAP_R_OK, "may");
	entry_case("global report-only: secure becomes may", "sec.example", &ro, SMAP_R_OK,
	    "may");
	entry_case("global report-only: dane-only becomes may", "dane.example", &ro,
	    SMAP_R_OK, "may");
	entry_case("global report-only keeps none", "none.example", &ro, SMAP_R_OK, "none");
	entry_case("may", "may.example", &px, SMAP_R_OK, "may");
	entry_case("dane-only", "dane.example", &px, SMAP_R_OK, "dane-only");
	entry_case(".parent entry for a subdomain", "a.b.sub.example", &px, SMAP_R_OK,
	    "encrypt");
	entry_case("[192.0.2.25]:25 destination", "[192.0.2.25]:25", &px, SMAP_R_OK,
	    "encrypt protocols=!SSLv2:!SSLv3:!TLSv1:!TLSv1.1:!TLSv1.2");

	/* Values the parser would refuse, built by hand: never said. */
	memset(&e, 0, sizeof(e));
	e.level = PTAB_SECURE;
	e.line = 7;
	e.servername = (char *) "a b";
	smap_answer_entry(&e, &px, &a);
	T_CASE("servername with a space: TEMP naming the line", a.kind == SMAP_R_TEMP
	    && strstr(a.text, "line 7") && wire_ok(&a), "got %d \"%s\"", a.kind, a.text);
	e.servername = (char *) "x\r\nOK none";
	smap_answer_entry(&e, &px, &a);
	T_CASE("servername with CR LF: TEMP", a.kind == SMAP_R_TEMP && wire_ok(&a),
	    "got %d \"%s\"", a.kind, a.text);
	e.servername = NULL;
	e.nmatch = 1;
	e.match[0] = (char *) "{a}";
	smap_answer_entry(&e, &px, &a);
	T_CASE("match with braces: TEMP", a.kind == SMAP_R_TEMP && wire_ok(&a),
	    "got %d \"%s\"", a.kind, a.text);
	e.match[0] = (char *) "a,b";
	smap_answer_entry(&e, &px, &a);
	T_CASE("match with a comma: TEMP", a.kind == SMAP_R_TEMP && wire_ok(&a),
	    "got %d \"%s\"", a.kind, a.text);
	e.level = PTAB_NLEVELS;
	smap_answer_entry(&e, &px, &a);
	T_CASE("no such level: TEMP", a.kind == SMAP_R_TEMP && wire_ok(&a), "got %d", a.kind);
	smap_answer_entry(&e, &ro, &a);
	T_CASE("no such level, report-only: may", is(&a, SMAP_R_OK, "may"), "got %d \"%s\"",
	    a.kind, a.text);
	e.level = PTAB_MAY;
	e.nmatch = 0;
	e.ciphers = (char *) "high";
	e.tafile = (char *) "/a b";
	smap_answer_entry(&e, &px, &a);
	T_CASE("may with an unsayable value: TEMP", a.kind == SMAP_R_TEMP && wire_ok(&a),
	    "got %d \"%s\"", a.kind, a.text);
	smap_answer_entry(&e, &ro, &a);
	T_CASE("may with an unsayable value, report-only: may (never TEMP)",
	    is(&a, SMAP_R_OK, "may"), "got %d \"%s\"", a.kind, a.text);
}

/* new_plan - an OK plan of n hosts, all DANE_NONE */
static struct plan *
new_plan(int n)
{
	struct plan *p = calloc(1, sizeof(*p));

	if (p == NULL)
		exit(2);
	snprintf(p->domain, sizeof(p->domain), "example.com");
	p->status = PLAN_OK;
	p->nhosts = n;
	for (int i = 0; i < n; i++)
		snprintf(p->hosts[i].name, sizeof(p->hosts[i].name), "mx%d.example.com", i);
	return p;
}

/* set_sts - an MTA-STS policy of a mode with the given patterns */
static void
set_sts(struct plan *p, enum sts_mode m, const char *const *mx, int n)
{
	p->sts.has_policy = 1;
	p->has_sts = m != STS_MODE_NONE;
	p->sts.policy.mode = m;
	p->sts.policy.nmx = n;
	for (int i = 0; i < n; i++)
		snprintf(p->sts.policy.mx[i], STS_NAME_MAX, "%s", mx[i]);
	snprintf(p->sts.policy.text, sizeof(p->sts.policy.text),
	    "version: STSv1\nmode: %s\n", sts_mode_str(m));
	for (int i = 0; i < n; i++) {
		size_t l = strlen(p->sts.policy.text);

		snprintf(p->sts.policy.text + l, sizeof(p->sts.policy.text) - l,
		    "mx: %s\n", mx[i]);
	}
	strcat(p->sts.policy.text, "max_age: 86400\n");
}

/* plan_case - one plan, one context, one answer */
static void
plan_case(const char *label, const struct plan *p, const struct smap_ctx *cx, int kind,
    const char *text)
{
	struct smap_answer a;

	smap_answer_plan(p, cx, &a);
	T_CASE(label, is(&a, kind, text), "got %d \"%s\"", a.kind, a.text);
}

/* test_plans - the policy lookups' outcomes */
static void
test_plans(void)
{
	static const char *const mx[] = {"mx1.example.com", "*.example.net"};
	struct plan *p = new_plan(2);
	struct smap_answer a;

	plan_case("no policy: NOTFOUND", p, &px, SMAP_R_NOTFOUND, "");
	plan_case("no policy, TLSRPT map: NOTFOUND", p, &rpt, SMAP_R_NOTFOUND, "");

	p->status = PLAN_TEMPFAIL;
	snprintf(p->why, sizeof(p->why), "MX lookup for example.com is bogus");
	plan_case("DNSSEC bogus: TEMP with the reason", p, &px, SMAP_R_TEMP,
	    "MX lookup for example.com is bogus");
	plan_case("DNSSEC bogus, report-only: may", p, &ro, SMAP_R_OK, "may");
	memcpy(p->why, "bad\r\nOK none\0x", 15);
	smap_answer_plan(p, &px, &a);
	T_CASE("reason with CR LF: cleaned, cut at NUL", a.kind == SMAP_R_TEMP
	    && strcmp(a.text, "bad??OK none") == 0 && wire_ok(&a), "got \"%s\"", a.text);
	memset(p->why, 'x', sizeof(p->why) - 1);
	p->why[sizeof(p->why) - 1] = 0;
	smap_answer_plan(p, &px, &a);
	T_CASE("long reason: cut to SMAP_REASON_MAX", a.kind == SMAP_R_TEMP
	    && a.len == SMAP_REASON_MAX && wire_ok(&a), "len %zu", a.len);
	p->why[0] = 0;
	plan_case("empty reason: a reason anyway", p, &px, SMAP_R_TEMP, "DNS lookup failed");

	p->status = PLAN_NULLMX;
	plan_case("null MX: NOTFOUND", p, &px, SMAP_R_NOTFOUND, "");
	p->status = PLAN_NODOMAIN;
	plan_case("NXDOMAIN: NOTFOUND", p, &px, SMAP_R_NOTFOUND, "");
	p->status = PLAN_OK;

	set_sts(p, STS_MODE_ENFORCE, mx, 2);
	plan_case("MTA-STS enforce: secure, *. as .", p, &px, SMAP_R_OK,
	    "secure match=mx1.example.com:.example.net servername=hostname");
	plan_case("MTA-STS enforce, report-only: may", p, &ro, SMAP_R_OK, "may");
	plan_case("MTA-STS enforce, TLSRPT map: the attributes", p, &rpt, SMAP_R_OK,
	    "secure match=mx1.example.com:.example.net servername=hostname "
	    "policy_type=sts policy_domain=example.com mx_host_pattern=mx1.example.com "
	    "mx_host_pattern=*.example.net { policy_string = version: STSv1 } "
	    "{ policy_string = mode: enforce } { policy_string = mx: mx1.example.com } "
	    "{ policy_string = mx: *.example.net } { policy_string = max_age: 86400 }");

	p->hosts[1].dane = DANE_AUTH;
	plan_case("DANE before MTA-STS: dane-only", p, &px, SMAP_R_OK, "dane-only");
	plan_case("DANE, TLSRPT map: no STS attributes", p, &rpt, SMAP_R_OK, "dane-only");
	plan_case("DANE, report-only: may", p, &ro, SMAP_R_OK, "may");
	p->hosts[1].dane = DANE_UNAUTH;
	plan_case("secure unusable TLSA: dane-only", p, &px, SMAP_R_OK, "dane-only");
	p->hosts[1].dane = DANE_FAIL;
	plan_case("one DANE host failing: the rest decides (MTA-STS)", p, &px, SMAP_R_OK,
	    "secure match=mx1.example.com:.example.net servername=hostname");
	p->hosts[0].dane = DANE_FAIL;
	snprintf(p->hosts[0].why, sizeof(p->hosts[0].why), "TLSA of mx0 is bogus");
	plan_case("every DANE host failing: TEMP", p, &px, SMAP_R_TEMP, "TLSA of mx0 is bogus");
	plan_case("every DANE host failing, report-only: may", p, &ro, SMAP_R_OK, "may");
	p->hosts[0].dane = p->hosts[1].dane = DANE_NONE;

	set_sts(p, STS_MODE_TESTING, mx, 2);
	plan_case("MTA-STS testing: NOTFOUND (as postfix-mta-sts-resolver)", p, &px,
	    SMAP_R_NOTFOUND, "");
	{
		struct smap_ctx st = {SMAP_MAP_POSTFIX, 0, 1, 0};

		plan_case("MTA-STS testing, strict_testing: secure", p, &st, SMAP_R_OK,
		    "secure match=mx1.example.com:.example.net servername=hostname");
	}
	set_sts(p, STS_MODE_NONE, mx, 0);
	plan_case("MTA-STS none: NOTFOUND", p, &px, SMAP_R_NOTFOUND, "");

	{
		struct smap_ctx rt = {SMAP_MAP_POSTFIX, 0, 0, 1};
		struct smap_ctx rtro = {SMAP_MAP_POSTFIX, 1, 0, 1};

		set_sts(p, STS_MODE_TESTING, mx, 2);
		plan_case("require_tls: MTA-STS testing gets the floor, encrypt", p, &rt,
		    SMAP_R_OK, "encrypt");
		memset(&p->sts, 0, sizeof(p->sts));
		p->has_sts = 0;
		plan_case("require_tls: no policy, encrypt", p, &rt, SMAP_R_OK, "encrypt");
		plan_case("require_tls, report-only: NOTFOUND", p, &rtro, SMAP_R_NOTFOUND, "");
		p->hosts[0].dane = DANE_AUTH;
		plan_case("require_tls: DANE stays dane-only", p, &rt, SMAP_R_OK, "dane-only");
		p->hosts[0].dane = DANE_NONE;
		set_sts(p, STS_MODE_ENFORCE, mx, 2);
		plan_case("require_tls: MTA-STS enforce stays secure", p, &rt, SMAP_R_OK,
		    "secure match=mx1.example.com:.example.net servername=hostname");
		p->status = PLAN_NODOMAIN;
		plan_case("require_tls: NXDOMAIN stays NOTFOUND", p, &rt, SMAP_R_NOTFOUND, "");
		p->status = PLAN_OK;
		smap_answer_none(&rt, &a);
		T_CASE("smap_answer_none with require_tls: encrypt", is(&a, SMAP_R_OK, "encrypt"),
		    "got %d", a.kind);
		smap_answer_none(&px, &a);
		T_CASE("smap_answer_none: NOTFOUND", is(&a, SMAP_R_NOTFOUND, ""), "got %d", a.kind);
	}
	memset(&p->sts, 0, sizeof(p->sts));
	p->has_sts = 0;
	p->sts.rtype = RTYPE_STS_POLICY_FETCH_ERROR;
	plan_case("policy could not be had: NOTFOUND (RFC 8461 5)", p, &px,
	    SMAP_R_NOTFOUND, "");
	plan_case("policy could not be had, TLSRPT map: NOTFOUND", p, &rpt,
	    SMAP_R_NOTFOUND, "");
	free(p);
}

/* test_hostile - odd patterns, lines and sizes */
static void
test_hostile(void)
{
	static const char *const bad[] = {
		"mx.example.com\r\nOK none", "mx example.com", "mx.example.com\x80",
		"mx{.example.com", "*", "", "a..b\x01", "mx.exa,mple.com",
	};
	struct plan *p = new_plan(1);
	struct smap_answer a;
	char big[STS_NAME_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *two[] = {"mx1.example.com", bad[i]};
		char label[80];

		set_sts(p, STS_MODE_ENFORCE, two, 2);
		smap_answer_plan(p, &rpt, &a);
		snprintf(label, sizeof(label), "odd pattern %zu: TEMP, clean", i);
		T_CASE(label, a.kind == SMAP_R_TEMP && wire_ok(&a), "got %d \"%s\"", a.kind,
		    a.text);
	}
	{
		static const char *const one[] = {"mx1.example.com"};

		set_sts(p, STS_MODE_ENFORCE, one, 1);
		snprintf(p->sts.policy.text, sizeof(p->sts.policy.text),
		    "version: STSv1\r\nmode: enforce\nx: {a}\nmx: mx1.example.com\n"
		    "y: \x01z\n\n   \nz: \xc3\xa9\nmax_age: 1\n");
		plan_case("policy lines with braces, controls, UTF-8: left out", p, &rpt,
		    SMAP_R_OK, "secure match=mx1.example.com servername=hostname "
		    "policy_type=sts policy_domain=example.com mx_host_pattern=mx1.example.com "
		    "{ policy_string = version: STSv1 } { policy_string = mode: enforce } "
		    "{ policy_string = mx: mx1.example.com } { policy_string = max_age: 1 }");
	}
	snprintf(p->domain, sizeof(p->domain), "exa mple.com");
	smap_answer_plan(p, &rpt, &a);
	T_CASE("odd policy domain: TEMP", a.kind == SMAP_R_TEMP && wire_ok(&a), "got %d",
	    a.kind);
	snprintf(p->domain, sizeof(p->domain), "example.com");

	/* 32 patterns of 253 octets: the plain answer fits, TLSRPT's does not. */
	memset(big, 'a', 253);
	big[253] = 0;
	for (int i = 0; i < 4; i++)
		big[63 + 64 * i] = '.';
	p->sts.policy.nmx = STS_MAX_MX;
	for (int i = 0; i < STS_MAX_MX; i++) {
		memcpy(p->sts.policy.mx[i], big, 254);
		p->sts.policy.mx[i][0] = (char) ('a' + i % 26);
	}
	memset(p->sts.policy.text, 'v', sizeof(p->sts.policy.text) - 1);
	{
		struct smap_answer plain;

		smap_answer_plan(p, &px, &plain);
		smap_answer_plan(p, &rpt, &a);
		T_CASE("too big for TLSRPT: the plain answer", plain.kind == SMAP_R_OK
		    && a.kind == SMAP_R_OK && strcmp(a.text, plain.text) == 0
		    && plain.len > 32 * 253 && wire_ok(&a), "kinds %d %d, len %zu %zu",
		    plain.kind, a.kind, plain.len, a.len);
	}
	free(p);
}

/* rnd - a small fixed-seed generator */
static unsigned
rnd(void)
{
	static unsigned long long s = 88172645463325252ull;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (unsigned) s;
}

/* fill - random octets, NUL-ended, of at most n - 1 */
static void
fill(char *d, size_t n)
{
	static const char odd[] = "ab.*-\r\n {}:,\x01\x7f";
	size_t len = rnd() % n;

	for (size_t i = 0; i < len; i++)
		d[i] = (char) (rnd() % 4 ? odd[rnd() % (sizeof(odd) - 1)] : (char) rnd());
	d[len] = 0;
}

/* test_random - random plans: every answer is a clean reply */
static void
test_random(void)
{
	struct plan *p = new_plan(PLAN_MAX_HOSTS);
	int bad = 0, kinds[5] = {0, 0, 0, 0, 0};

	for (int it = 0; it < 20000; it++) {
		struct smap_ctx cx = {(int) (rnd() % 2), (int) (rnd() % 4 == 0), (int) (rnd() % 2),
		    (int) (rnd() % 2)};
		struct smap_answer a;

		p->status = (enum plan_status) (rnd() % 4);
		p->nhosts = (int) (rnd() % (PLAN_MAX_HOSTS + 1));
		for (int i = 0; i < p->nhosts; i++) {
			p->hosts[i].dane = (enum dane_state) (rnd() % 4);
			fill(p->hosts[i].why, 64);
		}
		fill(p->why, sizeof(p->why));
		fill(p->domain, rnd() % 2 ? 40 : sizeof(p->domain));
		p->has_sts = (int) (rnd() % 2);
		p->sts.policy.mode = (enum sts_mode) (rnd() % 3);
		p->sts.policy.nmx = (int) (rnd() % (STS_MAX_MX + 1));
		for (int i = 0; i < p->sts.policy.nmx; i++)
			fill(p->sts.policy.mx[i], rnd() % 2 ? 24 : STS_NAME_MAX);
		fill(p->sts.policy.text, sizeof(p->sts.policy.text));
		smap_answer_plan(p, &cx, &a);
		if (a.kind >= SMAP_R_OK && a.kind <= SMAP_R_PERM)
			kinds[a.kind]++;
		bad += !wire_ok(&a) || (a.kind == SMAP_R_OK && a.len == 0)
		    || (a.kind == SMAP_R_NOTFOUND && a.len != 0);
	}
	T_CASE("20000 random plans: every answer a clean reply", bad == 0, "%d bad", bad);
	T_CASE("random plans reach OK, NOTFOUND and TEMP", kinds[SMAP_R_OK] > 0
	    && kinds[SMAP_R_NOTFOUND] > 0 && kinds[SMAP_R_TEMP] > 0, "%d %d %d",
	    kinds[SMAP_R_OK], kinds[SMAP_R_NOTFOUND], kinds[SMAP_R_TEMP]);
	free(p);
}

/* test_misc - map names, simple answers */
static void
test_misc(void)
{
	struct smap_answer a;

	T_CASE("map postfix", smap_map_of("postfix", 7) == SMAP_MAP_POSTFIX, "not mapped");
	T_CASE("map postfix-tlsrpt", smap_map_of("postfix-tlsrpt", 14) == SMAP_MAP_TLSRPT, "not mapped");
	T_CASE("map Postfix is unknown", smap_map_of("Postfix", 7) == -1, "mapped");
	T_CASE("map postfi is unknown", smap_map_of("postfi", 6) == -1, "mapped");
	T_CASE("map postfix-tlsrptx is unknown", smap_map_of("postfix-tlsrptx", 15) == -1, "mapped");
	smap_answer_simple(SMAP_R_PERM, "unknown map", &px, &a);
	T_CASE("PERM unknown map", is(&a, SMAP_R_PERM, "unknown map"), "\"%s\"", a.text);
	smap_answer_simple(SMAP_R_PERM, "unknown map", &ro, &a);
	T_CASE("PERM kept in report-only", is(&a, SMAP_R_PERM, "unknown map"), "%d", a.kind);
	smap_answer_simple(SMAP_R_TEMP, "lookup\ntimed out", &px, &a);
	T_CASE("TEMP cleaned", is(&a, SMAP_R_TEMP, "lookup?timed out"), "\"%s\"", a.text);
	smap_answer_simple(SMAP_R_TEMP, "lookup timed out", &ro, &a);
	T_CASE("TEMP in report-only: may", is(&a, SMAP_R_OK, "may"), "\"%s\"", a.text);
	smap_answer_simple(SMAP_R_NOTFOUND, "ignored", &px, &a);
	T_CASE("NOTFOUND has no text", is(&a, SMAP_R_NOTFOUND, ""), "\"%s\"", a.text);
	smap_answer_simple(SMAP_R_OK, "", &px, &a);
	T_CASE("empty OK refused: TEMP", a.kind == SMAP_R_TEMP && wire_ok(&a), "%d", a.kind);
}

int
main(void)
{
	T_INIT("test_smap_answer");
	test_entries();
	test_plans();
	test_hostile();
	test_random();
	test_misc();
	ptable_free(&tab);
	return t_done();
}
