/*
 * plan.c - turn collected DNS answers into decisions, pure.  See plan.h.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/addr.h"
#include "plan.h"

/* combine - the weaker of two DNSSEC states */
static enum dns_sec
combine(enum dns_sec a, enum dns_sec b)
{
	if (a == DNS_BOGUS || b == DNS_BOGUS)
		return DNS_BOGUS;
	if (a == DNS_INDETERMINATE || b == DNS_INDETERMINATE)
		return DNS_INDETERMINATE;
	if (a == DNS_INSECURE || b == DNS_INSECURE)
		return DNS_INSECURE;
	return DNS_SECURE;
}

/* plan_finish - DANE state per host, and for the plan */
void
plan_finish(struct plan *p)
{
	p->has_dane = 0;
	for (int i = 0; i < p->nhosts; i++) {
		struct plan_host *h = &p->hosts[i];
		struct dane_in in;
		enum rtype rtype;
		const char *why;

		h->addr_sec = combine(h->a_sec, h->aaaa_sec);
		/* An address family that failed but another that worked is
		 * still usable, unless the failure was a validation failure. */
		if (h->addr_sec == DNS_INDETERMINATE && h->naddrs > 0)
			h->addr_sec = (h->a_sec == DNS_INDETERMINATE) ? h->aaaa_sec : h->a_sec;
		in.mx_sec = p->mx_sec;
		in.addr_sec = h->addr_sec;
		in.tlsa_looked_up = h->tlsa_looked_up;
		in.tlsa_sec = h->tlsa_sec;
		in.tlsa_exists = h->tlsa_exists;
		in.nusable = h->ntlsa;
		h->dane = dane_host_state(&in, &rtype, &why);
		h->rtype = rtype;
		if (why || h->naddrs == 0) {
			char text[sizeof(h->why)];

			if (why)
				snprintf(text, sizeof(text), "%s for %s", why,
				    h->tlsa_looked_up ? h->base : h->name);
			else
				snprintf(text, sizeof(text), "no address for %s (%s)", h->name,
				    dns_sec_str(h->addr_sec));
			memcpy(h->why, text, sizeof(h->why));
		}
		if (h->dane != DANE_NONE)
			p->has_dane = 1;
	}
	p->has_sts = p->sts.has_policy && p->sts.policy.mode != STS_MODE_NONE;
}

/* plan_host_of_addr - which host has this address, or -1 */
int
plan_host_of_addr(const struct plan *p, const struct sockaddr_storage *a,
    int *addr_index)
{
	for (int i = 0; i < p->nhosts; i++)
		for (int j = 0; j < p->hosts[i].naddrs; j++)
			if (addr_same_ip(&p->hosts[i].addrs[j], a)) {
				if (addr_index)
					*addr_index = j;
				return i;
			}
	return -1;
}

/* plan_free - a plan and its TLSA data */
void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->nhosts; i++)
		for (int j = 0; j < p->hosts[i].ntlsa; j++)
			free(p->hosts[i].tlsa[j].data);
	free(p);
}

/* plan_add_tlsa - a usable record into h's set (its data copied, the
 * plan's to free); -1, nothing added, when the set is full, the record
 * longer than PLAN_TLSA_DATA or memory short */
int
plan_add_tlsa(struct plan_host *h, const struct rr_tlsa *t)
{
	struct plan_tlsa *p;

	if (t->len > PLAN_TLSA_DATA || h->ntlsa >= PLAN_MAX_TLSA)
		return -1;
	p = &h->tlsa[h->ntlsa];
	if ((p->data = malloc(t->len ? t->len : 1)) == NULL)
		return -1;
	p->usage = t->usage;
	p->selector = t->selector;
	p->mtype = t->mtype;
	p->len = (uint16_t) t->len;
	memcpy(p->data, t->data, t->len);
	h->ntlsa++;
	return 0;
}
