/*
 * sess_xfer.c - MAIL and RCPT replayed to the MX, the DATA relay with
 * back-pressure and the end-of-data rule, the MX's replies and their
 * checks (only 354 opens DATA), the end of a transaction.  See
 * sess_int.h.
 *
 * One transfer, two sources.  A live transaction takes its recipients
 * and message octets from the old MTA as they come, and each MX reply is
 * relayed at once.  A held message (TLS-Required: No, sess_hold.c) takes
 * them from the hold: the same MAIL, RCPT, DATA and end-of-data steps,
 * the same reply checks, but the old MTA, which has its 250s already,
 * hears only the outcome.  Where the two differ is said in three places:
 * txn_refused() (before DATA), rcpt_result() and data_open().
 */
#include "sess_int.h"

static void quiet_rset(struct sess *s);
static void txn_refused(struct sess *s, const char *text, const struct smtp_reply *r);
static void rcpt_result(struct sess *s, const struct smtp_reply *r);
static void data_open(struct sess *s, struct up *u,
    const struct smtp_reply *r);
static void data_write(struct sess *s, const void *p, size_t n);
static void data_end(struct sess *s);
static int reply_fits(enum sess_wait w, int code);
static const char *wait_cmd(enum sess_wait w);
static void mx_gone(struct sess *s, enum sess_wait w, const char *text);
static void mx_protocol_error(struct sess *s, struct up *u,
    const struct up_info *ui, const struct smtp_reply *r);
static void up_ready(struct sess *s, struct up *u, const struct up_info *ui);
static int up_reply(struct sess *s, struct up *u, const struct up_info *ui,
    const struct smtp_reply *r);
static void up_failed(struct sess *s, const struct up_info *ui);
static void up_probed(struct sess *s, struct up *u, enum up_event ev,
    const struct up_info *ui, const struct smtp_reply *r);

/* sess_relay_reply - the MX's reply, every line, to the old MTA */
void
sess_relay_reply(struct sess *s, const struct smtp_reply *r)
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
			sess_say(s, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
		p = nl ? nl + 1 : end;
	}
}

/* sess_reply_text - "code text" of an MX reply, one line, for reasons */
const char *
sess_reply_text(const struct smtp_reply *r, char *buf, size_t len)
{
	return smtp_reply_line1(r, buf, len);
}

/* sess_mail_line - MAIL FROM as the old MTA said it, adapted to the MX */
int
sess_mail_line(struct sess *s, char *line, size_t size)
{
	const struct smtp_ehlo *e = &up_info(s->up)->ehlo;
	int n = snprintf(line, size, "MAIL FROM:<%s>", fsm_mail(&s->fsm));

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
		    s->id, up_info(s->up)->peer);
	return n;
}

/* sess_send_mail - replay MAIL FROM, adapted to what the MX offers */
void
sess_send_mail(struct sess *s)
{
	const struct smtp_ehlo *e = &up_info(s->up)->ehlo;
	char line[SMTP_PATH_MAX + 200];
	int n;

	if (s->fsm.smtputf8 && !e->smtputf8) {
		char why[REASON_MAX];

		snprintf(why, sizeof(why), "550 5.6.7 SMTPUTF8 is required, but was "
		    "not offered by host %s", up_info(s->up)->peer);
		txn_refused(s, why, NULL);
		return;
	}
	n = sess_mail_line(s, line, sizeof(line));
	rt_w(s)->up_clean = 0;		/* a transaction is open at the MX */
	sess_enter(s, W_MAIL);
	/* A held message's recipients go one by one: its MX's refusal of
	 * MAIL is then its one outcome, relayed whole. */
	if (e->pipelining && !hold_of(s)->replay) {
		/* MAIL and the first RCPT in one write: one round trip less. */
		char rl[SMTP_PATH_MAX + 16];
		int rn = snprintf(rl, sizeof(rl), "RCPT TO:<%s>", txn_of(s)->rcpt.addr);

		txn_w(s)->mail_pipelined = 1;
		up_command2(s->up, line, (size_t) n, rl, (size_t) rn);
		return;
	}
	txn_w(s)->mail_pipelined = 0;
	up_command(s->up, line, (size_t) n);
}

