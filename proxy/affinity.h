/*
 * affinity.h - which worker owns a destination, pure.
 *
 * SYNOPSIS
 *	unsigned aff_owner(const struct sockaddr_storage *dst, unsigned n);
 *
 * DESCRIPTION
 *	The per-process caches (the TLS session cache, tls_scache.h; an
 *	upstream connection cache) only hit when the connections to one MX
 *	land on one worker.  aff_owner() is that worker, 0 .. n-1, for the
 *	original destination dst (the address and the port, IPv4 or IPv6;
 *	the same answer in every process: FNV-1a over the family, the
 *	address and the port, MurmurHash3's 64-bit finalizer, then a
 *	multiply-shift into 0 .. n-1).  n = 0
 *	or 1, or a family other than AF_INET and AF_INET6: 0.
 */
#ifndef MXTLS_AFFINITY_H
#define MXTLS_AFFINITY_H

#include <sys/socket.h>

unsigned aff_owner(const struct sockaddr_storage *dst, unsigned n);

#endif
