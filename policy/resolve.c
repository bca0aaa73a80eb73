/*
 * resolve.c - collect the DNS answers for a recipient domain's plan.
 * See resolve.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/addr.h"
#include "../lib/dname.h"
#include "../lib/log.h"
#include "dns.h"
#include "resolve.h"
#include "stsget.h"

#define T_A	1
#define T_MX	15
#define T_AAAA	28
#define T_TLSA	52

struct rq {				/* one outstanding lookup */
	struct resolve *r;
	struct dns_q *q;
	int host;			/* -1: the MX lookup */
	int type;
	int fallback;			/* TLSA at the original name */
};

struct resolve {
	struct ev_loop *loop;
	struct plan *pl;
	resolve_cb *cb;
	void *arg;
	struct rq rqs[1 + PLAN_MAX_HOSTS * 4];
	int nrq;
	int pending;
	int finished;
	ev_timer guard;
	struct stsget *sts;		/* MTA-STS lookup in flight */
	int sts_pending;
};

static void on_answer(void *, enum dns_sec, const struct ub_result *, const char *);

static struct resolve_conf resolve_conf;	/* resolve_init()'s */

/* resolve_init - what every later resolve_start() looks up */
void
resolve_init(const struct resolve_conf *conf)
{
	resolve_conf = *conf;
}

/* lookup - start one query */
static void
lookup(struct resolve *r, const char *name, int type, int host, int fallback)
{
	struct rq *q;

	if (r->nrq >= (int) (sizeof(r->rqs) / sizeof(r->rqs[0])))
		msg_panic("resolve: too many lookups for %s", r->pl->domain);
	q = &r->rqs[r->nrq++];
	q->r = r;
	q->host = host;
	q->type = type;
	q->fallback = fallback;
	r->pending++;
	if ((q->q = dns_query(name, type, on_answer, q)) == NULL) {
		/* Out of memory: count it as an indeterminate answer, later. */
		r->pending--;
		q->q = NULL;
		if (host >= 0) {
			if (type == T_A)
				r->pl->hosts[host].a_sec = DNS_INDETERMINATE, r->pl->hosts[host].a_done = 1;
			else if (type == T_AAAA)
				r->pl->hosts[host].aaaa_sec = DNS_INDETERMINATE, r->pl->hosts[host].aaaa_done = 1;
		}
	}
}

/* finish - hand the plan over once */
static void
finish(struct resolve *r)
{
	if (r->finished)
		return;
	r->finished = 1;
	ev_timer_stop(r->loop, &r->guard);
	for (int i = 0; i < r->nrq; i++)
		if (r->rqs[i].q) {
			dns_cancel(r->rqs[i].q);
			r->rqs[i].q = NULL;
		}
	if (r->sts) {
		stsget_cancel(r->sts);
		r->sts = NULL;
	}
	if (r->pl->status == PLAN_OK)
		plan_finish(r->pl);
	r->cb(r->arg, r->pl);		/* the plan is the caller's now */
	free(r);
}

/* tempfail - the whole plan fails temporarily */
static void
tempfail(struct resolve *r, enum rtype rtype, const char *fmt, const char *a, const char *b)
{
	r->pl->status = PLAN_TEMPFAIL;
	r->pl->rtype = rtype;
	snprintf(r->pl->why, sizeof(r->pl->why), fmt, a, b);
}

/* add_host - an MX exchange */
static void
add_host(struct resolve *r, const char *name, int pref)
{
	struct plan *p = r->pl;
	int i;

	if (p->nhosts >= PLAN_MAX_HOSTS)
		return;
	for (i = 0; i < p->nhosts; i++)
		if (strcmp(p->hosts[i].name, name) == 0)
			return;
	/* insertion in preference order, stable for equal preferences */
	for (i = p->nhosts; i > 0 && p->hosts[i - 1].pref > pref; i--)
		p->hosts[i] = p->hosts[i - 1];
	memset(&p->hosts[i], 0, sizeof(p->hosts[i]));
	snprintf(p->hosts[i].name, sizeof(p->hosts[i].name), "%s", name);
	snprintf(p->hosts[i].canon, sizeof(p->hosts[i].canon), "%s", name);
	snprintf(p->hosts[i].base, sizeof(p->hosts[i].base), "%s", name);
	p->hosts[i].pref = pref;
	p->nhosts++;
}

