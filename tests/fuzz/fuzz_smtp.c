/*
 * fuzz_smtp.c - libFuzzer target for the SMTP parsers and the client
 * state machine: the input is split into lines and fed as commands, as
 * reply lines, and as DATA bytes.  Any crash, leak or sanitizer report is
 * a bug; so is a reply that is not CRLF-ended.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proxy/fsm.h"
#include "../../proxy/smtp.h"
#include "../unit/eod_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fsm_conf conf = {"mx.fuzz", 1000000, 1};
	struct fsm f;
	struct fsm_out out;
	struct smtp_reply r;
	struct smtp_eod eod;
	const char *p = (const char *) data;
	size_t off = 0;

	fsm_init(&f, &conf, 0);
	smtp_reply_init(&r);
	while (off < size) {
		size_t ll, consumed;
		int rc = smtp_getline(p + off, size - off, SMTP_LINE_MAX, &ll, &consumed);

		if (rc == SMTP_LINE_NEED) {
			ll = size - off;
			consumed = ll;
		} else if (rc == SMTP_LINE_LONG) {
			ll = SMTP_LINE_MAX + 1;
			consumed = SMTP_LINE_MAX;
		}
		fsm_command(&f, p + off, ll, &out);
		if (out.replylen && (out.replylen < 2 || out.reply[out.replylen - 1] != '\n'))
			abort();
		/* Pretend the MX takes every other recipient. */
		if (out.action == FSM_A_RCPT)
			fsm_rcpt_result(&f, (off & 1) == 0);
		if (out.action == FSM_A_DATA)
			fsm_txn_end(&f);
		if (out.action == FSM_A_STARTTLS)
			fsm_tls_started(&f);
		if (ll <= SMTP_LINE_MAX) {
			struct smtp_ehlo e;

			if (smtp_reply_feed(&r, p + off, ll) == SMTP_REPLY_DONE) {
				char l1[128];

				smtp_ehlo_parse(&r, &e);
				smtp_reply_line1(&r, l1, sizeof(l1));
			}
			(void) smtp_valid_hostname(p + off, ll);
		}
		off += consumed;
	}
	fsm_free(&f);
	/* RFC 8689 header detection: any bytes, never out of bounds. */
	(void) smtp_tls_required_no(p, size);
	/* The fast scanner must agree with the reference, whole and cut into
	 * pieces at points the input itself chooses. */
	{
		size_t u1 = 0, uref = 0, cuts[8];
		int want = eod_ref(p, size, &uref), got, ncuts = 0;

		smtp_eod_init(&eod);
		got = smtp_eod_scan(&eod, p, size, &u1);
		if (got != want || u1 != uref)
			abort();
		for (size_t i = 0; i < size && ncuts < 8; i++)
			if ((unsigned char) p[i] == 0xff)
				cuts[ncuts++] = i;
		got = eod_chunked(p, size, cuts, ncuts, &u1);
		if (got != want || u1 != uref)
			abort();
	}
	return 0;
}
