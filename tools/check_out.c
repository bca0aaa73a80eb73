/*
 * check_out.c - mxtls-check's verdicts, text and JSON.  See check.h.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../lib/addr.h"
#include "../policy/dane.h"
#include "../policy/dnssec.h"
#include "check.h"

/* chk_orig_of - the first MX address, port 25 */
int
chk_orig_of(const struct plan *p, struct sockaddr_storage *o)
{
	memset(o, 0, sizeof(*o));
	if (p->status != PLAN_OK)
		return -1;
	for (int i = 0; i < p->nhosts; i++)
		if (p->hosts[i].naddrs > 0) {
			*o = p->hosts[i].addrs[0];
			addr_set_port(o, 25);
			return 0;
		}
	return -1;
}

/* chk_parse_dest - ADDR, ADDR:PORT, [ADDR6] or [ADDR6]:PORT (port 25
 * when none is given) */
int
chk_parse_dest(const char *s, struct sockaddr_storage *ss)
{
	char buf[ADDR_STRLEN + 8];
	socklen_t len;

	if (addr_parse(s, ss, &len) == 0)
		return 0;
	if (strlen(s) > ADDR_STRLEN)
		return -1;
	if (s[0] == '[' || strchr(s, ':') == NULL)
		snprintf(buf, sizeof(buf), "%s:25", s);
	else
		snprintf(buf, sizeof(buf), "[%s]:25", s);
	return addr_parse(buf, ss, &len);
}

/* chk_txt_add - one TXT rdata, its character strings joined */
void
chk_txt_add(struct chk_txt *t, const unsigned char *rd, size_t len)
{
	size_t off = 0, w = 0;
	char *out;

	if (t->n >= CHK_TXT_MAX)
		return;
	out = t->rec[t->n++];
	while (off < len) {
		size_t sl = rd[off++];

		if (sl > len - off)
			break;			/* malformed: what came before */
		for (size_t j = 0; j < sl && w < CHK_TXT_LEN - 1; j++)
			out[w++] = (char) rd[off + j];
		off += sl;
	}
	out[w] = 0;
	t->len[t->n - 1] = w;
}

/* txt_shown - record i for a person: control and non-ASCII octets `?' */
static const char *
txt_shown(const struct chk_txt *t, int i)
{
	static char buf[CHK_TXT_LEN];
	size_t n = t->len[i] < sizeof(buf) - 1 ? t->len[i] : sizeof(buf) - 1;

	for (size_t j = 0; j < n; j++)
		buf[j] = (unsigned char) t->rec[i][j] >= 0x20 && (unsigned char) t->rec[i][j] < 0x7f
		    ? t->rec[i][j] : '?';
	buf[n] = 0;
	return buf;
}

/* chk_txt_parse - what sts_txt_parse() makes of the records */
void
chk_txt_parse(struct chk_txt *t)
{
	const char *recs[CHK_TXT_MAX];
	size_t lens[CHK_TXT_MAX];

	for (int i = 0; i < t->n; i++) {
		recs[i] = t->rec[i];
		lens[i] = t->len[i];
	}
	t->why = NULL;
	t->id[0] = 0;
	t->ok = 0;
	if (t->sec == DNS_BOGUS || t->sec == DNS_INDETERMINATE) {
		/* as stsget.c: an error, never "no policy" */
		t->why = "the lookup failed: only a cached policy applies, none is fetched";
		return;
	}
	t->ok = t->n > 0 && sts_txt_parse(recs, lens, t->n, t->id, &t->why) == 1;
	if (!t->ok && t->why == NULL)
		t->why = "no v=STSv1 TXT record";
}

/* refuse_reason - why mxtlsd lists candidate c but does not connect */
static void
refuse_reason(const struct plan *p, const struct route_cand *c, char *buf,
    size_t len)
{
	const struct plan_host *h = c->host >= 0 && c->host < p->nhosts
	    ? &p->hosts[c->host] : NULL;
	const char *name = h ? h->name : "the destination";

	if (c->dane_only)
		snprintf(buf, len, "dane-only: %s has no usable TLSA records", name);
	else if (c->sts_skip)
		snprintf(buf, len, "%s matches no mx pattern of the enforced MTA-STS "
		    "policy", name);
	else if (h && h->why[0])
		snprintf(buf, len, "%s", h->why);
	else
		snprintf(buf, len, "DANE lookups for %s failed", name);
}

