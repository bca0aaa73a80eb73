/*
 * route.c - which MX addresses to try, and how.  See route.h.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../lib/addr.h"
#include "route.h"
#include "sts.h"

/* route_level_str - for logs */
const char *
route_level_str(enum route_level l)
{
	static const char *const words[] = {
		[ROUTE_NONE] = "none", [ROUTE_MAY] = "may", [ROUTE_ENCRYPT] = "encrypt",
		[ROUTE_STS_TESTING] = "mta-sts testing", [ROUTE_STS] = "mta-sts enforce",
		[ROUTE_DANE] = "dane", [ROUTE_FINGERPRINT] = "fingerprint",
		[ROUTE_VERIFY] = "verify", [ROUTE_SECURE] = "secure",
	};
	_Static_assert(sizeof(words) / sizeof(words[0]) == ROUTE_NLEVELS,
	    "every level has its word");

	return (unsigned) l < ROUTE_NLEVELS ? words[l] : "?";
}

/* route_resume_ttl - how long DNS answers let a session of level l be
 * resumed: -1 no bound, 0 not at all, else seconds */
long
route_resume_ttl(enum route_level l, int has_plan, long min_ttl, double left_ms)
{
	if (!ROUTE_DNS_VERDICT(l) || !has_plan)
		return -1;
	if (min_ttl < 0 || left_ms <= 0)
		return 0;
	return (long) (left_ms / 1000.0);
}

/* add - one candidate, or NULL when the list is full */
static struct route_cand *
add(struct route *rt, const struct sockaddr_storage *a, int host,
    enum route_level level, int failed)
{
	struct route_cand *c;

	if (rt->ncands >= ROUTE_MAX)
		return NULL;
	c = &rt->cands[rt->ncands++];
	c->addr = *a;
	c->host = host;
	c->level = level;
	c->failed = failed;
	return c;
}

/* table_level - what a table entry asks of a host (h NULL: a host
 * without lookups); *fail set for a host that cannot meet it */
static enum route_level
table_level(const struct ptab_entry *e, const struct plan_host *h, int *fail)
{
	enum dane_state d = h ? h->dane : DANE_NONE;

	*fail = 0;
	switch (e->level) {
	case PTAB_NONE:
		return ROUTE_NONE;
	case PTAB_ENCRYPT:
		return ROUTE_ENCRYPT;
	case PTAB_FINGERPRINT:
		return ROUTE_FINGERPRINT;
	case PTAB_VERIFY:
		return ROUTE_VERIFY;
	case PTAB_SECURE:
		return ROUTE_SECURE;
	case PTAB_DANE:
		*fail = d == DANE_FAIL;
		return d == DANE_AUTH || d == DANE_FAIL ? ROUTE_DANE
		    : d == DANE_UNAUTH ? ROUTE_ENCRYPT : ROUTE_MAY;
	case PTAB_DANE_ONLY:
		*fail = d != DANE_AUTH ? (d == DANE_FAIL ? 1 : 2) : 0;
		return ROUTE_DANE;
	case PTAB_MAY:
	case PTAB_NLEVELS:
		break;
	}
	return ROUTE_MAY;
}

/* level_of - what the table, else DANE, else MTA-STS, asks of a host */
static enum route_level
level_of(const struct plan *p, const struct plan_host *h,
    const struct route_opts *o, int *fail)
{
	*fail = 0;
	if (o->tab)
		return table_level(o->tab, h, fail);
	if (h->dane == DANE_FAIL)
		*fail = 1;
	if (h->dane == DANE_AUTH || h->dane == DANE_FAIL)
		return ROUTE_DANE;
	if (h->dane == DANE_UNAUTH)
		return ROUTE_ENCRYPT;
	if (p->has_sts)
		return p->sts.policy.mode == STS_MODE_ENFORCE || o->strict_testing
		    ? ROUTE_STS : ROUTE_STS_TESTING;
	return ROUTE_MAY;
}

/* add_host - every address of a host, starting at first */
static void
add_host(struct route *rt, const struct plan *p, int i, int first,
    const struct route_opts *o)
{
	const struct plan_host *h = &p->hosts[i];
	int fail;
	enum route_level level = level_of(p, h, o, &fail);
	int mismatch = ROUTE_IS_STS(level) && !sts_mx_match(&p->sts.policy, h->name);
	struct route_cand *c;

	if (fail || (mismatch && level == ROUTE_STS)) {
		/* One entry, never connected to, so the failure is reported. */
		struct sockaddr_storage none;

		memset(&none, 0, sizeof(none));
		c = add(rt, h->naddrs > 0 ? &h->addrs[first >= 0 ? first : 0] : &none, i,
		    level, 1);
		if (c) {
			c->sts_skip = !fail;
			c->dane_only = fail == 2;
		}
		return;
	}
	if (first >= 0 && (c = add(rt, &h->addrs[first], i, level, 0)) != NULL)
		c->sts_mismatch = mismatch;
	for (int j = 0; j < h->naddrs; j++)
		if (j != first && (c = add(rt, &h->addrs[j], i, level, 0)) != NULL)
			c->sts_mismatch = mismatch;
}

/* set_ports - orig's port on every plan address (the lab uses 25 anyway) */
static void
set_ports(struct route *rt, const struct sockaddr_storage *orig)
{
	unsigned port = addr_port(orig);

	for (int i = 0; i < rt->ncands; i++)
		if (rt->cands[i].host >= 0)
			addr_set_port(&rt->cands[i].addr, port);
}

