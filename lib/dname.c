/*
 * dname.c - domain names in presentation form: the one syntax check and
 * the one lower-casing.  See dname.h.
 */
#include <string.h>

#include "dname.h"

#define LET_DIG(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') \
	|| ((c) >= '0' && (c) <= '9'))

/* name_ok - the rule of both predicates; underscore: `_' may stand in a
 * label */
static int
name_ok(const char *s, size_t n, int underscore)
{
	size_t label = 0;

	if (n == 0 || n > DNAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;	/* empty label, or `-' at its end */
			label = 0;
		} else if (LET_DIG(c) || (c == '_' && underscore) || (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/* dname_host_ok - a host name: LDH labels */
int
dname_host_ok(const char *name, size_t len)
{
	return name_ok(name, len, 0);
}

/* dname_dns_ok - a host name as the DNS may hold it: `_' allowed too */
int
dname_dns_ok(const char *name, size_t len)
{
	return name_ok(name, len, 1);
}

/* dname_trim_dot - the length without one trailing dot */
size_t
dname_trim_dot(const char *name, size_t len)
{
	return len > 0 && name[len - 1] == '.' ? len - 1 : len;
}

/* dname_lower - a copy with A-Z in lower case */
size_t
dname_lower(char *out, size_t size, const char *in, size_t len)
{
	size_t n = 0;

	for (; n < len && n + 1 < size; n++)
		out[n] = in[n] >= 'A' && in[n] <= 'Z' ? (char) (in[n] - 'A' + 'a') : in[n];
	out[n] = 0;
	return n;
}

/* dname_norm - lower case, without one trailing dot */
void
dname_norm(char *out, size_t size, const char *in)
{
	size_t n = dname_lower(out, size, in, strlen(in));

	out[dname_trim_dot(out, n)] = 0;
}
