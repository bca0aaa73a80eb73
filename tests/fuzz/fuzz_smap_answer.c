/*
 * fuzz_smap_answer.c - libFuzzer target for the socketmap's answers: the
 * input becomes a plan (status, hosts' DANE states and reasons, the
 * domain, an MTA-STS policy: mode, patterns, policy text) and a table
 * entry (level, match names, servername, tafile, ciphers), answered for
 * both maps, in enforce and report-only mode.  Invariants: every answer
 * has a known kind, OK is never empty and NOTFOUND always is, the text
 * is at most SMAP_ANSWER_MAX octets, NUL-ended at its length, holds no CR
 * or LF, and smap_reply() takes it; report-only never answers TEMP, and
 * its OK is `may' unless the entry's level is none or may.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/smap_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

/* byte - the next input octet, 0 when none is left */
static uint8_t
byte(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* str - a string of up to max - 1 octets from the input (NUL ends it) */
static void
str(struct in *in, char *d, size_t max)
{
	size_t len = byte(in) % max;

	if (len > in->n)
		len = in->n;
	memcpy(d, in->p, len);
	d[len] = 0;
	in->p += len;
	in->n -= len;
}

/* check - the invariants of one answer */
static void
check(const struct smap_answer *a, const struct smap_ctx *cx)
{
	static char out[SMAP_MAX + 16];
	size_t n;

	if (a->kind < SMAP_R_OK || a->kind > SMAP_R_PERM || a->len > SMAP_ANSWER_MAX
	    || a->text[a->len] != 0 || strlen(a->text) != a->len
	    || memchr(a->text, '\r', a->len) || memchr(a->text, '\n', a->len)
	    || (a->kind == SMAP_R_OK && a->len == 0)
	    || (a->kind == SMAP_R_NOTFOUND && a->len != 0)
	    || smap_reply(out, sizeof(out), a->kind, a->text, a->len, &n) < 0)
		abort();
	if (cx->report_only && a->kind == SMAP_R_TEMP)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct plan p;
	static char names[4][80], sn[80], ta[80], ci[40];
	struct in in = {data, size};
	struct ptab_entry e;
	struct smap_answer a;

	memset(&p, 0, sizeof(p));
	p.status = (enum plan_status) (byte(&in) % 4);
	p.nhosts = byte(&in) % (PLAN_MAX_HOSTS + 1);
	for (int i = 0; i < p.nhosts; i++) {
		p.hosts[i].dane = (enum dane_state) (byte(&in) % 4);
		str(&in, p.hosts[i].why, 64);
	}
	str(&in, p.why, 128);
	str(&in, p.domain, 128);
	p.has_sts = byte(&in) & 1;
	p.sts.policy.mode = (enum sts_mode) (byte(&in) % 3);
	p.sts.policy.nmx = byte(&in) % (STS_MAX_MX + 1);
	for (int i = 0; i < p.sts.policy.nmx; i++)
		str(&in, p.sts.policy.mx[i], (byte(&in) & 1) ? STS_NAME_MAX : 32);
	str(&in, p.sts.policy.text, 256);

	memset(&e, 0, sizeof(e));
	e.level = (enum ptab_level) (byte(&in) % (PTAB_NLEVELS + 1));
	e.report_only = byte(&in) & 1;
	e.nmatch = byte(&in) % 5;
	for (int i = 0; i < e.nmatch; i++) {
		str(&in, names[i], sizeof(names[i]));
		e.match[i] = names[i];
	}
	e.nfp = byte(&in) % 3;
	for (int i = 0; i < e.nfp; i++)
		for (int j = 0; j < 32; j++)
			e.fp[i][j] = byte(&in);
	e.protocols = byte(&in) & 1;
	e.proto_ok = byte(&in);
	str(&in, sn, sizeof(sn));
	str(&in, ta, sizeof(ta));
	str(&in, ci, sizeof(ci));
	e.servername = sn[0] ? sn : NULL;
	e.tafile = ta[0] ? ta : NULL;
	e.ciphers = ci[0] ? ci : NULL;

	for (int m = 0; m < 2; m++)
		for (int ro = 0; ro < 2; ro++) {
			struct smap_ctx cx = {m, ro, (int) (size & 1), (int) ((size >> 1) & 1)};

			smap_answer_plan(&p, &cx, &a);
			check(&a, &cx);
			smap_answer_entry(&e, &cx, &a);
			check(&a, &cx);
			if ((ro || e.report_only) && a.kind == SMAP_R_OK && e.level > PTAB_MAY
			    && e.level < PTAB_NLEVELS && strcmp(a.text, "may") != 0)
				abort();
			smap_answer_simple(SMAP_R_TEMP, p.why, &cx, &a);
			check(&a, &cx);
		}
	return 0;
}
