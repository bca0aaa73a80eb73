/*
 * up.c - the upstream SMTP client.  See up.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "../lib/log.h"
#include "../policy/dane.h"
#include "tls.h"
#include "up.h"

#define UP_QUIT_TIMEOUT	10.0
#define UP_LINE_MAX	2048

static void up_on_conn(struct conn *, int, void *);
static void up_on_timer(struct ev_loop *, ev_timer *, int);

/* up_state_str - a state's name, for logs and panics */
const char *
up_state_str(enum up_state st)
{
	static const char *const names[] = {
		[UP_S_CONNECT] = "connect", [UP_S_BANNER] = "banner", [UP_S_EHLO] = "ehlo",
		[UP_S_HELO] = "helo", [UP_S_STARTTLS] = "starttls",
		[UP_S_HANDSHAKE] = "handshake", [UP_S_EHLO2] = "ehlo2", [UP_S_IDLE] = "idle",
		[UP_S_WAIT] = "wait", [UP_S_DATA] = "data", [UP_S_DOT] = "dot",
		[UP_S_QUIT] = "quit", [UP_S_DEAD] = "dead",
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) == UP_S_NSTATES,
	    "a name for every enum up_state");
	return (unsigned) st < UP_S_NSTATES && names[st] ? names[st] : "?";
}

/* up_free - the reaper's part */
static void
up_free(struct reap *r)
{
	struct up *u = (struct up *) ((char *) r - offsetof(struct up, reap));

	SSL_CTX_free(u->p.tls_ctx);		/* ours: see up_start */
	free(u);
}

/* up_dispose - close and hand to the reaper; no more callbacks */
static void
up_dispose(struct up *u)
{
	u->st = UP_S_DEAD;
	ev_timer_stop(u->loop, &u->tmo);
	conn_close(&u->c);
	reap_later(&u->reap, up_free);
}

