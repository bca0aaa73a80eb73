/*
 * test_up.c - the upstream client (proxy/up.c, up_tls.c) against a
 * scripted MX on a loopback listener.  The MX runs in a thread with
 * blocking sockets: for each connection a script of steps (send, send
 * in two writes with a pause, expect a command line, TLS handshake,
 * pause).  The client runs on a real libev loop in the main thread: on
 * UP_READY and after each reply it sends the case's next command (the
 * first two with up_command2 when the MX offers PIPELINING), the
 * message after a 354, then up_quit().  Each case says which events it
 * must see, and what their struct up_info must say.
 *
 * Cases: the greeting (2xx name, 4xx, 5xx), EHLO (HELO fallback after
 * 5xx, refused twice, 4xx, refused at a level that requires TLS), a
 * multi-line reply split at every byte boundary, malformed replies
 * (NUL, bare CR, a changed code, a bad code, a line too long, too many
 * lines), STARTTLS (plaintext after the 220 dropped, refused, not
 * offered where TLS is required, a broken handshake retried in
 * plaintext), DANE-EE matched and not, PIPELINING (used only when
 * offered, each reply in turn), an unsolicited reply, a refused
 * connection and a timeout.
 *
 * TLS session resumption (proxy/tls_scache.c; the MX keeps one listener
 * and one context, so its tickets and session cache serve the next
 * connection): TLS 1.3 tickets, TLS 1.2 session ids and TLS 1.2 tickets
 * are resumed, DANE-verified by the key; a changed TLSA record is a miss
 * (a full handshake, the mismatch found); a TTL of 0 caches nothing; a
 * handshake that fails drops the session it offered; at encrypt a
 * resumed session is not verified.
 *
 * The source address (upstream_source = client): with privileges
 * (IP_TRANSPARENT allowed), from 127.0.0.2 the MX sees 127.0.0.2, and in
 * a private network namespace (only lo up, so nothing leaves the host)
 * a source that is no address of the host is bound (only IP_TRANSPARENT
 * allows that) and the SYN goes out, the connection then timing out as
 * nothing routes the answer back; without privileges both are a 4.4.0
 * failure naming IP_TRANSPARENT.  A source of the other family fails
 * with 4.4.0 and no connection is ever made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../lib/addr.h"
#include "../../lib/log.h"
#include "../../proxy/conn.h"
#include "../../proxy/tls.h"
#include "../../proxy/tls_scache.h"
#include "../../proxy/up.h"
#include "fakemx.h"
#include "t.h"

#define STEP_MS		2000		/* the MX's wait for each command */

/* ---- the scripted MX ------------------------------------------------- */

enum op { END, SEND, EXPECT, TLS, PAUSE, CLOSE };

/* One step: SEND s (n octets, 0: strlen; cut > 0: in two writes, split
 * there, 5 ms apart), EXPECT a line that begins with s, TLS (the server
 * handshake), PAUSE for cut ms, CLOSE at once.  A script ends with END;
 * then the MX waits for the client to close. */
struct step {
	enum op op;
	const char *s;
	size_t cut, n;
};

#define MAXSTEPS	24

static struct {
	int lfd;
	unsigned short port;
	pthread_t th;
	const struct step *conns[2];	/* the scripts, one per connection */
	atomic_int done;		/* every script ran */
	char err[300];			/* the first step that went wrong */
	char peer[2][64];		/* each connection's source address */
} mx;

static SSL_CTX *mx_ctx;			/* self-signed, for mx.example */
static unsigned char spki_hash[32];	/* SHA-256 of its public key */
static unsigned char cert_hash[32];	/* ... and of the certificate */
static char cert_pem[64];		/* its CA's certificate, a tafile */

/* mx_step - one step; -1 when it went wrong (mx.err says how) */
static int
mx_step(struct rd *r, const struct step *st)
{
	char line[4096];
	size_t n;

	switch (st->op) {
	case SEND:
		n = st->n ? st->n : strlen(st->s);
		if (st->cut > 0 && st->cut < n) {
			if (rd_send(r, st->s, st->cut) < 0)
				return -1;
			sleep_ms(5);
			return rd_send(r, st->s + st->cut, n - st->cut);
		}
		return rd_send(r, st->s, n);
	case EXPECT:
		if (rd_line(r, line, sizeof(line), STEP_MS) < 0) {
			snprintf(mx.err, sizeof(mx.err), "no line, expected %s", st->s);
			return -1;
		}
		if (strncmp(line, st->s, strlen(st->s)) != 0) {
			snprintf(mx.err, sizeof(mx.err), "got \"%.100s\", expected %s", line, st->s);
			return -1;
		}
		return 0;
	case TLS:
		r->ssl = SSL_new(mx_ctx);
		SSL_set_fd(r->ssl, r->fd);
		if (SSL_accept(r->ssl) != 1) {
			snprintf(mx.err, sizeof(mx.err), "TLS handshake failed");
			return -1;
		}
		return 0;
	case PAUSE:
		sleep_ms((int) st->cut);
		return 0;
	case CLOSE:
	case END:
		break;
	}
	return -1;
}

/* mx_conn - run one script on one connection */
static void
mx_conn(int fd, const struct step *script)
{
	struct rd *r = calloc(1, sizeof(*r));

	r->fd = fd;
	for (int i = 0; i < MAXSTEPS && script[i].op != END; i++)
		if (script[i].op == CLOSE || mx_step(r, &script[i]) < 0)
			goto out;
	(void) rd_eof(r, STEP_MS);
out:
	if (r->ssl) {
		/* A session freed unshut is a bad one: out of the MX's cache */
		(void) SSL_shutdown(r->ssl);
		SSL_free(r->ssl);
	}
	close(fd);
	free(r);
}

/* mx_main - accept a connection per script */
static void *
mx_main(void *arg)
{
	(void) arg;
	for (int i = 0; i < 2 && mx.conns[i]; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd;

		if (!wait_readable(mx.lfd, 3 * STEP_MS)
		    || (fd = accept(mx.lfd, (struct sockaddr *) &ss, &sl)) < 0) {
			snprintf(mx.err, sizeof(mx.err), "connection %d never came", i + 1);
			break;
		}
		addr_str(&ss, mx.peer[i], sizeof(mx.peer[i]));
		mx_conn(fd, mx.conns[i]);
	}
	mx.done = 1;
	return NULL;
}

static int keep_lfd = -1;		/* one listener for several cases */
static unsigned short keep_port;

/* mx_start - an MX for these scripts (c2: for a second connection) */
static void
mx_start(const struct step *c1, const struct step *c2)
{
	mx.conns[0] = c1;
	mx.conns[1] = c2;
	mx.done = 0;
	mx.err[0] = 0;
	mx.peer[0][0] = mx.peer[1][0] = 0;
	if (keep_lfd >= 0) {
		mx.lfd = keep_lfd;
		mx.port = keep_port;
	} else {
		mx.lfd = loopback_listen(&mx.port);
	}
	pthread_create(&mx.th, NULL, mx_main, NULL);
}