/* sess_send_rcpt - replay RCPT TO (the old MTA's in flight, or a held one) */
void
sess_send_rcpt(struct sess *s, const char *addr)
{
	char line[SMTP_PATH_MAX + 16];
	int n = snprintf(line, sizeof(line), "RCPT TO:<%s>", addr);

	sess_enter(s, W_RCPT);
	up_command(s->up, line, (size_t) n);
}

/* sess_send_data - DATA to the MX */
void
sess_send_data(struct sess *s)
{
	sess_enter(s, W_DATA);
	up_command(s->up, "DATA", 4);
}

/* txn_refused - the transaction failed before DATA.  Live: the RCPT in
 * flight hears text (or the MX's reply r) and so does every later one;
 * held: that is the message's outcome */
static void
txn_refused(struct sess *s, const char *text, const struct smtp_reply *r)
{
	if (hold_of(s)->replay) {
		sess_xfer_finish(s, text, r);
		return;
	}
	snprintf(txn_w(s)->fail, sizeof(txn_w(s)->fail), "%s", text);
	if (r)
		sess_relay_reply(s, r);
	else
		sess_sayf(s, "%s", text);
	sess_log_rcpt(s, txn_of(s)->rcpt.addr, s->up != NULL, text[0] == '5' ? "bounced"
	    : "deferred", text);
	fsm_rcpt_result(&s->fsm, 0);
	sess_enter(s, W_NONE);
}

/* rcpt_result - the MX answered a RCPT.  Live: the old MTA hears it and
 * sends its next command; held: the next held recipient, or DATA */
static void
rcpt_result(struct sess *s, const struct smtp_reply *r)
{
	int ok = r->code / 100 == 2;

	if (hold_of(s)->replay) {
		sess_hold_rcpt_result(s, r);
		return;
	}
	sess_relay_reply(s, r);
	fsm_rcpt_result(&s->fsm, ok);
	if (ok) {
		sess_rcpt_add(s, txn_of(s)->rcpt.addr);
	} else {
		char l1[REASON_MAX];

		sess_log_rcpt(s, txn_of(s)->rcpt.addr, 1, r->code / 100 == 5 ? "bounced"
		    : "deferred", sess_reply_text(r, l1, sizeof(l1)));
	}
	sess_enter(s, W_NONE);
}

/* data_open - the MX said 354.  Live: so does the old MTA, and its
 * octets follow (sess_relay_data); held: the held message, all of it */
static void
data_open(struct sess *s, struct up *u, const struct smtp_reply *r)
{
	up_data_begin(u);
	if (hold_of(s)->replay) {
		data_write(s, buf_head(&hold_of(s)->msg), buf_used(&hold_of(s)->msg));
		data_end(s);
		return;
	}
	sess_relay_reply(s, r);
	sess_enter(s, W_NONE);
	sess_data_begin(s);
}

/* data_write - message octets to the MX; when they cannot be queued the
 * MX is given up (data_fail says why, data_end() says it) */
static void
data_write(struct sess *s, const void *p, size_t n)
{
	if (txn_of(s)->data_discard || s->up == NULL)
		return;
	if (up_data_write(s->up, p, n) < 0) {
		txn_w(s)->data_discard = 1;
		snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail),
		    "451 4.3.0 Error: out of memory while relaying the message");
		up_abort(s->up);
		s->up = NULL;
	}
}

/* data_end - the end of data is in: the final dot goes to the MX, or the
 * message that could not be sent gets its reply */
static void
data_end(struct sess *s)
{
	if (txn_of(s)->data_discard || s->up == NULL) {
		if (!txn_of(s)->data_fail[0])
			snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail),
			    "451 4.4.2 Error: lost connection with the MX");
		sess_xfer_finish(s, txn_of(s)->data_fail, NULL);
		return;
	}
	up_data_end(s->up);
	sess_enter(s, W_DOT);
}

/* sess_xfer_finish - the transaction's outcome (text, or the MX's reply
 * r), to the old MTA and the log; the MX has no transaction open */