/* up_fail - report a failure once, then dispose */
__attribute__((format(printf, 3, 4)))
static void
up_fail(struct up *u, const char *enh, const char *fmt, ...)
{
	va_list ap;

	if (u->st == UP_S_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(u->why, sizeof(u->why), fmt, ap);
	va_end(ap);
	u->enh = enh;
	if (u->st == UP_S_QUIT) {		/* nobody is waiting any more */
		up_dispose(u);
		return;
	}
	up_dispose(u);
	u->cb(u, UP_FAIL, u->arg);
}

/* x509_err_name - the verify error's name, for reports */
static const char *
x509_err_name(long e, char *buf, size_t len)
{
	static const struct {
		long e;
		const char *n;
	} names[] = {
		{X509_V_ERR_DANE_NO_MATCH, "X509_V_ERR_DANE_NO_MATCH"},
		{X509_V_ERR_HOSTNAME_MISMATCH, "X509_V_ERR_HOSTNAME_MISMATCH"},
		{X509_V_ERR_CERT_HAS_EXPIRED, "X509_V_ERR_CERT_HAS_EXPIRED"},
		{X509_V_ERR_CERT_NOT_YET_VALID, "X509_V_ERR_CERT_NOT_YET_VALID"},
		{X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT"},
		{X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN"},
		{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"},
		{X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE"},
		{X509_V_ERR_CERT_UNTRUSTED, "X509_V_ERR_CERT_UNTRUSTED"},
		{X509_V_ERR_CERT_SIGNATURE_FAILURE, "X509_V_ERR_CERT_SIGNATURE_FAILURE"},
		{X509_V_ERR_INVALID_CA, "X509_V_ERR_INVALID_CA"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, len, "X509_V_ERR_%ld", e);
	return buf;
}

/* up_policy_fail - a failure that policy forbids working around */
__attribute__((format(printf, 4, 5)))
static void
up_policy_fail(struct up *u, enum rtype rtype, const char *rcode,
    const char *fmt, ...)
{
	char why[sizeof(u->why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	u->rtype = rtype;
	snprintf(u->rcode, sizeof(u->rcode), "%s", rcode ? rcode : "");
	up_fail(u, "4.7.5", "%s", why);
}

/* soft_fail - MTA-STS testing: note what enforce would have refused */
__attribute__((format(printf, 3, 4)))
static void
soft_fail(struct up *u, enum rtype rtype, const char *fmt, ...)
{
	va_list ap;

	if (u->soft_rtype != RTYPE_NONE)
		return;				/* the first one counts */
	u->soft_rtype = rtype;
	va_start(ap, fmt);
	vsnprintf(u->soft_why, sizeof(u->soft_why), fmt, ap);
	va_end(ap);
	msg_info("%s: MTA-STS testing (policy id %s): %s: %s; delivering anyway",
	    u->sid, u->sts_id, rtype_str(rtype), u->soft_why);
}

/* arm - (re)start the per-step timer */
static void
arm(struct up *u, double secs)
{
	ev_timer_stop(u->loop, &u->tmo);
	ev_timer_set(&u->tmo, secs, 0.);
	ev_timer_start(u->loop, &u->tmo);
}

/* send_line - a command with CRLF */
static int
send_line(struct up *u, const char *line, size_t len)
{
	if (conn_write(&u->c, line, len) < 0 || conn_write(&u->c, "\r\n", 2) < 0)
		return -1;
	arm(u, (double) u->p.timeout);
	return 0;
}

/* open_socket - socket, mark, non-blocking connect */
static int
open_socket(struct up *u)
{
	int fd = socket(u->p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0) {
		snprintf(u->why, sizeof(u->why), "socket: %s", strerror(errno));
		return -1;
	}
	if (u->p.mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &u->p.mark,
		sizeof(u->p.mark)) < 0) {
		snprintf(u->why, sizeof(u->why), "cannot set SO_MARK 0x%x: %s",
		    (unsigned) u->p.mark, strerror(errno));
		close(fd);
		return -1;
	}
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *) &u->p.addr, u->p.addrlen) < 0
	    && errno != EINPROGRESS) {
		snprintf(u->why, sizeof(u->why), "connect to %s: %s", u->peer,
		    strerror(errno));
		close(fd);
		return -1;
	}
	conn_init(&u->c, u->loop, fd, up_on_conn, u);
	u->c.in_max = 8192;
	conn_connecting(&u->c);
	u->st = UP_S_CONNECT;
	u->phase = "connecting";
	arm(u, (double) u->p.connect_timeout);
	return 0;
}

/* set_peer - `name[addr]:port' for logs and reasons */
static void
set_peer(struct up *u, const char *name)
{
	unsigned port;

	if (u->p.addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *) &u->p.addr;

		inet_ntop(AF_INET6, &s6->sin6_addr, u->addrstr, sizeof(u->addrstr));
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *) &u->p.addr;

		inet_ntop(AF_INET, &s4->sin_addr, u->addrstr, sizeof(u->addrstr));
		port = ntohs(s4->sin_port);
	}
	snprintf(u->peer, sizeof(u->peer), "%s[%s]:%u", name, u->addrstr, port);
}

/* up_start - connect to an MX host */
struct up *
up_start(struct ev_loop *loop, const struct up_params *p, up_cb *cb, void *arg)
{
	struct up *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->loop = loop;
	u->p = *p;
	/* A reload may replace the context before this MX even greets: the
	 * upstream holds a reference of its own until it is freed. */
	if (u->p.tls_ctx != NULL && SSL_CTX_up_ref(u->p.tls_ctx) != 1) {
		free(u);
		return NULL;
	}
	snprintf(u->helo, sizeof(u->helo), "%s", p->helo);
	snprintf(u->sid, sizeof(u->sid), "%s", p->sid);
	snprintf(u->mxname, sizeof(u->mxname), "%s", p->mxname ? p->mxname : "");
	snprintf(u->base, sizeof(u->base), "%s", p->base ? p->base : u->mxname);
	snprintf(u->orig_name, sizeof(u->orig_name), "%s", p->orig_name ? p->orig_name : "");
	u->p.helo = u->helo;
	u->p.sid = u->sid;
	u->p.mxname = u->mxname;
	u->p.base = u->base;
	u->p.orig_name = u->orig_name;
	snprintf(u->sts_id, sizeof(u->sts_id), "%s", p->sts_id ? p->sts_id : "");
	u->p.sts_id = u->sts_id;
	u->cb = cb;
	u->arg = arg;
	u->c.fd = -1;
	u->c.closed = 1;
	smtp_reply_init(&u->reply);
	ev_init(&u->tmo, up_on_timer);
	u->tmo.data = u;
	set_peer(u, u->mxname[0] ? u->mxname : "unknown");
	if (open_socket(u) < 0) {
		/* Report from the loop, never from inside the caller's call. */
		u->early_fail = 1;
		arm(u, 0.);
	}
	return u;
}

/* ready - the session can start */
static void
ready(struct up *u)
{
	u->st = UP_S_IDLE;
	ev_timer_stop(u->loop, &u->tmo);
	u->cb(u, UP_READY, u->arg);
}

/* retry_plain - opportunistic: TLS failed, try again without it */
static void
retry_plain(struct up *u, const char *why)
{
	msg_warn("%s: TLS handshake failed with %s: %s; retrying without TLS",
	    u->sid, u->peer, why);
	ev_timer_stop(u->loop, &u->tmo);
	conn_close(&u->c);
	u->no_starttls = 1;
	u->tls = 0;
	if (open_socket(u) < 0)
		up_fail(u, "4.4.1", "%s", u->why);
}

/* send_ehlo - EHLO with the old MTA's name (before and after TLS) */
static void
send_ehlo(struct up *u, enum up_state st)
{
	char cmd[300];
	int n = snprintf(cmd, sizeof(cmd), "EHLO %s", u->helo);

	u->st = st;
	u->phase = "performing the EHLO handshake";
	send_line(u, cmd, (size_t) n);
}

/* dane_setup - TLSA records and reference names into the new SSL */
static int
dane_setup(struct up *u)
{
	SSL *ssl = u->c.ssl;
	int added = 0;

	if (SSL_dane_enable(ssl, u->base) <= 0) {
		tls_errstr(u->c.err, sizeof(u->c.err), "SSL_dane_enable");
		return -1;
	}
	(void) SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* DANE-TA names: the base domain, and the MX name before CNAMEs. */
	if (u->orig_name[0] && strcmp(u->orig_name, u->base) != 0)
		(void) SSL_add1_host(ssl, u->orig_name);
	for (int i = 0; i < u->p.ntlsa; i++) {
		const struct plan_tlsa *t = &u->p.tlsa[i];
		int r = SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype,
		    t->data, t->len);

		if (r > 0)
			added++;
		else
			msg_warn("%s: TLSA %u %u %u for %s not accepted by OpenSSL",
			    u->sid, t->usage, t->selector, t->mtype, u->base);
	}
	if (added == 0) {
		snprintf(u->c.err, sizeof(u->c.err), "no usable TLSA record for %s", u->base);
		return -1;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);	/* judged after the handshake */
	return 0;
}

/* sts_setup - MTA-STS: PKIX, and the certificate must name the MX host */
static int
sts_setup(struct up *u)
{
	SSL *ssl = u->c.ssl;

	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, u->mxname) != 1) {
		tls_errstr(u->c.err, sizeof(u->c.err), "SSL_set1_host");
		return -1;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);	/* judged after the handshake */
	return 0;
}

