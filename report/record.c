/*
 * record.c - one upstream attempt as a JSON line, and journal replay.
 * See record.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "record.h"
#include "rtype.h"

static const struct {
	const char *key;
	size_t off, size;
} strs[] = {
#define S(k, f) {k, offsetof(struct rec, f), sizeof(((struct rec *) 0)->f)}
	S("sid", sid), S("policy-domain", domain), S("policy-type", ptype),
	S("mx-host", mx), S("receiving-ip", ip), S("receiving-mx-helo", helo),
	S("sending-mta-ip", src), S("result-type", result),
	S("failure-reason-code", reason), S("action", action),
#undef S
};

static const struct {
	const char *key;
	size_t off;
} lists[] = {
	{"policy-string", offsetof(struct rec, policy)},
	{"mx-host-pattern", offsetof(struct rec, mxpat)},
};

#define NSTRS (sizeof(strs) / sizeof(strs[0]))
#define NLISTS (sizeof(lists) / sizeof(lists[0]))

/* utf8_len - length of the UTF-8 sequence at s, 0 when it is not one */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fU, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0fU, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07U, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3fU);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* rec_utf8_dup - a copy of n bytes in which what is not UTF-8 becomes `?' */
char *
rec_utf8_dup(const char *s, size_t n)
{
	char *c = strndup(s, n);

	for (size_t i = 0, k; c != NULL && c[i]; i += k)
		if ((k = utf8_len((const unsigned char *) c + i)) == 0) {
			c[i] = '?';
			k = 1;
		}
	return c;
}

/* rec_json_lines - an LF-separated list as a JSON array of strings */
int
rec_json_lines(cJSON *o, const char *key, const char *s)
{
	cJSON *arr = cJSON_AddArrayToObject(o, key);

	if (arr == NULL)
		return -1;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t) (nl - s) : strlen(s);
		char *item;
		cJSON *v;

		if (n > 0) {
			if ((item = rec_utf8_dup(s, n)) == NULL)
				return -1;
			v = cJSON_CreateString(item);
			free(item);
			if (v == NULL || !cJSON_AddItemToArray(arr, v)) {
				cJSON_Delete(v);
				return -1;
			}
		}
		s += n + (nl ? 1 : 0);
	}
	return 0;
}

/* rec_json_str - a string member, made valid UTF-8 */
int
rec_json_str(cJSON *o, const char *key, const char *s)
{
	char *c = rec_utf8_dup(s, strlen(s));
	int rc = c != NULL && cJSON_AddStringToObject(o, key, c) != NULL ? 0 : -1;

	free(c);
	return rc;
}

/* rec_to_json - append one journal line */
int
rec_to_json(const struct rec *r, struct buf *out)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	int rc = -1;

	if (o == NULL || cJSON_AddNumberToObject(o, "time", (double) r->time) == NULL
	    || cJSON_AddNumberToObject(o, "sending-port", r->sport) == NULL)
		goto out;
	for (size_t i = 0; i < NSTRS; i++)
		if (rec_json_str(o, strs[i].key, (const char *) r + strs[i].off) < 0)
			goto out;
	for (size_t i = 0; i < NLISTS; i++)
		if (rec_json_lines(o, lists[i].key, (const char *) r + lists[i].off) < 0)
			goto out;
	if (r->table[0] && rec_json_str(o, "policy-table", r->table) < 0)
		goto out;
	if (r->gw[0] && rec_json_str(o, "gateway-id", r->gw) < 0)
		goto out;
	if (r->rid[0] && rec_json_str(o, "record-id", r->rid) < 0)
		goto out;
	if ((text = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	if (buf_puts(out, text) == 0 && buf_append(out, "\n", 1) == 0)
		rc = 0;
out:
	free(text);
	cJSON_Delete(o);
	return rc;
}

/* rec_words_ok - the policy type, result type and action are words of
 * rtype.h, exactly */
static int
rec_words_ok(const struct rec *r)
{
	enum ptype p;
	enum rtype t;
	enum raction a;

	return ptype_parse(r->ptype, &p) == 0 && rtype_parse(r->result, &t) == 0
	    && raction_parse(r->action, &a) == 0;
}

/* read_table - the optional policy-table member (only attempts under
 * the admin's table have it); -1 with why when it is not a fitting string */
static int
read_table(const cJSON *o, struct rec *r, const char **why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "policy-table");

	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v) || v->valuestring[0] == 0
	    || strlen(v->valuestring) >= sizeof(r->table)) {
		*why = "policy-table is not a string, empty, or too long";
		return -1;
	}
	memcpy(r->table, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* read_id - an optional id member (gateway-id, record-id): printable
 * ASCII without spaces, not empty, shorter than size; -1 with why */
static int
read_id(const cJSON *o, const char *key, char *dst, size_t size, const char **why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t n;

	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) == 0 || n >= size) {
		*why = "gateway-id or record-id is not a string, empty, or too long";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) v->valuestring[i] < 0x21
		    || (unsigned char) v->valuestring[i] > 0x7e) {
			*why = "gateway-id or record-id is not printable ASCII without spaces";
			return -1;
		}
	memcpy(dst, v->valuestring, n + 1);
	return 0;
}

/* rec_from_json - one journal line back into a record */
int
rec_from_json(const char *line, size_t len, struct rec *r, const char **why)
{
	cJSON *o, *v;
	const char *end = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (len > REC_LINE_MAX) {
		*why = "line too long";
		return -1;
	}
	if (memchr(line, 0, len)) {
		*why = "NUL byte";
		return -1;
	}
	o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	while (o && end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (o == NULL || !cJSON_IsObject(o) || end != line + len) {
		*why = o ? "not one JSON object" : "not a JSON object";
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "time");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e13) {
		*why = "bad time";
		goto out;
	}
	r->time = (long long) v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(o, "sending-port");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535
	    || v->valuedouble != (double) (int) v->valuedouble) {
		*why = "bad sending-port";
		goto out;
	}
	r->sport = (int) v->valuedouble;
	for (size_t i = 0; i < NSTRS; i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, strs[i].key);
		if (!cJSON_IsString(v) || strlen(v->valuestring) >= strs[i].size) {
			*why = "a field is missing, not a string, or too long";
			goto out;
		}
		memcpy((char *) r + strs[i].off, v->valuestring, strlen(v->valuestring) + 1);
	}
	if (!rec_words_ok(r)) {
		*why = "an unknown policy type, result type or action";
		goto out;
	}
	if (read_table(o, r, why) < 0 || read_id(o, "gateway-id", r->gw, sizeof(r->gw), why) < 0
	    || read_id(o, "record-id", r->rid, sizeof(r->rid), why) < 0)
		goto out;
	for (size_t i = 0; i < NLISTS; i++) {
		char *dst = (char *) r + lists[i].off;
		size_t w = 0;
		cJSON *item;

		v = cJSON_GetObjectItemCaseSensitive(o, lists[i].key);
		if (!cJSON_IsArray(v)) {
			*why = "a list is missing";
			goto out;
		}
		cJSON_ArrayForEach(item, v) {
			size_t n;

			if (!cJSON_IsString(item) || strchr(item->valuestring, '\n')) {
				*why = "a list item is not a one-line string";
				goto out;
			}
			n = strlen(item->valuestring);
			if (w + n + 2 > REC_LIST) {
				*why = "a list is too long";
				goto out;
			}
			memcpy(dst + w, item->valuestring, n);
			w += n;
			dst[w++] = '\n';
		}
		dst[w] = 0;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/* journal_replay - every whole, parseable line of a journal */
void
journal_replay(const char *text, size_t len, void (*fn)(const struct rec *, void *),
    void *arg, struct journal_stats *st)
{
	size_t pos = 0;
	struct rec *r = malloc(sizeof(*r));

	memset(st, 0, sizeof(*st));
	if (r == NULL)
		return;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		const char *why;

		if (nl == NULL) {
			st->torn = 1;		/* a crash cut the last line */
			break;
		}
		st->lines++;
		if (rec_from_json(text + pos, (size_t) (nl - (text + pos)), r, &why) == 0) {
			st->good++;
			r->line = text + pos;
			r->linelen = (size_t) (nl - (text + pos));
			r->lineno = st->lines;
			if (fn)
				fn(r, arg);
		} else {
			if (st->bad++ == 0) {
				st->first_bad = st->lines;
				st->first_why = why;
			}
		}
		pos = (size_t) (nl - text) + 1;
	}
	free(r);
}
