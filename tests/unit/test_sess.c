/*
 * test_sess.c - the session (proxy/sess.c) and the upstream client
 * (proxy/up.c) driven end to end in one process: a scripted old MTA on
 * one end of a socketpair, sess.c in the middle on a real libev loop, a
 * scripted MX on a loopback listener.  Policy lookups are replaced at
 * link time (resolve_start() below): fail.example's only MX fails its
 * DANE lookups (a policy failure), every other domain has none; every MX
 * host is the test's MX.
 *
 * The peers run in threads with blocking sockets and deadlines; the loop
 * runs in the main thread until the old MTA's script ends.  The MX
 * records every octet it receives, so a case can say that a smuggled
 * command never reached it.
 *
 * Cases: the session after a smuggling refusal (bare LF and bare CR next
 * to the dot, live and held), control characters in envelope addresses,
 * replies to DATA and to the end of data that are not 354/2xx/4xx/5xx,
 * the bounded reply queue, per-command and per-message deadlines,
 * mixed-domain transactions in both recipient orders, the upstream's
 * TLS context kept alive across a reload, the TLS-Required: No hold and
 * its replay failing at each step, the MX failing at each step of a live
 * transaction (the reply and the one attempt record), pipelined batches,
 * and drain.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "../../lib/log.h"
#include "../../policy/resolve.h"
#include "../../policy/ptable.h"
#include "../../report/journal.h"
#include "../../report/record.h"
#include "../../lib/conf.h"
#include "../../proxy/conn.h"
#include "../../proxy/nfq.h"
#include "../../proxy/proxy.h"
#include "../../proxy/sess.h"
#include "../../proxy/tls.h"
#include "../../proxy/upcache.h"
#include "fakemx.h"
#include "t.h"

#define EARLY_HINTS_MAX_TEST	8

struct proxy proxy;

/* ---- policy, replaced at link time ---------------------------------- */

struct resolve {
	ev_timer t;
	resolve_cb *cb;
	void *arg;
	char domain[256];
};

/* fake_plan - one MX host at 127.0.0.1 (the port is the original
 * destination's); fail.example's fails its DANE lookups */
static struct plan *
fake_plan(const char *domain)
{
	struct plan *p = calloc(1, sizeof(*p));
	struct plan_host *h = &p->hosts[0];
	struct sockaddr_in *a = (struct sockaddr_in *) &h->addrs[0];

	snprintf(p->domain, sizeof(p->domain), "%s", domain);
	p->status = PLAN_OK;
	p->mx_sec = DNS_SECURE;
	p->nhosts = 1;
	p->min_ttl = 300;
	snprintf(h->name, sizeof(h->name), "mx.%.200s", domain);
	snprintf(h->canon, sizeof(h->canon), "mx.%.200s", domain);
	snprintf(h->base, sizeof(h->base), "mx.%.200s", domain);
	h->pref = 10;
	h->addr_sec = h->a_sec = h->aaaa_sec = DNS_SECURE;
	h->a_done = h->aaaa_done = 1;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->naddrs = 1;
	if (strcmp(domain, "twomx.example") == 0) {
		/* MX 10 fails DANE; MX 20 (no DANE) refuses connections */
		struct plan_host *h2 = &p->hosts[1];
		struct sockaddr_in *a2 = (struct sockaddr_in *) &h2->addrs[0];

		*h2 = *h;
		snprintf(h2->name, sizeof(h2->name), "mx2.twomx.example");
		h2->pref = 20;
		a2->sin_addr.s_addr = htonl(0x7f000002);
		p->nhosts = 2;
	}
	if (strcmp(domain, "sts.example") == 0) {
		/* MTA-STS enforce, mx.sts.example: TLS required, PKIX */
		p->has_sts = p->sts.has_policy = 1;
		snprintf(p->sts.id, sizeof(p->sts.id), "test1");
		p->sts.policy.mode = STS_MODE_ENFORCE;
		p->sts.policy.max_age = 86400;
		p->sts.policy.nmx = 1;
		snprintf(p->sts.policy.mx[0], sizeof(p->sts.policy.mx[0]), "mx.sts.example");
	}
	if (strcmp(domain, "fail.example") == 0 || strcmp(domain, "twomx.example") == 0) {
		h->tlsa_looked_up = 1;
		h->tlsa_sec = DNS_BOGUS;
		h->dane = DANE_FAIL;
		h->rtype = RTYPE_DNSSEC_INVALID;
		snprintf(h->why, sizeof(h->why), "TLSA lookup for mx.fail.example is bogus");
		p->has_dane = 1;
	}
	return p;
}

static void
fake_done(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolve *r = w->data;

	(void) loop;
	(void) revents;
	r->cb(r->arg, fake_plan(r->domain));
	free(r);
}

static int nresolves;			/* resolve_start() calls so far */

struct resolve *
resolve_start(struct ev_loop *loop, const char *domain, resolve_cb *cb, void *arg)
{
	struct resolve *r = calloc(1, sizeof(*r));

	nresolves++;
	r->cb = cb;
	r->arg = arg;
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	ev_timer_init(&r->t, fake_done, 0.001, 0.);
	r->t.data = r;
	ev_timer_start(loop, &r->t);
	return r;
}

void
resolve_cancel(struct resolve *r)
{
	ev_timer_stop(proxy.loop, &r->t);
	free(r);
}

/* ---- the DNS watcher, replaced at link time -------------------------- */

static const char *fake_hints[EARLY_HINTS_MAX_TEST];
static int fake_nhints;
static struct sockaddr_storage hint_mta, hint_dest;	/* what a session asked */

int
nfq_on(void)
{
	return fake_nhints > 0;
}

int
nfq_hint(const struct sockaddr_storage *mta, const struct sockaddr_storage *dest,
    char out[][DNSMSG_NAME_MAX], int max)
{
	int n = 0;

	hint_mta = *mta;
	hint_dest = *dest;
	for (; n < fake_nhints && n < max; n++)
		snprintf(out[n], DNSMSG_NAME_MAX, "%s", fake_hints[n]);
	return n;
}

/* ---- the scripted MX ------------------------------------------------- */

enum mx_data_reply { MX_354, MX_DATA_250, MX_DOT_354 };

/* what the MX says where it does not just accept (NULL: it accepts) */
struct mx_manners {
	const char *greeting;		/* instead of 220, then close */
	const char *ehlo;		/* to EHLO and HELO */
	int close_in_data;		/* close at the first message line */
	const char *mail;		/* to MAIL */
	const char *rcpt_refuse;	/* RCPT lines containing this get 550 */
	const char *data;		/* to DATA */
	const char *dot;		/* to the end of data */
	const char *rset;		/* to RSET; "close": hang up instead;
					 * "silent": no reply */
	int idle_close_ms;		/* after a message, hang up when idle this long */
	int idle_421;			/* ... say 421 then instead, and stay */
	int concurrent;			/* a thread per connection */
};

static struct mx_manners mx_next;	/* taken (and cleared) by mx_start */

struct mx {
	int lfd;
	unsigned short port;
	pthread_t th;
	atomic_int stop;
	int joined;		/* mx_main joined (mx_join) */
	atomic_int accepted;		/* connections so far */
	atomic_int greet_go;		/* greeting delayed until set */
	atomic_int live;		/* connections open (concurrent) */
	atomic_int rsets;		/* RSET commands received */
	int greet_wait;			/* wait for greet_go before the 220 */
	int offer_starttls;		/* EHLO says STARTTLS; 220, then close */
	enum mx_data_reply data_reply;
	pthread_mutex_t mu;
	char raw[1 << 20];		/* every octet received, all connections */
	size_t nraw;
	int msgs;			/* messages stored (250 after the dot) */
	char rcpts[4096];		/* RCPT addresses accepted, space separated */
	struct mx_manners m;
};

static struct mx mx;

/* mx_log - keep what the MX received */
static void
mx_log(const char *p, size_t n)
{
	pthread_mutex_lock(&mx.mu);
	if (n > sizeof(mx.raw) - mx.nraw)
		n = sizeof(mx.raw) - mx.nraw;
	memcpy(mx.raw + mx.nraw, p, n);
	mx.nraw += n;
	pthread_mutex_unlock(&mx.mu);
}

/* mx_saw - did any of it contain s? */
static int
mx_saw(const char *s)
{
	int r;

	pthread_mutex_lock(&mx.mu);
	r = memmem(mx.raw, mx.nraw, s, strlen(s)) != NULL;
	pthread_mutex_unlock(&mx.mu);
	return r;
}

/* mx_conn - one SMTP connection, a plain sink (CRLF lines) */
static void
mx_conn(int fd)
{
	struct rd *r = calloc(1, sizeof(*r));
	char line[2048];
	int in_data = 0;
	double idle_since = 0;

	r->fd = fd;
	if (mx.greet_wait)
		for (int i = 0; i < 500 && !mx.greet_go && !mx.stop; i++)
			sleep_ms(10);
	if (mx.m.greeting) {
		send_all(fd, mx.m.greeting, strlen(mx.m.greeting));
		close(fd);
		free(r);
		return;
	}
	send_all(fd, "220 mx.test ESMTP\r\n", 19);
	while (!mx.stop) {
		size_t before = r->n;

		(void) before;
		if (rd_line(r, line, sizeof(line), mx.m.idle_close_ms ? 50 : 200) < 0) {
			if (r->eof)
				break;
			if (idle_since > 0 && now_ms() - idle_since >= mx.m.idle_close_ms) {
				if (!mx.m.idle_421)
					break;	/* idle after a message: hang up */
				send_all(fd, "421 4.3.2 going down\r\n", 22);
				idle_since = 0;	/* ... or say so, and wait */
			}
			continue;
		}
		idle_since = 0;
		mx_log(line, strlen(line));
		mx_log("\n", 1);
		if (in_data) {
			if (mx.m.close_in_data)
				break;
			if (strcmp(line, ".") == 0) {
				in_data = 0;
				if (mx.data_reply == MX_DOT_354) {
					send_all(fd, "354 again?\r\n", 12);
				} else if (mx.m.dot) {
					send_all(fd, mx.m.dot, strlen(mx.m.dot));
				} else {
					send_all(fd, "250 2.0.0 queued\r\n", 18);
					pthread_mutex_lock(&mx.mu);
					mx.msgs++;
					pthread_mutex_unlock(&mx.mu);
					if (mx.m.idle_close_ms)
						idle_since = now_ms();
				}
			}
			continue;
		}
		if (mx.m.ehlo && (strncasecmp(line, "EHLO", 4) == 0
			    || strncasecmp(line, "HELO", 4) == 0)) {
			send_all(fd, mx.m.ehlo, strlen(mx.m.ehlo));
		} else if (strncasecmp(line, "EHLO", 4) == 0) {
			if (mx.offer_starttls)
				send_all(fd, "250-mx.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n", 43);
			else
				send_all(fd, "250-mx.test\r\n250-8BITMIME\r\n250 PIPELINING\r\n", 43);
		} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
			send_all(fd, "220 go ahead\r\n", 14);
			break;			/* no TLS here: the handshake fails */
		} else if (strncasecmp(line, "MAIL", 4) == 0) {
			if (mx.m.mail)
				send_all(fd, mx.m.mail, strlen(mx.m.mail));
			else
				send_all(fd, "250 2.1.0 ok\r\n", 14);
		} else if (strncasecmp(line, "RCPT", 4) == 0 && mx.m.rcpt_refuse
		    && strstr(line, mx.m.rcpt_refuse)) {
			send_all(fd, "550 5.1.1 no such user\r\n", 24);
		} else if (strncasecmp(line, "RCPT", 4) == 0) {
			pthread_mutex_lock(&mx.mu);
			if (strlen(mx.rcpts) + strlen(line) + 2 < sizeof(mx.rcpts)) {
				strcat(mx.rcpts, line + 8);
				strcat(mx.rcpts, " ");
			}
			pthread_mutex_unlock(&mx.mu);
			send_all(fd, "250 2.1.5 ok\r\n", 14);
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			if (mx.data_reply == MX_DATA_250) {
				send_all(fd, "250 2.0.0 ok, whatever\r\n", 24);
			} else if (mx.m.data) {
				send_all(fd, mx.m.data, strlen(mx.m.data));
			} else {
				send_all(fd, "354 go\r\n", 8);
				in_data = 1;
			}
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			send_all(fd, "221 bye\r\n", 9);
			break;
		} else if (strncasecmp(line, "RSET", 4) == 0) {
			mx.rsets++;
			if (mx.m.rset && strcmp(mx.m.rset, "close") == 0)
				break;
			if (mx.m.rset && strcmp(mx.m.rset, "silent") == 0)
				continue;
			send_all(fd, mx.m.rset ? mx.m.rset : "250 ok\r\n",
			    strlen(mx.m.rset ? mx.m.rset : "250 ok\r\n"));
		} else {
			send_all(fd, "250 ok\r\n", 8);
		}
	}
	close(fd);
	free(r);
}

