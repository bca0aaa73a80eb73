/*
 * fuzz_smap.c - libFuzzer target for the socketmap wire format: the input
 * is a stream of netstrings read one after another (as a server would),
 * each payload split as a request and its key normalised.  Invariants: a
 * netstring lies inside what it consumed, which lies inside the input;
 * every shorter prefix of it is NEED; what parses as a key reads back
 * the same from its own normalised form; a reply formatted from a key
 * reads back as that reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/smap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_key - a normalised key parses again to itself */
static void
check_key(const struct smap_key *k)
{
	char again[DNAME_MAX + 16];
	struct smap_key k2;
	const char *why;
	size_t n = strlen(k->name);

	if (n == 0 || n > DNAME_MAX)
		abort();
	if (k->kind == SMAP_KEY_HOST) {
		again[0] = '[';
		memcpy(again + 1, k->name, n);
		again[++n] = ']';
		n++;
	} else {
		memcpy(again, k->name, n);
	}
	if (smap_key_parse(again, n, &k2, &why) < 0 || k2.kind != k->kind
	    || k2.family != k->family || strcmp(k2.name, k->name) != 0)
		abort();
}

/* check_reply - a reply of the key reads back as itself */
static void
check_reply(const struct smap_req *req)
{
	static char out[SMAP_MAX + 16];
	const char *p, *why;
	size_t olen, plen, used;

	if (smap_reply(out, sizeof(out), SMAP_R_OK, req->key, req->keylen, &olen) < 0) {
		if (req->keylen <= SMAP_MAX - 3)
			abort();
		return;
	}
	if (smap_read(out, olen, &p, &plen, &used, &why) != SMAP_OK || used != olen
	    || plen != req->keylen + 3 || memcmp(p, "OK ", 3) != 0
	    || memcmp(p + 3, req->key, req->keylen) != 0)
		abort();
	if (olen > 0 && smap_reply(out, olen - 1, SMAP_R_OK, req->key, req->keylen,
	    &plen) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *) data, *p, *q, *why;
	size_t off = 0, plen, used, qlen, qused;
	struct smap_req req;
	struct smap_key k;
	int r;

	while (off < size) {
		r = smap_read(in + off, size - off, &p, &plen, &used, &why);
		if (r != SMAP_OK)
			break;
		if (used > size - off || used < plen + 3 || plen > SMAP_MAX
		    || p < in + off || p + plen + 1 != in + off + used
		    || p[plen] != ',')
			abort();
		if (smap_read(in + off, used - 1, &q, &qlen, &qused, &why) != SMAP_NEED)
			abort();
		if (smap_split(p, plen, &req, &why) == 0) {
			if (req.name != p || req.key + req.keylen != p + plen
			    || req.namelen == 0 || req.keylen == 0)
				abort();
			check_reply(&req);
			if (smap_key_parse(req.key, req.keylen, &k, &why) == 0)
				check_key(&k);
		}
		off += used;
	}
	if (smap_key_parse(in, size, &k, &why) == 0)
		check_key(&k);
	return 0;
}
