/*
 * conf.c - the configuration of mxtlsd and mxtls-report, pure: text in,
 *	struct out, and printed back.  See conf.h; conf_load.c reads files.
 *
 * The keys live in one table (cfg_keys): name, type, where the value
 * goes, the default as text, and bounds or, for a word-valued key, its
 * words.  Each type of value has one setter (kinds[], indexed by the
 * type).  Defaults are set by parsing the default text, so defaults, the
 * file and `mxtlsd -n' share one code path.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "dname.h"
#include "hex.h"

enum cfg_type { T_LISTEN, T_STR, T_HOST, T_LONG, T_TIME, T_SIZE, T_BOOL, T_MARK,
	T_RESOLVER, T_CHOICE, T_SOCKET, T_QUEUE, T_WORKERS, T_DOMAINS, T_GWID, T_STSCACHE, T_NTYPES };

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;
	const char *def;
	long min, max;
	const struct cfg_word *words;	/* T_CHOICE: name <-> value */
};

/* The words of the word-valued keys, and what each means. */
const struct cfg_word cfg_mx_mismatch_words[] = {
	{"auto", MX_AUTO}, {"reroute", MX_REROUTE}, {"pass", MX_PASS},
	{"refuse", MX_REFUSE}, {NULL, 0}
};
const struct cfg_word cfg_mode_words[] = {
	{"enforce", MODE_ENFORCE}, {"report-only", MODE_REPORT_ONLY}, {NULL, 0}
};
const struct cfg_word cfg_upstream_source_words[] = {
	{"gateway", SOURCE_GATEWAY}, {"client", SOURCE_CLIENT}, {NULL, 0}
};
const struct cfg_word cfg_journal_fsync_words[] = {
	{"interval", JOURNAL_FSYNC_INTERVAL}, {"always", JOURNAL_FSYNC_ALWAYS},
	{NULL, 0}
};
const struct cfg_word cfg_log_format_words[] = {
	{"text", LOG_FORMAT_TEXT}, {"json", LOG_FORMAT_JSON}, {NULL, 0}
};

#define O(f) offsetof(struct config, f)

