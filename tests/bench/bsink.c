/*
 * bsink.c - fast single-process SMTP sink for the mxtls benchmarks.
 *
 * SYNOPSIS
 *	bsink -l ADDR:PORT [-l ADDR:PORT ...] [-c CERT -k KEY] [-p PIDFILE]
 *	    [-n HOSTNAME] [-t IDLE_SECONDS]
 *
 * DESCRIPTION
 *	Listens on every -l endpoint (`192.0.2.25:25', `[2001:db8::25]:25'),
 *	speaks just enough ESMTP for a sending MTA or proxy: the EHLO reply
 *	advertises PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES and (before
 *	TLS) STARTTLS; EHLO, HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT and
 *	STARTTLS are accepted with the usual sequence checks.  Message data is
 *	scanned for the end-of-data marker CR LF . CR LF (which may be split
 *	across reads) and discarded; messages and data bytes are counted.
 *
 *	Without -c/-k an ECDSA P-256 certificate for HOSTNAME (default
 *	bsink.example) is made and self-signed at start-up.
 *
 *	One libev loop serves all connections.  Per connection it keeps a
 *	bounded command buffer and a bounded reply buffer; message data is read
 *	through one shared scratch buffer, so thousands of connections cost a
 *	few KiB each (plus OpenSSL's state when TLS is on).
 *
 *	SIGUSR1 prints the counters on stdout; SIGINT and SIGTERM print them
 *	and exit 0.  `tls' counts finished handshakes, `resumed' those of
 *	them that resumed a session (a TLS 1.2 session id or a TLS 1.3
 *	ticket: OpenSSL's default server cache and stateless tickets); the
 *	full handshakes are tls - resumed.  -p writes the process id to PIDFILE (removed at exit).
 *
 * DIAGNOSTICS
 *	Bad options and start-up failures (address, certificate, pid file)
 *	print a message on stderr and exit 1 (usage: 2).  A misbehaving client
 *	gets an SMTP error and/or a closed connection and is counted in
 *	`errors'; an idle client (-t, default 600 s) in `timeouts'.
 */
#define _GNU_SOURCE		/* accept4 */
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "bio.h"
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_LISTEN	16
#define IN_CAP		4096		/* command bytes kept per connection */
#define OUT_CAP		4096		/* queued reply bytes per connection */
#define OUT_ROOM	512		/* parse no command with less room */
#define SCRATCH_CAP	65536		/* shared read buffer for message data */
#define READS_PER_EVENT	32		/* fairness: reads per wake-up */
#define ACCEPTS_PER_EVENT 64
#define SIZE_LIMIT	104857600	/* advertised in EHLO, not enforced */
#define HOST_MAX	256


enum sink_state { SINK_CMD, SINK_DATA };

/* One client connection; the watcher is first so callbacks can cast. */
struct sink_conn {
	ev_io	io;
	ev_timer timer;
	int	fd;
	SSL    *ssl;
	int	handshaking;		/* SSL_accept() not finished */
	int	starttls;		/* 220 queued: start TLS once flushed */
	int	quit;			/* close once the output is flushed */
	int	want;			/* EV_READ/EV_WRITE the blocked op needs */
	int	helo;
	int	mail;
	unsigned long rcpts;
	enum sink_state state;
	unsigned match;			/* bytes of CR LF . CR LF matched */
	unsigned long long msgbytes;	/* DATA bytes of this message */
	size_t	ilen;
	size_t	olen;
	size_t	ooff;
	char	in[IN_CAP];
	char	out[OUT_CAP];
};

struct sink_listener {
	ev_io	io;
	int	fd;
};

struct sink_stats {
	unsigned long long connections;
	unsigned long long active;
	unsigned long long max_active;
	unsigned long long tls;
	unsigned long long resumed;	/* of tls: abbreviated handshakes */
	unsigned long long messages;
	unsigned long long bytes;
	unsigned long long errors;
	unsigned long long timeouts;
};

static struct ev_loop *loop;
static SSL_CTX *sink_ctx;
static struct sink_stats stats;
static char hostname[HOST_MAX] = "bsink.example";
static double idle_timeout = 600.0;
static int spare_fd = -1;
static char scratch[SCRATCH_CAP];

static void conn_run(struct sink_conn *c);

