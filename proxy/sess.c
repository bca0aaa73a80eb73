/*
 * sess.c - one SMTP session with the old MTA, and its upstream.
 * See sess.h.
 *
 * Commands are taken strictly one at a time: while a command waits for
 * the MX (s->wait != W_NONE), later pipelined commands stay in the input
 * buffer, so replies go out in order.  Replies are queued and written by
 * the loop after all buffered commands were handled, which is how a
 * PIPELINING server answers a batch in one write.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../policy/resolve.h"
#include "../policy/route.h"
#include "../report/journal.h"
#include "../report/record.h"
#include "conn.h"
#include "fsm.h"
#include "proxy.h"
#include "sess.h"
#include "smtp.h"
#include "tls.h"
#include "up.h"

#define DATA_HIGH_WATER	(256 * 1024)	/* pause the old MTA above this */
#define REPLY_HIGH_WATER (64 * 1024)	/* no more commands while more is queued */
#define STARVE_SLOTS	256		/* domains remembered as held with others */
#define STARVE_TTL	3600.0		/* ... for this long (s) */
#define REASON_MAX	1024
#define HOLD_MAX_DEFAULT (10 * 1024 * 1024)	/* TLS-Required: No, held message */
#define HOLD_TOTAL_MAX	(256 * 1024 * 1024)	/* ... all sessions together */

enum sess_wait {
	W_NONE,				/* taking commands (or DATA bytes) */
	W_POLICY,			/* policy lookups for a RCPT's domain */
	W_CONNECT,			/* upstream being set up for a RCPT */
	W_MAIL,				/* MAIL sent to the MX */
	W_RCPT,				/* RCPT sent to the MX */
	W_RCPT_SKIP,			/* MAIL refused; its pipelined RCPT's reply is due */
	W_DATA,				/* DATA sent to the MX */
	W_DOT,				/* end of data sent, final reply due */
	W_RSET,				/* RSET sent to the MX */
	W_TLS,				/* 220 going out, then the handshake */
	W_CLOSE				/* last reply going out, then close */
};

struct sess {
	struct conn c;
	ev_timer tmo;
	struct reap reap;
	struct sess *prev, *next;
	struct fsm fsm;
	struct up *up;
	char id[16];
	char client[80];		/* [192.0.2.1]:40000 */
	struct sockaddr_storage orig;
	char origstr[80];
	enum sess_wait wait;
	int up_txn;			/* the MX has MAIL for this transaction */
	int mail_pipelined;		/* the first RCPT went with MAIL */
	char txn_fail[REASON_MAX];	/* reply for further RCPTs, or "" */
	struct smtp_path rcpt;		/* the RCPT in flight */
	struct buf rcpts;		/* accepted recipients, for the log */
	char *pending;			/* reply to send when RSET is done */
	/* message transfer */
	struct smtp_eod eod;
	uint64_t data_bytes;
	int data_discard;
	char data_fail[REASON_MAX];
	int skipping_long;		/* dropping an over-long line */
	int drain_after_txn;		/* SIGTERM arrived during a transaction */
	/* deadlines (sess_arm) */
	double cmd_t0;			/* ev_now: the wait for a command began; 0 */
	double idle_used;		/* seconds spent waiting for commands */
	double data_deadline;		/* ev_now: DATA must have progressed by */
	int out_paused;			/* replies queued over REPLY_HIGH_WATER */
	/* policy */
	struct resolve *res;		/* lookups in flight */
	int res_second;			/* ... for a second domain in a transaction */
	struct plan *plan;		/* the policy domain's plan */
	int plan_fresh;			/* looked up in this transaction */
	double plan_until;		/* mono ms: its answers' TTLs run out */
	char up_tlsa[1024];		/* the TLSA records the upstream was held to */
	struct route route;		/* candidates from the plan */
	int icand;			/* next candidate to try */
	double policy_t0;		/* when the lookups started (monotonic) */
	char relay[400];		/* the MX of this transaction, for the log */
	char relay_tls[16];		/* its TLS version, or "none" */
	char pfail[REASON_MAX];		/* first policy failure of the attempts */
	const char *prtype;		/* ... its RFC 8460 result type */
	char lfail[REASON_MAX];		/* last failure of the attempts */
	int lfail_policy;		/* ... was a policy failure */
	int cur_host;			/* the candidate being tried: plan index */
	const char *cur_ptype;		/* ... and its policy type */
	/* TLS-Required: No (RFC 8689): the message decides after a policy
	 * failure; it is held, then delivered with the policy waived. */
	int hold;			/* recipients accepted on hold */
	int hold_starved;		/* ... and another domain got 452 */
	char hold_fail[REASON_MAX];	/* the reply when it does not say No */
	struct buf hold_rcpts;		/* NUL-ended recipient addresses */
	struct buf held;		/* the message as the old MTA sent it */
	int replay;			/* delivering the held message */
	size_t replay_next;		/* offset of the next recipient to send */
	int replay_ok;			/* recipients the MX accepted */
	char replay_fail[REASON_MAX];	/* the last recipient refusal */
};

static void sess_on_conn(struct conn *, int, void *);
static void sess_on_timer(struct ev_loop *, ev_timer *, int);
static void sess_on_up(struct up *, enum up_event, void *);
static void sess_run(struct sess *);
static void replay_start(struct sess *);
static void replay_next(struct sess *);
static void replay_done(struct sess *, const char *, const struct smtp_reply *);
static void txn_done(struct sess *);
static void held_drop(struct sess *);

/* sess_wait_str - wait state for logs */
const char *
sess_wait_str(int w)
{
	static const char *names[] = {"none", "policy", "connect", "mail", "rcpt",
	"rcpt-skip", "data", "dot", "rset", "tls", "close"};

	return (unsigned) w < sizeof(names) / sizeof(names[0]) ? names[w] : "?";
}

/* addr_str - [addr]:port */
static void
addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *) ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *) ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	}
	snprintf(buf, len, "[%s]:%u", a, port);
}

/* rcpt_domain - the RCPT's domain, lower case; "" for <postmaster> */
static void
rcpt_domain(const struct smtp_path *p, char *out, size_t len)
{
	snprintf(out, len, "%s", smtp_path_domain(p));
	for (char *c = out; *c; c++)
		*c = (char) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	if (out[0] == '[')		/* an address literal: no policy lookups */
		out[0] = 0;
}

/* sess_free - the reaper's part */
static void
sess_free(struct reap *r)
{
	struct sess *s = (struct sess *) ((char *) r - offsetof(struct sess, reap));

	buf_free(&s->rcpts);
	buf_free(&s->hold_rcpts);
	held_drop(s);
	buf_free(&s->held);
	free(s->pending);
	plan_free(s->plan);
	free(s);
}

/* sess_close - end the session (the struct is freed by the reaper) */
static void
sess_close(struct sess *s, int abort_up)
{
	if (s->c.closed && s->reap.queued)
		return;
	ev_timer_stop(proxy.loop, &s->tmo);
	if (s->res) {
		resolve_cancel(s->res);
		s->res = NULL;
	}
	if (s->up) {
		if (abort_up)
			up_abort(s->up);
		else
			up_quit(s->up);
		s->up = NULL;
	}
	conn_close(&s->c);
	if (s->prev)
		s->prev->next = s->next;
	else
		proxy.sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	proxy.nsessions--;
	msg_info("%s: disconnect from %s", s->id, s->client);
	reap_later(&s->reap, sess_free);
}

/* say - queue reply bytes to the old MTA */
static void
say(struct sess *s, const char *text, size_t len)
{
	if (len && conn_write(&s->c, text, len) < 0 && !s->c.closed) {
		msg_warn("%s: out of memory for a reply", s->id);
		sess_close(s, 1);
	}
}

/* sayf - queue a formatted one-line reply */
__attribute__((format(printf, 2, 3)))
static void
sayf(struct sess *s, const char *fmt, ...)
{
	char line[REASON_MAX + 8];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n > sizeof(line) - 3)
		n = (int) sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	say(s, line, (size_t) n);
}

/* say_pending - the reply that waited for the MX's RSET */
static void
say_pending(struct sess *s)
{
	if (s->pending) {
		say(s, s->pending, strlen(s->pending));
		free(s->pending);
		s->pending = NULL;
	}
}

/* relay_reply - the MX's reply, every line, to the old MTA */
static void
relay_reply(struct sess *s, const struct smtp_reply *r)
{
	const char *p = r->text, *end = r->text + r->textlen;
	char line[SMTP_REPLY_MAX_TEXT + 8];

	for (int i = 0; i < r->nlines; i++) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		size_t tl = nl ? (size_t) (nl - p) : (size_t) (end - p);
		int n;

		n = snprintf(line, sizeof(line), "%03d%c%.*s\r\n", r->code,
		    i == r->nlines - 1 ? ' ' : '-', (int) tl, p);
		if (n > 0)
			say(s, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
		p = nl ? nl + 1 : end;
	}
}