static const struct cfg_key cfg_keys[] = {
	{"listen", T_LISTEN, O(listen), "127.0.0.1:10025 [::1]:10025", 0, 0, NULL},
	{"myhostname", T_HOST, O(myhostname), "", 0, 0, NULL},
	{"workers", T_WORKERS, O(workers), "auto", 1, CFG_MAX_WORKERS, NULL},
	{"max_sessions", T_LONG, O(max_sessions), "1000", 1, 1000000, NULL},
	{"client_timeout", T_TIME, O(client_timeout), "300s", 1, 86400, NULL},
	{"client_idle_limit", T_TIME, O(client_idle_limit), "30m", 0, 604800, NULL},
	{"client_min_data_rate", T_LONG, O(client_min_data_rate), "500", 0, 1000000000, NULL},
	{"upstream_connect_timeout", T_TIME, O(upstream_connect_timeout), "30s", 1, 3600, NULL},
	{"upstream_timeout", T_TIME, O(upstream_timeout), "300s", 1, 86400, NULL},
	{"shutdown_timeout", T_TIME, O(shutdown_timeout), "60s", 0, 86400, NULL},
	{"message_size_limit", T_SIZE, O(message_size_limit), "0", 0, 0, NULL},
	{"client_tls_cert_file", T_STR, O(client_tls_cert_file), "", 0, 0, NULL},
	{"client_tls_key_file", T_STR, O(client_tls_key_file), "", 0, 0, NULL},
	{"offer_client_starttls", T_BOOL, O(offer_client_starttls), "yes", 0, 0, NULL},
	{"upstream_mark", T_MARK, O(upstream_mark), "0", 0, 0, NULL},
	{"upstream_source", T_CHOICE, O(upstream_source), "gateway", 0, 0, cfg_upstream_source_words},
	{"dns_watch_queue", T_QUEUE, O(dns_watch_queue), "", 0, 65535, NULL},
	{"user", T_STR, O(user), "mxtls", 0, 0, NULL},
	{"dns_resolver", T_RESOLVER, O(dns_resolver), "recursive", 0, 0, NULL},
	{"dns_trust_anchor_file", T_STR, O(dns_trust_anchor_file), "/usr/share/dns/root.key", 0, 0, NULL},
	{"dns_root_hints_file", T_STR, O(dns_root_hints_file), "", 0, 0, NULL},
	{"mx_mismatch", T_CHOICE, O(mx_mismatch), "auto", 0, 0, cfg_mx_mismatch_words},
	{"tls_ca_file", T_STR, O(tls_ca_file), "/etc/ssl/certs/ca-certificates.crt", 0, 0, NULL},
	{"tls_session_cache", T_BOOL, O(tls_session_cache), "yes", 0, 0, NULL},
	{"tls_session_cache_size", T_LONG, O(tls_session_cache_size), "1024", 1, 1000000, NULL},
	{"tls_ktls", T_BOOL, O(tls_ktls), "yes", 0, 0, NULL},
	{"upstream_cache_time", T_TIME, O(upstream_cache_time), "2s", 0, 3600, NULL},
	{"upstream_cache_size", T_LONG, O(upstream_cache_size), "100", 1, 100000, NULL},
	{"upstream_cache_per_dest", T_LONG, O(upstream_cache_per_dest), "20", 1, 100000, NULL},
	{"sts_cache_dir", T_STR, O(sts_cache_dir), "/var/lib/mxtls/sts", 0, 0, NULL},
	{"sts_cache", T_STSCACHE, O(sts_cache), "disk", 0, 0, NULL},
	{"sts_cache_redis_password_file", T_STR, O(sts_cache_redis_password_file), "", 0, 0,
	    NULL},
	{"sts_cache_redis_timeout", T_TIME, O(sts_cache_redis_timeout), "1s", 1, 60, NULL},
	{"strict_testing", T_BOOL, O(strict_testing), "no", 0, 0, NULL},
	{"policy_table", T_STR, O(policy_table), "", 0, 0, NULL},
	{"mode", T_CHOICE, O(mode), "enforce", 0, 0, cfg_mode_words},
	{"require_tls", T_BOOL, O(require_tls), "no", 0, 0, NULL},
	{"socketmap_listen", T_SOCKET, O(socketmap_listen), "", 1, 0, NULL},
	{"metrics_listen", T_SOCKET, O(metrics_listen), "", 0, 0, NULL},
	{"sts_fetch_timeout", T_TIME, O(sts_fetch_timeout), "30s", 1, 300, NULL},
	{"sts_negative_ttl", T_TIME, O(sts_negative_ttl), "5m", 0, 86400, NULL},
	{"sts_refresh_before", T_TIME, O(sts_refresh_before), "1d", 0, 31557600, NULL},
	{"tls_required_enable", T_BOOL, O(tls_required_enable), "yes", 0, 0, NULL},
	{"journal_dir", T_STR, O(journal_dir), "/var/lib/mxtls/journal", 0, 0, NULL},
	{"journal_fsync", T_CHOICE, O(journal_fsync), "interval", 0, 0, cfg_journal_fsync_words},
	{"journal_flush_interval", T_TIME, O(journal_flush_interval), "1s", 1, 3600, NULL},
	{"journal_required", T_BOOL, O(journal_required), "no", 0, 0, NULL},
	{"journal_keep_days", T_LONG, O(journal_keep_days), "31", 1, 36500, NULL},
	{"gateway_id", T_GWID, O(gateway_id), "", 0, CFG_GATEWAY_ID_MAX, NULL},
	{"report_organization", T_STR, O(report_organization), "", 0, 0, NULL},
	{"report_contact", T_STR, O(report_contact), "", 0, 0, NULL},
	{"report_submitter", T_HOST, O(report_submitter), "", 0, 0, NULL},
	{"report_sender", T_STR, O(report_sender), "", 0, 0, NULL},
	{"report_state_dir", T_STR, O(report_state_dir), "/var/lib/mxtls/reports", 0, 0, NULL},
	{"report_mail_command", T_STR, O(report_mail_command), "/usr/sbin/sendmail -t -i", 0, 0, NULL},
	{"report_http_timeout", T_TIME, O(report_http_timeout), "60s", 1, 3600, NULL},
	{"log_format", T_CHOICE, O(log_format), "text", 0, 0, cfg_log_format_words},
	{"selftest_at_start", T_BOOL, O(selftest_at_start), "no", 0, 0, NULL},
	{"canary_domains", T_DOMAINS, O(canary_domains), CFG_CANARY_DEFAULT, 0, CFG_MAX_CANARY,
	    NULL},
};

#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* Where a value comes from, and where its error goes. */
struct where {
	const char *file;
	int line;
	char *err;
	size_t errlen;
};

/* cfg_err - format an error message */
static int
cfg_err(char *err, size_t errlen, const char *file, int line,
    const char *key, const char *fmt, const char *arg)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, arg ? arg : "");
	if (line > 0 && key)
		snprintf(err, errlen, "%s:%d: %s: %s", file, line, key, why);
	else if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", file, line, why);
	else
		snprintf(err, errlen, "%s: %s", file, why);
	return -1;
}