/* die - print a start-up error and exit */
static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bsink: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* tls_die - start-up TLS failure with OpenSSL's error queue */
static void __attribute__((noreturn))
tls_die(const char *what)
{
	fprintf(stderr, "bsink: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* stats_print - one line of counters on stdout */
static void
stats_print(void)
{
	printf("bsink: connections=%llu active=%llu max_active=%llu tls=%llu "
	    "messages=%llu bytes=%llu errors=%llu timeouts=%llu "
	    "resumed=%llu\n",
	    stats.connections, stats.active, stats.max_active, stats.tls,
	    stats.messages, stats.bytes, stats.errors, stats.timeouts,
	    stats.resumed);
	fflush(stdout);
}

/* reply - queue one reply; callers guarantee OUT_ROOM bytes of room */
static void __attribute__((format(printf, 2, 3)))
reply(struct sink_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bio_vappend(c->out, &c->olen, OUT_CAP, "bsink: reply buffer", fmt, ap);
	va_end(ap);
}

/* conn_recv - read up to cap bytes, plaintext or TLS */
static int
conn_recv(struct sink_conn *c, char *buf, size_t cap, size_t *got)
{
	return bio_recv(c->fd, c->ssl, &c->want, buf, cap, got);
}

/* conn_flush - write the queued replies; IO_OK once all are out */
static int
conn_flush(struct sink_conn *c)
{
	size_t n;
	int ret;

	while (c->ooff < c->olen) {
		ret = bio_send(c->fd, c->ssl, &c->want, c->out + c->ooff,
		    c->olen - c->ooff, &n);
		if (ret != IO_OK)
			return ret;
		c->ooff += n;
	}
	c->olen = c->ooff = 0;
	return IO_OK;
}

/* txn_reset - forget the mail transaction */
static void
txn_reset(struct sink_conn *c)
{
	c->mail = 0;
	c->rcpts = 0;
}

/* data_feed - scan message data for CR LF . CR LF; return bytes consumed */
static size_t
data_feed(struct sink_conn *c, const char *p, size_t len)
{
	static const char eod[] = "\r\n.\r\n";
	const char *cr;
	size_t i = 0;
	char ch;

	while (i < len) {
		if (c->match == 0) {
			cr = memchr(p + i, '\r', len - i);
			if (cr == NULL) {
				i = len;
				break;
			}
			i = (size_t)(cr - p);
		}
		ch = p[i++];
		if (ch == eod[c->match]) {
			if (++c->match == sizeof(eod) - 1) {
				c->msgbytes += i;
				/* the final ". CR LF" is not message data */
				stats.bytes += c->msgbytes - 3;
				stats.messages++;
				reply(c, "250 2.0.0 Ok: queued as %llu\r\n",
				    stats.messages);
				c->state = SINK_CMD;
				txn_reset(c);
				return i;
			}
		} else {
			c->match = ch == '\r' ? 1 : 0;
		}
	}
	c->msgbytes += len;
	return len;
}

/* cmd_is - does the line start with verb, followed by the end or a space */
static int
cmd_is(const char *line, size_t len, const char *verb)
{
	size_t vlen = strlen(verb);

	return len >= vlen && strncasecmp(line, verb, vlen) == 0 &&
	    (len == vlen || line[vlen] == ' ');
}

/* prefix_is - case-insensitive prefix test on a counted line */
static int
prefix_is(const char *line, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	return len >= plen && strncasecmp(line, prefix, plen) == 0;
}

/* sess_command - act on one command line (without its CR LF) */
static void
sess_command(struct sink_conn *c, const char *line, size_t len)
{
	if (cmd_is(line, len, "EHLO")) {
		txn_reset(c);
		c->helo = 1;
		reply(c, "250-%s\r\n250-PIPELINING\r\n250-SIZE %d\r\n"
		    "250-8BITMIME\r\n%s250 ENHANCEDSTATUSCODES\r\n", hostname,
		    SIZE_LIMIT, c->ssl ? "" : "250-STARTTLS\r\n");
	} else if (cmd_is(line, len, "HELO")) {
		txn_reset(c);
		c->helo = 1;
		reply(c, "250 %s\r\n", hostname);
	} else if (prefix_is(line, len, "MAIL FROM:")) {
		if (!c->helo)
			reply(c, "503 5.5.1 Error: send HELO/EHLO first\r\n");
		else if (c->mail)
			reply(c, "503 5.5.1 Error: nested MAIL command\r\n");
		else {
			c->mail = 1;
			reply(c, "250 2.1.0 Ok\r\n");
		}
	} else if (prefix_is(line, len, "RCPT TO:")) {
		if (!c->mail)
			reply(c, "503 5.5.1 Error: need MAIL command\r\n");
		else {
			c->rcpts++;
			reply(c, "250 2.1.5 Ok\r\n");
		}
	} else if (cmd_is(line, len, "DATA")) {
		if (c->rcpts == 0)
			reply(c, "503 5.5.1 Error: need RCPT command\r\n");
		else {
			reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
			c->state = SINK_DATA;
			c->match = 2;	/* the DATA line's CR LF */
			c->msgbytes = 0;
		}
	} else if (cmd_is(line, len, "RSET")) {
		txn_reset(c);
		reply(c, "250 2.0.0 Ok\r\n");
	} else if (cmd_is(line, len, "NOOP")) {
		reply(c, "250 2.0.0 Ok\r\n");
	} else if (cmd_is(line, len, "QUIT")) {
		reply(c, "221 2.0.0 Bye\r\n");
		c->quit = 1;
	} else if (cmd_is(line, len, "STARTTLS")) {
		if (c->ssl)
			reply(c, "503 5.5.1 Error: TLS already active\r\n");
		else if (len != 8)
			reply(c, "501 5.5.4 Syntax: STARTTLS\r\n");
		else {
			reply(c, "220 2.0.0 Ready to start TLS\r\n");
			c->starttls = 1;
		}
	} else {
		reply(c, "502 5.5.2 Error: command not recognized\r\n");
	}
}

/* sess_process - act on the buffered input while replies fit */
static void
sess_process(struct sink_conn *c)
{
	const char *line;
	size_t off = 0;
	size_t len;
	char *nl;

	while (off < c->ilen && !c->starttls && !c->quit &&
	    OUT_CAP - c->olen >= OUT_ROOM) {
		if (c->state == SINK_DATA) {
			off += data_feed(c, c->in + off, c->ilen - off);
			continue;
		}
		nl = memchr(c->in + off, '\n', c->ilen - off);
		if (nl == NULL) {
			if (off == 0 && c->ilen == IN_CAP) {
				reply(c, "500 5.5.2 Error: line too long\r\n");
				c->quit = 1;
				stats.errors++;
			}
			break;
		}
		line = c->in + off;
		len = (size_t)(nl - line);
		off += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		sess_command(c, line, len);
	}
	/* Plaintext that followed STARTTLS is discarded, never executed. */
	if (c->starttls)
		off = c->ilen;
	memmove(c->in, c->in + off, c->ilen - off);
	c->ilen -= off;
}

/* conn_read - one read: message data via scratch, commands into c->in */
static int
conn_read(struct sink_conn *c)
{
	size_t got = 0;
	size_t used;
	int ret;

	if (c->state == SINK_DATA && c->ilen == 0) {
		ret = conn_recv(c, scratch, sizeof(scratch), &got);
		if (ret != IO_OK)
			return ret;
		used = data_feed(c, scratch, got);
		if (got - used > IN_CAP)
			return IO_ERR;	/* commands pipelined past reason */
		memcpy(c->in, scratch + used, got - used);
		c->ilen = got - used;
		return IO_OK;
	}
	if (c->ilen >= IN_CAP)
		return IO_ERR;		/* sess_process() should have drained it */
	ret = conn_recv(c, c->in + c->ilen, IN_CAP - c->ilen, &got);
	if (ret == IO_OK)
		c->ilen += got;
	return ret;
}

/* tls_start - begin the server side handshake after "220 Ready" */
static int
tls_start(struct sink_conn *c)
{
	c->starttls = 0;
	c->ilen = 0;
	c->ssl = SSL_new(sink_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		ERR_clear_error();
		return -1;
	}
	SSL_set_accept_state(c->ssl);
	c->handshaking = 1;
	c->helo = 0;			/* RFC 3207: forget the session state */
	txn_reset(c);
	return 0;
}

/* conn_free - close and free one connection */
static void
conn_free(struct sink_conn *c)
{
	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	if (c->ssl) {
		if (!c->handshaking) {
			ERR_clear_error();
			(void)SSL_shutdown(c->ssl);	/* best effort close_notify */
		}
		SSL_free(c->ssl);
	}
	ERR_clear_error();
	close(c->fd);
	stats.active--;
	free(c);
}

/* conn_watch - wait for what the blocked operation needs */
static void
conn_watch(struct sink_conn *c, int events)
{
	bio_watch(loop, &c->io, c->fd, events);
}

/* conn_run - make all the progress possible without blocking */
static void
conn_run(struct sink_conn *c)
{
	int reads = 0;
	int ret;

	for (;;) {
		if (c->handshaking) {
			ERR_clear_error();
			ret = SSL_accept(c->ssl);
			if (ret != 1) {
				if (bio_status(c->ssl, ret, &c->want) == IO_AGAIN)
					break;
				goto drop;
			}
			c->handshaking = 0;
			stats.tls++;
			if (SSL_session_reused(c->ssl))
				stats.resumed++;
		}
		if (c->olen > 0) {
			ret = conn_flush(c);
			if (ret == IO_AGAIN)
				break;
			if (ret != IO_OK)
				goto drop;
		}
		if (c->quit)
			goto done;
		if (c->starttls) {
			if (tls_start(c) < 0)
				goto drop;
			continue;
		}
		sess_process(c);
		if (c->olen > 0 || c->starttls || c->quit)
			continue;
		if (++reads > READS_PER_EVENT &&
		    !(c->ssl && SSL_has_pending(c->ssl))) {
			c->want = EV_READ;
			break;
		}
		ret = conn_read(c);
		if (ret == IO_AGAIN)
			break;
		if (ret == IO_EOF)
			goto done;
		if (ret != IO_OK)
			goto drop;
	}
	conn_watch(c, c->want);
	ev_timer_again(loop, &c->timer);
	return;

drop:
	stats.errors++;
done:
	conn_free(c);
}

/* conn_io_cb - the socket is ready for what the connection waits for */
static void
conn_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
	(void)l;
	(void)revents;
	conn_run((struct sink_conn *)w);
}

/* conn_timer_cb - the client was idle too long */
static void
conn_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct sink_conn *c = (struct sink_conn *)
	    ((char *)w - offsetof(struct sink_conn, timer));

	(void)l;
	(void)revents;
	stats.timeouts++;
	conn_free(c);
}

