/*
 * smap_srv.c - the socketmap server: connections, buffers, deadlines and
 * lookups on the loop; the answers are smap_answer.c's.  See smap_srv.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/conf.h"
#include "../lib/log.h"
#include "../policy/ptable.h"
#include "../policy/resolve.h"
#include "metrics.h"
#include "proxy.h"
#include "smap.h"
#include "smap_answer.h"
#include "smap_srv.h"

#define IN_MAX	(SMAP_DIGITS + 1 + SMAP_MAX + 1)	/* one whole request */

struct sconn {
	ev_io rio, wio;
	ev_timer tm;			/* request, idle or write deadline */
	ev_timer lk;			/* lookup deadline */
	int fd;
	int closing;			/* close once the replies are out */
	int refusing;			/* the reply refuses bad input */
	int eof;			/* the client is done sending */
	struct resolve *res;		/* the lookup the next reply waits for */
	int map;			/* its map */
	char key[DNAME_MAX + 1];	/* its domain */
	double part_since;		/* a partial request waits since; 0: none */
	double out_since;		/* replies wait to be taken since */
	double idle_since;		/* the last reply went out */
	size_t inlen;
	char in[IN_MAX];
	size_t outoff, outlen;
	char out[SMAP_SRV_OUT_MAX];
	struct sconn *next, **pprev;
};

/* A plan's answer, kept while the shortest TTL of the plan's answers runs
 * (as a session keeps a plan), at most SMAP_SRV_CACHE_TTL. */
struct centry {
	struct centry *next;
	double until;
	int map, report_only, strict_testing, require_tls;	/* made for */
	int kind;
	size_t len;
	char *text;
	char key[DNAME_MAX + 1];
};

#define CACHE_BUCKETS	4096

static struct {
	struct centry *b[CACHE_BUCKETS];
	long n;
} cache;

static struct {
	struct ev_loop *loop;
	ev_io w;
	int fd, spare;
	int running;			/* the accept watcher is started */
	char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];	/* unix */
	char name[160];
	struct sconn *conns;
	struct smap_srv_stats st;
} srv = {.fd = -1, .spare = -1};

struct smap_srv_limits smap_srv_limits = {
	SMAP_SRV_REQUEST_TIMEOUT, SMAP_SRV_IDLE_TIMEOUT, SMAP_SRV_LOOKUP_TIMEOUT,
	SMAP_SRV_WRITE_TIMEOUT, SMAP_SRV_MAX_CONNS,
};

static void process(struct sconn *c);
static int flush(struct sconn *c);

/* smap_srv_stats - the counters */
const struct smap_srv_stats *
smap_srv_stats(void)
{
	return &srv.st;
}

