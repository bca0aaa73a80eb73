/*
 * proxy.h - the daemon's shared state, one instance (`proxy').
 *
 * DESCRIPTION
 *	main.c owns it.  Sessions read the configuration and TLS contexts
 *	through it at the moment they need them, so that a SIGHUP reload
 *	takes effect for the next step of every session without touching
 *	the ones in progress.  Nothing keeps a pointer into proxy.cfg
 *	across an event-loop iteration.
 */
#ifndef MXTLS_PROXY_H
#define MXTLS_PROXY_H

#include <ev.h>
#include <openssl/ssl.h>

#include "../lib/conf.h"
#include "fsm.h"

struct scache;

struct sess;
struct ptable;

struct proxy {
	struct ev_loop *loop;
	struct config cfg;
	char hostname[256];		/* myhostname, or the system's */
	SSL_CTX *server_ctx;		/* towards the old MTA */
	SSL_CTX *client_ctx;		/* towards MX hosts */
	struct scache *scache;		/* their TLS sessions (tls_scache.h);
					 * used when cfg.tls_session_cache */
	struct fsm_conf fsmc;
	struct sess *sessions;		/* all live sessions */
	long nsessions;
	int draining;			/* SIGTERM: finish and exit */
	struct journal *journal;	/* the attempt records (report/journal.h) */
	long journal_errors;		/* records that could not be written */
	struct ptable *ptab;		/* policy_table, or NULL; a reload
					 * replaces it: look up, copy what
					 * must outlive the loop iteration */
	unsigned ptab_gen;		/* counts the tables loaded */
};

extern struct proxy proxy;

#endif
