/*
 * fsm.c - the client-side SMTP protocol state machine.  See fsm.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsm.h"

/* fsm_state_str - state name for logs */
const char *
fsm_state_str(enum fsm_state s)
{
	static const char *names[] = {"START", "IDLE", "MAIL", "RCPT", "DATA", "QUIT"};

	return (unsigned) s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* fsm_init - a new session (tls: the connection is already TLS) */
void
fsm_init(struct fsm *f, const struct fsm_conf *conf, int tls)
{
	memset(f, 0, sizeof(*f));
	f->conf = conf;
	f->state = FSM_START;
	f->tls = tls;
}

/* fsm_free - release what the session's names took; f stays usable */
void
fsm_free(struct fsm *f)
{
	free(f->helo);
	free(f->mail);
	f->helo = f->mail = NULL;
}

/* txn_reset - forget the transaction */
static void
txn_reset(struct fsm *f)
{
	free(f->mail);
	f->mail = NULL;
	f->nrcpt = f->nrcpt_ok = 0;
	f->body_8bit = f->body_7bit = f->smtputf8 = 0;
	f->size = 0;
}

/* reply - set a one-line reply and the action */
__attribute__((format(printf, 3, 4)))
static void
reply(struct fsm_out *out, enum fsm_action a, const char *fmt, ...)
{
	va_list ap;
	int n;

	out->action = a;
	va_start(ap, fmt);
	n = vsnprintf(out->reply, sizeof(out->reply) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t) n > sizeof(out->reply) - 3)
		n = (int) sizeof(out->reply) - 3;
	out->reply[n++] = '\r';
	out->reply[n++] = '\n';
	out->reply[n] = 0;
	out->replylen = (size_t) n;
}

