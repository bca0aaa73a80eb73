/*
 * sess.c - one SMTP session with the old MTA: its life, command intake,
 * replies, deadlines, drain.  See sess.h; the rest of the session is in
 * sess_route.c, sess_xfer.c, sess_hold.c and sess_record.c (sess_int.h).
 *
 * Commands are taken strictly one at a time: while a command waits for
 * the MX (s->wait != W_NONE), later pipelined commands stay in the input
 * buffer, so replies go out in order.  Replies are queued and written by
 * the loop after all buffered commands were handled, which is how a
 * PIPELINING server answers a batch in one write.
 */
#include "sess_int.h"
#include "wk_shm.h"

static void sess_free(struct reap *r);
static void sess_close(struct sess *s, int abort_up);
static void sess_arm(struct sess *s);
static void cmd_wait_begin(struct sess *s);
static void cmd_wait_end(struct sess *s);
static void handle_command(struct sess *s, const char *line, size_t len);
static void sess_on_conn(struct conn *c, int ev, void *arg);
static void sess_on_timer(struct ev_loop *loop, ev_timer *w, int revents);

/* sess_state_str - a wait state's name, for logs */
const char *
sess_state_str(int w)
{
	static const char *const names[] = {
		[W_NONE] = "none", [W_POLICY] = "policy", [W_CONNECT] = "connect",
		[W_MAIL] = "mail", [W_RCPT] = "rcpt", [W_RCPT_SKIP] = "rcpt-skip",
		[W_DATA] = "data", [W_DOT] = "dot", [W_RSET] = "rset", [W_TLS] = "tls",
		[W_CLOSE] = "close",
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) == W_NSTATES,
	    "a name for every enum sess_wait");
	return (unsigned) w < W_NSTATES && names[w] ? names[w] : "?";
}

/* sess_enter - every change of the session's wait state goes through
 * here (debug: old -> new) */
void
sess_enter(struct sess *s, enum sess_wait w)
{
	if (s->wait != w)
		msg_debug("%s: %s -> %s", s->id, sess_state_str(s->wait), sess_state_str(w));
	s->wait = w;
}

/* sess_rcpt_domain - a RCPT's domain (after the @), lower case; "" for
 * <postmaster> and address literals */
void
sess_rcpt_domain(const char *d, char *out, size_t len)
{
	(void) dname_lower(out, len, d, strlen(d));
	if (out[0] == '[')		/* an address literal: no policy lookups */
		out[0] = 0;
}

/* The zero parts: what a missing part reads as (sess_int.h). */
const struct sess_txn sess_txn_zero;
const struct sess_route sess_route_zero;
const struct sess_hold sess_hold_zero;

/*
 * part_alloc - a zeroed part.  A part is a few KiB asked for in the
 * middle of a command: without it the session cannot go on, and a
 * process that cannot get that much is failing anyway (Postfix's
 * mymalloc() is fatal alike); the parent restarts the worker.
 */
static void *
part_alloc(size_t size, const char *what)
{
	void *p = calloc(1, size);

	if (p == NULL)
		msg_fatal("out of memory for a session's %s (%zu bytes)", what, size);
	return p;
}

struct sess_txn *
sess_txn_alloc(struct sess *s)
{
	return s->txn_ = part_alloc(sizeof(*s->txn_), "transaction");
}

struct sess_route *
sess_route_alloc(struct sess *s)
{
	return s->rt_ = part_alloc(sizeof(*s->rt_), "route");
}

struct sess_hold *
sess_hold_alloc(struct sess *s)
{
	return s->hold_ = part_alloc(sizeof(*s->hold_), "hold");
}

/*
 * sess_parts_trim - free the transaction and hold parts when what they
 * hold means the same as their zero state: between transactions (nothing
 * in flight to the MX, no reply waiting for an RSET, nothing held), the
 * idle session keeps only its core and its route.
 */
