/*
 * mxtls-report - TLSRPT (RFC 8460) reports from mxtlsd's journal.
 *
 * SYNOPSIS
 *	mxtls-report [-c config] [-v] summary [--day YYYY-MM-DD] [--journal DIR]...
 *	mxtls-report [-c config] [-v] build [--day D] [--out DIR] [--dry-run]
 *		[--journal DIR]...
 *	mxtls-report [-c config] [-v] send [--day D] [--days N] [--dry-run]
 *		[--journal DIR]...
 *	mxtls-report -V		(--version: print the version and exit)
 *
 * DESCRIPTION
 *	The journal of one UTC day (journal_dir/YYYY-MM-DD.jsonl) is
 *	aggregated (report/agg.c) into one report per policy domain, plus
 *	one per MX host for DANE results.  With --journal, the day files of
 *	several journal directories (a fleet's gateways; a directory of
 *	such directories) are merged into the same reports, a record read
 *	twice (its record-id and line: report/merge.c) counted once.
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
 *	This file holds the options, the configuration and the reading of
 *	one day's journal; each command has a file of its own
 *	(report_summary.c, report_build.c, report_send.c) and report_int.h
 *	is their private interface.  See mxtls-report(8) for the output
 *	lines and exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "../lib/buf.h"
#include "../lib/conf.h"
#include "../lib/log.h"
#include "../lib/version.h"
#include "../policy/dns.h"
#include "../report/agg.h"
#include "../report/journal.h"
#include "../report/merge.h"
#include "report_int.h"

#define EX_USAGE_RC	2
#define MAX_DAYS	31
#define READ_CHUNK	(1 << 20)	/* a day file is read this much at a time */
#define MAX_JOURNALS	256		/* --journal DIR, given this often */
#define MAX_JOURNALS_STR "256"

