/*
 * test_route.c - the combined decision (route_build): the original
 * destination and mx_mismatch, DANE against MTA-STS host by host,
 * strict_testing, the candidates' order, ports and flags, and the
 * verdicts that try nothing, with hostile plans.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/route.h"
#include "t.h"

static struct sockaddr_storage
v4(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *) &ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(25);
	inet_pton(AF_INET, a, &s->sin_addr);
	return ss;
}

/* same4 - is a the IPv4 address s? */
static int
same4(const struct sockaddr_storage *a, const char *s)
{
	struct in_addr in;

	inet_pton(AF_INET, s, &in);
	return a->ss_family == AF_INET
	    && ((const struct sockaddr_in *) a)->sin_addr.s_addr == in.s_addr;
}

static struct plan *
mkplan(int nhosts, const enum dane_state *states)
{
	struct plan *p = calloc(1, sizeof(*p));
	static const char *addrs[] = {"192.0.2.31", "192.0.2.32", "192.0.2.33"};

	snprintf(p->domain, sizeof(p->domain), "d.example");
	p->status = PLAN_OK;
	p->mx_sec = DNS_SECURE;
	p->nhosts = nhosts;
	for (int i = 0; i < nhosts; i++) {
		snprintf(p->hosts[i].name, sizeof(p->hosts[i].name), "mx%d.d.example", i + 1);
		p->hosts[i].pref = 10 * (i + 1);
		p->hosts[i].addrs[0] = v4(addrs[i]);
		p->hosts[i].naddrs = 1;
		p->hosts[i].dane = states[i];
		if (states[i] != DANE_NONE)
			p->has_dane = 1;
	}
	return p;
}

static void
routes(void)
{
	static const enum dane_state two_dane[] = {DANE_AUTH, DANE_AUTH};
	static const enum dane_state none2[] = {DANE_NONE, DANE_NONE};
	static const enum dane_state fail_then_auth[] = {DANE_FAIL, DANE_AUTH, DANE_UNAUTH};
	struct sockaddr_storage mx2 = v4("192.0.2.32"), rogue = v4("192.0.2.99");
	struct route rt;
	struct plan *p;

	p = mkplan(2, two_dane);
	route_build(p, &mx2, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("orig is an MX: it goes first", rt.verdict == ROUTE_TRY && rt.ncands == 2
	    && rt.cands[0].host == 1 && rt.cands[1].host == 0 && !rt.rerouted
	    && rt.cands[0].level == ROUTE_DANE, "n=%d first=%d", rt.ncands, rt.cands[0].host);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("DANE domain, orig not an MX: rerouted in preference order", rt.rerouted
	    && rt.ncands == 2 && rt.cands[0].host == 0 && rt.cands[1].host == 1, "n=%d", rt.ncands);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_REFUSE, .strict_testing = 0}, &rt);
	T_CASE("mx_mismatch = refuse", rt.verdict == ROUTE_REFUSE
	    && strncmp(rt.reply, "451 4.7.5", 9) == 0, "verdict=%d %s", rt.verdict, rt.reply);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_PASS, .strict_testing = 0}, &rt);
	T_CASE("mx_mismatch = pass keeps orig, opportunistic", rt.ncands == 1
	    && rt.cands[0].host == -1 && rt.cands[0].level == ROUTE_MAY, "n=%d", rt.ncands);
	plan_free(p);

	p = mkplan(2, none2);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("no policy, orig not an MX: pass", rt.ncands == 1 && rt.cands[0].host == -1
	    && !rt.rerouted, "n=%d", rt.ncands);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_REROUTE, .strict_testing = 0}, &rt);
	T_CASE("mx_mismatch = reroute applies to no-policy domains too", rt.ncands == 2
	    && rt.rerouted && rt.cands[0].level == ROUTE_MAY, "n=%d", rt.ncands);
	plan_free(p);

	p = mkplan(3, fail_then_auth);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("failed DANE host listed, not connected; levels kept", rt.ncands == 3
	    && rt.cands[0].failed && !rt.cands[1].failed && rt.cands[1].level == ROUTE_DANE
	    && rt.cands[2].level == ROUTE_ENCRYPT, "n=%d", rt.ncands);
	plan_free(p);

	p = calloc(1, sizeof(*p));
	p->status = PLAN_TEMPFAIL;
	p->rtype = RTYPE_DNSSEC_INVALID;
	snprintf(p->why, sizeof(p->why), "MX lookup failed DNSSEC validation");
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("bogus MX: tempfail 4.7.5, never a downgrade", rt.verdict == ROUTE_TEMPFAIL
	    && strncmp(rt.reply, "451 4.7.5", 9) == 0 && rt.ncands == 0, "%s", rt.reply);
	p->rtype = RTYPE_NONE;
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("DNS failure: tempfail 4.4.3", rt.verdict == ROUTE_TEMPFAIL
	    && strncmp(rt.reply, "451 4.4.3", 9) == 0, "%s", rt.reply);
	p->status = PLAN_NULLMX;
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("null MX: 556 5.1.10", rt.verdict == ROUTE_NULLMX
	    && strncmp(rt.reply, "556 5.1.10", 10) == 0, "%s", rt.reply);
	p->status = PLAN_NODOMAIN;
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("NXDOMAIN: orig, opportunistic", rt.verdict == ROUTE_TRY && rt.ncands == 1
	    && rt.cands[0].host == -1, "n=%d", rt.ncands);
	plan_free(p);
}

