/*
 * log.c - diagnostics: stderr or syslog (facility mail), as text or as
 * JSON lines.
 *
 * See log.h.  Lines are written with one write(2) each so that lines of
 * concurrent processes do not interleave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define LOG_LINE_MAX	2048		/* a text line, before escaping */
#define LOG_JSON_MAX	8192		/* a JSON line: room for \u escapes */

static const char *log_ident = "mxtls";
static int log_stderr = 1;
static int log_debug_on;
static int log_json;
static void (*log_sink)(const char *line, size_t len);	/* tests */
static pid_t log_pid;			/* 0: ask getpid() (again after a fork) */

/* log_forked - the child of a fork(): its own pid from the next line on */
static void
log_forked(void)
{
	log_pid = 0;
}

/* pid_now - this process's pid, one getpid(2) per process, not per line */
static long
pid_now(void)
{
	static int hooked;

	if (!hooked && pthread_atfork(NULL, NULL, log_forked) == 0)
		hooked = 1;
	if (log_pid == 0 || !hooked)
		log_pid = getpid();
	return (long) log_pid;
}

/* log_self_pid - this process's pid, as the lines carry it */
long
log_self_pid(void)
{
	return pid_now();
}

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

/* log_set_json - JSON lines (1) or text (0) from now on */
void
log_set_json(int on)
{
	log_json = on;
}

/* log_set_sink - every line to fn instead (tests); NULL: as before */
void
log_set_sink(void (*fn)(const char *line, size_t len))
{
	log_sink = fn;
}

/* log_verbose - is debug logging on? */
int
log_verbose(void)
{
	return log_debug_on;
}

/* clean - never let a peer's bytes put control characters in a text line */
static void
clean(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
}

/* A JSON writer into a fixed buffer: lim leaves room for the closing
 * quote of a string cut short and for "}\n". */
struct jw {
	char *p;
	size_t n, lim;
};

/* jw_raw - append s when it fits whole; 0 when it did */
static int
jw_raw(struct jw *w, const char *s)
{
	size_t l = strlen(s);

	if (w->n + l > w->lim)
		return -1;
	memcpy(w->p + w->n, s, l);
	w->n += l;
	return 0;
}

/* utf8_len - the length of the well-formed UTF-8 sequence at s (at most
 * n bytes), or 0 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t l;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		l = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		l = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		l = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < l || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < l; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return l;
}

/* jw_str - s as a JSON string: quotes, backslashes and control
 * characters escaped, bytes that are not UTF-8 as `?'; cut short (still
 * a string) when the buffer is full */
static void
jw_str(struct jw *w, const char *str)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t n = strlen(str);

	w->p[w->n++] = '"';		/* (lim leaves room for both quotes) */
	for (size_t i = 0; i < n;) {
		char esc[8];
		size_t l = 1;
		const char *out = esc;

		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char) s[i];
			esc[2] = 0;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
		} else if (s[i] < 0x80) {
			esc[0] = (char) s[i];
			esc[1] = 0;
		} else if ((l = utf8_len(s + i, n - i)) > 0) {
			memcpy(esc, s + i, l);
			esc[l] = 0;
		} else {
			l = 1;
			out = "?";
		}
		if (jw_raw(w, out) < 0)
			break;
		i += l;
	}
	w->p[w->n++] = '"';
}

/* jw_member - ,"key":"value" (no comma first when first); skipped whole
 * when even its key does not fit */
static void
jw_member(struct jw *w, const char *key, const char *val, int first)
{
	size_t save = w->n;

	if (w->n + strlen(key) + 6 > w->lim) {
		w->n = save;
		return;
	}
	if (!first)
		w->p[w->n++] = ',';
	jw_str(w, key);
	w->p[w->n++] = ':';
	jw_str(w, val);
}

/* log_fields_text - the fields as `k=v, k=v', `detail' as ` (v)'; the
 * length written (at most len - 1, NUL-ended) */
size_t
log_fields_text(char *buf, size_t len, const struct log_field *f, size_t n)
{
	size_t w = 0;

	if (len == 0)
		return 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && w < len - 1; i++) {
		if (strcmp(f[i].key, "detail") == 0)
			w = str_addf(buf, len, w, " (%s)", f[i].val);
		else
			w = str_addf(buf, len, w, "%s%s=%s", i ? ", " : "", f[i].key, f[i].val);
	}
	return w;
}

/* log_json_line - one JSON object (no newline): time, level, prog, pid,
 * sid (when given), msg, then the fields as members of their own; the
 * length written, NUL-ended, len at least 64 */
