/*
 * log.h - diagnostics for every mxtls program.
 *
 * SYNOPSIS
 *	void log_init(const char *ident, int to_stderr, int verbose);
 *	void log_set_json(int on);
 *	void log_set_sink(void (*fn)(const char *line, size_t len));
 *	void msg_info(const char *fmt, ...);
 *	void msg_warn(const char *fmt, ...);
 *	void msg_debug(const char *fmt, ...);
 *	void msg_fatal(const char *fmt, ...);	(does not return)
 *	void msg_panic(const char *fmt, ...);	(does not return)
 *
 *	struct log_field { const char *key, *val; };
 *	void msg_fields(const char *sid, const struct log_field *f, size_t n);
 *
 *	size_t log_fields_text(char *buf, size_t len,
 *		const struct log_field *f, size_t n);
 *	size_t log_json_line(char *buf, size_t len, const char *time,
 *		const char *level, const char *prog, long pid, const char *sid,
 *		const char *msg, const struct log_field *f, size_t n);
 *	size_t log_sid_of(const char *msg);
 *	long log_self_pid(void);
 *
 * DESCRIPTION
 *	Three levels of trouble, as in Postfix: msg_warn() for anything a
 *	peer or the environment can cause at run time, msg_fatal() for
 *	configuration and environment errors at start-up (exit 1),
 *	msg_panic() for a broken internal invariant (abort).  Lines go to
 *	stderr (with a UTC time stamp) or to syslog, facility mail.
 *	msg_debug() prints only when verbose logging was asked for.  Control
 *	characters in a text line become `?'.
 *
 *	log_set_json(1) (log_format = json) makes every line one JSON
 *	object: "time" (UTC, milliseconds), "level" (info, warning, debug,
 *	fatal, panic), "prog", "pid", "sid" when the message begins with a
 *	session id and `: ' (log_sid_of(): LOG_SID_LEN upper-case hex
 *	digits; the id is then left out of "msg"), and "msg".  Strings are
 *	escaped as JSON demands (quotes, backslashes, control characters as
 *	\u00XX); bytes that are not UTF-8 become `?'.  Nothing allocates.
 *
 *	msg_fields() is an informational line of named fields (the delivery
 *	summary): as text `SID: k1=v1, k2=v2 (detail)' (log_fields_text():
 *	fields joined by `, ', a field named "detail" written as ` (v)' after
 *	the one before it, Postfix's `status=sent (250 ...)'), as JSON the
 *	object above with each field a string member of the same name, and
 *	"msg" the text form.  log_fields_text() and log_json_line() are pure,
 *	for the tests; both NUL-end what they write and return its length.
 *	log_set_sink() hands every finished line (no newline) to fn instead
 *	of writing it, for the tests; NULL: back to stderr or syslog.
 *	log_self_pid() is this process's pid as the lines carry it: one
 *	getpid(2) a process, renewed in a fork's child (the journal's
 *	record-id uses it too).
 */
#ifndef MXTLS_LOG_H
#define MXTLS_LOG_H

#include <stddef.h>

#define MSG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define LOG_SID_LEN	10		/* proxy/sess.c: %05lX%05lX */

struct log_field {
	const char *key;
	const char *val;
};

void log_init(const char *ident, int to_stderr, int verbose);
void log_set_json(int on);
void log_set_sink(void (*fn)(const char *line, size_t len));
int log_verbose(void);
long log_self_pid(void);
void msg_info(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_debug(const char *fmt, ...) MSG_PRINTF(1, 2);
_Noreturn void msg_fatal(const char *fmt, ...) MSG_PRINTF(1, 2);
_Noreturn void msg_panic(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_fields(const char *sid, const struct log_field *f, size_t n);
size_t log_fields_text(char *buf, size_t len, const struct log_field *f, size_t n);
size_t log_json_line(char *buf, size_t len, const char *time, const char *level,
    const char *prog, long pid, const char *sid, const char *msg,
    const struct log_field *f, size_t n);
size_t log_sid_of(const char *msg);

#endif
