/*
 * mime.h - the TLSRPT report message (RFC 8460 5.3), pure.
 *
 * SYNOPSIS
 *	int mime_compose(const struct mime_msg *m, struct buf *out,
 *		const char **why);
 *	int mime_addr_ok(const char *addr);
 *	int mime_mailto(const char *uri, char *addr, size_t len);
 *	void mime_date(long long t, char *buf, size_t len);
 *
 * DESCRIPTION
 *	mime_compose() appends to out one Internet message (LF line ends,
 *	as a local sendmail reads them) that carries one report:
 *	From, To, Date, Message-ID, Subject (`Report Domain: D Submitter: S
 *	Report-ID: <ID>'), MIME-Version, TLS-Report-Domain,
 *	TLS-Report-Submitter and TLS-Required: No (RFC 8689: a report about
 *	TLS trouble must not itself depend on TLS), then a
 *	multipart/report; report-type="tlsrpt" body with two parts: the
 *	text (text/plain, 7bit) and the gzip-compressed report
 *	(application/tlsrpt+gzip, base64 in lines of 76 characters, as an
 *	attachment named m->filename, the RFC 8460 5.1 name).
 *
 *	The MIME boundary contains `=_', which base64 never produces; it
 *	is derived from the report id and a counter, and the counter moves
 *	on until `--boundary' occurs nowhere in the text part.
 *
 *	Every header value is checked before anything is written: only
 *	printable US-ASCII (no CR, LF or other control characters, so no
 *	header injection); m->to an addr-spec (mime_addr_ok()); m->from an
 *	addr-spec or `display name <addr-spec>'; m->domain and
 *	m->submitter host names; m->msgid `<left@right>'; m->report_id and
 *	m->filename without white space, quotes, angle brackets or `/'.
 *	The text must be printable US-ASCII, tabs and LFs, lines at most
 *	998 octets.
 *
 *	mime_addr_ok() accepts local@domain: a dot-atom local part (RFC
 *	5322 atext) and a host name of LDH labels (dname_host_ok()); at
 *	most 254 octets.
 *
 *	mime_mailto() turns a mailto: URI (RFC 6068, as published in a
 *	TLSRPT rua) into the address: the `mailto:' prefix (any case) and
 *	any `?hfields' are dropped, %XX escapes decoded, and the result
 *	must pass mime_addr_ok().
 *
 *	mime_date() writes t (UTC seconds) as an RFC 5322 date in UTC,
 *	`Sun, 22 Nov 2026 00:10:00 +0000', without locale.
 *
 * DIAGNOSTICS
 *	mime_compose() returns 0, or -1 with *why naming the field that was
 *	refused (or `out of memory'); out is then unchanged in content
 *	(it may have grown).  mime_addr_ok() returns 1 or 0; mime_mailto()
 *	0 or -1.
 */
#ifndef MXTLS_MIME_H
#define MXTLS_MIME_H

#include <stddef.h>

#include "../lib/buf.h"

struct mime_msg {
	const char *from;		/* addr-spec or `Name <addr-spec>' */
	const char *to;			/* addr-spec */
	const char *date;		/* mime_date() */
	const char *msgid;		/* `<left@right>' */
	const char *domain;		/* the report's policy domain */
	const char *submitter;
	const char *report_id;		/* without angle brackets */
	const char *text;		/* the human-readable part */
	const unsigned char *gz;	/* the report, gzip-compressed */
	size_t gzlen;
	const char *filename;		/* RFC 8460 5.1 name */
};

int mime_compose(const struct mime_msg *m, struct buf *out, const char **why);
int mime_addr_ok(const char *addr);
int mime_mailto(const char *uri, char *addr, size_t len);
void mime_date(long long t, char *buf, size_t len);

#endif
