/*
 * conn.c - a non-blocking connection, plain or TLS, on libev.  See conn.h.
 *
 * Reads happen in the read watcher, writes in the write watcher: a
 * conn_* call made by the owner only queues work, so the owner's
 * callback is never entered recursively.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "conn.h"
#include "../lib/log.h"
#include "tls.h"

#define CONN_READ_CHUNK	65536
#define CONN_READ_FIRST	2048		/* an empty buffer's first reservation:
					 * a command line; reads that fill it
					 * double it up to CONN_READ_CHUNK */

static void conn_on_io(struct ev_loop *, ev_io *, int);

/* conn_init - take over a connected (or connecting) non-blocking socket;
 * c is zeroed memory or a connection closed before */
void
conn_init(struct conn *c, struct ev_loop *loop, int fd, conn_cb *cb, void *arg)
{
	conn_release(c);		/* a closed connection made anew */
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	c->in_max = 65536;
	buf_init(&c->in);
	buf_init(&c->out);
	ev_io_init(&c->rio, conn_on_io, fd, EV_READ);
	ev_io_init(&c->wio, conn_on_io, fd, EV_WRITE);
	c->rio.data = c;
	c->wio.data = c;
	ev_io_start(loop, &c->rio);
}

/* conn_connecting - a connect(2) is in progress: wait for writability */
void
conn_connecting(struct conn *c)
{
	c->connecting = 1;
	ev_io_stop(c->loop, &c->rio);
	ev_io_start(c->loop, &c->wio);
}

/* notify - call the owner, unless the connection was closed */
static void
notify(struct conn *c, int events)
{
	if (!c->closed && events)
		c->cb(c, events, c->arg);
}

/* fail - record an error and tell the owner */
static void
fail(struct conn *c, const char *what, int tlserr)
{
	if (tlserr)
		tls_errstr(conn_errbuf(c), CONN_ERR_MAX, what);
	else
		snprintf(conn_errbuf(c), CONN_ERR_MAX, "%s", what);
	ERR_clear_error();
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	notify(c, CONN_ERROR);
}

/* want_read - (re)arm reading unless paused or full */
static void
want_read(struct conn *c)
{
	if (c->closed || c->eof || c->connecting)
		return;
	if (!c->handshaking && (c->paused || buf_used(&c->in) >= c->in_max)) {
		ev_io_stop(c->loop, &c->rio);
		return;
	}
	ev_io_start(c->loop, &c->rio);
	/* Decrypted bytes may wait inside OpenSSL where poll cannot see them. */
	if (c->ssl && !c->handshaking && SSL_pending(c->ssl) > 0)
		ev_feed_event(c->loop, &c->rio, EV_READ);
}

/* do_handshake - one step of the TLS handshake */
static void
do_handshake(struct conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	if (r == 1) {
		c->handshaking = 0;
		ev_io_stop(c->loop, &c->wio);
		want_read(c);
		if (buf_used(&c->out))
			ev_io_start(c->loop, &c->wio);
		notify(c, CONN_TLS);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		ev_io_stop(c->loop, &c->wio);
		ev_io_start(c->loop, &c->rio);
		return;
	case SSL_ERROR_WANT_WRITE:
		ev_io_start(c->loop, &c->wio);
		return;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			fail(c, errno ? strerror(errno) : "connection closed by peer", 0);
			return;
		}
		/* FALLTHROUGH */
	default:
		fail(c, "TLS handshake failed", 1);
		return;
	}
}

