/*
 * sessload.c - old-MTA sessions for tests/bench/watch: per session the
 * MTA's own lookups (MX of the domain, then A of its MX host, over UDP,
 * so that a DNS watcher sees the answers), then one plain SMTP session to
 * the address found, on port 25: banner, EHLO, MAIL, RCPT, DATA, a
 * message, QUIT, one command at a time.
 *
 * SYNOPSIS
 *	sessload -r DNS_SERVER -d DOMAIN -n SESSIONS -c CONCURRENCY
 *	    [-z MSGSIZE] [-p PAUSE_MS] [-T TIMEOUT]
 *	sessload -a ADDR:PORT -d DOMAIN -n SESSIONS -c CONCURRENCY ...
 *
 * DESCRIPTION
 *	CONCURRENCY threads run SESSIONS sessions between them, each one
 *	after the other.  The MX answer's first exchange is looked up (A) and
 *	its first address connected to, port 25 (the lab's nat OUTPUT
 *	REDIRECT hands it to mxtlsd).  With -p every command (EHLO, MAIL,
 *	RCPT, DATA, QUIT; not the message) waits PAUSE_MS first: an old MTA
 *	on a slow box.  Timed per session: the RCPT wait (RCPT written to
 *	its reply read) and the whole session (the MX query sent to the
 *	reply to QUIT read; the lookups are part of it), and the lookups
 *	alone.  Every reply is checked (220, 250, 250, 250, 354, 250, 221); a
 *	session with another reply, a lookup without the answer or a broken
 *	connection is failed, the first ones described on stderr.  Prints:
 *	    sessions=N ok=N failed=N pause_ms=P rcpt_p50_ms=… rcpt_p99_ms=…
 *	    session_p50_ms=… session_p99_ms=… dns_p50_ms=… dns_p99_ms=…
 *	    seconds=…
 *	(the percentiles over the sessions that succeeded).
 *
 *	With -a (tests/bench/fast) there are no lookups: every session
 *	connects to the IPv4 ADDR:PORT given (dns_*_ms are 0).
 *
 * DIAGNOSTICS
 *	Exit status 0 when every session succeeded, 1 when some failed, 2 for
 *	bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bclock.h"

#define REPORTS_MAX	10
#define DNS_TIMEOUT_MS	2000
#define LINE_LEN	76

static struct in_addr dns_server;
static struct in_addr fixed_addr;	/* -a: no lookups, this address */
static unsigned short fixed_port;	/* and this port (0: no -a) */
static const char *domain;
static long sessions, msgsize = 4096, pause_ms, timeout = 30;
static char *body;			/* the message, CR LF lines, ending "." */
static size_t body_len;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long next_sess, nfailed, reports;
static double *t_rcpt, *t_sess, *t_dns;
static long nok;

static void
report(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&mu);
	if (reports++ < REPORTS_MAX) {
		va_start(ap, fmt);
		fprintf(stderr, "sessload: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
		va_end(ap);
	}
	pthread_mutex_unlock(&mu);
}