/* mx_conn_main - one connection's thread (concurrent) */
static void *
mx_conn_main(void *arg)
{
	mx_conn((int) (intptr_t) arg);
	mx.live--;
	return NULL;
}

/* mx_main - accept connections, one at a time (or each in a thread of
 * its own), until told to stop */
static void *
mx_main(void *arg)
{
	(void) arg;
	while (!mx.stop) {
		pthread_t th;
		int fd;

		if (!wait_readable(mx.lfd, 50))
			continue;
		if ((fd = accept(mx.lfd, NULL, NULL)) < 0)
			continue;
		mx.accepted++;
		if (!mx.m.concurrent) {
			mx_conn(fd);
			continue;
		}
		mx.live++;
		if (pthread_create(&th, NULL, mx_conn_main, (void *) (intptr_t) fd) != 0) {
			mx.live--;
			close(fd);
			continue;
		}
		pthread_detach(th);
	}
	while (mx.live > 0)
		sleep_ms(5);
	return NULL;
}

/* mx_start - a fresh MX with these manners */
static void
mx_start(enum mx_data_reply dr, int offer_starttls, int greet_wait)
{
	memset(&mx, 0, sizeof(mx));
	pthread_mutex_init(&mx.mu, NULL);
	mx.data_reply = dr;
	mx.offer_starttls = offer_starttls;
	mx.greet_wait = greet_wait;
	mx.m = mx_next;
	memset(&mx_next, 0, sizeof(mx_next));
	mx.lfd = loopback_listen(&mx.port);
	pthread_create(&mx.th, NULL, mx_main, NULL);
}

/* mx_join - end the MX thread, once */
static void
mx_join(void)
{
	mx.stop = 1;
	if (!mx.joined)
		pthread_join(mx.th, NULL);
	mx.joined = 1;
}

/* mx_refuse - the port stays bound but refuses connections. Closing the
 * listener while mx_main polls it would not do: the poll holds the socket
 * open (and listening) until it returns, so a connect in those 50 ms is
 * accepted and then reset. shutdown() of a listener nobody polls ends its
 * listening and keeps its port. */
static void
mx_refuse(void)
{
	mx_join();
	if (shutdown(mx.lfd, SHUT_RDWR) < 0) {
		perror("mx_refuse: shutdown");
		exit(2);
	}
}

/* mx_stop - end the MX thread */
static void
mx_stop(void)
{
	mx_join();
	close(mx.lfd);
	pthread_mutex_destroy(&mx.mu);
}

/* ---- the scripted old MTA, and the loop ------------------------------ */

struct client;
typedef void client_fn(struct client *);

struct client {
	struct rd r;
	client_fn *fn;
	pthread_t th;
	atomic_int done;
	void (*tick)(void);		/* called by the loop every 10 ms */
};

/* cl_send - the old MTA writes */
static void
cl_send(struct client *c, const char *s)
{
	(void) send_all(c->r.fd, s, strlen(s));
}

/* cl_reply - the next reply's code (-1: none within 3 s) */
static int
cl_reply(struct client *c, char *last, size_t len)
{
	return rd_reply(&c->r, last, len, 3000);
}

/* cl_start - banner and EHLO */
static int
cl_start(struct client *c)
{
	char l[512];

	if (cl_reply(c, l, sizeof(l)) != 220)
		return -1;
	cl_send(c, "EHLO old.example\r\n");
	return cl_reply(c, l, sizeof(l)) == 250 ? 0 : -1;
}

/* cl_txn - banner, EHLO, then MAIL, one RCPT and DATA pipelined: 0 when
 * they got 250, 250, 354 */
static int
cl_txn(struct client *c, const char *rcpt)
{
	char l[512], cmds[512];

	if (cl_start(c) < 0)
		return -1;
	snprintf(cmds, sizeof(cmds), "MAIL FROM:<s@old.example>\r\nRCPT TO:<%s>\r\n"
	    "DATA\r\n", rcpt);
	cl_send(c, cmds);
	return cl_reply(c, l, sizeof(l)) == 250 && cl_reply(c, l, sizeof(l)) == 250
	    && cl_reply(c, l, sizeof(l)) == 354 ? 0 : -1;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;

	c->fn(c);
	c->done = 1;
	return NULL;
}

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *c = w->data;

	(void) revents;
	if (c->tick)
		c->tick();
	if (c->done)
		ev_break(loop, EVBREAK_ONE);
}

/* run_client - one session: the old MTA's script against sess.c; the
 * loop runs until the script ends (at most 20 s) and the session is gone */
static void
run_client(client_fn *fn, void (*tick)(void))
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_storage peer, orig;
	struct sockaddr_in *o = (struct sockaddr_in *) &orig;
	int sv[2];
	ev_timer t;
	double until = now_ms() + 20000;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		exit(2);
	}
	memset(&peer, 0, sizeof(peer));
	((struct sockaddr_in *) &peer)->sin_family = AF_INET;
	((struct sockaddr_in *) &peer)->sin_addr.s_addr = htonl(0xc0000201);
	memset(&orig, 0, sizeof(orig));
	o->sin_family = AF_INET;
	o->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	o->sin_port = htons(mx.port);
	(void) fcntl(sv[0], F_SETFL, O_NONBLOCK);
	c->r.fd = sv[1];
	c->fn = fn;
	c->tick = tick;
	sess_new(sv[0], &peer, &orig);
	pthread_create(&c->th, NULL, client_main, c);
	ev_timer_init(&t, on_tick, 0.01, 0.01);
	t.data = c;
	ev_timer_start(proxy.loop, &t);
	while (!c->done && now_ms() < until)
		ev_run(proxy.loop, 0);
	pthread_join(c->th, NULL);
	close(sv[1]);
	/* Let the session see the close and go. */
	for (int i = 0; i < 100 && proxy.nsessions > 0; i++)
		ev_run(proxy.loop, EVRUN_NOWAIT), sleep_ms(5);
	for (int i = 0; i < 20; i++)
		ev_run(proxy.loop, EVRUN_NOWAIT);
	ev_timer_stop(proxy.loop, &t);
	free(c);
}

/* ---- cases ----------------------------------------------------------- */

static const char *smuggle_shapes[] = {
	"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r", "\r.\r",
};
static const char *cur_shape;
static int got_final, got_eof, got_after;
static char got_text[512];

/* smuggle_client - a message with a lone dot next to a bare CR or LF,
 * followed by a second transaction inside the same DATA stream */
static void
smuggle_client(struct client *c)
{
	char body[1024];

	got_final = got_eof = got_after = -1;
	if (cl_txn(c, "r@nopolicy.example") < 0)
		return;
	snprintf(body, sizeof(body), "Subject: x\r\n\r\nhello%sMAIL FROM:<evil@x.example>"
	    "\r\nRCPT TO:<evil@nopolicy.example>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n",
	    cur_shape);
	cl_send(c, body);
	got_final = cl_reply(c, got_text, sizeof(got_text));
	got_eof = rd_eof(&c->r, 2000);
}

/* held_smuggle_client - the same through the TLS-Required: No hold */
static void
held_smuggle_client(struct client *c)
{
	char body[1024];

	got_final = got_eof = -1;
	if (cl_txn(c, "r@fail.example") < 0)
		return;
	snprintf(body, sizeof(body), "TLS-Required: No\r\nSubject: x\r\n\r\nhello%s"
	    "MAIL FROM:<evil@x.example>\r\nRCPT TO:<evil@nopolicy.example>\r\nDATA\r\n"
	    "smuggled\r\n.\r\nQUIT\r\n", cur_shape);
	cl_send(c, body);
	got_final = cl_reply(c, got_text, sizeof(got_text));
	got_eof = rd_eof(&c->r, 2000);
}

static void
smuggling(void)
{
	for (size_t i = 0; i < sizeof(smuggle_shapes) / sizeof(smuggle_shapes[0]); i++) {
		char name[160], shown[32];
		size_t w = 0;

		for (const char *p = smuggle_shapes[i]; *p && w + 3 < sizeof(shown); p++)
			w += (size_t) snprintf(shown + w, sizeof(shown) - w, "%s",
			    *p == '\r' ? "CR" : *p == '\n' ? "LF" : ".");
		cur_shape = smuggle_shapes[i];
		mx_start(MX_354, 0, 0);
		run_client(smuggle_client, NULL);
		mx_stop();
		snprintf(name, sizeof(name), "smuggling %s: refused, connection closed, "
		    "nothing after it reaches the MX", shown);
		T_CASE(name, got_final / 100 == 5 && got_eof == 1 && !mx_saw("evil")
		    && !mx_saw("smuggled") && mx.msgs == 0, "final=%d (%s) eof=%d "
		    "mx saw evil=%d smuggled=%d msgs=%d", got_final, got_text, got_eof,
		    mx_saw("evil"), mx_saw("smuggled"), mx.msgs);

		mx_start(MX_354, 0, 0);
		run_client(held_smuggle_client, NULL);
		mx_stop();
		snprintf(name, sizeof(name), "smuggling %s while held (TLS-Required: No): "
		    "refused, closed, nothing delivered", shown);
		T_CASE(name, got_final / 100 == 5 && got_eof == 1 && !mx_saw("evil")
		    && mx.msgs == 0, "final=%d (%s) eof=%d mx saw evil=%d msgs=%d",
		    got_final, got_text, got_eof, mx_saw("evil"), mx.msgs);
	}
}

static int ctl_mail, ctl_rcpt;

