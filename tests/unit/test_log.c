/*
 * test_log.c - the log layer (lib/log.c) and the delivery summary
 * (proxy/summary.c): each summary line as text and as JSON, through
 * msg_fields() into a file standing in for stderr; the JSON parsed back
 * with cJSON must carry the same fields, with the same values, as the
 * text line's key=value pairs; hostile addresses (quotes, backslashes,
 * control characters, bytes that are not UTF-8, lines over the buffer)
 * must give valid JSON and one clean text line.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../../lib/log.h"
#include "../../proxy/summary.h"
#include "t.h"

#define SID "0A1B2C3D4E"

static char logpath[] = "/tmp/test_log.XXXXXX";
static int logfd = -1, saved_err = -1;

/* capture_start - stderr into the file, emptied */
static void
capture_start(void)
{
	if (ftruncate(logfd, 0) < 0 || lseek(logfd, 0, SEEK_SET) < 0)
		abort();
	fflush(stderr);
	dup2(logfd, STDERR_FILENO);
}

/* capture_end - stderr back; what was written, malloc'd */
static char *
capture_end(void)
{
	char *b = calloc(1, 65536);
	ssize_t n;

	fflush(stderr);
	dup2(saved_err, STDERR_FILENO);
	if (b == NULL || lseek(logfd, 0, SEEK_SET) < 0)
		abort();
	n = read(logfd, b, 65535);
	b[n > 0 ? n : 0] = 0;
	return b;
}

/* one_line - the text is exactly one line, with no control character */
static int
one_line(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[n - 1] != '\n')
		return 0;
	for (size_t i = 0; i < n - 1; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

struct kv {
	char key[32];
	char *val;
};

/* parse_text - a summary text line `... SID: k=v, k=v (detail)\n' into
 * pairs (values malloc'd); the number, -1 when it does not parse.  The
 * grammar an admin's grep assumes: `, ' between fields, ` (' before the
 * detail, which runs to the `)' at the end. */
static int
parse_text(const char *line, struct kv *kv, int max)
{
	const char *p = strstr(line, SID ": "), *end;
	int n = 0;

	if (p == NULL)
		return -1;
	p += strlen(SID ": ");
	end = p + strlen(p);
	if (end > p && end[-1] == '\n')
		end--;
	while (p < end && n < max) {
		const char *eq = strchr(p, '='), *next, *paren = NULL;

		if (eq == NULL || (size_t) (eq - p) >= sizeof(kv[n].key))
			return -1;
		memcpy(kv[n].key, p, (size_t) (eq - p));
		kv[n].key[eq - p] = 0;
		next = strstr(eq, ", ");
		if (strcmp(kv[n].key, "status") == 0) {
			paren = strstr(eq, " (");
			next = paren;
		}
		if (next == NULL || next > end)
			next = end;
		kv[n].val = strndup(eq + 1, (size_t) (next - eq - 1));
		n++;
		if (paren) {
			if (end[-1] != ')' || n >= max)
				return -1;
			snprintf(kv[n].key, sizeof(kv[n].key), "detail");
			kv[n].val = strndup(paren + 2, (size_t) (end - 1 - paren - 2));
			return n + 1;
		}
		p = next < end ? next + 2 : end;
	}
	return n;
}

/* str_of - a JSON member's string, or NULL */
static const char *
str_of(const cJSON *o, const char *k)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

/* The delivery summaries to log, plain and hostile. */
static const struct scase {
	const char *name;
	const char *to, *from, *relay, *tls, *policy;
	int verified;
	unsigned long long size;
	const char *status, *detail;
	int plain;			/* the text line parses back exactly */
} cases[] = {
	{"sent dane", "a@dane.example", "b@example.org", "mx.dane.example[192.0.2.25]:25",
	    "TLSv1.3", "dane", 1, 1234, "sent", "250 2.0.0 Ok: queued as 4711", 1},
	{"deferred sts no relay", "c@sts.example", "", "none", "none", "sts-enforce", 0, 0,
	    "deferred", "451 4.7.5 MX host mx.sts.example matches no mx pattern", 1},
	{"sts-testing", "d@t.example", "e@x.example", "mx.t.example[2001:db8::25]:25",
	    "TLSv1.2", "sts-testing", 0, 99, "sent", "250 ok", 1},
	{"table level", "f@tab.example", "g@x.example", "mx.tab.example[198.51.100.7]:25",
	    "TLSv1.3", "table:secure", 1, 5, "bounced", "550 5.1.1 no such user", 1},
	{"quotes and backslashes", "\"a\\\"b\\\\c\"@q.example", "\"x\\\\\"@y.example",
	    "mx.q.example[192.0.2.1]:25", "TLSv1.3", "none", 0, 7, "sent",
	    "250 2.0.0 \"quoted\" \\back\\", 1},
	{"control characters", "esc\x1b[31m@c.example", "nul\x01@c.example",
	    "mx[192.0.2.2]:25", "none", "none", 0, 0, "deferred", "451 4.4.2 bad\rline\nend\x7f", 0},
	{"utf-8 and not", "j\xc3\xb6rg@u.example", "bad\xff\xfe@u.example",
	    "mx[192.0.2.3]:25", "TLSv1.3", "none", 0, 1, "sent", "250 \xe2\x82\xac \xc0\xaf", 0},
	{"json lookalike", "x\",\"status\":\"sent@j.example", "{}@j.example", "mx[192.0.2.4]:25",
	    "TLSv1.3", "none", 0, 1, "deferred", "451 }{\"", 1},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* json_expect - what a value becomes in JSON: bytes that are not UTF-8
 * are `?' (only the cases' own bytes: \xff \xfe \xc0 \xaf) */
static void
json_expect(const char *v, char *out, size_t len)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *) v; *p && w + 1 < len; p++)
		out[w++] = *p == 0xff || *p == 0xfe || *p == 0xc0 || *p == 0xaf ? '?' : (char) *p;
	out[w] = 0;
}

/* text_expect - what a value becomes in a text line: control characters
 * are `?' */
static void
text_expect(const char *v, char *out, size_t len)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *) v; *p && w + 1 < len; p++)
		out[w++] = *p < 0x20 || *p == 0x7f ? '?' : (char) *p;
	out[w] = 0;
}

