/*
 * test_scache.c - proxy/tls_scache.c: the session cache's key (every
 * input that verification depends on changes it; TLSA order does not),
 * the expiry (the least of DNS TTL, session timeout and ticket
 * lifetime; exact boundaries), and the map (hit, miss, replaced, LRU
 * eviction when full, expired, dropped, flushed, size 1).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "../../policy/route.h"
#include "../../proxy/tls_scache.h"
#include "t.h"

static unsigned char d1[32] = {1, 2, 3}, d2[32] = {9, 8, 7}, d3[32] = {5};

static struct plan_tlsa tl[3] = {
	{3, 1, 1, 32, d1}, {2, 0, 1, 32, d2}, {3, 1, 1, 32, d3},
};

static struct sockaddr_storage addr4, addr4b, addr6;

static const char *const names[] = {"mx.example", ".example"};
static const unsigned char fps[2][32] = {{1}, {2}};

/* sa - an address with a port */
static struct sockaddr_storage
sa(const char *text, int port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) port);
		if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
			abort();
	}
	return ss;
}

/* base - a DANE route's key input */
static struct scache_keyin
base(void)
{
	struct scache_keyin in = {
		.addr = &addr4, .sni = "mx1.example", .level = ROUTE_DANE,
		.mxname = "mx1.example", .base = "mx1.example", .orig_name = "mx1.example",
		.nexthop = "example", .tlsa = tl, .ntlsa = 2, .sts_id = "",
	};

	return in;
}

static struct scache_key
key(const struct scache_keyin *in)
{
	struct scache_key k;

	if (scache_key(in, &k) < 0)
		abort();
	return k;
}

static int
same(const struct scache_keyin *a, const struct scache_keyin *b)
{
	struct scache_key x = key(a), y = key(b);

	return memcmp(x.d, y.d, sizeof(x.d)) == 0;
}

/* sess - a resumable session (it has an id) */
static SSL_SESSION *
sess(int id)
{
	SSL_SESSION *s = SSL_SESSION_new();
	unsigned char sid[4] = {(unsigned char) id, 1, 2, 3};

	if (s == NULL || SSL_SESSION_set1_id(s, sid, sizeof(sid)) != 1)
		abort();
	return s;
}

/* same_sess - a and b are the same session (the cache hands out copies) */
static int
same_sess(SSL_SESSION *a, SSL_SESSION *b)
{
	const unsigned char *ia, *ib;
	unsigned int la, lb;

	if (a == NULL || b == NULL)
		return 0;
	ia = SSL_SESSION_get_id(a, &la);
	ib = SSL_SESSION_get_id(b, &lb);
	return la == lb && memcmp(ia, ib, la) == 0;
}

/* test_own_copies - OpenSSL marks an SSL's session not resumable when
 * the SSL is freed without our close_notify (SSL_CTX_remove_session()
 * does the same to any session): neither the session stored nor one
 * handed out is the cache's own object, so neither mark reaches it */
static void
test_own_copies(void)
{
	struct scache *c = scache_new(4);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct scache_keyin in = base();
	struct scache_key k = key(&in);
	SSL_SESSION *orig = sess(9), *got, *again;
	char m[64];

	if (c == NULL || ctx == NULL)
		abort();
	scache_put(c, &k, orig, 500, "DANE-EE", 100);
	SSL_CTX_remove_session(ctx, orig);
	T_CASE("copies: the stored session marked not resumable (the MX closed first)",
	    !SSL_SESSION_is_resumable(orig), "OpenSSL did not mark it: the case proves nothing");
	got = scache_get(c, &k, 101, m, sizeof(m));
	T_CASE("copies: the cache's entry is still a hit", got != NULL && same_sess(got, orig)
	    && got != orig && SSL_SESSION_is_resumable(got), "got %p", (void *) got);
	if (got)
		SSL_CTX_remove_session(ctx, got);
	again = scache_get(c, &k, 102, m, sizeof(m));
	T_CASE("copies: a copy handed out and marked leaves the entry a hit",
	    again != NULL && again != got && SSL_SESSION_is_resumable(again), "got %p",
	    (void *) again);
	SSL_SESSION_free(got);
	SSL_SESSION_free(again);
	SSL_SESSION_free(orig);
	scache_free(c);
	SSL_CTX_free(ctx);
}

