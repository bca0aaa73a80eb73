/*
 * metrics_srv.c - the HTTP server of the metrics.  See metrics_srv.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/conf.h"
#include "../lib/log.h"
#include "../policy/stscache.h"
#include "../policy/stsget.h"
#include "../policy/stsredis.h"
#include "metrics.h"
#include "metrics_srv.h"
#include "nfq.h"
#include "proxy.h"
#include "tls_scache.h"
#include "wk_shm.h"

enum mstate { M_FREE, M_READ, M_WRITE, M_LINGER };

struct mconn {
	ev_io io;
	ev_timer tmo;
	enum mstate state;
	char in[METRICS_HEAD_MAX];
	size_t inlen;
	struct buf out;
};

static struct ev_loop *m_loop;
static ev_io lsn_w;
static ev_timer pause_w;		/* out of descriptors: accept later */
static ev_prepare pub_w;		/* workers: publish the counters */
static int lsn_fd = -1;
static char lsn_name[128];
static struct mconn conns[METRICS_SRV_CONNS];

static void on_io(struct ev_loop *loop, ev_io *w, int revents);

/* metrics_srv_open - bind metrics_listen, as root */
int
metrics_srv_open(const char *listen_at, char *err, size_t errlen)
{
	struct cfg_socket so;
	int one = 1;

	if (listen_at == NULL || listen_at[0] == 0)
		return 0;
	snprintf(lsn_name, sizeof(lsn_name), "%s", listen_at);
	if (cfg_parse_socket(listen_at, 0, &so) < 0) {
		snprintf(err, errlen, "metrics_listen %s: not ADDR:PORT", listen_at);
		return -1;
	}
	lsn_fd = socket(so.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lsn_fd < 0) {
		snprintf(err, errlen, "metrics_listen %s: socket: %s", listen_at, strerror(errno));
		return -1;
	}
	(void) setsockopt(lsn_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lsn_fd, (struct sockaddr *) &so.addr, so.addrlen) < 0
	    || listen(lsn_fd, 64) < 0) {
		snprintf(err, errlen, "metrics_listen %s: %s", listen_at, strerror(errno));
		close(lsn_fd);
		lsn_fd = -1;
		return -1;
	}
	return 0;
}

/* mconn_close - the end of one connection */
static void
mconn_close(struct mconn *c)
{
	ev_io_stop(m_loop, &c->io);
	ev_timer_stop(m_loop, &c->tmo);
	close(c->io.fd);
	buf_free(&c->out);
	c->state = M_FREE;
}

