/*
 * bio.h - the non-blocking I/O that bload.c and bsink.c share: plaintext
 * or TLS reads and writes that say what they wait for, the libev watch
 * that follows, numeric ADDR:PORT / [ADDR6]:PORT parsing, and the
 * descriptor limit.  Header-only: each tool is one file.
 *
 * SYNOPSIS
 *	int bio_status(SSL *ssl, int ret, int *want);
 *	int bio_send(int fd, SSL *ssl, int *want, const char *buf, size_t len,
 *		size_t *sent);
 *	int bio_recv(int fd, SSL *ssl, int *want, char *buf, size_t cap,
 *		size_t *got);
 *	void bio_watch(struct ev_loop *loop, ev_io *io, int fd, int events);
 *	int bio_hostport(const char *spec, char *host, size_t hostlen,
 *		const char **port);
 *	void bio_raise_nofile(void);
 *	void bio_vappend(char *buf, size_t *len, size_t cap, const char *what,
 *		const char *fmt, va_list ap);
 *
 * DESCRIPTION
 *	bio_send() and bio_recv() return an io_status; IO_AGAIN sets *want
 *	to the libev event the operation waits for.  bio_status() maps a
 *	failed SSL_* call the same way.  bio_watch() makes io wait for
 *	events (restarting it only when they change).  bio_hostport() splits
 *	a numeric address spec into host (copied) and *port (pointing into
 *	spec); -1 when it is malformed.  bio_raise_nofile() raises the soft
 *	descriptor limit to the hard one.  bio_vappend() formats into
 *	buf[*len..cap); the callers size their buffers so that it always
 *	fits, so when it does not, that is a bug: it says `what' overflowed
 *	and aborts.
 */
#ifndef MXTLS_BENCH_BIO_H
#define MXTLS_BENCH_BIO_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

enum io_status { IO_OK, IO_AGAIN, IO_EOF, IO_ERR };

/* bio_status - map an SSL_* failure to an io_status, noting what it waits for */
static inline int
bio_status(SSL *ssl, int ret, int *want)
{
	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		*want = EV_READ;
		return IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = EV_WRITE;
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	default:
		ERR_clear_error();
		return IO_ERR;
	}
}

/* bio_send - write bytes, plaintext or TLS; *sent says how many went */
static inline int
bio_send(int fd, SSL *ssl, int *want, const char *buf, size_t len, size_t *sent)
{
	ssize_t w;
	int ret;

	if (ssl) {
		ERR_clear_error();
		ret = SSL_write_ex(ssl, buf, len, sent);
		return ret == 1 ? IO_OK : bio_status(ssl, ret, want);
	}
	for (;;) {
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w >= 0) {
			*sent = (size_t)w;
			return IO_OK;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*want = EV_WRITE;
			return IO_AGAIN;
		}
		return IO_ERR;
	}
}

/* bio_recv - read up to cap bytes, plaintext or TLS */
static inline int
bio_recv(int fd, SSL *ssl, int *want, char *buf, size_t cap, size_t *got)
{
	ssize_t n;
	int ret;

	if (ssl) {
		ERR_clear_error();
		ret = SSL_read_ex(ssl, buf, cap, got);
		return ret == 1 ? IO_OK : bio_status(ssl, ret, want);
	}
	for (;;) {
		n = read(fd, buf, cap);
		if (n > 0) {
			*got = (size_t)n;
			return IO_OK;
		}
		if (n == 0)
			return IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*want = EV_READ;
			return IO_AGAIN;
		}
		return IO_ERR;
	}
}

/* bio_watch - wait for what the blocked operation needs */
static inline void
bio_watch(struct ev_loop *loop, ev_io *io, int fd, int events)
{
	if (io->events != events) {
		ev_io_stop(loop, io);
		ev_io_set(io, fd, events);
		ev_io_start(loop, io);
	}
}

/* bio_hostport - ADDR:PORT or [ADDR6]:PORT into host and port */
static inline int
bio_hostport(const char *spec, char *host, size_t hostlen, const char **port)
{
	const char *h, *p;
	size_t hlen;

	if (spec[0] == '[') {
		h = spec + 1;
		p = strchr(h, ']');
		if (p == NULL || p[1] != ':')
			return -1;
		hlen = (size_t)(p - h);
		p += 2;
	} else {
		h = spec;
		p = strrchr(spec, ':');
		if (p == NULL)
			return -1;
		hlen = (size_t)(p - h);
		p++;
	}
	if (hlen == 0 || hlen >= hostlen || *p == '\0')
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = p;
	return 0;
}

/* bio_raise_nofile - allow as many descriptors as the hard limit permits */
static inline void
bio_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* bio_vappend - format onto a buffer that is sized to always have room */
static inline void
bio_vappend(char *buf, size_t *len, size_t cap, const char *what, const char *fmt,
    va_list ap)
{
	size_t room = cap - *len;
	int n = vsnprintf(buf + *len, room, fmt, ap);

	if (n < 0 || (size_t)n >= room) {
		fprintf(stderr, "panic: %s overflow\n", what);
		abort();
	}
	*len += (size_t)n;
}

#endif