/* do_read - fill the input buffer */
static void
do_read(struct conn *c)
{
	int events = 0;

	while (buf_used(&c->in) < c->in_max && !c->eof) {
		size_t room = c->in_max - buf_used(&c->in);
		size_t want = c->in.cap < CONN_READ_FIRST ? CONN_READ_FIRST
		    : c->in.cap;
		ssize_t n;

		if (room > CONN_READ_CHUNK)
			room = CONN_READ_CHUNK;
		/* Grow with what the peer sends: an idle session's 64 KiB
		 * reservation, freed by conn_trim(), left holes that the next
		 * session's calloc() touched whole. */
		if (room > want)
			room = want;
		if (buf_reserve(&c->in, room) < 0) {
			fail(c, "out of memory", 0);
			return;
		}
		if (c->ssl) {
			int r = SSL_read(c->ssl, c->in.data + c->in.len, (int) room);

			if (r > 0) {
				c->in.len += (size_t) r;
				events |= CONN_READ;
				/* Nothing buffered in OpenSSL: poll says when more
				 * comes (level-triggered); skip the EAGAIN read. */
				if (!SSL_has_pending(c->ssl))
					goto out;
				continue;
			}
			switch (SSL_get_error(c->ssl, r)) {
			case SSL_ERROR_WANT_READ:
				goto out;
			case SSL_ERROR_WANT_WRITE:
				c->read_wants_write = 1;
				ev_io_start(c->loop, &c->wio);
				goto out;
			case SSL_ERROR_ZERO_RETURN:
				c->eof = 1;
				events |= CONN_EOF;
				goto out;
			case SSL_ERROR_SYSCALL:
				if (ERR_peek_error() == 0) {
					if (errno == 0 || errno == ECONNRESET) {
						c->eof = 1;
						events |= CONN_EOF;
						if (errno == ECONNRESET)
							snprintf(conn_errbuf(c), CONN_ERR_MAX,
							    "connection reset by peer");
						goto out;
					}
					notify(c, events);
					fail(c, strerror(errno), 0);
					return;
				}
				/* FALLTHROUGH */
			default:
				notify(c, events);
				fail(c, "TLS read failed", 1);
				return;
			}
		}
		n = read(c->fd, c->in.data + c->in.len, room);
		if (n > 0) {
			c->in.len += (size_t) n;
			events |= CONN_READ;
			if ((size_t) n < room)
				break;
			continue;
		}
		if (n == 0) {
			c->eof = 1;
			events |= CONN_EOF;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == ECONNRESET) {
			c->eof = 1;
			snprintf(conn_errbuf(c), CONN_ERR_MAX, "connection reset by peer");
			events |= CONN_EOF;
			break;
		}
		notify(c, events);
		fail(c, strerror(errno), 0);
		return;
	}
out:
	if (c->eof)
		ev_io_stop(c->loop, &c->rio);
	else
		want_read(c);
	notify(c, events);
	/* The owner may have consumed input: read again if there is room. */
	if (!c->closed && !c->eof)
		want_read(c);
}

/* do_write - empty the output buffer as far as the socket takes it */
static void
do_write(struct conn *c)
{
	int had = buf_used(&c->out) > 0;

	while (buf_used(&c->out) > 0) {
		size_t n = buf_used(&c->out);

		if (c->ssl) {
			int r = SSL_write(c->ssl, buf_head(&c->out),
			    n > INT32_MAX ? INT32_MAX : (int) n);

			if (r > 0) {
				buf_consume(&c->out, (size_t) r);
				continue;
			}
			switch (SSL_get_error(c->ssl, r)) {
			case SSL_ERROR_WANT_WRITE:
				ev_io_start(c->loop, &c->wio);
				return;
			case SSL_ERROR_WANT_READ:
				c->write_wants_read = 1;
				ev_io_stop(c->loop, &c->wio);
				ev_io_start(c->loop, &c->rio);
				return;
			case SSL_ERROR_SYSCALL:
				if (ERR_peek_error() == 0) {
					fail(c, errno == EPIPE ? "connection closed by peer"
					    : strerror(errno), 0);
					return;
				}
				/* FALLTHROUGH */
			default:
				fail(c, "TLS write failed", 1);
				return;
			}
		} else {
			ssize_t w = send(c->fd, buf_head(&c->out), n, MSG_NOSIGNAL);

			if (w >= 0) {
				buf_consume(&c->out, (size_t) w);
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(c->loop, &c->wio);
				return;
			}
			fail(c, errno == EPIPE ? "connection closed by peer"
			    : strerror(errno), 0);
			return;
		}
	}
	ev_io_stop(c->loop, &c->wio);
	if (had)
		notify(c, CONN_DRAIN);
}

/* connected - a non-blocking connect finished: how */
static void
connected(struct conn *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	c->connecting = 0;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr) {
		fail(c, strerror(soerr), 0);
		return;
	}
	ev_io_stop(c->loop, &c->wio);
	want_read(c);
	if (buf_used(&c->out))
		ev_io_start(c->loop, &c->wio);
	notify(c, CONN_CONNECTED);
}

/*
 * conn_on_io - the socket is readable (rio) or writable (wio).  A TLS
 * read may need the socket writable and a write readable (OpenSSL's
 * WANT_WRITE / WANT_READ): the other side's work is done first then.
 */
static void
conn_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	int writable = w == &c->wio;

	(void) loop;
	(void) revents;
	if (c->closed)
		return;
	if (writable && c->connecting) {
		connected(c);
		return;
	}
	if (c->handshaking) {
		do_handshake(c);
		return;
	}
	if (writable && c->read_wants_write) {
		c->read_wants_write = 0;
		do_read(c);
	} else if (!writable && c->write_wants_read) {
		c->write_wants_read = 0;
		do_write(c);
	}
	if (c->closed)
		return;
	if (writable)
		do_write(c);
	else
		do_read(c);
}

/*
 * The flush list: connections with queued output.  conn_write() only
 * queues; flush_run(), an ev_prepare, writes them all just before the loop
 * sleeps.  Replies made in one iteration go out in one write, and the write
 * watcher is armed only when the socket is full.
 */
