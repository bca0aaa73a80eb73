/*
 * report_bench.c - one day of TLSRPT reports from a journal: how long
 * mxtls-report's pure part takes for a large day.
 *
 * SYNOPSIS
 *	report_bench gen FILE [RECORDS [DOMAINS]]
 *	report_bench run FILE
 *
 * DESCRIPTION
 *	gen writes a realistic day (default 1000000 records, 20000 policy
 *	domains) as journal lines (rec_to_json) to FILE.  Mail volume per
 *	domain is skewed (a few big domains, a long tail); 20% of domains
 *	publish DANE (two MX hosts each, half of them at one of 50 shared
 *	hosting providers, so per-host reports gather many domains), 30%
 *	MTA-STS (policy and patterns), 50% nothing; about 5% of attempts
 *	fail with a result type that fits the policy; 4 sending IPs; two
 *	receiving addresses (IPv4, IPv6) per MX host.
 *
 *	run reads FILE into memory, then measures, in one process:
 *	  baseline  journal_replay() with a callback that only counts
 *	            (what parsing the lines costs by itself);
 *	  build     read + journal_replay() + agg_add() + agg_finish() +
 *	            agg_render() and agg_gzip() of every report.
 *	and prints one line:
 *
 *	bench report: records=N reports=N policies=N failure_details=N
 *	    json_bytes=N gzip_bytes=N read_s=… baseline_s=… add_s=… finish_s=…
 *	    render_gzip_s=… total_s=… records_per_s=… ratio_vs_baseline=…
 *	    peak_rss_mb=… rss_after_read_mb=…
 *
 *	(total_s = read + replay with agg_add + finish + render and gzip;
 *	ratio_vs_baseline = total_s / (read_s + baseline_s)).  A
 *	measurement, not a test: exit status 1 only when it cannot run.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../report/agg.h"
#include "xorshift.h"

#define DAY	1763769600LL		/* 2025-11-22T00:00:00Z */

static const char *const tlsa_fail[] = {"tlsa-invalid", "dnssec-invalid", "dane-required",
	"starttls-not-supported", "certificate-not-trusted"};
static const char *const sts_fail[] = {"certificate-expired", "certificate-host-mismatch",
	"sts-webpki-invalid", "sts-policy-fetch-error", "certificate-not-trusted"};
static const char *const tlsa_reason[] = {"X509_V_ERR_DANE_NO_MATCH", "", "",
	"", "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"};

/* now_s - monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* rnd_unit - uniform in [0, 1) */
static double
rnd_unit(void)
{
	return (double) (rnd() >> 11) / 9007199254740992.0;
}

/* fill - record i of the day, for domain d */
static void
fill(struct rec *r, long i, long n, int d)
{
	int kind = d % 10, m = (int) (rnd() % 2), failed = rnd() % 100 < 5;
	int f = (int) (rnd() % 5), host = d % 50;

	memset(r, 0, sizeof(*r));
	r->time = DAY + (long long) (86400.0 * (double) i / (double) n);
	snprintf(r->sid, sizeof(r->sid), "%08lX%02d", (unsigned long) i, m);
	snprintf(r->domain, sizeof(r->domain), "d%d.example", d);
	snprintf(r->src, sizeof(r->src), "192.0.2.%d", 1 + (int) (rnd() % 4));
	r->sport = 32768 + (int) (rnd() % 28000);
	if (kind < 2) {
		snprintf(r->ptype, sizeof(r->ptype), "tlsa");
		if (d % 4 == 0)		/* at a hosting provider */
			snprintf(r->mx, sizeof(r->mx), "mx%d.host%d.example", m + 1, host);
		else
			snprintf(r->mx, sizeof(r->mx), "mx%d.d%d.example", m + 1, d);
		snprintf(r->policy, sizeof(r->policy),
		    "3 1 1 %064X\n2 0 1 %064X\n", (unsigned) (d % 4 ? d * 2 + m : host * 2 + m),
		    (unsigned) (d % 4 ? d : host));
		if (failed) {
			snprintf(r->result, sizeof(r->result), "%s", tlsa_fail[f]);
			snprintf(r->reason, sizeof(r->reason), "%s", tlsa_reason[f]);
		}
	} else if (kind < 5) {
		snprintf(r->ptype, sizeof(r->ptype), "sts");
		snprintf(r->mx, sizeof(r->mx), "mx%d.d%d.example", m + 1, d);
		snprintf(r->policy, sizeof(r->policy), "version: STSv1\nmode: %s\n"
		    "mx: mx1.d%d.example\nmx: *.d%d.example\nmax_age: 604800\n",
		    d % 3 ? "enforce" : "testing", d, d);
		snprintf(r->mxpat, sizeof(r->mxpat), "mx1.d%d.example\n*.d%d.example\n", d, d);
		if (failed)
			snprintf(r->result, sizeof(r->result), "%s", sts_fail[f]);
	} else {
		snprintf(r->ptype, sizeof(r->ptype), "no-policy-found");
		snprintf(r->mx, sizeof(r->mx), "mx%d.d%d.example", m + 1, d);
		if (failed)
			snprintf(r->result, sizeof(r->result), "starttls-not-supported");
	}
	if (!failed)
		snprintf(r->result, sizeof(r->result), "success");
	snprintf(r->helo, sizeof(r->helo), "%s", r->mx);
	if (rnd() % 2)
		snprintf(r->ip, sizeof(r->ip), "198.51.%d.%d", (d / 250) % 256, 1 + d % 250 + m);
	else
		snprintf(r->ip, sizeof(r->ip), "2001:db8:%x::%x", d, 25 + m);
	snprintf(r->action, sizeof(r->action), "%s", failed ? "refused" : "delivered");
}

