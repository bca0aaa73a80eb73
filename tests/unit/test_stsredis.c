/*
 * test_stsredis.c - policy/stsredis.c against real Redis servers
 * (Debian's redis-server, started here in a temporary directory: one on
 * a unix socket with a password, one on TCP loopback with a database
 * number): the entry and its lock in one round trip, the lock taken
 * once, given back only while ours, values too large or of another type
 * taken as none, a server stopped (SIGSTOP) noticed within the timeout,
 * a killed one too, and the resynchronisation on each new connection
 * (entries written where Redis has none, a newer one there merged in).
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <hiredis/hiredis.h>

#include "../../policy/stscache.h"
#include "../../policy/stsredis.h"
#include "t.h"

#define REDIS_SERVER "/usr/bin/redis-server"
#define PASSWORD "pass word:1"

static struct ev_loop *loop;
static char dir[] = "/tmp/test_stsredis.XXXXXX";

struct got {
	int called, ok, locked;
	char text[20000];
	size_t len;
};

/* on_got - a check's answer */
static void
on_got(void *arg, int ok, const char *text, size_t len, int locked)
{
	struct got *g = arg;

	g->called++;
	g->ok = ok;
	g->locked = locked;
	g->len = text ? len : 0;
	if (text && len < sizeof(g->text))
		memcpy(g->text, text, len);
	g->text[text && len < sizeof(g->text) ? len : 0] = 0;
}

static void
on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void) l;
	(void) w;
	(void) revents;
}

