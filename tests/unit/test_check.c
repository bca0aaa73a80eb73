/*
 * test_check.c - mxtls-check's pure part (tools/check_out.c): the
 * destination an old MTA would use, the table entry a session would find,
 * the verdict word of every kind of candidate, deliverable or not, the
 * _mta-sts TXT reading, the text lines and the --json object read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/addr.h"
#include "../../tools/check.h"
#include "t.h"

/* sa - an address with its port, from the text form */
static struct sockaddr_storage
sa(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (addr_parse(s, &ss, &len) < 0)
		memset(&ss, 0, sizeof(ss));
	return ss;
}

/* mkplan - a plan of n hosts mx1..mxN.d.example, 192.0.2.1.. port 25 */
static struct plan *
mkplan(int n, const enum dane_state *dane)
{
	struct plan *p = calloc(1, sizeof(*p));
	char a[64];

	snprintf(p->domain, sizeof(p->domain), "d.example");
	p->status = PLAN_OK;
	p->mx_sec = DNS_SECURE;
	p->min_ttl = -1;
	p->nhosts = n;
	for (int i = 0; i < n; i++) {
		struct plan_host *h = &p->hosts[i];

		char name[32];

		snprintf(name, sizeof(name), "mx%d.d.example", i + 1);
		snprintf(h->name, sizeof(h->name), "%s", name);
		snprintf(h->canon, sizeof(h->canon), "%s", name);
		snprintf(h->base, sizeof(h->base), "%s", name);
		h->pref = 10 * (i + 1);
		snprintf(a, sizeof(a), "192.0.2.%d:25", i + 1);
		h->addrs[0] = sa(a);
		h->naddrs = 1;
		h->addr_sec = DNS_SECURE;
		h->dane = dane ? dane[i] : DANE_NONE;
		h->tlsa_looked_up = 1;
		h->tlsa_sec = DNS_SECURE;
		if (h->dane == DANE_AUTH) {
			h->tlsa_exists = 1;
			static unsigned char digest[] = {0xab, 0xcd};

			h->ntlsa = 1;
			h->tlsa[0] = (struct plan_tlsa) {3, 1, 1, sizeof(digest), digest};
			snprintf(h->tlsa_text, sizeof(h->tlsa_text), "3 1 1 ABCD; 4 1 1 AB");
			h->nmalformed = 1;
		}
		if (h->dane == DANE_FAIL)
			snprintf(h->why, sizeof(h->why), "TLSA lookup of %s is bogus", name);
		if (h->dane != DANE_NONE)
			p->has_dane = 1;
	}
	return p;
}

/* with_sts - an MTA-STS policy on p: mode, one mx pattern */
static void
with_sts(struct plan *p, enum sts_mode mode, const char *mx)
{
	p->sts.has_policy = 1;
	p->has_sts = mode != STS_MODE_NONE;
	snprintf(p->sts.id, sizeof(p->sts.id), "id1");
	p->sts.policy.mode = mode;
	p->sts.policy.max_age = 86400;
	p->sts.policy.nmx = 1;
	snprintf(p->sts.policy.mx[0], sizeof(p->sts.policy.mx[0]), "%s", mx);
}

/* word - the verdict word of candidate i of p's route under o */
static const char *
word(const struct plan *p, const char *dest, const struct route_opts *o, int i,
    struct route *rt)
{
	static char buf[1200];
	struct sockaddr_storage d = sa(dest);

	route_build(p, &d, o, rt);
	if (i >= rt->ncands)
		return "(no such candidate)";
	chk_cand_word(p, rt, i, buf, sizeof(buf));
	return buf;
}

/* orig - chk_orig_of */
static void
orig(void)
{
	struct plan *p = mkplan(2, NULL);
	struct sockaddr_storage o;
	char s[ADDR_STRLEN];

	p->hosts[0].naddrs = 0;
	addr_set_port(&p->hosts[1].addrs[0], 2525);
	T_CASE("orig: the first host with an address, port 25",
	    chk_orig_of(p, &o) == 0 && (addr_port_str(&o, s, sizeof(s)), strcmp(s,
		"[192.0.2.2]:25") == 0), "%s", s);
	p->hosts[1].naddrs = 0;
	T_CASE("orig: none when no host has an address", chk_orig_of(p, &o) == -1
	    && o.ss_family == 0, "family %d", o.ss_family);
	p->status = PLAN_TEMPFAIL;
	p->hosts[1].naddrs = 1;
	T_CASE("orig: none for a failed plan", chk_orig_of(p, &o) == -1, "-");
	free(p);
}