/* error - an error reply; too many and the session ends */
__attribute__((format(printf, 3, 4)))
static void
error(struct fsm *f, struct fsm_out *out, const char *fmt, ...)
{
	char text[FSM_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (++f->errors >= FSM_MAX_ERRORS) {
		f->state = FSM_QUIT;
		reply(out, FSM_A_CLOSE, "421 4.7.0 %s Error: too many errors",
		    f->conf->hostname);
		return;
	}
	reply(out, FSM_A_REPLY, "%s", text);
}

/* do_helo - HELO and EHLO */
static void
do_helo(struct fsm *f, const struct smtp_cmd *c, int ehlo, struct fsm_out *out)
{
	size_t n = c->argslen;
	char *name;

	if (n == 0) {
		error(f, out, "501 5.5.4 Syntax: %s hostname", ehlo ? "EHLO" : "HELO");
		return;
	}
	/* The name is logged and passed on: printable, no spaces, bounded. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char) c->args[i];

		if (ch <= 0x20 || ch == 0x7f) {
			error(f, out, "501 5.5.4 Syntax: %s hostname", ehlo ? "EHLO" : "HELO");
			return;
		}
	}
	if (n >= FSM_HELO_MAX) {
		error(f, out, "501 5.5.4 Syntax: host name too long");
		return;
	}
	if ((name = strndup(c->args, n)) == NULL) {
		reply(out, FSM_A_REPLY, "451 4.3.0 Error: out of memory");
		return;
	}
	free(f->helo);
	f->helo = name;
	f->esmtp = ehlo;
	txn_reset(f);
	f->state = FSM_IDLE;
	if (!ehlo) {
		reply(out, FSM_A_HELO, "250 %s", f->conf->hostname);
	} else {
		char size[40];
		int starttls = f->conf->offer_starttls && !f->tls;
		int n2;

		if (f->conf->size_limit)
			snprintf(size, sizeof(size), "SIZE %llu",
			    (unsigned long long) f->conf->size_limit);
		else
			snprintf(size, sizeof(size), "SIZE");
		out->action = FSM_A_HELO;
		n2 = snprintf(out->reply, sizeof(out->reply),
		    "250-%s\r\n250-PIPELINING\r\n250-%s\r\n%s"
		    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
		    f->conf->hostname, size, starttls ? "250-STARTTLS\r\n" : "");
		out->replylen = n2 > 0 && (size_t) n2 < sizeof(out->reply) ? (size_t) n2 : 0;
	}
}

/* do_mail - MAIL FROM */
static void
do_mail(struct fsm *f, const struct smtp_cmd *c, struct fsm_out *out)
{
	const char *why;
	int r;
	struct smtp_path *p = &out->path;

	if (f->state == FSM_START) {
		error(f, out, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (f->state != FSM_IDLE) {
		error(f, out, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if ((r = smtp_path_parse(c->args, SMTP_KIND_MAIL, p, &why)) < 0) {
		error(f, out, "501 %s %s", r == SMTP_PATH_BADADDR ? "5.1.7" : "5.5.4", why);
		return;
	}
	txn_reset(f);
	for (int i = 0; i < p->nparams; i++) {
		const struct smtp_param *prm = &p->params[i];

		if (!f->esmtp) {
			error(f, out, "555 5.5.4 Unsupported option: %s", prm->key);
			return;
		}
		if (strcmp(prm->key, "SIZE") == 0) {
			uint64_t v = 0;

			if (!prm->has_value || strspn(prm->value, "0123456789")
			    != strlen(prm->value) || strlen(prm->value) > 18) {
				error(f, out, "501 5.5.4 Bad message size syntax");
				return;
			}
			for (const char *d = prm->value; *d; d++)
				v = v * 10 + (uint64_t) (*d - '0');
			if (f->conf->size_limit && v > f->conf->size_limit) {
				error(f, out, "552 5.3.4 Message size exceeds fixed limit");
				return;
			}
			f->size = v;
		} else if (strcmp(prm->key, "BODY") == 0) {
			if (prm->has_value && strcasecmp(prm->value, "8BITMIME") == 0)
				f->body_8bit = 1;
			else if (prm->has_value && strcasecmp(prm->value, "7BIT") == 0)
				f->body_7bit = 1;
			else {
				error(f, out, "501 5.5.4 Unsupported BODY parameter value");
				return;
			}
		} else if (strcmp(prm->key, "SMTPUTF8") == 0) {
			if (prm->has_value) {
				error(f, out, "501 5.5.4 SMTPUTF8 takes no value");
				return;
			}
			f->smtputf8 = 1;
		} else {
			error(f, out, "555 5.5.4 Unsupported option: %s", prm->key);
			return;
		}
	}
	if (p->utf8 && !f->smtputf8) {
		error(f, out, "553 5.6.7 Must declare SMTPUTF8 to send UTF-8 address");
		return;
	}
	free(f->mail);
	if ((f->mail = strdup(p->addr)) == NULL) {
		reply(out, FSM_A_REPLY, "451 4.3.0 Error: out of memory");
		return;
	}
	f->state = FSM_MAIL;
	reply(out, FSM_A_MAILFROM, "250 2.1.0 Ok");
}

/* do_rcpt - RCPT TO */
static void
do_rcpt(struct fsm *f, const struct smtp_cmd *c, struct fsm_out *out)
{
	const char *why;
	int r;
	struct smtp_path *p = &out->path;

	if (f->state != FSM_MAIL && f->state != FSM_RCPT) {
		error(f, out, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((r = smtp_path_parse(c->args, SMTP_KIND_RCPT, p, &why)) < 0) {
		error(f, out, "501 %s %s", r == SMTP_PATH_BADADDR ? "5.1.3" : "5.5.4", why);
		return;
	}
	if (p->nparams > 0) {
		error(f, out, "555 5.5.4 Unsupported option: %s", p->params[0].key);
		return;
	}
	if (p->utf8 && !f->smtputf8) {
		error(f, out, "553 5.6.7 Must declare SMTPUTF8 to send UTF-8 address");
		return;
	}
	if (f->nrcpt >= FSM_MAX_RCPTS) {
		reply(out, FSM_A_REPLY, "452 4.5.3 Error: too many recipients");
		return;
	}
	f->nrcpt++;
	out->action = FSM_A_RCPT;
	out->replylen = 0;
	out->reply[0] = 0;
}

/* unparsed - the reply to a line smtp_cmd_parse() refused */
static void
unparsed(struct fsm *f, const char *buf, size_t len, const struct smtp_cmd *c,
    struct fsm_out *out)
{
	if (c->verb == SMTP_BAD && memchr(buf, '\r', len) != NULL) {
		/* A bare CR: a second command to a server that ends lines
		 * there.  In MAIL and RCPT it is the address's. */
		if (len >= 4 && strncasecmp(buf, "MAIL", 4) == 0)
			error(f, out, "501 5.1.7 Syntax: control character in address");
		else if (len >= 4 && strncasecmp(buf, "RCPT", 4) == 0)
			error(f, out, "501 5.1.3 Syntax: control character in address");
		else
			error(f, out, "500 5.5.2 Error: bare <CR> in command");
	} else if (c->verb == SMTP_BAD) {
		error(f, out, "500 5.5.2 Error: bad syntax");
	} else {
		error(f, out, "500 5.5.2 Error: command not recognized");
	}
}

/* The commands whose answer is always the same: a reply, or (error) one
 * that counts towards too many errors. */
static const struct fixed {
	enum smtp_verb verb;
	int error;
	const char *text;
} fixed[] = {
	{SMTP_NOOP, 0, "250 2.0.0 Ok"},
	{SMTP_VRFY, 0, "252 2.0.0 Cannot VRFY user, but will accept message and "
	    "attempt delivery"},
	{SMTP_HELP, 0, "214 2.0.0 See RFC 5321"},
	{SMTP_EXPN, 1, "502 5.5.1 Error: EXPN is not available"},
	{SMTP_BDAT, 1, "502 5.5.1 Error: command not implemented"},
	{SMTP_AUTH, 1, "502 5.5.1 Error: command not implemented"},
	{SMTP_ETRN, 1, "502 5.5.1 Error: command not implemented"},
};

/* fixed_reply - the fixed answer to verb; any other is not recognized */
static void
fixed_reply(struct fsm *f, enum smtp_verb verb, struct fsm_out *out)
{
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (fixed[i].verb != verb)
			continue;
		if (fixed[i].error)
			error(f, out, "%s", fixed[i].text);
		else
			reply(out, FSM_A_REPLY, "%s", fixed[i].text);
		return;
	}
	error(f, out, "500 5.5.2 Error: command not recognized");
}

/* fsm_command - one command line from the old MTA */
void
fsm_command(struct fsm *f, const char *line, size_t len, struct fsm_out *out)
{
	struct smtp_cmd c;
	char buf[SMTP_LINE_MAX + 1];

	out->replylen = 0;
	out->reply[0] = 0;
	if (len > SMTP_LINE_MAX) {
		error(f, out, "500 5.5.2 Error: line too long");
		return;
	}
	memcpy(buf, line, len);
	buf[len] = 0;
	if (smtp_cmd_parse(buf, len, &c) < 0) {
		unparsed(f, buf, len, &c, out);
		return;
	}
	((char *) c.args)[c.argslen] = 0;
	switch (c.verb) {
	case SMTP_HELO:
		do_helo(f, &c, 0, out);
		return;
	case SMTP_EHLO:
		do_helo(f, &c, 1, out);
		return;
	case SMTP_STARTTLS:
		if (!f->conf->offer_starttls) {
			error(f, out, "502 5.5.1 Error: command not implemented");
		} else if (f->tls) {
			error(f, out, "554 5.5.1 Error: TLS already active");
		} else if (c.argslen) {
			error(f, out, "501 5.5.4 Syntax: STARTTLS");
		} else if (f->state == FSM_START) {
			error(f, out, "503 5.5.1 Error: send EHLO first");
		} else if (f->state != FSM_IDLE) {
			error(f, out, "503 5.5.1 Error: MAIL transaction in progress");
		} else {
			reply(out, FSM_A_STARTTLS, "220 2.0.0 Ready to start TLS");
		}
		return;
	case SMTP_MAIL:
		do_mail(f, &c, out);
		return;
	case SMTP_RCPT:
		do_rcpt(f, &c, out);
		return;
	case SMTP_DATA:
		if (c.argslen) {
			error(f, out, "501 5.5.4 Syntax: DATA");
		} else if (f->state == FSM_START || f->state == FSM_IDLE) {
			error(f, out, "503 5.5.1 Error: need RCPT command");
		} else if (f->state == FSM_MAIL && f->nrcpt == 0) {
			error(f, out, "503 5.5.1 Error: need RCPT command");
		} else if (f->nrcpt_ok == 0) {
			reply(out, FSM_A_REPLY, "554 5.5.1 Error: no valid recipients");
		} else {
			f->state = FSM_DATA;
			out->action = FSM_A_DATA;
		}
		return;
	case SMTP_RSET:
		if (c.argslen) {
			error(f, out, "501 5.5.4 Syntax: RSET");
			return;
		}
		txn_reset(f);
		if (f->state != FSM_START)
			f->state = FSM_IDLE;
		reply(out, FSM_A_RSET, "250 2.0.0 Ok");
		return;
	case SMTP_QUIT:
		f->state = FSM_QUIT;
		reply(out, FSM_A_QUIT, "221 2.0.0 Bye");
		return;
	default:
		fixed_reply(f, c.verb, out);
		return;
	}
}

/* fsm_rcpt_result - the MX's verdict on the last FSM_RCPT */
void
fsm_rcpt_result(struct fsm *f, int accepted)
{
	if (accepted) {
		f->nrcpt_ok++;
		if (f->state == FSM_MAIL)
			f->state = FSM_RCPT;
	} else if (f->state == FSM_MAIL) {
		f->state = FSM_RCPT;	/* RCPT was given; DATA gets 554 */
	}
}

/* fsm_txn_end - the transaction is over (DATA finished, or reset) */
void
fsm_txn_end(struct fsm *f)
{
	txn_reset(f);
	if (f->state != FSM_START && f->state != FSM_QUIT)
		f->state = FSM_IDLE;
}

/* fsm_tls_started - after the handshake, the client starts afresh */
void
fsm_tls_started(struct fsm *f)
{
	f->tls = 1;
	f->state = FSM_START;
	f->esmtp = 0;
	free(f->helo);
	f->helo = NULL;
	txn_reset(f);
}
