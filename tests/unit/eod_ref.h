/*
 * eod_ref.h - a slow, obvious end-of-data scanner: the reference that
 * smtp_eod_scan()'s fast path is checked against (unit test and fuzzer).
 *
 * The message is read as if a CRLF came before it.  Every `.' is looked
 * at, octet by octet, with no state: a dot with CR or LF right before it
 * and CR or LF right after it is the end of data when it stands as
 * CR LF . CR LF, and smuggling (a lone-dot line next to a bare CR or LF)
 * otherwise.  `used' stops before the octet after the dot (smuggling),
 * after the final LF (end), or, when the input ends before the octets
 * that decide, at the dot (more).
 */
#ifndef MXTLS_EOD_REF_H
#define MXTLS_EOD_REF_H

#include <stddef.h>

#include "../../proxy/smtp.h"

/* eod_ref_at - octet k of the virtual CRLF + message */
static inline int
eod_ref_at(const char *p, size_t k)
{
	return k == 0 ? '\r' : k == 1 ? '\n' : (unsigned char) p[k - 2];
}

/* eod_ref_eol - CR or LF */
static inline int
eod_ref_eol(int c)
{
	return c == '\r' || c == '\n';
}

/* eod_ref - SMTP_EOD_* for the whole buffer, and *used */
static inline int
eod_ref(const char *p, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 2;	/* position in the virtual sequence */

		if (p[i] != '.' || !eod_ref_eol(eod_ref_at(p, j - 1)))
			continue;
		if (i + 1 == n) {
			*used = i;
			return SMTP_EOD_MORE;
		}
		if (!eod_ref_eol(p[i + 1]))
			continue;
		if (eod_ref_at(p, j - 2) == '\r' && eod_ref_at(p, j - 1) == '\n'
		    && p[i + 1] == '\r') {
			if (i + 2 == n) {
				*used = i;
				return SMTP_EOD_MORE;
			}
			if (p[i + 2] == '\n') {
				*used = i + 3;
				return SMTP_EOD_END;
			}
		}
		*used = i + 1;
		return SMTP_EOD_BARE;
	}
	*used = n;
	return SMTP_EOD_MORE;
}

/*
 * eod_chunked - the scanner as a session drives it: the input arrives in
 * pieces of the given sizes (cuts[], ending at n); what a call leaves
 * unused is passed again before the next piece.  Returns the verdict and
 * the total octets used.
 */
static inline int
eod_chunked(const char *p, size_t n, const size_t *cuts, int ncuts, size_t *used)
{
	struct smtp_eod st;
	size_t done = 0, have = 0, u = 0;
	int r = SMTP_EOD_MORE;

	smtp_eod_init(&st);
	for (int c = 0; c <= ncuts; c++) {
		size_t upto = c < ncuts ? cuts[c] : n;

		if (upto > n)
			upto = n;
		if (upto < have)
			continue;
		have = upto;
		r = smtp_eod_scan(&st, p + done, have - done, &u);
		if (u > have - done)
			return -1;	/* used beyond the input */
		done += u;
		if (r != SMTP_EOD_MORE)
			break;
		if (have - done > 2)
			return -1;	/* kept more than the dot and a CR */
	}
	*used = done;
	return r;
}

#endif
