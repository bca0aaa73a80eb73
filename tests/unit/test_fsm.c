/*
 * test_fsm.c - the client-side state machine, one scripted session per
 * case: command order (RFC 5321 4.1.4), pipelined batches, RSET, STARTTLS
 * resets (RFC 3207 4.2), parameters, limits and the error counter.
 *
 * A step is a command line, the action expected, and the start of the
 * reply expected.  For FSM_A_RCPT the step also says what the MX answered
 * (`+' accepted, `-' refused); `!' after DATA ends the transaction as
 * the session does when the MX's final reply arrives; `T' completes a
 * TLS handshake.
 */
#include <stdio.h>
#include <string.h>

#include "../../proxy/fsm.h"
#include "t.h"

struct step {
	const char *line;		/* NULL ends the script */
	enum fsm_action act;
	const char *reply;		/* expected prefix, or NULL */
	char mx;			/* '+', '-', '!', 'T', or 0 */
};

struct script {
	const char *name;
	int offer_tls;
	uint64_t size_limit;
	struct step steps[40];
};

#define R FSM_A_REPLY
static const struct script scripts[] = {
	{"plain transaction", 1, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-mx.test\r\n250-PIPELINING", 0},
		{"MAIL FROM:<a@old.example>", FSM_A_MAILFROM, "250 2.1.0", 0},
		{"RCPT TO:<b@dst.example>", FSM_A_RCPT, NULL, '+'},
		{"DATA", FSM_A_DATA, NULL, '!'},
		{"QUIT", FSM_A_QUIT, "221 2.0.0", 0},
		{NULL, 0, NULL, 0}}},
	{"pipelined batch in order", 1, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"MAIL FROM:<a@old.example> SIZE=1000 BODY=8BITMIME", FSM_A_MAILFROM, "250 ", 0},
		{"RCPT TO:<b1@dst.example>", FSM_A_RCPT, NULL, '+'},
		{"RCPT TO:<b2@dst.example>", FSM_A_RCPT, NULL, '-'},
		{"RCPT TO:<b3@dst.example>", FSM_A_RCPT, NULL, '+'},
		{"DATA", FSM_A_DATA, NULL, '!'},
		{"MAIL FROM:<>", FSM_A_MAILFROM, "250 ", 0},
		{"RCPT TO:<c@dst.example>", FSM_A_RCPT, NULL, '+'},
		{"DATA", FSM_A_DATA, NULL, '!'},
		{"QUIT", FSM_A_QUIT, "221 ", 0},
		{NULL, 0, NULL, 0}}},
	{"all recipients refused: DATA gets 554", 1, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"MAIL FROM:<a@old.example>", FSM_A_MAILFROM, "250 ", 0},
		{"RCPT TO:<b@dst.example>", FSM_A_RCPT, NULL, '-'},
		{"DATA", R, "554 5.5.1", 0},
		{"RSET", FSM_A_RSET, "250 2.0.0", 0},
		{"MAIL FROM:<a@old.example>", FSM_A_MAILFROM, "250 ", 0},
		{NULL, 0, NULL, 0}}},
	{"bad order", 1, 0, {
		{"MAIL FROM:<a@b.example>", R, "503 5.5.1 Error: send HELO/EHLO first", 0},
		{"RCPT TO:<a@b.example>", R, "503 5.5.1 Error: need MAIL", 0},
		{"DATA", R, "503 5.5.1", 0},
		{"HELO old.example", FSM_A_HELO, "250 mx.test", 0},
		{"RCPT TO:<a@b.example>", R, "503 5.5.1 Error: need MAIL", 0},
		{"DATA", R, "503 5.5.1 Error: need RCPT", 0},
		{"MAIL FROM:<a@b.example>", FSM_A_MAILFROM, "250 ", 0},
		{"MAIL FROM:<a@b.example>", R, "503 5.5.1 Error: nested MAIL", 0},
		{"DATA", R, "503 5.5.1 Error: need RCPT", 0},
		{NULL, 0, NULL, 0}}},
	{"RSET clears the transaction", 1, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"MAIL FROM:<a@b.example>", FSM_A_MAILFROM, "250 ", 0},
		{"RCPT TO:<c@d.example>", FSM_A_RCPT, NULL, '+'},
		{"RSET", FSM_A_RSET, "250 2.0.0 Ok", 0},
		{"RCPT TO:<c@d.example>", R, "503 5.5.1 Error: need MAIL", 0},
		{"DATA", R, "503 ", 0},
		{"MAIL FROM:<a@b.example>", FSM_A_MAILFROM, "250 ", 0},
		{"RSET extra", R, "501 5.5.4", 0},
		{NULL, 0, NULL, 0}}},
	{"EHLO in a transaction resets it", 1, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"MAIL FROM:<a@b.example>", FSM_A_MAILFROM, "250 ", 0},
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"RCPT TO:<c@d.example>", R, "503 5.5.1 Error: need MAIL", 0},
		{NULL, 0, NULL, 0}}},
	{"STARTTLS resets state (RFC 3207)", 1, 0, {
		{"STARTTLS", R, "503 5.5.1 Error: send EHLO first", 0},
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"STARTTLS now", R, "501 5.5.4", 0},
		{"STARTTLS", FSM_A_STARTTLS, "220 2.0.0", 'T'},
		{"MAIL FROM:<a@b.example>", R, "503 5.5.1 Error: send HELO/EHLO first", 0},
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"STARTTLS", R, "554 5.5.1 Error: TLS already active", 0},
		{"MAIL FROM:<a@b.example>", FSM_A_MAILFROM, "250 ", 0},
		{"STARTTLS", R, "554 5.5.1", 0},
		{NULL, 0, NULL, 0}}},
	{"STARTTLS in a transaction refused", 1, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"MAIL FROM:<a@b.example>", FSM_A_MAILFROM, "250 ", 0},
		{"STARTTLS", R, "503 5.5.1 Error: MAIL transaction in progress", 0},
		{NULL, 0, NULL, 0}}},
	{"STARTTLS not offered", 0, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"STARTTLS", R, "502 5.5.1", 0},
		{NULL, 0, NULL, 0}}},
	{"parameters checked", 1, 1000, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"MAIL FROM:<a@b.example> SIZE=1001", R, "552 5.3.4", 0},
		{"MAIL FROM:<a@b.example> SIZE=abc", R, "501 5.5.4 Bad message size", 0},
		{"MAIL FROM:<a@b.example> BODY=BINARYMIME", R, "501 5.5.4 Unsupported BODY", 0},
		{"MAIL FROM:<a@b.example> RET=HDRS", R, "555 5.5.4 Unsupported option: RET", 0},
		{"MAIL FROM:<a@b.example> SMTPUTF8=x", R, "501 5.5.4", 0},
		{"MAIL FROM:<\xc3\xa9@b.example>", R, "553 5.6.7", 0},
		{"MAIL FROM:<\xc3\xa9@b.example> SMTPUTF8", FSM_A_MAILFROM, "250 ", 0},
		{"RCPT TO:<c@d.example> NOTIFY=NEVER", R, "555 5.5.4", 0},
		{"RCPT TO:<c@d.example>", FSM_A_RCPT, NULL, '+'},
		{NULL, 0, NULL, 0}}},
	{"control characters in envelope addresses refused", 1, 0, {
		{"EHLO old.example", FSM_A_HELO, "250-", 0},
		{"MAIL FROM:<\"x\rRCPT TO:<victim@v.example>\r\"@client.example>", R,
		 "501 5.1.7", 0},
		{"MAIL FROM:<\"x\x01y\"@client.example>", R, "501 5.1.7", 0},
		{"MAIL FROM:<a@client.example>", FSM_A_MAILFROM, "250 ", 0},
		{"RCPT TO:<\"x\rDATA\r\"@v.example>", R, "501 5.1.3", 0},
		{"RCPT TO:<\"a\\\x7f\"@v.example>", R, "501 5.1.3", 0},
		{"RCPT TO:<v@v.example>\rRCPT TO:<w@w.example>", R, "501 5.1.3", 0},
		{"NOOP\rRCPT TO:<w@w.example>", R, "500 5.5.2 Error: bare <CR>", 0},
		{"RCPT TO:<v@v.example>", FSM_A_RCPT, NULL, '+'},
		{NULL, 0, NULL, 0}}},
	{"HELO client may not use ESMTP parameters", 1, 0, {
		{"HELO old.example", FSM_A_HELO, "250 ", 0},
		{"MAIL FROM:<a@b.example> SIZE=10", R, "555 5.5.4", 0},
		{"MAIL FROM:<a@b.example>", FSM_A_MAILFROM, "250 ", 0},
		{NULL, 0, NULL, 0}}},
	{"SIZE advertised with limit", 1, 52428800, {
		{"EHLO old.example", FSM_A_HELO, "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n", 0},
		{NULL, 0, NULL, 0}}},
	{"odd commands", 1, 0, {
		{"NOOP", R, "250 2.0.0", 0},
		{"VRFY root", R, "252 2.0.0", 0},
		{"EXPN staff", R, "502 5.5.1", 0},
		{"HELP", R, "214 ", 0},
		{"BDAT 10 LAST", R, "502 5.5.1", 0},
		{"AUTH PLAIN x", R, "502 5.5.1", 0},
		{"XYZZY", R, "500 5.5.2", 0},
		{"", R, "500 5.5.2", 0},
		{"EHLO", R, "501 5.5.4 Syntax: EHLO hostname", 0},
		{"HELO bad\x01name", R, "501 5.5.4", 0},
		{"DATA now", R, "501 5.5.4", 0},
		{NULL, 0, NULL, 0}}},
	{"too many errors close the session", 1, 0, {
		{"X1", R, "500", 0}, {"X2", R, "500", 0}, {"X3", R, "500", 0},
		{"X4", R, "500", 0}, {"X5", R, "500", 0}, {"X6", R, "500", 0},
		{"X7", R, "500", 0}, {"X8", R, "500", 0}, {"X9", R, "500", 0},
		{"X10", R, "500", 0}, {"X11", R, "500", 0}, {"X12", R, "500", 0},
		{"X13", R, "500", 0}, {"X14", R, "500", 0}, {"X15", R, "500", 0},
		{"X16", R, "500", 0}, {"X17", R, "500", 0}, {"X18", R, "500", 0},
		{"X19", R, "500", 0},
		{"X20", FSM_A_CLOSE, "421 4.7.0", 0},
		{NULL, 0, NULL, 0}}},
};

