/*
 * test_config.c - the configuration parser against good and hostile files.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/conf.h"
#include "t.h"

struct bad {
	const char *name;
	const char *text;
	size_t len;			/* 0: strlen */
	const char *err;		/* expected substring of the message */
};

static const struct bad bads[] = {
	{"unknown key", "listen = 127.0.0.1:25\nfoo = bar\n", 0, "t.cf:2: unknown key \"foo\""},
	{"no equals", "max_sessions 10\n", 0, "t.cf:1: missing '='"},
	{"empty key", " \n= 5\n", 0, "t.cf:2: missing key"},
	{"bad bool", "offer_client_starttls = maybe\n", 0, "t.cf:1: offer_client_starttls: \"maybe\": expected yes or no"},
	{"bool case", "offer_client_starttls = YES\n", 0, "expected yes or no"},
	{"number junk", "max_sessions = 10x\n", 0, "t.cf:1: max_sessions: expected a number from 1 to 1000000"},
	{"number zero", "max_sessions = 0\n", 0, "max_sessions: expected a number from 1"},
	{"number negative", "max_sessions = -5\n", 0, "max_sessions: expected a number"},
	{"number overflow", "max_sessions = 99999999999999999999999999\n", 0, "max_sessions: expected a number"},
	{"number empty", "max_sessions =\n", 0, "max_sessions: expected a number"},
	{"time unit", "client_timeout = 5y\n", 0, "client_timeout: \"5y\": unit must be s, m, h or d"},
	{"time trailing", "client_timeout = 5ss\n", 0, "client_timeout: \"5ss\": expected a time"},
	{"time zero", "client_timeout = 0\n", 0, "client_timeout: \"0\": must be from 1s"},
	{"idle limit too long", "client_idle_limit = 8d\n", 0, "client_idle_limit: \"8d\": must be from"},
	{"data rate negative", "client_min_data_rate = -1\n", 0, "client_min_data_rate: expected a number"},
	{"time huge", "upstream_timeout = 999999999999d\n", 0, "upstream_timeout: \"999999999999d\": must be from"},
	{"size unit", "message_size_limit = 10q\n", 0, "message_size_limit: \"10q\": unit must be k, m or g"},
	{"size overflow", "message_size_limit = 18446744073709551615g\n", 0, "message_size_limit: \"18446744073709551615g\": too large"},
	{"session cache bool", "tls_session_cache = on\n", 0,
	    "t.cf:1: tls_session_cache: \"on\": expected yes or no"},
	{"session cache size zero", "tls_session_cache_size = 0\n", 0,
	    "t.cf:1: tls_session_cache_size: expected a number from 1 to 1000000"},
	{"session cache size huge", "\ntls_session_cache_size = 1000001\n", 0,
	    "t.cf:2: tls_session_cache_size: expected a number from 1 to 1000000"},
	{"session cache size junk", "tls_session_cache_size = 1k\n", 0,
	    "t.cf:1: tls_session_cache_size: expected a number"},
	{"ktls bool", "\n\ntls_ktls = maybe\n", 0,
	    "t.cf:3: tls_ktls: \"maybe\": expected yes or no"},
	{"upstream cache time huge", "upstream_cache_time = 2h\n", 0,
	    "t.cf:1: upstream_cache_time: \"2h\": must be from"},
	{"upstream cache size zero", "\n\nupstream_cache_size = 0\n", 0,
	    "t.cf:3: upstream_cache_size: expected a number from 1 to 100000"},
	{"upstream cache per dest junk", "upstream_cache_per_dest = four\n", 0,
	    "t.cf:1: upstream_cache_per_dest: expected a number"},
	{"mark junk", "upstream_mark = 0xZZ\n", 0, "upstream_mark: \"0xZZ\": expected a 32-bit number"},
	{"mark too big", "upstream_mark = 0x100000000\n", 0, "upstream_mark: \"0x100000000\""},
	{"listen no port", "listen = 127.0.0.1\n", 0, "listen: bad address \"127.0.0.1\""},
	{"listen port 0", "listen = 127.0.0.1:0\n", 0, "listen: bad address"},
	{"listen port big", "listen = 127.0.0.1:65536\n", 0, "listen: bad address"},
	{"listen v6 unbracketed", "listen = ::1:25\n", 0, "listen: bad address \"::1:25\""},
	{"listen v6 bad", "listen = [fe80::zz]:25\n", 0, "listen: bad address"},
	{"listen host name", "listen = localhost:25\n", 0, "listen: bad address \"localhost:25\""},
	{"listen twice", "listen = 127.0.0.1:25 127.0.0.1:25\n", 0, "listed twice"},
	{"listen empty", "listen =\n", 0, "at least one address"},
	{"listen too many", "listen = 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 127.0.0.1:5 "
	    "127.0.0.1:6 127.0.0.1:7 127.0.0.1:8 127.0.0.1:9 127.0.0.1:10 127.0.0.1:11 "
	    "127.0.0.1:12 127.0.0.1:13 127.0.0.1:14 127.0.0.1:15 127.0.0.1:16 127.0.0.1:17\n", 0,
	    "more than 16"},
	{"hostname bad", "myhostname = mx_1..example\n", 0, "myhostname: \"mx_1..example\" is not a valid host name"},
	{"hostname dash", "myhostname = -mx.example\n", 0, "is not a valid host name"},
	/* what we say in EHLO is a host name (RFC 5321 Domain): no `_' */
	{"hostname underscore", "myhostname = mx_1.example\n", 0, "is not a valid host name"},
	{"hostname trailing dot", "myhostname = mx.example.\n", 0, "is not a valid host name"},
	{"gateway_id space", "\ngateway_id = gw 1\n", 0,
	    "t.cf:2: gateway_id: \"gw 1\": printable ASCII without white space only"},
	{"gateway_id control", "gateway_id = gw\x7f" "1\n", 0, "t.cf:1: "},
	{"gateway_id 8-bit", "gateway_id = gw\xc3\xa9" "1\n", 0,
	    "t.cf:1: gateway_id: \"gw\xc3\xa9" "1\": printable ASCII"},
	{"gateway_id too long", "gateway_id = "
	    "0123456789012345678901234567890123456789012345678901234567890123x\n", 0,
	    "t.cf:1: gateway_id: longer than 64 bytes"},
	{"sts_cache rediss", "sts_cache = rediss://r.example:6380\n", 0,
	    "t.cf:1: sts_cache: rediss:// (TLS to Redis) is not supported"},
	{"sts_cache password in URL", "sts_cache = redis://:secret@192.0.2.5\n", 0,
	    "sts_cache: no password in the URL"},
	{"sts_cache unknown scheme", "sts_cache = memcached://192.0.2.5\n", 0,
	    "sts_cache: expected disk, redis://HOST[:PORT][/DB] or unix:/PATH[?db=N]"},
	{"sts_cache port 0", "sts_cache = redis://192.0.2.5:0\n", 0, "sts_cache: bad port"},
	{"sts_cache port big", "sts_cache = redis://192.0.2.5:65536\n", 0, "sts_cache: bad port"},
	{"sts_cache port empty", "sts_cache = redis://192.0.2.5:\n", 0, "sts_cache: bad port"},
	{"sts_cache db word", "sts_cache = redis://192.0.2.5/x\n", 0,
	    "sts_cache: bad database number"},
	{"sts_cache relative unix", "sts_cache = unix:run/redis.sock\n", 0,
	    "sts_cache: unix: needs an absolute path"},
	{"sts_cache unix query", "sts_cache = unix:/run/redis.sock?database=1\n", 0,
	    "expected unix:/PATH or unix:/PATH?db=N"},
	{"sts_cache bad host", "sts_cache = redis://bad_host..example\n", 0,
	    "sts_cache: the host is not a host name or an IP address"},
	{"sts_cache v6 open", "sts_cache = redis://[2001:db8::5:6379\n", 0,
	    "an IPv6 address needs its closing ]"},
	{"sts_cache empty host", "sts_cache = redis://:6379\n", 0,
	    "expected redis://HOST[:PORT][/DB]"},
	{"sts_cache_redis_timeout 0", "sts_cache_redis_timeout = 0\n", 0,
	    "sts_cache_redis_timeout"},
	{"submitter underscore", "report_submitter = mx_1.example\n", 0,
	    "report_submitter: \"mx_1.example\" is not a valid host name"},
	{"duplicate", "max_sessions = 5\n\nmax_sessions = 6\n", 0, "t.cf:3: max_sessions: already set at line 1"},
	{"NUL byte", "max_sessions = 5\0\n", 18, "t.cf:1: NUL byte"},
	{"control char", "max_sessions = 5\x01\n", 0, "t.cf:1: control character"},
	{"bare CR inside", "max_sessions = 5\rfoo = 1\n", 0, "control character"},
	{"continuation first", "  max_sessions = 5\n", 0, "t.cf:1: continuation line without"},
	{"cert without key", "client_tls_cert_file = /x.pem\n", 0, "client_tls_key_file: must be set"},
	{"key without cert", "client_tls_key_file = /x.pem\n", 0, "client_tls_cert_file: must be set"},
	{"mx_mismatch unknown word", "\nmx_mismatch = bounce\n", 0,
	    "t.cf:2: mx_mismatch: \"bounce\": expected auto, reroute, pass or refuse"},
	{"mx_mismatch word case", "mx_mismatch = Reroute\n", 0,
	    "t.cf:1: mx_mismatch: \"Reroute\": expected auto"},
	{"mx_mismatch a number", "mx_mismatch = 1\n", 0, "t.cf:1: mx_mismatch: \"1\": expected"},
	{"journal_fsync unknown word", "journal_fsync = never\n", 0,
	    "t.cf:1: journal_fsync: \"never\": expected interval or always"},
	{"log_format unknown word", "log_format = syslog\n", 0,
	    "t.cf:1: log_format: \"syslog\": expected text or json"},
	{"log_format word case", "\n\nlog_format = JSON\n", 0, "t.cf:3: log_format: \"JSON\""},
	{"mode unknown word", "mode = shadow\n", 0,
	    "t.cf:1: mode: \"shadow\": expected enforce or report-only"},
	{"mode testing is MTA-STS's word", "mode = testing\n", 0, "mode: \"testing\""},
	{"require_tls maybe", "require_tls = sometimes\n", 0,
	    "t.cf:1: require_tls: \"sometimes\": expected yes or no"},
	{"socketmap no port", "socketmap_listen = inet:127.0.0.1\n", 0,
	    "t.cf:1: socketmap_listen: bad address \"inet:127.0.0.1\": expected inet:ADDR:PORT"},
	{"socketmap relative unix", "socketmap_listen = unix:run/smap\n", 0,
	    "socketmap_listen: bad address \"unix:run/smap\""},
	{"socketmap unix too long", "socketmap_listen = unix:/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    0, "socketmap_listen: bad address"},
	{"socketmap host name", "socketmap_listen = inet:localhost:8461\n", 0,
	    "socketmap_listen: bad address"},
	{"socketmap other type", "socketmap_listen = tcp:127.0.0.1:8461\n", 0,
	    "socketmap_listen: bad address"},
	{"metrics unix refused", "metrics_listen = unix:/run/m\n", 0,
	    "t.cf:1: metrics_listen: bad address \"unix:/run/m\": expected ADDR:PORT or [ADDR6]:PORT"},
	{"metrics inet: is socketmap's", "metrics_listen = inet:127.0.0.1:9425\n", 0,
	    "metrics_listen: bad address"},
	{"metrics v6 unbracketed", "metrics_listen = ::1:9425\n", 0, "metrics_listen: bad address"},
	{"queue too big", "dns_watch_queue = 65536\n", 0,
	    "t.cf:1: dns_watch_queue: \"65536\": expected an NFQUEUE number from 0 to 65535"},
	{"queue negative", "dns_watch_queue = -1\n", 0, "dns_watch_queue: \"-1\": expected"},
	{"queue word", "dns_watch_queue = off\n", 0, "dns_watch_queue: \"off\": expected"},
	{"queue hex", "dns_watch_queue = 0x10\n", 0, "dns_watch_queue: \"0x10\""},
	{"workers zero", "workers = 0\n", 0,
	    "t.cf:1: workers: \"0\": expected auto (the number of CPUs) or a number of processes from 1 to 256"},
	{"workers too many", "workers = 257\n", 0, "t.cf:1: workers: \"257\": expected auto"},
	{"workers word", "workers = many\n", 0, "workers: \"many\": expected auto"},
	{"workers > 1 with dns_watch_queue", "dns_watch_queue = 3\nworkers = 2\n", 0,
	    "t.cf:2: workers: must be 1 (or auto) with dns_watch_queue"},
	{"workers > 1 with dns_watch_queue, queue after", "max_sessions = 5\nworkers = 4\n"
	    "dns_watch_queue = 3\n", 0, "t.cf:2: workers: must be 1 (or auto) with dns_watch_queue"},
	{"upstream_source word", "upstream_source = mta\n", 0,
	    "t.cf:1: upstream_source: \"mta\": expected gateway or client"},
	{"upstream_source client without tproxy", "listen = 127.0.0.1:10025\n"
	    "upstream_source = client\n", 0,
	    "t.cf:2: upstream_source: client needs a tproxy: address in listen"},
	{"upstream_source client, default listen", "upstream_source = client\n", 0,
	    "upstream_source: client needs a tproxy:"},
	{"selftest_at_start maybe", "selftest_at_start = maybe\n", 0,
	    "t.cf:1: selftest_at_start: \"maybe\": expected yes or no"},
	{"canary_domains not a name", "canary_domains = wrong.havedane.net bad_name.example\n",
	    0, "t.cf:1: canary_domains: \"bad_name.example\" is not a domain name"},
	{"canary_domains an address", "canary_domains = [192.0.2.1]\n", 0,
	    "canary_domains: \"[192.0.2.1]\" is not a domain name"},
	{"canary_domains too many", "canary_domains = a.example b.example c.example d.example "
	    "e.example f.example g.example h.example i.example j.example k.example l.example "
	    "m.example n.example o.example p.example q.example r.example s.example t.example "
	    "u.example v.example w.example x.example y.example z.example aa.example ab.example "
	    "ac.example ad.example ae.example af.example ag.example ah.example ai.example "
	    "aj.example ak.example al.example am.example an.example ao.example ap.example "
	    "aq.example ar.example as.example at.example au.example av.example aw.example "
	    "ax.example ay.example az.example ba.example bb.example bc.example bd.example "
	    "be.example bf.example bg.example bh.example bi.example bj.example bk.example "
	    "bl.example bm.example\n", 0, "canary_domains: more than 64 domains"},
};

static void
bad_files(void)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct config c;
		char err[512] = "";
		size_t len = bads[i].len ? bads[i].len : strlen(bads[i].text);
		int rc;

		cfg_defaults(&c);
		rc = cfg_parse(&c, "t.cf", bads[i].text, len, err, sizeof(err));
		T_CASE(bads[i].name, rc == -1 && strstr(err, bads[i].err) != NULL,
		    "rc=%d err=\"%s\" want \"%s\"", rc, err, bads[i].err);
		cfg_free(&c);
	}
}

