/*
 * fuzz_ptable.c - libFuzzer target for the policy table reader: any input
 * either loads or is refused with `FILE:LINE: reason'; what loads is
 * found again by its own key, and every entry is consistent with its level.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/ptable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ptable t;
	char err[512];

	if (ptable_parse(&t, "f", (const char *) data, size, err, sizeof(err)) < 0) {
		if (strncmp(err, "f:", 2) != 0 || t.n != 0 || t.e != NULL)
			abort();
		return 0;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct ptab_entry *e = &t.e[i], *f;

		if (e->level >= PTAB_NLEVELS || (e->level == PTAB_FINGERPRINT) != (e->nfp > 0)
		    || (e->nmatch > 0) != (e->level == PTAB_VERIFY || e->level == PTAB_SECURE)
		    || (e->protocols && e->proto_ok == 0))
			abort();
		if (e->kind == PTAB_DOMAIN)
			f = ptable_find(&t, e->key);
		else if (e->kind == PTAB_SUBDOMAINS) {
			char sub[300];

			snprintf(sub, sizeof(sub), "x%s", e->key);
			f = strlen(e->key) < 250 ? ptable_find(&t, sub) : e;
			if (f && f->kind == PTAB_DOMAIN)
				f = e;		/* x.<key> has an entry of its own */
		} else
			f = e;
		if (f == NULL)
			abort();
	}
	ptable_free(&t);
	return 0;
}