/* reply_text - "code text" of an MX reply, one line, for reasons */
static const char *
reply_text(const struct smtp_reply *r, char *buf, size_t len)
{
	return smtp_reply_line1(r, buf, len);
}

/* ptype_of_level - the RFC 8460 policy type behind a route level */
static const char *
ptype_of_level(enum route_level l)
{
	return l == ROUTE_DANE || l == ROUTE_ENCRYPT ? "tlsa"
	    : l == ROUTE_STS || l == ROUTE_STS_TESTING ? "sts" : "no-policy-found";
}

/* cand_ptype - the policy type of a route candidate: DANE, when its TLSA
 * lookups failed (it is then never connected to under policy), else what
 * its level says */
static const char *
cand_ptype(const struct sess *s, const struct route_cand *c)
{
	if (c->host >= 0 && s->plan->hosts[c->host].dane == DANE_FAIL)
		return "tlsa";
	return ptype_of_level(c->level);
}

/* ptype_of_rtype - the policy type a result type belongs to */
static const char *
ptype_of_rtype(const char *rtype)
{
	if (rtype && strncmp(rtype, "sts-", 4) == 0)
		return "sts";
	if (rtype && (strcmp(rtype, "tlsa-invalid") == 0 || strcmp(rtype,
		    "dnssec-invalid") == 0 || strcmp(rtype, "dane-required") == 0))
		return "tlsa";
	return "no-policy-found";
}

/* source_for - the address the kernel would send from towards addr (a
 * host that policy ruled out was never connected to) */
static void
source_for(const struct sockaddr_storage *addr, char *buf, size_t len)
{
	struct sockaddr_storage to = *addr, ss;
	socklen_t sl = sizeof(ss);
	int fd;

	if (addr->ss_family == AF_INET6 && ((struct sockaddr_in6 *) &to)->sin6_port == 0)
		((struct sockaddr_in6 *) &to)->sin6_port = htons(25);
	else if (addr->ss_family == AF_INET && ((struct sockaddr_in *) &to)->sin_port == 0)
		((struct sockaddr_in *) &to)->sin_port = htons(25);
	if ((fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	/* A UDP connect sends nothing: it only picks the route and source. */
	if (proxy.cfg.upstream_mark)
		(void) setsockopt(fd, SOL_SOCKET, SO_MARK, &proxy.cfg.upstream_mark,
		    sizeof(proxy.cfg.upstream_mark));
	if (connect(fd, (struct sockaddr *) &to, addr->ss_family == AF_INET6
		? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) == 0
	    && getsockname(fd, (struct sockaddr *) &ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, buf,
			    (socklen_t) len);
		else if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, buf,
			    (socklen_t) len);
	}
	close(fd);
}

/* journal - one attempt record (report/record.h), before the old MTA
 * hears anything of it; -1 when it could not be written */
static int
journal(struct sess *s, const struct up *u, int host, const char *ptype,
    const struct sockaddr_storage *addr, const char *result, const char *reason,
    const char *action)
{
	static double last_warn;
	const struct plan *p = s->plan;
	struct rec r;
	char err[600];

	memset(&r, 0, sizeof(r));
	r.time = (long long) time(NULL);
	snprintf(r.sid, sizeof(r.sid), "%s", s->id);
	snprintf(r.domain, sizeof(r.domain), "%s", p ? p->domain : "");
	snprintf(r.ptype, sizeof(r.ptype), "%s", ptype);
	if (p && host >= 0 && strcmp(ptype, "tlsa") == 0) {
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
	} else if (p && strcmp(ptype, "sts") == 0 && p->sts.has_policy) {
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
		snprintf(r.ip, sizeof(r.ip), "%s", u->addrstr);
		snprintf(r.helo, sizeof(r.helo), "%s", u->greet_name);
		snprintf(r.src, sizeof(r.src), "%s", u->localstr);
		r.sport = u->localport;
	} else if (addr && (addr->ss_family == AF_INET6 || addr->ss_family == AF_INET)) {
		if (addr->ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) addr)->sin6_addr,
			    r.ip, sizeof(r.ip));
		else
			inet_ntop(AF_INET, &((const struct sockaddr_in *) addr)->sin_addr,
			    r.ip, sizeof(r.ip));
		source_for(addr, r.src, sizeof(r.src));
	}
	snprintf(r.result, sizeof(r.result), "%s", result);
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	snprintf(r.action, sizeof(r.action), "%s", action);
	if (journal_append(proxy.journal, &r, err, sizeof(err)) == 0)
		return 0;
	proxy.journal_errors++;
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

/*
 * sess_arm - the old MTA's deadline.  Outside DATA it runs per command
 * (Postfix's smtpd_timeout): client_timeout to send one whole command,
 * however it trickles, and never past what is left of client_idle_limit,
 * the time a session may spend waiting for commands in all.  In DATA,
 * data_deadline: client_timeout, extended by each octet received at
 * client_min_data_rate (Postfix's smtpd_min_data_rate) but never beyond
 * client_timeout from now.  While the MX has the floor, client_timeout.
 */
static void
sess_arm(struct sess *s)
{
	double now = ev_now(proxy.loop), t = (double) proxy.cfg.client_timeout;

	if (s->fsm.state == FSM_DATA && s->wait == W_NONE && s->data_deadline > 0) {
		t = s->data_deadline - now;
	} else if (s->cmd_t0 > 0) {
		t = s->cmd_t0 + (double) proxy.cfg.client_timeout - now;
		if (proxy.cfg.client_idle_limit > 0) {
			double left = (double) proxy.cfg.client_idle_limit - s->idle_used
			    - (now - s->cmd_t0);

			if (left < t)
				t = left;
		}
	}
	s->tmo.repeat = t > 0.001 ? t : 0.001;
	ev_timer_again(proxy.loop, &s->tmo);
}

/* cmd_wait_begin - the old MTA has the floor: its next command's clock */
static void
cmd_wait_begin(struct sess *s)
{
	if (s->cmd_t0 > 0)
		return;
	s->cmd_t0 = ev_now(proxy.loop);
	sess_arm(s);
}

/* cmd_wait_end - a whole command is in (or the floor passes) */
static void
cmd_wait_end(struct sess *s)
{
	if (s->cmd_t0 <= 0)
		return;
	s->idle_used += ev_now(proxy.loop) - s->cmd_t0;
	s->cmd_t0 = 0;
}

/* data_begin - DATA: the message's clock starts */
static void
data_begin(struct sess *s)
{
	cmd_wait_end(s);
	s->data_deadline = ev_now(proxy.loop) + (double) proxy.cfg.client_timeout;
	sess_arm(s);
}

/* data_credit - n message octets arrived: they buy time at the minimum rate */
static void
data_credit(struct sess *s, size_t n)
{
	double now = ev_now(proxy.loop), cap = now + (double) proxy.cfg.client_timeout;

	if (n == 0)
		return;
	if (proxy.cfg.client_min_data_rate > 0)
		s->data_deadline += (double) n / (double) proxy.cfg.client_min_data_rate;
	else
		s->data_deadline = cap;
	if (s->data_deadline > cap)
		s->data_deadline = cap;
	sess_arm(s);
}

static size_t held_total;		/* octets held by all sessions */

/* held_drop - forget the held message, and its share of held_total */
static void
held_drop(struct sess *s)
{
	held_total -= buf_used(&s->held);
	buf_reset(&s->held);
	buf_release(&s->held);
}

/*
 * Domains whose held transaction (TLS-Required: No) made another domain's
 * recipients wait (452): for STARVE_TTL they are refused at RCPT instead
 * of held, unless the old MTA's pipelined commands show the transaction
 * holds that domain alone.  So whatever order the old MTA sends its
 * recipients in, another domain's mail never waits behind a failing one.
 */
static struct starve {
	char domain[RR_NAME_MAX];
	double until;
} starve[STARVE_SLOTS];
static unsigned starve_next;

/* starve_add - remember a domain that was held with others */
static void
starve_add(const char *domain)
{
	struct starve *e = &starve[starve_next++ % STARVE_SLOTS];

	for (unsigned i = 0; i < STARVE_SLOTS; i++)
		if (strcmp(starve[i].domain, domain) == 0) {
			e = &starve[i];
			break;
		}
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	e->until = ev_now(proxy.loop) + STARVE_TTL;
}

/* starve_known - was this domain held with others lately? */
static int
starve_known(const char *domain)
{
	for (unsigned i = 0; i < STARVE_SLOTS; i++)
		if (starve[i].until > ev_now(proxy.loop)
		    && strcmp(starve[i].domain, domain) == 0)
			return 1;
	return 0;
}

