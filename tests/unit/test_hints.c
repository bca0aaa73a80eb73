/*
 * test_hints.c - proxy/hints.c: what the DNS watcher learns, per MTA, and
 * which domains a destination address serves; TTLs, CNAMEs, the cap.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/hints.h"
#include "t.h"

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(12345);
		if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
			abort();
	}
	return ss;
}

static void
msg_init(struct dnsmsg *m, const char *qname, uint16_t qtype)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->qname, sizeof(m->qname), "%s", qname);
	m->qtype = qtype;
	m->qclass = 1;
}

static struct dnsmsg_rr *
rr_add(struct dnsmsg *m, uint16_t type, const char *owner, uint32_t ttl)
{
	struct dnsmsg_rr *r = &m->rr[m->nrr++];

	r->type = type;
	r->ttl = ttl;
	snprintf(r->owner, sizeof(r->owner), "%s", owner);
	return r;
}

static void
add_mx(struct dnsmsg *m, const char *dom, const char *mx, uint32_t ttl)
{
	snprintf(rr_add(m, DNSMSG_MX, dom, ttl)->target, DNSMSG_NAME_MAX, "%s", mx);
}

static void
add_cname(struct dnsmsg *m, const char *alias, const char *target, uint32_t ttl)
{
	snprintf(rr_add(m, DNSMSG_CNAME, alias, ttl)->target, DNSMSG_NAME_MAX, "%s", target);
}

static void
add_addr(struct dnsmsg *m, const char *name, const char *ip, uint32_t ttl)
{
	int v6 = strchr(ip, ':') != NULL;
	struct dnsmsg_rr *r = rr_add(m, v6 ? DNSMSG_AAAA : DNSMSG_A, name, ttl);

	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, r->addr) != 1)
		abort();
}

/* learn one MX answer and one A answer for mx */
static void
learn_mx_a(struct hints *h, const char *mta, const char *dom, const char *mx, const char *ip,
    uint32_t ttl, double now)
{
	struct sockaddr_storage m = sa(mta);
	struct dnsmsg d;

	msg_init(&d, dom, DNSMSG_MX);
	add_mx(&d, dom, mx, ttl);
	hints_learn(h, &m, &d, now);
	msg_init(&d, mx, strchr(ip, ':') ? DNSMSG_AAAA : DNSMSG_A);
	add_addr(&d, mx, ip, ttl);
	hints_learn(h, &m, &d, now);
}

static int
lookup(struct hints *h, const char *mta, const char *dest, double now,
    char out[][DNSMSG_NAME_MAX], int max)
{
	struct sockaddr_storage m = sa(mta), d = sa(dest);

	return hints_domains(h, &m, &d, now, out, max);
}

static void
test_basic(void)
{
	struct hints *h = hints_new(NULL);
	char out[4][DNSMSG_NAME_MAX];
	struct hints_stats st;
	int n;

	learn_mx_a(h, "10.0.0.1", "example.org", "mx.example.org", "192.0.2.25", 300, 1000);
	n = lookup(h, "10.0.0.1", "192.0.2.25", 1001, out, 4);
	T_CASE("mx+a found", n == 1 && strcmp(out[0], "example.org") == 0, "n=%d %s", n,
	    n > 0 ? out[0] : "");
	n = lookup(h, "10.0.0.2", "192.0.2.25", 1001, out, 4);
	T_CASE("other mta not found", n == 0, "n=%d", n);
	n = lookup(h, "10.0.0.1", "192.0.2.26", 1001, out, 4);
	T_CASE("other address not found", n == 0, "n=%d", n);
	n = lookup(h, "::ffff:10.0.0.1", "::ffff:192.0.2.25", 1001, out, 4);
	T_CASE("v4-mapped is v4", n == 1, "n=%d", n);
	hints_stats(h, &st);
	T_CASE("basic counters", st.learned == 2 && st.entries == 2 && st.lookups == 4
	    && st.hits == 2 && st.ambiguous == 0, "learned=%llu entries=%llu lookups=%llu hits=%llu",
	    (unsigned long long) st.learned, (unsigned long long) st.entries,
	    (unsigned long long) st.lookups, (unsigned long long) st.hits);
	hints_free(h);
}

