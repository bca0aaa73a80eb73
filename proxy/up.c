/*
 * up.c - the upstream SMTP client: the connection, the SMTP dialogue
 * (greeting, EHLO or HELO, STARTTLS, EHLO again, then the session's
 * commands and message bytes), timeouts and failures.  The TLS judgement
 * is up_tls.c's.  See up.h and up_int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "up_int.h"

#define UP_QUIT_TIMEOUT	10.0
#define UP_LINE_MAX	2048

static void up_on_conn(struct conn *, int, void *);
static void up_on_timer(struct ev_loop *, ev_timer *, int);
static void up_free(struct reap *r);
static void up_dispose(struct up *u);
static void fail_connect(struct up *u);
static void arm(struct up *u, double secs);
static int send_line(struct up *u, const char *line, size_t len);
static int bind_source(struct up *u, int fd);
static int open_socket(struct up *u);
static void set_peer(struct up *u, const char *name);
static void ready(struct up *u);
static void send_ehlo(struct up *u, enum up_state st);
static void got_banner(struct up *u);
static void got_ehlo(struct up *u);
static void got_helo(struct up *u);
static void got_starttls(struct up *u);
static void got_answer(struct up *u);
static void got_reply(struct up *u);
static void read_replies(struct up *u);
static void local_addr(struct up *u);

/* up_state_str - a state's name, for logs and panics */
const char *
up_state_str(enum up_state st)
{
	static const char *const names[] = {
		[UP_S_CONNECT] = "connect", [UP_S_BANNER] = "banner", [UP_S_EHLO] = "ehlo",
		[UP_S_HELO] = "helo", [UP_S_STARTTLS] = "starttls",
		[UP_S_HANDSHAKE] = "handshake", [UP_S_EHLO2] = "ehlo2", [UP_S_IDLE] = "idle",
		[UP_S_WAIT] = "wait", [UP_S_DATA] = "data", [UP_S_DOT] = "dot",
		[UP_S_QUIT] = "quit", [UP_S_DEAD] = "dead",
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) == UP_S_NSTATES,
	    "a name for every enum up_state");
	return (unsigned) st < UP_S_NSTATES && names[st] ? names[st] : "?";
}

/* up_free - the reaper's part */
static void
up_free(struct reap *r)
{
	struct up *u = (struct up *) ((char *) r - offsetof(struct up, reap));

	SSL_CTX_free(u->p.tls_ctx);		/* ours: see up_start */
	SSL_SESSION_free(u->pend);
	if (u->has_tab)
		ptab_entry_free(&u->tab);
	conn_release(&u->c);
	free(u);
}

/* up_dispose - close and hand to the reaper; no more callbacks */
static void
up_dispose(struct up *u)
{
	u->st = UP_S_DEAD;
	ev_timer_stop(u->loop, &u->tmo);
	conn_close(&u->c);
	reap_later(&u->reap, up_free);
}

