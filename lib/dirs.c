/*
 * dirs.c - directories that must exist.  See dirs.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dirs.h"

/* dir_make - dir and its parents */
int
dir_make(const char *dir, mode_t mode, char *err, size_t errlen)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		snprintf(err, errlen, "cannot create %.100s: %s", dir, n ? "name too long"
		    : "empty name");
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != 0)
			continue;
		path[i] = 0;
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
			return -1;
		}
		path[i] = i < n ? '/' : 0;
	}
	return 0;
}
