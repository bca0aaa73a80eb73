/*
 * tags.c - `key=value; key=value' fields.  See tags.h.
 */
#include "tags.h"

/* is_ws - the white space allowed around fields */
static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* tag_next - the next field, or the end */
int
tag_next(const char *t, size_t n, size_t *pos, struct tag *tg, const char **why)
{
	size_t i = *pos, fs, fe, ks, ke, ve;

	if (i > n)
		return 0;
	fs = i;
	while (i < n && t[i] != ';')
		i++;
	fe = i;
	*pos = i + 1;			/* past ';' (or the end) */
	ks = fs;
	while (ks < fe && is_ws(t[ks]))
		ks++;
	ve = fe;
	while (ve > ks && is_ws(t[ve - 1]))
		ve--;
	if (ks == ve) {
		if (fe >= n)
			return 0;	/* `...;' at the end */
		*why = "empty field";
		return -1;
	}
	for (ke = ks; ke < ve && t[ke] != '='; ke++)
		;
	if (ke == ve) {
		*why = "field without '='";
		return -1;
	}
	tg->key = t + ks;
	tg->klen = ke - ks;
	tg->val = t + ke + 1;
	tg->vlen = ve - (ke + 1);
	return 1;
}