/* sts_cache - the forms cfg_parse_sts_cache() reads */
static void
sts_cache(void)
{
	static const struct {
		const char *in;
		int kind, is_unix;
		const char *host;
		unsigned port;
		const char *path;
		long db;
	} ok[] = {
		{"disk", CFG_STS_DISK, 0, "", 6379, "", 0},
		{"redis://192.0.2.5", CFG_STS_REDIS, 0, "192.0.2.5", 6379, "", 0},
		{"redis://192.0.2.5:6380/3", CFG_STS_REDIS, 0, "192.0.2.5", 6380, "", 3},
		{"redis://192.0.2.5/", CFG_STS_REDIS, 0, "192.0.2.5", 6379, "", 0},
		{"redis://[2001:db8::5]:7000/12", CFG_STS_REDIS, 0, "2001:db8::5", 7000, "", 12},
		{"redis://[2001:db8::5]", CFG_STS_REDIS, 0, "2001:db8::5", 6379, "", 0},
		{"redis://cache.example.net:6379", CFG_STS_REDIS, 0, "cache.example.net", 6379, "", 0},
		{"unix:/run/redis/redis-server.sock", CFG_STS_REDIS, 1, "", 6379,
		    "/run/redis/redis-server.sock", 0},
		{"unix:/run/redis.sock?db=7", CFG_STS_REDIS, 1, "", 6379, "/run/redis.sock", 7},
	};
	static const char *bad[] = {"", "redis://", "redis:///1", "redis://[::1]x",
		"redis://192.0.2.5:99999999999999999999", "redis://192.0.2.5/1/2",
		"redis://192.0.2.5/-1", "unix:", "unix:/x?db=", "unix:/x?db=1x",
		"unix:/0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789", "Disk", "redis://a b", "redis://[]"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct cfg_sts_cache sc;
		const char *why = NULL;
		int rc = cfg_parse_sts_cache(ok[i].in, &sc, &why);

		T_CASE(ok[i].in, rc == 0 && sc.kind == ok[i].kind && sc.is_unix == ok[i].is_unix
		    && strcmp(sc.host, ok[i].host) == 0 && sc.port == ok[i].port
		    && strcmp(sc.path, ok[i].path) == 0 && sc.db == ok[i].db,
		    "rc=%d why=%s kind=%d host=%s port=%u path=%s db=%ld", rc, why ? why : "",
		    sc.kind, sc.host, sc.port, sc.path, sc.db);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg_sts_cache sc;
		const char *why = NULL;
		char name[256];
		int rc = cfg_parse_sts_cache(bad[i], &sc, &why);

		snprintf(name, sizeof(name), "sts_cache refused: \"%.200s\"", bad[i]);
		T_CASE(name, rc < 0 && why && why[0], "rc=%d", rc);
	}
	{
		struct config c;
		char err[512] = "";
		const char *t = "sts_cache = unix:/run/redis.sock?db=2\n"
		    "sts_cache_redis_password_file = /etc/mxtls/redis.pass\n";
		int rc;

		cfg_defaults(&c);
		T_CASE("sts_cache default: disk", strcmp(c.sts_cache, "disk") == 0
		    && c.sts_cache_redis_timeout == 1 && c.sts_cache_redis_password_file[0] == 0,
		    "%s %ld", c.sts_cache, c.sts_cache_redis_timeout);
		rc = cfg_parse(&c, "t.cf", t, strlen(t), err, sizeof(err));
		T_CASE("sts_cache and its password file kept as written", rc == 0
		    && strcmp(c.sts_cache, "unix:/run/redis.sock?db=2") == 0
		    && strcmp(c.sts_cache_redis_password_file, "/etc/mxtls/redis.pass") == 0,
		    "rc=%d err=%s", rc, err);
		cfg_free(&c);
	}
}