/* summary_case - one case, text then JSON */
static void
summary_case(const struct scase *c)
{
	struct summary sm;
	struct log_field f[SUMMARY_NFIELDS];
	struct kv kv[16];
	char to[SUMMARY_ADDR_MAX + 3], name[160], want[4096];
	char *text, *json;
	size_t n;
	int nkv;
	cJSON *o;

	memset(&sm, 0, sizeof(sm));
	sm.to = c->to;
	sm.from = c->from;
	sm.relay = c->relay;
	sm.tls = c->tls;
	sm.policy = c->policy;
	sm.verified = c->verified;
	sm.size = c->size;
	sm.status = c->status;
	sm.detail = c->detail;
	n = summary_fields(&sm, f, to, sizeof(to));
	snprintf(name, sizeof(name), "%s: fields", c->name);
	T_CASE(name, n == SUMMARY_NFIELDS && strcmp(f[0].key, "to") == 0
	    && strcmp(f[n - 1].key, "detail") == 0 && strcmp(f[n - 2].key, "status") == 0, "%zu", n);

	log_set_json(0);
	capture_start();
	msg_fields(SID, f, n);
	text = capture_end();
	log_set_json(1);
	capture_start();
	msg_fields(SID, f, n);
	json = capture_end();
	log_set_json(0);

	snprintf(name, sizeof(name), "%s: text is one clean line", c->name);
	T_CASE(name, one_line(text), "%s", text);
	snprintf(name, sizeof(name), "%s: text in Postfix's shape", c->name);
	text_expect(to, want, sizeof(want));
	T_CASE(name, strstr(text, SID ": to=") && strstr(text, want)
	    && strstr(text, ", status=") && strstr(text, ", policy=")
	    && strstr(text, ", verified="), "%s", text);

	snprintf(name, sizeof(name), "%s: JSON is one line", c->name);
	T_CASE(name, strlen(json) > 0 && json[strlen(json) - 1] == '\n'
	    && strchr(json, '\n') == json + strlen(json) - 1, "%s", json);
	o = cJSON_Parse(json);
	snprintf(name, sizeof(name), "%s: JSON parses", c->name);
	T_CASE(name, cJSON_IsObject(o), "%s", json);
	if (!cJSON_IsObject(o)) {
		free(text);
		free(json);
		return;
	}
	snprintf(name, sizeof(name), "%s: JSON head", c->name);
	T_CASE(name, str_of(o, "time") && strlen(str_of(o, "time")) == 24
	    && str_of(o, "level") && strcmp(str_of(o, "level"), "info") == 0
	    && str_of(o, "prog") && strcmp(str_of(o, "prog"), "mxtlsd") == 0
	    && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "pid"))
	    && str_of(o, "sid") && strcmp(str_of(o, "sid"), SID) == 0, "%s", json);
	/* Every field, by the text's name, with its value. */
	for (size_t i = 0; i < n; i++) {
		const char *v = str_of(o, f[i].key);

		json_expect(f[i].val, want, sizeof(want));
		snprintf(name, sizeof(name), "%s: JSON %s", c->name, f[i].key);
		T_CASE(name, v && strcmp(v, want) == 0, "got %s, want %s", v ? v : "(none)", want);
	}
	snprintf(name, sizeof(name), "%s: JSON msg is the text line", c->name);
	{
		char tl[4096];

		log_fields_text(tl, sizeof(tl), f, n);
		json_expect(tl, want, sizeof(want));
		T_CASE(name, str_of(o, "msg") && strcmp(str_of(o, "msg"), want) == 0, "%s",
		    str_of(o, "msg") ? str_of(o, "msg") : "(none)");
	}
	/* The text line's key=value pairs are the JSON's members. */
	if (c->plain) {
		int same;

		nkv = parse_text(text, kv, 16);
		same = nkv == (int) n;
		for (int i = 0; same && i < nkv; i++) {
			const char *v = str_of(o, kv[i].key);

			same = v && strcmp(v, kv[i].val) == 0;
			if (!same)
				printf("# text %s=%s, JSON %s\n", kv[i].key, kv[i].val, v ? v : "(none)");
		}
		snprintf(name, sizeof(name), "%s: text fields = JSON fields", c->name);
		T_CASE(name, same, "%d pairs of %zu in %s", nkv, n, text);
		for (int i = 0; i < nkv; i++)
			free(kv[i].val);
	}
	cJSON_Delete(o);
	free(text);
	free(json);
}

