/*
 * test_rtype.c - result types, policy types and actions: every value
 * round-trips through its word; anything but the exact word is refused,
 * by the parsers and in a journal line (record.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../report/record.h"
#include "../../report/rtype.h"
#include "t.h"

/* What the journal, the reports and the MTA-STS cache file have always
 * said: the words must not change. */
static const struct {
	enum rtype t;
	const char *word;
	int sts, dane, reported;
} rtypes[] = {
	{RTYPE_SUCCESS, "success", 0, 0, 1},
	{RTYPE_STARTTLS_NOT_SUPPORTED, "starttls-not-supported", 0, 0, 1},
	{RTYPE_CERTIFICATE_HOST_MISMATCH, "certificate-host-mismatch", 0, 0, 1},
	{RTYPE_CERTIFICATE_EXPIRED, "certificate-expired", 0, 0, 1},
	{RTYPE_CERTIFICATE_NOT_TRUSTED, "certificate-not-trusted", 0, 0, 1},
	{RTYPE_VALIDATION_FAILURE, "validation-failure", 0, 0, 1},
	{RTYPE_TLSA_INVALID, "tlsa-invalid", 0, 1, 1},
	{RTYPE_DNSSEC_INVALID, "dnssec-invalid", 0, 1, 1},
	{RTYPE_DANE_REQUIRED, "dane-required", 0, 1, 1},
	{RTYPE_STS_POLICY_FETCH_ERROR, "sts-policy-fetch-error", 1, 0, 1},
	{RTYPE_STS_POLICY_INVALID, "sts-policy-invalid", 1, 0, 1},
	{RTYPE_STS_WEBPKI_INVALID, "sts-webpki-invalid", 1, 0, 1},
	{RTYPE_CONNECTION_FAILURE, "connection-failure", 0, 0, 0},
};

/* The policy types and the actions, each with its word. */
struct word {
	int v;
	const char *word;
};

static const struct word ptypes[] = {
	{PTYPE_TLSA, "tlsa"}, {PTYPE_STS, "sts"}, {PTYPE_NO_POLICY_FOUND, "no-policy-found"},
};

static const struct word ractions[] = {
	{RACTION_DELIVERED, "delivered"}, {RACTION_REFUSED, "refused"},
	{RACTION_DELIVERED_ANYWAY, "delivered-anyway"}, {RACTION_FAILED, "failed"},
	{RACTION_WOULD_REFUSE, "would-refuse"},
};

