/*
 * rtype.c - result types, policy types and actions: word tables indexed
 * by the enum, checked at compile time.  See rtype.h.
 */
#include <stddef.h>
#include <string.h>

#include "rtype.h"

static const char *const rtypes[] = {
	[RTYPE_NONE] = NULL,
	[RTYPE_SUCCESS] = "success",
	[RTYPE_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
	[RTYPE_CERTIFICATE_HOST_MISMATCH] = "certificate-host-mismatch",
	[RTYPE_CERTIFICATE_EXPIRED] = "certificate-expired",
	[RTYPE_CERTIFICATE_NOT_TRUSTED] = "certificate-not-trusted",
	[RTYPE_VALIDATION_FAILURE] = "validation-failure",
	[RTYPE_TLSA_INVALID] = "tlsa-invalid",
	[RTYPE_DNSSEC_INVALID] = "dnssec-invalid",
	[RTYPE_DANE_REQUIRED] = "dane-required",
	[RTYPE_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
	[RTYPE_STS_POLICY_INVALID] = "sts-policy-invalid",
	[RTYPE_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
	[RTYPE_CONNECTION_FAILURE] = "connection-failure",
};

static const char *const ptypes[] = {
	[PTYPE_TLSA] = "tlsa",
	[PTYPE_STS] = "sts",
	[PTYPE_NO_POLICY_FOUND] = "no-policy-found",
};

static const char *const ractions[] = {
	[RACTION_DELIVERED] = "delivered",
	[RACTION_REFUSED] = "refused",
	[RACTION_DELIVERED_ANYWAY] = "delivered-anyway",
	[RACTION_WOULD_REFUSE] = "would-refuse",
	[RACTION_FAILED] = "failed",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(NELEM(rtypes) == RTYPE_COUNT, "a result type without a word");
_Static_assert(NELEM(ptypes) == PTYPE_COUNT, "a policy type without a word");
_Static_assert(NELEM(ractions) == RACTION_COUNT, "an action without a word");

/* index_of - the index of word s in a table of n, or -1 */
static int
index_of(const char *const *tab, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (tab[i] != NULL && strcmp(tab[i], s) == 0)
			return (int) i;
	return -1;
}

/*
 * WORDS(name, tab) defines the two functions of one enum from its table:
 * name_str(), the word of a value (NULL when it has none), and
 * name_parse(), the value of an exact word (-1 when it is none).
 */
#define WORDS(name, tab) \
const char * \
name##_str(enum name v) \
{ \
	return (unsigned) v < NELEM(tab) ? tab[v] : NULL; \
} \
\
int \
name##_parse(const char *s, enum name *v) \
{ \
	int i = index_of(tab, NELEM(tab), s); \
\
	return i < 0 ? -1 : (*v = (enum name) i, 0); \
}

/* rtype_str, rtype_parse - a result type and its word */
WORDS(rtype, rtypes)

/* ptype_str, ptype_parse - a policy type and its word */
WORDS(ptype, ptypes)

/* raction_str, raction_parse - an action and its word */
WORDS(raction, ractions)

/* rtype_is_sts - an MTA-STS policy failure */
int
rtype_is_sts(enum rtype t)
{
	return t == RTYPE_STS_POLICY_FETCH_ERROR || t == RTYPE_STS_POLICY_INVALID
	    || t == RTYPE_STS_WEBPKI_INVALID;
}

/* rtype_is_dane - a failure only DANE gives */
int
rtype_is_dane(enum rtype t)
{
	return t == RTYPE_TLSA_INVALID || t == RTYPE_DNSSEC_INVALID
	    || t == RTYPE_DANE_REQUIRED;
}

/* rtype_is_reported - a result an RFC 8460 report counts */
int
rtype_is_reported(enum rtype t)
{
	return t != RTYPE_CONNECTION_FAILURE && rtype_str(t) != NULL;
}
