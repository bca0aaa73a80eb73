/*
 * agg.c - one UTC day of attempt records into RFC 8460 reports, pure:
 * the counting (render.c writes a report out).  See agg.h for the
 * interface; this comment records the choices that the header leaves
 * open.
 *
 * LOOKUP
 *	Reports live in one array, each report's policies in an array of
 *	its own, each policy's failure details likewise.  Three open-
 *	addressing hash indexes (report domain; report and policy key;
 *	policy and failure key) map a key to array positions, so that
 *	agg_add() costs O(length of the record) whatever the number of
 *	domains.  agg_finish() sorts the arrays, which leaves the indexes
 *	stale; an agg_add() after agg_finish() rebuilds them first (and
 *	another agg_finish() is then needed).
 *
 * GROUPING
 *	Domain names (the report domain, policy-domain, the MX host) are
 *	compared and reported in lower case, without a trailing dot
 *	(dname_norm()).  A report domain must be a host name as the DNS may
 *	hold it (dname_dns_ok(): letters, digits, `-' not at a label's end,
 *	`_', dots between non-empty labels of at most 63 characters, at most
 *	253); a record whose domain is not counts as naming no domain (0).
 *	This also keeps `/' and `!' out of agg_filename().  A record whose
 *	policy type is not tlsa, sts or no-policy-found, or whose result
 *	type is not a word of rtype.h, is not counted either (0): RFC 8460
 *	knows no other, and a report must not carry it (a journal line with
 *	such a word never gets here: record.c refuses it).  Result type `connection-failure'
 *	is not counted (agg.h), nor is an attempt the admin's policy table
 *	decided (a policy-table entry in the record): a local override is no
 *	published policy, and tested none.  Within the program the types are enums
 *	(rtype.h); only the order below goes by their words.
 *
 *	Policy strings are a list (LF-separated, empty items dropped).  For
 *	tlsa they are a set: sorted and without duplicates, since DNS gives
 *	an RRset in any order.  For sts they keep their order (the policy
 *	file's lines), as do sts mx patterns.  For no-policy-found the
 *	strings are ignored and not rendered.
 *
 *	An MX host that is also a report domain of the day (mail went to
 *	that host's own domain too) gets one report, not two: both would
 *	go to the same _smtp._tls address under the same report-id.  Its
 *	per_host is 1 only while every record in it came from the per-host
 *	rule.
 *
 * ORDER (agg_finish)
 *	Reports by domain.  Policies by policy-domain, policy-type (its
 *	word), mx-host list, policy strings.  Failure details by result type
 *	(its word), then by
 *	failed-session-count (largest first), then by sending IP, receiving
 *	MX host name, HELO, receiving IP and reason code.  Each is a total
 *	order over distinct keys, so the result does not depend on the
 *	order of the adds.  Entries left empty by an agg_add() that ran out
 *	of memory half-way are dropped here.
 *
 * DIAGNOSTICS
 *	None logged (pure).  agg_add() returns -1 only when memory runs
 *	out, leaving the counts as they were.
 *
 * SEE ALSO
 *	render.c, the JSON, the report-id, the file name and gzip.
 *	RFC 8460 (SMTP TLS Reporting) sections 4 and 5.1.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/dname.h"
#include "agg.h"

#define LIST_BUF	(REC_LIST + 2)	/* a canonical list: input + LF + NUL */
#define MAX_ITEMS	(REC_LIST / 2)	/* one byte and one LF each */

/* One hash index slot: array positions; rep < 0 marks a free slot. */
struct slot {
	uint64_t h;
	int rep, pol, fail;
};

struct index {
	struct slot *s;
	size_t cap;			/* 0 or a power of two */
	size_t used;
};

struct agg {
	long long day;
	struct agg_report *reps;
	int nreps, capreps;
	struct index ireps, ipols, ifails;
	int stale;			/* sorted since the indexes were built */
};

/* A lookup key: what a record says, normalised. */
struct key {
	int rep, pol;			/* the parent entries */
	const char *domain;		/* report domain and policy-domain */
	enum ptype ptype;
	const char *policy, *mxhost;
	enum rtype result;		/* RTYPE_SUCCESS: no failure detail */
	const char *src, *mx, *helo, *ip, *reason;
};