/* gateway_id - a value kept as written, 64 bytes the most; the default
 * the system's host name, never empty */
static void
gateway_id(void)
{
	struct config c;
	char err[512] = "", gw[128], sys[256] = "";
	const char *t64 = "gateway_id = gw-1.example:a_b@c/"
	    "01234567890123456789012345678901\n";
	int rc;

	cfg_defaults(&c);
	rc = cfg_parse(&c, "t.cf", t64, strlen(t64), err, sizeof(err));
	cfg_gateway_id(&c, gw, sizeof(gw));
	T_CASE("gateway_id of 64 bytes kept", rc == 0
	    && strcmp(gw, "gw-1.example:a_b@c/01234567890123456789012345678901") == 0,
	    "rc=%d err=%s gw=%s", rc, err, gw);
	cfg_free(&c);
	cfg_defaults(&c);
	cfg_gateway_id(&c, gw, sizeof(gw));
	(void) gethostname(sys, sizeof(sys) - 1);
	T_CASE("gateway_id default: the host name", gw[0] && strlen(gw) <= 64
	    && (strcmp(gw, sys) == 0 || (sys[0] == 0 && strcmp(gw, "localhost") == 0)),
	    "gw=%s host=%s", gw, sys);
	cfg_free(&c);
}

static void
good_file(void)
{
	const char *text =
	    "# a comment\n"
	    "   # an indented comment\n"
	    "\n"
	    "listen = 127.0.0.1:10025, [::1]:10025\r\n"
	    "    tproxy:0.0.0.0:10026\n"
	    "myhostname = proxy.example.net\n"
	    "max_sessions = 250\n"
	    "client_timeout = 5m\n"
	    "upstream_connect_timeout = 20\n"
	    "upstream_timeout = 1h\n"
	    "message_size_limit = 50m\n"
	    "offer_client_starttls = no\n"
	    "upstream_mark = 0x6d78\n"
	    "user =\n"
	    "client_tls_cert_file = /etc/ssl/c.pem\n"
	    "policy_table = /etc/mxtls/policy\n"
	    "mode = report-only\n"
	    "require_tls = yes\n"
	    "socketmap_listen = unix:/run/mxtls/socketmap\n"
	    "metrics_listen = [::1]:9425\n"
	    "dns_watch_queue = 0\n"
	    "workers = 1\n"
	    "upstream_source = client\n"
	    "tls_session_cache = no\n"
	    "tls_session_cache_size = 5\n"
	    "tls_ktls = no\n"
	    "client_tls_key_file = /etc/ssl/k.pem";	/* no final newline */
	struct config c;
	char err[512] = "";
	int rc;

	cfg_defaults(&c);
	rc = cfg_parse(&c, "good.cf", text, strlen(text), err, sizeof(err));
	T_CASE("good file parses", rc == 0, "err=%s", err);
	T_CASE("tls_session_cache no, size 5", c.tls_session_cache == 0
	    && c.tls_session_cache_size == 5, "%d %ld", c.tls_session_cache,
	    c.tls_session_cache_size);
	T_CASE("tls_ktls no", c.tls_ktls == 0, "%d", c.tls_ktls);
	T_CASE("continuation joins listen", c.nlisten == 3, "nlisten=%d", c.nlisten);
	T_CASE("tproxy flag", c.nlisten == 3 && c.listen[2].tproxy && !c.listen[0].tproxy,
	    "tproxy flags wrong");
	T_CASE("ipv6 endpoint", c.nlisten >= 2 && c.listen[1].addr.ss_family == AF_INET6
	    && ntohs(((struct sockaddr_in6 *) &c.listen[1].addr)->sin6_port) == 10025,
	    "family=%d", c.listen[1].addr.ss_family);
	T_CASE("time minutes", c.client_timeout == 300, "%ld", c.client_timeout);
	T_CASE("time plain seconds", c.upstream_connect_timeout == 20, "%ld", c.upstream_connect_timeout);
	T_CASE("time hours", c.upstream_timeout == 3600, "%ld", c.upstream_timeout);
	T_CASE("size mega", c.message_size_limit == 50ull * 1024 * 1024, "%llu",
	    (unsigned long long) c.message_size_limit);
	T_CASE("bool no", c.offer_client_starttls == 0, "%d", c.offer_client_starttls);
	T_CASE("mark hex", c.upstream_mark == 0x6d78, "%x", c.upstream_mark);
	T_CASE("empty string value", c.user && c.user[0] == 0, "user=%s", c.user);
	T_CASE("last line without newline", strcmp(c.client_tls_key_file, "/etc/ssl/k.pem") == 0,
	    "%s", c.client_tls_key_file);
	T_CASE("hostname", strcmp(c.myhostname, "proxy.example.net") == 0, "%s", c.myhostname);
	T_CASE("policy_table", strcmp(c.policy_table, "/etc/mxtls/policy") == 0, "%s",
	    c.policy_table);
	T_CASE("mode report-only", c.mode == MODE_REPORT_ONLY, "%d", c.mode);
	T_CASE("require_tls yes", c.require_tls == 1, "%d", c.require_tls);
	T_CASE("socketmap unix", strcmp(c.socketmap_listen, "unix:/run/mxtls/socketmap") == 0,
	    "%s", c.socketmap_listen);
	T_CASE("metrics v6", strcmp(c.metrics_listen, "[::1]:9425") == 0, "%s", c.metrics_listen);
	T_CASE("dns_watch_queue 0 is a queue", c.dns_watch_queue == 0, "%ld", c.dns_watch_queue);
	T_CASE("workers 1 with dns_watch_queue", c.workers == 1, "%ld", c.workers);
	T_CASE("upstream_source client with a tproxy listener",
	    c.upstream_source == SOURCE_CLIENT, "%d", c.upstream_source);
	{
		struct cfg_socket so;

		T_CASE("socket unix parsed", cfg_parse_socket(c.socketmap_listen, 1, &so) == 0
		    && so.is_unix && so.addr.ss_family == AF_UNIX, "unix=%d", so.is_unix);
		T_CASE("socket inet parsed", cfg_parse_socket("inet:127.0.0.1:8461", 1, &so) == 0
		    && !so.is_unix && so.addr.ss_family == AF_INET, "family=%d",
		    so.addr.ss_family);
		T_CASE("socket plain v6 parsed", cfg_parse_socket("[::1]:9425", 0, &so) == 0
		    && so.addr.ss_family == AF_INET6, "family=%d", so.addr.ss_family);
		T_CASE("socket unix not for metrics", cfg_parse_socket("unix:/x", 0, &so) < 0,
		    "accepted");
	}

	/* cfg_print output parses back to the same configuration. */
	{
		char *out = NULL;
		size_t outlen = 0;
		FILE *fp = open_memstream(&out, &outlen);
		struct config c2;

		cfg_print(&c, fp);
		fclose(fp);
		cfg_defaults(&c2);
		rc = cfg_parse(&c2, "printed", out, outlen, err, sizeof(err));
		T_CASE("print parses back", rc == 0, "err=%s", err);
		T_CASE("print round trip", rc == 0 && c2.nlisten == c.nlisten
		    && memcmp(c2.listen, c.listen, sizeof(c.listen)) == 0
		    && c2.max_sessions == c.max_sessions
		    && c2.message_size_limit == c.message_size_limit
		    && c2.upstream_mark == c.upstream_mark
		    && c2.offer_client_starttls == c.offer_client_starttls
		    && c2.mode == c.mode && c2.require_tls == c.require_tls
		    && c2.dns_watch_queue == c.dns_watch_queue && c2.workers == c.workers
		    && c2.upstream_source == c.upstream_source
		    && strcmp(c2.policy_table, c.policy_table) == 0
		    && strcmp(c2.socketmap_listen, c.socketmap_listen) == 0
		    && strcmp(c2.metrics_listen, c.metrics_listen) == 0
		    && strcmp(c2.myhostname, c.myhostname) == 0, "fields differ");
		free(out);
		cfg_free(&c2);
	}
	cfg_free(&c);
}

