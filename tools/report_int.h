/*
 * report_int.h - mxtls-report's private interface: a section per file.
 *
 * SYNOPSIS
 *	mxtls-report.c: options, configuration, one day's journal
 *	void rpt_load_day(const struct run *run, long long day,
 *		struct day_data *dd);
 *	void rpt_free_day(struct day_data *dd);
 *	const char *rpt_clean(const char *s, char *buf, size_t len);
 *	int rpt_setup_dns(struct run *run, char *err, size_t errlen);
 *
 *	report_summary.c: the summary command
 *	int rpt_summary(struct run *run);
 *
 *	report_build.c: the build command, and what send shares with it
 *	int rpt_make_report(const struct run *run, const struct agg_report *r,
 *		long long day, struct buf *gz, char *id, size_t idlen,
 *		char *fname, size_t flen);
 *	const struct disc *rpt_disc_find(const struct disc *d, int n,
 *		const char *domain);
 *	struct disc *rpt_discover_day(struct run *run, const struct agg *a,
 *		int hosts_only, int *np);
 *	int rpt_build(struct run *run);
 *
 *	report_send.c: the send command
 *	int rpt_send(struct run *run);
 *
 * DESCRIPTION
 *	struct run is one invocation: the configuration, who we are in
 *	reports (struct ident), the command and its options, and the
 *	resolver once rpt_setup_dns() has made it.  struct day_data is one
 *	UTC day's journal, aggregated (report/agg.h), with its health.
 *
 *	rpt_load_day() reads and aggregates a day of each journal
 *	directory (run->jdirs: journal_dir, or those of --journal), a
 *	record read twice (its record-id and line) counted once (a missing
 *	file is an empty day; a read error is fatal); rpt_free_day() frees it.  rpt_clean() makes a name from
 *	the journal safe to print.  rpt_make_report() renders and
 *	compresses one report, with its report id and RFC 8460 5.1 file
 *	name.  rpt_discover_day() finds the TLSRPT records of the domains a
 *	day's reports go to (only the MX hosts' with hosts_only); the
 *	caller frees the array.  The commands return the exit status.
 */
#ifndef MXTLS_REPORT_INT_H
#define MXTLS_REPORT_INT_H

#include <ev.h>

#include "../lib/buf.h"
#include "../lib/conf.h"
#include "../report/agg.h"
#include "../report/journal.h"
#include "../report/merge.h"
#include "discover.h"

#define DAY		86400LL

/* ---- mxtls-report.c: options, configuration, one day's journal ---- */

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
	const char **jargs;		/* --journal DIR..., or none */
	int njargs;
	char **jdirs;			/* the journal directories to merge: */
	int njdirs;			/* journal_dir, or merge_dirs(jargs) */
};

#define DAY_WOULD_MAX	256

struct day_would {			/* report-only: refusals it did not make */
	char domain[REC_NAME];
	enum rtype type;
	long count;
};

struct day_src {			/* one journal's file of the day */
	char path[4096];
	int missing;			/* no such file */
	struct journal_stats st;
	long outside;			/* records not counted by agg_add */
	long copies;			/* records already read (record-id, line) */
	long conflicts;			/* a record-id already read, other line */
	long line_base;			/* while reading: lines before the chunk */
};

#define DAY_CONFLICT_WARN	10	/* conflicts named one by one, a day */

struct day_data {			/* one day's journals, merged, aggregated */
	struct agg *agg;
	long long day;
	struct day_src *src;		/* one per journal directory */
	int nsrc;
	struct day_src *cur;		/* the one being read */
	struct merge *seen;		/* the record-ids read */
	struct journal_stats st;	/* over all of them */
	long outside, copies, conflicts;	/* likewise */
	long table;			/* of the day's: under a policy table entry */
	long would;			/* ... action would-refuse */
	struct day_would wby[DAY_WOULD_MAX];	/* ... by domain and result type */
	int nwby;
	char path[4096];		/* the file, or "N journals" */
	int missing;			/* no journal has a file for the day */
};

void rpt_load_day(const struct run *run, long long day, struct day_data *dd);
void rpt_free_day(struct day_data *dd);
const char *rpt_clean(const char *s, char *buf, size_t len);
int rpt_setup_dns(struct run *run, char *err, size_t errlen);

/* ---- report_summary.c: the summary command ---- */

int rpt_summary(struct run *run);

/* ---- report_build.c: the build command, and what send shares ---- */

int rpt_make_report(const struct run *run, const struct agg_report *r,
    long long day, struct buf *gz, char *id, size_t idlen, char *fname,
    size_t flen);
const struct disc *rpt_disc_find(const struct disc *d, int n, const char *domain);
struct disc *rpt_discover_day(struct run *run, const struct agg *a, int hosts_only,
    int *np);
int rpt_build(struct run *run);

/* ---- report_send.c: the send command ---- */

int rpt_send(struct run *run);

#endif
