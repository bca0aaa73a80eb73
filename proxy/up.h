/*
 * up.h - the upstream SMTP client: one connection to one MX host.
 *
 * SYNOPSIS
 *	struct up *up_start(struct ev_loop *loop, const struct up_params *p,
 *		up_cb *cb, void *arg);
 *	void up_params_policy(struct up_params *p, const struct plan *plan,
 *		const struct route *rt, const struct route_cand *c,
 *		const struct ptab_entry *tab);
 *	typedef void up_cb(struct up *u, enum up_event ev,
 *		const struct up_info *ui, const struct smtp_reply *r, void *arg);
 *	const struct up_info *up_info(const struct up *u);
 *	int up_command(struct up *u, const char *line, size_t len);
 *	int up_command2(struct up *u, const char *l1, size_t n1,
 *		const char *l2, size_t n2);
 *	void up_data_begin(struct up *u);
 *	int up_data_write(struct up *u, const void *p, size_t n);
 *	void up_data_end(struct up *u);
 *	size_t up_pending(const struct up *u);
 *	void up_trim(struct up *u);
 *	int up_idle(const struct up *u);
 *	int up_probe(struct up *u, long secs);
 *	void up_park(struct up *u, up_cb *cb, void *arg, const char *sid,
 *		int parked);
 *	void up_quit(struct up *u);
 *	void up_abort(struct up *u);
 *	STACK_OF(X509) *up_peer_chain(const struct up *u);
 *	void up_cache_ctx(SSL_CTX *ctx);
 *
 * DESCRIPTION
 *	up_start() connects to p->addr (SO_MARK p->mark; from p->src
 *	when p->srclen is set), reads the greeting, says EHLO (HELO when
 *	EHLO is refused), does STARTTLS when
 *	the MX offers it, says EHLO again, and then reports UP_READY.  At
 *	the opportunistic level a failed TLS handshake is retried once
 *	without STARTTLS, as Postfix does at its `may' level.  struct up is
 *	opaque: what the caller may know of the connection is in the
 *	struct up_info that every event carries (up_info() gives the same
 *	between events); it stays valid, and changes only inside up.c,
 *	until the object is the reaper's.
 *
 *	up_command() sends one command line (CRLF added) and reports the
 *	reply with UP_REPLY (r).  up_command2() sends two in one write
 *	(only when the MX offers PIPELINING, RFC 2920) and reports each
 *	reply in turn.  up_data_begin() switches to raw
 *	message bytes: up_data_write() queues them as they are (the caller
 *	sends the final `.' too), up_pending() says how many wait (for
 *	back-pressure; UP_DRAIN when the queue is empty again), and
 *	up_data_end() waits for the final reply (UP_REPLY).  up_trim()
 *	frees the idle connection's buffer memory between transactions.
 *	up_idle() says whether nothing is in flight (connected, no command
 *	unanswered, nothing queued either way): what the connection cache
 *	(upcache.h) keeps.  up_park() gives the connection a new owner (cb,
 *	arg; sid for logs): parked (the cache's), its buffers are trimmed
 *	and its first byte from the MX is an UP_FAIL (`unsolicited ...');
 *	not parked, it is a session's again.  up_probe() says RSET on a
 *	connection just taken from the cache, like up_command() but with
 *	its reply due within secs (a connection that died silently is not
 *	waited for as long as upstream_timeout).
 *
 *	The TLS level comes from policy: at ROUTE_MAY, STARTTLS when
 *	offered; at ROUTE_ENCRYPT, TLS is required; at ROUTE_DANE, TLS is
 *	required and the certificate must match p->tlsa through OpenSSL's
 *	DANE API (SNI and reference name: the TLSA base domain; DANE-EE
 *	ignores names and dates).  Verification runs during the handshake
 *	and is judged after it, so every failure is named.
 *
 *	A policy table entry (p->tab) adds its own checks: ROUTE_NONE never
 *	says STARTTLS; ROUTE_FINGERPRINT wants the SHA-256 digest of the
 *	certificate or of its public key to be one of match=;
 *	ROUTE_VERIFY and ROUTE_SECURE want a PKIX chain (to tls_ca_file,
 *	or to the tafile= anchors, through OpenSSL's DANE-TA) for one of
 *	match='s names (hostname: the MX name from DNS; nexthop: p->nexthop;
 *	dot-nexthop: its subdomains); protocols=, ciphers= and servername=
 *	(SNI) apply at every level.  p->soft (report-only) turns every
 *	refusal a level would make into a note (ui->soft_rtype) and goes
 *	on with the best TLS the MX gives; p->floor (require_tls) makes
 *	missing STARTTLS a 4.7.4.
 *
 *	TLS session resumption (p->scache, tls_scache.h): the session
 *	cached under the key of everything the level's verification
 *	depends on (address and port, SNI, level, names, the TLSA records,
 *	the MTA-STS policy id, the table entry's checks) is offered; a
 *	resumed session is verified because the session it resumes was,
 *	under that key (ui->resumed).  New sessions are cached only after
 *	a verdict the key promises (verified, at a level that verifies),
 *	until p->dns_ttl or the session's lifetime runs out; a failed
 *	handshake or another verdict drops the entry.  up_cache_ctx()
 *	makes a client context hand its new sessions to this cache (it is
 *	called once per context, before any up_start with p->scache).
 *
 *	up_peer_chain() is the chain the MX sent (OpenSSL's, not to be
 *	freed; NULL without TLS), valid until the object is the reaper's;
 *	mxtls-check shows it.
 *
 *	A source address (p->src, p->srclen; the old MTA's own address
 *	under upstream_source = client) is bound before connect with
 *	IP_TRANSPARENT / IPV6_TRANSPARENT (it need not be an address of this
 *	host: CAP_NET_RAW or CAP_NET_ADMIN) and IP_BIND_ADDRESS_NO_PORT, its
 *	port always 0: the kernel picks one at connect() for the 4-tuple
 *	(the MTA's own port is in use by the very connection mxtlsd took
 *	over, to the same MX address at times).  A source of the other
 *	family than p->addr, a refused IP_TRANSPARENT or a failed bind is
 *	an UP_FAIL with 4.4.0 and the reason, before any packet is sent.
 *	ui->src is that source, ui->local the address actually used.
 *
 *	up_params_policy() fills in what policy says of a route candidate
 *	(level, MX name and TLSA base domain, TLSA records, MTA-STS id, the
 *	table entry, report-only, the floor; a failed host under report-only
 *	at ROUTE_MAY), for mxtlsd's sessions and mxtls-check alike; the
 *	caller sets the transport fields first (tls_ctx becomes NULL at
 *	ROUTE_NONE).
 *
 *	Any failure is reported once as UP_FAIL, with ui->why (a Postfix-
 *	shaped reason: `lost connection with mx[192.0.2.1]:25 while sending
 *	message body'), ui->enh (the enhanced status code to give the old
 *	MTA) and, for policy failures, ui->rtype (the RFC 8460 result type)
 *	and ui->rcode (the OpenSSL verify error name).  After UP_FAIL, and
 *	after up_quit() or up_abort(), the object belongs to the reaper: the
 *	caller forgets its pointer (and ui's) once the callback returns.
 */