/* table - chk_table_entry finds what a session finds */
static void
table(void)
{
	static const char text[] =
	    "[192.0.2.9]:25 verify\n"
	    "[mx1.d.example] encrypt\n"
	    "d.example may\n"
	    ".example.net secure\n";
	struct ptable t;
	struct plan *p = mkplan(2, NULL);
	struct sockaddr_storage d;
	const struct ptab_entry *e;
	char err[256];

	if (ptable_parse(&t, "tab", text, sizeof(text) - 1, err, sizeof(err)) < 0) {
		T_CASE("table parses", 0, "%s", err);
		free(p);
		return;
	}
	d = sa("192.0.2.9:25");
	e = route_table_entry(&t, p, &d);
	T_CASE("table: [addr]:port first", e && e->line == 1, "%s", e ? e->key : "none");
	d = sa("192.0.2.9:587");
	e = route_table_entry(&t, p, &d);
	T_CASE("table: another port is not [addr]:25", e && e->line == 3, "%s",
	    e ? e->key : "none");
	d = sa("192.0.2.1:25");
	e = route_table_entry(&t, p, &d);
	T_CASE("table: [MX name] of the host at dest", e && e->line == 2, "%s",
	    e ? e->key : "none");
	d = sa("192.0.2.2:25");
	e = route_table_entry(&t, p, &d);
	T_CASE("table: else the domain", e && e->line == 3, "%s", e ? e->key : "none");
	snprintf(p->domain, sizeof(p->domain), "a.b.example.net");
	e = route_table_entry(&t, p, &d);
	T_CASE("table: the nearest .parent", e && e->line == 4, "%s", e ? e->key : "none");
	snprintf(p->domain, sizeof(p->domain), "example.org");
	T_CASE("table: none", route_table_entry(&t, p, &d) == NULL, "-");
	memset(&d, 0, sizeof(d));
	snprintf(p->domain, sizeof(p->domain), "d.example");
	e = route_table_entry(&t, p, &d);
	T_CASE("table: no destination: the domain", e && e->line == 3, "%s",
	    e ? e->key : "none");
	T_CASE("table: no table", route_table_entry(NULL, p, &d) == NULL, "-");
	ptable_free(&t);
	free(p);
}

/* words - the verdict of every kind of candidate */
static void
words(void)
{
	static const enum dane_state auth_fail[] = {DANE_AUTH, DANE_FAIL};
	static const enum dane_state unauth[] = {DANE_UNAUTH};
	struct route_opts o = {.mismatch = MX_AUTO};
	struct route rt;
	struct plan *p = mkplan(2, auth_fail);
	const char *w;
	struct ptable t;
	char err[256];
	static const char tabtext[] = "d.example verify\ne.example dane-only\n";

	T_CASE("word: dane", strcmp(word(p, "192.0.2.1:25", &o, 0, &rt), "dane") == 0,
	    "%s", word(p, "192.0.2.1:25", &o, 0, &rt));
	w = word(p, "192.0.2.1:25", &o, 1, &rt);
	T_CASE("word: a failed DANE host is refused with its reason",
	    strcmp(w, "refuse: TLSA lookup of mx2.d.example is bogus") == 0, "%s", w);
	o.report_only = 1;
	w = word(p, "192.0.2.1:25", &o, 1, &rt);
	T_CASE("word: report-only notes the refusal",
	    strcmp(w, "opportunistic (report-only: would refuse: TLSA lookup of "
		"mx2.d.example is bogus)") == 0, "%s", w);
	o.report_only = 0;
	free(p);

	p = mkplan(1, unauth);
	w = word(p, "192.0.2.1:25", &o, 0, &rt);
	T_CASE("word: DANE without usable records", strcmp(w,
		"encrypt (DANE: no usable TLSA records)") == 0, "%s", w);
	free(p);

	p = mkplan(2, NULL);
	w = word(p, "192.0.2.1:25", &o, 0, &rt);
	T_CASE("word: no policy", strcmp(w, "opportunistic") == 0, "%s", w);
	o.require_tls = 1;
	w = word(p, "192.0.2.1:25", &o, 0, &rt);
	T_CASE("word: require_tls's floor", strcmp(w, "encrypt (require_tls)") == 0
	    && rt.cands[0].floor, "%s", w);
	o.require_tls = 0;
	o.mismatch = MX_PASS;
	w = word(p, "192.0.2.77:25", &o, 0, &rt);
	T_CASE("word: mx_mismatch pass keeps a non-MX destination",
	    strcmp(w, "opportunistic (not an MX address of the domain)") == 0, "%s", w);
	o.mismatch = MX_AUTO;

	with_sts(p, STS_MODE_ENFORCE, "mx2.d.example");
	w = word(p, "192.0.2.1:25", &o, 0, &rt);
	T_CASE("word: no mx pattern of an enforced policy", strcmp(w,
		"refuse: mx1.d.example matches no mx pattern of the enforced MTA-STS "
		"policy") == 0 && rt.cands[0].sts_skip, "%s", w);
	w = word(p, "192.0.2.1:25", &o, 1, &rt);
	T_CASE("word: sts-enforce", strcmp(w, "sts-enforce") == 0, "%s", w);
	p->sts.policy.mode = STS_MODE_TESTING;
	w = word(p, "192.0.2.1:25", &o, 0, &rt);
	T_CASE("word: sts-testing, mismatch noted", strcmp(w, "sts-testing (matches "
		"no mx pattern: noted, delivery goes on)") == 0, "%s", w);
	w = word(p, "192.0.2.1:25", &o, 1, &rt);
	T_CASE("word: sts-testing", strcmp(w, "sts-testing") == 0, "%s", w);
	o.require_tls = 1;
	w = word(p, "192.0.2.1:25", &o, 1, &rt);
	T_CASE("word: sts-testing under require_tls", strcmp(w, "sts-testing (require_tls: "
		"TLS a must)") == 0 && rt.cands[1].floor, "%s", w);
	o.require_tls = 0;
	o.strict_testing = 1;
	w = word(p, "192.0.2.1:25", &o, 1, &rt);
	T_CASE("word: strict_testing enforces", strcmp(w, "sts-enforce") == 0, "%s", w);
	o.strict_testing = 0;

	if (ptable_parse(&t, "tab", tabtext, sizeof(tabtext) - 1, err, sizeof(err)) < 0) {
		T_CASE("table parses", 0, "%s", err);
		free(p);
		return;
	}
	o.tab = ptable_find(&t, "d.example");
	w = word(p, "192.0.2.1:25", &o, 0, &rt);
	T_CASE("word: the table's level", strcmp(w, "table:verify") == 0, "%s", w);
	snprintf(p->domain, sizeof(p->domain), "e.example");
	o.tab = ptable_find(&t, "e.example");
	w = word(p, "192.0.2.1:25", &o, 0, &rt);
	T_CASE("word: dane-only without usable TLSA", strcmp(w,
		"refuse: dane-only: mx1.d.example has no usable TLSA records") == 0, "%s", w);
	o.tab = NULL;
	ptable_free(&t);
	free(p);
}