static const char *
act_str(enum fsm_action a)
{
	static const char *n[] = {"REPLY", "MAILFROM", "RCPT", "DATA", "RSET",
	"STARTTLS", "HELO", "QUIT", "CLOSE"};

	return (unsigned) a < sizeof(n) / sizeof(n[0]) ? n[a] : "?";
}

static void
run_script(const struct script *sc)
{
	struct fsm_conf conf = {"mx.test", sc->size_limit, sc->offer_tls};
	struct fsm f;
	struct fsm_out out;
	int i;

	fsm_init(&f, &conf, 0);
	for (i = 0; sc->steps[i].line; i++) {
		const struct step *st = &sc->steps[i];

		fsm_command(&f, st->line, strlen(st->line), &out);
		if (out.action != st->act) {
			T_CASE(sc->name, 0, "step %d \"%s\": action %s, want %s (reply %s)", i + 1,
			    st->line, act_str(out.action), act_str(st->act), out.reply);
			goto out;
		}
		if (st->reply && strncmp(out.reply, st->reply, strlen(st->reply)) != 0) {
			T_CASE(sc->name, 0, "step %d \"%s\": reply \"%s\", want \"%s\"", i + 1,
			    st->line, out.reply, st->reply);
			goto out;
		}
		if (out.replylen && (out.replylen < 2 || memcmp(out.reply + out.replylen - 2,
			    "\r\n", 2) != 0)) {
			T_CASE(sc->name, 0, "step %d: reply not CRLF-ended", i + 1);
			goto out;
		}
		switch (st->mx) {
		case '+':
			fsm_rcpt_result(&f, 1);
			break;
		case '-':
			fsm_rcpt_result(&f, 0);
			break;
		case '!':
			fsm_txn_end(&f);
			break;
		case 'T':
			fsm_tls_started(&f);
			break;
		}
	}
	T_CASE(sc->name, 1, "-");
out:
	fsm_free(&f);
}