/* add_orig - orig alone (h: the plan's host at that address, or -1) */
static void
add_orig(struct route *rt, const struct plan *p, const struct sockaddr_storage *orig,
    const struct route_opts *o)
{
	int ai, h = p->status == PLAN_OK ? plan_host_of_addr(p, orig, &ai) : -1;
	int fail = 0;
	enum route_level level = o->tab ? table_level(o->tab, h >= 0 ? &p->hosts[h] : NULL,
	    &fail) : ROUTE_MAY;
	struct route_cand *c = add(rt, orig, h, level, fail != 0);

	if (c)
		c->dane_only = fail == 2;
}

/* authenticates - a table level that checks who the MX is */
static int
authenticates(const struct ptab_entry *e)
{
	return e->level == PTAB_DANE || e->level == PTAB_DANE_ONLY
	    || e->level == PTAB_FINGERPRINT || e->level == PTAB_VERIFY
	    || e->level == PTAB_SECURE;
}

/* decide - the candidates, or a verdict other than ROUTE_TRY */
static void
decide(const struct plan *p, const struct sockaddr_storage *orig,
    const struct route_opts *o, struct route *rt)
{
	enum mx_mismatch mode = o->mismatch;
	int ai = -1, h;

	if (o->tab && o->tab->kind == PTAB_DEST && p->status != PLAN_NULLMX) {
		add_orig(rt, p, orig, o);	/* [host]: where the old MTA went */
		return;
	}
	switch (p->status) {
	case PLAN_TEMPFAIL:
		if (o->tab && o->tab->level != PTAB_DANE && o->tab->level != PTAB_DANE_ONLY) {
			add_orig(rt, p, orig, o);
			return;
		}
		rt->verdict = ROUTE_TEMPFAIL;
		rt->rtype = p->rtype;
		snprintf(rt->reply, sizeof(rt->reply), "451 %s %s",
		    p->rtype != RTYPE_NONE ? "4.7.5" : "4.4.3", p->why);
		return;
	case PLAN_NULLMX:
		rt->verdict = ROUTE_NULLMX;
		snprintf(rt->reply, sizeof(rt->reply), "556 5.1.10 %s", p->why);
		return;
	case PLAN_NODOMAIN:
		add_orig(rt, p, orig, o);
		return;
	case PLAN_OK:
		break;
	}
	h = plan_host_of_addr(p, orig, &ai);
	if (h >= 0) {
		add_host(rt, p, h, ai, o);
		for (int i = 0; i < p->nhosts; i++)
			if (i != h)
				add_host(rt, p, i, -1, o);
		set_ports(rt, orig);
		return;
	}
	rt->rerouted = 1;
	if (mode == MX_AUTO && o->tab)
		mode = authenticates(o->tab) ? MX_REROUTE : MX_PASS;
	else if (mode == MX_AUTO)
		mode = p->has_dane || p->has_sts ? MX_REROUTE : MX_PASS;
	switch (mode) {
	case MX_REFUSE:
		rt->verdict = ROUTE_REFUSE;
		snprintf(rt->reply, sizeof(rt->reply), "451 4.7.5 the destination "
		    "address is not an MX host of %s (mx_mismatch = refuse)", p->domain);
		return;
	case MX_PASS:
		rt->rerouted = 0;
		add_orig(rt, p, orig, o);
		return;
	default:
		for (int i = 0; i < p->nhosts; i++)
			add_host(rt, p, i, -1, o);
		set_ports(rt, orig);
		if (rt->ncands == 0) {
			rt->verdict = ROUTE_TEMPFAIL;
			snprintf(rt->reply, sizeof(rt->reply), "451 4.4.3 no MX host of %s "
			    "has an address", p->domain);
		}
		return;
	}
}

/* route_table_entry - the table's entry for where the mail goes: the
 * original destination ([addr]:port, [addr], the name of the MX host at
 * that address), else the domain's or a parent's */
const struct ptab_entry *
route_table_entry(const struct ptable *t, const struct plan *p,
    const struct sockaddr_storage *orig)
{
	const struct ptab_entry *e;
	unsigned port = addr_port(orig);
	char host[ADDR_STRLEN];
	int ai, h;

	if (t == NULL)
		return NULL;
	if (orig->ss_family == AF_INET || orig->ss_family == AF_INET6) {
		addr_host_str(orig, host, sizeof(host));
		if ((e = ptable_find_dest(t, host, port)) != NULL)
			return e;
		if (p->status == PLAN_OK && (h = plan_host_of_addr(p, orig, &ai)) >= 0
		    && (e = ptable_find_dest(t, p->hosts[h].name, port)) != NULL)
			return e;
	}
	return p->domain[0] ? ptable_find(t, p->domain) : NULL;
}

/* route_build - the combined decision */
void
route_build(const struct plan *p, const struct sockaddr_storage *orig,
    const struct route_opts *o, struct route *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->verdict = rt->would = ROUTE_TRY;
	rt->table = o->tab != NULL;
	rt->soft = o->report_only || (o->tab && o->tab->report_only);
	decide(p, orig, o, rt);
	if (rt->soft && (rt->verdict == ROUTE_TEMPFAIL || rt->verdict == ROUTE_REFUSE)) {
		/* What enforcing would say is kept; the mail goes to orig. */
		rt->would = rt->verdict;
		rt->verdict = ROUTE_TRY;
		rt->ncands = 0;
		add(rt, orig, -1, ROUTE_MAY, 0);
	}
	for (int i = 0; o->require_tls && !o->tab && i < rt->ncands; i++) {
		struct route_cand *c = &rt->cands[i];

		if (c->level != ROUTE_MAY && c->level != ROUTE_STS_TESTING)
			continue;
		if (c->level == ROUTE_MAY)
			c->level = ROUTE_ENCRYPT;
		c->floor = 1;	/* MTA-STS testing: failures noted, but TLS a must */
	}
}
