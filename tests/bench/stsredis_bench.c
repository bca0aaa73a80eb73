/*
 * stsredis_bench.c - what a policy lookup costs when it goes to the
 * cache the gateways share, against the local caches, in one run.
 *
 * SYNOPSIS
 *	stsredis_bench DIR UNIX_URL TCP_URL [DOMAINS [LOOKUPS]]
 *
 * DESCRIPTION
 *	DOMAINS (1000) MTA-STS entries, each a policy with two MX patterns,
 *	written once to the disk cache in DIR (stscache_save()) and to both
 *	Redis servers (stsredis_put()).  Then, for LOOKUPS (20000) lookups
 *	of those domains in turn, each kind in turn:
 *
 *	  memory  stscache_get() and the cache rules (sts_cache_step()) for
 *		  the same id: a warm lookup, what every session does
 *	  disk    stscache_reread(): the entry read back from its file and
 *		  parsed, what a worker does when another worker fetched
 *	  redis   stsredis_check() (GET and SET NX of the lock, one round
 *		  trip), the value parsed and merged (stscache_shared_parse(),
 *		  sts_cache_merge()): what a gateway does before a fetch,
 *		  when another gateway may have fetched; one at a time
 *		  (the latency a session waiting for it sees) and 64 under
 *		  way at once (the throughput), over the unix socket and TCP
 *
 *	Prints one line per kind: lookups_per_s, and p50_us / p99_us of one
 *	lookup (serial runs), and the ratios to disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "../../policy/stscache.h"
#include "../../policy/stsredis.h"

#define PIPE 64

static struct ev_loop *loop;
static int ndomains = 1000;
static long nlookups = 20000;
static double *lat;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* report - one kind's line */
static void
report(const char *kind, double secs, long n, int with_lat, double base)
{
	double rate = (double) n / secs;

	if (with_lat) {
		qsort(lat, (size_t) n, sizeof(*lat), cmp);
		printf("bench stsredis: %-18s lookups=%ld lookups_per_s=%.0f p50_us=%.1f "
		    "p99_us=%.1f", kind, n, rate, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6);
	} else
		printf("bench stsredis: %-18s lookups=%ld lookups_per_s=%.0f", kind, n, rate);
	if (base > 0)
		printf(" vs_disk=%.2f", rate / base);
	printf("\n");
}

static void
name_of(long i, char *buf, size_t len)
{
	snprintf(buf, len, "d%ld.bench.example", i % ndomains);
}

struct run {
	long sent, done, bad;
	int want;			/* under way at once */
};

static void send_one(struct run *r, long slot);

struct slot {				/* one lookup under way */
	struct run *r;
	double t0;
	long idx;
};

static struct slot slots[PIPE];

/* on_slot - an answer: parsed and merged, as stsget does; the next */
static void
on_slot(void *arg, int ok, const char *text, size_t len, int locked)
{
	struct slot *s = arg;
	struct run *r = s->r;
	struct sts_entry theirs, *e;
	char why[256], name[64];

	(void) locked;
	name_of(s->idx, name, sizeof(name));
	if (!ok || text == NULL || stscache_shared_parse(name, text, len, time(NULL), &theirs,
		why, sizeof(why)) < 0)
		r->bad++;
	else if ((e = stscache_get(name)) != NULL)
		(void) sts_cache_merge(e, &theirs);
	if (r->want == 1)
		lat[r->done] = now_s() - s->t0;
	r->done++;
	if (r->sent < nlookups)
		send_one(r, s - slots);
}

/* send_one - the next lookup, in slot i */
static void
send_one(struct run *r, long i)
{
	char name[64];
	struct slot *s = &slots[i];

	s->r = r;
	s->idx = r->sent;
	name_of(r->sent, name, sizeof(name));
	s->t0 = now_s();
	r->sent++;
	if (stsredis_check(name, 0, on_slot, s) == NULL) {
		r->bad++;
		r->done++;
	}
}

/* redis_run - nlookups checks, want at a time; seconds, or -1 */
static double
redis_run(int want, long *bad)
{
	struct run r;
	double t0;

	memset(&r, 0, sizeof(r));
	r.want = want;
	t0 = now_s();
	for (int i = 0; i < want && r.sent < nlookups; i++)
		send_one(&r, i);
	while (r.done < nlookups)
		ev_run(loop, EVRUN_ONCE);
	*bad = r.bad;
	return now_s() - t0;
}

static void
on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void) l;
	(void) w;
	(void) revents;
}