/* mx_stop - wait for the MX thread */
static void
mx_stop(void)
{
	pthread_join(mx.th, NULL);
	if (mx.lfd != keep_lfd)
		close(mx.lfd);
}

/* mx_cert - a self-signed certificate for mx.example, and its DANE-EE
 * 3 1 1 hash */
/* make_cert - a certificate for cn, signed by ik (NULL: self-signed) */
static X509 *
make_cert(EVP_PKEY *k, const char *cn, EVP_PKEY *ik, X509 *issuer, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *) cn,
	    -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE"
	    : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, ik ? ik : k, EVP_sha256());
	return x;
}

/* mx_cert - the MX's certificate (CN mx.example), issued by a test CA
 * whose certificate is the tafile of the policy-table cases */
static void
mx_cert(void)
{
	EVP_PKEY *ck = EVP_EC_gen("P-256"), *k = EVP_EC_gen("P-256");
	X509 *ca = make_cert(ck, "Test CA", NULL, NULL, 1);
	X509 *x = make_cert(k, "mx.example", ck, ca, 0);
	unsigned char *der = NULL;
	int dl, fd;
	unsigned int hl = 0;
	FILE *fp;

	dl = i2d_PUBKEY(k, &der);
	EVP_Digest(der, (size_t) dl, spki_hash, &hl, EVP_sha256(), NULL);
	OPENSSL_free(der);
	X509_digest(x, EVP_sha256(), cert_hash, &hl);
	snprintf(cert_pem, sizeof(cert_pem), "/tmp/test_up.XXXXXX");
	if ((fd = mkstemp(cert_pem)) < 0 || (fp = fdopen(fd, "w")) == NULL
	    || PEM_write_X509(fp, ca) != 1 || fclose(fp) != 0) {
		fprintf(stderr, "test CA file\n");
		exit(2);
	}
	mx_ctx = SSL_CTX_new(TLS_server_method());
	if (k == NULL || dl <= 0 || SSL_CTX_use_certificate(mx_ctx, x) != 1
	    || SSL_CTX_use_PrivateKey(mx_ctx, k) != 1) {
		fprintf(stderr, "test certificate\n");
		exit(2);
	}
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
}

/* ---- the client, on the loop ----------------------------------------- */

struct want {
	const char *events;		/* "ready 250 251 fail" */
	const char *enh;		/* at UP_FAIL, or NULL */
	const char *why;		/* ... a part of the reason, or NULL */
	const char *rtype;		/* ... the result type, or NULL: none */
	int tls;			/* TLS was up at the last event */
	int verified;
	int plain_retry;
	int pipelining;			/* the EHLO offered it */
	const char *greet_name;		/* or NULL: not checked */
};

struct tcase {
	const char *name;
	enum route_level level;
	int use_tls;			/* the client has a TLS context */
	int dane;			/* TLSA 3 1 1: 1 the MX's key, 2 another */
	const struct step *c1, *c2;	/* the MX's scripts */
	const char *cmds[4];		/* after UP_READY, in turn */
	struct want w;
};

struct run {
	const struct tcase *tc;
	int next;			/* the next command to send */
	int due;			/* replies due before the next */
	char events[256];
	struct up_info last;		/* at the last event */
	int over;			/* UP_FAIL, or up_quit */
};

static struct ev_loop *loop;
static SSL_CTX *client_ctx;
static const char *src_addr;		/* up_params.src, or NULL: none */
static struct scache *tc_scache;	/* up_params.scache, or NULL: none */
static long tc_dns_ttl;			/* ... and dns_ttl */

/* add_event - note an event for the case's check */
static void
add_event(struct run *rn, const char *word)
{
	size_t n = strlen(rn->events);

	snprintf(rn->events + n, sizeof(rn->events) - n, "%s%s", n ? " " : "", word);
}

/* next_command - the case's next command, the message after a 354, or
 * QUIT */
static void
next_command(struct run *rn, struct up *u, const struct up_info *ui,
    const struct smtp_reply *r)
{
	static const char msg[] = "Subject: t\r\n\r\nhello\r\n.\r\n";
	const char *const *c = rn->tc->cmds;

	if (r && r->code == 354) {
		up_data_begin(u);
		up_data_write(u, msg, sizeof(msg) - 1);
		up_data_end(u);
		return;
	}
	if (c[rn->next] == NULL) {
		up_quit(u);
		rn->over = 1;
		return;
	}
	if (rn->next == 0 && c[1] && ui->ehlo.pipelining) {
		rn->due = 2;
		rn->next = 2;
		up_command2(u, c[0], strlen(c[0]), c[1], strlen(c[1]));
		return;
	}
	rn->due = 1;
	up_command(u, c[rn->next], strlen(c[rn->next]));
	rn->next++;
}

/* on_up - the upstream's events */
static void
on_up(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg)
{
	struct run *rn = arg;
	char code[8];

	if (ev == UP_DRAIN)
		return;
	rn->last = *ui;
	if (ev == UP_FAIL) {
		add_event(rn, "fail");
		rn->over = 1;
		return;
	}
	if (ev == UP_READY) {
		add_event(rn, "ready");
		next_command(rn, u, ui, NULL);
		return;
	}
	snprintf(code, sizeof(code), "%d", r->code);
	add_event(rn, code);
	if (--rn->due <= 0)
		next_command(rn, u, ui, r);
}

/* What a policy-table case adds to a case (NULL: none). */
static struct tab_extra {
	const char *line;		/* the table, one entry; `@FP@' the
					 * certificate's digest, `@KEY@' the key's,
					 * `@TA@' the certificate's file */
	int soft, floor;
	const char *nexthop;
	int dns_name;			/* the MX name came from DNS */
	const char *soft_rtype;		/* want: the noted failure, or NULL */
	const char *match;		/* want: a prefix of ui->match */
	const char *tls_version;	/* want: exactly, or NULL */
} *extra;

