/*
 * notify.h - systemd's readiness protocol (sd_notify(3), Type=notify):
 *	ready, reloading, stopping, and a status line.
 *
 * SYNOPSIS
 *	void notify_off(void);
 *	void notify_ready(void);
 *	void notify_reloading(void);
 *	void notify_reload_result(const char *err);
 *	void notify_stopping(void);
 *	void notify_status(long sessions, long max, long journal_errors,
 *		long running, int nworkers);
 *	size_t notify_status_text(char *buf, size_t len, long sessions,
 *		long max, long journal_errors, long running, int nworkers,
 *		const char *reload_err);
 *
 * DESCRIPTION
 *	Without NOTIFY_SOCKET in the environment (not started by systemd
 *	with Type=notify) every call does nothing.  One process notifies:
 *	mxtlsd itself with workers = 1, the parent with more; a worker
 *	calls notify_off() (NOTIFY_SOCKET leaves its environment), so
 *	NotifyAccess=main holds.
 *
 *	notify_ready() says READY=1 and MAINPID=: the listeners are bound
 *	and listening, privileges are dropped, and (workers) every worker
 *	has its loop running.  notify_reloading() says RELOADING=1 with
 *	MONOTONIC_USEC= (what systemd 253 and later want; older ones ignore
 *	it) before a SIGHUP's reload; after it, notify_reload_result(NULL)
 *	or with the error that rejected it (kept in every STATUS= until a
 *	reload works), then notify_ready().  notify_stopping() says
 *	STOPPING=1 when SIGTERM starts the drain.
 *
 *	notify_status() sends STATUS= with notify_status_text() (pure):
 *	`N sessions (max M); journal ok' or `journal: E write/sync errors',
 *	`; workers R of N' with workers, and `; last reload rejected: ERR'.
 */
#ifndef MXTLS_NOTIFY_H
#define MXTLS_NOTIFY_H

#include <stddef.h>

void notify_off(void);
void notify_ready(void);
void notify_reloading(void);
void notify_reload_result(const char *err);
void notify_stopping(void);
void notify_status(long sessions, long max, long journal_errors, long running,
    int nworkers);
size_t notify_status_text(char *buf, size_t len, long sessions, long max,
    long journal_errors, long running, int nworkers, const char *reload_err);

#endif
