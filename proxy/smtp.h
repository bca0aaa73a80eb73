/*
 * smtp.h - pure SMTP parsers shared by both sides of the proxy.
 *
 * SYNOPSIS
 *	int smtp_getline(const char *p, size_t n, size_t max, size_t *linelen,
 *		size_t *consumed);
 *	int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);
 *	int smtp_path_parse(const char *args, int kind, struct smtp_path *path,
 *		const char **why);
 *	void smtp_reply_init(struct smtp_reply *r);
 *	int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len);
 *	void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e);
 *	int smtp_eod_scan(struct smtp_eod *st, const char *p, size_t n,
 *		size_t *used);
 *	int smtp_valid_hostname(const char *s, size_t n);
 *	int smtp_tls_required_no(const char *msg, size_t n);
 *
 * DESCRIPTION
 *	smtp_getline() finds one line ending in LF (CR before it is
 *	stripped from *linelen) in p[0..n).  It returns SMTP_LINE_OK,
 *	SMTP_LINE_NEED (no LF yet and fewer than max bytes) or
 *	SMTP_LINE_LONG (max bytes without LF: the caller discards input up
 *	to the next LF and answers 500 5.5.2).  max counts the CRLF, so
 *	1000 implements RFC 5321 section 4.5.3.1.4 exactly.
 *
 *	smtp_cmd_parse() splits a command line into a verb and arguments.
 *	smtp_path_parse() parses `FROM:<path> params' (kind SMTP_MAIL) or
 *	`TO:<path> params' (SMTP_RCPT): the path, its domain, and up to
 *	SMTP_MAX_PARAMS ESMTP parameters.  It returns 0, -1 (syntax), or
 *	SMTP_PATH_BADADDR when the address holds an octet RFC 5321 never
 *	allows there: a control character, quoted or not (qtextSMTP and
 *	quoted-pairSMTP are %d32-126); the caller answers 501 5.1.7 (MAIL)
 *	or 501 5.1.3 (RCPT).  smtp_cmd_parse() refuses (SMTP_BAD) a line
 *	with NUL or a CR in it: smtp_getline() strips the CR of CRLF, so any
 *	CR left is bare, and a server that ends lines at bare CR would read
 *	a second command there.
 *
 *	smtp_reply_feed() accumulates one reply line at a time and returns
 *	SMTP_REPLY_MORE, SMTP_REPLY_DONE, or SMTP_REPLY_BAD (not a reply
 *	line, code changed between lines, too many lines, a NUL or a bare CR
 *	in the line).  The reply keeps
 *	its lines (without code) for relaying and logging.
 *
 *	smtp_ehlo_parse() reads the extension keywords of an EHLO reply.
 *
 *	smtp_eod_scan() walks DATA bytes looking for the end of data.  One
 *	rule covers every way a server may split lines (CRLF, bare LF, bare
 *	CR): a `.' with CR or LF on both sides is the end of data only as
 *	CR LF . CR LF; any other such dot (CR LF . LF, LF . CR LF, CR . CR LF,
 *	CR LF . CR x, ...) is SMTP_EOD_BARE, smuggling: some server would end
 *	the data there and read what follows as commands.  Bare CR and LF
 *	elsewhere in a line pass as they are.  It returns SMTP_EOD_END
 *	(used counts through the final LF), SMTP_EOD_BARE (used stops before
 *	the octet after the dot, so no server ever sees that line end: the
 *	caller forwards nothing more and ends the session), or SMTP_EOD_MORE:
 *	used <= n octets are data that may be forwarded; the rest (at most
 *	the `.' and a CR after it) cannot be judged until more arrives, and
 *	must be passed again, first, with the next octets.
 *
 *	smtp_tls_required_no() says whether the header section of a message
 *	(DATA bytes as sent: CRLF or LF lines, dot-stuffed) has a
 *	`TLS-Required: No' field (RFC 8689 5: the name and the value are
 *	case-insensitive; white space and folding around the value are
 *	allowed).  The header section ends at the first empty line (or the
 *	end of data); a line that is neither a field nor a continuation
 *	ends it too, as RFC 5322 has no such line.  Returns 1 or 0.
 *
 * DIAGNOSTICS
 *	The parsers never read beyond the given length and never allocate.
 */
#ifndef MXTLS_SMTP_H
#define MXTLS_SMTP_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_LINE_MAX	1000		/* RFC 5321 command line, with CRLF */
#define SMTP_PATH_MAX	512		/* RFC 5321 says 256; be generous */
#define SMTP_MAX_PARAMS	16
#define SMTP_REPLY_MAX_LINES 64
#define SMTP_REPLY_MAX_TEXT 4096

enum { SMTP_LINE_OK, SMTP_LINE_NEED, SMTP_LINE_LONG };

enum smtp_verb {
	SMTP_UNKNOWN, SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA,
	SMTP_RSET, SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP,
	SMTP_STARTTLS, SMTP_BDAT, SMTP_AUTH, SMTP_ETRN, SMTP_BAD
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *args;		/* after the verb and spaces; NUL ended */
	size_t argslen;
};

struct smtp_param {
	char key[32];
	char value[128];
	int has_value;
};

struct smtp_path {
	char addr[SMTP_PATH_MAX];	/* without < >; empty for <> */
	size_t domain_off;		/* domain = addr + domain_off ("" if none) */
	struct smtp_param params[SMTP_MAX_PARAMS];
	int nparams;
	int utf8;			/* addr has octets >= 0x80 */
};

struct smtp_reply {
	int code;			/* 0 until the first line */
	int done;
	int nlines;
	char text[SMTP_REPLY_MAX_TEXT];	/* lines without code, LF separated */
	size_t textlen;
	char enh[16];			/* enhanced status of line 1, or "" */
};

struct smtp_ehlo {
	int starttls, pipelining, eightbitmime, smtputf8, size, enhanced;
	int chunking, dsn;
	uint64_t size_limit;		/* 0: none given */
	char name[256];			/* the server's name from line 1 */
};

struct smtp_eod {
	int prev2, prev;		/* the last two octets taken */
};

enum { SMTP_REPLY_MORE, SMTP_REPLY_DONE, SMTP_REPLY_BAD };
enum { SMTP_EOD_MORE, SMTP_EOD_END, SMTP_EOD_BARE };
enum { SMTP_KIND_MAIL, SMTP_KIND_RCPT };

int smtp_getline(const char *p, size_t n, size_t max, size_t *linelen,
    size_t *consumed);
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);
int smtp_path_parse(const char *args, int kind, struct smtp_path *path,
    const char **why);
#define SMTP_PATH_BADADDR (-2)		/* the address itself is malformed */
/* smtp_path_domain - the domain of a path, or "" (safe after copies) */
static inline const char *
smtp_path_domain(const struct smtp_path *p)
{
	return p->addr + p->domain_off;
}

const struct smtp_param *smtp_param_find(const struct smtp_path *p,
    const char *key);
void smtp_reply_init(struct smtp_reply *r);
int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len);
const char *smtp_reply_line1(const struct smtp_reply *r, char *buf, size_t len);
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e);
void smtp_eod_init(struct smtp_eod *st);
int smtp_eod_scan(struct smtp_eod *st, const char *p, size_t n, size_t *used);
int smtp_valid_hostname(const char *s, size_t n);
int smtp_tls_required_no(const char *msg, size_t n);
const char *smtp_verb_str(enum smtp_verb v);

#endif
