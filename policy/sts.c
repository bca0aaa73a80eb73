/*
 * sts.c - MTA-STS (RFC 8461), the pure part.  See sts.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/dname.h"
#include "../lib/tags.h"
#include "sts.h"

/* sts_mode_str - for logs and reports */
const char *
sts_mode_str(enum sts_mode m)
{
	return m == STS_MODE_ENFORCE ? "enforce" : m == STS_MODE_TESTING ? "testing" : "none";
}

/* is_ws - the white space RFC 8461 allows around fields */
static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* txt_one - one v=STSv1 record: 1 with id, 0 malformed */
static int
txt_one(const char *t, size_t n, char id[STS_ID_MAX + 1], const char **why)
{
	size_t pos = 0;
	int first = 1, have_id = 0, r;
	struct tag tg;

	while ((r = tag_next(t, n, &pos, &tg, why)) == 1) {
		if (first) {
			if (!tag_is(&tg, "v", 1) || tg.vlen != 5 || memcmp(tg.val, "STSv1", 5) != 0) {
				*why = "v=STSv1 is not the first field";
				return 0;
			}
			first = 0;
			continue;
		}
		if (tag_is(&tg, "id", 2)) {
			if (have_id) {
				*why = "id given twice";
				return 0;
			}
			if (tg.vlen < 1 || tg.vlen > STS_ID_MAX) {
				*why = "id is not 1 to 32 characters";
				return 0;
			}
			for (size_t k = 0; k < tg.vlen; k++)
				if (!isalnum((unsigned char) tg.val[k])) {
					*why = "id is not alphanumeric";
					return 0;
				}
			memcpy(id, tg.val, tg.vlen);
			id[tg.vlen] = 0;
			have_id = 1;
		}
		/* other fields: ignored (RFC 8461 3.1) */
	}
	if (r < 0)
		return 0;
	if (!have_id) {
		*why = "no id field";
		return 0;
	}
	return 1;
}

/* sts_txt_parse - the _mta-sts TXT RRset */
int
sts_txt_parse(const char *const *txt, const size_t *len, int n,
    char id[STS_ID_MAX + 1], const char **why)
{
	int found = 0, ok = 0;
	char tmp[STS_ID_MAX + 1];

	for (int r = 0; r < n; r++) {
		if (len[r] < 7 || memcmp(txt[r], "v=STSv1", 7) != 0
		    || (len[r] > 7 && txt[r][7] != ';' && !is_ws(txt[r][7])))
			continue;		/* not an MTA-STS record */
		if (memchr(txt[r], 0, len[r])) {
			*why = "NUL byte in the TXT record";
			return 0;
		}
		if (++found > 1) {
			*why = "more than one v=STSv1 TXT record";
			return 0;
		}
		ok = txt_one(txt[r], len[r], tmp, why);
	}
	if (found == 0) {
		*why = "no v=STSv1 TXT record";
		return 0;
	}
	if (!ok)
		return 0;
	memcpy(id, tmp, sizeof(tmp));
	return 1;
}

/* valid_pattern - an mx pattern: a host name, or `*.' and a host name;
 * a trailing dot is tolerated */
static int
valid_pattern(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		n -= 2;
	}
	return dname_dns_ok(s, dname_trim_dot(s, n));
}

/* word_is - is the n octets at v exactly the word w? */
static int
word_is(const char *v, size_t n, const char *w)
{
	return n == strlen(w) && memcmp(v, w, n) == 0;
}

/* key_version - `version: STSv1' */
static const char *
key_version(struct sts_policy *p, const char *v, size_t n)
{
	(void) p;
	return word_is(v, n, "STSv1") ? NULL : "version is not STSv1";
}