/* ctl_client - CR inside quoted envelope addresses */
static void
ctl_client(struct client *c)
{
	char l[512];

	ctl_mail = ctl_rcpt = -1;
	if (cl_start(c) < 0)
		return;
	cl_send(c, "MAIL FROM:<\"x\rRCPT TO:<evil@nopolicy.example>\r\"@old.example>\r\n");
	ctl_mail = cl_reply(c, l, sizeof(l));
	if (ctl_mail != 250) {
		cl_send(c, "MAIL FROM:<s@old.example>\r\n");
		(void) cl_reply(c, l, sizeof(l));
	}
	cl_send(c, "RCPT TO:<\"y\rRCPT TO:<evil2@nopolicy.example>\r\"@nopolicy.example>\r\n");
	ctl_rcpt = cl_reply(c, l, sizeof(l));
	cl_send(c, "QUIT\r\n");
	(void) cl_reply(c, l, sizeof(l));
}

static void
envelope_controls(void)
{
	mx_start(MX_354, 0, 0);
	run_client(ctl_client, NULL);
	mx_stop();
	T_CASE("CR in a quoted MAIL address: 501, never forwarded",
	    ctl_mail == 501 && !mx_saw("evil"), "MAIL reply %d, mx saw evil=%d",
	    ctl_mail, mx_saw("evil"));
	T_CASE("CR in a quoted RCPT address: 501, never forwarded",
	    ctl_rcpt == 501 && !mx_saw("evil2"), "RCPT reply %d, mx saw evil2=%d",
	    ctl_rcpt, mx_saw("evil2"));
}

static int data_code, dot_code;

/* data_client - one message; what DATA and the end of data got */
static void
data_client(struct client *c)
{
	char l[512];

	data_code = dot_code = -1;
	if (cl_start(c) < 0)
		return;
	cl_send(c, "MAIL FROM:<s@old.example>\r\nRCPT TO:<r@nopolicy.example>\r\nDATA\r\n");
	if (cl_reply(c, l, sizeof(l)) != 250 || cl_reply(c, l, sizeof(l)) != 250)
		return;
	data_code = cl_reply(c, got_text, sizeof(got_text));
	if (data_code != 354)
		return;
	cl_send(c, "Subject: x\r\n\r\nhello\r\n.\r\n");
	dot_code = cl_reply(c, got_text, sizeof(got_text));
	cl_send(c, "QUIT\r\n");
	(void) cl_reply(c, l, sizeof(l));
}

static void
odd_data_replies(void)
{
	mx_start(MX_DATA_250, 0, 0);
	run_client(data_client, NULL);
	mx_stop();
	T_CASE("MX answers DATA with 250: the old MTA gets 451 4.5.0, never a 2xx",
	    data_code == 451 && strstr(got_text, "4.5.0") != NULL, "DATA reply %d (%s)",
	    data_code, got_text);
	mx_start(MX_DOT_354, 0, 0);
	run_client(data_client, NULL);
	mx_stop();
	T_CASE("MX answers the end of data with 354: 451 4.5.0", dot_code == 451
	    && strstr(got_text, "4.5.0") != NULL, "end-of-data reply %d (%s)", dot_code,
	    got_text);
	mx_start(MX_354, 0, 0);
	run_client(data_client, NULL);
	mx_stop();
	T_CASE("a normal MX still gets its message (control)", data_code == 354
	    && dot_code == 250 && mx.msgs == 1, "DATA %d dot %d msgs %d", data_code,
	    dot_code, mx.msgs);
}

static size_t flood_written, flood_replies;
static int flood_quit;

/* flood_client - pipeline NOOPs without reading for 3 s (at most 16 MiB),
 * then read every reply and QUIT */
static void
flood_client(struct client *c)
{
	static const char noop[] = "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"
	    "NOOP\r\nNOOP\r\n";
	char l[512];
	double until;
	int fl;

	flood_written = flood_replies = 0;
	flood_quit = -1;
	if (cl_start(c) < 0)
		return;
	fl = fcntl(c->r.fd, F_GETFL);
	(void) fcntl(c->r.fd, F_SETFL, fl | O_NONBLOCK);
	until = now_ms() + 3000;
	while (now_ms() < until && flood_written < 16u << 20) {
		ssize_t w = send(c->r.fd, noop, sizeof(noop) - 1, MSG_NOSIGNAL);

		if (w > 0)
			flood_written += (size_t) w;
		else
			sleep_ms(5);
	}
	/* A partial NOOP may be out: end it, then read everything. */
	while (flood_written % 6 != 0) {
		if (send(c->r.fd, &"NOOP\r\n"[flood_written % 6], 1, MSG_NOSIGNAL) == 1)
			flood_written++;
		else
			sleep_ms(5);
	}
	(void) fcntl(c->r.fd, F_SETFL, fl);
	while (flood_replies < flood_written / 6 && cl_reply(c, l, sizeof(l)) == 250)
		flood_replies++;
	cl_send(c, "QUIT\r\n");
	flood_quit = cl_reply(c, l, sizeof(l));
}

static void
reply_queue(void)
{
	mx_start(MX_354, 0, 0);
	run_client(flood_client, NULL);
	mx_stop();
	T_CASE("a client that never reads its replies is stopped (< 4 MiB taken in 3 s)",
	    flood_written > 0 && flood_written < (4u << 20), "the session took %zu octets",
	    flood_written);
	T_CASE("... and once it reads, every reply is there and QUIT is answered",
	    flood_replies == flood_written / 6 && flood_quit == 221, "%zu of %zu replies, "
	    "QUIT %d", flood_replies, flood_written / 6, flood_quit);
}

static int tr_code;
static double tr_ms;

/* trickle_client - NOOP one octet every 250 ms */
static void
trickle_client(struct client *c)
{
	char l[512];
	double t0;

	tr_code = -1;
	if (cl_start(c) < 0)
		return;
	t0 = now_ms();
	for (const char *p = "NOOP\r\n"; *p; p++) {
		char b[1] = {*p};

		if (send(c->r.fd, b, 1, MSG_NOSIGNAL) != 1)
			break;
		if (wait_readable(c->r.fd, 250))
			break;
	}
	tr_code = cl_reply(c, l, sizeof(l));
	tr_ms = now_ms() - t0;
}

/* idle_client - a whole NOOP every 700 ms, for ever */
static void
idle_client(struct client *c)
{
	char l[512];
	double t0;

	tr_code = -1;
	if (cl_start(c) < 0)
		return;
	t0 = now_ms();
	for (int i = 0; i < 20; i++) {
		int code;

		sleep_ms(700);
		cl_send(c, "NOOP\r\n");
		if ((code = cl_reply(c, l, sizeof(l))) != 250) {
			tr_code = code;
			break;
		}
	}
	tr_ms = now_ms() - t0;
}

static size_t dr_chunk;
static int dr_pause;

/* data_rate_client - a message body in chunks of dr_chunk every dr_pause ms
 * for 4 s; tr_code: the first reply after the 354 */
static void
data_rate_client(struct client *c)
{
	char chunk[2048];
	double t0, until;

	tr_code = -1;
	if (cl_txn(c, "r@nopolicy.example") < 0)
		return;
	memset(chunk, 'x', sizeof(chunk));
	chunk[dr_chunk - 2] = '\r';
	chunk[dr_chunk - 1] = '\n';
	t0 = now_ms();
	until = t0 + 4000;
	while (now_ms() < until) {
		if (send(c->r.fd, chunk, dr_chunk, MSG_NOSIGNAL) != (ssize_t) dr_chunk)
			break;
		if (wait_readable(c->r.fd, dr_pause))
			break;
	}
	if (!wait_readable(c->r.fd, 0))
		cl_send(c, ".\r\n");
	tr_code = cl_reply(c, got_text, sizeof(got_text));
	tr_ms = now_ms() - t0;
}

static void
deadlines(void)
{
	long ct = proxy.cfg.client_timeout, il = proxy.cfg.client_idle_limit;
	long mr = proxy.cfg.client_min_data_rate;

	proxy.cfg.client_timeout = 1;
	mx_start(MX_354, 0, 0);
	run_client(trickle_client, NULL);
	mx_stop();
	T_CASE("a command trickled over more than client_timeout: 421", tr_code == 421
	    && tr_ms < 1600, "reply %d after %.0f ms", tr_code, tr_ms);

	proxy.cfg.client_timeout = 2;
	proxy.cfg.client_idle_limit = 2;
	mx_start(MX_354, 0, 0);
	run_client(idle_client, NULL);
	mx_stop();
	T_CASE("NOOPs within client_timeout, but past client_idle_limit in all: 421",
	    tr_code == 421 && tr_ms > 1800 && tr_ms < 3500, "reply %d after %.0f ms",
	    tr_code, tr_ms);

	proxy.cfg.client_idle_limit = il;
	proxy.cfg.client_timeout = 2;
	proxy.cfg.client_min_data_rate = 1000;
	dr_chunk = 12;
	dr_pause = 200;			/* 60 octets/s */
	mx_start(MX_354, 0, 0);
	run_client(data_rate_client, NULL);
	mx_stop();
	T_CASE("a message trickled below client_min_data_rate: 421 in DATA",
	    tr_code == 421 && tr_ms < 3500 && mx.msgs == 0, "reply %d after %.0f ms, "
	    "%d stored", tr_code, tr_ms, mx.msgs);
	dr_chunk = 1000;
	dr_pause = 200;			/* 5000 octets/s */
	mx_start(MX_354, 0, 0);
	run_client(data_rate_client, NULL);
	mx_stop();
	T_CASE("a message above client_min_data_rate, longer than client_timeout: sent",
	    tr_code == 250 && mx.msgs == 1, "reply %d (%s) after %.0f ms", tr_code,
	    got_text, tr_ms);
	proxy.cfg.client_timeout = ct;
	proxy.cfg.client_min_data_rate = mr;
}

static int mix_codes[8], mix_n;
static char mix_text[1024];		/* the first RCPT's reply */

/* mix_send - a pipelined transaction: MAIL, RCPTs, DATA, a message */
static void
mix_send(struct client *c, const char *r1, const char *r2, int pipelined)
{
	char l[512], buf[512];

	mix_n = 0;
	memset(mix_codes, 0xff, sizeof(mix_codes));
	if (cl_start(c) < 0)
		return;
	if (pipelined) {
		snprintf(buf, sizeof(buf), "MAIL FROM:<s@old.example>\r\nRCPT TO:<%s>\r\n"
		    "RCPT TO:<%s>\r\nDATA\r\n", r1, r2);
		cl_send(c, buf);
		for (mix_n = 0; mix_n < 4; mix_n++)
			mix_codes[mix_n] = cl_reply(c, l, sizeof(l));
	} else {
		const char *cmds[3] = {"MAIL FROM:<s@old.example>", r1, r2};

		for (mix_n = 0; mix_n < 3; mix_n++) {
			snprintf(buf, sizeof(buf), mix_n ? "RCPT TO:<%s>\r\n" : "%s\r\n",
			    cmds[mix_n]);
			cl_send(c, buf);
			mix_codes[mix_n] = cl_reply(c, mix_n == 1 ? mix_text : l,
			    mix_n == 1 ? sizeof(mix_text) : sizeof(l));
		}
		cl_send(c, "DATA\r\n");
		mix_codes[mix_n++] = cl_reply(c, l, sizeof(l));
	}
	if (mix_codes[3] == 354) {
		cl_send(c, "Subject: mixed\r\n\r\nhello\r\n.\r\n");
		mix_codes[mix_n++] = cl_reply(c, l, sizeof(l));
	} else {
		mix_codes[mix_n++] = -1;
	}
	cl_send(c, "QUIT\r\n");
	(void) cl_reply(c, l, sizeof(l));
}