static void
limits(void)
{
	struct fsm_conf conf = {"mx.test", 0, 1};
	struct fsm f;
	struct fsm_out out;
	char line[64];
	int ok = 1;

	fsm_init(&f, &conf, 0);
	fsm_command(&f, "EHLO x.example", 14, &out);
	fsm_command(&f, "MAIL FROM:<a@b.example>", 23, &out);
	for (int i = 0; i < FSM_MAX_RCPTS; i++) {
		int n = snprintf(line, sizeof(line), "RCPT TO:<r%d@d.example>", i);

		fsm_command(&f, line, (size_t) n, &out);
		ok &= out.action == FSM_A_RCPT;
		fsm_rcpt_result(&f, 1);
	}
	fsm_command(&f, "RCPT TO:<one.too.many@d.example>", 32, &out);
	T_CASE("recipient limit", ok && out.action == FSM_A_REPLY
	    && strncmp(out.reply, "452 4.5.3", 9) == 0, "reply %s", out.reply);
	{
		char big[SMTP_LINE_MAX + 10];

		memset(big, 'A', sizeof(big));
		fsm_command(&f, big, sizeof(big), &out);
		T_CASE("over-long line", strncmp(out.reply, "500 5.5.2 Error: line too long", 30) == 0,
		    "reply %s", out.reply);
	}
	{
		char host[300];

		memset(host, 'h', sizeof(host));
		memcpy(host, "EHLO ", 5);
		fsm_command(&f, host, sizeof(host), &out);
		T_CASE("over-long EHLO name", strncmp(out.reply, "501 5.5.4", 9) == 0, "reply %s", out.reply);
	}
	fsm_free(&f);
}

