/*
 * test_mime.c - the RFC 8460 5.3 report message: composed, then parsed
 * back (headers, MIME structure, boundary, base64); header injection and
 * bad addresses refused; mailto: URIs; dates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "../../report/mime.h"
#include "t.h"

#define GZLEN	3000

static unsigned char gz[GZLEN];

static const char text[] =
    "This is an aggregate TLS report.\n"
    "--not-a-boundary\n"
    "\tindented line\n";

/* good - a message that must compose */
static struct mime_msg
good(void)
{
	struct mime_msg m;

	memset(&m, 0, sizeof(m));
	m.from = "TLS reports <noreply-tlsrpt@mx.submitter.example>";
	m.to = "tlsrpt+x@dane-ee.example";
	m.date = "Sun, 22 Nov 2026 00:10:00 +0000";
	m.msgid = "<2026.11.22T00.00.00Z+dane-ee.example.0123@mx.submitter.example>";
	m.domain = "dane-ee.example";
	m.submitter = "mx.submitter.example";
	m.report_id = "2026.11.22T00.00.00Z+dane-ee.example@mx.submitter.example";
	m.text = text;
	m.gz = gz;
	m.gzlen = sizeof(gz);
	m.filename = "mx.submitter.example!dane-ee.example!1795305600!1795391999.json.gz";
	return m;
}

/* header - the unfolded value of a header in the block [h, end), or NULL */
static char *
header(const char *h, const char *end, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = h; p < end; p = strchr(p, '\n') + 1) {
		if ((size_t) (end - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e = v;
			char *out, *w;

			while (*v == ' ')
				v++;
			for (e = v; e < end; e++)
				if (*e == '\n' && !(e[1] == ' ' || e[1] == '\t'))
					break;
			out = malloc((size_t) (e - v) + 1);
			for (w = out; v < e; v++)
				if (*v != '\n')
					*w++ = *v == '\t' ? ' ' : *v;
			*w = 0;
			return out;
		}
		if (strchr(p, '\n') == NULL || strchr(p, '\n') >= end)
			break;
	}
	return NULL;
}

/* header_is - the header exists and has exactly this value */
static int
header_is(const char *h, const char *end, const char *name, const char *want)
{
	char *v = header(h, end, name);
	int ok = v && strcmp(v, want) == 0;

	if (!ok)
		printf("# %s: got `%s', want `%s'\n", name, v ? v : "(none)", want);
	free(v);
	return ok;
}

/* count - occurrences of s in the message */
static int
count(const char *msg, const char *s)
{
	int n = 0;

	for (const char *p = msg; (p = strstr(p, s)) != NULL; p++)
		n++;
	return n;
}

/* b64_decode - base64 lines back into bytes; -1 when a line is too long */
static long
b64_decode(const char *p, const char *end, unsigned char *out, size_t cap)
{
	char *flat = malloc((size_t) (end - p) + 1);
	size_t n = 0, line = 0, pad = 0;
	int r;

	for (; p < end; p++) {
		if (*p == '\n') {
			line = 0;
			continue;
		}
		if (++line > 76) {
			free(flat);
			return -1;
		}
		flat[n++] = *p;
	}
	while (pad < n && flat[n - 1 - pad] == '=')
		pad++;
	if ((n / 4) * 3 > cap) {
		free(flat);
		return -1;
	}
	r = EVP_DecodeBlock(out, (unsigned char *) flat, (int) n);
	free(flat);
	return r < 0 ? -1 : (long) r - (long) pad;
}