/* sess_new - a redirected connection from the old MTA */
void
sess_new(int fd, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *orig)
{
	static unsigned long counter;
	struct sess *s = calloc(1, sizeof(*s));
	char banner[320];
	int n;

	if (s == NULL) {
		msg_warn("out of memory for a session");
		close(fd);
		return;
	}
	snprintf(s->id, sizeof(s->id), "%05lX%05lX",
	    (unsigned long) time(NULL) & 0xfffff, ++counter & 0xfffff);
	addr_str(peer, s->client, sizeof(s->client));
	s->orig = *orig;
	addr_str(orig, s->origstr, sizeof(s->origstr));
	buf_init(&s->rcpts);
	buf_init(&s->hold_rcpts);
	buf_init(&s->held);
	conn_init(&s->c, proxy.loop, fd, sess_on_conn, s);
	s->c.in_max = 65536;
	fsm_init(&s->fsm, &proxy.fsmc, 0);
	ev_init(&s->tmo, sess_on_timer);
	s->tmo.data = s;
	cmd_wait_begin(s);
	s->next = proxy.sessions;
	if (s->next)
		s->next->prev = s;
	proxy.sessions = s;
	proxy.nsessions++;
	msg_info("%s: connect from %s to %s", s->id, s->client, s->origstr);
	n = snprintf(banner, sizeof(banner), "220 %s ESMTP\r\n", proxy.hostname);
	say(s, banner, (size_t) n);
}

/* up_params_for - where and how to connect: one route candidate */
static void
up_params_for(struct sess *s, const struct route_cand *c, struct up_params *p)
{
	memset(p, 0, sizeof(*p));
	p->addr = c->addr;
	p->addrlen = c->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	    : sizeof(struct sockaddr_in);
	p->helo = s->fsm.helo[0] ? s->fsm.helo : proxy.hostname;
	p->mark = proxy.cfg.upstream_mark;
	p->connect_timeout = proxy.cfg.upstream_connect_timeout;
	p->timeout = proxy.cfg.upstream_timeout;
	p->tls_ctx = proxy.client_ctx;
	p->sid = s->id;
	p->level = c->level;
	p->sts_mismatch = c->sts_mismatch;
	if (s->plan && s->plan->has_sts)
		p->sts_id = s->plan->sts.id;
	s->up_tlsa[0] = 0;
	if (c->host >= 0 && s->plan) {
		const struct plan_host *h = &s->plan->hosts[c->host];

		snprintf(s->up_tlsa, sizeof(s->up_tlsa), "%s", h->tlsa_text);
		p->mxname = h->name;
		p->base = h->base;
		p->orig_name = h->name;
		p->tlsa = h->tlsa;
		p->ntlsa = h->ntlsa;
	}
}

/* mail_line - MAIL FROM as the old MTA said it, adapted to the MX */
static int
mail_line(struct sess *s, char *line, size_t size)
{
	const struct smtp_ehlo *e = &s->up->ehlo;
	int n = snprintf(line, size, "MAIL FROM:<%s>", s->fsm.mail.addr);

	if (s->fsm.size && e->size)
		n += snprintf(line + n, size - (size_t) n, " SIZE=%llu",
		    (unsigned long long) s->fsm.size);
	if (s->fsm.body_8bit && e->eightbitmime)
		n += snprintf(line + n, size - (size_t) n, " BODY=8BITMIME");
	if (s->fsm.body_7bit && e->eightbitmime)
		n += snprintf(line + n, size - (size_t) n, " BODY=7BIT");
	if (s->fsm.smtputf8)
		n += snprintf(line + n, size - (size_t) n, " SMTPUTF8");
	if (s->fsm.body_8bit && !e->eightbitmime)
		msg_info("%s: %s does not offer 8BITMIME; sending 8-bit content as is",
		    s->id, s->up->peer);
	return n;
}

/* send_mail - replay MAIL FROM, adapted to what the MX offers */
static void
send_mail(struct sess *s)
{
	const struct smtp_ehlo *e = &s->up->ehlo;
	char line[SMTP_PATH_MAX + 200];
	int n;

	if (s->fsm.smtputf8 && !e->smtputf8) {
		snprintf(s->txn_fail, sizeof(s->txn_fail), "550 5.6.7 SMTPUTF8 is "
		    "required, but was not offered by host %s", s->up->peer);
		sayf(s, "%s", s->txn_fail);
		fsm_rcpt_result(&s->fsm, 0);
		s->wait = W_NONE;
		return;
	}
	n = mail_line(s, line, sizeof(line));
	s->wait = W_MAIL;
	if (e->pipelining) {
		/* MAIL and the first RCPT in one write: one round trip less. */
		char rl[SMTP_PATH_MAX + 16];
		int rn = snprintf(rl, sizeof(rl), "RCPT TO:<%s>", s->rcpt.addr);

		s->mail_pipelined = 1;
		up_command2(s->up, line, (size_t) n, rl, (size_t) rn);
		return;
	}
	s->mail_pipelined = 0;
	up_command(s->up, line, (size_t) n);
}

/* send_rcpt - replay RCPT TO */
static void
send_rcpt(struct sess *s)
{
	char line[SMTP_PATH_MAX + 16];
	int n = snprintf(line, sizeof(line), "RCPT TO:<%s>", s->rcpt.addr);

	s->wait = W_RCPT;
	up_command(s->up, line, (size_t) n);
}

/* log_txn - one line per transaction outcome */
static void
log_txn(struct sess *s, const char *status, const char *detail)
{
	msg_info("%s: from=<%s>, to=%.*s, relay=%s, tls=%s, size=%llu, status=%s (%s)",
	    s->id, s->fsm.mail.addr, (int) buf_used(&s->rcpts),
	    buf_used(&s->rcpts) ? buf_head(&s->rcpts) : "none",
	    s->relay[0] ? s->relay : s->origstr, s->relay[0] ? s->relay_tls : "none",
	    (unsigned long long) s->data_bytes, status, detail);
}

/* txn_clear - forget our side of the transaction */
static void
txn_clear(struct sess *s)
{
	s->plan_fresh = 0;		/* the next transaction looks policy up again */
	s->txn_fail[0] = 0;
	buf_reset(&s->rcpts);
	buf_release(&s->rcpts);
	s->data_bytes = 0;
	s->data_discard = 0;
	s->data_fail[0] = 0;
	s->data_deadline = 0;
	if (s->hold_starved && s->plan)
		starve_add(s->plan->domain);
	s->hold_starved = 0;
	s->hold = 0;
	s->hold_fail[0] = 0;
	buf_reset(&s->hold_rcpts);
	buf_release(&s->hold_rcpts);
	held_drop(s);
	s->replay = 0;
}

/* txn_done - the transaction ended; drain if asked */
static void
txn_done(struct sess *s)
{
	fsm_txn_end(&s->fsm);
	txn_clear(s);
	conn_trim(&s->c);
	if (s->up)
		conn_trim(&s->up->c);
	if (s->drain_after_txn) {
		sayf(s, "421 4.3.2 %s Service shutting down, closing transmission channel",
		    proxy.hostname);
		s->wait = W_CLOSE;
	}
}

/* quiet_rset - reset the MX after a failed DATA; nobody waits for it */
static void
quiet_rset(struct sess *s)
{
	free(s->pending);
	s->pending = NULL;
	if (s->up && s->up_txn) {
		s->wait = W_RSET;
		up_command(s->up, "RSET", 4);
	}
}

/*
 * refuse_smuggling - a lone dot next to a bare CR or LF (smtp_eod_scan):
 * some server would end the data there and take what follows for
 * commands.  Where the old MTA thinks its data ends cannot be known, so
 * nothing more of this stream is read: the reply, then the connection
 * closes (as Postfix's smtpd_forbid_bare_newline = reject does).  The MX
 * never saw the line end after the dot and never sees an end of data.
 */
static void
refuse_smuggling(struct sess *s)
{
	if (s->up) {
		up_abort(s->up);
		s->up = NULL;
	}
	s->up_txn = 0;
	if (!s->data_discard || !s->data_fail[0])
		snprintf(s->data_fail, sizeof(s->data_fail), "554 5.5.2 Error: bare <CR> "
		    "or <LF> next to the end-of-data dot (SMTP smuggling?); message not "
		    "sent; closing the connection");
	msg_warn("%s: a lone dot next to a bare <CR> or <LF> in the message from %s: "
	    "transaction aborted, connection closed", s->id, s->client);
	sayf(s, "%s", s->data_fail);
	log_txn(s, "bounced", s->data_fail);
	fsm_txn_end(&s->fsm);
	txn_clear(s);
	buf_reset(&s->c.in);		/* nothing after it is ever a command */
	conn_pause(&s->c);
	s->wait = W_CLOSE;
}

/* hold_data - keep the message of held recipients; at its end, its
 * TLS-Required header decides */