/* open_unix - a unix socket at path, a stale one removed; fd or -1 */
static int
open_unix(const struct cfg_socket *so, char *err, size_t errlen)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *) &so->addr;
	struct stat sb;
	int fd;

	if (lstat(un->sun_path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "socketmap_listen unix:%s: exists and is no "
			    "socket", un->sun_path);
			return -1;
		}
		(void) unlink(un->sun_path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0
	    || bind(fd, (const struct sockaddr *) &so->addr, so->addrlen) < 0
	    || chmod(un->sun_path, 0666) < 0) {
		snprintf(err, errlen, "socketmap_listen unix:%s: %s", un->sun_path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(srv.path, sizeof(srv.path), "%s", un->sun_path);
	return fd;
}

/* open_inet - a TCP socket; fd or -1 */
static int
open_inet(const struct cfg_socket *so, const char *where, char *err, size_t errlen)
{
	int one = 1, fd;

	if ((fd = socket(so->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0)) < 0) {
		snprintf(err, errlen, "socketmap_listen %s: socket: %s", where, strerror(errno));
		return -1;
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (so->addr.ss_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *) &so->addr, so->addrlen) < 0) {
		snprintf(err, errlen, "socketmap_listen %s: bind: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* smap_srv_open - bind socketmap_listen, as root */
int
smap_srv_open(const char *where, char *err, size_t errlen)
{
	struct cfg_socket so;
	int fd;

	if (cfg_parse_socket(where, 1, &so) < 0) {
		snprintf(err, errlen, "socketmap_listen %s: expected inet:ADDR:PORT, "
		    "inet:[ADDR6]:PORT or unix:/PATH", where);
		return -1;
	}
	fd = so.is_unix ? open_unix(&so, err, errlen) : open_inet(&so, where, err, errlen);
	if (fd < 0)
		return -1;
	if (listen(fd, 128) < 0) {
		snprintf(err, errlen, "socketmap_listen %s: listen: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	srv.fd = fd;
	srv.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(srv.name, sizeof(srv.name), "%s", where);
	return 0;
}

/* conn_close - end a connection and its lookup */
static void
conn_close(struct sconn *c)
{
	ev_io_stop(srv.loop, &c->rio);
	ev_io_stop(srv.loop, &c->wio);
	ev_timer_stop(srv.loop, &c->tm);
	ev_timer_stop(srv.loop, &c->lk);
	if (c->res)
		resolve_cancel(c->res);
	close(c->fd);
	if (c->next)
		c->next->pprev = c->pprev;
	*c->pprev = c->next;
	free(c);
	srv.st.open--;
	if (srv.fd >= 0 && !srv.running && srv.st.open < smap_srv_limits.max_conns) {
		ev_io_start(srv.loop, &srv.w);
		srv.running = 1;
	}
}

/* count - one reply more of its kind */
static void
count(int kind)
{
	switch (kind) {
	case SMAP_R_OK:
		srv.st.ok++;
		break;
	case SMAP_R_NOTFOUND:
		srv.st.notfound++;
		break;
	case SMAP_R_TEMP:
		srv.st.temp++;
		break;
	default:
		srv.st.perm++;
	}
}

/* reply - queue one answer; process() left room for it */
static void
reply(struct sconn *c, const struct smap_answer *a)
{
	size_t n;

	if (smap_reply(c->out + c->outlen, sizeof(c->out) - c->outlen, a->kind, a->text,
		a->len, &n) < 0)
		msg_panic("socketmap: reply of %zu octets does not fit", a->len);
	if (c->outlen == c->outoff)
		c->out_since = ev_now(srv.loop);
	c->outlen += n;
	count(a->kind);
	metrics_smap_answer(c->refusing ? 0 : a->kind);	/* 0: bad input */
}

/* ctx_now - the answer context from the running configuration */
static void
ctx_now(int map, struct smap_ctx *cx)
{
	cx->map = map;
	cx->report_only = proxy.cfg.mode == MODE_REPORT_ONLY;
	cx->strict_testing = proxy.cfg.strict_testing;
	cx->require_tls = proxy.cfg.require_tls;
}

/* none - reply that no policy applies (smap_answer_none()) */
static void
none(struct sconn *c, int map)
{
	struct smap_answer a;
	struct smap_ctx cx;

	ctx_now(map, &cx);
	smap_answer_none(&cx, &a);
	reply(c, &a);
}

/* simple - reply a kind and text */
static void
simple(struct sconn *c, int map, int kind, const char *text)
{
	struct smap_answer a;
	struct smap_ctx cx;

	ctx_now(map, &cx);
	smap_answer_simple(kind, text, &cx, &a);
	reply(c, &a);
}

/* refuse - PERM, then close: the client is not speaking socketmap */
static void
refuse(struct sconn *c, const char *why)
{
	msg_warn("socketmap %s: bad request (%s); closing", srv.name, why);
	c->refusing = c->closing = 1;
	simple(c, SMAP_MAP_POSTFIX, SMAP_R_PERM, why);
	srv.st.bad_input++;
}

/* hash - FNV-1a of a key and a map */
static unsigned
hash(const char *key, int map)
{
	uint32_t h = 2166136261u ^ (uint32_t) map;

	for (; *key; key++)
		h = (h ^ (unsigned char) *key) * 16777619u;
	return h % CACHE_BUCKETS;
}

/* cache_flush - drop the expired answers, or all of them */
static void
cache_flush(int all)
{
	double now = srv.loop ? ev_now(srv.loop) : 0.;

	for (int i = 0; i < CACHE_BUCKETS; i++) {
		struct centry **pp = &cache.b[i], *e;

		while ((e = *pp) != NULL) {
			if (all || e->until <= now) {
				*pp = e->next;
				free(e->text);
				free(e);
				cache.n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* cache_get - the kept answer for a domain, or 0 */
static int
cache_get(const char *key, const struct smap_ctx *cx, struct smap_answer *a)
{
	struct centry *e;

	for (e = cache.b[hash(key, cx->map)]; e; e = e->next) {
		if (e->map != cx->map || strcmp(e->key, key) != 0)
			continue;
		if (e->until <= ev_now(srv.loop) || e->report_only != cx->report_only
		    || e->strict_testing != cx->strict_testing
		    || e->require_tls != cx->require_tls)
			return 0;
		a->kind = e->kind;
		a->len = e->len;
		memcpy(a->text, e->text, e->len + 1);
		srv.st.cache_hits++;
		return 1;
	}
	return 0;
}

/* cache_put - keep a plan's answer while its TTLs run */
static void
cache_put(const char *key, const struct smap_ctx *cx, const struct plan *p,
    const struct smap_answer *a)
{
	unsigned h = hash(key, cx->map);
	struct centry *e, **pp;
	long ttl = p->min_ttl;

	if (a->kind == SMAP_R_TEMP || ttl <= 0)
		return;
	if (ttl > SMAP_SRV_CACHE_TTL)
		ttl = SMAP_SRV_CACHE_TTL;
	for (pp = &cache.b[h]; (e = *pp) != NULL; pp = &e->next)
		if (e->map == cx->map && strcmp(e->key, key) == 0) {
			*pp = e->next;		/* replaced below */
			free(e->text);
			free(e);
			cache.n--;
			break;
		}
	if (cache.n >= SMAP_SRV_CACHE_MAX)
		cache_flush(0);
	if (cache.n >= SMAP_SRV_CACHE_MAX)
		cache_flush(1);
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->text = malloc(a->len + 1)) == NULL) {
		free(e);
		return;
	}
	memcpy(e->text, a->text, a->len + 1);
	e->len = a->len;
	e->kind = a->kind;
	e->map = cx->map;
	e->report_only = cx->report_only;
	e->strict_testing = cx->strict_testing;
	e->require_tls = cx->require_tls;
	e->until = ev_now(srv.loop) + (double) ttl;
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->next = cache.b[h];
	cache.b[h] = e;
	cache.n++;
}

/* on_plan - the lookups are in: answer */
static void
on_plan(void *arg, struct plan *p)
{
	struct sconn *c = arg;
	struct smap_answer a;
	struct smap_ctx cx;

	c->res = NULL;
	ev_timer_stop(srv.loop, &c->lk);
	ctx_now(c->map, &cx);
	smap_answer_plan(p, &cx, &a);
	msg_debug("socketmap: %s -> %d %s", c->key, a.kind, a.text);
	cache_put(c->key, &cx, p, &a);
	plan_free(p);
	reply(c, &a);
	c->part_since = 0;		/* the lookup's time is not the client's */
	process(c);
}

/* on_lookup_timer - the lookup took too long: TEMP */
static void
on_lookup_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sconn *c = w->data;
	char why[DNAME_MAX + 80];

	(void) loop;
	(void) revents;
	resolve_cancel(c->res);
	c->res = NULL;
	srv.st.lookup_timeouts++;
	snprintf(why, sizeof(why), "policy lookup for %s took over %gs", c->key,
	    smap_srv_limits.lookup_timeout);
	msg_warn("socketmap: %s", why);
	simple(c, c->map, SMAP_R_TEMP, why);
	c->part_since = 0;
	process(c);
}

/* lookup - a domain without a table entry: a kept answer, or the
 * policy lookups */
static void
lookup(struct sconn *c, int map, const char *domain)
{
	struct smap_answer a;
	struct smap_ctx cx;

	if (strcmp(proxy.cfg.dns_resolver, "none") == 0) {
		none(c, map);			/* no lookups: no policy */
		return;
	}
	ctx_now(map, &cx);
	if (cache_get(domain, &cx, &a)) {
		reply(c, &a);
		return;
	}
	snprintf(c->key, sizeof(c->key), "%s", domain);
	c->map = map;
	if ((c->res = resolve_start(srv.loop, domain, on_plan, c)) == NULL) {
		simple(c, map, SMAP_R_TEMP, "out of memory");
		return;
	}
	ev_timer_set(&c->lk, smap_srv_limits.lookup_timeout, 0.);
	ev_timer_start(srv.loop, &c->lk);
}

/* handle - one request's payload */
static void
handle(struct sconn *c, const char *data, size_t dlen)
{
	const struct ptab_entry *e = NULL;
	struct smap_answer a;
	struct smap_req rq;
	struct smap_key k;
	struct smap_ctx cx;
	const char *why;
	int map;

	if (smap_split(data, dlen, &rq, &why) < 0) {
		refuse(c, why);
		return;
	}
	if ((map = smap_map_of(rq.name, rq.namelen)) < 0) {
		simple(c, SMAP_MAP_POSTFIX, SMAP_R_PERM, "unknown map");
		return;
	}
	if (smap_key_parse(rq.key, rq.keylen, &k, &why) < 0) {
		msg_debug("socketmap: a key of %zu octets: %s", rq.keylen, why);
		simple(c, map, SMAP_R_NOTFOUND, "");
		return;
	}
	if (proxy.ptab)
		e = k.kind == SMAP_KEY_HOST ? ptable_find_dest(proxy.ptab, k.name, k.port)
		    : ptable_find(proxy.ptab, k.name);
	if (e) {
		ctx_now(map, &cx);
		smap_answer_entry(e, &cx, &a);
		msg_debug("socketmap: %s (table line %d) -> %d %s", k.name, e->line, a.kind,
		    a.text);
		reply(c, &a);
	} else if (k.kind == SMAP_KEY_HOST) {
		none(c, map);			/* a fixed next hop: no MX policy */
	} else {
		lookup(c, map, k.name);
	}
}

/* arm - the one deadline that applies now */
static void
arm(struct sconn *c)
{
	double now = ev_now(srv.loop), at;

	ev_timer_stop(srv.loop, &c->tm);
	if (c->outlen > c->outoff)
		at = c->out_since + smap_srv_limits.write_timeout;
	else if (c->res)
		return;				/* the lookup deadline applies */
	else if (c->inlen > 0)
		at = c->part_since + smap_srv_limits.request_timeout;
	else
		at = c->idle_since + smap_srv_limits.idle_timeout;
	ev_timer_set(&c->tm, at > now ? at - now : 0., 0.);
	ev_timer_start(srv.loop, &c->tm);
}

/* watch - read while there is room and reason, write while replies wait */
static void
watch(struct sconn *c)
{
	int want_r = !c->closing && !c->eof && c->inlen < sizeof(c->in);
	int want_w = c->outlen > c->outoff;

	if (want_r && !ev_is_active(&c->rio))
		ev_io_start(srv.loop, &c->rio);
	else if (!want_r && ev_is_active(&c->rio))
		ev_io_stop(srv.loop, &c->rio);
	if (want_w && !ev_is_active(&c->wio))
		ev_io_start(srv.loop, &c->wio);
	else if (!want_w && ev_is_active(&c->wio))
		ev_io_stop(srv.loop, &c->wio);
	arm(c);
}

/* process - answer the whole requests in the buffer, in order */
static void
process(struct sconn *c)
{
	const char *data, *why;
	size_t dlen, used;
	int r, stalled = 0;

	while (!c->res && !c->closing
	    && sizeof(c->out) - c->outlen >= SMAP_MAX + 2 * SMAP_DIGITS) {
		if ((r = smap_read(c->in, c->inlen, &data, &dlen, &used, &why)) == SMAP_NEED) {
			stalled = 1;
			break;
		}
		if (r == SMAP_BAD) {
			refuse(c, why);
			break;
		}
		handle(c, data, dlen);
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		c->part_since = 0;
	}
	if (c->inlen > 0 && c->part_since == 0)
		c->part_since = ev_now(srv.loop);
	/* The client is done sending and all it sent is answered. */
	if (c->eof && !c->res && (c->inlen == 0 || stalled)) {
		if (c->inlen > 0)
			msg_debug("socketmap: client left a request unfinished");
		c->closing = 1;
	}
	/* Replies go out at once; the write watcher waits only for a full
	 * socket buffer. */
	if (c->outlen > c->outoff && !ev_is_active(&c->wio) && flush(c) < 0) {
		conn_close(c);
		return;
	}
	if (c->closing && c->outlen == c->outoff) {
		conn_close(c);
		return;
	}
	watch(c);
}

/* on_read - octets from the client */
static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sconn *c = w->data;
	ssize_t n;

	(void) loop;
	(void) revents;
	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		msg_debug("socketmap: read: %m");
		conn_close(c);
		return;
	}
	if (n == 0)
		c->eof = 1;
	c->inlen += (size_t) n;
	process(c);
}

/* flush - write what the client takes now; -1 when the connection broke */
static int
flush(struct sconn *c)
{
	ssize_t n;

	n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		msg_debug("socketmap: write: %m");
		return -1;
	}
	c->outoff += (size_t) n;
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		c->idle_since = ev_now(srv.loop);
	}
	return 0;
}

/* on_write - replies to the client */
static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sconn *c = w->data;

	(void) loop;
	(void) revents;
	if (flush(c) < 0) {
		conn_close(c);
		return;
	}
	process(c);
}

/* on_timer - a deadline passed: close */
static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sconn *c = w->data;

	(void) loop;
	(void) revents;
	if (c->outlen > c->outoff)
		msg_warn("socketmap %s: client took no reply for %gs; closing", srv.name,
		    smap_srv_limits.write_timeout);
	else if (c->inlen > 0)
		msg_warn("socketmap %s: request not complete after %gs; closing", srv.name,
		    smap_srv_limits.request_timeout);
	else
		msg_debug("socketmap: idle for %gs; closing", smap_srv_limits.idle_timeout);
	if (c->outlen > c->outoff || c->inlen > 0)
		srv.st.timed_out++;
	conn_close(c);
}

