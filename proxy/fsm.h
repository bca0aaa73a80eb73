/*
 * fsm.h - the client-side SMTP protocol state machine, pure.
 *
 * SYNOPSIS
 *	void fsm_init(struct fsm *f, const struct fsm_conf *conf, int tls);
 *	void fsm_command(struct fsm *f, const char *line, size_t len,
 *		struct fsm_out *out);
 *	void fsm_rcpt_result(struct fsm *f, int accepted);
 *	void fsm_txn_end(struct fsm *f);
 *	void fsm_tls_started(struct fsm *f);
 *	const char *fsm_state_str(enum fsm_state s);
 *
 * DESCRIPTION
 *	The session (sess.c) feeds every command line from the old MTA to
 *	fsm_command().  It answers what to do: send a reply that the machine
 *	made itself (FSM_A_REPLY), or an action that needs the upstream MX
 *	(FSM_A_RCPT, FSM_A_DATA, FSM_A_RSET), TLS (FSM_A_STARTTLS) or the end
 *	of the session (FSM_A_QUIT, FSM_A_CLOSE).  For those, out->reply holds the reply
 *	to give when the action needs none of its own (for example the 220
 *	before a TLS handshake).  The session reports back what the MX said
 *	about a recipient (fsm_rcpt_result()) and when a transaction ended
 *	(fsm_txn_end(): after DATA, or when RSET is done).
 *
 *	The machine checks command order (RFC 5321 section 4.1.4), syntax,
 *	parameters against what mxtlsd advertised, the SIZE limit, the
 *	recipient limit, and counts errors; after FSM_MAX_ERRORS errors the
 *	session is closed with 421.
 *
 * DIAGNOSTICS
 *	Nothing here does I/O.  Replies are complete CRLF-ended lines.
 */
#ifndef MXTLS_FSM_H
#define MXTLS_FSM_H

#include <stddef.h>
#include <stdint.h>

#include "smtp.h"

#define FSM_MAX_ERRORS	20
#define FSM_MAX_RCPTS	1000
#define FSM_REPLY_MAX	1024

enum fsm_state {
	FSM_START,			/* before HELO/EHLO */
	FSM_IDLE,			/* after HELO/EHLO, no transaction */
	FSM_MAIL,			/* MAIL accepted, no RCPT accepted yet */
	FSM_RCPT,			/* at least one RCPT accepted */
	FSM_DATA,			/* message content is flowing */
	FSM_QUIT			/* closing */
};

enum fsm_action {
	FSM_A_REPLY,			/* send out->reply */
	FSM_A_MAILFROM,			/* remember out->path, send out->reply */
	FSM_A_RCPT,			/* forward out->path to the MX */
	FSM_A_DATA,			/* forward DATA to the MX */
	FSM_A_RSET,			/* reset the MX transaction, send reply */
	FSM_A_STARTTLS,			/* send reply, then TLS handshake */
	FSM_A_HELO,			/* send reply; reset any MX transaction */
	FSM_A_QUIT,			/* send reply, close */
	FSM_A_CLOSE			/* send reply, close (too many errors) */
};

struct fsm_conf {
	const char *hostname;
	uint64_t size_limit;		/* 0: advertise SIZE without a limit */
	int offer_starttls;
};

struct fsm {
	const struct fsm_conf *conf;
	enum fsm_state state;
	int tls;			/* TLS is on towards the old MTA */
	int esmtp;			/* EHLO (not HELO) was used */
	int errors;
	int nrcpt;			/* RCPT commands in this transaction */
	int nrcpt_ok;			/* ... that the MX accepted */
	char *helo;			/* the old MTA's HELO/EHLO name, or NULL:
					 * its own allocation (an idle session
					 * keeps only what it uses) */
	char *mail;			/* the transaction's MAIL FROM address, or
					 * NULL (its parameters are the fields
					 * below) */
	int body_8bit;			/* BODY=8BITMIME */
	int body_7bit;			/* BODY=7BIT */
	int smtputf8;			/* SMTPUTF8 */
	uint64_t size;			/* SIZE=, or 0 */
};

struct fsm_out {
	enum fsm_action action;
	char reply[FSM_REPLY_MAX];
	size_t replylen;
	struct smtp_path path;		/* FSM_A_MAILFROM, FSM_A_RCPT */
};

#define FSM_HELO_MAX	256		/* a HELO/EHLO name is shorter */

void fsm_init(struct fsm *f, const struct fsm_conf *conf, int tls);
void fsm_free(struct fsm *f);
void fsm_command(struct fsm *f, const char *line, size_t len,
    struct fsm_out *out);
void fsm_rcpt_result(struct fsm *f, int accepted);
void fsm_txn_end(struct fsm *f);
void fsm_tls_started(struct fsm *f);
const char *fsm_state_str(enum fsm_state s);

/* fsm_helo - the HELO/EHLO name, "" before one */
static inline const char *
fsm_helo(const struct fsm *f)
{
	return f->helo ? f->helo : "";
}

/* fsm_mail - the MAIL FROM address, "" outside a transaction (and for <>) */
static inline const char *
fsm_mail(const struct fsm *f)
{
	return f->mail ? f->mail : "";
}

#endif
