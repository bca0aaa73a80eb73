/*
 * fuzz_dnsmsg.c - libFuzzer target for proxy/dnsmsg.c: the input as an
 * IP packet (and, when it unwraps, its DNS message) and as a DNS message
 * itself, then once more with its IP and UDP lengths made to agree with
 * the input's size (so that mutations reach the transport and the
 * message).  Nothing may read outside the input; what is kept must hold
 * the invariants the watcher relies on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnsmsg m;

/* name_ok - NUL-terminated within the buffer, printable, no dot at ends */
static void
name_ok(const char *n)
{
	size_t l = strnlen(n, DNSMSG_NAME_MAX), i;

	if (l >= DNSMSG_NAME_MAX)
		abort();
	for (i = 0; i < l; i++)
		if (n[i] < 0x21 || n[i] > 0x7e || (n[i] >= 'A' && n[i] <= 'Z'))
			abort();
	if (l > 0 && (n[0] == '.' || n[l - 1] == '.' || strstr(n, "..")))
		abort();
}

/* check - parse msg[0..len) and check what it keeps */
static void
check(const uint8_t *msg, size_t len)
{
	char why[128];
	int i, r;

	why[0] = '\0';
	r = dnsmsg_parse(msg, len, &m, why, sizeof(why));
	if (r != 0 && r != -1)
		abort();
	if (r == -1 && (why[0] == '\0' || strlen(why) >= sizeof(why)))
		abort();
	if (r != 0)
		return;
	if (m.nrr < 0 || m.nrr > DNSMSG_MAX_RR || m.nskipped < 0)
		abort();
	name_ok(m.qname);
	for (i = 0; i < m.nrr; i++) {
		const struct dnsmsg_rr *rr = &m.rr[i];

		if (rr->type != DNSMSG_A && rr->type != DNSMSG_AAAA
		    && rr->type != DNSMSG_MX && rr->type != DNSMSG_CNAME)
			abort();
		name_ok(rr->owner);
		if (rr->type == DNSMSG_MX || rr->type == DNSMSG_CNAME)
			name_ok(rr->target);
	}
}

/* fixup - set the IP and UDP lengths to agree with size, to go deeper */
static void
fixup(uint8_t *b, size_t size)
{
	size_t t;
	int proto;

	if (size > 0xffff)
		return;
	if (size >= 20 && b[0] >> 4 == 4) {
		b[2] = (uint8_t) (size >> 8);
		b[3] = (uint8_t) size;
		b[6] &= 0x40;
		b[7] = 0;
		t = (size_t) (b[0] & 0x0f) * 4;
		proto = b[9];
	} else if (size >= 40 && b[0] >> 4 == 6) {
		b[4] = (uint8_t) ((size - 40) >> 8);
		b[5] = (uint8_t) (size - 40);
		t = 40;
		proto = b[6];
	} else
		return;
	if (t >= 20 && size >= t + 8 && proto == 17) {
		b[t + 4] = (uint8_t) ((size - t) >> 8);
		b[t + 5] = (uint8_t) (size - t);
	}
}

/* unwrap - dnspkt_unwrap() on b, its invariants, and its message parsed */
static void
unwrap(const uint8_t *b, size_t size)
{
	struct dnspkt p;
	char why[128];
	int r;

	why[0] = '\0';
	r = dnspkt_unwrap(b, size, &p, why, sizeof(why));
	if (r != 0 && r != -1 && r != DNSPKT_SKIP)
		abort();
	if (r == -1 && why[0] == '\0')
		abort();
	if (r == 0) {
		if (p.off > size || p.len > size - p.off || p.len == 0
		    || (p.src.ss_family != AF_INET
		    && p.src.ss_family != AF_INET6)
		    || p.src.ss_family != p.dst.ss_family)
			abort();
		check(b + p.off, p.len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);	/* exact size for ASan */

	memcpy(copy, data, size);
	unwrap(copy, size);
	check(copy, size);
	fixup(copy, size);
	unwrap(copy, size);
	free(copy);
	return 0;
}
