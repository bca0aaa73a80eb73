/*
 * smap_answer.c - the socketmap's answers, pure.  See smap_answer.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smap_answer.h"

/* A cursor on a->text with a sticky overflow flag. */
struct out {
	struct smap_answer *a;
	int full;
};

static const char *const proto_names[PTAB_NPROTOS] = {
	[PTAB_SSLV2] = "SSLv2", [PTAB_SSLV3] = "SSLv3", [PTAB_TLSV1] = "TLSv1",
	[PTAB_TLSV1_1] = "TLSv1.1", [PTAB_TLSV1_2] = "TLSv1.2",
	[PTAB_TLSV1_3] = "TLSv1.3",
};

static const char *const grades[] = { "export", "low", "medium", "high", "null" };

/* put - append n octets, or mark the answer full */
static void
put(struct out *o, const char *s, size_t n)
{
	struct smap_answer *a = o->a;

	if (o->full || SMAP_ANSWER_MAX - a->len < n) {
		o->full = 1;
		return;
	}
	memcpy(a->text + a->len, s, n);
	a->len += n;
	a->text[a->len] = 0;
}

/* puts_ - append a string */
static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* start - an empty answer of a kind */
static void
start(struct smap_answer *a, int kind, struct out *o)
{
	a->kind = kind;
	a->len = 0;
	a->text[0] = 0;
	o->a = a;
	o->full = 0;
}

/* set_may - the report-only answer: never refuse */
static void
set_may(struct smap_answer *a)
{
	struct out o;

	start(a, SMAP_R_OK, &o);
	puts_(&o, "may");
}

/* set_reason - kind and a reason, control octets as `?', cut short */
static void
set_reason(struct smap_answer *a, int kind, const char *why)
{
	struct out o;
	size_t n = 0;

	start(a, kind, &o);
	for (; why && why[n] && n < SMAP_REASON_MAX; n++) {
		unsigned char c = (unsigned char) why[n];

		put(&o, c < 0x20 || c == 0x7f ? "?" : (const char *) &why[n], 1);
	}
}

/* value_ok - can a value be said in Postfix's policy syntax */
static int
value_ok(const char *s)
{
	if (s == NULL || *s == 0)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if (c <= 0x20 || c == 0x7f || c == ',' || c == '{' || c == '}')
			return 0;
	}
	return 1;
}

/* name_ok - an MTA-STS pattern or domain: [*.]label.label, no oddities */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '*' && s[1] == '.')
		s += 2, n -= 2;
	if (n == 0 || n > 253)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

/* smap_map_of - postfix, postfix-tlsrpt, or -1 */
int
smap_map_of(const char *name, size_t len)
{
	if (len == 7 && memcmp(name, "postfix", 7) == 0)
		return SMAP_MAP_POSTFIX;
	if (len == 14 && memcmp(name, "postfix-tlsrpt", 14) == 0)
		return SMAP_MAP_TLSRPT;
	return -1;
}

/* smap_answer_simple - a reply of a kind, the reason cleaned */
void
smap_answer_simple(int kind, const char *text, const struct smap_ctx *cx,
    struct smap_answer *a)
{
	if (kind == SMAP_R_TEMP && cx->report_only) {
		set_may(a);
		return;
	}
	set_reason(a, kind, kind == SMAP_R_NOTFOUND ? "" : text);
	if (kind == SMAP_R_OK && a->len == 0)
		set_reason(a, SMAP_R_TEMP, "empty answer");
}

/* smap_answer_none - no policy applies: NOTFOUND, or the require_tls floor */
void
smap_answer_none(const struct smap_ctx *cx, struct smap_answer *a)
{
	struct out o;

	if (cx->require_tls && !cx->report_only) {
		start(a, SMAP_R_OK, &o);
		puts_(&o, "encrypt");
		return;
	}
	start(a, SMAP_R_NOTFOUND, &o);
}

/* put_fp - one SHA-256 digest as XX:XX:... */
static void
put_fp(struct out *o, const uint8_t *d)
{
	static const char hx[] = "0123456789ABCDEF";
	char s[32 * 3];

	for (int i = 0; i < 32; i++) {
		s[3 * i] = hx[d[i] >> 4];
		s[3 * i + 1] = hx[d[i] & 15];
		s[3 * i + 2] = ':';
	}
	put(o, s, sizeof(s) - 1);
}

