/*
 * test_smap.c - proxy/smap.c: the socketmap wire format against hostile
 * input.  The netstring reader's every outcome (split at every byte
 * boundary, leading zeros, an oversize prefix refused before its bytes,
 * a wrong length, no comma, NUL in the payload), the request splitter,
 * the query-key forms Postfix sends, and the reply formatter (read back
 * by the reader, too-small buffers, refused text).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../../proxy/smap.h"
#include "t.h"

#define S(x)	x, sizeof(x) - 1

struct rcase {
	const char *label;
	const char *in;
	size_t len;
	int want;			/* SMAP_NEED, SMAP_OK, SMAP_BAD */
	const char *data;		/* SMAP_OK: the payload */
	size_t dlen;
	size_t used;
};

static const struct rcase rcases[] = {
	{"empty input", S(""), SMAP_NEED, NULL, 0, 0},
	{"digits only", S("12"), SMAP_NEED, NULL, 0, 0},
	{"five digits", S("10000"), SMAP_NEED, NULL, 0, 0},
	{"length and colon", S("3:"), SMAP_NEED, NULL, 0, 0},
	{"payload short", S("3:ab"), SMAP_NEED, NULL, 0, 0},
	{"comma missing yet", S("3:abc"), SMAP_NEED, NULL, 0, 0},
	{"plain", S("3:abc,"), SMAP_OK, S("abc"), 6},
	{"empty netstring", S("0:,"), SMAP_OK, S(""), 3},
	{"next one left", S("1:a,1:b,"), SMAP_OK, S("a"), 4},
	{"trailing junk is the next one's", S("1:a,x"), SMAP_OK, S("a"), 4},
	{"NUL in payload", S("3:a\0b,"), SMAP_OK, S("a\0b"), 6},
	{"comma and colon in payload", S("3:,:,,"), SMAP_OK, S(",:,"), 6},
	{"payload of 10000 fits", S("10000:"), SMAP_NEED, NULL, 0, 0},
	{"10001 refused", S("10001"), SMAP_BAD, NULL, 0, 0},
	{"99999 refused at once", S("99999"), SMAP_BAD, NULL, 0, 0},
	{"99999 refused before colon", S("99999:"), SMAP_BAD, NULL, 0, 0},
	{"oversize at the fifth digit", S("20000"), SMAP_BAD, NULL, 0, 0},
	{"six digits", S("000001"), SMAP_BAD, NULL, 0, 0},
	{"six digits, small value", S("100000"), SMAP_BAD, NULL, 0, 0},
	{"leading zero", S("03:abc,"), SMAP_BAD, NULL, 0, 0},
	{"leading zero before it arrives", S("00"), SMAP_BAD, NULL, 0, 0},
	{"zero alone", S("0"), SMAP_NEED, NULL, 0, 0},
	{"no length", S(":abc,"), SMAP_BAD, NULL, 0, 0},
	{"sign", S("+3:abc,"), SMAP_BAD, NULL, 0, 0},
	{"minus", S("-3:abc,"), SMAP_BAD, NULL, 0, 0},
	{"space before", S(" 3:abc,"), SMAP_BAD, NULL, 0, 0},
	{"space after digits", S("3 :abc,"), SMAP_BAD, NULL, 0, 0},
	{"hex", S("0x3:abc,"), SMAP_BAD, NULL, 0, 0},
	{"letter", S("a"), SMAP_BAD, NULL, 0, 0},
	{"length says more than is there", S("4:abc,"), SMAP_NEED, NULL, 0, 0},
	{"length says less than is there", S("2:abc,"), SMAP_BAD, NULL, 0, 0},
	{"no comma", S("3:abc;"), SMAP_BAD, NULL, 0, 0},
	{"LF for comma", S("3:abc\n"), SMAP_BAD, NULL, 0, 0},
	{"NUL for colon", S("3\0abc,"), SMAP_BAD, NULL, 0, 0},
	{"8-bit digit", S("3\xb3:abc,"), SMAP_BAD, NULL, 0, 0},
};

/* reader - the fixed cases */
static void
reader(void)
{
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		const char *data = NULL, *why = NULL;
		size_t dlen = 0, used = 0;
		int r = smap_read(c->in, c->len, &data, &dlen, &used, &why);
		int ok = r == c->want;

		if (ok && r == SMAP_OK)
			ok = dlen == c->dlen && used == c->used
			    && data == c->in + (c->used - c->dlen - 1)
			    && memcmp(data, c->data, dlen) == 0;
		if (ok && r == SMAP_BAD)
			ok = why != NULL && *why;
		T_CASE(c->label, ok, "got %d (dlen %zu used %zu), want %d", r, dlen,
		    used, c->want);
	}
}

