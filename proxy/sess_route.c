/*
 * sess_route.c - from a RCPT's domain to a connected upstream: policy
 * lookups, plan adoption, the candidates in order and failover, whether
 * the open upstream still fits a fresh plan, the reply when every MX
 * failed.  See sess_int.h.
 */
#include "../lib/clock.h"
#include "sess_int.h"

static void attempts_failed(struct sess *s);
static double mono_ms(void);
static void log_plan(struct sess *s, const struct plan *p);
static void start_route(struct sess *s);
static int up_fits(struct sess *s, const struct plan *p);
static void adopt_plan(struct sess *s, struct plan *p);
static void on_plan(void *arg, struct plan *p);
static int keep_table(struct sess *s, const struct ptab_entry *e);
static void ruled_out(struct sess *s, const struct route_cand *c);
static void journal_would(struct sess *s);
static void early_plan(struct sess *s, struct plan *p);
static void build_route(struct sess *s);
static void take_plan(struct sess *s, struct plan *p, int fresh);
static void early_drop(struct sess *s);
static void up_key(struct sess *s, const struct plan *pl, const struct route *rt,
    const struct route_cand *c, const struct ptab_entry *tab, struct upc_key *k);
static int start_up(struct sess *s, const struct route_cand *c,
    const struct up_params *p);

/* sess_up_source - the address s's upstream connections leave from:
 * under upstream_source = client, for a session that came through a
 * TPROXY listener (its accepted socket is transparent, as the listener
 * was), the old MTA's own address (s->client's, port 0: any); its
 * length, or 0 for the gateway's own address (the kernel's choice, src
 * untouched) */
socklen_t
sess_up_source(const struct sess *s, struct sockaddr_storage *src)
{
	struct sockaddr_storage ss;
	socklen_t len, ol = sizeof(int);
	int on = 0;

	if (proxy.cfg.upstream_source != SOURCE_CLIENT || s->c.fd < 0
	    || addr_parse(s->client, &ss, &len) < 0)
		return 0;
	if (getsockopt(s->c.fd, ss.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
	    ss.ss_family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &on, &ol) < 0
	    || !on)
		return 0;		/* REDIRECT: gateway-sourced */
	addr_set_port(&ss, 0);
	*src = ss;
	return len;
}

/* sess_up_params_for - where and how to connect: one route candidate */
void
sess_up_params_for(struct sess *s, const struct route_cand *c,
    struct up_params *p)
{
	*p = (struct up_params) {
		.addr = c->addr,
		.addrlen = c->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		    : sizeof(struct sockaddr_in),
		.helo = s->fsm.helo ? s->fsm.helo : proxy.hostname,
		.mark = proxy.cfg.upstream_mark,
		.connect_timeout = proxy.cfg.upstream_connect_timeout,
		.timeout = proxy.cfg.upstream_timeout,
		.tls_ctx = proxy.client_ctx,
		.sid = s->id,
		.ktls = proxy.cfg.tls_ktls,
	};
	p->srclen = sess_up_source(s, &p->src);
	up_params_policy(p, rt_of(s)->plan, rt_of(s)->route, c, rt_of(s)->has_tab ? &rt_of(s)->tab : NULL);
	if (proxy.cfg.tls_session_cache && proxy.scache) {
		/* A session verified on the plan's answers lives no longer
		 * than they do (route_resume_ttl) */
		const struct plan *pl = rt_of(s)->plan;

		p->scache = proxy.scache;
		p->dns_ttl = route_resume_ttl(p->level, pl != NULL, pl ? pl->min_ttl : -1,
		    rt_of(s)->until > 0 ? rt_of(s)->until - mono_ms() : 0);
	}
}

