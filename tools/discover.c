/*
 * discover.c - TLSRPT policy discovery in a libev loop.  See discover.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/addr.h"
#include "../lib/dname.h"
#include "../lib/log.h"
#include "../policy/dns.h"
#include "discover.h"

#define T_A		1
#define T_TXT		16
#define T_AAAA		28
#define DISC_MAX_TXT	16

struct dctx;

struct dtxt {				/* the TXT lookup of one domain */
	struct dctx *ctx;
	struct disc *d;
	struct dns_q *q;
};

struct dhost {				/* the addresses of one https rua */
	struct dctx *ctx;
	struct disc *d;
	int j;				/* index of the rua */
	char host[DISC_NAME];
	int port;
	struct dns_q *q[2];		/* A, AAAA */
	int naddr;
	char addrs[600];
	char why[200];
};

struct dctx {
	struct ev_loop *loop;
	ev_timer timer;
	double timeout;
	int pending;			/* queries not yet answered */
	int n;
	struct dtxt *txt;		/* n */
	struct dhost *hosts;		/* n * TLSRPT_MAX_RUA */
};

/* disc_status_str - for messages */
const char *
disc_status_str(enum disc_status s)
{
	switch (s) {
	case DISC_PENDING:
		return "pending";
	case DISC_FOUND:
		return "found";
	case DISC_NONE:
		return "none";
	case DISC_ERROR:
		return "error";
	}
	return "?";
}

/* one_done - a query ended; stop the loop after the last */
static void
one_done(struct dctx *ctx)
{
	if (--ctx->pending == 0) {
		ev_timer_stop(ctx->loop, &ctx->timer);
		ev_break(ctx->loop, EVBREAK_ONE);
	}
}

/* url_host - host and port of https://[userinfo@]host[:port]/...; 0 if a name */
static int
url_host(const char *url, char *host, size_t len, int *port)
{
	const char *a = url + 8, *end, *at, *colon;
	size_t n;

	*port = 443;
	if (strncasecmp(url, "https://", 8) != 0)
		return -1;
	end = a + strcspn(a, "/?#");
	if ((at = memchr(a, '@', (size_t) (end - a))) != NULL)
		a = at + 1;
	if (*a == '[')
		return 1;			/* an IPv6 literal: nothing to resolve */
	colon = memchr(a, ':', (size_t) (end - a));
	n = (size_t) ((colon ? colon : end) - a);
	if (n == 0 || n >= len)
		return -1;
	memcpy(host, a, n);
	host[n] = 0;
	if (colon) {
		char *e;
		long p = strtol(colon + 1, &e, 10);

		if (e != end || p < 1 || p > 65535)
			return -1;
		*port = (int) p;
	}
	if (!dname_host_ok(host, dname_trim_dot(host, n)))
		return -1;			/* also IPv4 literals pass */
	{
		struct in_addr v4;

		if (inet_pton(AF_INET, host, &v4) == 1)
			return 1;
	}
	return 0;
}

/* host_end - both address lookups of an https rua are in */
static void
host_end(struct dhost *h)
{
	if (h->q[0] || h->q[1])
		return;
	if (h->naddr == 0)
		snprintf(h->d->rua_err[h->j], DISC_WHY, "%.100s: %s", h->host,
		    h->why[0] ? h->why : "no A or AAAA record");
	else
		snprintf(h->d->resolve[h->j], DISC_RESOLVE, "%s:%d:%s", h->host, h->port,
		    h->addrs);
}

/* add_addrs - the addresses of one answer */
static void
add_addrs(struct dhost *h, int type, const struct ub_result *u)
{
	for (int i = 0; u->data[i]; i++) {
		struct sockaddr_storage ss;
		char a[ADDR_STRLEN];
		size_t used = strlen(h->addrs);

		if (addr_from_rdata(&ss, type == T_A ? AF_INET : AF_INET6, u->data[i],
			(size_t) u->len[i], 0) < 0)
			continue;
		addr_host_str(&ss, a, sizeof(a));	/* IPv6 in brackets */
		/* Room for `,[ADDR]' and the NUL, brackets or not. */
		if (used + strlen(a) + (a[0] == '[' ? 2 : 4) >= sizeof(h->addrs))
			break;
		snprintf(h->addrs + used, sizeof(h->addrs) - used, "%s%s", h->naddr ? "," : "", a);
		h->naddr++;
	}
}