/* with_sts - an MTA-STS policy of mode m whose one mx pattern is pat */
static void
with_sts(struct plan *p, enum sts_mode m, const char *pat)
{
	p->sts.has_policy = 1;
	p->sts.policy.mode = m;
	p->sts.policy.nmx = 1;
	snprintf(p->sts.policy.mx[0], sizeof(p->sts.policy.mx[0]), "%s", pat);
	p->has_sts = m != STS_MODE_NONE;
}

static void
routes_sts(void)
{
	static const enum dane_state none2[] = {DANE_NONE, DANE_NONE};
	static const enum dane_state auth_none[] = {DANE_AUTH, DANE_NONE};
	struct sockaddr_storage rogue = v4("192.0.2.99");
	struct route rt;
	struct plan *p;

	p = mkplan(2, none2);
	with_sts(p, STS_MODE_ENFORCE, "mx1.d.example");
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("enforce: MTA-STS domain rerouted", rt.rerouted && rt.ncands == 2, "n=%d",
	    rt.ncands);
	T_CASE("enforce: a matching host at mta-sts enforce", rt.cands[0].level == ROUTE_STS
	    && !rt.cands[0].failed && !rt.cands[0].sts_skip && !rt.cands[0].sts_mismatch,
	    "level=%s", route_level_str(rt.cands[0].level));
	T_CASE("enforce: a host matching no pattern listed, skipped, not connected",
	    rt.cands[1].level == ROUTE_STS && rt.cands[1].failed && rt.cands[1].sts_skip,
	    "failed=%d skip=%d", rt.cands[1].failed, rt.cands[1].sts_skip);

	with_sts(p, STS_MODE_TESTING, "mx1.d.example");
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("testing: a host matching no pattern is tried, the mismatch noted",
	    rt.ncands == 2 && rt.cands[1].level == ROUTE_STS_TESTING && !rt.cands[1].failed
	    && !rt.cands[1].sts_skip && rt.cands[1].sts_mismatch, "level=%s mismatch=%d",
	    route_level_str(rt.cands[1].level), rt.cands[1].sts_mismatch);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 1}, &rt);
	T_CASE("testing with strict_testing: enforced", rt.cands[0].level == ROUTE_STS
	    && rt.cands[1].level == ROUTE_STS && rt.cands[1].sts_skip, "level=%s skip=%d",
	    route_level_str(rt.cands[1].level), rt.cands[1].sts_skip);
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("strict_testing is not remembered from the call before",
	    rt.cands[1].level == ROUTE_STS_TESTING && !rt.cands[1].sts_skip, "level=%s",
	    route_level_str(rt.cands[1].level));
	with_sts(p, STS_MODE_TESTING, "*.d.example");
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("testing: a wildcard pattern matches both hosts", !rt.cands[0].sts_mismatch
	    && !rt.cands[1].sts_mismatch, "mismatch");
	plan_free(p);

	p = mkplan(2, auth_none);
	with_sts(p, STS_MODE_ENFORCE, "nothing.example");
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("DANE wins over MTA-STS host by host", rt.ncands == 2
	    && rt.cands[0].level == ROUTE_DANE && !rt.cands[0].sts_skip
	    && !rt.cands[0].sts_mismatch && rt.cands[1].level == ROUTE_STS && rt.cands[1].sts_skip,
	    "levels %s, %s", route_level_str(rt.cands[0].level), route_level_str(rt.cands[1].level));
	plan_free(p);
}

