/*
 * bload.c - SMTP load generator for the mxtls benchmarks.
 *
 * SYNOPSIS
 *	bload -s ADDR:PORT -n MESSAGES -c CONCURRENCY -z MSGSIZE [-t]
 *	    [-r RCPTS] [-m MARK] [-p] [-d DOMAIN] [-T TIMEOUT] [-L LIMIT]
 *	bload -s ADDR:PORT -i SESSIONS -H SECONDS [-t] [-m MARK] [-T TIMEOUT]
 *
 * DESCRIPTION
 *	Load mode: CONCURRENCY connections each read the banner, send EHLO
 *	(with -t: STARTTLS, handshake, EHLO again), then send messages one
 *	after the other on the same connection until MESSAGES have been
 *	handed out: MAIL, RCPTS x RCPT (default 1), DATA, a body of MSGSIZE
 *	bytes (CR LF lines, some beginning with a dot, dot-stuffed on the
 *	wire), ".", and QUIT at the end.  Commands go one at a time, or with
 *	-p pipelined (MAIL, RCPTs, DATA in one write) when the server offers
 *	PIPELINING.  Every reply code is checked: 2xx, and 3xx after DATA.
 *	A message counts as failed when any reply of its transaction is not
 *	what was expected, or its connection breaks; the transaction is then
 *	reset and the connection goes on with the next message.  A connection
 *	that breaks before it could send a message takes one message with it
 *	as failed (so a refusing server cannot make bload spin) and is
 *	replaced while messages remain.  At the end one line is printed:
 *	    messages=N failed=N seconds=S msgs_per_sec=X MB_per_sec=Y
 *	where msgs_per_sec and MB_per_sec (10^6 bytes of message, before
 *	dot-stuffing) count accepted messages only.
 *
 *	Idle mode (-i): opens SESSIONS connections (banner, EHLO, with -t
 *	also STARTTLS and EHLO), at most IDLE_SETUP_MAX of them in set-up at
 *	any time so that the server sees a steady build-up; prints
 *	`established=N failed=N' as soon as every session is either up or
 *	failed, holds them for SECONDS, prints `held=N dropped=N' (dropped:
 *	closed by the server while held), then sends QUIT and exits.
 *
 *	-m sets SO_MARK on every socket (needs CAP_NET_ADMIN), e.g. 0x6d78 to
 *	bypass an iptables REDIRECT.  -d sets the recipient domain (default
 *	bench.example).  -T is the per-connection inactivity timeout
 *	(default 60 s).  -L bounds a load run: after LIMIT seconds every
 *	connection is closed and the messages in progress or not yet sent
 *	count as failed.  TLS peers are not authenticated.
 *
 * DIAGNOSTICS
 *	The first unexpected replies and connection failures are described on
 *	stderr.  Exit status: 0 when every message (or session) succeeded,
 *	1 when some failed, 2 for bad usage or a broken environment.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bio.h"
#include "bclock.h"

#define IN_CAP		4096		/* reply bytes kept per connection */
#define TEXT_MAX	160		/* reply text kept for diagnostics */
#define DOMAIN_MAX	200
#define RCPTS_MAX	1000
#define MSGSIZE_MIN	256
#define MSGSIZE_MAX	(512L * 1024 * 1024)
#define LINE_LEN	76		/* body line length, without CR LF */
#define REPORTS_MAX	10		/* diagnostics printed on stderr */
#define READS_PER_EVENT	32
#define QUIT_WAIT	5.0		/* seconds to wait for QUIT replies */
#define IDLE_SETUP_MAX	50		/* idle mode: sessions in set-up at once */


enum cli_state {
	CS_CONNECT, CS_BANNER, CS_EHLO, CS_STARTTLS, CS_HANDSHAKE,
	CS_MAIL, CS_RCPT, CS_DATA, CS_BODY, CS_DOT, CS_RSET, CS_IDLE,
	CS_QUIT
};

static const char *const cli_state_names[] = {
	"connect", "banner", "EHLO", "STARTTLS", "TLS handshake", "MAIL",
	"RCPT", "DATA", "message data", "end of data", "RSET", "idle", "QUIT"
};

