/*
 * sess_record.c - the attempt record of a session for the journal
 * (report/record.h): the policy type of a candidate, the source address
 * of a host never connected to (the old MTA's under upstream_source =
 * client, else the kernel's choice), the record of an attempt that got
 * through or failed.  See sess_int.h.
 */
#include "sess_int.h"
#include "wk_shm.h"

static void source_for(const struct sockaddr_storage *addr, char *buf,
    size_t len);

/* sess_cand_ptype - the policy type of a route candidate: DANE where the
 * host's TLSA records decide (or failed: it is then never connected to
 * under policy), MTA-STS at its levels, else none (require_tls's floor
 * and the table's own levels are no published policy) */
enum ptype
sess_cand_ptype(const struct sess *s, const struct route_cand *c)
{
	enum dane_state d = c->host >= 0 ? rt_of(s)->plan->hosts[c->host].dane : DANE_NONE;

	if (d == DANE_FAIL || c->level == ROUTE_DANE
	    || (c->level == ROUTE_ENCRYPT && d == DANE_UNAUTH))
		return PTYPE_TLSA;
	return ROUTE_IS_STS(c->level) ? PTYPE_STS : PTYPE_NO_POLICY_FOUND;
}

/* sess_ptype_of_rtype - the policy type a result type belongs to */
enum ptype
sess_ptype_of_rtype(enum rtype rtype)
{
	if (rtype_is_sts(rtype))
		return PTYPE_STS;
	if (rtype_is_dane(rtype))
		return PTYPE_TLSA;
	return PTYPE_NO_POLICY_FOUND;
}

/* source_for - the address the kernel would send from towards addr (a
 * host that policy ruled out was never connected to) */