/* gen - write the day */
static int
gen(const char *path, long n, int ndom)
{
	FILE *fp = fopen(path, "w");
	struct rec *r = malloc(sizeof(*r));
	struct buf b;

	if (fp == NULL || r == NULL)
		return 1;
	buf_init(&b);
	for (long i = 0; i < n; i++) {
		/* skewed: domain ~ ndom * u^3, so low numbers get most mail */
		double u = rnd_unit();
		int d = (int) ((double) ndom * u * u * u);

		fill(r, i, n, d);
		if (rec_to_json(r, &b) < 0)
			return 1;
		if (buf_used(&b) > (1 << 20)) {
			fwrite(buf_head(&b), 1, buf_used(&b), fp);
			buf_reset(&b);
		}
	}
	fwrite(buf_head(&b), 1, buf_used(&b), fp);
	buf_free(&b);
	free(r);
	return fclose(fp) == 0 ? 0 : 1;
}

/* read_all - the whole file */
static char *
read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	char *p;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &sb) < 0 || (p = malloc((size_t) sb.st_size + 1)) == NULL)
		return NULL;
	while (got < (size_t) sb.st_size) {
		ssize_t k = read(fd, p + got, (size_t) sb.st_size - got);

		if (k <= 0)
			break;
		got += (size_t) k;
	}
	close(fd);
	*len = got;
	return p;
}

static void
count_only(const struct rec *r, void *arg)
{
	long *n = arg;

	*n += r->time >= DAY;
}

struct run {
	struct agg *agg;
	long counted, refused;
};

static void
add(const struct rec *r, void *arg)
{
	struct run *run = arg;
	int rc = agg_add(run->agg, r);

	if (rc == 1)
		run->counted++;
	else
		run->refused++;
}

/* rss_mb - peak resident set so far */
static double
rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_maxrss / 1024.0;
}

/* run - the measurement */
static int
run(const char *path)
{
	static const struct report_meta meta = {"mxtls bench", "mailto:tlsrpt@example.org",
		"mxtls.example.org"};
	struct journal_stats st;
	struct run rn = {NULL, 0, 0};
	struct buf js, gz;
	long baseline_n = 0, pols = 0, fails = 0;
	size_t len, json_bytes = 0, gzip_bytes = 0;
	double t0, t1, t2, t3, t4, t5, t6, rss_read;
	char *text;

	t0 = now_s();
	if ((text = read_all(path, &len)) == NULL)
		return 1;
	t1 = now_s();
	rss_read = rss_mb();
	journal_replay(text, len, count_only, &baseline_n, &st);
	t2 = now_s();
	if ((rn.agg = agg_new(DAY)) == NULL)
		return 1;
	t3 = now_s();
	journal_replay(text, len, add, &rn, &st);
	t4 = now_s();
	agg_finish(rn.agg);
	t5 = now_s();
	buf_init(&js);
	buf_init(&gz);
	for (int i = 0; i < agg_count(rn.agg); i++) {
		const struct agg_report *r = agg_get(rn.agg, i);

		buf_reset(&js);
		buf_reset(&gz);
		if (agg_render(r, DAY, &meta, &js) < 0 || agg_gzip(buf_head(&js), buf_used(&js), &gz) < 0)
			return 1;
		json_bytes += buf_used(&js);
		gzip_bytes += buf_used(&gz);
		pols += r->npols;
		for (int j = 0; j < r->npols; j++)
			fails += r->pols[j].nfails;
	}
	t6 = now_s();
	{
		double read_s = t1 - t0, base_s = t2 - t1, add_s = t4 - t3, fin_s = t5 - t4;
		double rg_s = t6 - t5, total = read_s + add_s + fin_s + rg_s;

		printf("bench report: records=%ld counted=%ld bad_lines=%ld reports=%d policies=%ld "
		    "failure_details=%ld journal_bytes=%zu json_bytes=%zu gzip_bytes=%zu "
		    "read_s=%.3f baseline_s=%.3f add_s=%.3f finish_s=%.3f render_gzip_s=%.3f "
		    "total_s=%.3f records_per_s=%.0f ratio_vs_baseline=%.2f peak_rss_mb=%.0f "
		    "rss_after_read_mb=%.0f\n", st.good, rn.counted, st.bad, agg_count(rn.agg),
		    pols, fails, len, json_bytes, gzip_bytes, read_s, base_s, add_s, fin_s, rg_s,
		    total, (double) st.good / total, total / (read_s + base_s), rss_mb(), rss_read);
	}
	buf_free(&js);
	buf_free(&gz);
	agg_free(rn.agg);
	free(text);
	return baseline_n == st.good ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], argc > 3 ? atol(argv[3]) : 1000000,
		    argc > 4 ? atoi(argv[4]) : 20000);
	if (argc == 3 && strcmp(argv[1], "run") == 0)
		return run(argv[2]);
	fprintf(stderr, "usage: report_bench gen FILE [RECORDS [DOMAINS]] | run FILE\n");
	return 1;
}