/* cfg_parse_endpoint - ADDR:PORT, [ADDR6]:PORT, optional tproxy: prefix */
int
cfg_parse_endpoint(const char *s, struct cfg_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (strncmp(s, "tproxy:", 7) == 0) {
		ep->tproxy = 1;
		s += 7;
	}
	return addr_parse(s, &ep->addr, &ep->addrlen);
}

/* cfg_endpoint_str - the text form of an endpoint */
void
cfg_endpoint_str(const struct cfg_endpoint *ep, char *buf, size_t len)
{
	char host[ADDR_STRLEN];

	addr_host_str(&ep->addr, host, sizeof(host));
	snprintf(buf, len, "%s%s:%u", ep->tproxy ? "tproxy:" : "", host,
	    addr_port(&ep->addr));
}

/* cfg_parse_socket - where a server listens: ADDR:PORT, [ADDR6]:PORT,
 * and with unix_ok also inet:ADDR:PORT or unix:/PATH (Postfix's forms) */
int
cfg_parse_socket(const char *s, int unix_ok, struct cfg_socket *so)
{
	memset(so, 0, sizeof(*so));
	if (unix_ok && strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *) &so->addr;

		if (s[5] != '/' || strlen(s + 5) >= sizeof(un->sun_path))
			return -1;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, s + 5, strlen(s + 5) + 1);
		so->addrlen = (socklen_t) sizeof(*un);
		so->is_unix = 1;
		return 0;
	}
	if (unix_ok && strncmp(s, "inet:", 5) == 0)
		s += 5;
	return addr_parse(s, &so->addr, &so->addrlen);
}

static int parse_u64(const char *s, int base, uint64_t *out, const char **end);

/* cfg_parse_sts_cache - disk, redis://HOST[:PORT][/DB] or
 * unix:/PATH[?db=DB] */
int
cfg_parse_sts_cache(const char *s, struct cfg_sts_cache *sc, const char **why)
{
	const char *p, *end, *db = NULL;
	uint64_t v;

	memset(sc, 0, sizeof(*sc));
	sc->port = 6379;
	*why = NULL;
	if (strcmp(s, "disk") == 0)
		return 0;
	sc->kind = CFG_STS_REDIS;
	if (strncmp(s, "rediss://", 9) == 0) {
		*why = "rediss:// (TLS to Redis) is not supported: Debian 12's hiredis 0.14 "
		    "has no TLS; use a unix: socket, or a TLS tunnel to the Redis host";
		return -1;
	}
	if (strncmp(s, "unix:", 5) == 0) {
		size_t n;

		p = s + 5;
		if ((end = strchr(p, '?')) != NULL) {
			if (strncmp(end, "?db=", 4) != 0) {
				*why = "expected unix:/PATH or unix:/PATH?db=N";
				return -1;
			}
			db = end + 4;
		} else
			end = p + strlen(p);
		n = (size_t) (end - p);
		if (p[0] != '/' || n >= sizeof(sc->path)) {
			*why = "unix: needs an absolute path of at most 107 bytes";
			return -1;
		}
		memcpy(sc->path, p, n);
		sc->path[n] = 0;
		sc->is_unix = 1;
	} else if (strncmp(s, "redis://", 8) == 0) {
		const char *hend, *port = NULL;
		size_t n;

		p = s + 8;
		end = p + strcspn(p, "/");
		if (memchr(p, '@', (size_t) (end - p))) {
			*why = "no password in the URL: sts_cache_redis_password_file names a "
			    "file with it";
			return -1;
		}
		if (*p == '[') {
			if ((hend = memchr(p, ']', (size_t) (end - p))) == NULL) {
				*why = "an IPv6 address needs its closing ]";
				return -1;
			}
			p++;
			if (hend + 1 < end && hend[1] != ':') {
				*why = "expected [IPv6]:PORT";
				return -1;
			}
			port = hend + 1 < end ? hend + 2 : NULL;
		} else {
			hend = memchr(p, ':', (size_t) (end - p));
			if (hend)
				port = hend + 1;
			else
				hend = end;
		}
		n = (size_t) (hend - p);
		if (n == 0 || n >= sizeof(sc->host)) {
			*why = "expected redis://HOST[:PORT][/DB]";
			return -1;
		}
		memcpy(sc->host, p, n);
		sc->host[n] = 0;
		{
			unsigned char a[16];

			if (inet_pton(AF_INET6, sc->host, a) != 1 && (s[8] == '['
				|| !dname_host_ok(sc->host, n))) {
				*why = "the host is not a host name or an IP address";
				return -1;
			}
		}
		if (port) {
			const char *pe;
			char tmp[8];
			size_t pl = (size_t) (end - port);

			if (pl == 0 || pl >= sizeof(tmp)) {
				*why = "bad port";
				return -1;
			}
			memcpy(tmp, port, pl);
			tmp[pl] = 0;
			if (parse_u64(tmp, 10, &v, &pe) < 0 || *pe || v == 0 || v > 65535) {
				*why = "bad port";
				return -1;
			}
			sc->port = (unsigned) v;
		}
		if (*end == '/' && end[1])
			db = end + 1;
	} else {
		*why = "expected disk, redis://HOST[:PORT][/DB] or unix:/PATH[?db=N]";
		return -1;
	}
	if (db) {
		const char *de;

		if (parse_u64(db, 10, &v, &de) < 0 || *de || v > 1000000) {
			*why = "bad database number";
			return -1;
		}
		sc->db = (long) v;
	}
	return 0;
}