/* attempts_failed - every candidate failed: the old MTA hears why */
static void
attempts_failed(struct sess *s)
{
	if (rt_of(s)->pfail[0] && rt_of(s)->lfail[0] && !rt_of(s)->lfail_policy) {
		/* The policy failure is the reason; what went wrong with the
		 * last host, which policy allowed, is said too. */
		const char *sp = strchr(rt_of(s)->lfail + 4, ' ');

		snprintf(txn_w(s)->fail, sizeof(txn_w(s)->fail), "%.500s; then %.450s", rt_w(s)->pfail,
		    sp ? sp + 1 : rt_of(s)->lfail);
	} else if (rt_of(s)->pfail[0])
		snprintf(txn_w(s)->fail, sizeof(txn_w(s)->fail), "%s", rt_w(s)->pfail);
	else if (rt_of(s)->lfail[0])
		snprintf(txn_w(s)->fail, sizeof(txn_w(s)->fail), "%s", rt_w(s)->lfail);
	else
		snprintf(txn_w(s)->fail, sizeof(txn_w(s)->fail), "451 4.4.3 no MX host of %s "
		    "could be tried", rt_of(s)->plan ? rt_of(s)->plan->domain : "the domain");
	msg_info("%s: all MX hosts failed for %s: %s", s->id,
	    rt_of(s)->plan ? rt_of(s)->plan->domain : "?", txn_of(s)->fail);
	if (rt_of(s)->pfail[0] && rt_of(s)->plan && proxy.cfg.tls_required_enable
	    && sess_may_hold(s)) {
		/* A policy failure: only the message can waive it (RFC 8689),
		 * and the message comes after DATA.  Hold the recipient. */
		snprintf(hold_w(s)->fail, sizeof(hold_w(s)->fail), "%s", txn_w(s)->fail);
		txn_w(s)->fail[0] = 0;
		hold_w(s)->on = 1;
		sess_hold_rcpt(s);
		sess_enter(s, W_NONE);
		return;
	}
	sess_sayf(s, "%s", txn_of(s)->fail);
	sess_log_rcpt(s, txn_of(s)->rcpt.addr, 0, "deferred", txn_of(s)->fail);
	fsm_rcpt_result(&s->fsm, 0);
	sess_enter(s, W_NONE);
}

/* sess_attempt_failed - one MX failed: remember why, for the final reply */
void
sess_attempt_failed(struct sess *s, const char *peer, const char *enh,
    enum rtype rtype, const char *rcode, const char *why)
{
	msg_info("%s: attempt to %s failed: result=%s%s%s: %s", s->id, peer,
	    rtype != RTYPE_NONE ? rtype_str(rtype) : "connection", rcode && *rcode ? " reason=" : "",
	    rcode && *rcode ? rcode : "", why);
	snprintf(rt_w(s)->lfail, sizeof(rt_w(s)->lfail), "451 %s %s", enh, why);
	rt_w(s)->lfail_policy = rtype != RTYPE_NONE;
	if (rtype != RTYPE_NONE && !rt_of(s)->pfail[0]) {
		snprintf(rt_w(s)->pfail, sizeof(rt_w(s)->pfail), "451 %s %s", enh, why);
		rt_w(s)->prtype = rtype;
	}
}

/* ruled_out - a candidate policy rules out before any connection (its
 * MTA-STS mx pattern, dane-only without usable TLSA, failed DANE
 * lookups): journaled (refused, or would-refuse under report-only) and
 * remembered for the reply */
static void
ruled_out(struct sess *s, const struct route_cand *c)
{
	const struct plan_host *h = &rt_of(s)->plan->hosts[c->host];
	enum ptype pt = PTYPE_TLSA;
	enum rtype rt = h->rtype != RTYPE_NONE ? h->rtype : RTYPE_VALIDATION_FAILURE;
	const char *code = "", *why = h->why;
	char buf[RR_NAME_MAX * 2 + 80];

	if (c->sts_skip) {
		pt = PTYPE_STS;
		rt = RTYPE_VALIDATION_FAILURE;
		code = "mx-pattern-mismatch";
		snprintf(buf, sizeof(buf), "MX host %s matches no mx pattern of the MTA-STS "
		    "policy of %s", h->name, rt_of(s)->plan->domain);
		why = buf;
	} else if (c->dane_only) {
		rt = RTYPE_DANE_REQUIRED;
		code = "no-usable-tlsa";
		snprintf(buf, sizeof(buf), "no usable TLSA record for MX host %s (policy "
		    "table: dane-only)", h->name);
		why = buf;
	}
	(void) sess_journal(s, NULL, c->host, pt, &c->addr, rt, code,
	    rt_of(s)->route->soft ? RACTION_WOULD_REFUSE : RACTION_REFUSED);
	sess_attempt_failed(s, h->name, "4.7.5", rt, NULL, why);
}

