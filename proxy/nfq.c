/*
 * nfq.c - the DNS watcher: NFQUEUE on the loop, verdict first, then the
 * answer parsed and learnt into the hints map.  See nfq.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "../lib/addr.h"
#include "../lib/log.h"
#include "nfq.h"

#define NFQ_BUF		(65536 + 4096)	/* one netlink message: a packet and its attributes */

static struct nfq {
	struct ev_loop *loop;
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	int fd;
	ev_io io;
	ev_timer sweep;
	struct hints *hints;
	struct nfq_stats st;
	struct sockaddr_storage local[NFQ_LOCAL_MAX];	/* this host's addresses */
	int nlocal;
	double local_at;		/* ev_now when they were read; 0: never */
} nq = {.fd = -1};

static struct dnsmsg msg;		/* one answer at a time: too big for the stack */

/* read_local - this host's interface addresses, now */
static void
read_local(void)
{
	struct ifaddrs *ifa, *i;

	nq.nlocal = 0;
	nq.local_at = ev_now(nq.loop);
	if (getifaddrs(&ifa) < 0) {
		msg_warn("dns watch: getifaddrs: %m");
		return;
	}
	for (i = ifa; i && nq.nlocal < NFQ_LOCAL_MAX; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET
		    && i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&nq.local[nq.nlocal], 0, sizeof(nq.local[0]));
		memcpy(&nq.local[nq.nlocal], i->ifa_addr, i->ifa_addr->sa_family == AF_INET
		    ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		nq.nlocal++;
	}
	freeifaddrs(ifa);
}

/* is_local - an address of this host (the port is not looked at) */
static int
is_local(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *) a;

		if ((ntohl(s4->sin_addr.s_addr) >> 24) == 127)
			return 1;
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) a;

		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127)
			return 1;
	}
	if (nq.local_at == 0 || ev_now(nq.loop) - nq.local_at >= NFQ_LOCAL_REFRESH)
		read_local();
	for (int i = 0; i < nq.nlocal; i++)
		if (addr_same_ip(&nq.local[i], a))
			return 1;
	return 0;
}

/* mta_key - the address hints are kept under: the MTA's, or for any
 * address of this host the one local MTA (127.0.0.1) */
static const struct sockaddr_storage *
mta_key(const struct sockaddr_storage *a, struct sockaddr_storage *buf)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *) buf;

	if (!is_local(a))
		return a;
	memset(buf, 0, sizeof(*buf));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return buf;
}

/* learn - one packet, its verdict already given */
static void
learn(const uint8_t *pkt, size_t len)
{
	struct dnspkt p;
	struct sockaddr_storage kb;
	char why[128];
	int rc;

	if ((rc = dnspkt_unwrap(pkt, len, &p, why, sizeof(why))) == DNSPKT_SKIP) {
		nq.st.skipped++;
		return;
	}
	if (rc < 0 || dnsmsg_parse(pkt + p.off, p.len, &msg, why, sizeof(why)) < 0) {
		nq.st.bad++;
		msg_debug("dns watch: malformed answer (%zu octets): %s", len, why);
		return;
	}
	if (msg.rcode != 0) {
		nq.st.skipped++;
		return;
	}
	hints_learn(nq.hints, mta_key(&p.dst, &kb), &msg, ev_now(nq.loop));
	nq.st.learned++;
	if (log_verbose()) {
		char to[80];

		addr_str(&p.dst, to, sizeof(to));
		msg_debug("dns watch: %s %s type %u: %d answers kept, %d skipped", to,
		    msg.qname[0] ? msg.qname : ".", msg.qtype, msg.nrr, msg.nskipped);
	}
}

/* on_packet - libnetfilter_queue's callback: accept, then learn */
static int
on_packet(struct nfq_q_handle *qh, struct nfgenmsg *nfmsg, struct nfq_data *nfa,
    void *arg)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	unsigned char *payload = NULL;
	int len;

	(void) nfmsg;
	(void) arg;
	if (ph == NULL)
		return 0;
	nq.st.packets++;
	if (nfq_set_verdict(qh, ntohl(ph->packet_id), NF_ACCEPT, 0, NULL) < 0)
		nq.st.verdict_errors++;
	if ((len = nfq_get_payload(nfa, &payload)) > 0)
		learn(payload, (size_t) len);
	return 0;
}