/* valid_hostname - a host name, or empty */
static int
valid_hostname(const char *s)
{
	return s[0] == 0 || dname_host_ok(s, strlen(s));
}

/* parse_u64 - digits only, overflow checked */
static int
parse_u64(const char *s, int base, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;
	int d;

	/* hex_val() is a decimal digit's value too; base 10 takes only those */
	for (; (d = hex_val((unsigned char) *p)) >= 0 && d < base; p++) {
		if (v > (UINT64_MAX - (unsigned) d) / (unsigned) base)
			return -1;
		v = v * (unsigned) base + (unsigned) d;
	}
	if (p == s)
		return -1;
	*out = v;
	*end = p;
	return 0;
}

/* bad - an error about the value of key k */
static int
bad(const struct where *w, const struct cfg_key *k, const char *fmt,
    const char *arg)
{
	return cfg_err(w->err, w->errlen, w->file, w->line, k->name, fmt, arg);
}

/* field - where the value of key k goes */
static void *
field(struct config *c, const struct cfg_key *k)
{
	return (char *) c + k->off;
}

/* set_listen - one or more endpoints, no two the same */
static int
set_listen(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	char tmp[CFG_MAX_LINE];
	char *save = NULL, *tok;
	int n = 0;

	snprintf(tmp, sizeof(tmp), "%s", val);
	for (tok = strtok_r(tmp, " \t,", &save); tok;
	    tok = strtok_r(NULL, " \t,", &save)) {
		if (n >= CFG_MAX_LISTEN)
			return bad(w, k, "more than 16 addresses%s", NULL);
		if (cfg_parse_endpoint(tok, &c->listen[n]) < 0)
			return bad(w, k, "bad address \"%s\": expected ADDR:PORT, "
			    "[ADDR6]:PORT or tproxy:ADDR:PORT", tok);
		for (int i = 0; i < n; i++)
			if (addr_same(&c->listen[i].addr, &c->listen[n].addr))
				return bad(w, k, "address \"%s\" listed twice", tok);
		n++;
	}
	if (n == 0)
		return bad(w, k, "at least one address is required%s", NULL);
	c->nlisten = n;
	return 0;
}

/* set_choice - one of the key's words */
static int
set_choice(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	char words[200] = "", why[CFG_MAX_LINE + 260];
	const struct cfg_word *cw;

	for (cw = k->words; cw->name; cw++)
		if (strcmp(val, cw->name) == 0) {
			*(int *) field(c, k) = cw->value;
			return 0;
		}
	for (cw = k->words; cw->name; cw++)
		snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s",
		    cw == k->words ? "" : cw[1].name ? ", " : " or ", cw->name);
	snprintf(why, sizeof(why), "\"%s\": expected %s", val, words);
	return bad(w, k, "%s", why);
}

/* store_str - a copy of val in the key's string */
static int
store_str(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	char **dst = field(c, k);
	char *copy = strdup(val);

	if (copy == NULL)
		return bad(w, k, "out of memory%s", NULL);
	free(*dst);
	*dst = copy;
	return 0;
}

/* set_socket - empty (off), or a place to listen */
static int
set_socket(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	struct cfg_socket so;

	if (val[0] && cfg_parse_socket(val, k->min != 0, &so) < 0)
		return bad(w, k, k->min ? "bad address \"%s\": expected inet:ADDR:PORT, "
		    "inet:[ADDR6]:PORT or unix:/PATH" : "bad address \"%s\": expected "
		    "ADDR:PORT or [ADDR6]:PORT", val);
	return store_str(c, k, val, w);
}