/* sess_next_attempt - connect to the next candidate, or give up */
void
sess_next_attempt(struct sess *s)
{
	while (rt_of(s)->icand < rt_of(s)->route->ncands) {
		const struct route_cand *c = &rt_w(s)->route->cands[rt_w(s)->icand++];
		struct up_params p;

		rt_w(s)->cur_host = c->host;
		rt_w(s)->cur_ptype = sess_cand_ptype(s, c);
		if (c->failed && !hold_of(s)->replay) {
			ruled_out(s, c);
			if (!rt_of(s)->route->soft)
				continue;
			msg_info("%s: report-only: would refuse %s: %s; trying it anyway", s->id,
			    rt_of(s)->plan->hosts[c->host].name, rt_of(s)->lfail + 4);
		}
		if (c->addr.ss_family != AF_INET && c->addr.ss_family != AF_INET6)
			continue;	/* (a failed host without an address) */
		sess_up_params_for(s, c, &p);
		if (hold_of(s)->replay) {
			/* TLS-Required: No: the best TLS the MX offers, every
			 * host, the policy waived (RFC 8689 5) */
			p.level = ROUTE_MAY;
			p.tlsa = NULL;
			p.ntlsa = 0;
			p.sts_mismatch = 0;
		}
		sess_enter(s, W_CONNECT);
		if (start_up(s, c, &p) < 0) {
			sess_attempt_failed(s, "?", "4.3.0", RTYPE_NONE, NULL, "out of memory");
			continue;
		}
		return;
	}
	if (hold_of(s)->replay)
		sess_xfer_finish(s, rt_of(s)->lfail[0] ? rt_of(s)->lfail : hold_of(s)->fail, NULL);
	else
		attempts_failed(s);
}

/* mono_ms - the monotonic clock in milliseconds */
static double
mono_ms(void)
{
	return clock_mono() * 1000.0;
}

/* log_plan - what policy found, one line per MX host, and a summary */
static void
log_plan(struct sess *s, const struct plan *p)
{
	double took = mono_ms() - rt_of(s)->t0;

	metrics_lookup(took);
	msg_info("%s: policy lookups for %s took %.3f ms: %s%s%s", s->id, p->domain,
	    took, p->status == PLAN_TEMPFAIL ? "tempfail"
	    : p->status == PLAN_NULLMX ? "null MX" : p->status == PLAN_NODOMAIN
	    ? "no such domain" : p->has_dane ? "dane" : p->has_sts ? "mta-sts"
	    : "no policy", p->has_sts && !p->has_dane ? " " : "",
	    p->has_sts && !p->has_dane ? sts_mode_str(p->sts.policy.mode) : "");
	if (p->sts.has_policy)
		msg_info("%s: mta-sts policy for %s: id %s, mode %s, mx %s%s%s%s", s->id,
		    p->domain, p->sts.id, sts_mode_str(p->sts.policy.mode),
		    p->sts.policy.nmx > 0 ? p->sts.policy.mx[0] : "-",
		    p->sts.policy.nmx > 1 ? " ..." : "", p->sts.from_cache ? ", cached" : "",
		    p->sts.rtype != RTYPE_NONE ? " (a newer one failed)" : "");
	if (p->sts.rtype != RTYPE_NONE)
		msg_info("%s: mta-sts for %s: result=%s: %s", s->id, p->domain,
		    rtype_str(p->sts.rtype), p->sts.why);
	if (p->status != PLAN_OK) {
		msg_info("%s: policy for %s: %s", s->id, p->domain, p->why);
		return;
	}
	for (int i = 0; i < p->nhosts; i++) {
		const struct plan_host *h = &p->hosts[i];

		msg_info("%s: policy for %s: MX %d %s%s%s (mx %s, address %s, tlsa %s)"
		    " -> %s%s%s", s->id, p->domain, h->pref, h->name,
		    strcmp(h->name, h->canon) ? " cname " : "",
		    strcmp(h->name, h->canon) ? h->canon : "",
		    dns_sec_str(p->mx_sec), dns_sec_str(h->addr_sec),
		    h->tlsa_looked_up ? (h->tlsa_exists ? h->tlsa_text : "none")
		    : "not looked up", dane_state_str(h->dane), h->why[0] ? ": " : "",
		    h->why);
	}
}

/* sess_route_opts - what the route of plan p is built with now */
void
sess_route_opts(const struct sess *s, const struct plan *p, struct route_opts *o)
{
	*o = (struct route_opts) {
		.mismatch = (enum mx_mismatch) proxy.cfg.mx_mismatch,
		.strict_testing = proxy.cfg.strict_testing,
		.require_tls = proxy.cfg.require_tls,
		.report_only = proxy.cfg.mode == MODE_REPORT_ONLY,
		.tab = route_table_entry(proxy.ptab, p, &s->orig),
	};
}

/* sess_route_free - the route's copy of its table entry */
void
sess_route_free(struct sess *s)
{
	if (s->rt_ == NULL)
		return;
	if (s->rt_->has_tab)
		ptab_entry_free(&s->rt_->tab);
	s->rt_->has_tab = 0;
}