/* level_word - the word of a level mxtlsd connects at */
static void
level_word(const struct plan *p, const struct route *rt,
    const struct route_cand *c, char *buf, size_t len)
{
	const struct plan_host *h = c->host >= 0 && c->host < p->nhosts
	    ? &p->hosts[c->host] : NULL;

	if (rt->table) {
		snprintf(buf, len, "table:%s", route_level_str(c->level));
		return;
	}
	switch (c->level) {
	case ROUTE_DANE:
		snprintf(buf, len, "dane");
		break;
	case ROUTE_STS:
		snprintf(buf, len, "sts-enforce");
		break;
	case ROUTE_STS_TESTING:
		snprintf(buf, len, "sts-testing%s%s", c->sts_mismatch ? " (matches no mx "
		    "pattern: noted, delivery goes on)" : "", c->floor ? " (require_tls: "
		    "TLS a must)" : "");
		break;
	case ROUTE_ENCRYPT:
		snprintf(buf, len, "encrypt (%s)", c->floor ? "require_tls"
		    : "DANE: no usable TLSA records");
		break;
	case ROUTE_MAY:
		snprintf(buf, len, "opportunistic%s", h == NULL && p->status == PLAN_OK
		    ? " (not an MX address of the domain)" : "");
		break;
	default:
		snprintf(buf, len, "%s", route_level_str(c->level));
		break;
	}
}

/* chk_cand_word - the verdict of one candidate */
void
chk_cand_word(const struct plan *p, const struct route *rt, int i, char *buf,
    size_t len)
{
	const struct route_cand *c = &rt->cands[i];
	char why[900];

	if (rt->soft && rt->would != ROUTE_TRY) {
		snprintf(buf, len, "opportunistic (report-only: would refuse: %s)", rt->reply);
		return;
	}
	if (c->failed) {
		refuse_reason(p, c, why, sizeof(why));
		if (rt->soft)
			snprintf(buf, len, "opportunistic (report-only: would refuse: %s)", why);
		else
			snprintf(buf, len, "refuse: %s", why);
		return;
	}
	level_word(p, rt, c, buf, len);
}

/* connected_to - would mxtlsd connect to candidate c? */
static int
connected_to(const struct route *rt, const struct route_cand *c)
{
	return (!c->failed || rt->soft)
	    && (c->addr.ss_family == AF_INET || c->addr.ss_family == AF_INET6);
}

/* chk_deliverable - 1 when mxtlsd would deliver (try a candidate) */
int
chk_deliverable(const struct chk *k)
{
	int any = 0;

	if (k->rt->verdict != ROUTE_TRY)
		return 0;
	for (int i = 0; i < k->rt->ncands; i++)
		any |= connected_to(k->rt, &k->rt->cands[i]);
	if (!any || !k->connect)
		return any;
	for (int i = 0; i < k->nconns; i++)
		if (k->conns[i].ok)
			return 1;
	return 0;
}

/* chk_canary - --canary: delivered, refused for a policy reason (a
 * result type says which), or not proven either way */
enum chk_canary
chk_canary(const struct chk *k)
{
	int policy = 0, other = 0;

	if (chk_deliverable(k))
		return CHK_CANARY_DELIVER;
	if (k->rt->verdict == ROUTE_NULLMX)
		return CHK_CANARY_UNPROVEN;	/* no mail at all, no policy needed */
	if (k->rt->verdict != ROUTE_TRY)
		return k->rt->rtype != RTYPE_NONE ? CHK_CANARY_REFUSED : CHK_CANARY_UNPROVEN;
	for (int i = 0; i < k->rt->ncands; i++)
		if (!connected_to(k->rt, &k->rt->cands[i]))
			policy |= k->rt->cands[i].failed;
	for (int i = 0; i < k->nconns; i++) {
		if (k->conns[i].rtype != RTYPE_NONE)
			policy = 1;
		else
			other = 1;	/* a TCP or SMTP failure proves nothing */
	}
	return policy && !other ? CHK_CANARY_REFUSED : CHK_CANARY_UNPROVEN;
}

/* chk_canary_str - the word of a canary verdict */
const char *
chk_canary_str(enum chk_canary v)
{
	return v == CHK_CANARY_DELIVER ? "DELIVER" : v == CHK_CANARY_REFUSED ? "refuse"
	    : "unproven";
}

/* when_str - a time in UTC, ISO 8601 */
static void
when_str(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long) t);
}

/* status_str - a plan's status */
static const char *
status_str(enum plan_status s)
{
	switch (s) {
	case PLAN_OK:
		return "ok";
	case PLAN_TEMPFAIL:
		return "tempfail";
	case PLAN_NULLMX:
		return "nullmx";
	case PLAN_NODOMAIN:
		return "nodomain";
	}
	return "?";
}

/* verdict_str - a route's verdict */
static const char *
verdict_str(enum route_verdict v)
{
	switch (v) {
	case ROUTE_TRY:
		return "deliver";
	case ROUTE_TEMPFAIL:
		return "tempfail";
	case ROUTE_REFUSE:
		return "refuse";
	case ROUTE_NULLMX:
		return "nullmx";
	}
	return "?";
}

/* rword - a result type's word, or "-" */
static const char *
rword(enum rtype t)
{
	const char *w = t == RTYPE_NONE ? NULL : rtype_str(t);

	return w ? w : "-";
}

