/*
 * render.c - an RFC 8460 report of agg.c as JSON, its report-id, its
 * file name, and gzip, pure.  See agg.h for the interface; this comment
 * records the choices that the header leaves open.
 *
 * JSON (agg_render)
 *	Unformatted JSON, appended to out.  Counts are JSON integers.
 *	`failure-details' is omitted when a policy had no failures (as
 *	large senders do); `policy-string' is omitted for no-policy-found;
 *	`mx-host' is omitted when the list is empty (a failure before any
 *	MX host was known).  `receiving-mx-helo', `receiving-ip' and
 *	`failure-reason-code' are omitted when empty, and so are
 *	`sending-mta-ip' and `receiving-mx-hostname', which are empty only
 *	for a failure before any MX host was known (a DNSSEC failure of the
 *	MX lookup: no host, no address to send from).  `additional-
 *	information' is never written: RFC 8460 4.3 makes it a URI, and we
 *	have none to point at.  A NULL org, contact or submitter is "".
 *	Bytes that are not UTF-8 (a HELO is whatever the MX said) are
 *	written as `?', so that the report stays valid JSON text (RFC 8259).
 *
 * FILE NAME (agg_filename)
 *	begin is day, end is day + 86399: the same whole-day interval as
 *	date-range, in the epoch seconds of the RFC 8460 5.1 example.  A
 *	`/' or `!' (or a byte outside printable ASCII) in the submitter is
 *	written as `_'.
 *
 * DIAGNOSTICS
 *	None logged (pure).  agg_render() and agg_gzip() return -1 when
 *	memory runs out (or zlib fails), leaving out as it was.
 *
 * SEE ALSO
 *	agg.c, the counting.  RFC 8460 (SMTP TLS Reporting) sections 4
 *	and 5.1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "agg.h"

/* day_tm - the calendar date of a day; 0, or -1 when it has none */
static int
day_tm(long long day, struct tm *tm)
{
	time_t t = (time_t) day;

	return gmtime_r(&t, tm) ? 0 : -1;
}

/* add_opt - a string member, left out when empty */
static int
add_opt(cJSON *o, const char *key, const char *s)
{
	return *s == 0 ? 0 : rec_json_str(o, key, s);
}

/* render_fail - one failure-details item */
static cJSON *
render_fail(const struct agg_fail *f)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || rec_json_str(o, "result-type", f->result) < 0
	    || add_opt(o, "sending-mta-ip", f->src) < 0
	    || add_opt(o, "receiving-mx-hostname", f->mx) < 0
	    || add_opt(o, "receiving-mx-helo", f->helo) < 0
	    || add_opt(o, "receiving-ip", f->ip) < 0
	    || !cJSON_AddNumberToObject(o, "failed-session-count", (double) f->count)
	    || add_opt(o, "failure-reason-code", f->reason) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* render_pol - one policies[] item */
