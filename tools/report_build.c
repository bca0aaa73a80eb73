/*
 * report_build.c - mxtls-report build: a day's reports written to files,
 *	and the rendering and discovery send shares.  See report_int.h.
 *
 * DESCRIPTION
 *	Each report is written gzip-compressed under its RFC 8460 5.1 name,
 *	atomically (lib/file.c).  A per-MX-host report is built only when
 *	the MX host publishes a TLSRPT record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/buf.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../report/agg.h"
#include "../report/record.h"
#include "discover.h"
#include "report_int.h"

#define DISC_TIMEOUT	60.0

/* rpt_make_report - render and compress one report; its id and file name */
int
rpt_make_report(const struct run *run, const struct agg_report *r, long long day,
    struct buf *gz, char *id, size_t idlen, char *fname, size_t flen)
{
	struct report_meta m;
	struct buf json;
	int rc;

	m.org = run->id.org;
	m.contact = run->id.contact;
	m.submitter = run->id.submitter;
	agg_report_id(r, day, run->id.submitter, id, idlen);
	agg_filename(r, day, run->id.submitter, fname, flen);
	if (strchr(fname, '/') || fname[0] == '.' || fname[0] == 0) {
		msg_warn("report for %s: unsafe file name `%s'", r->domain, fname);
		return -1;
	}
	buf_init(&json);
	rc = agg_render(r, day, &m, &json) < 0
	    || agg_gzip(buf_head(&json), buf_used(&json), gz) < 0 ? -1 : 0;
	buf_free(&json);
	if (rc < 0)
		msg_warn("report for %s: out of memory", r->domain);
	return rc;
}

/* write_file - dir/name, atomically */
static int
write_file(const char *dir, const char *name, const struct buf *b, char *path,
    size_t plen)
{
	char err[4400];

	snprintf(path, plen, "%s/%s", dir, name);
	if (file_replace(path, buf_head(b), buf_used(b), 0644, err, sizeof(err)) < 0) {
		msg_warn("%s", err);
		return -1;
	}
	return 0;
}

/* rpt_disc_find - the discovery entry of a domain */
const struct disc *
rpt_disc_find(const struct disc *d, int n, const char *domain)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(d[i].domain, domain) == 0)
			return d + i;
	return NULL;
}

/* rpt_discover_day - the TLSRPT records of the domains a day's reports need */
struct disc *
rpt_discover_day(struct run *run, const struct agg *a, int hosts_only, int *np)
{
	struct disc *d = calloc((size_t) agg_count(a) + 1, sizeof(*d));
	int n = 0;

	if (d == NULL)
		msg_fatal("out of memory");
	for (int i = 0; i < agg_count(a); i++) {
		const struct agg_report *r = agg_get(a, i);

		if ((hosts_only && !r->per_host) || rpt_disc_find(d, n, r->domain))
			continue;
		snprintf(d[n++].domain, DISC_NAME, "%s", r->domain);
	}
	if (n > 0 && run->dns_ok)
		discover(run->loop, d, n, DISC_TIMEOUT);
	*np = n;
	return d;
}

/* rpt_build - write the day's reports */
int
rpt_build(struct run *run)
{
	struct day_data dd;
	char err[512] = "", id[600], fname[1024], path[4096], nb[REC_NAME];
	struct disc *d;
	int nd, rc = 0;

	if (!run->dry_run && mkdir(run->out, 0755) < 0 && errno != EEXIST) {
		msg_warn("--out %s: %m", run->out);
		return 1;
	}
	rpt_load_day(run, run->day, &dd);
	if (dd.missing)
		msg_info("%s: no journal for that day: no reports", dd.path);
	for (int i = 0; i < agg_count(dd.agg) && !run->dns_ok && !err[0]; i++)
		if (agg_get(dd.agg, i)->per_host && rpt_setup_dns(run, err, sizeof(err)) < 0)
			msg_warn("%s; per-MX-host DANE reports are not built", err);
	d = rpt_discover_day(run, dd.agg, 1, &nd);
	for (int i = 0; i < agg_count(dd.agg); i++) {
		const struct agg_report *r = agg_get(dd.agg, i);
		const struct disc *h = r->per_host ? rpt_disc_find(d, nd, r->domain) : NULL;
		struct buf gz;

		rpt_clean(r->domain, nb, sizeof(nb));
		if (r->per_host && (h == NULL || h->status != DISC_FOUND)) {
			if (h && h->status == DISC_ERROR)
				msg_warn("%s (MX host, DANE results): no report: %s", nb, h->why);
			else
				msg_info("%s (MX host, DANE results): no report: %s", nb, h
				    && h->why[0] ? h->why : "TLSRPT discovery not possible");
			continue;
		}
		buf_init(&gz);
		if (rpt_make_report(run, r, run->day, &gz, id, sizeof(id), fname, sizeof(fname)) < 0) {
			rc = 1;
		} else if (run->dry_run) {
			printf("would write: %s/%s domain=%s report-id=%s sessions=%ld failures=%ld\n",
			    run->out, fname, nb, id, r->ok + r->failed, r->failed);
		} else if (write_file(run->out, fname, &gz, path, sizeof(path)) < 0) {
			rc = 1;
		} else {
			printf("wrote: %s domain=%s report-id=%s sessions=%ld failures=%ld\n",
			    path, nb, id, r->ok + r->failed, r->failed);
		}
		buf_free(&gz);
	}
	free(d);
	rpt_free_day(&dd);
	return rc;
}
