/*
 * sess_int.h - the session's private header: the struct, and one section
 * per file of the session (sess.c, sess_route.c, sess_xfer.c,
 * sess_hold.c, sess_record.c).  Nothing outside proxy/sess*.c includes it.
 */
#ifndef MXTLS_SESS_INT_H
#define MXTLS_SESS_INT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/addr.h"
#include "../lib/dname.h"
#include "../lib/log.h"
#include "../policy/ptable.h"
#include "../policy/resolve.h"
#include "../policy/route.h"
#include "../report/journal.h"
#include "../report/record.h"
#include "../report/rtype.h"
#include "conn.h"
#include "fsm.h"
#include "metrics.h"
#include "nfq.h"
#include "proxy.h"
#include "sess.h"
#include "smtp.h"
#include "summary.h"
#include "tls.h"
#include "up.h"
#include "upcache.h"

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
	W_CLOSE,			/* last reply going out, then close */
	W_NSTATES
};

/* the RCPT in flight: its address (what the MX is sent) and its domain */
struct sess_rcpt {
	char addr[SMTP_PATH_MAX];
	size_t domain_off;
};

/* sess_xfer.c: the transaction, as the MX sees it */
struct sess_txn {
	int mx_open;			/* the MX has MAIL for this transaction */
	int mail_pipelined;		/* the first RCPT went with MAIL */
	char fail[REASON_MAX];		/* reply for further RCPTs, or "" */
	struct sess_rcpt rcpt;		/* the RCPT in flight */
	struct buf rcpts;		/* accepted recipients, for the log
					 * (NUL-ended addresses) */
	char *pending;			/* reply to send when RSET is done */
	struct smtp_eod eod;		/* the message: end-of-data scan */
	uint64_t data_bytes;
	int data_discard;
	char data_fail[REASON_MAX];
};

/* sess_route.c: early upstream (issue 12): the DNS watcher's hint, worked
 * on before the first RCPT */
enum sess_early {
	EARLY_NONE,			/* no hint, or the first RCPT came */
	EARLY_LOOKUP,			/* the hinted domain's lookups in flight */
	EARLY_CONNECT,			/* the upstream being set up */
	EARLY_READY,			/* ... ready, not yet journaled */
	EARLY_IDLE			/* a plan, no upstream: RCPT decides */
};
#define EARLY_HINTS_MAX	8		/* domains asked of the watcher */

/* sess_route.c: the policy domain, its plan, the attempts */
struct sess_route {
	enum sess_early early;
	char early_dom[DNSMSG_NAME_MAX];	/* the hinted domain */
	struct resolve *res;		/* lookups in flight */
	int second;			/* ... for a second domain in a transaction */
	struct plan *plan;		/* the policy domain's plan */
	int fresh;			/* looked up in this transaction */
	double until;			/* mono ms: its answers' TTLs run out */
	double t0;			/* when the lookups started (monotonic) */
	struct route *route;		/* candidates from the plan (build_route;
					 * NULL before the first plan) */
	int route_oom;			/* ... is the shared out-of-memory one */
	int icand;			/* next candidate to try */
	char pfail[REASON_MAX];		/* first policy failure of the attempts */
	enum rtype prtype;		/* ... its RFC 8460 result type */
	char lfail[REASON_MAX];		/* last failure of the attempts */
	int lfail_policy;		/* ... was a policy failure */
	int cur_host;			/* the candidate being tried: plan index */
	enum ptype cur_ptype;		/* ... and its policy type */
	struct ptab_entry tab;		/* the table entry the route used (a
					 * copy: a reload replaces the table) */
	int has_tab;
	unsigned tab_gen;		/* ... from this proxy.ptab_gen */
	/* the upstream's key (upcache.h), and the connection cache */
	struct upc_key *up_key;		/* what s->up was started for (allocated
					 * with the first upstream) */
	int up_key_ok;			/* ... and it may serve others (no
					 * policy waived: not a held replay);
					 * implies up_key */
	int up_clean;			/* its last transaction ended well: a
					 * 2xx to the final dot, or to RSET */
	int up_probe;			/* taken from the cache: RSET in flight */
	int up_reused;			/* taken from the cache: no new attempt
					 * (nothing journaled for it) */
	char relay[400];		/* the MX of s->up, for the log */
	char relay_tls[16];		/* its TLS version, or "none" */
	enum route_level relay_level;	/* ... the level it was held to */
	int relay_verified;		/* ... and it was authenticated */
};