/* on_readable - every message waiting, at most NFQ_BATCH a wake-up */
static void
on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	static char buf[NFQ_BUF] __attribute__((aligned(8)));

	(void) loop;
	(void) w;
	(void) revents;
	for (int i = 0; i < NFQ_BATCH; i++) {
		ssize_t n = recv(nq.fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == ENOBUFS) {
				/* fail-open: what did not fit went through */
				nq.st.overruns++;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				msg_warn("dns watch: recv: %m");
			return;
		}
		(void) nfq_handle_packet(nq.h, buf, (int) n);
	}
}

/* on_sweep - expired hints out, a slice of the table each second */
static void
on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) w;
	(void) revents;
	(void) hints_expire(nq.hints, ev_now(loop), 4096);
}

/* fail - a start-up error */
static int
fail(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	nfq_stop();
	return -1;
}

/* nfq_start - bind the queue, make the map, read on the loop */
int
nfq_start(struct ev_loop *loop, unsigned queue, char *err, size_t errlen)
{
	struct hints_limits lim;
	int rcvbuf = 4 * 1024 * 1024;

	nq.loop = loop;
	hints_limits_default(&lim);
	if (getrandom(lim.seed, sizeof(lim.seed), 0) != (ssize_t) sizeof(lim.seed))
		return fail(err, errlen, "getrandom", errno);
	if ((nq.hints = hints_new(&lim)) == NULL)
		return fail(err, errlen, "the hints map", errno);
	if ((nq.h = nfq_open()) == NULL)
		return fail(err, errlen, "nfq_open", errno);
	if ((nq.qh = nfq_create_queue(nq.h, (uint16_t) queue, on_packet, NULL)) == NULL) {
		char what[96];

		snprintf(what, sizeof(what), "cannot bind NFQUEUE %u (another reader "
		    "has it, or no CAP_NET_ADMIN)", queue);
		return fail(err, errlen, what, errno);
	}
	if (nfq_set_mode(nq.qh, NFQNL_COPY_PACKET, 0xffff) < 0)
		return fail(err, errlen, "nfq_set_mode", errno);
	if (nfq_set_queue_maxlen(nq.qh, NFQ_QUEUE_MAXLEN) < 0)
		return fail(err, errlen, "nfq_set_queue_maxlen", errno);
	if (nfq_set_queue_flags(nq.qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0)
		return fail(err, errlen, "NFQA_CFG_F_FAIL_OPEN", errno);
	nq.fd = nfq_fd(nq.h);
	(void) setsockopt(nq.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (fcntl(nq.fd, F_SETFL, fcntl(nq.fd, F_GETFL) | O_NONBLOCK) < 0
	    || fcntl(nq.fd, F_SETFD, FD_CLOEXEC) < 0)
		return fail(err, errlen, "fcntl", errno);
	ev_io_init(&nq.io, on_readable, nq.fd, EV_READ);
	ev_io_start(loop, &nq.io);
	ev_timer_init(&nq.sweep, on_sweep, 1.0, 1.0);
	ev_timer_start(loop, &nq.sweep);
	msg_info("dns watch: reading NFQUEUE %u", queue);
	return 0;
}

/* nfq_stop - close the queue, free the map */
void
nfq_stop(void)
{
	if (nq.loop && nq.fd >= 0) {
		ev_io_stop(nq.loop, &nq.io);
		ev_timer_stop(nq.loop, &nq.sweep);
	}
	if (nq.qh)
		nfq_destroy_queue(nq.qh);
	if (nq.h)
		nfq_close(nq.h);
	hints_free(nq.hints);
	nq.qh = NULL;
	nq.h = NULL;
	nq.hints = NULL;
	nq.fd = -1;
}

/* nfq_on - is the watcher reading? */
int
nfq_on(void)
{
	return nq.hints != NULL && nq.fd >= 0;
}

/* nfq_hint - the domains dest serves for mta, as the watcher learnt them */
int
nfq_hint(const struct sockaddr_storage *mta, const struct sockaddr_storage *dest,
    char out[][DNSMSG_NAME_MAX], int max)
{
	struct sockaddr_storage kb;

	if (!nfq_on())
		return 0;
	return hints_domains(nq.hints, mta_key(mta, &kb), dest, ev_now(nq.loop), out, max);
}

/* nfq_stats - the counters */
void
nfq_stats(struct nfq_stats *st)
{
	*st = nq.st;
	if (nq.hints)
		hints_stats(nq.hints, &st->hints);
	else
		memset(&st->hints, 0, sizeof(st->hints));
}