/* next_refresh - when mxtlsd refetches a cached policy (stsget.c's scan
 * and sts_cache_step(): refresh_before ahead of max_age, not inside a
 * negative-cache window) */
static time_t
next_refresh(const struct chk_cache *c)
{
	time_t t = c->e.fetched + c->e.policy.max_age - c->refresh_before;

	return t < c->e.fail_until ? c->e.fail_until : t;
}

/* tlsa_str - a usable record in presentation form, long data cut */
static void
tlsa_str(const struct plan_tlsa *t, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	int n = snprintf(buf, len, "%u %u %u ", t->usage, t->selector, t->mtype);
	size_t w = n > 0 && (size_t) n < len ? (size_t) n : len - 1;

	for (size_t i = 0; t->data && i < t->len; i++) {
		if (w + 2 + 4 >= len) {
			memcpy(buf + w, "...", 3);
			w += 3;
			break;
		}
		buf[w++] = hex[t->data[i] >> 4];
		buf[w++] = hex[t->data[i] & 15];
	}
	buf[w] = 0;
}

/* ---- text ---- */

/* cl - s for a terminal: what a peer sent (a policy host, an MX, the
 * DNS) without its control octets, so it can neither start a line of
 * its own nor move the cursor; one of CL_SLOTS buffers in turn */