/* policy_words - summary_policy() for each level and the table */
static void
policy_words(void)
{
	char b[48];

	T_CASE("policy dane", strcmp(summary_policy(ROUTE_DANE, 0, PTAB_NONE, b, sizeof(b)),
	    "dane") == 0, "%s", b);
	T_CASE("policy sts-enforce", strcmp(summary_policy(ROUTE_STS, 0, PTAB_NONE, b,
	    sizeof(b)), "sts-enforce") == 0, "x");
	T_CASE("policy sts-testing", strcmp(summary_policy(ROUTE_STS_TESTING, 0, PTAB_NONE, b,
	    sizeof(b)), "sts-testing") == 0, "x");
	T_CASE("policy none for may", strcmp(summary_policy(ROUTE_MAY, 0, PTAB_NONE, b,
	    sizeof(b)), "none") == 0, "x");
	T_CASE("policy none for require_tls's encrypt", strcmp(summary_policy(ROUTE_ENCRYPT, 0,
	    PTAB_NONE, b, sizeof(b)), "none") == 0, "x");
	T_CASE("policy table:dane-only", strcmp(summary_policy(ROUTE_DANE, 1, PTAB_DANE_ONLY, b,
	    sizeof(b)), "table:dane-only") == 0, "%s", b);
	T_CASE("policy table:none", strcmp(summary_policy(ROUTE_NONE, 1, PTAB_NONE, b,
	    sizeof(b)), "table:none") == 0, "%s", b);
}