/* One SMTP client connection; the watcher is first so callbacks can cast. */
struct cli {
	ev_io	io;
	ev_timer timer;
	int	fd;
	SSL    *ssl;
	enum cli_state state;
	int	want;			/* EV_READ/EV_WRITE the blocked op needs */
	int	setup_done;		/* EHLO (after TLS) accepted */
	int	tls_offered;
	int	pipe_offered;
	int	size_offered;
	int	pipelined;		/* this transaction was pipelined */
	int	has_msg;		/* a message is in progress */
	int	msg_failed;
	long	rcpt_replies;
	long	rcpt_ok;
	size_t	boff;			/* offset into the wire body */
	size_t	ilen;
	size_t	olen;
	size_t	ooff;
	size_t	ocap;
	struct cli *prev;		/* all connections, for idle mode QUIT */
	struct cli *next;
	char	in[IN_CAP];
	char	out[];			/* ocap bytes */
};

/* The run: options, the shared message, and the counters. */
struct run {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	long	nmsg;
	long	conc;
	long	size;
	long	rcpts;
	long	idle;			/* -i: sessions to hold; 0: load mode */
	long	started;		/* idle: connections opened so far */
	double	hold;
	double	timeout;
	int	tls;
	int	pipelining;
	int	mark_set;
	unsigned mark;
	char	domain[DOMAIN_MAX + 1];
	char   *wire;			/* dot-stuffed body plus ". CR LF" */
	size_t	wirelen;
	SSL_CTX *ctx;
	long	next;			/* messages handed out */
	long	ok;
	long	failed;
	long	bad_replies;
	long	conn_failures;
	long	active;
	long	established;
	long	setup_failed;
	long	dropped;
	int	settled;		/* idle: all sessions up or failed */
	int	quitting;		/* idle: hold is over */
	double	limit;			/* -L: seconds for a load run, 0: none */
	ev_timer limit_timer;
	int	reports;
	struct cli *conns;
	ev_timer hold_timer;
};

static struct ev_loop *loop;
static struct run run;

static void cli_start(void);
static void cli_run(struct cli *c);
static void idle_check(void);