static void
test_key(void)
{
	struct scache_keyin a = base(), b;
	struct plan_tlsa rev[2] = {tl[1], tl[0]}, changed[2] = {tl[0], tl[2]};
	unsigned char d1b[32];
	struct plan_tlsa onebit[2] = {tl[0], tl[1]};
	char hex[20];
	struct scache_key k;

	T_CASE("key: the same input, the same key", same(&a, &a), "differs");
	b = a;
	b.tlsa = rev;
	T_CASE("key: TLSA order is no change", same(&a, &b), "order changed the key");
	b = a;
	b.tlsa = changed;
	T_CASE("key: a TLSA record replaced is a miss", !same(&a, &b), "same key");
	memcpy(d1b, d1, sizeof(d1b));
	d1b[31] ^= 1;
	onebit[0].data = d1b;
	b = a;
	b.tlsa = onebit;
	T_CASE("key: one bit of a TLSA digest is a miss", !same(&a, &b), "same key");
	onebit[0] = tl[0];
	onebit[0].mtype = 2;
	b.tlsa = onebit;
	T_CASE("key: a TLSA matching type is a miss", !same(&a, &b), "same key");
	onebit[0] = tl[0];
	onebit[0].len = 31;
	T_CASE("key: a TLSA length is a miss", !same(&a, &b), "same key");
	b = a;
	b.ntlsa = 1;
	T_CASE("key: a TLSA record removed is a miss", !same(&a, &b), "same key");
	b = a;
	b.ntlsa = 3;
	T_CASE("key: a TLSA record added is a miss", !same(&a, &b), "same key");
	b = a;
	b.ntlsa = 0;
	b.level = ROUTE_STS;
	a.ntlsa = 0;
	a.level = ROUTE_STS;
	a.sts_id = "20240101";
	b.sts_id = "20240102";
	T_CASE("key: an MTA-STS policy id change is a miss", !same(&a, &b), "same key");
	b.sts_id = "20240101";
	T_CASE("key: the same MTA-STS policy id", same(&a, &b), "differs");
	b.sts_mismatch = 1;
	T_CASE("key: the MX matching the policy or not", !same(&a, &b), "same key");
	b = a;
	b.sts_id = NULL;
	a.sts_id = "";
	T_CASE("key: no policy id (NULL) is \"\"", same(&a, &b), "differs");
	a = base();
	b = a;
	b.addr = &addr4b;
	T_CASE("key: another port is a miss", !same(&a, &b), "same key");
	b.addr = &addr6;
	T_CASE("key: another address is a miss", !same(&a, &b), "same key");
	b = a;
	b.sni = "mx2.example";
	T_CASE("key: another SNI is a miss", !same(&a, &b), "same key");
	b.sni = NULL;
	T_CASE("key: no SNI is a miss", !same(&a, &b), "same key");
	b = a;
	b.level = ROUTE_MAY;
	T_CASE("key: another TLS level is a miss", !same(&a, &b), "same key");
	b = a;
	b.orig_name = "other.example";
	T_CASE("key: another name before CNAMEs is a miss", !same(&a, &b), "same key");
	b = a;
	b.nexthop = "example.net";
	T_CASE("key: another nexthop is a miss", !same(&a, &b), "same key");
	/* Fields that run into each other must not collide. */
	a.mxname = "ab";
	a.base = "c";
	b = a;
	b.mxname = "a";
	b.base = "bc";
	T_CASE("key: fields are length-prefixed", !same(&a, &b), "ab|c == a|bc");
	a = base();
	a.tab_key = "example";
	a.tab_match = names;
	a.tab_nmatch = 2;
	b = a;
	T_CASE("key: the same table entry", same(&a, &b), "differs");
	b.tab_nmatch = 1;
	T_CASE("key: a table match= name less is a miss", !same(&a, &b), "same key");
	b = a;
	b.tab_key = NULL;
	T_CASE("key: no table entry is a miss", !same(&a, &b), "same key");
	b = a;
	b.tab_fp = fps;
	b.tab_nfp = 2;
	T_CASE("key: table fingerprints are in it", !same(&a, &b), "same key");
	b = a;
	b.tab_protos = 1u << 5;
	T_CASE("key: table protocols= are in it", !same(&a, &b), "same key");
	b = a;
	b.tab_ciphers = "high";
	T_CASE("key: table ciphers= are in it", !same(&a, &b), "same key");
	b = a;
	b.ntlsa = PLAN_MAX_TLSA + 1;
	T_CASE("key: too many TLSA records is an error", scache_key(&b, &k) < 0, "accepted");
	a = base();
	k = key(&a);
	scache_key_hex(&k, hex, sizeof(hex));
	T_CASE("key: hex is 16 digits", strlen(hex) == 16, "%s", hex);
	scache_key_hex(&k, hex, 5);
	T_CASE("key: hex fits a short buffer", strlen(hex) == 4, "%s", hex);
}