/* hash_str - mix one NUL-terminated field into h, 8 bytes at a time */
static uint64_t
hash_str(uint64_t h, const char *s)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	size_t n = strlen(s);
	uint64_t w;

	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w ^ ((uint64_t) n << 56)) * k;
	return h ^ (h >> 32);
}

/* hash_int - mix one array position into h */
static uint64_t
hash_int(uint64_t h, int v)
{
	h = (h ^ (uint64_t) (unsigned) v) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

/* hash_rep, hash_pol, hash_fail - the three kinds of key */
static uint64_t
hash_rep(const struct key *k)
{
	return hash_str(1, k->domain);
}

static uint64_t
hash_pol(const struct key *k)
{
	uint64_t h = hash_int(2, k->rep);

	h = hash_int(h, (int) k->ptype);
	h = hash_str(h, k->policy);
	h = hash_str(h, k->domain);
	return hash_str(h, k->mxhost);
}

static uint64_t
hash_fail(const struct key *k)
{
	uint64_t h = hash_int(hash_int(3, k->rep), k->pol);

	h = hash_int(h, (int) k->result);
	h = hash_str(h, k->src);
	h = hash_str(h, k->mx);
	h = hash_str(h, k->helo);
	h = hash_str(h, k->ip);
	return hash_str(h, k->reason);
}

/* pol_key, fail_key - the key of a stored entry (for re-indexing) */
static void
pol_key(const struct agg_policy *p, int rep, struct key *k)
{
	memset(k, 0, sizeof(*k));
	k->rep = rep;
	k->ptype = p->type;
	k->policy = p->policy;
	k->domain = p->domain;
	k->mxhost = p->mxhost;
}

static void
fail_key(const struct agg_fail *f, int rep, int pol, struct key *k)
{
	memset(k, 0, sizeof(*k));
	k->rep = rep;
	k->pol = pol;
	k->result = f->type;
	k->src = f->src;
	k->mx = f->mx;
	k->helo = f->helo;
	k->ip = f->ip;
	k->reason = f->reason;
}

/* eq_rep, eq_pol, eq_fail - does a slot hold this key */
static int
eq_rep(const struct agg *a, const struct slot *s, const struct key *k)
{
	return strcmp(a->reps[s->rep].domain, k->domain) == 0;
}

static int
eq_pol(const struct agg *a, const struct slot *s, const struct key *k)
{
	const struct agg_policy *p = &a->reps[s->rep].pols[s->pol];

	return s->rep == k->rep && p->type == k->ptype
	    && strcmp(p->domain, k->domain) == 0 && strcmp(p->mxhost, k->mxhost) == 0
	    && strcmp(p->policy, k->policy) == 0;
}

static int
eq_fail(const struct agg *a, const struct slot *s, const struct key *k)
{
	const struct agg_fail *f = &a->reps[s->rep].pols[s->pol].fails[s->fail];

	return s->rep == k->rep && s->pol == k->pol && f->type == k->result
	    && strcmp(f->src, k->src) == 0 && strcmp(f->ip, k->ip) == 0
	    && strcmp(f->mx, k->mx) == 0 && strcmp(f->helo, k->helo) == 0
	    && strcmp(f->reason, k->reason) == 0;
}

/* idx_room - make sure one more entry keeps the load at most 1/2 */
static int
idx_room(struct index *x)
{
	struct slot *ns;
	size_t ncap;

	if ((x->used + 1) * 2 <= x->cap)
		return 0;
	ncap = x->cap ? x->cap * 2 : 64;
	if ((ns = malloc(ncap * sizeof(*ns))) == NULL)
		return -1;
	for (size_t i = 0; i < ncap; i++)
		ns[i].rep = -1;
	for (size_t i = 0; i < x->cap; i++) {
		size_t j;

		if (x->s[i].rep < 0)
			continue;
		for (j = x->s[i].h & (ncap - 1); ns[j].rep >= 0; j = (j + 1) & (ncap - 1))
			;
		ns[j] = x->s[i];
	}
	free(x->s);
	x->s = ns;
	x->cap = ncap;
	return 0;
}

/* idx_find - the slot holding the key, or the free slot for it */
static struct slot *
idx_find(const struct agg *a, const struct index *x, uint64_t h,
    int (*eq)(const struct agg *, const struct slot *, const struct key *),
    const struct key *k)
{
	size_t m = x->cap - 1;

	for (size_t i = h & m;; i = (i + 1) & m) {
		struct slot *s = &x->s[i];

		if (s->rep < 0 || (s->h == h && eq(a, s, k)))
			return s;
	}
}

/* idx_lookup - with room for one more, the slot of the key: 1 when it
 * holds the key, 0 when it is the free slot for it; -1: no memory */
static int
idx_lookup(const struct agg *a, struct index *x, uint64_t h,
    int (*eq)(const struct agg *, const struct slot *, const struct key *),
    const struct key *k, struct slot **s)
{
	if (idx_room(x) < 0)
		return -1;
	*s = idx_find(a, x, h, eq, k);
	return (*s)->rep >= 0;
}

/* idx_take - fill the free slot s with an entry's positions */
static void
idx_take(struct index *x, struct slot *s, uint64_t h, int rep, int pol, int fail)
{
	s->h = h;
	s->rep = rep;
	s->pol = pol;
	s->fail = fail;
	x->used++;
}

/* idx_put - index an entry known to be absent; -1: no memory */
static int
idx_put(struct index *x, uint64_t h, int rep, int pol, int fail)
{
	size_t m, i;

	if (idx_room(x) < 0)
		return -1;
	m = x->cap - 1;
	for (i = h & m; x->s[i].rep >= 0; i = (i + 1) & m)
		;
	idx_take(x, &x->s[i], h, rep, pol, fail);
	return 0;
}

/* idx_clear - forget every entry, keep the storage */
static void
idx_clear(struct index *x)
{
	for (size_t i = 0; i < x->cap; i++)
		x->s[i].rep = -1;
	x->used = 0;
}

/* grow_pow2 - room for element n of an array whose size follows n */
static int
grow_pow2(void **arr, int n, size_t size)
{
	void *p;
	size_t cap;

	if (n != 0 && (n & (n - 1)) != 0)
		return 0;			/* capacity is the next power of 2 */
	cap = n ? (size_t) n * 2 : 1;
	if (n > 0x3fffffff || (p = realloc(*arr, cap * size)) == NULL)
		return -1;
	*arr = p;
	return 0;
}

/* new_elem - element n of an array whose size follows n, zeroed; NULL
 * when there is no memory (the array is as it was) */
static void *
new_elem(void **arr, int n, size_t size)
{
	char *e;

	if (grow_pow2(arr, n, size) < 0)
		return NULL;
	e = (char *) *arr + (size_t) n * size;
	memset(e, 0, size);
	return e;
}

/* make_rep - a new report for k->domain: its position; -1: no memory */
static int
make_rep(struct agg *a, const struct key *k)
{
	struct agg_report *r;

	if (a->nreps == a->capreps) {
		int ncap = a->capreps ? a->capreps * 2 : 64;
		void *p;

		if (a->capreps > 0x3fffffff || (p = realloc(a->reps, (size_t) ncap * sizeof(*r))) == NULL)
			return -1;
		a->reps = p;
		a->capreps = ncap;
	}
	r = &a->reps[a->nreps];
	memset(r, 0, sizeof(*r));
	memcpy(r->domain, k->domain, strlen(k->domain) + 1);
	r->per_host = 1;			/* until a record of its own */
	return a->nreps++;
}

/* make_pol - a new policy for the key in report k->rep */
static int
make_pol(struct agg *a, const struct key *k)
{
	struct agg_report *r = &a->reps[k->rep];
	struct agg_policy *p;

	if ((p = new_elem((void **) &r->pols, r->npols, sizeof(*p))) == NULL)
		return -1;
	if ((p->policy = strdup(k->policy)) == NULL || (p->mxhost = strdup(k->mxhost)) == NULL) {
		free(p->policy);
		return -1;
	}
	p->type = k->ptype;
	p->ptype = ptype_str(k->ptype);
	memcpy(p->domain, k->domain, strlen(k->domain) + 1);
	return r->npols++;
}

/* make_fail - a new failure detail for the key in policy k->pol */
static int
make_fail(struct agg *a, const struct key *k)
{
	struct agg_policy *p = &a->reps[k->rep].pols[k->pol];
	struct agg_fail *f;

	if ((f = new_elem((void **) &p->fails, p->nfails, sizeof(*f))) == NULL)
		return -1;
	f->type = k->result;
	f->result = rtype_str(k->result);
	memcpy(f->src, k->src, strlen(k->src) + 1);
	memcpy(f->mx, k->mx, strlen(k->mx) + 1);
	memcpy(f->helo, k->helo, strlen(k->helo) + 1);
	memcpy(f->ip, k->ip, strlen(k->ip) + 1);
	memcpy(f->reason, k->reason, strlen(k->reason) + 1);
	return p->nfails++;
}

/* The three levels of entries, each with its index: reports by domain,
 * the policies of a report, the failure details of a policy. */
enum level { L_REP, L_POL, L_FAIL };

static const struct kind {
	uint64_t (*hash)(const struct key *);
	int (*eq)(const struct agg *, const struct slot *, const struct key *);
	int (*make)(struct agg *, const struct key *);
	size_t index;			/* offsetof(struct agg, the index) */
} kinds[] = {
	[L_REP] = {hash_rep, eq_rep, make_rep, offsetof(struct agg, ireps)},
	[L_POL] = {hash_pol, eq_pol, make_pol, offsetof(struct agg, ipols)},
	[L_FAIL] = {hash_fail, eq_fail, make_fail, offsetof(struct agg, ifails)},
};

/* get - the position of the level-l entry for key k (its parents in
 * k->rep, k->pol), made and indexed when new; -1: no memory */
static int
get(struct agg *a, enum level l, const struct key *k)
{
	const struct kind *kd = &kinds[l];
	struct index *x = (struct index *) (void *) ((char *) a + kd->index);
	uint64_t h = kd->hash(k);
	struct slot *s;
	int found = idx_lookup(a, x, h, kd->eq, k, &s), n;

	if (found != 0)
		return found < 0 ? -1 : l == L_REP ? s->rep : l == L_POL ? s->pol : s->fail;
	if ((n = kd->make(a, k)) < 0)
		return -1;
	idx_take(x, s, h, l == L_REP ? n : k->rep, l == L_POL ? n : l == L_FAIL ? k->pol : -1,
	    l == L_FAIL ? n : -1);
	return n;
}

/* reindex - rebuild the indexes after agg_finish() moved entries */
static int
reindex(struct agg *a)
{
	struct key k;

	idx_clear(&a->ireps);
	idx_clear(&a->ipols);
	idx_clear(&a->ifails);
	for (int i = 0; i < a->nreps; i++) {
		struct agg_report *r = &a->reps[i];

		memset(&k, 0, sizeof(k));
		k.domain = r->domain;
		if (idx_put(&a->ireps, hash_rep(&k), i, -1, -1) < 0)
			return -1;
		for (int j = 0; j < r->npols; j++) {
			pol_key(&r->pols[j], i, &k);
			if (idx_put(&a->ipols, hash_pol(&k), i, j, -1) < 0)
				return -1;
			for (int f = 0; f < r->pols[j].nfails; f++) {
				fail_key(&r->pols[j].fails[f], i, j, &k);
				if (idx_put(&a->ifails, hash_fail(&k), i, j, f) < 0)
					return -1;
			}
		}
	}
	a->stale = 0;
	return 0;
}

struct item {
	const char *p;
	size_t n;
};

/* item_cmp - items in byte order, a prefix first */
static int
item_cmp(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	int c = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);

	return c ? c : (a->n > b->n) - (a->n < b->n);
}