size_t
log_json_line(char *buf, size_t len, const char *time, const char *level,
    const char *prog, long pid, const char *sid, const char *msg,
    const struct log_field *f, size_t n)
{
	struct jw w = {buf, 0, len - 4};
	char pidbuf[24];

	w.p[w.n++] = '{';
	jw_member(&w, "time", time, 1);
	jw_member(&w, "level", level, 0);
	jw_member(&w, "prog", prog, 0);
	snprintf(pidbuf, sizeof(pidbuf), ",\"pid\":%ld", pid);
	(void) jw_raw(&w, pidbuf);
	if (sid && *sid)
		jw_member(&w, "sid", sid, 0);
	for (size_t i = 0; i < n; i++)
		jw_member(&w, f[i].key, f[i].val, 0);
	/* The line as text last: the members above are what a shipper
	 * keys on, and a full buffer cuts this short first. */
	jw_member(&w, "msg", msg, 0);
	w.p[w.n++] = '}';
	w.p[w.n] = 0;
	return w.n;
}

/* log_sid_of - the session id a message begins with (`0A1B2C3D4E: '):
 * its length, or 0 */
size_t
log_sid_of(const char *msg)
{
	size_t i;

	for (i = 0; i < LOG_SID_LEN; i++)
		if (!((msg[i] >= '0' && msg[i] <= '9') || (msg[i] >= 'A' && msg[i] <= 'F')))
			return 0;
	return msg[i] == ':' && msg[i + 1] == ' ' ? LOG_SID_LEN : 0;
}

/* now_str - the time as 2026-01-02T03:04:05.678Z */
static void
now_str(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
}

/* out - one finished line to stderr (with a newline) or syslog */
static void
out(int prio, char *line, size_t n, size_t cap)
{
	if (log_sink) {
		line[n < cap ? n : cap - 1] = 0;
		log_sink(line, n < cap ? n : cap - 1);
		return;
	}
	if (log_stderr) {
		if (n >= cap - 1)
			n = cap - 2;
		line[n++] = '\n';
		ssize_t w = write(STDERR_FILENO, line, n);
		(void) w;
	} else {
		line[n < cap ? n : cap - 1] = 0;
		syslog(prio, "%s", line);
	}
}

/* emit - one message (text msg, or fields f when n > 0) at a level */
static void
emit(int prio, const char *level, const char *prefix, const char *sid,
    const char *msg, const struct log_field *f, size_t n)
{
	char line[LOG_JSON_MAX], t[96];
	size_t len = 0;
	int r;

	now_str(t, sizeof(t));
	if (log_json) {
		char sidbuf[LOG_SID_LEN + 1];
		size_t sl;

		if (!sid && (sl = log_sid_of(msg)) > 0) {
			memcpy(sidbuf, msg, sl);
			sidbuf[sl] = 0;
			sid = sidbuf;
			msg += sl + 2;
		}
		len = log_json_line(line, sizeof(line), t, level, log_ident,
		    pid_now(), sid, msg, f, n);
		out(prio, line, len, sizeof(line));
		return;
	}
	if (log_stderr)
		r = snprintf(line, LOG_LINE_MAX, "%s %s[%ld]: %s%s%s", t, log_ident,
		    pid_now(), prefix, sid ? sid : "", sid ? ": " : "");
	else
		r = snprintf(line, LOG_LINE_MAX, "%s%s%s", prefix, sid ? sid : "",
		    sid ? ": " : "");
	if (r > 0)
		len = (size_t) r < LOG_LINE_MAX ? (size_t) r : LOG_LINE_MAX - 1;
	r = snprintf(line + len, LOG_LINE_MAX - len, "%s", msg);
	if (r > 0)
		len += (size_t) r < LOG_LINE_MAX - len ? (size_t) r : LOG_LINE_MAX - len - 1;
	clean(line, len);
	out(prio, line, len, LOG_LINE_MAX);
}

/* log_emit - format and send one line */
static void
log_emit(int prio, const char *level, const char *prefix, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit(prio, level, prefix, NULL, msg, NULL, 0);
}

/* msg_fields - one informational line of named fields (log.h) */
void
msg_fields(const char *sid, const struct log_field *f, size_t n)
{
	char msg[LOG_LINE_MAX];
	int saved = errno;

	log_fields_text(msg, sizeof(msg), f, n);
	emit(LOG_INFO, "info", "", sid, msg, f, n);
	errno = saved;
}

#define LOG_BODY(prio, level, prefix) do { \
	va_list ap; \
	int saved_ = errno; \
	va_start(ap, fmt); \
	errno = saved_; \
	log_emit(prio, level, prefix, fmt, ap); \
	va_end(ap); \
	errno = saved_; \
} while (0)

/* msg_info - informational line */
void
msg_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "info", "");
}

/* msg_warn - recoverable trouble */
void
msg_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning", "warning: ");
}

/* msg_debug - verbose detail */
void
msg_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY(LOG_DEBUG, "debug", "debug: ");
}

/* msg_fatal - configuration or environment error: exit */
void
msg_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal", "fatal: ");
	exit(1);
}

/* msg_panic - broken internal invariant: abort */
void
msg_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "panic", "panic: ");
	abort();
}
