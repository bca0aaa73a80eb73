/*
 * fuzz_rr.c - libFuzzer target for rdata decoding (names, MX, TLSA) and
 * TLSA presentation, and the name checks of lib/dname.c on the raw input
 * (a host name is a DNS name; lower-casing keeps a name a name).  Nothing
 * may read outside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/dname.h"
#include "../../policy/dane.h"
#include "../../policy/rr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);	/* exact-size buffer for ASan */
	char out[RR_NAME_MAX], txt[300];
	struct rr_tlsa t;
	const char *why;
	size_t off = 0;
	int pref;

	memcpy(copy, data, size);
	if (rr_name(copy, size, &off, out, sizeof(out)) == 0) {
		if (off > size || strlen(out) >= sizeof(out)
		    || !(dname_dns_ok(out, strlen(out)) || strcmp(out, ".") == 0))
			abort();
	}
	if (dname_host_ok((const char *) copy, size) && !dname_dns_ok((const char *) copy, size))
		abort();
	if (size < sizeof(out)) {
		size_t n = dname_lower(out, sizeof(out), (const char *) copy, size);

		if (n != size || dname_dns_ok(out, n) != dname_dns_ok((const char *) copy, size))
			abort();
	}
	(void) rr_mx(copy, size, &pref, out, sizeof(out));
	if (rr_tlsa(copy, size, &t, &why) == 0) {
		if (t.data + t.len != copy + size)
			abort();
		(void) dane_usable(&t);
		rr_tlsa_text(&t, txt, sizeof(txt));
		rr_tlsa_text(&t, txt, 7);
	}
	rr_tlsa_raw_text(copy, size, txt, sizeof(txt));
	if (strlen(txt) >= sizeof(txt))
		abort();
	rr_tlsa_raw_text(copy, size, txt, 9);
	free(copy);
	return 0;
}