static void
pause_cmd(void)
{
	if (pause_ms > 0) {
		struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

/* ---- DNS */

/* skipname - past the name at r[o]; -1 when malformed */
static long
skipname(const uint8_t *r, long n, long o)
{
	while (o < n) {
		if ((r[o] & 0xc0) == 0xc0)
			return o + 2 <= n ? o + 2 : -1;
		if (r[o] == 0)
			return o + 1;
		o += r[o] + 1;
	}
	return -1;
}

/* readname - the name at r[o] as text into out (pointers followed) */
static int
readname(const uint8_t *r, long n, long o, char *out, size_t cap)
{
	size_t t = 0;
	int hops = 0;

	while (o < n) {
		if ((r[o] & 0xc0) == 0xc0) {
			if (o + 1 >= n || ++hops > 16)
				return -1;
			o = ((r[o] & 0x3f) << 8) | r[o + 1];
			continue;
		}
		if (r[o] == 0) {
			if (t == 0)
				return -1;	/* the root: a null MX */
			out[t - 1] = '\0';
			return 0;
		}
		if (o + 1 + r[o] > n || t + r[o] + 1 >= cap)
			return -1;
		memcpy(out + t, r + o + 1, r[o]);
		t += r[o];
		out[t++] = '.';
		o += r[o] + 1;
	}
	return -1;
}

/*
 * lookup - ask name/type of the DNS server over UDP; the first answer
 * record of that type: for MX its exchange into out, for A its address
 * into *a.  0, or -1 with why.
 */
static int
lookup(int fd, const char *name, unsigned type, char *out, size_t cap, struct in_addr *a,
    char *why, size_t wl)
{
	uint8_t q[300], r[4096];
	uint16_t id;
	size_t ql = 12;
	const char *s = name, *dot;
	double t0 = now();
	long n, o;
	int an;

	if (getentropy(&id, sizeof(id)) < 0)
		id = (uint16_t) rand();
	memset(q, 0, 12);
	q[0] = (uint8_t) (id >> 8);
	q[1] = (uint8_t) id;
	q[2] = 0x01;
	q[5] = 1;
	while (*s) {
		size_t l = (dot = strchr(s, '.')) ? (size_t) (dot - s) : strlen(s);

		q[ql++] = (uint8_t) l;
		memcpy(q + ql, s, l);
		ql += l;
		s += l + (dot != NULL);
	}
	q[ql++] = 0;
	q[ql++] = 0;
	q[ql++] = (uint8_t) type;
	q[ql++] = 0;
	q[ql++] = 1;
	if (send(fd, q, ql, 0) != (ssize_t) ql) {
		snprintf(why, wl, "DNS send: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = DNS_TIMEOUT_MS - (int) ((now() - t0) * 1000);

		if (left <= 0 || poll(&p, 1, left) <= 0) {
			snprintf(why, wl, "no DNS answer for %s in %d ms", name, DNS_TIMEOUT_MS);
			return -1;
		}
		if ((n = recv(fd, r, sizeof(r), 0)) < 0) {
			snprintf(why, wl, "DNS recv: %s", strerror(errno));
			return -1;
		}
		if (n >= 12 && r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80))
			break;
	}
	if ((r[3] & 0x0f) != 0 || (an = r[6] << 8 | r[7]) == 0) {
		snprintf(why, wl, "DNS %s type %u: rcode %d, %d answers", name, type, r[3] & 0x0f,
		    r[6] << 8 | r[7]);
		return -1;
	}
	if ((o = skipname(r, n, 12)) < 0 || (o += 4) > n)
		goto bad;
	while (an-- > 0) {
		unsigned t, rdl;

		if ((o = skipname(r, n, o)) < 0 || o + 10 > n)
			goto bad;
		t = (unsigned) (r[o] << 8 | r[o + 1]);
		rdl = (unsigned) (r[o + 8] << 8 | r[o + 9]);
		o += 10;
		if (o + (long) rdl > n)
			goto bad;
		if (t == type && type == 15 && rdl > 2)
			return readname(r, n, o + 2, out, cap) < 0 ? (snprintf(why, wl,
			    "bad MX name"), -1) : 0;
		if (t == type && type == 1 && rdl == 4) {
			memcpy(a, r + o, 4);
			return 0;
		}
		o += rdl;
	}
	snprintf(why, wl, "DNS %s: no record of type %u", name, type);
	return -1;
bad:
	snprintf(why, wl, "DNS %s: malformed answer", name);
	return -1;
}

/* ---- SMTP */

struct conn {
	int fd;
	char in[8192];
	size_t n;
};

/* reply - read one whole reply; its code, or -1 */
static int
reply(struct conn *c, char *why, size_t wl)
{
	for (;;) {
		char *line = c->in, *e;

		/* a complete last line: "NNN " ... CR LF */
		while ((e = memchr(line, '\n', c->n - (size_t) (line - c->in))) != NULL) {
			if (e - line >= 4 && line[3] == ' ') {
				int code = atoi(line);
				size_t used = (size_t) (e + 1 - c->in);

				memmove(c->in, e + 1, c->n - used);
				c->n -= used;
				return code;
			}
			line = e + 1;
		}
		if (c->n == sizeof(c->in)) {
			snprintf(why, wl, "reply over %zu octets", sizeof(c->in));
			return -1;
		}
		ssize_t r = recv(c->fd, c->in + c->n, sizeof(c->in) - c->n, 0);

		if (r <= 0) {
			snprintf(why, wl, r == 0 ? "connection closed" : "recv: %s", strerror(errno));
			return -1;
		}
		c->n += (size_t) r;
	}
}

static int
say(struct conn *c, const char *s, size_t len, char *why, size_t wl)
{
	while (len > 0) {
		ssize_t w = send(c->fd, s, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, wl, "send: %s", strerror(errno));
			return -1;
		}
		s += w;
		len -= (size_t) w;
	}
	return 0;
}

/* cmd - pause, send line, read the reply; its code == want, else -1 */
static int
cmd(struct conn *c, const char *line, int want, double *wait, char *why, size_t wl)
{
	double t0;
	int code;

	pause_cmd();
	t0 = now();
	if (say(c, line, strlen(line), why, wl) < 0 || (code = reply(c, why, wl)) < 0)
		return -1;
	if (wait)
		*wait = now() - t0;
	if (code != want) {
		snprintf(why, wl, "%.*s: %d, not %d", (int) strcspn(line, "\r"), line, code, want);
		return -1;
	}
	return 0;
}

/* session - one session; 0 with its times, or -1 with why */
static int
session(long k, int dfd, double *rcpt, double *whole, double *dns, char *why, size_t wl)
{
	char mx[256], line[512];
	struct in_addr a;
	struct sockaddr_in sin;
	struct timeval tv = {timeout, 0};
	struct conn c = {.fd = -1};
	double t0 = now();
	int rc = -1, one = 1;

	if (fixed_port != 0)
		a = fixed_addr;
	else if (lookup(dfd, domain, 15, mx, sizeof(mx), NULL, why, wl) < 0
	    || lookup(dfd, mx, 1, NULL, 0, &a, why, wl) < 0)
		return -1;
	*dns = now() - t0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(fixed_port != 0 ? fixed_port : 25);
	sin.sin_addr = a;
	if ((c.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		snprintf(why, wl, "socket: %s", strerror(errno));
		return -1;
	}
	(void) setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void) setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void) setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c.fd, (struct sockaddr *) &sin, sizeof(sin)) < 0) {
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);
		int e = errno;

		memset(&me, 0, sizeof(me));
		(void) getsockname(c.fd, (struct sockaddr *) &me, &ml);
		snprintf(why, wl, "connect %s:%u from port %u: %s", inet_ntoa(a),
		    ntohs(sin.sin_port), ntohs(me.sin_port), strerror(e));
		goto out;
	}
	if ((rc = reply(&c, why, wl)) != 220) {
		if (rc >= 0)
			snprintf(why, wl, "banner %d", rc);
		rc = -1;
		goto out;
	}
	rc = -1;
	if (cmd(&c, "EHLO mta.lab.example\r\n", 250, NULL, why, wl) < 0
	    || cmd(&c, "MAIL FROM:<bench@mta.lab.example>\r\n", 250, NULL, why, wl) < 0)
		goto out;
	snprintf(line, sizeof(line), "RCPT TO:<w%ld@%s>\r\n", k, domain);
	if (cmd(&c, line, 250, rcpt, why, wl) < 0
	    || cmd(&c, "DATA\r\n", 354, NULL, why, wl) < 0
	    || say(&c, body, body_len, why, wl) < 0)
		goto out;
	if ((rc = reply(&c, why, wl)) != 250) {
		if (rc >= 0)
			snprintf(why, wl, "end of data: %d", rc);
		rc = -1;
		goto out;
	}
	rc = cmd(&c, "QUIT\r\n", 221, NULL, why, wl);
	*whole = now() - t0;
