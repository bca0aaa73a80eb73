/*
 * deliver.h - hand a TLSRPT report to its rua, and remember what was sent.
 *
 * SYNOPSIS
 *	int deliver_https(const char *url, const void *body, size_t len,
 *		const char *ca_file, long timeout, const char *resolve,
 *		char *err, size_t errlen);
 *	int deliver_command(const char *cmd, const void *msg, size_t len,
 *		char *err, size_t errlen);
 *
 *	void deliver_state_name(const char *report_id, const char *uri,
 *		char *buf, size_t len);
 *	int deliver_state_sent(const char *dir, const char *report_id,
 *		const char *uri, char *err, size_t errlen);
 *	int deliver_state_mark(const char *dir, const char *report_id,
 *		const char *uri, long long now, char *err, size_t errlen);
 *	int deliver_state_lock(const char *dir, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	deliver_https() POSTs body to url (RFC 8460 5.4) with libcurl's easy
 *	interface: Content-Type application/tlsrpt+gzip, https only, no
 *	redirects, the peer verified against ca_file (PKIX, host name
 *	checked), timeout seconds for the whole request.  resolve, when not
 *	NULL or empty, is a libcurl CURLOPT_RESOLVE entry (`host:port:addr
 *	[,addr...]') so that the name is resolved by mxtls's own DNS, as
 *	mxtlsd does for MTA-STS; otherwise the system resolver is used.
 *	Any 2xx status is success.
 *
 *	deliver_command() runs cmd, split on white space into a program and
 *	its arguments (no shell; the program is looked up in PATH when it
 *	has no `/'), writes msg to its standard input, closes it and waits.
 *	The command's standard output goes to our standard error.  Exit
 *	status 0 is success.
 *
 *	The send-once state is one file per (report id, rua URI) in dir,
 *	named by deliver_state_name(): the SHA-256 of the two in hex, plus
 *	`.sent' (no part of a URI reaches the file system).  The file holds
 *	the report id, the URI and the time, for people.
 *	deliver_state_sent() says whether the pair was recorded.
 *	deliver_state_mark() records it (creating dir when missing): a
 *	temporary file, fsync, rename, fsync of dir, so that a crash leaves
 *	either no record or a whole one; call it only after the delivery
 *	succeeded.  deliver_state_lock() takes an exclusive lock on
 *	dir/.lock, so that two runs cannot send the same report twice; the
 *	lock lasts until the process exits or the returned descriptor is
 *	closed.
 *
 * DIAGNOSTICS
 *	deliver_https() and deliver_command() return 0 on success, or -1 with
 *	a reason that names the URL and the HTTP status or libcurl error,
 *	or the command and its exit status or signal.  deliver_state_sent()
 *	returns 1 (recorded), 0 (not), or -1 when the state cannot be read.
 *	deliver_state_mark() returns 0 or -1, deliver_state_lock() a
 *	descriptor or -1 (held by another run, or a system error), each
 *	with a reason naming the file.
 */
#ifndef MXTLS_DELIVER_H
#define MXTLS_DELIVER_H

#include <stddef.h>

#define DELIVER_STATE_NAME	70	/* 64 hex digits, .sent, NUL */

int deliver_https(const char *url, const void *body, size_t len,
    const char *ca_file, long timeout, const char *resolve, char *err,
    size_t errlen);
int deliver_command(const char *cmd, const void *msg, size_t len, char *err,
    size_t errlen);

void deliver_state_name(const char *report_id, const char *uri, char *buf,
    size_t len);
int deliver_state_sent(const char *dir, const char *report_id,
    const char *uri, char *err, size_t errlen);
int deliver_state_mark(const char *dir, const char *report_id,
    const char *uri, long long now, char *err, size_t errlen);
int deliver_state_lock(const char *dir, char *err, size_t errlen);

#endif
