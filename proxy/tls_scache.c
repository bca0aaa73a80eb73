/*
 * tls_scache.c - the client-side TLS session cache: the key, the
 * expiry, and a bounded map with LRU eviction.  See tls_scache.h.
 *
 * Pure: no clock, no I/O; the caller passes the time.  The map chains
 * entries in a power-of-two bucket array indexed by the key's first
 * octets (a SHA-256 digest is its own hash), and keeps them on one list,
 * the most recently used first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <openssl/evp.h>

#include "tls_scache.h"

struct sc_ent {
	struct scache_key k;
	SSL_SESSION *sess;		/* our own copy (scache_put) */
	long expires;			/* monotonic seconds */
	char match[SCACHE_MATCH];
	struct sc_ent *hnext;		/* bucket chain */
	struct sc_ent *prev, *next;	/* LRU list, most recent first */
};

struct scache {
	struct sc_ent **b;
	size_t nb;			/* power of 2 */
	struct sc_ent *head, *tail;
	struct scache_stats st;
};

/* feed - one field into the digest: a tag, a 32-bit length, the octets */
static int
feed(EVP_MD_CTX *md, int tag, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char) tag, (unsigned char) (n >> 24),
	    (unsigned char) (n >> 16), (unsigned char) (n >> 8), (unsigned char) n};

	return EVP_DigestUpdate(md, h, sizeof(h)) == 1 && (n == 0
	    || EVP_DigestUpdate(md, p, n) == 1) ? 0 : -1;
}

/* feed_str - a string field; NULL is "" */
static int
feed_str(EVP_MD_CTX *md, int tag, const char *s)
{
	return feed(md, tag, s ? s : "", s ? strlen(s) : 0);
}

/* tlsa_cmp - qsort order of TLSA records: usage, selector, type, data */
static int
tlsa_cmp(const void *a, const void *b)
{
	const struct plan_tlsa *x = *(const struct plan_tlsa *const *) a;
	const struct plan_tlsa *y = *(const struct plan_tlsa *const *) b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r;

	if (x->usage != y->usage)
		return x->usage < y->usage ? -1 : 1;
	if (x->selector != y->selector)
		return x->selector < y->selector ? -1 : 1;
	if (x->mtype != y->mtype)
		return x->mtype < y->mtype ? -1 : 1;
	if (n && (r = memcmp(x->data, y->data, n)) != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* feed_addr - family, address and port */
static int
feed_addr(EVP_MD_CTX *md, const struct sockaddr_storage *ss)
{
	unsigned char a[2 + 16 + 2];
	size_t n = 0;

	if (ss == NULL)
		return feed(md, 'a', a, 0);
	a[n++] = (unsigned char) (ss->ss_family >> 8);
	a[n++] = (unsigned char) ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *) ss;

		memcpy(a + n, &s4->sin_addr, 4);
		n += 4;
		memcpy(a + n, &s4->sin_port, 2);
		n += 2;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) ss;

		memcpy(a + n, &s6->sin6_addr, 16);
		n += 16;
		memcpy(a + n, &s6->sin6_port, 2);
		n += 2;
	}
	return feed(md, 'a', a, n);
}

/* scache_key - the digest of everything the verification depends on */
int
scache_key(const struct scache_keyin *in, struct scache_key *k)
{
	const struct plan_tlsa *sorted[PLAN_MAX_TLSA];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char v[8];
	unsigned int dl = 0;
	int n = in->ntlsa, rc = -1;

	if (md == NULL || n < 0 || n > PLAN_MAX_TLSA || in->tab_nmatch < 0 || in->tab_nfp < 0)
		goto out;
	for (int i = 0; i < n; i++)
		sorted[i] = &in->tlsa[i];
	if (n > 1)
		qsort(sorted, (size_t) n, sizeof(sorted[0]), tlsa_cmp);
	v[0] = (unsigned char) in->level;
	v[1] = (unsigned char) (in->sts_mismatch != 0);
	v[2] = (unsigned char) n;
	v[3] = (unsigned char) in->tab_nmatch;
	v[4] = (unsigned char) in->tab_nfp;
	v[5] = (unsigned char) (in->tab_protos >> 16);
	v[6] = (unsigned char) (in->tab_protos >> 8);
	v[7] = (unsigned char) in->tab_protos;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
	    || feed_str(md, 'V', "mxtls session cache 1") < 0
	    || feed_addr(md, in->addr) < 0
	    || feed_str(md, 's', in->sni) < 0
	    || feed(md, 'l', v, sizeof(v)) < 0
	    || feed_str(md, 'm', in->mxname) < 0
	    || feed_str(md, 'b', in->base) < 0
	    || feed_str(md, 'o', in->orig_name) < 0
	    || feed_str(md, 'n', in->nexthop) < 0
	    || feed_str(md, 'i', in->sts_id) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		unsigned char h[3] = {sorted[i]->usage, sorted[i]->selector, sorted[i]->mtype};

		if (feed(md, 'T', h, sizeof(h)) < 0
		    || feed(md, 't', sorted[i]->data, sorted[i]->len) < 0)
			goto out;
	}
	if (in->tab_key) {
		if (feed_str(md, 'K', in->tab_key) < 0
		    || feed_str(md, 'C', in->tab_ciphers) < 0
		    || feed_str(md, 'S', in->tab_servername) < 0)
			goto out;
		for (int i = 0; i < in->tab_nmatch; i++)
			if (feed_str(md, 'M', in->tab_match[i]) < 0)
				goto out;
		for (int i = 0; i < in->tab_nfp; i++)
			if (feed(md, 'F', in->tab_fp[i], 32) < 0)
				goto out;
	}
	if (EVP_DigestFinal_ex(md, k->d, &dl) == 1 && dl == SCACHE_KEYLEN)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* scache_key_hex - the key's first 8 octets, for logs */