static int
hold_data(struct sess *s)
{
	uint64_t limit = proxy.cfg.message_size_limit;
	size_t used;
	int r = smtp_eod_scan(&s->eod, buf_head(&s->c.in), buf_used(&s->c.in), &used);

	s->data_bytes += used;
	if (!s->data_discard && limit && s->data_bytes > limit + 5) {
		s->data_discard = 1;
		snprintf(s->data_fail, sizeof(s->data_fail),
		    "552 5.3.4 Message size exceeds fixed limit");
	}
	if (!s->data_discard && (buf_used(&s->held) + used > HOLD_MAX_DEFAULT
		|| held_total + used > HOLD_TOTAL_MAX)) {
		/* Too big to hold (alone, or with all the others held now):
		 * it gets the policy's answer, unread. */
		s->data_discard = 1;
		snprintf(s->data_fail, sizeof(s->data_fail), "%s", s->hold_fail);
	}
	if (!s->data_discard) {
		if (buf_append(&s->held, buf_head(&s->c.in), used) < 0) {
			s->data_discard = 1;
			snprintf(s->data_fail, sizeof(s->data_fail),
			    "451 4.3.0 Error: out of memory while receiving the message");
		} else {
			held_total += used;
		}
	}
	if (s->data_discard)
		held_drop(s);
	buf_consume(&s->c.in, used);
	data_credit(s, used);
	if (r == SMTP_EOD_MORE)
		return 0;		/* all taken but what waits for more */
	if (r == SMTP_EOD_BARE) {
		refuse_smuggling(s);
		return 0;
	}
	if (!s->data_discard
	    && smtp_tls_required_no(buf_head(&s->held), buf_used(&s->held))) {
		replay_start(s);
		return 1;
	}
	if (!s->data_discard)
		snprintf(s->data_fail, sizeof(s->data_fail), "%s", s->hold_fail);
	sayf(s, "%s", s->data_fail);
	log_txn(s, s->data_fail[0] == '5' ? "bounced" : "deferred", s->data_fail);
	txn_done(s);
	return 1;
}

/* relay_data - move message bytes from the old MTA to the MX */
static int
relay_data(struct sess *s)
{
	size_t n = buf_used(&s->c.in), used;
	uint64_t limit = proxy.cfg.message_size_limit;
	int r;

	if (n == 0)
		return 0;
	if (s->hold)
		return hold_data(s);
	r = smtp_eod_scan(&s->eod, buf_head(&s->c.in), n, &used);
	s->data_bytes += used;
	if (!s->data_discard && limit && s->data_bytes > limit + 5) {
		s->data_discard = 1;
		snprintf(s->data_fail, sizeof(s->data_fail),
		    "552 5.3.4 Message size exceeds fixed limit");
		if (s->up) {
			up_abort(s->up);	/* the MX never sees an end of data */
			s->up = NULL;
		}
	}
	if (!s->data_discard && s->up
	    && up_data_write(s->up, buf_head(&s->c.in), used) < 0) {
		s->data_discard = 1;
		snprintf(s->data_fail, sizeof(s->data_fail),
		    "451 4.3.0 Error: out of memory while relaying the message");
		up_abort(s->up);
		s->up = NULL;
	}
	buf_consume(&s->c.in, used);
	data_credit(s, used);
	if (r == SMTP_EOD_BARE) {
		refuse_smuggling(s);
		return 0;
	}
	if (r == SMTP_EOD_END) {
		if (s->data_discard || s->up == NULL) {
			if (!s->data_fail[0])
				snprintf(s->data_fail, sizeof(s->data_fail),
				    "451 4.4.2 Error: lost connection with the MX");
			sayf(s, "%s", s->data_fail);
			log_txn(s, s->data_fail[0] == '5' ? "bounced" : "deferred",
			    s->data_fail);
			txn_done(s);
			s->up_txn = 0;
			return 1;
		}
		up_data_end(s->up);
		s->wait = W_DOT;
		return 1;
	}
	if (s->up && up_pending(s->up) > DATA_HIGH_WATER)
		conn_pause(&s->c);
	return 0;			/* all taken but what waits for more */
}

/* hold_rcpt - accept a RCPT whose delivery waits for the message */
static void
hold_rcpt(struct sess *s)
{
	if (buf_append(&s->hold_rcpts, s->rcpt.addr, strlen(s->rcpt.addr) + 1) < 0) {
		sayf(s, "451 4.3.0 Error: out of memory");
		fsm_rcpt_result(&s->fsm, 0);
		return;
	}
	msg_info("%s: <%s>: held: %s; delivered only if the message says "
	    "TLS-Required: No (RFC 8689)", s->id, s->rcpt.addr, s->hold_fail);
	buf_printf(&s->rcpts, "%s<%s>", buf_used(&s->rcpts) ? "," : "", s->rcpt.addr);
	sayf(s, "250 2.1.5 Ok");
	fsm_rcpt_result(&s->fsm, 1);
}

/*
 * group_shape - the old MTA's pipelined commands after this RCPT, as far
 * as they are in: 1 when only RCPTs of the plan's domain follow, then
 * DATA; -1 when a RCPT of another domain follows; 0 when it cannot be
 * told (nothing complete buffered, or the group ends otherwise).
 */
static int
group_shape(struct sess *s)
{
	const char *p = buf_head(&s->c.in);
	size_t n = buf_used(&s->c.in), off = 0;

	while (off < n) {
		char line[SMTP_LINE_MAX + 1], dom[RR_NAME_MAX];
		struct smtp_path path;
		struct smtp_cmd c;
		const char *why;
		size_t ll, used;

		if (smtp_getline(p + off, n - off, SMTP_LINE_MAX, &ll, &used) != SMTP_LINE_OK)
			return 0;
		memcpy(line, p + off, ll);
		line[ll] = 0;
		off += used;
		if (smtp_cmd_parse(line, ll, &c) < 0)
			return 0;
		if (c.verb == SMTP_DATA)
			return 1;
		if (c.verb != SMTP_RCPT)
			return 0;
		((char *) c.args)[c.argslen] = 0;
		if (smtp_path_parse(c.args, SMTP_KIND_RCPT, &path, &why) < 0)
			continue;
		rcpt_domain(&path, dom, sizeof(dom));
		if (dom[0] && strcmp(dom, s->plan->domain) != 0)
			return -1;
	}
	return 0;
}

/* may_hold - hold a policy-failed recipient for TLS-Required: No only
 * where no other domain's recipient would wait behind it */
static int
may_hold(struct sess *s)
{
	int shape = group_shape(s);

	if (shape < 0) {
		msg_info("%s: not holding <%s>: the transaction names another domain "
		    "too; it gets its own policy's answer", s->id, s->rcpt.addr);
		return 0;
	}
	if (shape == 0 && starve_known(s->plan->domain)) {
		msg_info("%s: not holding <%s>: %s was held with another domain's "
		    "recipients lately", s->id, s->rcpt.addr, s->plan->domain);
		return 0;
	}
	return 1;
}

/* attempts_failed - every candidate failed: the old MTA hears why */
static void
attempts_failed(struct sess *s)
{
	if (s->pfail[0] && s->lfail[0] && !s->lfail_policy) {
		/* The policy failure is the reason; what went wrong with the
		 * last host, which policy allowed, is said too. */
		const char *sp = strchr(s->lfail + 4, ' ');

		snprintf(s->txn_fail, sizeof(s->txn_fail), "%.500s; then %.450s", s->pfail,
		    sp ? sp + 1 : s->lfail);
	} else if (s->pfail[0])
		snprintf(s->txn_fail, sizeof(s->txn_fail), "%s", s->pfail);
	else if (s->lfail[0])
		snprintf(s->txn_fail, sizeof(s->txn_fail), "%s", s->lfail);
	else
		snprintf(s->txn_fail, sizeof(s->txn_fail), "451 4.4.3 no MX host of %s "
		    "could be tried", s->plan ? s->plan->domain : "the domain");
	msg_info("%s: all MX hosts failed for %s: %s", s->id,
	    s->plan ? s->plan->domain : "?", s->txn_fail);
	if (s->pfail[0] && s->plan && proxy.cfg.tls_required_enable
	    && may_hold(s)) {
		/* A policy failure: only the message can waive it (RFC 8689),
		 * and the message comes after DATA.  Hold the recipient. */
		snprintf(s->hold_fail, sizeof(s->hold_fail), "%s", s->txn_fail);
		s->txn_fail[0] = 0;
		s->hold = 1;
		hold_rcpt(s);
		s->wait = W_NONE;
		return;
	}
	sayf(s, "%s", s->txn_fail);
	fsm_rcpt_result(&s->fsm, 0);
	s->wait = W_NONE;
}

