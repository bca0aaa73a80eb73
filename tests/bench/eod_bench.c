/*
 * eod_bench.c - the end-of-data scanner (proxy/smtp.c smtp_eod_scan) over
 * 64 MiB of message, in 64 KiB reads as a session gets them: text lines
 * with many dots, and base64 lines with none.  The baseline, in the same
 * run, is memchr() for LF over the same buffer (the least any line-aware
 * scanner does).  Prints MB/s and the ratio; figures only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../proxy/smtp.h"
#include "bclock.h"

#define BUF	(64u << 20)
#define READ	65536u
#define ROUNDS	8

/* scan - the scanner over the buffer in READ-sized pieces */
static size_t
scan(const char *b, size_t n)
{
	struct smtp_eod st;
	size_t off = 0, used;

	smtp_eod_init(&st);
	while (off < n) {
		size_t c = n - off < READ ? n - off : READ;

		if (smtp_eod_scan(&st, b + off, c, &used) != SMTP_EOD_MORE || used == 0)
			break;
		off += used;
	}
	return off;
}

/* lines - memchr for every LF: the baseline */
static size_t
lines(const char *b, size_t n)
{
	size_t k = 0;

	for (const char *p = b, *e = b + n; (p = memchr(p, '\n', (size_t) (e - p))); p++)
		k++;
	return k;
}

int
main(void)
{
	static const char *kinds[][2] = {
		{"text", "The quick brown fox. Jumps over the lazy dog. See www.example.\r\n"},
		{"base64", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5\r\n"},
	};
	char *b = malloc(BUF);
	volatile size_t sink = 0;

	if (b == NULL)
		return 1;
	for (size_t k = 0; k < 2; k++) {
		size_t l = strlen(kinds[k][1]), n = BUF - BUF % l;
		double t0, ts, tb;

		for (size_t i = 0; i + l <= n; i += l)
			memcpy(b + i, kinds[k][1], l);
		t0 = now();
		for (int r = 0; r < ROUNDS; r++)
			sink += scan(b, n);
		ts = now() - t0;
		t0 = now();
		for (int r = 0; r < ROUNDS; r++)
			sink += lines(b, n);
		tb = now() - t0;
		printf("eod scan %-6s: %6.0f MB/s; memchr(LF) baseline %6.0f MB/s; ratio %.2f\n",
		    kinds[k][0], (double) n * ROUNDS / ts / 1e6,
		    (double) n * ROUNDS / tb / 1e6, tb / ts);
	}
	free(b);
	return sink == 0;
}