void
sess_xfer_finish(struct sess *s, const char *text, const struct smtp_reply *r)
{
	char detail[REASON_MAX + 40];

	if (r)
		sess_relay_reply(s, r);
	else
		sess_sayf(s, "%s", text);
	sess_enter(s, W_NONE);
	if (hold_of(s)->replay) {
		snprintf(detail, sizeof(detail), "%s; TLS-Required: No", text);
		text = detail;
		/* An upstream opened with the policy waived serves nothing else. */
		if (s->up) {
			up_quit(s->up);
			s->up = NULL;
		}
	}
	sess_log_txn(s, text[0] == '2' ? "sent" : text[0] == '5' ? "bounced" : "deferred",
	    text);
	txn_mx_closed(s);
	sess_txn_done(s);
}

/* summary_policy_of - the policy= word of the session's attempt: the
 * upstream's level (upstream), else the route's (its first candidate, or
 * the result type that refused) */
static const char *
summary_policy_of(const struct sess *s, int upstream, char *buf, size_t len)
{
	const struct route *r = rt_of(s)->route;
	enum route_level l = ROUTE_MAY;

	if (upstream)
		l = rt_of(s)->relay_level;
	else if (r && r->ncands > 0 && r->verdict == ROUTE_TRY)
		l = r->cands[0].level;
	else if (r && rtype_is_dane(r->rtype))
		l = ROUTE_DANE;
	else if (r && rtype_is_sts(r->rtype))
		l = ROUTE_STS;
	/* a held message goes out with its policy waived: no table either */
	return summary_policy(l, rt_of(s)->has_tab && !(upstream && hold_of(s)->replay),
	    rt_of(s)->tab.level, buf, len);
}

/* sess_log_rcpt - the delivery summary of one recipient (summary.h):
 * through the session's upstream (upstream), or with none */
void
sess_log_rcpt(struct sess *s, const char *rcpt, int upstream, const char *status,
    const char *detail)
{
	struct summary sm;
	struct log_field f[SUMMARY_NFIELDS];
	char to[SUMMARY_ADDR_MAX + 3], pol[48];
	size_t n;

	upstream = upstream && rt_of(s)->relay[0];
	memset(&sm, 0, sizeof(sm));
	sm.to = rcpt;
	sm.from = fsm_mail(&s->fsm);
	sm.relay = upstream ? rt_of(s)->relay : "none";
	sm.tls = upstream ? rt_of(s)->relay_tls : "none";
	sm.policy = summary_policy_of(s, upstream, pol, sizeof(pol));
	sm.verified = upstream && rt_of(s)->relay_verified;
	sm.size = (unsigned long long) txn_of(s)->data_bytes;
	sm.status = status;
	sm.detail = detail;
	n = summary_fields(&sm, f, to, sizeof(to));
	msg_fields(s->id, f, n);
}

/* sess_log_txn - the transaction's outcome: one summary line for each
 * recipient the MX (or the hold) accepted, as Postfix's smtp logs one per
 * recipient of a delivery */
void
sess_log_txn(struct sess *s, const char *status, const char *detail)
{
	const char *p = buf_head(&txn_of(s)->rcpts);
	size_t used = buf_used(&txn_of(s)->rcpts), off = 0;

	if (used == 0) {
		sess_log_rcpt(s, "", s->up != NULL || rt_of(s)->relay[0], status, detail);
		return;
	}
	while (off < used) {
		sess_log_rcpt(s, p + off, 1, status, detail);
		off += strlen(p + off) + 1;
	}
}

/* sess_rcpt_add - a recipient accepted in this transaction, for the log */
void
sess_rcpt_add(struct sess *s, const char *addr)
{
	if (buf_append(&txn_w(s)->rcpts, addr, strlen(addr) + 1) < 0)
		msg_warn("%s: out of memory for the recipient list of the log", s->id);
}