/* attempt_failed - one MX failed: remember why, for the final reply */
static void
attempt_failed(struct sess *s, const char *peer, const char *enh,
    const char *rtype, const char *rcode, const char *why)
{
	msg_info("%s: attempt to %s failed: result=%s%s%s: %s", s->id, peer,
	    rtype ? rtype : "connection", rcode && *rcode ? " reason=" : "",
	    rcode && *rcode ? rcode : "", why);
	snprintf(s->lfail, sizeof(s->lfail), "451 %s %s", enh, why);
	s->lfail_policy = rtype != NULL;
	if (rtype && !s->pfail[0]) {
		snprintf(s->pfail, sizeof(s->pfail), "451 4.7.5 %s", why);
		s->prtype = rtype;
	}
}

/* next_attempt - connect to the next candidate, or give up */
static void
next_attempt(struct sess *s)
{
	while (s->icand < s->route.ncands) {
		const struct route_cand *c = &s->route.cands[s->icand++];
		struct up_params p;

		s->cur_host = c->host;
		s->cur_ptype = cand_ptype(s, c);
		if (c->failed) {
			const struct plan_host *h = &s->plan->hosts[c->host];

			if (c->sts_skip) {
				char why[RR_NAME_MAX * 2 + 80];

				snprintf(why, sizeof(why), "MX host %s matches no mx pattern of "
				    "the MTA-STS policy of %s", h->name, s->plan->domain);
				(void) journal(s, NULL, c->host, "sts", &c->addr,
				    "validation-failure", "mx-pattern-mismatch", "refused");
				attempt_failed(s, h->name, "4.7.5", "validation-failure", NULL, why);
			} else {
				const char *rt = h->rtype ? h->rtype : "validation-failure";

				(void) journal(s, NULL, c->host, "tlsa", &c->addr, rt, "",
				    "refused");
				attempt_failed(s, h->name, "4.7.5", rt, NULL, h->why);
			}
			continue;
		}
		up_params_for(s, c, &p);
		s->wait = W_CONNECT;
		if ((s->up = up_start(proxy.loop, &p, sess_on_up, s)) == NULL) {
			attempt_failed(s, "?", "4.3.0", NULL, NULL, "out of memory");
			continue;
		}
		return;
	}
	attempts_failed(s);
}

/* record_ready - the journal record of an attempt that got through */
static int
record_ready(struct sess *s, const struct up *u)
{
	const char *result = "success", *reason = "", *action = "delivered";
	const char *ptype = s->cur_ptype;
	const struct plan *p = s->plan;

	if (p && p->sts.rtype && !p->sts.has_policy && strcmp(ptype, "no-policy-found") == 0) {
		/* The domain publishes MTA-STS, but no policy could be had: each
		 * session is an MTA-STS failure of that kind (RFC 8460 4.3.2.2),
		 * whatever TLS it got. */
		return journal(s, u, s->cur_host, "sts", NULL, p->sts.rtype, p->sts.why,
		    "delivered");
	}
	if (s->replay) {
		/* The policy failure, waived by the message. */
		result = s->prtype ? s->prtype : "validation-failure";
		reason = "TLS-Required: No";
		action = "delivered-anyway";
	} else if (u->soft_rtype) {
		result = u->soft_rtype;		/* MTA-STS testing */
		action = "delivered-anyway";
	} else if (!u->tls) {
		/* Opportunistic, in plaintext: RFC 8460 counts it as a failure. */
		result = u->no_starttls ? "validation-failure" : "starttls-not-supported";
		reason = u->no_starttls ? "tls-handshake-failed" : "";
	}
	return journal(s, u, s->cur_host, ptype, NULL, result, reason, action);
}

/* record_fail - the journal record of a failed connection attempt */
static void
record_fail(struct sess *s, const struct up *u)
{
	if (u->rtype) {
		(void) journal(s, u, s->cur_host, s->cur_ptype, NULL, u->rtype, u->rcode,
		    "refused");
		return;
	}
	/* Not a TLS result: the journal keeps it, reports leave it out. */
	(void) journal(s, u, s->cur_host, s->cur_ptype, NULL, "connection-failure",
	    u->why, "failed");
}

/* replay_start - the held message says TLS-Required: No: deliver it over
 * the best TLS the MX hosts offer, with the policy waived (RFC 8689 5) */
static void
replay_start(struct sess *s)
{
	msg_info("%s: the message says TLS-Required: No: delivering to %s without "
	    "the policy that failed (%s)", s->id, s->plan->domain, s->hold_fail);
	s->replay = 1;
	s->icand = 0;
	s->lfail[0] = 0;
	replay_next(s);
}

/* replay_next - connect to the next MX host, opportunistic TLS */
static void
replay_next(struct sess *s)
{
	while (s->icand < s->route.ncands) {
		const struct route_cand *c = &s->route.cands[s->icand++];
		struct up_params p;

		if (c->addr.ss_family != AF_INET && c->addr.ss_family != AF_INET6)
			continue;
		s->cur_host = c->host;
		s->cur_ptype = cand_ptype(s, c);
		up_params_for(s, c, &p);
		p.level = ROUTE_MAY;
		p.tlsa = NULL;
		p.ntlsa = 0;
		p.sts_mismatch = 0;
		s->wait = W_CONNECT;
		if ((s->up = up_start(proxy.loop, &p, sess_on_up, s)) == NULL) {
			attempt_failed(s, "?", "4.3.0", NULL, NULL, "out of memory");
			continue;
		}
		return;
	}
	replay_done(s, s->lfail[0] ? s->lfail : s->hold_fail, NULL);
}

/* replay_rcpt - the next held recipient, then DATA */
static void
replay_rcpt(struct sess *s)
{
	char line[SMTP_PATH_MAX + 16];
	int n;

	if (s->replay_next < buf_used(&s->hold_rcpts)) {
		const char *addr = buf_head(&s->hold_rcpts) + s->replay_next;

		s->replay_next += strlen(addr) + 1;
		n = snprintf(line, sizeof(line), "RCPT TO:<%s>", addr);
		s->wait = W_RCPT;
		up_command(s->up, line, (size_t) n);
		return;
	}
	if (s->replay_ok == 0) {
		replay_done(s, s->replay_fail, NULL);
		return;
	}
	if (s->replay_fail[0]) {
		/* All or nothing: the old MTA was told 250 for every one. */
		char why[REASON_MAX + 80];

		snprintf(why, sizeof(why), "451 4.3.0 Error: a recipient was refused "
		    "(%s); message not sent", s->replay_fail);
		replay_done(s, why, NULL);
		return;
	}
	s->wait = W_DATA;
	up_command(s->up, "DATA", 4);
}

/* replay_mail - the held message's MAIL FROM */
static void
replay_mail(struct sess *s)
{
	char line[SMTP_PATH_MAX + 200];
	int n;

	if (s->fsm.smtputf8 && !s->up->ehlo.smtputf8) {
		char why[REASON_MAX];

		snprintf(why, sizeof(why), "550 5.6.7 SMTPUTF8 is required, but was "
		    "not offered by host %s", s->up->peer);
		replay_done(s, why, NULL);
		return;
	}
	n = mail_line(s, line, sizeof(line));
	s->wait = W_MAIL;
	up_command(s->up, line, (size_t) n);
}

/* replay_reply - the MX answers the held message's commands */
static void
replay_reply(struct sess *s, struct up *u)
{
	char l1[REASON_MAX];

	reply_text(&u->reply, l1, sizeof(l1));
	switch (s->wait) {
	case W_MAIL:
		if (u->reply.code / 100 != 2) {
			replay_done(s, l1, &u->reply);
			return;
		}
		s->up_txn = 1;
		s->replay_next = 0;
		s->replay_ok = 0;
		s->replay_fail[0] = 0;
		replay_rcpt(s);
		return;
	case W_RCPT:
		if (u->reply.code / 100 == 2)
			s->replay_ok++;
		else
			snprintf(s->replay_fail, sizeof(s->replay_fail), "%s", l1);
		replay_rcpt(s);
		return;
	case W_DATA:
		if (u->reply.code != 354) {
			replay_done(s, l1, &u->reply);
			return;
		}
		up_data_begin(u);
		if (up_data_write(u, buf_head(&s->held), buf_used(&s->held)) < 0) {
			replay_done(s, "451 4.3.0 Error: out of memory while relaying "
			    "the message", NULL);
			return;
		}
		up_data_end(u);
		s->wait = W_DOT;
		return;
	case W_DOT:
		replay_done(s, l1, &u->reply);
		return;
	default:
		msg_warn("%s: unexpected reply from %s in state %s", s->id, u->peer,
		    sess_wait_str(s->wait));
		return;
	}
}

/* replay_done - the held message's outcome, to the old MTA */
static void
replay_done(struct sess *s, const char *text, const struct smtp_reply *r)
{
	char detail[REASON_MAX + 40];

	if (r)
		relay_reply(s, r);
	else
		sayf(s, "%s", text);
	snprintf(detail, sizeof(detail), "%s; TLS-Required: No", text);
	log_txn(s, text[0] == '2' ? "sent" : text[0] == '5' ? "bounced" : "deferred",
	    detail);
	/* An upstream opened with the policy waived serves nothing else. */
	if (s->up) {
		up_quit(s->up);
		s->up = NULL;
	}
	s->up_txn = 0;
	s->wait = W_NONE;
	txn_done(s);
}