/* tls_judge - after the handshake: does this TLS session meet the level? */
static int
tls_judge(struct up *u)
{
	SSL *ssl = u->c.ssl;
	long verr;
	char nb[48];

	if (ROUTE_IS_STS(u->p.level)) {
		const char *mode = u->p.level == ROUTE_STS ? "enforce" : "testing";

		verr = SSL_get_verify_result(ssl);
		if (verr == X509_V_OK && !u->p.sts_mismatch) {
			u->verified = 1;
			snprintf(u->match, sizeof(u->match), "MTA-STS %s, policy id %s", mode,
			    u->sts_id);
			msg_info("%s: Verified TLS connection established to %s: %s (%s)",
			    u->sid, u->peer, u->tlsinfo, u->match);
			return 0;
		}
		msg_info("%s: Untrusted TLS connection established to %s: %s (MTA-STS %s, "
		    "policy id %s)", u->sid, u->peer, u->tlsinfo, mode, u->sts_id);
		if (verr == X509_V_OK) {
			soft_fail(u, RTYPE_VALIDATION_FAILURE, "%s matches no mx pattern", u->mxname);
			return 0;
		}
		if (ROUTE_SOFT(u->p.level)) {
			soft_fail(u, dane_rtype_for_verify(verr, 0), "certificate of %s: %s",
			    u->peer, X509_verify_cert_error_string(verr));
			return 0;
		}
		up_policy_fail(u, dane_rtype_for_verify(verr, 0), x509_err_name(verr, nb, sizeof(nb)),
		    "MTA-STS: certificate of %s not valid: %s", u->peer,
		    X509_verify_cert_error_string(verr));
		return -1;
	}
	if (u->p.level != ROUTE_DANE) {
		msg_info("%s: %s TLS connection established to %s: %s", u->sid,
		    u->p.level == ROUTE_ENCRYPT ? "Untrusted" : "Anonymous", u->peer,
		    u->tlsinfo);
		return 0;
	}
	verr = SSL_get_verify_result(ssl);
	if (verr == X509_V_OK && SSL_get0_dane_authority(ssl, NULL, NULL) >= 0) {
		uint8_t usage = 0, sel = 0, mt = 0;

		(void) SSL_get0_dane_tlsa(ssl, &usage, &sel, &mt, NULL, NULL);
		snprintf(u->match, sizeof(u->match), "%s %s %s", dane_usage_str(usage),
		    dane_selector_str(sel), dane_mtype_str(mt));
		u->verified = 1;
		msg_info("%s: Verified TLS connection established to %s: %s (%s matched)",
		    u->sid, u->peer, u->tlsinfo, u->match);
		return 0;
	}
	if (verr == X509_V_OK)
		verr = X509_V_ERR_DANE_NO_MATCH;
	msg_info("%s: Untrusted TLS connection established to %s: %s", u->sid,
	    u->peer, u->tlsinfo);
	if (verr == X509_V_ERR_DANE_NO_MATCH)
		up_policy_fail(u, dane_rtype_for_verify(verr, 1), x509_err_name(verr, nb, sizeof(nb)),
		    "TLSA record mismatch for %s", u->peer);
	else if (verr == X509_V_ERR_HOSTNAME_MISMATCH)
		up_policy_fail(u, dane_rtype_for_verify(verr, 1), x509_err_name(verr, nb, sizeof(nb)),
		    "certificate name mismatch for %s (DANE-TA, names %s%s%s)", u->peer,
		    u->base, u->orig_name[0] && strcmp(u->orig_name, u->base) ? ", " : "",
		    u->orig_name[0] && strcmp(u->orig_name, u->base) ? u->orig_name : "");
	else
		up_policy_fail(u, dane_rtype_for_verify(verr, 1), x509_err_name(verr, nb, sizeof(nb)),
		    "DANE certificate verification failed for %s: %s", u->peer,
		    X509_verify_cert_error_string(verr));
	return -1;
}

