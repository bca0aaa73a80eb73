/*
 * conf_load.c - the configuration file on disk, and the host's name.
 *	See conf.h.
 *
 * DESCRIPTION
 *	The parts of the configuration that touch the system: reading a
 *	file (cfg_load()), the default file that may be missing (cfg_read()),
 *	and the host name when myhostname is empty (cfg_hostname()).  The
 *	parser itself (conf.c) stays pure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

/* cfg_load - read and parse a file */
int
cfg_load(struct config *c, const char *file, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", file);
		return -1;
	}
	if (st.st_size > CFG_MAX_FILE) {
		close(fd);
		snprintf(err, errlen, "%s: larger than 1 MiB", file);
		return -1;
	}
	if ((text = malloc((size_t) st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	while (got < (size_t) st.st_size
	    && (n = read(fd, text + got, (size_t) st.st_size - got)) > 0)
		got += (size_t) n;
	close(fd);
	rc = cfg_parse(c, file, text, got, err, errlen);
	free(text);
	return rc;
}

/* cfg_read - the defaults, then the file; a missing default file is none */
int
cfg_read(struct config *c, const char *file, int given, char *err, size_t errlen)
{
	cfg_defaults(c);
	if (!given && access(file, F_OK) < 0 && errno == ENOENT)
		return 0;
	return cfg_load(c, file, err, errlen);
}

/* cfg_hostname - myhostname, else mxtls. and the system's name */
void
cfg_hostname(const struct config *c, char *buf, size_t len)
{
	char sys[200] = "";

	if (c->myhostname[0]) {
		snprintf(buf, len, "%s", c->myhostname);
		return;
	}
	/* Never the system's own name: an old MTA on this host that sees its
	 * own name in our greeting bounces the mail as a loop. */
	if (gethostname(sys, sizeof(sys) - 1) < 0 || sys[0] == 0)
		snprintf(sys, sizeof(sys), "localhost");
	sys[sizeof(sys) - 1] = 0;
	snprintf(buf, len, "mxtls.%s", sys);
}