/* got_mx - the MX answer */
static void
got_mx(struct resolve *r, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	struct plan *p = r->pl;

	p->mx_sec = sec;
	if (sec == DNS_BOGUS) {
		tempfail(r, RTYPE_DNSSEC_INVALID, "MX lookup for %s failed DNSSEC validation: %s",
		    p->domain, why);
		return;
	}
	if (sec == DNS_INDETERMINATE) {
		tempfail(r, RTYPE_NONE, "MX lookup for %s failed: %s", p->domain, why);
		return;
	}
	if (u->nxdomain) {
		p->status = PLAN_NODOMAIN;
		snprintf(p->why, sizeof(p->why), "%s does not exist (%s)", p->domain,
		    dns_sec_str(sec));
		return;
	}
	if (!u->havedata) {
		p->implicit_mx = 1;
		add_host(r, p->domain, 0);
	} else {
		for (int i = 0; u->data[i]; i++) {
			char host[RR_NAME_MAX];
			int pref;

			if (rr_mx((const unsigned char *) u->data[i], (size_t) u->len[i],
				&pref, host, sizeof(host)) < 0) {
				msg_warn("resolve: malformed MX record for %s ignored", p->domain);
				continue;
			}
			if (strcmp(host, ".") == 0) {
				if (u->data[1] == NULL) {
					p->status = PLAN_NULLMX;
					snprintf(p->why, sizeof(p->why),
					    "%s publishes a null MX (RFC 7505)", p->domain);
					return;
				}
				continue;
			}
			add_host(r, host, pref);
		}
		if (p->nhosts == 0) {
			tempfail(r, RTYPE_NONE, "no usable MX host for %s%s", p->domain, "");
			return;
		}
	}
	for (int i = 0; i < p->nhosts; i++) {
		lookup(r, p->hosts[i].name, T_A, i, 0);
		lookup(r, p->hosts[i].name, T_AAAA, i, 0);
	}
}

/* tlsa_name - _25._tcp.host */
static void
tlsa_name(const char *host, char *out, size_t outlen)
{
	snprintf(out, outlen, "_25._tcp.%s", host);
}

/* got_addr - an A or AAAA answer */
static void
got_addr(struct resolve *r, struct rq *q, enum dns_sec sec, const struct ub_result *u)
{
	struct plan_host *h = &r->pl->hosts[q->host];

	if (q->type == T_A) {
		h->a_sec = sec;
		h->a_done = 1;
	} else {
		h->aaaa_sec = sec;
		h->aaaa_done = 1;
	}
	if (u && sec != DNS_BOGUS && u->havedata) {
		for (int i = 0; u->data[i] && h->naddrs < PLAN_MAX_ADDRS; i++)
			if (addr_from_rdata(&h->addrs[h->naddrs], q->type == T_A ? AF_INET
				: AF_INET6, u->data[i], (size_t) u->len[i], 25) == 0)
				h->naddrs++;
		/* CNAME expansion (RFC 7672 2.2.2): the canonical name counts
		 * only when the whole chain validated. */
		if (u->canonname && sec == DNS_SECURE && q->type == T_A) {
			char c[RR_NAME_MAX];

			dname_norm(c, sizeof(c), u->canonname);
			if (dname_dns_ok(c, strlen(c)) && strcmp(c, h->name) != 0) {
				snprintf(h->canon, sizeof(h->canon), "%s", c);
				snprintf(h->base, sizeof(h->base), "%s", c);
			}
		}
	}
	if (!h->a_done || !h->aaaa_done)
		return;
	/* Both address families in: TLSA when DANE can apply. */
	{
		enum dns_sec a = h->a_sec, b = h->aaaa_sec;
		int secure = r->pl->mx_sec == DNS_SECURE && h->naddrs > 0
		    && (a == DNS_SECURE || a == DNS_INDETERMINATE)
		    && (b == DNS_SECURE || b == DNS_INDETERMINATE)
		    && (a == DNS_SECURE || b == DNS_SECURE);
		char tn[RR_NAME_MAX + 16];

		if (!secure)
			return;
		tlsa_name(h->base, tn, sizeof(tn));
		h->tlsa_looked_up = 1;
		lookup(r, tn, T_TLSA, q->host, 0);
	}
}

