/*
 * hints.c - what the DNS watcher learns, bounded and pure (hints.h).
 *
 * One pool of max_entries slots, allocated once; a free list through the
 * slots; a list from the oldest to the newest learned; two chained hash
 * tables of slot numbers: by the whole entry (kind, MTA, owner, target or
 * address: refresh) and by what a lookup asks (kind, MTA, and the address,
 * the MX exchange or CNAME target, or the no-MX domain).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "hints.h"

#define NIL	UINT32_MAX

enum { HK_MX = 1, HK_CNAME, HK_ADDR, HK_NOMX };

struct haddr {
	uint8_t fam;			/* 4 or 6; 0: none */
	uint8_t a[16];
};

struct hent {
	uint32_t knext, kprev;		/* key chain; knext: free list too */
	uint32_t vnext, vprev;		/* value chain */
	uint32_t older, newer;		/* age list */
	uint64_t khash, vhash;
	double expires;
	uint8_t kind;			/* 0: free */
	struct haddr mta, addr;
	char owner[DNSMSG_NAME_MAX];
	char target[DNSMSG_NAME_MAX];	/* MX, CNAME */
};

struct hints {
	struct hints_limits lim;
	struct hent *e;
	uint32_t *kb, *vb, mask;
	uint32_t free, oldest, newest, hand;
	struct hints_stats st;
};

/* what one entry is, for hashing and matching */
struct hprobe {
	uint8_t kind;
	const struct haddr *mta, *addr;	/* addr: HK_ADDR only */
	const char *owner, *target;	/* target: HK_MX, HK_CNAME */
};

#define ROTL(x, b)	(uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

/* siphash - SipHash-2-4 of p[0..n) under the key k */
static uint64_t
siphash(const uint64_t k[2], const uint8_t *p, size_t n)
{
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL, v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL, v3 = k[1] ^ 0x7465646279746573ULL;
	uint64_t m, b = (uint64_t) n << 56;
	size_t i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = m << 8 | p[i + j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t) p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* put - append n octets to buf at *w (the caller sized buf) */
static void
put(uint8_t *buf, size_t *w, const void *p, size_t n)
{
	memcpy(buf + *w, p, n);
	*w += n;
}

/* vname - the name a value lookup matches: the target, or the no-MX domain */
static const char *
pr_vname(const struct hprobe *p)
{
	return p->kind == HK_NOMX ? p->owner : p->target;
}

/* hash_of - the value hash (whole 0) or the key hash (whole 1) of p */
static uint64_t
hash_of(const struct hints *h, const struct hprobe *p, int whole)
{
	uint8_t buf[2 + 16 + 1 + 16 + 2 * DNSMSG_NAME_MAX];
	size_t w = 0;

	put(buf, &w, &p->kind, 1);
	put(buf, &w, &p->mta->fam, 1);
	put(buf, &w, p->mta->a, p->mta->fam == 4 ? 4 : 16);
	if (p->kind == HK_ADDR) {
		put(buf, &w, &p->addr->fam, 1);
		put(buf, &w, p->addr->a, p->addr->fam == 4 ? 4 : 16);
	} else
		put(buf, &w, pr_vname(p), strlen(pr_vname(p)) + 1);
	if (whole && p->kind != HK_NOMX)
		put(buf, &w, p->owner, strlen(p->owner) + 1);
	return siphash(h->lim.seed, buf, w);
}

/* addr_eq - the same normalised address */
static int
addr_eq(const struct haddr *a, const struct haddr *b)
{
	return a->fam == b->fam && memcmp(a->a, b->a, a->fam == 4 ? 4 : 16) == 0;
}

/* ent_vmatch - e is what a value lookup for p looks for */
static int
ent_vmatch(const struct hent *e, const struct hprobe *p)
{
	if (e->kind != p->kind || !addr_eq(&e->mta, p->mta))
		return 0;
	if (p->kind == HK_ADDR)
		return addr_eq(&e->addr, p->addr);
	return strcmp(p->kind == HK_NOMX ? e->owner : e->target, pr_vname(p)) == 0;
}

/* ent_kmatch - e is the entry p describes */
static int
ent_kmatch(const struct hent *e, const struct hprobe *p)
{
	return ent_vmatch(e, p) && strcmp(e->owner, p->owner) == 0;
}

/* norm_ip - IPv4 (v6 0) or IPv6 octets as a map address, IPv4-mapped as IPv4 */
static void
norm_ip(const uint8_t *b, int v6, struct haddr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (v6 && memcmp(b, mapped, 12) == 0) {
		b += 12;
		v6 = 0;
	}
	a->fam = v6 ? 6 : 4;
	memcpy(a->a, b, v6 ? 16 : 4);
}

/* norm - a socket address as a map address (norm_ip); 0, or -1 */
static int
norm(const struct sockaddr_storage *ss, struct haddr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss == NULL)
		return -1;
	if (ss->ss_family == AF_INET)
		norm_ip((const uint8_t *) &((const struct sockaddr_in *) ss)->sin_addr, 0, a);
	else if (ss->ss_family == AF_INET6)
		norm_ip(((const struct sockaddr_in6 *) ss)->sin6_addr.s6_addr, 1, a);
	else
		return -1;
	return 0;
}

