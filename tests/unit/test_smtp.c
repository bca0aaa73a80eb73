/*
 * test_smtp.c - SMTP line, command, path, reply, EHLO and end-of-data
 * parsers against good and hostile input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/smtp.h"
#include "eod_ref.h"
#include "t.h"

static void
lines(void)
{
	size_t ll = 0, used = 0;
	char *big;
	int r;

	r = smtp_getline("HELO x\r\nMAIL", 12, 1000, &ll, &used);
	T_CASE("line CRLF", r == SMTP_LINE_OK && ll == 6 && used == 8, "r=%d ll=%zu used=%zu", r, ll, used);
	r = smtp_getline("HELO x\nQUIT", 11, 1000, &ll, &used);
	T_CASE("line bare LF", r == SMTP_LINE_OK && ll == 6 && used == 7, "r=%d ll=%zu", r, ll);
	r = smtp_getline("HELO x\r", 7, 1000, &ll, &used);
	T_CASE("line incomplete", r == SMTP_LINE_NEED, "r=%d", r);
	r = smtp_getline("", 0, 1000, &ll, &used);
	T_CASE("line empty input", r == SMTP_LINE_NEED, "r=%d", r);
	big = malloc(2000);
	memset(big, 'A', 2000);
	r = smtp_getline(big, 999, 1000, &ll, &used);
	T_CASE("999 octets no LF: need more", r == SMTP_LINE_NEED, "r=%d", r);
	r = smtp_getline(big, 1000, 1000, &ll, &used);
	T_CASE("1000 octets no LF: too long", r == SMTP_LINE_LONG, "r=%d", r);
	memcpy(big + 998, "\r\n", 2);
	r = smtp_getline(big, 2000, 1000, &ll, &used);
	T_CASE("1000 octets with CRLF: ok (RFC 5321 4.5.3.1.4)", r == SMTP_LINE_OK && ll == 998,
	    "r=%d ll=%zu", r, ll);
	memset(big, 'A', 2000);
	memcpy(big + 999, "\r\n", 2);
	r = smtp_getline(big, 2000, 1000, &ll, &used);
	T_CASE("1001 octets with CRLF: too long", r == SMTP_LINE_LONG, "r=%d", r);
	free(big);
}

struct cmdcase {
	const char *line;
	enum smtp_verb verb;
	const char *args;
};

static const struct cmdcase cmds[] = {
	{"EHLO mta.example", SMTP_EHLO, "mta.example"},
	{"ehlo   mta.example  ", SMTP_EHLO, "mta.example"},
	{"MAIL FROM:<a@b>", SMTP_MAIL, "FROM:<a@b>"},
	{"QUIT", SMTP_QUIT, ""},
	{"StartTLS", SMTP_STARTTLS, ""},
	{"DATAX", SMTP_UNKNOWN, ""},
	{"", SMTP_UNKNOWN, ""},
	{"   ", SMTP_UNKNOWN, ""},
	{"GET / HTTP/1.0", SMTP_UNKNOWN, ""},
	{"RCPT\tTO:<x@y>", SMTP_RCPT, "TO:<x@y>"},
};

static void
commands(void)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct smtp_cmd c;
		char name[80];
		int ok;

		smtp_cmd_parse(cmds[i].line, strlen(cmds[i].line), &c);
		ok = c.verb == cmds[i].verb;
		if (ok && cmds[i].verb != SMTP_UNKNOWN)
			ok = c.argslen == strlen(cmds[i].args)
			    && memcmp(c.args, cmds[i].args, c.argslen) == 0;
		snprintf(name, sizeof(name), "command \"%s\"", cmds[i].line);
		T_CASE(name, ok, "verb=%d args=%.*s", c.verb, (int) c.argslen, c.args);
	}
	{
		struct smtp_cmd c;
		int r = smtp_cmd_parse("NOOP\0x", 6, &c);

		T_CASE("command with NUL is bad", r < 0 && c.verb == SMTP_BAD, "verb=%d", c.verb);
	}
	{
		/* smtp_getline() strips the CR of CRLF: any CR left is bare. */
		static const char *bad[] = {"NOOP\rRCPT TO:<v@x.example>",
		    "MAIL FROM:<\"x\rRCPT TO:<v@x.example>\r\"@c.example>",
		    "RCPT TO:<a@b.example>\r", "\rQUIT", "EHLO a\rb"};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct smtp_cmd c;
			char name[96];
			int r = smtp_cmd_parse(bad[i], strlen(bad[i]), &c);

			snprintf(name, sizeof(name), "command with a bare CR is bad (%zu)", i);
			T_CASE(name, r < 0 && c.verb == SMTP_BAD, "verb=%d", c.verb);
		}
	}
}

