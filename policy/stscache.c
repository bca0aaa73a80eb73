/*
 * stscache.c - the MTA-STS policy cache.  See stscache.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/dirs.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "stscache.h"

#define NBUCKETS 4096

struct node {
	struct node *next;
	struct sts_entry e;
};

static struct node *buckets[NBUCKETS];
static char cache_dir[1024];
static size_t nentries;

/* hash - FNV-1a of the domain */
static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return h % NBUCKETS;
}

/* stscache_count - entries held */
size_t
stscache_count(void)
{
	return nentries;
}

/* stscache_get - the entry for a domain, or NULL */
struct sts_entry *
stscache_get(const char *domain)
{
	for (struct node *n = buckets[hash(domain)]; n; n = n->next)
		if (strcmp(n->e.domain, domain) == 0)
			return &n->e;
	return NULL;
}

/* stscache_add - the entry for a domain, made empty when new */
struct sts_entry *
stscache_add(const char *domain)
{
	struct sts_entry *e = stscache_get(domain);
	struct node *n;
	unsigned h;

	if (e)
		return e;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	snprintf(n->e.domain, sizeof(n->e.domain), "%s", domain);
	h = hash(domain);
	n->next = buckets[h];
	buckets[h] = n;
	nentries++;
	return &n->e;
}

/* file_of - the cache file of a domain */
static int
file_of(const char *domain, char *buf, size_t len)
{
	/* Domains are LDH names by now; refuse anything that is not. */
	for (const char *c = domain; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'
			|| *c == '.' || *c == '_'))
			return -1;
	if (domain[0] == '.' || domain[0] == 0)
		return -1;
	return snprintf(buf, len, "%s/%s", cache_dir, domain) < (int) len ? 0 : -1;
}

/* stscache_drop - forget a domain, in memory and on disk */
void
stscache_drop(const char *domain)
{
	unsigned h = hash(domain);
	char path[1400];

	for (struct node **pp = &buckets[h]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->e.domain, domain) == 0) {
			struct node *n = *pp;

			*pp = n->next;
			free(n);
			nentries--;
			break;
		}
	if (cache_dir[0] && file_of(domain, path, sizeof(path)) == 0
	    && unlink(path) < 0 && errno != ENOENT)
		msg_warn("sts cache: cannot remove %s: %m", path);
}

/* add - append to a file's text; *n < 0 once it did not fit */
static void MSG_PRINTF(4, 5)
add(char *buf, size_t len, int *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n < 0)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, len - (size_t) *n, fmt, ap);
	va_end(ap);
	*n = w < 0 || (size_t) w >= len - (size_t) *n ? -1 : *n + w;
}

/* stscache_format - the file's text */
int
stscache_format(const struct sts_entry *e, char *buf, size_t len)
{
	int n = 0;

	if (len == 0)
		return -1;
	add(buf, len, &n, "mxtls-sts 1\ndomain: %s\n", e->domain);
	if (e->has_policy)
		add(buf, len, &n, "id: %s\nfetched: %lld\nexpires: %lld\n", e->id,
		    (long long) e->fetched, (long long) e->expires);
	/* Only an entry with a failure has these lines: a policy alone is
	 * written as before them, and older binaries read it. */
	if (e->fail_rtype != RTYPE_NONE) {
		add(buf, len, &n, "fail-until: %lld\nfail-type: %s\n",
		    (long long) e->fail_until, rtype_str(e->fail_rtype));
		if (e->fail_why[0])
			add(buf, len, &n, "fail-why: %s\n", e->fail_why);
	}
	add(buf, len, &n, "\n");
	if (e->has_policy) {
		add(buf, len, &n, "version: STSv1\nmode: %s\n", sts_mode_str(e->policy.mode));
		for (int i = 0; i < e->policy.nmx; i++)
			add(buf, len, &n, "mx: %s\n", e->policy.mx[i]);
		add(buf, len, &n, "max_age: %ld\n", e->policy.max_age);
	}
	return n;
}

