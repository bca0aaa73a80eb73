/*
 * smtp.c - pure SMTP parsers.  See smtp.h.
 *
 * Lengths are checked as `len - off < need' throughout; nothing here
 * allocates, logs, or reads a clock.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/dname.h"
#include "smtp.h"

/* smtp_getline - one LF-ended line, bounded */
int
smtp_getline(const char *p, size_t n, size_t max, size_t *linelen,
    size_t *consumed)
{
	size_t lim = n < max ? n : max;
	const char *nl = memchr(p, '\n', lim);

	if (nl == NULL)
		return n >= max ? SMTP_LINE_LONG : SMTP_LINE_NEED;
	*consumed = (size_t) (nl - p) + 1;
	*linelen = (size_t) (nl - p);
	if (*linelen > 0 && p[*linelen - 1] == '\r')
		(*linelen)--;
	return SMTP_LINE_OK;
}

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{"HELO", SMTP_HELO}, {"EHLO", SMTP_EHLO}, {"MAIL", SMTP_MAIL},
	{"RCPT", SMTP_RCPT}, {"DATA", SMTP_DATA}, {"RSET", SMTP_RSET},
	{"NOOP", SMTP_NOOP}, {"QUIT", SMTP_QUIT}, {"VRFY", SMTP_VRFY},
	{"EXPN", SMTP_EXPN}, {"HELP", SMTP_HELP}, {"STARTTLS", SMTP_STARTTLS},
	{"BDAT", SMTP_BDAT}, {"AUTH", SMTP_AUTH}, {"ETRN", SMTP_ETRN},
};

/* smtp_verb_str - the verb's name, for logs */
const char *
smtp_verb_str(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (smtp_verbs[i].verb == v)
			return smtp_verbs[i].name;
	return v == SMTP_BAD ? "(bad)" : "(unknown)";
}

/* smtp_cmd_parse - verb and arguments; line must be NUL ended at len */
int
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t vl = 0, i;

	cmd->verb = SMTP_UNKNOWN;
	cmd->args = line + len;
	cmd->argslen = 0;
	if (memchr(line, 0, len) != NULL || memchr(line, '\r', len) != NULL) {
		cmd->verb = SMTP_BAD;
		return -1;
	}
	while (vl < len && line[vl] != ' ' && line[vl] != '\t')
		vl++;
	for (size_t k = 0; k < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); k++)
		if (strlen(smtp_verbs[k].name) == vl
		    && strncasecmp(line, smtp_verbs[k].name, vl) == 0) {
			cmd->verb = smtp_verbs[k].verb;
			break;
		}
	i = vl;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	cmd->args = line + i;
	cmd->argslen = len - i;
	/* Trailing white space is not part of the arguments. */
	while (cmd->argslen > 0 && (cmd->args[cmd->argslen - 1] == ' '
		|| cmd->args[cmd->argslen - 1] == '\t'))
		cmd->argslen--;
	return cmd->verb == SMTP_UNKNOWN ? -1 : 0;
}

/* param_char - may this octet stand in an esmtp-keyword or value? */
static int
param_key_char(unsigned char c)
{
	return isalnum(c) || c == '-';
}

/* path_params - the ESMTP parameters after a path's `>' */
static int
path_params(const char *p, struct smtp_path *path, const char **why)
{
	while (*p) {
		struct smtp_param *prm;
		size_t kl = 0, vl = 0;

		if (*p != ' ') {
			*why = "Syntax: parameters must be separated by spaces";
			return -1;
		}
		while (*p == ' ')
			p++;
		if (*p == 0)
			break;
		if (path->nparams >= SMTP_MAX_PARAMS) {
			*why = "Too many parameters";
			return -1;
		}
		prm = &path->params[path->nparams++];
		prm->key[0] = prm->value[0] = 0;
		prm->has_value = 0;
		while (param_key_char((unsigned char) p[kl]))
			kl++;
		if (kl == 0 || kl >= sizeof(prm->key)) {
			*why = "Syntax: bad parameter name";
			return -1;
		}
		memcpy(prm->key, p, kl);
		prm->key[kl] = 0;
		for (size_t k = 0; k < kl; k++)
			prm->key[k] = (char) toupper((unsigned char) prm->key[k]);
		p += kl;
		if (*p == '=') {
			p++;
			while (p[vl] && p[vl] != ' ') {
				unsigned char c = (unsigned char) p[vl];

				if (c < 0x21 || c == '=' || c == 0x7f) {
					*why = "Syntax: bad parameter value";
					return -1;
				}
				vl++;
			}
			if (vl == 0 || vl >= sizeof(prm->value)) {
				*why = "Syntax: bad parameter value";
				return -1;
			}
			memcpy(prm->value, p, vl);
			prm->value[vl] = 0;
			prm->has_value = 1;
			p += vl;
		} else if (*p && *p != ' ') {
			*why = "Syntax: bad parameter name";
			return -1;
		}
		for (int j = 0; j < path->nparams - 1; j++)
			if (strcmp(path->params[j].key, prm->key) == 0) {
				*why = "Syntax: parameter given twice";
				return -1;
			}
	}
	return 0;
}