static void
defaults(void)
{
	struct config c;
	char ep[80];

	cfg_defaults(&c);
	cfg_endpoint_str(&c.listen[0], ep, sizeof(ep));
	T_CASE("default listen v4", c.nlisten == 2 && strcmp(ep, "127.0.0.1:10025") == 0, "%s", ep);
	cfg_endpoint_str(&c.listen[1], ep, sizeof(ep));
	T_CASE("default listen v6", strcmp(ep, "[::1]:10025") == 0, "%s", ep);
	T_CASE("default starttls offered", c.offer_client_starttls == 1, "no");
	T_CASE("default dns_watch_queue off", c.dns_watch_queue == -1, "%ld", c.dns_watch_queue);
	T_CASE("default log_format text", c.log_format == LOG_FORMAT_TEXT, "%d", c.log_format);
	T_CASE("default workers auto", c.workers == 0, "%ld", c.workers);
	{
		struct config w;
		char werr[256] = "";

		cfg_defaults(&w);
		T_CASE("workers 8 parses", cfg_parse(&w, "w.cf", "workers = 8\n", 12, werr,
		    sizeof(werr)) == 0 && w.workers == 8, "%s %ld", werr, w.workers);
		cfg_free(&w);
		cfg_defaults(&w);
		T_CASE("workers auto with dns_watch_queue is fine", cfg_parse(&w, "w.cf",
		    "workers = auto\ndns_watch_queue = 1\n", 35, werr, sizeof(werr)) == 0
		    && w.workers == 0, "%s %ld", werr, w.workers);
		cfg_free(&w);
	}
	T_CASE("default upstream_source gateway", c.upstream_source == SOURCE_GATEWAY, "%d",
	    c.upstream_source);
	T_CASE("default client deadlines", c.client_idle_limit == 1800
	    && c.client_min_data_rate == 500, "%ld %ld", c.client_idle_limit,
	    c.client_min_data_rate);
	T_CASE("default timeouts", c.client_timeout == 300 && c.upstream_timeout == 300
	    && c.upstream_connect_timeout == 30, "wrong");
	T_CASE("default tls_ktls yes", c.tls_ktls == 1, "%d", c.tls_ktls);
	T_CASE("default TLS session cache on, 1024 entries", c.tls_session_cache == 1
	    && c.tls_session_cache_size == 1024, "%d %ld", c.tls_session_cache,
	    c.tls_session_cache_size);
	T_CASE("default upstream connection cache: 2s, 64 in all, 4 per destination",
	    c.upstream_cache_time == 2 && c.upstream_cache_size == 100
	    && c.upstream_cache_per_dest == 20, "%ld %ld %ld", c.upstream_cache_time,
	    c.upstream_cache_size, c.upstream_cache_per_dest);
	T_CASE("default mode enforce, no floor, no table, servers off",
	    c.mode == MODE_ENFORCE && !c.require_tls && !c.policy_table[0]
	    && !c.socketmap_listen[0] && !c.metrics_listen[0], "mode=%d", c.mode);
	T_CASE("default selftest_at_start no", c.selftest_at_start == 0, "%d",
	    c.selftest_at_start);
	T_CASE("default canary_domains: wrong.havedane.net",
	    strcmp(c.canary_domains, "wrong.havedane.net") == 0, "%s", c.canary_domains);
	cfg_free(&c);
}