/* up_fail - report a failure once, then dispose */
void
up_fail(struct up *u, const char *enh, const char *fmt, ...)
{
	va_list ap;

	if (u->st == UP_S_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(u->i.why, sizeof(u->i.why), fmt, ap);
	va_end(ap);
	u->i.enh = enh;
	if (u->st == UP_S_QUIT) {		/* nobody is waiting any more */
		up_dispose(u);
		return;
	}
	up_dispose(u);
	u->cb(u, UP_FAIL, &u->i, NULL, u->arg);
}

/* fail_connect - no connection: why is in u->i.why already, and
 * u->early_enh says whose fault (4.4.0: the source address, ours) */
static void
fail_connect(struct up *u)
{
	char why[sizeof(u->i.why)];

	memcpy(why, u->i.why, sizeof(why));
	up_fail(u, u->early_enh ? u->early_enh : "4.4.1", "%s", why);
}

/* arm - (re)start the per-step timer */
static void
arm(struct up *u, double secs)
{
	ev_timer_stop(u->loop, &u->tmo);
	ev_timer_set(&u->tmo, secs, 0.);
	ev_timer_start(u->loop, &u->tmo);
}

/* send_line - a command with CRLF */
static int
send_line(struct up *u, const char *line, size_t len)
{
	if (conn_write(&u->c, line, len) < 0 || conn_write(&u->c, "\r\n", 2) < 0)
		return -1;
	arm(u, (double) u->p.timeout);
	return 0;
}

/* bind_source - send from p.src, an address that need not be ours (the
 * old MTA's: upstream_source = client): IP_TRANSPARENT, then bind to
 * it, port 0 (the kernel picks one at connect, for the whole 4-tuple);
 * -1 with the reason in u->i.why */
static int
bind_source(struct up *u, int fd)
{
	struct sockaddr_storage src = u->p.src;
	int one = 1, v6 = src.ss_family == AF_INET6;
	char a[ADDR_STRLEN];

	addr_str(&src, a, sizeof(a));
	addr_set_port(&src, 0);
	if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TRANSPARENT
		: IP_TRANSPARENT, &one, sizeof(one)) < 0) {
		snprintf(u->i.why, sizeof(u->i.why), "cannot send to %s from %s (upstream_source "
		    "= client): %s: %s (it needs CAP_NET_RAW or CAP_NET_ADMIN)", u->i.peer, a,
		    v6 ? "IPV6_TRANSPARENT" : "IP_TRANSPARENT", strerror(errno));
		return -1;
	}
	(void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *) &src, u->p.srclen) < 0) {
		snprintf(u->i.why, sizeof(u->i.why), "cannot send to %s from %s (upstream_source "
		    "= client): bind: %s", u->i.peer, a, strerror(errno));
		return -1;
	}
	return 0;
}

/* open_socket - socket, mark, source, non-blocking connect */
static int
open_socket(struct up *u)
{
	int fd, one = 1;

	u->early_enh = "4.4.1";
	if (u->p.srclen && u->p.src.ss_family != u->p.addr.ss_family) {
		/* An IPv4 MTA's address cannot reach an IPv6 MX, and the
		 * gateway's own address is not what upstream_source says. */
		char f = u->p.addr.ss_family == AF_INET6 ? '6' : '4';

		snprintf(u->i.why, sizeof(u->i.why), "cannot send to %s from %s (upstream_source "
		    "= client): no IPv%c source address for an IPv%c destination", u->i.peer,
		    u->i.local, f, f);
		u->early_enh = "4.4.0";
		return -1;
	}
	fd = socket(u->p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(u->i.why, sizeof(u->i.why), "socket: %s", strerror(errno));
		return -1;
	}
	if (u->p.mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &u->p.mark,
		sizeof(u->p.mark)) < 0) {
		snprintf(u->i.why, sizeof(u->i.why), "cannot set SO_MARK 0x%x: %s",
		    (unsigned) u->p.mark, strerror(errno));
		close(fd);
		return -1;
	}
	if (u->p.srclen && bind_source(u, fd) < 0) {
		u->early_enh = "4.4.0";
		close(fd);
		return -1;
	}
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *) &u->p.addr, u->p.addrlen) < 0
	    && errno != EINPROGRESS) {
		snprintf(u->i.why, sizeof(u->i.why), "connect to %s: %s", u->i.peer,
		    strerror(errno));
		close(fd);
		return -1;
	}
	conn_init(&u->c, u->loop, fd, up_on_conn, u);
	u->c.in_max = 8192;
	conn_connecting(&u->c);
	u->st = UP_S_CONNECT;
	u->phase = "connecting";
	arm(u, (double) u->p.connect_timeout);
	return 0;
}

/* set_peer - `name[addr]:port' for logs and reasons */
static void
set_peer(struct up *u, const char *name)
{
	addr_str(&u->p.addr, u->i.addr, sizeof(u->i.addr));
	snprintf(u->i.peer, sizeof(u->i.peer), "%s[%s]:%u", name, u->i.addr,
	    addr_port(&u->p.addr));
}