#define CL_SLOTS 4
static const char *
cl(const char *s)
{
	static char buf[CL_SLOTS][1200];
	static int slot;
	char *b = buf[slot++ % CL_SLOTS];
	size_t w = 0;

	for (; s && *s && w < sizeof(buf[0]) - 1; s++)
		b[w++] = (unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s;
	b[w] = 0;
	return b;
}

/* print_host - one MX host: DNSSEC, addresses, TLSA, DANE */
static void
print_host(const struct plan *p, const struct plan_host *h, FILE *fp)
{
	char a[ADDR_STRLEN];

	fprintf(fp, "mx %d %s", h->pref, h->name);
	if (strcmp(h->name, h->canon) != 0)
		fprintf(fp, " (cname %s)", h->canon);
	fprintf(fp, ": addresses %s:", dns_sec_str(h->addr_sec));
	for (int j = 0; j < h->naddrs; j++) {
		addr_str(&h->addrs[j], a, sizeof(a));
		fprintf(fp, " %s", a);
	}
	fprintf(fp, "%s\n", h->naddrs ? "" : " none");
	if (!h->tlsa_looked_up)
		fprintf(fp, "  tlsa: not looked up (%s)\n", p->mx_sec != DNS_SECURE
		    ? "the MX RRset is not secure" : "the addresses are not secure");
	else
		fprintf(fp, "  tlsa _25._tcp.%s: %s: %s\n", h->base, dns_sec_str(h->tlsa_sec),
		    h->tlsa_exists && h->tlsa_text[0] ? h->tlsa_text : "none");
	fprintf(fp, "  dane: %s, %d usable, %d malformed%s%s\n", dane_state_str(h->dane),
	    h->ntlsa, h->nmalformed, h->why[0] ? ": " : "", cl(h->why));
	for (int j = 0; j < h->ntlsa; j++) {
		char t[200];

		tlsa_str(&h->tlsa[j], t, sizeof(t));
		fprintf(fp, "  usable: %s\n", t);
	}
}

/* print_plan - the MX hosts in order */
static void
print_plan(const struct chk *k, FILE *fp)
{
	const struct plan *p = k->plan;

	fprintf(fp, "domain %s: %s", k->domain, status_str(p->status));
	if (p->status == PLAN_OK)
		fprintf(fp, ", mx %s%s", dns_sec_str(p->mx_sec), p->implicit_mx
		    ? " (no MX records: the implicit MX)" : "");
	fprintf(fp, "%s%s\n", p->why[0] && p->status != PLAN_OK ? ": " : "",
	    p->status != PLAN_OK ? cl(p->why) : "");
	for (int i = 0; i < p->nhosts; i++)
		print_host(p, &p->hosts[i], fp);
}

/* print_policy_text - the policy's lines, indented */
static void
print_policy_text(const char *text, FILE *fp)
{
	const char *s = text, *nl;

	while (*s) {
		nl = strchr(s, '\n');
		char line[sizeof(((struct sts_policy *) 0)->text)];

		snprintf(line, sizeof(line), "%.*s", (int) (nl ? nl - s : (long) strlen(s)), s);
		fprintf(fp, "  | %s\n", cl(line));
		if (nl == NULL)
			break;
		s = nl + 1;
	}
}

/* print_sts - the TXT record and the policy */
static void
print_sts(const struct chk *k, FILE *fp)
{
	const struct sts_result *r = &k->plan->sts;

	if (!k->sts_looked_up) {
		fprintf(fp, "mta-sts: not looked up (dns_resolver = none)\n");
		return;
	}
	if (k->txt.done) {
		fprintf(fp, "mta-sts txt _mta-sts.%s: %s", k->domain, dns_sec_str(k->txt.sec));
		for (int i = 0; i < k->txt.n; i++)
			fprintf(fp, " \"%s\"", txt_shown(&k->txt, i));
		if (k->txt.ok)
			fprintf(fp, ": id %s\n", k->txt.id);
		else
			fprintf(fp, ": %s\n", k->txt.why ? k->txt.why : "none");
	}
	if (r->has_policy) {
		fprintf(fp, "mta-sts policy: id %s, mode %s, max_age %ld, %s\n", r->id,
		    sts_mode_str(r->policy.mode), r->policy.max_age, r->from_cache
		    ? "from the cache" : "fetched now");
		for (int i = 0; i < r->policy.nmx; i++)
			fprintf(fp, "  mx: %s\n", r->policy.mx[i]);
		print_policy_text(r->policy.text, fp);
	} else
		fprintf(fp, "mta-sts policy: none\n");
	if (r->rtype != RTYPE_NONE)
		fprintf(fp, "mta-sts failure: %s: %s%s\n", rword(r->rtype), cl(r->why),
		    r->rtype == RTYPE_STS_POLICY_INVALID ? " (the first error; the parser "
		    "stops there)" : "");
}

/* print_cache - mxtlsd's cache file for the domain */
static void
print_cache(const struct chk *k, FILE *fp)
{
	const struct chk_cache *c = &k->cache;
	char t1[32], t2[32], t3[32];
	time_t nr;

	if (c->dir == NULL || c->dir[0] == 0) {
		fprintf(fp, "cache: none (sts_cache_dir is empty: mxtlsd keeps policies in "
		    "memory only)\n");
		return;
	}
	if (c->error[0] && c->unreadable)
		fprintf(fp, "cache %s: cannot read it: %s\n", c->path, cl(c->error));
	else if (c->error[0])
		fprintf(fp, "cache %s: unusable: %s (mxtlsd discards it when it starts)\n",
		    c->path, cl(c->error));
	else if (!c->present)
		fprintf(fp, "cache %s: no entry\n", c->path);
	if (c->present && c->e.has_policy) {
		when_str(c->e.fetched, t1, sizeof(t1));
		when_str(c->e.expires, t2, sizeof(t2));
		nr = next_refresh(c);
		when_str(nr, t3, sizeof(t3));
		fprintf(fp, "cache %s: policy id %s, mode %s, fetched %s (age %llds), "
		    "expires %s (%s%llds), next refresh %s (%s%llds)\n", c->path, c->e.id,
		    sts_mode_str(c->e.policy.mode), t1, (long long) (k->now - c->e.fetched),
		    t2, c->e.expires > k->now ? "in " : "expired ",
		    (long long) (c->e.expires > k->now ? c->e.expires - k->now
			: k->now - c->e.expires), t3, nr > k->now ? "in " : "due, ",
		    (long long) (nr > k->now ? nr - k->now : k->now - nr));
	}
	if (c->present && c->e.fail_rtype != RTYPE_NONE) {
		when_str(c->e.fail_until, t1, sizeof(t1));
		fprintf(fp, "cache %s: last fetch failed: %s: %s; no fetch before %s (%s)\n",
		    c->path, rword(c->e.fail_rtype), c->e.fail_why[0] ? cl(c->e.fail_why) : "-",
		    t1, c->e.fail_until > k->now ? "holding" : "over");
	}
	if (c->shared && c->shared_state == CHK_SHARED_ERROR)
		fprintf(fp, "shared cache %s: %s\n", c->shared, cl(c->shared_error));
	else if (c->shared && c->shared_state == CHK_SHARED_NONE)
		fprintf(fp, "shared cache %s: no entry\n", c->shared);
	if (c->shared && c->shared_state == CHK_SHARED_ENTRY && c->se.has_policy) {
		when_str(c->se.fetched, t1, sizeof(t1));
		when_str(c->se.expires, t2, sizeof(t2));
		fprintf(fp, "shared cache %s: policy id %s, mode %s, fetched %s (age %llds), "
		    "expires %s\n", c->shared, c->se.id, sts_mode_str(c->se.policy.mode), t1,
		    (long long) (k->now - c->se.fetched), t2);
	}
	if (c->shared && c->shared_state == CHK_SHARED_ENTRY && c->se.fail_rtype != RTYPE_NONE) {
		when_str(c->se.fail_until, t1, sizeof(t1));
		fprintf(fp, "shared cache %s: a gateway's last fetch failed: %s: %s; no fetch "
		    "before %s (%s)\n", c->shared, rword(c->se.fail_rtype),
		    c->se.fail_why[0] ? cl(c->se.fail_why) : "-", t1,
		    c->se.fail_until > k->now ? "holding" : "over");
	}
	fprintf(fp, "cache: %s%s\n", c->use == CHK_CACHE_FRESH ? "the lookups above used an "
	    "empty private cache (--fresh); mxtlsd's cache is not written"
	    : c->present || c->shared_state == CHK_SHARED_ENTRY ? "the lookups above used a "
	    "private copy of this entry; mxtlsd's cache is not written" : "the lookups above "
	    "used an empty private cache; mxtlsd's cache is not written",
	    c->use != CHK_CACHE_FRESH && c->shared_state == CHK_SHARED_ENTRY
	    ? " (with the shared cache's merged in, as mxtlsd would before a fetch)" : "");
}

/* print_table - the entry that applies */
static void
print_table(const struct chk *k, FILE *fp)
{
	const struct ptab_entry *e = k->tab;

	if (k->table_file == NULL || k->table_file[0] == 0) {
		fprintf(fp, "table: none (no policy_table)\n");
		return;
	}
	if (e == NULL) {
		fprintf(fp, "table %s: no entry applies\n", k->table_file);
		return;
	}
	fprintf(fp, "table %s:%d: %s %s%s applies\n", k->table_file, e->line, e->key,
	    ptab_level_str(e->level), e->report_only ? " mode=report-only" : "");
}

/* print_route - the destination, the options, the verdict per candidate */
static void
print_route(const struct chk *k, FILE *fp)
{
	const struct route *rt = k->rt;
	char a[ADDR_STRLEN], w[1200];

	if (k->dest.ss_family == AF_INET || k->dest.ss_family == AF_INET6) {
		addr_port_str(&k->dest, a, sizeof(a));
		fprintf(fp, "destination %s (%s)\n", a, k->dest_given ? "--dest"
		    : "the first MX address");
	} else
		fprintf(fp, "destination: none (no MX address)\n");
	fprintf(fp, "options: mode %s, require_tls %s, mx_mismatch %s, strict_testing %s\n",
	    k->opts.report_only ? "report-only" : "enforce", k->opts.require_tls ? "yes"
	    : "no", cfg_word_str(cfg_mx_mismatch_words, (int) k->opts.mismatch),
	    k->opts.strict_testing ? "yes" : "no");
	for (int i = 0; i < rt->ncands; i++) {
		const struct route_cand *c = &rt->cands[i];

		if (c->addr.ss_family == AF_INET || c->addr.ss_family == AF_INET6)
			addr_port_str(&c->addr, a, sizeof(a));
		else
			snprintf(a, sizeof(a), "-");
		chk_cand_word(k->plan, rt, i, w, sizeof(w));
		fprintf(fp, "verdict %s %s: %s\n", a, c->host >= 0 && c->host < k->plan->nhosts
		    ? k->plan->hosts[c->host].name : "-", cl(w));
	}
}

/* print_result - the outcome, the last line */
static void
print_result(const struct chk *k, FILE *fp)
{
	const struct route *rt = k->rt;

	if (rt->verdict != ROUTE_TRY)
		fprintf(fp, "result: refuse: %s\n", cl(rt->reply));
	else if (rt->would != ROUTE_TRY)
		fprintf(fp, "result: deliver (report-only; enforcing would refuse: %s)\n",
		    cl(rt->reply));
	else if (!chk_deliverable(k))
		fprintf(fp, "result: refuse: %s\n", k->connect && rt->ncands
		    ? "no candidate completed the handshake" : "no candidate to connect to");
	else
		fprintf(fp, "result: deliver\n");
}

/* print_conn - one handshake */
static void
print_conn(const struct chk_conn *c, FILE *fp)
{
	char t[32];

	if (c->ok)
		fprintf(fp, "connect %s: ok, %s, %s%s%s\n", cl(c->peer), c->tls ? cl(c->tlsinfo)
		    : "no TLS", c->verified ? "verified" : "not verified",
		    c->match[0] ? ", match " : "", cl(c->match));
	else
		fprintf(fp, "connect %s: failed: %s%s%s\n", cl(c->peer), c->enh[0] ? c->enh : "",
		    c->enh[0] ? " " : "", cl(c->why));
	if (c->rtype != RTYPE_NONE || c->soft_rtype != RTYPE_NONE || c->plain_retry)
		fprintf(fp, "  result %s%s%s%s%s\n", rword(c->rtype != RTYPE_NONE ? c->rtype
		    : c->soft_rtype), c->rtype == RTYPE_NONE ? " (noted only)" : "",
		    c->rcode[0] ? ", " : "", cl(c->rcode), c->plain_retry
		    ? ", retried without STARTTLS" : "");
	for (int i = 0; i < c->nchain; i++) {
		when_str(c->chain[i].not_after, t, sizeof(t));
		fprintf(fp, "  cert %d: subject %s, issuer %s%s%s, not after %s\n", i,
		    c->chain[i].subject, c->chain[i].issuer, c->chain[i].names[0]
		    ? ", names " : "", c->chain[i].names, c->chain[i].not_after ? t : "?");
	}
}

/* chk_print - the whole report */
void
chk_print(const struct chk *k, FILE *fp)
{
	print_plan(k, fp);
	print_sts(k, fp);
	if (k->sts_looked_up)
		print_cache(k, fp);
	print_table(k, fp);
	print_route(k, fp);
	for (int i = 0; i < k->nconns; i++)
		print_conn(&k->conns[i], fp);
	print_result(k, fp);
}

/* ---- JSON ---- */

/* jstr - a string member, or null for NULL */
static void
jstr(cJSON *o, const char *name, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, name, s);
	else
		cJSON_AddNullToObject(o, name);
}