#ifndef MXTLS_UP_H
#define MXTLS_UP_H

#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "../policy/plan.h"
#include "../policy/ptable.h"
#include "../policy/route.h"
#include "../report/rtype.h"
#include "smtp.h"

enum up_event { UP_READY, UP_REPLY, UP_DRAIN, UP_FAIL };

struct up;

/* What the session learns of an upstream: from every event, or up_info(). */
struct up_info {
	char peer[384];			/* name[192.0.2.25]:25 */
	char mxname[256];		/* the MX's name: policy's or greeting's */
	char addr[64];			/* 192.0.2.25 */
	char local[64];			/* our source address: the socket's once
					 * connected (getsockname), before that
					 * p's src, or "" (the kernel's choice) */
	int localport;			/* ... and port, once connected */
	char greet_name[256];		/* first word of the MX's greeting */
	struct smtp_ehlo ehlo;		/* what the last EHLO offered */
	int tls;			/* TLS is up */
	const char *tls_version;	/* `TLSv1.3', or `none' */
	char tlsinfo[160];		/* `TLSv1.3 with cipher ...' */
	int ktls;			/* the kernel encrypts what we send */
	int verified;			/* TLS authenticated by policy */
	char match[128];		/* `DANE-EE(3) SPKI(1) SHA2-256(1)' */
	int plain_retry;		/* TLS failed: retried without STARTTLS */
	int resumed;			/* the TLS session was resumed (cache) */
	enum rtype soft_rtype;		/* MTA-STS testing: what would have failed */
	enum rtype rtype;		/* RFC 8460 result type of a failure */
	char rcode[64];			/* failure reason code */
	char why[768];			/* a failure's reason */
	const char *enh;		/* ... and enhanced status code */
	/* where it goes, and held to what (p's, as given to up_start) */
	enum route_level level;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct sockaddr_storage src;	/* p's source address; srclen 0: none */
	socklen_t srclen;
	char sts_id[40];		/* MTA-STS policy id, or "" */
};