/* set_resolver - recursive, none, or forward:ADDR[@PORT][,...] */
static int
set_resolver(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	char tmp[CFG_MAX_LINE];
	char *save = NULL, *tok;
	int n = 0;

	if (strcmp(val, "recursive") == 0 || strcmp(val, "none") == 0)
		return store_str(c, k, val, w);
	if (strncmp(val, "forward:", 8) != 0)
		return bad(w, k, "\"%s\": expected recursive, forward:ADDR[,ADDR...] "
		    "or none", val);
	snprintf(tmp, sizeof(tmp), "%s", val + 8);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned char a[16];
		char host[64];
		char *at;

		snprintf(host, sizeof(host), "%s", tok);
		if ((at = strchr(host, '@')) != NULL)	/* ADDR@PORT, as unbound */
			*at = 0;
		if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
			return bad(w, k, "\"%s\" is not an IP address", tok);
		n++;
	}
	if (n == 0)
		return bad(w, k, "forward: needs at least one address%s", NULL);
	return store_str(c, k, val, w);
}

/* set_host - a host name, or empty */
static int
set_host(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	if (!valid_hostname(val))
		return bad(w, k, "\"%s\" is not a valid host name", val);
	return store_str(c, k, val, w);
}

/* set_gwid - a gateway id: printable ASCII, no white space, at most
 * k->max bytes; empty: the system's host name (cfg_gateway_id()) */
static int
set_gwid(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	for (const char *p = val; *p; p++)
		if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
			return bad(w, k, "\"%s\": printable ASCII without white space only", val);
	if (strlen(val) > (size_t) k->max)
		return bad(w, k, "longer than " CFG_GATEWAY_ID_MAX_STR " bytes%s", "");
	return store_str(c, k, val, w);
}

/* set_sts_cache - disk or a Redis URL (cfg_parse_sts_cache()) */
static int
set_sts_cache(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	struct cfg_sts_cache sc;
	const char *why;

	if (cfg_parse_sts_cache(val, &sc, &why) < 0)
		return bad(w, k, "%s", why);
	return store_str(c, k, val, w);
}

/* set_bool - yes or no */
static int
set_bool(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	int *dst = field(c, k);

	if (strcmp(val, "yes") == 0)
		*dst = 1;
	else if (strcmp(val, "no") == 0)
		*dst = 0;
	else
		return bad(w, k, "\"%s\": expected yes or no", val);
	return 0;
}

/* set_long - a decimal number within the key's bounds */
static int
set_long(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	uint64_t v;
	const char *end;
	char why[64];

	if (parse_u64(val, 10, &v, &end) < 0 || *end
	    || v < (uint64_t) k->min || v > (uint64_t) k->max) {
		snprintf(why, sizeof(why), "expected a number from %ld to %ld",
		    k->min, k->max);
		return bad(w, k, "%s", why);
	}
	*(long *) field(c, k) = (long) v;
	return 0;
}

/* A number with an optional one-letter unit, and what to say when it is
 * not one. */
struct unit {
	char letter;
	uint64_t mul;
};

struct scaled {
	const struct unit *units;	/* ends with letter 0 */
	const char *not_number;		/* "%s": the value */
	const char *bad_unit;
	const char *trailing;
};