/* smtp_path_parse - `FROM:<a@b> K=V ...' or `TO:<a@b> ...' */
int
smtp_path_parse(const char *args, int kind, struct smtp_path *path,
    const char **why)
{
	const char *pfx = kind == SMTP_KIND_MAIL ? "FROM:" : "TO:";
	size_t plen = strlen(pfx);
	const char *p = args, *start;
	size_t alen = 0;
	int inquote = 0;
	const char *at = NULL;

	/* Each field, not the whole 3 KiB struct (a memset per MAIL and RCPT);
	 * path_params() sets each parameter it adds. */
	path->addr[0] = 0;
	path->domain_off = 0;
	path->nparams = 0;
	path->utf8 = 0;
	if (strncasecmp(p, pfx, plen) != 0) {
		*why = kind == SMTP_KIND_MAIL ? "Syntax: MAIL FROM:<address>"
		    : "Syntax: RCPT TO:<address>";
		return -1;
	}
	p += plen;
	while (*p == ' ')			/* tolerated, as Postfix does */
		p++;
	if (*p != '<') {
		*why = "Syntax: the address must be in <>";
		return -1;
	}
	start = ++p;
	for (;; p++) {
		unsigned char c = (unsigned char) *p;

		if (c == 0) {
			*why = "Syntax: missing '>'";
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			/* Never forwarded: a CR here is a second command to a
			 * server that ends lines at bare CR. */
			*why = "Syntax: control character in address";
			return SMTP_PATH_BADADDR;
		}
		if (inquote) {
			if (c == '\\') {
				unsigned char q = (unsigned char) p[1];

				if (q == 0) {
					*why = "Syntax: bad quoting in address";
					return -1;
				}
				if (q < 0x20 || q == 0x7f) {
					*why = "Syntax: control character in address";
					return SMTP_PATH_BADADDR;
				}
				p++;
				continue;
			}
			if (c == '"')
				inquote = 0;
			continue;
		}
		if (c == '"') {
			inquote = 1;
			continue;
		}
		if (c == '>')
			break;
		if (c == '<' || c == ' ') {
			*why = "Syntax: bad character in address";
			return -1;
		}
		if (c == '@')
			at = p;
		if (c >= 0x80)
			path->utf8 = 1;
	}
	alen = (size_t) (p - start);
	if (alen >= sizeof(path->addr)) {
		*why = "Address too long";
		return -1;
	}
	memcpy(path->addr, start, alen);
	path->addr[alen] = 0;
	path->domain_off = alen;		/* "" until an @ is seen */
	for (const char *q = start; q < p; q++)	/* quoted octets count too */
		if ((unsigned char) *q >= 0x80)
			path->utf8 = 1;
	if (alen == 0 && kind == SMTP_KIND_RCPT) {
		*why = "Syntax: empty recipient address";
		return -1;
	}
	if (at) {
		/* The last @ outside quotes; a source route ends before it. */
		path->domain_off = (size_t) (at - start) + 1;
		if (path->addr[path->domain_off] == 0) {
			*why = "Syntax: empty domain";
			return -1;
		}
	}
	p++;					/* past '>' */
	return path_params(p, path, why);
}

/* smtp_param_find - a parameter by (upper case) name */
const struct smtp_param *
smtp_param_find(const struct smtp_path *p, const char *key)
{
	for (int i = 0; i < p->nparams; i++)
		if (strcmp(p->params[i].key, key) == 0)
			return &p->params[i];
	return NULL;
}

/* smtp_reply_init - empty reply */
void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->done = 0;
	r->nlines = 0;
	r->textlen = 0;
	r->text[0] = 0;
	r->enh[0] = 0;
}

