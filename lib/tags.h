/*
 * tags.h - `key=value; key=value' fields, as DNS TXT policies write them
 * (MTA-STS, RFC 8461 3.1; TLSRPT, RFC 8460 3), pure.
 *
 * SYNOPSIS
 *	int tag_next(const char *t, size_t n, size_t *pos, struct tag *tg,
 *		const char **why);
 *
 * DESCRIPTION
 *	tag_next() reads the field at *pos: fields are separated by `;' with
 *	optional white space around them; a field must have a key and `='.
 *	Returns 1 with the field in *tg (the key as written; the value from
 *	just after `=' to its last non-blank octet), 0 at the end (a final
 *	`;' is allowed), or -1 with a reason (an empty field in the middle, a
 *	field without `=').
 */
#ifndef MXTLS_TAGS_H
#define MXTLS_TAGS_H

#include <stddef.h>

struct tag {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
};

int tag_next(const char *t, size_t n, size_t *pos, struct tag *tg,
    const char **why);

/* tag_is - does the key equal s? */
static inline int
tag_is(const struct tag *tg, const char *s, size_t len)
{
	size_t i;

	if (tg->klen != len)
		return 0;
	for (i = 0; i < len && tg->key[i] == s[i]; i++)
		;
	return i == len;
}

#endif