struct pathcase {
	const char *args;
	int kind;
	int ok;
	const char *addr;
	const char *domain;
	int nparams;
};

static const struct pathcase paths[] = {
	{"FROM:<a@example.com>", SMTP_KIND_MAIL, 1, "a@example.com", "example.com", 0},
	{"from:<a@example.com>", SMTP_KIND_MAIL, 1, "a@example.com", "example.com", 0},
	{"FROM: <a@example.com>", SMTP_KIND_MAIL, 1, "a@example.com", "example.com", 0},
	{"FROM:<>", SMTP_KIND_MAIL, 1, "", "", 0},
	{"FROM:<> SIZE=100 BODY=8BITMIME", SMTP_KIND_MAIL, 1, "", "", 2},
	{"FROM:<a@b.example>  SMTPUTF8", SMTP_KIND_MAIL, 1, "a@b.example", "b.example", 1},
	{"TO:<postmaster>", SMTP_KIND_RCPT, 1, "postmaster", "", 0},
	{"TO:<\"odd @ local\"@x.example>", SMTP_KIND_RCPT, 1, "\"odd @ local\"@x.example", "x.example", 0},
	{"TO:<@relay.example:u@d.example>", SMTP_KIND_RCPT, 1, "@relay.example:u@d.example", "d.example", 0},
	{"TO:<>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:a@b.example", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<a@b.example", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<a b@c.example>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<a@b.example>x", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<a<b@c.example>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<a@>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<\"unterminated@x>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<\"esc\\", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"FROM:<a@b> =x", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<a@b> SIZE=", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<a@b> SIZE=1 SIZE=2", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<a@b> A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 J=10 K=11 L=12 M=13 N=14 O=15 P=16 Q=17",
	 SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<a@b> KEYWAYTOOLONGKEYWAYTOOLONGKEYWAYTOOLONG=1", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"TO:<a@b>", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<a\x01@b>", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<\"x\rRCPT TO:<victim@v.example>\r\"@client.example>", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"TO:<\"x\rDATA\r\"@client.example>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<\"a\nb\"@client.example>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<\"a\\\rb\"@client.example>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<\"a\tb\"@client.example>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<\"a\x7f\"@client.example>", SMTP_KIND_RCPT, 0, NULL, NULL, 0},
	{"TO:<\"a\\\"b\"@client.example>", SMTP_KIND_RCPT, 1, "\"a\\\"b\"@client.example", "client.example", 0},
	{"FROM:<a@b> X=\r", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<a@b> X=1\rRCPT", SMTP_KIND_MAIL, 0, NULL, NULL, 0},
	{"FROM:<\xc3\xa9@b.example> SMTPUTF8", SMTP_KIND_MAIL, 1, "\xc3\xa9@b.example", "b.example", 1},
};

static void
paths_test(void)
{
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct pathcase *pc = &paths[i];
		struct smtp_path p;
		const char *why = NULL;
		char name[160];
		int r = smtp_path_parse(pc->args, pc->kind, &p, &why);
		int ok;

		snprintf(name, sizeof(name), "path \"%s\"", pc->args);
		for (char *q = name; *q; q++)
			if ((unsigned char) *q < 0x20 || (unsigned char) *q >= 0x7f)
				*q = '?';
		if (pc->ok)
			ok = r == 0 && strcmp(p.addr, pc->addr) == 0
			    && strcmp(smtp_path_domain(&p), pc->domain) == 0 && p.nparams == pc->nparams;
		else
			ok = r < 0 && why != NULL;
		T_CASE(name, ok, "r=%d addr=%s domain=%s nparams=%d why=%s", r,
		    r == 0 ? p.addr : "-", r == 0 ? smtp_path_domain(&p) : "-", r == 0 ? p.nparams : -1,
		    why ? why : "-");
	}
	{
		struct smtp_path p;
		const char *why;
		char big[2048];

		memcpy(big, "TO:<", 4);
		memset(big + 4, 'a', 1000);
		memcpy(big + 1004, "@x>", 4);
		T_CASE("quoted CR is an address error (501 5.1.7/5.1.3)",
		    smtp_path_parse("FROM:<\"x\rRCPT TO:<v@v.example>\r\"@c.example>",
			SMTP_KIND_MAIL, &p, &why) == SMTP_PATH_BADADDR
		    && smtp_path_parse("TO:<\"x\x01\"@c.example>", SMTP_KIND_RCPT, &p,
			&why) == SMTP_PATH_BADADDR, "another code");
		T_CASE("path over 512 octets refused",
		    smtp_path_parse(big, SMTP_KIND_RCPT, &p, &why) < 0, "accepted");
	}
	{
		struct smtp_path p;
		const char *why;

		smtp_path_parse("FROM:<a@b> size=10 Body=8BITMIME", SMTP_KIND_MAIL, &p, &why);
		T_CASE("param keys upper-cased, values kept",
		    smtp_param_find(&p, "SIZE") && strcmp(smtp_param_find(&p, "SIZE")->value, "10") == 0
		    && smtp_param_find(&p, "BODY") && strcmp(smtp_param_find(&p, "BODY")->value, "8BITMIME") == 0,
		    "lookup failed");
	}
}