/* got_reply - one whole reply from the MX */
static void
got_reply(struct up *u)
{
	char l1[600];
	int code = u->reply.code;

	switch (u->st) {
	case UP_S_BANNER:
		if (code != 220) {
			up_fail(u, "4.4.0", "host %s refused to talk to me: %s", u->peer,
			    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
			return;
		}
		{
			/* The greeting's first word names the MX: SNI and logs. */
			const char *t = u->reply.text;
			size_t n = strcspn(t, " \n");

			if (smtp_valid_hostname(t, n) && n < sizeof(u->greet_name)) {
				memcpy(u->greet_name, t, n);
				u->greet_name[n] = 0;
			}
			if (!u->p.mxname[0] && smtp_valid_hostname(t, n) && n < 256) {
				memcpy(u->mxname, t, n);
				u->mxname[n] = 0;
				set_peer(u, u->mxname);
			}
		}
		send_ehlo(u, UP_S_EHLO);
		return;
	case UP_S_EHLO:
	case UP_S_EHLO2:
		if (code / 100 != 2) {
			if (u->st == UP_S_EHLO && code / 100 == 5
			    && !ROUTE_TLS_REQUIRED(u->p.level)) {
				char cmd[300];
				int n = snprintf(cmd, sizeof(cmd), "HELO %s", u->helo);

				u->st = UP_S_HELO;
				send_line(u, cmd, (size_t) n);
				return;
			}
			up_fail(u, "4.4.0", "host %s refused EHLO: %s", u->peer,
			    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
			return;
		}
		smtp_ehlo_parse(&u->reply, &u->ehlo);
		if (u->st == UP_S_EHLO && !u->ehlo.starttls && ROUTE_SOFT(u->p.level))
			soft_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, "STARTTLS not offered by %s", u->peer);
		else if (u->st == UP_S_EHLO && !u->ehlo.starttls
		    && ROUTE_TLS_REQUIRED(u->p.level)) {
			up_policy_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, NULL, "TLS is required, "
			    "but was not offered by host %s", u->peer);
			return;
		}
		if (u->st == UP_S_EHLO && u->ehlo.starttls && u->p.tls_ctx
		    && u->no_starttls <= 0) {
			u->st = UP_S_STARTTLS;
			u->phase = "sending STARTTLS";
			send_line(u, "STARTTLS", 8);
			return;
		}
		if (u->st == UP_S_EHLO)
			msg_info("%s: no STARTTLS with %s: %s; sending in plaintext",
			    u->sid, u->peer, !u->ehlo.starttls ? "not offered"
			    : "TLS handshake failed before");
		ready(u);
		return;
	case UP_S_HELO:
		if (code / 100 != 2) {
			up_fail(u, "4.4.0", "host %s refused HELO: %s", u->peer,
			    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
			return;
		}
		memset(&u->ehlo, 0, sizeof(u->ehlo));
		msg_info("%s: no STARTTLS with %s: EHLO refused; sending in plaintext",
		    u->sid, u->peer);
		ready(u);
		return;
	case UP_S_STARTTLS:
		if (code != 220 && ROUTE_SOFT(u->p.level))
			soft_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, "%s refused STARTTLS", u->peer);
		else if (code != 220 && ROUTE_TLS_REQUIRED(u->p.level)) {
			up_policy_fail(u, RTYPE_STARTTLS_NOT_SUPPORTED, NULL, "TLS is required, "
			    "but host %s refused STARTTLS: %s", u->peer,
			    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
			return;
		}
		if (code != 220) {
			msg_info("%s: no STARTTLS with %s: %s; sending in plaintext",
			    u->sid, u->peer, smtp_reply_line1(&u->reply, l1, sizeof(l1)));
			ready(u);
			return;
		}
		/* Whatever follows the 220 in plaintext is dropped. */
		buf_reset(&u->c.in);
		/* SNI: the TLSA base domain under DANE, else the MX's name. */
		if (conn_starttls(&u->c, u->p.tls_ctx, 0, u->p.level == ROUTE_DANE
			? u->base : u->mxname[0] ? u->mxname : NULL) < 0
		    || (u->p.level == ROUTE_DANE && dane_setup(u) < 0)
		    || (ROUTE_IS_STS(u->p.level) && sts_setup(u) < 0)) {
			up_fail(u, "4.7.0", "TLS setup with %s: %s", u->peer, u->c.err);
			return;
		}
		u->st = UP_S_HANDSHAKE;
		u->phase = "performing the TLS handshake";
		arm(u, (double) u->p.timeout);
		return;
	case UP_S_WAIT:
		if (u->expect > 1) {		/* a pipelined command is still due */
			u->expect--;
			u->phase = "sending RCPT TO";
			arm(u, (double) u->p.timeout);
			u->cb(u, UP_REPLY, u->arg);
			return;
		}
		/* FALLTHROUGH */
	case UP_S_DOT:
		u->expect = 0;
		u->st = UP_S_IDLE;
		ev_timer_stop(u->loop, &u->tmo);
		u->cb(u, UP_REPLY, u->arg);
		return;
	case UP_S_QUIT:
		up_dispose(u);
		return;
	case UP_S_DATA:
		up_fail(u, "4.4.2", "host %s said during message transfer: %s",
		    u->peer, smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	case UP_S_IDLE:
		/* An unsolicited reply: a 421 before the MX hangs up. */
		up_fail(u, "4.4.2", "host %s said: %s", u->peer,
		    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	default:
		up_fail(u, "4.4.0", "unexpected reply from %s: %s", u->peer,
		    smtp_reply_line1(&u->reply, l1, sizeof(l1)));
		return;
	}
}

/* read_replies - parse whole reply lines out of the input */
static void
read_replies(struct up *u)
{
	while (u->st != UP_S_DEAD && !u->c.closed && buf_used(&u->c.in) > 0
	    && u->st != UP_S_HANDSHAKE) {
		size_t ll, used;
		int r = smtp_getline(buf_head(&u->c.in), buf_used(&u->c.in),
		    UP_LINE_MAX, &ll, &used);

		if (r == SMTP_LINE_NEED)
			return;
		if (r == SMTP_LINE_LONG) {
			up_fail(u, "4.4.0", "malformed reply from %s: line too long while %s",
			    u->peer, u->phase);
			return;
		}
		r = smtp_reply_feed(&u->reply, buf_head(&u->c.in), ll);
		buf_consume(&u->c.in, used);
		if (r == SMTP_REPLY_BAD) {
			up_fail(u, "4.4.0", "malformed reply from %s while %s", u->peer,
			    u->phase);
			return;
		}
		if (r == SMTP_REPLY_DONE) {
			enum up_state before = u->st;

			got_reply(u);
			/* After STARTTLS's 220 everything buffered was dropped. */
			if (before == UP_S_STARTTLS)
				return;
		}
	}
}

/* local_addr - our end of the connection, for the journal */
static void
local_addr(struct up *u)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(u->c.fd, (struct sockaddr *) &ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *) &ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, u->localstr, sizeof(u->localstr));
		u->localport = ntohs(s6->sin6_port);
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *) &ss;

		inet_ntop(AF_INET, &s4->sin_addr, u->localstr, sizeof(u->localstr));
		u->localport = ntohs(s4->sin_port);
	}
}

