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
}

int
main(void)
{
	T_INIT("route");
	routes();
	routes_sts();
	routes_addrs();
	return t_done();
}