/* conn_new - a connection on an accepted socket */
static void
conn_new(int fd)
{
	struct sconn *c = malloc(sizeof(*c));

	if (c == NULL) {
		msg_warn("socketmap: out of memory; connection refused");
		close(fd);
		return;
	}
	memset(c, 0, offsetof(struct sconn, in));
	c->outoff = c->outlen = 0;
	c->fd = fd;
	c->idle_since = ev_now(srv.loop);
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	ev_timer_init(&c->tm, on_timer, 0., 0.);
	ev_timer_init(&c->lk, on_lookup_timer, 0., 0.);
	c->rio.data = c->wio.data = c->tm.data = c->lk.data = c;
	if ((c->next = srv.conns) != NULL)
		c->next->pprev = &c->next;
	c->pprev = &srv.conns;
	srv.conns = c;
	srv.st.accepted++;
	srv.st.open++;
	watch(c);
}

/* on_accept - new clients, up to SMAP_SRV_MAX_CONNS */
static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void) revents;
	while (srv.st.open < smap_srv_limits.max_conns) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_new(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && srv.spare >= 0) {
			/* Take the client off the queue, or the loop spins. */
			close(srv.spare);
			if ((fd = accept(w->fd, NULL, NULL)) >= 0)
				close(fd);
			srv.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
			msg_warn("socketmap %s: out of descriptors; connection refused",
			    srv.name);
		}
		return;
	}
	ev_io_stop(loop, w);		/* conn_close() starts it again */
	srv.running = 0;
	msg_warn("socketmap %s: %ld connections; the next wait", srv.name,
	    smap_srv_limits.max_conns);
}

