/*
 * listen.c - listening sockets and the original destination.
 * See listen.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/addr.h"
#include "../lib/log.h"
#include "affinity.h"
#include "listen.h"
#include "proxy.h"
#include "sess.h"
#include "wk_shm.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80		/* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80		/* linux/netfilter_ipv6/ip6_tables.h */
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

struct lsn {
	ev_io w;
	struct cfg_endpoint ep;
	char name[80];
};

static struct lsn lsns[CFG_MAX_LISTEN * CFG_MAX_WORKERS];
static int nlsn;			/* nsets * per_set */
static int per_set;			/* cfg->nlisten */
static int spare_fd = -1;
static int ho_fd[CFG_MAX_WORKERS][2];	/* [i][0]: worker i reads; [i][1]: all send */
static int n_owner;			/* workers, when hand-off is on */
static ev_io ho_w;

static void handoff_recv(struct ev_loop *loop, ev_io *w, int revents);

/* lsn_open - bind every listen address, nsets times */
int
lsn_open(const struct config *cfg, int nsets, char *err, size_t errlen)
{
	int one = 1;

	per_set = cfg->nlisten;
	for (int k = 0; k < nsets * cfg->nlisten; k++) {
		const struct cfg_endpoint *ep = &cfg->listen[k % cfg->nlisten];
		struct lsn *l = &lsns[nlsn];
		int fd, fam = ep->addr.ss_family;

		cfg_endpoint_str(ep, l->name, sizeof(l->name));
		fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errlen, "listen %s: socket: %s", l->name, strerror(errno));
			return -1;
		}
		(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (nsets > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
			sizeof(one)) < 0) {
			snprintf(err, errlen, "listen %s: SO_REUSEPORT: %s", l->name,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (fam == AF_INET6)
			(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (ep->tproxy && setsockopt(fd, fam == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
			fam == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one,
			sizeof(one)) < 0) {
			snprintf(err, errlen, "listen %s: IP_TRANSPARENT: %s (needs "
			    "CAP_NET_ADMIN)", l->name, strerror(errno));
			close(fd);
			return -1;
		}
		if (bind(fd, (const struct sockaddr *) &ep->addr, ep->addrlen) < 0) {
			snprintf(err, errlen, "listen %s: bind: %s", l->name, strerror(errno));
			close(fd);
			return -1;
		}
		if (listen(fd, 511) < 0) {
			snprintf(err, errlen, "listen %s: %s", l->name, strerror(errno));
			close(fd);
			return -1;
		}
		l->ep = *ep;
		ev_io_init(&l->w, NULL, fd, EV_READ);
		nlsn++;
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

/* lsn_keep - a worker keeps its set of listeners and closes the others */
void
lsn_keep(int set)
{
	int k = 0;

	for (int i = 0; i < n_owner; i++)
		if (i != set)
			close(ho_fd[i][0]);	/* only the owner reads */
	if (n_owner > 1)
		ev_io_init(&ho_w, handoff_recv, ho_fd[set][0], EV_READ);

	for (int i = 0; i < nlsn; i++) {
		if (i / per_set == set)
			lsns[k++] = lsns[i];
		else
			close(lsns[i].w.fd);
	}
	nlsn = k;
	for (int i = 0; i < nlsn; i++)
		ev_io_init(&lsns[i].w, NULL, lsns[i].w.fd, EV_READ);
}

/* lsn_orig_dst - where the old MTA meant to connect */
int
lsn_orig_dst(int fd, int tproxy, struct sockaddr_storage *dst)
{
	socklen_t len = sizeof(*dst);

	memset(dst, 0, sizeof(*dst));
	if (tproxy)
		return getsockname(fd, (struct sockaddr *) dst, &len);
	if (getsockname(fd, (struct sockaddr *) dst, &len) < 0)
		return -1;
	len = sizeof(*dst);
	if (dst->ss_family == AF_INET6)
		return getsockopt(fd, IPPROTO_IPV6, IP6T_SO_ORIGINAL_DST, dst, &len);
	return getsockopt(fd, IPPROTO_IP, SO_ORIGINAL_DST, dst, &len);
}

/* lsn_is_redirected - was this connection redirected to us? */
int
lsn_is_redirected(const struct sockaddr_storage *dst,
    const struct sockaddr_storage *local, int tproxy,
    const struct sockaddr_storage *listen_addr)
{
	if (addr_same(dst, local) && !tproxy)
		return 0;			/* REDIRECT changes the destination */
	if (addr_same(dst, listen_addr))
		return 0;
	/* TPROXY keeps the destination: traffic for our own port is not. */
	if (addr_port(dst) == addr_port(listen_addr))
		return 0;
	return 1;
}

/* refuse - one reply and close; nothing to do with a session */
static void
refuse(int fd, const char *msg)
{
	ssize_t w = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);

	(void) w;
	close(fd);
}

/* lsn_take - a redirected connection: a session, or a refusal */
static void
lsn_take(int fd, const struct sockaddr_storage *peer, const struct sockaddr_storage *dst)
{
	char ps[ADDR_STRLEN];
	int one = 1;

	if (proxy.draining) {
		refuse(fd, "421 4.3.2 Service shutting down\r\n");
		return;
	}
	if (!wk_sess_take(proxy.nsessions, proxy.cfg.max_sessions)) {
		addr_str(peer, ps, sizeof(ps));
		msg_warn("refused connection from [%s]: max_sessions (%ld) reached",
		    ps, proxy.cfg.max_sessions);
		refuse(fd, "421 4.3.2 Error: too many sessions, try again later\r\n");
		return;
	}
	/* Replies are small and often pipelined: no Nagle delay. */
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sess_new(fd, peer, dst);
}

/* The hand-off of a connection to the worker that owns its destination:
 * one datagram per connection, the descriptor as SCM_RIGHTS. */
struct handoff_msg {
	struct sockaddr_storage peer, dst;
};

/* One hand-off datagram being sent or received, with its control space */
struct handoff_buf {
	struct handoff_msg m;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cb;
	struct msghdr mh;
};

/* handoff_buf_init - b zeroed, its msghdr pointing at its message and
 * control space */
static void
handoff_buf_init(struct handoff_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->iov.iov_base = &b->m;
	b->iov.iov_len = sizeof(b->m);
	b->mh.msg_iov = &b->iov;
	b->mh.msg_iovlen = 1;
	b->mh.msg_control = b->cb.b;
	b->mh.msg_controllen = sizeof(b->cb.b);
}

/* lsn_handoff_open - the parent, before the forks: a socketpair per worker */
int
lsn_handoff_open(int n, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++)
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
			ho_fd[i]) < 0) {
			snprintf(err, errlen, "workers: socketpair: %s", strerror(errno));
			return -1;
		}
	n_owner = n;
	return 0;
}

