/*
 * rtype.h - the words of an attempt record as enums: RFC 8460 result
 * types, policy types and what mxtlsd did, pure.
 *
 * SYNOPSIS
 *	const char *rtype_str(enum rtype t);
 *	int rtype_parse(const char *s, enum rtype *t);
 *	int rtype_is_sts(enum rtype t);
 *	int rtype_is_dane(enum rtype t);
 *	int rtype_is_reported(enum rtype t);
 *
 *	const char *ptype_str(enum ptype t);
 *	int ptype_parse(const char *s, enum ptype *t);
 *
 *	const char *raction_str(enum raction a);
 *	int raction_parse(const char *s, enum raction *a);
 *
 * DESCRIPTION
 *	In memory a result type, a policy type or an action is one of these
 *	enums, from where it is decided (policy/, proxy/) to where it is
 *	written (record.c, agg.c's renderer, the MTA-STS cache file); the
 *	words exist only on disk, in reports and in logs.
 *
 *	enum rtype: RTYPE_NONE (no result type: nothing failed, or the
 *	failure is not a TLS one; it has no word), `success', the eleven
 *	RFC 8460 4.3 result types, and `connection-failure' (ours: no TLS
 *	session at all, journaled but never reported).  enum ptype: the
 *	RFC 8460 4.4 policy types tlsa, sts and no-policy-found.  enum
 *	raction: delivered, refused, delivered-anyway, failed.
 *
 *	*_str() gives the word (NULL for RTYPE_NONE and for a value out of
 *	range).  *_parse() sets *t from a word and returns 0, or returns -1
 *	(and leaves *t alone) for anything but a word exactly as written
 *	here: no other case, no prefix, no trailing bytes, not "".
 *
 *	rtype_is_sts() is true for the MTA-STS failures (sts-policy-fetch-
 *	error, sts-policy-invalid, sts-webpki-invalid), rtype_is_dane() for
 *	those only DANE gives (tlsa-invalid, dnssec-invalid, dane-required),
 *	rtype_is_reported() for every word but connection-failure: the
 *	results that belong in an RFC 8460 report.
 */
#ifndef MXTLS_RTYPE_H
#define MXTLS_RTYPE_H

enum rtype {
	RTYPE_NONE,			/* no result type; no word */
	RTYPE_SUCCESS,
	RTYPE_STARTTLS_NOT_SUPPORTED,
	RTYPE_CERTIFICATE_HOST_MISMATCH,
	RTYPE_CERTIFICATE_EXPIRED,
	RTYPE_CERTIFICATE_NOT_TRUSTED,
	RTYPE_VALIDATION_FAILURE,
	RTYPE_TLSA_INVALID,
	RTYPE_DNSSEC_INVALID,
	RTYPE_DANE_REQUIRED,
	RTYPE_STS_POLICY_FETCH_ERROR,
	RTYPE_STS_POLICY_INVALID,
	RTYPE_STS_WEBPKI_INVALID,
	RTYPE_CONNECTION_FAILURE,	/* ours: no TLS session, not reported */
	RTYPE_COUNT
};

enum ptype {
	PTYPE_TLSA,
	PTYPE_STS,
	PTYPE_NO_POLICY_FOUND,
	PTYPE_COUNT
};

enum raction {
	RACTION_DELIVERED,
	RACTION_REFUSED,
	RACTION_DELIVERED_ANYWAY,
	RACTION_FAILED,
	RACTION_WOULD_REFUSE,		/* mode = report-only */
	RACTION_COUNT
};

const char *rtype_str(enum rtype t);
int rtype_parse(const char *s, enum rtype *t);
int rtype_is_sts(enum rtype t);
int rtype_is_dane(enum rtype t);
int rtype_is_reported(enum rtype t);

const char *ptype_str(enum ptype t);
int ptype_parse(const char *s, enum ptype *t);

const char *raction_str(enum raction a);
int raction_parse(const char *s, enum raction *a);

#endif