/* up_on_conn - events from the connection */
static void
up_on_conn(struct conn *c, int ev, void *arg)
{
	struct up *u = arg;

	(void) c;
	if (ev & CONN_CONNECTED) {
		local_addr(u);
		u->st = UP_S_BANNER;
		u->phase = "receiving the initial server greeting";
		arm(u, (double) u->p.timeout);
	}
	if (ev & CONN_TLS) {
		u->tls = 1;
		tls_describe(u->c.ssl, u->tlsinfo, sizeof(u->tlsinfo));
		if (tls_judge(u) < 0)
			return;
		send_ehlo(u, UP_S_EHLO2);
	}
	if (ev & CONN_READ)
		read_replies(u);
	if (u->st == UP_S_DEAD)
		return;
	if ((ev & CONN_DRAIN) && u->st == UP_S_DATA)
		u->cb(u, UP_DRAIN, u->arg);
	if (u->st == UP_S_DEAD)
		return;
	if (ev & CONN_ERROR) {
		if (u->st == UP_S_HANDSHAKE && ROUTE_SOFT(u->p.level)
		    && u->no_starttls == 0) {
			soft_fail(u, RTYPE_VALIDATION_FAILURE, "TLS handshake with %s failed: %s",
			    u->peer, u->c.err);
			retry_plain(u, u->c.err);
			return;
		}
		if (u->st == UP_S_HANDSHAKE && ROUTE_TLS_REQUIRED(u->p.level)) {
			up_policy_fail(u, RTYPE_VALIDATION_FAILURE, NULL, "TLS handshake with %s "
			    "failed: %s", u->peer, u->c.err);
			return;
		}
		if (u->st == UP_S_HANDSHAKE && u->no_starttls == 0) {
			retry_plain(u, u->c.err);
			return;
		}
		if (u->st == UP_S_CONNECT)
			up_fail(u, "4.4.1", "connect to %s: %s", u->peer, u->c.err);
		else
			up_fail(u, "4.4.2", "lost connection with %s while %s: %s",
			    u->peer, u->phase, u->c.err);
		return;
	}
	if (ev & CONN_EOF) {
		if (u->st == UP_S_HANDSHAKE && ROUTE_SOFT(u->p.level)
		    && u->no_starttls == 0) {
			soft_fail(u, RTYPE_VALIDATION_FAILURE, "TLS handshake with %s failed", u->peer);
			retry_plain(u, "connection closed");
			return;
		}
		if (u->st == UP_S_HANDSHAKE && ROUTE_TLS_REQUIRED(u->p.level)) {
			up_policy_fail(u, RTYPE_VALIDATION_FAILURE, NULL, "TLS handshake with %s "
			    "failed: connection closed", u->peer);
			return;
		}
		if (u->st == UP_S_HANDSHAKE && u->no_starttls == 0) {
			retry_plain(u, "connection closed");
			return;
		}
		up_fail(u, "4.4.2", "lost connection with %s while %s", u->peer,
		    u->phase);
	}
}

