/*
 * test_smap_srv.c - proxy/smap_srv.c on a real loop and a unix socket,
 * with the policy lookups faked at link time (resolve_start() answers
 * after a delay, per domain: DANE, MTA-STS enforce, DNS trouble, no
 * policy, or never).  The limits are shortened (smap_srv_limits) so that
 * the deadlines are seen: the lookup deadline's TEMP, a trickled request
 * closed, an idle client kept then closed (the reply deadline is not
 * tested: filling a socket buffer takes too long); the cap
 * on connections (the next one waits, then is served), pipelined
 * requests answered in order behind a lookup, an answer kept from the
 * cache (no second lookup) but not across report-only, a client that
 * leaves with a lookup pending (answered, then closed), bad input (PERM,
 * closed), the counters, a stale socket file replaced and a regular file
 * refused, and smap_srv_stop() closing everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../policy/ptable.h"
#include "../../policy/resolve.h"
#include "../../proxy/proxy.h"
#include "../../proxy/smap_srv.h"
#include "t.h"

struct proxy proxy;
static struct ev_loop *loop;
static int nlookups, ncancels;
static char path[108];

/* The fake lookups. */
struct resolve {
	ev_timer t;
	resolve_cb *cb;
	void *arg;
	char domain[256];
};

/* plan_free - the fake plans own nothing else */
void
plan_free(struct plan *p)
{
	free(p);
}

/* fake_done - the plan for a domain, by name */
static void
fake_done(struct ev_loop *l, ev_timer *w, int revents)
{
	struct resolve *r = w->data;
	struct plan *p = calloc(1, sizeof(*p));

	(void) l;
	(void) revents;
	if (p == NULL)
		exit(2);
	snprintf(p->domain, sizeof(p->domain), "%s", r->domain);
	p->status = PLAN_OK;
	p->nhosts = 1;
	p->min_ttl = 60;
	if (strncmp(r->domain, "dane.", 5) == 0) {
		p->hosts[0].dane = DANE_AUTH;
	} else if (strncmp(r->domain, "sts.", 4) == 0) {
		p->has_sts = p->sts.has_policy = 1;
		p->sts.policy.mode = STS_MODE_ENFORCE;
		p->sts.policy.nmx = 1;
		snprintf(p->sts.policy.mx[0], STS_NAME_MAX, "*.%.200s", r->domain);
	} else if (strncmp(r->domain, "fail.", 5) == 0) {
		p->status = PLAN_TEMPFAIL;
		snprintf(p->why, sizeof(p->why), "MX lookup for %s: SERVFAIL", r->domain);
	}
	r->cb(r->arg, p);
	free(r);
}

/* resolve_start - answer after 50 ms (slow.*: 300 ms; hang.*: never) */
struct resolve *
resolve_start(struct ev_loop *l, const char *domain, resolve_cb *cb, void *arg)
{
	struct resolve *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	nlookups++;
	r->cb = cb;
	r->arg = arg;
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	ev_timer_init(&r->t, fake_done, strncmp(domain, "slow.", 5) == 0 ? 0.3 : 0.05, 0.);
	r->t.data = r;
	if (strncmp(domain, "hang.", 5) != 0)
		ev_timer_start(l, &r->t);
	return r;
}

/* resolve_cancel - the asker left */
void
resolve_cancel(struct resolve *r)
{
	ncancels++;
	ev_timer_stop(loop, &r->t);
	free(r);
}

/* pump - run the loop for a while */
static void
pump(double secs)
{
	double end = ev_time() + secs;

	while (ev_time() < end) {
		ev_now_update(loop);
		ev_run(loop, EVRUN_NOWAIT);
		usleep(2000);
	}
}

/* client - a connected, non-blocking client */
static int
client(void)
{
	struct sockaddr_un un;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *) &un, sizeof(un)) < 0)
		exit(2);
	(void) fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* req - send a request netstring */
