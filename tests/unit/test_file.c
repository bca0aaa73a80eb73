/*
 * test_file.c - the atomic replace (lib/file.c): a new file, a replaced
 * one, the mode asked for, errors that name the path, and no temporary
 * file left behind, whatever happened.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/file.h"
#include "t.h"

/* slurp - a small file's contents, or -1 */
static long
slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	return (long) n;
}

/* entries - files in dir */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int
main(void)
{
	char dir[] = "/tmp/test_file.XXXXXX", path[256], buf[256], err[512];
	struct stat st;
	int r;

	T_INIT("file");
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/state", dir);
	r = file_replace(path, "one\n", 4, 0644, err, sizeof(err));
	T_CASE("a new file is written", r == 0 && slurp(path, buf, sizeof(buf)) == 4
	    && strcmp(buf, "one\n") == 0, "r=%d err=%s", r, err);
	T_CASE("with the mode asked for", stat(path, &st) == 0
	    && (st.st_mode & 07777) == 0644, "mode %o", st.st_mode & 07777);
	r = file_replace(path, "two, longer\n", 12, 0600, err, sizeof(err));
	T_CASE("an existing file is replaced whole", r == 0
	    && slurp(path, buf, sizeof(buf)) == 12 && strcmp(buf, "two, longer\n") == 0,
	    "r=%d err=%s got=%s", r, err, buf);
	T_CASE("... and takes the new mode", stat(path, &st) == 0
	    && (st.st_mode & 07777) == 0600, "mode %o", st.st_mode & 07777);
	r = file_replace(path, "", 0, 0644, err, sizeof(err));
	T_CASE("an empty file", r == 0 && slurp(path, buf, sizeof(buf)) == 0, "r=%d", r);
	T_CASE("no temporary file is left", entries(dir) == 1, "%d entries",
	    entries(dir));
	{
		char missing[300];

		snprintf(missing, sizeof(missing), "%s/no/such/dir/file", dir);
		err[0] = 0;
		r = file_replace(missing, "x", 1, 0644, err, sizeof(err));
		T_CASE("a missing directory: an error that names the path", r < 0
		    && strstr(err, "/no/such/dir/file") != NULL, "r=%d err=%s", r, err);
	}
	{
		char over[300];

		/* A directory where the file should be: rename fails. */
		snprintf(over, sizeof(over), "%s/adir", dir);
		mkdir(over, 0755);
		err[0] = 0;
		r = file_replace(over, "x", 1, 0644, err, sizeof(err));
		T_CASE("rename over a directory fails, names it, leaves nothing",
		    r < 0 && strstr(err, "adir") != NULL && entries(dir) == 2,
		    "r=%d err=%s entries=%d", r, err, entries(dir));
		rmdir(over);
	}
	{
		char longp[5000];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = 0;
		r = file_replace(longp, "x", 1, 0644, err, sizeof(err));
		T_CASE("a path too long is refused", r < 0 && strstr(err, "too long"),
		    "r=%d err=%s", r, err);
	}
	{
		char *text = (char *) 1;
		size_t len = 9;

		(void) file_replace(path, "read me\n", 8, 0644, err, sizeof(err));
		r = file_read_all(path, 1024, &text, &len, err, sizeof(err));
		T_CASE("file_read_all: the whole file, NUL-ended", r == 0 && len == 8
		    && strcmp(text, "read me\n") == 0, "r=%d len=%zu err=%s", r, len, err);
		free(text);
		r = file_read_all(path, 7, &text, &len, err, sizeof(err));
		T_CASE("file_read_all: over max is refused, nothing handed back", r < 0
		    && strstr(err, "larger than") && text == NULL && len == 0, "r=%d err=%s", r, err);
		r = file_read_all(dir, 1024, &text, &len, err, sizeof(err));
		T_CASE("file_read_all: a directory is not a regular file", r < 0
		    && strstr(err, "not a regular file") && text == NULL, "r=%d err=%s", r, err);
		snprintf(buf, sizeof(buf), "%s/none", dir);
		r = file_read_all(buf, 1024, &text, &len, err, sizeof(err));
		T_CASE("file_read_all: a missing file names it", r < 0 && strstr(err, "/none: cannot open"),
		    "r=%d err=%s", r, err);
	}
	unlink(path);
	rmdir(dir);
	return t_done();
}