/* hints_limits_default - the default limits (hints.h) */
void
hints_limits_default(struct hints_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_entries = 65536;
	lim->min_ttl = 5;
	lim->max_ttl = 86400;
	lim->nodata_ttl = 300;
}

/* limits - lim with its zero fields defaulted, in out; 0, or -1 if bad */
static int
limits(const struct hints_limits *lim, struct hints_limits *out)
{
	struct hints_limits d;

	hints_limits_default(&d);
	if (lim == NULL) {
		*out = d;
		return 0;
	}
	*out = *lim;
	if (out->max_entries == 0)
		out->max_entries = d.max_entries;
	if (out->min_ttl == 0)
		out->min_ttl = d.min_ttl;
	if (out->max_ttl == 0)
		out->max_ttl = d.max_ttl;
	if (out->nodata_ttl == 0)
		out->nodata_ttl = d.nodata_ttl;
	if (out->max_entries > HINTS_MAX_ENTRIES || out->min_ttl > out->max_ttl)
		return -1;
	return 0;
}

/* hints_new - an empty map within lim (NULL: the defaults) */
struct hints *
hints_new(const struct hints_limits *lim)
{
	struct hints *h;
	uint32_t nb = 1, cap;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if (limits(lim, &h->lim) < 0) {
		free(h);
		errno = EINVAL;
		return NULL;
	}
	cap = h->lim.max_entries;
	while (nb < 2 * cap)
		nb <<= 1;
	h->mask = nb - 1;
	h->e = calloc(cap, sizeof(*h->e));
	h->kb = malloc(nb * sizeof(*h->kb));
	h->vb = malloc(nb * sizeof(*h->vb));
	if (h->e == NULL || h->kb == NULL || h->vb == NULL) {
		hints_free(h);
		errno = ENOMEM;
		return NULL;
	}
	memset(h->kb, 0xff, nb * sizeof(*h->kb));
	memset(h->vb, 0xff, nb * sizeof(*h->vb));
	for (uint32_t i = 0; i < cap; i++)
		h->e[i].knext = i + 1 < cap ? i + 1 : NIL;
	h->free = 0;
	h->oldest = h->newest = NIL;
	return h;
}

/* hints_free - the map and all it holds */
void
hints_free(struct hints *h)
{
	if (h == NULL)
		return;
	free(h->e);
	free(h->kb);
	free(h->vb);
	free(h);
}

