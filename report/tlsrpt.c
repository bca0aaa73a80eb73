/*
 * tlsrpt.c - the TLSRPT record (RFC 8460 section 3), pure.
 * See tlsrpt.h.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "../lib/tags.h"
#include "tlsrpt.h"

/* is_ws - white space around fields and URIs */
static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* uri_ok - printable, no white space, no `,' or `;' (RFC 3986 chars) */
static int
uri_ok(const char *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) u[i];

		if (c <= 0x20 || c >= 0x7f || c == ',' || c == ';')
			return 0;
	}
	return 1;
}

/* add_uri - one rua URI; unknown schemes are ignored */
static int
add_uri(struct tlsrpt_rec *r, const char *u, size_t n, const char **why)
{
	struct tlsrpt_rua *ru;

	if (n == 0) {
		*why = "empty rua URI";
		return -1;
	}
	if (!uri_ok(u, n)) {
		*why = "bad character in a rua URI";
		return -1;
	}
	if (n >= TLSRPT_URI_MAX) {
		*why = "rua URI too long";
		return -1;
	}
	if (r->nrua >= TLSRPT_MAX_RUA)
		return 0;			/* enough to send to */
	ru = &r->rua[r->nrua];
	if (n > 7 && strncasecmp(u, "mailto:", 7) == 0) {
		const char *at = memchr(u + 7, '@', n - 7);

		if (at == NULL || at == u + 7 || at == u + n - 1) {
			*why = "mailto: URI without an address";
			return -1;
		}
		ru->scheme = TLSRPT_MAILTO;
	} else if (n > 8 && strncasecmp(u, "https://", 8) == 0) {
		ru->scheme = TLSRPT_HTTPS;
	} else {
		return 0;			/* another scheme: not ours */
	}
	memcpy(ru->uri, u, n);
	ru->uri[n] = 0;
	r->nrua++;
	return 0;
}

/* one - the fields of the v=TLSRPTv1 record */
static int
one(const char *t, size_t n, struct tlsrpt_rec *r, const char **why)
{
	size_t pos = 0;
	int first = 1, have_rua = 0, rc;
	struct tag tg;

	memset(r, 0, sizeof(*r));
	while ((rc = tag_next(t, n, &pos, &tg, why)) == 1) {
		if (first) {
			if (!tag_is(&tg, "v", 1) || tg.vlen != 8
			    || memcmp(tg.val, "TLSRPTv1", 8) != 0) {
				*why = "v=TLSRPTv1 is not the first field";
				return 0;
			}
			first = 0;
			continue;
		}
		if (tag_is(&tg, "rua", 3)) {
			size_t p = 0;

			if (have_rua) {
				*why = "rua given twice";
				return 0;
			}
			have_rua = 1;
			while (p <= tg.vlen) {
				size_t us = p, ue;

				while (p < tg.vlen && tg.val[p] != ',')
					p++;
				ue = p++;
				while (us < ue && is_ws(tg.val[us]))
					us++;
				while (ue > us && is_ws(tg.val[ue - 1]))
					ue--;
				if (add_uri(r, tg.val + us, ue - us, why) < 0)
					return 0;
			}
			continue;
		}
		/* extension fields are ignored */
		for (size_t k = 0; k < tg.klen; k++)
			if (!isalnum((unsigned char) tg.key[k]) && tg.key[k] != '_'
			    && tg.key[k] != '-' && tg.key[k] != '.') {
				*why = "bad field name";
				return 0;
			}
	}
	if (rc < 0)
		return 0;
	if (!have_rua) {
		*why = "no rua field";
		return 0;
	}
	if (r->nrua == 0) {
		*why = "no mailto: or https: rua";
		return 0;
	}
	return 1;
}

/* tlsrpt_parse - the _smtp._tls TXT RRset */
int
tlsrpt_parse(const char *const *txt, const size_t *len, int n,
    struct tlsrpt_rec *r, const char **why)
{
	int found = -1;

	for (int i = 0; i < n; i++) {
		if (len[i] < 10 || memcmp(txt[i], "v=TLSRPTv1", 10) != 0
		    || (len[i] > 10 && txt[i][10] != ';' && !is_ws(txt[i][10])))
			continue;
		if (memchr(txt[i], 0, len[i])) {
			*why = "NUL byte in the TXT record";
			return 0;
		}
		if (found >= 0) {
			*why = "more than one v=TLSRPTv1 TXT record";
			return 0;
		}
		found = i;
	}
	if (found < 0) {
		*why = "no v=TLSRPTv1 TXT record";
		return 0;
	}
	return one(txt[found], len[found], r, why);
}