/* put_match - match= of an entry; 0, or -1 when a name cannot be said */
static int
put_match(struct out *o, const struct ptab_entry *e)
{
	if (e->level == PTAB_FINGERPRINT && e->nfp > 0) {
		puts_(o, " match=");
		for (int i = 0; i < e->nfp; i++) {
			if (i)
				puts_(o, "|");
			put_fp(o, e->fp[i]);
		}
	}
	if ((e->level == PTAB_VERIFY || e->level == PTAB_SECURE) && e->nmatch > 0) {
		puts_(o, " match=");
		for (int i = 0; i < e->nmatch; i++) {
			if (!value_ok(e->match[i]) || strchr(e->match[i], ':'))
				return -1;
			if (i)
				puts_(o, ":");
			puts_(o, e->match[i]);
		}
	}
	return 0;
}

/* put_protocols - protocols= as the exclusions of what is not allowed */
static void
put_protocols(struct out *o, const struct ptab_entry *e)
{
	int first = 1;

	if (!e->protocols)
		return;
	for (int p = 0; p < PTAB_NPROTOS; p++) {
		if (e->proto_ok & (1u << p))
			continue;
		puts_(o, first ? " protocols=!" : ":!");
		puts_(o, proto_names[p]);
		first = 0;
	}
}

/* is_grade - a Postfix cipher grade */
static int
is_grade(const char *s)
{
	for (size_t i = 0; i < sizeof(grades) / sizeof(grades[0]); i++)
		if (strcmp(s, grades[i]) == 0)
			return 1;
	return 0;
}

/* put_strings - ciphers=, tafile=, servername=; -1 when one cannot be said */
static int
put_strings(struct out *o, const struct ptab_entry *e)
{
	const struct { const char *name, *val; } at[] = {
		{ " ciphers=", e->ciphers && is_grade(e->ciphers) ? e->ciphers : NULL },
		{ " tafile=", e->tafile },
		{ " servername=", e->servername },
	};

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		if (at[i].val == NULL)
			continue;
		if (!value_ok(at[i].val))
			return -1;
		puts_(o, at[i].name);
		puts_(o, at[i].val);
	}
	return 0;
}

/* entry_answer - an entry's level and attributes, or TEMP */
static void
entry_answer(const struct ptab_entry *e, struct smap_answer *a)
{
	struct out o;
	const char *lv = e->level < PTAB_NLEVELS ? ptab_level_str(e->level) : NULL;
	char why[SMAP_REASON_MAX];

	if (lv == NULL) {
		set_reason(a, SMAP_R_TEMP, "policy table entry has no level");
		return;
	}
	start(a, SMAP_R_OK, &o);
	puts_(&o, lv);
	if (e->level > PTAB_NONE) {
		if (put_match(&o, e) < 0 || put_strings(&o, e) < 0) {
			snprintf(why, sizeof(why), "policy table line %d: a value Postfix's "
			    "syntax cannot hold", e->line);
			set_reason(a, SMAP_R_TEMP, why);
			return;
		}
		put_protocols(&o, e);
	}
	if (o.full)
		set_reason(a, SMAP_R_TEMP, "policy table entry too long for a reply");
}

/* smap_answer_entry - the admin's table entry, in Postfix's words */
void
smap_answer_entry(const struct ptab_entry *e, const struct smap_ctx *cx,
    struct smap_answer *a)
{
	int ro = cx->report_only || e->report_only;

	if (ro && e->level > PTAB_MAY) {
		set_may(a);
		return;
	}
	entry_answer(e, a);
	if (ro && a->kind == SMAP_R_TEMP)
		set_may(a);		/* report-only never refuses */
}

/* dane_answer - 1 (answered) when DANE decides: some host has usable
 * TLSA or a secure unusable RRset, or every host's TLSA lookup failed */
