/*
 * dns.c - asynchronous DNS with DNSSEC status.  See dns.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/conf.h"
#include "../lib/log.h"
#include "dns.h"

struct dns_q {
	int id;
	int done;
	int cancelled;
	int started;
	dns_cb *cb;
	void *arg;
	char *name;
	int type;
	ev_timer kick;			/* delivers start-up failures */
};

static struct ub_ctx *ctx;
static struct ev_loop *dns_loop;
static ev_io dns_w;

/* sec_of - the DNSSEC state of libunbound's answer (dnssec.h decides) */
static enum dns_sec
sec_of(int err, const struct ub_result *r)
{
	struct dns_status st;

	if (r == NULL)
		return dns_sec_of(err, NULL);
	st.bogus = r->bogus;
	st.secure = r->secure;
	st.rcode = r->rcode;
	return dns_sec_of(err, &st);
}

/* dns_on_fd - answers are waiting in libunbound's pipe */
static void
dns_on_fd(struct ev_loop *loop, ev_io *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	if (ub_process(ctx) != 0)
		msg_warn("dns: ub_process failed");
}

/* dns_free_q - release a finished query */
static void
dns_free_q(struct dns_q *q)
{
	free(q->name);
	free(q);
}

/* dns_done - libunbound's callback */
static void
dns_done(void *arg, int err, struct ub_result *r)
{
	struct dns_q *q = arg;
	enum dns_sec sec = sec_of(err, r);
	char why[256] = "";

	q->done = 1;
	if (err)
		snprintf(why, sizeof(why), "%s", ub_strerror(err));
	else if (r && r->bogus)
		snprintf(why, sizeof(why), "%s", r->why_bogus ? r->why_bogus
		    : "DNSSEC validation failed");
	else if (r && sec == DNS_INDETERMINATE)
		snprintf(why, sizeof(why), "rcode %d", r->rcode);
	if (!q->cancelled)
		q->cb(q->arg, sec, r, why);
	if (r)
		ub_resolve_free(r);
	dns_free_q(q);
}

/* dns_on_kick - report a query that could not even start */
static void
dns_on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dns_q *q = w->data;

	(void) loop;
	(void) revents;
	if (!q->cancelled)
		q->cb(q->arg, DNS_INDETERMINATE, NULL, "resolver unavailable");
	dns_free_q(q);
}

/* dns_conf_of - the resolver settings of a configuration; -1: none */
int
dns_conf_of(const struct config *c, struct dns_conf *dc)
{
	dc->trust_anchor = c->dns_trust_anchor_file;
	dc->root_hints = c->dns_root_hints_file;
	dc->forward = strncmp(c->dns_resolver, "forward:", 8) == 0
	    ? c->dns_resolver + 8 : "";
	return strcmp(c->dns_resolver, "none") == 0 ? -1 : 0;
}

/* dns_init - the resolver context */
int
dns_init(struct ev_loop *loop, const struct dns_conf *conf, char *err,
    size_t errlen)
{
	int r;

	dns_loop = loop;
	if ((ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "dns: cannot create the libunbound context");
		return -1;
	}
	if ((r = ub_ctx_async(ctx, 1)) != 0) {
		snprintf(err, errlen, "dns: ub_ctx_async: %s", ub_strerror(r));
		return -1;
	}
	/* Lab names live under example.; nothing in mxtls needs local zones. */
	(void) ub_ctx_set_option(ctx, "harden-referral-path:", "no");
	if (conf->root_hints && *conf->root_hints
	    && (r = ub_ctx_set_option(ctx, "root-hints:", conf->root_hints)) != 0) {
		snprintf(err, errlen, "dns_root_hints_file %s: %s", conf->root_hints,
		    ub_strerror(r));
		return -1;
	}
	if (conf->forward && *conf->forward) {
		char *list = strdup(conf->forward), *save = NULL;

		if (list == NULL) {
			snprintf(err, errlen, "dns: out of memory");
			return -1;
		}
		for (char *a = strtok_r(list, ", ", &save); a; a = strtok_r(NULL, ", ", &save))
			if ((r = ub_ctx_set_fwd(ctx, a)) != 0) {
				snprintf(err, errlen, "dns_resolver forward address %s: %s", a,
				    ub_strerror(r));
				free(list);
				return -1;
			}
		free(list);
	}
	if (conf->trust_anchor && *conf->trust_anchor) {
		if ((r = ub_ctx_add_ta_file(ctx, conf->trust_anchor)) != 0) {
			snprintf(err, errlen, "dns_trust_anchor_file %s: %s%s%s",
			    conf->trust_anchor, ub_strerror(r), errno ? ": " : "",
			    errno ? strerror(errno) : "");
			return -1;
		}
	}
	ev_io_init(&dns_w, dns_on_fd, ub_fd(ctx), EV_READ);
	ev_io_start(loop, &dns_w);
	ev_unref(loop);			/* the resolver alone keeps nothing alive */
	return 0;
}

/* dns_query - start a lookup */
struct dns_q *
dns_query(const char *name, int type, dns_cb *cb, void *arg)
{
	struct dns_q *q = calloc(1, sizeof(*q));
	int r;

	if (q == NULL)
		return NULL;
	q->cb = cb;
	q->arg = arg;
	q->type = type;
	if ((q->name = strdup(name)) == NULL) {
		free(q);
		return NULL;
	}
	r = ctx ? ub_resolve_async(ctx, name, type, 1 /* IN */, q, dns_done, &q->id) : -1;
	if (r != 0) {
		msg_warn("dns: cannot start lookup of %s/%d: %s", name, type,
		    ctx ? ub_strerror(r) : "resolver not initialised");
		ev_timer_init(&q->kick, dns_on_kick, 0., 0.);
		q->kick.data = q;
		ev_timer_start(dns_loop, &q->kick);
		return q;
	}
	q->started = 1;
	/* ub_fd may change after the worker thread starts. */
	if (ub_fd(ctx) != dns_w.fd) {
		ev_ref(dns_loop);
		ev_io_stop(dns_loop, &dns_w);
		ev_io_set(&dns_w, ub_fd(ctx), EV_READ);
		ev_io_start(dns_loop, &dns_w);
		ev_unref(dns_loop);
	}
	return q;
}

/* dns_cancel - the asker went away; no callback */
void
dns_cancel(struct dns_q *q)
{
	if (q == NULL || q->done)
		return;
	q->cancelled = 1;
	if (!q->started) {
		return;				/* the kick timer frees it */
	}
	if (ub_cancel(ctx, q->id) == 0) {
		q->done = 1;
		dns_free_q(q);
	}
	/* else the answer is in flight: dns_done frees it, silently */
}

/* dns_shutdown - free the context */
void
dns_shutdown(void)
{
	if (ctx) {
		ev_ref(dns_loop);
		ev_io_stop(dns_loop, &dns_w);
		ub_ctx_delete(ctx);
		ctx = NULL;
	}
}