static void
test_ttl(void)
{
	struct hints *h = hints_new(NULL);
	char out[4][DNSMSG_NAME_MAX];
	struct hints_stats st;
	int a, b;

	learn_mx_a(h, "10.0.0.1", "example.org", "mx.example.org", "192.0.2.25", 60, 1000);
	a = lookup(h, "10.0.0.1", "192.0.2.25", 1000 + 60 - 1, out, 4);
	b = lookup(h, "10.0.0.1", "192.0.2.25", 1000 + 60 + 1, out, 4);
	hints_stats(h, &st);
	T_CASE("ttl: found before, not after", a == 1 && b == 0, "a=%d b=%d", a, b);
	T_CASE("ttl: lazily expired", st.expired >= 1 && st.entries <= 1, "expired=%llu entries=%llu",
	    (unsigned long long) st.expired, (unsigned long long) st.entries);
	hints_free(h);

	h = hints_new(NULL);
	learn_mx_a(h, "10.0.0.1", "example.org", "mx.example.org", "192.0.2.25", 0, 1000);
	a = lookup(h, "10.0.0.1", "192.0.2.25", 1000 + 4, out, 4);
	b = lookup(h, "10.0.0.1", "192.0.2.25", 1000 + 6, out, 4);
	T_CASE("ttl 0 kept min_ttl (5 s)", a == 1 && b == 0, "a=%d b=%d", a, b);
	hints_free(h);

	h = hints_new(NULL);
	learn_mx_a(h, "10.0.0.1", "example.org", "mx.example.org", "192.0.2.25", 4000000000u, 0);
	a = lookup(h, "10.0.0.1", "192.0.2.25", 86399, out, 4);
	b = lookup(h, "10.0.0.1", "192.0.2.25", 86401, out, 4);
	T_CASE("huge ttl clamped to max_ttl", a == 1 && b == 0, "a=%d b=%d", a, b);
	hints_free(h);

	/* refresh extends the TTL, and counts */
	h = hints_new(NULL);
	learn_mx_a(h, "10.0.0.1", "example.org", "mx.example.org", "192.0.2.25", 60, 1000);
	learn_mx_a(h, "10.0.0.1", "example.org", "mx.example.org", "192.0.2.25", 60, 1050);
	a = lookup(h, "10.0.0.1", "192.0.2.25", 1100, out, 4);
	b = lookup(h, "10.0.0.1", "192.0.2.25", 1111, out, 4);
	hints_stats(h, &st);
	T_CASE("refresh extends ttl", a == 1 && b == 0, "a=%d b=%d", a, b);
	T_CASE("refresh counted", st.learned == 2 && st.refreshed == 2, "learned=%llu refreshed=%llu",
	    (unsigned long long) st.learned, (unsigned long long) st.refreshed);
	hints_free(h);
}

static void
test_expire_sweep(void)
{
	struct hints_limits lim;
	struct hints *h;
	struct hints_stats st;
	int r1, r2;

	hints_limits_default(&lim);
	lim.max_entries = 100;
	h = hints_new(&lim);
	for (int i = 0; i < 40; i++) {
		char dom[64], mx[64];

		snprintf(dom, sizeof(dom), "d%d.example", i);
		snprintf(mx, sizeof(mx), "mx.d%d.example", i);
		learn_mx_a(h, "10.0.0.1", dom, mx, "192.0.2.1", i < 20 ? 10 : 1000, 0);
	}
	r1 = hints_expire(h, 100, 50);
	r2 = hints_expire(h, 100, 50);
	hints_stats(h, &st);
	T_CASE("sweep: bounded work, then the rest", r1 + r2 == 40 && st.entries == 40
	    && st.expired == 40, "r1=%d r2=%d entries=%llu expired=%llu", r1, r2,
	    (unsigned long long) st.entries, (unsigned long long) st.expired);
	hints_free(h);
}

