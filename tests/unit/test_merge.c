/*
 * test_merge.c - fleet reports: the journals of several gateways merged
 * into one day's reports (report/merge.c with record.c and agg.c), a
 * record present twice counted once, the counts added, each gateway's
 * sending IP kept in its failure details; the journal directories of a
 * fleet collection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../report/agg.h"
#include "../../report/merge.h"
#include "t.h"

#define DAY	1763769600LL		/* 2025-11-22T00:00:00Z */

/* mk - record i of gateway g: every 4th a tlsa-invalid failure */
static void
mk(struct rec *r, const char *g, int i, int with_id)
{
	memset(r, 0, sizeof(*r));
	r->time = DAY + 60 * i;
	snprintf(r->sid, sizeof(r->sid), "%05X%05X", i / 2, i);
	snprintf(r->domain, sizeof(r->domain), i % 2 ? "a.example" : "b.example");
	snprintf(r->ptype, sizeof(r->ptype), "tlsa");
	snprintf(r->policy, sizeof(r->policy), "3 1 1 AB\n");
	snprintf(r->mx, sizeof(r->mx), "mx.%s", i % 2 ? "a.example" : "b.example");
	snprintf(r->ip, sizeof(r->ip), "198.51.100.25");
	snprintf(r->helo, sizeof(r->helo), "%s", r->mx);
	/* each gateway sends from its own address */
	snprintf(r->src, sizeof(r->src), "192.0.2.%d", g[3] - 'a' + 1);
	r->sport = 40000 + i;
	snprintf(r->result, sizeof(r->result), i % 4 == 1 ? "tlsa-invalid" : "success");
	snprintf(r->reason, sizeof(r->reason), i % 4 == 1 ? "X509_V_ERR_DANE_NO_MATCH" : "");
	snprintf(r->action, sizeof(r->action), i % 4 == 1 ? "refused" : "delivered");
	if (with_id) {
		snprintf(r->gw, sizeof(r->gw), "%s", g);
		snprintf(r->rid, sizeof(r->rid), "%s:%s:100:%d", g, r->sid, 1 + i % 3);
	}
}

/* journal - n records of gateway g as journal text */
static void
journal(struct buf *b, const char *g, int n, int with_id)
{
	struct rec r;

	for (int i = 0; i < n; i++) {
		mk(&r, g, i, with_id);
		rec_to_json(&r, b);
	}
}

struct run {
	struct agg *agg;
	struct merge *seen;
	long counted, copies, conflicts;
};

/* on_rec - what mxtls-report does with each record read */
static void
on_rec(const struct rec *r, void *arg)
{
	struct run *m = arg;

	switch (merge_seen(m->seen, r)) {
	case MERGE_NEW:
		m->counted += agg_add(m->agg, r) == 1;
		break;
	case MERGE_COPY:
		m->copies++;
		break;
	case MERGE_CONFLICT:
		m->conflicts++;
		break;
	default:
		m->counted = -1000000;
	}
}

/* replay - journals into one run */
static void
replay(struct run *m, const struct buf *const *js, int n)
{
	struct journal_stats st;

	memset(m, 0, sizeof(*m));
	m->agg = agg_new(DAY);
	m->seen = merge_new();
	for (int i = 0; i < n; i++)
		journal_replay(buf_head(js[i]), buf_used(js[i]), on_rec, m, &st);
	agg_finish(m->agg);
}

/* report_of - the report of a domain */
static const struct agg_report *
report_of(const struct agg *a, const char *dom)
{
	for (int i = 0; i < agg_count(a); i++)
		if (strcmp(agg_get(a, i)->domain, dom) == 0)
			return agg_get(a, i);
	return NULL;
}

/* fails_from - a report's failed sessions sent from src */
static long
fails_from(const struct agg_report *r, const char *src)
{
	long n = 0;

	for (int i = 0; r && i < r->npols; i++)
		for (int f = 0; f < r->pols[i].nfails; f++)
			if (strcmp(r->pols[i].fails[f].src, src) == 0)
				n += r->pols[i].fails[f].count;
	return n;
}