static void
req(int fd, const char *payload)
{
	char b[512];
	int n = snprintf(b, sizeof(b), "%zu:%s,", strlen(payload), payload);

	if (write(fd, b, (size_t) n) != n)
		exit(2);
}

/* got - pump for secs, collecting what fd received; -1 when it closed */
static int
got(int fd, double secs, char *buf, size_t size)
{
	double end = ev_time() + secs;
	size_t have = 0;
	int closed = 0;

	buf[0] = 0;
	while (ev_time() < end && !closed) {
		ssize_t n;

		pump(0.005);
		while ((n = read(fd, buf + have, size - 1 - have)) > 0)
			have += (size_t) n;
		if (n == 0)
			closed = 1;
		buf[have] = 0;
	}
	return closed ? -1 : (int) have;
}

/* NS - a reply netstring of text */
static const char *
NS(const char *t)
{
	static char b[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(b[i], sizeof(b[i]), "%zu:%s,", strlen(t), t);
	return b[i];
}

/* ns2 - two reply netstrings */
static const char *
ns2(const char *a, const char *b)
{
	static char r[1024];

	snprintf(r, sizeof(r), "%s%s", NS(a), NS(b));
	return r;
}

/* one - one request, its reply within 1 s (and the connection open) */
static int
one(int fd, const char *payload, const char *want)
{
	char b[4096];

	req(fd, payload);
	return got(fd, 0.15, b, sizeof(b)) >= 0 && strcmp(b, want) == 0;
}

/* test_answers - lookups, the cache, pipelining, report-only */
static void
test_answers(void)
{
	char b[4096];
	int fd = client(), n0;

	T_CASE("DANE domain: OK dane-only", one(fd, "postfix dane.test", NS("OK dane-only")),
	    "reply");
	n0 = nlookups;
	T_CASE("again: from the kept answer, no lookup",
	    one(fd, "postfix dane.test", NS("OK dane-only")) && nlookups == n0,
	    "%d lookups", nlookups - n0);
	T_CASE("MTA-STS enforce: secure", one(fd, "postfix sts.test",
	    NS("OK secure match=.sts.test servername=hostname")), "reply");
	T_CASE("DNS trouble: TEMP", one(fd, "postfix fail.test",
	    NS("TEMP MX lookup for fail.test: SERVFAIL")), "reply");
	n0 = nlookups;
	T_CASE("TEMP is not kept", one(fd, "postfix fail.test",
	    NS("TEMP MX lookup for fail.test: SERVFAIL")) && nlookups == n0 + 1, "lookups");
	T_CASE("table entry for [192.0.2.1]:25", one(fd, "postfix [192.0.2.1]:25",
	    NS("OK encrypt")), "reply");
	T_CASE("unknown map: PERM, still open", one(fd, "nosuch x.test", NS("PERM unknown map")),
	    "reply");
	T_CASE("not a domain: NOTFOUND", one(fd, "postfix .test", NS("NOTFOUND ")), "reply");

	/* pipelined: a slow lookup, then a table entry: answered in order */
	req(fd, "postfix slow.test");
	req(fd, "postfix [192.0.2.1]:25");
	n0 = got(fd, 0.1, b, sizeof(b));
	T_CASE("pipelined: nothing before the slow lookup's answer", n0 == 0, "got \"%s\"", b);
	got(fd, 0.4, b, sizeof(b));
	T_CASE("pipelined: answered in order", strcmp(b, ns2("NOTFOUND ", "OK encrypt")) == 0,
	    "got \"%s\"", b);

	proxy.cfg.mode = MODE_REPORT_ONLY;
	T_CASE("report-only: the kept dane-only is not used, may",
	    one(fd, "postfix dane.test", NS("OK may")), "reply");
	T_CASE("report-only: TEMP becomes may", one(fd, "postfix fail.test", NS("OK may")),
	    "reply");
	proxy.cfg.mode = MODE_ENFORCE;

	T_CASE("no policy: NOTFOUND (kept)", one(fd, "postfix none.test", NS("NOTFOUND ")),
	    "reply");
	proxy.cfg.require_tls = 1;
	T_CASE("require_tls: the kept NOTFOUND is not used, encrypt",
	    one(fd, "postfix none.test", NS("OK encrypt")), "reply");
	T_CASE("require_tls: a next hop without an entry, encrypt",
	    one(fd, "postfix [192.0.2.9]:25", NS("OK encrypt")), "reply");
	proxy.cfg.require_tls = 0;
	close(fd);
}

/* test_deadlines - lookup, request, idle, and a client that leaves */
static void
test_deadlines(void)
{
	char b[4096];
	int fd = client(), c0 = ncancels, r;

	smap_srv_limits.lookup_timeout = 0.2;
	req(fd, "postfix hang.test");
	r = got(fd, 0.4, b, sizeof(b));
	T_CASE("lookup deadline: TEMP, the lookup cancelled", r > 0
	    && strcmp(b, NS("TEMP policy lookup for hang.test took over 0.2s")) == 0
	    && ncancels == c0 + 1, "got %d \"%s\", %d cancels", r, b, ncancels - c0);
	T_CASE("after the lookup deadline: still answering",
	    one(fd, "postfix dane.test", NS("OK dane-only")), "reply");
	smap_srv_limits.lookup_timeout = SMAP_SRV_LOOKUP_TIMEOUT;

	smap_srv_limits.idle_timeout = 0.5;
	r = got(fd, 0.3, b, sizeof(b));
	T_CASE("idle below the limit: open", r == 0, "got %d", r);
	T_CASE("idle: still answers", one(fd, "postfix dane.test", NS("OK dane-only")), "reply");
	r = got(fd, 0.8, b, sizeof(b));
	T_CASE("idle past the limit: closed", r == -1, "got %d", r);
	close(fd);
	smap_srv_limits.idle_timeout = SMAP_SRV_IDLE_TIMEOUT;

	smap_srv_limits.request_timeout = 0.3;
	fd = client();
	if (write(fd, "17:postfix d", 12) != 12)
		exit(2);
	r = got(fd, 0.15, b, sizeof(b));
	T_CASE("trickled request: open before the deadline", r == 0, "got %d", r);
	if (write(fd, "an", 2) != 2)
		exit(2);
	r = got(fd, 0.4, b, sizeof(b));
	T_CASE("trickled request: closed at the deadline, no reply", r == -1 && b[0] == 0,
	    "got %d \"%s\"", r, b);
	close(fd);
	smap_srv_limits.request_timeout = SMAP_SRV_REQUEST_TIMEOUT;

	fd = client();
	req(fd, "postfix slow.left");
	shutdown(fd, SHUT_WR);
	r = got(fd, 0.6, b, sizeof(b));
	T_CASE("client leaves with a lookup pending: answered, then closed",
	    r == -1 && strcmp(b, NS("NOTFOUND ")) == 0, "got %d \"%s\"", r, b);
	close(fd);
}

/* test_bad - bad input: PERM, closed */
static void
test_bad(void)
{
	static const struct { const char *label, *in, *want; } cs[] = {
		{"not a netstring", "hello\r\n", "PERM no length"},
		{"over 10000 octets", "10001:", "PERM over 10000 octets"},
		{"no key", "7:postfix,", "PERM no space after the map name"},
	};

	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		char b[256];
		int fd = client(), r;

		if (write(fd, cs[i].in, strlen(cs[i].in)) < 0)
			exit(2);
		r = got(fd, 0.3, b, sizeof(b));
		T_CASE(cs[i].label, r == -1 && strcmp(b, NS(cs[i].want)) == 0, "got %d \"%s\"", r,
		    b);
		close(fd);
	}
}

