/*
 * test_record.c - journal records: record -> JSON line -> record, and
 * replay of a journal with a corrupt line and a torn last line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../report/record.h"
#include "t.h"

static void
fill(struct rec *r, int i)
{
	memset(r, 0, sizeof(*r));
	r->time = 1763769600LL + i;
	snprintf(r->sid, sizeof(r->sid), "28A1D%05d", i);
	snprintf(r->domain, sizeof(r->domain), "dane-ee.example");
	snprintf(r->ptype, sizeof(r->ptype), "tlsa");
	snprintf(r->policy, sizeof(r->policy), "3 1 1 0D3A28\n2 0 1 ABCDEF\n");
	snprintf(r->mx, sizeof(r->mx), "mx1.dane-ee.example");
	snprintf(r->ip, sizeof(r->ip), "192.0.2.31");
	snprintf(r->helo, sizeof(r->helo), "mx1.dane-ee.example");
	snprintf(r->src, sizeof(r->src), "192.0.2.1");
	r->sport = 40000 + i;
	snprintf(r->result, sizeof(r->result), i % 2 ? "tlsa-invalid" : "success");
	snprintf(r->reason, sizeof(r->reason), i % 2 ? "X509_V_ERR_DANE_NO_MATCH" : "");
	snprintf(r->action, sizeof(r->action), i % 2 ? "refused" : "delivered");
}

static void
count(const struct rec *r, void *arg)
{
	int *n = arg;

	if (strcmp(r->domain, "dane-ee.example") == 0)
		(*n)++;
}

int
main(void)
{
	struct rec a, b;
	struct buf out;
	const char *why = NULL;
	int rc;

	T_INIT("record");
	buf_init(&out);
	fill(&a, 1);
	snprintf(a.helo, sizeof(a.helo), "odd \"quoted\" \\ name\t");
	rc = rec_to_json(&a, &out);
	T_CASE("record to one JSON line", rc == 0 && buf_used(&out) > 10
	    && buf_head(&out)[buf_used(&out) - 1] == '\n'
	    && memchr(buf_head(&out), '\n', buf_used(&out) - 1) == NULL, "rc=%d", rc);
	rc = rec_from_json(buf_head(&out), buf_used(&out) - 1, &b, &why);
	T_CASE("line back to the same record", rc == 0 && memcmp(&a, &b, sizeof(a)) == 0,
	    "rc=%d why=%s helo=%s policy=%s", rc, rc ? why : "-", b.helo, b.policy);
	{
		struct rec c;
		struct buf o2;

		fill(&c, 2);
		snprintf(c.helo, sizeof(c.helo), "mx\xff\xc3(");
		snprintf(c.policy, sizeof(c.policy), "ok\nbad\xe2\x82\n");
		buf_init(&o2);
		rc = rec_to_json(&c, &o2);
		rc = rc == 0 ? rec_from_json(buf_head(&o2), buf_used(&o2) - 1, &b, &why) : rc;
		T_CASE("bytes that are not UTF-8 become ?", rc == 0 && strcmp(b.helo, "mx?\?(") == 0
		    && strcmp(b.policy, "ok\nbad??\n") == 0, "rc=%d helo=%s policy=%s", rc,
		    b.helo, b.policy);
		buf_free(&o2);
	}
	{
		/* A whole record followed by anything but white space is refused. */
		char line[REC_LINE_MAX];
		size_t n = buf_used(&out) - 1;

		memcpy(line, buf_head(&out), n);
		memcpy(line + n, " \r", 2);
		rc = rec_from_json(line, n + 2, &b, &why);
		T_CASE("trailing white space accepted", rc == 0, "why=%s", rc ? why : "-");
		memcpy(line + n, " x", 2);
		rc = rec_from_json(line, n + 2, &b, &why);
		T_CASE("trailing garbage refused", rc < 0, "accepted");
		memcpy(line + n, "{}", 2);
		rc = rec_from_json(line, n + 2, &b, &why);
		T_CASE("a second object on the line refused", rc < 0, "accepted");
	}
	{
		/* policy-table: written only when set, read back, checked */
		struct rec c;
		struct buf o2;
		const char *hostile[] = {
			"\"policy-table\":5", "\"policy-table\":\"\"", "\"policy-table\":null",
			"\"policy-table\":[\"x\"]",
		};

		T_CASE("no policy-table member when no entry applied",
		    memmem(buf_head(&out), buf_used(&out), "policy-table", 12) == NULL, "%.*s",
		    (int) buf_used(&out),
		    buf_head(&out));
		fill(&c, 3);
		snprintf(c.action, sizeof(c.action), "would-refuse");
		snprintf(c.table, sizeof(c.table), "[192.0.2.25]:25 fingerprint");
		buf_init(&o2);
		rc = rec_to_json(&c, &o2);
		rc = rc == 0 ? rec_from_json(buf_head(&o2), buf_used(&o2) - 1, &b, &why) : rc;
		T_CASE("policy-table and would-refuse round trip", rc == 0
		    && memcmp(&c, &b, sizeof(c)) == 0, "rc=%d why=%s table=%s", rc, rc ? why : "-",
		    b.table);
		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
			char line[REC_LINE_MAX], name[96];
			int n = snprintf(line, sizeof(line), "%.*s,%s}", (int) buf_used(&out) - 2,
			    buf_head(&out), hostile[i]);

			snprintf(name, sizeof(name), "policy-table refused: %s", hostile[i]);
			T_CASE(name, rec_from_json(line, (size_t) n, &b, &why) < 0, "accepted");
		}
		{
			char line[REC_LINE_MAX], big[400];
			int n;

			memset(big, 'a', sizeof(big) - 1);
			big[sizeof(big) - 1] = 0;
			n = snprintf(line, sizeof(line), "%.*s,\"policy-table\":\"%s\"}",
			    (int) buf_used(&out) - 2, buf_head(&out), big);
			T_CASE("policy-table over its size refused, not truncated",
			    rec_from_json(line, (size_t) n, &b, &why) < 0, "accepted");
		}
		buf_free(&o2);
	}
	{
		/* gateway-id, record-id: written when set, optional when read */
		struct rec c;
		struct buf o2;
		const char *hostile[] = {
			"\"record-id\":5", "\"record-id\":\"\"", "\"record-id\":\"a b\"",
			"\"gateway-id\":\"gw\\u00e9\"", "\"gateway-id\":null",
			"\"record-id\":\"a\\nb\"",
		};

		T_CASE("no gateway-id, record-id members when unset (old records)",
		    memmem(buf_head(&out), buf_used(&out), "record-id", 9) == NULL
		    && memmem(buf_head(&out), buf_used(&out), "gateway-id", 10) == NULL, "%.*s",
		    (int) buf_used(&out), buf_head(&out));
		fill(&c, 4);
		snprintf(c.gw, sizeof(c.gw), "gw-2.example");
		snprintf(c.rid, sizeof(c.rid), "gw-2.example:28A1D00004:4711:2");
		buf_init(&o2);
		rc = rec_to_json(&c, &o2);
		rc = rc == 0 ? rec_from_json(buf_head(&o2), buf_used(&o2) - 1, &b, &why) : rc;
		T_CASE("gateway-id and record-id round trip", rc == 0
		    && memcmp(&c, &b, sizeof(c)) == 0, "rc=%d why=%s gw=%s rid=%s", rc,
		    rc ? why : "-", b.gw, b.rid);
		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
			char line[REC_LINE_MAX], name[96];
			int n = snprintf(line, sizeof(line), "%.*s,%s}", (int) buf_used(&out) - 2,
			    buf_head(&out), hostile[i]);

			snprintf(name, sizeof(name), "id refused: %s", hostile[i]);
			T_CASE(name, rec_from_json(line, (size_t) n, &b, &why) < 0, "accepted");
		}
		{
			char line[REC_LINE_MAX], big[REC_RID + 1];
			int n;

			memset(big, 'a', sizeof(big) - 1);
			big[sizeof(big) - 1] = 0;
			n = snprintf(line, sizeof(line), "%.*s,\"record-id\":\"%s\"}",
			    (int) buf_used(&out) - 2, buf_head(&out), big);
			T_CASE("record-id over its size refused, not truncated",
			    rec_from_json(line, (size_t) n, &b, &why) < 0, "accepted");
		}
		buf_free(&o2);
	}
	T_CASE("policy strings are a JSON array", strstr(buf_head(&out),
	    "\"policy-string\":[\"3 1 1 0D3A28\",\"2 0 1 ABCDEF\"]") != NULL, "%.*s",
	    (int) buf_used(&out), buf_head(&out));
	{
		const char *bad[] = {
			"", "[]", "{}", "not json", "{\"time\":\"x\"}",
			"{\"time\":1,\"sid\":5}",
			"{\"time\":-1,\"sid\":\"a\"}",
			"{\"time\":1,\"sending-port\":70000}",

			"{\"time\":1,\"sending-port\":1.5}",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char name[64];

			snprintf(name, sizeof(name), "hostile line %zu refused", i);
			T_CASE(name, rec_from_json(bad[i], strlen(bad[i]), &b, &why) < 0, "accepted");
		}
	}
	{
		/* a field over its size is refused, not truncated */
		struct buf o2;
		char *p;

		buf_init(&o2);
		fill(&a, 2);
		rec_to_json(&a, &o2);
		buf_append(&o2, "", 1);
		p = strstr(buf_head(&o2), "\"sid\":\"");
		if (p) {
			char big[20000];
			int n = snprintf(big, sizeof(big), "%.*s\"sid\":\"%0100d\"%s",
			    (int) (p - buf_head(&o2)), buf_head(&o2), 7, strchr(p + 7, '"') + 1);

			T_CASE("over-long field refused", rec_from_json(big, (size_t) n - 1, &b, &why) < 0,
			    "accepted");
		}
		buf_free(&o2);
	}
	{
		/* journal: 5 good lines, one corrupt, and a torn last line */
		struct buf j;
		struct journal_stats st;
		int n = 0;

		buf_init(&j);
		for (int i = 0; i < 5; i++) {
			fill(&a, i);
			rec_to_json(&a, &j);
			if (i == 2)
				buf_puts(&j, "{\"time\": 5, garbage\n");
		}
		fill(&a, 9);
		rec_to_json(&a, &j);
		j.len -= 20;			/* the crash: half a line, no LF */
		journal_replay(buf_head(&j), buf_used(&j), count, &n, &st);
		T_CASE("replay: good lines delivered", n == 5 && st.good == 5, "n=%d good=%ld", n, st.good);
		T_CASE("replay: corrupt line counted, skipped", st.bad == 1, "bad=%ld", st.bad);
		T_CASE("replay: torn last line skipped", st.torn == 1 && st.lines == 6, "torn=%d lines=%ld",
		    st.torn, st.lines);
		T_CASE("replay: the first bad line's number and reason kept", st.first_bad == 4
		    && st.first_why != NULL && strstr(st.first_why, "JSON") != NULL,
		    "first_bad=%ld why=%s", st.first_bad, st.first_why ? st.first_why : "-");
		buf_free(&j);
	}
	buf_free(&out);
	return t_done();
}