/* on_addr - an A or AAAA answer for an https rua host */
static void
on_addr(struct dhost *h, int k, enum dns_sec sec, const struct ub_result *u,
    const char *why)
{
	int type = k == 0 ? T_A : T_AAAA;

	h->q[k] = NULL;
	if (sec == DNS_BOGUS)
		snprintf(h->why, sizeof(h->why), "%s lookup: DNSSEC validation failed (bogus): %s",
		    k == 0 ? "A" : "AAAA", why);
	else if (sec == DNS_INDETERMINATE)
		snprintf(h->why, sizeof(h->why), "%s lookup failed: %s", k == 0 ? "A" : "AAAA", why);
	else if (u && u->havedata)
		add_addrs(h, type, u);
	host_end(h);
	one_done(h->ctx);
}

/* on_a, on_aaaa - dns_cb for each address type */
static void
on_a(void *arg, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	on_addr(arg, 0, sec, u, why);
}

static void
on_aaaa(void *arg, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	on_addr(arg, 1, sec, u, why);
}

/* start_hosts - address lookups for the https rua of a found record */
static void
start_hosts(struct dctx *ctx, struct dtxt *t)
{
	struct disc *d = t->d;
	struct dhost *base = ctx->hosts + (t - ctx->txt) * TLSRPT_MAX_RUA;

	for (int j = 0; j < d->rec.nrua; j++) {
		struct dhost *h = base + j;
		int lit;

		if (d->rec.rua[j].scheme != TLSRPT_HTTPS)
			continue;
		h->ctx = ctx;
		h->d = d;
		h->j = j;
		lit = url_host(d->rec.rua[j].uri, h->host, sizeof(h->host), &h->port);
		if (lit < 0) {
			snprintf(d->rua_err[j], DISC_WHY, "cannot parse the host of the URL");
			continue;
		}
		if (lit == 1)
			continue;
		h->q[0] = dns_query(h->host, T_A, on_a, h);
		h->q[1] = dns_query(h->host, T_AAAA, on_aaaa, h);
		ctx->pending += (h->q[0] != NULL) + (h->q[1] != NULL);
		if (h->q[0] == NULL || h->q[1] == NULL)
			snprintf(h->why, sizeof(h->why), "cannot start the address lookup");
		host_end(h);
	}
}

/* join - a TXT record's character strings, as one string */
static char *
join(const unsigned char *p, size_t len, size_t *out)
{
	char *s = malloc(len + 1);
	size_t off = 0, w = 0;

	if (s == NULL)
		return NULL;
	while (off < len) {
		size_t sl = p[off++];

		if (sl > len - off)
			break;			/* malformed: keep what came before */
		memcpy(s + w, p + off, sl);
		w += sl;
		off += sl;
	}
	s[w] = 0;
	*out = w;
	return s;
}

/* parse_txt - the TXT RRset into d */
static void
parse_txt(struct disc *d, const struct ub_result *u)
{
	char *recs[DISC_MAX_TXT];
	size_t lens[DISC_MAX_TXT];
	const char *why = "no TLSRPT record";
	int n = 0, ok;

	for (int i = 0; u->data[i] && n < DISC_MAX_TXT; i++)
		if ((recs[n] = join((const unsigned char *) u->data[i], (size_t) u->len[i],
		    &lens[n])) != NULL)
			n++;
	ok = tlsrpt_parse((const char *const *) recs, lens, n, &d->rec, &why);
	if (ok == 1) {
		d->status = DISC_FOUND;
	} else {
		d->status = DISC_NONE;
		snprintf(d->why, sizeof(d->why), "_smtp._tls.%s: %s", d->domain,
		    why ? why : "no usable TLSRPT record");
	}
	for (int i = 0; i < n; i++)
		free(recs[i]);
}