/* key_mode - `mode: enforce|testing|none', the names sts_mode_str gives */
static const char *
key_mode(struct sts_policy *p, const char *v, size_t n)
{
	static const enum sts_mode modes[] = {
		STS_MODE_ENFORCE, STS_MODE_TESTING, STS_MODE_NONE
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (word_is(v, n, sts_mode_str(modes[i]))) {
			p->mode = modes[i];
			return NULL;
		}
	return "mode is not enforce, testing or none";
}

/* key_max_age - `max_age: SECONDS', at most STS_MAX_AGE */
static const char *
key_max_age(struct sts_policy *p, const char *v, size_t n)
{
	long age = 0;

	_Static_assert(STS_MAX_AGE == 31557600L, "the reason below says 31557600");

	if (n == 0 || n > 10)
		return "max_age is not a number of seconds";
	for (size_t k = 0; k < n; k++) {
		if (!isdigit((unsigned char) v[k]))
			return "max_age is not a number of seconds";
		age = age * 10 + (v[k] - '0');
	}
	if (age > STS_MAX_AGE)
		return "max_age above 31557600";
	p->max_age = age;
	return NULL;
}

/* key_mx - one more `mx: PATTERN', lower case, without a trailing dot */
static const char *
key_mx(struct sts_policy *p, const char *v, size_t n)
{
	_Static_assert(STS_MAX_MX == 32, "the reason below says 32");
	if (!valid_pattern(v, n))
		return "bad mx pattern";
	if (p->nmx >= STS_MAX_MX)
		return "more than 32 mx patterns";
	(void) dname_lower(p->mx[p->nmx], sizeof(p->mx[0]), v, dname_trim_dot(v, n));
	p->nmx++;
	return NULL;
}

/* The keys of section 3.2.  A single one is also required (mx is
 * required unless the mode is none: policy_complete checks it).  A
 * handler takes a value or says what is wrong with it. */
static const struct policy_key {
	const char *name;
	int single;
	const char *(*take)(struct sts_policy *p, const char *v, size_t n);
} policy_keys[] = {
	{"version", 1, key_version},
	{"mode", 1, key_mode},
	{"max_age", 1, key_max_age},
	{"mx", 0, key_mx},
};

#define NKEYS	(sizeof(policy_keys) / sizeof(policy_keys[0]))

struct pline {				/* one `key: value' line */
	int no;				/* its number, from 1 */
	const char *text;		/* the line, trailing white space cut */
	size_t len;
	char key[32];
	const char *val;		/* the value, leading white space cut */
	size_t vlen;
};

/* policy_line - the line at *pos, and *pos past it: 1 with a key and a
 * value, 0 when there is none to take (an empty line, or a key too long
 * to be one of ours), -1 when the line is malformed */
static int
policy_line(const char *body, size_t len, size_t *pos, struct pline *l,
    char *why, size_t whylen)
{
	const char *ln = body + *pos;
	const char *nl = memchr(ln, '\n', len - *pos);
	size_t n = nl ? (size_t) (nl - ln) : len - *pos;
	size_t ke, vs, ve;

	*pos += n + (nl ? 1 : 0);
	if (n > 0 && ln[n - 1] == '\r')
		n--;
	if (memchr(ln, '\r', n)) {
		snprintf(why, whylen, "line %d: bare CR", l->no);
		return -1;
	}
	ve = n;
	while (ve > 0 && is_ws(ln[ve - 1]))
		ve--;
	if (ve == 0)
		return 0;			/* empty line: tolerated */
	for (ke = 0; ke < ve && ln[ke] != ':'; ke++)
		if (!isalnum((unsigned char) ln[ke]) && ln[ke] != '_') {
			snprintf(why, whylen, "line %d: bad key", l->no);
			return -1;
		}
	if (ke == ve || ke == 0) {
		snprintf(why, whylen, "line %d: expected key: value", l->no);
		return -1;
	}
	if (ke >= sizeof(l->key))
		return 0;			/* an unknown key, surely; ignored */
	memcpy(l->key, ln, ke);
	l->key[ke] = 0;
	for (vs = ke + 1; vs < ve && is_ws(ln[vs]); vs++)
		;
	l->text = ln;
	l->len = ve;
	l->val = ln + vs;
	l->vlen = ve - vs;
	return 1;
}

/* keep_line - the line into p->text (for reports), while it fits */
static void
keep_line(struct sts_policy *p, size_t *tl, const struct pline *l)
{
	if (*tl + (l->len + 1) < sizeof(p->text)) {
		memcpy(p->text + *tl, l->text, l->len);
		*tl += l->len;
		p->text[(*tl)++] = '\n';
		p->text[*tl] = 0;
	}
}

/* policy_key - a known key's value into p; unknown keys are ignored
 * (RFC 8461 3.2) */
static int
policy_key(struct sts_policy *p, const struct pline *l, unsigned *seen,
    char *why, size_t whylen)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct policy_key *k = &policy_keys[i];
		const char *bad;

		if (strcmp(l->key, k->name) != 0)
			continue;
		if (k->single && (*seen & (1u << i))) {
			snprintf(why, whylen, "line %d: %s given twice", l->no, k->name);
			return -1;
		}
		if ((bad = k->take(p, l->val, l->vlen)) != NULL) {
			snprintf(why, whylen, "line %d: %s", l->no, bad);
			return -1;
		}
		*seen |= 1u << i;
		return 0;
	}
	return 0;
}