/* selftest_keys - selftest_at_start, and canary_domains: a list in any
 * separators and case, one space apart, lower case, printed back */
static void
selftest_keys(void)
{
	static const char text[] = "selftest_at_start = yes\n"
	    "canary_domains = Wrong.HaveDANE.net,  b.example.\n\tc.example\n";
	struct config c, c2;
	char err[512], *out = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	cfg_defaults(&c);
	rc = cfg_parse(&c, "t.cf", text, sizeof(text) - 1, err, sizeof(err));
	T_CASE("selftest_at_start yes", rc == 0 && c.selftest_at_start == 1, "rc %d %s", rc,
	    err);
	T_CASE("canary_domains: commas, blanks, a continuation, case and a final dot",
	    rc == 0 && strcmp(c.canary_domains, "wrong.havedane.net b.example c.example") == 0,
	    "\"%s\"", c.canary_domains);
	if ((fp = open_memstream(&out, &len)) != NULL) {
		cfg_print(&c, fp);
		fclose(fp);
	}
	T_CASE("canary_domains and selftest_at_start printed", out
	    && strstr(out, "\ncanary_domains = wrong.havedane.net b.example c.example\n")
	    && strstr(out, "\nselftest_at_start = yes\n"), "%s", out ? out : "(none)");
	cfg_defaults(&c2);
	rc = out ? cfg_parse(&c2, "p.cf", out, len, err, sizeof(err)) : -1;
	T_CASE("... and parsed back the same", rc == 0 && c2.selftest_at_start == 1
	    && strcmp(c2.canary_domains, c.canary_domains) == 0, "rc %d %s", rc, err);
	cfg_free(&c2);
	cfg_free(&c);
	cfg_defaults(&c);
	rc = cfg_parse(&c, "t.cf", "canary_domains =\n", 17, err, sizeof(err));
	T_CASE("canary_domains empty: none", rc == 0 && c.canary_domains[0] == 0, "rc %d %s",
	    rc, err);
	cfg_free(&c);
	free(out);
}

