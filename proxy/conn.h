/*
 * conn.h - a non-blocking connection, plain or TLS, on libev.
 *
 * SYNOPSIS
 *	void conn_init(struct conn *c, struct ev_loop *loop, int fd,
 *		conn_cb *cb, void *arg);
 *	void conn_connecting(struct conn *c);
 *	int conn_write(struct conn *c, const void *p, size_t n);
 *	void conn_pause(struct conn *c);
 *	void conn_resume(struct conn *c);
 *	int conn_starttls(struct conn *c, SSL_CTX *ctx, int server,
 *		const char *sni);
 *	void conn_close(struct conn *c);
 *	void conn_release(struct conn *c);
 *	const char *conn_err(const struct conn *c);
 *	char *conn_errbuf(struct conn *c);
 *	void conn_trim(struct conn *c);
 *	size_t conn_pending(const struct conn *c);
 *	void conn_init_loop(struct ev_loop *loop);
 *	void reap_init(struct ev_loop *loop);
 *	void reap_later(struct reap *r, void (*fn)(struct reap *));
 *
 * DESCRIPTION
 *	A conn owns a socket, its two libev watchers, an input buffer (at
 *	most in_max bytes: reading stops while it is full) and an output
 *	buffer.  Events reach the owner through one callback, never from
 *	inside a conn_* call the owner made:
 *
 *	CONN_READ	new bytes in c->in
 *	CONN_DRAIN	the output buffer became empty
 *	CONN_CONNECTED	a conn_connecting() connect finished
 *	CONN_TLS	the TLS handshake finished
 *	CONN_EOF	the peer closed (c->in may still hold bytes)
 *	CONN_ERROR	I/O or TLS error; conn_err(c) says which
 *
 *	conn_starttls() starts a handshake on the open socket; the caller
 *	must already have discarded any plaintext it buffered (no command
 *	injection across the TLS boundary).  conn_write() queues; all queued
 *	output is written just before the loop sleeps (conn_init_loop()
 *	installs that), so the replies of one iteration share one write.  conn_pause()/conn_resume() stop
 *	and restart reading for back-pressure.  conn_close() shuts TLS down,
 *	stops the watchers and closes the socket; the struct stays valid,
 *	and conn_err() still says what went wrong; conn_init() may make it
 *	anew (c is zeroed memory, or a connection closed before), and the
 *	owner calls
 *	conn_release() when it frees the struct.  The error text is
 *	allocated with the first error (conn_errbuf(), CONN_ERR_MAX octets;
 *	out of memory is fatal).  Buffers keep their memory while busy; conn_trim() frees the empty
 *	ones when the owner goes idle.
 *
 *	reap_later() frees an object (through the struct reap embedded in
 *	it) after the current callbacks are done: a session is never freed
 *	inside its own callback.  It never allocates, so it cannot fail.
 */
#ifndef MXTLS_CONN_H
#define MXTLS_CONN_H

#include <stddef.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "../lib/buf.h"

enum {
	CONN_READ = 1, CONN_DRAIN = 2, CONN_CONNECTED = 4, CONN_TLS = 8,
	CONN_EOF = 16, CONN_ERROR = 32
};

struct conn;
typedef void conn_cb(struct conn *c, int events, void *arg);

struct conn {
	struct ev_loop *loop;
	int fd;
	SSL *ssl;
	ev_io rio, wio;
	struct buf in, out;
	size_t in_max;
	unsigned connecting:1, handshaking:1, paused:1, eof:1, closed:1,
	    write_wants_read:1, read_wants_write:1, tls_server:1, flush_queued:1;
	struct conn *flush_prev, *flush_next;
	conn_cb *cb;
	void *arg;
	char *err;		/* the last error, or NULL: conn_err() reads
				 * it, conn_errbuf() writes it */
};

void conn_init(struct conn *c, struct ev_loop *loop, int fd, conn_cb *cb,
    void *arg);
void conn_connecting(struct conn *c);
int conn_write(struct conn *c, const void *p, size_t n);
void conn_trim(struct conn *c);
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
int conn_starttls(struct conn *c, SSL_CTX *ctx, int server, const char *sni);
void conn_close(struct conn *c);
void conn_release(struct conn *c);
char *conn_errbuf(struct conn *c);

#define CONN_ERR_MAX	512	/* an error text, with its NUL */

/* conn_err - the last error, "" before one */
static inline const char *
conn_err(const struct conn *c)
{
	return c->err ? c->err : "";
}

/* conn_pending - bytes waiting to be written */
static inline size_t
conn_pending(const struct conn *c)
{
	return buf_used(&c->out);
}

struct reap {
	struct reap *next;
	void (*fn)(struct reap *);
	int queued;
};

void conn_init_loop(struct ev_loop *loop);
void reap_init(struct ev_loop *loop);
void reap_later(struct reap *r, void (*fn)(struct reap *));

#endif
