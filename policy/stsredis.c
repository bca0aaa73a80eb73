/*
 * stsredis.c - the MTA-STS cache gateways share, in Redis.  See
 * stsredis.h.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "../lib/conf.h"
#include "../lib/log.h"
#include "stscache.h"
#include "stsredis.h"

#define KEY_ENTRY	"mxtls:sts:"
#define KEY_LOCK	"mxtls:sts-lock:"
#define VALUE_MAX	16384		/* a longer value is none */
#define RETRY_FIRST	1.0
#define RETRY_MAX	10.0
#define SAY_EVERY	60		/* "unreachable", at most once a minute */
#define RESYNC_BATCH	32

/* Deletes the lock only while it is still ours (it may have expired
 * and been taken by another gateway meanwhile). */
#define UNLOCK_SCRIPT \
	"if redis.call('GET', KEYS[1]) == ARGV[1] then " \
	"return redis.call('DEL', KEYS[1]) else return 0 end"

enum state { R_OFF, R_DOWN, R_CONNECTING, R_UP };

struct stsredis_q {
	stsredis_cb *cb;		/* NULL once cancelled */
	void *arg;
	int replies;			/* still to come */
	int ok;
	int locked;
	char *text;
	size_t len;
};

static struct {
	struct ev_loop *loop;
	enum state state;
	int closing;			/* stsredis_shutdown(): no more callbacks */
	struct cfg_sts_cache where;
	char addr[NI_MAXHOST + 16];	/* for log lines */
	char ip[NI_MAXHOST];		/* where resolved */
	char *password;
	double timeout;
	long lock_ms;
	char owner[128];
	redisAsyncContext *ac;
	unsigned pending;		/* replies (and the connect) awaited */
	ev_timer watchdog;		/* ... not in time: Redis is down */
	ev_timer retry;
	ev_timer beat;			/* idle: PING, so a silent Redis is noticed */
	int setup;			/* AUTH, SELECT still to answer */
	double backoff;
	time_t down_since;		/* 0: never down yet */
	time_t said_at;
	int down_said;			/* this outage was logged: say "back" */
	char **resync;			/* domains still to resynchronise */
	size_t nresync, resync_cap, resync_next;
	unsigned resync_out;
	struct stsredis_stats st;
} R;

static void gone(const char *why);
static void become_up(void);
static int command(redisCallbackFn *fn, void *priv, int argc, const char **argv,
    const size_t *lens);
static void on_written(redisAsyncContext *ac, void *reply, void *privdata);
static void resync_more(void);

/* stsredis_stats - the connection's state and counts */
const struct stsredis_stats *
stsredis_stats(void)
{
	R.st.up = R.state == R_UP;
	return &R.st;
}

/* stsredis_enabled - sts_cache names a Redis */
int
stsredis_enabled(void)
{
	return R.state != R_OFF;
}

/* say_down - why the shared cache is not used, once a minute at most */
static void
say_down(const char *why)
{
	time_t t = time(NULL);

	if (R.said_at && t - R.said_at < SAY_EVERY)
		return;
	R.said_at = t;
	R.down_said = 1;
	msg_warn("sts cache: redis %s unreachable (%s): the local cache and own fetches "
	    "meanwhile (said once a minute at most)", R.addr, why);
}

/* watch - one more reply (or the connection) awaited, or one fewer */
static void
watch(int delta)
{
	if (delta < 0 && R.pending > 0)
		R.pending--;
	else if (delta > 0)
		R.pending++;
	if (R.pending == 0)
		ev_timer_stop(R.loop, &R.watchdog);
	else if (delta < 0 || !ev_is_active(&R.watchdog)) {
		/* from the last sign of life */
		R.watchdog.repeat = R.timeout;
		ev_timer_again(R.loop, &R.watchdog);
	}
}

/* on_watchdog - Redis did not answer in time */
static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	char why[64];

	(void) loop;
	(void) w;
	(void) revents;
	snprintf(why, sizeof(why), "no answer in %.0f s", R.timeout);
	gone(why);
}

/* on_retry - time for a new connection */
static void on_retry(struct ev_loop *loop, ev_timer *w, int revents);