/* test_cap - the connection cap: the next one waits, then is served */
static void
test_cap(void)
{
	char b[256];
	int a, c, d, r;

	smap_srv_limits.max_conns = 2;
	a = client();
	c = client();
	pump(0.05);
	d = client();			/* in the listen queue */
	req(d, "postfix dane.test");
	r = got(d, 0.2, b, sizeof(b));
	T_CASE("over the cap: not served yet", r == 0, "got %d \"%s\"", r, b);
	T_CASE("the open ones are served", one(a, "postfix dane.test", NS("OK dane-only")),
	    "reply");
	close(a);
	r = got(d, 0.3, b, sizeof(b));
	T_CASE("one closed: the waiting one is served", r > 0
	    && strcmp(b, NS("OK dane-only")) == 0, "got %d \"%s\"", r, b);
	close(c);
	close(d);
	pump(0.05);
	smap_srv_limits.max_conns = SMAP_SRV_MAX_CONNS;
}

/* test_stop - everything closed, the socket removed */
static void
test_stop(void)
{
	const struct smap_srv_stats *st = smap_srv_stats();
	char b[64];
	struct stat sb;
	int fd = client(), r;

	pump(0.05);
	T_CASE("stats: replies by kind", st->ok >= 8 && st->notfound >= 3 && st->temp >= 3
	    && st->perm >= 4, "ok %llu notfound %llu temp %llu perm %llu", st->ok, st->notfound,
	    st->temp, st->perm);
	T_CASE("stats: closings and the lookup deadline", st->bad_input == 3 && st->timed_out == 1
	    && st->lookup_timeouts == 1 && st->cache_hits >= 2, "bad %llu timed %llu lookup %llu "
	    "hits %llu", st->bad_input, st->timed_out, st->lookup_timeouts, st->cache_hits);
	T_CASE("stats: one open", st->open == 1, "open %ld", st->open);
	smap_srv_stop();
	r = got(fd, 0.05, b, sizeof(b));
	T_CASE("stop: the connection closed", r == -1, "got %d", r);
	T_CASE("stop: the socket removed", stat(path, &sb) < 0 && errno == ENOENT, "still there");
	T_CASE("stop: nothing open", st->open == 0, "open %ld", st->open);
	close(fd);
}

