/*
 * sess.h - one SMTP session with the old MTA, and its upstream.
 *
 * SYNOPSIS
 *	void sess_new(int fd, const struct sockaddr_storage *peer,
 *		const struct sockaddr_storage *orig);
 *	void sess_drain_all(void);
 *	void sess_kill_all(void);
 *	const char *sess_state_str(int w);
 *
 * DESCRIPTION
 *	sess_new() takes an accepted, redirected connection: the peer is the
 *	old MTA, orig the address it wanted to reach.  The session speaks
 *	SMTP to the old MTA (fsm.c decides, this file does the I/O), opens
 *	the upstream connection at the first RCPT, replays MAIL and RCPT,
 *	relays each reply, then relays the message bytes with back-pressure
 *	and the MX's final reply.  Any failure on our side is a 4xx with an
 *	enhanced status code and a reason: the old MTA keeps the message.
 *
 *	sess_state_str() names a wait state (sess_int.h) for logs.
 *
 *	sess_drain_all() (SIGTERM) closes idle sessions with 421 and lets
 *	the others finish their transaction first.  sess_kill_all() closes
 *	every session now with 421 (the drain timeout ran out).
 */
#ifndef MXTLS_SESS_H
#define MXTLS_SESS_H

#include <sys/socket.h>

void sess_new(int fd, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *orig);
void sess_drain_all(void);
void sess_kill_all(void);
const char *sess_state_str(int w);

#endif