/* plain_lines - msg_info/msg_warn as JSON: sid split off, level named */
static void
plain_lines(void)
{
	char *out;
	cJSON *o;

	log_set_json(1);
	capture_start();
	msg_warn("%s: attempt to %s failed: \"%s\"", SID, "mx[192.0.2.1]:25", "a\\b\tc");
	out = capture_end();
	o = cJSON_Parse(out);
	T_CASE("warn JSON parses", cJSON_IsObject(o), "%s", out);
	T_CASE("warn JSON level, sid, msg", o && str_of(o, "level")
	    && strcmp(str_of(o, "level"), "warning") == 0 && str_of(o, "sid")
	    && strcmp(str_of(o, "sid"), SID) == 0 && str_of(o, "msg")
	    && strcmp(str_of(o, "msg"), "attempt to mx[192.0.2.1]:25 failed: \"a\\b\tc\"") == 0,
	    "%s", out);
	cJSON_Delete(o);
	free(out);

	capture_start();
	msg_info("mxtlsd started, hostname %s", "mxtls.example");
	out = capture_end();
	o = cJSON_Parse(out);
	T_CASE("info JSON without a session has no sid", o && !str_of(o, "sid")
	    && str_of(o, "msg") && strcmp(str_of(o, "msg"), "mxtlsd started, hostname "
	    "mxtls.example") == 0, "%s", out);
	cJSON_Delete(o);
	free(out);

	/* Not a session id: lower case, or too short. */
	capture_start();
	msg_info("0a1b2c3d4e: x");
	out = capture_end();
	o = cJSON_Parse(out);
	T_CASE("lower-case hex is no sid", o && !str_of(o, "sid"), "%s", out);
	cJSON_Delete(o);
	free(out);
	T_CASE("log_sid_of short", log_sid_of("0A1B2: x") == 0, "x");
	T_CASE("log_sid_of right", log_sid_of(SID ": x") == LOG_SID_LEN, "x");

	/* Over the buffer: still one object, cut short. */
	{
		size_t big = 20000;
		char *v = malloc(big + 1);

		memset(v, '"', big);
		v[big] = 0;
		capture_start();
		msg_info("%s: %s", SID, v);
		out = capture_end();
		o = cJSON_Parse(out);
		T_CASE("a line of 20000 quotes: JSON still parses", cJSON_IsObject(o)
		    && strchr(out, '\n') == out + strlen(out) - 1, "%zu bytes", strlen(out));
		cJSON_Delete(o);
		free(out);
		free(v);
	}
	log_set_json(0);
	capture_start();
	msg_info("%s: tab\there", SID);
	out = capture_end();
	T_CASE("text line: control characters as ?", strstr(out, SID ": tab?here\n") != NULL,
	    "%s", out);
	free(out);
}

/* The child of a fork writes its line through this pipe. */
static int pid_pipe = -1;

static void
pipe_sink(const char *line, size_t len)
{
	(void) !write(pid_pipe, line, len);
}

static void
drop_sink(const char *line, size_t len)
{
	(void) line;
	(void) len;
}

/* pids - each line names its own process, a forked child included (the
 * pid is cached: one getpid(2) a process, renewed by fork) */
static void
pids(void)
{
	char buf[4096], want[32];
	int p[2], st;
	ssize_t n;
	pid_t c;

	log_set_sink(drop_sink);
	msg_info("parent first");		/* the parent's pid is cached now */
	log_set_sink(NULL);
	if (pipe(p) < 0 || (c = fork()) < 0)
		abort();
	if (c == 0) {
		close(p[0]);
		pid_pipe = p[1];
		log_set_sink(pipe_sink);
		msg_info("child line");
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	waitpid(c, &st, 0);
	buf[n > 0 ? n : 0] = 0;
	snprintf(want, sizeof(want), "[%ld]: child line", (long) c);
	T_CASE("pid: a forked child's line has the child's pid", strstr(buf, want) != NULL,
	    "line \"%s\", want \"%s\"", buf, want);
	pid_pipe = p[1] = -1;
	{
		int q[2];

		if (pipe(q) < 0)
			abort();
		pid_pipe = q[1];
		log_set_sink(pipe_sink);
		msg_info("parent again");
		log_set_sink(NULL);
		close(q[1]);
		n = read(q[0], buf, sizeof(buf) - 1);
		close(q[0]);
		buf[n > 0 ? n : 0] = 0;
		snprintf(want, sizeof(want), "[%ld]: parent again", (long) getpid());
		T_CASE("pid: the parent's own still", strstr(buf, want) != NULL,
		    "line \"%s\", want \"%s\"", buf, want);
	}
}

int
main(void)
{
	T_INIT("log");
	if ((logfd = mkstemp(logpath)) < 0 || (saved_err = dup(STDERR_FILENO)) < 0)
		return 1;
	unlink(logpath);
	log_init("mxtlsd", 1, 0);
	for (size_t i = 0; i < NCASES; i++)
		summary_case(&cases[i]);
	policy_words();
	plain_lines();
	pids();
	return t_done();
}
