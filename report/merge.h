/*
 * merge.h - the journals of a fleet of gateways as one: which records
 *	were seen already (by record-id), and which directories hold
 *	journals.
 *
 * SYNOPSIS
 *	struct merge *merge_new(void);
 *	int merge_seen(struct merge *m, const struct rec *r);
 *	size_t merge_ids(const struct merge *m);
 *	size_t merge_bytes(const struct merge *m);
 *	void merge_free(struct merge *m);
 *
 *	int merge_dirs(const char *const *args, int nargs, char ***dirs,
 *		int *ndirs, char *err, size_t errlen);
 *	void merge_dirs_free(char **dirs, int ndirs);
 *
 * DESCRIPTION
 *	A merge is the set of record-ids (record.h) of one UTC day seen so
 *	far, each with a hash of its line.  merge_seen() says what to do
 *	with a record: MERGE_NEW (count it; its id is now known, or it has
 *	none: a record of an older mxtlsd is never taken for a copy),
 *	MERGE_COPY (the same id with the same line: a journal copied twice,
 *	or the same records in two collections; not counted again),
 *	MERGE_CONFLICT (the same id with another line: the first one
 *	counts, this one does not; the caller warns), or -1 when memory
 *	runs out.  Ids and lines are kept as 64-bit hashes, 16 bytes a
 *	record in a table at most 3/4 full: about 32 bytes per record on
 *	average, 64 MB for 3,000,000 record-ids in a day; two different ids
 *	are taken for one with a probability of about n^2/2^65 (1 in 4
 *	million for 3,000,000 records).  merge_ids() is the number of ids
 *	kept, merge_bytes() the table's size.
 *
 *	merge_dirs() turns the journal directories given (mxtls-report
 *	--journal DIR, repeatable) into the list of journal directories to
 *	read: a DIR that holds a day file (YYYY-MM-DD.jsonl), or nothing,
 *	is a journal directory; one that holds no day file but
 *	subdirectories is a fleet collection, and each of
 *	its subdirectories (not starting with `.'), in name order, is a
 *	gateway's journal directory (one level only).  A directory listed
 *	twice (the same path after the collection is expanded) is read once.
 *	The caller frees the list with merge_dirs_free().
 *
 * DIAGNOSTICS
 *	merge_dirs() returns -1 with a reason naming the directory when one
 *	cannot be read (or memory runs out).
 */
#ifndef MXTLS_MERGE_H
#define MXTLS_MERGE_H

#include <stddef.h>

#include "record.h"

enum { MERGE_NEW, MERGE_COPY, MERGE_CONFLICT };

struct merge;

struct merge *merge_new(void);
int merge_seen(struct merge *m, const struct rec *r);
size_t merge_ids(const struct merge *m);
size_t merge_bytes(const struct merge *m);
void merge_free(struct merge *m);

int merge_dirs(const char *const *args, int nargs, char ***dirs, int *ndirs,
    char *err, size_t errlen);
void merge_dirs_free(char **dirs, int ndirs);

#endif