void
sess_parts_trim(struct sess *s)
{
	struct sess_txn *t = s->txn_;
	struct sess_hold *h = s->hold_;

	if (h && !h->on && !h->starved && !h->replay && h->fail[0] == 0
	    && buf_used(&h->rcpts) == 0 && h->msg.data == NULL) {
		buf_free(&h->rcpts);
		free(h);
		s->hold_ = NULL;
	}
	if (t && !t->mx_open && t->pending == NULL && t->fail[0] == 0
	    && t->data_fail[0] == 0 && !t->data_discard
	    && buf_used(&t->rcpts) == 0 && s->wait == W_NONE) {
		buf_free(&t->rcpts);
		free(t);
		s->txn_ = NULL;
	}
}

/* sess_parts_free - free every part (the session ends) */
void
sess_parts_free(struct sess *s)
{
	if (s->txn_) {
		buf_free(&s->txn_->rcpts);
		free(s->txn_->pending);
		free(s->txn_);
		s->txn_ = NULL;
	}
	if (s->hold_) {
		buf_free(&s->hold_->rcpts);
		sess_held_drop(s);
		buf_free(&s->hold_->msg);
		free(s->hold_);
		s->hold_ = NULL;
	}
	if (s->rt_) {
		plan_free(s->rt_->plan);
		s->rt_->plan = NULL;
		sess_route_free(s);
		sess_route_release(s);
		free(s->rt_);
		s->rt_ = NULL;
	}
}

/* sess_free - the reaper's part */
static void
sess_free(struct reap *r)
{
	struct sess *s = (struct sess *) ((char *) r - offsetof(struct sess, reap));

	sess_parts_free(s);
	fsm_free(&s->fsm);
	conn_release(&s->c);
	free(s);
}

/* sess_close - end the session (the struct is freed by the reaper) */
static void
sess_close(struct sess *s, int abort_up)
{
	if (s->c.closed && s->reap.queued)
		return;
	ev_timer_stop(proxy.loop, &s->tmo);
	if (rt_of(s)->res) {
		resolve_cancel(rt_of(s)->res);
		rt_w(s)->res = NULL;
	}
	if (s->up) {
		if (abort_up)
			up_abort(s->up);
		else if (sess_up_park(s) < 0)
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
	wk_sess_put();
	msg_info("%s: disconnect from %s", s->id, s->client);
	reap_later(&s->reap, sess_free);
}

/* sess_say - queue reply bytes to the old MTA */
void
sess_say(struct sess *s, const char *text, size_t len)
{
	if (len && conn_write(&s->c, text, len) < 0 && !s->c.closed) {
		msg_warn("%s: out of memory for a reply", s->id);
		sess_close(s, 1);
	}
}

/* sess_sayf - queue a formatted one-line reply */
__attribute__((format(printf, 2, 3)))
void
sess_sayf(struct sess *s, const char *fmt, ...)
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
	sess_say(s, line, (size_t) n);
}

/* sess_say_pending - the reply that waited for the MX's RSET */
void
sess_say_pending(struct sess *s)
{
	if (txn_of(s)->pending) {
		sess_say(s, txn_of(s)->pending, strlen(txn_of(s)->pending));
		free(txn_of(s)->pending);
		txn_w(s)->pending = NULL;
	}
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

/* sess_data_begin - DATA (live or held): the message's scan, counts and
 * clock start */
void
sess_data_begin(struct sess *s)
{
	smtp_eod_init(&txn_w(s)->eod);
	txn_w(s)->data_bytes = 0;
	txn_w(s)->data_discard = 0;
	cmd_wait_end(s);
	s->data_deadline = ev_now(proxy.loop) + (double) proxy.cfg.client_timeout;
	sess_arm(s);
}

/* sess_data_scan - the message octets in the old MTA's input, up to its
 * end of data (*used of them), counted against message_size_limit: the
 * scan's SMTP_EOD_*; *over when these took the message past the limit
 * (data_discard and data_fail are then set) */
int
sess_data_scan(struct sess *s, size_t *used, int *over)
{
	uint64_t limit = proxy.cfg.message_size_limit;
	int r = smtp_eod_scan(&txn_w(s)->eod, buf_head(&s->c.in), buf_used(&s->c.in), used);

	txn_w(s)->data_bytes += *used;
	*over = !txn_of(s)->data_discard && limit && txn_of(s)->data_bytes > limit + 5;
	if (*over) {
		txn_w(s)->data_discard = 1;
		snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail),
		    "552 5.3.4 Message size exceeds fixed limit");
	}
	return r;
}