/* sess_route_release - the route's and the upstream key's storage
 * (sess_free) */
void
sess_route_release(struct sess *s)
{
	struct sess_route *rt = s->rt_;

	if (rt == NULL)
		return;
	if (!rt->route_oom)
		free(rt->route);
	rt->route = NULL;
	rt->route_oom = 0;
	free(rt->up_key);
	rt->up_key = NULL;
}

/* keep_table - a copy of the entry the route uses, for its attempts;
 * -1 when out of memory */
static int
keep_table(struct sess *s, const struct ptab_entry *e)
{
	sess_route_free(s);
	if (e == NULL)
		return 0;
	if (ptab_entry_dup(&rt_w(s)->tab, e) < 0)
		return -1;
	rt_w(s)->has_tab = 1;
	rt_w(s)->tab_gen = proxy.ptab_gen;
	msg_info("%s: policy table %s:%d: %s %s%s applies to %s", s->id,
	    proxy.cfg.policy_table, e->line, e->key, ptab_level_str(e->level),
	    e->report_only ? " mode=report-only" : "", rt_of(s)->plan->domain[0]
	    ? rt_of(s)->plan->domain : s->origstr);
	return 0;
}

/* journal_would - report-only: what enforcing would have refused */
static void
journal_would(struct sess *s)
{
	const struct route *r = rt_of(s)->route;
	enum rtype rt = r->rtype != RTYPE_NONE ? r->rtype : RTYPE_CONNECTION_FAILURE;

	(void) sess_journal(s, NULL, -1, sess_ptype_of_rtype(r->rtype), NULL, rt,
	    r->rtype != RTYPE_NONE ? "" : "dns-failure", RACTION_WOULD_REFUSE);
	msg_info("%s: report-only: would refuse: %s; delivering anyway", s->id, r->reply);
}

/* route_storage - where the route is built: allocated with the first plan
 * (an idle session holds none); out of memory, a shared tempfail with no
 * candidates, and NULL */
static struct route *
route_storage(struct sess *s)
{
	static struct route oom;

	if (rt_of(s)->route_oom) {
		rt_w(s)->route = NULL;
		rt_w(s)->route_oom = 0;
	}
	if (rt_w(s)->route == NULL && (rt_w(s)->route = malloc(sizeof(*rt_w(s)->route))) == NULL) {
		memset(&oom, 0, sizeof(oom));
		oom.verdict = ROUTE_TEMPFAIL;
		oom.would = ROUTE_TRY;
		oom.rtype = RTYPE_NONE;
		snprintf(oom.reply, sizeof(oom.reply), "451 4.3.0 Error: out of memory");
		rt_w(s)->route = &oom;
		rt_w(s)->route_oom = 1;
		return NULL;
	}
	return rt_of(s)->route;
}

/* build_route - the plan's candidates, no attempt made yet, the table
 * entry kept (out of memory: the route is a 4.3.0 tempfail) */
static void
build_route(struct sess *s)
{
	struct route_opts o;

	rt_w(s)->icand = 0;
	rt_w(s)->pfail[0] = rt_w(s)->lfail[0] = 0;
	rt_w(s)->prtype = RTYPE_NONE;
	if (route_storage(s) == NULL)
		return;
	sess_route_opts(s, rt_of(s)->plan, &o);
	route_build(rt_of(s)->plan, &s->orig, &o, rt_of(s)->route);
	if (keep_table(s, o.tab) < 0) {
		rt_of(s)->route->verdict = ROUTE_TEMPFAIL;
		rt_of(s)->route->rtype = RTYPE_NONE;
		snprintf(rt_of(s)->route->reply, sizeof(rt_of(s)->route->reply),
		    "451 4.3.0 Error: out of memory");
	}
}

/* take_plan - p is the session's plan now, until its TTLs run out */
static void
take_plan(struct sess *s, struct plan *p, int fresh)
{
	plan_free(rt_of(s)->plan);
	rt_w(s)->plan = p;
	rt_w(s)->fresh = fresh;
	rt_w(s)->until = p->status == PLAN_OK && p->min_ttl > 0
	    ? mono_ms() + 1000.0 * (double) p->min_ttl : 0;
}

