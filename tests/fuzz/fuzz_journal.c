/*
 * fuzz_journal.c - libFuzzer target for the journal reader and the
 * TLSRPT aggregation behind it: the input is a journal file, replayed
 * with journal_replay() (rec_from_json() per line) into agg_add() for
 * the UTC day of the first good record; then agg_finish(), and every
 * report through agg_render(), agg_gzip(), agg_report_id() and
 * agg_filename().
 *
 * The same input is also merged with itself as fleet reports merge the
 * journals of several gateways (report/merge.c): read a second time,
 * a record with a record-id is never new (a copy, or a conflict when
 * the input holds its id twice with different lines), one without is
 * always new, and every id parsed is printable ASCII without spaces.
 *
 * Aborts when an invariant breaks: counts that do not add up (report =
 * sum of policies, policy failures = sum of failure details, the
 * rendered summary = sum of the rendered failure-details), an empty
 * entry, reports out of order, a report with no record behind it, a
 * rendered report that is not JSON, or a `/' in a file name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../report/agg.h"
#include "../../report/merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	int have_day;
	long long day;
	struct agg *agg;
	long counted;
};

/* first_day - remember the day of the first good record */
static void
first_day(const struct rec *r, void *arg)
{
	struct run *run = arg;

	if (!run->have_day) {
		run->day = r->time - r->time % 86400;
		run->have_day = 1;
	}
}

struct mrun {
	struct merge *m;
	int pass;
	long news, seen;
};

/* ids_ok - printable ASCII without spaces */
static int
ids_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x21 || (unsigned char) *s > 0x7e)
			return 0;
	return 1;
}

/* merged - the record-id set, read twice */
static void
merged(const struct rec *r, void *arg)
{
	struct mrun *mr = arg;
	int rc = merge_seen(mr->m, r);

	if (!ids_ok(r->rid) || !ids_ok(r->gw) || r->line == NULL || r->lineno < 1)
		abort();
	if (rc < 0)
		return;
	if (rc != MERGE_NEW && rc != MERGE_COPY && rc != MERGE_CONFLICT)
		abort();
	if (mr->pass == 1 && (r->rid[0] ? rc == MERGE_NEW : rc != MERGE_NEW))
		abort();
	mr->news += rc == MERGE_NEW;
	mr->seen++;
}

/* add - one record into the aggregate */
static void
add(const struct rec *r, void *arg)
{
	struct run *run = arg;
	int rc = agg_add(run->agg, r);

	if (rc < -1 || rc > 1)
		abort();
	run->counted += rc == 1;
}

/* check_report - the counts of one report add up */
static long
check_report(const struct agg_report *r)
{
	long ok = 0, failed = 0;

	if (r->npols <= 0 || r->domain[0] == 0 || strchr(r->domain, '/') || strchr(r->domain, '!'))
		abort();
	for (int j = 0; j < r->npols; j++) {
		const struct agg_policy *p = &r->pols[j];
		long sum = 0;

		if (p->ok < 0 || p->failed < 0 || p->ok + p->failed == 0)
			abort();
		for (int k = 0; k < p->nfails; k++) {
			if (p->fails[k].count <= 0)
				abort();
			sum += p->fails[k].count;
		}
		if (sum != p->failed)
			abort();
		ok += p->ok;
		failed += p->failed;
	}
	if (ok != r->ok || failed != r->failed)
		abort();
	return ok + failed;
}

/* check_json - the rendered report parses and its summaries add up */
static void
check_json(const char *s, size_t n)
{
	cJSON *o = cJSON_ParseWithLength(s, n), *pa, *it;

	if (o == NULL || (pa = cJSON_GetObjectItemCaseSensitive(o, "policies")) == NULL)
		abort();
	cJSON_ArrayForEach(it, pa) {
		cJSON *sum = cJSON_GetObjectItemCaseSensitive(it, "summary");
		cJSON *fd = cJSON_GetObjectItemCaseSensitive(it, "failure-details"), *f;
		cJSON *tf = cJSON_GetObjectItemCaseSensitive(sum, "total-failure-session-count");
		double total = 0;

		if (!cJSON_IsNumber(tf))
			abort();
		cJSON_ArrayForEach(f, fd)
			total += cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f,
			    "failed-session-count"));
		if (total != tf->valuedouble)
			abort();
	}
	cJSON_Delete(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct report_meta meta = {"fuzz", "mailto:f@example", "fuzz.example"};
	struct run run;
	struct journal_stats st;
	struct buf js, gz;
	long sessions = 0;
	char name[1024];

	memset(&run, 0, sizeof(run));
	journal_replay((const char *) data, size, first_day, &run, &st);
	if (st.good + st.bad != st.lines || (st.bad > 0) != (st.first_bad > 0)
	    || st.first_bad > st.lines)
		abort();
	{
		struct mrun mr;

		memset(&mr, 0, sizeof(mr));
		if ((mr.m = merge_new()) != NULL) {
			journal_replay((const char *) data, size, merged, &mr, &st);
			mr.pass = 1;
			journal_replay((const char *) data, size, merged, &mr, &st);
			if (mr.seen != 2 * st.good || merge_ids(mr.m) > (size_t) st.good)
				abort();
			merge_free(mr.m);
		}
	}
	if (!run.have_day)
		return 0;
	if ((run.agg = agg_new(run.day)) == NULL)
		return 0;
	journal_replay((const char *) data, size, add, &run, &st);
	agg_finish(run.agg);
	buf_init(&js);
	buf_init(&gz);
	for (int i = 0; i < agg_count(run.agg); i++) {
		const struct agg_report *r = agg_get(run.agg, i);

		if (i > 0 && strcmp(agg_get(run.agg, i - 1)->domain, r->domain) >= 0)
			abort();
		sessions += check_report(r);
		buf_reset(&js);
		if (agg_render(r, run.day, &meta, &js) < 0)
			abort();
		check_json(buf_head(&js), buf_used(&js));
		buf_reset(&gz);
		if (agg_gzip(buf_head(&js), buf_used(&js), &gz) < 0 || buf_used(&gz) < 18)
			abort();
		agg_report_id(r, run.day, meta.submitter, name, sizeof(name));
		agg_filename(r, run.day, "a/b!c", name, sizeof(name));
		if (strchr(name, '/'))
			abort();
	}
	/* each counted record is one session, or two with its MX host */
	if (sessions < run.counted || sessions > 2 * run.counted)
		abort();
	if (agg_get(run.agg, agg_count(run.agg)) != NULL)
		abort();
	buf_free(&js);
	buf_free(&gz);
	agg_free(run.agg);
	return 0;
}
