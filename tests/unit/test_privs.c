/*
 * test_privs.c - proxy/privs.c: which capabilities each feature
 * combination needs after start-up, what a reload would lack, the names.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/conf.h"
#include "../../proxy/privs.h"
#include "t.h"

#define ADMIN	PRIVS_CAP(CAP_NET_ADMIN)
#define RAW	PRIVS_CAP(CAP_NET_RAW)

/* need - privs_need() over every combination of the three features */
static void
need(void)
{
	static const struct {
		const char *name;
		uint32_t mark;
		long queue;
		int source;
		uint64_t want;
	} t[] = {
		{"none", 0, -1, SOURCE_GATEWAY, 0},
		{"mark", 0x6d78, -1, SOURCE_GATEWAY, ADMIN},
		{"mark-1", 1, -1, SOURCE_GATEWAY, ADMIN},
		{"mark-max", 0xffffffffu, -1, SOURCE_GATEWAY, ADMIN},
		{"queue-0", 0, 0, SOURCE_GATEWAY, ADMIN},
		{"queue", 0, 4711, SOURCE_GATEWAY, ADMIN},
		{"queue-max", 0, 65535, SOURCE_GATEWAY, ADMIN},
		{"client", 0, -1, SOURCE_CLIENT, RAW},
		{"mark+queue", 0x6d78, 4711, SOURCE_GATEWAY, ADMIN},
		{"mark+client", 0x6d78, -1, SOURCE_CLIENT, ADMIN},
		{"queue+client", 0, 4711, SOURCE_CLIENT, ADMIN},
		{"all", 0x6d78, 4711, SOURCE_CLIENT, ADMIN},
		/* off is any negative queue number */
		{"queue-off-other", 0, -2, SOURCE_GATEWAY, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t got = privs_need(t[i].mark, t[i].queue, t[i].source);
		char name[64];

		snprintf(name, sizeof(name), "need-%s", t[i].name);
		T_CASE(name, got == t[i].want, "got %#llx, want %#llx",
		    (unsigned long long) got, (unsigned long long) t[i].want);
	}
}

/* need_cfg - the configuration's keys, as mxtls.conf text */
static void
need_cfg(void)
{
	static const struct {
		const char *name, *text;
		uint64_t want;
	} t[] = {
		{"defaults", "", 0},
		{"mark", "upstream_mark = 0x6d78\n", ADMIN},
		{"mark-zero", "upstream_mark = 0\n", 0},
		{"queue", "dns_watch_queue = 4711\n", ADMIN},
		{"queue-empty", "dns_watch_queue =\n", 0},
		{"client", "listen = tproxy:0.0.0.0:10026\nupstream_source = client\n", RAW},
		{"gateway", "listen = tproxy:0.0.0.0:10026\nupstream_source = gateway\n", 0},
		{"all", "listen = tproxy:0.0.0.0:10026\nupstream_source = client\n"
		    "upstream_mark = 7\ndns_watch_queue = 4711\n", ADMIN},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct config c;
		char err[256] = "", name[64];
		int r;

		cfg_defaults(&c);
		r = cfg_parse(&c, "t.conf", t[i].text, strlen(t[i].text), err, sizeof(err));
		snprintf(name, sizeof(name), "cfg-%s", t[i].name);
		T_CASE(name, r == 0 && privs_need_cfg(&c) == t[i].want,
		    "parse %d (%s), got %#llx, want %#llx", r, err,
		    (unsigned long long) privs_need_cfg(&c),
		    (unsigned long long) t[i].want);
		cfg_free(&c);
	}
}

/* lacking - what a reload would miss on the capabilities kept */
static void
lacking(void)
{
	static const struct {
		const char *name;
		uint32_t mark;
		long queue;
		int source;
		uint64_t kept;
		int want;
		const char *text;
	} t[] = {
		{"none-on-none", 0, -1, SOURCE_GATEWAY, 0, 0, ""},
		{"mark-on-none", 0x6d78, -1, SOURCE_GATEWAY, 0, 1,
		    "upstream_mark (cap_net_admin)"},
		{"mark-on-admin", 0x6d78, -1, SOURCE_GATEWAY, ADMIN, 0, ""},
		{"mark-on-raw", 0x6d78, -1, SOURCE_GATEWAY, RAW, 1,
		    "upstream_mark (cap_net_admin)"},
		{"queue-on-none", 0, 4711, SOURCE_GATEWAY, 0, 1,
		    "dns_watch_queue (cap_net_admin)"},
		{"client-on-none", 0, -1, SOURCE_CLIENT, 0, 1,
		    "upstream_source = client (cap_net_raw or cap_net_admin)"},
		{"client-on-raw", 0, -1, SOURCE_CLIENT, RAW, 0, ""},
		{"client-on-admin", 0, -1, SOURCE_CLIENT, ADMIN, 0, ""},
		{"all-on-raw", 0x6d78, 4711, SOURCE_CLIENT, RAW, 2,
		    "upstream_mark (cap_net_admin), dns_watch_queue (cap_net_admin)"},
		{"all-on-none", 0x6d78, 4711, SOURCE_CLIENT, 0, 3,
		    "upstream_mark (cap_net_admin), dns_watch_queue (cap_net_admin), "
		    "upstream_source = client (cap_net_raw or cap_net_admin)"},
		{"all-on-all", 0x6d78, 4711, SOURCE_CLIENT, UINT64_MAX, 0, ""},
		{"all-on-admin", 0x6d78, 4711, SOURCE_CLIENT, ADMIN, 0, ""},
		/* other capabilities serve none of them */
		{"mark-on-others", 0x6d78, -1, SOURCE_GATEWAY,
		    ~(ADMIN | RAW), 1, "upstream_mark (cap_net_admin)"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct config c;
		char buf[512], name[64];
		int n;

		cfg_defaults(&c);
		c.upstream_mark = t[i].mark;
		c.dns_watch_queue = t[i].queue;
		c.upstream_source = t[i].source;
		memset(buf, 'x', sizeof(buf));
		n = privs_lacking(&c, t[i].kept, buf, sizeof(buf));
		snprintf(name, sizeof(name), "lacking-%s", t[i].name);
		T_CASE(name, n == t[i].want && strcmp(buf, t[i].text) == 0,
		    "got %d \"%s\", want %d \"%s\"", n, buf, t[i].want, t[i].text);
		/* what privs_need() gives is never lacking */
		n = privs_lacking(&c, privs_need_cfg(&c), buf, sizeof(buf));
		snprintf(name, sizeof(name), "lacking-%s-need-suffices", t[i].name);
		T_CASE(name, n == 0 && buf[0] == 0, "got %d \"%s\"", n, buf);
		cfg_free(&c);
	}
}

/* lacking_small - a short buffer is truncated, the count still right */
static void
lacking_small(void)
{
	struct config c;
	char buf[8];
	int n;

	cfg_defaults(&c);
	c.upstream_mark = 1;
	c.dns_watch_queue = 1;
	n = privs_lacking(&c, 0, buf, sizeof(buf));
	T_CASE("lacking-truncated", n == 2 && strcmp(buf, "upstrea") == 0,
	    "got %d \"%s\"", n, buf);
	n = privs_lacking(&c, 0, NULL, 0);
	T_CASE("lacking-no-buffer", n == 2, "got %d", n);
	cfg_free(&c);
}

/* names - privs_str() */
static void
names(void)
{
	static const struct {
		const char *name;
		uint64_t caps;
		const char *want;
	} t[] = {
		{"none", 0, "none"},
		{"admin", ADMIN, "cap_net_admin"},
		{"raw", RAW, "cap_net_raw"},
		{"both", ADMIN | RAW, "cap_net_admin,cap_net_raw"},
		{"setuid-setgid", PRIVS_CAP(CAP_SETUID) | PRIVS_CAP(CAP_SETGID),
		    "cap_setgid,cap_setuid"},
		{"first", PRIVS_CAP(CAP_CHOWN), "cap_chown"},
	};
	char buf[256], small[6];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "str-%s", t[i].name);
		T_CASE(name, strcmp(privs_str(t[i].caps, buf, sizeof(buf)), t[i].want) == 0,
		    "got \"%s\", want \"%s\"", buf, t[i].want);
	}
	T_CASE("str-truncated", strcmp(privs_str(ADMIN | RAW, small, sizeof(small)),
		"cap_n") == 0, "got \"%s\"", small);
	/* a bit past what libcap names still says something */
	T_CASE("str-unnamed", privs_str(PRIVS_CAP(63), buf, sizeof(buf))[0] != 0
	    && strcmp(buf, "none") != 0, "got \"%s\"", buf);
}

int
main(void)
{
	T_INIT("test_privs");
	need();
	need_cfg();
	lacking();
	lacking_small();
	names();
	return t_done();
}
