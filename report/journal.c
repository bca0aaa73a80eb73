/*
 * journal.c - the attempt journal: one JSON-lines file per UTC day.
 * See journal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/dirs.h"
#include "journal.h"

struct journal {
	char *dir;
	int fsync_always;
	int fd;				/* the current day's file, or -1 */
	long long day;			/* its UTC day (seconds) */
	int dirty;			/* written since the last sync */
	struct buf line;
};

/* journal_day_str - YYYY-MM-DD of t's UTC day ("?" when it has none) */
void
journal_day_str(long long t, char *buf, size_t len)
{
	time_t tt = (time_t) t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday);
}

/* journal_day_name - YYYY-MM-DD.jsonl of t's UTC day */
void
journal_day_name(long long t, char *buf, size_t len)
{
	char day[32];

	journal_day_str(t, day, sizeof(day));
	snprintf(buf, len, "%s.jsonl", day);
}

/* journal_open - a journal in dir (no file is opened yet) */
struct journal *
journal_open(const char *dir, int fsync_always, char *err, size_t errlen)
{
	struct journal *j;
	char why[4300];

	if (dir[0] == 0) {
		snprintf(err, errlen, "journal_dir is empty");
		return NULL;
	}
	if (dir_make(dir, 0750, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "journal_dir %s: %s", dir, why);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->dir = strdup(dir)) == NULL) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->fsync_always = fsync_always;
	j->fd = -1;
	j->day = -1;
	buf_init(&j->line);
	return j;
}

/* journal_set_fsync - the mode, after a reload */
void
journal_set_fsync(struct journal *j, int fsync_always)
{
	j->fsync_always = fsync_always;
}

/* end_torn - under the lock: a last line without LF gets one; the size
 * after it in *size (when not NULL); -1 with errno */
static int
end_torn(int fd, off_t *size)
{
	struct stat st;
	char last;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
		if (write(fd, "\n", 1) != 1)
			return -1;
		st.st_size++;
	}
	if (size)
		*size = st.st_size;
	return 0;
}

/* day_file - the fd of the file for time t, opened when the day changed */
static int
day_file(struct journal *j, long long t, char *err, size_t errlen)
{
	long long day = t - ((t % 86400) + 86400) % 86400;
	char name[64], path[4096];
	int fd;

	if (j->fd >= 0 && day == j->day)
		return j->fd;
	journal_day_name(t, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", j->dir, name);
	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* A torn last line (the machine crashed mid-write) is ended here,
	 * so that it stays one bad line and the next record stays whole. */
	if (flock(fd, LOCK_EX) < 0 || end_torn(fd, NULL) < 0) {
		snprintf(err, errlen, "%s: cannot end a torn line: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	(void) flock(fd, LOCK_UN);
	if (j->fd >= 0) {
		if (j->dirty)
			(void) fdatasync(j->fd);	/* the old day is done */
		close(j->fd);
	}
	j->fd = fd;
	j->day = day;
	j->dirty = 0;
	return fd;
}

/* journal_append - one record, one write */
int
journal_append(struct journal *j, const struct rec *r, char *err, size_t errlen)
{
	char name[64];
	const char *p;
	size_t left;
	off_t start;
	int fd;

	buf_reset(&j->line);
	if (rec_to_json(r, &j->line) < 0) {
		snprintf(err, errlen, "out of memory for a journal record");
		return -1;
	}
	if ((fd = day_file(j, r->time, err, errlen)) < 0)
		return -1;
	p = buf_head(&j->line);
	left = buf_used(&j->line);
	/* Every writer of the day file (each worker) appends under flock:
	 * a line torn by a writer killed mid-write is ended first, so the
	 * next record stays whole, and a failed write is cut back to exactly
	 * where this record began (nobody else has written since). */
	if (flock(fd, LOCK_EX) < 0 || end_torn(fd, &start) < 0) {
		journal_day_name(r->time, name, sizeof(name));
		snprintf(err, errlen, "%s/%s: %s", j->dir, name, strerror(errno));
		(void) flock(fd, LOCK_UN);
		return -1;
	}
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ENOSPC;

			/* Leave no torn line behind: cut the partial one off. */
			journal_day_name(r->time, name, sizeof(name));
			if (left < buf_used(&j->line) && ftruncate(fd, start) < 0)
				snprintf(err, errlen, "%s/%s: %s (and the partial line could "
				    "not be removed: %s)", j->dir, name, strerror(e),
				    strerror(errno));
			else
				snprintf(err, errlen, "%s/%s: %s", j->dir, name, strerror(e));
			(void) flock(fd, LOCK_UN);
			return -1;
		}
		p += n;
		left -= (size_t) n;
	}
	(void) flock(fd, LOCK_UN);
	j->dirty = 1;
	if (j->fsync_always)
		return journal_sync(j, err, errlen);
	return 0;
}

/* journal_sync - make what was written durable */
int
journal_sync(struct journal *j, char *err, size_t errlen)
{
	char name[64];

	if (j == NULL || j->fd < 0 || !j->dirty)
		return 0;
	if (fdatasync(j->fd) < 0) {
		journal_day_name(j->day, name, sizeof(name));
		snprintf(err, errlen, "%s/%s: fdatasync: %s", j->dir, name, strerror(errno));
		return -1;
	}
	j->dirty = 0;
	return 0;
}

/* is_day_file - YYYY-MM-DD.jsonl; its day in *day */
static int
is_day_file(const char *n, long long *day)
{
	struct tm tm;
	int y, m, d, used = 0;

	if (strlen(n) != 16 || sscanf(n, "%4d-%2d-%2d.jsonl%n", &y, &m, &d, &used) != 3
	    || used != 16 || n[4] != '-' || n[7] != '-')
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*day = (long long) timegm(&tm);
	return 1;
}

/* journal_prune - remove days older than keep_days */
int
journal_prune(const char *dir, long long now, long keep_days, char *err,
    size_t errlen)
{
	long long today = now - ((now % 86400) + 86400) % 86400;
	long long oldest = today - (long long) keep_days * 86400;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		long long day;
		char path[4096];

		if (!is_day_file(de->d_name, &day) || day >= oldest)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/* journal_close - sync and close */
void
journal_close(struct journal *j)
{
	char err[256];

	if (j == NULL)
		return;
	if (j->fd >= 0) {
		(void) journal_sync(j, err, sizeof(err));
		close(j->fd);
	}
	buf_free(&j->line);
	free(j->dir);
	free(j);
}
