/*
 * log.h - diagnostics for every mxtls program.
 *
 * SYNOPSIS
 *	void log_init(const char *ident, int to_stderr, int verbose);
 *	void msg_info(const char *fmt, ...);
 *	void msg_warn(const char *fmt, ...);
 *	void msg_debug(const char *fmt, ...);
 *	void msg_fatal(const char *fmt, ...);	(does not return)
 *	void msg_panic(const char *fmt, ...);	(does not return)
 *
 * DESCRIPTION
 *	Three levels of trouble, as in Postfix: msg_warn() for anything a
 *	peer or the environment can cause at run time, msg_fatal() for
 *	configuration and environment errors at start-up (exit 1),
 *	msg_panic() for a broken internal invariant (abort).  Lines go to
 *	stderr (with a UTC time stamp) or to syslog, facility mail.
 *	msg_debug() prints only when verbose logging was asked for.
 */
#ifndef MXTLS_LOG_H
#define MXTLS_LOG_H

#define MSG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *ident, int to_stderr, int verbose);
int log_verbose(void);
void msg_info(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_debug(const char *fmt, ...) MSG_PRINTF(1, 2);
_Noreturn void msg_fatal(const char *fmt, ...) MSG_PRINTF(1, 2);
_Noreturn void msg_panic(const char *fmt, ...) MSG_PRINTF(1, 2);

#endif