/* Every word of every word-valued key, with the value it stands for. */
static const struct word_case {
	const char *key;
	const struct cfg_word *table;
	const char *word;
	int value;
} word_cases[] = {
	{"mx_mismatch", cfg_mx_mismatch_words, "auto", MX_AUTO},
	{"mx_mismatch", cfg_mx_mismatch_words, "reroute", MX_REROUTE},
	{"mx_mismatch", cfg_mx_mismatch_words, "pass", MX_PASS},
	{"mx_mismatch", cfg_mx_mismatch_words, "refuse", MX_REFUSE},
	{"journal_fsync", cfg_journal_fsync_words, "interval", JOURNAL_FSYNC_INTERVAL},
	{"journal_fsync", cfg_journal_fsync_words, "always", JOURNAL_FSYNC_ALWAYS},
	{"mode", cfg_mode_words, "enforce", MODE_ENFORCE},
	{"mode", cfg_mode_words, "report-only", MODE_REPORT_ONLY},
	{"log_format", cfg_log_format_words, "text", LOG_FORMAT_TEXT},
	{"log_format", cfg_log_format_words, "json", LOG_FORMAT_JSON},
};

#define NWORD_CASES (sizeof(word_cases) / sizeof(word_cases[0]))

/* word_value - the field of a word-valued key */
static int
word_value(const struct config *c, const char *key)
{
	return strcmp(key, "mx_mismatch") == 0 ? c->mx_mismatch
	    : strcmp(key, "mode") == 0 ? c->mode
	    : strcmp(key, "log_format") == 0 ? c->log_format : c->journal_fsync;
}