static void
routes_addrs(void)
{
	static const enum dane_state auth3[] = {DANE_AUTH, DANE_AUTH, DANE_NONE};
	static const enum dane_state fail1[] = {DANE_FAIL};
	struct sockaddr_storage orig = v4("192.0.2.32"), rogue = v4("192.0.2.99");
	struct route rt;
	struct plan *p;
	int ok;

	p = mkplan(2, auth3);
	p->hosts[1].addrs[1] = v4("192.0.2.42");
	p->hosts[1].addrs[2] = v4("192.0.2.52");
	p->hosts[1].naddrs = 3;
	orig = v4("192.0.2.42");
	((struct sockaddr_in *) &orig)->sin_port = htons(2525);
	route_build(p, &orig, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	T_CASE("orig is a host's second address: it goes first, then that host's others",
	    rt.ncands == 4 && rt.cands[0].host == 1 && same4(&rt.cands[0].addr, "192.0.2.42")
	    && same4(&rt.cands[1].addr, "192.0.2.32") && same4(&rt.cands[2].addr, "192.0.2.52")
	    && rt.cands[3].host == 0, "n=%d", rt.ncands);
	ok = 1;
	for (int i = 0; i < rt.ncands; i++)
		ok &= ((struct sockaddr_in *) &rt.cands[i].addr)->sin_port == htons(2525);
	T_CASE("every candidate takes orig's port", ok, "a port is not 2525");
	plan_free(p);

	/* Three hosts of eight addresses: 24 candidates, ROUTE_MAX kept.  The
	 * third host (MTA-STS enforce, matching no pattern) does not fit and
	 * must not mark the last one listed. */
	p = mkplan(3, auth3);
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < PLAN_MAX_ADDRS; j++) {
			char a[32];

			snprintf(a, sizeof(a), "192.0.2.%d", 100 + 10 * i + j);
			p->hosts[i].addrs[j] = v4(a);
		}
		p->hosts[i].naddrs = PLAN_MAX_ADDRS;
	}
	with_sts(p, STS_MODE_ENFORCE, "nothing.example");
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .strict_testing = 0}, &rt);
	ok = rt.ncands == ROUTE_MAX;
	for (int i = 0; ok && i < rt.ncands; i++)
		ok = rt.cands[i].level == ROUTE_DANE && !rt.cands[i].sts_skip && !rt.cands[i].failed;
	T_CASE("a full list: the candidates past ROUTE_MAX dropped, the listed ones unmarked", ok,
	    "n=%d last: skip=%d failed=%d", rt.ncands, rt.cands[ROUTE_MAX - 1].sts_skip,
	    rt.cands[ROUTE_MAX - 1].failed);
	plan_free(p);

	p = mkplan(1, fail1);
	p->hosts[0].naddrs = 0;
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_REROUTE, .strict_testing = 0}, &rt);
	T_CASE("a failed host without addresses is still listed (reported, not connected)",
	    rt.verdict == ROUTE_TRY && rt.ncands == 1 && rt.cands[0].failed
	    && rt.cands[0].addr.ss_family == AF_UNSPEC, "n=%d", rt.ncands);
	plan_free(p);

	p = mkplan(1, auth3 + 2);
	p->hosts[0].naddrs = 0;
	route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_REROUTE, .strict_testing = 0}, &rt);
	T_CASE("reroute to hosts without addresses: tempfail 4.4.3", rt.verdict == ROUTE_TEMPFAIL
	    && strncmp(rt.reply, "451 4.4.3 no MX host of d.example", 33) == 0, "%s", rt.reply);
	plan_free(p);

	T_CASE("level names", strcmp(route_level_str(ROUTE_DANE), "dane") == 0
	    && strcmp(route_level_str(ROUTE_STS), "mta-sts enforce") == 0
	    && strcmp(route_level_str(ROUTE_STS_TESTING), "mta-sts testing") == 0
	    && strcmp(route_level_str(ROUTE_ENCRYPT), "encrypt") == 0
	    && strcmp(route_level_str(ROUTE_MAY), "may") == 0, "wrong");
	T_CASE("what each level asks", ROUTE_TLS_REQUIRED(ROUTE_DANE) && ROUTE_TLS_REQUIRED(ROUTE_STS)
	    && ROUTE_TLS_REQUIRED(ROUTE_ENCRYPT) && !ROUTE_TLS_REQUIRED(ROUTE_STS_TESTING)
	    && !ROUTE_TLS_REQUIRED(ROUTE_MAY) && ROUTE_SOFT(ROUTE_STS_TESTING)
	    && ROUTE_MAY_PLAIN(ROUTE_MAY) && !ROUTE_MAY_PLAIN(ROUTE_ENCRYPT)
	    && ROUTE_MUST_MATCH(ROUTE_DANE) && ROUTE_MUST_MATCH(ROUTE_STS)
	    && !ROUTE_MUST_MATCH(ROUTE_STS_TESTING) && !ROUTE_MUST_MATCH(ROUTE_ENCRYPT)
	    && ROUTE_IS_STS(ROUTE_STS_TESTING) && !ROUTE_IS_STS(ROUTE_DANE), "wrong");
	T_CASE("table levels: what each asks", ROUTE_NO_TLS(ROUTE_NONE)
	    && !ROUTE_TLS_REQUIRED(ROUTE_NONE) && !ROUTE_MAY_PLAIN(ROUTE_NONE)
	    && ROUTE_TLS_REQUIRED(ROUTE_FINGERPRINT) && ROUTE_MUST_MATCH(ROUTE_FINGERPRINT)
	    && ROUTE_TLS_REQUIRED(ROUTE_VERIFY) && ROUTE_MUST_MATCH(ROUTE_VERIFY)
	    && ROUTE_TLS_REQUIRED(ROUTE_SECURE) && ROUTE_MUST_MATCH(ROUTE_SECURE)
	    && ROUTE_NAMES(ROUTE_SECURE) && ROUTE_NAMES(ROUTE_VERIFY) && !ROUTE_NAMES(ROUTE_DANE)
	    && !ROUTE_NO_TLS(ROUTE_MAY) && !ROUTE_IS_STS(ROUTE_SECURE), "wrong");
	for (int l = 0; l < ROUTE_NLEVELS; l++)
		T_CASE("every level has its word", strcmp(route_level_str((enum route_level) l),
		    "?") != 0, "level %d", l);
}

