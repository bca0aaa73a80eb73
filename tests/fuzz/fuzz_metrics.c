/*
 * fuzz_metrics.c - libFuzzer target for the metrics' HTTP request-head
 * parser and label escaping (proxy/metrics.c).  Invariants: the parser
 * reads nothing beyond the input, answers only with a status it knows,
 * needs more only below METRICS_HEAD_MAX, and decides the same on the
 * part it says it used; an escaped label value holds no line feed and
 * no unescaped quote, and unescapes to the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_head - the parser's invariants on one input */
static void
check_head(const char *p, size_t n)
{
	struct metrics_req r, r2;
	int rc = metrics_req_parse(p, n, &r);

	if (rc == 0) {
		if (n >= METRICS_HEAD_MAX)
			abort();
		return;
	}
	if (rc != 1 || r.used > n)
		abort();
	switch (r.status) {
	case 200: case 400: case 404: case 405: case 414: case 431: case 505:
		break;
	default:
		abort();
	}
	if (r.head && (n < 5 || memcmp(p, "HEAD ", 5) != 0))
		abort();
	if (metrics_req_parse(p, r.used, &r2) != 1 || r2.status != r.status)
		abort();
}

/* check_label - escaping, and back */
static void
check_label(const char *p, size_t n)
{
	char *s = malloc(n + 1), *back = malloc(n + 1);
	struct buf b;
	size_t w = 0;

	if (s == NULL || back == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	buf_init(&b);
	if (metrics_label_value(&b, s) < 0)
		abort();
	for (size_t i = 0; i < buf_used(&b); i++) {
		char c = buf_head(&b)[i];

		if (c == '\n' || c == '"')
			abort();
		if (c == '\\') {
			if (++i >= buf_used(&b))
				abort();
			c = buf_head(&b)[i];
			c = c == 'n' ? '\n' : c;
			if (c != '\\' && c != '"' && c != '\n')
				abort();
		}
		back[w++] = c;
	}
	if (w != strlen(s) || memcmp(back, s, w) != 0)
		abort();
	buf_free(&b);
	free(s);
	free(back);
}

/* LLVMFuzzerTestOneInput - one input, both checks */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);	/* exact size: ASan sees overreads */

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	check_head(p, size);
	check_label(p, size);
	free(p);
	return 0;
}
