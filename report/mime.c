/*
 * mime.c - the TLSRPT report message (RFC 8460 5.3), pure.  See mime.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "../lib/dname.h"
#include "../lib/hex.h"
#include "mime.h"

#define MIME_B64_IN	57		/* 57 octets make a 76-character line */
#define MIME_LINE_MAX	998
#define MIME_ADDR_MAX	254

/* is_atext - RFC 5322 atext */
static int
is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* printable - only US-ASCII 0x20..0x7e */
static int
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
			return 0;
	return 1;
}

/* dot_atom_ok - atext runs separated by single dots */
static int
dot_atom_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char) s[i])) {
			return 0;
		}
	}
	return 1;
}

/* addr_ok_n - local@domain within n octets */
static int
addr_ok_n(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);

	if (n > MIME_ADDR_MAX || at == NULL || memchr(at + 1, '@', n - (size_t) (at + 1 - a)))
		return 0;
	return dot_atom_ok(a, (size_t) (at - a)) && dname_host_ok(at + 1, n - (size_t) (at + 1 - a));
}

/* mime_addr_ok - an addr-spec we are willing to put in a header */
int
mime_addr_ok(const char *addr)
{
	return addr_ok_n(addr, strlen(addr));
}

/* phrase_ok - a display name: atext words and single spaces, or quoted */
static int
phrase_ok(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		for (size_t i = 1; i < n - 1; i++)
			if (s[i] == '"' || s[i] == '\\')
				return 0;
		return 1;
	}
	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_atext((unsigned char) s[i]) && s[i] != ' ' && s[i] != '.')
			return 0;
	return 1;
}

/* from_ok - addr-spec, or `phrase <addr-spec>' */
static int
from_ok(const char *f)
{
	size_t n = strlen(f);
	const char *lt = strchr(f, '<');

	if (lt == NULL)
		return mime_addr_ok(f);
	if (n < 2 || f[n - 1] != '>' || lt == f || lt[-1] != ' ')
		return 0;
	return phrase_ok(f, (size_t) (lt - 1 - f))
	    && addr_ok_n(lt + 1, (size_t) (f + n - 1 - (lt + 1)));
}

/* msgid_ok - <dot-atom@dot-atom> */
static int
msgid_ok(const char *m)
{
	size_t n = strlen(m);
	const char *at = strchr(m, '@');

	if (n < 5 || m[0] != '<' || m[n - 1] != '>' || at == NULL)
		return 0;
	return dot_atom_ok(m + 1, (size_t) (at - m - 1))
	    && dot_atom_ok(at + 1, (size_t) (m + n - 1 - (at + 1)));
}

/* token_ok - printable, no white space, quotes, angle brackets or `/' */
static int
token_ok(const char *s)
{
	if (*s == 0 || !printable(s))
		return 0;
	return strpbrk(s, " \"\\<>/") == NULL;
}

/* text_ok - printable US-ASCII, tabs, LFs; lines at most 998 octets */
static int
text_ok(const char *t)
{
	size_t line = 0;

	for (; *t; t++) {
		unsigned char c = (unsigned char) *t;

		if (c == '\n') {
			line = 0;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c > 0x7e || ++line > MIME_LINE_MAX)
			return 0;
	}
	return 1;
}

/* check - every field, or the name of the first one refused */
static const char *
check(const struct mime_msg *m)
{
	if (m->from == NULL || !printable(m->from) || !from_ok(m->from))
		return "bad From address";
	if (m->to == NULL || !printable(m->to) || !mime_addr_ok(m->to))
		return "bad To address";
	if (m->date == NULL || *m->date == 0 || !printable(m->date))
		return "bad Date";
	if (m->msgid == NULL || !printable(m->msgid) || !msgid_ok(m->msgid))
		return "bad Message-ID";
	if (m->domain == NULL || !dname_host_ok(m->domain, strlen(m->domain)))
		return "bad report domain";
	if (m->submitter == NULL || !dname_host_ok(m->submitter, strlen(m->submitter)))
		return "bad submitter";
	if (m->report_id == NULL || !token_ok(m->report_id))
		return "bad report id";
	if (m->filename == NULL || !token_ok(m->filename))
		return "bad file name";
	if (m->text == NULL || !text_ok(m->text))
		return "bad text part";
	if (m->gz == NULL && m->gzlen > 0)
		return "no report data";
	return NULL;
}