static const struct unit time_units[] = {
	{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {0, 0}
};
static const struct unit size_units[] = {
	{'k', 1024}, {'K', 1024}, {'m', 1024 * 1024}, {'M', 1024 * 1024},
	{'g', 1024 * 1024 * 1024}, {'G', 1024 * 1024 * 1024}, {0, 0}
};
static const struct scaled time_value = {time_units,
	"\"%s\": expected a time such as 300s, 5m, 1h or 1d",
	"\"%s\": unit must be s, m, h or d",
	"\"%s\": expected a time such as 300s, 5m, 1h or 1d"};
static const struct scaled size_value = {size_units,
	"\"%s\": expected a size in bytes (k, m, g suffixes allowed)",
	"\"%s\": unit must be k, m or g",
	"\"%s\": expected a size in bytes"};

/* parse_scaled - digits, then at most one unit letter: v and its unit */
static int
parse_scaled(const char *val, const struct scaled *sc, const struct cfg_key *k,
    const struct where *w, uint64_t *v, uint64_t *mul)
{
	const struct unit *u;
	const char *end;

	*mul = 1;
	if (parse_u64(val, 10, v, &end) < 0)
		return bad(w, k, sc->not_number, val);
	if (*end == 0)
		return 0;
	for (u = sc->units; u->letter && u->letter != *end; u++)
		;
	if (u->letter == 0)
		return bad(w, k, sc->bad_unit, val);
	if (end[1])
		return bad(w, k, sc->trailing, val);
	*mul = u->mul;
	return 0;
}

/* set_time - seconds, with s, m, h or d, within the key's bounds */
static int
set_time(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	uint64_t v, mul;
	char why[96];

	if (parse_scaled(val, &time_value, k, w, &v, &mul) < 0)
		return -1;
	if (v > (uint64_t) k->max / mul || v * mul < (uint64_t) k->min) {
		snprintf(why, sizeof(why), "\"%.20s\": must be from %lds to %lds",
		    val, k->min, k->max);
		return bad(w, k, "%s", why);
	}
	*(long *) field(c, k) = (long) (v * mul);
	return 0;
}

/* set_size - bytes, with k, m or g */
static int
set_size(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	uint64_t v, mul;

	if (parse_scaled(val, &size_value, k, w, &v, &mul) < 0)
		return -1;
	if (v > (UINT64_MAX >> 2) / mul)
		return bad(w, k, "\"%s\": too large", val);
	*(uint64_t *) field(c, k) = v * mul;
	return 0;
}

/* set_queue - empty (off, -1), or a netfilter queue number */
static int
set_queue(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	if (val[0] == 0) {
		*(long *) field(c, k) = -1;
		return 0;
	}
	if (set_long(c, k, val, w) < 0)
		return bad(w, k, "\"%s\": expected an NFQUEUE number from 0 to 65535, "
		    "or nothing (off)", val);
	return 0;
}

/* set_workers - auto (0: the number of CPUs, chosen by mxtlsd), or 1..max */
static int
set_workers(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	if (strcmp(val, "auto") == 0) {
		*(long *) field(c, k) = 0;
		return 0;
	}
	if (set_long(c, k, val, w) < 0)
		return bad(w, k, "\"%s\": expected auto (the number of CPUs) or a "
		    "number of processes from 1 to " CFG_MAX_WORKERS_STR, val);
	return 0;
}

/* set_mark - a 32-bit number, decimal or 0x hex */
static int
set_mark(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	uint64_t v;
	const char *end;

	if (strncmp(val, "0x", 2) == 0 || strncmp(val, "0X", 2) == 0) {
		if (parse_u64(val + 2, 16, &v, &end) < 0 || *end)
			v = UINT64_MAX;
	} else if (parse_u64(val, 10, &v, &end) < 0 || *end) {
		v = UINT64_MAX;
	}
	if (v > 0xffffffffu)
		return bad(w, k, "\"%s\": expected a 32-bit number (decimal or 0x hex)", val);
	*(uint32_t *) field(c, k) = (uint32_t) v;
	return 0;
}

/* set_domains - domain names, separated by white space or commas, at
 * most k->max; stored as one space between each two */
static int
set_domains(struct config *c, const struct cfg_key *k, const char *val,
    const struct where *w)
{
	char tmp[CFG_MAX_LINE], out[CFG_MAX_LINE] = "", name[300];
	char *save = NULL, *tok;
	long n = 0;
	size_t o = 0;

	snprintf(tmp, sizeof(tmp), "%s", val);
	for (tok = strtok_r(tmp, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (strlen(tok) >= sizeof(name))
			return bad(w, k, "\"%.256s\" is not a domain name", tok);
		dname_norm(name, sizeof(name), tok);	/* lower case, no final dot */
		if (!dname_host_ok(name, strlen(name)))
			return bad(w, k, "\"%.256s\" is not a domain name", tok);
		if (++n > k->max)
			return bad(w, k, "more than " CFG_MAX_CANARY_STR " domains%s", NULL);
		o += (size_t) snprintf(out + o, sizeof(out) - o, "%s%s", o ? " " : "", name);
	}
	return store_str(c, k, out, w);
}

/* How each type of value is parsed, and whether the field is a string of
 * its own (cfg_free() frees it). */
static const struct cfg_kind {
	int (*set)(struct config *, const struct cfg_key *, const char *,
	    const struct where *);
	int owns_str;
} kinds[] = {
	[T_LISTEN] = {set_listen, 0},
	[T_STR] = {store_str, 1},
	[T_HOST] = {set_host, 1},
	[T_LONG] = {set_long, 0},
	[T_TIME] = {set_time, 0},
	[T_SIZE] = {set_size, 0},
	[T_BOOL] = {set_bool, 0},
	[T_MARK] = {set_mark, 0},
	[T_RESOLVER] = {set_resolver, 1},
	[T_CHOICE] = {set_choice, 0},
	[T_SOCKET] = {set_socket, 1},
	[T_QUEUE] = {set_queue, 0},
	[T_WORKERS] = {set_workers, 0},
	[T_DOMAINS] = {set_domains, 1},
	[T_GWID] = {set_gwid, 1},
	[T_STSCACHE] = {set_sts_cache, 1},
};

_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == T_NTYPES,
    "every type of value has its entry in kinds[]");

/* set_value - parse one value into the struct */
static int
set_value(struct config *c, const struct cfg_key *k, const char *val,
    const char *file, int line, char *err, size_t errlen)
{
	const struct where w = {file, line, err, errlen};

	if (k->type >= T_NTYPES || kinds[k->type].set == NULL)
		return bad(&w, k, "internal error%s", NULL);
	return kinds[k->type].set(c, k, val, &w);
}

/* cfg_word_str - the word of a value, or NULL */
const char *
cfg_word_str(const struct cfg_word *words, int value)
{
	for (; words->name; words++)
		if (words->value == value)
			return words->name;
	return NULL;
}

/* cfg_defaults - every key at its default */
void
cfg_defaults(struct config *c)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (set_value(c, &cfg_keys[i], cfg_keys[i].def, "defaults", 0,
			err, sizeof(err)) < 0)
			abort();		/* a bad default is a build bug */
}