static void mix_twomx(struct client *c) { mix_send(c, "a@twomx.example", "b@twomx.example", 0); }
static void mix_fail_first(struct client *c) { mix_send(c, "a@fail.example", "b@nopolicy.example", 1); }
static void mix_ok_first(struct client *c) { mix_send(c, "b@nopolicy.example", "a@fail.example", 1); }
static void mix_fail_first_slow(struct client *c) { mix_send(c, "a@fail.example", "b@nopolicy.example", 0); }

/* The log lines of a run, for the delivery summary (log_set_sink()). */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[65536];
static size_t log_used;

/* log_keep - a log line, kept in log_text */
static void
log_keep(const char *line, size_t len)
{
	pthread_mutex_lock(&log_mu);
	if (log_used + len + 2 < sizeof(log_text)) {
		memcpy(log_text + log_used, line, len);
		log_used += len;
		log_text[log_used++] = '\n';
		log_text[log_used] = 0;
	}
	pthread_mutex_unlock(&log_mu);
}

/* log_line_with - the kept line that has all of a, b and c, or NULL */
static const char *
log_line_with(const char *a, const char *b, const char *c, char *out, size_t len)
{
	for (const char *p = log_text; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t) (e - p) : strlen(p);

		snprintf(out, len, "%.*s", (int) n, p);
		if (strstr(out, a) && strstr(out, b) && strstr(out, c))
			return out;
		p += n + (e != NULL);
	}
	return NULL;
}

/* summary_lines - the delivery summary of a mixed transaction: the sent
 * recipient through the MX, the refused one with relay=none and the
 * policy that refused it; as JSON too.  (A second domain's 452, one
 * domain per transaction, is no attempt: it has no summary line.) */
static void
summary_lines(void)
{
	char l[2048];

	proxy.cfg.tls_required_enable = 0;
	log_used = 0;
	log_text[0] = 0;
	log_set_sink(log_keep);
	mx_start(MX_354, 0, 0);
	run_client(mix_fail_first, NULL);
	mx_stop();
	log_set_json(1);
	mx_start(MX_354, 0, 0);
	run_client(mix_fail_first, NULL);
	mx_stop();
	log_set_json(0);
	log_set_sink(NULL);
	T_CASE("summary: the sent recipient, one line, Postfix's shape",
	    log_line_with(": to=<b@nopolicy.example>, relay=", ", policy=none, verified=no, "
	    "from=<s@old.example>, size=", "status=sent (250 ", l, sizeof(l)) != NULL,
	    "%s", log_text);
	T_CASE("summary: the refused recipient: relay=none, policy=dane, deferred",
	    log_line_with(": to=<a@fail.example>, relay=none, tls=none, policy=dane, "
	    "verified=no", "size=0", ", status=deferred (4", l, sizeof(l)) != NULL,
	    "%s", log_text);
	T_CASE("summary as JSON: the sent recipient's members",
	    log_line_with("\"to\":\"<b@nopolicy.example>\"", "\"policy\":\"none\",\"verified\":\"no\"",
	    "\"status\":\"sent\",\"detail\":\"250 ", l, sizeof(l)) != NULL, "%s", log_text);
	T_CASE("summary as JSON: the refused recipient's members",
	    log_line_with("\"to\":\"<a@fail.example>\",\"relay\":\"none\"", "\"policy\":\"dane\"",
	    "\"status\":\"deferred\",\"detail\":\"4", l, sizeof(l)) != NULL, "%s", log_text);
}

static void
mixed_domains(void)
{
	int hold = proxy.cfg.tls_required_enable;

	for (int h = 1; h >= 0; h--) {
		char name[200];

		proxy.cfg.tls_required_enable = h;
		mx_start(MX_354, 0, 0);
		run_client(mix_fail_first, NULL);
		mx_stop();
		snprintf(name, sizeof(name), "mixed, failing domain first%s: it gets 4xx, the "
		    "other domain's copy is sent", h ? " (hold on)" : " (hold off)");
		T_CASE(name, mix_codes[1] / 100 == 4 && mix_codes[2] == 250
		    && mix_codes[3] == 354 && mix_codes[4] == 250 && mx.msgs == 1
		    && strstr(mx.rcpts, "b@nopolicy.example") && !strstr(mx.rcpts,
			"fail.example"), "replies %d %d %d %d %d, mx msgs %d rcpts %s",
		    mix_codes[0], mix_codes[1], mix_codes[2], mix_codes[3], mix_codes[4],
		    mx.msgs, mx.rcpts);

		mx_start(MX_354, 0, 0);
		run_client(mix_ok_first, NULL);
		mx_stop();
		snprintf(name, sizeof(name), "mixed, failing domain second%s: it gets 4xx, "
		    "the other domain's copy is sent", h ? " (hold on)" : " (hold off)");
		T_CASE(name, mix_codes[1] == 250 && mix_codes[2] / 100 == 4
		    && mix_codes[3] == 354 && mix_codes[4] == 250 && mx.msgs == 1,
		    "replies %d %d %d %d %d, mx msgs %d rcpts %s", mix_codes[0],
		    mix_codes[1], mix_codes[2], mix_codes[3], mix_codes[4], mx.msgs, mx.rcpts);
	}
	/* Two MX hosts: one fails its policy, the other cannot be reached. */
	proxy.cfg.tls_required_enable = 0;
	mx_start(MX_354, 0, 0);
	run_client(mix_twomx, NULL);
	mx_stop();
	T_CASE("two MX hosts, a policy failure and a refused connection: the reply "
	    "says both", mix_codes[1] == 451 && strstr(mix_text, "4.7.5")
	    && strstr(mix_text, "bogus") && strstr(mix_text, "127.0.0.2"),
	    "RCPT %d: %s", mix_codes[1], mix_text);
	/* Not pipelined, failing domain first, hold on: the first time it is
	 * held and the other waits (452); from then on it is not held. */
	proxy.cfg.tls_required_enable = 1;
	mx_start(MX_354, 0, 0);
	run_client(mix_fail_first_slow, NULL);
	T_CASE("not pipelined, failing first, first time: held, the other 452",
	    mix_codes[1] == 250 && mix_codes[2] == 452 && mix_codes[4] / 100 == 4
	    && mx.msgs == 0, "replies %d %d %d %d %d, mx msgs %d", mix_codes[0],
	    mix_codes[1], mix_codes[2], mix_codes[3], mix_codes[4], mx.msgs);
	run_client(mix_fail_first_slow, NULL);
	mx_stop();
	T_CASE("not pipelined, failing first, the retry: 4xx at RCPT, the other sent",
	    mix_codes[1] / 100 == 4 && mix_codes[2] == 250 && mix_codes[4] == 250
	    && mx.msgs == 1, "replies %d %d %d %d %d, mx msgs %d", mix_codes[0],
	    mix_codes[1], mix_codes[2], mix_codes[3], mix_codes[4], mx.msgs);
	summary_lines();
	proxy.cfg.tls_required_enable = hold;
}

static int ctx_index = -1;
static atomic_int ctx_freed;
static int ctx_freed_at_reload = -1, reloaded;

/* ctx_gone - ex_data free callback: the context itself is freed */
static void
ctx_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void) parent;
	(void) ad;
	(void) idx;
	(void) argl;
	(void) argp;
	if (ptr)
		ctx_freed = 1;
}

/* reload_tick - once the MX accepted (greeting held back), "reload":
 * replace proxy.client_ctx and free the old one, as main.c's on_hup does */
static void
reload_tick(void)
{
	char err[256];
	SSL_CTX *nc;

	if (reloaded || mx.accepted == 0)
		return;
	nc = tls_client_ctx("", err, sizeof(err));
	SSL_CTX_free(proxy.client_ctx);
	proxy.client_ctx = nc;
	ctx_freed_at_reload = ctx_freed;
	reloaded = 1;
	mx.greet_go = 1;
}

static void
reload_ctx(void)
{
	char err[256];
	SSL_CTX *old = tls_client_ctx("", err, sizeof(err));

	ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_gone);
	SSL_CTX_set_ex_data(old, ctx_index, (void *) 1);
	SSL_CTX_free(proxy.client_ctx);
	proxy.client_ctx = old;
	ctx_freed = 0;
	mx_start(MX_354, 1, 1);
	run_client(data_client, reload_tick);
	mx_stop();
	T_CASE("reload while an upstream waits for the greeting: its TLS context "
	    "stays alive", reloaded && ctx_freed_at_reload == 0, "reloaded=%d, freed "
	    "at reload=%d", reloaded, ctx_freed_at_reload);
	T_CASE("... and is freed once that upstream is gone", ctx_freed == 1,
	    "still allocated");
	T_CASE("... and the message still went (STARTTLS failed, plaintext retry)",
	    dot_code == 250 && mx.msgs == 1, "end-of-data %d msgs %d", dot_code, mx.msgs);
}

/* ---- the MX failing at each step ------------------------------------- */

static char jdir[64];			/* the journal's directory */

/* journal_last - how many attempt records so far; the last one in out */
static int
journal_last(char *out, size_t len)
{
	char path[128], line[4096];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int n = 0;

	out[0] = 0;
	gmtime_r(&now, &tm);
	snprintf(path, sizeof(path), "%s/%04d-%02d-%02d.jsonl", jdir, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		snprintf(out, len, "%s", line);
	}
	fclose(f);
	return n;
}

static const char *step_rcpt;		/* the recipient of step_client */
static int step_codes[4];		/* MAIL, RCPT, DATA, end of data */
static char step_text[512];		/* the first refusal's text, or the last reply's */

/* step_client - one message, MAIL, RCPT and DATA pipelined; the replies */
static void
step_client(struct client *c)
{
	char l[512], cmds[512];

	for (int i = 0; i < 4; i++)
		step_codes[i] = -1;
	step_text[0] = 0;
	if (cl_start(c) < 0)
		return;
	snprintf(cmds, sizeof(cmds), "MAIL FROM:<s@old.example>\r\nRCPT TO:<%s>\r\n"
	    "DATA\r\n", step_rcpt);
	cl_send(c, cmds);
	for (int i = 0; i < 3; i++) {
		if ((step_codes[i] = cl_reply(c, l, sizeof(l))) < 0)
			return;
		if (step_codes[i] / 100 > 3 && step_text[0] == 0)
			snprintf(step_text, sizeof(step_text), "%s", l);
	}
	if (step_codes[2] != 354)
		return;
	cl_send(c, "Subject: step\r\n\r\nbody\r\n.\r\n");
	step_codes[3] = cl_reply(c, step_text, sizeof(step_text));
	cl_send(c, "QUIT\r\n");
	(void) cl_reply(c, l, sizeof(l));
}

struct step_case {
	const char *name;
	const char *rcpt;
	struct mx_manners m;
	int offer_starttls;
	int down;			/* nothing listens at the MX's address */
	int codes[4];			/* what the old MTA hears; -1: nothing */
	const char *text;		/* in the last reply it hears */
	const char *result;		/* in the one new attempt record */
};

/* mx_steps - the MX fails at each step: the old MTA hears the right 4xx
 * or the MX's own reply, and the attempt is journaled once, as it ended */