/* settle - run the loop a while (connect, writes answered) */
static void
settle(double secs)
{
	ev_timer tick;
	double end = now_s() + secs;

	ev_timer_init(&tick, on_tick, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	while (now_s() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
}

/* redis_kind - fill one Redis, measure it serial and pipelined */
static int
redis_kind(const char *label, const char *url, double disk_rate)
{
	struct stsredis_conf rc = {url, NULL, 5, 40, "bench"};
	char err[256], kind[32];
	long bad = 0;
	double secs;

	if (stsredis_init(loop, &rc, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench stsredis: FAIL: %s\n", err);
		return -1;
	}
	settle(0.3);			/* connected; the resync writes them all */
	if (!stsredis_stats()->up) {
		fprintf(stderr, "bench stsredis: FAIL: %s: not connected\n", url);
		return -1;
	}
	for (int i = 0; i < ndomains; i++) {
		char name[64];

		name_of(i, name, sizeof(name));
		stsredis_put(stscache_get(name));
	}
	settle(0.5);
	secs = redis_run(1, &bad);
	snprintf(kind, sizeof(kind), "%s-serial", label);
	if (bad) {
		fprintf(stderr, "bench stsredis: FAIL: %s: %ld lookups without an entry\n", kind, bad);
		return -1;
	}
	report(kind, secs, nlookups, 1, disk_rate);
	secs = redis_run(PIPE, &bad);
	snprintf(kind, sizeof(kind), "%s-64", label);
	if (bad) {
		fprintf(stderr, "bench stsredis: FAIL: %s: %ld lookups without an entry\n", kind, bad);
		return -1;
	}
	report(kind, secs, nlookups, 0, disk_rate);
	stsredis_shutdown();
	return 0;
}

int
main(int argc, char **argv)
{
	struct sts_conf conf = {86400, 300, 60};
	const char *body = "version: STSv1\nmode: enforce\nmx: mx1.example.net\n"
	    "mx: *.example.net\nmax_age: 604800\n";
	struct sts_policy p;
	char why[128], err[256];
	time_t t = time(NULL);
	double t0, secs, disk_rate;
	long steps = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: stsredis_bench DIR UNIX_URL TCP_URL [DOMAINS [LOOKUPS]]\n");
		return 2;
	}
	if (argc > 4)
		ndomains = atoi(argv[4]);
	if (argc > 5)
		nlookups = atol(argv[5]);
	if (ndomains < 1 || nlookups < 100 || (lat = calloc((size_t) nlookups, sizeof(*lat))) == NULL)
		return 2;
	loop = ev_default_loop(0);
	if (stscache_init(argv[1], t, err, sizeof(err)) < 0
	    || sts_policy_parse(body, strlen(body), &p, why, sizeof(why)) < 0) {
		fprintf(stderr, "bench stsredis: FAIL: %s\n", err);
		return 1;
	}
	for (int i = 0; i < ndomains; i++) {
		char name[64];
		struct sts_entry *e;

		name_of(i, name, sizeof(name));
		if ((e = stscache_add(name)) == NULL)
			return 1;
		sts_cache_fetched(e, "id1", &p, t);
		if (stscache_save(e) < 0)
			return 1;
	}

	/* memory: what every session's lookup does */
	t0 = now_s();
	for (long i = 0; i < nlookups * 50; i++) {
		char name[64];
		struct sts_entry *e;

		name_of(i, name, sizeof(name));
		e = stscache_get(name);
		steps += e && sts_cache_step(e, STS_TXT_FOUND, "id1", t, &conf) == STS_EXTEND;
	}
	secs = now_s() - t0;
	if (steps != nlookups * 50) {
		fprintf(stderr, "bench stsredis: FAIL: memory: %ld of %ld\n", steps, nlookups * 50);
		return 1;
	}

	/* disk: the entry read back from its file */
	{
		double d0 = now_s(), ds;
		long got = 0;

		for (long i = 0; i < nlookups; i++) {
			char name[64];
			double l0 = now_s();

			name_of(i, name, sizeof(name));
			got += stscache_reread(name, 0, t);
			lat[i] = now_s() - l0;
		}
		ds = now_s() - d0;
		if (got != nlookups) {
			fprintf(stderr, "bench stsredis: FAIL: disk: %ld of %ld\n", got, nlookups);
			return 1;
		}
		disk_rate = (double) nlookups / ds;
		report("memory", secs, nlookups * 50, 0, disk_rate);
		report("disk", ds, nlookups, 1, 0);
	}
	if (redis_kind("redis-unix", argv[2], disk_rate) < 0
	    || redis_kind("redis-tcp", argv[3], disk_rate) < 0)
		return 1;
	return 0;
}