/* got_tlsa - a TLSA answer */
static void
got_tlsa(struct resolve *r, struct rq *q, enum dns_sec sec, const struct ub_result *u)
{
	struct plan_host *h = &r->pl->hosts[q->host];

	h->tlsa_sec = sec;
	h->tlsa_exists = sec == DNS_SECURE && u && u->havedata && !u->nxdomain;
	if (sec == DNS_SECURE && !h->tlsa_exists && !q->fallback
	    && strcmp(h->base, h->name) != 0) {
		/* Nothing at the expanded name: try the original name. */
		char tn[RR_NAME_MAX + 16];

		memcpy(h->base, h->name, sizeof(h->base));
		tlsa_name(h->name, tn, sizeof(tn));
		lookup(r, tn, T_TLSA, q->host, 1);
		return;
	}
	if (!h->tlsa_exists)
		return;
	h->tlsa_text[0] = 0;
	for (int i = 0; u->data[i]; i++) {
		struct rr_tlsa t;
		const char *why;
		char txt[200];
		size_t tl = strlen(h->tlsa_text);

		if (rr_tlsa((const unsigned char *) u->data[i], (size_t) u->len[i], &t, &why) < 0) {
			h->nmalformed++;
			/* As published, for logs and reports (RFC 8460 wants the
			 * record, not our opinion of it). */
			rr_tlsa_raw_text((const unsigned char *) u->data[i], (size_t) u->len[i],
			    txt, sizeof(txt));
			msg_warn("resolve: unusable TLSA record for %s: %s (%s)", h->base, why, txt);
			snprintf(h->tlsa_text + tl, sizeof(h->tlsa_text) - tl, "%s%s",
			    tl ? "; " : "", txt);
			continue;
		}
		rr_tlsa_text(&t, txt, sizeof(txt));
		snprintf(h->tlsa_text + tl, sizeof(h->tlsa_text) - tl, "%s%s", tl ? "; " : "", txt);
		if (!dane_usable(&t)) {
			msg_info("resolve: TLSA %s for %s is not usable for SMTP (RFC 7672 3.1.3)",
			    txt, h->base);
			continue;
		}
		if (plan_add_tlsa(h, &t) < 0)
			h->nmalformed++;
	}
}

/* on_answer - every lookup ends here */
static void
on_answer(void *arg, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	struct rq *q = arg;
	struct resolve *r = q->r;

	q->q = NULL;
	r->pending--;
	if (r->finished)
		return;
	/* The plan may live only as long as its shortest-lived answer. */
	if (u && sec != DNS_BOGUS && sec != DNS_INDETERMINATE
	    && (r->pl->min_ttl < 0 || u->ttl < r->pl->min_ttl))
		r->pl->min_ttl = u->ttl < 0 ? 0 : u->ttl;
	if (q->host < 0)
		got_mx(r, sec, u, why);
	else if (q->type == T_TLSA)
		got_tlsa(r, q, sec, u);
	else
		got_addr(r, q, sec, u);
	if (r->pl->status != PLAN_OK || (r->pending == 0 && !r->sts_pending))
		finish(r);
}

/* on_sts - the MTA-STS policy of the domain */
static void
on_sts(void *arg, const struct sts_result *res)
{
	struct resolve *r = arg;

	r->sts = NULL;
	r->sts_pending = 0;
	if (r->finished)
		return;
	r->pl->sts = *res;
	if (res->txt_ttl >= 0 && (r->pl->min_ttl < 0 || res->txt_ttl < r->pl->min_ttl))
		r->pl->min_ttl = res->txt_ttl;
	if (r->pl->status != PLAN_OK || r->pending == 0)
		finish(r);
}

/* on_guard - a lookup hung */
static void
on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolve *r = w->data;

	(void) loop;
	(void) revents;
	if (r->pl->status == PLAN_OK)
		tempfail(r, RTYPE_NONE, "DNS lookups for %s timed out%s", r->pl->domain, "");
	finish(r);
}

/* resolve_start - begin with the MX lookup */
struct resolve *
resolve_start(struct ev_loop *loop, const char *domain, resolve_cb *cb, void *arg)
{
	struct resolve *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if ((r->pl = calloc(1, sizeof(*r->pl))) == NULL) {
		free(r);
		return NULL;
	}
	r->pl->min_ttl = -1;
	r->loop = loop;
	r->cb = cb;
	r->arg = arg;
	(void) dname_lower(r->pl->domain, sizeof(r->pl->domain), domain, strlen(domain));
	ev_timer_init(&r->guard, on_guard, RESOLVE_TIMEOUT, 0.);
	r->guard.data = r;
	ev_timer_start(loop, &r->guard);
	lookup(r, r->pl->domain, T_MX, -1, 0);
	if (resolve_conf.sts) {
		r->sts_pending = 1;
		if ((r->sts = stsget_start(r->pl->domain, on_sts, r)) == NULL)
			r->sts_pending = 0;
	}
	if (r->pending == 0) {
		tempfail(r, RTYPE_NONE, "cannot look up MX for %s%s", domain, "");
		ev_timer_stop(loop, &r->guard);
		ev_timer_set(&r->guard, 0., 0.);
		ev_timer_start(loop, &r->guard);	/* report from the loop */
	}
	return r;
}

/* resolve_cancel - the asker went away */
void
resolve_cancel(struct resolve *r)
{
	if (r == NULL || r->finished)
		return;
	r->finished = 1;
	ev_timer_stop(r->loop, &r->guard);
	for (int i = 0; i < r->nrq; i++)
		if (r->rqs[i].q)
			dns_cancel(r->rqs[i].q);
	if (r->sts)
		stsget_cancel(r->sts);
	plan_free(r->pl);
	free(r);
}
