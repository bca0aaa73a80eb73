/*
 * privs_set.h - mxtlsd gives up what it does not need after start-up:
 *	root, and every capability but those privs_need() names (libcap).
 *
 * SYNOPSIS
 *	#include "privs_set.h"
 *
 *	int privs_set(const struct privs_user *to, uint64_t keep,
 *		struct privs_state *st, char *err, size_t errlen);
 *	int privs_get(struct privs_state *st, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	privs_set() is called once, after everything that needs root is
 *	done (listeners bound, queues opened) and before any thread starts
 *	(capabilities are per thread; a thread started later inherits the
 *	reduced sets).  keep is a mask of privs.h.
 *
 *	With to (started as root): the ambient set is cleared, the bounding
 *	set reduced to keep, the supplementary groups become to->name's
 *	(initgroups(3)), the real, effective and saved gid to->gid, then
 *	with PR_SET_KEEPCAPS for that one call the uids to->uid.  Without
 *	to (started as an ordinary user, e.g. by systemd with User= and
 *	AmbientCapabilities=): the uid stays; keep must be in the permitted
 *	set already; the ambient set is cleared, and the bounding set
 *	reduced when CAP_SETPCAP allows it (systemd's CapabilityBoundingSet=
 *	has done so already).
 *
 *	Then, either way: the permitted and effective sets become exactly
 *	keep, the inheritable set empty, and PR_SET_NO_NEW_PRIVS is set
 *	(mxtlsd executes nothing).  And it checks what it did: the sets as
 *	the kernel gives them back equal what was set, the ambient set is
 *	empty, the bounding set holds nothing but keep (when it was reduced),
 *	the uids and gids are to's, PR_SET_KEEPCAPS is off, and setuid(0)
 *	fails.  st is filled with the sets as they are after it all.
 *
 *	privs_get() reads the calling thread's capability sets into st.
 *
 * DIAGNOSTICS
 *	privs_set() returns 0, or -1 with what failed in err (the process
 *	is then in no state to go on: the caller exits).  privs_get()
 *	returns 0, or -1 with err.
 */
#ifndef MXTLS_PRIVS_SET_H
#define MXTLS_PRIVS_SET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Whom to become. */
struct privs_user {
	const char *name;		/* for initgroups(3) and messages */
	uid_t uid;
	gid_t gid;
};

/* A thread's capability sets, masks of privs.h. */
struct privs_state {
	uint64_t effective, permitted, inheritable, ambient, bounding;
	int bounding_reduced;		/* privs_set(): it could reduce it */
};

int privs_set(const struct privs_user *to, uint64_t keep,
    struct privs_state *st, char *err, size_t errlen);
int privs_get(struct privs_state *st, char *err, size_t errlen);

#endif