/* spin - run the loop until done() or secs have passed; 1 when done */
static int
spin(double secs, int (*done)(void *), void *arg)
{
	ev_timer tick;
	double end = ev_time() + secs;

	ev_timer_init(&tick, on_tick, 0.02, 0.02);
	ev_timer_start(loop, &tick);
	while (!(done && done(arg)) && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	return done ? done(arg) : 1;
}

static int
is_up(void *arg)
{
	(void) arg;
	return stsredis_stats()->up;
}

static int
is_down(void *arg)
{
	(void) arg;
	return !stsredis_stats()->up;
}

static int
answered(void *arg)
{
	return ((struct got *) arg)->called > 0;
}

/* start_redis - a redis-server of our own; its pid, or -1 */
static pid_t
start_redis(const char *sock, int port, const char *password)
{
	char portstr[16], logfile[128];
	const char *argv[28];
	int n = 0;
	pid_t pid;

	snprintf(portstr, sizeof(portstr), "%d", port);
	argv[n++] = REDIS_SERVER;
	argv[n++] = "--port";
	argv[n++] = portstr;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--save";
	argv[n++] = "";
	argv[n++] = "--appendonly";
	argv[n++] = "no";
	argv[n++] = "--dir";
	argv[n++] = dir;
	argv[n++] = "--daemonize";
	argv[n++] = "no";
	argv[n++] = "--loglevel";
	argv[n++] = "warning";
	snprintf(logfile, sizeof(logfile), "%s/redis.log", dir);
	argv[n++] = "--logfile";
	argv[n++] = logfile;
	if (sock) {
		argv[n++] = "--unixsocket";
		argv[n++] = sock;
		argv[n++] = "--unixsocketperm";
		argv[n++] = "700";
	}
	if (password) {
		argv[n++] = "--requirepass";
		argv[n++] = password;
	}
	argv[n] = NULL;
	if ((pid = fork()) == 0) {
		execv(REDIS_SERVER, (char *const *) argv);
		_exit(127);
	}
	return pid;
}

/* admin - our own (blocking) client, for what the test looks at */
static redisContext *
admin(const char *sock, int port, const char *password, int db)
{
	for (int i = 0; i < 100; i++) {
		redisContext *c = sock ? redisConnectUnix(sock) : redisConnect("127.0.0.1", port);

		if (c && !c->err) {
			redisReply *r = password ? redisCommand(c, "AUTH %s", password)
			    : redisCommand(c, "PING");
			int ok = r && r->type != REDIS_REPLY_ERROR;

			freeReplyObject(r);
			if (ok && db) {
				r = redisCommand(c, "SELECT %d", db);
				freeReplyObject(r);
			}
			if (ok)
				return c;
		}
		if (c)
			redisFree(c);
		usleep(50000);
	}
	return NULL;
}

/* get - a key's string value ("" for none; "(other)" for another type) */
static const char *
get(redisContext *c, const char *key)
{
	static char v[20000];
	redisReply *r = redisCommand(c, "GET %s", key);

	v[0] = 0;
	if (r && r->type == REDIS_REPLY_STRING && r->len < sizeof(v))
		memcpy(v, r->str, r->len + 1);
	else if (r && r->type != REDIS_REPLY_NIL)
		snprintf(v, sizeof(v), "(other)");
	freeReplyObject(r);
	return v;
}

/* num - an integer reply */
static long long
num(redisContext *c, const char *cmd, const char *key)
{
	redisReply *r = redisCommand(c, "%s %s", cmd, key);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -99;

	freeReplyObject(r);
	return v;
}

/* entry - a cached policy for d, fetched at f */
static struct sts_entry *
entry(const char *d, const char *id, time_t f)
{
	const char *body = "version: STSv1\nmode: enforce\nmx: mx.example\nmax_age: 86400\n";
	struct sts_entry *e = stscache_add(d);
	struct sts_policy p;
	char why[256];

	(void) sts_policy_parse(body, strlen(body), &p, why, sizeof(why));
	sts_cache_fetched(e, id, &p, f);
	return e;
}

struct keywait {
	redisContext *c;
	const char *key;
	int want;			/* 1: present, 0: gone */
};

static int
key_is(void *arg)
{
	struct keywait *k = arg;

	return (get(k->c, k->key)[0] != 0) == k->want;
}

/* free_port - a TCP port on loopback nobody listens on now */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0
	    && getsockname(fd, (struct sockaddr *) &a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void
stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGCONT);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* unix_socket - the cases on the unix socket with a password */
static void
unix_socket(void)
{
	char sock[128], url[160], owner[64], text[12288];
	struct stsredis_conf rc = {url, PASSWORD, 1, 5, "gwT"};
	time_t t = time(NULL), exat;
	struct got g;
	redisContext *c;
	struct keywait kw;
	pid_t pid;
	char err[256];
	int n;

	snprintf(sock, sizeof(sock), "%s/r.sock", dir);
	snprintf(url, sizeof(url), "unix:%s", sock);
	pid = start_redis(sock, 0, PASSWORD);
	c = admin(sock, 0, PASSWORD, 0);
	T_CASE("redis-server started on a unix socket", pid > 0 && c != NULL,
	    "cannot start or reach %s (scripts/deps.sh check installs redis-server)",
	    REDIS_SERVER);
	if (c == NULL) {
		stop(pid);
		return;
	}
	(void) stscache_init("", t, err, sizeof(err));
	entry("seed.example", "seed1", t - 60);
	entry("m.example", "old1", t - 1000);
	T_CASE("init", stsredis_init(loop, &rc, err, sizeof(err)) == 0 && stsredis_enabled(),
	    "%s", err);
	T_CASE("connected (with AUTH)", spin(3, is_up, NULL), "not up");
	kw.c = c;
	kw.key = "mxtls:sts:seed.example";
	kw.want = 1;
	T_CASE("resync on connect: a local entry Redis lacked is written",
	    spin(2, key_is, &kw) && strstr(get(c, kw.key), "id: seed1\n") != NULL,
	    "%s", get(c, kw.key));

	memset(&g, 0, sizeof(g));
	T_CASE("check: sent", stsredis_check("a.example", 1, on_got, &g) != NULL, "NULL");
	spin(2, answered, &g);
	snprintf(owner, sizeof(owner), "gwT:%ld", (long) getpid());
	T_CASE("check: no entry, and the lock is ours", g.called == 1 && g.ok && g.len == 0
	    && g.locked && strcmp(get(c, "mxtls:sts-lock:a.example"), owner) == 0,
	    "called=%d ok=%d len=%zu locked=%d lock=%s", g.called, g.ok, g.len, g.locked,
	    get(c, "mxtls:sts-lock:a.example"));
	{
		long long pttl = num(c, "PTTL", "mxtls:sts-lock:a.example");

		T_CASE("check: the lock expires by itself (lock_time)", pttl > 3000 && pttl <= 5000,
		    "%lld", pttl);
	}
	memset(&g, 0, sizeof(g));
	(void) stsredis_check("a.example", 1, on_got, &g);
	spin(2, answered, &g);
	T_CASE("check: a held lock is not taken twice", g.called == 1 && g.ok && !g.locked,
	    "called=%d ok=%d locked=%d", g.called, g.ok, g.locked);

	stsredis_put(entry("a.example", "ida", t));
	stsredis_unlock("a.example");
	kw.key = "mxtls:sts-lock:a.example";
	kw.want = 0;
	T_CASE("unlock: our lock goes", spin(2, key_is, &kw), "%s", get(c, kw.key));
	memset(&g, 0, sizeof(g));
	(void) stsredis_check("a.example", 0, on_got, &g);
	spin(2, answered, &g);
	n = stscache_shared_format(stscache_get("a.example"), t, text, sizeof(text), &exat);
	T_CASE("put: the entry there is the cache file's text", g.called == 1 && g.ok
	    && n > 0 && g.len == (size_t) n && memcmp(g.text, text, (size_t) n) == 0 && !g.locked,
	    "called=%d ok=%d len=%zu text=%s", g.called, g.ok, g.len, g.text);
	{
		long long ttl = num(c, "TTL", "mxtls:sts:a.example");

		T_CASE("put: it expires with the policy", ttl > 86400 - 10 && ttl <= 86400,
		    "%lld", ttl);
	}
	freeReplyObject(redisCommand(c, "SET mxtls:sts-lock:b.example other:1"));
	stsredis_unlock("b.example");
	spin(0.3, NULL, NULL);
	T_CASE("unlock: another gateway's lock stays",
	    strcmp(get(c, "mxtls:sts-lock:b.example"), "other:1") == 0, "%s",
	    get(c, "mxtls:sts-lock:b.example"));

	{
		static char big[17000];

		memset(big, 'a', sizeof(big) - 1);
		freeReplyObject(redisCommand(c, "SET mxtls:sts:big.example %s", big));
	}
	memset(&g, 0, sizeof(g));
	(void) stsredis_check("big.example", 0, on_got, &g);
	spin(2, answered, &g);
	T_CASE("a value over 16 KiB is none", g.called == 1 && g.ok && g.len == 0,
	    "called=%d ok=%d len=%zu", g.called, g.ok, g.len);
	freeReplyObject(redisCommand(c, "RPUSH mxtls:sts:list.example x"));
	memset(&g, 0, sizeof(g));
	(void) stsredis_check("list.example", 1, on_got, &g);
	spin(2, answered, &g);
	T_CASE("a key of another type is none, and Redis stays up", g.called == 1 && g.ok
	    && g.len == 0 && stsredis_stats()->up, "called=%d ok=%d len=%zu up=%d", g.called,
	    g.ok, g.len, stsredis_stats()->up);

	/* Another gateway's newer policy, there before we reconnect. */
	{
		struct sts_entry theirs;

		memset(&theirs, 0, sizeof(theirs));
		snprintf(theirs.domain, sizeof(theirs.domain), "m.example");
		{
			const char *body = "version: STSv1\nmode: testing\nmx: mx.example\n"
			    "max_age: 86400\n";
			struct sts_policy p;
			char why[256];

			(void) sts_policy_parse(body, strlen(body), &p, why, sizeof(why));
			sts_cache_fetched(&theirs, "new2", &p, t - 10);
		}
		n = stscache_shared_format(&theirs, t, text, sizeof(text), &exat);
		freeReplyObject(redisCommand(c, "SET mxtls:sts:m.example %b", text, (size_t) n));
	}

	/* A server that stops answering: down within the timeout. */
	{
		unsigned long long errs = stsredis_stats()->errors;
		double t0;

		kill(pid, SIGSTOP);
		memset(&g, 0, sizeof(g));
		t0 = ev_time();
		(void) stsredis_check("c.example", 1, on_got, &g);
		spin(4, answered, &g);
		T_CASE("stopped server: the check hears ok = 0 within the timeout", g.called == 1
		    && !g.ok && ev_time() - t0 < 2.5, "called=%d ok=%d after %.1fs", g.called, g.ok,
		    ev_time() - t0);
		T_CASE("stopped server: down, counted, and no check is sent meanwhile",
		    !stsredis_stats()->up && stsredis_stats()->errors > errs
		    && stsredis_check("c.example", 1, on_got, &g) == NULL, "up=%d errors=%llu",
		    stsredis_stats()->up, stsredis_stats()->errors);
		kill(pid, SIGCONT);
	}
	T_CASE("resumed server: connected again", spin(6, is_up, NULL), "not up");
	{
		struct sts_entry *m = stscache_get("m.example");
		int i;

		for (i = 0; i < 100 && m && strcmp(m->id, "new2") != 0; i++)
			spin(0.05, NULL, NULL);
		T_CASE("resync: a newer policy there is merged into ours", m
		    && strcmp(m->id, "new2") == 0 && m->policy.mode == STS_MODE_TESTING
		    && stsredis_stats()->resync_taken >= 1, "id=%s taken=%llu", m ? m->id : "-",
		    stsredis_stats()->resync_taken);
		T_CASE("resync: ours, older, did not replace it",
		    strstr(get(c, "mxtls:sts:m.example"), "id: new2\n") != NULL, "%s",
		    get(c, "mxtls:sts:m.example"));
	}

	/* Killed and started again, empty: everything written again. */
	memset(&g, 0, sizeof(g));
	(void) stsredis_check("d.example", 1, on_got, &g);
	redisFree(c);
	stop(pid);
	spin(2, answered, &g);
	T_CASE("killed server: the check outstanding hears ok = 0", g.called == 1 && !g.ok,
	    "called=%d ok=%d", g.called, g.ok);
	T_CASE("killed server: down", spin(2, is_down, NULL), "up");
	pid = start_redis(sock, 0, PASSWORD);
	c = admin(sock, 0, PASSWORD, 0);
	T_CASE("restarted server: connected again", c && spin(12, is_up, NULL), "not up");
	if (c) {
		kw.c = c;
		kw.key = "mxtls:sts:a.example";
		kw.want = 1;
		T_CASE("restarted server: resynchronised (our entries are there again)",
		    spin(3, key_is, &kw) && strstr(get(c, "mxtls:sts:seed.example"), "seed1")
		    && strstr(get(c, "mxtls:sts:m.example"), "new2"), "a=%s", get(c, kw.key));
		redisFree(c);
	}
	stsredis_shutdown();
	T_CASE("shut down", !stsredis_enabled() && !stsredis_stats()->up, "still on");
	stop(pid);

	/* A wrong password: AUTH refused, Redis counted down. */
	pid = start_redis(sock, 0, PASSWORD);
	c = admin(sock, 0, PASSWORD, 0);
	rc.password = "wrong";
	if (c) {
		unsigned long long errs = stsredis_stats()->errors;

		(void) stsredis_init(loop, &rc, err, sizeof(err));
		spin(0.5, NULL, NULL);
		memset(&g, 0, sizeof(g));
		if (stsredis_check("e.example", 1, on_got, &g) != NULL)
			spin(2, answered, &g);
		T_CASE("wrong password: refused, counted, never an answer", !g.ok
		    && stsredis_stats()->errors > errs, "ok=%d errors=%llu", g.ok,
		    stsredis_stats()->errors);
		stsredis_shutdown();
		redisFree(c);
	}
	stop(pid);
	unlink(sock);
}

/* tcp - redis://127.0.0.1:PORT/2: TCP, no password, SELECT */
static void
tcp(void)
{
	int port = free_port();
	char url[64], err[256];
	struct stsredis_conf rc = {url, NULL, 1, 5, "gwU"};
	struct keywait kw;
	redisContext *c, *c0;
	pid_t pid;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/2", port);
	pid = start_redis(NULL, port, NULL);
	c = admin(NULL, port, NULL, 2);
	c0 = admin(NULL, port, NULL, 0);
	T_CASE("redis-server started on TCP loopback", pid > 0 && c && c0, "port %d", port);
	if (c && c0) {
		T_CASE("tcp: connected", stsredis_init(loop, &rc, err, sizeof(err)) == 0
		    && spin(3, is_up, NULL), "%s", err);
		stsredis_put(entry("tcp.example", "idt", time(NULL)));
		kw.c = c;
		kw.key = "mxtls:sts:tcp.example";
		kw.want = 1;
		T_CASE("tcp: written to database 2, not 0", spin(2, key_is, &kw)
		    && get(c0, kw.key)[0] == 0, "db2=%s", get(c, kw.key));
		stsredis_shutdown();
	}
	if (c)
		redisFree(c);
	if (c0)
		redisFree(c0);
	stop(pid);
}

int
main(void)
{
	T_INIT("stsredis");
	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(0);
	if (mkdtemp(dir) == NULL) {
		T_CASE("temporary directory", 0, "%s", strerror(errno));
		return t_done();
	}
	unix_socket();
	tcp();
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return t_done();
}