/* mono_ms - a monotonic clock in milliseconds */
static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

/* log_plan - what policy found, one line per MX host, and a summary */
static void
log_plan(struct sess *s, const struct plan *p)
{
	msg_info("%s: policy lookups for %s took %.3f ms: %s%s%s", s->id, p->domain,
	    mono_ms() - s->policy_t0, p->status == PLAN_TEMPFAIL ? "tempfail"
	    : p->status == PLAN_NULLMX ? "null MX" : p->status == PLAN_NODOMAIN
	    ? "no such domain" : p->has_dane ? "dane" : p->has_sts ? "mta-sts"
	    : "no policy", p->has_sts && !p->has_dane ? " " : "",
	    p->has_sts && !p->has_dane ? sts_mode_str(p->sts.policy.mode) : "");
	if (p->sts.has_policy)
		msg_info("%s: mta-sts policy for %s: id %s, mode %s, mx %s%s%s%s", s->id,
		    p->domain, p->sts.id, sts_mode_str(p->sts.policy.mode),
		    p->sts.policy.nmx > 0 ? p->sts.policy.mx[0] : "-",
		    p->sts.policy.nmx > 1 ? " ..." : "", p->sts.from_cache ? ", cached" : "",
		    p->sts.rtype ? " (a newer one failed)" : "");
	if (p->sts.rtype)
		msg_info("%s: mta-sts for %s: result=%s: %s", s->id, p->domain,
		    p->sts.rtype, p->sts.why);
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

/* start_route - a plan is in: decide and start connecting */
static void
start_route(struct sess *s)
{
	route_build(s->plan, &s->orig, (enum mx_mismatch) proxy.cfg.mx_mismatch,
	    proxy.cfg.strict_testing, &s->route);
	s->icand = 0;
	s->pfail[0] = s->lfail[0] = 0;
	s->prtype = NULL;
	if (s->route.verdict != ROUTE_TRY) {
		if (s->route.rtype)
			(void) journal(s, NULL, -1, ptype_of_rtype(s->route.rtype), NULL,
			    s->route.rtype, "", "refused");
		msg_info("%s: %s", s->id, s->route.reply);
		snprintf(s->txn_fail, sizeof(s->txn_fail), "%s", s->route.reply);
		sayf(s, "%s", s->txn_fail);
		fsm_rcpt_result(&s->fsm, 0);
		s->wait = W_NONE;
		return;
	}
	if (s->route.rerouted)
		msg_info("%s: %s is not an MX host of %s: rerouting to its MX hosts",
		    s->id, s->origstr, s->plan->domain);
	next_attempt(s);
}

/* up_fits - would a fresh plan send this mail where the open upstream
 * goes, at the same TLS level, under the same TLSA records and policy? */
static int
up_fits(struct sess *s, const struct plan *p)
{
	struct route rt;
	const struct route_cand *c = NULL;
	const struct up_params *up = &s->up->p;

	route_build(p, &s->orig, (enum mx_mismatch) proxy.cfg.mx_mismatch,
	    proxy.cfg.strict_testing, &rt);
	if (rt.verdict != ROUTE_TRY)
		return 0;
	for (int i = 0; i < rt.ncands && c == NULL; i++)
		if (!rt.cands[i].failed)
			c = &rt.cands[i];
	if (c == NULL || c->level != up->level || c->addr.ss_family != up->addr.ss_family
	    || memcmp(&c->addr, &up->addr, up->addrlen) != 0)
		return 0;
	if (c->host >= 0 && strcmp(p->hosts[c->host].tlsa_text, s->up_tlsa) != 0)
		return 0;
	if (p->has_sts && strcmp(p->sts.id, s->up->sts_id) != 0)
		return 0;
	return 1;
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
		s->up_txn = 0;
	}
	plan_free(s->plan);
	s->plan = p;
	s->plan_fresh = 1;
	s->plan_until = p->status == PLAN_OK && p->min_ttl > 0
	    ? mono_ms() + 1000.0 * (double) p->min_ttl : 0;
	if (!keep)
		start_route(s);
	else if (s->up_txn)
		send_rcpt(s);
	else
		send_mail(s);
}

/* on_plan - the policy lookups for a RCPT's domain are done */
static void
on_plan(void *arg, struct plan *p)
{
	struct sess *s = arg;

	s->res = NULL;
	log_plan(s, p);
	if (s->res_second) {
		/* A second domain in one transaction rides along only when
		 * neither domain has a policy that could tell them apart. */
		int same = p->status != PLAN_TEMPFAIL && !p->has_dane && !p->has_sts
		    && s->plan && !s->plan->has_dane && !s->plan->has_sts;

		plan_free(p);
		s->res_second = 0;
		s->wait = W_NONE;
		if (!same) {
			sayf(s, "452 4.5.3 Error: too many recipients (one destination "
			    "domain per transaction; try again)");
			fsm_rcpt_result(&s->fsm, 0);
		} else if (s->up) {
			if (s->up_txn)
				send_rcpt(s);
			else
				send_mail(s);
		} else {
			sayf(s, "%s", s->txn_fail[0] ? s->txn_fail
			    : "451 4.4.2 Error: lost connection with the MX");
			fsm_rcpt_result(&s->fsm, 0);
		}
		sess_run(s);
		return;
	}
	adopt_plan(s, p);
	sess_run(s);
}