static void
test_cname(void)
{
	struct hints *h = hints_new(NULL);
	struct sockaddr_storage m = sa("10.0.0.1");
	char out[4][DNSMSG_NAME_MAX];
	struct dnsmsg d;
	char a[16], b[16];
	int n;

	/* example.org MX mx.example.org, a CNAME chain of 3 to host.provider */
	msg_init(&d, "example.org", DNSMSG_MX);
	add_mx(&d, "example.org", "mx.example.org", 300);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "mx.example.org", DNSMSG_A);
	add_cname(&d, "mx.example.org", "c1.provider", 300);
	add_cname(&d, "c1.provider", "c2.provider", 300);
	add_cname(&d, "c2.provider", "host.provider", 300);
	add_addr(&d, "host.provider", "192.0.2.80", 300);
	hints_learn(h, &m, &d, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.80", 1, out, 4);
	T_CASE("cname chain", n == 1 && strcmp(out[0], "example.org") == 0, "n=%d", n);

	/* a loop (x1 -> x2 -> x1) with an address on x1: ends, finds x1's MX */
	msg_init(&d, "loop.example", DNSMSG_MX);
	add_mx(&d, "loop.example", "x1.loop", 300);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "x1.loop", DNSMSG_A);
	add_cname(&d, "x1.loop", "x2.loop", 300);
	add_cname(&d, "x2.loop", "x1.loop", 300);
	add_addr(&d, "x1.loop", "192.0.2.81", 300);
	hints_learn(h, &m, &d, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.81", 1, out, 4);
	T_CASE("cname loop ends", n == 1 && strcmp(out[0], "loop.example") == 0, "n=%d", n);

	/* a chain longer than HINTS_CNAME_MAX is not followed to its end */
	msg_init(&d, "long.example", DNSMSG_MX);
	add_mx(&d, "long.example", "l0", 300);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "l0", DNSMSG_A);
	for (int i = 0; i < HINTS_CNAME_MAX + 1; i++) {
		snprintf(a, sizeof(a), "l%d", i);
		snprintf(b, sizeof(b), "l%d", i + 1);
		add_cname(&d, a, b, 300);
	}
	add_addr(&d, b, "192.0.2.82", 300);
	hints_learn(h, &m, &d, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.82", 1, out, 4);
	T_CASE("cname chain over the limit not followed", n == 0, "n=%d", n);
	hints_free(h);
}

static void
test_ambiguous(void)
{
	struct hints *h = hints_new(NULL);
	char out[4][DNSMSG_NAME_MAX];
	struct hints_stats st;
	int n, one;

	learn_mx_a(h, "10.0.0.1", "a.example", "mx.shared.example", "192.0.2.9", 300, 0);
	learn_mx_a(h, "10.0.0.1", "b.example", "mx.shared.example", "192.0.2.9", 300, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.9", 1, out, 4);
	T_CASE("two domains, one mx: both", n == 2
	    && ((strcmp(out[0], "a.example") == 0 && strcmp(out[1], "b.example") == 0)
		|| (strcmp(out[1], "a.example") == 0 && strcmp(out[0], "b.example") == 0)),
	    "n=%d", n);
	one = lookup(h, "10.0.0.1", "192.0.2.9", 1, out, 1);
	hints_stats(h, &st);
	T_CASE("max 1 gives one", one == 1, "n=%d", one);
	T_CASE("ambiguous counted", st.ambiguous == 1 && st.hits == 2, "ambiguous=%llu hits=%llu",
	    (unsigned long long) st.ambiguous, (unsigned long long) st.hits);
	/* the A learnt twice is one entry, refreshed */
	T_CASE("shared mx address once", st.entries == 3 && st.refreshed == 1,
	    "entries=%llu refreshed=%llu", (unsigned long long) st.entries,
	    (unsigned long long) st.refreshed);
	hints_free(h);
}

static void
test_implicit_mx(void)
{
	struct hints *h = hints_new(NULL);
	struct sockaddr_storage m = sa("10.0.0.1");
	char out[4][DNSMSG_NAME_MAX];
	struct dnsmsg d;
	int n;

	/* no MX (NODATA) for plain.example, its own A */
	msg_init(&d, "plain.example", DNSMSG_MX);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "plain.example", DNSMSG_A);
	add_addr(&d, "plain.example", "192.0.2.50", 300);
	hints_learn(h, &m, &d, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.50", 1, out, 4);
	T_CASE("implicit mx", n == 1 && strcmp(out[0], "plain.example") == 0, "n=%d", n);
	n = lookup(h, "10.0.0.1", "192.0.2.50", 301, out, 4);
	T_CASE("implicit mx: nodata_ttl", n == 0, "n=%d", n);

	/* a host's A without any MX question is not a domain */
	msg_init(&d, "web.example", DNSMSG_A);
	add_addr(&d, "web.example", "192.0.2.51", 300);
	hints_learn(h, &m, &d, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.51", 1, out, 4);
	T_CASE("an A alone is no domain", n == 0, "n=%d", n);

	/* a later MX answer drops the no-MX */
	msg_init(&d, "plain2.example", DNSMSG_MX);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "plain2.example", DNSMSG_A);
	add_addr(&d, "plain2.example", "192.0.2.52", 300);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "plain2.example", DNSMSG_MX);
	add_mx(&d, "plain2.example", "mx.other.example", 300);
	hints_learn(h, &m, &d, 1);
	n = lookup(h, "10.0.0.1", "192.0.2.52", 2, out, 4);
	T_CASE("mx learnt drops implicit", n == 0, "n=%d", n);

	/* the null MX (RFC 7505) learns no MX and no implicit one */
	msg_init(&d, "nullmx.example", DNSMSG_MX);
	add_mx(&d, "nullmx.example", "", 300);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "nullmx.example", DNSMSG_A);
	add_addr(&d, "nullmx.example", "192.0.2.53", 300);
	hints_learn(h, &m, &d, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.53", 1, out, 4);
	T_CASE("null mx: nothing", n == 0, "n=%d", n);
	hints_free(h);
}