/* sess_txn_clear - forget our side of the transaction */
void
sess_txn_clear(struct sess *s)
{
	struct sess_txn *t = s->txn_;
	struct sess_hold *h = s->hold_;

	if (s->rt_)
		s->rt_->fresh = 0;	/* the next transaction looks policy up again */
	if (t) {
		t->fail[0] = 0;
		buf_reset(&t->rcpts);
		buf_release(&t->rcpts);
		t->data_bytes = 0;
		t->data_discard = 0;
		t->data_fail[0] = 0;
	}
	s->data_deadline = 0;
	if (h) {
		if (h->starved && rt_of(s)->plan)
			sess_starve_add(rt_of(s)->plan->domain);
		h->starved = 0;
		h->on = 0;
		h->fail[0] = 0;
		buf_reset(&h->rcpts);
		buf_release(&h->rcpts);
		sess_held_drop(s);
		h->replay = 0;
	}
}

/* sess_txn_done - the transaction ended; drain if asked */
void
sess_txn_done(struct sess *s)
{
	fsm_txn_end(&s->fsm);
	sess_txn_clear(s);
	conn_trim(&s->c);
	if (s->up)
		up_trim(s->up);
	if (s->drain_after_txn) {
		sess_sayf(s, "421 4.3.2 %s Service shutting down, closing transmission channel",
		    proxy.hostname);
		sess_enter(s, W_CLOSE);
	}
}

/* quiet_rset - reset the MX after a failed DATA; nobody waits for it */
static void
quiet_rset(struct sess *s)
{
	if (s->txn_) {
		free(s->txn_->pending);
		s->txn_->pending = NULL;
	}
	if (s->up && txn_of(s)->mx_open) {
		sess_enter(s, W_RSET);
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
void
sess_refuse_smuggling(struct sess *s)
{
	if (s->up) {
		up_abort(s->up);
		s->up = NULL;
	}
	txn_mx_closed(s);
	if (!txn_of(s)->data_discard)		/* else data_fail says why already */
		snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail), "554 5.5.2 Error: bare <CR> "
		    "or <LF> next to the end-of-data dot (SMTP smuggling?); message not "
		    "sent; closing the connection");
	msg_warn("%s: a lone dot next to a bare <CR> or <LF> in the message from %s: "
	    "transaction aborted, connection closed", s->id, s->client);
	sess_sayf(s, "%s", txn_of(s)->data_fail);
	sess_log_txn(s, "bounced", txn_of(s)->data_fail);
	fsm_txn_end(&s->fsm);
	sess_txn_clear(s);
	buf_reset(&s->c.in);		/* nothing after it is ever a command */
	conn_pause(&s->c);
	sess_enter(s, W_CLOSE);
}