/* hex - 32 octets as 64 hex digits */
static void
hex(const unsigned char *d, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* extra_table - the extra's table line, placeholders filled in */
static int
extra_table(struct ptable *t)
{
	char line[1024], fp[65], err[256];
	const char *src = extra->line;
	size_t w = 0;

	while (*src && w + 100 < sizeof(line)) {
		if (strncmp(src, "@FP@", 4) == 0 || strncmp(src, "@KEY@", 5) == 0) {
			hex(src[1] == 'F' ? cert_hash : spki_hash, fp);
			w += (size_t) snprintf(line + w, sizeof(line) - w, "%s", fp);
			src += src[1] == 'F' ? 4 : 5;
		} else if (strncmp(src, "@TA@", 4) == 0) {
			w += (size_t) snprintf(line + w, sizeof(line) - w, "%s", cert_pem);
			src += 4;
		} else {
			line[w++] = *src++;
		}
	}
	line[w] = 0;
	if (ptable_parse(t, "t", line, w, err, sizeof(err)) < 0) {
		fprintf(stderr, "test table: %s\n", err);
		return -1;
	}
	return 0;
}

/* run_case - one connection (or two) as the case says; what it saw */
static void
run_case(const struct tcase *tc, unsigned short port, struct run *rn)
{
	struct up_params p;
	struct plan_tlsa t;
	struct ptable tab;
	unsigned char other[32];
	struct sockaddr_in *a = (struct sockaddr_in *) &p.addr;
	double until = now_ms() + 4 * STEP_MS;

	memset(rn, 0, sizeof(*rn));
	rn->tc = tc;
	memset(&p, 0, sizeof(p));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	p.addrlen = sizeof(*a);
	p.helo = "client.example";
	p.connect_timeout = 1;
	p.timeout = 1;
	p.tls_ctx = tc->use_tls ? client_ctx : NULL;
	p.sid = "T";
	p.level = tc->level;
	p.mxname = "mx.example";
	p.scache = tc_scache;
	p.dns_ttl = tc_dns_ttl;
	if (src_addr) {
		struct sockaddr_in *s4 = (struct sockaddr_in *) &p.src;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &p.src;

		if (inet_pton(AF_INET, src_addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			p.srclen = sizeof(*s4);
		} else if (inet_pton(AF_INET6, src_addr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			p.srclen = sizeof(*s6);
		}
	}
	if (extra) {
		if (extra_table(&tab) < 0) {
			add_event(rn, "badtable");
			return;
		}
		p.tab = &tab.e[0];
		p.soft = extra->soft;
		p.floor = extra->floor;
		p.nexthop = extra->nexthop;
		p.orig_name = extra->dns_name ? "mx.example" : NULL;
	}
	if (tc->dane) {
		memset(other, 0x5a, sizeof(other));
		t.usage = 3;
		t.selector = 1;
		t.mtype = 1;
		t.len = 32;
		t.data = tc->dane == 1 ? spki_hash : other;
		p.base = "mx.example";
		p.tlsa = &t;
		p.ntlsa = 1;
	}
	if (up_start(loop, &p, on_up, rn) == NULL) {
		add_event(rn, "nomem");
		if (extra)
			ptable_free(&tab);
		return;
	}
	if (extra)
		ptable_free(&tab);	/* up_start has its copy */
	/* Until the case is over and the MX has finished (QUIT answered). */
	while (now_ms() < until && !(rn->over && (mx.done || tc->c1 == NULL)))
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), sleep_ms(1);
	for (int i = 0; i < 20; i++)		/* the reaper's turn */
		ev_run(loop, EVRUN_NOWAIT);
}

/* check - what the case wanted, against what it saw; "" when all is well */
static const char *
check(const struct tcase *tc, const struct run *rn, unsigned short port, char *buf,
    size_t len)
{
	const struct want *w = &tc->w;
	const struct up_info *ui = &rn->last;
	const char *rtype = rtype_str(ui->rtype);	/* NULL: none */
	char peer[64];

	buf[0] = 0;
	snprintf(peer, sizeof(peer), "mx.example[127.0.0.1]:%u", port);
	if (strcmp(rn->events, w->events) != 0)
		snprintf(buf, len, "events \"%s\", want \"%s\" (why: %.300s)", rn->events,
		    w->events, ui->why);
	else if (w->enh && (ui->enh == NULL || strcmp(ui->enh, w->enh) != 0))
		snprintf(buf, len, "enh %s, want %s", ui->enh ? ui->enh : "none", w->enh);
	else if (w->why && strstr(ui->why, w->why) == NULL)
		snprintf(buf, len, "why \"%.500s\", want \"%.200s\"", ui->why, w->why);
	else if ((w->rtype == NULL) != (rtype == NULL)
	    || (w->rtype && strcmp(w->rtype, rtype) != 0))
		snprintf(buf, len, "rtype %s, want %s", rtype ? rtype : "none",
		    w->rtype ? w->rtype : "none");
	else if (ui->tls != w->tls || ui->verified != w->verified
	    || ui->plain_retry != w->plain_retry)
		snprintf(buf, len, "tls %d verified %d plain_retry %d, want %d %d %d",
		    ui->tls, ui->verified, ui->plain_retry, w->tls, w->verified,
		    w->plain_retry);
	else if (w->tls ? strncmp(ui->tls_version, "TLSv1.", 6) != 0
	    : strcmp(ui->tls_version, "none") != 0)
		snprintf(buf, len, "tls_version %s", ui->tls_version);
	else if (w->verified && (extra && extra->match ? strncmp(ui->match, extra->match,
	    strlen(extra->match)) : strcmp(ui->match, "DANE-EE(3) SPKI(1) SHA2-256(1)")) != 0)
		snprintf(buf, len, "match \"%s\"", ui->match);
	else if (extra && ((extra->soft_rtype == NULL) != (ui->soft_rtype == RTYPE_NONE)
	    || (extra->soft_rtype && strcmp(extra->soft_rtype, rtype_str(ui->soft_rtype)) != 0)))
		snprintf(buf, len, "soft rtype %s, want %s", ui->soft_rtype == RTYPE_NONE
		    ? "none" : rtype_str(ui->soft_rtype), extra->soft_rtype ? extra->soft_rtype
		    : "none");
	else if (extra && extra->tls_version && strcmp(ui->tls_version, extra->tls_version) != 0)
		snprintf(buf, len, "tls_version %s, want %s", ui->tls_version, extra->tls_version);
	else if (ui->ehlo.pipelining != w->pipelining)
		snprintf(buf, len, "pipelining %d, want %d", ui->ehlo.pipelining,
		    w->pipelining);
	else if (w->greet_name && strcmp(ui->greet_name, w->greet_name) != 0)
		snprintf(buf, len, "greet_name \"%s\", want \"%s\"", ui->greet_name,
		    w->greet_name);
	else if (tc->c1 && mx.err[0])
		snprintf(buf, len, "the MX: %s", mx.err);
	else if (strcmp(ui->peer, peer) != 0 || strcmp(ui->addr, "127.0.0.1") != 0)
		snprintf(buf, len, "peer %s addr %s, want %s", ui->peer, ui->addr, peer);
	else if (w->enh && strstr(ui->why, peer) == NULL)
		snprintf(buf, len, "why \"%.500s\" does not name %s", ui->why, peer);
	else if (strcmp(rn->events, "ready") == 0 && (strcmp(ui->local, src_addr ? src_addr
	    : "127.0.0.1") != 0 || ui->localport == 0))
		snprintf(buf, len, "local %s port %d", ui->local, ui->localport);
	else if (src_addr && tc->c1 && strcmp(mx.peer[0], src_addr) != 0)
		snprintf(buf, len, "the MX saw the connection from %s, want %s", mx.peer[0],
		    src_addr);
	else if (src_addr && strcmp(ui->local, src_addr) != 0)
		snprintf(buf, len, "local %s, want the source %s", ui->local, src_addr);
	return buf;
}

/* ---- the cases -------------------------------------------------------- */

#define S(x)		{SEND, x, 0, 0}
#define SN(x)		{SEND, x, 0, sizeof(x) - 1}	/* with NULs */
#define E(x)		{EXPECT, x, 0, 0}
#define STARTTLS	{TLS, NULL, 0, 0}
#define PAUSE_MS(ms)	{PAUSE, NULL, ms, 0}
#define HANGUP		{CLOSE, NULL, 0, 0}
#define Z		{END, NULL, 0, 0}
#define GREET		S("220 mx.example ESMTP ready\r\n")
#define EHLO		E("EHLO client.example")
#define EHLO_250	S("250-mx.example\r\n250 SIZE 1000\r\n")
#define EHLO_TLS	S("250-mx.example\r\n250 STARTTLS\r\n")
#define EHLO_PIPE	S("250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")
#define QUIT		E("QUIT"), S("221 bye\r\n")

static const struct step plain_ok[] = {GREET, EHLO, EHLO_250, QUIT, Z};
static const struct step greet_421[] = {S("421 4.3.2 busy\r\n"), Z};
static const struct step greet_554[] = {S("554-mx.example\r\n554 go away\r\n"), Z};
static const struct step helo_ok[] = {GREET, EHLO, S("502 5.5.1 what?\r\n"),
	E("HELO client.example"), S("250 mx.example\r\n"), QUIT, Z};
static const struct step helo_refused[] = {GREET, EHLO, S("500 no\r\n"),
	E("HELO client.example"), S("550 not you either\r\n"), Z};
static const struct step ehlo_421[] = {GREET, EHLO, S("421 4.3.2 later\r\n"), Z};
static const struct step ehlo_500[] = {GREET, EHLO, S("500 no\r\n"), Z};
static const struct step no_starttls[] = {GREET, EHLO, EHLO_250, Z};
static const struct step injected[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("220 go\r\n250 injected\r\n"), STARTTLS, EHLO, EHLO_PIPE, QUIT, Z};
static const struct step tls_refused[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("454 4.7.0 TLS not available\r\n"), QUIT, Z};
static const struct step tls_refused_req[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("454 4.7.0 TLS not available\r\n"), Z};
static const struct step tls_broken[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("220 go\r\n"), HANGUP, Z};
static const struct step tls_again[] = {GREET, EHLO, EHLO_TLS, QUIT, Z};
static const struct step tls_ok[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("220 go\r\n"), STARTTLS, EHLO, EHLO_250, QUIT, Z};
static const struct step tls_ok_hangup[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("220 go\r\n"), STARTTLS, EHLO, EHLO_250, HANGUP, Z};	/* the MX closes first */
static const struct step tls_then_bye[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("220 go\r\n"), STARTTLS, Z};
static const struct step tls_220_only[] = {GREET, EHLO, EHLO_TLS, E("STARTTLS"),
	S("220 go\r\n"), Z};
static const struct step pipelined[] = {GREET, EHLO, EHLO_PIPE,
	E("MAIL FROM:<a@example>"), E("RCPT TO:<b@example>"),
	S("250 2.1.0 ok\r\n251 2.1.5 ok\r\n"), E("DATA"), S("354 go\r\n"),
	E("Subject: t"), E(""), E("hello"), E("."), S("250 2.0.0 queued\r\n"), QUIT, Z};
static const struct step unpipelined[] = {GREET, EHLO, EHLO_250,
	E("MAIL FROM:<a@example>"), S("250 2.1.0 ok\r\n"), E("RCPT TO:<b@example>"),
	S("251 2.1.5 ok\r\n"), QUIT, Z};
static const struct step bad_nul[] = {GREET, EHLO,
	SN("250-mx.example\r\n250-A\0B\r\n250 OK\r\n"), Z};
static const struct step bad_cr[] = {GREET, EHLO,
	S("250-mx.example\r\n250-A\rB\r\n250 OK\r\n"), Z};
static const struct step bad_code[] = {GREET, EHLO, S("250-mx.example\r\n251 OK\r\n"), Z};
static const struct step bad_digits[] = {GREET, EHLO, S("2a0 mx.example\r\n"), Z};
static const struct step bad_sep[] = {GREET, EHLO, S("250_mx.example\r\n"), Z};
static char long_reply[2200], many_lines[1024];
static const struct step bad_long[] = {GREET, EHLO, S(long_reply), Z};
static const struct step bad_many[] = {GREET, EHLO, S(many_lines), Z};
static const struct step lost[] = {GREET, HANGUP, Z};
static const struct step silent[] = {PAUSE_MS(1500), Z};

#define MALFORMED	"malformed reply from mx.example[127.0.0.1]:"
#define WHILE_EHLO	"while performing the EHLO handshake"

static const struct tcase cases[] = {
	{"greeting 220, EHLO, ready, QUIT", ROUTE_MAY, 0, 0, plain_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 0, 0, 0, 0, "mx.example"}},
	{"greeting 421: fail 4.4.0", ROUTE_MAY, 0, 0, greet_421, NULL, {0},
	    {"fail", "4.4.0", "refused to talk to me: 421 4.3.2 busy", NULL, 0, 0, 0, 0, ""}},
	{"greeting 554, two lines: fail 4.4.0", ROUTE_MAY, 0, 0, greet_554, NULL, {0},
	    {"fail", "4.4.0", "refused to talk to me: 554 mx.example", NULL, 0, 0, 0, 0, ""}},
	{"EHLO 502: HELO, ready without extensions", ROUTE_MAY, 0, 0, helo_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 0, 0, 0, 0, "mx.example"}},
	{"EHLO and HELO refused: fail", ROUTE_MAY, 0, 0, helo_refused, NULL, {0},
	    {"fail", "4.4.0", "refused HELO: 550 not you either", NULL, 0, 0, 0, 0, NULL}},
	{"EHLO 421: no HELO, fail", ROUTE_MAY, 0, 0, ehlo_421, NULL, {0},
	    {"fail", "4.4.0", "refused EHLO: 421 4.3.2 later", NULL, 0, 0, 0, 0, NULL}},
	{"EHLO 500 where TLS is required: no HELO, fail", ROUTE_ENCRYPT, 1, 0, ehlo_500,
	    NULL, {0}, {"fail", "4.4.0", "refused EHLO: 500 no", NULL, 0, 0, 0, 0, NULL}},
	{"TLS required, STARTTLS not offered: policy failure", ROUTE_ENCRYPT, 1, 0,
	    no_starttls, NULL, {0}, {"fail", "4.7.5", "TLS is required, but was not "
	    "offered by host mx.example[127.0.0.1]:", "starttls-not-supported", 0, 0, 0,
	    0, NULL}},
	{"STARTTLS: plaintext after the 220 is never a reply", ROUTE_MAY, 1, 0, injected,
	    NULL, {0}, {"ready", NULL, NULL, NULL, 1, 0, 0, 1, NULL}},
	{"STARTTLS refused (may): plaintext", ROUTE_MAY, 1, 0, tls_refused, NULL, {0},
	    {"ready", NULL, NULL, NULL, 0, 0, 0, 0, NULL}},
	{"STARTTLS refused where TLS is required: policy failure", ROUTE_ENCRYPT, 1, 0,
	    tls_refused_req, NULL, {0}, {"fail", "4.7.5", "refused STARTTLS: 454 4.7.0",
	    "starttls-not-supported", 0, 0, 0, 0, NULL}},
	{"handshake broken (may): again in plaintext, no STARTTLS", ROUTE_MAY, 1, 0,
	    tls_broken, tls_again, {0}, {"ready", NULL, NULL, NULL, 0, 0, 1, 0, NULL}},
	{"handshake broken where TLS is required: policy failure", ROUTE_ENCRYPT, 1, 0,
	    tls_broken, NULL, {0}, {"fail", "4.7.5", "TLS handshake with mx.example"
	    "[127.0.0.1]:", "validation-failure", 0, 0, 0, 0, NULL}},
	{"TLS at encrypt: up, not verified", ROUTE_ENCRYPT, 1, 0, tls_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 1, 0, 0, 0, NULL}},
	{"DANE-EE 3 1 1 matched: verified", ROUTE_DANE, 1, 1, tls_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 1, 1, 0, 0, NULL}},
	{"DANE-EE 3 1 1 not matched: policy failure", ROUTE_DANE, 1, 2, tls_then_bye,
	    NULL, {0}, {"fail", "4.7.5", "TLSA record mismatch for mx.example[127.0.0.1]:",
	    "tlsa-invalid", 1, 0, 0, 0, NULL}},
	{"PIPELINING: MAIL and RCPT in one write, each reply in turn, DATA",
	    ROUTE_MAY, 0, 0, pipelined, NULL,
	    {"MAIL FROM:<a@example>", "RCPT TO:<b@example>", "DATA", NULL},
	    {"ready 250 251 354 250", NULL, NULL, NULL, 0, 0, 0, 1, NULL}},
	{"no PIPELINING: one command at a time", ROUTE_MAY, 0, 0, unpipelined, NULL,
	    {"MAIL FROM:<a@example>", "RCPT TO:<b@example>", NULL},
	    {"ready 250 251", NULL, NULL, NULL, 0, 0, 0, 0, NULL}},
	{"malformed: NUL in a reply", ROUTE_MAY, 0, 0, bad_nul, NULL, {0},
	    {"fail", "4.4.0", WHILE_EHLO, NULL, 0, 0, 0, 0, NULL}},
	{"malformed: bare CR in a reply", ROUTE_MAY, 0, 0, bad_cr, NULL, {0},
	    {"fail", "4.4.0", WHILE_EHLO, NULL, 0, 0, 0, 0, NULL}},
	{"malformed: the code changes within a reply", ROUTE_MAY, 0, 0, bad_code, NULL,
	    {0}, {"fail", "4.4.0", WHILE_EHLO, NULL, 0, 0, 0, 0, NULL}},
	{"malformed: not a code", ROUTE_MAY, 0, 0, bad_digits, NULL, {0},
	    {"fail", "4.4.0", WHILE_EHLO, NULL, 0, 0, 0, 0, NULL}},
	{"malformed: neither space nor dash after the code", ROUTE_MAY, 0, 0, bad_sep,
	    NULL, {0}, {"fail", "4.4.0", WHILE_EHLO, NULL, 0, 0, 0, 0, NULL}},
	{"malformed: a line too long", ROUTE_MAY, 0, 0, bad_long, NULL, {0},
	    {"fail", "4.4.0", "line too long " WHILE_EHLO, NULL, 0, 0, 0, 0, NULL}},
	{"malformed: too many lines", ROUTE_MAY, 0, 0, bad_many, NULL, {0},
	    {"fail", "4.4.0", WHILE_EHLO, NULL, 0, 0, 0, 0, NULL}},
	{"connection lost after the greeting", ROUTE_MAY, 0, 0, lost, NULL, {0},
	    {"fail", "4.4.2", "lost connection with mx.example[127.0.0.1]:", NULL, 0, 0,
	    0, 0, NULL}},
	{"no greeting: timeout", ROUTE_MAY, 0, 0, silent, NULL, {0},
	    {"fail", "4.4.2", "timed out while receiving the initial server greeting",
	    NULL, 0, 0, 0, 0, NULL}},
};