/* entry - a parsed one-line table (t freed by the caller) */
static const struct ptab_entry *
entry(struct ptable *t, const char *line)
{
	char err[256];

	if (ptable_parse(t, "t", line, strlen(line), err, sizeof(err)) < 0) {
		T_CASE("test table parses", 0, "%s: %s", line, err);
		return NULL;
	}
	return &t->e[0];
}

/* Each table level against hosts in each DANE state. */
static const struct level_case {
	const char *line;
	enum dane_state dane;
	enum route_level want;
	int failed, dane_only;
} level_cases[] = {
	{"d.example none", DANE_AUTH, ROUTE_NONE, 0, 0},
	{"d.example may", DANE_AUTH, ROUTE_MAY, 0, 0},
	{"d.example encrypt", DANE_NONE, ROUTE_ENCRYPT, 0, 0},
	{"d.example dane", DANE_AUTH, ROUTE_DANE, 0, 0},
	{"d.example dane", DANE_UNAUTH, ROUTE_ENCRYPT, 0, 0},
	{"d.example dane", DANE_NONE, ROUTE_MAY, 0, 0},
	{"d.example dane", DANE_FAIL, ROUTE_DANE, 1, 0},
	{"d.example dane-only", DANE_AUTH, ROUTE_DANE, 0, 0},
	{"d.example dane-only", DANE_UNAUTH, ROUTE_DANE, 1, 1},
	{"d.example dane-only", DANE_NONE, ROUTE_DANE, 1, 1},
	{"d.example dane-only", DANE_FAIL, ROUTE_DANE, 1, 0},
	{"d.example fingerprint match=" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    DANE_AUTH, ROUTE_FINGERPRINT, 0, 0},
	{"d.example verify", DANE_NONE, ROUTE_VERIFY, 0, 0},
	{"d.example secure", DANE_FAIL, ROUTE_SECURE, 0, 0},
	{".example secure", DANE_NONE, ROUTE_SECURE, 0, 0},
};