static int
feed_all(struct smtp_reply *r, const char *const *ls)
{
	int res = SMTP_REPLY_MORE;

	smtp_reply_init(r);
	for (; *ls; ls++)
		res = smtp_reply_feed(r, *ls, strlen(*ls));
	return res;
}

static void
replies(void)
{
	struct smtp_reply r;
	struct smtp_ehlo e;
	const char *ehlo[] = {"250-mx1.example.net Hello", "250-PIPELINING", "250-SIZE 10240000",
	"250-STARTTLS", "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8", NULL};
	const char *one[] = {"550 5.1.1 <x@y>: Recipient address rejected", NULL};
	const char *mixed[] = {"250-a", "251 b", NULL};
	const char *badcode[] = {"25x ok", NULL};
	const char *nosep[] = {"250ok", NULL};
	const char *bare[] = {"354", NULL};
	const char *one_xx[] = {"199 odd", NULL};
	const char *ctl[] = {"421 4.4.2 bye\x01\x7f", NULL};
	char l1[256];
	int res;

	res = feed_all(&r, ehlo);
	T_CASE("multi-line reply done", res == SMTP_REPLY_DONE && r.code == 250 && r.nlines == 7,
	    "res=%d code=%d n=%d", res, r.code, r.nlines);
	smtp_ehlo_parse(&r, &e);
	T_CASE("ehlo keywords", e.starttls && e.pipelining && e.eightbitmime && e.enhanced
	    && e.smtputf8 && e.size && e.size_limit == 10240000 && !e.chunking && !e.dsn,
	    "starttls=%d pipe=%d 8bit=%d size=%llu", e.starttls, e.pipelining, e.eightbitmime,
	    (unsigned long long) e.size_limit);
	T_CASE("ehlo server name", strcmp(e.name, "mx1.example.net") == 0, "%s", e.name);
	res = feed_all(&r, one);
	T_CASE("enhanced status kept", res == SMTP_REPLY_DONE && strcmp(r.enh, "5.1.1") == 0,
	    "enh=%s", r.enh);
	T_CASE("line1 text", strcmp(smtp_reply_line1(&r, l1, sizeof(l1)),
	    "550 5.1.1 <x@y>: Recipient address rejected") == 0, "%s", l1);
	T_CASE("code change between lines is bad", feed_all(&r, mixed) == SMTP_REPLY_BAD, "accepted");
	T_CASE("non-digit code is bad", feed_all(&r, badcode) == SMTP_REPLY_BAD, "accepted");
	T_CASE("code without separator is bad", feed_all(&r, nosep) == SMTP_REPLY_BAD, "accepted");
	T_CASE("bare code is a reply", feed_all(&r, bare) == SMTP_REPLY_DONE && r.code == 354, "no");
	T_CASE("1xx is bad", feed_all(&r, one_xx) == SMTP_REPLY_BAD, "accepted");
	{
		struct smtp_reply n;

		smtp_reply_init(&n);
		T_CASE("NUL in a reply is bad", smtp_reply_feed(&n, "250 o\0k", 7)
		    == SMTP_REPLY_BAD, "accepted");
		smtp_reply_init(&n);
		T_CASE("bare CR in a reply is bad", smtp_reply_feed(&n, "250 ok\r250 more", 15)
		    == SMTP_REPLY_BAD, "accepted");
		smtp_reply_init(&n);
		T_CASE("NUL in a later reply line is bad", smtp_reply_feed(&n, "250-a", 5)
		    == SMTP_REPLY_MORE && smtp_reply_feed(&n, "250 \0", 5) == SMTP_REPLY_BAD,
		    "accepted");
	}
	res = feed_all(&r, ctl);
	T_CASE("control characters neutralised", res == SMTP_REPLY_DONE
	    && strchr(r.text, 1) == NULL && strchr(r.text, 0x7f) == NULL, "text=%s", r.text);
	smtp_reply_init(&r);
	for (int i = 0; i < 100 && res != SMTP_REPLY_BAD; i++)
		res = smtp_reply_feed(&r, "250-x", 5);
	T_CASE("endless continuation is bad", res == SMTP_REPLY_BAD, "res=%d", res);
	{
		char big[10000];

		memset(big, 'x', sizeof(big));
		memcpy(big, "250 ", 4);
		smtp_reply_init(&r);
		res = smtp_reply_feed(&r, big, sizeof(big));
		T_CASE("long reply text bounded", res == SMTP_REPLY_DONE
		    && r.textlen < SMTP_REPLY_MAX_TEXT, "len=%zu", r.textlen);
	}
}