/* one_case - run a case against its MX; "" when all went as it says */
static const char *
one_case(const struct tcase *tc, char *buf, size_t len)
{
	struct run rn;

	mx_start(tc->c1, tc->c2);
	run_case(tc, mx.port, &rn);
	mx_stop();
	return check(tc, &rn, mx.port, buf, len);
}

/* resume_case - one case on the kept listener; *resumed: the client's
 * ui->resumed; "" when all is as the case wants */
static const char *
resume_case(const struct tcase *tc, int *resumed, char *buf, size_t len)
{
	struct run rn;

	mx_start(tc->c1, tc->c2);
	run_case(tc, mx.port, &rn);
	mx_stop();
	*resumed = rn.last.resumed;
	return check(tc, &rn, mx.port, buf, len);
}

/* resume - TLS session resumption against an MX that keeps its context */
static void
resume(void)
{
	static const struct tcase dane_ok = {"", ROUTE_DANE, 1, 1, tls_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 1, 1, 0, 0, NULL}};
	static const struct tcase dane_hangup = {"", ROUTE_DANE, 1, 1, tls_ok_hangup, NULL,
	    {0}, {"ready", NULL, NULL, NULL, 1, 1, 0, 0, NULL}};
	static const struct tcase dane_bad = {"", ROUTE_DANE, 1, 2, tls_then_bye, NULL, {0},
	    {"fail", "4.7.5", "TLSA record mismatch for mx.example[127.0.0.1]:",
	    "tlsa-invalid", 1, 0, 0, 0, NULL}};
	static const struct tcase enc_ok = {"", ROUTE_ENCRYPT, 1, 0, tls_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 1, 0, 0, 0, NULL}};
	static const struct tcase enc_broken = {"", ROUTE_ENCRYPT, 1, 0, tls_broken, NULL,
	    {0}, {"fail", "4.7.5", "TLS handshake with mx.example[127.0.0.1]:",
	    "validation-failure", 0, 0, 0, 0, NULL}};
	const struct scache_stats *st;
	char buf[1024];
	const char *err;
	int r1 = -1, r2 = -1;
	unsigned long n0;

	keep_lfd = loopback_listen(&keep_port);
	tc_scache = scache_new(8);
	tc_dns_ttl = 60;
	st = scache_stats(tc_scache);
	up_cache_ctx(client_ctx);

	err = resume_case(&dane_ok, &r1, buf, sizeof(buf));
	T_CASE("resume: TLS 1.3 DANE first: full, verified, cached", err[0] == 0 && r1 == 0
	    && st->n == 1 && st->stored >= 1, "%s resumed %d n %zu", err, r1, st->n);
	err = resume_case(&dane_ok, &r2, buf, sizeof(buf));
	T_CASE("resume: TLS 1.3 DANE second: resumed, verified by the key", err[0] == 0
	    && r2 == 1 && st->hits == 1 && st->resumed == 1, "%s resumed %d hits %lu", err, r2,
	    st->hits);
	n0 = st->misses;
	err = resume_case(&dane_bad, &r1, buf, sizeof(buf));
	T_CASE("resume: a changed TLSA record is a miss: full handshake, mismatch found",
	    err[0] == 0 && r1 == 0 && st->misses == n0 + 1, "%s resumed %d", err, r1);
	err = resume_case(&dane_ok, &r2, buf, sizeof(buf));
	T_CASE("resume: the old TLSA record's session is still its own", err[0] == 0
	    && r2 == 1, "%s resumed %d", err, r2);
	/* The MX closes first (close_notify, then FIN; an idle cached
	 * connection timed out): the client frees its SSL without its own
	 * close_notify, and OpenSSL marks that SSL's session not resumable.
	 * The cache's copy is not that object. */
	scache_flush(tc_scache, 8);
	err = resume_case(&dane_hangup, &r1, buf, sizeof(buf));
	if (err[0] == 0)
		err = resume_case(&dane_ok, &r2, buf, sizeof(buf));
	T_CASE("resume: after the MX closed first, the next connection still resumes",
	    err[0] == 0 && r1 == 0 && r2 == 1 && st->n == 1, "%s resumed %d %d n %zu", err, r1,
	    r2, st->n);

	/* TLS 1.2, session ids: the MX's own cache, no tickets */
	scache_flush(tc_scache, 8);
	SSL_CTX_set_max_proto_version(mx_ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(mx_ctx, SSL_OP_NO_TICKET);
	err = resume_case(&dane_ok, &r1, buf, sizeof(buf));
	if (err[0] == 0)
		err = resume_case(&dane_ok, &r2, buf, sizeof(buf));
	T_CASE("resume: TLS 1.2 session id: resumed, verified", err[0] == 0 && r1 == 0
	    && r2 == 1, "%s resumed %d %d", err, r1, r2);
	/* TLS 1.2, tickets */
	scache_flush(tc_scache, 8);
	SSL_CTX_clear_options(mx_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(mx_ctx, SSL_SESS_CACHE_OFF);
	err = resume_case(&dane_ok, &r1, buf, sizeof(buf));
	if (err[0] == 0)
		err = resume_case(&dane_ok, &r2, buf, sizeof(buf));
	T_CASE("resume: TLS 1.2 ticket: resumed, verified", err[0] == 0 && r1 == 0
	    && r2 == 1, "%s resumed %d %d", err, r1, r2);
	SSL_CTX_set_max_proto_version(mx_ctx, 0);
	SSL_CTX_set_session_cache_mode(mx_ctx, SSL_SESS_CACHE_SERVER);

	/* The plan's TTL is 0: nothing is cached */
	scache_flush(tc_scache, 8);
	tc_dns_ttl = 0;
	err = resume_case(&dane_ok, &r1, buf, sizeof(buf));
	if (err[0] == 0)
		err = resume_case(&dane_ok, &r2, buf, sizeof(buf));
	T_CASE("resume: DNS TTL 0: nothing cached, never resumed", err[0] == 0 && r1 == 0
	    && r2 == 0 && st->n == 0, "%s resumed %d %d n %zu", err, r1, r2, st->n);
	tc_dns_ttl = 60;

	/* encrypt: resumed, and still not verified; a broken handshake drops
	 * the session it offered */
	err = resume_case(&enc_ok, &r1, buf, sizeof(buf));
	if (err[0] == 0)
		err = resume_case(&enc_ok, &r2, buf, sizeof(buf));
	T_CASE("resume: encrypt: resumed, not verified", err[0] == 0 && r1 == 0 && r2 == 1,
	    "%s resumed %d %d", err, r1, r2);
	n0 = st->dropped;
	err = resume_case(&enc_broken, &r1, buf, sizeof(buf));
	T_CASE("resume: a broken handshake drops the offered session", err[0] == 0
	    && st->dropped == n0 + 1 && st->n == 0, "%s dropped %lu n %zu", err, st->dropped,
	    st->n);

	scache_free(tc_scache);
	tc_scache = NULL;
	close(keep_lfd);
	keep_lfd = -1;
}

/* table - every case of the table */
static void
table(void)
{
	char buf[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = one_case(&cases[i], buf, sizeof(buf));

		T_CASE(cases[i].name, err[0] == 0, "%s", err);
	}
}

/* The policy table's levels and attributes, report-only, the floor. */
static const struct tab_case {
	struct tcase tc;
	struct tab_extra x;
} tab_cases[] = {
	{{"table none: STARTTLS offered, never said", ROUTE_NONE, 1, 0, tls_again, NULL,
	    {0}, {"ready", NULL, NULL, NULL, 0, 0, 0, 0, NULL}},
	    {"mx.example none", 0, 0, NULL, 1, NULL, NULL, NULL}},
	{{"table fingerprint of the certificate: verified", ROUTE_FINGERPRINT, 1, 0, tls_ok,
	    NULL, {0}, {"ready", NULL, NULL, NULL, 1, 1, 0, 0, NULL}},
	    {"mx.example fingerprint match=@FP@", 0, 0, NULL, 1, NULL,
	    "policy table fingerprint, SHA-256 of the certificate", NULL}},
	{{"table fingerprint of the public key, among others: verified", ROUTE_FINGERPRINT,
	    1, 0, tls_ok, NULL, {0}, {"ready", NULL, NULL, NULL, 1, 1, 0, 0, NULL}},
	    {"mx.example fingerprint match=" "00000000000000000000000000000000"
	    "00000000000000000000000000000000|@KEY@", 0, 0, NULL, 1, NULL,
	    "policy table fingerprint, SHA-256 of the public key", NULL}},
	{{"table fingerprint, another digest: policy failure", ROUTE_FINGERPRINT, 1, 0,
	    tls_then_bye, NULL, {0}, {"fail", "4.7.5", "no match= digest is that of the "
	    "certificate of mx.example[127.0.0.1]:", "validation-failure", 1, 0, 0, 0, NULL}},
	    {"mx.example fingerprint match=" "11111111111111111111111111111111"
	    "11111111111111111111111111111111", 0, 0, NULL, 1, NULL, NULL, NULL}},
	{{"table fingerprint, another digest, report-only: delivered, noted",
	    ROUTE_FINGERPRINT, 1, 0, tls_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 1, 0, 0, 0, NULL}},
	    {"mx.example fingerprint match=" "11111111111111111111111111111111"
	    "11111111111111111111111111111111", 1, 0, NULL, 1, "validation-failure", NULL,
	    NULL}},
	{{"table secure, a CA not in tls_ca_file, no tafile: policy failure (not trusted)",
	    ROUTE_SECURE, 1, 0, tls_then_bye, NULL, {0}, {"fail", "4.7.5", "certificate of "
	    "mx.example[127.0.0.1]:", "certificate-not-trusted", 1, 0, 0, 0, NULL}},
	    {"example secure", 0, 0, "example", 1, NULL, NULL, NULL}},
	{{"table secure, tafile the MX's CA (not sent by the MX), dot-nexthop: verified", ROUTE_SECURE,
	    1, 0, tls_ok, NULL, {0}, {"ready", NULL, NULL, NULL, 1, 1, 0, 0, NULL}},
	    {"example secure tafile=@TA@", 0, 0, "example", 1, NULL,
	    "policy table secure, mx.example", NULL}},
	{{"table secure, tafile, match= another name: name mismatch", ROUTE_SECURE, 1, 0,
	    tls_then_bye, NULL, {0}, {"fail", "4.7.5", "not verified",
	    "certificate-host-mismatch", 1, 0, 0, 0, NULL}},
	    {"example secure match=other.example tafile=@TA@", 0, 0, "example", 1, NULL,
	    NULL, NULL}},
	{{"table verify, tafile, hostname from DNS: verified", ROUTE_VERIFY, 1, 0, tls_ok,
	    NULL, {0}, {"ready", NULL, NULL, NULL, 1, 1, 0, 0, NULL}},
	    {"example verify tafile=@TA@", 0, 0, "example", 1, NULL,
	    "policy table verify, mx.example", NULL}},
	{{"table verify, hostname only from the banner: no name to verify, refused",
	    ROUTE_VERIFY, 1, 0, tls_220_only, NULL, {0}, {"fail", "4.7.0", "no name to verify",
	    NULL, 0, 0, 0, 0, NULL}},
	    {"example verify tafile=@TA@", 0, 0, "example", 0, NULL, NULL, NULL}},
	{{"table protocols=TLSv1.2: TLSv1.2 it is", ROUTE_ENCRYPT, 1, 0, tls_ok, NULL,
	    {0}, {"ready", NULL, NULL, NULL, 1, 0, 0, 0, NULL}},
	    {"example encrypt protocols=TLSv1.2", 0, 0, "example", 1, NULL, NULL, "TLSv1.2"}},
	{{"table protocols=!TLSv1.2: TLSv1.3", ROUTE_ENCRYPT, 1, 0, tls_ok, NULL,
	    {0}, {"ready", NULL, NULL, NULL, 1, 0, 0, 0, NULL}},
	    {"example encrypt protocols=!TLSv1.2", 0, 0, "example", 1, NULL, NULL, "TLSv1.3"}},
	{{"table ciphers= a list OpenSSL does not know: fail at set-up", ROUTE_ENCRYPT,
	    1, 0, tls_220_only, NULL, {0}, {"fail", "4.7.0", "ciphers=NOSUCHCIPHER", NULL, 0, 0,
	    0, 0, NULL}},
	    {"example encrypt ciphers=NOSUCHCIPHER", 0, 0, "example", 1, NULL, NULL, NULL}},
	{{"report-only, DANE mismatch: delivered, tlsa-invalid noted", ROUTE_DANE, 1, 2,
	    tls_ok, NULL, {0}, {"ready", NULL, NULL, NULL, 1, 0, 0, 0, NULL}},
	    {"x.example may", 1, 0, NULL, 1, "tlsa-invalid", NULL, NULL}},
	{{"report-only, encrypt, no STARTTLS: plaintext, noted", ROUTE_ENCRYPT, 1, 0,
	    no_starttls, NULL, {0}, {"ready", NULL, NULL, NULL, 0, 0, 0, 0, NULL}},
	    {"x.example may", 1, 0, NULL, 1, "starttls-not-supported", NULL, NULL}},
	{{"report-only, may, no STARTTLS: nothing noted (may refuses nothing)", ROUTE_MAY,
	    1, 0, no_starttls, NULL, {0}, {"ready", NULL, NULL, NULL, 0, 0, 0, 0, NULL}},
	    {"x.example may", 1, 0, NULL, 1, NULL, NULL, NULL}},
	{{"require_tls floor under MTA-STS testing, no STARTTLS: 4.7.4, never plaintext",
	    ROUTE_STS_TESTING, 1, 0, no_starttls, NULL, {0}, {"fail", "4.7.4",
	    "TLS is required, but was not offered", "starttls-not-supported", 0, 0, 0, 0,
	    NULL}}, {"x.example may", 0, 1, NULL, 1, NULL, NULL, NULL}},
	{{"require_tls floor under MTA-STS testing and report-only: plaintext, noted",
	    ROUTE_STS_TESTING, 1, 0, no_starttls, NULL, {0}, {"ready", NULL, NULL, NULL, 0,
	    0, 0, 0, NULL}}, {"x.example may", 1, 1, NULL, 1, "starttls-not-supported", NULL,
	    NULL}},
	{{"require_tls floor, no STARTTLS: 4.7.4", ROUTE_ENCRYPT, 1, 0, no_starttls, NULL,
	    {0}, {"fail", "4.7.4", "TLS is required, but was not offered",
	    "starttls-not-supported", 0, 0, 0, 0, NULL}},
	    {"x.example may", 0, 1, NULL, 1, NULL, NULL, NULL}},
};