/* sess_hold.c: TLS-Required: No (RFC 8689): the message decides after a
 * policy failure; it is held, then delivered with the policy waived. */
struct sess_hold {
	int on;				/* recipients accepted on hold */
	int starved;			/* ... and another domain got 452 */
	char fail[REASON_MAX];		/* the reply when it does not say No */
	struct buf rcpts;		/* NUL-ended recipient addresses */
	struct buf msg;			/* the message as the old MTA sent it */
	int replay;			/* delivering the held message */
	size_t next;			/* offset of the next recipient to send */
	int ok;				/* recipients the MX accepted */
	char rfail[REASON_MAX];		/* the last recipient refusal */
};

/* sess.c: the session */
struct sess {
	struct conn c;
	ev_timer tmo;
	struct reap reap;
	struct sess *prev, *next;
	struct fsm fsm;
	struct up *up;
	char id[16];
	unsigned nrec;			/* journal records so far: the attempt
					 * number in a record-id (sess_record.c) */
	struct sockaddr_storage peer;	/* the old MTA */
	char client[80];		/* [192.0.2.1]:40000 */
	struct sockaddr_storage orig;
	char origstr[80];
	enum sess_wait wait;
	int skipping_long;		/* dropping an over-long line */
	int drain_after_txn;		/* SIGTERM arrived during a transaction */
	/* deadlines (sess_arm) */
	double cmd_t0;			/* ev_now: the wait for a command began; 0 */
	double idle_used;		/* seconds spent waiting for commands */
	double data_deadline;		/* ev_now: DATA must have progressed by */
	int out_paused;			/* replies queued over REPLY_HIGH_WATER */
	/*
	 * The parts an idle session does without (issue 13: an idle session
	 * costs little), allocated on first write and read through
	 * txn_of()/rt_of()/hold_of(), which give a zero part (what calloc
	 * gives, and what a cleared part is) while there is none.  The
	 * compiler keeps the two apart: a read accessor gives a const
	 * pointer, so any write must go through txn_w()/rt_w()/hold_w().
	 */
	struct sess_txn *txn_;		/* sess_xfer.c: from MAIL to its end */
	struct sess_route *rt_;		/* sess_route.c: from the first plan or
					 * hint to the end of the session */
	struct sess_hold *hold_;	/* sess_hold.c: while a message is held */
};

extern const struct sess_txn sess_txn_zero;
extern const struct sess_route sess_route_zero;
extern const struct sess_hold sess_hold_zero;

static inline const struct sess_txn *
txn_of(const struct sess *s)
{
	return s->txn_ ? s->txn_ : &sess_txn_zero;
}

static inline const struct sess_route *
rt_of(const struct sess *s)
{
	return s->rt_ ? s->rt_ : &sess_route_zero;
}

static inline const struct sess_hold *
hold_of(const struct sess *s)
{
	return s->hold_ ? s->hold_ : &sess_hold_zero;
}

/* the same parts for writing: allocated (zeroed) when missing */
struct sess_txn *sess_txn_alloc(struct sess *s);
struct sess_route *sess_route_alloc(struct sess *s);
struct sess_hold *sess_hold_alloc(struct sess *s);

static inline struct sess_txn *
txn_w(struct sess *s)
{
	return s->txn_ ? s->txn_ : sess_txn_alloc(s);
}

static inline struct sess_route *
rt_w(struct sess *s)
{
	return s->rt_ ? s->rt_ : sess_route_alloc(s);
}