/* word_listed - a table entry is one of word_cases */
static int
word_listed(const struct cfg_word *table, const struct cfg_word *w)
{
	for (size_t i = 0; i < NWORD_CASES; i++)
		if (word_cases[i].table == table && strcmp(word_cases[i].word, w->name) == 0
		    && word_cases[i].value == w->value)
			return 1;
	return 0;
}

static void
words(void)
{
	const struct cfg_word *tables[] = {cfg_mx_mismatch_words, cfg_journal_fsync_words,
	    cfg_mode_words, cfg_log_format_words};
	size_t ntable = 0;

	for (size_t i = 0; i < NWORD_CASES; i++) {
		const struct word_case *wc = &word_cases[i];
		char text[128], line[128], name[160], err[512] = "";
		char *out = NULL;
		size_t outlen = 0;
		FILE *fp;
		struct config c;
		int rc;

		snprintf(text, sizeof(text), "%s = %s\n", wc->key, wc->word);
		cfg_defaults(&c);
		rc = cfg_parse(&c, "w.cf", text, strlen(text), err, sizeof(err));
		snprintf(name, sizeof(name), "%s = %s parses to its value", wc->key, wc->word);
		T_CASE(name, rc == 0 && word_value(&c, wc->key) == wc->value,
		    "rc=%d err=%s value=%d want %d", rc, err, word_value(&c, wc->key), wc->value);
		fp = open_memstream(&out, &outlen);
		cfg_print(&c, fp);		/* what mxtlsd -n prints */
		fclose(fp);
		snprintf(line, sizeof(line), "\n%s = %s\n", wc->key, wc->word);
		snprintf(name, sizeof(name), "%s = %s prints back the same", wc->key, wc->word);
		T_CASE(name, out && strstr(out, line) != NULL, "no line \"%s\"", line + 1);
		snprintf(name, sizeof(name), "%s: cfg_word_str(%d) is %s", wc->key, wc->value,
		    wc->word);
		T_CASE(name, cfg_word_str(wc->table, wc->value)
		    && strcmp(cfg_word_str(wc->table, wc->value), wc->word) == 0, "%s",
		    cfg_word_str(wc->table, wc->value));
		free(out);
		cfg_free(&c);
	}
	/* ... and the tables hold no word the cases above do not pin. */
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct cfg_word *w = tables[t]; w->name; w++) {
			char name[160];

			snprintf(name, sizeof(name), "table word %s has its case", w->name);
			T_CASE(name, word_listed(tables[t], w), "word %s=%d not tested",
			    w->name, w->value);
			ntable++;
		}
	T_CASE("every word of every table tested", ntable == NWORD_CASES, "%zu words, %zu cases",
	    ntable, NWORD_CASES);
	T_CASE("cfg_word_str of no word is NULL", cfg_word_str(cfg_mx_mismatch_words, 99) == NULL,
	    "not NULL");
}

