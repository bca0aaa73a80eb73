/*
 * journal.h - the attempt journal: one JSON-lines file per UTC day.
 *
 * SYNOPSIS
 *	struct journal *journal_open(const char *dir, int fsync_always,
 *		char *err, size_t errlen);
 *	void journal_set_fsync(struct journal *j, int fsync_always);
 *	int journal_append(struct journal *j, const struct rec *r,
 *		char *err, size_t errlen);
 *	int journal_sync(struct journal *j, char *err, size_t errlen);
 *	int journal_prune(const char *dir, long long now, long keep_days,
 *		char *err, size_t errlen);
 *	void journal_close(struct journal *j);
 *	void journal_day_str(long long t, char *buf, size_t len);
 *	void journal_day_name(long long t, char *buf, size_t len);
 *
 * DESCRIPTION
 *	journal_open() creates dir when missing (like mkdir -p, mode 0750)
 *	and returns a journal that has no file open yet.
 *	journal_set_fsync() changes the mode (a reload).
 *
 *	journal_append() appends one record (record.h) to DIR/YYYY-MM-DD.jsonl,
 *	the UTC day of r->time, opening that file (O_APPEND, created 0640)
 *	when the day changes.  The line goes out in one write(2): once it
 *	returns, a crash of the process cannot lose the record (the kernel
 *	has it); with fsync_always it is also fdatasync()ed, so that a crash
 *	of the machine cannot either.  Otherwise journal_sync() (called on
 *	a timer and at shutdown) fdatasync()s what was written since the
 *	last call.  A short write is completed or, failing that, the file
 *	is truncated back to the line's start so that no torn line is left
 *	behind a live process.  A day file whose last line has no LF (the
 *	machine crashed in the middle of a write, or another writer was
 *	killed in the middle of one) gets one when it is opened and before
 *	each record, so that the torn line stays one bad line and the next
 *	record whole.  Several processes (workers = N) append to one day
 *	file: each record, the check of the last byte before it and a cut
 *	after a failed write are done under flock(2) LOCK_EX on the file,
 *	so no writer ends or cuts a line another is writing.
 *
 *	journal_prune() removes day files older than keep_days whole days
 *	before the day of now (other names are left alone).
 *	journal_day_str() is YYYY-MM-DD of t's UTC day (`?' for a time that
 *	has none); journal_day_name() is the file name of t's day, without
 *	the dir.
 *
 *	No clock is read here: the caller's record carries the time.
 *
 * DIAGNOSTICS
 *	-1 with a reason naming the file and the system error.
 */
#ifndef MXTLS_JOURNAL_H
#define MXTLS_JOURNAL_H

#include <stddef.h>

#include "record.h"

struct journal;

struct journal *journal_open(const char *dir, int fsync_always, char *err,
    size_t errlen);
void journal_set_fsync(struct journal *j, int fsync_always);
int journal_append(struct journal *j, const struct rec *r, char *err,
    size_t errlen);
int journal_sync(struct journal *j, char *err, size_t errlen);
int journal_prune(const char *dir, long long now, long keep_days, char *err,
    size_t errlen);
void journal_close(struct journal *j);
void journal_day_str(long long t, char *buf, size_t len);
void journal_day_name(long long t, char *buf, size_t len);

#endif
