/*
 * listen.h - listening sockets and the original destination.
 *
 * SYNOPSIS
 *	int lsn_open(const struct config *cfg, char *err, size_t errlen);
 *	void lsn_start(struct ev_loop *loop);
 *	void lsn_stop(struct ev_loop *loop);
 *	int lsn_orig_dst(int fd, int tproxy, struct sockaddr_storage *dst);
 *	int lsn_is_redirected(const struct sockaddr_storage *dst,
 *		const struct sockaddr_storage *local, int tproxy,
 *		const struct sockaddr_storage *listen_addr);
 *
 * DESCRIPTION
 *	lsn_open() binds every `listen' address (IP_TRANSPARENT for tproxy:
 *	entries, IPV6_V6ONLY for IPv6) before privileges are dropped.
 *	lsn_start() accepts with libev; each accepted connection's original
 *	destination is found (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST after
 *	REDIRECT, the local address after TPROXY).  A connection that was
 *	not redirected (its destination is the listener itself) is refused
 *	with 554 5.7.1: mxtlsd is not an open relay.  Above max_sessions a
 *	connection gets 421 4.3.2 and is closed.  One spare descriptor is
 *	kept so that running out of descriptors cannot spin the loop.
 *	lsn_stop() closes the listeners (SIGTERM).
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

int lsn_open(const struct config *cfg, char *err, size_t errlen);
void lsn_start(struct ev_loop *loop);
void lsn_stop(struct ev_loop *loop);
int lsn_orig_dst(int fd, int tproxy, struct sockaddr_storage *dst);
int lsn_is_redirected(const struct sockaddr_storage *dst,
    const struct sockaddr_storage *local, int tproxy,
    const struct sockaddr_storage *listen_addr);

#endif