static struct conn *flush_head;
static ev_prepare flush_w;

/* flush_unlink - take a connection off the flush list */
static void
flush_unlink(struct conn *c)
{
	if (!c->flush_queued)
		return;
	if (c->flush_prev)
		c->flush_prev->flush_next = c->flush_next;
	else
		flush_head = c->flush_next;
	if (c->flush_next)
		c->flush_next->flush_prev = c->flush_prev;
	c->flush_prev = c->flush_next = NULL;
	c->flush_queued = 0;
}

/* flush_run - write every queued connection (owners may queue more) */
static void
flush_run(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	while (flush_head) {
		struct conn *c = flush_head;

		flush_unlink(c);
		if (c->closed || c->connecting || c->handshaking || c->write_wants_read)
			continue;
		do_write(c);
	}
}

/* conn_init_loop - install the flusher */
void
conn_init_loop(struct ev_loop *loop)
{
	ev_prepare_init(&flush_w, flush_run);
	ev_prepare_start(loop, &flush_w);
	ev_unref(loop);
}

/* conn_write - queue bytes; they go out before the loop sleeps */
int
conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->closed)
		return -1;
	if (buf_append(&c->out, p, n) < 0)
		return -1;
	if (!c->flush_queued && !ev_is_active(&c->wio)) {
		c->flush_queued = 1;
		c->flush_prev = NULL;
		c->flush_next = flush_head;
		if (flush_head)
			flush_head->flush_prev = c;
		flush_head = c;
	}
	return 0;
}

/* conn_trim - free the buffers that are empty (an idle session's memory) */
void
conn_trim(struct conn *c)
{
	buf_release(&c->in);
	buf_release(&c->out);
}

/* conn_pause - stop reading (back-pressure) */
void
conn_pause(struct conn *c)
{
	c->paused = 1;
	if (!c->handshaking)
		ev_io_stop(c->loop, &c->rio);
}

/* conn_resume - read again */
void
conn_resume(struct conn *c)
{
	c->paused = 0;
	want_read(c);
}

/* conn_starttls - begin a TLS handshake on this connection */
int
conn_starttls(struct conn *c, SSL_CTX *ctx, int server, const char *sni)
{
	if (c->closed || c->ssl)
		return -1;
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_errstr(conn_errbuf(c), CONN_ERR_MAX, "SSL_new");
		return -1;
	}
	if (server) {
		SSL_set_accept_state(c->ssl);
		c->tls_server = 1;
	} else {
		SSL_set_connect_state(c->ssl);
		if (sni && *sni && SSL_set_tlsext_host_name(c->ssl, sni) != 1) {
			tls_errstr(conn_errbuf(c), CONN_ERR_MAX, "SNI");
			return -1;
		}
	}
	buf_reset(&c->in);			/* plaintext never crosses into TLS */
	c->handshaking = 1;
	ev_io_stop(c->loop, &c->rio);
	ev_io_start(c->loop, &c->wio);		/* the first step runs from the loop */
	return 0;
}

/* conn_close - close now; the struct stays valid for the owner */
void
conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	flush_unlink(c);
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	if (c->ssl) {
		if (!c->handshaking && !c->eof)
			(void) SSL_shutdown(c->ssl);	/* one close_notify, no wait */
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	buf_free(&c->out);
}

/* conn_release - what outlived conn_close (the error text, which the
 * owner reads after the close); for the owner's free */
void
conn_release(struct conn *c)
{
	free(c->err);
	c->err = NULL;
}

/* conn_errbuf - the error text's buffer, CONN_ERR_MAX octets, allocated
 * with the first error: an idle connection does not carry one.  Out of
 * memory is fatal, as for the session's parts. */
char *
conn_errbuf(struct conn *c)
{
	if (c->err == NULL && (c->err = malloc(CONN_ERR_MAX)) == NULL)
		msg_fatal("out of memory for a connection's error text");
	c->err[0] = 0;
	return c->err;
}

/* The reaper: objects freed from an ev_prepare, outside every callback. */
static struct reap *reap_head;
static ev_prepare reap_w;

/* reap_run - free what was put aside */
static void
reap_run(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	while (reap_head) {
		struct reap *r = reap_head;

		reap_head = r->next;
		r->fn(r);
	}
}

/* reap_init - install the reaper in the loop */
void
reap_init(struct ev_loop *loop)
{
	ev_prepare_init(&reap_w, reap_run);
	ev_prepare_start(loop, &reap_w);
	ev_unref(loop);				/* the reaper keeps nothing alive */
}

/* reap_later - free the object holding r once the callbacks are over */
void
reap_later(struct reap *r, void (*fn)(struct reap *))
{
	if (r->queued)
		return;
	r->queued = 1;
	r->fn = fn;
	r->next = reap_head;
	reap_head = r;
}