/* sess_relay_data - move message bytes from the old MTA to the MX */
int
sess_relay_data(struct sess *s)
{
	size_t used;
	int r, over;

	if (buf_used(&s->c.in) == 0)
		return 0;
	if (hold_of(s)->on)
		return sess_hold_data(s);
	r = sess_data_scan(s, &used, &over);
	if (over && s->up) {
		up_abort(s->up);	/* the MX never sees an end of data */
		s->up = NULL;
	}
	data_write(s, buf_head(&s->c.in), used);
	buf_consume(&s->c.in, used);
	sess_data_credit(s, used);
	if (r == SMTP_EOD_BARE) {
		sess_refuse_smuggling(s);
		return 0;
	}
	if (r == SMTP_EOD_END) {
		data_end(s);
		return 1;
	}
	if (s->up && up_pending(s->up) > DATA_HIGH_WATER)
		conn_pause(&s->c);
	return 0;			/* all taken but what waits for more */
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
mx_protocol_error(struct sess *s, struct up *u, const struct up_info *ui,
    const struct smtp_reply *r)
{
	char l1[REASON_MAX], why[REASON_MAX];
	enum sess_wait w = s->wait;

	sess_reply_text(r, l1, sizeof(l1));
	snprintf(why, sizeof(why), "451 4.5.0 Error: protocol error: host %s "
	    "answered %s with \"%.200s\"", ui->peer, wait_cmd(w), l1);
	msg_warn("%s: %s", s->id, why + 10);
	(void) sess_journal(s, ui, rt_of(s)->cur_host, rt_of(s)->cur_ptype, NULL,
	    RTYPE_CONNECTION_FAILURE, "smtp-protocol-error", RACTION_FAILED);
	up_abort(u);
	s->up = NULL;
	txn_mx_closed(s);
	mx_gone(s, w, why);
}

/* mx_gone - the upstream is gone while the MX's answer to w was due:
 * what the old MTA waits for is text */
static void
mx_gone(struct sess *s, enum sess_wait w, const char *text)
{
	switch (w) {
	case W_MAIL:
	case W_RCPT:
		txn_refused(s, text, NULL);
		break;
	case W_DATA:
	case W_DOT:
		sess_xfer_finish(s, text, NULL);
		break;
	case W_RSET:
		sess_enter(s, W_NONE);
		sess_say_pending(s);
		break;
	default:			/* W_RCPT_SKIP: it has its answer already */
		sess_enter(s, W_NONE);
		break;
	}
}

/* up_ready - the upstream is ready: MAIL (or the held message's) */
static void
up_ready(struct sess *s, struct up *u, const struct up_info *ui)
{
	/* Remember the MX for the log: the upstream may be gone by then. */
	snprintf(rt_w(s)->relay, sizeof(rt_w(s)->relay), "%s", ui->peer);
	snprintf(rt_w(s)->relay_tls, sizeof(rt_w(s)->relay_tls), "%s", ui->tls_version);
	rt_w(s)->relay_level = ui->level;
	rt_w(s)->relay_verified = ui->verified;
	if (rt_of(s)->early == EARLY_CONNECT) {
		rt_w(s)->early = EARLY_READY;	/* parked until the first RCPT */
		msg_info("%s: early: upstream %s ready (%s) before RCPT", s->id, ui->peer,
		    ui->tls_version[0] ? ui->tls_version : "no TLS");
	}
	if (s->wait != W_CONNECT)
		return;
	/* A cached connection is no new attempt: its own was journaled. */
	if (!rt_of(s)->up_reused && sess_record_ready(s, ui) < 0 && proxy.cfg.journal_required) {
		up_quit(u);
		s->up = NULL;
		txn_refused(s, "451 4.3.0 Error: the attempt could not be recorded "
		    "(journal_required = yes)", NULL);
		return;
	}
	sess_send_mail(s);
}

/* up_reply - the MX answered; 0 when the session must not run on */
static int
up_reply(struct sess *s, struct up *u, const struct up_info *ui,
    const struct smtp_reply *r)
{
	char l1[REASON_MAX];

	if (!reply_fits(s->wait, r->code)) {
		mx_protocol_error(s, u, ui, r);
		return 1;
	}
	switch (s->wait) {
	case W_MAIL:
		if (r->code / 100 == 2) {
			txn_w(s)->mx_open = 1;
			if (txn_of(s)->mail_pipelined)
				sess_enter(s, W_RCPT);	/* its reply is next */
			else if (hold_of(s)->replay)
				sess_hold_rcpt_next(s);
			else
				sess_send_rcpt(s, txn_of(s)->rcpt.addr);
			return 0;
		}
		/* The MX refused the sender: every RCPT hears why. */
		txn_refused(s, sess_reply_text(r, l1, sizeof(l1)), r);
		if (txn_of(s)->mail_pipelined) {
			sess_enter(s, W_RCPT_SKIP);	/* the RCPT's reply is still due */
			return 0;
		}
		break;
	case W_RCPT_SKIP:
		sess_enter(s, W_NONE);	/* (a 503, surely) nobody needs it */
		break;
	case W_RCPT:
		rcpt_result(s, r);
		break;
	case W_DATA:
		if (r->code == 354) {
			data_open(s, u, r);
		} else if (hold_of(s)->replay) {
			sess_xfer_finish(s, sess_reply_text(r, l1, sizeof(l1)), r);
		} else {
			sess_relay_reply(s, r);
			sess_enter(s, W_NONE);
			sess_log_txn(s, r->code / 100 == 5 ? "bounced" : "deferred",
			    sess_reply_text(r, l1, sizeof(l1)));
			fsm_txn_end(&s->fsm);
			sess_txn_clear(s);
			quiet_rset(s);
		}
		break;
	case W_DOT:
		rt_w(s)->up_clean = r->code / 100 == 2;
		sess_xfer_finish(s, sess_reply_text(r, l1, sizeof(l1)), r);
		break;
	case W_RSET:
		rt_w(s)->up_clean = r->code / 100 == 2;
		txn_mx_closed(s);
		sess_enter(s, W_NONE);
		sess_say_pending(s);
		break;
	default:
		msg_warn("%s: unexpected reply from %s in state %s", s->id,
		    ui->peer, sess_state_str(s->wait));
		break;
	}
	return 1;
}

/* up_failed - the upstream is gone (the reaper has it) */
static void
up_failed(struct sess *s, const struct up_info *u)
{
	char l1[REASON_MAX];

	s->up = NULL;			/* the reaper has it */
	txn_mx_closed(s);
	if (sess_early_up_failed(s, u))
		return;
	if (s->wait != W_CONNECT)
		msg_info("%s: %s", s->id, u->why);
	snprintf(l1, sizeof(l1), "451 %s %s", u->enh, u->why);
	if (s->wait == W_CONNECT)
		sess_record_fail(s, u);
	switch (s->wait) {
	case W_CONNECT:
		/* A held message's policy is waived: no failure is the policy's. */
		sess_attempt_failed(s, u->peer, u->enh, hold_of(s)->replay ? RTYPE_NONE : u->rtype,
		    hold_of(s)->replay ? NULL : u->rcode, u->why);
		sess_next_attempt(s);
		break;
	case W_RCPT_SKIP:
	case W_MAIL:
	case W_RCPT:
	case W_DATA:
	case W_DOT:
	case W_RSET:
		mx_gone(s, s->wait, l1);
		break;
	default:
		if (s->fsm.state == FSM_DATA) {
			txn_w(s)->data_discard = 1;
			snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail), "%s", l1);
			if (s->c.paused)
				conn_resume(&s->c);
		} else if (s->fsm.state == FSM_RCPT || s->fsm.state == FSM_MAIL) {
			snprintf(txn_w(s)->fail, sizeof(txn_w(s)->fail), "%s", l1);
		}
		break;
	}
}