/* table_levels - every case of tab_cases */
static void
table_levels(void)
{
	char buf[1024];

	for (size_t i = 0; i < sizeof(tab_cases) / sizeof(tab_cases[0]); i++) {
		const char *err;

		extra = (struct tab_extra *) &tab_cases[i].x;
		err = one_case(&tab_cases[i].tc, buf, sizeof(buf));
		extra = NULL;
		T_CASE(tab_cases[i].tc.name, err[0] == 0, "%s", err);
	}
}

/* split_everywhere - a multi-line reply in two writes, cut at every
 * octet: the same reply every time */
static void
split_everywhere(void)
{
	static const char reply[] = "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
	struct step script[] = {GREET, EHLO, S(reply), QUIT, Z};
	struct tcase tc = {"split", ROUTE_MAY, 0, 0, script, NULL, {0},
	    {"ready", NULL, NULL, NULL, 0, 0, 0, 1, "mx.example"}};
	char buf[1024], first[1100] = "";
	size_t bad = 0;

	for (size_t cut = 1; cut < sizeof(reply) - 1; cut++) {
		const char *err;

		script[2].cut = cut;
		if ((err = one_case(&tc, buf, sizeof(buf)))[0] && bad++ == 0)
			snprintf(first, sizeof(first), "cut at %zu: %s", cut, err);
	}
	T_CASE("a multi-line reply split at every octet", bad == 0, "%zu cuts wrong, %s",
	    bad, first);
}

