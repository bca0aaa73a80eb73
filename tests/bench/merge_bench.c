/*
 * merge_bench.c - fleet reports: the journals of several gateways for
 * one day, and a command timed with its peak RSS.
 *
 * SYNOPSIS
 *	merge_bench gen DIR GATEWAYS RECORDS [DOMAINS]
 *	merge_bench time COMMAND [ARG...]
 *
 * DESCRIPTION
 *	gen writes DIR/gw-N/2025-11-22.jsonl for N = 1 ... GATEWAYS, each
 *	RECORDS journal lines (rec_to_json) as mxtlsd writes them: a
 *	gateway-id, a record-id GATEWAY:SID:PID:N, the gateway's own
 *	sending IP (192.0.2.N); DOMAINS policy domains (default 20000),
 *	skewed (a few big, a long tail), 20% DANE, 30% MTA-STS, 50% none,
 *	about 5% failures.
 *
 *	time runs COMMAND, waits for it, and prints on stderr
 *	`elapsed_s=... peak_rss_mb=... status=...' (wait4's ru_maxrss);
 *	its exit status is the command's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../report/record.h"
#include "xorshift.h"

#define DAY	1763769600LL		/* 2025-11-22T00:00:00Z */


/* fill - record i of gateway g for domain d */
static void
fill(struct rec *r, int g, long i, long n, int d)
{
	int kind = d % 10, m = (int) (rnd() % 2), failed = rnd() % 100 < 5;

	memset(r, 0, sizeof(*r));
	r->time = DAY + (long long) (86400.0 * (double) i / (double) n);
	snprintf(r->sid, sizeof(r->sid), "%05lX%05lX", (unsigned long) (r->time & 0xfffff),
	    (unsigned long) (i & 0xfffff));
	snprintf(r->gw, sizeof(r->gw), "gw-%d.example", g);
	snprintf(r->rid, sizeof(r->rid), "%s:%s:%d:%d", r->gw, r->sid, 1000 + (int) (i >> 20), 1);
	snprintf(r->domain, sizeof(r->domain), "d%d.example", d);
	snprintf(r->src, sizeof(r->src), "192.0.2.%d", g);
	r->sport = 32768 + (int) (rnd() % 28000);
	snprintf(r->mx, sizeof(r->mx), "mx%d.d%d.example", m + 1, d);
	if (kind < 2) {
		snprintf(r->ptype, sizeof(r->ptype), "tlsa");
		snprintf(r->policy, sizeof(r->policy), "3 1 1 %064X\n", (unsigned) d);
		if (failed) {
			snprintf(r->result, sizeof(r->result), "tlsa-invalid");
			snprintf(r->reason, sizeof(r->reason), "X509_V_ERR_DANE_NO_MATCH");
		}
	} else if (kind < 5) {
		snprintf(r->ptype, sizeof(r->ptype), "sts");
		snprintf(r->policy, sizeof(r->policy), "version: STSv1\nmode: enforce\n"
		    "mx: *.d%d.example\nmax_age: 604800\n", d);
		snprintf(r->mxpat, sizeof(r->mxpat), "*.d%d.example\n", d);
		if (failed)
			snprintf(r->result, sizeof(r->result), "certificate-expired");
	} else {
		snprintf(r->ptype, sizeof(r->ptype), "no-policy-found");
		if (failed)
			snprintf(r->result, sizeof(r->result), "starttls-not-supported");
	}
	if (!failed)
		snprintf(r->result, sizeof(r->result), "success");
	snprintf(r->helo, sizeof(r->helo), "%s", r->mx);
	snprintf(r->ip, sizeof(r->ip), "198.51.100.%d", 1 + d % 250);
	snprintf(r->action, sizeof(r->action), "%s", failed ? "refused" : "delivered");
}

/* gen - the journals */
static int
gen(const char *dir, int ngw, long n, int ndom)
{
	struct rec *r = malloc(sizeof(*r));
	char path[4096];
	struct buf b;

	if (r == NULL)
		return 1;
	buf_init(&b);
	for (int g = 1; g <= ngw; g++) {
		FILE *fp;

		snprintf(path, sizeof(path), "%s/gw-%d", dir, g);
		if (mkdir(path, 0755) < 0)
			return 1;
		snprintf(path, sizeof(path), "%s/gw-%d/2025-11-22.jsonl", dir, g);
		if ((fp = fopen(path, "w")) == NULL)
			return 1;
		for (long i = 0; i < n; i++) {
			double u = (double) (rnd() >> 11) / 9007199254740992.0;

			fill(r, g, i, n, (int) ((double) ndom * u * u * u));
			if (rec_to_json(r, &b) < 0)
				return 1;
			if (buf_used(&b) > (1 << 20)) {
				fwrite(buf_head(&b), 1, buf_used(&b), fp);
				buf_reset(&b);
			}
		}
		fwrite(buf_head(&b), 1, buf_used(&b), fp);
		buf_reset(&b);
		if (fclose(fp) != 0)
			return 1;
	}
	buf_free(&b);
	free(r);
	return 0;
}

/* timed - run a command: elapsed seconds and peak RSS */
static int
timed(char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "elapsed_s=%.2f peak_rss_mb=%.1f status=%d\n",
	    (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    (double) ru.ru_maxrss / 1024.0, WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int
main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], atoi(argv[3]), atol(argv[4]), argc > 5 ? atoi(argv[5]) : 20000);
	if (argc >= 3 && strcmp(argv[1], "time") == 0)
		return timed(argv + 2);
	fprintf(stderr, "usage: merge_bench gen DIR GATEWAYS RECORDS [DOMAINS]\n"
	    "       merge_bench time COMMAND [ARG...]\n");
	return 2;
}