struct eodcase {
	const char *name;
	const char *data;
	int result;
	size_t used;			/* (size_t)-1: whole input */
};

static const struct eodcase eods[] = {
	{"plain end", "Subject: x\r\n\r\nbody\r\n.\r\n", SMTP_EOD_END, (size_t) -1},
	{"empty message", ".\r\n", SMTP_EOD_END, 3},
	{"dot-stuffed line is not the end", "a\r\n..\r\nb\r\n", SMTP_EOD_MORE, (size_t) -1},
	{"dot-text line", "a\r\n.x\r\n", SMTP_EOD_MORE, (size_t) -1},
	{"end stops before pipelined QUIT", "a\r\n.\r\nQUIT\r\n", SMTP_EOD_END, 6},
	{"LF.LF smuggling", "a\n.\nMAIL FROM:<x>\r\n", SMTP_EOD_BARE, 3},
	{"CRLF.LF smuggling", "a\r\n.\nRCPT TO:<x>\r\n", SMTP_EOD_BARE, 4},
	{"LF.CRLF smuggling", "a\n.\r\nRCPT TO:<x>\r\n", SMTP_EOD_BARE, 3},
	{"CR.CRLF smuggling", "a\r.\r\nMAIL FROM:<x>\r\n", SMTP_EOD_BARE, 3},
	{"CRLF.CR smuggling", "a\r\n.\rMAIL FROM:<x>\r\n", SMTP_EOD_BARE, 4},
	{"CR.CR smuggling", "a\r.\rMAIL FROM:<x>\r\n", SMTP_EOD_BARE, 3},
	{"LF.CR smuggling", "a\n.\rMAIL FROM:<x>\r\n", SMTP_EOD_BARE, 3},
	{"CRLF.CR CR smuggling", "a\r\n.\r\r\n", SMTP_EOD_BARE, 4},
	{"CR at the start: CR.CRLF", "\r.\r\n", SMTP_EOD_BARE, 2},
	{"LF at the start: LF.LF", "\n.\n", SMTP_EOD_BARE, 2},
	{"leading dot then LF", ".\nMAIL FROM:<x>\r\n", SMTP_EOD_BARE, 1},
	{"bare LF inside text is fine", "a\nb\r\n", SMTP_EOD_MORE, (size_t) -1},
	{"bare CR inside text is fine", "a\rb\r\n", SMTP_EOD_MORE, (size_t) -1},
	{"dot-text after bare CR is fine", "a\r.x\r\n", SMTP_EOD_MORE, (size_t) -1},
	{"dot-stuffed after bare CR is fine", "a\r..\r\n", SMTP_EOD_MORE, (size_t) -1},
	{"CR CR LF then dot", "a\r\r\n.\r\n", SMTP_EOD_END, 7},
	{"LF CR LF then dot", "a\n\r\n.\r\n", SMTP_EOD_END, 7},
	{"8-bit bytes", "\xff\xfe\r\n\x80.\r\n", SMTP_EOD_MORE, (size_t) -1},
	{"a dot at the end waits", "a\r\n.", SMTP_EOD_MORE, 3},
	{"CRLF.CR at the end waits", "a\r\n.\r", SMTP_EOD_MORE, 3},
	{"a dot after text at the end is data", "a.", SMTP_EOD_MORE, (size_t) -1},
};

