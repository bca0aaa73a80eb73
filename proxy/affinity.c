/*
 * affinity.c - which worker owns a destination.  See affinity.h.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "affinity.h"

/* fnv - FNV-1a over len bytes, continuing h */
static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* aff_owner - the worker of a destination */
unsigned
aff_owner(const struct sockaddr_storage *dst, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned char fam;

	if (n <= 1)
		return 0;
	if (dst->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *) dst;

		fam = 4;
		h = fnv(h, &fam, 1);
		h = fnv(h, &a->sin_addr, sizeof(a->sin_addr));
		h = fnv(h, &a->sin_port, sizeof(a->sin_port));
	} else if (dst->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) dst;

		fam = 6;
		h = fnv(h, &fam, 1);
		h = fnv(h, &a->sin6_addr, sizeof(a->sin6_addr));
		h = fnv(h, &a->sin6_port, sizeof(a->sin6_port));
	} else {
		return 0;
	}
	/* MurmurHash3's finalizer: every input bit reaches every output bit */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (unsigned) (((h & 0xffffffffULL) * n) >> 32);
}