/* policy_complete - the fields every policy needs were there */
static int
policy_complete(const struct sts_policy *p, unsigned seen, char *why,
    size_t whylen)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (policy_keys[i].single && !(seen & (1u << i))) {
			snprintf(why, whylen, "no %s field", policy_keys[i].name);
			return -1;
		}
	if (p->nmx == 0 && p->mode != STS_MODE_NONE) {
		snprintf(why, whylen, "no mx field");
		return -1;
	}
	return 0;
}

/* sts_policy_parse - the policy file */
int
sts_policy_parse(const char *body, size_t len, struct sts_policy *p,
    char *why, size_t whylen)
{
	struct pline l;
	size_t pos = 0, tl = 0;
	unsigned seen = 0;
	int r;

	memset(p, 0, sizeof(*p));
	if (len > STS_BODY_MAX) {
		snprintf(why, whylen, "policy larger than 64 KiB");
		return -1;
	}
	if (memchr(body, 0, len)) {
		snprintf(why, whylen, "NUL byte in the policy");
		return -1;
	}
	for (l.no = 1; pos < len; l.no++) {
		if ((r = policy_line(body, len, &pos, &l, why, whylen)) < 0)
			return -1;
		if (r == 0)
			continue;
		keep_line(p, &tl, &l);
		if (l.no == 1 && strcmp(l.key, "version") != 0) {
			snprintf(why, whylen, "line 1: version must come first");
			return -1;
		}
		if (policy_key(p, &l, &seen, why, whylen) < 0)
			return -1;
	}
	return policy_complete(p, seen, why, whylen);
}

/* sts_pattern_match - exact, or `*.' matching exactly one label */
int
sts_pattern_match(const char *pattern, const char *host)
{
	size_t hl = dname_trim_dot(host, strlen(host));

	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = memchr(host, '.', hl);
		size_t sl = strlen(pattern + 2);

		if (dot == NULL || dot == host)
			return 0;
		return (size_t) (host + hl - (dot + 1)) == sl
		    && strncasecmp(dot + 1, pattern + 2, sl) == 0;
	}
	return strlen(pattern) == hl && strncasecmp(pattern, host, hl) == 0;
}

/* sts_mx_match - does a policy allow this MX host? */
int
sts_mx_match(const struct sts_policy *p, const char *host)
{
	for (int i = 0; i < p->nmx; i++)
		if (sts_pattern_match(p->mx[i], host))
			return 1;
	return 0;
}

/* sts_cache_applies - an unexpired cached policy */
int
sts_cache_applies(const struct sts_entry *e, time_t now)
{
	return e && e->has_policy && now < e->expires;
}

/* sts_cache_step - what to do for a message (RFC 8461 5.1) */
enum sts_step
sts_cache_step(const struct sts_entry *e, enum sts_txt txt, const char *id,
    time_t now, const struct sts_conf *conf)
{
	int applies = sts_cache_applies(e, now);
	/* Failures wait negative_ttl; a new id is fetched at once; the same
	 * id (a refresh) at most once per min_interval. */
	int may_fetch = !e || ((now >= e->fail_until)
	    && (e->last_attempt == 0 || now - e->last_attempt >= conf->min_interval
		|| (id && strcmp(e->id, id) != 0)));

	switch (txt) {
	case STS_TXT_NONE:
		/* A cached `mode: none' lifts when its TXT record goes. */
		if (applies && e->policy.mode == STS_MODE_NONE)
			return STS_DROP;
		return applies ? STS_USE : STS_NONE;
	case STS_TXT_ERROR:
		/* A downgrade attacker cannot remove a cached policy. */
		return applies ? STS_USE : STS_NONE;
	case STS_TXT_FOUND:
		break;
	}
	if (!applies || strcmp(e->id, id) != 0)
		return may_fetch ? STS_FETCH : (applies ? STS_USE : STS_NONE);
	/* Same id: refresh in the background when the fetched copy nears
	 * max_age (extensions keep it applying, not fresh). */
	if (e->fetched + e->policy.max_age - now <= conf->refresh_before && may_fetch)
		return STS_FETCH;
	return STS_EXTEND;
}

