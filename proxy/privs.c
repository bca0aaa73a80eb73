/*
 * privs.c - which capabilities mxtlsd's features need after start-up
 *	(privs.h), pure.
 *
 *	One table: each feature that needs a capability once the listeners
 *	are bound, when it is on, and the capabilities it accepts, the one
 *	to prefer first.  The names come from libcap (cap_to_name(3)).
 */
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

#include "privs.h"

/* What one feature needs: any one of accepts[] (preferred first). */
struct privs_feature {
	const char *key;		/* its mxtls.conf key, as said in logs */
	int (*on)(uint32_t mark, long queue, int source);
	int accepts[2];			/* capabilities; -1 ends */
};

/* mark_on - upstream_mark: SO_MARK on upstream sockets */
static int
mark_on(uint32_t mark, long queue, int source)
{
	(void) queue;
	(void) source;
	return mark != 0;
}

/* queue_on - dns_watch_queue: the NFQUEUE netlink socket */
static int
queue_on(uint32_t mark, long queue, int source)
{
	(void) mark;
	(void) source;
	return queue >= 0;
}

/* client_on - upstream_source = client: IP_TRANSPARENT upstream */
static int
client_on(uint32_t mark, long queue, int source)
{
	(void) mark;
	(void) queue;
	return source == SOURCE_CLIENT;
}

static const struct privs_feature features[] = {
	{"upstream_mark", mark_on, {CAP_NET_ADMIN, -1}},
	{"dns_watch_queue", queue_on, {CAP_NET_ADMIN, -1}},
	{"upstream_source = client", client_on, {CAP_NET_RAW, CAP_NET_ADMIN}},
};

#define NFEATURES (sizeof(features) / sizeof(features[0]))

/* accepts_mask - the capabilities one feature accepts */
static uint64_t
accepts_mask(const struct privs_feature *f)
{
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(f->accepts) / sizeof(f->accepts[0])
	    && f->accepts[i] >= 0; i++)
		m |= PRIVS_CAP(f->accepts[i]);
	return m;
}

/* privs_need - the smallest mask serving every configured feature */
uint64_t
privs_need(uint32_t upstream_mark, long dns_watch_queue, int upstream_source)
{
	uint64_t need = 0;

	/* First what has no choice, then the choices: one already needed
	 * serves, or the preferred one. */
	for (size_t i = 0; i < NFEATURES; i++)
		if (features[i].on(upstream_mark, dns_watch_queue, upstream_source)
		    && features[i].accepts[1] < 0)
			need |= PRIVS_CAP(features[i].accepts[0]);
	for (size_t i = 0; i < NFEATURES; i++)
		if (features[i].on(upstream_mark, dns_watch_queue, upstream_source)
		    && (need & accepts_mask(&features[i])) == 0)
			need |= PRIVS_CAP(features[i].accepts[0]);
	return need;
}

/* privs_need_cfg - privs_need() of a configuration */
uint64_t
privs_need_cfg(const struct config *c)
{
	return privs_need(c->upstream_mark, c->dns_watch_queue, c->upstream_source);
}

/* append - text at the end of buf, truncated */
static void
append(char *buf, size_t len, const char *text)
{
	size_t n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s", text);
}

/* cap_name - one capability's name, libcap's spelling, into buf */
static const char *
cap_name(int cap, char *buf, size_t len)
{
	char *name = cap_to_name((cap_value_t) cap);

	snprintf(buf, len, "%s", name ? name : "?");
	cap_free(name);
	return buf;
}

/* privs_lacking - the features of c that kept does not serve */
int
privs_lacking(const struct config *c, uint64_t kept, char *buf, size_t len)
{
	int n = 0;

	if (len > 0)
		buf[0] = 0;
	for (size_t i = 0; i < NFEATURES; i++) {
		const struct privs_feature *f = &features[i];
		char name[64];

		if (!f->on(c->upstream_mark, c->dns_watch_queue, c->upstream_source)
		    || (kept & accepts_mask(f)) != 0)
			continue;
		if (len > 0) {
			append(buf, len, n ? ", " : "");
			append(buf, len, f->key);
			append(buf, len, " (");
			for (size_t j = 0; j < sizeof(f->accepts) / sizeof(f->accepts[0])
			    && f->accepts[j] >= 0; j++) {
				append(buf, len, j ? " or " : "");
				append(buf, len, cap_name(f->accepts[j], name, sizeof(name)));
			}
			append(buf, len, ")");
		}
		n++;
	}
	return n;
}

/* privs_str - the names of a mask's capabilities, or none */
const char *
privs_str(uint64_t caps, char *buf, size_t len)
{
	char name[64];
	int n = 0;

	if (len == 0)
		return buf;
	buf[0] = 0;
	for (int cap = 0; cap < 64; cap++) {
		if ((caps & PRIVS_CAP(cap)) == 0)
			continue;
		append(buf, len, n++ ? "," : "");
		append(buf, len, cap_name(cap, name, sizeof(name)));
	}
	if (n == 0)
		snprintf(buf, len, "none");
	return buf;
}