/* die - print an environment or usage problem and exit 2 */
static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* report - describe a problem on stderr, at most REPORTS_MAX times */
static void __attribute__((format(printf, 1, 2)))
report(const char *fmt, ...)
{
	va_list ap;

	if (run.reports++ >= REPORTS_MAX)
		return;
	fputs("bload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* send_cmd - queue one command; the buffer is sized so it always fits */
static void __attribute__((format(printf, 2, 3)))
send_cmd(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bio_vappend(c->out, &c->olen, c->ocap, "bload: command buffer", fmt, ap);
	va_end(ap);
}

/* cli_send - write bytes, plaintext or TLS; *sent says how many went */
static int
cli_send(struct cli *c, const char *buf, size_t len, size_t *sent)
{
	return bio_send(c->fd, c->ssl, &c->want, buf, len, sent);
}

/* cli_recv - read into the reply buffer */
static int
cli_recv(struct cli *c)
{
	size_t got;
	int ret;

	if (c->ilen >= IN_CAP)
		return IO_ERR;		/* a reply line longer than IN_CAP */
	ret = bio_recv(c->fd, c->ssl, &c->want, c->in + c->ilen, IN_CAP - c->ilen, &got);
	if (ret == IO_OK)
		c->ilen += got;
	return ret;
}

/* msg_end - account for the message in progress */
static void
msg_end(struct cli *c, int ok)
{
	if (!c->has_msg)
		return;
	c->has_msg = 0;
	if (ok && !c->msg_failed)
		run.ok++;
	else
		run.failed++;
}

/* bad_reply - count and describe a reply that was not the expected one */
static void
bad_reply(struct cli *c, int code, const char *text)
{
	run.bad_replies++;
	report("unexpected reply to %s: %d %s", cli_state_names[c->state],
	    code, text);
}

/* next_message - start the next transaction, or QUIT when none is left */
static void
next_message(struct cli *c)
{
	long i;

	if (run.next >= run.nmsg) {
		send_cmd(c, "QUIT\r\n");
		c->state = CS_QUIT;
		return;
	}
	run.next++;
	c->has_msg = 1;
	c->msg_failed = 0;
	c->rcpt_replies = 0;
	c->rcpt_ok = 0;
	c->pipelined = run.pipelining && c->pipe_offered;
	if (c->size_offered)
		send_cmd(c, "MAIL FROM:<bench@bload.example> SIZE=%ld\r\n",
		    run.size);
	else
		send_cmd(c, "MAIL FROM:<bench@bload.example>\r\n");
	if (c->pipelined) {
		for (i = 1; i <= run.rcpts; i++)
			send_cmd(c, "RCPT TO:<rcpt%ld@%s>\r\n", i, run.domain);
		send_cmd(c, "DATA\r\n");
	}
	c->state = CS_MAIL;
}

/* abort_message - give up on this transaction and reset it */
static void
abort_message(struct cli *c)
{
	msg_end(c, 0);
	send_cmd(c, "RSET\r\n");
	c->state = CS_RSET;
}

/* ehlo_line - note the extensions of one EHLO reply line */
static void
ehlo_line(struct cli *c, const char *kw, size_t len)
{
	if (len >= 8 && strncasecmp(kw, "STARTTLS", 8) == 0 &&
	    (len == 8 || kw[8] == ' '))
		c->tls_offered = 1;
	else if (len >= 10 && strncasecmp(kw, "PIPELINING", 10) == 0 &&
	    (len == 10 || kw[10] == ' '))
		c->pipe_offered = 1;
	else if (len >= 4 && strncasecmp(kw, "SIZE", 4) == 0 &&
	    (len == 4 || kw[4] == ' '))
		c->size_offered = 1;
}

/* setup_refused - the server refused the session set-up: close it */
static int
setup_refused(struct cli *c, int code, const char *text)
{
	bad_reply(c, code, text);
	return -1;
}

/*
 * on_reply - act on one complete reply; return -1 to close the connection.
 * text is the last line's text, truncated, for diagnostics.
 */
static int
on_reply(struct cli *c, int code, const char *text)
{
	int good = code / 100 == 2;

	switch (c->state) {
	case CS_BANNER:
		if (!good)
			return setup_refused(c, code, text);
		send_cmd(c, "EHLO bload.example\r\n");
		c->state = CS_EHLO;
		return 0;
	case CS_EHLO:
		if (!good)
			return setup_refused(c, code, text);
		if (run.tls && c->ssl == NULL) {
			if (!c->tls_offered) {
				report("server does not offer STARTTLS");
				return -1;
			}
			send_cmd(c, "STARTTLS\r\n");
			c->state = CS_STARTTLS;
			return 0;
		}
		c->setup_done = 1;
		if (run.idle) {
			c->state = CS_IDLE;
			ev_timer_stop(loop, &c->timer);
			run.established++;
			idle_check();
			return 0;
		}
		next_message(c);
		return 0;
	case CS_STARTTLS:
		if (!good)
			return setup_refused(c, code, text);
		c->state = CS_HANDSHAKE;
		return 0;
	case CS_MAIL:
		if (!good) {
			bad_reply(c, code, text);
			c->msg_failed = 1;
			if (!c->pipelined) {
				abort_message(c);
				return 0;
			}
		}
		c->state = CS_RCPT;
		if (!c->pipelined)
			send_cmd(c, "RCPT TO:<rcpt1@%s>\r\n", run.domain);
		return 0;
	case CS_RCPT:
		if (good)
			c->rcpt_ok++;
		else {
			bad_reply(c, code, text);
			c->msg_failed = 1;
		}
		if (++c->rcpt_replies < run.rcpts) {
			if (!c->pipelined)
				send_cmd(c, "RCPT TO:<rcpt%ld@%s>\r\n",
				    c->rcpt_replies + 1, run.domain);
			return 0;
		}
		if (!c->pipelined) {
			if (c->rcpt_ok == 0) {
				abort_message(c);
				return 0;
			}
			send_cmd(c, "DATA\r\n");
		}
		c->state = CS_DATA;
		return 0;
	case CS_DATA:
		if (code / 100 != 3) {
			bad_reply(c, code, text);
			abort_message(c);
			return 0;
		}
		c->state = CS_BODY;
		c->boff = 0;
		return 0;
	case CS_DOT:
		if (!good)
			bad_reply(c, code, text);
		msg_end(c, good);
		next_message(c);
		return 0;
	case CS_RSET:
		if (!good)
			bad_reply(c, code, text);
		next_message(c);
		return 0;
	case CS_QUIT:
		if (!good)
			bad_reply(c, code, text);
		return -1;
	default:
		/* A reply nobody asked for: idle timeout, shutdown, garbage. */
		bad_reply(c, code, text);
		return -1;
	}
}

/*
 * parse_replies - hand complete replies to on_reply(); -1 to close.
 * Stops once a command has been queued (no reply to it can be here yet,
 * and this bounds the output to one transaction's commands) and when the
 * state needs other work (TLS handshake, message data).
 */
static int
parse_replies(struct cli *c)
{
	char text[TEXT_MAX];
	size_t off = 0;
	size_t len;
	size_t tlen;
	char *line;
	char *nl;
	int code;

	while (off < c->ilen && c->olen == 0 && c->state != CS_HANDSHAKE &&
	    c->state != CS_BODY) {
		nl = memchr(c->in + off, '\n', c->ilen - off);
		if (nl == NULL)
			break;
		line = c->in + off;
		len = (size_t)(nl - line);
		off += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (len > 3 && line[3] != ' ' &&
		    line[3] != '-')) {
			report("malformed reply line in state %s",
			    cli_state_names[c->state]);
			return -1;
		}
		if (c->state == CS_EHLO && len > 4)
			ehlo_line(c, line + 4, len - 4);
		if (len > 3 && line[3] == '-')
			continue;	/* more lines follow */
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		tlen = len > 4 ? len - 4 : 0;
		if (tlen >= sizeof(text))
			tlen = sizeof(text) - 1;
		memcpy(text, line + (len > 4 ? 4 : len), tlen);
		text[tlen] = '\0';
		if (on_reply(c, code, text) < 0)
			return -1;
	}
	/* After "220 Ready" anything still buffered is plaintext: drop it. */
	if (c->state == CS_HANDSHAKE)
		off = c->ilen;
	memmove(c->in, c->in + off, c->ilen - off);
	c->ilen -= off;
	return 0;
}

/* tls_start - begin the client side handshake */
static int
tls_start(struct cli *c)
{
	c->ssl = SSL_new(run.ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		ERR_clear_error();
		return -1;
	}
	SSL_set_connect_state(c->ssl);
	c->tls_offered = c->pipe_offered = c->size_offered = 0;
	return 0;
}

/* cli_free - close a connection, account for it, replace it if useful */
static void
cli_free(struct cli *c, int failed)
{
	int was_idle = c->state == CS_IDLE;
	int setup_done = c->setup_done;

	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	if (c->ssl) {
		if (!failed && c->state != CS_HANDSHAKE) {
			ERR_clear_error();
			(void)SSL_shutdown(c->ssl);
		}
		SSL_free(c->ssl);
	}
	ERR_clear_error();
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		run.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	run.active--;
	if (failed) {
		run.conn_failures++;
		if (c->has_msg)
			msg_end(c, 0);
		else if (!run.idle && !setup_done && run.next < run.nmsg) {
			run.next++;	/* a broken setup costs one message */
			run.failed++;
		}
	}
	free(c);

	if (run.idle) {
		if (!setup_done) {
			run.setup_failed++;
			idle_check();
		} else if (was_idle && !run.quitting)
			run.dropped++;
	} else if (run.next < run.nmsg) {
		cli_start();
	}
	if (run.active == 0)
		ev_break(loop, EVBREAK_ALL);
}

/* cli_watch - wait for what the blocked operation needs */
static void
cli_watch(struct cli *c, int events)
{
	bio_watch(loop, &c->io, c->fd, events);
}

/* cli_run - make all the progress possible without blocking */
static void
cli_run(struct cli *c)
{
	const char *why = "I/O error";
	socklen_t elen;
	size_t n;
	int reads = 0;
	int err;
	int ret;

	for (;;) {
		if (c->state == CS_CONNECT) {
			elen = sizeof(err);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
			    &elen) < 0)
				err = errno;
			if (err != 0) {
				why = strerror(err);
				goto fail;
			}
			c->state = CS_BANNER;
		}
		if (c->state == CS_HANDSHAKE) {
			if (c->ssl == NULL && tls_start(c) < 0)
				goto fail;
			ERR_clear_error();
			ret = SSL_connect(c->ssl);
			if (ret != 1) {
				if (bio_status(c->ssl, ret, &c->want) == IO_AGAIN)
					break;
				why = "TLS handshake failed";
				goto fail;
			}
			send_cmd(c, "EHLO bload.example\r\n");
			c->state = CS_EHLO;
		}
		while (c->ooff < c->olen) {
			ret = cli_send(c, c->out + c->ooff, c->olen - c->ooff,
			    &n);
			if (ret == IO_AGAIN)
				goto wait;
			if (ret != IO_OK)
				goto fail;
			c->ooff += n;
		}
		c->olen = c->ooff = 0;
		if (c->state == CS_BODY) {
			while (c->boff < run.wirelen) {
				ret = cli_send(c, run.wire + c->boff,
				    run.wirelen - c->boff, &n);
				if (ret == IO_AGAIN)
					goto wait;
				if (ret != IO_OK)
					goto fail;
				c->boff += n;
				ev_timer_again(loop, &c->timer);
			}
			c->state = CS_DOT;
		}
		if (parse_replies(c) < 0) {
			if (c->state == CS_QUIT) {
				cli_free(c, 0);
				return;
			}
			why = "protocol error";
			goto fail;
		}
		if (c->olen > 0 || c->state == CS_HANDSHAKE ||
		    c->state == CS_BODY)
			continue;
		if (++reads > READS_PER_EVENT &&
		    !(c->ssl && SSL_has_pending(c->ssl))) {
			c->want = EV_READ;
			break;
		}
		ret = cli_recv(c);
		if (ret == IO_AGAIN)
			break;
		if (ret != IO_OK) {
			why = ret == IO_EOF ? "connection closed by server" :
			    "read error";
			goto fail;
		}
	}