/* cfg_free - release strings */
void
cfg_free(struct config *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (kinds[cfg_keys[i].type].owns_str) {
			char **p = field(c, &cfg_keys[i]);

			free(*p);
			*p = NULL;
		}
}

/* cfg_apply - one logical line `key = value' */
static int
cfg_apply(struct config *c, char *text, const char *file, int line,
    int *seen, char *err, size_t errlen)
{
	char *eq, *key, *val, *e;
	const struct cfg_key *k = NULL;

	if ((eq = strchr(text, '=')) == NULL)
		return cfg_err(err, errlen, file, line, NULL,
		    "missing '=' (expected key = value)%s", NULL);
	*eq = 0;
	key = text;
	val = eq + 1;
	while (*key == ' ' || *key == '\t')
		key++;
	for (e = key + strlen(key); e > key && (e[-1] == ' ' || e[-1] == '\t'); e--)
		*(e - 1) = 0;
	while (*val == ' ' || *val == '\t')
		val++;
	for (e = val + strlen(val); e > val && (e[-1] == ' ' || e[-1] == '\t'); e--)
		*(e - 1) = 0;
	if (*key == 0)
		return cfg_err(err, errlen, file, line, NULL, "missing key before '='%s", NULL);
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].name, key) == 0) {
			k = &cfg_keys[i];
			if (seen[i]) {
				char prev[16];

				snprintf(prev, sizeof(prev), "%d", seen[i]);
				return cfg_err(err, errlen, file, line, key,
				    "already set at line %s", prev);
			}
			seen[i] = line;
			break;
		}
	if (k == NULL) {
		for (char *p = key; *p; p++)
			if (!isprint((unsigned char) *p))
				*p = '?';
		return cfg_err(err, errlen, file, line, NULL, "unknown key \"%s\"", key);
	}
	return set_value(c, k, val, file, line, err, errlen);
}

/* seen_line - the line that set a key, else a fallback */
static int
seen_line(const int *seen, const char *name, int fallback)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].name, name) == 0 && seen[i])
			return seen[i];
	return fallback;
}

/* has_tproxy - is one of the listeners a TPROXY one? */
static int
has_tproxy(const struct config *c)
{
	for (int i = 0; i < c->nlisten; i++)
		if (c->listen[i].tproxy)
			return 1;
	return 0;
}