/* conn_new - set up a session on an accepted socket and greet */
static void
conn_new(int fd)
{
	struct sink_conn *c;
	int one = 1;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		stats.errors++;
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->state = SINK_CMD;
	c->want = EV_READ;
	ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
	ev_init(&c->timer, conn_timer_cb);
	c->timer.repeat = idle_timeout;
	stats.connections++;
	if (++stats.active > stats.max_active)
		stats.max_active = stats.active;
	reply(c, "220 %s ESMTP bsink\r\n", hostname);
	ev_io_start(loop, &c->io);
	conn_run(c);
}

/* accept_cb - accept what is pending, keeping a spare fd for EMFILE */
static void
accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct sink_listener *ls = (struct sink_listener *)w;
	int fd;
	int i;

	(void)l;
	(void)revents;
	for (i = 0; i < ACCEPTS_PER_EVENT; i++) {
		fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_new(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
			/* Take the connection off the queue and drop it. */
			close(spare_fd);
			fd = accept(ls->fd, NULL, NULL);
			if (fd >= 0)
				close(fd);
			spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			stats.errors++;
		}
		break;
	}
}

/* listen_on - bind a listener on ADDR:PORT or [ADDR6]:PORT */
static void
listen_on(struct sink_listener *ls, const char *spec)
{
	struct addrinfo hints, *res;
	char host[HOST_MAX];
	const char *port;
	int one = 1;
	int err;

	if (bio_hostport(spec, host, sizeof(host), &port) < 0)
		die("bad listen address: %s", spec);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	err = getaddrinfo(host, port, &hints, &res);
	if (err != 0)
		die("%s: %s", spec, gai_strerror(err));
	ls->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (ls->fd < 0)
		die("%s: socket: %s", spec, strerror(errno));
	if (setsockopt(ls->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) < 0)
		die("%s: SO_REUSEADDR: %s", spec, strerror(errno));
	if (res->ai_family == AF_INET6 && setsockopt(ls->fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) < 0)
		die("%s: IPV6_V6ONLY: %s", spec, strerror(errno));
	if (bind(ls->fd, res->ai_addr, res->ai_addrlen) < 0)
		die("%s: bind: %s", spec, strerror(errno));
	if (listen(ls->fd, 4096) < 0)
		die("%s: listen: %s", spec, strerror(errno));
	freeaddrinfo(res);
	ev_io_init(&ls->io, accept_cb, ls->fd, EV_READ);
	ev_io_start(loop, &ls->io);
}

