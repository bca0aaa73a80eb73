/*
 * ptable.c - the admin's TLS policy table (Postfix smtp_tls_policy_maps
 * syntax): the reader, the checks of each attribute against its level,
 * and the hash the lookups use.  See ptable.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/dest.h"
#include "../lib/dname.h"
#include "../lib/hex.h"
#include "ptable.h"

static const char *const levels[] = {
	[PTAB_NONE] = "none", [PTAB_MAY] = "may", [PTAB_ENCRYPT] = "encrypt",
	[PTAB_DANE] = "dane", [PTAB_DANE_ONLY] = "dane-only",
	[PTAB_FINGERPRINT] = "fingerprint", [PTAB_VERIFY] = "verify",
	[PTAB_SECURE] = "secure",
};
_Static_assert(sizeof(levels) / sizeof(levels[0]) == PTAB_NLEVELS, "a word per level");

static const char *const protos[] = {
	[PTAB_SSLV2] = "SSLv2", [PTAB_SSLV3] = "SSLv3", [PTAB_TLSV1] = "TLSv1",
	[PTAB_TLSV1_1] = "TLSv1.1", [PTAB_TLSV1_2] = "TLSv1.2", [PTAB_TLSV1_3] = "TLSv1.3",
};
_Static_assert(sizeof(protos) / sizeof(protos[0]) == PTAB_NPROTOS, "a word per protocol");

static const char *const grades[] = { "export", "low", "medium", "high", "null" };

/* the line being read, for errors */
struct at {
	const char *file;
	int line;
	char *err;
	size_t errlen;
};