void
scache_key_hex(const struct scache_key *k, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < 8 && o + 2 < len; i++) {
		buf[o++] = hex[k->d[i] >> 4];
		buf[o++] = hex[k->d[i] & 15];
	}
	if (len)
		buf[o] = 0;
}

/* scache_expiry - now + the least of what is left; 0: nothing is */
long
scache_expiry(long now, long dns_left, long sess_left, long hint_left)
{
	long left = sess_left;

	/* A bound run out is negative: the least, never taken for none. */
	if (dns_left < left)
		left = dns_left;
	if (hint_left < left)
		left = hint_left;
	return left > 0 ? now + left : 0;
}

/* bucket - where k chains */
static struct sc_ent **
bucket(const struct scache *c, const struct scache_key *k)
{
	uint64_t h = 0;

	for (int i = 0; i < 8; i++)
		h = h << 8 | k->d[i];
	return &c->b[h & (c->nb - 1)];
}

/* find - k's entry, or NULL */
static struct sc_ent *
find(const struct scache *c, const struct scache_key *k)
{
	struct sc_ent *e;

	for (e = *bucket(c, k); e; e = e->hnext)
		if (memcmp(e->k.d, k->d, SCACHE_KEYLEN) == 0)
			return e;
	return NULL;
}

/* lru_unlink - off the LRU list */
static void
lru_unlink(struct scache *c, struct sc_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

/* lru_front - the most recently used */
static void
lru_front(struct scache *c, struct sc_ent *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

/* remove_ent - out of the map and the list, freed */
static void
remove_ent(struct scache *c, struct sc_ent *e)
{
	struct sc_ent **pp = bucket(c, &e->k);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	SSL_SESSION_free(e->sess);
	free(e);
	c->st.n--;
}

/* set_buckets - an empty bucket array for max entries */
static int
set_buckets(struct scache *c, size_t max)
{
	size_t nb = 16;
	struct sc_ent **b;

	if (max < 1)
		max = 1;
	if (max > SCACHE_MAX)
		max = SCACHE_MAX;
	while (nb < max)
		nb <<= 1;
	if ((b = calloc(nb, sizeof(*b))) == NULL)
		return -1;
	free(c->b);
	c->b = b;
	c->nb = nb;
	c->st.max = max;
	return 0;
}

/* scache_new - an empty cache of at most max entries */
struct scache *
scache_new(size_t max)
{
	struct scache *c = calloc(1, sizeof(*c));

	if (c == NULL || set_buckets(c, max) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

/* empty - every entry freed */
static void
empty(struct scache *c)
{
	while (c->head)
		remove_ent(c, c->head);
}

/* scache_free - the cache and its references */
void
scache_free(struct scache *c)
{
	if (c == NULL)
		return;
	empty(c);
	free(c->b);
	free(c);
}

/* scache_flush - empty, and a new bound (kept when out of memory) */
void
scache_flush(struct scache *c, size_t max)
{
	empty(c);
	c->st.gen++;
	if (max != c->st.max && set_buckets(c, max) < 0 && max < c->st.max)
		c->st.max = max;		/* the old buckets serve */
}

/* scache_put - store sess under k until expires */
int
scache_put(struct scache *c, const struct scache_key *k, SSL_SESSION *sess,
    long expires, const char *match, long now)
{
	struct sc_ent *e;

	if (expires <= now || sess == NULL)
		return -1;
	if ((e = find(c, k)) != NULL) {
		remove_ent(c, e);
		c->st.replaced++;
	}
	while (c->st.n >= c->st.max && c->tail) {
		remove_ent(c, c->tail);
		c->st.evicted++;
	}
	/* A copy of its own: OpenSSL marks the SSL's current session not
	 * resumable when the SSL is freed without our close_notify (the MX
	 * closed first, as after 221), and that object was sess. */
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->sess = SSL_SESSION_dup(sess)) == NULL) {
		free(e);
		return -1;
	}
	e->k = *k;
	e->expires = expires;
	snprintf(e->match, sizeof(e->match), "%s", match ? match : "");
	e->hnext = *bucket(c, k);
	*bucket(c, k) = e;
	lru_front(c, e);
	c->st.n++;
	c->st.stored++;
	return 0;
}

/* scache_get - a new reference to k's live session, or NULL */
SSL_SESSION *
scache_get(struct scache *c, const struct scache_key *k, long now, char *match,
    size_t matchlen)
{
	struct sc_ent *e = find(c, k);
	SSL_SESSION *sess;

	if (e && now >= e->expires) {
		remove_ent(c, e);
		c->st.expired++;
		e = NULL;
	} else if (e && !SSL_SESSION_is_resumable(e->sess)) {
		remove_ent(c, e);
		c->st.dropped++;
		e = NULL;
	}
	/* A copy for the SSL, as scache_put's: the cache's own object never
	 * becomes an SSL's session, which OpenSSL may mark not resumable. */
	if (e == NULL || (sess = SSL_SESSION_dup(e->sess)) == NULL) {
		c->st.misses++;
		return NULL;
	}
	lru_unlink(c, e);
	lru_front(c, e);
	if (matchlen)
		snprintf(match, matchlen, "%s", e->match);
	c->st.hits++;
	return sess;
}

/* scache_drop - k's entry is no good */
void
scache_drop(struct scache *c, const struct scache_key *k)
{
	struct sc_ent *e = find(c, k);

	if (e) {
		remove_ent(c, e);
		c->st.dropped++;
	}
}

/* scache_resumed - an offered session was resumed */
void
scache_resumed(struct scache *c)
{
	c->st.resumed++;
}

/* scache_stats - the counters */
const struct scache_stats *
scache_stats(const struct scache *c)
{
	return &c->st;
}