/* resync_free - no resynchronisation under way */
static void
resync_free(void)
{
	for (size_t i = 0; i < R.nresync; i++)
		free(R.resync[i]);
	free(R.resync);
	R.resync = NULL;
	R.nresync = R.resync_cap = R.resync_next = 0;
	R.resync_out = 0;
}

/* gone - the connection is of no more use: drop it, try again later */
static void
gone(const char *why)
{
	redisAsyncContext *ac = R.ac;

	if (R.state == R_OFF || R.state == R_DOWN)
		return;
	R.st.errors++;
	R.ac = NULL;
	R.state = R_DOWN;
	R.pending = 0;
	ev_timer_stop(R.loop, &R.watchdog);
	ev_timer_stop(R.loop, &R.beat);
	resync_free();
	if (!R.down_since)
		R.down_since = time(NULL);
	say_down(why);
	/* Every query outstanding now hears ok = 0 (their callbacks see
	 * R.ac gone and ask for nothing more). */
	if (ac)
		redisAsyncFree(ac);
	ev_timer_stop(R.loop, &R.retry);
	ev_timer_set(&R.retry, R.backoff, 0.);
	ev_timer_start(R.loop, &R.retry);
	R.backoff = R.backoff * 2 > RETRY_MAX ? RETRY_MAX : R.backoff * 2;
}

/* reply_error - an error reply, as text, or NULL */
static const char *
reply_error(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR ? (r->str ? r->str : "error") : NULL;
}

/* live - is this callback's context the current one? */
static int
live(const redisAsyncContext *ac)
{
	return ac != NULL && ac == R.ac;
}

/* on_connect - the connection is made, or not */
static void
on_connect(const redisAsyncContext *ac, int status)
{
	if (!live(ac))
		return;
	watch(-1);
	if (status != REDIS_OK) {
		char why[200];

		/* hiredis frees the context after this */
		snprintf(why, sizeof(why), "%s", ac->errstr[0] ? ac->errstr : "cannot connect");
		R.ac = NULL;
		gone(why);
		return;
	}
	if (R.setup > 0)
		return;				/* up once AUTH and SELECT answer */
	become_up();
}

/* on_beat - idle and up: a PING, so that a silent Redis is noticed */
static void
on_beat(struct ev_loop *loop, ev_timer *w, int revents)
{
	const char *argv[1] = {"PING"};
	size_t lens[1] = {4};

	(void) loop;
	(void) w;
	(void) revents;
	if (R.state == R_UP && R.pending == 0)
		(void) command(on_written, (void *) "PING", 1, argv, lens);
}

/* become_up - connected, and AUTH and SELECT answered */
static void
become_up(void)
{
	time_t t = time(NULL);

	R.state = R_UP;
	R.backoff = RETRY_FIRST;
	ev_timer_again(R.loop, &R.beat);
	if (R.down_since && R.down_said)
		msg_info("sts cache: redis %s: back after %lld s; resynchronising",
		    R.addr, (long long) (t - R.down_since));
	else if (!R.down_since)
		msg_info("sts cache: redis %s: connected; the MTA-STS cache is shared", R.addr);
	R.down_since = 0;
	R.down_said = 0;
	resync_more();
}

/* on_disconnect - the server closed it, or an error did */
static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	(void) status;
	if (!live(ac))
		return;
	/* hiredis frees the context after this */
	{
		char why[200];

		snprintf(why, sizeof(why), "%s", ac->errstr[0] ? ac->errstr
		    : "connection closed");
		R.ac = NULL;
		gone(why);
	}
}

/* command - send one command; 0, or -1 when there is no connection */
static int
command(redisCallbackFn *fn, void *priv, int argc, const char **argv, const size_t *lens)
{
	if (R.ac == NULL || (R.state != R_UP && R.state != R_CONNECTING)
	    || (R.ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)))
		return -1;
	/* Fails only on a context on its way out: its disconnect says so. */
	if (redisAsyncCommandArgv(R.ac, fn, priv, argc, argv, lens) != REDIS_OK)
		return -1;
	watch(+1);
	return 0;
}

