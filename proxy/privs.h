/*
 * privs.h - which capabilities mxtlsd's features need after start-up,
 *	pure: the configuration in, a capability mask out.
 *
 * SYNOPSIS
 *	#include "privs.h"
 *
 *	uint64_t privs_need(uint32_t upstream_mark, long dns_watch_queue,
 *		int upstream_source);
 *	uint64_t privs_need_cfg(const struct config *c);
 *	int privs_lacking(const struct config *c, uint64_t kept, char *buf,
 *		size_t len);
 *	const char *privs_str(uint64_t caps, char *buf, size_t len);
 *
 * DESCRIPTION
 *	A capability mask has bit PRIVS_CAP(CAP_X) for each capability
 *	CAP_X (linux/capability.h): the bit order of the kernel's CapEff,
 *	CapPrm and CapBnd lines in /proc/PID/status.
 *
 *	What each feature needs once the listeners are bound (binding them,
 *	IP_TRANSPARENT on a tproxy: listener included, is done before):
 *	upstream_mark != 0: CAP_NET_ADMIN (SO_MARK on every upstream
 *	socket; Linux 5.17 and later take CAP_NET_RAW too, older ones do
 *	not); dns_watch_queue >= 0: CAP_NET_ADMIN (every nfnetlink
 *	message to the queue, verdicts included, is checked against it);
 *	upstream_source = client: CAP_NET_RAW or CAP_NET_ADMIN
 *	(IP_TRANSPARENT on upstream sockets takes either), CAP_NET_RAW when
 *	CAP_NET_ADMIN is not needed for another feature.  Nothing of these
 *	configured: no capability at all.
 *
 *	privs_need() is that rule: the smallest mask that gives every
 *	configured feature one of the capabilities it accepts.
 *	privs_need_cfg() is privs_need() of c's three keys.
 *
 *	privs_lacking() is what a reload to c would miss when the process
 *	kept only kept: it writes the features that none of kept serves,
 *	each as `key (cap_x)' and separated by `, ', into buf, and returns
 *	how many there are (0: c can run on kept; buf is then empty).
 *
 *	privs_str() writes the mask's capability names as libcap spells them
 *	(cap_to_name(3): `cap_net_admin'), in bit order, separated by `,',
 *	or `none' for an empty mask, into buf; it returns buf.
 *
 * DIAGNOSTICS
 *	privs_str() and privs_lacking() truncate at len - 1 characters.
 */
#ifndef MXTLS_PRIVS_H
#define MXTLS_PRIVS_H

#include <linux/capability.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/conf.h"

#define PRIVS_CAP(c)	(UINT64_C(1) << (c))

uint64_t privs_need(uint32_t upstream_mark, long dns_watch_queue,
    int upstream_source);
uint64_t privs_need_cfg(const struct config *c);
int privs_lacking(const struct config *c, uint64_t kept, char *buf,
    size_t len);
const char *privs_str(uint64_t caps, char *buf, size_t len);

#endif