static void
eod(void)
{
	for (size_t i = 0; i < sizeof(eods) / sizeof(eods[0]); i++) {
		struct smtp_eod st;
		size_t n = strlen(eods[i].data), used = 0, uref = 0;
		size_t want = eods[i].used == (size_t) -1 ? n : eods[i].used;
		int r, ref;

		smtp_eod_init(&st);
		r = smtp_eod_scan(&st, eods[i].data, n, &used);
		ref = eod_ref(eods[i].data, n, &uref);
		T_CASE(eods[i].name, r == eods[i].result && used == want && ref == r
		    && uref == used, "r=%d used=%zu (reference r=%d used=%zu) want r=%d "
		    "used=%zu", r, used, ref, uref, eods[i].result, want);
	}
	/* The terminator split at every position across two reads. */
	{
		const char *msg = "hello\r\n..dots\r\n.\r\n";
		size_t n = strlen(msg);
		int all = 1;

		for (size_t cut = 0; cut <= n; cut++) {
			size_t used = 0;
			int r = eod_chunked(msg, n, &cut, 1, &used);

			all &= (r == SMTP_EOD_END && used == n);
		}
		T_CASE("terminator split at every offset", all, "a split was missed");
	}
	/* Every smuggling shape split at every position: never a byte of
	 * the line end after the dot, and the same verdict. */
	{
		static const char *shapes[] = {"x\r\n.\nQUIT\r\n", "x\r.\r\nQUIT\r\n",
		    "x\r\n.\rQUIT\r\n", "x\n.\r\nQUIT\r\n", "x\r.\rQUIT\r\n"};
		int all = 1;

		for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
			const char *msg = shapes[k];
			size_t n = strlen(msg), uref = 0;
			int want = eod_ref(msg, n, &uref);

			for (size_t cut = 0; cut <= n; cut++) {
				size_t used = 0;
				int r = eod_chunked(msg, n, &cut, 1, &used);

				all &= (want == SMTP_EOD_BARE && r == want && used == uref);
			}
		}
		T_CASE("bare CR and LF shapes found at every split", all, "one was missed");
	}
	/* Byte by byte: the same verdict as in one piece. */
	{
		const char *msg = "x\r\n.\rQUIT\r\n";
		size_t n = strlen(msg), cuts[16], used = 0;
		int r;

		for (size_t i = 0; i < n; i++)
			cuts[i] = i + 1;
		r = eod_chunked(msg, n, cuts, (int) n, &used);
		T_CASE("smuggling found byte by byte", r == SMTP_EOD_BARE && used == 4,
		    "r=%d total=%zu", r, used);
	}
}

/* differential - the fast scanner against the reference, random input
 * over the alphabet that matters, whole and cut at random points */