/* enh_status - length of an enhanced status code at p, or 0 */
static size_t
enh_status(const char *p, size_t n)
{
	size_t i = 0, parts = 0;

	if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	i = 2;
	parts = 1;
	while (parts < 3) {
		size_t d = 0;

		while (i < n && isdigit((unsigned char) p[i]) && d < 3) {
			i++;
			d++;
		}
		if (d == 0)
			return 0;
		if (++parts < 3) {
			if (i >= n || p[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && p[i] != ' ')
		return 0;
	return i;
}

/* smtp_reply_feed - one reply line (without CRLF) */
int
smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	int code;
	size_t tl;
	const char *t;

	if (r->done)
		smtp_reply_init(r);
	if (len < 3 || !isdigit((unsigned char) line[0])
	    || !isdigit((unsigned char) line[1]) || !isdigit((unsigned char) line[2])
	    || line[0] < '2' || line[0] > '5')
		return SMTP_REPLY_BAD;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return SMTP_REPLY_BAD;
	/* No server means NUL or a bare CR in a reply: a peer that sends
	 * them is not speaking SMTP (other controls are made harmless). */
	if (memchr(line, 0, len) != NULL || memchr(line, '\r', len) != NULL)
		return SMTP_REPLY_BAD;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code)
		return SMTP_REPLY_BAD;
	if (r->nlines >= SMTP_REPLY_MAX_LINES)
		return SMTP_REPLY_BAD;
	r->code = code;
	t = len > 4 ? line + 4 : line + len;
	tl = len > 4 ? len - 4 : 0;
	if (r->nlines == 0) {
		size_t el = enh_status(t, tl);

		if (el > 0 && el < sizeof(r->enh)) {
			memcpy(r->enh, t, el);
			r->enh[el] = 0;
		}
	}
	/* Keep the text, control characters made harmless, within bounds. */
	if (r->nlines > 0 && r->textlen < sizeof(r->text) - 1)
		r->text[r->textlen++] = '\n';
	for (size_t i = 0; i < tl && r->textlen < sizeof(r->text) - 1; i++) {
		unsigned char c = (unsigned char) t[i];

		r->text[r->textlen++] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
	}
	r->text[r->textlen] = 0;
	r->nlines++;
	if (len == 3 || line[3] == ' ') {
		r->done = 1;
		return SMTP_REPLY_DONE;
	}
	return SMTP_REPLY_MORE;
}

/* smtp_reply_line1 - "code text" of the first line, for logs and reasons */
const char *
smtp_reply_line1(const struct smtp_reply *r, char *buf, size_t len)
{
	const char *nl = memchr(r->text, '\n', r->textlen);
	int tl = (int) (nl ? (size_t) (nl - r->text) : r->textlen);

	snprintf(buf, len, "%03d %.*s", r->code, tl, r->text);
	return buf;
}

/* The EHLO keywords we use: each sets its flag; SIZE (off -1) its limit too. */
static const struct ehlo_kw {
	const char *name;
	int off;
} ehlo_kws[] = {
	{"STARTTLS", offsetof(struct smtp_ehlo, starttls)},
	{"PIPELINING", offsetof(struct smtp_ehlo, pipelining)},
	{"8BITMIME", offsetof(struct smtp_ehlo, eightbitmime)},
	{"SMTPUTF8", offsetof(struct smtp_ehlo, smtputf8)},
	{"ENHANCEDSTATUSCODES", offsetof(struct smtp_ehlo, enhanced)},
	{"CHUNKING", offsetof(struct smtp_ehlo, chunking)},
	{"DSN", offsetof(struct smtp_ehlo, dsn)},
	{"SIZE", -1},
};

/* ehlo_kw_find - the keyword p[0..kl) (any case), or NULL */
static const struct ehlo_kw *
ehlo_kw_find(const char *p, size_t kl)
{
	for (size_t i = 0; i < sizeof(ehlo_kws) / sizeof(ehlo_kws[0]); i++)
		if (strlen(ehlo_kws[i].name) == kl && strncasecmp(p, ehlo_kws[i].name, kl) == 0)
			return &ehlo_kws[i];
	return NULL;
}

/* smtp_ehlo_parse - extension keywords of an EHLO reply */
void
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e)
{
	const char *p = r->text, *end = r->text + r->textlen;
	int first = 1;

	memset(e, 0, sizeof(*e));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		const char *le = nl ? nl : end;
		size_t kl = 0;

		while (p + kl < le && p[kl] != ' ' && p[kl] != '=')
			kl++;
		if (first) {
			size_t n = kl < sizeof(e->name) - 1 ? kl : sizeof(e->name) - 1;

			memcpy(e->name, p, n);
			e->name[n] = 0;
			first = 0;
		} else {
			const struct ehlo_kw *k = ehlo_kw_find(p, kl);

			if (k && k->off >= 0)
				*(int *) ((char *) e + k->off) = 1;
			else if (k) {
				const char *v = p + kl;
				uint64_t s = 0;

				e->size = 1;
				while (v < le && *v == ' ')
					v++;
				while (v < le && isdigit((unsigned char) *v)
				    && s < UINT64_MAX / 10 - 10)
					s = s * 10 + (uint64_t) (*v++ - '0');
				e->size_limit = s;
			}
		}
		p = nl ? nl + 1 : end;
	}
}

/* smtp_eod_init - scanning starts at the beginning of a line */
void
smtp_eod_init(struct smtp_eod *st)
{
	st->prev2 = '\r';		/* as if a CRLF came before the data */
	st->prev = '\n';
}

/* is_eol - an octet that some server somewhere takes for a line end */
static int
is_eol(int c)
{
	return c == '\r' || c == '\n';
}