/* list_canon - a list with each item LF-ended; as a set when sorted */
static void
list_canon(const char *in, char *out, size_t size, int as_set)
{
	struct item items[MAX_ITEMS + 1];
	size_t n = 0, w = 0;

	while (*in) {
		const char *nl = strchr(in, '\n');
		size_t len = nl ? (size_t) (nl - in) : strlen(in);

		if (len > 0 && n < MAX_ITEMS + 1) {
			items[n].p = in;
			items[n].n = len;
			n++;
		}
		in += len + (nl ? 1 : 0);
	}
	if (as_set && n > 1)
		qsort(items, n, sizeof(items[0]), item_cmp);
	for (size_t i = 0; i < n; i++) {
		if (as_set && i > 0 && item_cmp(&items[i - 1], &items[i]) == 0)
			continue;
		if (size - w < items[i].n + 2)
			break;			/* cannot happen: out is as big as in + 2 */
		memcpy(out + w, items[i].p, items[i].n);
		w += items[i].n;
		out[w++] = '\n';
	}
	out[w] = 0;
}

/* count_into - find or create the entries of one key; -1: no memory */
static int
count_into(struct agg *a, struct key *k, int *ids)
{
	if ((k->rep = get(a, L_REP, k)) < 0 || (k->pol = get(a, L_POL, k)) < 0)
		return -1;
	ids[0] = k->rep;
	ids[1] = k->pol;
	ids[2] = -1;
	if (k->result != RTYPE_SUCCESS && (ids[2] = get(a, L_FAIL, k)) < 0)
		return -1;
	return 0;
}

