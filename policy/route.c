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
	switch (l) {
	case ROUTE_DANE:
		return "dane";
	case ROUTE_STS:
		return "mta-sts enforce";
	case ROUTE_STS_TESTING:
		return "mta-sts testing";
	case ROUTE_ENCRYPT:
		return "encrypt";
	case ROUTE_MAY:
		break;
	}
	return "may";
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

/* level_of - what DANE, else MTA-STS, asks of a host */
static enum route_level
level_of(const struct plan *p, const struct plan_host *h, int strict)
{
	if (h->dane == DANE_AUTH)
		return ROUTE_DANE;
	if (h->dane == DANE_UNAUTH)
		return ROUTE_ENCRYPT;
	if (p->has_sts)
		return p->sts.policy.mode == STS_MODE_ENFORCE || strict ? ROUTE_STS
		    : ROUTE_STS_TESTING;
	return ROUTE_MAY;
}

/* add_host - every address of a host, starting at first */
static void
add_host(struct route *rt, const struct plan *p, int i, int first, int strict)
{
	const struct plan_host *h = &p->hosts[i];
	enum route_level level = level_of(p, h, strict);
	int mismatch = ROUTE_IS_STS(level) && !sts_mx_match(&p->sts.policy, h->name);
	struct route_cand *c;

	if (h->dane == DANE_FAIL || (mismatch && level == ROUTE_STS)) {
		/* One entry, never connected to, so the failure is reported. */
		struct sockaddr_storage none;

		memset(&none, 0, sizeof(none));
		c = add(rt, h->naddrs > 0 ? &h->addrs[first >= 0 ? first : 0] : &none, i,
		    level, 1);
		if (c)
			c->sts_skip = h->dane != DANE_FAIL;
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

/* route_build - the combined decision */
void
route_build(const struct plan *p, const struct sockaddr_storage *orig,
    enum mx_mismatch mode, int strict_testing, struct route *rt)
{
	int ai = -1, h;

	memset(rt, 0, sizeof(*rt));
	rt->verdict = ROUTE_TRY;
	switch (p->status) {
	case PLAN_TEMPFAIL:
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
		add(rt, orig, -1, ROUTE_MAY, 0);
		return;
	case PLAN_OK:
		break;
	}
	h = plan_host_of_addr(p, orig, &ai);
	if (h >= 0) {
		add_host(rt, p, h, ai, strict_testing);
		for (int i = 0; i < p->nhosts; i++)
			if (i != h)
				add_host(rt, p, i, -1, strict_testing);
		set_ports(rt, orig);
		return;
	}
	rt->rerouted = 1;
	if (mode == MX_AUTO)
		mode = p->has_dane || p->has_sts ? MX_REROUTE : MX_PASS;
	switch (mode) {
	case MX_REFUSE:
		rt->verdict = ROUTE_REFUSE;
		snprintf(rt->reply, sizeof(rt->reply), "451 4.7.5 the destination "
		    "address is not an MX host of %s (mx_mismatch = refuse)", p->domain);
		return;
	case MX_PASS:
		rt->rerouted = 0;
		add(rt, orig, -1, ROUTE_MAY, 0);
		return;
	default:
		for (int i = 0; i < p->nhosts; i++)
			add_host(rt, p, i, -1, strict_testing);
		set_ports(rt, orig);
		if (rt->ncands == 0) {
			rt->verdict = ROUTE_TEMPFAIL;
			snprintf(rt->reply, sizeof(rt->reply), "451 4.4.3 no MX host of %s "
			    "has an address", p->domain);
		}
		return;
	}
}
