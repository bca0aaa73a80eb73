/*
 * report_send.c - mxtls-report send: each report to each rua of its
 *	domain, once.  See report_int.h.
 *
 * DESCRIPTION
 *	For the last ndays days, every report's domain is looked up for its
 *	TLSRPT record (tools/discover.c); each rua gets the report by HTTPS
 *	POST, or as a multipart/report message (report/mime.c) piped to
 *	report_mail_command (report/deliver.c).  What was sent is recorded
 *	in report_state_dir (under its lock) and never sent again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/log.h"
#include "../report/agg.h"
#include "../report/deliver.h"
#include "../report/mime.h"
#include "../report/record.h"
#include "discover.h"
#include "report_int.h"

/* text_part - the human-readable part of a report message */
static void
text_part(const struct run *run, const struct agg_report *r, long long day,
    const char *id, const char *fname, char *buf, size_t len)
{
	char ds[40];

	journal_day_str(day, ds, sizeof(ds));
	snprintf(buf, len,
	    "This is an aggregate TLS report (SMTP TLS Reporting, RFC 8460)\n"
	    "from %s.\n\n"
	    "Report domain: %s%s\n"
	    "Report-ID:     <%s>\n"
	    "Period:        %sT00:00:00Z to %sT23:59:59Z\n"
	    "Sessions:      %ld successful, %ld failed\n\n"
	    "The report is attached as %s\n"
	    "(JSON, gzip-compressed).  Questions: %s\n",
	    run->id.org, r->domain, r->per_host ? " (MX host, DANE results)" : "", id,
	    ds, ds, r->ok, r->failed, fname, run->id.contact);
}

