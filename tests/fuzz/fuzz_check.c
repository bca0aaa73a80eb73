/*
 * fuzz_check.c - libFuzzer target for what mxtls-check reads from a peer
 * and from its command line (tools/check_out.c): the input's first octet
 * splits it into TXT rdata pieces for chk_txt_add() and chk_txt_parse(),
 * the rest of it is also a --dest for chk_parse_dest().  Invariants: a
 * record never holds more than CHK_TXT_LEN - 1 octets and ends in a NUL
 * at its length, at most CHK_TXT_MAX records are kept, an id found is 1
 * to 32 alphanumerics, and a --dest that parses is an address whose text
 * form parses again to the same address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/addr.h"
#include "../../tools/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* txt - the rdata pieces, then the invariants */
static void
txt(const uint8_t *data, size_t size)
{
	struct chk_txt t;
	size_t piece = size ? (size_t) data[0] % 64 + 1 : 1, off = 1;

	memset(&t, 0, sizeof(t));
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece;

		chk_txt_add(&t, data + off, n);
		off += n;
	}
	if (t.n > CHK_TXT_MAX)
		abort();
	for (int i = 0; i < t.n; i++)
		if (t.len[i] > CHK_TXT_LEN - 1 || t.rec[i][t.len[i]] != 0)
			abort();
	chk_txt_parse(&t);
	if (t.ok) {
		size_t n = strlen(t.id);

		if (n < 1 || n > STS_ID_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!((t.id[i] >= '0' && t.id[i] <= '9') || (t.id[i] >= 'a' && t.id[i] <= 'z')
				|| (t.id[i] >= 'A' && t.id[i] <= 'Z')))
				abort();
	} else if (t.why == NULL)
		abort();
}

/* dest - a --dest that parses reads back the same */
static void
dest(const uint8_t *data, size_t size)
{
	char s[128], back[ADDR_STRLEN];
	struct sockaddr_storage a, b;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = 0;
	if (chk_parse_dest(s, &a) < 0)
		return;
	addr_port_str(&a, back, sizeof(back));
	if (chk_parse_dest(back, &b) < 0 || !addr_same(&a, &b))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	txt(data, size);
	dest(data, size);
	return 0;
}