out:
	close(c.fd);
	return rc;
}

static void *
worker(void *arg)
{
	struct sockaddr_in sin;
	char why[256];
	int dfd = -1;

	(void) arg;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	sin.sin_addr = dns_server;
	if (fixed_port == 0 && ((dfd = socket(AF_INET, SOCK_DGRAM, 0)) < 0
	    || connect(dfd, (struct sockaddr *) &sin, sizeof(sin)) < 0)) {
		perror("sessload: DNS socket");
		exit(2);
	}
	for (;;) {
		double r = 0, w = 0, d = 0;
		long k;

		pthread_mutex_lock(&mu);
		k = next_sess < sessions ? next_sess++ : -1;
		pthread_mutex_unlock(&mu);
		if (k < 0)
			break;
		if (session(k, dfd, &r, &w, &d, why, sizeof(why)) < 0) {
			report("session %ld: %s", k, why);
			pthread_mutex_lock(&mu);
			nfailed++;
			pthread_mutex_unlock(&mu);
			continue;
		}
		pthread_mutex_lock(&mu);
		t_rcpt[nok] = r * 1e3;
		t_sess[nok] = w * 1e3;
		t_dns[nok] = d * 1e3;
		nok++;
		pthread_mutex_unlock(&mu);
	}
	if (dfd >= 0)
		close(dfd);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* pct - the p-th percentile of v[0..n), sorted here */
static double
pct(double *v, long n, int p)
{
	qsort(v, (size_t) n, sizeof(*v), cmp);
	return n ? v[(n - 1) * p / 100] : 0;
}

/* make_body - headers and MSGSIZE octets of text, dot-stuffed, ending "." */
static void
make_body(void)
{
	size_t cap = (size_t) msgsize * 2 + 1024, n = 0;
	long done = 0;

	if ((body = malloc(cap)) == NULL) {
		perror("sessload");
		exit(2);
	}
	n += (size_t) snprintf(body, cap, "From: bench@mta.lab.example\r\n"
	    "Subject: watch bench\r\n\r\n");
	for (int l = 0; done < msgsize; l++) {
		int len = LINE_LEN;

		if (l % 7 == 3) {	/* a line with a dot first, stuffed */
			body[n++] = '.';
			body[n++] = '.';
			len--;
		}
		for (int i = 0; i < len; i++)
			body[n++] = (char) ('a' + (l + i) % 26);
		body[n++] = '\r';
		body[n++] = '\n';
		done += len + 2 + (l % 7 == 3);
	}
	n += (size_t) snprintf(body + n, cap - n, ".\r\n");
	body_len = n;
}

int
main(int argc, char **argv)
{
	long conc = 10;
	pthread_t *th;
	double t0, secs;
	int c;

	while ((c = getopt(argc, argv, "a:r:d:n:c:z:p:T:")) != -1) {
		switch (c) {
		case 'a': {
			char host[64], *colon = strrchr(optarg, ':');
			long port = colon ? atol(colon + 1) : 0;

			if (!colon || (size_t) (colon - optarg) >= sizeof(host) || port < 1
			    || port > 65535)
				goto usage;
			memcpy(host, optarg, (size_t) (colon - optarg));
			host[colon - optarg] = '\0';
			if (inet_pton(AF_INET, host, &fixed_addr) != 1)
				goto usage;
			fixed_port = (unsigned short) port;
			break;
		}
		case 'r':
			if (inet_pton(AF_INET, optarg, &dns_server) != 1)
				goto usage;
			break;
		case 'd':
			domain = optarg;
			break;
		case 'n':
			sessions = atol(optarg);
			break;
		case 'c':
			conc = atol(optarg);
			break;
		case 'z':
			msgsize = atol(optarg);
			break;
		case 'p':
			pause_ms = atol(optarg);
			break;
		case 'T':
			timeout = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (!domain || (dns_server.s_addr == 0 && fixed_port == 0) || sessions < 1 || conc < 1 || msgsize < 0
	    || msgsize > 64L * 1024 * 1024 || pause_ms < 0 || timeout < 1 || optind != argc)
		goto usage;
	make_body();
	t_rcpt = calloc((size_t) sessions, sizeof(double));
	t_sess = calloc((size_t) sessions, sizeof(double));
	t_dns = calloc((size_t) sessions, sizeof(double));
	th = calloc((size_t) conc, sizeof(*th));
	if (!t_rcpt || !t_sess || !t_dns || !th) {
		perror("sessload");
		return 2;
	}
	t0 = now();
	for (long i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
			perror("sessload: pthread_create");
			return 2;
		}
	for (long i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	secs = now() - t0;
	printf("sessions=%ld ok=%ld failed=%ld pause_ms=%ld rcpt_p50_ms=%.2f rcpt_p99_ms=%.2f "
	    "session_p50_ms=%.2f session_p99_ms=%.2f dns_p50_ms=%.3f dns_p99_ms=%.3f seconds=%.1f\n",
	    sessions, nok, nfailed, pause_ms, pct(t_rcpt, nok, 50), pct(t_rcpt, nok, 99),
	    pct(t_sess, nok, 50), pct(t_sess, nok, 99), pct(t_dns, nok, 50), pct(t_dns, nok, 99),
	    secs);
	return nfailed ? 1 : 0;
usage:
	fprintf(stderr, "usage: sessload -r DNS_SERVER|-a ADDR:PORT -d DOMAIN -n SESSIONS "
	    "-c CONCURRENCY [-z MSGSIZE] [-p PAUSE_MS] [-T TIMEOUT]\n");
	return 2;
}
