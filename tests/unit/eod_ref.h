/*
 * eod_ref.h - a slow, obvious end-of-data scanner: the reference that
 * smtp_eod_scan()'s fast path is checked against (unit test and fuzzer).
 *
 * The message is read as if a CRLF came before it.  At each octet it
 * looks back: CR LF . CR LF ends the data; a lone `.' line with a bare
 * LF on either side (CR LF . LF, LF . CR, LF . LF) is smuggling, and
 * `used' stops before the octet that completes it.
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

/* eod_ref - SMTP_EOD_* for the whole buffer, and *used */
static inline int
eod_ref(const char *p, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 2;	/* position in the virtual sequence */
		int c = eod_ref_at(p, j), d = eod_ref_at(p, j - 1);
		int lf = j >= 2 ? eod_ref_at(p, j - 2) : 0;
		int before_lf = j >= 3 ? eod_ref_at(p, j - 3) : 0;

		if (d == '.' && lf == '\n') {
			int crlf = before_lf == '\r';

			if (crlf && c == '\n') {
				*used = i;
				return SMTP_EOD_BARE;
			}
			if (!crlf && (c == '\r' || c == '\n')) {
				*used = i;
				return SMTP_EOD_BARE;
			}
		}
		if (c == '\n' && d == '\r' && j >= 4 && eod_ref_at(p, j - 2) == '.'
		    && eod_ref_at(p, j - 3) == '\n' && eod_ref_at(p, j - 4) == '\r') {
			*used = i + 1;
			return SMTP_EOD_END;
		}
	}
	*used = n;
	return SMTP_EOD_MORE;
}

#endif
