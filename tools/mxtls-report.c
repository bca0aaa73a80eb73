/*
 * mxtls-report - TLSRPT (RFC 8460) reports from mxtlsd's journal.
 *
 * SYNOPSIS
 *	mxtls-report [-c config] [-v] summary [--day YYYY-MM-DD]
 *	mxtls-report [-c config] [-v] build [--day D] [--out DIR] [--dry-run]
 *	mxtls-report [-c config] [-v] send [--day D] [--days N] [--dry-run]
 *
 * DESCRIPTION
 *	The journal of one UTC day (journal_dir/YYYY-MM-DD.jsonl) is
 *	aggregated (report/agg.c) into one report per policy domain, plus
 *	one per MX host for DANE results.
 *
 *	summary prints a table per report domain and the journal's health;
 *	it needs no DNS.  build writes each report, gzip-compressed, under
 *	its RFC 8460 5.1 name; per-host reports only when the MX host
 *	publishes a TLSRPT record.  send discovers each report domain's
 *	TLSRPT record (tools/discover.c), and hands the report to each rua:
 *	HTTPS POST, or a multipart/report message (report/mime.c) piped to
 *	report_mail_command (report/deliver.c); what was sent is recorded
 *	in report_state_dir and never sent again.
 *
 *	See mxtls-report(8) for the output lines and exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "../lib/buf.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../policy/dns.h"
#include "../lib/conf.h"
#include "../report/agg.h"
#include "../report/deliver.h"
#include "../report/journal.h"
#include "../report/mime.h"
#include "../report/record.h"
#include "discover.h"

#define DAY		86400LL
#define EX_USAGE_RC	2
#define DISC_TIMEOUT	60.0
#define MAX_DAYS	31

enum cmd { CMD_SUMMARY, CMD_BUILD, CMD_SEND };

struct ident {				/* who we are in reports */
	char submitter[256];
	char org[512];
	char contact[512];
	char sender[600];
};

struct run {
	struct config cfg;
	struct ident id;
	enum cmd cmd;
	long long day;			/* start of the (last) UTC day */
	int ndays;			/* send: this many days up to day */
	const char *out;		/* build: directory */
	int dry_run;
	int dns_ok;			/* dns_init() succeeded */
	struct ev_loop *loop;
};

struct day_data {			/* one day's journal, aggregated */
	struct agg *agg;
	struct journal_stats st;
	long outside;			/* records not counted by agg_add */
	char path[4096];
	int missing;			/* no journal file */
};

/* usage - the synopsis, and exit */
static _Noreturn void
usage(const char *why)
{
	if (why)
		fprintf(stderr, "mxtls-report: %s\n", why);
	fprintf(stderr,
	    "usage: mxtls-report [-c config] [-v] summary [--day YYYY-MM-DD]\n"
	    "       mxtls-report [-c config] [-v] build [--day YYYY-MM-DD] [--out DIR] [--dry-run]\n"
	    "       mxtls-report [-c config] [-v] send [--day YYYY-MM-DD] [--days N] [--dry-run]\n");
	exit(EX_USAGE_RC);
}

/* civil_days - days since 1970-01-01 of a proleptic Gregorian date */
static long long
civil_days(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* parse_day - YYYY-MM-DD, a real date, into the start of its UTC day */
static int
parse_day(const char *s, long long *day)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d, leap;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]
	    || (m == 2 && d == 29 && !leap))
		return -1;
	*day = civil_days(y, m, d) * DAY;
	return 0;
}