/* jrtype - a result type member, null for none */
static void
jrtype(cJSON *o, const char *name, enum rtype t)
{
	jstr(o, name, t == RTYPE_NONE ? NULL : rtype_str(t));
}

/* jaddr - an address with its port, null for none */
static void
jaddr(cJSON *o, const char *name, const struct sockaddr_storage *ss)
{
	char a[ADDR_STRLEN];

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	addr_port_str(ss, a, sizeof(a));
	cJSON_AddStringToObject(o, name, a);
}

/* json_host - one MX host */
static cJSON *
json_host(const struct plan_host *h)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
	char s[ADDR_STRLEN];

	cJSON_AddNumberToObject(o, "pref", h->pref);
	cJSON_AddStringToObject(o, "name", h->name);
	cJSON_AddStringToObject(o, "canon", h->canon);
	cJSON_AddStringToObject(o, "tlsa_base", h->base);
	cJSON_AddStringToObject(o, "addr_dnssec", dns_sec_str(h->addr_sec));
	for (int j = 0; j < h->naddrs; j++) {
		addr_str(&h->addrs[j], s, sizeof(s));
		cJSON_AddItemToArray(a, cJSON_CreateString(s));
	}
	cJSON_AddItemToObject(o, "addresses", a);
	cJSON_AddBoolToObject(o, "tlsa_looked_up", h->tlsa_looked_up);
	jstr(o, "tlsa_dnssec", h->tlsa_looked_up ? dns_sec_str(h->tlsa_sec) : NULL);
	jstr(o, "tlsa", h->tlsa_exists ? h->tlsa_text : NULL);
	cJSON_AddNumberToObject(o, "tlsa_usable", h->ntlsa);
	a = cJSON_CreateArray();
	for (int j = 0; j < h->ntlsa; j++) {
		char t[200];

		tlsa_str(&h->tlsa[j], t, sizeof(t));
		cJSON_AddItemToArray(a, cJSON_CreateString(t));
	}
	cJSON_AddItemToObject(o, "tlsa_usable_records", a);
	cJSON_AddNumberToObject(o, "tlsa_malformed", h->nmalformed);
	cJSON_AddStringToObject(o, "dane", dane_state_str(h->dane));
	jrtype(o, "rtype", h->dane == DANE_FAIL ? h->rtype : RTYPE_NONE);
	jstr(o, "why", h->why[0] ? h->why : NULL);
	return o;
}

