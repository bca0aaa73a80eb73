/*
 * privs_set.c - root and every capability mxtlsd does not need, given up
 *	with libcap (privs_set.h).
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privs.h"
#include "privs_set.h"

/* fail - err from a format and errno's text; -1 */
__attribute__((format(printf, 3, 4)))
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	char what[256];
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -1;
}

/* ncaps - how many capabilities the kernel has (at most 64) */
static int
ncaps(void)
{
	int n = (int) cap_max_bits();

	return n > 64 ? 64 : n;
}

/* mask_of - one set of a cap_t as a mask */
static uint64_t
mask_of(cap_t c, cap_flag_t flag)
{
	uint64_t m = 0;

	for (int cap = 0; cap < ncaps(); cap++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(c, (cap_value_t) cap, flag, &v) == 0 && v == CAP_SET)
			m |= PRIVS_CAP(cap);
	}
	return m;
}

/* privs_get - the calling thread's capability sets */
int
privs_get(struct privs_state *st, char *err, size_t errlen)
{
	cap_t c;

	memset(st, 0, sizeof(*st));
	if ((c = cap_get_proc()) == NULL)
		return fail(err, errlen, "cap_get_proc");
	st->effective = mask_of(c, CAP_EFFECTIVE);
	st->permitted = mask_of(c, CAP_PERMITTED);
	st->inheritable = mask_of(c, CAP_INHERITABLE);
	cap_free(c);
	for (int cap = 0; cap < ncaps(); cap++) {
		if (cap_get_bound((cap_value_t) cap) > 0)
			st->bounding |= PRIVS_CAP(cap);
		if (cap_get_ambient((cap_value_t) cap) > 0)
			st->ambient |= PRIVS_CAP(cap);
	}
	return 0;
}

/* cap_of_mask - a cap_t with flags set to mask (the others empty) */
static cap_t
cap_of_mask(uint64_t mask, const cap_flag_t *flags, int nflags)
{
	cap_t c = cap_init();

	if (c == NULL)
		return NULL;
	for (int cap = 0; cap < 64; cap++) {
		cap_value_t v = (cap_value_t) cap;

		if ((mask & PRIVS_CAP(cap)) == 0)
			continue;
		for (int i = 0; i < nflags; i++)
			if (cap_set_flag(c, flags[i], 1, &v, CAP_SET) < 0) {
				cap_free(c);
				return NULL;
			}
	}
	return c;
}

/* set_sets - permitted and effective = mask, inheritable empty */
static int
set_sets(uint64_t mask, char *err, size_t errlen)
{
	static const cap_flag_t pe[] = {CAP_PERMITTED, CAP_EFFECTIVE};
	cap_t c = cap_of_mask(mask, pe, 2);
	char names[512];

	if (c == NULL)
		return fail(err, errlen, "cap_init");
	if (cap_set_proc(c) < 0) {
		cap_free(c);
		return fail(err, errlen, "cap_set_proc(%s)",
		    privs_str(mask, names, sizeof(names)));
	}
	cap_free(c);
	return 0;
}

/* threads - how many threads the process has; 0 when unknown */
static int
threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* reduce_bounding - drop every capability but keep from the bounding set */
static int
reduce_bounding(uint64_t keep, char *err, size_t errlen)
{
	char name[64];

	for (int cap = 0; cap < ncaps(); cap++) {
		if ((keep & PRIVS_CAP(cap)) != 0 || cap_get_bound((cap_value_t) cap) <= 0)
			continue;
		if (cap_drop_bound((cap_value_t) cap) < 0)
			return fail(err, errlen, "cap_drop_bound(%s)",
			    privs_str(PRIVS_CAP(cap), name, sizeof(name)));
	}
	return 0;
}