/* status_text - the reason phrase of a status we send */
static const char *
status_text(int st)
{
	switch (st) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* watch_gauges - the DNS watcher's counters and its hints' */
static void
watch_gauges(struct metrics_gauges *g)
{
	struct nfq_stats st;

	nfq_stats(&st);
	g->dns_watch = nfq_on();
	g->dns_packets = st.packets;
	g->dns_learned = st.learned;
	g->dns_skipped = st.skipped;
	g->dns_bad = st.bad;
	g->dns_overruns = st.overruns;
	g->dns_verdict_errors = st.verdict_errors;
	g->hints_entries = st.hints.entries;
	g->hints_learned = st.hints.learned;
	g->hints_evicted = st.hints.evicted;
	g->hints_expired = st.hints.expired;
	g->hints_lookups = st.hints.lookups;
	g->hints_hits = st.hints.hits;
	g->hints_ambiguous = st.hints.ambiguous;
}

/* gauges - what other modules count, read now */
static void
gauges(struct metrics_gauges *g)
{
	const struct stsget_stats *st = stsget_stats();

	memset(g, 0, sizeof(*g));
	g->sessions_open = wk_sess_total(proxy.nsessions);
	g->workers = wk_running();
	g->worker_restarts = (unsigned long long) wk_restarts();
	g->sts_entries = stscache_count();
	g->sts_hits = st->hits;
	g->sts_fetches = st->fetches;
	g->sts_fetch_failures = st->fetch_failures;
	g->sts_redis = stsredis_enabled();
	g->sts_redis_up = (unsigned long long) stsredis_stats()->up;
	g->sts_redis_shared = st->redis_shared;
	g->sts_redis_fallbacks = st->redis_fallbacks;
	g->sts_redis_errors = stsredis_stats()->errors;
	g->journal_errors = (unsigned long long) proxy.journal_errors;
	if (proxy.scache) {
		const struct scache_stats *sc = scache_stats(proxy.scache);

		g->tls_cache_entries = sc->n;
		g->tls_cache_hits = sc->hits;
		g->tls_cache_misses = sc->misses;
		g->tls_cache_stored = sc->stored;
		g->tls_cache_evicted = sc->evicted;
		g->tls_cache_expired = sc->expired;
		g->tls_cache_dropped = sc->dropped;
		g->tls_resumed = sc->resumed;
	}
	watch_gauges(g);
}

/* response - the whole response to a head that decided st */
static int
response(struct buf *out, int st, int head)
{
	struct metrics_gauges g;
	struct buf body;
	int rc;

	buf_init(&body);
	if (st == 200) {
		struct metrics sum = metrics;	/* with workers: all of them */

		gauges(&g);
		wk_publish(&metrics, &g);
		wk_collect(&sum, &g);
		if (metrics_render(&sum, &g, &body) < 0)
			st = 500;
	}
	if (st != 200) {
		buf_reset(&body);
		(void) buf_printf(&body, "%d %s\n", st, status_text(st));
	}
	rc = buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "%sConnection: close\r\n\r\n", st, status_text(st), st == 200
	    ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
	    buf_used(&body), st == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (rc == 0 && !head)
		rc = buf_append(out, buf_head(&body), buf_used(&body));
	buf_free(&body);
	return rc;
}

/* start_write - the response goes out; then the linger */
static void
start_write(struct mconn *c, int st, int head)
{
	if (response(&c->out, st, head) < 0) {
		mconn_close(c);
		return;
	}
	if (st != 200)
		msg_debug("metrics: HTTP %d to a client", st);
	c->state = M_WRITE;
	ev_io_stop(m_loop, &c->io);
	ev_io_set(&c->io, c->io.fd, EV_WRITE);
	ev_io_start(m_loop, &c->io);
}

/* do_read - more of the head */
static void
do_read(struct mconn *c)
{
	struct metrics_req r;
	ssize_t n = recv(c->io.fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mconn_close(c);			/* gone before its head ended */
		return;
	}
	c->inlen += (size_t) n;
	if (metrics_req_parse(c->in, c->inlen, &r) == 0)
		return;				/* at most METRICS_HEAD_MAX: then 431 */
	start_write(c, r.status, r.head);
}

/* do_write - the response, as far as the socket takes it */
static void
do_write(struct mconn *c)
{
	ssize_t n = send(c->io.fd, buf_head(&c->out), buf_used(&c->out), MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		mconn_close(c);
		return;
	}
	buf_consume(&c->out, (size_t) n);
	if (buf_used(&c->out) > 0)
		return;
	/* Done: read what the client still sends, until it closes. */
	(void) shutdown(c->io.fd, SHUT_WR);
	c->state = M_LINGER;
	ev_io_stop(m_loop, &c->io);
	ev_io_set(&c->io, c->io.fd, EV_READ);
	ev_io_start(m_loop, &c->io);
}

/* do_linger - drop what comes after the response, until the close */
static void
do_linger(struct mconn *c)
{
	ssize_t n = recv(c->io.fd, c->in, sizeof(c->in), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		mconn_close(c);
}

/* on_io - a connection is readable or writable */
static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mconn *c = w->data;

	(void) loop;
	(void) revents;
	if (c->state == M_READ)
		do_read(c);
	else if (c->state == M_WRITE)
		do_write(c);
	else if (c->state == M_LINGER)
		do_linger(c);
}

/* on_tmo - the deadline of an exchange: 408 to a head not yet ended */
static void
on_tmo(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mconn *c = w->data;

	(void) loop;
	(void) revents;
	if (c->state == M_READ) {
		static const char r408[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0"
		    "\r\nConnection: close\r\n\r\n";
		ssize_t n = send(c->io.fd, r408, sizeof(r408) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);

		(void) n;
		msg_debug("metrics: a client's request head took over %.0f s: closed",
		    METRICS_SRV_DEADLINE);
	}
	mconn_close(c);
}

/* free_slot - a connection not in use, or NULL */
static struct mconn *
free_slot(void)
{
	for (int i = 0; i < METRICS_SRV_CONNS; i++)
		if (conns[i].state == M_FREE)
			return &conns[i];
	return NULL;
}

/* on_accept - new connections, one slot each */
static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void) revents;
	for (int burst = 0; burst < METRICS_SRV_CONNS; burst++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mconn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Not a spin: the listener rests for a second. */
				ev_io_stop(loop, w);
				ev_timer_start(loop, &pause_w);
			}
			return;
		}
		if ((c = free_slot()) == NULL) {
			msg_debug("metrics: %d connections open: one more closed",
			    METRICS_SRV_CONNS);
			close(fd);
			continue;
		}
		c->state = M_READ;
		c->inlen = 0;
		buf_init(&c->out);
		ev_io_init(&c->io, on_io, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->tmo, on_tmo, METRICS_SRV_DEADLINE, 0.);
		c->tmo.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_start(loop, &c->tmo);
	}
}

/* on_pause - accept again after running out of descriptors */
static void
on_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) w;
	(void) revents;
	ev_io_start(loop, &lsn_w);
}

/* on_publish - workers: this worker's values where the others can read
 * them, before the loop waits (what the callbacks just counted) */
static void
on_publish(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct metrics_gauges g;

	(void) loop;
	(void) w;
	(void) revents;
	gauges(&g);
	wk_publish(&metrics, &g);
}

/* metrics_srv_start - accept on the loop */
void
metrics_srv_start(struct ev_loop *loop)
{
	m_loop = loop;
	if (lsn_fd < 0)
		return;
	if (wk_self() >= 0) {
		wk_metrics_restore(&metrics);
		metrics.upc_idle = 0;	/* a level, not a count: none cached yet */
		ev_prepare_init(&pub_w, on_publish);
		ev_prepare_start(loop, &pub_w);
		/* Worker 0 answers for all (one connection cap, one server). */
		if (wk_self() > 0) {
			close(lsn_fd);
			lsn_fd = -1;
			return;
		}
	}
	ev_io_init(&lsn_w, on_accept, lsn_fd, EV_READ);
	ev_timer_init(&pause_w, on_pause, 1., 0.);
	ev_io_start(loop, &lsn_w);
	msg_info("metrics on http://%s/metrics", lsn_name);
}

/* metrics_srv_close - the listener and every connection */
void
metrics_srv_close(void)
{
	if (m_loop && ev_is_active(&pub_w)) {
		on_publish(m_loop, &pub_w, 0);	/* a worker's last counts */
		ev_prepare_stop(m_loop, &pub_w);
	}
	if (lsn_fd < 0)
		return;
	for (int i = 0; i < METRICS_SRV_CONNS; i++)
		if (conns[i].state != M_FREE)
			mconn_close(&conns[i]);
	if (m_loop) {
		ev_io_stop(m_loop, &lsn_w);
		ev_timer_stop(m_loop, &pause_w);
	}
	close(lsn_fd);
	lsn_fd = -1;
}