/* make_boundary - =_mxtls_ and 24 hex digits of SHA-256(id, counter) */
static void
make_boundary(const char *id, unsigned counter, char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char in[600];
	int n;

	n = snprintf(in, sizeof(in), "%s#%u", id, counter);
	if (n < 0 || (size_t) n >= sizeof(in))
		n = (int) sizeof(in) - 1;
	if (EVP_Digest(in, (size_t) n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 12)
		memset(md, (int) counter, sizeof(md));
	n = snprintf(buf, len, "=_mxtls_");
	for (int i = 0; i < 12 && n > 0 && (size_t) n + 2 < len; i++)
		n += snprintf(buf + n, len - (size_t) n, "%02x", md[i]);
}

/* boundary_free - the delimiter does not occur in the text part */
static int
boundary_free(const struct mime_msg *m, const char *b)
{
	char delim[80];

	snprintf(delim, sizeof(delim), "--%s", b);
	return strstr(m->text, delim) == NULL;
}

/* put_base64 - the bytes in base64 lines of 76 characters */
static int
put_base64(struct buf *out, const unsigned char *p, size_t n)
{
	unsigned char line[4 * MIME_B64_IN / 3 + 2];

	for (size_t off = 0; off < n; off += MIME_B64_IN) {
		size_t take = n - off < MIME_B64_IN ? n - off : MIME_B64_IN;
		int w = EVP_EncodeBlock(line, p + off, (int) take);

		if (w < 0 || buf_append(out, line, (size_t) w) < 0
		    || buf_append(out, "\n", 1) < 0)
			return -1;
	}
	return 0;
}

/* put_headers - the message header */
static int
put_headers(struct buf *out, const struct mime_msg *m, const char *b)
{
	return buf_printf(out,
	    "From: %s\n"
	    "To: %s\n"
	    "Date: %s\n"
	    "Message-ID: %s\n"
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\n"
	    "MIME-Version: 1.0\n"
	    "TLS-Report-Domain: %s\n"
	    "TLS-Report-Submitter: %s\n"
	    "TLS-Required: No\n"
	    "Content-Type: multipart/report; report-type=\"tlsrpt\";\n"
	    "\tboundary=\"%s\"\n"
	    "\n"
	    "This is a multipart message in MIME format.\n",
	    m->from, m->to, m->date, m->msgid, m->domain, m->submitter,
	    m->report_id, m->domain, m->submitter, b);
}

/* put_parts - the text part and the report */
static int
put_parts(struct buf *out, const struct mime_msg *m, const char *b)
{
	size_t tl = strlen(m->text);

	if (buf_printf(out, "\n--%s\n"
		"Content-Type: text/plain; charset=\"us-ascii\"\n"
		"Content-Transfer-Encoding: 7bit\n\n", b) < 0
	    || buf_append(out, m->text, tl) < 0
	    || (tl > 0 && m->text[tl - 1] != '\n' && buf_append(out, "\n", 1) < 0))
		return -1;
	if (buf_printf(out, "\n--%s\n"
		"Content-Type: application/tlsrpt+gzip\n"
		"Content-Transfer-Encoding: base64\n"
		"Content-Disposition: attachment;\n"
		"\tfilename=\"%s\"\n\n", b, m->filename) < 0
	    || put_base64(out, m->gz, m->gzlen) < 0)
		return -1;
	return buf_printf(out, "\n--%s--\n", b);
}

/* mime_compose - the whole message */
int
mime_compose(const struct mime_msg *m, struct buf *out, const char **why)
{
	size_t mark = out->len;
	char b[64];
	unsigned counter = 0;

	if ((*why = check(m)) != NULL)
		return -1;
	do
		make_boundary(m->report_id, counter++, b, sizeof(b));
	while (!boundary_free(m, b));
	if (put_headers(out, m, b) < 0 || put_parts(out, m, b) < 0) {
		out->len = mark;
		*why = "out of memory";
		return -1;
	}
	return 0;
}

/* mime_mailto - the address of a mailto: URI */
int
mime_mailto(const char *uri, char *addr, size_t len)
{
	size_t w = 0;
	const char *p;

	if (len == 0 || strncasecmp(uri, "mailto:", 7) != 0)
		return -1;
	for (p = uri + 7; *p && *p != '?'; p++) {
		int c = (unsigned char) *p;

		if (c == '%') {
			int hi = hex_val((unsigned char) p[1]), lo = hi < 0 ? -1
			    : hex_val((unsigned char) p[2]);

			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			p += 2;
		}
		if (c == 0 || w + 1 >= len)
			return -1;
		addr[w++] = (char) c;
	}
	addr[w] = 0;
	return mime_addr_ok(addr) ? 0 : -1;
}

/* mime_date - RFC 5322 date, UTC, no locale */
void
mime_date(long long t, char *buf, size_t len)
{
	static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	"Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t) t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", wday[tm.tm_wday],
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