/* kinit - a check of plan p with route rt, the old MTA sent to 192.0.2.1 */
static void
kinit(struct chk *k, struct plan *p, struct route *rt)
{
	memset(k, 0, sizeof(*k));
	k->plan = p;
	k->rt = rt;
	k->dest = sa("192.0.2.1:25");
}

/* deliverable - chk_deliverable and the route's verdicts */
static void
deliverable(void)
{
	static const enum dane_state fail2[] = {DANE_FAIL, DANE_FAIL};
	struct plan *p = mkplan(2, fail2);
	struct route rt;
	struct chk k;

	kinit(&k, p, &rt);
	route_build(p, &k.dest, &k.opts, &rt);
	T_CASE("deliverable: every host failed", !chk_deliverable(&k), "ncands %d", rt.ncands);
	k.opts.report_only = 1;
	route_build(p, &k.dest, &k.opts, &rt);
	T_CASE("deliverable: report-only tries them", chk_deliverable(&k), "soft %d", rt.soft);
	k.opts.report_only = 0;
	p->hosts[1].dane = DANE_AUTH;
	route_build(p, &k.dest, &k.opts, &rt);
	T_CASE("deliverable: one host left", chk_deliverable(&k), "-");
	k.connect = 1;
	k.nconns = 1;
	k.conns[0].cand = 1;
	T_CASE("deliverable: --connect, no handshake done", !chk_deliverable(&k), "-");
	k.conns[0].ok = 1;
	T_CASE("deliverable: --connect, one handshake done", chk_deliverable(&k), "-");
	k.connect = 0;
	k.opts.mismatch = MX_REFUSE;
	k.dest = sa("192.0.2.99:25");
	route_build(p, &k.dest, &k.opts, &rt);
	T_CASE("deliverable: mx_mismatch refuse", !chk_deliverable(&k)
	    && rt.verdict == ROUTE_REFUSE, "verdict %d", rt.verdict);
	p->status = PLAN_NULLMX;
	route_build(p, &k.dest, &k.opts, &rt);
	T_CASE("deliverable: null MX", !chk_deliverable(&k), "-");
	free(p);
}

/* canary - chk_canary: refused for a policy reason, delivered, or not
 * proven (what --canary must not count as a refusal) */