/* json_sts - the TXT record and the policy */
static cJSON *
json_sts(const struct chk *k)
{
	const struct sts_result *r = &k->plan->sts;
	cJSON *o = cJSON_CreateObject(), *t, *mx;

	cJSON_AddBoolToObject(o, "looked_up", k->sts_looked_up);
	if (k->txt.done) {
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "dnssec", dns_sec_str(k->txt.sec));
		mx = cJSON_CreateArray();
		for (int i = 0; i < k->txt.n; i++)
			cJSON_AddItemToArray(mx, cJSON_CreateString(txt_shown(&k->txt, i)));
		cJSON_AddItemToObject(t, "records", mx);
		jstr(t, "id", k->txt.ok ? k->txt.id : NULL);
		jstr(t, "error", k->txt.ok ? NULL : k->txt.why);
		cJSON_AddItemToObject(o, "txt", t);
	} else
		cJSON_AddNullToObject(o, "txt");
	cJSON_AddBoolToObject(o, "has_policy", r->has_policy);
	cJSON_AddBoolToObject(o, "applies", k->plan->has_sts);
	if (r->has_policy) {
		cJSON_AddStringToObject(o, "id", r->id);
		cJSON_AddStringToObject(o, "mode", sts_mode_str(r->policy.mode));
		cJSON_AddNumberToObject(o, "max_age", (double) r->policy.max_age);
		mx = cJSON_CreateArray();
		for (int i = 0; i < r->policy.nmx; i++)
			cJSON_AddItemToArray(mx, cJSON_CreateString(r->policy.mx[i]));
		cJSON_AddItemToObject(o, "mx", mx);
		cJSON_AddBoolToObject(o, "from_cache", r->from_cache);
		cJSON_AddStringToObject(o, "text", r->policy.text);
	}
	jrtype(o, "failure", r->rtype);
	jstr(o, "failure_why", r->rtype != RTYPE_NONE ? r->why : NULL);
	return o;
}