/* boundaries - every prefix of a good netstring is NEED, the whole OK */
static void
boundaries(void)
{
	static const char ns[] = "19:postfix example.com,";
	size_t n = sizeof(ns) - 1;
	const char *data, *why;
	size_t dlen, used;
	int bad = 0, r;

	for (size_t cut = 0; cut < n; cut++)
		if (smap_read(ns, cut, &data, &dlen, &used, &why) != SMAP_NEED)
			bad++;
	r = smap_read(ns, n, &data, &dlen, &used, &why);
	T_CASE("every prefix is NEED", bad == 0, "%d prefixes were not", bad);
	T_CASE("the whole is OK", r == SMAP_OK && used == n && dlen == 19
	    && memcmp(data, "postfix example.com", 19) == 0, "got %d", r);
}

/* oversize - a 10000-octet payload is read, 10001 refused on its prefix */
static void
oversize(void)
{
	static char big[SMAP_MAX + 16];
	const char *data, *why;
	size_t dlen, used;
	int r;

	memcpy(big, "10000:", 6);
	memset(big + 6, 'x', SMAP_MAX);
	big[6 + SMAP_MAX] = ',';
	r = smap_read(big, 6 + SMAP_MAX + 1, &data, &dlen, &used, &why);
	T_CASE("10000 octets read", r == SMAP_OK && dlen == SMAP_MAX
	    && used == 6 + SMAP_MAX + 1, "got %d", r);
	r = smap_read(big, 6 + SMAP_MAX, &data, &dlen, &used, &why);
	T_CASE("10000 octets without comma: NEED", r == SMAP_NEED, "got %d", r);
	r = smap_read("10001:", 6, &data, &dlen, &used, &why);
	T_CASE("10001 refused on the prefix", r == SMAP_BAD, "got %d", r);
}

struct scase {
	const char *label;
	const char *in;
	size_t len;
	int want;			/* 0 or -1 */
	const char *name, *key;
};

static const struct scase scases[] = {
	{"name and domain", S("postfix example.com"), 0, "postfix", "example.com"},
	{"tlsrpt map", S("postfix-tlsrpt example.com."), 0, "postfix-tlsrpt", "example.com."},
	{"bracketed key", S("postfix [mx.example.com]:25"), 0, "postfix", "[mx.example.com]:25"},
	{"IPv6 key", S("postfix [2001:db8::1]:25"), 0, "postfix", "[2001:db8::1]:25"},
	{"key with spaces", S("m a b c"), 0, "m", "a b c"},
	{"key after a second space", S("m  k"), 0, "m", " k"},
	{"underscore name", S("my_map k"), 0, "my_map", "k"},
	{"no space", S("postfix"), -1, NULL, NULL},
	{"empty", S(""), -1, NULL, NULL},
	{"empty name", S(" example.com"), -1, NULL, NULL},
	{"empty key", S("postfix "), -1, NULL, NULL},
	{"NUL in key", S("postfix exa\0mple.com"), -1, NULL, NULL},
	{"CR in key", S("postfix example.com\r"), -1, NULL, NULL},
	{"LF in key", S("postfix exa\nmple.com"), -1, NULL, NULL},
	{"NUL in name", S("post\0fix k"), -1, NULL, NULL},
	{"dot in name", S("post.fix k"), -1, NULL, NULL},
	{"colon in name", S("inet:postfix k"), -1, NULL, NULL},
	{"tab for space", S("postfix\texample.com"), -1, NULL, NULL},
	{"8-bit name", S("p\xc3\xa9 k"), -1, NULL, NULL},
	{"name of 65", S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa k"),
	    -1, NULL, NULL},
	{"name of 64", S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa k"),
	    0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "k"},
};

/* splitter - the fixed request cases */
static void
splitter(void)
{
	for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		const struct scase *c = &scases[i];
		struct smap_req req;
		const char *why = NULL;
		int r = smap_split(c->in, c->len, &req, &why), ok = r == c->want;

		if (ok && r == 0)
			ok = req.namelen == strlen(c->name) && req.keylen == strlen(c->key)
			    && memcmp(req.name, c->name, req.namelen) == 0
			    && memcmp(req.key, c->key, req.keylen) == 0
			    && req.name == c->in && req.key > c->in
			    && req.key + req.keylen == c->in + c->len;
		if (ok && r < 0)
			ok = why != NULL;
		T_CASE(c->label, ok, "got %d, want %d", r, c->want);
	}
}

struct kcase {
	const char *in;
	size_t len;
	int want;			/* 0 or -1 */
	int kind, family;
	unsigned port;
	const char *name;
};