/* tls_selfsigned - make an ECDSA P-256 key and a self-signed certificate */
static void
tls_selfsigned(SSL_CTX *ctx)
{
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	X509_NAME *name;
	EVP_PKEY *pkey;
	X509 *x;
	char san[HOST_MAX + 8];
	int n;

	n = snprintf(san, sizeof(san), "DNS:%s", hostname);
	if (n < 0 || (size_t)n >= sizeof(san))
		die("host name too long");
	pkey = EVP_EC_gen("P-256");
	x = X509_new();
	if (pkey == NULL || x == NULL)
		tls_die("cannot make a key");
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)getpid()) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) == NULL ||
	    X509_set_pubkey(x, pkey) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		tls_die("cannot fill in the certificate");
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		tls_die("cannot add subjectAltName");
	X509_EXTENSION_free(ext);
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		tls_die("cannot sign the certificate");
	if (SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		tls_die("cannot use the certificate");
	X509_free(x);
	EVP_PKEY_free(pkey);
}

/* tls_init - the server context: TLS 1.2+, partial writes, lean buffers */
static void
tls_init(const char *cert, const char *key)
{
	sink_ctx = SSL_CTX_new(TLS_server_method());
	if (sink_ctx == NULL)
		tls_die("SSL_CTX_new failed");
	if (SSL_CTX_set_min_proto_version(sink_ctx, TLS1_2_VERSION) != 1)
		tls_die("cannot set the minimum TLS version");
	SSL_CTX_set_mode(sink_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(sink_ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (cert == NULL) {
		tls_selfsigned(sink_ctx);
		return;
	}
	if (SSL_CTX_use_certificate_chain_file(sink_ctx, cert) != 1)
		tls_die(cert);
	if (SSL_CTX_use_PrivateKey_file(sink_ctx, key, SSL_FILETYPE_PEM) != 1)
		tls_die(key);
	if (SSL_CTX_check_private_key(sink_ctx) != 1)
		tls_die("certificate and key do not match");
}

/* signal_cb - SIGUSR1: print counters; SIGINT/SIGTERM: stop the loop */
static void
signal_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)revents;
	if (w->signum == SIGUSR1)
		stats_print();
	else
		ev_break(l, EVBREAK_ALL);
}

