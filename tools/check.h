/*
 * check.h - mxtls-check's pure part: what one domain's lookups, route
 * and handshakes come to, as text lines and as JSON.
 *
 * SYNOPSIS
 *	int chk_orig_of(const struct plan *p, struct sockaddr_storage *o);
 *	int chk_parse_dest(const char *s, struct sockaddr_storage *ss);
 *	void chk_cand_word(const struct plan *p, const struct route *rt,
 *		int i, char *buf, size_t len);
 *	void chk_txt_add(struct chk_txt *t, const unsigned char *rd,
 *		size_t len);
 *	void chk_txt_parse(struct chk_txt *t);
 *	int chk_deliverable(const struct chk *k);
 *	enum chk_canary chk_canary(const struct chk *k);
 *	const char *chk_canary_str(enum chk_canary v);
 *	void chk_print(const struct chk *k, FILE *fp);
 *	cJSON *chk_json(const struct chk *k);
 *
 * DESCRIPTION
 *	struct chk holds everything mxtls-check found for a domain: the plan
 *	(plan.h), the destination the route was built for, the options and
 *	table entry it was built with, the route (route.h), what the MTA-STS
 *	cache directory of mxtlsd holds for the domain (read, never
 *	written), and with --connect one struct chk_conn per candidate it
 *	connected to.  Nothing here reads a clock, a file or a socket:
 *	k->now is the time the cache ages are counted from.
 *
 *	chk_orig_of() is the destination an old MTA that resolved the MX
 *	itself connects to: the first address of the first MX host that
 *	has one, port 25; -1 (o zeroed) when no host has an address.
 *
 *	chk_parse_dest() reads --dest: ADDR, ADDR:PORT, [ADDR6] or
 *	[ADDR6]:PORT, or a bare IPv6 address; port 25 when none is given;
 *	0, or -1 for anything else.
 *
 *	chk_cand_word() is the verdict of candidate i of rt, one word and a
 *	note: `dane', `sts-enforce', `sts-testing', `encrypt' (DANE without
 *	usable records, or require_tls's floor), `table:LEVEL' (the route
 *	level a table entry gave), `opportunistic', or `refuse: REASON' for
 *	a candidate mxtlsd lists but does not connect to (DANE lookups
 *	failed, dane-only without usable TLSA, no mx pattern of an enforced
 *	MTA-STS policy).  Under report-only a refused candidate reads
 *	`opportunistic (report-only: would refuse: REASON)'.
 *
 *	chk_txt_add() adds one TXT record's rdata to t (at most CHK_TXT_MAX
 *	records): its character strings joined, cut at CHK_TXT_LEN - 1
 *	octets, the octets as they are (NUL too: rec[i] has len[i] octets
 *	and a NUL after them), a string whose length runs past the end
 *	dropped with what follows: as stsget.c reads the record, so that
 *	chk_txt_parse() says what mxtlsd says.  The text and JSON show
 *	control and non-ASCII octets as `?'.
 *	chk_txt_parse() fills t->ok, t->id and t->why from t->rec[] with
 *	sts_txt_parse(), as mxtlsd reads the record; an answer that is bogus
 *	or indeterminate (t->sec) is a failed lookup whatever it holds.
 *
 *	chk_deliverable() is 1 when mxtlsd would try to deliver: the route's
 *	verdict is ROUTE_TRY and some candidate is connected to (with
 *	k->connect: and some handshake reached the ready state), else 0.
 *
 *	chk_canary() is what --canary says of a domain broken on purpose
 *	(after --connect's handshakes): CHK_CANARY_DELIVER when mxtlsd would
 *	deliver (chk_deliverable()), CHK_CANARY_REFUSED when it would not
 *	and every reason is a policy one (a route verdict with a result
 *	type, a candidate not connected to for policy, a handshake that
 *	failed with a result type), else CHK_CANARY_UNPROVEN (lookups that
 *	failed without a result type, a TCP or SMTP failure, a null MX):
 *	mxtlsd would not deliver, but not because policy refused.
 *	chk_canary_str() is its word: `DELIVER', `refuse', `unproven'.
 *
 *	chk_print() writes the report as text lines (mxtls-check(8),
 *	OUTPUT); chk_json() builds the --json object (mxtls-check(8), JSON;
 *	CHK_JSON_VERSION), NULL when out of memory.
 */
#ifndef MXTLS_CHECK_H
#define MXTLS_CHECK_H