/* start_route - a plan is in: decide and start connecting */
static void
start_route(struct sess *s)
{
	build_route(s);
	if (rt_of(s)->route->would != ROUTE_TRY)
		journal_would(s);
	if (rt_of(s)->route->verdict != ROUTE_TRY) {
		if (rt_of(s)->route->rtype != RTYPE_NONE)
			(void) sess_journal(s, NULL, -1, sess_ptype_of_rtype(rt_of(s)->route->rtype), NULL,
			    rt_of(s)->route->rtype, "", RACTION_REFUSED);
		msg_info("%s: %s", s->id, rt_of(s)->route->reply);
		snprintf(txn_w(s)->fail, sizeof(txn_w(s)->fail), "%s", rt_w(s)->route->reply);
		sess_sayf(s, "%s", txn_of(s)->fail);
		sess_log_rcpt(s, txn_of(s)->rcpt.addr, 0, txn_of(s)->fail[0] == '5' ? "bounced"
		    : "deferred", txn_of(s)->fail);
		fsm_rcpt_result(&s->fsm, 0);
		sess_enter(s, W_NONE);
		return;
	}
	if (rt_of(s)->route->rerouted)
		msg_info("%s: %s is not an MX host of %s: rerouting to its MX hosts",
		    s->id, s->origstr, rt_of(s)->plan->domain);
	sess_next_attempt(s);
}

/* up_key - the key (upcache.h) of an upstream for candidate c of route
 * rt, under plan pl and table entry tab (or NULL): the same rule for a
 * session's next transaction and for a cached connection */
static void
up_key(struct sess *s, const struct plan *pl, const struct route *rt,
    const struct route_cand *c, const struct ptab_entry *tab, struct upc_key *k)
{
	struct up_params p = {
		.addr = c->addr,
		.addrlen = c->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		    : sizeof(struct sockaddr_in),
		.helo = s->fsm.helo ? s->fsm.helo : proxy.hostname,
		.mark = proxy.cfg.upstream_mark,
	};

	/* Never across source addresses: an upstream carries only the mail
	 * of the address it leaves from (the gateway's, or one old MTA's
	 * under upstream_source = client); the key holds it. */
	p.srclen = sess_up_source(s, &p.src);
	up_params_policy(&p, pl, rt, c, tab);
	upc_key_make(k, &p, c->host >= 0 && pl ? pl->hosts[c->host].tlsa_text : "",
	    tab ? proxy.ptab_gen : 0);
}

/* start_up - the upstream for candidate c (p: its parameters): a cached
 * connection of the same key, once its RSET is accepted (sess_xfer.c),
 * else a new one; -1 when out of memory */
static int
start_up(struct sess *s, const struct route_cand *c, const struct up_params *p)
{
	struct up *u;

	rt_w(s)->up_probe = rt_w(s)->up_reused = rt_w(s)->up_clean = 0;
	/* A held message's upstream has its policy waived: it serves no one
	 * else, and it is not the key's. */
	rt_w(s)->up_key_ok = !hold_w(s)->replay;
	if (rt_w(s)->up_key == NULL && (rt_w(s)->up_key = malloc(sizeof(*rt_w(s)->up_key))) == NULL)
		rt_w(s)->up_key_ok = 0;	/* out of memory: neither cached nor shared */
	else
		up_key(s, rt_of(s)->plan, rt_of(s)->route, c, rt_of(s)->has_tab ? &rt_of(s)->tab : NULL,
		    rt_of(s)->up_key);
	if (rt_of(s)->up_key_ok && upc_on()) {
		if ((u = upc_take(rt_of(s)->up_key)) != NULL) {
			up_park(u, sess_on_up, s, s->id, 0);
			if (up_probe(u, UPC_PROBE_TIMEOUT) == 0) {
				s->up = u;
				rt_w(s)->up_probe = 1;
				return 0;
			}
			up_abort(u);
			metrics_upc_dropped(METRICS_UPC_DEAD);
		}
		metrics.upc_misses++;
		msg_info("%s: upstream cache miss: %s (%s): connecting", s->id,
		    rt_of(s)->up_key->addr, rt_of(s)->plan ? rt_of(s)->plan->domain : "");
	}
	return (s->up = up_start(proxy.loop, p, sess_on_up, s)) == NULL ? -1 : 0;
}

/* sess_up_retry - the cached connection of the current candidate was
 * refused or is dead (nothing was said of it to the old MTA): a new
 * connection to the same candidate */
