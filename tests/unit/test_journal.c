/*
 * test_journal.c - the journal writer: day files split at UTC midnight,
 * records read back whole, a torn line left by a crash ended before the
 * next record, pruning of old days, errors that name the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../report/journal.h"
#include "../../report/record.h"
#include "t.h"

#define DAY0	1795305600LL		/* 2026-11-22T00:00:00Z */

static char dir[256];

static void
fill(struct rec *r, long long t, int i)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->sid, sizeof(r->sid), "S%05d", i);
	snprintf(r->domain, sizeof(r->domain), "d%d.example", i % 3);
	snprintf(r->ptype, sizeof(r->ptype), "no-policy-found");
	snprintf(r->mx, sizeof(r->mx), "mx.d%d.example", i % 3);
	snprintf(r->ip, sizeof(r->ip), "192.0.2.%d", i % 200 + 1);
	snprintf(r->src, sizeof(r->src), "198.51.100.1");
	r->sport = 40000 + i;
	snprintf(r->result, sizeof(r->result), "success");
	snprintf(r->action, sizeof(r->action), "delivered");
}

/* slurp - a whole file, NUL-ended; NULL when missing */
static char *
slurp(const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (p = malloc((size_t) st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	*len = (size_t) read(fd, p, (size_t) st.st_size);
	p[*len] = 0;
	close(fd);
	return p;
}

struct seen {
	int n;
	int sport_sum;
};

static void
on_rec(const struct rec *r, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->sport_sum += r->sport - 40000;
}

/* replay_day - the records of day file name, counted into seen and st;
 * 0 when the file could not be read */
static int
replay_day(const char *name, struct seen *seen, struct journal_stats *st)
{
	size_t len;
	char *text = slurp(name, &len);

	memset(seen, 0, sizeof(*seen));
	memset(st, 0, sizeof(*st));
	if (text == NULL)
		return 0;
	journal_replay(text, len, on_rec, seen, st);
	free(text);
	return 1;
}

static int
exists(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

int
main(void)
{
	char err[512], name[64];
	struct journal *j;
	struct rec r;
	struct journal_stats st;
	struct seen seen;
	int rc = 0, rd;

	T_INIT("journal");
	snprintf(dir, sizeof(dir), "/tmp/mxtls-test-journal.%ld/a/b", (long) getpid());
	j = journal_open(dir, 0, err, sizeof(err));
	T_CASE("open creates the directory and its parents", j != NULL && exists("."),
	    "%s", err);
	if (j == NULL)
		return t_done();
	journal_day_name(DAY0 + 86399, name, sizeof(name));
	T_CASE("day file name", strcmp(name, "2026-11-22.jsonl") == 0, "%s", name);
	journal_day_str(DAY0 - 1, name, sizeof(name));
	T_CASE("day string, the second before midnight", strcmp(name, "2026-11-21") == 0,
	    "%s", name);
	journal_day_str(0x7fffffffffffffffLL, name, sizeof(name));
	T_CASE("day string of a time with no date: ?", strcmp(name, "?") == 0, "%s", name);
	/* Records on both sides of UTC midnight. */
	fill(&r, DAY0 - 1, 1);
	rc |= journal_append(j, &r, err, sizeof(err));
	fill(&r, DAY0, 2);
	rc |= journal_append(j, &r, err, sizeof(err));
	fill(&r, DAY0 + 86399, 3);
	rc |= journal_append(j, &r, err, sizeof(err));
	fill(&r, DAY0 + 86400, 4);
	rc |= journal_append(j, &r, err, sizeof(err));
	T_CASE("appends succeed", rc == 0, "%s", err);
	T_CASE("sync succeeds", journal_sync(j, err, sizeof(err)) == 0, "%s", err);
	journal_close(j);
	T_CASE("the day before midnight has its own file", exists("2026-11-21.jsonl"), "missing");
	T_CASE("the day after midnight has its own file", exists("2026-11-23.jsonl"), "missing");
	rd = replay_day("2026-11-22.jsonl", &seen, &st);
	T_CASE("the day holds exactly its two records, whole", rd && seen.n == 2
	    && seen.sport_sum == 2 + 3 && st.bad == 0 && !st.torn, "n=%d sum=%d bad=%ld torn=%d",
	    seen.n, seen.sport_sum, st.bad, st.torn);

	/* A crash left a torn line: the next record must still be whole. */
	{
		char path[512];
		int fd;

		snprintf(path, sizeof(path), "%s/2026-11-22.jsonl", dir);
		fd = open(path, O_WRONLY | O_APPEND);
		T_CASE("simulate a torn write", fd >= 0 && write(fd, "{\"time\":17953", 13) == 13,
		    "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	j = journal_open(dir, 1, err, sizeof(err));
	fill(&r, DAY0 + 5, 5);
	rc = j ? journal_append(j, &r, err, sizeof(err)) : -1;
	T_CASE("append after a torn line (fsync always)", rc == 0, "%s", err);
	journal_close(j);
	rd = replay_day("2026-11-22.jsonl", &seen, &st);
	T_CASE("torn line ended: one bad line, the new record whole", seen.n == 3
	    && seen.sport_sum == 2 + 3 + 5 && st.bad == 1 && !st.torn,
	    "n=%d sum=%d bad=%ld torn=%d", seen.n, seen.sport_sum, st.bad, st.torn);

	/* Another writer (a worker) killed mid-write while this journal has
	 * the day open: the next record here must still be whole. */
	{
		char path[512];
		int fd;

		j = journal_open(dir, 0, err, sizeof(err));
		fill(&r, DAY0 + 6, 6);
		rc = j ? journal_append(j, &r, err, sizeof(err)) : -1;
		snprintf(path, sizeof(path), "%s/2026-11-22.jsonl", dir);
		fd = open(path, O_WRONLY | O_APPEND);
		T_CASE("a second writer's torn write", rc == 0 && fd >= 0
		    && write(fd, "{\"time\":179", 11) == 11, "%s", err);
		if (fd >= 0)
			close(fd);
		fill(&r, DAY0 + 7, 7);
		rc = j ? journal_append(j, &r, err, sizeof(err)) : -1;
		T_CASE("append after another writer's torn line", rc == 0, "%s", err);
		journal_close(j);
		rd = replay_day("2026-11-22.jsonl", &seen, &st);
		T_CASE("torn line of another writer ended: the record after it whole",
		    seen.n == 5 && seen.sport_sum == 2 + 3 + 5 + 6 + 7 && st.bad == 2 && !st.torn,
		    "n=%d sum=%d bad=%ld torn=%d", seen.n, seen.sport_sum, st.bad, st.torn);
	}

	/* Two processes append at once (workers = 2): every record whole. */
	{
		pid_t pid[2];
		int ok = 1, wst;

		for (int w = 0; w < 2; w++) {
			if ((pid[w] = fork()) == 0) {
				struct journal *cj = journal_open(dir, 0, err, sizeof(err));
				int bad = cj == NULL;

				for (int i = 0; i < 2000 && cj; i++) {
					fill(&r, DAY0 + 86400 + 10 + i, 1);
					bad |= journal_append(cj, &r, err, sizeof(err)) < 0;
				}
				journal_close(cj);
				_exit(bad);
			}
		}
		for (int w = 0; w < 2; w++)
			ok &= pid[w] > 0 && waitpid(pid[w], &wst, 0) == pid[w]
			    && WIFEXITED(wst) && WEXITSTATUS(wst) == 0;
		T_CASE("two processes append 2000 records each", ok, "a writer failed");
		rd = replay_day("2026-11-23.jsonl", &seen, &st);
		T_CASE("two writers: every record whole", seen.n == 4001 && st.bad == 0
		    && !st.torn, "n=%d bad=%ld torn=%d", seen.n, st.bad, st.torn);
	}

	/* Pruning: keep 1 whole day before "now" (the 23rd). */
	{
		char path[512];
		int fd;

		snprintf(path, sizeof(path), "%s/notes.txt", dir);
		fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
	}
	rc = journal_prune(dir, DAY0 + 86400 + 3600, 1, err, sizeof(err));
	T_CASE("prune succeeds", rc == 0, "%s", err);
	T_CASE("prune removed the day two days back", !exists("2026-11-21.jsonl"), "kept");
	T_CASE("prune kept yesterday and today", exists("2026-11-22.jsonl")
	    && exists("2026-11-23.jsonl"), "removed");
	T_CASE("prune left other files alone", exists("notes.txt"), "removed");

	/* Errors name the file. */
	{
		char bad[300];

		snprintf(bad, sizeof(bad), "%s/notes.txt/sub", dir);
		j = journal_open(bad, 0, err, sizeof(err));
		T_CASE("a file in the way of journal_dir is named", j == NULL
		    && strstr(err, "notes.txt") != NULL, "%s", j ? "opened" : err);
		journal_close(j);
	}
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf /tmp/mxtls-test-journal.%ld", (long) getpid());
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return t_done();
}