static void
canary(void)
{
	static const enum dane_state fail2[] = {DANE_FAIL, DANE_FAIL};
	static const enum dane_state auth1[] = {DANE_AUTH};
	struct plan *p = mkplan(2, fail2);
	struct route rt;
	struct chk k;
	enum chk_canary v;

	kinit(&k, p, &rt);
	k.connect = 1;
	route_build(p, &k.dest, &k.opts, &rt);
	v = chk_canary(&k);
	T_CASE("canary: every host's DANE lookups failed: refused", v == CHK_CANARY_REFUSED,
	    "%s", chk_canary_str(v));
	k.opts.report_only = 1;
	route_build(p, &k.dest, &k.opts, &rt);
	k.nconns = 1;
	k.conns[0].ok = 1;
	v = chk_canary(&k);
	T_CASE("canary: report-only delivers it: DELIVER", v == CHK_CANARY_DELIVER
	    && strcmp(chk_canary_str(v), "DELIVER") == 0, "%s", chk_canary_str(v));
	k.opts.report_only = 0;
	k.nconns = 0;
	free(p);

	p = mkplan(1, auth1);
	k.plan = p;
	route_build(p, &k.dest, &k.opts, &rt);
	k.nconns = 1;
	k.conns[0] = (struct chk_conn) {.cand = 0, .ok = 0, .rtype = RTYPE_TLSA_INVALID};
	v = chk_canary(&k);
	T_CASE("canary: DANE, the handshake failed with tlsa-invalid: refused",
	    v == CHK_CANARY_REFUSED && strcmp(chk_canary_str(v), "refuse") == 0, "%s",
	    chk_canary_str(v));
	k.conns[0].rtype = RTYPE_NONE;
	v = chk_canary(&k);
	T_CASE("canary: DANE, the connection failed (no result type): unproven",
	    v == CHK_CANARY_UNPROVEN && strcmp(chk_canary_str(v), "unproven") == 0, "%s",
	    chk_canary_str(v));
	k.conns[0].ok = 1;
	v = chk_canary(&k);
	T_CASE("canary: DANE, the handshake succeeded: DELIVER", v == CHK_CANARY_DELIVER, "%s",
	    chk_canary_str(v));
	k.conns[0].ok = 0;
	p->status = PLAN_TEMPFAIL;
	p->rtype = RTYPE_NONE;
	route_build(p, &k.dest, &k.opts, &rt);
	k.nconns = 0;
	v = chk_canary(&k);
	T_CASE("canary: lookups failed (no Internet): unproven", v == CHK_CANARY_UNPROVEN,
	    "%s", chk_canary_str(v));
	p->rtype = RTYPE_DNSSEC_INVALID;
	route_build(p, &k.dest, &k.opts, &rt);
	v = chk_canary(&k);
	T_CASE("canary: DNSSEC bogus: refused", v == CHK_CANARY_REFUSED, "%s",
	    chk_canary_str(v));
	p->status = PLAN_NULLMX;
	route_build(p, &k.dest, &k.opts, &rt);
	v = chk_canary(&k);
	T_CASE("canary: null MX: unproven (no policy needed to refuse)",
	    v == CHK_CANARY_UNPROVEN, "%s", chk_canary_str(v));
	free(p);
}