/* age_unlink - take slot i out of the age list */
static void
age_unlink(struct hints *h, uint32_t i)
{
	struct hent *e = &h->e[i];

	if (e->older != NIL)
		h->e[e->older].newer = e->newer;
	else
		h->oldest = e->newer;
	if (e->newer != NIL)
		h->e[e->newer].older = e->older;
	else
		h->newest = e->older;
}

/* age_push - make slot i the newest */
static void
age_push(struct hints *h, uint32_t i)
{
	struct hent *e = &h->e[i];

	e->older = h->newest;
	e->newer = NIL;
	if (h->newest != NIL)
		h->e[h->newest].newer = i;
	else
		h->oldest = i;
	h->newest = i;
}

/* ent_remove - free slot i, counted as expired or evicted */
static void
ent_remove(struct hints *h, uint32_t i, int expired)
{
	struct hent *e = &h->e[i];

	if (e->kprev != NIL)
		h->e[e->kprev].knext = e->knext;
	else
		h->kb[e->khash & h->mask] = e->knext;
	if (e->knext != NIL)
		h->e[e->knext].kprev = e->kprev;
	if (e->vprev != NIL)
		h->e[e->vprev].vnext = e->vnext;
	else
		h->vb[e->vhash & h->mask] = e->vnext;
	if (e->vnext != NIL)
		h->e[e->vnext].vprev = e->vprev;
	age_unlink(h, i);
	e->kind = 0;
	e->knext = h->free;
	h->free = i;
	h->st.entries--;
	if (expired)
		h->st.expired++;
	else
		h->st.evicted++;
}

/* ent_insert - a new entry for p, expiring at exp (evicts at the cap) */
static void
ent_insert(struct hints *h, const struct hprobe *p, uint64_t kh, uint64_t vh, double exp,
    double now)
{
	uint32_t i, *kb, *vb;
	struct hent *e;

	if (h->free == NIL)
		ent_remove(h, h->oldest, h->e[h->oldest].expires <= now);
	i = h->free;
	e = &h->e[i];
	h->free = e->knext;
	e->kind = p->kind;
	e->mta = *p->mta;
	memset(&e->addr, 0, sizeof(e->addr));
	if (p->kind == HK_ADDR)
		e->addr = *p->addr;
	strcpy(e->owner, p->owner);	/* each checked under DNSMSG_NAME_MAX */
	strcpy(e->target, p->kind == HK_MX || p->kind == HK_CNAME ? p->target : "");
	e->khash = kh;
	e->vhash = vh;
	e->expires = exp;
	kb = &h->kb[kh & h->mask];
	vb = &h->vb[vh & h->mask];
	e->kprev = e->vprev = NIL;
	e->knext = *kb;
	e->vnext = *vb;
	if (*kb != NIL)
		h->e[*kb].kprev = i;
	if (*vb != NIL)
		h->e[*vb].vprev = i;
	*kb = *vb = i;
	age_push(h, i);
	h->st.entries++;
	h->st.learned++;
}

/* find_key - the unexpired entry p describes, or NIL; removes expired ones met */
static uint32_t
find_key(struct hints *h, const struct hprobe *p, uint64_t kh, double now)
{
	uint32_t i = h->kb[kh & h->mask], next;
	int work = 0;

	for (; i != NIL && work < HINTS_WALK_MAX; i = next, work++) {
		next = h->e[i].knext;
		if (h->e[i].expires <= now)
			ent_remove(h, i, 1);
		else if (h->e[i].khash == kh && ent_kmatch(&h->e[i], p))
			return i;
	}
	return NIL;
}

/* learn_one - add or refresh the entry p, for ttl seconds (clamped) */
static void
learn_one(struct hints *h, const struct hprobe *p, uint32_t ttl, double now)
{
	uint64_t kh = hash_of(h, p, 1), vh = hash_of(h, p, 0);
	uint32_t i;
	double exp;

	if (ttl < h->lim.min_ttl)
		ttl = h->lim.min_ttl;
	if (ttl > h->lim.max_ttl)
		ttl = h->lim.max_ttl;
	exp = now + ttl;
	if ((i = find_key(h, p, kh, now)) != NIL) {
		h->e[i].expires = exp;
		age_unlink(h, i);
		age_push(h, i);
		h->st.refreshed++;
		return;
	}
	ent_insert(h, p, kh, vh, exp, now);
}