static inline struct sess_hold *
hold_w(struct sess *s)
{
	return s->hold_ ? s->hold_ : sess_hold_alloc(s);
}

/* txn_mx_closed - the MX has no transaction of ours (none allocated: none) */
static inline void
txn_mx_closed(struct sess *s)
{
	if (s->txn_)
		s->txn_->mx_open = 0;
}

/* sess.c - the parts' lifecycle: sess_parts_trim() frees the transaction
 * and hold parts when they are back in their zero state's meaning */
void sess_parts_trim(struct sess *s);
void sess_parts_free(struct sess *s);

/* sess.c - lifecycle, command intake, replies, deadlines, drain */
void sess_enter(struct sess *s, enum sess_wait w);
void sess_rcpt_domain(const char *domain, char *out, size_t len);
void sess_say(struct sess *s, const char *text, size_t len);
void sess_sayf(struct sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sess_say_pending(struct sess *s);
void sess_data_begin(struct sess *s);
int sess_data_scan(struct sess *s, size_t *used, int *over);
void sess_data_credit(struct sess *s, size_t n);
void sess_run(struct sess *s);

/* sess_route.c - from a RCPT's domain to a connected upstream */
void sess_up_params_for(struct sess *s, const struct route_cand *c,
    struct up_params *p);
socklen_t sess_up_source(const struct sess *s, struct sockaddr_storage *src);
void sess_attempt_failed(struct sess *s, const char *peer, const char *enh,
    enum rtype rtype, const char *rcode, const char *why);
void sess_next_attempt(struct sess *s);
void sess_do_rcpt(struct sess *s);
void sess_route_opts(const struct sess *s, const struct plan *p,
    struct route_opts *o);
void sess_route_free(struct sess *s);
void sess_route_release(struct sess *s);
void sess_early(struct sess *s);
int sess_early_rcpt(struct sess *s, const char *dom);
int sess_early_up_failed(struct sess *s, const struct up_info *u);
int sess_up_park(struct sess *s);
void sess_up_retry(struct sess *s);

/* sess_xfer.c - MAIL/RCPT replay, the DATA relay, the transaction's end */
void sess_relay_reply(struct sess *s, const struct smtp_reply *r);
const char *sess_reply_text(const struct smtp_reply *r, char *buf, size_t len);
int sess_mail_line(struct sess *s, char *line, size_t size);
void sess_send_mail(struct sess *s);
void sess_send_rcpt(struct sess *s, const char *addr);
void sess_send_data(struct sess *s);
void sess_xfer_finish(struct sess *s, const char *text, const struct smtp_reply *r);
void sess_log_txn(struct sess *s, const char *status, const char *detail);
void sess_log_rcpt(struct sess *s, const char *rcpt, int upstream, const char *status,
    const char *detail);
void sess_rcpt_add(struct sess *s, const char *addr);
void sess_txn_clear(struct sess *s);
void sess_txn_done(struct sess *s);
void sess_refuse_smuggling(struct sess *s);
int sess_relay_data(struct sess *s);
void sess_on_up(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg);
void sess_up_adopt(struct sess *s);

/* sess_hold.c - the TLS-Required: No hold and its replay */
void sess_held_drop(struct sess *s);
void sess_starve_add(const char *domain);
int sess_hold_data(struct sess *s);
void sess_hold_rcpt(struct sess *s);
int sess_may_hold(struct sess *s);
void sess_hold_rcpt_next(struct sess *s);
void sess_hold_rcpt_result(struct sess *s, const struct smtp_reply *r);

/* sess_record.c - the attempt record for the journal */
enum ptype sess_cand_ptype(const struct sess *s, const struct route_cand *c);
enum ptype sess_ptype_of_rtype(enum rtype rtype);
int sess_journal(struct sess *s, const struct up_info *u, int host,
    enum ptype ptype, const struct sockaddr_storage *addr, enum rtype result,
    const char *reason, enum raction action);
int sess_record_ready(struct sess *s, const struct up_info *u);
void sess_record_fail(struct sess *s, const struct up_info *u);

#endif