/* up_params_policy - what policy says of one route candidate c of rt
 * (plan's, under table entry tab or NULL): level, names, TLSA records,
 * policy id, the entry, report-only and the floor; p's transport fields
 * (address, helo, timeouts, tls_ctx) are the caller's, set before */
void
up_params_policy(struct up_params *p, const struct plan *plan, const struct route *rt,
    const struct route_cand *c, const struct ptab_entry *tab)
{
	p->level = c->level;
	p->sts_mismatch = c->sts_mismatch;
	p->sts_id = plan && plan->has_sts ? plan->sts.id : NULL;
	p->tab = tab;
	p->soft = rt->soft;
	p->floor = c->floor;
	p->nexthop = plan ? plan->domain : NULL;
	if (ROUTE_NO_TLS(c->level))
		p->tls_ctx = NULL;		/* table: none */
	if (c->host >= 0 && plan) {
		const struct plan_host *h = &plan->hosts[c->host];

		p->mxname = p->orig_name = h->name;
		p->base = h->base;
		p->tlsa = h->tlsa;
		p->ntlsa = h->ntlsa;
	}
	if (c->failed && rt->soft) {
		p->level = ROUTE_MAY;	/* report-only: the best TLS it gives */
		p->tlsa = NULL;
		p->ntlsa = 0;
	}
}

/* up_start - connect to an MX host */
struct up *
up_start(struct ev_loop *loop, const struct up_params *p, up_cb *cb, void *arg)
{
	struct up *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->loop = loop;
	u->p = *p;
	/* A reload may replace the context before this MX even greets: the
	 * upstream holds a reference of its own until it is freed. */
	if (u->p.tls_ctx != NULL && SSL_CTX_up_ref(u->p.tls_ctx) != 1) {
		free(u);
		return NULL;
	}
	u->p.tab = NULL;
	if (p->tab) {
		if (ptab_entry_dup(&u->tab, p->tab) < 0) {
			SSL_CTX_free(u->p.tls_ctx);
			free(u);
			return NULL;
		}
		u->has_tab = 1;
		u->p.tab = &u->tab;
	}
	snprintf(u->nexthop, sizeof(u->nexthop), "%s", p->nexthop ? p->nexthop : "");
	u->p.nexthop = u->nexthop;
	snprintf(u->helo, sizeof(u->helo), "%s", p->helo);
	snprintf(u->sid, sizeof(u->sid), "%s", p->sid);
	snprintf(u->i.mxname, sizeof(u->i.mxname), "%s", p->mxname ? p->mxname : "");
	snprintf(u->base, sizeof(u->base), "%s", p->base ? p->base : u->i.mxname);
	snprintf(u->orig_name, sizeof(u->orig_name), "%s", p->orig_name ? p->orig_name : "");
	u->p.helo = u->helo;
	u->p.sid = u->sid;
	u->p.mxname = u->i.mxname;
	u->p.base = u->base;
	u->p.orig_name = u->orig_name;
	snprintf(u->i.sts_id, sizeof(u->i.sts_id), "%s", p->sts_id ? p->sts_id : "");
	u->p.sts_id = u->i.sts_id;
	u->i.tls_version = "none";
	u->dns_until = -1;
	if (p->scache && p->dns_ttl >= 0)
		u->dns_until = (long) clock_mono() + p->dns_ttl;
	u->i.level = p->level;
	u->i.sa = p->addr;
	u->i.salen = p->addrlen;
	if (p->srclen) {
		u->i.src = p->src;
		u->i.srclen = p->srclen;
		addr_str(&p->src, u->i.local, sizeof(u->i.local));
	}
	u->cb = cb;
	u->arg = arg;
	u->c.fd = -1;
	u->c.closed = 1;
	smtp_reply_init(&u->reply);
	ev_init(&u->tmo, up_on_timer);
	u->tmo.data = u;
	set_peer(u, u->i.mxname[0] ? u->i.mxname : "unknown");
	if (open_socket(u) < 0) {
		/* Report from the loop, never from inside the caller's call. */
		u->early_fail = 1;
		arm(u, 0.);
	}
	return u;
}