/* bump - count one session into the entries found by count_into() */
static void
bump(struct agg *a, const int *ids, int per_host)
{
	struct agg_report *r = &a->reps[ids[0]];
	struct agg_policy *p = &r->pols[ids[1]];

	if (!per_host)
		r->per_host = 0;
	if (ids[2] < 0) {
		r->ok++;
		p->ok++;
	} else {
		r->failed++;
		p->failed++;
		p->fails[ids[2]].count++;
	}
}

/* agg_new - an empty aggregate for the UTC day starting at day */
struct agg *
agg_new(long long day)
{
	struct agg *a = calloc(1, sizeof(*a));

	if (a != NULL)
		a->day = day;
	return a;
}

/* One record's key strings, normalised. */
struct norm {
	char dom[REC_NAME];
	char mx[REC_NAME];
	char pol[LIST_BUF];
	char mxl[LIST_BUF];
};

/* rec_key - the normalised key of a record; 0 when it is not counted */
static int
rec_key(const struct rec *r, long long day, struct norm *n, struct key *k)
{
	enum ptype pt;
	enum rtype rt;

	/* The admin's policy table decided: no published policy was tried. */
	if (r->table[0])
		return 0;
	if (r->time < day || r->time - day >= 86400 || ptype_parse(r->ptype, &pt) < 0
	    || rtype_parse(r->result, &rt) < 0 || !rtype_is_reported(rt))
		return 0;
	dname_norm(n->dom, sizeof(n->dom), r->domain);
	if (!dname_dns_ok(n->dom, strlen(n->dom)))
		return 0;
	dname_norm(n->mx, sizeof(n->mx), r->mx);
	if (pt == PTYPE_NO_POLICY_FOUND)
		n->pol[0] = 0;
	else
		list_canon(r->policy, n->pol, sizeof(n->pol), pt == PTYPE_TLSA);
	list_canon(pt == PTYPE_STS ? r->mxpat : n->mx, n->mxl, sizeof(n->mxl), 0);

	memset(k, 0, sizeof(*k));
	k->domain = n->dom;
	k->ptype = pt;
	k->policy = n->pol;
	k->mxhost = n->mxl;
	k->result = rt;
	if (rt != RTYPE_SUCCESS) {
		k->src = r->src;
		k->mx = n->mx;
		k->helo = r->helo;
		k->ip = r->ip;
		k->reason = r->reason;
	}
	return 1;
}

