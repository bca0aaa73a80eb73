/*
 * tlsrpt.h - the TLSRPT record (RFC 8460 section 3), pure.
 *
 * SYNOPSIS
 *	int tlsrpt_parse(const char *const *txt, const size_t *len, int n,
 *		struct tlsrpt_rec *r, const char **why);
 *
 * DESCRIPTION
 *	tlsrpt_parse() reads the TXT RRset at _smtp._tls.<domain> (each
 *	record's strings already joined).  Records that do not begin with
 *	`v=TLSRPTv1' are discarded; exactly one must remain (RFC 8460 3).
 *	Fields are separated by `;' with optional white space; `rua=' holds
 *	one or more URIs separated by `,'; mailto: and https: URIs are kept
 *	(at most TLSRPT_MAX_RUA), others are ignored; extension fields are
 *	ignored.  Returns 1 with r filled, or 0 with a reason (no record,
 *	several, malformed, no usable rua).
 */
#ifndef MXTLS_TLSRPT_H
#define MXTLS_TLSRPT_H

#include <stddef.h>

#define TLSRPT_MAX_RUA	8
#define TLSRPT_URI_MAX	512

enum tlsrpt_scheme { TLSRPT_MAILTO, TLSRPT_HTTPS };

struct tlsrpt_rua {
	enum tlsrpt_scheme scheme;
	char uri[TLSRPT_URI_MAX];	/* as published */
};

struct tlsrpt_rec {
	int nrua;
	struct tlsrpt_rua rua[TLSRPT_MAX_RUA];
};

int tlsrpt_parse(const char *const *txt, const size_t *len, int n,
    struct tlsrpt_rec *r, const char **why);

#endif