/* sess_data_credit - n message octets arrived: they buy time at the minimum rate */
void
sess_data_credit(struct sess *s, size_t n)
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
		wk_sess_put();			/* listen.c reserved it */
		return;
	}
	snprintf(s->id, sizeof(s->id), "%05lX%05lX",
	    (unsigned long) time(NULL) & 0xfffff, ++counter & 0xfffff);
	s->peer = *peer;
	addr_port_str(peer, s->client, sizeof(s->client));
	s->orig = *orig;
	addr_port_str(orig, s->origstr, sizeof(s->origstr));
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
	metrics_session();
	msg_info("%s: connect from %s to %s", s->id, s->client, s->origstr);
	n = snprintf(banner, sizeof(banner), "220 %s ESMTP\r\n", proxy.hostname);
	sess_say(s, banner, (size_t) n);
	sess_early(s);
}

/* handle_command - one command line from the old MTA */
static void
handle_command(struct sess *s, const char *line, size_t len)
{
	struct fsm_out out;

	fsm_command(&s->fsm, line, len, &out);
	switch (out.action) {
	case FSM_A_REPLY:
		sess_say(s, out.reply, out.replylen);
		return;
	case FSM_A_HELO:
	case FSM_A_RSET:
	case FSM_A_MAILFROM:
		/* A transaction open at the MX (RSET, EHLO, or a MAIL after a
		 * refused DATA) is reset there first; the reply waits for it. */
		sess_txn_clear(s);
		if (s->up && txn_of(s)->mx_open) {
			free(txn_of(s)->pending);
			txn_w(s)->pending = strdup(out.reply);
			sess_enter(s, W_RSET);
			up_command(s->up, "RSET", 4);
			return;
		}
		sess_say(s, out.reply, out.replylen);
		return;
	case FSM_A_RCPT:{
			char dom[RR_NAME_MAX];
			int same;

			snprintf(txn_w(s)->rcpt.addr, sizeof(txn_w(s)->rcpt.addr), "%s",
			    out.path.addr);
			txn_w(s)->rcpt.domain_off = out.path.domain_off;
			sess_rcpt_domain(txn_of(s)->rcpt.addr + txn_of(s)->rcpt.domain_off, dom,
			    sizeof(dom));
			same = rt_of(s)->plan && (dom[0] == 0 || strcmp(dom, rt_of(s)->plan->domain) == 0);
			if (hold_of(s)->on) {
				if (same) {
					sess_hold_rcpt(s);
				} else {
					/* Its own policy decides, in a transaction of its own. */
					hold_w(s)->starved = 1;
					sess_sayf(s, "452 4.5.3 Error: too many recipients (one "
					    "destination domain per transaction; try again)");
					fsm_rcpt_result(&s->fsm, 0);
				}
				return;
			}
			/* A failure belongs to its domain: another domain, with no
			 * recipient accepted yet, starts the transaction afresh. */
			if (txn_of(s)->fail[0] && !same && s->fsm.nrcpt_ok == 0)
				txn_w(s)->fail[0] = 0;
			if (txn_of(s)->fail[0]) {
				sess_sayf(s, "%s", txn_of(s)->fail);
				fsm_rcpt_result(&s->fsm, 0);
				return;
			}
			sess_do_rcpt(s);
			return;
		}
	case FSM_A_DATA:
		if (hold_of(s)->on) {
			/* The message decides (TLS-Required: No); take it first. */
			sess_sayf(s, "354 End data with <CR><LF>.<CR><LF>");
			sess_data_begin(s);
			return;
		}
		if (s->up == NULL) {
			sess_sayf(s, "%s", txn_of(s)->fail[0] ? txn_of(s)->fail
			    : "451 4.4.2 Error: lost connection with the MX");
			sess_txn_done(s);
			return;
		}
		sess_send_data(s);
		return;
	case FSM_A_STARTTLS:
		sess_say(s, out.reply, out.replylen);
		buf_reset(&s->c.in);		/* nothing sent before TLS counts */
		conn_pause(&s->c);
		sess_enter(s, W_TLS);
		return;
	case FSM_A_QUIT:
	case FSM_A_CLOSE:
		sess_say(s, out.reply, out.replylen);
		if (out.action == FSM_A_CLOSE)
			msg_warn("%s: too many errors from %s", s->id, s->client);
		buf_reset(&s->c.in);
		sess_enter(s, W_CLOSE);
		return;
	}
}