/* agg_add - count one record; 1 counted, 0 not for us, -1 no memory */
int
agg_add(struct agg *a, const struct rec *r)
{
	struct norm n;
	struct key k, hk;
	int ids[3], hids[3], per_host;

	if (!rec_key(r, a->day, &n, &k))
		return 0;
	if (a->stale && reindex(a) < 0)
		return -1;
	if (count_into(a, &k, ids) < 0)
		return -1;

	/*
	 * DANE results also go to the MX host's own report (RFC 8460 3),
	 * where the MX host is the policy-domain and the mx-host both.
	 */
	per_host = k.ptype == PTYPE_TLSA && dname_dns_ok(n.mx, strlen(n.mx))
	    && strcmp(n.mx, n.dom) != 0;
	if (per_host) {
		hk = k;
		hk.domain = n.mx;
		if (count_into(a, &hk, hids) < 0)
			return -1;
	}
	/* Everything exists now: counting cannot fail half-way. */
	bump(a, ids, 0);
	if (per_host)
		bump(a, hids, 1);
	return 1;
}

/* cmp_rep, cmp_pol, cmp_fail - the agg_finish() order */
static int
cmp_rep(const void *x, const void *y)
{
	const struct agg_report *a = x, *b = y;

	return strcmp(a->domain, b->domain);
}