/* on_txt - the _smtp._tls TXT answer */
static void
on_txt(void *arg, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	struct dtxt *t = arg;
	struct disc *d = t->d;

	t->q = NULL;
	if (sec == DNS_BOGUS) {
		d->status = DISC_ERROR;
		snprintf(d->why, sizeof(d->why), "_smtp._tls.%s: DNSSEC validation failed "
		    "(bogus): %s", d->domain, why);
	} else if (sec == DNS_INDETERMINATE) {
		d->status = DISC_ERROR;
		snprintf(d->why, sizeof(d->why), "_smtp._tls.%s: lookup failed: %s",
		    d->domain, why);
	} else if (u == NULL || u->nxdomain || !u->havedata) {
		d->status = DISC_NONE;
		snprintf(d->why, sizeof(d->why), "_smtp._tls.%s: %s", d->domain,
		    u && u->nxdomain ? "no such name" : "no TXT record");
	} else {
		parse_txt(d, u);
		if (d->status == DISC_FOUND)
			start_hosts(t->ctx, t);
	}
	msg_debug("discover: _smtp._tls.%s: %s (%s)%s%s", d->domain,
	    disc_status_str(d->status), dns_sec_str(sec), d->why[0] ? ": " : "", d->why);
	one_done(t->ctx);
}

/* on_timeout - give up on what has not answered */
static void
on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dctx *ctx = w->data;

	(void) revents;
	for (int i = 0; i < ctx->n; i++) {
		struct dtxt *t = ctx->txt + i;

		if (t->q) {
			dns_cancel(t->q);
			t->q = NULL;
			t->d->status = DISC_ERROR;
			snprintf(t->d->why, sizeof(t->d->why), "_smtp._tls.%s: no answer within "
			    "%.0f seconds", t->d->domain, ctx->timeout);
		}
	}
	for (int i = 0; i < ctx->n * TLSRPT_MAX_RUA; i++) {
		struct dhost *h = ctx->hosts + i;

		if (h->q[0] == NULL && h->q[1] == NULL)
			continue;
		for (int k = 0; k < 2; k++) {
			dns_cancel(h->q[k]);
			h->q[k] = NULL;
		}
		snprintf(h->why, sizeof(h->why), "no address answer within %.0f seconds",
		    ctx->timeout);
		host_end(h);
	}
	ctx->pending = 0;
	ev_break(loop, EVBREAK_ONE);
}

/* start - the TXT lookups */
static void
start(struct dctx *ctx, struct disc *d, int n)
{
	for (int i = 0; i < n; i++) {
		struct dtxt *t = ctx->txt + i;
		char name[DISC_NAME + 16];

		t->ctx = ctx;
		t->d = d + i;
		snprintf(name, sizeof(name), "_smtp._tls.%s", d[i].domain);
		if ((t->q = dns_query(name, T_TXT, on_txt, t)) == NULL) {
			d[i].status = DISC_ERROR;
			snprintf(d[i].why, sizeof(d[i].why), "%s: cannot start the lookup", name);
			continue;
		}
		ctx->pending++;
	}
}

/* discover - every domain's TLSRPT record, in parallel */
int
discover(struct ev_loop *loop, struct disc *d, int n, double timeout)
{
	struct dctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	for (int i = 0; i < n; i++) {
		d[i].status = DISC_PENDING;
		d[i].why[0] = 0;
		memset(&d[i].rec, 0, sizeof(d[i].rec));
		for (int j = 0; j < TLSRPT_MAX_RUA; j++)
			d[i].resolve[j][0] = d[i].rua_err[j][0] = 0;
	}
	ctx.loop = loop;
	ctx.n = n;
	ctx.timeout = timeout;
	ctx.txt = calloc((size_t) (n > 0 ? n : 1), sizeof(*ctx.txt));
	ctx.hosts = calloc((size_t) (n > 0 ? n : 1) * TLSRPT_MAX_RUA, sizeof(*ctx.hosts));
	if (ctx.txt == NULL || ctx.hosts == NULL) {
		for (int i = 0; i < n; i++) {
			d[i].status = DISC_ERROR;
			snprintf(d[i].why, sizeof(d[i].why), "out of memory");
		}
		free(ctx.txt);
		free(ctx.hosts);
		return -1;
	}
	ev_timer_init(&ctx.timer, on_timeout, timeout, 0.);
	ctx.timer.data = &ctx;
	start(&ctx, d, n);
	if (ctx.pending > 0) {
		ev_timer_start(loop, &ctx.timer);
		ev_run(loop, 0);
		ev_timer_stop(loop, &ctx.timer);
	}
	free(ctx.txt);
	free(ctx.hosts);
	return 0;
}