static void
routes_table(void)
{
	struct sockaddr_storage mx1 = v4("192.0.2.31"), rogue = v4("192.0.2.99");
	struct route rt;
	struct ptable t;
	struct plan *p;
	const struct ptab_entry *e;

	for (size_t i = 0; i < sizeof(level_cases) / sizeof(level_cases[0]); i++) {
		const struct level_case *lc = &level_cases[i];
		char name[300];

		p = mkplan(1, &lc->dane);
		if ((e = entry(&t, lc->line)) == NULL)
			continue;
		route_build(p, &mx1, &(struct route_opts) {.mismatch = MX_AUTO, .tab = e}, &rt);
		snprintf(name, sizeof(name), "table \"%.60s\" on a host with DANE %s: %s%s",
		    lc->line, dane_state_str(lc->dane), route_level_str(lc->want),
		    lc->dane_only ? ", failed: dane-only" : lc->failed ? ", failed" : "");
		T_CASE(name, rt.verdict == ROUTE_TRY && rt.ncands == 1 && rt.table
		    && rt.cands[0].level == lc->want && rt.cands[0].failed == lc->failed
		    && rt.cands[0].dane_only == lc->dane_only && !rt.cands[0].sts_skip,
		    "verdict=%d n=%d level=%s failed=%d dane_only=%d", rt.verdict, rt.ncands,
		    route_level_str(rt.cands[0].level), rt.cands[0].failed, rt.cands[0].dane_only);
		ptable_free(&t);
		plan_free(p);
	}

	/* The table overrides MTA-STS: no pattern check, no sts flags. */
	{
		static const enum dane_state none1[] = {DANE_NONE};

		p = mkplan(1, none1);
		with_sts(p, STS_MODE_ENFORCE, "nothing.example");
		e = entry(&t, "d.example encrypt");
		route_build(p, &mx1, &(struct route_opts) {.mismatch = MX_AUTO, .tab = e}, &rt);
		T_CASE("table over MTA-STS enforce: the entry's level, no mx pattern check",
		    rt.ncands == 1 && rt.cands[0].level == ROUTE_ENCRYPT && !rt.cands[0].failed
		    && !rt.cands[0].sts_skip && !rt.cands[0].sts_mismatch, "level=%s skip=%d",
		    route_level_str(rt.cands[0].level), rt.cands[0].sts_skip);
		ptable_free(&t);

		/* mx_mismatch auto: authenticated levels reroute, the others pass. */
		e = entry(&t, "d.example secure");
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .tab = e}, &rt);
		T_CASE("auto, secure entry, not an MX address: rerouted to the MX",
		    rt.rerouted && rt.ncands == 1 && rt.cands[0].host == 0
		    && rt.cands[0].level == ROUTE_SECURE, "rerouted=%d host=%d", rt.rerouted,
		    rt.cands[0].host);
		ptable_free(&t);
		e = entry(&t, "d.example may");
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .tab = e}, &rt);
		T_CASE("auto, may entry on an MTA-STS domain: passed to the original destination",
		    !rt.rerouted && rt.ncands == 1 && rt.cands[0].host == -1
		    && same4(&rt.cands[0].addr, "192.0.2.99") && rt.cands[0].level == ROUTE_MAY,
		    "rerouted=%d host=%d", rt.rerouted, rt.cands[0].host);
		ptable_free(&t);

		/* A [host] entry keeps the original destination. */
		e = entry(&t, "[192.0.2.99]:25 encrypt");
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_REROUTE, .tab = e}, &rt);
		T_CASE("[addr]:port entry: the original destination, even under reroute",
		    !rt.rerouted && rt.ncands == 1 && same4(&rt.cands[0].addr, "192.0.2.99")
		    && rt.cands[0].level == ROUTE_ENCRYPT, "rerouted=%d n=%d", rt.rerouted,
		    rt.ncands);
		ptable_free(&t);
		plan_free(p);
	}

	/* A failed lookup: only a table entry (not dane) changes a tempfail. */
	{
		static const enum dane_state none1[] = {DANE_NONE};
		static const enum mx_mismatch modes[] = {MX_AUTO, MX_REROUTE, MX_PASS, MX_REFUSE};

		p = mkplan(1, none1);
		p->status = PLAN_TEMPFAIL;
		p->rtype = RTYPE_DNSSEC_INVALID;
		snprintf(p->why, sizeof(p->why), "MX lookup for d.example failed DNSSEC validation");
		for (size_t m = 0; m < 4; m++)
			for (int strict = 0; strict < 2; strict++)
				for (int floor = 0; floor < 2; floor++) {
					route_build(p, &rogue, &(struct route_opts) {.mismatch = modes[m],
					    .strict_testing = strict, .require_tls = floor}, &rt);
					T_CASE("enforce: bogus stays a tempfail whatever mx_mismatch, "
					    "strict_testing and require_tls say", rt.verdict == ROUTE_TEMPFAIL
					    && rt.rtype == RTYPE_DNSSEC_INVALID && rt.ncands == 0
					    && strncmp(rt.reply, "451 4.7.5 ", 10) == 0,
					    "mode %zu strict %d floor %d: verdict=%d", m, strict, floor,
					    rt.verdict);
				}
		p->rtype = RTYPE_NONE;		/* SERVFAIL, timeout: indeterminate */
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_PASS}, &rt);
		T_CASE("enforce: indeterminate stays a tempfail under mx_mismatch pass",
		    rt.verdict == ROUTE_TEMPFAIL && strncmp(rt.reply, "451 4.4.3 ", 10) == 0,
		    "verdict=%d reply=%s", rt.verdict, rt.reply);
		e = entry(&t, "d.example dane");
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .tab = e}, &rt);
		T_CASE("a dane entry does not turn a failed lookup into a delivery",
		    rt.verdict == ROUTE_TEMPFAIL, "verdict=%d", rt.verdict);
		ptable_free(&t);
		e = entry(&t, "d.example encrypt");
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO, .tab = e}, &rt);
		T_CASE("an encrypt entry decides a failed lookup: the original destination, "
		    "encrypt", rt.verdict == ROUTE_TRY && rt.ncands == 1 && rt.cands[0].host == -1
		    && same4(&rt.cands[0].addr, "192.0.2.99") && rt.cands[0].level == ROUTE_ENCRYPT,
		    "verdict=%d n=%d", rt.verdict, rt.ncands);
		ptable_free(&t);

		/* report-only: the tempfail is what enforcing would say. */
		p->rtype = RTYPE_DNSSEC_INVALID;
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO,
		    .report_only = 1}, &rt);
		T_CASE("report-only: bogus is a would-refusal, delivered to the original "
		    "destination at may", rt.verdict == ROUTE_TRY && rt.soft
		    && rt.would == ROUTE_TEMPFAIL && rt.rtype == RTYPE_DNSSEC_INVALID
		    && rt.ncands == 1 && rt.cands[0].level == ROUTE_MAY
		    && strncmp(rt.reply, "451 4.7.5 ", 10) == 0, "verdict=%d would=%d n=%d",
		    rt.verdict, rt.would, rt.ncands);
		plan_free(p);
	}

	/* require_tls: the floor, and the table's exceptions. */
	{
		static const enum dane_state two[] = {DANE_NONE, DANE_UNAUTH};

		p = mkplan(2, two);
		route_build(p, &mx1, &(struct route_opts) {.mismatch = MX_AUTO,
		    .require_tls = 1}, &rt);
		T_CASE("require_tls: may becomes encrypt (floor), DANE's encrypt is its own",
		    rt.ncands == 2 && rt.cands[0].level == ROUTE_ENCRYPT && rt.cands[0].floor
		    && rt.cands[1].level == ROUTE_ENCRYPT && !rt.cands[1].floor, "floor %d %d",
		    rt.cands[0].floor, rt.cands[1].floor);
		with_sts(p, STS_MODE_TESTING, "*.d.example");
		p->has_sts = 1;
		p->hosts[1].dane = DANE_NONE;
		route_build(p, &mx1, &(struct route_opts) {.mismatch = MX_AUTO,
		    .require_tls = 1}, &rt);
		T_CASE("require_tls: MTA-STS testing stays testing, but TLS is a must (floor)",
		    rt.ncands == 2 && rt.cands[0].level == ROUTE_STS_TESTING && rt.cands[0].floor,
		    "level=%s floor=%d", route_level_str(rt.cands[0].level), rt.cands[0].floor);
		p->has_sts = 0;
		p->hosts[1].dane = DANE_UNAUTH;
		e = entry(&t, "d.example may");
		route_build(p, &mx1, &(struct route_opts) {.mismatch = MX_AUTO,
		    .require_tls = 1, .tab = e}, &rt);
		T_CASE("require_tls: a may entry is the exception", rt.cands[0].level == ROUTE_MAY
		    && !rt.cands[0].floor, "level=%s", route_level_str(rt.cands[0].level));
		ptable_free(&t);
		e = entry(&t, "d.example none");
		route_build(p, &mx1, &(struct route_opts) {.mismatch = MX_AUTO,
		    .require_tls = 1, .tab = e}, &rt);
		T_CASE("require_tls: a none entry is the exception", rt.cands[0].level == ROUTE_NONE,
		    "level=%s", route_level_str(rt.cands[0].level));
		ptable_free(&t);
		p->status = PLAN_NODOMAIN;
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO,
		    .require_tls = 1}, &rt);
		T_CASE("require_tls: no such domain, the original destination at encrypt",
		    rt.ncands == 1 && rt.cands[0].level == ROUTE_ENCRYPT && rt.cands[0].floor,
		    "level=%s", route_level_str(rt.cands[0].level));
		plan_free(p);
	}

	/* report-only per entry, and refusals that become would-refusals */
	{
		static const enum dane_state none1[] = {DANE_NONE};

		p = mkplan(1, none1);
		e = entry(&t, "d.example dane-only mode=report-only");
		route_build(p, &mx1, &(struct route_opts) {.mismatch = MX_AUTO, .tab = e}, &rt);
		T_CASE("an entry's mode=report-only makes the route soft, its failed host listed",
		    rt.soft && rt.verdict == ROUTE_TRY && rt.ncands == 1 && rt.cands[0].failed
		    && rt.cands[0].dane_only, "soft=%d failed=%d", rt.soft, rt.cands[0].failed);
		ptable_free(&t);
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_REFUSE,
		    .report_only = 1}, &rt);
		T_CASE("report-only: mx_mismatch refuse is a would-refusal", rt.verdict == ROUTE_TRY
		    && rt.would == ROUTE_REFUSE && rt.ncands == 1
		    && same4(&rt.cands[0].addr, "192.0.2.99"), "verdict=%d would=%d", rt.verdict,
		    rt.would);
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_REFUSE}, &rt);
		T_CASE("enforce: nothing is soft, nothing would", !rt.soft && rt.would == ROUTE_TRY
		    && rt.verdict == ROUTE_REFUSE, "soft=%d", rt.soft);
		p->status = PLAN_NULLMX;
		route_build(p, &rogue, &(struct route_opts) {.mismatch = MX_AUTO,
		    .report_only = 1}, &rt);
		T_CASE("report-only: a null MX stays permanent (no policy reason)",
		    rt.verdict == ROUTE_NULLMX, "verdict=%d", rt.verdict);
		plan_free(p);
	}
}