static int
cmp_pol(const void *x, const void *y)
{
	const struct agg_policy *a = x, *b = y;
	int c;

	if ((c = strcmp(a->domain, b->domain)) != 0 || (c = strcmp(a->ptype, b->ptype)) != 0
	    || (c = strcmp(a->mxhost, b->mxhost)) != 0)
		return c;
	return strcmp(a->policy, b->policy);
}

static int
cmp_fail(const void *x, const void *y)
{
	const struct agg_fail *a = x, *b = y;
	int c;

	if ((c = strcmp(a->result, b->result)) != 0)
		return c;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if ((c = strcmp(a->src, b->src)) != 0 || (c = strcmp(a->mx, b->mx)) != 0
	    || (c = strcmp(a->helo, b->helo)) != 0 || (c = strcmp(a->ip, b->ip)) != 0)
		return c;
	return strcmp(a->reason, b->reason);
}

/* prune_pol - drop failure details that an interrupted add left at 0 */
static void
prune_pol(struct agg_policy *p)
{
	int w = 0;

	for (int i = 0; i < p->nfails; i++)
		if (p->fails[i].count > 0)
			p->fails[w++] = p->fails[i];
	p->nfails = w;
}

/* prune_rep - drop policies that an interrupted add left empty */
static void
prune_rep(struct agg_report *r)
{
	int w = 0;

	for (int i = 0; i < r->npols; i++) {
		struct agg_policy *p = &r->pols[i];

		if (p->ok + p->failed == 0) {
			free(p->policy);
			free(p->mxhost);
			free(p->fails);
			continue;
		}
		prune_pol(p);
		r->pols[w++] = *p;
	}
	r->npols = w;
}

/* free_rep - a report's storage */
static void
free_rep(struct agg_report *r)
{
	for (int i = 0; i < r->npols; i++) {
		free(r->pols[i].policy);
		free(r->pols[i].mxhost);
		free(r->pols[i].fails);
	}
	free(r->pols);
}

/* agg_finish - stable order, empty entries dropped */
void
agg_finish(struct agg *a)
{
	int w = 0;

	for (int i = 0; i < a->nreps; i++) {
		struct agg_report *r = &a->reps[i];

		prune_rep(r);
		if (r->npols == 0) {
			free_rep(r);
			continue;
		}
		for (int j = 0; j < r->npols; j++)
			if (r->pols[j].nfails > 1)
				qsort(r->pols[j].fails, (size_t) r->pols[j].nfails,
				    sizeof(struct agg_fail), cmp_fail);
		if (r->npols > 1)
			qsort(r->pols, (size_t) r->npols, sizeof(struct agg_policy), cmp_pol);
		a->reps[w++] = *r;
	}
	a->nreps = w;
	if (a->nreps > 1)
		qsort(a->reps, (size_t) a->nreps, sizeof(struct agg_report), cmp_rep);
	a->stale = 1;
}

/* agg_count - number of reports */
int
agg_count(const struct agg *a)
{
	return a->nreps;
}

/* agg_get - report i, or NULL */
const struct agg_report *
agg_get(const struct agg *a, int i)
{
	return i >= 0 && i < a->nreps ? &a->reps[i] : NULL;
}

/* agg_free - everything */
void
agg_free(struct agg *a)
{
	if (a == NULL)
		return;
	for (int i = 0; i < a->nreps; i++)
		free_rep(&a->reps[i]);
	free(a->reps);
	free(a->ireps.s);
	free(a->ipols.s);
	free(a->ifails.s);
	free(a);
}
