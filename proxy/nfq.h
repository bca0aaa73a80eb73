/*
 * nfq.h - the DNS watcher: the DNS answers the old MTAs receive, read from
 * an NFQUEUE on the loop, learnt into the hints map (issue 12).
 *
 * SYNOPSIS
 *	int nfq_start(struct ev_loop *loop, unsigned queue, char *err,
 *		size_t errlen);
 *	void nfq_stop(void);
 *	int nfq_on(void);
 *	int nfq_hint(const struct sockaddr_storage *mta,
 *		const struct sockaddr_storage *dest,
 *		char out[][DNSMSG_NAME_MAX], int max);
 *	void nfq_stats(struct nfq_stats *st);
 *
 * DESCRIPTION
 *	nfq_start() binds NFQUEUE number queue with libnetfilter_queue
 *	(copy mode: whole packets up to 65535 octets; the kernel's queue at
 *	most NFQ_QUEUE_MAXLEN packets, and NFQA_CFG_F_FAIL_OPEN so that a
 *	full queue lets packets through instead of dropping them), makes
 *	the hints map (hints.h, a random SipHash key) and reads the queue on
 *	the loop.  It needs CAP_NET_ADMIN, now and for every verdict later:
 *	mxtlsd calls it before dropping privileges and keeps that
 *	capability.  The rules that feed the queue are mxtls-iptables
 *	--dns-watch's.
 *
 *	Each packet gets its verdict first, NF_ACCEPT with the packet
 *	unchanged, and is read afterwards: the watcher observes, it never
 *	rewrites, drops or holds a DNS answer.  The packet is unwrapped and
 *	parsed by dnsmsg.c (strict, nothing trusted) and learnt by
 *	hints_learn() under the address of the MTA it was sent to.  An
 *	address of this host (loopback, or one of its interfaces' addresses,
 *	re-read every NFQ_LOCAL_REFRESH seconds) is one MTA, the local one:
 *	an MTA on the same host asks its resolver from one address and
 *	connects to the MX from another.  A timer sweeps expired hints.
 *
 *	nfq_hint() is hints_domains() for a connection from mta to dest, now
 *	(the local MTA's hints for an address of this host), counted in the
 *	hints' lookups; 0 when the watcher is off.  A hint is only a hint:
 *	policy is always decided from mxtlsd's own validated lookups.
 *
 *	nfq_stats() copies the counters: packets (verdicts given), verdict
 *	failures, learned (answers learnt from), skipped (not a packet the
 *	watcher reads: TCP that is not one whole message, another port, an
 *	answer with a rcode), bad (malformed: unwrap or parse refused it),
 *	overruns (the socket's buffer overflowed: packets the kernel let
 *	through unread), and the hints map's own (hints_stats()).
 *
 *	nfq_stop() closes the queue and frees the map (at exit).
 *
 * DIAGNOSTICS
 *	nfq_start() returns 0, or -1 with the reason in err.
 */
#ifndef MXTLS_NFQ_H
#define MXTLS_NFQ_H

#include <ev.h>
#include <sys/socket.h>

#include "dnsmsg.h"
#include "hints.h"

#define NFQ_QUEUE_MAXLEN	4096	/* packets the kernel queues for us */
#define NFQ_LOCAL_REFRESH	10.0	/* s between reads of our addresses */
#define NFQ_LOCAL_MAX		64	/* addresses of this host kept */
#define NFQ_BATCH		64	/* packets read per wake-up */

struct nfq_stats {
	unsigned long long packets, verdict_errors;
	unsigned long long learned, skipped, bad, overruns;
	struct hints_stats hints;
};

int nfq_start(struct ev_loop *loop, unsigned queue, char *err, size_t errlen);
void nfq_stop(void);
int nfq_on(void);
int nfq_hint(const struct sockaddr_storage *mta, const struct sockaddr_storage *dest,
    char out[][DNSMSG_NAME_MAX], int max);
void nfq_stats(struct nfq_stats *st);

#endif
