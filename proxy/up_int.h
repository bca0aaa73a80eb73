/*
 * up_int.h - the upstream client's private header: the struct, and one
 * section per file of the client (up.c: the SMTP dialogue; up_tls.c:
 * the TLS judgement).  Nothing outside proxy/up*.c includes it.
 *
 * SYNOPSIS
 *	const char *up_state_str(enum up_state st);
 *	void up_fail(struct up *u, const char *enh, const char *fmt, ...);
 *	void up_retry_plain(struct up *u, const char *why);
 *
 *	int up_tls_start(struct up *u);
 *	int up_tls_judge(struct up *u);
 *	int up_tls_unoffered(struct up *u, const char *refusal);
 *	int up_tls_broken(struct up *u, const char *err);
 *	int up_tls_lenient(const struct up *u);
 *	int up_tls_plain_ok(const struct up *u);
 *	void up_soft_fail(struct up *u, enum rtype rtype, const char *fmt, ...);
 *	void up_tls_forget(struct up *u);
 *
 * DESCRIPTION
 *	up_fail() reports a failure once (UP_FAIL) and hands the object to
 *	the reaper.  up_retry_plain() closes and connects again, never to
 *	offer STARTTLS (the opportunistic retry).
 *
 *	up_tls_start() starts the handshake after STARTTLS's 220: SNI, and
 *	under DANE or MTA-STS the reference identities (the verdict waits
 *	for the end of the handshake); -1 with the reason in conn_err(&u->c).
 *	up_tls_judge() judges the finished handshake against the level:
 *	verified or not, the log line, and for a failure UP_FAIL (-1).
 *	up_tls_unoffered() is what the level says when the MX does not
 *	offer STARTTLS (refusal NULL) or refuses it (refusal: the reply's
 *	first line): 0 to go on in plaintext (noted as a soft failure under
 *	MTA-STS testing), -1 after UP_FAIL.  up_tls_broken() is what it
 *	says when the handshake failed (err, or NULL when the connection
 *	closed): a retry in plaintext or UP_FAIL (1), or 0 when the level
 *	has no word on it and the caller reports a lost connection.
 *	up_tls_lenient() says whether what the level would refuse is only
 *	noted (MTA-STS testing; report-only at a level that requires TLS),
 *	and up_soft_fail() notes it (the first note counts).
 *	up_tls_plain_ok() says whether a missing or broken STARTTLS is only
 *	noted: as lenient, except that require_tls's floor holds under
 *	MTA-STS testing (never plaintext), and report-only refuses nothing.
 *	up_tls_forget() drops the cached session the failed handshake
 *	offered, and caches nothing more for this upstream.
 */
#ifndef MXTLS_UP_INT_H
#define MXTLS_UP_INT_H

#include "conn.h"
#include "tls_scache.h"
#include "up.h"

enum up_state {
	UP_S_CONNECT, UP_S_BANNER, UP_S_EHLO, UP_S_HELO, UP_S_STARTTLS,
	UP_S_HANDSHAKE, UP_S_EHLO2, UP_S_IDLE, UP_S_WAIT, UP_S_DATA,
	UP_S_DOT, UP_S_QUIT, UP_S_DEAD, UP_S_NSTATES
};

struct up {
	struct conn c;
	ev_timer tmo;
	struct reap reap;
	struct ev_loop *loop;
	struct up_params p;		/* its strings point into this struct */
	char helo[256];
	char sid[32];
	enum up_state st;
	const char *phase;		/* for failure reasons */
	int early_fail;			/* connect failed at once */
	const char *early_enh;		/* ... with this enhanced status code */
	int expect;			/* replies still due to commands sent */
	char base[256];			/* TLSA base domain */
	char orig_name[256];
	char soft_why[512];		/* MTA-STS testing: why it would fail */
	struct ptab_entry tab;		/* p.tab's copy, when has_tab */
	int has_tab;
	char nexthop[256];
	struct smtp_reply reply;
	/* the session cache (up_tls.c) */
	struct scache_key skey;		/* what the handshake is judged by */
	int has_skey;
	int offered;			/* skey's session was offered */
	char smatch[SCACHE_MATCH];	/* ... and its verdict */
	long dns_until;			/* mono s: the plan's TTL ends; -1: none */
	SSL_SESSION *pend;		/* a new session before the verdict */
	int judged, cache_ok;		/* the verdict is in; keyed as promised */
	int stored;			/* sessions stored (logged once) */
	unsigned long sgen;		/* the cache's flushes at the offer */
	int parked;			/* idle in the connection cache */
	struct up_info i;		/* what the caller may know */
	up_cb *cb;
	void *arg;
};

/* up.c - the SMTP dialogue */
const char *up_state_str(enum up_state st);
void up_fail(struct up *u, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void up_retry_plain(struct up *u, const char *why);

/* up_tls.c - the TLS judgement */
int up_tls_start(struct up *u);
int up_tls_judge(struct up *u);
int up_tls_unoffered(struct up *u, const char *refusal);
int up_tls_broken(struct up *u, const char *err);
int up_tls_lenient(const struct up *u);
int up_tls_plain_ok(const struct up *u);
void up_soft_fail(struct up *u, enum rtype rtype, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void up_tls_forget(struct up *u);

#endif
