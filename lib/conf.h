/*
 * conf.h - mxtls.conf, shared by mxtlsd and mxtls-report: keys, defaults,
 *	parser, printer.
 *
 * SYNOPSIS
 *	void cfg_defaults(struct config *c);
 *	int cfg_parse(struct config *c, const char *file, const char *text,
 *		size_t len, char *err, size_t errlen);
 *	int cfg_load(struct config *c, const char *file, char *err,
 *		size_t errlen);
 *	int cfg_read(struct config *c, const char *file, int given,
 *		char *err, size_t errlen);
 *	void cfg_hostname(const struct config *c, char *buf, size_t len);
 *	void cfg_gateway_id(const struct config *c, char *buf, size_t len);
 *	void cfg_print(const struct config *c, FILE *fp);
 *	void cfg_free(struct config *c);
 *	int cfg_parse_endpoint(const char *s, struct cfg_endpoint *ep);
 *	int cfg_parse_socket(const char *s, int unix_ok,
 *		struct cfg_socket *so);
 *	int cfg_parse_sts_cache(const char *s, struct cfg_sts_cache *sc,
 *		const char **why);
 *	void cfg_endpoint_str(const struct cfg_endpoint *ep, char *buf,
 *		size_t len);
 *	const char *cfg_word_str(const struct cfg_word *words, int value);
 *	extern const struct cfg_word cfg_mx_mismatch_words[];
 *	extern const struct cfg_word cfg_mode_words[];
 *	extern const struct cfg_word cfg_upstream_source_words[];
 *	extern const struct cfg_word cfg_journal_fsync_words[];
 *	extern const struct cfg_word cfg_log_format_words[];
 *
 * DESCRIPTION
 *	The file is `key = value' lines in the style of Postfix's main.cf:
 *	lines whose first non-blank character is `#' are comments, blank
 *	lines are ignored, and a line that starts with white space continues
 *	the previous one.  Every key has a default (cfg_defaults()); the
 *	file overrides them.  cfg_parse() is pure: text in, struct out.
 *	cfg_load() reads a file (at most CFG_MAX_FILE bytes) and parses it.
 *	cfg_read() is how both programs start: the defaults, then the file
 *	(CFG_DEFAULT_FILE unless one was given); a default file that does
 *	not exist means all defaults, a given one is an error.
 *	cfg_hostname() is the name mxtlsd greets with and mxtls-report
 *	submits under: myhostname, or `mxtls.' and the system's host name
 *	(never the system's own: an MTA on this host would see a loop).
 *	cfg_gateway_id() is the gateway's name in its journal records
 *	(gateway_id, else the system's host name cut at the first
 *	character gateway_id could not hold, at most CFG_GATEWAY_ID_MAX
 *	bytes, "localhost" when there is none).
 *	cfg_print() writes every key with its effective value, in the same
 *	syntax, so that its output parses back to the same configuration.
 *
 *	cfg_parse_socket() reads where a server of mxtlsd listens (the
 *	socketmap, with unix_ok: Postfix's inet:ADDR:PORT and unix:/PATH
 *	too; the metrics: ADDR:PORT or [ADDR6]:PORT); -1 when it is none.
 *
 *	cfg_parse_sts_cache() reads sts_cache: `disk', or a Redis server
 *	that gateways share (policy/stsredis.h): redis://HOST[:PORT][/DB]
 *	(HOST a name, an IPv4 address or [IPv6]; port 6379, database 0 by
 *	default) or unix:/PATH[?db=DB].  -1 with a reason otherwise; a
 *	password in the URL is refused (sts_cache_redis_password_file), and
 *	so is rediss:// (TLS to Redis: Debian 12's hiredis 0.14 has none).
 *
 *	canary_domains (mxtls-check --canary) is a list of host names,
 *	separated by white space or commas in the file, kept lower case
 *	without a final dot and one space apart (at most CFG_MAX_CANARY).
 *
 *	A word-valued key (mx_mismatch, mode, journal_fsync, log_format) maps its words to
 *	values through a table of struct cfg_word, ended by a NULL name;
 *	cfg_word_str() is the word of a value (NULL when none has it).  The
 *	enums of those values are here, where the words are.
 *
 * DIAGNOSTICS
 *	cfg_parse(), cfg_load() and cfg_read() return 0 on success, and -1
 *	with a message `FILE:LINE: key: reason' (or `FILE: reason') in err.
 *	The struct is then left with defaults plus whatever parsed before
 *	the error; callers discard it.
 */
#ifndef MXTLS_CONF_H
#define MXTLS_CONF_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CFG_MAX_LISTEN	16
#define CFG_MAX_WORKERS	256		/* workers = */
#define CFG_MAX_WORKERS_STR "256"
#define CFG_MAX_FILE	(1024 * 1024)
#define CFG_MAX_LINE	4096
#define CFG_DEFAULT_FILE "/etc/mxtls/mxtls.conf"
#define CFG_MAX_CANARY	64		/* canary_domains = */
#define CFG_MAX_CANARY_STR "64"
#define CFG_GATEWAY_ID_MAX	64	/* gateway_id = : bytes */
#define CFG_GATEWAY_ID_MAX_STR "64"
/* mxtls-check --canary: public domains broken on purpose (mxtls-check(8)) */
#define CFG_CANARY_DEFAULT "wrong.havedane.net"

struct cfg_endpoint {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int tproxy;			/* IP_TRANSPARENT listener */
};

enum cfg_sts_cache_kind { CFG_STS_DISK, CFG_STS_REDIS };