/* do_rcpt - a RCPT the fsm accepted: policy, upstream, MX */
static void
do_rcpt(struct sess *s)
{
	char dom[RR_NAME_MAX];

	rcpt_domain(&s->rcpt, dom, sizeof(dom));
	if (dom[0] == 0 && s->plan)
		snprintf(dom, sizeof(dom), "%s", s->plan->domain);
	/* A plan serves later transactions only while every DNS answer in it
	 * is within its TTL: no cache of ours outlives libunbound's. */
	if (s->plan && !s->plan_fresh && strcmp(dom, s->plan->domain) == 0
	    && mono_ms() < s->plan_until)
		s->plan_fresh = 1;
	if (s->plan && s->plan_fresh && strcmp(dom, s->plan->domain) == 0) {
		if (s->up == NULL) {
			s->icand = 0;
			s->pfail[0] = s->lfail[0] = 0;
			start_route(s);
		} else if (!s->up_txn) {
			send_mail(s);
		} else {
			send_rcpt(s);
		}
		return;
	}
	if (dom[0] == 0 || strcmp(proxy.cfg.dns_resolver, "none") == 0) {
		/* No domain (<postmaster>), or no lookups at all: the original
		 * destination, opportunistic. */
		struct plan *p = calloc(1, sizeof(*p));

		if (p == NULL) {
			sayf(s, "451 4.3.0 Error: out of memory");
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
	s->res_second = s->plan_fresh && s->fsm.nrcpt_ok > 0;
	s->wait = W_POLICY;
	s->policy_t0 = mono_ms();
	if ((s->res = resolve_start(proxy.loop, dom, on_plan, s)) == NULL) {
		s->wait = W_NONE;
		sayf(s, "451 4.3.0 Error: out of memory");
		fsm_rcpt_result(&s->fsm, 0);
	}
}

/* handle_command - one command line from the old MTA */
static void
handle_command(struct sess *s, const char *line, size_t len)
{
	struct fsm_out out;

	fsm_command(&s->fsm, line, len, &out);
	switch (out.action) {
	case FSM_A_REPLY:
		say(s, out.reply, out.replylen);
		return;
	case FSM_A_HELO:
	case FSM_A_RSET:
	case FSM_A_MAILFROM:
		/* A transaction open at the MX (RSET, EHLO, or a MAIL after a
		 * refused DATA) is reset there first; the reply waits for it. */
		txn_clear(s);
		if (s->up && s->up_txn) {
			free(s->pending);
			s->pending = strdup(out.reply);
			s->wait = W_RSET;
			up_command(s->up, "RSET", 4);
			return;
		}
		say(s, out.reply, out.replylen);
		return;
	case FSM_A_RCPT:{
			char dom[RR_NAME_MAX];
			int same;

			s->rcpt = out.path;
			rcpt_domain(&s->rcpt, dom, sizeof(dom));
			same = s->plan && (dom[0] == 0 || strcmp(dom, s->plan->domain) == 0);
			if (s->hold) {
				if (same) {
					hold_rcpt(s);
				} else {
					/* Its own policy decides, in a transaction of its own. */
					s->hold_starved = 1;
					sayf(s, "452 4.5.3 Error: too many recipients (one "
					    "destination domain per transaction; try again)");
					fsm_rcpt_result(&s->fsm, 0);
				}
				return;
			}
			/* A failure belongs to its domain: another domain, with no
			 * recipient accepted yet, starts the transaction afresh. */
			if (s->txn_fail[0] && !same && s->fsm.nrcpt_ok == 0)
				s->txn_fail[0] = 0;
			if (s->txn_fail[0]) {
				sayf(s, "%s", s->txn_fail);
				fsm_rcpt_result(&s->fsm, 0);
				return;
			}
			do_rcpt(s);
			return;
		}
	case FSM_A_DATA:
		if (s->hold) {
			/* The message decides (TLS-Required: No); take it first. */
			sayf(s, "354 End data with <CR><LF>.<CR><LF>");
			s->data_bytes = 0;
			s->data_discard = 0;
			data_begin(s);
			return;
		}
		if (s->up == NULL) {
			sayf(s, "%s", s->txn_fail[0] ? s->txn_fail
			    : "451 4.4.2 Error: lost connection with the MX");
			txn_done(s);
			return;
		}
		s->wait = W_DATA;
		up_command(s->up, "DATA", 4);
		return;
	case FSM_A_STARTTLS:
		say(s, out.reply, out.replylen);
		buf_reset(&s->c.in);		/* nothing sent before TLS counts */
		conn_pause(&s->c);
		s->wait = W_TLS;
		return;
	case FSM_A_QUIT:
	case FSM_A_CLOSE:
		say(s, out.reply, out.replylen);
		if (out.action == FSM_A_CLOSE)
			msg_warn("%s: too many errors from %s", s->id, s->client);
		buf_reset(&s->c.in);
		s->wait = W_CLOSE;
		return;
	}
}

/* sess_run - take buffered input as far as the state allows */
static void
sess_run(struct sess *s)
{
	while (!s->c.closed && s->wait == W_NONE) {
		size_t ll, used;
		int r;

		if (s->fsm.state == FSM_DATA) {
			if (!relay_data(s))
				break;
			continue;
		}
		cmd_wait_begin(s);
		if (buf_used(&s->c.in) == 0)
			break;
		if (conn_pending(&s->c) > REPLY_HIGH_WATER) {
			/* The old MTA does not read its replies: take no more
			 * commands until they are out (CONN_DRAIN). */
			s->out_paused = 1;
			conn_pause(&s->c);
			break;
		}
		if (s->skipping_long) {
			const char *nl = memchr(buf_head(&s->c.in), '\n', buf_used(&s->c.in));

			if (nl == NULL) {
				buf_reset(&s->c.in);
				break;
			}
			buf_consume(&s->c.in, (size_t) (nl - buf_head(&s->c.in)) + 1);
			s->skipping_long = 0;
			/* fsm counts the error and may end the session */
			cmd_wait_end(s);
			handle_command(s, "", SMTP_LINE_MAX + 1);
			continue;
		}
		r = smtp_getline(buf_head(&s->c.in), buf_used(&s->c.in), SMTP_LINE_MAX,
		    &ll, &used);
		if (r == SMTP_LINE_NEED)
			break;
		if (r == SMTP_LINE_LONG) {
			s->skipping_long = 1;
			continue;
		}
		cmd_wait_end(s);
		handle_command(s, buf_head(&s->c.in), ll);
		if (!s->c.closed && s->wait != W_NONE)
			sess_arm(s);		/* the floor passed: a full client_timeout */
		if (!s->c.closed && s->wait != W_TLS && s->wait != W_CLOSE)
			buf_consume(&s->c.in, used);
		if (s->fsm.state == FSM_DATA && s->wait == W_NONE)
			smtp_eod_init(&s->eod);
	}
	if (s->c.closed)
		return;
	if (s->wait == W_NONE && s->fsm.state != FSM_DATA && buf_used(&s->c.in) == 0
	    && conn_pending(&s->c) == 0)
		conn_trim(&s->c);		/* idle: hold no buffer memory */
	if (s->c.eof && s->wait == W_NONE && conn_pending(&s->c) == 0) {
		if (s->fsm.state == FSM_DATA || s->fsm.state == FSM_MAIL
		    || s->fsm.state == FSM_RCPT)
			msg_info("%s: lost connection with %s in state %s", s->id,
			    s->client, fsm_state_str(s->fsm.state));
		sess_close(s, s->fsm.state == FSM_DATA);
	}
}

/* sess_on_conn - events from the old MTA's connection */
static void
sess_on_conn(struct conn *c, int ev, void *arg)
{
	struct sess *s = arg;

	(void) c;
	if (ev & CONN_ERROR) {
		msg_info("%s: lost connection with %s: %s", s->id, s->client, s->c.err);
		sess_close(s, 1);
		return;
	}
	if (ev & CONN_TLS) {
		char info[160];

		tls_describe(s->c.ssl, info, sizeof(info));
		msg_info("%s: Anonymous TLS connection established from %s: %s",
		    s->id, s->client, info);
		fsm_tls_started(&s->fsm);
		s->wait = W_NONE;
		conn_resume(&s->c);
	}
	if (ev & CONN_DRAIN) {
		if (s->wait == W_TLS && !s->c.ssl) {
			if (conn_starttls(&s->c, proxy.server_ctx, 1, NULL) < 0) {
				msg_warn("%s: cannot start TLS: %s", s->id, s->c.err);
				sess_close(s, 1);
			}
			return;
		}
		if (s->wait == W_CLOSE) {
			sess_close(s, 0);
			return;
		}
		if (s->out_paused) {
			s->out_paused = 0;
			if (s->wait == W_NONE)
				conn_resume(&s->c);
		}
		if (s->wait == W_NONE && s->fsm.state != FSM_DATA && buf_used(&s->c.in) == 0)
			conn_trim(&s->c);
	}
	if (s->wait == W_TLS || s->wait == W_CLOSE)
		return;
	if ((ev & CONN_EOF) && s->fsm.state == FSM_DATA && s->wait == W_NONE
	    && buf_used(&s->c.in) == 0) {
		msg_info("%s: lost connection with %s while receiving the message; "
		    "nothing was delivered", s->id, s->client);
		sess_close(s, 1);
		return;
	}
	sess_run(s);
}

/* sess_on_timer - the old MTA said nothing for too long */
static void
sess_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sess *s = w->data;
	int idle;

	(void) loop;
	(void) revents;
	if (s->wait != W_NONE && s->wait != W_TLS && s->wait != W_CLOSE) {
		sess_arm(s);			/* DNS or the MX has the floor */
		return;
	}
	if (s->wait == W_NONE && s->fsm.state == FSM_DATA && s->c.paused
	    && !s->out_paused) {
		/* Paused for the MX (back-pressure): its own timeout runs. */
		s->data_deadline = ev_now(proxy.loop) + (double) proxy.cfg.client_timeout;
		sess_arm(s);
		return;
	}
	idle = s->wait == W_NONE && s->fsm.state != FSM_DATA && s->cmd_t0 > 0
	    && proxy.cfg.client_idle_limit > 0 && s->idle_used + ev_now(proxy.loop)
	    - s->cmd_t0 >= (double) proxy.cfg.client_idle_limit - 0.001;
	msg_info("%s: %s after %s from %s", s->id, idle ? "idle limit reached"
	    : "timeout", s->fsm.state == FSM_DATA ? "DATA" : fsm_state_str(s->fsm.state),
	    s->client);
	if (s->wait == W_CLOSE || s->wait == W_TLS) {
		sess_close(s, 1);
		return;
	}
	if (idle)
		sayf(s, "421 4.4.2 %s Error: too much time without commands "
		    "(client_idle_limit)", proxy.hostname);
	else
		sayf(s, "421 4.4.2 %s Error: timeout exceeded", proxy.hostname);
	if (s->fsm.state == FSM_DATA && s->up) {
		up_abort(s->up);		/* the MX never sees an end of data */
		s->up = NULL;
		s->up_txn = 0;
	}
	s->wait = W_CLOSE;
	s->cmd_t0 = 0;
	buf_reset(&s->c.in);
	conn_pause(&s->c);
	/* If the old MTA does not even read, the next expiry closes. */
	sess_arm(s);
}

/* reply_fits - can this reply code answer what the MX was sent?  Only
 * 354 opens the data phase; a 2xx to DATA, or a 3xx to anything else, is
 * a protocol error, never relayed (the old MTA would take it for "sent") */
static int
reply_fits(enum sess_wait w, int code)
{
	if (code / 100 == 4 || code / 100 == 5)
		return 1;
	return w == W_DATA ? code == 354 : code / 100 == 2;
}

/* wait_cmd - what the MX was answering, for reasons */
static const char *
wait_cmd(enum sess_wait w)
{
	return w == W_MAIL ? "MAIL FROM" : w == W_RCPT || w == W_RCPT_SKIP
	    ? "RCPT TO" : w == W_DATA ? "DATA" : w == W_DOT ? "end of data"
	    : w == W_RSET ? "RSET" : "a command";
}

/* mx_protocol_error - a reply that cannot answer the command: the old MTA
 * gets 451 4.5.0, the upstream is closed, the attempt is recorded */
static void
mx_protocol_error(struct sess *s, struct up *u)
{
	char l1[REASON_MAX], why[REASON_MAX];
	enum sess_wait w = s->wait;

	reply_text(&u->reply, l1, sizeof(l1));
	snprintf(why, sizeof(why), "451 4.5.0 Error: protocol error: host %s "
	    "answered %s with \"%.200s\"", u->peer, wait_cmd(w), l1);
	msg_warn("%s: %s", s->id, why + 10);
	(void) journal(s, u, s->cur_host, s->cur_ptype, NULL, "connection-failure",
	    "smtp-protocol-error", "failed");
	up_abort(u);
	s->up = NULL;
	s->up_txn = 0;
	s->wait = W_NONE;
	if (s->replay) {
		replay_done(s, why, NULL);
		return;
	}
	switch (w) {
	case W_MAIL:
	case W_RCPT:
		snprintf(s->txn_fail, sizeof(s->txn_fail), "%s", why);
		sayf(s, "%s", why);
		fsm_rcpt_result(&s->fsm, 0);
		break;
	case W_DATA:
	case W_DOT:
		sayf(s, "%s", why);
		log_txn(s, "deferred", why);
		txn_done(s);
		break;
	case W_RSET:
		say_pending(s);
		break;
	default:
		break;
	}
}

/* sess_on_up - events from the upstream connection */
static void
sess_on_up(struct up *u, enum up_event ev, void *arg)
{
	struct sess *s = arg;
	char l1[REASON_MAX];

	switch (ev) {
	case UP_READY:
		/* Remember the MX for the log: the upstream may be gone by then. */
		snprintf(s->relay, sizeof(s->relay), "%s", u->peer);
		snprintf(s->relay_tls, sizeof(s->relay_tls), "%s",
		    u->tls && u->c.ssl ? SSL_get_version(u->c.ssl) : "none");
		if (s->wait != W_CONNECT)
			break;
		if (record_ready(s, u) < 0 && proxy.cfg.journal_required) {
			up_quit(u);
			s->up = NULL;
			if (s->replay) {
				replay_done(s, "451 4.3.0 Error: the attempt could not be "
				    "recorded (journal_required = yes)", NULL);
				break;
			}
			snprintf(s->txn_fail, sizeof(s->txn_fail), "451 4.3.0 Error: the "
			    "attempt could not be recorded (journal_required = yes)");
			sayf(s, "%s", s->txn_fail);
			fsm_rcpt_result(&s->fsm, 0);
			s->wait = W_NONE;
			break;
		}
		if (s->replay)
			replay_mail(s);
		else
			send_mail(s);
		break;
	case UP_DRAIN:
		if (s->c.paused && s->fsm.state == FSM_DATA && s->wait == W_NONE)
			conn_resume(&s->c);
		break;
	case UP_REPLY:
		if (!reply_fits(s->wait, u->reply.code)) {
			mx_protocol_error(s, u);
			break;
		}
		if (s->replay) {
			replay_reply(s, u);
			break;
		}
		switch (s->wait) {
		case W_MAIL:
			if (u->reply.code / 100 == 2) {
				s->up_txn = 1;
				if (s->mail_pipelined)
					s->wait = W_RCPT;	/* its reply is next */
				else
					send_rcpt(s);
				return;
			}
			/* The MX refused the sender: every RCPT hears why. */
			snprintf(s->txn_fail, sizeof(s->txn_fail), "%s",
			    reply_text(&u->reply, l1, sizeof(l1)));
			relay_reply(s, &u->reply);
			fsm_rcpt_result(&s->fsm, 0);
			if (s->mail_pipelined) {
				s->wait = W_RCPT_SKIP;	/* the RCPT's reply is still due */
				return;
			}
			s->wait = W_NONE;
			break;
		case W_RCPT_SKIP:
			s->wait = W_NONE;	/* (a 503, surely) nobody needs it */
			break;
		case W_RCPT:
			relay_reply(s, &u->reply);
			fsm_rcpt_result(&s->fsm, u->reply.code / 100 == 2);
			if (u->reply.code / 100 == 2)
				buf_printf(&s->rcpts, "%s<%s>", buf_used(&s->rcpts) ? "," : "",
				    s->rcpt.addr);
			s->wait = W_NONE;
			break;
		case W_DATA:
			relay_reply(s, &u->reply);
			s->wait = W_NONE;
			if (u->reply.code == 354) {
				up_data_begin(u);
				smtp_eod_init(&s->eod);
				s->data_bytes = 0;
				s->data_discard = 0;
				data_begin(s);
			} else {
				log_txn(s, u->reply.code / 100 == 5 ? "bounced" : "deferred",
				    reply_text(&u->reply, l1, sizeof(l1)));
				fsm_txn_end(&s->fsm);
				txn_clear(s);
				quiet_rset(s);
			}
			break;
		case W_DOT:
			relay_reply(s, &u->reply);
			s->wait = W_NONE;
			log_txn(s, u->reply.code / 100 == 2 ? "sent"
			    : u->reply.code / 100 == 4 ? "deferred" : "bounced",
			    reply_text(&u->reply, l1, sizeof(l1)));
			s->up_txn = 0;
			txn_done(s);
			break;
		case W_RSET:
			s->up_txn = 0;
			s->wait = W_NONE;
			say_pending(s);
			break;
		default:
			msg_warn("%s: unexpected reply from %s in state %s", s->id,
			    u->peer, sess_wait_str(s->wait));
			break;
		}
		break;
	case UP_FAIL:
		s->up = NULL;			/* the reaper has it */
		s->up_txn = 0;
		if (s->wait != W_CONNECT)
			msg_info("%s: %s", s->id, u->why);
		snprintf(l1, sizeof(l1), "451 %s %s", u->enh, u->why);
		if (s->wait == W_CONNECT)
			record_fail(s, u);
		if (s->replay) {
			if (s->wait == W_CONNECT) {
				attempt_failed(s, u->peer, u->enh, NULL, NULL, u->why);
				replay_next(s);
			} else {
				replay_done(s, l1, NULL);
			}
			break;
		}
		switch (s->wait) {
		case W_CONNECT:
			attempt_failed(s, u->peer, u->enh, u->rtype, u->rcode, u->why);
			next_attempt(s);
			break;
		case W_RCPT_SKIP:
			s->wait = W_NONE;	/* the client has its answer already */
			break;
		case W_MAIL:
		case W_RCPT:
			snprintf(s->txn_fail, sizeof(s->txn_fail), "%s", l1);
			sayf(s, "%s", l1);
			fsm_rcpt_result(&s->fsm, 0);
			s->wait = W_NONE;
			break;
		case W_DATA:
			sayf(s, "%s", l1);
			log_txn(s, "deferred", l1);
			txn_done(s);
			s->wait = s->wait == W_CLOSE ? W_CLOSE : W_NONE;
			break;
		case W_DOT:
			sayf(s, "%s", l1);
			s->wait = W_NONE;
			log_txn(s, "deferred", l1);
			txn_done(s);
			break;
		case W_RSET:
			s->wait = W_NONE;
			say_pending(s);
			break;
		default:
			if (s->fsm.state == FSM_DATA) {
				s->data_discard = 1;
				snprintf(s->data_fail, sizeof(s->data_fail), "%s", l1);
				if (s->c.paused)
					conn_resume(&s->c);
			} else if (s->fsm.state == FSM_RCPT || s->fsm.state == FSM_MAIL) {
				snprintf(s->txn_fail, sizeof(s->txn_fail), "%s", l1);
			}
			break;
		}
		break;
	}
	if (!s->c.closed)
		sess_run(s);
}

/* sess_drain_all - SIGTERM: idle sessions go now, busy ones after */
void
sess_drain_all(void)
{
	for (struct sess *s = proxy.sessions, *next; s; s = next) {
		next = s->next;
		if (s->wait == W_NONE && (s->fsm.state == FSM_START
			|| s->fsm.state == FSM_IDLE)) {
			sayf(s, "421 4.3.2 %s Service shutting down, closing "
			    "transmission channel", proxy.hostname);
			s->wait = W_CLOSE;
			conn_pause(&s->c);
		} else {
			s->drain_after_txn = 1;
		}
	}
}

/* sess_kill_all - the drain time is over: everyone goes now */
void
sess_kill_all(void)
{
	for (struct sess *s = proxy.sessions, *next; s; s = next) {
		next = s->next;
		if (s->wait != W_CLOSE && !s->c.closed) {
			/* Best effort; the old MTA keeps anything not yet 250'd. */
			static const char bye[] = "421 4.3.2 Service shutting down\r\n";
			if (!s->c.ssl && s->c.fd >= 0)
				(void) !write(s->c.fd, bye, sizeof(bye) - 1);
		}
		sess_close(s, 1);
	}
}
