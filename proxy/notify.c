/*
 * notify.c - systemd's readiness protocol, through libsystemd's
 * sd_notify(3).  See notify.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "../lib/buf.h"
#include "../lib/log.h"
#include "notify.h"

static char reload_err[512];		/* the last reload's rejection, or "" */

/* notify_send - one notification; a failure is worth a warning, once */
static void
notify_send(const char *msg)
{
	static int warned;
	int r;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	if ((r = sd_notify(0, msg)) < 0 && !warned) {
		warned = 1;
		msg_warn("sd_notify: %s", strerror(-r));
	}
}

/* notify_off - this process never notifies (a worker) */
void
notify_off(void)
{
	unsetenv("NOTIFY_SOCKET");
}

/* notify_ready - READY=1: listening, and taking connections */
void
notify_ready(void)
{
	char m[64];

	snprintf(m, sizeof(m), "READY=1\nMAINPID=%ld", (long) getpid());
	notify_send(m);
}

/* notify_reloading - RELOADING=1, before a reload */
void
notify_reloading(void)
{
	struct timespec ts;
	char m[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(m, sizeof(m), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000);
	notify_send(m);
}

/* notify_reload_result - the reload worked (NULL) or was rejected (err) */
void
notify_reload_result(const char *err)
{
	snprintf(reload_err, sizeof(reload_err), "%s", err ? err : "");
}

/* notify_stopping - STOPPING=1: the drain began */
void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

/* notify_status_text - the STATUS= line */
size_t
notify_status_text(char *buf, size_t len, long sessions, long max, long journal_errors,
    long running, int nworkers, const char *rerr)
{
	size_t w;

	if (len == 0)
		return 0;
	w = str_addf(buf, len, 0, "%ld session%s (max %ld); %s", sessions,
	    sessions == 1 ? "" : "s", max, journal_errors ? "" : "journal ok");
	if (journal_errors)
		w = str_addf(buf, len, w, "journal: %ld write/sync error%s", journal_errors,
		    journal_errors == 1 ? "" : "s");
	if (nworkers > 1)
		w = str_addf(buf, len, w, "; workers %ld of %d", running, nworkers);
	if (rerr && *rerr)
		w = str_addf(buf, len, w, "; last reload rejected: %s", rerr);
	/* one line: systemd shows STATUS= up to its first newline */
	for (size_t i = 0; i < w; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	return w;
}

/* notify_status - STATUS=: sessions, the journal, workers, a rejected reload */
void
notify_status(long sessions, long max, long journal_errors, long running, int nworkers)
{
	char m[1024];

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	memcpy(m, "STATUS=", 7);
	notify_status_text(m + 7, sizeof(m) - 7, sessions, max, journal_errors, running,
	    nworkers, reload_err);
	notify_send(m);
}