/* day_str - YYYY-MM-DD of a UTC day */
static void
day_str(long long day, char *buf, size_t len)
{
	time_t t = (time_t) day;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* set_ident - submitter, organization, contact, sender, with defaults */
static void
set_ident(const struct config *c, struct ident *id)
{
	if (c->report_submitter[0])
		snprintf(id->submitter, sizeof(id->submitter), "%s", c->report_submitter);
	else
		cfg_hostname(c, id->submitter, sizeof(id->submitter));	/* as mxtlsd's */
	snprintf(id->org, sizeof(id->org), "%s", c->report_organization[0]
	    ? c->report_organization : id->submitter);
	if (c->report_contact[0])
		snprintf(id->contact, sizeof(id->contact), "%s", c->report_contact);
	else
		snprintf(id->contact, sizeof(id->contact), "postmaster@%s", id->submitter);
	if (c->report_sender[0])
		snprintf(id->sender, sizeof(id->sender), "%s", c->report_sender);
	else
		snprintf(id->sender, sizeof(id->sender), "TLS reports <noreply-tlsrpt@%s>",
		    id->submitter);
}

/* read_all - a whole file into b; the journal may still be growing */
static int
read_all(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	for (;;) {
		if (buf_reserve(b, 65536) < 0) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b->len += (size_t) n;
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

/* on_rec - journal_replay's callback: count one record */
static void
on_rec(const struct rec *r, void *arg)
{
	struct day_data *dd = arg;
	int rc = agg_add(dd->agg, r);

	if (rc < 0)
		msg_fatal("out of memory aggregating %s", dd->path);
	if (rc == 0)
		dd->outside++;
}

/* load_day - read and aggregate one day's journal */
static void
load_day(const struct run *run, long long day, struct day_data *dd)
{
	struct buf text;
	char name[64];

	memset(dd, 0, sizeof(*dd));
	journal_day_name(day, name, sizeof(name));	/* mxtlsd's file for that day */
	snprintf(dd->path, sizeof(dd->path), "%s/%s", run->cfg.journal_dir, name);
	if ((dd->agg = agg_new(day)) == NULL)
		msg_fatal("out of memory");
	buf_init(&text);
	if (read_all(dd->path, &text) < 0) {
		if (errno != ENOENT)
			msg_fatal("%s: %s", dd->path, strerror(errno));
		dd->missing = 1;
	} else {
		journal_replay(buf_head(&text), buf_used(&text), on_rec, dd, &dd->st);
	}
	buf_free(&text);
	agg_finish(dd->agg);
	if (dd->st.bad > 0)
		msg_warn("%s: %ld corrupt line%s skipped", dd->path, dd->st.bad,
		    dd->st.bad == 1 ? "" : "s");
	if (dd->st.torn)
		msg_warn("%s: incomplete last line skipped (torn by a crash, or still "
		    "being written)", dd->path);
}

/* clean - a name from the journal, safe to print */
static const char *
clean(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

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
		printf("  %-*s%10ld\n", width + 51, clean(rtype_str(by[k].type), cb, sizeof(cb)),
		    by[k].count);
}

/* print_health - what the journal looked like */
static void
print_health(const struct day_data *dd)
{
	if (dd->missing) {
		printf("journal: %s: no such file\n", dd->path);
		return;
	}
	printf("journal: %s: %ld lines, %ld records, %ld corrupt line%s skipped, %s, "
	    "%ld record%s outside the day\n", dd->path, dd->st.lines, dd->st.good,
	    dd->st.bad, dd->st.bad == 1 ? "" : "s",
	    dd->st.torn ? "torn last line skipped" : "no torn last line",
	    dd->outside, dd->outside == 1 ? "" : "s");
}

/* cmd_summary - the table */
static int
cmd_summary(struct run *run)
{
	struct day_data dd;
	char ds[40], nb[REC_NAME], types[128];
	long tot_s = 0, tot_ok = 0, tot_f = 0;
	int width = 13;

	load_day(run, run->day, &dd);
	day_str(run->day, ds, sizeof(ds));
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
		printf("%-*s %-8s %-20s %10ld %10ld %10ld\n", width, clean(r->domain, nb,
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
	agg_free(dd.agg);
	return 0;
}

/* setup_dns - the resolver, as mxtlsd configures it */
static int
setup_dns(struct run *run, char *err, size_t errlen)
{
	struct dns_conf dc;

	if (dns_conf_of(&run->cfg, &dc) < 0) {
		snprintf(err, errlen, "dns_resolver = none: TLSRPT records cannot be discovered");
		return -1;
	}
	if (dns_init(run->loop, &dc, err, errlen) < 0)
		return -1;
	run->dns_ok = 1;
	return 0;
}

/* make_report - render and compress one report; its id and file name */
static int
make_report(const struct run *run, const struct agg_report *r, long long day,
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

/* disc_find - the discovery entry of a domain */
static const struct disc *
disc_find(const struct disc *d, int n, const char *domain)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(d[i].domain, domain) == 0)
			return d + i;
	return NULL;
}

/* discover_day - the TLSRPT records of the domains a day's reports need */
static struct disc *
discover_day(struct run *run, const struct agg *a, int hosts_only, int *np)
{
	struct disc *d = calloc((size_t) agg_count(a) + 1, sizeof(*d));
	int n = 0;

	if (d == NULL)
		msg_fatal("out of memory");
	for (int i = 0; i < agg_count(a); i++) {
		const struct agg_report *r = agg_get(a, i);

		if ((hosts_only && !r->per_host) || disc_find(d, n, r->domain))
			continue;
		snprintf(d[n++].domain, DISC_NAME, "%s", r->domain);
	}
	if (n > 0 && run->dns_ok)
		discover(run->loop, d, n, DISC_TIMEOUT);
	*np = n;
	return d;
}

/* cmd_build - write the day's reports */
static int
cmd_build(struct run *run)
{
	struct day_data dd;
	char err[512] = "", id[600], fname[1024], path[4096], nb[REC_NAME];
	struct disc *d;
	int nd, rc = 0;

	if (!run->dry_run && mkdir(run->out, 0755) < 0 && errno != EEXIST) {
		msg_warn("--out %s: %m", run->out);
		return 1;
	}
	load_day(run, run->day, &dd);
	if (dd.missing)
		msg_info("%s: no journal for that day: no reports", dd.path);
	for (int i = 0; i < agg_count(dd.agg) && !run->dns_ok && !err[0]; i++)
		if (agg_get(dd.agg, i)->per_host && setup_dns(run, err, sizeof(err)) < 0)
			msg_warn("%s; per-MX-host DANE reports are not built", err);
	d = discover_day(run, dd.agg, 1, &nd);
	for (int i = 0; i < agg_count(dd.agg); i++) {
		const struct agg_report *r = agg_get(dd.agg, i);
		const struct disc *h = r->per_host ? disc_find(d, nd, r->domain) : NULL;
		struct buf gz;

		clean(r->domain, nb, sizeof(nb));
		if (r->per_host && (h == NULL || h->status != DISC_FOUND)) {
			if (h && h->status == DISC_ERROR)
				msg_warn("%s (MX host, DANE results): no report: %s", nb, h->why);
			else
				msg_info("%s (MX host, DANE results): no report: %s", nb, h
				    && h->why[0] ? h->why : "TLSRPT discovery not possible");
			continue;
		}
		buf_init(&gz);
		if (make_report(run, r, run->day, &gz, id, sizeof(id), fname, sizeof(fname)) < 0) {
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
	agg_free(dd.agg);
	return rc;
}

/* text_part - the human-readable part of a report message */
static void
text_part(const struct run *run, const struct agg_report *r, long long day,
    const char *id, const char *fname, char *buf, size_t len)
{
	char ds[40];

	day_str(day, ds, sizeof(ds));
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

	clean(r->domain, nb, sizeof(nb));
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

	clean(r->domain, nb, sizeof(nb));
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
	if (make_report(run, r, day, &gz, id, sizeof(id), fname, sizeof(fname)) < 0) {
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

	load_day(run, day, &dd);
	if (dd.missing)
		msg_info("%s: no journal for that day: no reports", dd.path);
	d = discover_day(run, dd.agg, 0, &nd);
	for (int i = 0; i < agg_count(dd.agg); i++) {
		const struct agg_report *r = agg_get(dd.agg, i);

		if (send_report(run, r, day, disc_find(d, nd, r->domain)) < 0)
			rc = 1;
	}
	free(d);
	agg_free(dd.agg);
	return rc;
}

/* cmd_send - the last ndays days up to run->day */
static int
cmd_send(struct run *run)
{
	char err[512];
	int rc = 0, lock = -1;

	if (setup_dns(run, err, sizeof(err)) < 0) {
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

/* parse_args - options and the command */
static void
parse_args(int argc, char **argv, struct run *run, const char **config, int *given)
{
	static const struct option lopts[] = {
		{"day", required_argument, NULL, 'd'},
		{"days", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'N'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *day = NULL, *cmd;
	int ch, verbose = 0;
	char *end;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:vh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*config = optarg;
			*given = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'd':
			day = optarg;
			break;
		case 'n':
			run->ndays = (int) strtol(optarg, &end, 10);
			if (*end || end == optarg || run->ndays < 1 || run->ndays > MAX_DAYS)
				usage("--days: a number from 1 to 31");
			break;
		case 'o':
			run->out = optarg;
			break;
		case 'N':
			run->dry_run = 1;
			break;
		case 'h':
			usage(NULL);
		case ':':
			usage("an option needs a value");
		default:
			usage("unknown option");
		}
	}
	log_init("mxtls-report", 1, verbose);
	if (optind != argc - 1)
		usage(optind == argc ? "no command" : "one command only");
	cmd = argv[optind];
	if (strcmp(cmd, "summary") == 0)
		run->cmd = CMD_SUMMARY;
	else if (strcmp(cmd, "build") == 0)
		run->cmd = CMD_BUILD;
	else if (strcmp(cmd, "send") == 0)
		run->cmd = CMD_SEND;
	else
		usage("the command is summary, build or send");
	if ((run->out && run->cmd != CMD_BUILD) || (run->ndays && run->cmd != CMD_SEND)
	    || (run->dry_run && run->cmd == CMD_SUMMARY))
		usage("option not valid with this command");
	run->day = (long long) time(NULL) / DAY * DAY - (run->cmd == CMD_SUMMARY ? 0 : DAY);
	if (day && parse_day(day, &run->day) < 0) {
		char why[300];

		snprintf(why, sizeof(why), "--day `%.200s': not a date YYYY-MM-DD", day);
		usage(why);
	}
	if (run->ndays == 0)
		run->ndays = 1;
	if (run->out == NULL)
		run->out = ".";
}

int
main(int argc, char **argv)
{
	struct run run;
	const char *config = CFG_DEFAULT_FILE;
	char err[1024];
	int given = 0, rc;

	memset(&run, 0, sizeof(run));
	parse_args(argc, argv, &run, &config, &given);
	if (cfg_read(&run.cfg, config, given, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	set_ident(&run.cfg, &run.id);
	run.loop = EV_DEFAULT;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		msg_fatal("cannot initialise libcurl");
	switch (run.cmd) {
	case CMD_SUMMARY:
		rc = cmd_summary(&run);
		break;
	case CMD_BUILD:
		rc = cmd_build(&run);
		break;
	default:
		rc = cmd_send(&run);
		break;
	}
	fflush(stdout);
	if (run.dns_ok)
		dns_shutdown();
	curl_global_cleanup();
	cfg_free(&run.cfg);
	return rc;
}