wait:
	cli_watch(c, c->want);
	if (c->state != CS_IDLE)
		ev_timer_again(loop, &c->timer);
	return;

fail:
	report("connection failed in state %s: %s", cli_state_names[c->state],
	    why);
	cli_free(c, 1);
}

/* cli_io_cb - the socket is ready */
static void
cli_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
	(void)l;
	(void)revents;
	cli_run((struct cli *)w);
}

/* cli_timer_cb - no progress for too long */
static void
cli_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct cli *c = (struct cli *)((char *)w - offsetof(struct cli, timer));

	(void)l;
	(void)revents;
	report("timeout in state %s", cli_state_names[c->state]);
	cli_free(c, 1);
}

/* cli_start - open one more connection */
static void
cli_start(void)
{
	struct cli *c;
	size_t ocap;
	int one = 1;
	int fd;

	/* MAIL, RCPTs and DATA must fit at once when pipelining. */
	ocap = 256 + (size_t)run.rcpts * (32 + DOMAIN_MAX);
	c = calloc(1, sizeof(*c) + ocap);
	if (c == NULL)
		die("out of memory");
	c->ocap = ocap;
	fd = socket(run.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (run.mark_set && setsockopt(fd, SOL_SOCKET, SO_MARK, &run.mark,
	    sizeof(run.mark)) < 0)
		die("SO_MARK: %s", strerror(errno));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->state = CS_CONNECT;
	c->want = EV_WRITE;
	ev_io_init(&c->io, cli_io_cb, fd, EV_WRITE);
	ev_init(&c->timer, cli_timer_cb);
	c->timer.repeat = run.timeout;
	run.active++;
	c->next = run.conns;
	if (run.conns)
		run.conns->prev = c;
	run.conns = c;
	ev_io_start(loop, &c->io);
	ev_timer_again(loop, &c->timer);
	/*
	 * Completion, or a refusal, is reported by writability; a synchronous
	 * failure means the local network set-up is broken.
	 */
	if (connect(fd, (struct sockaddr *)&run.addr, run.addrlen) < 0 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
}

/* limit_cb - load mode: out of time; what is not done has failed */
static void
limit_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	long left = run.nmsg - run.next;

	(void)l;
	(void)w;
	(void)revents;
	fprintf(stderr, "bload: time limit of %g s reached: closing %ld "
	    "connections; their messages in progress and %ld not started "
	    "count as failed\n", run.limit, run.active, left);
	run.failed += left;
	run.next = run.nmsg;		/* nothing new starts */
	while (run.conns != NULL)
		cli_free(run.conns, 1);
}

/* idle_check - idle mode: open more sessions, or say all are settled */
static void
idle_check(void)
{
	while (run.started < run.idle && run.started - run.established -
	    run.setup_failed < IDLE_SETUP_MAX) {
		run.started++;
		cli_start();
	}
	if (run.settled || run.established + run.setup_failed < run.idle)
		return;
	run.settled = 1;
	printf("established=%ld failed=%ld\n", run.established,
	    run.setup_failed);
	fflush(stdout);
	ev_timer_start(loop, &run.hold_timer);
}

/* hold_cb - idle mode: the hold is over, say QUIT on every session */
static void
hold_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct cli *c, *next;

	(void)l;
	(void)w;
	(void)revents;
	run.quitting = 1;
	printf("held=%ld dropped=%ld\n", run.active, run.dropped);
	fflush(stdout);
	for (c = run.conns; c != NULL; c = next) {
		next = c->next;		/* cli_run() may free c */
		if (c->state != CS_IDLE)
			continue;
		send_cmd(c, "QUIT\r\n");
		c->state = CS_QUIT;
		c->timer.repeat = QUIT_WAIT;
		cli_run(c);
	}
}