/* message_id - <report-id-left.hash@submitter>, deterministic per rua */
static void
message_id(const char *report_id, const char *uri, const char *submitter, char *buf,
    size_t len)
{
	char left[600], h[DELIVER_STATE_NAME];
	const char *at = strrchr(report_id, '@');
	size_t n = at ? (size_t) (at - report_id) : strlen(report_id);

	if (n >= sizeof(left))
		n = sizeof(left) - 1;
	for (size_t i = 0; i < n; i++) {
		char c = report_id[i];

		left[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		    || strchr(".+-_=", c) ? c : '-';
	}
	left[n] = 0;
	deliver_state_name(report_id, uri, h, sizeof(h));
	snprintf(buf, len, "<%s.%.16s@%s>", left, h, submitter);
}

/* send_mail - the report as a message to a mailto: rua */
static int
send_mail(const struct run *run, const struct agg_report *r, long long day,
    const char *id, const char *fname, const struct buf *gz, const char *uri,
    char *err, size_t errlen)
{
	char to[300], date[64], msgid[1000], text[4096];
	struct mime_msg m;
	struct buf msg;
	const char *why;
	int rc;

	if (mime_mailto(uri, to, sizeof(to)) < 0) {
		snprintf(err, errlen, "%s: not a usable mailto: address", uri);
		return -1;
	}
	mime_date((long long) time(NULL), date, sizeof(date));
	message_id(id, uri, run->id.submitter, msgid, sizeof(msgid));
	text_part(run, r, day, id, fname, text, sizeof(text));
	m.from = run->id.sender;
	m.to = to;
	m.date = date;
	m.msgid = msgid;
	m.domain = r->domain;
	m.submitter = run->id.submitter;
	m.report_id = id;
	m.text = text;
	m.gz = (const unsigned char *) buf_head(gz);
	m.gzlen = buf_used(gz);
	m.filename = fname;
	buf_init(&msg);
	if ((rc = mime_compose(&m, &msg, &why)) < 0)
		snprintf(err, errlen, "cannot compose the message: %s", why);
	else
		rc = deliver_command(run->cfg.report_mail_command, buf_head(&msg),
		    buf_used(&msg), err, errlen);
	buf_free(&msg);
	return rc;
}

/* send_one - one report to one rua, once */
static int
send_one(const struct run *run, const struct agg_report *r, long long day,
    const struct disc *h, int j, const char *id, const char *fname, const struct buf *gz)
{
	const char *uri = h->rec.rua[j].uri, *dir = run->cfg.report_state_dir;
	char err[1024] = "", nb[REC_NAME];
	int done, rc;

	rpt_clean(r->domain, nb, sizeof(nb));
	if ((done = deliver_state_sent(dir, id, uri, err, sizeof(err))) != 0) {
		if (done > 0)
			printf("already sent: domain=%s report-id=%s rua=%s\n", nb, id, uri);
		else
			printf("failed: domain=%s report-id=%s rua=%s: %s\n", nb, id, uri, err);
		return done > 0 ? 0 : -1;
	}
	if (run->dry_run) {
		printf("would send: domain=%s report-id=%s rua=%s\n", nb, id, uri);
		return 0;
	}
	if (h->rec.rua[j].scheme == TLSRPT_MAILTO)
		rc = send_mail(run, r, day, id, fname, gz, uri, err, sizeof(err));
	else if (h->rua_err[j][0])
		rc = -1, snprintf(err, sizeof(err), "%s: %s", uri, h->rua_err[j]);
	else
		rc = deliver_https(uri, buf_head(gz), buf_used(gz), run->cfg.tls_ca_file,
		    run->cfg.report_http_timeout, h->resolve[j], err, sizeof(err));
	if (rc < 0) {
		printf("failed: domain=%s report-id=%s rua=%s: %s\n", nb, id, uri, err);
		return -1;
	}
	if (deliver_state_mark(dir, id, uri, (long long) time(NULL), err, sizeof(err)) < 0) {
		printf("failed: domain=%s report-id=%s rua=%s: sent, but not recorded (it "
		    "will be sent again): %s\n", nb, id, uri, err);
		return -1;
	}
	printf("sent: domain=%s report-id=%s rua=%s\n", nb, id, uri);
	return 0;
}

/* send_report - one report to every rua of its domain */
static int
send_report(const struct run *run, const struct agg_report *r, long long day,
    const struct disc *h)
{
	char id[600], fname[1024], nb[REC_NAME];
	struct buf gz;
	int rc = 0;

	rpt_clean(r->domain, nb, sizeof(nb));
	agg_report_id(r, day, run->id.submitter, id, sizeof(id));
	if (h == NULL || h->status == DISC_ERROR || h->status == DISC_PENDING) {
		printf("failed: domain=%s report-id=%s: TLSRPT discovery: %s\n", nb, id,
		    h && h->why[0] ? h->why : "not done");
		return -1;
	}
	if (h->status == DISC_NONE) {
		printf("skipped: domain=%s report-id=%s: no TLSRPT record (%s)\n", nb, id, h->why);
		return 0;
	}
	buf_init(&gz);
	if (rpt_make_report(run, r, day, &gz, id, sizeof(id), fname, sizeof(fname)) < 0) {
		printf("failed: domain=%s report-id=%s: cannot build the report\n", nb, id);
		rc = -1;
	} else {
		for (int j = 0; j < h->rec.nrua; j++)
			if (send_one(run, r, day, h, j, id, fname, &gz) < 0)
				rc = -1;
	}
	buf_free(&gz);
	return rc;
}

/* send_day - every report of one day */
static int
send_day(struct run *run, long long day)
{
	struct day_data dd;
	struct disc *d;
	int nd, rc = 0;

	rpt_load_day(run, day, &dd);
	if (dd.missing)
		msg_info("%s: no journal for that day: no reports", dd.path);
	d = rpt_discover_day(run, dd.agg, 0, &nd);
	for (int i = 0; i < agg_count(dd.agg); i++) {
		const struct agg_report *r = agg_get(dd.agg, i);

		if (send_report(run, r, day, rpt_disc_find(d, nd, r->domain)) < 0)
			rc = 1;
	}
	free(d);
	rpt_free_day(&dd);
	return rc;
}

/* rpt_send - the last ndays days up to run->day */
int
rpt_send(struct run *run)
{
	char err[512];
	int rc = 0, lock = -1;

	if (rpt_setup_dns(run, err, sizeof(err)) < 0) {
		msg_warn("%s", err);
		return 1;
	}
	if (!run->dry_run && (lock = deliver_state_lock(run->cfg.report_state_dir, err,
	    sizeof(err))) < 0) {
		msg_warn("%s", err);
		return 1;
	}
	for (int k = run->ndays - 1; k >= 0; k--)
		if (send_day(run, run->day - k * DAY) != 0)
			rc = 1;
	if (lock >= 0)
		close(lock);
	return rc;
}