void
sess_up_retry(struct sess *s)
{
	const struct route_cand *c = &rt_of(s)->route->cands[rt_of(s)->icand > 0 ? rt_of(s)->icand - 1 : 0];
	struct up_params p;

	sess_up_params_for(s, c, &p);
	if (start_up(s, c, &p) == 0)
		return;
	if (rt_of(s)->early == EARLY_CONNECT) {
		rt_w(s)->early = EARLY_IDLE;	/* the RCPT tries again */
		return;
	}
	sess_attempt_failed(s, "?", "4.3.0", RTYPE_NONE, NULL, "out of memory");
	sess_next_attempt(s);
}

/* sess_up_park - the session ends: its upstream goes to the connection
 * cache when it may serve another (its key, a clean last transaction,
 * nothing in flight, no drain); 0 when it went, -1 (the caller quits) */
int
sess_up_park(struct sess *s)
{
	if (s->up == NULL || !rt_of(s)->up_key_ok || !rt_of(s)->up_clean || rt_of(s)->up_probe
	    || txn_of(s)->mx_open || proxy.draining || !up_idle(s->up))
		return -1;
	if (upc_park(s->up, rt_of(s)->up_key, s->id) < 0)
		return -1;
	msg_info("%s: upstream %s kept for later sessions (up to %lds)", s->id,
	    up_info(s->up)->peer, proxy.cfg.upstream_cache_time);
	s->up = NULL;
	return 0;
}

/* up_fits - would a fresh plan send this mail where the open upstream
 * goes, at the same TLS level, under the same TLSA records and policy,
 * from the same source?  (up_key: the connection cache's rule too) */
static int
up_fits(struct sess *s, const struct plan *p)
{
	struct route rt;
	const struct route_cand *c = NULL;
	struct route_opts o;
	struct upc_key k;

	if (!rt_of(s)->up_key_ok)
		return 0;
	sess_route_opts(s, p, &o);
	route_build(p, &s->orig, &o, &rt);
	if (rt.verdict != ROUTE_TRY || rt.would != ROUTE_TRY)
		return 0;
	for (int i = 0; i < rt.ncands && c == NULL; i++)
		if (!rt.cands[i].failed)
			c = &rt.cands[i];
	if (c == NULL)
		return 0;
	up_key(s, p, &rt, c, o.tab, &k);
	return upc_key_eq(&k, rt_of(s)->up_key);
}

/* adopt_plan - a fresh plan for this transaction: keep the open
 * upstream when it still fits, else connect as the plan says */
static void
adopt_plan(struct sess *s, struct plan *p)
{
	int keep = s->up && up_fits(s, p);

	if (s->up && !keep) {
		up_quit(s->up);			/* policy or destination changed */
		s->up = NULL;
		txn_mx_closed(s);
	}
	take_plan(s, p, 1);
	if (!keep)
		start_route(s);
	else if (txn_of(s)->mx_open)
		sess_send_rcpt(s, txn_of(s)->rcpt.addr);
	else
		sess_send_mail(s);
}

/* on_plan - the policy lookups for a RCPT's domain are done */
static void
on_plan(void *arg, struct plan *p)
{
	struct sess *s = arg;

	rt_w(s)->res = NULL;
	if (rt_of(s)->early == EARLY_LOOKUP) {
		early_plan(s, p);
		return;
	}
	log_plan(s, p);
	if (rt_of(s)->second) {
		/* A second domain in one transaction rides along only when
		 * neither domain has a policy that could tell them apart. */
		int same = p->status != PLAN_TEMPFAIL && !p->has_dane && !p->has_sts
		    && rt_of(s)->plan && !rt_of(s)->plan->has_dane && !rt_of(s)->plan->has_sts;

		plan_free(p);
		rt_w(s)->second = 0;
		sess_enter(s, W_NONE);
		if (!same) {
			sess_sayf(s, "452 4.5.3 Error: too many recipients (one destination "
			    "domain per transaction; try again)");
			fsm_rcpt_result(&s->fsm, 0);
		} else if (s->up) {
			if (txn_of(s)->mx_open)
				sess_send_rcpt(s, txn_of(s)->rcpt.addr);
			else
				sess_send_mail(s);
		} else {
			sess_sayf(s, "%s", txn_of(s)->fail[0] ? txn_of(s)->fail
			    : "451 4.4.2 Error: lost connection with the MX");
			fsm_rcpt_result(&s->fsm, 0);
		}
		sess_run(s);
		return;
	}
	adopt_plan(s, p);
	sess_run(s);
}

