/*
 * file.h - the one atomic file replace, and whole-file reads and writes.
 *
 * SYNOPSIS
 *	int file_replace(const char *path, const void *data, size_t len,
 *		mode_t mode, char *err, size_t errlen);
 *	int file_write_all(int fd, const void *data, size_t n);
 *	int file_read_all(const char *path, size_t max, char **text,
 *		size_t *len, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	file_replace() gives path the contents data[0..len) so that a reader
 *	sees the old file or the new one, never a part, and so that the new
 *	one survives a crash once it returns: a temporary file beside path
 *	(path.tmp.XXXXXX: readers of a directory skip names with .tmp.),
 *	written whole, given mode, fsync'd, closed, renamed
 *	over path, and the directory fsync'd.  Used for the MTA-STS cache,
 *	mxtls-report's send state and the reports it builds.
 *
 *	file_write_all() writes data[0..n) to fd, through EINTR and short
 *	writes: 0, or -1 with errno (EIO for a write that wrote nothing).
 *
 *	file_read_all() reads the regular file path, at most max octets, into
 *	*text (allocated, NUL-ended; the caller frees it) and its length into
 *	*len, through EINTR; a read error is an error, never a part of the
 *	file.  0, or -1 with `PATH: cannot open: ...', `PATH: not a regular
 *	file', `PATH: larger than N KiB' or `PATH: read: ...' in err.
 *
 * DIAGNOSTICS
 *	0, or -1 with `PATH: REASON' in err (PATH the file or directory that
 *	failed); the temporary file is removed.
 */
#ifndef MXTLS_FILE_H
#define MXTLS_FILE_H

#include <stddef.h>
#include <sys/types.h>

int file_replace(const char *path, const void *data, size_t len, mode_t mode,
    char *err, size_t errlen);
int file_write_all(int fd, const void *data, size_t n);
int file_read_all(const char *path, size_t max, char **text, size_t *len, char *err,
    size_t errlen);

#endif