/* num - a decimal field */
static int
num(const char *s, long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* header lines seen */
#define H_MAGIC		1
#define H_DOMAIN	2
#define H_ID		4
#define H_FETCHED	8
#define H_EXPIRES	16
#define H_POLICY	(H_ID | H_FETCHED | H_EXPIRES)
#define H_FUNTIL	32
#define H_FTYPE		64
#define H_FWHY		128
#define H_FAIL		(H_FTYPE | H_FWHY)

/* stscache_parse - a cache file back into an entry */
int
stscache_parse(const char *text, size_t len, struct sts_entry *e, char *why,
    size_t whylen)
{
	char hdr[2048];
	const char *sep, *ftype = NULL, *fwhy = NULL;
	size_t hl;
	char *save = NULL, *ln;
	int have = 0;
	long long v;

	memset(e, 0, sizeof(*e));
	if (memchr(text, 0, len)) {
		snprintf(why, whylen, "NUL byte");
		return -1;
	}
	if ((sep = memmem(text, len, "\n\n", 2)) == NULL) {
		snprintf(why, whylen, "truncated (no end of header)");
		return -1;
	}
	hl = (size_t) (sep - text);
	if (hl >= sizeof(hdr)) {
		snprintf(why, whylen, "header too long");
		return -1;
	}
	memcpy(hdr, text, hl);
	hdr[hl] = 0;
	for (ln = strtok_r(hdr, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		if (strcmp(ln, "mxtls-sts 1") == 0)
			have |= H_MAGIC;
		else if (strncmp(ln, "domain: ", 8) == 0 && strlen(ln + 8) < sizeof(e->domain))
			snprintf(e->domain, sizeof(e->domain), "%s", ln + 8), have |= H_DOMAIN;
		else if (strncmp(ln, "id: ", 4) == 0 && strlen(ln + 4) <= STS_ID_MAX
		    && strlen(ln + 4) > 0)
			snprintf(e->id, sizeof(e->id), "%s", ln + 4), have |= H_ID;
		else if (strncmp(ln, "fetched: ", 9) == 0 && num(ln + 9, &v) == 0)
			e->fetched = (time_t) v, have |= H_FETCHED;
		else if (strncmp(ln, "expires: ", 9) == 0 && num(ln + 9, &v) == 0)
			e->expires = (time_t) v, have |= H_EXPIRES;
		else if (strncmp(ln, "fail-until: ", 12) == 0 && num(ln + 12, &v) == 0)
			e->fail_until = (time_t) v, have |= H_FUNTIL;
		else if (strncmp(ln, "fail-type: ", 11) == 0)
			ftype = ln + 11, have |= H_FTYPE;
		else if (strncmp(ln, "fail-why: ", 10) == 0)
			fwhy = ln + 10, have |= H_FWHY;
		else {
			snprintf(why, whylen, "unknown header line");
			return -1;
		}
	}
	/* A policy (id, fetched, expires: all or none), a failure
	 * (fail-until; its type and reason came later), or both. */
	if ((have & (H_MAGIC | H_DOMAIN)) != (H_MAGIC | H_DOMAIN)
	    || ((have & H_POLICY) != 0 && (have & H_POLICY) != H_POLICY)
	    || ((have & H_FAIL) && !(have & H_FUNTIL))
	    || !(have & (H_POLICY | H_FUNTIL))) {
		snprintf(why, whylen, "header incomplete");
		return -1;
	}
	if (have & H_FUNTIL) {
		/* Without a type: a failure of unknown kind, a fetch error. */
		if (ftype && sts_fail_type(ftype) == RTYPE_NONE) {
			snprintf(why, whylen, "unknown failure type");
			return -1;
		}
		sts_cache_set_failure(e, ftype ? sts_fail_type(ftype) : RTYPE_STS_POLICY_FETCH_ERROR,
		    fwhy);
	}
	if (!(have & H_POLICY)) {
		if (len - hl - 2 != 0) {
			snprintf(why, whylen, "policy without id, fetched and expires");
			return -1;
		}
		return 0;
	}
	if (sts_policy_parse(sep + 2, len - hl - 2, &e->policy, why, whylen) < 0)
		return -1;
	if (e->expires < e->fetched || e->expires - e->fetched > 2 * STS_MAX_AGE) {
		snprintf(why, whylen, "times out of range");
		return -1;
	}
	e->has_policy = 1;
	return 0;
}

/* stscache_save - write an entry atomically */
int
stscache_save(const struct sts_entry *e)
{
	char path[1400], text[12288], err[4400];
	int n;

	if (!cache_dir[0] || !(e->has_policy || e->fail_rtype != RTYPE_NONE))
		return 0;
	if (file_of(e->domain, path, sizeof(path)) < 0
	    || (n = stscache_format(e, text, sizeof(text))) < 0)
		return -1;
	if (file_replace(path, text, (size_t) n, 0644, err, sizeof(err)) < 0) {
		msg_warn("sts cache: cannot write %s", err);
		return -1;
	}
	return 0;
}

/* stscache_lock - the fetch lock of a domain, across processes sharing
 * the directory: the locked fd, -2 while another holds it, -1 for none */
int
stscache_lock(const char *domain)
{
	char path[1400], name[STS_NAME_MAX + 8];
	int fd;

	if (!cache_dir[0])
		return -1;
	/* a dot file: stscache_init() reads no dot file as an entry */
	snprintf(name, sizeof(name), ".lock.%s", domain);
	if (file_of(domain, path, sizeof(path)) < 0
	    || snprintf(path, sizeof(path), "%s/%s", cache_dir, name) >= (int) sizeof(path))
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	close(fd);
	return errno == EWOULDBLOCK ? -2 : -1;
}

/* stscache_shared_parse - an entry's text from where it is kept (a file,
 * the shared cache), which must be the domain's and sane at now */
int
stscache_shared_parse(const char *domain, const char *text, size_t len, time_t now,
    struct sts_entry *e, char *why, size_t whylen)
{
	why[0] = '\0';
	if (stscache_parse(text, len, e, why, whylen) < 0)
		return -1;
	if (strcmp(e->domain, domain) != 0) {
		snprintf(why, whylen, "domain does not match");
		return -1;
	}
	if (e->fail_until > now + STS_NEGATIVE_TTL_MAX) {
		snprintf(why, whylen, "fail-until too far ahead");
		return -1;
	}
	return 0;
}

/* stscache_shared_until - the later of the policy's expiry and the
 * failure's end: when the entry is of no more use */
time_t
stscache_shared_until(const struct sts_entry *e)
{
	time_t until = e->has_policy ? e->expires : 0;

	if (e->fail_rtype != RTYPE_NONE && e->fail_until > until)
		until = e->fail_until;
	return until;
}

/* stscache_take_shared - another gateway's value into e: parsed, merged,
 * saved when it told us more; 1 then, 0 when not, -1 when it is bad */
int
stscache_take_shared(struct sts_entry *e, const char *text, size_t len, time_t now,
    char *why, size_t whylen)
{
	struct sts_entry theirs;

	if (stscache_shared_parse(e->domain, text, len, now, &theirs, why, whylen) < 0)
		return -1;
	if (!sts_cache_merge(e, &theirs))
		return 0;
	(void) stscache_save(e);
	return 1;
}

/* stscache_shared_format - an entry's text for the shared cache, and
 * when that copy is of no more use; -1: nothing worth sharing */
int
stscache_shared_format(const struct sts_entry *e, time_t now, char *buf, size_t len,
    time_t *expire_at)
{
	time_t until = stscache_shared_until(e);

	if (until <= now)
		return -1;
	*expire_at = until;
	return stscache_format(e, buf, len);
}

/* read_entry - the entry in file path, which must be domain's and sane
 * at now (what stscache_init() keeps and stscache_reread() takes); 0, or
 * -1 with why ("" when the file cannot be opened) */
static int
read_entry(const char *path, const char *domain, time_t now, struct sts_entry *e,
    char *why, size_t whylen)
{
	char text[16384];
	ssize_t n;
	int fd;

	why[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0 || (size_t) n >= sizeof(text) - 1) {
		snprintf(why, whylen, "unreadable or too large");
		return -1;
	}
	if (stscache_shared_parse(domain, text, (size_t) n, now, e, why, whylen) < 0) {
		if (strcmp(why, "domain does not match") == 0)
			snprintf(why, whylen, "domain does not match the file name");
		return -1;
	}
	return 0;
}

/* stscache_reread - the disk entry of a domain into memory; 1 when there
 * was one newer than since (fetched, or a failure still holding) */
int
stscache_reread(const char *domain, time_t since, time_t now)
{
	char path[1400], why[256];
	struct sts_entry e, *slot;

	if (!cache_dir[0] || file_of(domain, path, sizeof(path)) < 0
	    || read_entry(path, domain, now, &e, why, sizeof(why)) < 0)
		return 0;
	if (!((e.has_policy && e.fetched >= since) || e.fail_until > now))
		return 0;
	if ((slot = stscache_add(domain)) == NULL)
		return 0;
	*slot = e;
	return 1;
}

/* stscache_walk - every entry (fn must not drop entries) */
void
stscache_walk(void (*fn)(struct sts_entry *, void *), void *arg)
{
	for (int i = 0; i < NBUCKETS; i++)
		for (struct node *n = buckets[i]; n; n = n->next)
			fn(&n->e, arg);
}

/* stscache_init - load the cache directory */
int
stscache_init(const char *dir, time_t now, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int loaded = 0, failed = 0;

	snprintf(cache_dir, sizeof(cache_dir), "%s", dir ? dir : "");
	if (!cache_dir[0])
		return 0;
	/* A fresh host has no /var/lib/mxtls yet. */
	{
		char why[4300];

		if (dir_make(cache_dir, 0755, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "sts_cache_dir %s: %s", dir, why);
			return -1;
		}
	}
	if ((d = opendir(cache_dir)) == NULL) {
		snprintf(err, errlen, "sts_cache_dir %s: %s", cache_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[1400], why[256];
		struct sts_entry e, *slot;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", cache_dir, de->d_name);
		if (strstr(de->d_name, ".tmp.")) {
			unlink(path);		/* a write that a crash cut short */
			continue;
		}
		if (read_entry(path, de->d_name, now, &e, why, sizeof(why)) < 0) {
			if (why[0]) {
				msg_warn("sts cache: %s: %s; discarded", path, why);
				unlink(path);
			}
			continue;
		}
		/* Kept while its policy applies or its failure holds back
		 * fetches (and is reported for each session meanwhile). */
		if (!sts_cache_applies(&e, now) && now >= e.fail_until) {
			unlink(path);
			continue;
		}
		if ((slot = stscache_add(e.domain)) == NULL)
			break;
		*slot = e;
		if (sts_cache_applies(&e, now))
			loaded++;
		else
			failed++;
	}
	closedir(d);
	if (loaded)
		msg_info("sts cache: %d policies loaded from %s", loaded, cache_dir);
	if (failed)
		msg_info("sts cache: %d failed policy fetches loaded from %s (no fetch before "
		    "their sts_negative_ttl ends)", failed, cache_dir);
	return 0;
}