/* bad - `FILE:LINE: reason'; always -1 */
__attribute__((format(printf, 2, 3)))
static int
bad(const struct at *at, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(at->err, at->errlen, "%s:%d: ", at->file, at->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t) n < at->errlen)
		vsnprintf(at->err + n, at->errlen - (size_t) n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ptab_level_str - the level's word */
const char *
ptab_level_str(enum ptab_level l)
{
	return (unsigned) l < PTAB_NLEVELS ? levels[l] : "?";
}

/* ptab_level_parse - a level word, exactly (any case) */
int
ptab_level_parse(const char *s, size_t len, enum ptab_level *l)
{
	for (int i = 0; i < PTAB_NLEVELS; i++)
		if (strlen(levels[i]) == len && strncasecmp(s, levels[i], len) == 0) {
			*l = (enum ptab_level) i;
			return 0;
		}
	return -1;
}

/* hash - FNV-1a of a key */
static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

/* find_key - the entry with this normalised key, or NULL */
static const struct ptab_entry *
find_key(const struct ptable *t, const char *key)
{
	uint64_t h;
	size_t m;

	if (t->cap == 0)
		return NULL;
	m = t->cap - 1;
	h = hash(key);
	for (size_t i = h & m; t->slot[i].i; i = (i + 1) & m)
		if (t->slot[i].h == h && strcmp(t->e[t->slot[i].i - 1].key, key) == 0)
			return &t->e[t->slot[i].i - 1];
	return NULL;
}

/* key_norm - a table key in its normalised form, and its kind */
static int
key_norm(const struct at *at, const char *k, size_t len, char *out, size_t size,
    enum ptab_kind *kind)
{
	if (k[0] == '[') {
		char host[DEST_HOST_MAX];
		const char *why;
		unsigned port;

		if (dest_parse(k, len, host, sizeof(host), &port, &why) < 0)
			return bad(at, "\"%.*s\": %s", (int) len, k, why);
		if (port)
			snprintf(out, size, "[%s]:%u", host, port);
		else
			snprintf(out, size, "[%s]", host);
		*kind = PTAB_DEST;
		return 0;
	}
	*kind = k[0] == '.' ? PTAB_SUBDOMAINS : PTAB_DOMAIN;
	if (*kind == PTAB_SUBDOMAINS) {
		k++;
		len--;
	}
	len = dname_trim_dot(k, len);
	if (!dname_dns_ok(k, len))
		return bad(at, "\"%.*s\": not a domain name", (int) len, k);
	snprintf(out, size, "%s", *kind == PTAB_SUBDOMAINS ? "." : "");
	dname_lower(out + strlen(out), size - strlen(out), k, len);
	return 0;
}

/* add_fp - one SHA-256 digest, 64 hex digits, `:' between octets or not */
static int
add_fp(const struct at *at, struct ptab_entry *e, const char *s, size_t len)
{
	uint8_t d[32];
	size_t n = 0, i = 0;

	while (i < len) {
		int hi, lo;

		if (i + 1 >= len || (hi = hex_val(s[i])) < 0 || (lo = hex_val(s[i + 1])) < 0
		    || n == sizeof(d))
			return bad(at, "match=%.*s: not a SHA-256 digest", (int) len, s);
		d[n++] = (uint8_t) (hi << 4 | lo);
		i += 2;
		if (i < len && s[i] == ':' && i + 1 < len)
			i++;
	}
	if (n != sizeof(d))
		return bad(at, "match=%.*s: not a SHA-256 digest (%zu octets, not 32)",
		    (int) len, s, n);
	if (e->nfp == PTAB_FP_MAX)
		return bad(at, "more than %d digests", PTAB_FP_MAX);
	memcpy(e->fp[e->nfp++], d, sizeof(d));
	return 0;
}

/* add_name - one verify/secure match name */
static int
add_name(const struct at *at, struct ptab_entry *e, const char *s, size_t len)
{
	const char *n = s[0] == '.' ? s + 1 : s;
	size_t nl = len - (size_t) (n - s);
	char *c;

	if (!(len == 8 && strncasecmp(s, "hostname", 8) == 0)
	    && !(len == 7 && strncasecmp(s, "nexthop", 7) == 0)
	    && !(len == 11 && strncasecmp(s, "dot-nexthop", 11) == 0)
	    && !dname_dns_ok(n, nl))
		return bad(at, "match=%.*s: not a host name, .domain, hostname, nexthop or "
		    "dot-nexthop", (int) len, s);
	if (e->nmatch == PTAB_MATCH_MAX)
		return bad(at, "more than %d match names", PTAB_MATCH_MAX);
	if ((c = malloc(len + 1)) == NULL)
		return bad(at, "out of memory");
	dname_lower(c, len + 1, s, len);
	e->match[e->nmatch++] = c;
	return 0;
}

/* split - call f on each non-empty sep-separated part of v */
static int
split(const struct at *at, struct ptab_entry *e, const char *v, char sep,
    int (*f)(const struct at *, struct ptab_entry *, const char *, size_t))
{
	const char *p = v;

	for (;;) {
		const char *q = strchr(p, sep);
		size_t l = q ? (size_t) (q - p) : strlen(p);

		if (l == 0)
			return bad(at, "match=: an empty part");
		if (f(at, e, p, l) < 0)
			return -1;
		if (q == NULL)
			return 0;
		p = q + 1;
	}
}

/* proto_word - a protocol name (any case): its version, or -1 */
static int
proto_word(const char *s, size_t len)
{
	for (int i = 0; i < PTAB_NPROTOS; i++)
		if (strlen(protos[i]) == len && strncasecmp(s, protos[i], len) == 0)
			return i;
	return -1;
}

/* set_protocols - `!X' excludes, `>=X' / `<=X' bound, plain names are
 * the only ones allowed; what remains must not be empty */
static int
set_protocols(const struct at *at, struct ptab_entry *e, const char *v)
{
	unsigned all = (1u << PTAB_NPROTOS) - 1, only = 0, ok = all;

	if (v[0] == 0)
		return bad(at, "protocols=: no protocol named");
	for (const char *p = v; *p;) {
		size_t l = strcspn(p, ":,");
		int neg = p[0] == '!', ge = l > 2 && p[0] == '>' && p[1] == '=';
		int le = l > 2 && p[0] == '<' && p[1] == '=';
		size_t skip = neg ? 1 : ge || le ? 2 : 0;
		int w = l > skip ? proto_word(p + skip, l - skip) : -1;

		if (w < 0)
			return bad(at, "protocols=%s: unknown protocol \"%.*s\"", v, (int) l, p);
		if (neg)
			ok &= ~(1u << w);
		else if (ge)
			ok &= all & ~((1u << w) - 1);
		else if (le)
			ok &= (1u << (w + 1)) - 1;
		else
			only |= 1u << w;
		p += l;
		if (*p)
			p++;
	}
	e->proto_ok = only ? ok & only : ok;
	if (e->proto_ok == 0)
		return bad(at, "protocols=%s allows no protocol", v);
	e->protocols = 1;
	return 0;
}

/* set_string - a string attribute, given once */
static int
set_string(const struct at *at, char **dst, const char *name, const char *v)
{
	if (*dst)
		return bad(at, "%s= given twice", name);
	if ((*dst = strdup(v)) == NULL)
		return bad(at, "out of memory");
	return 0;
}

/* set_ciphers - a grade, or an OpenSSL cipher list (checked when used) */
static int
set_ciphers(const struct at *at, struct ptab_entry *e, const char *v)
{
	int grade = 0;

	for (size_t i = 0; i < sizeof(grades) / sizeof(grades[0]); i++)
		grade |= strcasecmp(v, grades[i]) == 0;
	if (!grade && (v[0] == 0 || strlen(v) > 255
		|| strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789!+-:@=._") != strlen(v)))
		return bad(at, "ciphers=%s: not a grade (export, low, medium, high, null) "
		    "nor a cipher list", v);
	return set_string(at, &e->ciphers, "ciphers", v);
}

/* attr - one ATTR=VALUE */
static int
attr(const struct at *at, struct ptab_entry *e, const char *name, const char *v)
{
	int fp = e->level == PTAB_FINGERPRINT;
	int names = e->level == PTAB_VERIFY || e->level == PTAB_SECURE;

	if (strcmp(name, "match") == 0) {
		if (!fp && !names)
			return bad(at, "match= with level %s (only fingerprint, verify and "
			    "secure take it)", ptab_level_str(e->level));
		return split(at, e, v, fp ? '|' : ':', fp ? add_fp : add_name);
	}
	if (strcmp(name, "protocols") == 0)
		return e->protocols ? bad(at, "protocols= given twice") : set_protocols(at, e, v);
	if (strcmp(name, "ciphers") == 0)
		return set_ciphers(at, e, v);
	if (strcmp(name, "tafile") == 0) {
		if (!names)
			return bad(at, "tafile= with level %s (only verify and secure take it)",
			    ptab_level_str(e->level));
		if (v[0] != '/' || strlen(v) > 1023)
			return bad(at, "tafile=%s: not an absolute path", v);
		return set_string(at, &e->tafile, "tafile", v);
	}
	if (strcmp(name, "servername") == 0) {
		if (strcmp(v, "hostname") != 0 && !dname_host_ok(v, dname_trim_dot(v, strlen(v))))
			return bad(at, "servername=%s: not hostname nor a host name", v);
		return set_string(at, &e->servername, "servername", v);
	}
	if (strcmp(name, "mode") == 0) {
		if (strcmp(v, "report-only") != 0 && strcmp(v, "enforce") != 0)
			return bad(at, "mode=%s: expected enforce or report-only", v);
		e->report_only = strcmp(v, "report-only") == 0;
		return 0;
	}
	return bad(at, "unknown attribute \"%s\"", name);
}

/* entry_free - what an entry holds */
static void
entry_free(struct ptab_entry *e)
{
	ptab_entry_free(e);
}

/* ptab_entry_free - what a copy (or a table's entry) holds */
void
ptab_entry_free(struct ptab_entry *e)
{
	free(e->key);
	for (int i = 0; i < e->nmatch; i++)
		free(e->match[i]);
	free(e->ciphers);
	free(e->tafile);
	free(e->servername);
	memset(e, 0, sizeof(*e));
}

/* dup_str - a copy of s, NULL for NULL; *fail set when out of memory */
static char *
dup_str(const char *s, int *fail)
{
	char *c;

	if (s == NULL)
		return NULL;
	if ((c = strdup(s)) == NULL)
		*fail = 1;
	return c;
}

/* ptab_entry_dup - a deep copy of an entry, to outlive its table */
int
ptab_entry_dup(struct ptab_entry *dst, const struct ptab_entry *src)
{
	int fail = 0;

	*dst = *src;
	dst->key = dup_str(src->key, &fail);
	dst->ciphers = dup_str(src->ciphers, &fail);
	dst->tafile = dup_str(src->tafile, &fail);
	dst->servername = dup_str(src->servername, &fail);
	for (int i = 0; i < src->nmatch; i++)
		dst->match[i] = dup_str(src->match[i], &fail);
	if (fail) {
		ptab_entry_free(dst);
		return -1;
	}
	return 0;
}

/* entry_parse - one logical line (NUL-ended, modified) into e */
static int
entry_parse(const struct at *at, char *line, struct ptab_entry *e)
{
	static const char ws[] = " \t\r\n";
	char key[DNAME_MAX + 16], *tok, *save = NULL;
	char *k = strtok_r(line, ws, &save), *lv = strtok_r(NULL, ws, &save);

	memset(e, 0, sizeof(*e));
	e->line = at->line;
	if (lv == NULL)
		return bad(at, "\"%s\": no level", k);
	if (key_norm(at, k, strlen(k), key, sizeof(key), &e->kind) < 0)
		return -1;
	if (ptab_level_parse(lv, strlen(lv), &e->level) < 0)
		return bad(at, "\"%s\": unknown level (none, may, encrypt, dane, dane-only, "
		    "fingerprint, verify, secure)", lv);
	if ((e->key = strdup(key)) == NULL)
		return bad(at, "out of memory");
	while ((tok = strtok_r(NULL, ws, &save)) != NULL) {
		char *eq = strchr(tok, '=');

		if (eq == NULL || eq == tok)
			return bad(at, "\"%s\": expected ATTR=VALUE", tok);
		*eq = 0;
		if (attr(at, e, tok, eq + 1) < 0)
			return -1;
	}
	if (e->level == PTAB_FINGERPRINT && e->nfp == 0)
		return bad(at, "level fingerprint without match= digests");
	if (e->nmatch == 0 && (e->level == PTAB_VERIFY || e->level == PTAB_SECURE)) {
		const char *def = e->level == PTAB_VERIFY ? "hostname" : "nexthop:dot-nexthop";

		return split(at, e, def, ':', add_name);
	}
	return 0;
}

/* index_all - the hash over every key; a key twice is an error */
static int
index_all(struct ptable *t, const struct at *at0)
{
	size_t m;

	for (t->cap = 16; t->cap < 2 * t->n; t->cap *= 2)
		;
	if ((t->slot = calloc(t->cap, sizeof(*t->slot))) == NULL)
		return bad(at0, "out of memory");
	m = t->cap - 1;
	for (size_t j = 0; j < t->n; j++) {
		uint64_t h = hash(t->e[j].key);
		size_t i = h & m;

		for (; t->slot[i].i; i = (i + 1) & m)
			if (t->slot[i].h == h && strcmp(t->e[t->slot[i].i - 1].key, t->e[j].key) == 0) {
				struct at at = *at0;

				at.line = t->e[j].line;
				return bad(&at, "\"%s\" given again (first at line %d)",
				    t->e[j].key, t->e[t->slot[i].i - 1].line);
			}
		t->slot[i].h = h;
		t->slot[i].i = j + 1;
	}
	return 0;
}

/* next_logical - the next logical line into buf; 1, 0 at the end, -1 */
static int
next_logical(struct at *at, const char **pp, const char *end, char *buf, int *first)
{
	size_t n = 0;
	const char *p = *pp;

	*first = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t) (le - p), lead = 0;
		int blank;

		while (lead < l && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;			/* (the text need not end in a NUL) */
		blank = lead == l || p[lead] == '#' || (p[lead] == '\r' && lead + 1 == l);

		if (n > 0 && !blank && lead == 0)
			break;			/* the next logical line starts */
		at->line++;
		if (memchr(p, 0, l))
			return bad(at, "a NUL byte");
		if (!blank) {
			if (n == 0 && lead > 0)
				return bad(at, "a continuation line with nothing to continue");
			if (n + l + 1 >= PTAB_LINE_MAX)
				return bad(at, "logical line over %d octets", PTAB_LINE_MAX);
			if (n == 0)
				*first = at->line;
			buf[n++] = ' ';
			memcpy(buf + n, p, l);
			n += l;
		}
		p = nl ? nl + 1 : end;
	}
	*pp = p;
	buf[n] = 0;
	return n > 0;
}

/* ptable_parse - the whole table, or an error and nothing */
int
ptable_parse(struct ptable *t, const char *file, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct at at = {file, 0, err, errlen};
	const char *p = text, *end = text + len;
	char *buf = malloc(PTAB_LINE_MAX);
	size_t cap = 0;
	int r, first;

	memset(t, 0, sizeof(*t));
	if (buf == NULL)
		return bad(&at, "out of memory");
	while ((r = next_logical(&at, &p, end, buf, &first)) > 0) {
		struct at here = at;

		here.line = first;
		if (t->n == cap) {
			void *ne = cap > 1u << 24 ? NULL
			    : realloc(t->e, (cap = cap ? cap * 2 : 64) * sizeof(*t->e));

			if (ne == NULL) {
				r = bad(&here, "out of memory");
				break;
			}
			t->e = ne;
		}
		if (entry_parse(&here, buf, &t->e[t->n]) < 0) {
			entry_free(&t->e[t->n]);
			r = -1;
			break;
		}
		t->n++;
	}
	free(buf);
	if (r == 0 && index_all(t, &at) == 0)
		return 0;
	ptable_free(t);
	return -1;
}

/* ptable_find - a domain's own entry, else its nearest `.parent' one */
const struct ptab_entry *
ptable_find(const struct ptable *t, const char *domain)
{
	char key[DNAME_MAX + 2];
	const struct ptab_entry *e;
	size_t len = dname_trim_dot(domain, strlen(domain));

	if (t->n == 0 || len == 0 || len > DNAME_MAX)
		return NULL;
	key[0] = '.';
	dname_lower(key + 1, sizeof(key) - 1, domain, len);
	if ((e = find_key(t, key + 1)) != NULL)
		return e;
	for (char *d = key + 1; (d = strchr(d, '.')) != NULL; d++)
		if ((e = find_key(t, d)) != NULL)
			return e;
	return NULL;
}

/* ptable_find_dest - the entry of [host]:port, else of [host] */
const struct ptab_entry *
ptable_find_dest(const struct ptable *t, const char *host, unsigned port)
{
	char h[DEST_HOST_MAX], key[DEST_HOST_MAX + 16];
	const struct ptab_entry *e;

	if (t->n == 0 || dest_host_norm(host, strlen(host), h, sizeof(h)) < 0)
		return NULL;
	snprintf(key, sizeof(key), "[%s]:%u", h, port);
	if ((e = find_key(t, key)) != NULL)
		return e;
	snprintf(key, sizeof(key), "[%s]", h);
	return find_key(t, key);
}

/* ptable_free - everything the table holds; it is empty after */
void
ptable_free(struct ptable *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->e[i]);
	free(t->e);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