/* structure - parse the composed message back */
static void
structure(const char *msg, const struct mime_msg *m)
{
	static const char ctpre[] = "multipart/report; report-type=\"tlsrpt\"; boundary=\"";
	const char *hend = strstr(msg, "\n\n"), *body, *p1, *p2, *close, *ph, *pb;
	char *ct, bnd[100], delim[110], closing[110], subj[600];
	unsigned char back[GZLEN + 8];
	long n;

	T_CASE("header block ends with an empty line", hend != NULL, "no blank line");
	if (hend == NULL)
		return;
	hend++;
	snprintf(subj, sizeof(subj), "Report Domain: %s Submitter: %s Report-ID: <%s>",
	    m->domain, m->submitter, m->report_id);
	T_CASE("From", header_is(msg, hend, "From", m->from), "see above");
	T_CASE("To", header_is(msg, hend, "To", m->to), "see above");
	T_CASE("Date", header_is(msg, hend, "Date", m->date), "see above");
	T_CASE("Message-ID", header_is(msg, hend, "Message-ID", m->msgid), "see above");
	T_CASE("Subject (RFC 8460 5.3)", header_is(msg, hend, "Subject", subj), "see above");
	T_CASE("MIME-Version", header_is(msg, hend, "MIME-Version", "1.0"), "see above");
	T_CASE("TLS-Report-Domain", header_is(msg, hend, "TLS-Report-Domain", m->domain), "-");
	T_CASE("TLS-Report-Submitter", header_is(msg, hend, "TLS-Report-Submitter",
	    m->submitter), "-");
	T_CASE("TLS-Required: No (RFC 8689)", header_is(msg, hend, "TLS-Required", "No"), "-");
	T_CASE("no CR anywhere", strchr(msg, '\r') == NULL, "CR found");
	ct = header(msg, hend, "Content-Type");
	T_CASE("multipart/report; report-type=\"tlsrpt\"", ct && strncmp(ct, ctpre,
	    strlen(ctpre)) == 0, "%s", ct ? ct : "(none)");
	if (ct == NULL || strlen(ct) < strlen(ctpre) + 2) {
		free(ct);
		return;
	}
	snprintf(bnd, sizeof(bnd), "%.*s", (int) (strlen(ct) - strlen(ctpre) - 1),
	    ct + strlen(ctpre));
	free(ct);
	T_CASE("boundary has =_ (never in base64)", strstr(bnd, "=_") != NULL, "%s", bnd);
	snprintf(delim, sizeof(delim), "\n--%s\n", bnd);
	snprintf(closing, sizeof(closing), "\n--%s--\n", bnd);
	T_CASE("boundary occurs only as delimiters", count(msg, bnd) == 4, "%d", count(msg, bnd));
	body = hend + 1;
	p1 = strstr(body, delim);
	p2 = p1 ? strstr(p1 + 1, delim) : NULL;
	close = p2 ? strstr(p2 + 1, closing) : NULL;
	T_CASE("two parts and a close delimiter", p1 && p2 && close
	    && strcmp(close, closing) == 0, "p1=%p p2=%p close=%p", (const void *) p1,
	    (const void *) p2, (const void *) close);
	if (!(p1 && p2 && close))
		return;
	ph = p1 + strlen(delim);
	pb = strstr(ph, "\n\n") + 2;
	T_CASE("text part headers", header_is(ph, pb, "Content-Type",
	    "text/plain; charset=\"us-ascii\"") && header_is(ph, pb,
	    "Content-Transfer-Encoding", "7bit"), "-");
	T_CASE("text part body is the text", (size_t) (p2 - pb) == strlen(m->text)
	    && memcmp(pb, m->text, strlen(m->text)) == 0, "%.*s", (int) (p2 - pb), pb);
	ph = p2 + strlen(delim);
	pb = strstr(ph, "\n\n") + 2;
	{
		char want[300];

		snprintf(want, sizeof(want), "attachment; filename=\"%s\"", m->filename);
		T_CASE("report part headers", header_is(ph, pb, "Content-Type",
		    "application/tlsrpt+gzip") && header_is(ph, pb, "Content-Transfer-Encoding",
		    "base64") && header_is(ph, pb, "Content-Disposition", want), "-");
	}
	n = b64_decode(pb, close + 1, back, sizeof(back));
	T_CASE("base64 lines of at most 76 and decodes to the report", n == (long) m->gzlen
	    && memcmp(back, m->gz, m->gzlen) == 0, "n=%ld", n);
}