/* eod_keep - the octets before p[k] become the state; p[k..) is kept */
static void
eod_keep(struct smtp_eod *st, const char *p, size_t k)
{
	if (k >= 2) {
		st->prev2 = (unsigned char) p[k - 2];
		st->prev = (unsigned char) p[k - 1];
	} else if (k == 1) {
		st->prev2 = st->prev;
		st->prev = (unsigned char) p[0];
	}
}

/*
 * smtp_eod_scan - find CRLF.CRLF; refuse a lone-dot line with a bare CR
 * or LF on either side.  Only octets next to a `.' matter, so the scan
 * jumps from dot to dot (base64 bodies have none at all).
 */
int
smtp_eod_scan(struct smtp_eod *st, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n) {
		const char *d = memchr(p + i, '.', n - i);
		size_t k;
		int a, a2, b;

		if (d == NULL)
			break;
		k = (size_t) (d - p);
		a = k >= 1 ? (unsigned char) p[k - 1] : st->prev;
		if (!is_eol(a)) {
			i = k + 1;
			continue;
		}
		if (k + 1 >= n) {		/* what follows the dot decides */
			eod_keep(st, p, k);
			*used = k;
			return SMTP_EOD_MORE;
		}
		b = (unsigned char) p[k + 1];
		if (!is_eol(b)) {
			i = k + 1;
			continue;
		}
		a2 = k >= 2 ? (unsigned char) p[k - 2] : k == 1 ? st->prev : st->prev2;
		if (a == '\n' && a2 == '\r' && b == '\r') {
			if (k + 2 >= n) {	/* CRLF . CR: is the CR bare? */
				eod_keep(st, p, k);
				*used = k;
				return SMTP_EOD_MORE;
			}
			if (p[k + 2] == '\n') {
				smtp_eod_init(st);
				*used = k + 3;
				return SMTP_EOD_END;
			}
		}
		*used = k + 1;			/* the terminator after the dot stays */
		return SMTP_EOD_BARE;
	}
	eod_keep(st, p, n);
	*used = n;
	return SMTP_EOD_MORE;
}

/* smtp_valid_hostname - the name an MX greets with: a host name as the
 * DNS may hold it (dname_dns_ok) */
int
smtp_valid_hostname(const char *s, size_t n)
{
	return dname_dns_ok(s, n);
}

/* field_value_is_no - a field value (unfolded) that is `No' */
static int
field_value_is_no(const char *v, size_t n)
{
	size_t i = 0, j = n;

	while (i < j && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
		i++;
	while (j > i && (v[j - 1] == ' ' || v[j - 1] == '\t' || v[j - 1] == '\r'
		|| v[j - 1] == '\n'))
		j--;
	return j - i == 2 && (v[i] == 'N' || v[i] == 'n') && (v[i + 1] == 'O'
	    || v[i + 1] == 'o');
}

/* smtp_tls_required_no - does the header section say TLS-Required: No? */
int
smtp_tls_required_no(const char *msg, size_t n)
{
	static const char name[] = "tls-required";
	const size_t nl_name = sizeof(name) - 1;
	size_t pos = 0;

	while (pos < n) {
		const char *line = msg + pos, *nl = memchr(line, '\n', n - pos);
		size_t len = nl ? (size_t) (nl - line) : n - pos;
		size_t next = pos + len + (nl ? 1 : 0), vend;
		const char *c;
		size_t left;
		char v[256];
		size_t vl = 0;

		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0 || (len == 1 && line[0] == '.'))
			return 0;		/* the end of the header section, or of data */
		if (line[0] == '.')
			line++, len--;		/* dot-stuffed */
		pos = next;
		if (line[0] == ' ' || line[0] == '\t')
			continue;		/* a continuation of some other field */
		if (memchr(line, ':', len) == NULL)
			return 0;		/* not a header field: the body began */
		if (len <= nl_name || strncasecmp(line, name, nl_name) != 0)
			continue;
		c = line + nl_name;
		left = len - nl_name;
		while (left > 0 && (*c == ' ' || *c == '\t'))
			c++, left--;
		if (left == 0 || *c != ':')
			continue;
		c++, left--;
		/* The value, with its continuation lines (folding). */
		for (size_t k = 0; k < left && vl < sizeof(v); k++)
			v[vl++] = c[k];
		vend = pos;
		while (vend < n && (msg[vend] == ' ' || msg[vend] == '\t')) {
			const char *cl = memchr(msg + vend, '\n', n - vend);
			size_t end = cl ? (size_t) (cl - msg) + 1 : n;

			for (size_t k = vend; k < end && vl < sizeof(v); k++)
				v[vl++] = msg[k];
			vend = end;
		}
		if (vl < sizeof(v) && field_value_is_no(v, vl))
			return 1;
	}
	return 0;
}