typedef void up_cb(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg);

struct up_params {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *helo;		/* our EHLO name */
	uint32_t mark;			/* SO_MARK, 0: none */
	struct sockaddr_storage src;	/* send from here (IP_TRANSPARENT, any
					 * port): upstream_source = client */
	socklen_t srclen;		/* 0: the kernel's choice of source */
	long connect_timeout;
	long timeout;
	SSL_CTX *tls_ctx;		/* NULL: never STARTTLS; up_start takes a
					 * reference, so a reload may free the
					 * caller's */
	const char *sid;		/* session id, for logs */
	enum route_level level;		/* what TLS this MX owes us */
	const char *mxname;		/* MX host name, or NULL: banner's */
	const char *base;		/* TLSA base domain (DANE) */
	const char *orig_name;		/* MX name before CNAME expansion */
	const struct plan_tlsa *tlsa;	/* usable TLSA records (DANE) */
	int ntlsa;			/* (used before the handshake only) */
	const char *sts_id;		/* MTA-STS policy id, for logs */
	int sts_mismatch;		/* testing: the MX matches no pattern */
	const struct ptab_entry *tab;	/* the policy table's entry, or NULL
					 * (up_start copies it) */
	const char *nexthop;		/* the domain: secure's nexthop */
	int soft;			/* report-only: note, never refuse */
	int floor;			/* require_tls: refuse with 4.7.4 */
	struct scache *scache;		/* TLS session cache, or NULL: none */
	long dns_ttl;			/* seconds left of the plan's shortest
					 * TTL (cached sessions die with it);
					 * -1: no DNS, 0: cache nothing */
	int ktls;			/* ask OpenSSL for kernel TLS */
};

struct scache;

struct up *up_start(struct ev_loop *loop, const struct up_params *p,
    up_cb *cb, void *arg);
void up_cache_ctx(SSL_CTX *ctx);
void up_params_policy(struct up_params *p, const struct plan *plan, const struct route *rt,
    const struct route_cand *c, const struct ptab_entry *tab);
const struct up_info *up_info(const struct up *u);
int up_command(struct up *u, const char *line, size_t len);
int up_command2(struct up *u, const char *l1, size_t n1, const char *l2,
    size_t n2);
void up_data_begin(struct up *u);
int up_data_write(struct up *u, const void *p, size_t n);
void up_data_end(struct up *u);
size_t up_pending(const struct up *u);
void up_trim(struct up *u);
int up_idle(const struct up *u);
int up_probe(struct up *u, long secs);
void up_park(struct up *u, up_cb *cb, void *arg, const char *sid, int parked);
void up_quit(struct up *u);
void up_abort(struct up *u);
STACK_OF(X509) *up_peer_chain(const struct up *u);

#endif