/* sess_up_adopt - the first RCPT takes the early upstream that is ready
 * already: journaled now, then MAIL (the session is in W_CONNECT) */
void
sess_up_adopt(struct sess *s)
{
	up_ready(s, s->up, up_info(s->up));
}

/* up_probed - the RSET on a connection taken from the cache: accepted,
 * it is this attempt's upstream, ready (a hit); refused or dead, it is
 * dropped and a new connection made, the old MTA none the wiser */
static void
up_probed(struct sess *s, struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r)
{
	char l1[REASON_MAX];

	if (ev == UP_DRAIN)
		return;
	rt_w(s)->up_probe = 0;
	if (ev == UP_REPLY && r->code / 100 == 2) {
		rt_w(s)->up_reused = 1;
		metrics.upc_hits++;
		msg_info("%s: upstream cache hit: %s (%s), RSET accepted", s->id, ui->peer,
		    ui->tls_version);
		up_ready(s, u, ui);
		return;
	}
	if (ev == UP_REPLY) {
		msg_info("%s: upstream cache: %s refused RSET: %s; connecting afresh", s->id,
		    ui->peer, sess_reply_text(r, l1, sizeof(l1)));
		metrics_upc_dropped(METRICS_UPC_RSET);
		up_quit(u);
	} else {
		msg_info("%s: upstream cache: %s: %s; connecting afresh", s->id, ui->peer,
		    ui->why);
		metrics_upc_dropped(METRICS_UPC_DEAD);
	}
	s->up = NULL;
	sess_up_retry(s);
}

/* sess_on_up - events from the upstream connection */
void
sess_on_up(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg)
{
	struct sess *s = arg;

	if (rt_of(s)->up_probe && u == s->up) {
		up_probed(s, u, ev, ui, r);
		if (!s->c.closed)
			sess_run(s);
		return;
	}
	switch (ev) {
	case UP_READY:
		up_ready(s, u, ui);
		break;
	case UP_DRAIN:
		if (s->c.paused && s->fsm.state == FSM_DATA && s->wait == W_NONE)
			conn_resume(&s->c);
		break;
	case UP_REPLY:
		if (!up_reply(s, u, ui, r))
			return;
		break;
	case UP_FAIL:
		up_failed(s, ui);
		break;
	}
	if (!s->c.closed)
		sess_run(s);
}