/* resume_ttls - how long the DNS lets a TLS session be resumed, per level */
static void
resume_ttls(void)
{
	static const enum route_level dns[] = {ROUTE_DANE, ROUTE_STS, ROUTE_STS_TESTING,
		ROUTE_VERIFY, ROUTE_SECURE};
	static const enum route_level nodns[] = {ROUTE_MAY, ROUTE_ENCRYPT, ROUTE_FINGERPRINT};
	size_t i;

	for (i = 0; i < sizeof(dns) / sizeof(dns[0]); i++) {
		const char *w = route_level_str(dns[i]);

		T_CASE("resume ttl: the plan's TTL left bounds a DNS-verified level",
		    route_resume_ttl(dns[i], 1, 300, 42500.0) == 42, "%s", w);
		T_CASE("resume ttl: a plan that counted no TTL caches nothing",
		    route_resume_ttl(dns[i], 1, -1, 42500.0) == 0, "%s", w);
		T_CASE("resume ttl: a TTL run out caches nothing",
		    route_resume_ttl(dns[i], 1, 300, 0) == 0
		    && route_resume_ttl(dns[i], 1, 300, -5.0) == 0, "%s", w);
		T_CASE("resume ttl: under a second left caches nothing",
		    route_resume_ttl(dns[i], 1, 300, 999.0) == 0, "%s", w);
		T_CASE("resume ttl: no plan, no DNS bound",
		    route_resume_ttl(dns[i], 0, -1, 0) == -1, "%s", w);
	}
	for (i = 0; i < sizeof(nodns) / sizeof(nodns[0]); i++)
		T_CASE("resume ttl: a level that verifies nothing from DNS has no DNS bound",
		    route_resume_ttl(nodns[i], 1, -1, 0) == -1
		    && route_resume_ttl(nodns[i], 1, 300, 1000.0) == -1,
		    "%s", route_level_str(nodns[i]));
}

int
main(void)
{
	T_INIT("route");
	resume_ttls();
	routes();
	routes_sts();
	routes_addrs();
	routes_table();
	return t_done();
}
