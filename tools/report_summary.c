/*
 * report_summary.c - mxtls-report summary: a day's reports as a table.
 *	See report_int.h.
 *
 * DESCRIPTION
 *	One line per report (policy domain, or MX host for DANE results)
 *	with its sessions, successes and failures, the failures summed by
 *	result type under it, and the journal's health above.  It needs no
 *	DNS.
 */
#include <stdio.h>
#include <string.h>

#include "../report/agg.h"
#include "../report/record.h"
#include "report_int.h"

/* policy_types - the report's distinct policy types, comma-separated */
static void
policy_types(const struct agg_report *r, char *buf, size_t len)
{
	size_t w = 0;

	buf[0] = 0;
	for (int i = 0; i < r->npols; i++) {
		const char *t = ptype_str(r->pols[i].type);
		int seen = 0;

		for (int k = 0; k < i && !seen; k++)
			seen = r->pols[k].type == r->pols[i].type;
		if (!seen && w + strlen(t) + 2 < len)
			w += (size_t) snprintf(buf + w, len - w, "%s%s", w ? "," : "", t);
	}
}

/* print_failures - the report's failures, summed by result type */
static void
print_failures(const struct agg_report *r, int width)
{
	struct {
		enum rtype type;
		long count;
	} by[64];
	int n = 0;
	char cb[64];

	for (int i = 0; i < r->npols; i++)
		for (int f = 0; f < r->pols[i].nfails; f++) {
			const struct agg_fail *af = r->pols[i].fails + f;
			int k;

			for (k = 0; k < n && by[k].type != af->type; k++)
				;
			if (k == n && n == (int) (sizeof(by) / sizeof(by[0])))
				continue;
			if (k == n) {
				by[n].type = af->type;
				by[n++].count = 0;
			}
			by[k].count += af->count;
		}
	for (int k = 0; k < n; k++)
		printf("  %-*s%10ld\n", width + 51, rpt_clean(rtype_str(by[k].type), cb, sizeof(cb)),
		    by[k].count);
}

/* print_health - what each journal looked like, and the merge */
static void
print_health(const struct day_data *dd)
{
	for (int i = 0; i < dd->nsrc; i++) {
		const struct day_src *src = &dd->src[i];

		if (src->missing) {
			printf("journal: %s: no such file\n", src->path);
			continue;
		}
		printf("journal: %s: %ld lines, %ld records, %ld corrupt line%s skipped, %s, "
		    "%ld record%s outside the day", src->path, src->st.lines, src->st.good,
		    src->st.bad, src->st.bad == 1 ? "" : "s",
		    src->st.torn ? "torn last line skipped" : "no torn last line",
		    src->outside, src->outside == 1 ? "" : "s");
		if (src->copies || src->conflicts)
			printf(", %ld cop%s of records read before, %ld conflicting record-id%s",
			    src->copies, src->copies == 1 ? "y" : "ies", src->conflicts,
			    src->conflicts == 1 ? "" : "s");
		printf("\n");
	}
	if (dd->nsrc > 1 || dd->copies || dd->conflicts)
		printf("merged: %d journal%s, %ld records, %ld cop%s counted once, %ld "
		    "conflicting record-id%s skipped (the first read counts)\n", dd->nsrc,
		    dd->nsrc == 1 ? "" : "s", dd->st.good - dd->copies - dd->conflicts,
		    dd->copies, dd->copies == 1 ? "y" : "ies", dd->conflicts,
		    dd->conflicts == 1 ? "" : "s");
}

/* print_local - what no report says: report-only's would-refusals, and
 * the attempts the policy table decided */
static void
print_local(const struct day_data *dd, int width)
{
	char nb[REC_NAME], cb[64];

	printf("\nwould-refuse (mode = report-only: enforce would have refused): %ld\n",
	    dd->would);
	for (int i = 0; i < dd->nwby; i++)
		printf("  %-*s %-40s %10ld\n", width, rpt_clean(dd->wby[i].domain, nb,
		    sizeof(nb)), rpt_clean(rtype_str(dd->wby[i].type), cb, sizeof(cb)),
		    dd->wby[i].count);
	if (dd->nwby == DAY_WOULD_MAX)
		printf("  (only the first %d domain and result type pairs are listed)\n",
		    DAY_WOULD_MAX);
	printf("policy table (local decisions, in no TLSRPT report): %ld attempt%s\n",
	    dd->table, dd->table == 1 ? "" : "s");
}

/* rpt_summary - the table */
int
rpt_summary(struct run *run)
{
	struct day_data dd;
	char ds[40], nb[REC_NAME], types[128];
	long tot_s = 0, tot_ok = 0, tot_f = 0;
	int width = 13;

	rpt_load_day(run, run->day, &dd);
	journal_day_str(run->day, ds, sizeof(ds));
	printf("TLS sessions of %s (UTC), submitter %s\n", ds, run->id.submitter);
	print_health(&dd);
	for (int i = 0; i < agg_count(dd.agg); i++) {
		int l = (int) strlen(agg_get(dd.agg, i)->domain);

		width = l > width ? (l < 80 ? l : 80) : width;
	}
	printf("\n%-*s %-8s %-20s %10s %10s %10s\n", width, "POLICY DOMAIN", "REPORT",
	    "POLICY TYPE", "SESSIONS", "SUCCESSES", "FAILURES");
	for (int i = 0; i < agg_count(dd.agg); i++) {
		const struct agg_report *r = agg_get(dd.agg, i);

		policy_types(r, types, sizeof(types));
		printf("%-*s %-8s %-20s %10ld %10ld %10ld\n", width, rpt_clean(r->domain, nb,
		    sizeof(nb)), r->per_host ? "mx-host" : "domain", types, r->ok + r->failed,
		    r->ok, r->failed);
		print_failures(r, width);
		if (!r->per_host) {
			tot_s += r->ok + r->failed;
			tot_ok += r->ok;
			tot_f += r->failed;
		}
	}
	if (agg_count(dd.agg) == 0)
		printf("(no sessions)\n");
	printf("%-*s %-8s %-20s %10ld %10ld %10ld\n", width, "total", "", "",
	    tot_s, tot_ok, tot_f);
	print_local(&dd, width);
	rpt_free_day(&dd);
	return 0;
}
