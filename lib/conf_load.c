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
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "file.h"

/* cfg_load - read and parse a file */
int
cfg_load(struct config *c, const char *file, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if (file_read_all(file, CFG_MAX_FILE, &text, &len, err, errlen) < 0)
		return -1;
	rc = cfg_parse(c, file, text, len, err, errlen);
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

/* cfg_gateway_id - gateway_id, else the system's host name */
void
cfg_gateway_id(const struct config *c, char *buf, size_t len)
{
	char sys[CFG_GATEWAY_ID_MAX + 2] = "";
	size_t n;

	if (c->gateway_id != NULL && c->gateway_id[0]) {
		snprintf(buf, len, "%s", c->gateway_id);
		return;
	}
	if (gethostname(sys, sizeof(sys) - 1) < 0)
		sys[0] = 0;
	sys[CFG_GATEWAY_ID_MAX] = 0;
	for (n = 0; sys[n] && (unsigned char) sys[n] >= 0x21 && (unsigned char) sys[n] <= 0x7e; n++)
		;
	sys[n] = 0;
	snprintf(buf, len, "%s", sys[0] ? sys : "localhost");
}
