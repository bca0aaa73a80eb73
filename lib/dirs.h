/*
 * dirs.h - directories that must exist: the state folders under
 * /var/lib/mxtls on a fresh host.
 *
 * SYNOPSIS
 *	int dir_make(const char *dir, mode_t mode, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	dir_make() creates dir and its missing parents, like `mkdir -p', with
 *	mode for what it creates (existing ones are left as they are).
 *
 * DIAGNOSTICS
 *	0, or -1 with `cannot create PATH: REASON' (PATH the one that failed)
 *	in err; the caller says which setting named dir.
 */
#ifndef MXTLS_DIRS_H
#define MXTLS_DIRS_H

#include <stddef.h>
#include <sys/types.h>

int dir_make(const char *dir, mode_t mode, char *err, size_t errlen);

#endif