/* drop_nomx - forget that p->owner has no MX (an MX for it was learnt) */
static void
drop_nomx(struct hints *h, const struct haddr *mta, const char *domain, double now)
{
	struct hprobe q = { .kind = HK_NOMX, .mta = mta, .owner = domain };
	uint32_t i = find_key(h, &q, hash_of(h, &q, 1), now);

	if (i != NIL)
		ent_remove(h, i, 1);
}

/* name_ok - a name from the parser, NUL-terminated in its field */
static int
name_ok(const char *s)
{
	return memchr(s, '\0', DNSMSG_NAME_MAX) != NULL;
}

/* learn_rr - learn one answer record */
static void
learn_rr(struct hints *h, const struct haddr *mta, const struct dnsmsg_rr *rr, double now)
{
	struct haddr a = { 0 };
	struct hprobe p = { .mta = mta, .addr = &a, .owner = rr->owner, .target = rr->target };

	if (!name_ok(rr->owner) || !name_ok(rr->target))
		return;
	switch (rr->type) {
	case DNSMSG_MX:
		if (rr->target[0] == '\0')	/* null MX, RFC 7505 */
			return;
		p.kind = HK_MX;
		drop_nomx(h, mta, rr->owner, now);
		break;
	case DNSMSG_CNAME:
		p.kind = HK_CNAME;
		break;
	case DNSMSG_A:
	case DNSMSG_AAAA:
		norm_ip(rr->addr, rr->type == DNSMSG_AAAA, &a);
		p.kind = HK_ADDR;
		break;
	default:
		return;
	}
	learn_one(h, &p, rr->ttl, now);
}

/* hints_learn - learn what one DNS answer to mta says (hints.h) */
void
hints_learn(struct hints *h, const struct sockaddr_storage *mta, const struct dnsmsg *m,
    double now)
{
	struct haddr ma;
	int nrr, nmx = 0;

	if (h == NULL || m == NULL || m->rcode != 0 || norm(mta, &ma) < 0)
		return;
	nrr = m->nrr < 0 ? 0 : m->nrr > DNSMSG_MAX_RR ? DNSMSG_MAX_RR : m->nrr;
	for (int i = 0; i < nrr; i++) {
		learn_rr(h, &ma, &m->rr[i], now);
		nmx += m->rr[i].type == DNSMSG_MX;
	}
	if (nmx == 0 && m->qtype == DNSMSG_MX && m->qclass == 1 && name_ok(m->qname)
	    && m->qname[0] != '\0') {
		struct hprobe p = { .kind = HK_NOMX, .mta = &ma, .owner = m->qname };

		learn_one(h, &p, h->lim.nodata_ttl, now);
	}
}

/* the names met in one lookup, each once */
struct nameset {
	const char *n[HINTS_NAMES_MAX];
	int depth[HINTS_NAMES_MAX];
	int len;
};

/* set_add - add s at depth d unless it is there or the set is full */
static void
set_add(struct nameset *s, const char *name, int d)
{
	for (int i = 0; i < s->len; i++)
		if (strcmp(s->n[i], name) == 0)
			return;
	if (s->len < HINTS_NAMES_MAX) {
		s->n[s->len] = name;
		s->depth[s->len++] = d;
	}
}