/* cfg_parse - parse a whole file's text over the defaults in c */
int
cfg_parse(struct config *c, const char *file, const char *text, size_t len,
    char *err, size_t errlen)
{
	char logical[CFG_MAX_LINE + 1];
	size_t llen = 0;
	int lstart = 0, lineno = 0;
	int seen[NKEYS] = {0};
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;
		const char *ln = text + pos;
		size_t i = 0;

		lineno++;
		pos += n + (nl ? 1 : 0);
		if (n > 0 && ln[n - 1] == '\r')
			n--;
		if (memchr(ln, 0, n))
			return cfg_err(err, errlen, file, lineno, NULL,
			    "NUL byte in line%s", NULL);
		for (size_t j = 0; j < n; j++)
			if ((unsigned char) ln[j] < 0x20 && ln[j] != '\t')
				return cfg_err(err, errlen, file, lineno, NULL,
				    "control character in line%s", NULL);
		while (i < n && (ln[i] == ' ' || ln[i] == '\t'))
			i++;
		if (i == n || ln[i] == '#')
			continue;			/* blank or comment */
		if (i > 0) {				/* continuation */
			if (llen == 0)
				return cfg_err(err, errlen, file, lineno, NULL,
				    "continuation line without a preceding key = value line%s",
				    NULL);
			if (llen + 1 + (n - i) > CFG_MAX_LINE)
				return cfg_err(err, errlen, file, lstart, NULL,
				    "logical line longer than 4096 bytes%s", NULL);
			logical[llen++] = ' ';
			memcpy(logical + llen, ln + i, n - i);
			llen += n - i;
			continue;
		}
		if (llen > 0) {
			logical[llen] = 0;
			if (cfg_apply(c, logical, file, lstart, seen, err, errlen) < 0)
				return -1;
		}
		if (n > CFG_MAX_LINE)
			return cfg_err(err, errlen, file, lineno, NULL,
			    "line longer than 4096 bytes%s", NULL);
		memcpy(logical, ln, n);
		llen = n;
		lstart = lineno;
	}
	if (llen > 0) {
		logical[llen] = 0;
		if (cfg_apply(c, logical, file, lstart, seen, err, errlen) < 0)
			return -1;
	}
	if (c->upstream_source == SOURCE_CLIENT && !has_tproxy(c))
		return cfg_err(err, errlen, file, seen_line(seen, "upstream_source", lineno),
		    "upstream_source", "client needs a tproxy: address in listen (the old "
		    "MTA's address is known only to a TPROXY listener)%s", NULL);
	if (c->workers > 1 && c->dns_watch_queue >= 0)
		return cfg_err(err, errlen, file, seen_line(seen, "workers", lineno),
		    "workers", "must be 1 (or auto) with dns_watch_queue: one process "
		    "binds the NFQUEUE and learns the hints its sessions use%s", NULL);
	if (c->client_tls_cert_file[0] && !c->client_tls_key_file[0])
		return cfg_err(err, errlen, file, seen_line(seen, "client_tls_key_file", lineno),
		    "client_tls_key_file", "must be set when client_tls_cert_file is%s", NULL);
	if (!c->client_tls_cert_file[0] && c->client_tls_key_file[0])
		return cfg_err(err, errlen, file, seen_line(seen, "client_tls_cert_file", lineno),
		    "client_tls_cert_file", "must be set when client_tls_key_file is%s", NULL);
	return 0;
}

/* cfg_print - every key with its effective value */
void
cfg_print(const struct config *c, FILE *fp)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const void *src = (const char *) c + k->off;
		const char *word;

		fprintf(fp, "%s =", k->name);
		switch (k->type) {
		case T_LISTEN:
			for (int j = 0; j < c->nlisten; j++) {
				char ep[INET6_ADDRSTRLEN + 32];

				cfg_endpoint_str(&c->listen[j], ep, sizeof(ep));
				fprintf(fp, " %s", ep);
			}
			break;
		case T_CHOICE:
			word = cfg_word_str(k->words, *(const int *) src);
			fprintf(fp, " %s", word ? word : "?");
			break;
		case T_STR:
		case T_HOST:
		case T_RESOLVER:
		case T_SOCKET:
		case T_DOMAINS:
		case T_GWID:
		case T_STSCACHE:
			if (**(char *const *) src)
				fprintf(fp, " %s", *(char *const *) src);
			break;
		case T_BOOL:
			fprintf(fp, " %s", *(const int *) src ? "yes" : "no");
			break;
		case T_LONG:
			fprintf(fp, " %ld", *(const long *) src);
			break;
		case T_WORKERS:
			if (*(const long *) src == 0)
				fprintf(fp, " auto");
			else
				fprintf(fp, " %ld", *(const long *) src);
			break;
		case T_QUEUE:
			if (*(const long *) src >= 0)
				fprintf(fp, " %ld", *(const long *) src);
			break;
		case T_TIME:
			fprintf(fp, " %lds", *(const long *) src);
			break;
		case T_SIZE:
			fprintf(fp, " %llu", (unsigned long long) *(const uint64_t *) src);
			break;
		case T_MARK:
			fprintf(fp, " 0x%x", (unsigned) *(const uint32_t *) src);
			break;
		case T_NTYPES:
			break;
		}
		fputc('\n', fp);
	}
}