/* refused - compose must fail and leave out as it was */
static void
refused(const char *name, struct mime_msg m)
{
	struct buf out;
	const char *why = NULL;
	int rc;

	buf_init(&out);
	buf_puts(&out, "keep");
	rc = mime_compose(&m, &out, &why);
	T_CASE(name, rc == -1 && why != NULL && buf_used(&out) == 4
	    && memcmp(buf_head(&out), "keep", 4) == 0, "rc=%d why=%s", rc, why ? why : "-");
	buf_free(&out);
}

static void
injection(void)
{
	struct mime_msg m;

#define BAD(name, field, value) do { m = good(); m.field = (value); refused(name, m); } while (0)
	BAD("refuses CRLF in From", from, "a@b.example\r\nBcc: victim@c.example");
	BAD("refuses LF in To", to, "a@b.example\nBcc: victim@c.example");
	BAD("refuses CR in report domain", domain, "dane-ee.example\rX: y");
	BAD("refuses LF in submitter", submitter, "mx.example\nX-Evil: 1");
	BAD("refuses LF in report id", report_id, "id@x\nBcc: a@b.example");
	BAD("refuses a quote in the file name", filename, "a\".json.gz");
	BAD("refuses a slash in the file name", filename, "../etc/passwd");
	BAD("refuses a tab in Date", date, "Sun, 22 Nov 2026\t00:00 +0000");
	BAD("refuses LF in Message-ID", msgid, "<a@b>\nBcc: x@y.example");
	BAD("refuses Message-ID without brackets", msgid, "a@b.example");
	BAD("refuses To without @", to, "postmaster");
	BAD("refuses To with two @", to, "a@b@c.example");
	BAD("refuses To with a display name", to, "Eve <eve@c.example>");
	BAD("refuses To with a space", to, "a b@c.example");
	BAD("refuses To with a bad domain", to, "a@-c.example");
	BAD("refuses To with an empty label", to, "a@c..example");
	BAD("refuses From with brackets only", from, "<a@b.example>");
	BAD("refuses From with a comma in the name", from, "Eve, Inc <a@b.example>");
	BAD("refuses non-ASCII in From", from, "T\xc3\xa9st <a@b.example>");
	BAD("refuses DEL in the domain", domain, "a\x7f.example");
	BAD("refuses CR in the text", text, "line\r\nline\n");
	BAD("refuses 8-bit text", text, "caf\xc3\xa9\n");
	BAD("refuses a missing text", text, NULL);
#undef BAD
	{
		static char longline[1100];

		memset(longline, 'x', 999);
		m = good();
		m.text = longline;
		refused("refuses a text line over 998 octets", m);
	}
}

static void
boundary_avoidance(void)
{
	struct mime_msg m = good();
	struct buf a, b;
	const char *why, *p, *q;
	char evil[200];
	int rc;

	buf_init(&a);
	buf_init(&b);
	rc = mime_compose(&m, &a, &why);
	p = strstr(buf_head(&a), "boundary=\"");
	q = p ? strchr(p + 10, '"') : NULL;
	T_CASE("composes", rc == 0 && p && q, "rc=%d", rc);
	if (!(p && q))
		return;
	snprintf(evil, sizeof(evil), "text\n--%.*s\nmore\n", (int) (q - p - 10), p + 10);
	m.text = evil;
	rc = mime_compose(&m, &b, &why);
	T_CASE("a text holding the first boundary gets another one", rc == 0
	    && strncmp(strstr(buf_head(&b), "boundary=\"") + 10, p + 10, (size_t) (q - p - 10)) != 0,
	    "rc=%d", rc);
	if (rc == 0)
		structure(buf_head(&b), &m);
	buf_free(&a);
	buf_free(&b);
}