/* walk - call each unexpired entry matching value lookup p, newest first */
static void
walk(struct hints *h, const struct hprobe *p, double now, int *work,
    int (*fn)(const struct hent *, void *), void *arg)
{
	uint64_t vh = hash_of(h, p, 0);
	uint32_t i = h->vb[vh & h->mask], next;

	for (; i != NIL && *work < HINTS_WALK_MAX; i = next, (*work)++) {
		next = h->e[i].vnext;
		if (h->e[i].expires <= now)
			ent_remove(h, i, 1);	/* its strings stay until a learn */
		else if (h->e[i].vhash == vh && ent_vmatch(&h->e[i], p) && fn(&h->e[i], arg))
			return;
	}
}

struct collect {
	struct nameset *set;
	int depth;
	char (*out)[DNSMSG_NAME_MAX];
	int n, max;
};

/* got_name - a name of dest, or an alias of one; 1: the set is full */
static int
got_name(const struct hent *e, void *arg)
{
	struct collect *c = arg;

	set_add(c->set, e->owner, c->depth);
	return c->set->len == HINTS_NAMES_MAX;
}

/* got_domain - a domain for the answer, once; 1: out[] is full */
static int
got_domain(const struct hent *e, void *arg)
{
	struct collect *c = arg;

	for (int i = 0; i < c->n; i++)
		if (strcmp(c->out[i], e->owner) == 0)
			return 0;
	if (c->n < c->max) {
		memcpy(c->out[c->n], e->owner, DNSMSG_NAME_MAX);
		c->out[c->n++][DNSMSG_NAME_MAX - 1] = '\0';
	}
	return c->n == c->max;
}

/* dest_names - dest's names for mta, then their aliases, into c->set */
static void
dest_names(struct hints *h, struct hprobe *p, struct collect *c, double now, int *work)
{
	struct nameset *set = c->set;

	p->kind = HK_ADDR;
	walk(h, p, now, work, got_name, c);
	for (int i = 0; i < set->len; i++) {	/* the set grows: breadth first */
		if (set->depth[i] >= HINTS_CNAME_MAX)
			continue;
		p->kind = HK_CNAME;
		p->target = set->n[i];
		c->depth = set->depth[i] + 1;
		walk(h, p, now, work, got_name, c);
	}
}

/* hints_domains - the domains dest serves for mta (hints.h) */
int
hints_domains(struct hints *h, const struct sockaddr_storage *mta,
    const struct sockaddr_storage *dest, double now, char out[][DNSMSG_NAME_MAX], int max)
{
	struct haddr ma, da;
	struct nameset set = { .len = 0 };
	struct collect c = { .set = &set, .out = out, .max = max };
	struct hprobe p = { .mta = &ma, .addr = &da };
	int work = 0;

	if (h == NULL)
		return 0;
	h->st.lookups++;
	if (max <= 0 || out == NULL || norm(mta, &ma) < 0 || norm(dest, &da) < 0)
		return 0;
	dest_names(h, &p, &c, now, &work);
	for (int i = 0; i < set.len && c.n < max; i++) {
		p.kind = HK_MX;			/* domains with an MX naming it */
		p.target = set.n[i];
		walk(h, &p, now, &work, got_domain, &c);
		p.kind = HK_NOMX;		/* itself, seen to have no MX */
		p.owner = set.n[i];
		walk(h, &p, now, &work, got_domain, &c);
	}
	h->st.hits += c.n > 0;
	h->st.ambiguous += c.n > 1;
	return c.n;
}

/* hints_expire - sweep the next max_work slots for expired entries */
int
hints_expire(struct hints *h, double now, int max_work)
{
	int n = 0;

	if (h == NULL)
		return 0;
	for (int k = 0; k < max_work; k++) {
		uint32_t i = h->hand;

		h->hand = i + 1 < h->lim.max_entries ? i + 1 : 0;
		if (h->e[i].kind != 0 && h->e[i].expires <= now) {
			ent_remove(h, i, 1);
			n++;
		}
	}
	return n;
}

/* hints_stats - a copy of the counters */
void
hints_stats(const struct hints *h, struct hints_stats *st)
{
	if (h == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = h->st;
}