/* idle_main - idle mode: open, hold, QUIT */
static int
idle_main(void)
{
	ev_timer_init(&run.hold_timer, hold_cb, run.hold, 0.);
	idle_check();
	if (run.active > 0)
		ev_run(loop, 0);
	if (!run.settled)
		printf("established=%ld failed=%ld\n", run.established,
		    run.setup_failed);
	if (!run.quitting)
		printf("held=%ld dropped=%ld\n", run.active, run.dropped);
	return run.setup_failed || run.dropped ? 1 : 0;
}

/* parse_target - ADDR:PORT or [ADDR6]:PORT, numeric only */
static void
parse_target(const char *spec)
{
	struct addrinfo hints, *res;
	char host[64];
	const char *port;
	int err;

	if (bio_hostport(spec, host, sizeof(host), &port) < 0)
		die("bad server address: %s", spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	err = getaddrinfo(host, port, &hints, &res);
	if (err != 0)
		die("%s: %s", spec, gai_strerror(err));
	if (res->ai_addrlen > sizeof(run.addr))
		die("%s: address too long", spec);
	memcpy(&run.addr, res->ai_addr, res->ai_addrlen);
	run.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

/* body_make - the message (exactly run.size bytes) as it goes on the wire */
static void
body_make(void)
{
	static const char fill[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
	char *msg;
	char *w;
	size_t size = (size_t)run.size;
	size_t hlen, off, rem, len, i, dots, line;
	int n;

	msg = malloc(size);
	if (msg == NULL)
		die("out of memory");
	n = snprintf(msg, size, "From: <bench@bload.example>\r\n"
	    "To: <rcpt1@%s>\r\nSubject: bload benchmark, %zu bytes\r\n"
	    "Message-ID: <bload.%ld@bload.example>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
	    run.domain, size, (long)getpid());
	if (n < 0 || (size_t)n >= size)
		die("message size %zu is too small for the header", size);
	hlen = (size_t)n;

	/* Lines of LINE_LEN; every 32nd starts with a dot, every 64th is ".". */
	off = hlen;
	for (line = 0; off < size; line++) {
		rem = size - off;
		len = line % 64 == 63 ? 1 : LINE_LEN;
		if (len + 2 > rem)
			len = rem - 2;
		else if (rem - (len + 2) == 1)
			len++;		/* never leave a single byte over */
		for (i = 0; i < len; i++)
			msg[off + i] = fill[(line + i) % (sizeof(fill) - 1)];
		if (len > 0 && line % 32 == 31)
			msg[off] = '.';
		msg[off + len] = '\r';
		msg[off + len + 1] = '\n';
		off += len + 2;
	}

	/* Dot-stuff: a line that starts with "." gets one more. */
	dots = 0;
	for (i = 0; i < size; i++)
		if (msg[i] == '.' && (i == 0 || msg[i - 1] == '\n'))
			dots++;
	run.wirelen = size + dots + 3;
	run.wire = malloc(run.wirelen);
	if (run.wire == NULL)
		die("out of memory");
	w = run.wire;
	for (i = 0; i < size; i++) {
		if (msg[i] == '.' && (i == 0 || msg[i - 1] == '\n'))
			*w++ = '.';
		*w++ = msg[i];
	}
	memcpy(w, ".\r\n", 3);
	free(msg);
}

/* tls_init - a client context that does not authenticate the server */
static void
tls_init(void)
{
	run.ctx = SSL_CTX_new(TLS_client_method());
	if (run.ctx == NULL ||
	    SSL_CTX_set_min_proto_version(run.ctx, TLS1_2_VERSION) != 1) {
		ERR_print_errors_fp(stderr);
		die("cannot set up TLS");
	}
	SSL_CTX_set_verify(run.ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(run.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(run.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

/* number - parse a whole decimal number within bounds */
static long
number(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		die("bad %s: %s (%ld..%ld)", what, s, min, max);
	return v;
}

/* seconds - parse a non-negative number of seconds */
static double
seconds(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > 86400)
		die("bad %s: %s", what, s);
	return v;
}

/* usage - print the synopsis and exit */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: bload -s addr:port -n messages -c concurrency -z msgsize "
	    "[-t] [-r rcpts]\n"
	    "             [-m mark] [-p] [-d domain] [-T timeout] "
	    "[-L limit]\n"
	    "       bload -s addr:port -i sessions -H seconds [-t] [-m mark] "
	    "[-T timeout]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *server = NULL;
	unsigned long mark;
	double secs;
	char *end;
	long i;
	int ch;

	run.rcpts = 1;
	run.timeout = 60;
	memcpy(run.domain, "bench.example", sizeof("bench.example"));
	while ((ch = getopt(argc, argv, "c:d:H:i:L:m:n:pr:s:tT:z:")) != -1) {
		switch (ch) {
		case 'c':
			run.conc = number(optarg, 1, 100000, "concurrency");
			break;
		case 'd':
			if (strlen(optarg) > DOMAIN_MAX || optarg[0] == '\0' ||
			    strpbrk(optarg, "<>\r\n ") != NULL)
				die("bad domain: %s", optarg);
			memcpy(run.domain, optarg, strlen(optarg) + 1);
			break;
		case 'H':
			run.hold = seconds(optarg, "hold time");
			break;
		case 'i':
			run.idle = number(optarg, 1, 1000000, "sessions");
			break;
		case 'L':
			run.limit = seconds(optarg, "time limit");
			break;
		case 'm':
			errno = 0;
			mark = strtoul(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    mark > 0xffffffffUL)
				die("bad mark: %s", optarg);
			run.mark = (unsigned)mark;
			run.mark_set = 1;
			break;
		case 'n':
			run.nmsg = number(optarg, 1, 1000000000L, "messages");
			break;
		case 'p':
			run.pipelining = 1;
			break;
		case 'r':
			run.rcpts = number(optarg, 1, RCPTS_MAX, "recipients");
			break;
		case 's':
			server = optarg;
			break;
		case 't':
			run.tls = 1;
			break;
		case 'T':
			run.timeout = seconds(optarg, "timeout");
			if (run.timeout == 0)
				die("bad timeout: %s", optarg);
			break;
		case 'z':
			run.size = number(optarg, MSGSIZE_MIN, MSGSIZE_MAX,
			    "message size");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || server == NULL)
		usage();
	if (run.idle == 0 && (run.nmsg == 0 || run.conc == 0 || run.size == 0))
		usage();
	parse_target(server);

	signal(SIGPIPE, SIG_IGN);
	bio_raise_nofile();
	loop = EV_DEFAULT;
	if (loop == NULL)
		die("cannot initialise libev");
	if (run.tls)
		tls_init();

	if (run.idle)
		return idle_main();

	body_make();
	if (run.limit > 0) {
		ev_timer_init(&run.limit_timer, limit_cb, run.limit, 0.);
		ev_timer_start(loop, &run.limit_timer);
	}
	secs = now();
	for (i = 0; i < run.conc && i < run.nmsg; i++)
		cli_start();
	if (run.active > 0)
		ev_run(loop, 0);
	secs = now() - secs;
	if (secs <= 0)
		secs = 1e-9;
	printf("messages=%ld failed=%ld seconds=%.3f msgs_per_sec=%.1f "
	    "MB_per_sec=%.2f\n", run.ok + run.failed, run.failed, secs,
	    (double)run.ok / secs, (double)run.ok * (double)run.size / 1e6 /
	    secs);
	if (run.bad_replies || run.conn_failures)
		fprintf(stderr, "bload: bad_replies=%ld conn_failures=%ld\n",
		    run.bad_replies, run.conn_failures);
	return run.failed ? 1 : 0;
}
