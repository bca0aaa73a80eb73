/*
 * smap_srv.h - the Postfix socketmap server of mxtlsd (socketmap_listen):
 * Postfix's smtp_tls_policy_maps asks it, per next-hop, the TLS policy
 * mxtlsd's engine would apply.
 *
 * SYNOPSIS
 *	int smap_srv_open(const char *where, char *err, size_t errlen);
 *	void smap_srv_start(struct ev_loop *loop);
 *	void smap_srv_stop(void);
 *	const struct smap_srv_stats *smap_srv_stats(void);
 *	extern struct smap_srv_limits smap_srv_limits;
 *
 * DESCRIPTION
 *	smap_srv_open() binds `where' (socketmap_listen: inet:ADDR:PORT,
 *	inet:[ADDR6]:PORT or unix:/PATH) before privileges are dropped.  A
 *	unix socket left behind by an earlier run is removed first (only a
 *	socket: any other file there is an error), and the new one gets mode
 *	0666 so that Postfix's smtp(8), running as postfix, can connect.
 *	smap_srv_start() accepts connections on the loop; smap_srv_stop()
 *	closes the listener and every connection, cancels their lookups and
 *	removes the unix socket (when the dropped user may; otherwise the
 *	next start does).
 *
 *	Each connection carries requests `NAME KEY' as netstrings and gets
 *	one reply netstring per request, in the order asked (pipelined
 *	requests wait behind a running lookup).  The answers are
 *	smap_answer.h's: a policy_table entry for the key (ptable_find(),
 *	ptable_find_dest()) first, else, for a domain, the policy lookups
 *	(resolve.h); a bracketed host without an entry and a key that is no
 *	domain get NOTFOUND; an unknown map name gets `PERM unknown map'.
 *	The mode, strict_testing and the table are read when each answer is
 *	made, so a reload applies to the next answer.  The answer a plan
 *	gave is kept (per map and domain) while the shortest TTL of the
 *	plan's DNS answers runs, as a session keeps a plan, at most
 *	SMAP_SRV_CACHE_TTL seconds and SMAP_SRV_CACHE_MAX answers (then the
 *	expired ones, or all, are dropped); TEMP is never kept, and a kept
 *	answer made under another mode or strict_testing is not used.
 *
 *	Limits (a peer can cause a warning and a closed connection, never
 *	more):
 *		request	a netstring payload of at most SMAP_MAX octets; a
 *			longer one, or anything that is no netstring, or no
 *			`NAME KEY' request, gets `PERM <reason>' and the
 *			connection is closed
 *		SMAP_SRV_REQUEST_TIMEOUT  from a request's first octet to its
 *			last, however slowly it trickles; then the connection
 *			is closed
 *		SMAP_SRV_IDLE_TIMEOUT  between requests.  Postfix's socketmap
 *			client keeps its connection for the next lookup (it
 *			closes it itself after 10 s idle or 100 s in all);
 *			closing first would cost it a failed lookup, so this
 *			is well above both
 *		SMAP_SRV_LOOKUP_TIMEOUT  a policy lookup still running then is
 *			answered `TEMP' (Postfix's socketmap timeout is 100 s)
 *		SMAP_SRV_WRITE_TIMEOUT  for a reply the client does not read
 *		SMAP_SRV_MAX_CONNS  connections at once; more wait in the
 *			listen queue (accepting stops until one closes)
 *		SMAP_SRV_OUT_MAX  replies queued; reading stops above it
 *
 *	smap_srv_limits holds the deadlines and the connection cap, set to
 *	the SMAP_SRV_* defaults; mxtlsd never changes them (there is no key
 *	for them), the unit test shortens them.
 *
 *	smap_srv_stats() is the counters: replies by kind (OK, NOTFOUND,
 *	TEMP, PERM), connections accepted and open, connections closed for
 *	bad input or at a deadline, lookups that ran past the lookup
 *	deadline, answers taken from the kept ones.  The counters only grow
 *	(but `open').
 *
 * DIAGNOSTICS
 *	smap_srv_open() returns 0, or -1 with err (the address and the
 *	system's reason).  At run time, a warning per connection closed for
 *	bad input or a deadline; each answer at debug level (-v).
 */
#ifndef MXTLS_SMAP_SRV_H
#define MXTLS_SMAP_SRV_H

#include <stddef.h>

#include <ev.h>

#define SMAP_SRV_REQUEST_TIMEOUT	10.0
#define SMAP_SRV_IDLE_TIMEOUT		300.0
#define SMAP_SRV_LOOKUP_TIMEOUT		90.0
#define SMAP_SRV_WRITE_TIMEOUT		30.0
#define SMAP_SRV_MAX_CONNS		256
#define SMAP_SRV_OUT_MAX		(4 * (SMAP_MAX + 16))
#define SMAP_SRV_CACHE_TTL		300	/* seconds an answer is kept, at most */
#define SMAP_SRV_CACHE_MAX		10000	/* answers kept */

struct smap_srv_stats {
	unsigned long long ok, notfound, temp, perm;	/* replies */
	unsigned long long accepted;	/* connections */
	unsigned long long bad_input;	/* closed: not a request */
	unsigned long long timed_out;	/* closed at a deadline */
	unsigned long long lookup_timeouts;	/* answered TEMP at the deadline */
	unsigned long long cache_hits;	/* answered from a kept plan answer */
	long open;			/* connections open now */
};

struct smap_srv_limits {
	double request_timeout, idle_timeout, lookup_timeout, write_timeout;
	long max_conns;
};

extern struct smap_srv_limits smap_srv_limits;

int smap_srv_open(const char *where, char *err, size_t errlen);
void smap_srv_start(struct ev_loop *loop);
void smap_srv_stop(void);
const struct smap_srv_stats *smap_srv_stats(void);

#endif