static void
differential(void)
{
	static const char alpha[] = "\r\n.\r\n.ab\n\r.";
	unsigned seed = 12345;
	int bad = 0, runs = 300000;
	char buf[24];

	for (int r = 0; r < runs && !bad; r++) {
		size_t n, u1 = 0, uref = 0, cuts[4];
		struct smtp_eod st;
		int a, want, ncuts;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % sizeof(buf);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		want = eod_ref(buf, n, &uref);
		smtp_eod_init(&st);
		a = smtp_eod_scan(&st, buf, n, &u1);
		if (a != want || u1 != uref)
			bad = r + 1;
		seed = seed * 1103515245u + 12345u;
		ncuts = (int) ((seed >> 16) % 5);
		for (int c = 0; c < ncuts; c++) {
			seed = seed * 1103515245u + 12345u;
			cuts[c] = (seed >> 16) % (n + 1);
			if (c > 0 && cuts[c] < cuts[c - 1])
				cuts[c] = cuts[c - 1];
		}
		a = eod_chunked(buf, n, cuts, ncuts, &u1);
		if (a != want || u1 != uref)
			bad = r + 1;
	}
	T_CASE("fast scanner equals the reference (300000 random messages, cut too)",
	    !bad, "differs on run %d", bad);
}

static void
hostnames(void)
{
	T_CASE("hostname ok", smtp_valid_hostname("mx1.example.net", 15), "no");
	T_CASE("hostname empty label", !smtp_valid_hostname("mx1..net", 8), "yes");
	T_CASE("hostname IP literal bracket", !smtp_valid_hostname("[192.0.2.1]", 11), "yes");
	T_CASE("hostname trailing dash", !smtp_valid_hostname("mx-", 3), "yes");
	T_CASE("hostname leading dash", !smtp_valid_hostname("-mx", 3), "yes");
	T_CASE("hostname 8-bit", !smtp_valid_hostname("m\xc3\xa9", 3), "yes");
}

/* tls_required - RFC 8689 header detection, hostile shapes included */
static void
tls_required(void)
{
	static const struct {
		const char *name, *msg;
		int want;
	} cases[] = {
		{"plain", "From: a@b\r\nTLS-Required: No\r\n\r\nbody\r\n.\r\n", 1},
		{"case and spaces", "tls-required :   nO  \r\nSubject: x\r\n\r\n", 1},
		{"folded value", "Subject: x\r\nTLS-Required:\r\n No\r\n\r\n", 1},
		{"bare LF lines", "Subject: x\nTLS-Required: No\n\nbody\n", 1},
		{"last field, no body", "TLS-Required: No\r\n.\r\n", 1},
		{"value yes", "TLS-Required: Yes\r\n\r\n", 0},
		{"value No with junk", "TLS-Required: No thanks\r\n\r\n", 0},
		{"value Nope", "TLS-Required: Nope\r\n\r\n", 0},
		{"in the body only", "Subject: x\r\n\r\nTLS-Required: No\r\n.\r\n", 0},
		{"after a non-field line", "Subject: x\r\nnot a field\r\nTLS-Required: No\r\n", 0},
		{"longer name", "TLS-Required-X: No\r\n\r\n", 0},
		{"prefix of name", "X-TLS-Required: No\r\n\r\n", 0},
		{"continuation of another field", "Subject: x\r\n TLS-Required: No\r\n\r\n", 0},
		{"dot-stuffed name", "..TLS-Required: No\r\n\r\n", 0},
		{"empty", "", 0},
		{"only colon", ":\r\n", 0},
		{"name, no colon, end", "TLS-Required", 0},
		{"name, colon, end", "TLS-Required:", 0},
		{"header only, no CRLF", "TLS-Required: No", 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[96];
		int got = smtp_tls_required_no(cases[i].msg, strlen(cases[i].msg));

		snprintf(name, sizeof(name), "TLS-Required: %s", cases[i].name);
		T_CASE(name, got == cases[i].want, "got %d", got);
	}
	{
		/* A long value is not read past its bounds, and is not `No'. */
		char big[5000];

		memcpy(big, "TLS-Required: ", 14);
		memset(big + 14, ' ', sizeof(big) - 16);
		big[sizeof(big) - 2] = 'N';
		big[sizeof(big) - 1] = 'o';
		T_CASE("TLS-Required: value over 256 octets ignored",
		    smtp_tls_required_no(big, sizeof(big)) == 0, "matched");
	}
}

int
main(void)
{
	T_INIT("smtp");
	tls_required();
	lines();
	commands();
	paths_test();
	replies();
	eod();
	differential();
	hostnames();
	return t_done();
}