static const struct kcase kcases[] = {
	{S("example.com"), 0, SMAP_KEY_DOMAIN, 0, 0, "example.com"},
	{S("example.com."), 0, SMAP_KEY_DOMAIN, 0, 0, "example.com"},
	{S("Example.COM"), 0, SMAP_KEY_DOMAIN, 0, 0, "example.com"},
	{S("_dmarc.example"), 0, SMAP_KEY_DOMAIN, 0, 0, "_dmarc.example"},
	{S("[mx.example.com]"), 0, SMAP_KEY_HOST, 0, 0, "mx.example.com"},
	{S("[MX.Example.com.]"), 0, SMAP_KEY_HOST, 0, 0, "mx.example.com"},
	{S("[mx.example.com]:25"), 0, SMAP_KEY_HOST, 0, 25, "mx.example.com"},
	{S("[mx.example.com]:65535"), 0, SMAP_KEY_HOST, 0, 65535, "mx.example.com"},
	{S("[192.0.2.25]"), 0, SMAP_KEY_HOST, AF_INET, 0, "192.0.2.25"},
	{S("[192.0.2.25]:587"), 0, SMAP_KEY_HOST, AF_INET, 587, "192.0.2.25"},
	{S("[2001:db8::1]:25"), 0, SMAP_KEY_HOST, AF_INET6, 25, "2001:db8::1"},
	{S("[2001:DB8:0:0::1]"), 0, SMAP_KEY_HOST, AF_INET6, 0, "2001:db8::1"},
	{S("192.0.2.25"), 0, SMAP_KEY_DOMAIN, 0, 0, "192.0.2.25"},
	{S(""), -1, 0, 0, 0, NULL},
	{S("."), -1, 0, 0, 0, NULL},
	{S("example.com.."), -1, 0, 0, 0, NULL},
	{S("example.com:25"), -1, 0, 0, 0, NULL},
	{S(" example.com"), -1, 0, 0, 0, NULL},
	{S("exa mple.com"), -1, 0, 0, 0, NULL},
	{S("exa\0mple.com"), -1, 0, 0, 0, NULL},
	{S("[]"), -1, 0, 0, 0, NULL},
	{S("[]:25"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:0"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:025"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:65536"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:99999"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:100000"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:smtp"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]:+25"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]x"), -1, 0, 0, 0, NULL},
	{S("[mx.example.com]]"), -1, 0, 0, 0, NULL},
	{S("[[mx.example.com]]"), -1, 0, 0, 0, NULL},
	{S("[2001:db8::g]"), -1, 0, 0, 0, NULL},
	{S("[2001:db8::1]:25:25"), -1, 0, 0, 0, NULL},
	{S("[2001:db8::1"), -1, 0, 0, 0, NULL},
	{S("2001:db8::1"), -1, 0, 0, 0, NULL},
	{S("[192.0.2.256]"), -1, 0, 0, 0, NULL},
	{S("[mx\0.example]"), -1, 0, 0, 0, NULL},
};

/* keys - the query forms */
static void
keys(void)
{
	for (size_t i = 0; i < sizeof(kcases) / sizeof(kcases[0]); i++) {
		const struct kcase *c = &kcases[i];
		struct smap_key k;
		const char *why = NULL;
		char label[80];
		int r = smap_key_parse(c->in, c->len, &k, &why), ok = r == c->want;

		if (ok && r == 0)
			ok = k.kind == c->kind && k.family == c->family && k.port == c->port
			    && strcmp(k.name, c->name) == 0;
		if (ok && r < 0)
			ok = why != NULL;
		snprintf(label, sizeof(label), "key \"%.*s\"", (int) c->len, c->in);
		for (char *p = label; *p; p++)
			if (*p < ' ')
				*p = '?';
		T_CASE(label, ok, "got %d kind %d family %d port %u name %s", r,
		    r == 0 ? k.kind : 0, r == 0 ? k.family : 0, r == 0 ? k.port : 0,
		    r == 0 ? k.name : "-");
	}
}

struct fcase {
	const char *label;
	int kind;
	const char *text;
	size_t tlen;
	int want;			/* 0 or -1 */
	const char *out;		/* the netstring */
};