/* start - listen on unix:path; 0 or -1 with err */
static int
start(char *err, size_t errlen)
{
	char where[140];

	snprintf(where, sizeof(where), "unix:%s", path);
	if (smap_srv_open(where, err, errlen) < 0)
		return -1;
	smap_srv_start(loop);
	return 0;
}

int
main(void)
{
	static const char tab[] = "[192.0.2.1]:25 encrypt\n";
	static struct ptable pt;
	char err[256], where[140];
	struct sockaddr_un un;
	int fd;

	T_INIT("test_smap_srv");
	log_init("test_smap_srv", 1, 0);
	loop = ev_default_loop(0);
	proxy.loop = loop;
	proxy.cfg.dns_resolver = (char *) "recursive";
	proxy.cfg.mode = MODE_ENFORCE;
	if (ptable_parse(&pt, "t", tab, sizeof(tab) - 1, err, sizeof(err)) < 0)
		return fprintf(stderr, "%s\n", err), 2;
	proxy.ptab = &pt;
	snprintf(path, sizeof(path), "/tmp/test_smap_srv.%ld", (long) getpid());

	/* a regular file at the path: refused; a stale socket: replaced */
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(where, sizeof(where), "unix:%s", path);
	T_CASE("a regular file at the path is refused",
	    smap_srv_open(where, err, sizeof(err)) < 0 && strstr(err, "no socket"), "%s", err);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *) &un, sizeof(un)) < 0)
		return 2;
	close(fd);			/* a stale socket file stays behind */
	if (start(err, sizeof(err)) < 0) {
		T_CASE("a stale socket is replaced", 0, "%s", err);
		return t_done();
	}
	T_CASE("a stale socket is replaced", 1, "%s", "");
	{
		struct stat sb;

		T_CASE("socket mode 0666", stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0666,
		    "mode %o", (unsigned) (sb.st_mode & 0777));
	}
	test_answers();
	test_deadlines();
	test_bad();
	test_cap();
	test_stop();
	ptable_free(&pt);
	return t_done();
}
