/*
 * merge.c - the journals of a fleet as one: record-ids seen, and the
 * journal directories of a collection.  See merge.h.
 *
 * The set is open addressing over 64-bit hashes of the record-id (0 is
 * a free slot: a hash of 0 is taken as 1), each slot with a hash of the
 * record's line, so that a copy (same id, same line) and a conflict
 * (same id, another line) are told apart without keeping either.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "merge.h"

struct mslot {
	uint64_t id;			/* 0: free */
	uint64_t line;
};

struct merge {
	struct mslot *s;
	size_t cap;			/* 0 or a power of two */
	size_t used;
};

/* mhash - a 64-bit hash of n bytes, 8 at a time */
static uint64_t
mhash(uint64_t h, const char *p, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t w;

	h ^= (uint64_t) n * 0xff51afd7ed558ccdULL;
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * k;
	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

/* merge_new - an empty set */
struct merge *
merge_new(void)
{
	return calloc(1, sizeof(struct merge));
}

/* grow - room for one more at a load of at most 3/4 */
static int
grow(struct merge *m)
{
	struct mslot *ns;
	size_t ncap;

	if ((m->used + 1) * 4 <= m->cap * 3)
		return 0;
	ncap = m->cap ? m->cap * 2 : 1024;
	if (ncap > SIZE_MAX / sizeof(*ns) || (ns = calloc(ncap, sizeof(*ns))) == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->s[i].id == 0)
			continue;
		for (j = m->s[i].id & (ncap - 1); ns[j].id; j = (j + 1) & (ncap - 1))
			;
		ns[j] = m->s[i];
	}
	free(m->s);
	m->s = ns;
	m->cap = ncap;
	return 0;
}

/* merge_seen - new, a copy, or a conflict */
int
merge_seen(struct merge *m, const struct rec *r)
{
	uint64_t id, line;
	size_t i;

	if (r->rid[0] == 0)
		return MERGE_NEW;		/* an older record: never a copy */
	if (grow(m) < 0)
		return -1;
	if ((id = mhash(1, r->rid, strlen(r->rid))) == 0)
		id = 1;
	line = r->line ? mhash(2, r->line, r->linelen) : 0;
	for (i = id & (m->cap - 1); m->s[i].id; i = (i + 1) & (m->cap - 1))
		if (m->s[i].id == id)
			return m->s[i].line == line ? MERGE_COPY : MERGE_CONFLICT;
	m->s[i].id = id;
	m->s[i].line = line;
	m->used++;
	return MERGE_NEW;
}

/* merge_ids - ids kept */
size_t
merge_ids(const struct merge *m)
{
	return m->used;
}

/* merge_bytes - the table's size */
size_t
merge_bytes(const struct merge *m)
{
	return m->cap * sizeof(struct mslot);
}

/* merge_free - the set */
void
merge_free(struct merge *m)
{
	if (m == NULL)
		return;
	free(m->s);
	free(m);
}

/* is_day_name - YYYY-MM-DD.jsonl */
static int
is_day_name(const char *n)
{
	static const char pat[] = "dddd-dd-dd.jsonl";

	if (strlen(n) != sizeof(pat) - 1)
		return 0;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? n[i] < '0' || n[i] > '9' : n[i] != pat[i])
			return 0;
	return 1;
}

/* add_dir - one journal directory, unless listed already */
static int
add_dir(char ***dirs, int *n, const char *path)
{
	char **p;

	for (int i = 0; i < *n; i++)
		if (strcmp((*dirs)[i], path) == 0)
			return 0;
	if ((p = realloc(*dirs, (size_t) (*n + 1) * sizeof(*p))) == NULL)
		return -1;
	*dirs = p;
	if ((p[*n] = strdup(path)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* name_cmp - qsort: names in byte order */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* one_arg - a journal directory, or a collection's subdirectories */
static int
one_arg(const char *arg, char ***dirs, int *ndirs, char *err, size_t errlen)
{
	char **subs = NULL, path[4096];
	int nsubs = 0, days = 0, rc = -1;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(arg)) == NULL) {
		snprintf(err, errlen, "--journal %s: %s", arg, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (is_day_name(de->d_name)) {
			days = 1;
			continue;
		}
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", arg, de->d_name) >= (int) sizeof(path))
			continue;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && add_dir(&subs, &nsubs, path) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (days || nsubs == 0) {
		rc = add_dir(dirs, ndirs, arg);	/* empty: a journal with no days yet */
	} else {
		qsort(subs, (size_t) nsubs, sizeof(*subs), name_cmp);
		rc = 0;
		for (int i = 0; i < nsubs && rc == 0; i++)
			rc = add_dir(dirs, ndirs, subs[i]);
	}
	if (rc < 0)
		snprintf(err, errlen, "out of memory");
out:
	closedir(d);
	merge_dirs_free(subs, nsubs);
	return rc;
}

/* merge_dirs - the journal directories of the --journal arguments */
int
merge_dirs(const char *const *args, int nargs, char ***dirs, int *ndirs, char *err,
    size_t errlen)
{
	*dirs = NULL;
	*ndirs = 0;
	for (int i = 0; i < nargs; i++)
		if (one_arg(args[i], dirs, ndirs, err, errlen) < 0) {
			merge_dirs_free(*dirs, *ndirs);
			*dirs = NULL;
			*ndirs = 0;
			return -1;
		}
	return 0;
}

/* merge_dirs_free - the list */
void
merge_dirs_free(char **dirs, int ndirs)
{
	for (int i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
}