/* sts_cache_fetched - a fetch succeeded */
void
sts_cache_fetched(struct sts_entry *e, const char *id,
    const struct sts_policy *p, time_t now)
{
	e->has_policy = 1;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->policy = *p;
	e->fetched = now;
	e->expires = now + p->max_age;
	e->last_attempt = now;
	e->fail_until = 0;
	e->fail_rtype = RTYPE_NONE;
	e->fail_why[0] = 0;
}

/* sts_fail_type - the RFC 8460 type of a policy that could not be had,
 * from its word; RTYPE_NONE when the word is not one of those */
enum rtype
sts_fail_type(const char *name)
{
	enum rtype t;

	return rtype_parse(name, &t) == 0 && rtype_is_sts(t) ? t : RTYPE_NONE;
}

/* sts_cache_set_failure - the failure an entry stands for, one line */
void
sts_cache_set_failure(struct sts_entry *e, enum rtype rtype, const char *why)
{
	size_t w = 0;

	e->fail_rtype = rtype_is_sts(rtype) ? rtype : RTYPE_STS_POLICY_FETCH_ERROR;
	/* The reason goes into a cache file line and log lines: printable
	 * ASCII only (a policy host's header may say anything). */
	for (; why && why[w] && w < sizeof(e->fail_why) - 1; w++)
		e->fail_why[w] = why[w] >= 0x20 && why[w] < 0x7f ? why[w] : '?';
	e->fail_why[w] = 0;
}

/* sts_cache_failed - a fetch failed: do not retry for a while, and
 * remember what failed */
void
sts_cache_failed(struct sts_entry *e, time_t now, const struct sts_conf *conf,
    enum rtype rtype, const char *why)
{
	e->last_attempt = now;
	e->fail_until = now + conf->negative_ttl;
	sts_cache_set_failure(e, rtype, why);
}

/* sts_cache_merge - another gateway's entry for the domain into e: the
 * later policy, the longer failure; never less than e knew */
int
sts_cache_merge(struct sts_entry *e, const struct sts_entry *r)
{
	int changed = 0;

	if (r->has_policy && (!e->has_policy || r->fetched > e->fetched)) {
		e->has_policy = 1;
		memcpy(e->id, r->id, sizeof(e->id));
		e->policy = r->policy;
		e->fetched = r->fetched;
		e->expires = r->expires;
		changed = 1;
	} else if (r->has_policy && r->fetched == e->fetched && strcmp(r->id, e->id) == 0
	    && r->expires > e->expires) {
		e->expires = r->expires;	/* the same fetch, extended there */
		changed = 1;
	}
	if (r->fail_rtype != RTYPE_NONE && r->fail_until > e->fail_until) {
		e->fail_until = r->fail_until;
		e->fail_rtype = r->fail_rtype;
		memcpy(e->fail_why, r->fail_why, sizeof(e->fail_why));
		changed = 1;
	}
	/* Its fetch was an attempt too: min_interval runs from it. */
	if (r->has_policy && r->fetched > e->last_attempt)
		e->last_attempt = r->fetched;
	return changed;
}

/* sts_cache_extend - TXT seen with the same id: the policy lives on */
void
sts_cache_extend(struct sts_entry *e, time_t now)
{
	if (e->has_policy && now + e->policy.max_age > e->expires)
		e->expires = now + e->policy.max_age;
}

/* sts_cache_failure - the failure a message served without a fetch
 * reports: the last fetch's, while the published id is one whose policy
 * the cache cannot supply */
enum rtype
sts_cache_failure(const struct sts_entry *e, enum sts_txt txt, const char *id,
    time_t now)
{
	if (e == NULL || e->fail_rtype == RTYPE_NONE || txt != STS_TXT_FOUND)
		return RTYPE_NONE;	/* no TXT record: no policy to miss */
	if (sts_cache_applies(e, now) && id && strcmp(e->id, id) == 0)
		return RTYPE_NONE;	/* the policy in hand is the published one */
	return e->fail_rtype;
}