static int
dane_answer(const struct plan *p, const struct smap_ctx *cx, struct smap_answer *a)
{
	int nfail = 0;
	struct out o;

	for (int i = 0; i < p->nhosts; i++) {
		enum dane_state d = p->hosts[i].dane;

		if (d == DANE_AUTH || d == DANE_UNAUTH) {
			if (cx->report_only) {
				set_may(a);
				return 1;
			}
			start(a, SMAP_R_OK, &o);
			puts_(&o, "dane-only");
			return 1;
		}
		nfail += d == DANE_FAIL;
	}
	if (p->nhosts > 0 && nfail == p->nhosts) {
		if (cx->report_only)
			set_may(a);
		else
			set_reason(a, SMAP_R_TEMP, p->hosts[0].why[0] ? p->hosts[0].why
			    : "TLSA lookups failed for every MX host");
		return 1;
	}
	return 0;
}

/* put_policy_strings - one { policy_string = LINE } per printable line */
static void
put_policy_strings(struct out *o, const char *text)
{
	const char *l = text, *e;

	for (; *l; l = *e ? e + 1 : e) {
		size_t n;
		int ok = 1;

		e = l + strcspn(l, "\n");
		while (l < e && (*l == ' ' || *l == '\t'))
			l++;
		n = (size_t) (e - l);
		while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
			n--;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char) l[i];

			ok &= c >= 0x20 && c < 0x7f && c != '{' && c != '}';
		}
		if (n == 0 || !ok)
			continue;
		puts_(o, " { policy_string = ");
		put(o, l, n);
		puts_(o, " }");
	}
}

/* put_tlsrpt - Postfix 3.10's TLSRPT attributes of an MTA-STS answer */
static void
put_tlsrpt(struct out *o, const struct plan *p)
{
	const struct sts_policy *sp = &p->sts.policy;

	puts_(o, " policy_type=sts policy_domain=");
	puts_(o, p->domain);
	for (int i = 0; i < sp->nmx; i++) {
		puts_(o, " mx_host_pattern=");
		puts_(o, sp->mx[i]);
	}
	put_policy_strings(o, sp->text);
}

/* sts_answer - OK secure match=... for an enforced MTA-STS policy */
static void
sts_answer(const struct plan *p, const struct smap_ctx *cx, struct smap_answer *a)
{
	const struct sts_policy *sp = &p->sts.policy;
	struct out o;
	size_t plain;

	if (cx->report_only) {
		set_may(a);
		return;
	}
	if (sp->nmx <= 0 || !name_ok(p->domain)) {
		set_reason(a, SMAP_R_TEMP, "MTA-STS policy without a usable mx pattern");
		return;
	}
	start(a, SMAP_R_OK, &o);
	puts_(&o, "secure match=");
	for (int i = 0; i < sp->nmx; i++) {
		const char *m = sp->mx[i];

		if (!name_ok(m)) {
			set_reason(a, SMAP_R_TEMP, "MTA-STS policy with an mx pattern "
			    "Postfix cannot match");
			return;
		}
		if (i)
			puts_(&o, ":");
		puts_(&o, m[0] == '*' ? m + 1 : m);
	}
	puts_(&o, " servername=hostname");
	if (o.full) {
		set_reason(a, SMAP_R_TEMP, "MTA-STS policy too long for a reply");
		return;
	}
	if (cx->map != SMAP_MAP_TLSRPT)
		return;
	plain = a->len;
	put_tlsrpt(&o, p);
	if (o.full) {			/* the decision without the report */
		a->len = plain;
		a->text[plain] = 0;
	}
}

/* smap_answer_plan - the policy lookups' outcome, for Postfix */
void
smap_answer_plan(const struct plan *p, const struct smap_ctx *cx,
    struct smap_answer *a)
{
	struct out o;
	int enforce;

	switch (p->status) {
	case PLAN_TEMPFAIL:
		if (cx->report_only)
			set_may(a);
		else
			set_reason(a, SMAP_R_TEMP, p->why[0] ? p->why : "DNS lookup failed");
		return;
	case PLAN_NULLMX:
	case PLAN_NODOMAIN:
		start(a, SMAP_R_NOTFOUND, &o);
		return;
	case PLAN_OK:
		break;
	}
	if (dane_answer(p, cx, a))
		return;
	enforce = p->has_sts && (p->sts.policy.mode == STS_MODE_ENFORCE
	    || (cx->strict_testing && p->sts.policy.mode == STS_MODE_TESTING));
	if (enforce) {
		sts_answer(p, cx, a);
		return;
	}
	smap_answer_none(cx, a);
}