/* refused - nobody listens: fail 4.4.1, from the loop */
static void
refused(void)
{
	static const struct tcase tc = {"refused", ROUTE_MAY, 0, 0, NULL, NULL, {0},
	    {"fail", "4.4.1", "connect to mx.example[127.0.0.1]:", NULL, 0, 0, 0, 0, NULL}};
	unsigned short port;
	struct run rn;
	char buf[1024];

	close(loopback_listen(&port));
	run_case(&tc, port, &rn);
	T_CASE("connection refused: fail 4.4.1", check(&tc, &rn, port, buf, sizeof(buf))[0] == 0,
	    "%s", buf);
}

/* transparent_ok - may this process set IP_TRANSPARENT (CAP_NET_RAW or
 * CAP_NET_ADMIN)? */
static int
transparent_ok(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok;

	ok = fd >= 0 && setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* source_case - one case with src_addr as the source; a listener that
 * must get no connection when the case has no MX script */
static void
source_case(const char *src, const struct tcase *tc)
{
	char buf[1024];
	const char *err;
	struct run rn;

	src_addr = src;
	if (tc->c1) {
		err = one_case(tc, buf, sizeof(buf));
	} else {
		unsigned short port;
		int lfd = loopback_listen(&port);

		run_case(tc, port, &rn);
		err = check(tc, &rn, port, buf, sizeof(buf));
		if (!err[0] && wait_readable(lfd, 100))
			err = "a connection was made";
		close(lfd);
	}
	src_addr = NULL;
	T_CASE(tc->name, err[0] == 0, "%s", err);
}

/* lo_up - the loopback interface of this network namespace up */
static int
lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (r == 0)
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return r;
}