/* usage - the synopsis, and exit */
static _Noreturn void
usage(const char *why)
{
	if (why)
		fprintf(stderr, "mxtls-report: %s\n", why);
	fprintf(stderr,
	    "usage: mxtls-report [-c config] [-v] summary [--day YYYY-MM-DD] [--journal DIR]...\n"
	    "       mxtls-report [-c config] [-v] build [--day YYYY-MM-DD] [--out DIR] [--dry-run]\n"
	    "                    [--journal DIR]...\n"
	    "       mxtls-report [-c config] [-v] send [--day YYYY-MM-DD] [--days N] [--dry-run]\n"
	    "                    [--journal DIR]...\n"
	    "       mxtls-report -V\n");
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

/* on_rec - journal_replay's callback: count one record, once */
static void
on_rec(const struct rec *r, void *arg)
{
	struct day_data *dd = arg;
	struct day_src *src = dd->cur;
	int rc = merge_seen(dd->seen, r);
	enum raction a;
	enum rtype t;

	if (rc < 0)
		msg_fatal("out of memory for the record-ids of %s", src->path);
	if (rc == MERGE_COPY) {
		src->copies++;
		return;
	}
	if (rc == MERGE_CONFLICT) {
		char rb[REC_RID];

		if (dd->conflicts + src->conflicts < DAY_CONFLICT_WARN)
			msg_warn("%s:%ld: record-id %s was read before with other content: "
			    "the first one counts, this one is skipped", src->path,
			    src->line_base + r->lineno,
			    rpt_clean(r->rid, rb, sizeof(rb)));
		src->conflicts++;
		return;
	}
	rc = agg_add(dd->agg, r);
	if (rc < 0)
		msg_fatal("out of memory aggregating %s", src->path);
	if (rc == 0)
		src->outside++;
	if (r->time < dd->day || r->time - dd->day >= 86400)
		return;
	dd->table += r->table[0] != 0;
	if (raction_parse(r->action, &a) == 0 && a == RACTION_WOULD_REFUSE
	    && rtype_parse(r->result, &t) == 0) {
		int i;

		dd->would++;
		for (i = 0; i < dd->nwby && (dd->wby[i].type != t
		    || strcmp(dd->wby[i].domain, r->domain) != 0); i++)
			;
		if (i == dd->nwby && dd->nwby < DAY_WOULD_MAX) {
			snprintf(dd->wby[i].domain, sizeof(dd->wby[i].domain), "%s", r->domain);
			dd->wby[i].type = t;
			dd->nwby++;
		}
		if (i < dd->nwby)
			dd->wby[i].count++;
	}
}

/* add_stats - a chunk's replay into the file's */
static void
add_stats(struct day_src *src, const struct journal_stats *st)
{
	if (st->bad > 0 && src->st.bad == 0) {
		src->st.first_bad = src->line_base + st->first_bad;
		src->st.first_why = st->first_why;
	}
	src->st.lines += st->lines;
	src->st.good += st->good;
	src->st.bad += st->bad;
	src->st.torn |= st->torn;
	src->line_base += st->lines;
}

/* replay_file - a day file in chunks of whole lines, so that memory
 * does not grow with it (the journal may still be growing); a line
 * longer than REC_LINE_MAX is skipped as it goes by, as one bad line;
 * -1 with errno */
static int
replay_file(struct day_data *dd, struct day_src *src)
{
	int fd = open(src->path, O_RDONLY | O_CLOEXEC), skipping = 0;
	struct journal_stats st;
	struct buf b;
	ssize_t n;

	if (fd < 0)
		return -1;
	buf_init(&b);
	for (;;) {
		const char *lf;
		size_t end;

		if (buf_reserve(&b, READ_CHUNK) < 0) {
			errno = ENOMEM;
			n = -1;
			break;
		}
		n = read(fd, b.data + b.len, b.cap - b.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		b.len += (size_t) n;
		lf = b.len ? memrchr(b.data, '\n', b.len) : NULL;
		if (skipping) {
			/* the rest of an over-long line, up to its LF */
			const char *first = b.len ? memchr(b.data, '\n', b.len) : NULL;

			if (first == NULL) {
				src->st.torn |= n == 0;
				b.len = 0;
				if (n == 0)
					break;
				continue;
			}
			memset(&st, 0, sizeof(st));
			st.lines = st.bad = st.first_bad = 1;
			st.first_why = "line too long";
			add_stats(src, &st);
			end = (size_t) (first - b.data) + 1;
			memmove(b.data, b.data + end, b.len - end);
			b.len -= end;
			skipping = 0;
			lf = b.len ? memrchr(b.data, '\n', b.len) : NULL;
		}
		end = n == 0 ? b.len : lf ? (size_t) (lf - b.data) + 1 : 0;
		if (end > 0) {
			journal_replay(b.data, end, on_rec, dd, &st);
			add_stats(src, &st);
			memmove(b.data, b.data + end, b.len - end);
			b.len -= end;
		}
		if (n == 0)
			break;
		if (b.len > REC_LINE_MAX + 1) {
			skipping = 1;		/* no LF in sight: not a record */
			b.len = 0;
		}
	}
	buf_free(&b);
	close(fd);
	return n < 0 ? -1 : 0;
}

/* load_src - one journal's file of the day into dd */
static void
load_src(struct day_data *dd, struct day_src *src, const char *dir, const char *name)
{
	snprintf(src->path, sizeof(src->path), "%s/%s", dir, name);
	dd->cur = src;
	if (replay_file(dd, src) < 0) {
		if (errno != ENOENT)
			msg_fatal("%s: %s", src->path, strerror(errno));
		src->missing = 1;
	}
	if (src->st.bad > 0)
		msg_warn("%s: %ld corrupt line%s skipped (the first: line %ld: %s)", src->path,
		    src->st.bad, src->st.bad == 1 ? "" : "s", src->st.first_bad,
		    src->st.first_why ? src->st.first_why : "?");
	if (src->st.torn)
		msg_warn("%s: incomplete last line skipped (torn by a crash, or still "
		    "being written)", src->path);
	if (src->conflicts > 0)
		msg_warn("%s: %ld record%s with a record-id read before, with other content, "
		    "skipped", src->path, src->conflicts, src->conflicts == 1 ? "" : "s");
	dd->st.lines += src->st.lines;
	dd->st.good += src->st.good;
	dd->st.bad += src->st.bad;
	dd->st.torn += src->st.torn;
	dd->outside += src->outside;
	dd->copies += src->copies;
	dd->conflicts += src->conflicts;
}

/* rpt_load_day - read, merge and aggregate one day of every journal */
void
rpt_load_day(const struct run *run, long long day, struct day_data *dd)
{
	char name[64];
	int missing = 0;

	memset(dd, 0, sizeof(*dd));
	dd->day = day;
	journal_day_name(day, name, sizeof(name));	/* mxtlsd's file for that day */
	if ((dd->agg = agg_new(day)) == NULL || (dd->seen = merge_new()) == NULL
	    || (dd->src = calloc((size_t) run->njdirs, sizeof(*dd->src))) == NULL)
		msg_fatal("out of memory");
	dd->nsrc = run->njdirs;
	for (int i = 0; i < dd->nsrc; i++) {
		load_src(dd, &dd->src[i], run->jdirs[i], name);
		missing += dd->src[i].missing;
	}
	dd->cur = NULL;
	agg_finish(dd->agg);
	dd->missing = missing == dd->nsrc;
	if (dd->nsrc == 1)
		snprintf(dd->path, sizeof(dd->path), "%s", dd->src[0].path);
	else
		snprintf(dd->path, sizeof(dd->path), "%s in %d journals", name, dd->nsrc);
	/* The ids are needed no more: their memory goes before the reports'. */
	msg_debug("%s: %zu record-ids, %zu bytes", dd->path, merge_ids(dd->seen),
	    merge_bytes(dd->seen));
	merge_free(dd->seen);
	dd->seen = NULL;
}

/* rpt_free_day - what rpt_load_day() made */
void
rpt_free_day(struct day_data *dd)
{
	agg_free(dd->agg);
	merge_free(dd->seen);
	free(dd->src);
	dd->agg = NULL;
	dd->seen = NULL;
	dd->src = NULL;
}

/* rpt_clean - a name from the journal, safe to print */
const char *
rpt_clean(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

/* rpt_setup_dns - the resolver, as mxtlsd configures it */
int
rpt_setup_dns(struct run *run, char *err, size_t errlen)
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

/* parse_args - options and the command */
static void
parse_args(int argc, char **argv, struct run *run, const char **config, int *given)
{
	static const struct option lopts[] = {
		{"day", required_argument, NULL, 'd'},
		{"days", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'N'},
		{"journal", required_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *day = NULL, *cmd;
	int ch, verbose = 0;
	char *end;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:vhV", lopts, NULL)) != -1) {
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
		case 'j':
			if (run->njargs == MAX_JOURNALS)
				usage("--journal: at most " MAX_JOURNALS_STR " times");
			run->jargs[run->njargs++] = optarg;
			break;
		case 'h':
			usage(NULL);
		case 'V':
			printf("mxtls-report %s\n", MXTLS_VERSION);
			exit(0);
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

/* set_journals - the journal directories: journal_dir, or those of
 * --journal (a fleet collection's subdirectories each) */
static void
set_journals(struct run *run)
{
	char err[4400];

	if (run->njargs == 0) {
		if ((run->jdirs = calloc(1, sizeof(*run->jdirs))) == NULL
		    || (run->jdirs[0] = strdup(run->cfg.journal_dir)) == NULL)
			msg_fatal("out of memory");
		run->njdirs = 1;
		return;
	}
	if (merge_dirs(run->jargs, run->njargs, &run->jdirs, &run->njdirs, err,
	    sizeof(err)) < 0)
		msg_fatal("%s", err);
	/* The report-id and file name name the submitter, not a gateway:
	 * the same on every host only when it is set. */
	if (run->cmd != CMD_SUMMARY && run->cfg.report_submitter[0] == 0)
		msg_warn("--journal: report_submitter is not set, so report ids and file "
		    "names name this host (%s); set it to one name for the fleet so that "
		    "every host makes the same reports and sends each once", run->id.submitter);
	for (int i = 0; i < run->njdirs; i++)
		msg_debug("journal %d: %s", i + 1, run->jdirs[i]);
}

/* main - one command */
int
main(int argc, char **argv)
{
	struct run run;
	const char *config = CFG_DEFAULT_FILE;
	char err[1024];
	int given = 0, rc;

	memset(&run, 0, sizeof(run));
	if ((run.jargs = calloc(MAX_JOURNALS, sizeof(*run.jargs))) == NULL)
		msg_fatal("out of memory");
	parse_args(argc, argv, &run, &config, &given);
	if (cfg_read(&run.cfg, config, given, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	set_ident(&run.cfg, &run.id);
	set_journals(&run);
	run.loop = EV_DEFAULT;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		msg_fatal("cannot initialise libcurl");
	switch (run.cmd) {
	case CMD_SUMMARY:
		rc = rpt_summary(&run);
		break;
	case CMD_BUILD:
		rc = rpt_build(&run);
		break;
	default:
		rc = rpt_send(&run);
		break;
	}
	fflush(stdout);
	if (run.dns_ok)
		dns_shutdown();
	curl_global_cleanup();
	merge_dirs_free(run.jdirs, run.njdirs);
	free(run.jargs);
	cfg_free(&run.cfg);
	return rc;
}