/* txt - chk_txt_parse */
static void
txt(void)
{
	struct chk_txt t;

	memset(&t, 0, sizeof(t));
	chk_txt_add(&t, (const unsigned char *) "\x0bv=spf1 -all", 12);
	chk_txt_add(&t, (const unsigned char *) "\x08v=STSv1;\x0e id=20260101T0", 24);
	chk_txt_parse(&t);
	T_CASE("txt: the id", t.ok && strcmp(t.id, "20260101T0") == 0, "%s", t.why);
	t.n = 0;
	chk_txt_add(&t, (const unsigned char *) "\x0dv=STSv1; id=x", 14);
	chk_txt_add(&t, (const unsigned char *) "\x16v=STSv1; id=20260101T0", 23);
	chk_txt_parse(&t);
	T_CASE("txt: two records", !t.ok && t.why && strstr(t.why, "more than one"), "%s",
	    t.why ? t.why : "-");
	t.n = 0;
	chk_txt_parse(&t);
	T_CASE("txt: none", !t.ok && t.why && strcmp(t.why, "no v=STSv1 TXT record") == 0,
	    "%s", t.why ? t.why : "-");
	chk_txt_add(&t, (const unsigned char *) "\x13v=STSv1; id=bad-id!", 20);
	chk_txt_parse(&t);
	T_CASE("txt: a bad id", !t.ok && t.why && strstr(t.why, "alphanumeric"), "%s",
	    t.why ? t.why : "-");

	t.n = 0;
	chk_txt_add(&t, (const unsigned char *) "\x0fv=STSv1; id=id1", 16);
	t.sec = DNS_BOGUS;
	chk_txt_parse(&t);
	T_CASE("txt: bogus is a failed lookup", !t.ok && t.why && strstr(t.why, "failed"),
	    "%s", t.why ? t.why : "-");
	t.sec = DNS_INSECURE;
	chk_txt_parse(&t);
	T_CASE("txt: insecure is read", t.ok && strcmp(t.id, "id1") == 0, "%s",
	    t.why ? t.why : "-");

	/* hostile rdata */
	t.n = 0;
	chk_txt_add(&t, (const unsigned char *) "\x05v=STS\x40v1", 8);
	T_CASE("txt: a length past the end drops the rest", t.len[0] == 5
	    && strcmp(t.rec[0], "v=STS") == 0, "%zu %s", t.len[0], t.rec[0]);
	chk_txt_add(&t, (const unsigned char *) "", 0);
	T_CASE("txt: empty rdata", t.n == 2 && t.len[1] == 0, "n %d", t.n);
	chk_txt_add(&t, (const unsigned char *) "\x0dv=STSv1; id=\0x", 15);
	chk_txt_parse(&t);
	T_CASE("txt: a NUL is kept, as mxtlsd sees it", t.len[2] == 13 && !t.ok
	    && t.why && strstr(t.why, "NUL"), "%zu %s", t.len[2], t.why ? t.why : "-");
	{
		unsigned char big[4 * 256];
		size_t n = 0;

		for (int s = 0; s < 4; s++) {
			big[n++] = 255;
			memset(big + n, 'a', 255);
			n += 255;
		}
		chk_txt_add(&t, big, n);
		T_CASE("txt: cut at CHK_TXT_LEN - 1", t.len[3] == CHK_TXT_LEN - 1
		    && strlen(t.rec[3]) == CHK_TXT_LEN - 1, "%zu", t.len[3]);
	}
	for (int i = 0; i < 2 * CHK_TXT_MAX; i++)
		chk_txt_add(&t, (const unsigned char *) "\x01x", 2);
	T_CASE("txt: at most CHK_TXT_MAX records", t.n == CHK_TXT_MAX, "n %d", t.n);
}

/* mkchk - a report of p with a cache entry, a table entry and one
 * handshake */
static void
mkchk(struct chk *k, struct plan *p, struct route *rt, struct ptab_entry *e)
{
	memset(k, 0, sizeof(*k));
	k->domain = "d.example";
	k->plan = p;
	k->sts_looked_up = 1;
	k->dest = sa("192.0.2.1:25");
	k->table_file = "/etc/mxtls/policy";
	memset(e, 0, sizeof(*e));
	e->key = "d.example";
	e->level = PTAB_DANE;
	e->line = 7;
	k->tab = e;
	k->opts.tab = e;
	route_build(p, &k->dest, &k->opts, rt);
	k->rt = rt;
	k->now = 1000000;
	k->cache.dir = "/var/lib/mxtls/sts";
	snprintf(k->cache.path, sizeof(k->cache.path), "/var/lib/mxtls/sts/d.example");
	k->cache.present = 1;
	k->cache.refresh_before = 3600;
	k->cache.use = CHK_CACHE_COPY;
	k->cache.e.has_policy = 1;
	snprintf(k->cache.e.id, sizeof(k->cache.e.id), "id1");
	k->cache.e.fetched = k->now - 100;
	k->cache.e.expires = k->now - 100 + 86400;
	k->cache.e.policy.max_age = 86400;
	k->cache.e.policy.mode = STS_MODE_ENFORCE;
	k->txt.done = 1;
	k->txt.n = 1;
	k->txt.n = 0;
	chk_txt_add(&k->txt, (const unsigned char *) "\x0fv=STSv1; id=id1", 16);
	chk_txt_parse(&k->txt);
}