/* names - the HELO name and MAIL address are kept while they mean
 * something, and only then (an idle session holds no transaction) */
static void
names(void)
{
	struct fsm_conf conf = {"mx.test", 0, 1};
	struct fsm f;
	struct fsm_out out;
	int ok;

	fsm_init(&f, &conf, 0);
	T_CASE("names: none before EHLO", f.helo == NULL && f.mail == NULL
	    && strcmp(fsm_helo(&f), "") == 0 && strcmp(fsm_mail(&f), "") == 0, "-");
	fsm_command(&f, "EHLO client.example", 19, &out);
	fsm_command(&f, "MAIL FROM:<a@b.example> SIZE=10", 31, &out);
	T_CASE("names: EHLO name and MAIL address kept", out.action == FSM_A_MAILFROM
	    && strcmp(fsm_helo(&f), "client.example") == 0
	    && strcmp(fsm_mail(&f), "a@b.example") == 0, "helo %s mail %s", fsm_helo(&f),
	    fsm_mail(&f));
	fsm_command(&f, "RSET", 4, &out);
	T_CASE("names: RSET frees the address, keeps the name", f.mail == NULL
	    && strcmp(fsm_helo(&f), "client.example") == 0, "mail %p", (void *) f.mail);
	fsm_command(&f, "MAIL FROM:<>", 12, &out);
	ok = out.action == FSM_A_MAILFROM && f.mail != NULL && strcmp(fsm_mail(&f), "") == 0;
	fsm_command(&f, "HELO other.example", 18, &out);
	T_CASE("names: null sender; a second HELO replaces the name, ends the transaction",
	    ok && f.mail == NULL && strcmp(fsm_helo(&f), "other.example") == 0,
	    "helo %s", fsm_helo(&f));
	fsm_command(&f, "EHLO client.example", 19, &out);
	fsm_command(&f, "STARTTLS", 8, &out);
	fsm_tls_started(&f);
	T_CASE("names: STARTTLS forgets the name", out.action == FSM_A_STARTTLS
	    && f.helo == NULL, "action %s", act_str(out.action));
	fsm_command(&f, "EHLO again.example", 18, &out);
	fsm_command(&f, "MAIL FROM:<c@d.example>", 23, &out);
	fsm_txn_end(&f);
	T_CASE("names: the end of a transaction frees the address", f.mail == NULL
	    && strcmp(fsm_helo(&f), "again.example") == 0, "-");
	fsm_free(&f);
	T_CASE("names: fsm_free leaves none", f.helo == NULL && f.mail == NULL, "-");
}

int
main(void)
{
	T_INIT("fsm");
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		run_script(&scripts[i]);
	limits();
	names();
	return t_done();
}