static void
source_for(const struct sockaddr_storage *addr, char *buf, size_t len)
{
	struct sockaddr_storage to = *addr, ss;
	socklen_t sl = sizeof(ss);
	int fd;

	if (addr_port(&to) == 0)
		addr_set_port(&to, 25);
	if ((fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	/* A UDP connect sends nothing: it only picks the route and source. */
	if (proxy.cfg.upstream_mark)
		(void) setsockopt(fd, SOL_SOCKET, SO_MARK, &proxy.cfg.upstream_mark,
		    sizeof(proxy.cfg.upstream_mark));
	if (connect(fd, (struct sockaddr *) &to, addr->ss_family == AF_INET6
		? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) == 0
	    && getsockname(fd, (struct sockaddr *) &ss, &sl) == 0
	    && (ss.ss_family == AF_INET6 || ss.ss_family == AF_INET))
		addr_str(&ss, buf, len);
	close(fd);
}

/* sess_journal - one attempt record (report/record.h), before the old MTA
 * hears anything of it; -1 when it could not be written */
int
sess_journal(struct sess *s, const struct up_info *u, int host, enum ptype ptype,
    const struct sockaddr_storage *addr, enum rtype result, const char *reason,
    enum raction action)
{
	static double last_warn;
	const struct plan *p = rt_of(s)->plan;
	struct rec r;
	char err[600];

	metrics_attempt(ptype, result, action);
	memset(&r, 0, sizeof(r));
	r.time = (long long) time(NULL);
	snprintf(r.sid, sizeof(r.sid), "%s", s->id);
	/* Unique in the fleet: the gateway, the session, the process (the
	 * workers count sessions each from 1) and the attempt's number. */
	cfg_gateway_id(&proxy.cfg, r.gw, sizeof(r.gw));
	snprintf(r.rid, sizeof(r.rid), "%s:%s:%ld:%u", r.gw, s->id, log_self_pid(), ++s->nrec);
	snprintf(r.domain, sizeof(r.domain), "%s", p ? p->domain : "");
	snprintf(r.ptype, sizeof(r.ptype), "%s", ptype_str(ptype));
	if (p && host >= 0 && ptype == PTYPE_TLSA) {
		/* "3 1 1 ...; 2 0 1 ..." as one policy string each */
		const char *t = p->hosts[host].tlsa_text;
		size_t w = 0;

		for (; *t && w + 2 < sizeof(r.policy); t++) {
			if (t[0] == ';' && t[1] == ' ') {
				r.policy[w++] = '\n';
				t++;
			} else {
				r.policy[w++] = *t;
			}
		}
		r.policy[w] = 0;
	} else if (p && ptype == PTYPE_STS && p->sts.has_policy) {
		size_t w = 0;

		snprintf(r.policy, sizeof(r.policy), "%s", p->sts.policy.text);
		for (int i = 0; i < p->sts.policy.nmx && w < sizeof(r.mxpat); i++)
			w += (size_t) snprintf(r.mxpat + w, sizeof(r.mxpat) - w, "%s\n",
			    p->sts.policy.mx[i]);
	}
	if (p && host >= 0)
		snprintf(r.mx, sizeof(r.mx), "%s", p->hosts[host].name);
	else if (u && u->mxname[0])
		snprintf(r.mx, sizeof(r.mx), "%s", u->mxname);
	if (u) {
		/* The address the connection used (its socket's), or the
		 * one it was to use when it never connected. */
		snprintf(r.ip, sizeof(r.ip), "%s", u->addr);
		snprintf(r.helo, sizeof(r.helo), "%s", u->greet_name);
		snprintf(r.src, sizeof(r.src), "%s", u->local);
		r.sport = u->localport;
		if (!r.src[0])
			source_for(&u->sa, r.src, sizeof(r.src));
	} else if (addr && (addr->ss_family == AF_INET6 || addr->ss_family == AF_INET)) {
		struct sockaddr_storage src;

		addr_str(addr, r.ip, sizeof(r.ip));
		if (sess_up_source(s, &src) > 0)
			addr_str(&src, r.src, sizeof(r.src));
		else
			source_for(addr, r.src, sizeof(r.src));
	}
	snprintf(r.result, sizeof(r.result), "%s", rtype_str(result));
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	snprintf(r.action, sizeof(r.action), "%s", raction_str(action));
	if (rt_of(s)->has_tab)
		snprintf(r.table, sizeof(r.table), "%s %s", rt_of(s)->tab.key,
		    ptab_level_str(rt_of(s)->tab.level));
	if (journal_append(proxy.journal, &r, err, sizeof(err)) == 0)
		return 0;
	proxy.journal_errors++;
	wk_journal_errors_set(proxy.journal_errors);
	metrics_journal_lost();
	/* Loud, but not a line per attempt while the disk is full. */
	if (ev_now(proxy.loop) - last_warn >= 10.0) {
		msg_warn("%s: journal: cannot record the attempt to %s for %s: %s%s "
		    "(%ld records lost so far)", s->id, r.mx[0] ? r.mx : r.ip, r.domain,
		    err, proxy.cfg.journal_required ? "; journal_required = yes: "
		    "refusing mail" : "", proxy.journal_errors);
		last_warn = ev_now(proxy.loop);
	}
	return -1;
}

/* sess_record_ready - the journal record of an attempt that got through */
int
sess_record_ready(struct sess *s, const struct up_info *u)
{
	enum rtype result = RTYPE_SUCCESS;
	enum raction action = RACTION_DELIVERED;
	const char *reason = "";
	enum ptype ptype = rt_of(s)->cur_ptype;
	const struct plan *p = rt_of(s)->plan;

	if (p && p->sts.rtype != RTYPE_NONE && !p->sts.has_policy && ptype == PTYPE_NO_POLICY_FOUND) {
		/* The domain publishes MTA-STS, but no policy could be had: each
		 * session is an MTA-STS failure of that kind (RFC 8460 4.3.2.2),
		 * whatever TLS it got. */
		return sess_journal(s, u, rt_of(s)->cur_host, PTYPE_STS, NULL, p->sts.rtype, p->sts.why,
		    RACTION_DELIVERED);
	}
	if (hold_of(s)->replay) {
		/* The policy failure, waived by the message. */
		result = rt_of(s)->prtype != RTYPE_NONE ? rt_of(s)->prtype : RTYPE_VALIDATION_FAILURE;
		reason = "TLS-Required: No";
		action = RACTION_DELIVERED_ANYWAY;
	} else if (u->soft_rtype != RTYPE_NONE) {
		/* MTA-STS testing, or report-only */
		result = u->soft_rtype;
		action = rt_of(s)->route->soft ? RACTION_WOULD_REFUSE : RACTION_DELIVERED_ANYWAY;
	} else if (!u->tls) {
		/* Opportunistic, in plaintext: RFC 8460 counts it as a failure. */
		result = u->plain_retry ? RTYPE_VALIDATION_FAILURE : RTYPE_STARTTLS_NOT_SUPPORTED;
		reason = u->plain_retry ? "tls-handshake-failed" : "";
	}
	return sess_journal(s, u, rt_of(s)->cur_host, ptype, NULL, result, reason, action);
}

/* sess_record_fail - the journal record of a failed connection attempt */
void
sess_record_fail(struct sess *s, const struct up_info *u)
{
	if (u->rtype != RTYPE_NONE) {
		(void) sess_journal(s, u, rt_of(s)->cur_host, rt_of(s)->cur_ptype, NULL, u->rtype, u->rcode,
		    RACTION_REFUSED);
		return;
	}
	/* Not a TLS result: the journal keeps it, reports leave it out. */
	(void) sess_journal(s, u, rt_of(s)->cur_host, rt_of(s)->cur_ptype, NULL, RTYPE_CONNECTION_FAILURE,
	    u->why, RACTION_FAILED);
}