/* handoff_send - pass fd, its peer and destination to worker owner */
static int
handoff_send(unsigned owner, int fd, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *dst)
{
	struct handoff_buf b;
	struct cmsghdr *c;

	handoff_buf_init(&b);
	b.m.peer = *peer;
	b.m.dst = *dst;
	c = CMSG_FIRSTHDR(&b.mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	/* Full (the owner is stuck or being restarted): keep it here. */
	return sendmsg(ho_fd[owner][1], &b.mh, MSG_DONTWAIT | MSG_NOSIGNAL)
	    == (ssize_t) sizeof(b.m) ? 0 : -1;
}

/* handoff_recv - connections other workers passed to this one */
static void
handoff_recv(struct ev_loop *loop, ev_io *w, int revents)
{
	(void) loop;
	(void) revents;
	for (int burst = 0; burst < 64; burst++) {
		struct handoff_buf b;
		struct cmsghdr *c;
		ssize_t n;
		int fd = -1;

		handoff_buf_init(&b);
		if ((n = recvmsg(w->fd, &b.mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0)
			return;
		for (c = CMSG_FIRSTHDR(&b.mh); c; c = CMSG_NXTHDR(&b.mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
			    && c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (fd < 0)
			continue;
		if (n != (ssize_t) sizeof(b.m) || (b.mh.msg_flags & MSG_CTRUNC)) {
			close(fd);
			continue;
		}
		lsn_take(fd, &b.m.peer, &b.m.dst);
	}
}

/* lsn_accept - a new connection */
static void
lsn_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lsn *l = (struct lsn *) w;

	(void) loop;
	(void) revents;
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_storage peer, local, dst;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		char ps[ADDR_STRLEN], ds[ADDR_STRLEN];
		int fd = accept4(w->fd, (struct sockaddr *) &peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Take the connection with the spare and let it go. */
				if (spare_fd >= 0) {
					close(spare_fd);
					fd = accept(w->fd, NULL, NULL);
					if (fd >= 0)
						close(fd);
					spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				}
				msg_warn("out of file descriptors: connection dropped "
				    "(raise the limit or lower max_sessions)");
			} else if (errno != EAGAIN && errno != EWOULDBLOCK
			    && errno != EINTR && errno != ECONNABORTED) {
				msg_warn("accept on %s: %m", l->name);
			}
			return;
		}
		addr_str(&peer, ps, sizeof(ps));
		if (getsockname(fd, (struct sockaddr *) &local, &llen) < 0
		    || lsn_orig_dst(fd, l->ep.tproxy, &dst) < 0) {
			msg_warn("refused connection from [%s] to %s: no original "
			    "destination (not redirected)", ps, l->name);
			refuse(fd, "554 5.7.1 Error: not a redirected connection; "
			    "this is not an open relay\r\n");
			continue;
		}
		addr_str(&dst, ds, sizeof(ds));
		if (!lsn_is_redirected(&dst, &local, l->ep.tproxy, &l->ep.addr)) {
			msg_warn("refused connection from [%s] to [%s]:%u: not "
			    "redirected; mxtlsd is not an open relay", ps, ds, addr_port(&dst));
			refuse(fd, "554 5.7.1 Error: not a redirected connection; "
			    "this is not an open relay\r\n");
			continue;
		}
		if (n_owner > 1) {
			unsigned owner = aff_owner(&dst, n_owner);

			if ((int) owner != wk_self() && handoff_send(owner, fd, &peer, &dst) == 0) {
				close(fd);	/* the owner has its own copy */
				continue;
			}
		}
		lsn_take(fd, &peer, &dst);
	}
}

/* lsn_start - accept connections */
void
lsn_start(struct ev_loop *loop)
{
	if (n_owner > 1 && wk_self() >= 0)
		ev_io_start(loop, &ho_w);
	for (int i = 0; i < nlsn; i++) {
		ev_set_cb(&lsns[i].w, lsn_accept);
		ev_io_start(loop, &lsns[i].w);
		msg_info("listening on %s%s", lsns[i].name,
		    lsns[i].ep.tproxy ? " (TPROXY)" : "");
	}
}

/* lsn_stop - stop accepting and close */
void
lsn_stop(struct ev_loop *loop)
{
	for (int i = 0; i < nlsn; i++)
		ev_io_stop(loop, &lsns[i].w);
	lsn_close_all();
}

/* lsn_close_all - close every listener (no watchers: the parent's copies,
 * when it drains; new connections are refused by the kernel as soon as
 * the workers close theirs) */
void
lsn_close_all(void)
{
	for (int i = 0; i < nlsn; i++)
		if (lsns[i].w.fd >= 0) {
			close(lsns[i].w.fd);
			lsns[i].w.fd = -1;
		}
	nlsn = 0;
}