/* connect_now - a new connection, with AUTH and SELECT queued behind it */
static void
connect_now(void)
{
	redisAsyncContext *ac;

	ac = R.where.is_unix ? redisAsyncConnectUnix(R.where.path)
	    : redisAsyncConnect(R.ip, (int) R.where.port);
	if (ac == NULL || ac->err) {
		char why[200];

		snprintf(why, sizeof(why), "%s", ac && ac->errstr[0] ? ac->errstr
		    : "cannot connect");
		if (ac)
			redisAsyncFree(ac);
		R.state = R_CONNECTING;	/* so that gone() counts it */
		gone(why);
		return;
	}
	if (redisLibevAttach(R.loop, ac) != REDIS_OK) {
		redisAsyncFree(ac);
		R.state = R_CONNECTING;
		gone("cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	R.ac = ac;
	R.state = R_CONNECTING;
	R.setup = (R.password != NULL) + (R.where.db != 0);
	watch(+1);			/* the connect itself */
	if (R.password) {
		const char *argv[2] = {"AUTH", R.password};
		size_t lens[2] = {4, strlen(R.password)};

		(void) command(on_written, (void *) "AUTH", 2, argv, lens);
	}
	if (R.where.db && R.ac) {
		char db[24];
		const char *argv[2] = {"SELECT", db};
		size_t lens[2];

		snprintf(db, sizeof(db), "%ld", R.where.db);
		lens[0] = 6;
		lens[1] = strlen(db);
		(void) command(on_written, (void *) "SELECT", 2, argv, lens);
	}
}

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	if (R.state == R_DOWN)
		connect_now();
}

/* q_done - one reply of a query in; the callback after the last */
static void
q_done(struct stsredis_q *q)
{
	if (--q->replies > 0)
		return;
	if (q->cb && !R.closing)
		q->cb(q->arg, q->ok, q->text, q->len, q->locked);
	free(q->text);
	free(q);
}

/* on_get - the entry */
static void
on_get(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct stsredis_q *q = privdata;
	redisReply *r = reply;
	const char *err = reply_error(r);

	if (live(ac))
		watch(-1);
	if (err && strncmp(err, "WRONGTYPE", 9) == 0)
		err = NULL;			/* not an entry of ours: none */
	else if (r == NULL || err)
		q->ok = 0;
	else if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len <= VALUE_MAX
	    && (q->text = malloc(r->len + 1)) != NULL) {
		memcpy(q->text, r->str, r->len);
		q->text[r->len] = 0;
		q->len = r->len;
	} else if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING)
		q->ok = 0;			/* not ours: WRONGTYPE and the like */
	if (err && live(ac)) {
		char why[300];

		snprintf(why, sizeof(why), "GET: %.200s", err);
		gone(why);
	}
	q_done(q);
}

/* on_lock - SET NX: OK when the lock is ours, nil when another holds it */
static void
on_lock(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct stsredis_q *q = privdata;
	redisReply *r = reply;

	if (live(ac))
		watch(-1);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		q->ok = 0;
	else
		q->locked = r->type == REDIS_REPLY_STATUS && r->str && strcmp(r->str, "OK") == 0;
	q_done(q);
}

/* key - KEY_ENTRY or KEY_LOCK and the domain */
static size_t
key(char *buf, size_t len, const char *prefix, const char *domain)
{
	int n = snprintf(buf, len, "%s%s", prefix, domain);

	return n < 0 || (size_t) n >= len ? 0 : (size_t) n;
}