/* up_on_timer - the step took too long (or a deferred connect failure) */
static void
up_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct up *u = w->data;

	(void) loop;
	(void) revents;
	if (u->early_fail) {
		char why[sizeof(u->why)];

		memcpy(why, u->why, sizeof(why));
		up_fail(u, "4.4.1", "%s", why);
		return;
	}
	if (u->st == UP_S_QUIT) {
		up_dispose(u);
		return;
	}
	if (u->st == UP_S_HANDSHAKE && u->no_starttls == 0
	    && ROUTE_MAY_PLAIN(u->p.level)) {
		retry_plain(u, "timeout");
		return;
	}
	up_fail(u, u->st == UP_S_CONNECT ? "4.4.1" : "4.4.2",
	    "conversation with %s timed out while %s", u->peer, u->phase);
}

/* up_command2 - two commands in one write (PIPELINING), two replies */
int
up_command2(struct up *u, const char *l1, size_t n1, const char *l2, size_t n2)
{
	if (u->st != UP_S_IDLE || !u->ehlo.pipelining)
		msg_panic("%s: up_command2 in state %s", u->sid, up_state_str(u->st));
	u->st = UP_S_WAIT;
	u->expect = 2;
	u->phase = "sending MAIL FROM";
	smtp_reply_init(&u->reply);
	return send_line(u, l1, n1) < 0 ? -1 : send_line(u, l2, n2);
}