struct cfg_sts_cache {			/* sts_cache = */
	int kind;			/* enum cfg_sts_cache_kind */
	int is_unix;
	char host[256];			/* a name or address, no brackets */
	unsigned port;
	char path[108];			/* unix: */
	long db;			/* SELECT */
};

struct cfg_socket {
	struct sockaddr_storage addr;	/* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t addrlen;
	int is_unix;
};

struct config {
	struct cfg_endpoint listen[CFG_MAX_LISTEN];
	int nlisten;
	char *myhostname;		/* empty: the system's host name */
	long workers;			/* processes; 0: auto (the CPUs) */
	long max_sessions;		/* in all workers together */
	long client_timeout;		/* seconds, for one command */
	long client_idle_limit;		/* seconds waiting for commands, in all */
	long client_min_data_rate;	/* bytes/s in DATA; 0: none */
	long upstream_connect_timeout;
	long upstream_timeout;
	long shutdown_timeout;
	uint64_t message_size_limit;	/* 0: no limit of our own */
	char *client_tls_cert_file;
	char *client_tls_key_file;
	int offer_client_starttls;
	uint32_t upstream_mark;		/* 0: none */
	int upstream_source;		/* enum upstream_source */
	long dns_watch_queue;		/* NFQUEUE number; -1: off */
	char *user;			/* empty: keep the starting user */
	char *dns_resolver;		/* recursive, forward:A[,A...], none */
	char *dns_trust_anchor_file;
	char *dns_root_hints_file;
	int mx_mismatch;		/* enum mx_mismatch (policy/route.h) */
	char *tls_ca_file;
	int tls_session_cache;		/* resume TLS sessions towards MX hosts */
	long tls_session_cache_size;	/* ... at most this many */
	int tls_ktls;			/* kernel TLS towards MX hosts, where
					 * the kernel and OpenSSL offer it */
	long upstream_cache_time;	/* idle upstreams kept (s); 0: off */
	long upstream_cache_size;	/* ... at most this many in all */
	long upstream_cache_per_dest;	/* ... and per MX address and port */
	char *sts_cache_dir;
	char *sts_cache;		/* disk, or a Redis URL (cfg_sts_cache) */
	char *sts_cache_redis_password_file;	/* empty: no AUTH */
	long sts_cache_redis_timeout;	/* a slower Redis is down (s) */
	int strict_testing;
	char *policy_table;		/* the admin's table; empty: none */
	int mode;			/* enum cfg_mode */
	int require_tls;		/* never plaintext upstream */
	char *socketmap_listen;		/* empty: off */
	char *metrics_listen;		/* empty: off */
	long sts_fetch_timeout;
	long sts_negative_ttl;
	long sts_refresh_before;
	int tls_required_enable;	/* honour TLS-Required: No (RFC 8689) */
	char *gateway_id;		/* in every journal record; empty: the
					 * system's host name */
	char *journal_dir;		/* one JSON-lines file per UTC day */
	int journal_fsync;		/* enum journal_fsync */
	long journal_flush_interval;
	int journal_required;		/* unrecorded: refuse (4xx) */
	long journal_keep_days;
	char *report_organization;	/* empty: myhostname */
	char *report_contact;		/* empty: postmaster@submitter */
	char *report_submitter;		/* empty: myhostname */
	char *report_sender;		/* From: of report mail; empty: derived */
	char *report_state_dir;		/* what mxtls-report has sent */
	char *report_mail_command;	/* reads a message on stdin */
	long report_http_timeout;
	int log_format;			/* enum log_format: text or JSON lines */
	int selftest_at_start;		/* ExecStartPre: mxtls-check --selftest */
	char *canary_domains;		/* mxtls-check --canary: names, one
					 * space apart; empty: none */
};

/* mx_mismatch: what to do when the original destination is not a
 * validated MX host (policy/route.h). */
enum mx_mismatch { MX_AUTO, MX_REROUTE, MX_PASS, MX_REFUSE };
/* mode: enforce policy, or only record what enforcing would refuse. */
enum cfg_mode { MODE_ENFORCE, MODE_REPORT_ONLY };
/* upstream_source: whose address upstream connections leave from. */
enum upstream_source { SOURCE_GATEWAY, SOURCE_CLIENT };
enum journal_fsync { JOURNAL_FSYNC_INTERVAL, JOURNAL_FSYNC_ALWAYS };
/* log_format: mxtlsd's log lines as text, or as one JSON object each. */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

struct cfg_word {
	const char *name;
	int value;
};

extern const struct cfg_word cfg_mx_mismatch_words[];
extern const struct cfg_word cfg_mode_words[];
extern const struct cfg_word cfg_upstream_source_words[];
extern const struct cfg_word cfg_journal_fsync_words[];
extern const struct cfg_word cfg_log_format_words[];

void cfg_defaults(struct config *c);
int cfg_parse(struct config *c, const char *file, const char *text,
    size_t len, char *err, size_t errlen);
int cfg_load(struct config *c, const char *file, char *err, size_t errlen);
int cfg_read(struct config *c, const char *file, int given, char *err,
    size_t errlen);
void cfg_hostname(const struct config *c, char *buf, size_t len);
void cfg_gateway_id(const struct config *c, char *buf, size_t len);
void cfg_print(const struct config *c, FILE *fp);
void cfg_free(struct config *c);
int cfg_parse_endpoint(const char *s, struct cfg_endpoint *ep);
int cfg_parse_socket(const char *s, int unix_ok, struct cfg_socket *so);
int cfg_parse_sts_cache(const char *s, struct cfg_sts_cache *sc, const char **why);
void cfg_endpoint_str(const struct cfg_endpoint *ep, char *buf, size_t len);
const char *cfg_word_str(const struct cfg_word *words, int value);

#endif