/* output - the text lines and the JSON object */
static void
output(void)
{
	static const enum dane_state auth_fail[] = {DANE_AUTH, DANE_FAIL};
	struct plan *p = mkplan(2, auth_fail);
	struct ptab_entry e;
	struct route rt;
	struct chk k;
	char *text = NULL, *js;
	size_t len = 0;
	FILE *fp;
	cJSON *o, *j, *v;

	with_sts(p, STS_MODE_ENFORCE, "*.d.example");
	mkchk(&k, p, &rt, &e);
	k.connect = 1;
	k.nconns = 1;
	k.conns[0].cand = 0;
	k.conns[0].ok = 1;
	k.conns[0].tls = k.conns[0].verified = 1;
	snprintf(k.conns[0].peer, sizeof(k.conns[0].peer), "mx1.d.example[192.0.2.1]:25");
	snprintf(k.conns[0].tls_version, sizeof(k.conns[0].tls_version), "TLSv1.3");
	snprintf(k.conns[0].tlsinfo, sizeof(k.conns[0].tlsinfo), "TLSv1.3 with cipher X");
	snprintf(k.conns[0].match, sizeof(k.conns[0].match), "DANE-EE(3) SPKI(1) SHA2-256(1)");
	k.conns[0].nchain = 1;
	snprintf(k.conns[0].chain[0].subject, sizeof(k.conns[0].chain[0].subject),
	    "CN=mx1.d.example");
	k.conns[0].chain[0].not_after = 86400;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return;
	chk_print(&k, fp);
	fclose(fp);
	T_CASE("text: mx line", strstr(text, "\nmx 10 mx1.d.example: addresses secure: "
	    "192.0.2.1\n") != NULL, "%s", text);
	T_CASE("text: tlsa and dane", strstr(text, "  tlsa _25._tcp.mx1.d.example: secure: "
	    "3 1 1 ABCD; 4 1 1 AB\n  dane: dane, 1 usable, 1 malformed\n  usable: 3 1 1 ABCD\n") != NULL, "%s", text);
	T_CASE("text: txt", strstr(text, "mta-sts txt _mta-sts.d.example: secure "
	    "\"v=STSv1; id=id1\": id id1\n") != NULL, "%s", text);
	T_CASE("text: cache ages", strstr(text, "fetched 1970-01-12T13:45:00Z (age 100s), "
	    "expires 1970-01-13T13:45:00Z (in 86300s), next refresh 1970-01-13T12:45:00Z "
	    "(in 82700s)\n") != NULL, "%s", text);
	T_CASE("text: table", strstr(text, "table /etc/mxtls/policy:7: d.example dane "
	    "applies\n") != NULL, "%s", text);
	T_CASE("text: verdicts", strstr(text, "verdict [192.0.2.1]:25 mx1.d.example: table:dane\n"
	    "verdict [192.0.2.2]:25 mx2.d.example: refuse: TLSA lookup of mx2.d.example is "
	    "bogus\n") != NULL, "%s", text);
	T_CASE("text: connect", strstr(text, "connect mx1.d.example[192.0.2.1]:25: ok, TLSv1.3 "
	    "with cipher X, verified, match DANE-EE(3) SPKI(1) SHA2-256(1)\n  cert 0: subject "
	    "CN=mx1.d.example, issuer , not after 1970-01-02T00:00:00Z\n") != NULL, "%s", text);
	T_CASE("text: result last", len > 16 && strcmp(text + len - 16, "result: deliver\n") == 0,
	    "%s", text);
	free(text);

	o = chk_json(&k);
	js = o ? cJSON_PrintUnformatted(o) : NULL;
	j = js ? cJSON_Parse(js) : NULL;
	T_CASE("json: round trip", j != NULL, "%s", js ? js : "-");
	if (j) {
		v = cJSON_GetObjectItem(j, "version");
		T_CASE("json: version", cJSON_IsNumber(v) && v->valueint == CHK_JSON_VERSION, "-");
		v = cJSON_GetObjectItem(j, "verdicts");
		T_CASE("json: verdict words", cJSON_GetArraySize(v) == 2
		    && strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "verdict")->valuestring,
			"table:dane") == 0
		    && strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 1), "verdict")->valuestring,
			"refuse") == 0
		    && cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 1), "connect")),
		    "%s", js);
		v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "mx"), 0);
		T_CASE("json: mx", strcmp(cJSON_GetObjectItem(v, "name")->valuestring,
			"mx1.d.example") == 0 && cJSON_GetObjectItem(v, "tlsa_malformed")->valueint == 1
		    && strcmp(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "tlsa_usable_records"),
			0)->valuestring, "3 1 1 ABCD") == 0
		    && strcmp(cJSON_GetObjectItem(v, "dane")->valuestring, "dane") == 0, "%s", js);
		v = cJSON_GetObjectItem(j, "cache");
		T_CASE("json: cache", cJSON_GetObjectItem(v, "age")->valueint == 100
		    && cJSON_GetObjectItem(v, "next_refresh")->valuedouble
		    == (double) (k.now - 100 + 86400 - 3600)
		    && strcmp(cJSON_GetObjectItem(v, "lookup_cache")->valuestring, "copy") == 0,
		    "%s", js);
		v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "table"), "entry");
		T_CASE("json: table entry", cJSON_GetObjectItem(v, "line")->valueint == 7
		    && strcmp(cJSON_GetObjectItem(v, "level")->valuestring, "dane") == 0, "%s", js);
		v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "connect"), 0);
		T_CASE("json: connect", v && cJSON_IsTrue(cJSON_GetObjectItem(v, "verified"))
		    && strcmp(cJSON_GetObjectItem(v, "addr")->valuestring, "[192.0.2.1]:25") == 0
		    && cJSON_GetArraySize(cJSON_GetObjectItem(v, "chain")) == 1, "%s", js);
		v = cJSON_GetObjectItem(j, "sts");
		T_CASE("json: sts", strcmp(cJSON_GetObjectItem(v, "id")->valuestring, "id1") == 0
		    && cJSON_IsNull(cJSON_GetObjectItem(v, "failure"))
		    && strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "txt"), "id")->valuestring,
			"id1") == 0, "%s", js);
		T_CASE("json: exit 0", cJSON_GetObjectItem(j, "exit")->valueint == 0
		    && strcmp(cJSON_GetObjectItem(j, "result")->valuestring, "deliver") == 0, "%s", js);
	}
	cJSON_Delete(j);
	free(js);
	cJSON_Delete(o);

	/* No --connect: no connect member; a refusal: exit 1. */
	p->hosts[0].dane = DANE_FAIL;
	mkchk(&k, p, &rt, &e);
	o = chk_json(&k);
	T_CASE("json: no connect member without --connect", o
	    && cJSON_GetObjectItem(o, "connect") == NULL, "-");
	T_CASE("json: exit 1 when refused", o && cJSON_GetObjectItem(o, "exit")->valueint == 1
	    && strcmp(cJSON_GetObjectItem(o, "result")->valuestring, "refuse") == 0, "-");
	cJSON_Delete(o);

	/* sts_cache = redis: the fleet's entry, shown beside the file's */
	mkchk(&k, p, &rt, &e);
	k.cache.shared = "redis://192.0.2.5:6379/0";
	k.cache.shared_state = CHK_SHARED_ENTRY;
	k.cache.se.has_policy = 1;
	snprintf(k.cache.se.id, sizeof(k.cache.se.id), "id2");
	k.cache.se.policy.mode = STS_MODE_TESTING;
	k.cache.se.fetched = k.now - 30;
	k.cache.se.expires = k.now - 30 + 86400;
	k.cache.se.fail_rtype = RTYPE_STS_WEBPKI_INVALID;
	k.cache.se.fail_until = k.now + 200;
	snprintf(k.cache.se.fail_why, sizeof(k.cache.se.fail_why), "bad\ncert");
	if ((fp = open_memstream(&text, &len)) != NULL) {
		chk_print(&k, fp);
		fclose(fp);
		T_CASE("text: the shared cache's policy", strstr(text, "shared cache "
		    "redis://192.0.2.5:6379/0: policy id id2, mode testing, fetched "
		    "1970-01-12T13:46:10Z (age 30s), expires 1970-01-13T13:46:10Z\n") != NULL,
		    "%s", text);
		T_CASE("text: the shared cache's failure, one line", strstr(text, "shared cache "
		    "redis://192.0.2.5:6379/0: a gateway's last fetch failed: sts-webpki-invalid: "
		    "bad?cert; no fetch before ") != NULL && strstr(text, "(holding)\n"), "%s", text);
		T_CASE("text: merged into the lookups' copy", strstr(text, "(with the shared "
		    "cache's merged in, as mxtlsd would before a fetch)\n") != NULL, "%s", text);
		free(text);
	}
	o = chk_json(&k);
	{
		cJSON *sh = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "cache"), "shared");

		T_CASE("json: cache.shared", sh && strcmp(cJSON_GetObjectItem(sh, "state")->valuestring,
		    "entry") == 0 && strcmp(cJSON_GetObjectItem(sh, "id")->valuestring, "id2") == 0
		    && strcmp(cJSON_GetObjectItem(sh, "fail_type")->valuestring,
			"sts-webpki-invalid") == 0
		    && cJSON_GetObjectItem(sh, "fail_until")->valuedouble == (double) (k.now + 200),
		    "-");
	}
	cJSON_Delete(o);
	k.cache.shared_state = CHK_SHARED_ERROR;
	snprintf(k.cache.shared_error, sizeof(k.cache.shared_error), "cannot connect: "
	    "Connection refused\r\nX");
	if ((fp = open_memstream(&text, &len)) != NULL) {
		chk_print(&k, fp);
		fclose(fp);
		T_CASE("text: the shared cache unreachable, one line", strstr(text, "shared cache "
		    "redis://192.0.2.5:6379/0: cannot connect: Connection refused??X\n") != NULL
		    && strstr(text, "merged in") == NULL, "%s", text);
		free(text);
	}
	o = chk_json(&k);
	{
		cJSON *c = cJSON_GetObjectItem(o, "cache"), *sh = cJSON_GetObjectItem(c, "shared");

		T_CASE("json: cache.shared error", sh && strcmp(cJSON_GetObjectItem(sh,
			"state")->valuestring, "error") == 0 && cJSON_GetObjectItem(sh, "id") == NULL
		    && strstr(cJSON_GetObjectItem(sh, "error")->valuestring, "refused"), "-");
	}
	cJSON_Delete(o);
	mkchk(&k, p, &rt, &e);
	o = chk_json(&k);
	T_CASE("json: cache.shared null with sts_cache = disk",
	    cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "cache"), "shared")), "-");
	cJSON_Delete(o);
	free(p);
}