static void
mailto(void)
{
	static const struct {
		const char *uri, *want;		/* want NULL: refused */
	} t[] = {
		{"mailto:tlsrpt@example.com", "tlsrpt@example.com"},
		{"MAILTO:tlsrpt@example.com", "tlsrpt@example.com"},
		{"mailto:tls%2Brpt@example.com", "tls+rpt@example.com"},
		{"mailto:tlsrpt@example.com?subject=hello", "tlsrpt@example.com"},
		{"mailto:a@b.example%0d%0aBcc:c@d.example", NULL},
		{"mailto:a@b.example%0aBcc:c@d.example", NULL},
		{"mailto:a%00@b.example", NULL},
		{"mailto:a%zz@b.example", NULL},
		{"mailto:a%2", NULL},
		{"mailto:", NULL},
		{"mailto:a@b.example,c@d.example", NULL},
		{"https://example.com/x", NULL},
		{"mailto:\"a b\"@example.com", NULL},
	};
	char addr[300], name[200];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = mime_mailto(t[i].uri, addr, sizeof(addr));

		snprintf(name, sizeof(name), "mailto %s", t[i].uri);
		if (t[i].want)
			T_CASE(name, rc == 0 && strcmp(addr, t[i].want) == 0, "rc=%d addr=%s", rc,
			    rc == 0 ? addr : "-");
		else
			T_CASE(name, rc == -1, "accepted as %s", addr);
	}
	T_CASE("mailto into a small buffer is refused",
	    mime_mailto("mailto:abcdefgh@example.com", addr, 8) == -1, "accepted");
}

static void
dates(void)
{
	char d[64];

	mime_date(0, d, sizeof(d));
	T_CASE("date of the epoch", strcmp(d, "Thu, 01 Jan 1970 00:00:00 +0000") == 0, "%s", d);
	mime_date(1795305600LL + 3723, d, sizeof(d));
	T_CASE("date in 2026", strcmp(d, "Sun, 22 Nov 2026 01:02:03 +0000") == 0, "%s", d);
	mime_date(951782400LL, d, sizeof(d));
	T_CASE("date on a leap day", strcmp(d, "Tue, 29 Feb 2000 00:00:00 +0000") == 0, "%s", d);
}

int
main(void)
{
	struct mime_msg m = good();
	struct buf out;
	const char *why = NULL;
	int rc;

	T_INIT("mime");
	srand(8460);
	for (size_t i = 0; i < sizeof(gz); i++)
		gz[i] = (unsigned char) (i < 256 ? i : (unsigned) rand());
	buf_init(&out);
	rc = mime_compose(&m, &out, &why);
	T_CASE("composes a report message", rc == 0, "why=%s", why ? why : "-");
	if (rc == 0) {
		buf_append(&out, "", 1);
		structure(buf_head(&out), &m);
	}
	buf_free(&out);
	m.from = "noreply@mx.submitter.example";
	m.gzlen = 57;			/* exactly one base64 line */
	buf_init(&out);
	rc = mime_compose(&m, &out, &why);
	T_CASE("bare From address, one-line report", rc == 0, "why=%s", why ? why : "-");
	if (rc == 0) {
		buf_append(&out, "", 1);
		structure(buf_head(&out), &m);
	}
	buf_free(&out);
	m.from = "\"Example, Inc. TLS reports\" <noreply@mx.submitter.example>";
	m.gzlen = 0;
	buf_init(&out);
	rc = mime_compose(&m, &out, &why);
	T_CASE("quoted display name, empty report", rc == 0, "why=%s", why ? why : "-");
	buf_free(&out);
	injection();
	boundary_avoidance();
	mailto();
	dates();
	T_CASE("addr: plain", mime_addr_ok("a.b-c+d@x-y.example") == 1, "refused");
	T_CASE("addr: leading dot", mime_addr_ok(".a@x.example") == 0, "accepted");
	T_CASE("addr: trailing dot in domain", mime_addr_ok("a@x.example.") == 0, "accepted");
	T_CASE("addr: 64-octet label", mime_addr_ok("a@xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.example") == 0, "accepted");
	return t_done();
}