static void
test_expiry(void)
{
	T_CASE("expiry: the DNS TTL is shortest", scache_expiry(1000, 60, 7200, 300) == 1060,
	    "%ld", scache_expiry(1000, 60, 7200, 300));
	T_CASE("expiry: the ticket lifetime is shortest",
	    scache_expiry(1000, 600, 7200, 30) == 1030, "%ld", scache_expiry(1000, 600, 7200, 30));
	T_CASE("expiry: the session timeout is shortest",
	    scache_expiry(1000, 600, 20, 300) == 1020, "%ld", scache_expiry(1000, 600, 20, 300));
	T_CASE("expiry: no DNS, no hint (SCACHE_NONE): the session's",
	    scache_expiry(1000, SCACHE_NONE, 7200, SCACHE_NONE) == 8200, "%ld",
	    scache_expiry(1000, SCACHE_NONE, 7200, SCACHE_NONE));
	T_CASE("expiry: a DNS TTL run out a second ago is never stored",
	    scache_expiry(1000, -1, 7200, 300) == 0, "%ld", scache_expiry(1000, -1, 7200, 300));
	T_CASE("expiry: a ticket lifetime run out is never stored",
	    scache_expiry(1000, 60, 7200, -3) == 0, "%ld", scache_expiry(1000, 60, 7200, -3));
	T_CASE("expiry: TTL 0 is never stored", scache_expiry(1000, 0, 7200, 300) == 0,
	    "%ld", scache_expiry(1000, 0, 7200, 300));
	T_CASE("expiry: ticket lifetime 0 is never stored",
	    scache_expiry(1000, 60, 7200, 0) == 0, "%ld", scache_expiry(1000, 60, 7200, 0));
	T_CASE("expiry: a session past its timeout is never stored",
	    scache_expiry(1000, 60, -5, 300) == 0, "%ld", scache_expiry(1000, 60, -5, 300));
	T_CASE("expiry: one second left", scache_expiry(1000, 1, 7200, 300) == 1001,
	    "%ld", scache_expiry(1000, 1, 7200, 300));
}