static void
merged(void)
{
	struct buf a, a2, b, old;
	const struct buf *js[4];
	const struct agg_report *ra, *rb;
	struct run m;

	buf_init(&a);
	buf_init(&a2);
	buf_init(&b);
	buf_init(&old);
	journal(&a, "gw-a", 100, 1);
	journal(&a2, "gw-a", 100, 1);		/* the same journal, copied again */
	journal(&b, "gw-b", 60, 1);
	journal(&old, "gw-c", 8, 0);		/* an older mxtlsd: no ids */

	js[0] = &a;
	js[1] = &b;
	replay(&m, js, 2);
	ra = report_of(m.agg, "a.example");
	rb = report_of(m.agg, "b.example");
	T_CASE("two gateways: the counts add up", m.counted == 160 && m.copies == 0 && ra && rb
	    && ra->ok + ra->failed == 50 + 30 && rb->ok + rb->failed == 50 + 30
	    && ra->failed == 25 + 15 && rb->failed == 0, "counted=%ld a=%ld/%ld b=%ld/%ld",
	    m.counted, ra ? ra->ok : -1, ra ? ra->failed : -1, rb ? rb->ok : -1,
	    rb ? rb->failed : -1);
	T_CASE("two gateways: each failure detail keeps its sending-mta-ip",
	    fails_from(ra, "192.0.2.1") == 25 && fails_from(ra, "192.0.2.2") == 15
	    && ra->npols == 1 && ra->pols[0].nfails == 2, "from .1: %ld, from .2: %ld",
	    fails_from(ra, "192.0.2.1"), fails_from(ra, "192.0.2.2"));
	agg_free(m.agg);
	merge_free(m.seen);

	/* the same records in two journals (overlapping copies) */
	js[0] = &a;
	js[1] = &b;
	js[2] = &a2;
	replay(&m, js, 3);
	ra = report_of(m.agg, "a.example");
	T_CASE("a journal read twice: its records counted once", m.counted == 160
	    && m.copies == 100 && m.conflicts == 0 && ra && ra->ok + ra->failed == 80
	    && fails_from(ra, "192.0.2.1") == 25, "counted=%ld copies=%ld conflicts=%ld",
	    m.counted, m.copies, m.conflicts);
	agg_free(m.agg);
	merge_free(m.seen);

	{
		/* a copy of half of a, and one line of a changed, id kept */
		struct buf part;
		struct rec r;

		buf_init(&part);
		journal(&part, "gw-a", 50, 1);
		mk(&r, "gw-a", 5, 1);	/* a failure, now a success */
		snprintf(r.result, sizeof(r.result), "success");
		r.reason[0] = 0;
		snprintf(r.action, sizeof(r.action), "delivered");
		rec_to_json(&r, &part);
		js[0] = &a;
		js[1] = &part;
		replay(&m, js, 2);
		ra = report_of(m.agg, "a.example");
		T_CASE("a record-id again with other content: the first counts, one conflict",
		    m.counted == 100 && m.copies == 50 && m.conflicts == 1 && ra
		    && ra->failed == 25, "counted=%ld copies=%ld conflicts=%ld failed=%ld",
		    m.counted, m.copies, m.conflicts, ra ? ra->failed : -1);
		agg_free(m.agg);
		merge_free(m.seen);
		buf_free(&part);
	}

	/* records without a record-id (older mxtlsd) are never taken for copies */
	js[0] = &old;
	js[1] = &old;
	replay(&m, js, 2);
	T_CASE("records without record-id: each read counts", m.counted == 16 && m.copies == 0,
	    "counted=%ld copies=%ld", m.counted, m.copies);
	agg_free(m.agg);
	merge_free(m.seen);
	buf_free(&a);
	buf_free(&a2);
	buf_free(&b);
	buf_free(&old);
}

/* many - the set past many resizes: every id new once, a copy after */
static void
many(void)
{
	struct merge *m = merge_new();
	struct rec r;
	long newc = 0, copies = 0;

	memset(&r, 0, sizeof(r));
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 200000; i++) {
			int rc;

			snprintf(r.rid, sizeof(r.rid), "gw-%d:%010X:1:1", i % 3, i);
			r.line = r.rid;
			r.linelen = strlen(r.rid);
			rc = merge_seen(m, &r);
			newc += rc == MERGE_NEW;
			copies += rc == MERGE_COPY;
		}
	T_CASE("200000 ids: each new once, then a copy", newc == 200000 && copies == 200000
	    && merge_ids(m) == 200000 && merge_bytes(m) <= 200000 * 16 * 3,
	    "new=%ld copies=%ld ids=%zu bytes=%zu", newc, copies, merge_ids(m), merge_bytes(m));
	merge_free(m);
}

/* mkfile - an empty file */
static void
mkfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f)
		fclose(f);
}

/* dirs - a journal directory, a fleet collection, errors */
static void
dirs(void)
{
	char top[] = "/tmp/test_merge.XXXXXX", p[512], err[512] = "", cmd[600];
	char **d = NULL;
	const char *args[4];
	int n = 0, rc;

	if (mkdtemp(top) == NULL) {
		T_CASE("merge_dirs", 0, "mkdtemp failed");
		return;
	}
	snprintf(p, sizeof(p), "%s/fleet", top), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/fleet/gw-b", top), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/fleet/gw-a", top), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/fleet/.rsync-tmp", top), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/fleet/gw-a/2025-11-22.jsonl", top), mkfile(p);
	snprintf(p, sizeof(p), "%s/fleet/README", top), mkfile(p);
	snprintf(p, sizeof(p), "%s/one", top), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/one/2025-11-22.jsonl", top), mkfile(p);
	snprintf(p, sizeof(p), "%s/one/sub", top), mkdir(p, 0755);

	snprintf(p, sizeof(p), "%s/fleet", top);
	args[0] = strdup(p);
	snprintf(p, sizeof(p), "%s/one", top);
	args[1] = strdup(p);
	snprintf(p, sizeof(p), "%s/fleet/gw-a", top);
	args[2] = strdup(p);
	rc = merge_dirs(args, 3, &d, &n, err, sizeof(err));
	snprintf(p, sizeof(p), "%s/fleet/gw-a", top);
	T_CASE("a collection's subdirectories in name order, a journal itself, each once",
	    rc == 0 && n == 3 && strcmp(d[0], p) == 0 && strstr(d[1], "/fleet/gw-b")
	    && strcmp(d[2], args[1]) == 0, "rc=%d n=%d err=%s %s %s", rc, n, err,
	    n > 0 ? d[0] : "-", n > 1 ? d[1] : "-");
	merge_dirs_free(d, n);

	snprintf(p, sizeof(p), "%s/nowhere", top);
	args[3] = strdup(p);
	rc = merge_dirs(args + 1, 3, &d, &n, err, sizeof(err));
	T_CASE("a directory that cannot be read: an error naming it", rc < 0 && n == 0
	    && d == NULL && strstr(err, "--journal ") && strstr(err, "/nowhere: No such file"),
	    "rc=%d err=%s", rc, err);
	for (int i = 0; i < 4; i++)
		free((void *) args[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
}

int
main(void)
{
	T_INIT("merge");
	merged();
	many();
	dirs();
	return t_done();
}