/* up_command - send one command, expect one reply */
int
up_command(struct up *u, const char *line, size_t len)
{
	if (u->st != UP_S_IDLE)
		msg_panic("%s: up_command in state %s", u->sid, up_state_str(u->st));
	u->st = UP_S_WAIT;
	u->expect = 1;
	u->phase = strncasecmp(line, "MAIL", 4) == 0 ? "sending MAIL FROM"
	    : strncasecmp(line, "RCPT", 4) == 0 ? "sending RCPT TO"
	    : strncasecmp(line, "DATA", 4) == 0 ? "sending DATA command"
	    : strncasecmp(line, "RSET", 4) == 0 ? "sending RSET" : "sending a command";
	smtp_reply_init(&u->reply);
	return send_line(u, line, len);
}

/* up_data_begin - raw message bytes follow */
void
up_data_begin(struct up *u)
{
	u->st = UP_S_DATA;
	u->phase = "sending message body";
	arm(u, (double) u->p.timeout);
}

/* up_data_write - queue message bytes as they are */
int
up_data_write(struct up *u, const void *p, size_t n)
{
	if (u->st != UP_S_DATA)
		return -1;
	if (n && conn_write(&u->c, p, n) < 0)
		return -1;
	arm(u, (double) u->p.timeout);
	return 0;
}

/* up_data_end - the final `.' was queued: wait for the verdict */
void
up_data_end(struct up *u)
{
	u->st = UP_S_DOT;
	u->phase = "sending end of data -- message may be sent more than once";
	smtp_reply_init(&u->reply);
	arm(u, (double) u->p.timeout);
}

/* up_quit - say QUIT, close when answered; no more callbacks */
void
up_quit(struct up *u)
{
	if (u->st == UP_S_DEAD)
		return;
	if (u->st != UP_S_IDLE || u->c.closed) {
		up_dispose(u);
		return;
	}
	u->st = UP_S_QUIT;
	conn_write(&u->c, "QUIT\r\n", 6);
	arm(u, UP_QUIT_TIMEOUT);
}

/* up_abort - close now; no more callbacks */
void
up_abort(struct up *u)
{
	if (u->st != UP_S_DEAD)
		up_dispose(u);
}