/* stsredis_check - a domain's entry and (lock) its fetch lock */
struct stsredis_q *
stsredis_check(const char *domain, int lock, stsredis_cb *cb, void *arg)
{
	char ek[STS_NAME_MAX + 32], lk[STS_NAME_MAX + 32], ms[24];
	struct stsredis_q *q;
	size_t el, ll;

	if (R.state != R_UP || (el = key(ek, sizeof(ek), KEY_ENTRY, domain)) == 0
	    || (ll = key(lk, sizeof(lk), KEY_LOCK, domain)) == 0
	    || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->cb = cb;
	q->arg = arg;
	q->ok = 1;
	q->replies = 1 + (lock != 0);
	{
		const char *argv[2] = {"GET", ek};
		size_t lens[2] = {3, el};

		if (command(on_get, q, 2, argv, lens) < 0) {
			free(q);
			return NULL;
		}
	}
	if (lock) {
		const char *argv[6] = {"SET", lk, R.owner, "NX", "PX", ms};
		size_t lens[6];

		snprintf(ms, sizeof(ms), "%ld", R.lock_ms);
		lens[0] = 3;
		lens[1] = ll;
		lens[2] = strlen(R.owner);
		lens[3] = 2;
		lens[4] = 2;
		lens[5] = strlen(ms);
		if (command(on_lock, q, 6, argv, lens) < 0) {
			/* the GET's callback comes (with NULL) and ends it */
			q->ok = 0;
			q->replies--;
		}
	}
	return q;
}

/* stsredis_cancel - the asker went away: no callback */
void
stsredis_cancel(struct stsredis_q *q)
{
	if (q)
		q->cb = NULL;
}

/* on_written - the answer to a write, AUTH or SELECT: only an error is
 * of interest (and takes the connection down) */
static void
on_written(redisAsyncContext *ac, void *reply, void *privdata)
{
	const char *err = reply_error(reply);

	if (!live(ac))
		return;
	watch(-1);
	if (!err && R.state == R_CONNECTING && (strcmp(privdata, "AUTH") == 0 || strcmp(privdata, "SELECT") == 0)
	    && --R.setup == 0)
		become_up();
	if (err) {
		char why[300];

		snprintf(why, sizeof(why), "%s: %.200s", (const char *) privdata, err);
		gone(why);
	}
}

/* put - SET an entry's text, with its expiry; nx: only where there is
 * none (then the reply is the one there, for fn) */
static int
put(const struct sts_entry *e, int nx, redisCallbackFn *fn, void *priv)
{
	char k[STS_NAME_MAX + 32], text[12288], at[24];
	const char *argv[7] = {"SET", k, text, "EXAT", at, "NX", "GET"};
	size_t lens[7];
	time_t exat;
	int n;

	if ((lens[1] = key(k, sizeof(k), KEY_ENTRY, e->domain)) == 0
	    || (n = stscache_shared_format(e, time(NULL), text, sizeof(text), &exat)) < 0)
		return -1;
	snprintf(at, sizeof(at), "%lld", (long long) exat);
	lens[0] = 3;
	lens[2] = (size_t) n;
	lens[3] = 4;
	lens[4] = strlen(at);
	lens[5] = 2;
	lens[6] = 3;
	return command(fn, priv, nx ? 7 : 5, argv, lens);
}

/* stsredis_put - an entry after a fetch of ours */
void
stsredis_put(const struct sts_entry *e)
{
	if (R.state == R_UP)
		(void) put(e, 0, on_written, (void *) "SET");
}

/* stsredis_unlock - give the fetch lock back, if still ours */
void
stsredis_unlock(const char *domain)
{
	char k[STS_NAME_MAX + 32];
	const char *argv[5] = {"EVAL", UNLOCK_SCRIPT, "1", k, R.owner};
	size_t lens[5];

	if (R.state != R_UP || (lens[3] = key(k, sizeof(k), KEY_LOCK, domain)) == 0)
		return;
	lens[0] = 4;
	lens[1] = strlen(UNLOCK_SCRIPT);
	lens[2] = 1;
	lens[4] = strlen(R.owner);
	(void) command(on_written, (void *) "unlock", 5, argv, lens);
}

/* on_resynced - SET NX GET: nil, ours is there now; else theirs, which
 * may tell us more */
static void
on_resynced(redisAsyncContext *ac, void *reply, void *privdata)
{
	char *domain = privdata;
	redisReply *r = reply;

	if (!live(ac)) {
		free(domain);
		return;
	}
	watch(-1);
	R.resync_out--;
	if (r && r->type == REDIS_REPLY_NIL)
		R.st.resync_written++;
	else if (r && r->type == REDIS_REPLY_STRING && r->len <= VALUE_MAX) {
		struct sts_entry *ours = stscache_get(domain);
		char why[256];

		if (ours && stscache_take_shared(ours, r->str, r->len, time(NULL), why,
			sizeof(why)) == 1)
			R.st.resync_taken++;
	} else if (reply_error(r)) {
		char why[300];

		snprintf(why, sizeof(why), "SET NX: %.200s", reply_error(r));
		free(domain);
		gone(why);
		return;
	}
	free(domain);
	resync_more();
}

/* collect - a domain whose entry is still of use, for the resync */
static void
collect(struct sts_entry *e, void *arg)
{
	if (stscache_shared_until(e) <= *(time_t *) arg)
		return;
	if (R.nresync == R.resync_cap) {
		size_t cap = R.resync_cap ? R.resync_cap * 2 : 64;
		char **more = realloc(R.resync, cap * sizeof(*more));

		if (more == NULL)
			return;
		R.resync = more;
		R.resync_cap = cap;
	}
	if ((R.resync[R.nresync] = strdup(e->domain)) != NULL)
		R.nresync++;
}

/* resync_more - the resynchronisation: start it, or keep RESYNC_BATCH
 * writes under way until every domain is done */
static void
resync_more(void)
{
	if (R.resync == NULL && R.resync_next == 0) {
		time_t t = time(NULL);

		stscache_walk(collect, &t);
		if (R.nresync == 0)
			return;
	}
	while (R.state == R_UP && R.resync_out < RESYNC_BATCH && R.resync_next < R.nresync) {
		char *d = R.resync[R.resync_next];
		struct sts_entry *e = stscache_get(d);

		R.resync[R.resync_next++] = NULL;
		if (e == NULL || put(e, 1, on_resynced, d) < 0) {
			free(d);
			continue;
		}
		R.resync_out++;
	}
	if (R.resync_next >= R.nresync && R.resync_out == 0) {
		if (R.nresync)
			msg_info("sts cache: redis %s: resynchronised %zu entries (%llu written "
			    "there, %llu told us more, since start-up)", R.addr, R.nresync,
			    R.st.resync_written, R.st.resync_taken);
		resync_free();
		R.resync_next = 0;
	}
}

/* resolve - the host's address, once, at start-up */
static int
resolve(char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(R.where.host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "sts_cache: redis host %s: %s", R.where.host,
		    gai_strerror(rc));
		return -1;
	}
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, R.ip, sizeof(R.ip), NULL, 0,
	    NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc != 0) {
		snprintf(err, errlen, "sts_cache: redis host %s: %s", R.where.host,
		    gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* stsredis_init - read the URL, connect */
int
stsredis_init(struct ev_loop *loop, const struct stsredis_conf *c, char *err,
    size_t errlen)
{
	const char *why;

	if (cfg_parse_sts_cache(c->url ? c->url : "disk", &R.where, &why) < 0) {
		snprintf(err, errlen, "sts_cache = %s: %s", c->url, why);
		return -1;
	}
	if (R.where.kind == CFG_STS_DISK)
		return 0;
	R.loop = loop;
	if (R.where.is_unix)
		snprintf(R.addr, sizeof(R.addr), "%s", R.where.path);
	else if (resolve(err, errlen) < 0)
		return -1;
	else if (strchr(R.ip, ':'))
		snprintf(R.addr, sizeof(R.addr), "[%s]:%u", R.ip, R.where.port);
	else
		snprintf(R.addr, sizeof(R.addr), "%s:%u", R.ip, R.where.port);
	free(R.password);
	R.password = c->password && c->password[0] ? strdup(c->password) : NULL;
	R.timeout = c->timeout > 0 ? (double) c->timeout : 1.0;
	R.lock_ms = (c->lock_time > 0 ? c->lock_time : 40) * 1000;
	snprintf(R.owner, sizeof(R.owner), "%s:%ld", c->owner && c->owner[0] ? c->owner
	    : "mxtlsd", (long) getpid());
	R.backoff = RETRY_FIRST;
	R.down_since = 0;
	R.down_said = 0;
	ev_init(&R.watchdog, on_watchdog);
	ev_init(&R.retry, on_retry);
	ev_init(&R.beat, on_beat);
	R.beat.repeat = R.timeout;
	R.state = R_DOWN;
	connect_now();
	return 0;
}

/* stsredis_shutdown - close the connection (the drain is over) */
void
stsredis_shutdown(void)
{
	redisAsyncContext *ac = R.ac;

	if (R.state == R_OFF)
		return;
	ev_timer_stop(R.loop, &R.watchdog);
	ev_timer_stop(R.loop, &R.retry);
	ev_timer_stop(R.loop, &R.beat);
	resync_free();
	R.ac = NULL;
	R.state = R_OFF;
	R.closing = 1;			/* the askers are going away too */
	if (ac)
		redisAsyncFree(ac);
	R.closing = 0;
	free(R.password);
	R.password = NULL;
}