/* Words no parser may take. */
static const char *const hostile[] = {
	"", "none", "Success", "SUCCESS", "success ", " success", "succes", "successx",
	"sts-", "sts-policy", "tlsa-invalid\n", "TLSA", "Sts", "no-policy", "no-policy-found.",
	"deliver", "delivered-", "Delivered", "refused\r", "dmarc", "-", "connection",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* test_rtypes - each result type, its word and its predicates */
static void
test_rtypes(void)
{
	int seen[RTYPE_COUNT] = {0};
	enum rtype t;

	for (size_t i = 0; i < NELEM(rtypes); i++) {
		char name[96];
		const char *w = rtype_str(rtypes[i].t);

		seen[rtypes[i].t]++;
		t = RTYPE_NONE;
		snprintf(name, sizeof(name), "result type %s round trip", rtypes[i].word);
		T_CASE(name, w && strcmp(w, rtypes[i].word) == 0
		    && rtype_parse(rtypes[i].word, &t) == 0 && t == rtypes[i].t,
		    "word=%s t=%d", w ? w : "-", (int) t);
		snprintf(name, sizeof(name), "result type %s predicates", rtypes[i].word);
		T_CASE(name, rtype_is_sts(rtypes[i].t) == rtypes[i].sts
		    && rtype_is_dane(rtypes[i].t) == rtypes[i].dane
		    && rtype_is_reported(rtypes[i].t) == rtypes[i].reported, "sts=%d dane=%d rep=%d",
		    rtype_is_sts(rtypes[i].t), rtype_is_dane(rtypes[i].t),
		    rtype_is_reported(rtypes[i].t));
	}
	for (int i = RTYPE_NONE + 1; i < RTYPE_COUNT; i++)
		if (seen[i] != 1)
			T_CASE("every result type listed", 0, "value %d seen %d times", i, seen[i]);
	T_CASE("RTYPE_NONE has no word and no predicate", rtype_str(RTYPE_NONE) == NULL
	    && !rtype_is_sts(RTYPE_NONE) && !rtype_is_dane(RTYPE_NONE)
	    && !rtype_is_reported(RTYPE_NONE), "no");
	T_CASE("a result type out of range has no word", rtype_str(RTYPE_COUNT) == NULL
	    && rtype_str((enum rtype) -1) == NULL, "no");
}

/* test_ptypes_ractions - the policy types and the actions */
static void
test_ptypes_ractions(void)
{
	for (size_t i = 0; i < NELEM(ptypes); i++) {
		enum ptype p = PTYPE_COUNT;
		const char *w = ptype_str((enum ptype) ptypes[i].v);
		char name[96];

		snprintf(name, sizeof(name), "policy type %s round trip", ptypes[i].word);
		T_CASE(name, w && strcmp(w, ptypes[i].word) == 0
		    && ptype_parse(ptypes[i].word, &p) == 0 && (int) p == ptypes[i].v, "t=%d", (int) p);
	}
	for (size_t i = 0; i < NELEM(ractions); i++) {
		enum raction a = RACTION_COUNT;
		const char *w = raction_str((enum raction) ractions[i].v);
		char name[96];

		snprintf(name, sizeof(name), "action %s round trip", ractions[i].word);
		T_CASE(name, w && strcmp(w, ractions[i].word) == 0
		    && raction_parse(ractions[i].word, &a) == 0 && (int) a == ractions[i].v, "a=%d",
		    (int) a);
	}
	T_CASE("every policy type and action listed", NELEM(ptypes) == PTYPE_COUNT
	    && NELEM(ractions) == RACTION_COUNT, "no");
	T_CASE("ptype and raction out of range have no word", ptype_str(PTYPE_COUNT) == NULL
	    && raction_str(RACTION_COUNT) == NULL, "no");
}

/* test_hostile - unknown, empty, prefix and case variants are refused */
static void
test_hostile(void)
{
	for (size_t i = 0; i < NELEM(hostile); i++) {
		enum rtype t = RTYPE_COUNT;
		enum ptype p = PTYPE_COUNT;
		enum raction a = RACTION_COUNT;
		char name[96];

		snprintf(name, sizeof(name), "hostile word %zu refused", i);
		T_CASE(name, rtype_parse(hostile[i], &t) < 0 && ptype_parse(hostile[i], &p) < 0
		    && raction_parse(hostile[i], &a) < 0 && t == RTYPE_COUNT && p == PTYPE_COUNT
		    && a == RACTION_COUNT, "taken: %s", hostile[i]);
	}
	{
		enum rtype t = RTYPE_COUNT;
		enum ptype p = PTYPE_COUNT;
		enum raction a = RACTION_COUNT;

		T_CASE("NULL refused", rtype_parse(NULL, &t) < 0 && ptype_parse(NULL, &p) < 0
		    && raction_parse(NULL, &a) < 0, "taken");
		T_CASE("a word of one kind is not another", rtype_parse("tlsa", &t) < 0
		    && ptype_parse("success", &p) < 0 && raction_parse("sts", &a) < 0
		    && rtype_parse("refused", &t) < 0, "taken");
	}
}

/* line_with - a good journal line with one key's word replaced; 0 when
 * the line could be made */
static int
line_with(const char *key, const char *word, struct buf *out)
{
	struct rec r;

	memset(&r, 0, sizeof(r));
	r.time = 1763769600LL;
	snprintf(r.sid, sizeof(r.sid), "4F2A10");
	snprintf(r.domain, sizeof(r.domain), "dane.example");
	snprintf(r.mx, sizeof(r.mx), "mx1.dane.example");
	snprintf(r.ptype, sizeof(r.ptype), "%s", strcmp(key, "policy-type") ? "tlsa" : word);
	snprintf(r.result, sizeof(r.result), "%s", strcmp(key, "result-type") ? "success" : word);
	snprintf(r.action, sizeof(r.action), "%s", strcmp(key, "action") ? "delivered" : word);
	buf_reset(out);
	return rec_to_json(&r, out);
}

/* test_journal_words - a journal line names only words rtype.h knows */
static void
test_journal_words(void)
{
	static const char *const keys[] = {"policy-type", "result-type", "action"};
	struct buf line, day;
	struct journal_stats st;
	struct rec back;
	const char *why;
	int good = 0;

	buf_init(&line);
	buf_init(&day);
	for (size_t i = 0; i < NELEM(rtypes); i++)
		good += line_with("result-type", rtypes[i].word, &line) == 0
		    && rec_from_json(buf_head(&line), buf_used(&line) - 1, &back, &why) == 0
		    && strcmp(back.result, rtypes[i].word) == 0;
	for (size_t i = 0; i < NELEM(ptypes); i++)
		good += line_with("policy-type", ptypes[i].word, &line) == 0
		    && rec_from_json(buf_head(&line), buf_used(&line) - 1, &back, &why) == 0;
	for (size_t i = 0; i < NELEM(ractions); i++)
		good += line_with("action", ractions[i].word, &line) == 0
		    && rec_from_json(buf_head(&line), buf_used(&line) - 1, &back, &why) == 0;
	T_CASE("journal: every word read back",
	    good == (int) (NELEM(rtypes) + NELEM(ptypes) + NELEM(ractions)), "good=%d", good);
	(void) line_with("", "", &line);
	buf_append(&day, buf_head(&line), buf_used(&line));
	for (size_t k = 0; k < NELEM(keys); k++)
		for (size_t i = 0; i < NELEM(hostile); i++) {
			char name[128];
			int rc = line_with(keys[k], hostile[i], &line);

			snprintf(name, sizeof(name), "journal: %s word %zu refused", keys[k], i);
			T_CASE(name, rc == 0 && rec_from_json(buf_head(&line), buf_used(&line) - 1,
			    &back, &why) < 0, "taken: %s", hostile[i]);
			buf_append(&day, buf_head(&line), buf_used(&line));
		}
	journal_replay(buf_head(&day), buf_used(&day), NULL, NULL, &st);
	T_CASE("journal: an unknown word makes a bad line, as any other", st.good == 1
	    && st.bad == (long) (NELEM(keys) * NELEM(hostile)) && !st.torn, "good=%ld bad=%ld",
	    st.good, st.bad);
	buf_free(&line);
	buf_free(&day);
}

int
main(void)
{
	T_INIT("rtype");
	test_rtypes();
	test_ptypes_ractions();
	test_hostile();
	test_journal_words();
	return t_done();
}