static const struct fcase fcases[] = {
	{"OK", SMAP_R_OK, S("dane-only"), 0, "12:OK dane-only,"},
	{"OK secure", SMAP_R_OK, S("secure match=.example.com servername=hostname"), 0,
	    "48:OK secure match=.example.com servername=hostname,"},
	{"NOTFOUND", SMAP_R_NOTFOUND, S(""), 0, "9:NOTFOUND ,"},
	{"NOTFOUND, text NULL", SMAP_R_NOTFOUND, NULL, 0, 0, "9:NOTFOUND ,"},
	{"TEMP empty", SMAP_R_TEMP, S(""), 0, "5:TEMP ,"},
	{"TEMP reason", SMAP_R_TEMP, S("lookup in progress"), 0, "23:TEMP lookup in progress,"},
	{"PERM reason", SMAP_R_PERM, S("bad request"), 0, "16:PERM bad request,"},
	{"comma in value", SMAP_R_OK, S("a,b"), 0, "6:OK a,b,"},
	{"OK empty refused", SMAP_R_OK, S(""), -1, NULL},
	{"NOTFOUND with text refused", SMAP_R_NOTFOUND, S("x"), -1, NULL},
	{"NUL refused", SMAP_R_PERM, S("a\0b"), -1, NULL},
	{"CR refused", SMAP_R_TEMP, S("a\rb"), -1, NULL},
	{"LF refused", SMAP_R_OK, S("a\nb"), -1, NULL},
	{"kind 0 refused", 0, S("x"), -1, NULL},
	{"kind 5 refused", 5, S("x"), -1, NULL},
	{"kind -1 refused", -1, S("x"), -1, NULL},
};

/* formatter - fixed replies, each read back */
static void
formatter(void)
{
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		const struct fcase *c = &fcases[i];
		char out[128];
		const char *data, *why;
		size_t olen = 0, dlen, used;
		int r = smap_reply(out, sizeof(out), c->kind, c->text, c->tlen, &olen);
		int ok = r == c->want;

		if (ok && r == 0)
			ok = olen == strlen(c->out) && memcmp(out, c->out, olen) == 0
			    && smap_read(out, olen, &data, &dlen, &used, &why) == SMAP_OK
			    && used == olen && data == out + (olen - dlen - 1);
		T_CASE(c->label, ok, "got %d \"%.*s\"", r, (int) olen, out);
	}
}

/* small - every buffer short of the reply fails; the exact size works */
static void
small(void)
{
	static char text[SMAP_MAX], out[SMAP_MAX + 16];
	const char *data, *why;
	size_t need, olen, dlen, used;
	int bad = 0, r;

	if (smap_reply(out, sizeof(out), SMAP_R_TEMP, S("busy"), &need) < 0)
		need = 0;
	for (size_t size = 0; size < need; size++)
		if (smap_reply(out, size, SMAP_R_TEMP, S("busy"), &olen) == 0)
			bad++;
	T_CASE("short buffers refused", need == 12 && bad == 0, "need %zu, %d taken", need,
	    bad);
	r = smap_reply(out, need, SMAP_R_TEMP, S("busy"), &olen);
	T_CASE("exact buffer", r == 0 && olen == need, "got %d", r);

	memset(text, 'v', sizeof(text));
	r = smap_reply(out, sizeof(out), SMAP_R_OK, text, SMAP_MAX - 3, &olen);
	T_CASE("payload of 10000", r == 0 && olen == 6 + SMAP_MAX + 1
	    && smap_read(out, olen, &data, &dlen, &used, &why) == SMAP_OK
	    && dlen == SMAP_MAX, "got %d olen %zu", r, olen);
	r = smap_reply(out, sizeof(out), SMAP_R_OK, text, SMAP_MAX - 2, &olen);
	T_CASE("payload of 10001 refused", r < 0, "got %d", r);
	r = smap_reply(out, sizeof(out), SMAP_R_PERM, text, SMAP_MAX, &olen);
	T_CASE("text of 10000 refused", r < 0, "got %d", r);
	r = smap_reply(out, 6 + SMAP_MAX, SMAP_R_OK, text, SMAP_MAX - 3, &olen);
	T_CASE("one short of 10000", r < 0, "got %d", r);
}

/* stream - two requests in one read, then one byte at a time */
static void
stream(void)
{
	static const char in[] = "20:postfix example.com.,24:postfix [2001:db8::1]:25,";
	size_t n = sizeof(in) - 1, off = 0, got = 0, have;
	const char *data, *why;
	size_t dlen, used;
	struct smap_req req;
	struct smap_key k;
	int ok = 1;

	while (off < n && smap_read(in + off, n - off, &data, &dlen, &used, &why) == SMAP_OK) {
		if (smap_split(data, dlen, &req, &why) < 0
		    || smap_key_parse(req.key, req.keylen, &k, &why) < 0)
			ok = 0;
		off += used;
		got++;
	}
	T_CASE("two requests in one read", ok && got == 2 && off == n, "got %zu", got);
	for (off = 0, got = 0, have = 0; have <= n; have++) {
		int r = smap_read(in + off, have - off, &data, &dlen, &used, &why);

		if (r == SMAP_BAD)
			break;
		if (r == SMAP_OK) {
			off += used;
			got++;
		}
	}
	T_CASE("one byte at a time", got == 2 && off == n, "got %zu at %zu", got, off);
}

int
main(void)
{
	T_INIT("test_smap");
	reader();
	boundaries();
	oversize();
	splitter();
	keys();
	formatter();
	small();
	stream();
	return t_done();
}