/* smap_srv_start - accept on the loop */
void
smap_srv_start(struct ev_loop *loop)
{
	if (srv.fd < 0)
		return;
	srv.loop = loop;
	ev_io_init(&srv.w, on_accept, srv.fd, EV_READ);
	ev_io_start(loop, &srv.w);
	srv.running = 1;
	msg_info("socketmap listening on %s (maps postfix, postfix-tlsrpt)", srv.name);
}

/* smap_srv_stop - close everything */
void
smap_srv_stop(void)
{
	if (srv.fd < 0)
		return;
	msg_info("socketmap: %llu connections, replies ok=%llu notfound=%llu temp=%llu "
	    "perm=%llu, %llu from kept answers, %llu lookups past the deadline, %llu "
	    "connections closed for bad input, %llu at a deadline", srv.st.accepted,
	    srv.st.ok, srv.st.notfound, srv.st.temp, srv.st.perm, srv.st.cache_hits,
	    srv.st.lookup_timeouts, srv.st.bad_input, srv.st.timed_out);
	if (srv.loop)
		ev_io_stop(srv.loop, &srv.w);
	srv.running = 0;
	close(srv.fd);
	srv.fd = -1;			/* conn_close() starts no accepting now */
	while (srv.conns)
		conn_close(srv.conns);
	if (srv.spare >= 0)
		close(srv.spare);
	srv.spare = -1;
	cache_flush(1);
	if (srv.path[0] && unlink(srv.path) < 0 && errno != ENOENT)
		msg_debug("socketmap: unlink %s: %m", srv.path);
}