/* read_and_name - cfg_read's missing default file, and the default host name */
static void
read_and_name(void)
{
	struct config c;
	char err[512] = "", host[256];
	int rc;

	rc = cfg_read(&c, "/nonexistent/mxtls.conf", 0, err, sizeof(err));
	T_CASE("missing default file: defaults", rc == 0 && c.max_sessions == 1000,
	    "rc=%d err=%s", rc, err);
	cfg_hostname(&c, host, sizeof(host));
	T_CASE("default host name is mxtls.<host>", strncmp(host, "mxtls.", 6) == 0
	    && host[6] != 0, "%s", host);
	cfg_free(&c);
	rc = cfg_read(&c, "/nonexistent/mxtls.conf", 1, err, sizeof(err));
	T_CASE("missing given file: an error", rc == -1
	    && strstr(err, "/nonexistent/mxtls.conf: cannot open"), "rc=%d err=%s", rc, err);
	cfg_free(&c);
	cfg_defaults(&c);
	free(c.myhostname);
	c.myhostname = strdup("mx.example.net");
	cfg_hostname(&c, host, sizeof(host));
	T_CASE("myhostname is the host name", strcmp(host, "mx.example.net") == 0, "%s", host);
	cfg_free(&c);
}

static void
hostile(void)
{
	/* A 1 MiB line, a file of continuations, and a missing file. */
	size_t n = 1024 * 1024;
	char *big = malloc(n + 32), err[512] = "";
	struct config c;
	int rc;

	memcpy(big, "myhostname = ", 13);
	memset(big + 13, 'a', n - 13);
	big[n] = '\n';
	cfg_defaults(&c);
	rc = cfg_parse(&c, "big.cf", big, n + 1, err, sizeof(err));
	T_CASE("1 MiB line refused", rc == -1 && strstr(err, "big.cf:1: line longer than 4096"),
	    "rc=%d err=%s", rc, err);
	cfg_free(&c);

	memcpy(big, "listen = 127.0.0.1:1\n", 21);
	for (size_t i = 21; i < n; i++)
		big[i] = (i % 2) ? ' ' : 'x';
	big[n - 1] = '\n';
	cfg_defaults(&c);
	rc = cfg_parse(&c, "cont.cf", big, n, err, sizeof(err));
	T_CASE("endless continuation refused", rc == -1 && strstr(err, "longer than 4096"),
	    "rc=%d err=%s", rc, err);
	cfg_free(&c);
	free(big);

	cfg_defaults(&c);
	rc = cfg_load(&c, "/nonexistent/mxtls.conf", err, sizeof(err));
	T_CASE("missing file named", rc == -1 && strstr(err, "/nonexistent/mxtls.conf: cannot open"),
	    "err=%s", err);
	cfg_free(&c);
	cfg_defaults(&c);
	rc = cfg_load(&c, "/", err, sizeof(err));
	T_CASE("directory refused", rc == -1 && strstr(err, "not a regular file"), "err=%s", err);
	cfg_free(&c);
}

int
main(void)
{
	T_INIT("config");
	bad_files();
	gateway_id();
	sts_cache();
	good_file();
	defaults();
	selftest_keys();
	words();
	read_and_name();
	hostile();
	return t_done();
}
