/*
 * log.c - diagnostics: stderr or syslog (facility mail).
 *
 * See log.h.  Lines are written with one write(2) each so that lines of
 * concurrent processes do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "mxtls";
static int log_stderr = 1;
static int log_debug_on;

/* log_init - choose where diagnostics go */
void
log_init(const char *ident, int to_stderr, int verbose)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_debug_on = verbose;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_verbose - is debug logging on? */
int
log_verbose(void)
{
	return log_debug_on;
}

/* log_emit - format and send one line */
static void
log_emit(int prio, const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;
	size_t n = 0;
	int r;

	if (log_stderr) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		r = snprintf(line, sizeof(line),
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld]: %s",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, log_ident,
		    (long) getpid(), prefix);
	} else {
		r = snprintf(line, sizeof(line), "%s", prefix);
	}
	if (r > 0)
		n = (size_t) r < sizeof(line) ? (size_t) r : sizeof(line) - 1;
	errno = saved;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t) r < sizeof(line) - n ? (size_t) r : sizeof(line) - n - 1;
	/* Never let a peer's bytes put control characters in a log line. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (log_stderr) {
		if (n >= sizeof(line) - 1)
			n = sizeof(line) - 2;
		line[n++] = '\n';
		ssize_t w = write(STDERR_FILENO, line, n);
		(void) w;
	} else {
		line[n < sizeof(line) ? n : sizeof(line) - 1] = 0;
		syslog(prio, "%s", line);
	}
}

#define LOG_BODY(prio, prefix) do { \
	va_list ap; \
	va_start(ap, fmt); \
	log_emit(prio, prefix, fmt, ap); \
	va_end(ap); \
} while (0)

/* msg_info - informational line */
void
msg_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "");
}

/* msg_warn - recoverable trouble */
void
msg_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ");
}

/* msg_debug - verbose detail */
void
msg_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY(LOG_DEBUG, "debug: ");
}

/* msg_fatal - configuration or environment error: exit */
void
msg_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ");
	exit(1);
}

/* msg_panic - broken internal invariant: abort */
void
msg_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "panic: ");
	abort();
}