/* sess_run - take buffered input as far as the state allows */
void
sess_run(struct sess *s)
{
	while (!s->c.closed && s->wait == W_NONE) {
		size_t ll, used;
		int r;

		if (s->fsm.state == FSM_DATA) {
			if (!sess_relay_data(s))
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
	}
	if (s->c.closed)
		return;
	if (s->wait == W_NONE && s->fsm.state != FSM_DATA && buf_used(&s->c.in) == 0
	    && conn_pending(&s->c) == 0) {
		conn_trim(&s->c);		/* idle: hold no buffer memory */
		if (s->fsm.state == FSM_IDLE || s->fsm.state == FSM_START)
			sess_parts_trim(s);	/* ... nor a transaction's */
	}
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
		msg_info("%s: lost connection with %s: %s", s->id, s->client, conn_err(&s->c));
		sess_close(s, 1);
		return;
	}
	if (ev & CONN_TLS) {
		char info[160];

		tls_describe(s->c.ssl, info, sizeof(info));
		msg_info("%s: Anonymous TLS connection established from %s: %s",
		    s->id, s->client, info);
		fsm_tls_started(&s->fsm);
		sess_enter(s, W_NONE);
		conn_resume(&s->c);
	}
	if (ev & CONN_DRAIN) {
		if (s->wait == W_TLS && !s->c.ssl) {
			if (conn_starttls(&s->c, proxy.server_ctx, 1, NULL) < 0) {
				msg_warn("%s: cannot start TLS: %s", s->id, conn_err(&s->c));
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
		sess_sayf(s, "421 4.4.2 %s Error: too much time without commands "
		    "(client_idle_limit)", proxy.hostname);
	else
		sess_sayf(s, "421 4.4.2 %s Error: timeout exceeded", proxy.hostname);
	if (s->fsm.state == FSM_DATA && s->up) {
		up_abort(s->up);		/* the MX never sees an end of data */
		s->up = NULL;
		txn_mx_closed(s);
	}
	sess_enter(s, W_CLOSE);
	s->cmd_t0 = 0;
	buf_reset(&s->c.in);
	conn_pause(&s->c);
	/* If the old MTA does not even read, the next expiry closes. */
	sess_arm(s);
}

/* sess_drain_all - SIGTERM: idle sessions go now, busy ones after */
void
sess_drain_all(void)
{
	for (struct sess *s = proxy.sessions, *next; s; s = next) {
		next = s->next;
		if (s->wait == W_NONE && (s->fsm.state == FSM_START
			|| s->fsm.state == FSM_IDLE)) {
			sess_sayf(s, "421 4.3.2 %s Service shutting down, closing "
			    "transmission channel", proxy.hostname);
			sess_enter(s, W_CLOSE);
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