/* sess_do_rcpt - a RCPT the fsm accepted: policy, upstream, MX */
void
sess_do_rcpt(struct sess *s)
{
	char dom[RR_NAME_MAX];

	sess_rcpt_domain(txn_of(s)->rcpt.addr + txn_of(s)->rcpt.domain_off, dom, sizeof(dom));
	if (rt_of(s)->early != EARLY_NONE && sess_early_rcpt(s, dom))
		return;
	if (dom[0] == 0 && rt_of(s)->plan)
		snprintf(dom, sizeof(dom), "%s", rt_of(s)->plan->domain);
	/* A plan serves later transactions only while every DNS answer in it
	 * is within its TTL: no cache of ours outlives libunbound's. */
	if (rt_of(s)->plan && !rt_of(s)->fresh && strcmp(dom, rt_of(s)->plan->domain) == 0
	    && mono_ms() < rt_of(s)->until)
		rt_w(s)->fresh = 1;
	if (rt_of(s)->plan && rt_of(s)->fresh && strcmp(dom, rt_of(s)->plan->domain) == 0) {
		if (s->up == NULL) {
			rt_w(s)->icand = 0;
			rt_w(s)->pfail[0] = rt_w(s)->lfail[0] = 0;
			start_route(s);
		} else if (!txn_of(s)->mx_open) {
			sess_send_mail(s);
		} else {
			sess_send_rcpt(s, txn_of(s)->rcpt.addr);
		}
		return;
	}
	if (dom[0] == 0 || strcmp(proxy.cfg.dns_resolver, "none") == 0) {
		/* No domain (<postmaster>), or no lookups at all: the original
		 * destination, opportunistic. */
		struct plan *p = calloc(1, sizeof(*p));

		if (p == NULL) {
			sess_sayf(s, "451 4.3.0 Error: out of memory");
			fsm_rcpt_result(&s->fsm, 0);
			return;
		}
		p->status = PLAN_NODOMAIN;
		snprintf(p->domain, sizeof(p->domain), "%s", dom);
		adopt_plan(s, p);
		return;
	}
	/* A recipient already accepted owns the transaction; until then, a
	 * new domain does (the MX transaction is redone if it must be). */
	rt_w(s)->second = rt_w(s)->fresh && s->fsm.nrcpt_ok > 0;
	sess_enter(s, W_POLICY);
	rt_w(s)->t0 = mono_ms();
	if ((rt_w(s)->res = resolve_start(proxy.loop, dom, on_plan, s)) == NULL) {
		sess_enter(s, W_NONE);
		sess_sayf(s, "451 4.3.0 Error: out of memory");
		fsm_rcpt_result(&s->fsm, 0);
	}
}

/*
 * Early upstream (issue 12).  When the DNS watcher knows which domain the
 * old MTA's destination address serves for it, the policy lookups and the
 * upstream (connect, EHLO, STARTTLS, verification, EHLO) start as the
 * session does, in parallel with the old MTA's EHLO and MAIL, through the
 * same plan, route and upstream client as any RCPT: a hint only saves
 * time, it never decides.  Nothing is said to the old MTA and nothing is
 * journaled before the first RCPT; then the RCPT's own domain decides:
 *   the hinted one: the plan is its plan (within its TTLs), the upstream
 *	being set up or ready is its first attempt (journaled then, as the
 *	attempt of that RCPT); a failed early upstream or a route that tried
 *	nothing leaves the RCPT to do all of it again, journaled as usual;
 *   another: lookups in flight are cancelled, an early upstream is closed,
 *	and the RCPT runs as without the watcher.
 * The early attempt tries only the route's first candidate.
 */

/* sess_early - a new session: ask the watcher, start early if it knows */
void
sess_early(struct sess *s)
{
	char doms[EARLY_HINTS_MAX][DNSMSG_NAME_MAX];
	int n;

	if (!nfq_on() || strcmp(proxy.cfg.dns_resolver, "none") == 0)
		return;
	if ((n = nfq_hint(&s->peer, &s->orig, doms, EARLY_HINTS_MAX)) <= 0
	    || doms[0][0] == 0) {
		return;
	}
	snprintf(rt_w(s)->early_dom, sizeof(rt_w(s)->early_dom), "%s", doms[0]);
	if (n == 1)
		msg_info("%s: hint: %s for %s from the DNS watcher (certain)", s->id,
		    rt_of(s)->early_dom, s->origstr);
	else
		msg_info("%s: hint: %s for %s from the DNS watcher (one of %d%s)", s->id,
		    rt_of(s)->early_dom, s->origstr, n, n == EARLY_HINTS_MAX ? " or more" : "");
	rt_w(s)->t0 = mono_ms();
	if ((rt_w(s)->res = resolve_start(proxy.loop, rt_w(s)->early_dom, on_plan, s)) == NULL)
		return;
	rt_w(s)->early = EARLY_LOOKUP;
	metrics_early(METRICS_EARLY_STARTED);
	msg_info("%s: early: policy lookups and upstream for %s before RCPT", s->id,
	    rt_of(s)->early_dom);
}

