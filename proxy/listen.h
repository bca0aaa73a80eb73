/*
 * listen.h - listening sockets and the original destination.
 *
 * SYNOPSIS
 *	int lsn_open(const struct config *cfg, int nsets, char *err,
 *		size_t errlen);
 *	void lsn_keep(int set);
 *	int lsn_handoff_open(int n, char *err, size_t errlen);
 *	void lsn_close_all(void);
 *	void lsn_start(struct ev_loop *loop);
 *	void lsn_stop(struct ev_loop *loop);
 *	int lsn_orig_dst(int fd, int tproxy, struct sockaddr_storage *dst);
 *	int lsn_is_redirected(const struct sockaddr_storage *dst,
 *		const struct sockaddr_storage *local, int tproxy,
 *		const struct sockaddr_storage *listen_addr);
 *
 * DESCRIPTION
 *	lsn_open() binds every `listen' address (IP_TRANSPARENT for tproxy:
 *	entries, IPV6_V6ONLY for IPv6) before privileges are dropped, nsets
 *	times: one set per worker, with SO_REUSEPORT when nsets > 1, so that
 *	the kernel spreads connections over the workers and a worker started
 *	again after privileges were dropped finds its set still bound (the
 *	parent keeps every set open; connections the kernel gave a dead
 *	worker's set wait in its backlog for the new worker).  lsn_keep() is
 *	a worker's: it keeps set `set' and closes the others.
 *
 *	Affinity (workers > 1): the caches of a worker (TLS sessions, upstream
 *	connections) hit only when the connections to one MX land on it, and
 *	SO_REUSEPORT spreads by the client's 4-tuple.  So each worker reads
 *	the original destination of what it accepts, asks aff_owner()
 *	(affinity.h) which worker owns it and, when that is another, passes
 *	the descriptor with the peer and destination to it: one datagram
 *	with SCM_RIGHTS on the owner's socketpair, made by
 *	lsn_handoff_open() in the parent before the forks (the parent keeps
 *	both ends, so a restarted worker finds what was queued for it).  The
 *	owner takes it as one it accepted itself (drain, max_sessions).
 *	When the owner's queue is full, the accepting worker keeps the
 *	connection.
 *	lsn_start() accepts with libev; each accepted connection's original
 *	destination is found (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST after
 *	REDIRECT, the local address after TPROXY).  A connection that was
 *	not redirected (its destination is the listener itself) is refused
 *	with 554 5.7.1: mxtlsd is not an open relay.  Above max_sessions (in
 *	all workers together, wk_shm.h) a connection gets 421 4.3.2 and is
 *	closed.  One spare descriptor is
 *	kept so that running out of descriptors cannot spin the loop.
 *	lsn_stop() closes the listeners (SIGTERM).  lsn_close_all() is the
 *	parent's, on SIGTERM: it closes its copies of every set, so that the
 *	kernel refuses new connections once the workers have closed theirs.
 *
 * DIAGNOSTICS
 *	lsn_open() returns -1 with `listen ADDR: reason' in err.
 */
#ifndef MXTLS_LISTEN_H
#define MXTLS_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include <ev.h>

#include "../lib/conf.h"

int lsn_open(const struct config *cfg, int nsets, char *err, size_t errlen);
void lsn_keep(int set);
int lsn_handoff_open(int n, char *err, size_t errlen);
void lsn_close_all(void);
void lsn_start(struct ev_loop *loop);
void lsn_stop(struct ev_loop *loop);
int lsn_orig_dst(int fd, int tproxy, struct sockaddr_storage *dst);
int lsn_is_redirected(const struct sockaddr_storage *dst,
    const struct sockaddr_storage *local, int tproxy,
    const struct sockaddr_storage *listen_addr);

#endif