static void
test_map(void)
{
	struct scache *c = scache_new(3);
	struct scache_keyin in = base();
	struct scache_key k[5];
	SSL_SESSION *s[5], *got;
	char m[SCACHE_MATCH];
	const struct scache_stats *st;

	for (int i = 0; i < 5; i++) {
		char sni[32];

		snprintf(sni, sizeof(sni), "mx%d.example", i);
		in.sni = sni;
		k[i] = key(&in);
		s[i] = sess(i);
	}
	T_CASE("map: made", c != NULL, "NULL");
	st = scache_stats(c);
	T_CASE("map: miss when empty", scache_get(c, &k[0], 100, m, sizeof(m)) == NULL
	    && st->misses == 1, "hit");
	T_CASE("map: put", scache_put(c, &k[0], s[0], 160, "DANE-EE", 100) == 0 && st->n == 1,
	    "failed");
	m[0] = 0;
	got = scache_get(c, &k[0], 159, m, sizeof(m));
	T_CASE("map: hit a second before the end", same_sess(got, s[0]) && strcmp(m, "DANE-EE") == 0
	    && st->hits == 1, "%p %s", (void *) got, m);
	SSL_SESSION_free(got);
	got = scache_get(c, &k[0], 160, m, sizeof(m));
	T_CASE("map: expired at its end exactly (a TTL passing)", got == NULL && st->expired == 1
	    && st->n == 0, "%p expired %lu", (void *) got, st->expired);
	T_CASE("map: expired is gone", scache_get(c, &k[0], 100, m, sizeof(m)) == NULL, "back");
	T_CASE("map: no put at now", scache_put(c, &k[0], s[0], 100, "", 100) < 0 && st->n == 0,
	    "stored");
	T_CASE("map: no put of the past", scache_put(c, &k[0], s[0], 99, "", 100) < 0, "stored");
	T_CASE("map: no put without a session", scache_put(c, &k[0], NULL, 200, "", 100) < 0,
	    "stored");

	/* Same key replaced: the newer session and verdict. */
	scache_put(c, &k[1], s[1], 500, "first", 100);
	scache_put(c, &k[1], s[2], 500, "second", 101);
	got = scache_get(c, &k[1], 102, m, sizeof(m));
	T_CASE("map: the same key replaced", same_sess(got, s[2]) && strcmp(m, "second") == 0
	    && st->replaced == 1 && st->n == 1, "%p %s", (void *) got, m);
	SSL_SESSION_free(got);

	/* Full: the least recently used goes. */
	scache_put(c, &k[2], s[2], 500, "2", 103);
	scache_put(c, &k[3], s[3], 500, "3", 104);
	got = scache_get(c, &k[1], 105, m, sizeof(m));	/* 1 is recent now */
	SSL_SESSION_free(got);
	scache_put(c, &k[4], s[4], 500, "4", 106);
	T_CASE("map: full: at most max", st->n == 3 && st->evicted == 1, "n %zu evicted %lu",
	    st->n, st->evicted);
	got = scache_get(c, &k[2], 107, m, sizeof(m));
	T_CASE("map: full: the least recently used evicted", got == NULL, "still there");
	got = scache_get(c, &k[1], 107, m, sizeof(m));
	T_CASE("map: full: the recently used kept", same_sess(got, s[2]), "gone");
	SSL_SESSION_free(got);

	scache_drop(c, &k[1]);
	T_CASE("map: dropped (a failed handshake)", scache_get(c, &k[1], 108, m, sizeof(m)) == NULL
	    && st->dropped == 1 && st->n == 2, "still there");
	scache_drop(c, &k[1]);
	T_CASE("map: dropping a missing key", st->dropped == 1, "%lu", st->dropped);

	scache_flush(c, 1);
	T_CASE("map: flushed", st->n == 0 && st->max == 1 && st->gen == 1, "n %zu max %zu gen %lu",
	    st->n, st->max, st->gen);
	scache_put(c, &k[0], s[0], 500, "a", 110);
	scache_put(c, &k[3], s[3], 500, "b", 111);
	T_CASE("map: size 1 keeps the last", st->n == 1
	    && scache_get(c, &k[0], 112, m, sizeof(m)) == NULL, "n %zu", st->n);
	got = scache_get(c, &k[3], 112, m, sizeof(m));
	T_CASE("map: size 1 hit", same_sess(got, s[3]), "miss");
	SSL_SESSION_free(got);

	/* A session that cannot be resumed is no hit. */
	{
		SSL_SESSION *nr = SSL_SESSION_new();

		scache_put(c, &k[0], nr, 500, "x", 113);
		T_CASE("map: not resumable is a miss", scache_get(c, &k[0], 114, m, sizeof(m)) == NULL
		    && st->n == 0, "hit");
		SSL_SESSION_free(nr);
	}
	/* Many keys through a small cache: the bound holds. */
	scache_flush(c, 64);
	for (int i = 0; i < 1000; i++) {
		char sni[32];
		struct scache_key kk;

		snprintf(sni, sizeof(sni), "h%d.example", i);
		in.sni = sni;
		kk = key(&in);
		scache_put(c, &kk, s[i % 5], 10000, "", 200);
	}
	T_CASE("map: 1000 keys, bound 64", st->n == 64, "%zu", st->n);
	scache_free(c);
	for (int i = 0; i < 5; i++)
		SSL_SESSION_free(s[i]);
	scache_free(NULL);
}

int
main(void)
{
	T_INIT("test_scache");
	addr4 = sa("192.0.2.31", 25);
	addr4b = sa("192.0.2.31", 26);
	addr6 = sa("2001:db8::31", 25);
	test_key();
	test_expiry();
	test_map();
	test_own_copies();
	return t_done();
}