/* early_plan - the hinted domain's plan, before any RCPT: keep it, and
 * connect to the route's first candidate when the route would */
static void
early_plan(struct sess *s, struct plan *p)
{
	const struct route_cand *c;
	struct up_params up;

	log_plan(s, p);
	take_plan(s, p, 0);
	rt_w(s)->early = EARLY_IDLE;
	build_route(s);
	if (rt_of(s)->route->verdict != ROUTE_TRY
	    || rt_of(s)->route->would != ROUTE_TRY || rt_of(s)->route->ncands == 0)
		return;			/* the RCPT decides, and says why */
	c = &rt_of(s)->route->cands[0];
	if (c->failed || (c->addr.ss_family != AF_INET && c->addr.ss_family != AF_INET6))
		return;
	if (rt_of(s)->route->rerouted)
		msg_info("%s: early: %s is not an MX host of %s: connecting to its MX hosts",
		    s->id, s->origstr, p->domain);
	rt_w(s)->icand = 1;
	rt_w(s)->cur_host = c->host;
	rt_w(s)->cur_ptype = sess_cand_ptype(s, c);
	sess_up_params_for(s, c, &up);
	if (start_up(s, c, &up) < 0)
		return;
	rt_w(s)->early = EARLY_CONNECT;
}

/* early_drop - the hint was wrong: nothing the early work left (lookups,
 * upstream, plan, table entry) is the RCPT's */
static void
early_drop(struct sess *s)
{
	if (rt_of(s)->res) {
		resolve_cancel(rt_of(s)->res);
		rt_w(s)->res = NULL;
	}
	if (s->up) {
		up_quit(s->up);
		s->up = NULL;
	}
	plan_free(rt_of(s)->plan);
	rt_w(s)->plan = NULL;
	sess_route_free(s);
	rt_w(s)->early = EARLY_NONE;
}

/* sess_early_rcpt - the first RCPT, with early work done or under way:
 * 1 when the RCPT is taken care of (wait for it), 0 to go on as usual */
int
sess_early_rcpt(struct sess *s, const char *dom)
{
	enum sess_early e = rt_of(s)->early;

	rt_w(s)->early = EARLY_NONE;
	if (strcmp(dom, rt_of(s)->early_dom) != 0) {
		msg_info("%s: early: hint wrong (RCPT domain %s, hint %s): %s", s->id,
		    dom[0] ? dom : "none", rt_of(s)->early_dom, e == EARLY_CONNECT
		    || e == EARLY_READY ? "its upstream is closed" : "looking up the RCPT's domain");
		metrics_early(METRICS_EARLY_WRONG);
		rt_w(s)->early = e;
		early_drop(s);
		return 0;
	}
	msg_info("%s: early: hint right (%s)", s->id, e == EARLY_LOOKUP ? "lookups in flight"
	    : e == EARLY_CONNECT ? "upstream being set up" : e == EARLY_READY
	    ? "upstream ready" : "plan in, no upstream");
	metrics_early(METRICS_EARLY_USED);
	rt_w(s)->second = 0;
	switch (e) {
	case EARLY_LOOKUP:
		sess_enter(s, W_POLICY);	/* on_plan takes it as any RCPT's */
		return 1;
	case EARLY_CONNECT:
		rt_w(s)->fresh = 1;
		sess_enter(s, W_CONNECT);	/* UP_READY or UP_FAIL, as any attempt */
		return 1;
	case EARLY_READY:
		rt_w(s)->fresh = 1;
		sess_enter(s, W_CONNECT);
		sess_up_adopt(s);
		return 1;
	default:
		return 0;		/* the plan is there: sess_do_rcpt uses it */
	}
}

/* sess_early_up_failed - an early upstream failed before any RCPT took
 * it: 1 when it was one (forgotten; the RCPT tries again), else 0 */
int
sess_early_up_failed(struct sess *s, const struct up_info *u)
{
	if (rt_of(s)->early != EARLY_CONNECT && rt_of(s)->early != EARLY_READY)
		return 0;
	msg_info("%s: early: upstream failed before RCPT: %s; the RCPT tries again", s->id,
	    u->why);
	metrics_early(METRICS_EARLY_FAILED);
	rt_w(s)->early = EARLY_IDLE;
	return 1;
}