/* dest - chk_parse_dest */
static void
dest(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"192.0.2.25", "[192.0.2.25]:25"},
		{"192.0.2.25:587", "[192.0.2.25]:587"},
		{"2001:db8::25", "[2001:db8::25]:25"},
		{"[2001:db8::25]", "[2001:db8::25]:25"},
		{"[2001:db8::25]:2525", "[2001:db8::25]:2525"},
		{"192.0.2.256", NULL},
		{"192.0.2.25:", NULL},
		{"192.0.2.25:0", NULL},
		{"192.0.2.25:65536", NULL},
		{"mx.example.com", NULL},
		{"[192.0.2.25", NULL},
		{"", NULL},
		{"2001:db8::25:25:25:25:25:25:25:25:25:25:25:25:25:25:25:25:25:25:25", NULL},
	};
	struct sockaddr_storage ss;
	char s[ADDR_STRLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = chk_parse_dest(cases[i].in, &ss);
		char name[128];

		s[0] = 0;
		if (r == 0)
			addr_port_str(&ss, s, sizeof(s));
		snprintf(name, sizeof(name), "dest: %s", cases[i].in);
		T_CASE(name, cases[i].out ? r == 0 && strcmp(s, cases[i].out) == 0 : r == -1,
		    "r=%d %s", r, s);
	}
}