/* usage - print the synopsis and exit */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bsink -l addr:port [-l addr:port ...] "
	    "[-c cert -k key] [-p pidfile] [-n hostname] [-t idle_seconds]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sink_listener listeners[MAX_LISTEN];
	const char *specs[MAX_LISTEN];
	const char *cert = NULL, *key = NULL, *pidfile = NULL;
	ev_signal sig_usr1, sig_int, sig_term;
	int nspecs = 0;
	char *end;
	FILE *fp;
	int ch;
	int i;

	while ((ch = getopt(argc, argv, "c:k:l:n:p:t:")) != -1) {
		switch (ch) {
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'l':
			if (nspecs == MAX_LISTEN)
				die("at most %d -l options", MAX_LISTEN);
			specs[nspecs++] = optarg;
			break;
		case 'n':
			if (strlen(optarg) >= sizeof(hostname) - 1 ||
			    optarg[0] == '\0')
				die("bad host name");
			memcpy(hostname, optarg, strlen(optarg) + 1);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 't':
			errno = 0;
			idle_timeout = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || idle_timeout <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || nspecs == 0 || (cert == NULL) != (key == NULL))
		usage();

	signal(SIGPIPE, SIG_IGN);
	bio_raise_nofile();
	loop = EV_DEFAULT;
	if (loop == NULL)
		die("cannot initialise libev");
	tls_init(cert, key);
	for (i = 0; i < nspecs; i++)
		listen_on(&listeners[i], specs[i]);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (spare_fd < 0)
		die("/dev/null: %s", strerror(errno));

	ev_signal_init(&sig_usr1, signal_cb, SIGUSR1);
	ev_signal_init(&sig_int, signal_cb, SIGINT);
	ev_signal_init(&sig_term, signal_cb, SIGTERM);
	ev_signal_start(loop, &sig_usr1);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_term);

	if (pidfile) {
		fp = fopen(pidfile, "w");
		if (fp == NULL)
			die("%s: %s", pidfile, strerror(errno));
		if (fprintf(fp, "%ld\n", (long)getpid()) < 0 || fclose(fp) != 0)
			die("%s: cannot write", pidfile);
	}

	ev_run(loop, 0);

	stats_print();
	if (pidfile)
		(void)unlink(pidfile);
	SSL_CTX_free(sink_ctx);
	return 0;
}