static void
test_rcode_v6(void)
{
	struct hints *h = hints_new(NULL);
	struct sockaddr_storage m = sa("10.0.0.1");
	char out[4][DNSMSG_NAME_MAX];
	struct hints_stats st;
	struct dnsmsg d;
	int n;

	msg_init(&d, "example.org", DNSMSG_MX);
	d.rcode = 3;
	add_mx(&d, "example.org", "mx.example.org", 300);
	hints_learn(h, &m, &d, 0);
	msg_init(&d, "mx.example.org", DNSMSG_A);
	d.rcode = 3;
	add_addr(&d, "mx.example.org", "192.0.2.25", 300);
	hints_learn(h, &m, &d, 0);
	hints_stats(h, &st);
	n = lookup(h, "10.0.0.1", "192.0.2.25", 1, out, 4);
	T_CASE("nxdomain learns nothing", st.learned == 0 && st.entries == 0 && n == 0,
	    "learned=%llu n=%d", (unsigned long long) st.learned, n);

	learn_mx_a(h, "2001:db8::1", "v6.example", "mx.v6.example", "2001:db8:25::25", 300, 0);
	n = lookup(h, "2001:db8::1", "2001:db8:25::25", 1, out, 4);
	T_CASE("ipv6 mta, aaaa", n == 1 && strcmp(out[0], "v6.example") == 0, "n=%d", n);
	n = lookup(h, "2001:db8::2", "2001:db8:25::25", 1, out, 4);
	T_CASE("ipv6 other mta", n == 0, "n=%d", n);
	n = lookup(h, "2001:db8::1", "2001:db8:25::26", 1, out, 4);
	T_CASE("ipv6 other address", n == 0, "n=%d", n);
	learn_mx_a(h, "10.0.0.1", "mapped.example", "mx.mapped.example", "::ffff:192.0.2.44", 300, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.44", 1, out, 4);
	T_CASE("aaaa of a v4-mapped address is the v4 address", n == 1
	    && strcmp(out[0], "mapped.example") == 0, "n=%d", n);
	hints_free(h);
}

static void
test_cap(void)
{
	struct hints_limits lim;
	struct hints *h;
	struct hints_stats st;
	char out[4][DNSMSG_NAME_MAX], dom[64], mx[64], ip[32];
	int bad = 0, first, last;

	hints_limits_default(&lim);
	lim.max_entries = 1000;
	h = hints_new(&lim);
	for (int i = 0; i < 1500; i++) {	/* 3000 entries into 1000 */
		snprintf(dom, sizeof(dom), "d%d.example", i);
		snprintf(mx, sizeof(mx), "mx.d%d.example", i);
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
		learn_mx_a(h, "10.0.0.1", dom, mx, ip, 3600, i);
		hints_stats(h, &st);
		bad += st.entries > 1000;
	}
	hints_stats(h, &st);
	T_CASE("cap never exceeded", bad == 0 && st.entries == 1000, "bad=%d entries=%llu", bad,
	    (unsigned long long) st.entries);
	T_CASE("cap counters", st.learned == 3000 && st.evicted == 2000 && st.expired == 0,
	    "learned=%llu evicted=%llu expired=%llu", (unsigned long long) st.learned,
	    (unsigned long long) st.evicted, (unsigned long long) st.expired);
	first = lookup(h, "10.0.0.1", "10.1.0.0", 1600, out, 4);
	last = lookup(h, "10.0.0.1", "10.1.5.219", 1600, out, 4);	/* i = 1499 */
	T_CASE("oldest gone, newest there", first == 0 && last == 1
	    && strcmp(out[0], "d1499.example") == 0, "first=%d last=%d", first, last);
	hints_free(h);

	lim.max_entries = 0;
	lim.min_ttl = 10;
	lim.max_ttl = 5;
	T_CASE("bad limits refused", hints_new(&lim) == NULL, "accepted");
}

static void
test_hostile(void)
{
	struct hints_limits lim;
	struct hints *h;
	struct sockaddr_storage m;
	struct hints_stats st;
	char out[2][DNSMSG_NAME_MAX], big[DNSMSG_NAME_MAX], mx[DNSMSG_NAME_MAX], ip[32];
	struct dnsmsg d;
	int n, bad = 0;

	h = hints_new(NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(mx, big, sizeof(mx));
	mx[0] = 'm';
	learn_mx_a(h, "10.0.0.1", big, mx, "192.0.2.7", 300, 0);
	n = lookup(h, "10.0.0.1", "192.0.2.7", 1, out, 2);
	T_CASE("names at the maximum length", n == 1 && strlen(out[0]) == DNSMSG_NAME_MAX - 1
	    && strcmp(out[0], big) == 0, "n=%d", n);

	/* a name without its NUL is skipped */
	m = sa("10.0.0.1");
	msg_init(&d, "x.example", DNSMSG_MX);
	memset(rr_add(&d, DNSMSG_MX, "", 300)->owner, 'b', DNSMSG_NAME_MAX);
	strcpy(d.rr[0].target, "mx.x.example");
	d.nrr = 1000;			/* a count past DNSMSG_MAX_RR: clamped */
	hints_stats(h, &st);
	n = (int) st.learned;
	hints_learn(h, &m, &d, 0);
	hints_stats(h, &st);
	T_CASE("unterminated name skipped", (int) st.learned == n, "learned=%llu was %d",
	    (unsigned long long) st.learned, n);
	hints_free(h);

	/* many distinct MTAs, one shared MX address: each its own */
	hints_limits_default(&lim);
	lim.max_entries = 4096;
	h = hints_new(&lim);
	for (int i = 0; i < 10000; i++) {
		snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 256, i % 256);
		snprintf(mx, sizeof(mx), "d%d.example", i);
		learn_mx_a(h, ip, mx, "mx.shared.example", "192.0.2.100", 300, i * 0.001);
		hints_stats(h, &st);
		bad += st.entries > 4096;
	}
	n = lookup(h, "10.2.39.15", "192.0.2.100", 11, out, 2);	/* i = 9999 */
	T_CASE("many mtas: the newest found alone", bad == 0 && n == 1
	    && strcmp(out[0], "d9999.example") == 0, "bad=%d n=%d", bad, n);
	n = lookup(h, "10.2.0.0", "192.0.2.100", 11, out, 2);
	T_CASE("many mtas: the oldest evicted", n == 0, "n=%d", n);

	/* many names on one address, for one MTA: bounded work, still an answer */
	for (int i = 0; i < 3000; i++) {
		snprintf(mx, sizeof(mx), "n%d.example", i);
		msg_init(&d, mx, DNSMSG_A);
		add_addr(&d, mx, "192.0.2.200", 300);
		m = sa("10.9.9.9");
		hints_learn(h, &m, &d, 20);
	}
	learn_mx_a(h, "10.9.9.9", "target.example", "mx.target.example", "192.0.2.200", 300, 21);
	n = lookup(h, "10.9.9.9", "192.0.2.200", 22, out, 2);
	T_CASE("crowded address: the newest name's domain", n == 1
	    && strcmp(out[0], "target.example") == 0, "n=%d", n);

	/* ... but past HINTS_NAMES_MAX newer names, an older MX host is missed */
	learn_mx_a(h, "10.9.9.8", "old.example", "mx.old.example", "192.0.2.201", 300, 21);
	for (int i = 0; i < HINTS_NAMES_MAX; i++) {
		if (i == HINTS_NAMES_MAX - 1) {
			n = lookup(h, "10.9.9.8", "192.0.2.201", 22, out, 2);
			T_CASE("crowded address: within the bound, found", n == 1, "n=%d", n);
		}
		snprintf(mx, sizeof(mx), "w%d.example", i);
		msg_init(&d, mx, DNSMSG_A);
		add_addr(&d, mx, "192.0.2.201", 300);
		m = sa("10.9.9.8");
		hints_learn(h, &m, &d, 21);
	}
	n = lookup(h, "10.9.9.8", "192.0.2.201", 22, out, 2);
	T_CASE("crowded address: bounded, missed not wrong", n == 0, "n=%d", n);
	hints_free(h);
}

static void
test_order(void)
{
	struct hints_limits lim;
	struct hints *h;
	struct hints_stats st;
	char out[4][DNSMSG_NAME_MAX];
	int a, b, c;

	hints_limits_default(&lim);
	lim.max_entries = 4;
	lim.seed[0] = 0x9e3779b97f4a7c15ULL;
	lim.seed[1] = 42;

	/* a lookup does not make an entry younger: A, B, look up A, C: A goes */
	h = hints_new(&lim);
	learn_mx_a(h, "10.0.0.1", "a.example", "mx.a.example", "192.0.2.1", 300, 0);
	learn_mx_a(h, "10.0.0.1", "b.example", "mx.b.example", "192.0.2.2", 300, 1);
	a = lookup(h, "10.0.0.1", "192.0.2.1", 2, out, 4);
	learn_mx_a(h, "10.0.0.1", "c.example", "mx.c.example", "192.0.2.3", 300, 3);
	b = lookup(h, "10.0.0.1", "192.0.2.1", 4, out, 4);
	c = lookup(h, "10.0.0.1", "192.0.2.2", 4, out, 4);
	T_CASE("lookups keep the learning order", a == 1 && b == 0 && c == 1, "a=%d b=%d c=%d", a,
	    b, c);
	hints_free(h);

	/* a refresh does: A, B, A again, C: B goes */
	h = hints_new(&lim);
	learn_mx_a(h, "10.0.0.1", "a.example", "mx.a.example", "192.0.2.1", 300, 0);
	learn_mx_a(h, "10.0.0.1", "b.example", "mx.b.example", "192.0.2.2", 300, 1);
	learn_mx_a(h, "10.0.0.1", "a.example", "mx.a.example", "192.0.2.1", 300, 2);
	learn_mx_a(h, "10.0.0.1", "c.example", "mx.c.example", "192.0.2.3", 300, 3);
	a = lookup(h, "10.0.0.1", "192.0.2.1", 4, out, 4);
	b = lookup(h, "10.0.0.1", "192.0.2.2", 4, out, 4);
	T_CASE("a refresh makes the entry the newest", a == 1 && b == 0, "a=%d b=%d", a, b);
	hints_free(h);

	/* the oldest, expired, at the cap counts as expired, not evicted */
	h = hints_new(&lim);
	learn_mx_a(h, "10.0.0.1", "a.example", "mx.a.example", "192.0.2.1", 10, 0);
	learn_mx_a(h, "10.0.0.1", "b.example", "mx.b.example", "192.0.2.2", 300, 0);
	learn_mx_a(h, "10.0.0.1", "c.example", "mx.c.example", "192.0.2.3", 300, 20);
	hints_stats(h, &st);
	T_CASE("expired oldest at the cap", st.expired == 2 && st.evicted == 0 && st.entries == 4,
	    "expired=%llu evicted=%llu", (unsigned long long) st.expired,
	    (unsigned long long) st.evicted);
	hints_free(h);
}

static void
test_port_ignored(void)
{
	struct hints *h = hints_new(NULL);
	struct sockaddr_storage m = sa("2001:db8::7"), d = sa("2001:db8::25");
	char out[4][DNSMSG_NAME_MAX];
	int n;

	learn_mx_a(h, "2001:db8::7", "p.example", "mx.p.example", "2001:db8::25", 300, 0);
	((struct sockaddr_in6 *) &m)->sin6_port = htons(40000);
	((struct sockaddr_in6 *) &d)->sin6_port = htons(25);
	n = hints_domains(h, &m, &d, 1, out, 4);
	T_CASE("ports ignored", n == 1, "n=%d", n);
	m.ss_family = AF_UNIX;
	n = hints_domains(h, &m, &d, 1, out, 4);
	T_CASE("other family: nothing", n == 0, "n=%d", n);
	hints_free(h);
}

int
main(void)
{
	T_INIT("test_hints");
	test_basic();
	test_ttl();
	test_expire_sweep();
	test_cname();
	test_ambiguous();
	test_implicit_mx();
	test_rcode_v6();
	test_cap();
	test_hostile();
	test_order();
	test_port_ignored();
	return t_done();
}