static void
mx_steps(void)
{
	static const struct step_case cases[] = {
		{"connection refused: 451 at RCPT, a connection-failure record",
		    "r@nopolicy.example", {0}, 0, 1, {250, 451, 554, -1}, "4.4.1",
		    "\"result-type\":\"connection-failure\""},
		{"greeting 421: 451 at RCPT, a connection-failure record",
		    "r@nopolicy.example", {.greeting = "421 4.3.2 busy\r\n"}, 0, 0,
		    {250, 451, 554, -1}, "busy", "\"result-type\":\"connection-failure\""},
		{"EHLO and HELO refused: 451 at RCPT, a connection-failure record",
		    "r@nopolicy.example", {.ehlo = "554 5.7.1 go away\r\n"}, 0, 0,
		    {250, 451, 554, -1}, "go away", "\"result-type\":\"connection-failure\""},
		{"MTA-STS enforce, no STARTTLS offered: held, then 451 4.7.5, "
		    "starttls-not-supported", "r@sts.example", {0}, 0, 0,
		    {250, 250, 354, 451}, "4.7.5",
		    "\"result-type\":\"starttls-not-supported\""},
		{"MTA-STS enforce, the handshake fails: held, then 451 4.7.5, "
		    "validation-failure", "r@sts.example", {0}, 1, 0, {250, 250, 354, 451},
		    "4.7.5", "\"result-type\":\"validation-failure\""},
		{"no policy, the handshake fails: plaintext retry, delivered, one record",
		    "r@nopolicy.example", {0}, 1, 0, {250, 250, 354, 250}, "queued",
		    "\"action\":\"delivered\""},
		{"MAIL refused: its reply at RCPT, the attempt recorded as it went",
		    "r@nopolicy.example", {.mail = "451 4.3.0 sender later\r\n"}, 0, 0,
		    {250, 451, 554, -1}, "sender later", "\"result-type\":\"starttls-not-supported\""},
		{"RCPT refused: its reply", "refuse@nopolicy.example",
		    {.rcpt_refuse = "refuse@"}, 0, 0, {250, 550, 554, -1}, "5.1.1",
		    "\"result-type\":\"starttls-not-supported\""},
		{"DATA refused: its reply", "r@nopolicy.example",
		    {.data = "451 4.3.1 no room\r\n"}, 0, 0, {250, 250, 451, -1}, "no room",
		    "\"result-type\":\"starttls-not-supported\""},
		{"end of data refused: its reply", "r@nopolicy.example",
		    {.dot = "452 4.3.1 full\r\n"}, 0, 0, {250, 250, 354, 452}, "full",
		    "\"result-type\":\"starttls-not-supported\""},
		{"the MX goes away in the message: 451 4.4.2", "r@nopolicy.example",
		    {.close_in_data = 1}, 0, 0, {250, 250, 354, 451}, "4.4.2",
		    "\"result-type\":\"starttls-not-supported\""},
		{"all well (plaintext, no STARTTLS offered): 250, one record",
		    "r@nopolicy.example", {0}, 0, 0,
		    {250, 250, 354, 250}, "queued", "\"result-type\":\"starttls-not-supported\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct step_case *k = &cases[i];
		char name[200], rec[4096];
		int before = journal_last(rec, sizeof(rec)), after, codes_ok = 1;

		step_rcpt = k->rcpt;
		mx_next = k->m;
		mx_start(MX_354, k->offer_starttls, 0);
		if (k->down)
			mx_refuse();		/* the port stays ours, refused */
		run_client(step_client, NULL);
		mx_stop();
		after = journal_last(rec, sizeof(rec));
		for (int j = 0; j < 4; j++)
			codes_ok &= step_codes[j] == k->codes[j];
		snprintf(name, sizeof(name), "mx step: %s", k->name);
		T_CASE(name, codes_ok && strstr(step_text, k->text) != NULL
		    && after == before + 1 && strstr(rec, k->result) != NULL,
		    "replies %d %d %d %d (%s), records %d -> %d, last %.300s", step_codes[0],
		    step_codes[1], step_codes[2], step_codes[3], step_text, before, after, rec);
	}
}

/* ---- the policy table, report-only, require_tls ---------------------- */

/* journal_count - records so far with needle in them */
static int
journal_count(const char *needle)
{
	char path[128], line[4096];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int n = 0;

	gmtime_r(&now, &tm);
	snprintf(path, sizeof(path), "%s/%04d-%02d-%02d.jsonl", jdir, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* record_ids - every record of the run carries the gateway id and a
 * record-id GATEWAY:SID:PID:N, unique, N counting each session's
 * attempts from 1 */
static void
record_ids(void)
{
	char path[128], line[REC_LINE_MAX + 2], gw[REC_GWID], want[REC_RID];
	char (*sids)[32] = calloc(4096, 32);
	unsigned *next = calloc(4096, sizeof(*next));
	time_t now = time(NULL);
	struct rec *r = malloc(sizeof(*r));
	int n = 0, bad = 0, nsid = 0;
	struct tm tm;
	FILE *f;

	cfg_gateway_id(&proxy.cfg, gw, sizeof(gw));
	gmtime_r(&now, &tm);
	snprintf(path, sizeof(path), "%s/%04d-%02d-%02d.jsonl", jdir, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	if (sids == NULL || next == NULL || r == NULL || (f = fopen(path, "r")) == NULL) {
		T_CASE("record ids", 0, "no journal %s", path);
		free(sids), free(next), free(r);
		return;
	}
	while (fgets(line, sizeof(line), f) && !bad) {
		const char *why;
		int i;

		n++;
		if (rec_from_json(line, strcspn(line, "\n"), r, &why) < 0) {
			bad = 1;
			break;
		}
		for (i = 0; i < nsid && strcmp(sids[i], r->sid) != 0; i++)
			;
		if (i == nsid && nsid < 4096)
			snprintf(sids[nsid++], 32, "%s", r->sid);
		if (i == 4096)
			continue;
		snprintf(want, sizeof(want), "%s:%s:%ld:%u", gw, r->sid, (long) getpid(), ++next[i]);
		if (strcmp(r->gw, gw) != 0 || strcmp(r->rid, want) != 0) {
			bad = 1;
			printf("record %d: gateway-id %s record-id %s, want %s %s\n", n, r->gw,
			    r->rid, gw, want);
		}
	}
	fclose(f);
	T_CASE("records carry gateway-id and record-id GW:SID:PID:N", n > 10 && !bad
	    && nsid > 1, "records=%d sessions=%d bad=%d", n, nsid, bad);
	{
		int multi = 0;

		for (int i = 0; i < nsid; i++)
			multi += next[i] > 1;
		T_CASE("a session's attempts numbered 1, 2, ...", multi > 0, "no session with "
		    "two records among %d", nsid);
	}
	free(sids), free(next), free(r);
}

struct mode_case {
	const char *name;
	const char *rcpt;
	int report_only, require_tls, offer_starttls;
	const char *table;		/* the policy table's text, or NULL */
	int codes[4];
	const char *text;		/* in the last reply the old MTA hears */
	const char *last;		/* in the last new record */
	int would;			/* new would-refuse records */
	int records;			/* new records */
};

/* modes - the table's levels, report-only and the floor, whole sessions */
static void
modes(void)
{
	static const struct mode_case cases[] = {
		{"report-only: DANE lookups bogus: delivered, a would-refuse record "
		    "(dnssec-invalid), then the delivery", "r@fail.example", 1, 0, 0, NULL,
		    {250, 250, 354, 250}, "queued", "\"action\":\"delivered\"", 1, 2},
		{"report-only: MTA-STS enforce, no STARTTLS: delivered, recorded as a "
		    "would-refuse (starttls-not-supported)", "r@sts.example", 1, 0, 0, NULL,
		    {250, 250, 354, 250}, "queued", "\"result-type\":\"starttls-not-supported\"",
		    1, 1},
		{"enforce, the same: held, then 451 4.7.5, nothing would", "r@sts.example", 0, 0,
		    0, NULL, {250, 250, 354, 451}, "4.7.5", "\"action\":\"refused\"", 0, 1},
		{"table encrypt, no STARTTLS: held, then 451 4.7.5, the entry recorded",
		    "r@nopolicy.example", 0, 0, 0, "nopolicy.example encrypt\n",
		    {250, 250, 354, 451}, "4.7.5",
		    "\"policy-table\":\"nopolicy.example encrypt\"", 0, 1},
		{"table .example none, STARTTLS offered: never said, delivered in plaintext",
		    "r@nopolicy.example", 0, 0, 1, "# exempt\n.example none\n",
		    {250, 250, 354, 250}, "queued", "\"policy-table\":\".example none\"", 0, 1},
		{"table none over DANE lookups that failed: delivered (only the table "
		    "changes that)", "r@fail.example", 0, 0, 0, "fail.example none\n",
		    {250, 250, 354, 250}, "queued", "\"policy-table\":\"fail.example none\"",
		    0, 1},
		{"table [127.0.0.1] encrypt (the destination), no STARTTLS: refused",
		    "r@nopolicy.example", 0, 0, 0, "[127.0.0.1] encrypt\n",
		    {250, 250, 354, 451}, "4.7.5", "\"policy-table\":\"[127.0.0.1] encrypt\"",
		    0, 1},
		{"table dane-only, no TLSA: refused, never connected (dane-required)",
		    "r@nopolicy.example", 0, 0, 0, "nopolicy.example dane-only\n",
		    {250, 250, 354, 451}, "dane-only", "\"result-type\":\"dane-required\"",
		    0, 1},
		{"table dane-only mode=report-only, no TLSA: delivered, would-refuse",
		    "r@nopolicy.example", 0, 0, 0, "nopolicy.example dane-only mode=report-only\n",
		    {250, 250, 354, 250}, "queued", "\"action\":\"delivered\"", 1, 2},
		{"require_tls, no policy, no STARTTLS: held, then 451 4.7.4",
		    "r@nopolicy.example", 0, 1, 0, NULL, {250, 250, 354, 451}, "4.7.4",
		    "\"result-type\":\"starttls-not-supported\"", 0, 1},
		{"require_tls, a may entry is the exception: delivered in plaintext",
		    "r@nopolicy.example", 0, 1, 0, "nopolicy.example may\n",
		    {250, 250, 354, 250}, "queued", "\"action\":\"delivered\"", 0, 1},
		{"require_tls and report-only: delivered, would-refuse",
		    "r@nopolicy.example", 1, 1, 0, NULL, {250, 250, 354, 250}, "queued",
		    "\"action\":\"would-refuse\"", 1, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mode_case *k = &cases[i];
		struct ptable t;
		char name[300], rec[4096], err[256];
		int before = journal_last(rec, sizeof(rec)), after, codes_ok = 1;
		int wbefore = journal_count("\"action\":\"would-refuse\""), wafter;

		proxy.cfg.mode = k->report_only ? MODE_REPORT_ONLY : MODE_ENFORCE;
		proxy.cfg.require_tls = k->require_tls;
		proxy.ptab = NULL;
		if (k->table) {
			if (ptable_parse(&t, "table", k->table, strlen(k->table), err,
			    sizeof(err)) < 0) {
				T_CASE(k->name, 0, "table: %s", err);
				continue;
			}
			proxy.ptab = &t;
			proxy.ptab_gen++;
		}
		step_rcpt = k->rcpt;
		memset(&mx_next, 0, sizeof(mx_next));
		mx_start(MX_354, k->offer_starttls, 0);
		run_client(step_client, NULL);
		mx_stop();
		after = journal_last(rec, sizeof(rec));
		wafter = journal_count("\"action\":\"would-refuse\"");
		for (int j = 0; j < 4; j++)
			codes_ok &= step_codes[j] == k->codes[j];
		snprintf(name, sizeof(name), "modes: %s", k->name);
		T_CASE(name, codes_ok && strstr(step_text, k->text) != NULL
		    && after == before + k->records && strstr(rec, k->last) != NULL
		    && wafter == wbefore + k->would,
		    "replies %d %d %d %d (%s), records %d -> %d, would %d -> %d, last %.400s",
		    step_codes[0], step_codes[1], step_codes[2], step_codes[3], step_text,
		    before, after, wbefore, wafter, rec);
		if (k->table)
			ptable_free(&t);
		proxy.ptab = NULL;
	}
	proxy.cfg.mode = MODE_ENFORCE;
	proxy.cfg.require_tls = 0;
}

/* ---- pipelined batches and drain -------------------------------------- */

static int batch_codes[12], batch_n;
static atomic_int want_drain, drained;

/* batch_client - two transactions, the second pipelined behind the first's
 * end of data, with a RSET and a NOOP in the batch */
static void
batch_client(struct client *c)
{
	char l[512];

	batch_n = 0;
	if (cl_txn(c, "a@nopolicy.example") < 0)
		return;
	cl_send(c, "Subject: 1\r\n\r\none\r\n.\r\nRSET\r\nNOOP\r\n"
	    "MAIL FROM:<s@old.example>\r\nRCPT TO:<b@nopolicy.example>\r\n"
	    "RCPT TO:<c@nopolicy.example>\r\nDATA\r\n");
	for (int i = 0; i < 7; i++)
		batch_codes[batch_n++] = cl_reply(c, l, sizeof(l));
	cl_send(c, "Subject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n");
	batch_codes[batch_n++] = cl_reply(c, l, sizeof(l));
	batch_codes[batch_n++] = cl_reply(c, l, sizeof(l));
}

/* drain_client - SIGTERM (sess_drain_all) arrives in the middle of a
 * message: it is finished, then 421, then the connection closes */
static void
drain_client(struct client *c)
{
	char l[512];

	batch_n = 0;
	if (cl_txn(c, "a@nopolicy.example") < 0)
		return;
	cl_send(c, "Subject: 1\r\n\r\nfirst half\r\n");
	want_drain = 1;
	for (int i = 0; i < 300 && !drained; i++)
		sleep_ms(10);
	cl_send(c, "second half\r\n.\r\n");
	batch_codes[batch_n++] = cl_reply(c, l, sizeof(l));
	batch_codes[batch_n++] = cl_reply(c, l, sizeof(l));
	batch_codes[batch_n++] = rd_eof(&c->r, 2000);
}

/* idle_drain_client - SIGTERM while the session waits for a command */
static void
idle_drain_client(struct client *c)
{
	char l[512];

	batch_n = 0;
	if (cl_start(c) < 0)
		return;
	want_drain = 1;
	batch_codes[batch_n++] = cl_reply(c, l, sizeof(l));
	batch_codes[batch_n++] = rd_eof(&c->r, 2000);
}

/* drain_tick - the loop's side of drain_client */
static void
drain_tick(void)
{
	if (want_drain && !drained) {
		sess_drain_all();
		drained = 1;
	}
}

static void
batches_and_drain(void)
{
	static const int want[] = {250, 250, 250, 250, 250, 250, 354, 250, 221};

	mx_start(MX_354, 0, 0);
	run_client(batch_client, NULL);
	mx_stop();
	T_CASE("pipelined: a second transaction behind the end of data, with RSET "
	    "and NOOP: every reply in order, both messages sent",
	    batch_n == 9 && memcmp(batch_codes, want, sizeof(want)) == 0 && mx.msgs == 2
	    && strstr(mx.rcpts, "<c@nopolicy.example>") != NULL,
	    "%d replies: %d %d %d %d %d %d %d %d %d, msgs %d", batch_n, batch_codes[0],
	    batch_codes[1], batch_codes[2], batch_codes[3], batch_codes[4], batch_codes[5],
	    batch_codes[6], batch_codes[7], batch_codes[8], mx.msgs);

	want_drain = drained = 0;
	mx_start(MX_354, 0, 0);
	run_client(drain_client, drain_tick);
	mx_stop();
	T_CASE("drain in the middle of a message: it is sent, then 421 and close",
	    drained && batch_n == 3 && batch_codes[0] == 250 && batch_codes[1] == 421
	    && batch_codes[2] == 1 && mx.msgs == 1, "drained %d, %d %d eof %d, msgs %d",
	    (int) drained, batch_codes[0], batch_codes[1], batch_codes[2], mx.msgs);

	want_drain = drained = 0;
	mx_start(MX_354, 0, 0);
	run_client(idle_drain_client, drain_tick);
	mx_stop();
	T_CASE("drain of an idle session: 421 at once, then close", drained
	    && batch_n == 2 && batch_codes[0] == 421 && batch_codes[1] == 1,
	    "drained %d, %d eof %d", (int) drained, batch_codes[0], batch_codes[1]);
}

/* ---- message_size_limit in the data ------------------------------------- */

static const char *big_rcpt, *big_header;
static int big_final;
static char big_text[512];

/* big_client - one message of 64 KiB to big_rcpt */
static void
big_client(struct client *c)
{
	char l[512], line[80];

	big_final = -1;
	if (cl_txn(c, big_rcpt) < 0)
		return;
	cl_send(c, big_header);
	cl_send(c, "Subject: big\r\n\r\n");
	memset(line, 'x', 78);
	line[78] = 0;
	for (int i = 0; i < 800; i++) {
		cl_send(c, line);
		cl_send(c, "\r\n");
	}
	cl_send(c, ".\r\n");
	big_final = cl_reply(c, big_text, sizeof(big_text));
	cl_send(c, "QUIT\r\n");
	(void) cl_reply(c, l, sizeof(l));
}

/* size_limit - a message over message_size_limit (the old MTA did not
 * say SIZE) gets 552 5.3.4 at its end, live or held, and the MX never
 * sees an end of data */
static void
size_limit(void)
{
	uint64_t keep = proxy.cfg.message_size_limit;

	proxy.cfg.message_size_limit = 10000;
	big_rcpt = "r@nopolicy.example";
	big_header = "";
	mx_start(MX_354, 0, 0);
	run_client(big_client, NULL);
	mx_stop();
	T_CASE("over message_size_limit, live: 552 5.3.4, the MX never sees the end",
	    big_final == 552 && strstr(big_text, "5.3.4") && mx.msgs == 0 && !mx_saw("\n.\n"),
	    "final %d (%s), msgs %d", big_final, big_text, mx.msgs);
	big_rcpt = "r@fail.example";
	big_header = "TLS-Required: No\r\n";
	mx_start(MX_354, 0, 0);
	run_client(big_client, NULL);
	mx_stop();
	T_CASE("over message_size_limit, held (TLS-Required: No): 552 5.3.4, nothing sent",
	    big_final == 552 && mx.msgs == 0 && !mx_saw("MAIL FROM"),
	    "final %d (%s), msgs %d", big_final, big_text, mx.msgs);
	proxy.cfg.message_size_limit = keep;
}

/* ---- the hold and its replay ------------------------------------------ */

static const char *held_rcpts[4];	/* the recipients, NULL-ended */
static const char *held_header;		/* "TLS-Required: No\r\n", or "" */
static int held_rcpt_codes[4], held_final;
static char held_text[512];

/* held_client - a transaction to fail.example (its DANE lookups fail, so
 * its recipients are held), the message with or without the header */
static void
held_client(struct client *c)
{
	char l[512], cmds[1024], body[512];
	size_t n;
	int i;

	held_final = -1;
	for (i = 0; i < 4; i++)
		held_rcpt_codes[i] = -1;
	if (cl_start(c) < 0)
		return;
	n = (size_t) snprintf(cmds, sizeof(cmds), "MAIL FROM:<s@old.example>\r\n");
	for (i = 0; held_rcpts[i]; i++)
		n += (size_t) snprintf(cmds + n, sizeof(cmds) - n, "RCPT TO:<%s>\r\n",
		    held_rcpts[i]);
	snprintf(cmds + n, sizeof(cmds) - n, "DATA\r\n");
	cl_send(c, cmds);
	if (cl_reply(c, l, sizeof(l)) != 250)
		return;
	for (i = 0; held_rcpts[i]; i++)
		held_rcpt_codes[i] = cl_reply(c, l, sizeof(l));
	if (cl_reply(c, l, sizeof(l)) != 354)
		return;
	snprintf(body, sizeof(body), "%sSubject: held\r\n\r\nheld body\r\n.\r\n",
	    held_header);
	cl_send(c, body);
	held_final = cl_reply(c, held_text, sizeof(held_text));
	cl_send(c, "QUIT\r\n");
	(void) cl_reply(c, l, sizeof(l));
}

/* held_case - one held transaction against an MX with these manners */
static void
held_case(const char *name, struct mx_manners m, const char *header,
    int want_final, const char *want_text, int want_msgs, const char *mx_must,
    const char *mx_never)
{
	int rcpts_ok = 1;

	held_header = header;
	mx_next = m;
	mx_start(MX_354, 0, 0);
	run_client(held_client, NULL);
	mx_stop();
	for (int i = 0; held_rcpts[i]; i++)
		rcpts_ok &= held_rcpt_codes[i] == 250;
	T_CASE(name, rcpts_ok && held_final == want_final
	    && (want_text == NULL || strstr(held_text, want_text) != NULL)
	    && mx.msgs == want_msgs && (mx_must == NULL || mx_saw(mx_must))
	    && (mx_never == NULL || !mx_saw(mx_never)),
	    "rcpt replies %d %d, final %d (%s), msgs %d, mx saw %s: %d, %s: %d",
	    held_rcpt_codes[0], held_rcpt_codes[1], held_final, held_text, mx.msgs,
	    mx_must ? mx_must : "-", mx_must ? mx_saw(mx_must) : 0,
	    mx_never ? mx_never : "-", mx_never ? mx_saw(mx_never) : 0);
}

/* hold_replay - the held message goes through the same transfer as a live
 * one: each step's refusal, protocol error and lost MX ends it with the
 * right reply, and the old MTA hears only the outcome */
static void
hold_replay(void)
{
	static const struct mx_manners plain;
	struct mx_manners m;
	const char *no = "TLS-Required: No\r\n";

	held_rcpts[0] = "a@fail.example";
	held_rcpts[1] = "b@fail.example";
	held_rcpts[2] = NULL;
	held_case("held, TLS-Required: No: delivered to every held recipient, with "
	    "the policy waived", plain, no, 250, NULL, 1, "b@fail.example", NULL);
	held_case("held, no TLS-Required header: the policy's 451, the MX never "
	    "hears of it", plain, "", 451, "4.7.5", 0, NULL, "MAIL FROM");
	m = plain;
	m.rcpt_refuse = "b@";
	held_case("held: the MX refuses one recipient: 451 for the message, all or "
	    "nothing, DATA never sent", m, no, 451, "a recipient was refused", 0,
	    "a@fail.example", "DATA");
	m.rcpt_refuse = "@fail";
	held_case("held: the MX refuses every recipient: its refusal", m, no, 550,
	    "5.1.1", 0, NULL, "DATA");
	m = plain;
	m.mail = "451 4.3.0 sender later\r\n";
	held_case("held: the MX refuses MAIL: its reply, no RCPT sent", m, no, 451,
	    "sender later", 0, NULL, "RCPT TO");
	m = plain;
	m.data = "554 5.7.1 no data today\r\n";
	held_case("held: the MX refuses DATA: its reply", m, no, 554, "no data today",
	    0, "RCPT TO", "held body");
	m = plain;
	m.dot = "452 4.3.1 full\r\n";
	held_case("held: the MX refuses the message at its end: its reply", m, no, 452,
	    "full", 0, "held body", NULL);
	m = plain;
	m.data = "250 2.0.0 sure\r\n";
	held_case("held: 250 to DATA is a protocol error: 451 4.5.0, nothing sent", m,
	    no, 451, "4.5.0", 0, NULL, "held body");
	m = plain;
	m.greeting = "421 4.3.2 busy\r\n";
	held_case("held: the only MX turns the replay away: the old MTA hears that "
	    "failure", m, no, 451, "busy", 0, NULL, NULL);
	held_rcpts[0] = "a@twomx.example";
	held_rcpts[1] = NULL;
	held_case("held: MX 10 turns the replay away, MX 20 refuses connections: the "
	    "last failure", m, no, 451, "127.0.0.2", 0, NULL, NULL);
}

/* ---- early upstream: the DNS watcher's hint (issue 12) ---------------- */

static const char *early_rcpt;		/* the RCPT's address */
static int early_before;		/* the MX saw EHLO before the RCPT was sent */
static int early_codes[3];		/* RCPT, DATA, end of data */
static int early_quit_first;		/* QUIT right after EHLO */

/* early_client - EHLO, wait (at most 2 s) for the MX to see the early
 * upstream's EHLO, then MAIL, RCPT, DATA, a message */
static void
early_client(struct client *c)
{
	char l[512], cmd[256];

	early_before = 0;
	early_codes[0] = early_codes[1] = early_codes[2] = -1;
	if (cl_start(c) < 0)
		return;
	for (int i = 0; i < 200 && !mx_saw("EHLO"); i++)
		sleep_ms(10);
	early_before = mx_saw("EHLO") && !mx_saw("RCPT");
	if (early_quit_first) {
		cl_send(c, "QUIT\r\n");
		(void) cl_reply(c, l, sizeof(l));
		return;
	}
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<s@old.example>\r\nRCPT TO:<%s>\r\n", early_rcpt);
	cl_send(c, cmd);
	if (cl_reply(c, l, sizeof(l)) != 250)
		return;
	if ((early_codes[0] = cl_reply(c, got_text, sizeof(got_text))) != 250)
		return;
	cl_send(c, "DATA\r\n");
	if ((early_codes[1] = cl_reply(c, l, sizeof(l))) != 354)
		return;
	cl_send(c, "Subject: early\r\n\r\nhello\r\n.\r\n");
	early_codes[2] = cl_reply(c, l, sizeof(l));
	cl_send(c, "QUIT\r\n");
	(void) cl_reply(c, l, sizeof(l));
}

/* early_run - one session with these hints and this RCPT; counts */
static void
early_run(const char *h1, const char *h2, const char *rcpt, int *resolves, int *records)
{
	int r0 = nresolves, j0 = journal_count("\"result-type\"");

	fake_hints[0] = h1;
	fake_hints[1] = h2;
	fake_nhints = h1 ? (h2 ? 2 : 1) : 0;
	early_rcpt = rcpt;
	run_client(early_client, NULL);
	fake_nhints = 0;
	*resolves = nresolves - r0;
	*records = journal_count("\"result-type\"") - j0;
}

static void
early(void)
{
	int res, rec;

	mx_start(MX_354, 0, 0);
	early_run("early.example", NULL, "r@early.example", &res, &rec);
	mx_stop();
	T_CASE("early, hint right: the MX sees EHLO before the old MTA's RCPT is sent",
	    early_before, "the MX saw no EHLO within 2 s of the old MTA's EHLO");
	T_CASE("early, hint right: one lookup, one connection, delivered, one record",
	    res == 1 && mx.accepted == 1 && mx.msgs == 1 && early_codes[2] == 250 && rec == 1,
	    "resolves %d, connections %d, messages %d, replies %d %d %d, records %d", res,
	    mx.accepted, mx.msgs, early_codes[0], early_codes[1], early_codes[2], rec);
	T_CASE("early: the watcher is asked with the MTA's address and the destination",
	    hint_mta.ss_family == AF_INET && ((struct sockaddr_in *) &hint_mta)->sin_addr.s_addr
	    == htonl(0xc0000201) && ((struct sockaddr_in *) &hint_dest)->sin_port == htons(mx.port),
	    "family %d", hint_mta.ss_family);

	mx_start(MX_354, 0, 0);
	early_run("early.example", NULL, "r@other.example", &res, &rec);
	mx_stop();
	T_CASE("early, hint wrong: the early upstream is closed, a new one delivers",
	    res == 2 && mx.accepted == 2 && mx.msgs == 1 && strstr(mx.rcpts, "other.example")
	    && !strstr(mx.rcpts, "early.example") && early_codes[2] == 250 && rec == 1,
	    "resolves %d, connections %d, messages %d, rcpts %s, final %d, records %d", res,
	    mx.accepted, mx.msgs, mx.rcpts, early_codes[2], rec);

	mx_start(MX_354, 0, 0);
	early_run("other.example", "early.example", "r@early.example", &res, &rec);
	mx_stop();
	T_CASE("early, ambiguous hint, the most recent one wrong: still delivered once",
	    res == 2 && mx.msgs == 1 && early_codes[2] == 250 && rec == 1,
	    "resolves %d, messages %d, final %d, records %d", res, mx.msgs, early_codes[2], rec);

	mx_next.greeting = "421 4.3.2 busy\r\n";
	mx_start(MX_354, 0, 0);
	early_run("early.example", NULL, "r@early.example", &res, &rec);
	mx_stop();
	T_CASE("early upstream fails before RCPT: the RCPT tries again, its failure is "
	    "the reply and the one record", mx.accepted == 2 && early_codes[0] / 100 == 4
	    && rec == 1 && res == 1, "connections %d, RCPT %d (%s), records %d, resolves %d",
	    mx.accepted, early_codes[0], got_text, rec, res);

	mx_start(MX_354, 0, 0);
	early_run("fail.example", NULL, "r@fail.example", &res, &rec);
	mx_stop();
	T_CASE("early, hinted domain's policy fails: no early connection, the RCPT refuses",
	    mx.accepted == 0 && early_codes[0] / 100 == 4 && res == 1 && rec == 1,
	    "connections %d, RCPT %d (%s), resolves %d, records %d", mx.accepted,
	    early_codes[0], got_text, res, rec);

	early_quit_first = 1;
	mx_start(MX_354, 0, 0);
	early_run("early.example", NULL, "r@early.example", &res, &rec);
	mx_stop();
	early_quit_first = 0;
	T_CASE("early, QUIT before any RCPT: the early upstream gets QUIT, nothing journaled",
	    mx_saw("QUIT") && mx.msgs == 0 && rec == 0, "MX saw QUIT %d, records %d",
	    mx_saw("QUIT"), rec);

	mx_start(MX_354, 0, 0);
	early_run(NULL, NULL, "r@early.example", &res, &rec);
	mx_stop();
	T_CASE("no hint: the MX sees nothing before RCPT (control)", !early_before
	    && mx.msgs == 1 && res == 1, "early %d, messages %d, resolves %d", early_before,
	    mx.msgs, res);
}

/* ---- the upstream connection cache (upcache.c) ------------------------ */

static const char *cc_helo = "old.example";
static int cc_codes[8], cc_n;

/* cc_client - EHLO cc_helo, one message to a@nopolicy.example, QUIT:
 * the replies to MAIL, RCPT, DATA, the dot and QUIT */
static void
cc_client(struct client *c)
{
	char l[512], cmd[300];

	cc_n = 0;
	if (cl_reply(c, l, sizeof(l)) != 220)
		return;
	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", cc_helo);
	cl_send(c, cmd);
	if (cl_reply(c, l, sizeof(l)) != 250)
		return;
	cl_send(c, "MAIL FROM:<s@old.example>\r\nRCPT TO:<a@nopolicy.example>\r\nDATA\r\n");
	for (int i = 0; i < 3; i++)
		cc_codes[cc_n++] = cl_reply(c, l, sizeof(l));
	cl_send(c, "Subject: cc\r\n\r\nbody\r\n.\r\nQUIT\r\n");
	cc_codes[cc_n++] = cl_reply(c, l, sizeof(l));
	cc_codes[cc_n++] = cl_reply(c, l, sizeof(l));
}

/* cc_ok - the last cc_client session went through: 250 250 354 250 221 */
static int
cc_ok(void)
{
	return cc_n == 5 && cc_codes[0] == 250 && cc_codes[1] == 250 && cc_codes[2] == 354
	    && cc_codes[3] == 250 && cc_codes[4] == 221;
}

/* cc_spin - run the loop for ms, the peers in their threads */
static void
cc_spin(int ms)
{
	double until = now_ms() + ms;

	while (now_ms() < until) {
		ev_run(proxy.loop, EVRUN_NOWAIT);
		sleep_ms(5);
	}
}

/* cc_begin - a fresh MX with manners m, the cache on with these limits,
 * the counters zero */
static void
cc_begin(struct mx_manners m, long secs, long size, long per_dest)
{
	memset(&metrics, 0, sizeof(metrics));
	m.concurrent = 1;
	mx_next = m;
	mx_start(MX_354, 0, 0);
	proxy.cfg.upstream_cache_time = secs;
	upc_conf(proxy.loop, secs, size, per_dest);
	cc_helo = "old.example";
}

/* cc_end - the cache off and empty, the MX gone */
static void
cc_end(void)
{
	upc_conf(proxy.loop, 0, 1, 1);
	cc_spin(50);
	mx_stop();
}

static void
conn_cache(void)
{
	struct mx_manners none = {0};
	int recs, hit1, miss1, idle1;

	/* two sessions in a row: one MX connection, RSET before the second */
	cc_begin(none, 5, 64, 4);
	recs = journal_count("\"delivered\"");
	run_client(cc_client, NULL);
	idle1 = (int) upc_idle();
	run_client(cc_client, NULL);
	T_CASE("cache: two sessions in a row use one MX connection, RSET first, "
	    "both delivered, one attempt journaled", cc_ok() && mx.accepted == 1
	    && mx.msgs == 2 && mx.rsets == 1 && idle1 == 1 && upc_idle() == 1
	    && metrics.upc_hits == 1 && metrics.upc_misses == 1
	    && journal_count("\"delivered\"") == recs + 1, "ok %d accepted %d msgs %d "
	    "rsets %d idle %d/%ld hits %llu misses %llu records %d", cc_ok(),
	    (int) mx.accepted, mx.msgs, (int) mx.rsets, idle1, upc_idle(), metrics.upc_hits,
	    metrics.upc_misses, journal_count("\"delivered\"") - recs);
	upc_flush(METRICS_UPC_DRAIN);
	cc_spin(100);
	T_CASE("cache: a flush says QUIT to the idle connection", upc_idle() == 0
	    && metrics.upc_dropped[METRICS_UPC_DRAIN] == 1 && mx_saw("QUIT"),
	    "idle %ld drain %llu", upc_idle(), metrics.upc_dropped[METRICS_UPC_DRAIN]);
	cc_end();

	/* the MX hangs up on the idle connection: dropped, the next connects */
	cc_begin((struct mx_manners) { .idle_close_ms = 200 }, 5, 64, 4);
	run_client(cc_client, NULL);
	idle1 = (int) upc_idle();
	cc_spin(500);
	hit1 = (int) upc_idle();
	run_client(cc_client, NULL);
	T_CASE("cache: the MX closes the idle connection: dropped, the next session "
	    "connects afresh and delivers", idle1 == 1 && hit1 == 0 && cc_ok()
	    && mx.accepted == 2 && mx.msgs == 2 && mx.rsets == 0
	    && metrics.upc_dropped[METRICS_UPC_CLOSED] == 1 && metrics.upc_hits == 0,
	    "idle %d then %d, ok %d accepted %d msgs %d rsets %d closed %llu", idle1, hit1,
	    cc_ok(), (int) mx.accepted, mx.msgs, (int) mx.rsets,
	    metrics.upc_dropped[METRICS_UPC_CLOSED]);
	cc_end();

	/* the MX says 421 on the idle connection: dropped (data) and closed */
	cc_begin((struct mx_manners) { .idle_close_ms = 200, .idle_421 = 1 }, 5, 64, 4);
	run_client(cc_client, NULL);
	idle1 = (int) upc_idle();
	cc_spin(500);
	hit1 = (int) upc_idle();
	run_client(cc_client, NULL);
	T_CASE("cache: a 421 on the idle connection drops it; the next session connects "
	    "afresh and delivers", idle1 == 1 && hit1 == 0 && cc_ok() && mx.accepted == 2
	    && mx.msgs == 2 && mx.rsets == 0 && metrics.upc_dropped[METRICS_UPC_DATA] == 1,
	    "idle %d then %d, ok %d accepted %d msgs %d data %llu", idle1, hit1, cc_ok(),
	    (int) mx.accepted, mx.msgs, metrics.upc_dropped[METRICS_UPC_DATA]);
	cc_end();

	/* RSET refused, the connection dead at RSET, or silent (the probe's
	 * deadline, here upstream_timeout 1s): a new one, unseen */
	for (int dead = 0; dead < 3; dead++) {
		static const char *const names[] = {
			"cache: RSET refused: a new connection, the old MTA sees success",
			"cache: the connection dies at RSET: a new one, the old MTA sees success",
			"cache: no reply to RSET within its deadline: a new connection, the old "
			    "MTA sees success",
		};

		cc_begin((struct mx_manners) { .rset = dead == 2 ? "silent" : dead ? "close"
		    : "554 5.5.1 no RSET today\r\n" }, 5, 64, 4);
		proxy.cfg.upstream_timeout = dead == 2 ? 1 : 300;
		run_client(cc_client, NULL);
		recs = journal_count("\"delivered\"");
		run_client(cc_client, NULL);
		proxy.cfg.upstream_timeout = 300;
		T_CASE(names[dead], cc_ok() && mx.accepted == 2 && mx.msgs == 2 && mx.rsets == 1
		    && metrics.upc_dropped[dead ? METRICS_UPC_DEAD : METRICS_UPC_RSET] == 1
		    && metrics.upc_hits == 0 && metrics.upc_misses == 2
		    && journal_count("\"delivered\"") == recs + 1, "ok %d (%d %d %d %d %d) "
		    "accepted %d msgs %d rsets %d dropped %llu hits %llu misses %llu",
		    cc_ok(), cc_codes[0], cc_codes[1], cc_codes[2], cc_codes[3], cc_codes[4],
		    (int) mx.accepted, mx.msgs, (int) mx.rsets,
		    metrics.upc_dropped[dead ? METRICS_UPC_DEAD : METRICS_UPC_RSET],
		    metrics.upc_hits, metrics.upc_misses);
		cc_end();
	}

	/* another EHLO name: another key, a miss; per_dest 1 evicts the older */
	cc_begin(none, 5, 64, 1);
	run_client(cc_client, NULL);
	cc_helo = "other.example";
	run_client(cc_client, NULL);
	cc_spin(100);
	T_CASE("cache: a session that does not fit (another EHLO name) misses; "
	    "upstream_cache_per_dest 1 keeps the newer", cc_ok() && mx.accepted == 2
	    && mx.msgs == 2 && mx.rsets == 0 && metrics.upc_hits == 0
	    && metrics.upc_misses == 2 && upc_idle() == 1
	    && metrics.upc_dropped[METRICS_UPC_EVICTED] == 1, "ok %d accepted %d msgs %d "
	    "rsets %d hits %llu misses %llu idle %ld evicted %llu", cc_ok(),
	    (int) mx.accepted, mx.msgs, (int) mx.rsets, metrics.upc_hits, metrics.upc_misses,
	    upc_idle(), metrics.upc_dropped[METRICS_UPC_EVICTED]);
	run_client(cc_client, NULL);
	T_CASE("cache: ... and the newer is the one a fitting session takes",
	    cc_ok() && mx.accepted == 2 && metrics.upc_hits == 1 && mx.rsets == 1,
	    "ok %d accepted %d hits %llu", cc_ok(), (int) mx.accepted, metrics.upc_hits);
	cc_end();

	cc_begin(none, 5, 1, 4);
	run_client(cc_client, NULL);
	cc_helo = "other.example";
	run_client(cc_client, NULL);
	T_CASE("cache: upstream_cache_size 1 holds one", upc_idle() == 1
	    && metrics.upc_dropped[METRICS_UPC_EVICTED] == 1 && mx.accepted == 2,
	    "idle %ld evicted %llu accepted %d", upc_idle(),
	    metrics.upc_dropped[METRICS_UPC_EVICTED], (int) mx.accepted);
	cc_end();

	/* expiry: upstream_cache_time 1s, QUIT, then the next connects */
	cc_begin(none, 1, 64, 4);
	run_client(cc_client, NULL);
	idle1 = (int) upc_idle();
	cc_spin(1400);
	miss1 = (int) upc_idle();
	run_client(cc_client, NULL);
	T_CASE("cache: an idle connection expires after upstream_cache_time (QUIT); "
	    "the next session connects afresh", idle1 == 1 && miss1 == 0 && mx_saw("QUIT")
	    && metrics.upc_dropped[METRICS_UPC_EXPIRED] == 1 && cc_ok() && mx.accepted == 2
	    && mx.msgs == 2, "idle %d then %d, expired %llu ok %d accepted %d", idle1, miss1,
	    metrics.upc_dropped[METRICS_UPC_EXPIRED], cc_ok(), (int) mx.accepted);
	cc_end();

	/* upstream_cache_time 0: off */
	cc_begin(none, 0, 64, 4);
	run_client(cc_client, NULL);
	run_client(cc_client, NULL);
	T_CASE("cache: upstream_cache_time 0: nothing kept, every session connects",
	    cc_ok() && mx.accepted == 2 && upc_idle() == 0 && metrics.upc_misses == 0
	    && mx.rsets == 0, "accepted %d idle %ld", (int) mx.accepted, upc_idle());
	cc_end();
	memset(&metrics, 0, sizeof(metrics));
}

/* conn_cache_keys - the key rule: another TLSA record set, source, level,
 * policy id or table generation is another key */
static void
conn_cache_keys(void)
{
	struct up_params p = {0}, q;
	struct upc_key a, b;
	struct sockaddr_in *sa = (struct sockaddr_in *) &p.addr;

	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(0xc0000219);
	sa->sin_port = htons(25);
	p.addrlen = sizeof(*sa);
	p.helo = "old.example";
	p.level = ROUTE_DANE;
	p.sts_id = NULL;
	upc_key_make(&a, &p, "3 1 1 aa", 0);
	upc_key_make(&b, &p, "3 1 1 aa", 0);
	T_CASE("cache key: the same parameters, the same key", upc_key_eq(&a, &b), "differ");
	upc_key_make(&b, &p, "3 1 1 bb", 0);
	T_CASE("cache key: other TLSA records: another key", !upc_key_eq(&a, &b), "equal");
	q = p;
	((struct sockaddr_in *) &q.src)->sin_family = AF_INET;
	((struct sockaddr_in *) &q.src)->sin_addr.s_addr = htonl(0xc0000201);
	q.srclen = sizeof(struct sockaddr_in);
	upc_key_make(&b, &q, "3 1 1 aa", 0);
	T_CASE("cache key: another source address (upstream_source = client): another "
	    "key", !upc_key_eq(&a, &b), "equal");
	q = p;
	q.level = ROUTE_MAY;
	upc_key_make(&b, &q, "3 1 1 aa", 0);
	T_CASE("cache key: another TLS level: another key", !upc_key_eq(&a, &b), "equal");
	q = p;
	q.sts_id = "20260101";
	upc_key_make(&b, &q, "3 1 1 aa", 0);
	T_CASE("cache key: another MTA-STS policy id: another key", !upc_key_eq(&a, &b),
	    "equal");
	q = p;
	((struct sockaddr_in *) &q.addr)->sin_port = htons(26);
	upc_key_make(&b, &q, "3 1 1 aa", 0);
	T_CASE("cache key: another port: another key", !upc_key_eq(&a, &b), "equal");
}

int
main(void)
{
	char err[512], dir[] = "/tmp/test_sess.XXXXXX";

	T_INIT("sess");
	signal(SIGPIPE, SIG_IGN);
	log_init("test_sess", getenv("TEST_SESS_LOG") != NULL, 1);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(jdir, sizeof(jdir), "%s", dir);
	cfg_defaults(&proxy.cfg);
	static const char conf[] = "dns_resolver = forward:127.0.0.1\n"
	    "myhostname = proxy.test\nclient_timeout = 5s\n";

	if (cfg_parse(&proxy.cfg, "test", conf, sizeof(conf) - 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "config: %s\n", err);
		return 2;
	}
	snprintf(proxy.hostname, sizeof(proxy.hostname), "proxy.test");
	proxy.fsmc.hostname = proxy.hostname;
	proxy.fsmc.offer_starttls = 0;
	proxy.loop = EV_DEFAULT;
	if ((proxy.client_ctx = tls_client_ctx("", err, sizeof(err))) == NULL) {
		fprintf(stderr, "tls: %s\n", err);
		return 2;
	}
	if ((proxy.journal = journal_open(dir, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "journal: %s\n", err);
		return 2;
	}
	conn_init_loop(proxy.loop);
	reap_init(proxy.loop);

	smuggling();
	envelope_controls();
	odd_data_replies();
	reply_queue();
	deadlines();
	mixed_domains();
	reload_ctx();
	hold_replay();
	mx_steps();
	modes();
	batches_and_drain();
	size_limit();
	early();
	conn_cache_keys();
	conn_cache();
	record_ids();

	journal_close(proxy.journal);
	SSL_CTX_free(proxy.client_ctx);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