/* json_cache - mxtlsd's cache entry */
static cJSON *
json_cache(const struct chk *k)
{
	const struct chk_cache *c = &k->cache;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "dir", c->dir ? c->dir : "");
	jstr(o, "file", c->dir && c->dir[0] ? c->path : NULL);
	cJSON_AddBoolToObject(o, "present", c->present);
	jstr(o, "error", c->error[0] ? c->error : NULL);
	cJSON_AddBoolToObject(o, "unreadable", c->unreadable);
	cJSON_AddStringToObject(o, "lookup_cache", c->use == CHK_CACHE_FRESH ? "fresh"
	    : c->use == CHK_CACHE_COPY ? "copy" : "memory");
	if (c->present && c->e.has_policy) {
		cJSON_AddStringToObject(o, "id", c->e.id);
		cJSON_AddStringToObject(o, "mode", sts_mode_str(c->e.policy.mode));
		cJSON_AddNumberToObject(o, "fetched", (double) c->e.fetched);
		cJSON_AddNumberToObject(o, "expires", (double) c->e.expires);
		cJSON_AddNumberToObject(o, "age", (double) (k->now - c->e.fetched));
		cJSON_AddNumberToObject(o, "expires_in", (double) (c->e.expires - k->now));
		cJSON_AddNumberToObject(o, "next_refresh", (double) next_refresh(c));
	}
	if (c->present && c->e.fail_rtype != RTYPE_NONE) {
		cJSON_AddNumberToObject(o, "fail_until", (double) c->e.fail_until);
		jrtype(o, "fail_type", c->e.fail_rtype);
		jstr(o, "fail_why", c->e.fail_why[0] ? c->e.fail_why : NULL);
	}
	if (c->shared) {
		cJSON *sh = cJSON_AddObjectToObject(o, "shared");

		cJSON_AddStringToObject(sh, "url", c->shared);
		cJSON_AddStringToObject(sh, "state", c->shared_state == CHK_SHARED_ENTRY ? "entry"
		    : c->shared_state == CHK_SHARED_ERROR ? "error" : "none");
		jstr(sh, "error", c->shared_state == CHK_SHARED_ERROR ? c->shared_error : NULL);
		if (c->shared_state == CHK_SHARED_ENTRY && c->se.has_policy) {
			cJSON_AddStringToObject(sh, "id", c->se.id);
			cJSON_AddStringToObject(sh, "mode", sts_mode_str(c->se.policy.mode));
			cJSON_AddNumberToObject(sh, "fetched", (double) c->se.fetched);
			cJSON_AddNumberToObject(sh, "expires", (double) c->se.expires);
		}
		if (c->shared_state == CHK_SHARED_ENTRY && c->se.fail_rtype != RTYPE_NONE) {
			cJSON_AddNumberToObject(sh, "fail_until", (double) c->se.fail_until);
			jrtype(sh, "fail_type", c->se.fail_rtype);
			jstr(sh, "fail_why", c->se.fail_why[0] ? c->se.fail_why : NULL);
		}
	} else
		cJSON_AddNullToObject(o, "shared");
	return o;
}

/* json_table - the table and the entry that applies */
static cJSON *
json_table(const struct chk *k)
{
	cJSON *o = cJSON_CreateObject(), *e;

	jstr(o, "file", k->table_file && k->table_file[0] ? k->table_file : NULL);
	if (k->tab == NULL) {
		cJSON_AddNullToObject(o, "entry");
		return o;
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "key", k->tab->key);
	cJSON_AddNumberToObject(e, "line", k->tab->line);
	cJSON_AddStringToObject(e, "level", ptab_level_str(k->tab->level));
	cJSON_AddBoolToObject(e, "report_only", k->tab->report_only);
	cJSON_AddItemToObject(o, "entry", e);
	return o;
}