/* snmp - a counter of /proc/net/snmp (this namespace's): proto "Ip" or
 * "Tcp", the column's name; -1 when not found */
static long
snmp(const char *proto, const char *name)
{
	char head[1024], vals[1024];
	size_t pl = strlen(proto);
	long v = -1;
	FILE *f = fopen("/proc/net/snmp", "r");

	if (f == NULL)
		return -1;
	while (v < 0 && fgets(head, sizeof(head), f) && fgets(vals, sizeof(vals), f)) {
		char *hs, *vs, *h, *x;

		if (strncmp(head, proto, pl) != 0 || head[pl] != ':')
			continue;
		h = strtok_r(head + pl + 1, " \n", &hs);
		x = strtok_r(vals + pl + 1, " \n", &vs);
		for (; h && x; h = strtok_r(NULL, " \n", &hs), x = strtok_r(NULL, " \n", &vs))
			if (strcmp(h, name) == 0) {
				v = strtol(x, NULL, 10);
				break;
			}
	}
	fclose(f);
	return v;
}

/* source_addresses - up_params.src: the address the MX sees, and the
 * IP_TRANSPARENT path (last: it may leave this process in a network
 * namespace of its own) */
static void
source_addresses(void)
{
	static const struct tcase mismatch = {"source of the other family (::1 to "
	    "127.0.0.1): fail 4.4.0, no connection", ROUTE_MAY, 0, 0, NULL, NULL, {0},
	    {"fail", "4.4.0", "no IPv4 source address for an IPv4 destination", NULL, 0, 0,
	    0, 0, NULL}};
	static const struct tcase from2 = {"source 127.0.0.2: the MX sees the "
	    "connection from 127.0.0.2", ROUTE_MAY, 0, 0, plain_ok, NULL, {0},
	    {"ready", NULL, NULL, NULL, 0, 0, 0, 0, "mx.example"}};
	static const struct tcase from2_denied = {"source 127.0.0.2 without privileges: "
	    "IP_TRANSPARENT refused, fail 4.4.0, no connection", ROUTE_MAY, 0, 0, NULL, NULL,
	    {0}, {"fail", "4.4.0", "IP_TRANSPARENT: ", NULL, 0, 0, 0, 0, NULL}};
	static const struct tcase foreign = {"source 192.0.2.77, no address of this host, "
	    "private namespace: bound (IP_TRANSPARENT), SYN sent, no answer: connect "
	    "timeout 4.4.1", ROUTE_MAY, 0, 0, NULL, NULL, {0},
	    {"fail", "4.4.1", "timed out while connecting", NULL, 0, 0, 0, 0, NULL}};
	static const struct tcase foreign_denied = {"source 192.0.2.77 without "
	    "privileges: IP_TRANSPARENT refused, fail 4.4.0, no connection", ROUTE_MAY, 0, 0,
	    NULL, NULL, {0}, {"fail", "4.4.0", "IP_TRANSPARENT: ", NULL, 0, 0, 0, 0, NULL}};
	int priv = transparent_ok();
	char nlb[8] = "";
	FILE *f;

	source_case("::1", &mismatch);
	source_case("127.0.0.2", priv ? &from2 : &from2_denied);
	if (!priv) {
		source_case("192.0.2.77", &foreign_denied);
		return;
	}
	/* A namespace with nothing but lo: the SYN from 192.0.2.77 reaches
	 * the listener on lo, the SYN-ACK has no route and nothing leaves. */
	if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0) {
		T_CASE(foreign.name, 0, "no private network namespace: %s", strerror(errno));
		return;
	}
	if ((f = fopen("/proc/sys/net/ipv4/ip_nonlocal_bind", "r")) != NULL) {
		if (fgets(nlb, sizeof(nlb), f) == NULL)
			nlb[0] = 0;
		fclose(f);
	}
	if (nlb[0] != '0') {
		T_CASE(foreign.name, 0, "ip_nonlocal_bind is \"%s\" in a fresh namespace: "
		    "the bind would prove nothing", nlb);
		return;
	}
	source_case("192.0.2.77", &foreign);
	/* Nothing else ran here: the one SYN came in on lo to the listener,
	 * and its SYN-ACK to 192.0.2.77 found no route. */
	T_CASE("... the SYN from 192.0.2.77 came in, its answer found no route "
	    "(/proc/net/snmp of the namespace)", snmp("Tcp", "ActiveOpens") == 1
	    && snmp("Tcp", "InSegs") >= 1 && snmp("Ip", "OutNoRoutes") >= 1,
	    "Tcp ActiveOpens %ld InSegs %ld, Ip OutNoRoutes %ld", snmp("Tcp", "ActiveOpens"),
	    snmp("Tcp", "InSegs"), snmp("Ip", "OutNoRoutes"));
}

int
main(void)
{
	char err[512];
	size_t n;

	T_INIT("up");
	signal(SIGPIPE, SIG_IGN);
	log_init("test_up", getenv("TEST_UP_LOG") != NULL, 1);
	loop = EV_DEFAULT;
	conn_init_loop(loop);
	reap_init(loop);
	if ((client_ctx = tls_client_ctx("", err, sizeof(err))) == NULL) {
		fprintf(stderr, "tls: %s\n", err);
		return 2;
	}
	mx_cert();
	n = (size_t) snprintf(long_reply, sizeof(long_reply), "250-");
	memset(long_reply + n, 'x', 2100);
	memcpy(long_reply + n + 2100, "\r\n", 3);
	for (int i = 0; i < 64; i++)
		strcat(many_lines, "250-x\r\n");
	strcat(many_lines, "250 ok\r\n");

	table();
	table_levels();
	split_everywhere();
	refused();
	resume();
	source_addresses();		/* last: see there */

	SSL_CTX_free(client_ctx);
	SSL_CTX_free(mx_ctx);
	unlink(cert_pem);
	return t_done();
}