#include <stdio.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../policy/plan.h"
#include "../policy/ptable.h"
#include "../policy/route.h"
#include "../policy/sts.h"

#define CHK_JSON_VERSION	1
#define CHK_CHAIN_MAX		8

struct chk_cert {			/* one certificate of a peer's chain */
	char subject[256];
	char issuer[256];
	char names[256];		/* subjectAltName DNS names, `,'-separated */
	time_t not_after;		/* 0: unknown */
};

struct chk_conn {			/* one --connect handshake */
	int cand;			/* index into the route's candidates */
	int ok;				/* reached the ready state after EHLO */
	enum route_level level;
	char peer[384];			/* name[addr]:port */
	int tls, verified, plain_retry;
	char tls_version[32];
	char tlsinfo[160];
	char match[128];		/* the TLSA record or name that matched */
	char why[768];			/* a failure's reason */
	char enh[16];			/* its enhanced status code */
	char rcode[64];			/* OpenSSL's verify error, when any */
	enum rtype rtype;		/* a failure's RFC 8460 type */
	enum rtype soft_rtype;		/* noted only (testing, report-only) */
	struct chk_cert chain[CHK_CHAIN_MAX];
	int nchain;
};

enum chk_cache_use {			/* the cache the lookups used */
	CHK_CACHE_MEMORY,		/* no sts_cache_dir: memory only */
	CHK_CACHE_COPY,			/* a private copy of mxtlsd's entry */
	CHK_CACHE_FRESH			/* --fresh: an empty private cache */
};

struct chk_cache {			/* mxtlsd's cache file for the domain */
	const char *dir;		/* sts_cache_dir, "" when none */
	char path[1400];
	int present;			/* the file exists and parsed */
	char error[1700];		/* it exists but cannot be used */
	int unreadable;			/* error: reading it failed (else: it
					 * does not parse, and mxtlsd drops it) */
	struct sts_entry e;
	long refresh_before;		/* sts_refresh_before */
	enum chk_cache_use use;
	/* sts_cache = redis...: the fleet's entry, read only */
	const char *shared;		/* the URL; NULL with sts_cache = disk */
	enum { CHK_SHARED_NONE, CHK_SHARED_ENTRY, CHK_SHARED_ERROR } shared_state;
	char shared_error[512];		/* unreachable, refused, does not parse */
	struct sts_entry se;		/* CHK_SHARED_ENTRY */
};

#define CHK_TXT_MAX	8
#define CHK_TXT_LEN	512

struct chk_txt {			/* the _mta-sts TXT RRset, as published */
	int done;			/* looked up */
	enum dns_sec sec;
	int n;
	char rec[CHK_TXT_MAX][CHK_TXT_LEN];	/* strings joined, cut at
					 * CHK_TXT_LEN - 1, octets as sent */
	size_t len[CHK_TXT_MAX];
	int ok;				/* sts_txt_parse() found one */
	char id[STS_ID_MAX + 1];
	const char *why;		/* its reason when not ok */
};

struct chk {
	const char *domain;
	const struct plan *plan;
	int sts_looked_up;		/* 0: dns_resolver = none */
	struct chk_txt txt;
	struct sockaddr_storage dest;	/* orig of the route */
	int dest_given;			/* --dest, not the first MX address */
	const char *table_file;		/* policy_table, "" when none */
	const struct ptab_entry *tab;	/* the entry that applies, or NULL */
	struct route_opts opts;
	const struct route *rt;
	struct chk_cache cache;
	int connect;			/* --connect was asked */
	struct chk_conn conns[ROUTE_MAX];
	int nconns;
	time_t now;
};

int chk_orig_of(const struct plan *p, struct sockaddr_storage *o);
int chk_parse_dest(const char *s, struct sockaddr_storage *ss);
void chk_cand_word(const struct plan *p, const struct route *rt, int i,
    char *buf, size_t len);
void chk_txt_add(struct chk_txt *t, const unsigned char *rd, size_t len);
void chk_txt_parse(struct chk_txt *t);
int chk_deliverable(const struct chk *k);

enum chk_canary { CHK_CANARY_DELIVER, CHK_CANARY_REFUSED, CHK_CANARY_UNPROVEN };

enum chk_canary chk_canary(const struct chk *k);
const char *chk_canary_str(enum chk_canary v);
void chk_print(const struct chk *k, FILE *fp);
cJSON *chk_json(const struct chk *k);

#endif