/* json_verdicts - one object per candidate */
static cJSON *
json_verdicts(const struct chk *k)
{
	const struct route *rt = k->rt;
	cJSON *a = cJSON_CreateArray();
	char w[1200];

	for (int i = 0; i < rt->ncands; i++) {
		const struct route_cand *c = &rt->cands[i];
		cJSON *o = cJSON_CreateObject();
		char *sp;

		chk_cand_word(k->plan, rt, i, w, sizeof(w));
		jaddr(o, "addr", &c->addr);
		jstr(o, "host", c->host >= 0 && c->host < k->plan->nhosts
		    ? k->plan->hosts[c->host].name : NULL);
		cJSON_AddStringToObject(o, "level", route_level_str(c->level));
		cJSON_AddStringToObject(o, "text", w);
		if ((sp = strchr(w, ' ')) != NULL) {	/* the word alone */
			*sp = 0;
			if (sp > w && sp[-1] == ':')
				sp[-1] = 0;
		}
		cJSON_AddStringToObject(o, "verdict", w);
		cJSON_AddBoolToObject(o, "connect", connected_to(rt, c));
		cJSON_AddBoolToObject(o, "failed", c->failed);
		cJSON_AddBoolToObject(o, "sts_skip", c->sts_skip);
		cJSON_AddBoolToObject(o, "sts_mismatch", c->sts_mismatch);
		cJSON_AddBoolToObject(o, "dane_only", c->dane_only);
		cJSON_AddBoolToObject(o, "floor", c->floor);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* json_conn - one handshake */
static cJSON *
json_conn(const struct chk *k, const struct chk_conn *c)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

	jaddr(o, "addr", &k->rt->cands[c->cand].addr);
	cJSON_AddStringToObject(o, "peer", c->peer);
	cJSON_AddStringToObject(o, "level", route_level_str(c->level));
	cJSON_AddBoolToObject(o, "ok", c->ok);
	cJSON_AddBoolToObject(o, "tls", c->tls);
	jstr(o, "tls_version", c->tls ? c->tls_version : NULL);
	jstr(o, "tlsinfo", c->tls ? c->tlsinfo : NULL);
	cJSON_AddBoolToObject(o, "verified", c->verified);
	jstr(o, "match", c->match[0] ? c->match : NULL);
	cJSON_AddBoolToObject(o, "plain_retry", c->plain_retry);
	jrtype(o, "rtype", c->rtype);
	jrtype(o, "soft_rtype", c->soft_rtype);
	jstr(o, "rcode", c->rcode[0] ? c->rcode : NULL);
	jstr(o, "enh", c->enh[0] ? c->enh : NULL);
	jstr(o, "why", c->why[0] ? c->why : NULL);
	for (int i = 0; i < c->nchain; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "subject", c->chain[i].subject);
		cJSON_AddStringToObject(e, "issuer", c->chain[i].issuer);
		cJSON_AddStringToObject(e, "names", c->chain[i].names);
		cJSON_AddNumberToObject(e, "not_after", (double) c->chain[i].not_after);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddItemToObject(o, "chain", a);
	return o;
}

/* json_route - the destination, the options and the outcome */
static void
json_route(const struct chk *k, cJSON *o)
{
	const struct route *rt = k->rt;
	int ok = chk_deliverable(k);

	jaddr(o, "dest", &k->dest);
	cJSON_AddBoolToObject(o, "dest_given", k->dest_given);
	cJSON_AddStringToObject(o, "mode", k->opts.report_only ? "report-only" : "enforce");
	cJSON_AddBoolToObject(o, "require_tls", k->opts.require_tls);
	jstr(o, "mx_mismatch", cfg_word_str(cfg_mx_mismatch_words, (int) k->opts.mismatch));
	cJSON_AddBoolToObject(o, "strict_testing", k->opts.strict_testing);
	cJSON_AddStringToObject(o, "route", verdict_str(rt->verdict));
	jstr(o, "reply", rt->verdict != ROUTE_TRY || rt->would != ROUTE_TRY
	    ? rt->reply : NULL);
	jrtype(o, "route_rtype", rt->rtype);
	cJSON_AddBoolToObject(o, "report_only", rt->soft);
	jstr(o, "would", rt->would != ROUTE_TRY ? verdict_str(rt->would) : NULL);
	cJSON_AddBoolToObject(o, "rerouted", rt->rerouted);
	cJSON_AddStringToObject(o, "result", ok ? "deliver" : "refuse");
	cJSON_AddNumberToObject(o, "exit", ok ? 0 : 1);
}

/* chk_json - the --json object */
cJSON *
chk_json(const struct chk *k)
{
	cJSON *o = cJSON_CreateObject(), *mx, *cn;

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "version", CHK_JSON_VERSION);
	cJSON_AddStringToObject(o, "domain", k->domain);
	cJSON_AddStringToObject(o, "status", status_str(k->plan->status));
	jstr(o, "why", k->plan->why[0] ? k->plan->why : NULL);
	jstr(o, "mx_dnssec", k->plan->status == PLAN_OK ? dns_sec_str(k->plan->mx_sec) : NULL);
	cJSON_AddBoolToObject(o, "implicit_mx", k->plan->implicit_mx);
	mx = cJSON_CreateArray();
	for (int i = 0; i < k->plan->nhosts; i++)
		cJSON_AddItemToArray(mx, json_host(&k->plan->hosts[i]));
	cJSON_AddItemToObject(o, "mx", mx);
	cJSON_AddItemToObject(o, "sts", json_sts(k));
	if (k->sts_looked_up)
		cJSON_AddItemToObject(o, "cache", json_cache(k));
	else
		cJSON_AddNullToObject(o, "cache");
	cJSON_AddItemToObject(o, "table", json_table(k));
	cJSON_AddItemToObject(o, "verdicts", json_verdicts(k));
	json_route(k, o);
	if (k->connect) {
		cn = cJSON_CreateArray();
		for (int i = 0; i < k->nconns; i++)
			cJSON_AddItemToArray(cn, json_conn(k, &k->conns[i]));
		cJSON_AddItemToObject(o, "connect", cn);
	}
	return o;
}