/* ready - the session can start */
static void
ready(struct up *u)
{
	u->st = UP_S_IDLE;
	ev_timer_stop(u->loop, &u->tmo);
	u->cb(u, UP_READY, &u->i, NULL, u->arg);
}

/* up_retry_plain - TLS failed: connect again, never to say STARTTLS */
void
up_retry_plain(struct up *u, const char *why)
{
	msg_warn("%s: TLS handshake failed with %s: %s; retrying without TLS",
	    u->sid, u->i.peer, why);
	ev_timer_stop(u->loop, &u->tmo);
	conn_close(&u->c);
	u->i.plain_retry = 1;
	u->i.tls = 0;
	u->i.tls_version = "none";
	if (open_socket(u) < 0)
		fail_connect(u);
}

/* send_ehlo - EHLO with the old MTA's name (before and after TLS) */
static void
send_ehlo(struct up *u, enum up_state st)
{
	char cmd[300];
	int n = snprintf(cmd, sizeof(cmd), "EHLO %s", u->helo);

	u->st = st;
	u->phase = "performing the EHLO handshake";
	send_line(u, cmd, (size_t) n);
}

/* got_banner - the greeting: 220, whose first word names the MX (SNI and
 * logs, when policy gave no name) */
static void
got_banner(struct up *u)
{
	const char *t = u->reply.text;
	size_t n = strcspn(t, " \n");
	char l1[600];

	if (u->reply.code != 220) {
		up_fail(u, "4.4.0", "host %s refused to talk to me: %s", u->i.peer,
		    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	}
	if (smtp_valid_hostname(t, n) && n < sizeof(u->i.greet_name)) {
		memcpy(u->i.greet_name, t, n);
		u->i.greet_name[n] = 0;
	}
	if (!u->i.mxname[0] && smtp_valid_hostname(t, n) && n < sizeof(u->i.mxname)) {
		memcpy(u->i.mxname, t, n);
		u->i.mxname[n] = 0;
		set_peer(u, u->i.mxname);
	}
	send_ehlo(u, UP_S_EHLO);
}

/* got_ehlo - the reply to EHLO: before TLS, STARTTLS when offered and
 * allowed; HELO when refused and the level allows plaintext */
static void
got_ehlo(struct up *u)
{
	int code = u->reply.code, first = u->st == UP_S_EHLO;
	char l1[600];

	if (code / 100 != 2) {
		if (first && code / 100 == 5 && (!ROUTE_TLS_REQUIRED(u->p.level)
		    || up_tls_plain_ok(u))) {
			char cmd[300];
			int n = snprintf(cmd, sizeof(cmd), "HELO %s", u->helo);

			if (ROUTE_TLS_REQUIRED(u->p.level))
				up_soft_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, "%s refused EHLO",
				    u->i.peer);
			u->st = UP_S_HELO;
			send_line(u, cmd, (size_t) n);
			return;
		}
		up_fail(u, "4.4.0", "host %s refused EHLO: %s", u->i.peer,
		    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	}
	smtp_ehlo_parse(&u->reply, &u->i.ehlo);
	if (!first) {
		ready(u);
		return;
	}
	if (!u->i.ehlo.starttls && up_tls_unoffered(u, NULL) < 0)
		return;
	if (u->i.ehlo.starttls && u->p.tls_ctx && !ROUTE_NO_TLS(u->p.level)
	    && u->i.plain_retry <= 0) {
		u->st = UP_S_STARTTLS;
		u->phase = "sending STARTTLS";
		send_line(u, "STARTTLS", 8);
		return;
	}
	msg_info("%s: no STARTTLS with %s: %s; sending in plaintext", u->sid,
	    u->i.peer, !u->i.ehlo.starttls ? "not offered" : ROUTE_NO_TLS(u->p.level)
	    ? "TLS level none" : "TLS handshake failed before");
	ready(u);
}

/* got_helo - the reply to HELO: plaintext, no extensions */
static void
got_helo(struct up *u)
{
	char l1[600];

	if (u->reply.code / 100 != 2) {
		up_fail(u, "4.4.0", "host %s refused HELO: %s", u->i.peer,
		    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	}
	memset(&u->i.ehlo, 0, sizeof(u->i.ehlo));
	msg_info("%s: no STARTTLS with %s: EHLO refused; sending in plaintext",
	    u->sid, u->i.peer);
	ready(u);
}

/* got_starttls - the reply to STARTTLS: 220 starts the handshake */
static void
got_starttls(struct up *u)
{
	char l1[600];

	if (u->reply.code != 220) {
		smtp_reply_line1(&u->reply, l1, sizeof(l1));
		if (up_tls_unoffered(u, l1) < 0)
			return;
		msg_info("%s: no STARTTLS with %s: %s; sending in plaintext",
		    u->sid, u->i.peer, l1);
		ready(u);
		return;
	}
	/* Whatever follows the 220 in plaintext is dropped. */
	buf_reset(&u->c.in);
	if (up_tls_start(u) < 0) {
		up_fail(u, "4.7.0", "TLS setup with %s: %s", u->i.peer, conn_err(&u->c));
		return;
	}
	u->st = UP_S_HANDSHAKE;
	u->phase = "performing the TLS handshake";
	arm(u, (double) u->p.timeout);
}

/* got_answer - a reply to the session's command, or to the end of data */
static void
got_answer(struct up *u)
{
	if (u->st == UP_S_WAIT && u->expect > 1) {
		u->expect--;		/* a pipelined command is still due */
		u->phase = "sending RCPT TO";
		arm(u, (double) u->p.timeout);
	} else {
		u->expect = 0;
		u->st = UP_S_IDLE;
		ev_timer_stop(u->loop, &u->tmo);
	}
	u->cb(u, UP_REPLY, &u->i, &u->reply, u->arg);
}

/* got_reply - one whole reply from the MX, to the state it answers */
static void
got_reply(struct up *u)
{
	char l1[600];

	switch (u->st) {
	case UP_S_BANNER:
		got_banner(u);
		return;
	case UP_S_EHLO:
	case UP_S_EHLO2:
		got_ehlo(u);
		return;
	case UP_S_HELO:
		got_helo(u);
		return;
	case UP_S_STARTTLS:
		got_starttls(u);
		return;
	case UP_S_WAIT:
	case UP_S_DOT:
		got_answer(u);
		return;
	case UP_S_QUIT:
		up_dispose(u);
		return;
	case UP_S_DATA:
		up_fail(u, "4.4.2", "host %s said during message transfer: %s",
		    u->i.peer, smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	case UP_S_IDLE:
		/* An unsolicited reply: a 421 before the MX hangs up. */
		up_fail(u, "4.4.2", "host %s said: %s", u->i.peer,
		    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	default:
		up_fail(u, "4.4.0", "unexpected reply from %s: %s", u->i.peer,
		    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	}
}

/* read_replies - parse whole reply lines out of the input */
static void
read_replies(struct up *u)
{
	while (u->st != UP_S_DEAD && !u->c.closed && buf_used(&u->c.in) > 0
	    && u->st != UP_S_HANDSHAKE) {
		size_t ll, used;
		int r = smtp_getline(buf_head(&u->c.in), buf_used(&u->c.in),
		    UP_LINE_MAX, &ll, &used);

		if (r == SMTP_LINE_NEED)
			return;
		if (r == SMTP_LINE_LONG) {
			up_fail(u, "4.4.0", "malformed reply from %s: line too long while %s",
			    u->i.peer, u->phase);
			return;
		}
		r = smtp_reply_feed(&u->reply, buf_head(&u->c.in), ll);
		buf_consume(&u->c.in, used);
		if (r == SMTP_REPLY_BAD) {
			up_fail(u, "4.4.0", "malformed reply from %s while %s", u->i.peer,
			    u->phase);
			return;
		}
		if (r == SMTP_REPLY_DONE) {
			enum up_state before = u->st;

			got_reply(u);
			/* After STARTTLS's 220 everything buffered was dropped. */
			if (before == UP_S_STARTTLS)
				return;
		}
	}
}

/* local_addr - our end of the connection, for the journal */
static void
local_addr(struct up *u)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(u->c.fd, (struct sockaddr *) &ss, &len) < 0
	    || (ss.ss_family != AF_INET6 && ss.ss_family != AF_INET))
		return;
	addr_str(&ss, u->i.local, sizeof(u->i.local));
	u->i.localport = addr_port(&ss);
}

/* up_on_conn - events from the connection */
static void
up_on_conn(struct conn *c, int ev, void *arg)
{
	struct up *u = arg;

	(void) c;
	if (ev & CONN_CONNECTED) {
		local_addr(u);
		u->st = UP_S_BANNER;
		u->phase = "receiving the initial server greeting";
		arm(u, (double) u->p.timeout);
	}
	if ((ev & CONN_TLS) && up_tls_judge(u) == 0)
		send_ehlo(u, UP_S_EHLO2);
	if (u->st == UP_S_DEAD)
		return;
	if ((ev & CONN_READ) && u->parked && u->st == UP_S_IDLE && buf_used(&u->c.in) > 0) {
		/* Cached and idle: whatever the MX says (a 421 too) ends it. */
		up_fail(u, "4.4.2", "unsolicited data from %s on an idle cached connection",
		    u->i.peer);
		return;
	}
	if (ev & CONN_READ)
		read_replies(u);
	if (u->st == UP_S_DEAD)
		return;
	if ((ev & CONN_DRAIN) && u->st == UP_S_DATA)
		u->cb(u, UP_DRAIN, &u->i, NULL, u->arg);
	if (u->st == UP_S_DEAD)
		return;
	if ((ev & (CONN_ERROR | CONN_EOF)) && u->st == UP_S_HANDSHAKE
	    && up_tls_broken(u, ev & CONN_ERROR ? conn_err(&u->c) : NULL))
		return;
	if (ev & CONN_ERROR) {
		if (u->st == UP_S_CONNECT)
			up_fail(u, "4.4.1", "connect to %s: %s", u->i.peer, conn_err(&u->c));
		else
			up_fail(u, "4.4.2", "lost connection with %s while %s: %s",
			    u->i.peer, u->phase, conn_err(&u->c));
		return;
	}
	if (ev & CONN_EOF)
		up_fail(u, "4.4.2", "lost connection with %s while %s", u->i.peer,
		    u->phase);
}

/* up_on_timer - the step took too long (or a deferred connect failure) */
static void
up_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct up *u = w->data;

	(void) loop;
	(void) revents;
	if (u->early_fail) {
		fail_connect(u);
		return;
	}
	if (u->st == UP_S_QUIT) {
		up_dispose(u);
		return;
	}
	if (u->st == UP_S_HANDSHAKE)
		up_tls_forget(u);
	if (u->st == UP_S_HANDSHAKE && u->i.plain_retry == 0
	    && (ROUTE_MAY_PLAIN(u->p.level) || up_tls_plain_ok(u))) {
		if (!ROUTE_MAY_PLAIN(u->p.level))
			up_soft_fail(u, RTYPE_VALIDATION_FAILURE, "TLS handshake with %s "
			    "timed out", u->i.peer);
		up_retry_plain(u, "timeout");
		return;
	}
	up_fail(u, u->st == UP_S_CONNECT ? "4.4.1" : "4.4.2",
	    "conversation with %s timed out while %s", u->i.peer, u->phase);
}

/* up_command2 - two commands in one write (PIPELINING), two replies */
int
up_command2(struct up *u, const char *l1, size_t n1, const char *l2, size_t n2)
{
	if (u->st != UP_S_IDLE || !u->i.ehlo.pipelining)
		msg_panic("%s: up_command2 in state %s", u->sid, up_state_str(u->st));
	u->st = UP_S_WAIT;
	u->expect = 2;
	u->phase = "sending MAIL FROM";
	smtp_reply_init(&u->reply);
	return send_line(u, l1, n1) < 0 ? -1 : send_line(u, l2, n2);
}

/* up_command - send one command, expect one reply */
int
up_command(struct up *u, const char *line, size_t len)
{
	if (u->st != UP_S_IDLE)
		msg_panic("%s: up_command in state %s", u->sid, up_state_str(u->st));
	u->st = UP_S_WAIT;
	u->expect = 1;
	u->phase = strncasecmp(line, "MAIL", 4) == 0 ? "sending MAIL FROM"
	    : strncasecmp(line, "RCPT", 4) == 0 ? "sending RCPT TO"
	    : strncasecmp(line, "DATA", 4) == 0 ? "sending DATA command"
	    : strncasecmp(line, "RSET", 4) == 0 ? "sending RSET" : "sending a command";
	smtp_reply_init(&u->reply);
	return send_line(u, line, len);
}

/* up_probe - RSET on a connection from the cache, its reply due within
 * secs (at most the upstream timeout): a silent dead one costs no more */
int
up_probe(struct up *u, long secs)
{
	if (up_command(u, "RSET", 4) < 0)
		return -1;
	arm(u, (double) (secs < u->p.timeout ? secs : u->p.timeout));
	return 0;
}

/* up_data_begin - raw message bytes follow */
void
up_data_begin(struct up *u)
{
	u->st = UP_S_DATA;
	u->phase = "sending message body";
	arm(u, (double) u->p.timeout);
}

/* up_data_write - queue message bytes as they are */
int
up_data_write(struct up *u, const void *p, size_t n)
{
	if (u->st != UP_S_DATA)
		return -1;
	if (n && conn_write(&u->c, p, n) < 0)
		return -1;
	arm(u, (double) u->p.timeout);
	return 0;
}

/* up_data_end - the final `.' was queued: wait for the verdict */
void
up_data_end(struct up *u)
{
	u->st = UP_S_DOT;
	u->phase = "sending end of data -- message may be sent more than once";
	smtp_reply_init(&u->reply);
	arm(u, (double) u->p.timeout);
}

/* up_quit - say QUIT, close when answered; no more callbacks */
void
up_quit(struct up *u)
{
	if (u->st == UP_S_DEAD)
		return;
	if (u->st != UP_S_IDLE || u->c.closed) {
		up_dispose(u);
		return;
	}
	u->st = UP_S_QUIT;
	conn_write(&u->c, "QUIT\r\n", 6);
	arm(u, UP_QUIT_TIMEOUT);
}

/* up_info - what the caller may know of the connection */
const struct up_info *
up_info(const struct up *u)
{
	return &u->i;
}

/* up_peer_chain - the certificate chain the MX sent, or NULL */
STACK_OF(X509) *
up_peer_chain(const struct up *u)
{
	return u->c.ssl && u->i.tls ? SSL_get_peer_cert_chain(u->c.ssl) : NULL;
}

/* up_pending - message bytes queued towards the MX */
size_t
up_pending(const struct up *u)
{
	return conn_pending(&u->c);
}

/* up_trim - between transactions: free the idle buffers' memory */
void
up_trim(struct up *u)
{
	conn_trim(&u->c);
}

/* up_idle - connected, nothing in flight either way */
int
up_idle(const struct up *u)
{
	return u->st == UP_S_IDLE && !u->c.closed && !u->c.eof && u->expect == 0
	    && conn_pending(&u->c) == 0 && buf_used(&u->c.in) == 0;
}

/* up_park - a new owner: the connection cache (parked), or a session */
void
up_park(struct up *u, up_cb *cb, void *arg, const char *sid, int parked)
{
	u->cb = cb;
	u->arg = arg;
	u->parked = parked;
	snprintf(u->sid, sizeof(u->sid), "%s", sid);
	if (parked)
		conn_trim(&u->c);
}

/* up_abort - close now; no more callbacks */
void
up_abort(struct up *u)
{
	if (u->st != UP_S_DEAD)
		up_dispose(u);
}