/* hostile - what a peer sent cannot make a line of its own */
static void
hostile(void)
{
	struct plan *p = mkplan(1, NULL);
	struct ptab_entry e;
	struct route rt;
	struct chk k;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int ctl = 0, nres;

	with_sts(p, STS_MODE_TESTING, "mx1.d.example");
	snprintf(p->sts.policy.text, sizeof(p->sts.policy.text),
	    "version: STSv1\nx-evil: \x1b[2J\rresult: deliver\n");
	p->sts.rtype = RTYPE_STS_POLICY_FETCH_ERROR;
	snprintf(p->sts.why, sizeof(p->sts.why), "HTTP said\nresult: deliver\x1b[0m");
	mkchk(&k, p, &rt, &e);
	k.connect = 1;
	k.nconns = 1;
	snprintf(k.conns[0].peer, sizeof(k.conns[0].peer), "mx1.d.example[192.0.2.1]:25");
	snprintf(k.conns[0].why, sizeof(k.conns[0].why), "host said: 421\r\nresult: deliver");
	if ((fp = open_memstream(&text, &len)) == NULL)
		return;
	chk_print(&k, fp);
	fclose(fp);
	for (size_t i = 0; i < len; i++)
		ctl += (unsigned char) text[i] < 0x20 && text[i] != '\n';
	T_CASE("hostile: no control octets", ctl == 0, "%d in %s", ctl, text);
	nres = 0;
	for (const char *q = text; (q = strstr(q, "\nresult: ")) != NULL; q++)
		nres++;
	T_CASE("hostile: one result line", nres == 1, "%d in %s", nres, text);
	T_CASE("hostile: the policy line kept, cleaned", strstr(text, "  | x-evil: ?[2J?result: "
	    "deliver\n") != NULL, "%s", text);
	T_CASE("hostile: the failure kept, cleaned", strstr(text, "mta-sts failure: "
	    "sts-policy-fetch-error: HTTP said?result: deliver?[0m\n") != NULL, "%s", text);
	T_CASE("hostile: the MX's reason cleaned", strstr(text, "failed: host said: 421??result: "
	    "deliver\n") != NULL, "%s", text);
	free(text);
	free(p);
}

int
main(void)
{
	T_INIT("test_check");
	orig();
	table();
	words();
	deliverable();
	canary();
	txt();
	output();
	dest();
	hostile();
	return t_done();
}
