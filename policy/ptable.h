/*
 * ptable.h - the admin's TLS policy table, in the syntax and with the
 * level names of Postfix's smtp_tls_policy_maps (TLS_README, "TLS policy
 * table").  Pure: text in, a table out; lookups.
 *
 * SYNOPSIS
 *	int ptable_parse(struct ptable *t, const char *file, const char *text,
 *		size_t len, char *err, size_t errlen);
 *	const struct ptab_entry *ptable_find(const struct ptable *t,
 *		const char *domain);
 *	const struct ptab_entry *ptable_find_dest(const struct ptable *t,
 *		const char *host, unsigned port);
 *	void ptable_free(struct ptable *t);
 *	int ptab_entry_dup(struct ptab_entry *dst,
 *		const struct ptab_entry *src);
 *	void ptab_entry_free(struct ptab_entry *e);
 *	const char *ptab_level_str(enum ptab_level l);
 *	int ptab_level_parse(const char *s, size_t len, enum ptab_level *l);
 *
 * DESCRIPTION
 *	ptable_parse() reads a table as postmap(1) does: a logical line is a
 *	line that starts with non-blank text and every following line that
 *	starts with blank space; blank lines and lines whose first non-blank
 *	octet is `#' are comments.  A logical line is `KEY LEVEL [ATTR=VALUE
 *	...]', where KEY is
 *		example.com		that domain
 *		.example.com		its subdomains (not itself)
 *		[192.0.2.25]		a destination address or host, the
 *		[mx.example.com]:25	port too when given (an old MTA that
 *		[2001:db8::1]:25	relays to a fixed smart host)
 *	in any case (kept in lower case, one trailing dot dropped), and LEVEL
 *	one of none, may, encrypt, dane, dane-only, fingerprint, verify,
 *	secure.  Attributes:
 *		match=		fingerprint: SHA-256 digests (64 hex digits,
 *				`:' between octets or not), `|'-separated;
 *				verify, secure: names, `:'-separated, each a
 *				host name, `.domain' (its subdomains),
 *				`hostname', `nexthop' or `dot-nexthop'.
 *				Several match= add up.  Defaults as Postfix:
 *				verify `hostname', secure `nexthop:dot-nexthop'.
 *		protocols=	`:' or `,'-separated: `!TLSv1', `TLSv1.2',
 *				`>=TLSv1.2', `<=TLSv1.3' (SSLv2 ... TLSv1.3)
 *		ciphers=	a grade (export, low, medium, high, null) or
 *				an OpenSSL cipher list (checked when used)
 *		tafile=		an absolute path (verify, secure)
 *		servername=	`hostname' or a host name
 *		mode=		enforce or report-only (mxtls's own)
 *	Each attribute at most once but match=.  The whole text is checked:
 *	the first error is returned as `FILE:LINE: reason' and nothing of the
 *	table is kept.  A key twice is an error (Postfix keeps the first and
 *	warns).  Lines are at most PTAB_LINE_MAX octets; a NUL is an error.
 *
 *	ptable_find() is the entry for a domain (any case, one trailing dot):
 *	the domain's own key, else the nearest `.parent' key, walking up one
 *	label at a time; NULL when none.  ptable_find_dest() is the entry of
 *	`[host]:port', else `[host]' (host an address in any text form, or a
 *	name); NULL when none.  Both are O(1) on average (one hash probe a
 *	key tried).
 *
 *	ptab_entry_dup() is a deep copy of one entry, for whatever must
 *	outlive the table (a reload replaces it); ptab_entry_free() frees
 *	what a copy holds.
 *
 * DIAGNOSTICS
 *	ptab_entry_dup() returns -1 when out of memory (dst then empty).
 *	ptable_parse() returns 0, or -1 with err set (and t empty).
 */
#ifndef MXTLS_PTABLE_H
#define MXTLS_PTABLE_H

#include <stddef.h>
#include <stdint.h>

#define PTAB_LINE_MAX	8192		/* a logical line, octets */
#define PTAB_FP_MAX	16		/* digests in one entry */
#define PTAB_MATCH_MAX	16		/* names in one entry */

enum ptab_level {
	PTAB_NONE, PTAB_MAY, PTAB_ENCRYPT, PTAB_DANE, PTAB_DANE_ONLY,
	PTAB_FINGERPRINT, PTAB_VERIFY, PTAB_SECURE, PTAB_NLEVELS
};

enum ptab_kind {
	PTAB_DOMAIN,			/* example.com */
	PTAB_SUBDOMAINS,		/* .example.com */
	PTAB_DEST			/* [host] or [host]:port */
};

/* TLS protocol versions, in order; a protocols= range is [min, max]. */
enum ptab_proto { PTAB_SSLV2, PTAB_SSLV3, PTAB_TLSV1, PTAB_TLSV1_1, PTAB_TLSV1_2,
	PTAB_TLSV1_3, PTAB_NPROTOS };

struct ptab_entry {
	char *key;			/* normalised: example.com, .example.com,
					 * [192.0.2.25], [2001:db8::1]:25 */
	enum ptab_kind kind;
	enum ptab_level level;
	int report_only;		/* mode=report-only */
	int line;			/* where it was read */
	int nfp;
	uint8_t fp[PTAB_FP_MAX][32];	/* fingerprint: SHA-256 digests */
	int nmatch;
	char *match[PTAB_MATCH_MAX];	/* verify, secure: names (lower case) */
	int protocols;			/* protocols= given */
	unsigned proto_ok;		/* bit (1 << enum ptab_proto): allowed */
	char *ciphers;			/* NULL: the default */
	char *tafile;			/* NULL: none */
	char *servername;		/* NULL: none */
};

struct ptab_slot {
	uint64_t h;			/* the key's hash */
	size_t i;			/* entry index + 1; 0: free */
};

struct ptable {
	struct ptab_entry *e;
	size_t n;
	struct ptab_slot *slot;		/* open addressing, linear probing */
	size_t cap;			/* power of 2, at least 2 * n */
};

int ptable_parse(struct ptable *t, const char *file, const char *text, size_t len,
    char *err, size_t errlen);
const struct ptab_entry *ptable_find(const struct ptable *t, const char *domain);
const struct ptab_entry *ptable_find_dest(const struct ptable *t, const char *host,
    unsigned port);
void ptable_free(struct ptable *t);
int ptab_entry_dup(struct ptab_entry *dst, const struct ptab_entry *src);
void ptab_entry_free(struct ptab_entry *e);
const char *ptab_level_str(enum ptab_level l);
int ptab_level_parse(const char *s, size_t len, enum ptab_level *l);

#endif