static cJSON *
render_pol(const struct agg_policy *p)
{
	cJSON *o = cJSON_CreateObject(), *po, *sum, *fd, *f;

	if (o == NULL || (po = cJSON_AddObjectToObject(o, "policy")) == NULL
	    || rec_json_str(po, "policy-type", p->ptype) < 0
	    || (p->type != PTYPE_NO_POLICY_FOUND
		&& rec_json_lines(po, "policy-string", p->policy) < 0)
	    || rec_json_str(po, "policy-domain", p->domain) < 0
	    || (*p->mxhost && rec_json_lines(po, "mx-host", p->mxhost) < 0)
	    || (sum = cJSON_AddObjectToObject(o, "summary")) == NULL
	    || !cJSON_AddNumberToObject(sum, "total-successful-session-count", (double) p->ok)
	    || !cJSON_AddNumberToObject(sum, "total-failure-session-count", (double) p->failed))
		goto fail;
	if (p->nfails > 0) {
		if ((fd = cJSON_AddArrayToObject(o, "failure-details")) == NULL)
			goto fail;
		for (int i = 0; i < p->nfails; i++)
			if ((f = render_fail(&p->fails[i])) == NULL || !cJSON_AddItemToArray(fd, f)) {
				cJSON_Delete(f);
				goto fail;
			}
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* agg_render - RFC 8460 4 JSON of one report, appended to out */
int
agg_render(const struct agg_report *r, long long day, const struct report_meta *m,
    struct buf *out)
{
	static const struct report_meta none;
	const char *sub;
	cJSON *o = cJSON_CreateObject(), *dr, *pa, *p;
	char start[32], end[32], *id = NULL, *text = NULL;
	size_t idlen;
	struct tm tm;
	int rc = -1;

	if (m == NULL)
		m = &none;
	sub = m->submitter ? m->submitter : "";
	idlen = strlen(sub) + sizeof(r->domain) + 32;
	if (o == NULL || day_tm(day, &tm) < 0 || (id = malloc(idlen)) == NULL)
		goto out;
	strftime(start, sizeof(start), "%Y-%m-%dT00:00:00Z", &tm);
	strftime(end, sizeof(end), "%Y-%m-%dT23:59:59Z", &tm);
	agg_report_id(r, day, sub, id, idlen);
	if (rec_json_str(o, "organization-name", m->org ? m->org : "") < 0
	    || (dr = cJSON_AddObjectToObject(o, "date-range")) == NULL
	    || !cJSON_AddStringToObject(dr, "start-datetime", start)
	    || !cJSON_AddStringToObject(dr, "end-datetime", end)
	    || rec_json_str(o, "contact-info", m->contact ? m->contact : "") < 0
	    || rec_json_str(o, "report-id", id) < 0
	    || (pa = cJSON_AddArrayToObject(o, "policies")) == NULL)
		goto out;
	for (int i = 0; i < r->npols; i++)
		if ((p = render_pol(&r->pols[i])) == NULL || !cJSON_AddItemToArray(pa, p)) {
			cJSON_Delete(p);
			goto out;
		}
	if ((text = cJSON_PrintUnformatted(o)) != NULL && buf_puts(out, text) == 0)
		rc = 0;
out:
	free(text);
	free(id);
	cJSON_Delete(o);
	return rc;
}

/* agg_report_id - YYYY.MM.DDT00.00.00Z+domain@submitter */
void
agg_report_id(const struct agg_report *r, long long day, const char *submitter,
    char *buf, size_t len)
{
	struct tm tm;
	char date[32];

	if (len == 0)
		return;
	if (day_tm(day, &tm) < 0)
		memset(&tm, 0, sizeof(tm));
	strftime(date, sizeof(date), "%Y.%m.%dT00.00.00Z", &tm);
	snprintf(buf, len, "%s+%s@%s", date, r->domain, submitter ? submitter : "");
}

/* agg_filename - submitter!domain!begin!end.json.gz (RFC 8460 5.1) */
void
agg_filename(const struct agg_report *r, long long day, const char *submitter,
    char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	for (const char *s = submitter ? submitter : ""; *s && n + 1 < len; s++, n++) {
		unsigned char c = (unsigned char) *s;

		buf[n] = c <= ' ' || c >= 0x7f || c == '/' || c == '!' ? '_' : (char) c;
	}
	buf[n] = 0;
	snprintf(buf + n, len - n, "!%s!%lld!%lld.json.gz", r->domain, day, day + 86399);
}

/* agg_gzip - gzip (RFC 1952) of in, appended to out */
int
agg_gzip(const char *in, size_t len, struct buf *out)
{
	const size_t step = (size_t) 1 << 30;	/* what one uInt surely holds */
	size_t keep = buf_used(out);
	z_stream z;
	int zr;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *) (uintptr_t) in;
	for (;;) {
		size_t room;

		if (z.avail_in == 0 && len > 0) {
			z.avail_in = (uInt) (len < step ? len : step);
			len -= z.avail_in;
		}
		if (buf_reserve(out, z.avail_in / 2 + 4096) < 0) {
			zr = Z_MEM_ERROR;
			break;
		}
		room = out->cap - out->len < step ? out->cap - out->len : step;
		z.next_out = (Bytef *) out->data + out->len;
		z.avail_out = (uInt) room;
		zr = deflate(&z, len > 0 ? Z_NO_FLUSH : Z_FINISH);
		out->len += room - z.avail_out;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			break;
	}
	deflateEnd(&z);
	if (zr != Z_STREAM_END) {
		out->len = out->off + keep;
		return -1;
	}
	return 0;
}
