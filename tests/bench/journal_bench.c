/*
 * journal_bench.c - how many attempt records per second the journal takes,
 * with journal_fsync = interval (one write per record, an fdatasync per
 * flush interval) and always (an fdatasync per record).
 *
 * usage: journal_bench DIR [records] [seconds-per-mode]
 *
 * Prints figures only.  The baseline is the same records serialised to
 * JSON without any write: what the journal adds on top is the syscalls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../report/journal.h"
#include "../../report/record.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
fill(struct rec *r, long i)
{
	memset(r, 0, sizeof(*r));
	r->time = 1795305600LL + i % 3600;	/* one UTC day */
	snprintf(r->sid, sizeof(r->sid), "%05lX%05lX", i & 0xfffff, (i >> 20) & 0xfffff);
	snprintf(r->domain, sizeof(r->domain), "d%ld.example", i % 997);
	snprintf(r->ptype, sizeof(r->ptype), "%s", i % 3 == 0 ? "tlsa" : i % 3 == 1
	    ? "sts" : "no-policy-found");
	if (i % 3 == 0)
		snprintf(r->policy, sizeof(r->policy), "3 1 1 0D3A2874380A65265BE8C04CEFEFBA1F"
		    "A84A477E6FACE54572381DFCA7155CC8\n");
	else if (i % 3 == 1) {
		snprintf(r->policy, sizeof(r->policy), "version: STSv1\nmode: enforce\n"
		    "mx: *.d%ld.example\nmax_age: 604800\n", i % 997);
		snprintf(r->mxpat, sizeof(r->mxpat), "*.d%ld.example\n", i % 997);
	}
	snprintf(r->mx, sizeof(r->mx), "mx%ld.d%ld.example", i % 2, i % 997);
	snprintf(r->ip, sizeof(r->ip), "192.0.2.%ld", i % 250 + 1);
	snprintf(r->helo, sizeof(r->helo), "%s", r->mx);
	snprintf(r->src, sizeof(r->src), "198.51.100.7");
	r->sport = (int) (32768 + i % 28000);
	snprintf(r->result, sizeof(r->result), "%s", i % 20 ? "success" : "certificate-expired");
	snprintf(r->reason, sizeof(r->reason), "%s", i % 20 ? "" : "X509_V_ERR_CERT_HAS_EXPIRED");
	snprintf(r->action, sizeof(r->action), "%s", i % 20 ? "delivered" : "refused");
}

/* run - append records for about `secs' seconds (at most max); rate */
static double
run(const char *dir, int always, long max, double secs, long *done)
{
	char err[512];
	struct journal *j = journal_open(dir, always, err, sizeof(err));
	struct rec r;
	double t0, last_sync, t;
	long i;

	if (j == NULL) {
		fprintf(stderr, "journal_bench: %s\n", err);
		exit(1);
	}
	t0 = last_sync = now_s();
	for (i = 0; i < max; i++) {
		fill(&r, i);
		if (journal_append(j, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "journal_bench: %s\n", err);
			exit(1);
		}
		if ((i & 63) == 0) {
			t = now_s();
			if (!always && t - last_sync >= 1.0) {	/* the 1 s flush timer */
				(void) journal_sync(j, err, sizeof(err));
				last_sync = t;
			}
			if (t - t0 >= secs)
				break;
		}
	}
	journal_close(j);
	t = now_s() - t0;
	*done = i;
	return (double) i / t;
}

int
main(int argc, char **argv)
{
	const char *dir;
	long max, n_json = 0, n_int, n_alw;
	double secs, t0, base, r_int, r_alw;
	struct rec r;
	struct buf b;
	char path[4096], name[64];

	if (argc < 2) {
		fprintf(stderr, "usage: journal_bench DIR [records] [seconds]\n");
		return 2;
	}
	dir = argv[1];
	max = argc > 2 ? atol(argv[2]) : 2000000;
	secs = argc > 3 ? atof(argv[3]) : 3.0;
	buf_init(&b);
	t0 = now_s();
	for (n_json = 0; n_json < max; n_json++) {
		fill(&r, n_json);
		buf_reset(&b);
		(void) rec_to_json(&r, &b);
		if ((n_json & 63) == 0 && now_s() - t0 >= secs)
			break;
	}
	base = (double) n_json / (now_s() - t0);
	fill(&r, 0);
	buf_reset(&b);
	(void) rec_to_json(&r, &b);
	printf("journal: record line %zu bytes\n", buf_used(&b));
	buf_free(&b);
	r_int = run(dir, 0, max, secs, &n_int);
	journal_day_name(1795305600LL, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	r_alw = run(dir, 1, max, secs, &n_alw);
	unlink(path);
	printf("journal: baseline (JSON only, no write)  %10.0f records/s (%ld)\n", base, n_json);
	printf("journal: journal_fsync = interval        %10.0f records/s (%ld)  ratio %.2f\n",
	    r_int, n_int, r_int / base);
	printf("journal: journal_fsync = always          %10.0f records/s (%ld)  ratio %.4f\n",
	    r_alw, n_alw, r_alw / base);
	printf("journal: always costs %.1f us per record more than interval\n",
	    1e6 / r_alw - 1e6 / r_int);
	return 0;
}
