/*
 * sess_hold.c - the TLS-Required: No hold (RFC 8689): recipients held
 * after a policy failure, the message kept (10 MiB a session, 256 MiB in
 * all), its header deciding, the replay with the policy waived; when a
 * hold would make another domain wait, and the memory of domains that
 * did.  See sess_int.h.
 */
#include "sess_int.h"

static int starve_known(const char *domain);
static int group_shape(struct sess *s);
static void replay_start(struct sess *s);

static size_t held_total;		/* octets held by all sessions */

/* sess_held_drop - forget the held message, and its share of held_total */
void
sess_held_drop(struct sess *s)
{
	if (s->hold_ == NULL)
		return;
	held_total -= buf_used(&s->hold_->msg);
	buf_reset(&s->hold_->msg);
	buf_release(&s->hold_->msg);
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

/* sess_starve_add - remember a domain that was held with others */
void
sess_starve_add(const char *domain)
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

/* sess_hold_data - keep the message of held recipients; at its end, its
 * TLS-Required header decides */
int
sess_hold_data(struct sess *s)
{
	size_t used;
	int over, r = sess_data_scan(s, &used, &over);

	if (!txn_of(s)->data_discard && (buf_used(&hold_of(s)->msg) + used > HOLD_MAX_DEFAULT
		|| held_total + used > HOLD_TOTAL_MAX)) {
		/* Too big to hold (alone, or with all the others held now):
		 * it gets the policy's answer, unread. */
		txn_w(s)->data_discard = 1;
		snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail), "%s", hold_w(s)->fail);
	}
	if (!txn_of(s)->data_discard) {
		if (buf_append(&hold_w(s)->msg, buf_head(&s->c.in), used) < 0) {
			txn_w(s)->data_discard = 1;
			snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail),
			    "451 4.3.0 Error: out of memory while receiving the message");
		} else {
			held_total += used;
		}
	}
	if (txn_of(s)->data_discard)
		sess_held_drop(s);
	buf_consume(&s->c.in, used);
	sess_data_credit(s, used);
	if (r == SMTP_EOD_MORE)
		return 0;		/* all taken but what waits for more */
	if (r == SMTP_EOD_BARE) {
		sess_refuse_smuggling(s);
		return 0;
	}
	if (!txn_of(s)->data_discard
	    && smtp_tls_required_no(buf_head(&hold_of(s)->msg), buf_used(&hold_of(s)->msg))) {
		replay_start(s);
		return 1;
	}
	if (!txn_of(s)->data_discard)
		snprintf(txn_w(s)->data_fail, sizeof(txn_w(s)->data_fail), "%s", hold_w(s)->fail);
	sess_sayf(s, "%s", txn_of(s)->data_fail);
	sess_log_txn(s, txn_of(s)->data_fail[0] == '5' ? "bounced" : "deferred", txn_of(s)->data_fail);
	sess_txn_done(s);
	return 1;
}

/* sess_hold_rcpt - accept a RCPT whose delivery waits for the message */
void
sess_hold_rcpt(struct sess *s)
{
	if (buf_append(&hold_w(s)->rcpts, txn_w(s)->rcpt.addr, strlen(txn_w(s)->rcpt.addr) + 1) < 0) {
		sess_sayf(s, "451 4.3.0 Error: out of memory");
		fsm_rcpt_result(&s->fsm, 0);
		return;
	}
	msg_info("%s: <%s>: held: %s; delivered only if the message says "
	    "TLS-Required: No (RFC 8689)", s->id, txn_of(s)->rcpt.addr, hold_of(s)->fail);
	sess_rcpt_add(s, txn_of(s)->rcpt.addr);
	sess_sayf(s, "250 2.1.5 Ok");
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
		sess_rcpt_domain(smtp_path_domain(&path), dom, sizeof(dom));
		if (dom[0] && strcmp(dom, rt_of(s)->plan->domain) != 0)
			return -1;
	}
	return 0;
}

/* sess_may_hold - hold a policy-failed recipient for TLS-Required: No only
 * where no other domain's recipient would wait behind it */
int
sess_may_hold(struct sess *s)
{
	int shape = group_shape(s);

	if (shape < 0) {
		msg_info("%s: not holding <%s>: the transaction names another domain "
		    "too; it gets its own policy's answer", s->id, txn_of(s)->rcpt.addr);
		return 0;
	}
	if (shape == 0 && starve_known(rt_of(s)->plan->domain)) {
		msg_info("%s: not holding <%s>: %s was held with another domain's "
		    "recipients lately", s->id, txn_of(s)->rcpt.addr, rt_of(s)->plan->domain);
		return 0;
	}
	return 1;
}

/* replay_start - the held message says TLS-Required: No: deliver it over
 * the best TLS the MX hosts offer, with the policy waived (RFC 8689 5),
 * through the same transfer as a live message (sess_xfer.c) */
static void
replay_start(struct sess *s)
{
	msg_info("%s: the message says TLS-Required: No: delivering to %s without "
	    "the policy that failed (%s)", s->id, rt_of(s)->plan->domain, hold_of(s)->fail);
	hold_w(s)->replay = 1;
	hold_w(s)->next = 0;
	hold_w(s)->ok = 0;
	hold_w(s)->rfail[0] = 0;
	rt_w(s)->icand = 0;
	rt_w(s)->lfail[0] = 0;
	sess_next_attempt(s);
}

/* sess_hold_rcpt_next - the next held recipient to the MX, then DATA; or
 * the outcome, when the MX refused some (all or nothing: the old MTA was
 * told 250 for every one) */
void
sess_hold_rcpt_next(struct sess *s)
{
	if (hold_of(s)->next < buf_used(&hold_of(s)->rcpts)) {
		const char *addr = buf_head(&hold_of(s)->rcpts) + hold_of(s)->next;

		hold_w(s)->next += strlen(addr) + 1;
		sess_send_rcpt(s, addr);
		return;
	}
	if (hold_of(s)->ok == 0) {
		sess_xfer_finish(s, hold_of(s)->rfail, NULL);
		return;
	}
	if (hold_of(s)->rfail[0]) {
		char why[REASON_MAX + 80];

		snprintf(why, sizeof(why), "451 4.3.0 Error: a recipient was refused "
		    "(%s); message not sent", hold_of(s)->rfail);
		sess_xfer_finish(s, why, NULL);
		return;
	}
	sess_send_data(s);
}

/* sess_hold_rcpt_result - the MX answered a held recipient */
void
sess_hold_rcpt_result(struct sess *s, const struct smtp_reply *r)
{
	if (r->code / 100 == 2)
		hold_w(s)->ok++;
	else
		sess_reply_text(r, hold_w(s)->rfail, sizeof(hold_w(s)->rfail));
	sess_hold_rcpt_next(s);
}