/* become - the groups, gids and uids of to; capabilities kept if keep */
static int
become(const struct privs_user *to, uint64_t keep, char *err, size_t errlen)
{
	if (initgroups(to->name, to->gid) < 0)
		return fail(err, errlen, "initgroups(%s)", to->name);
	if (setresgid(to->gid, to->gid, to->gid) < 0)
		return fail(err, errlen, "setresgid(%ld)", (long) to->gid);
	/* Only around the change of uid: nothing later may keep root's. */
	if (keep && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return fail(err, errlen, "prctl(PR_SET_KEEPCAPS)");
	if (setresuid(to->uid, to->uid, to->uid) < 0)
		return fail(err, errlen, "setresuid(%ld)", (long) to->uid);
	if (keep && prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
		return fail(err, errlen, "prctl(PR_SET_KEEPCAPS, 0)");
	return 0;
}

/* verify - what the kernel says now is what was asked for */
static int
verify(const struct privs_user *to, uint64_t keep, int reduced,
    struct privs_state *st, char *err, size_t errlen)
{
	char a[512], b[512], k[512];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (privs_get(st, err, errlen) < 0)
		return -1;
	st->bounding_reduced = reduced;
	if (st->permitted != keep || st->effective != keep || st->inheritable) {
		snprintf(err, errlen, "capabilities after the drop: permitted %s, "
		    "effective %s, inheritable %s; wanted %s in both, none inheritable",
		    privs_str(st->permitted, a, sizeof(a)), privs_str(st->effective, b,
			sizeof(b)), st->inheritable ? "some" : "none",
		    privs_str(keep, k, sizeof(k)));
		return -1;
	}
	if (st->ambient) {
		snprintf(err, errlen, "ambient capabilities after the drop: %s",
		    privs_str(st->ambient, a, sizeof(a)));
		return -1;
	}
	if (st->bounding_reduced && (st->bounding & ~keep) != 0) {
		snprintf(err, errlen, "bounding set after the drop: %s; wanted %s",
		    privs_str(st->bounding, a, sizeof(a)), privs_str(keep, b, sizeof(b)));
		return -1;
	}
	if (prctl(PR_GET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0) {
		snprintf(err, errlen, "PR_SET_KEEPCAPS is still on");
		return -1;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS is not on");
		return -1;
	}
	if (to) {
		if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
			return fail(err, errlen, "getresuid");
		if (ru != to->uid || eu != to->uid || su != to->uid
		    || rg != to->gid || eg != to->gid || sg != to->gid) {
			snprintf(err, errlen, "uids %ld/%ld/%ld, gids %ld/%ld/%ld after the "
			    "drop; wanted %ld and %ld", (long) ru, (long) eu, (long) su,
			    (long) rg, (long) eg, (long) sg, (long) to->uid, (long) to->gid);
			return -1;
		}
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "setuid(0) works after the drop: privileges "
		    "were not dropped");
		return -1;
	}
	return 0;
}

/* privs_set - become to (when given), keep exactly keep, and check */
int
privs_set(const struct privs_user *to, uint64_t keep, struct privs_state *st,
    char *err, size_t errlen)
{
	struct privs_state now;
	char a[512], b[512];
	int nt, reduced = 0;

	memset(st, 0, sizeof(*st));
	if ((nt = threads()) > 1) {
		snprintf(err, errlen, "%d threads before the drop: capabilities are "
		    "per thread, so it must come before any thread starts", nt);
		return -1;
	}
	if (privs_get(&now, err, errlen) < 0)
		return -1;
	if ((keep & ~now.permitted) != 0) {
		snprintf(err, errlen, "the configuration needs %s after start-up, but "
		    "mxtlsd has %s (start it as root, or give it these capabilities, "
		    "e.g. systemd's AmbientCapabilities=)", privs_str(keep, a, sizeof(a)),
		    privs_str(now.permitted, b, sizeof(b)));
		return -1;
	}
	if (now.ambient && cap_reset_ambient() < 0)
		return fail(err, errlen, "cap_reset_ambient");
	/* The bounding set takes CAP_SETPCAP, effective: raise it if we may. */
	if ((now.permitted & PRIVS_CAP(CAP_SETPCAP)) != 0) {
		if ((now.effective & PRIVS_CAP(CAP_SETPCAP)) == 0
		    && set_sets(now.permitted, err, errlen) < 0)
			return -1;
		if (reduce_bounding(keep, err, errlen) < 0)
			return -1;
		reduced = 1;
	}
	if (to && become(to, keep, err, errlen) < 0)
		return -1;
	if (set_sets(keep, err, errlen) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return fail(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS)");
	return verify(to, keep, reduced, st, err, errlen);
}
