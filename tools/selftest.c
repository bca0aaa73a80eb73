/*
 * selftest.c - mxtls-check --selftest: mxtlsd's policy and upstream code
 * against MX hosts on loopback whose certificates must fail, and must
 * pass.  See selftest.h.
 *
 * Each case has a listener on 127.0.0.1 and a thread that plays the MX
 * with blocking sockets (5 s per read or write): a greeting, EHLO with
 * or without STARTTLS, the handshake with the case's certificate, QUIT.
 * The client side is mxtlsd's: a plan made as resolve.c makes one (the
 * rdata and the policy text through the same parsers, then
 * plan_finish()), route_build(), up_params_policy(), up_start(), on the
 * caller's libev loop.  What the upstream client reports (UP_READY or
 * UP_FAIL, and its struct up_info) is the case's outcome.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../policy/dane.h"
#include "../policy/plan.h"
#include "../policy/route.h"
#include "../policy/rr.h"
#include "../policy/sts.h"
#include "../proxy/conn.h"
#include "../proxy/tls.h"
#include "../proxy/tls_scache.h"
#include "../proxy/up.h"
#include "selftest.h"

#define ST_MX		"mx.selftest.invalid"
#define ST_OTHER	"other.selftest.invalid"
#define ST_DOMAIN	"selftest.invalid"
#define ST_CASE_SECS	10.0		/* one case, in all */
#define ST_IO_SECS	5		/* the MX's wait for each read or write */

/*
 * The self-signed certificate of the `self-signed' cases, for ST_MX
 * (subjectAltName too), valid 2026-12-03 to 2126-11-09, and its key.
 * It is built in rather than made per run so that it can be named: a
 * trust store that holds it (mxtls-check --print-selftest-cert) is the
 * broken set-up the self-test must catch.  The key protects nothing:
 * it is published here, which is the point.
 */
static const char untrusted_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbO6Mcv1uSlkkUjDZ\n"
	"tPpihIF3kXfO1xXBzbyGBqR0DQ+hRANCAATRS013K/jRf9lshA3e6pkEYKyAcsuv\n"
	"ZAYZ2XxhYopGqZvifygG8TROWUAc1SldW+JWW2lVtHFBJREjVrFROM6p\n"
	"-----END PRIVATE KEY-----\n";
static const char untrusted_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBszCCAVmgAwIBAgIUWyGdHuZPa8djg7/wptZc4LCTfhQwCgYIKoZIzj0EAwIw\n"
	"HjEcMBoGA1UEAwwTbXguc2VsZnRlc3QuaW52YWxpZDAgFw0yNjEyMDMwNTM5NDha\n"
	"GA8yMTI2MTEwOTA1Mzk0OFowHjEcMBoGA1UEAwwTbXguc2VsZnRlc3QuaW52YWxp\n"
	"ZDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNFLTXcr+NF/2WyEDd7qmQRgrIBy\n"
	"y69kBhnZfGFiikapm+J/KAbxNE5ZQBzVKV1b4lZbaVW0cUElESNWsVE4zqmjczBx\n"
	"MB0GA1UdDgQWBBTbezoZPIcs3lgXeZ1SuClMBWvouzAfBgNVHSMEGDAWgBTbezoZ\n"
	"PIcs3lgXeZ1SuClMBWvouzAPBgNVHRMBAf8EBTADAQH/MB4GA1UdEQQXMBWCE214\n"
	"LnNlbGZ0ZXN0LmludmFsaWQwCgYIKoZIzj0EAwIDSAAwRQIhAIJQ6zk2C0a43ErK\n"
	"uekfr1X166+L5/2XiGyeSBk8zFiMAiA/Dzj72bXHUyJ5Zo2a9/HdaAGYW0hU4/74\n"
	"d2zRvx/yEg==\n"
	"-----END CERTIFICATE-----\n";

enum st_pol { P_NONE, P_STS_ENFORCE, P_STS_TESTING, P_STS_NONE, P_DANE };
enum st_cert { C_GOOD, C_WRONG, C_EXPIRED, C_ODD, C_SELF, C_NCERTS };
enum st_tlsa { T_EE, T_EE_OTHER, T_TA };
enum st_tsec { S_SECURE, S_INSECURE, S_BOGUS };	/* the TLSA answer's DNSSEC state */
enum st_dep { D_FIXED, D_STRICT, D_FLOOR, D_SCACHE };	/* what the expectation
							 * depends on */

struct st_case {
	const char *name;
	enum st_pol pol;
	enum st_cert cert;		/* what the MX presents */
	int no_starttls;		/* the MX does not offer STARTTLS */
	enum st_tlsa tlsa;		/* DANE: the one TLSA record */
	enum st_tsec tsec;		/* DANE: the TLSA answer's DNSSEC state */
	int other_mx;			/* MTA-STS: the mx pattern names another host */
	int twice;			/* a second connection to the same MX (the
					 * first must be verified): its outcome */
	enum st_tlsa tlsa2;		/* ... with this TLSA record (DANE) */
	const char *expect;		/* D_FIXED; else the configuration says */
	enum st_dep dep;
};

#define STS(m)	.pol = P_STS_##m
#define DANE(t)	.pol = P_DANE, .tlsa = T_##t

static const struct st_case cases[] = {
	{"sts-enforce good", STS(ENFORCE), .cert = C_GOOD, .expect = "deliver verified"},
	{"sts-enforce wrong name", STS(ENFORCE), .cert = C_WRONG,
	    .expect = "refuse certificate-host-mismatch"},
	{"sts-enforce expired", STS(ENFORCE), .cert = C_EXPIRED,
	    .expect = "refuse certificate-expired"},
	{"sts-enforce self-signed", STS(ENFORCE), .cert = C_SELF,
	    .expect = "refuse certificate-not-trusted"},
	{"sts-enforce no STARTTLS", STS(ENFORCE), .no_starttls = 1,
	    .expect = "refuse starttls-not-supported"},
	{"sts-enforce MX not in policy", STS(ENFORCE), .other_mx = 1,
	    .expect = "refuse validation-failure"},
	{"sts-testing wrong name", STS(TESTING), .cert = C_WRONG, .dep = D_STRICT},
	{"sts mode none, wrong name", STS(NONE), .cert = C_WRONG, .expect = "deliver unverified"},
	{"dane-ee 3 1 1 good", DANE(EE), .expect = "deliver verified"},
	{"dane-ee 3 1 1 expired, other name", DANE(EE), .cert = C_ODD,
	    .expect = "deliver verified"},
	{"dane-ee TLSA mismatch", DANE(EE_OTHER), .expect = "refuse tlsa-invalid"},
	{"dane no STARTTLS", DANE(EE), .no_starttls = 1, .expect = "refuse starttls-not-supported"},
	{"dane-ta 2 0 1 good", DANE(TA), .expect = "deliver verified"},
	{"dane-ta 2 0 1 wrong name", DANE(TA), .cert = C_WRONG,
	    .expect = "refuse certificate-host-mismatch"},
	{"dane TLSA answer bogus", DANE(EE), .tsec = S_BOGUS, .expect = "refuse dnssec-invalid"},
	{"dane TLSA not signed, self-signed", DANE(EE), .tsec = S_INSECURE, .cert = C_SELF,
	    .expect = "deliver unverified"},
	{"dane-ee good, again", DANE(EE), .twice = 1, .tlsa2 = T_EE, .dep = D_SCACHE},
	{"dane-ee again, TLSA changed", DANE(EE), .twice = 1, .tlsa2 = T_EE_OTHER,
	    .expect = "refuse tlsa-invalid"},
	{"sts-enforce good, again", STS(ENFORCE), .twice = 1, .dep = D_SCACHE},
	{"no policy, no STARTTLS", .pol = P_NONE, .no_starttls = 1, .dep = D_FLOOR},
	{"no policy, self-signed", .pol = P_NONE, .cert = C_SELF, .expect = "deliver unverified"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* What one run makes: the CA, the MX's contexts, the TLSA data. */
struct st_pki {
	EVP_PKEY *ca_key, *key;		/* the CA's; every CA-issued leaf's */
	X509 *ca;
	SSL_CTX *mx[C_NCERTS];		/* the MX's context per certificate */
	unsigned char ee[32];		/* SHA-256 of key's SPKI (3 1 1) */
	unsigned char ee_other[32];	/* ... of the self-signed one's */
	unsigned char ta[32];		/* SHA-256 of the CA certificate (2 0 1) */
};

/* The MX of one case, in its thread. */
struct st_srv {
	int lfd;
	unsigned short port;
	SSL_CTX *ctx;			/* NULL: no STARTTLS */
	int nconns;			/* connections to take, one after another */
	atomic_int served;		/* ... taken and done with */
	pthread_t th;
};

/* The MX's side of one connection: the socket, TLS once up, input. */
struct st_io {
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t n;
};

/* The client's view of one case. */
struct st_run {
	struct up *u;			/* while it is ours */
	int over;			/* UP_READY or UP_FAIL came */
	enum up_event ev;
	struct up_info ui;
};

/* st_untrusted_pem - the built-in self-signed certificate */
const char *
st_untrusted_pem(void)
{
	return untrusted_cert;
}

/* ---- certificates ---------------------------------------------------- */

/* add_ext - one extension by its configuration text; -1 on failure */
static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* make_cert - a certificate for name (NULL: the CA), key k, signed by
 * ik and issuer (NULL: self-signed), valid from `from' to `to' seconds
 * from now */
static X509 *
make_cert(EVP_PKEY *k, const char *name, EVP_PKEY *ik, X509 *issuer, long serial,
    long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *n;
	char san[300];
	int ok;

	if (x == NULL)
		return NULL;
	n = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) == 1
	    && ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1
	    && X509_gmtime_adj(X509_getm_notBefore(x), from) != NULL
	    && X509_gmtime_adj(X509_getm_notAfter(x), to) != NULL
	    && X509_set_pubkey(x, k) == 1
	    && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)
		(name ? name : "mxtls-check self-test CA"), -1, -1, 0) == 1
	    && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) == 1
	    && add_ext(x, issuer, NID_basic_constraints, name ? "CA:FALSE"
		: "critical,CA:TRUE") == 0;
	if (ok && name) {
		snprintf(san, sizeof(san), "DNS:%s", name);
		ok = add_ext(x, issuer, NID_subject_alt_name, san) == 0;
	}
	if (!ok || X509_sign(x, ik ? ik : k, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* spki_hash - SHA-256 of a key's SubjectPublicKeyInfo */
static int
spki_hash(EVP_PKEY *k, unsigned char out[32])
{
	unsigned char *der = NULL;
	unsigned int hl = 0;
	int dl = i2d_PUBKEY(k, &der), ok;

	ok = dl > 0 && EVP_Digest(der, (size_t) dl, out, &hl, EVP_sha256(), NULL) == 1
	    && hl == 32;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

/* mx_ctx - the MX's server context for certificate x and key k (with
 * the CA in the chain it sends, when chain) */
static SSL_CTX *
mx_ctx(X509 *x, EVP_PKEY *k, X509 *chain)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_use_certificate(ctx, x) != 1
	    || SSL_CTX_use_PrivateKey(ctx, k) != 1
	    || (chain && SSL_CTX_add1_chain_cert(ctx, chain) != 1)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* pem_read - the built-in certificate and key */
static int
pem_read(X509 **x, EVP_PKEY **k)
{
	BIO *b = BIO_new_mem_buf(untrusted_cert, -1), *bk = BIO_new_mem_buf(untrusted_key, -1);

	*x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	*k = bk ? PEM_read_bio_PrivateKey(bk, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	BIO_free(bk);
	return *x && *k ? 0 : -1;
}

/* pki_free - what pki_make made */
static void
pki_free(struct st_pki *pk)
{
	for (int i = 0; i < C_NCERTS; i++)
		SSL_CTX_free(pk->mx[i]);
	X509_free(pk->ca);
	EVP_PKEY_free(pk->ca_key);
	EVP_PKEY_free(pk->key);
	memset(pk, 0, sizeof(*pk));
}

/* pki_make - this run's CA, the leaves, the MX's contexts and the TLSA
 * data; -1 with the reason in err */
static int
pki_make(struct st_pki *pk, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		long from, to;
	} leaf[] = {
		[C_GOOD] = {ST_MX, -3600, 86400},
		[C_WRONG] = {ST_OTHER, -3600, 86400},
		[C_EXPIRED] = {ST_MX, -2 * 86400, -86400},
		[C_ODD] = {ST_OTHER, -2 * 86400, -86400},
	};
	X509 *self = NULL;
	EVP_PKEY *self_key = NULL;
	unsigned int hl = 0;

	memset(pk, 0, sizeof(*pk));
	if ((pk->ca_key = EVP_EC_gen("P-256")) == NULL || (pk->key = EVP_EC_gen("P-256")) == NULL
	    || (pk->ca = make_cert(pk->ca_key, NULL, NULL, NULL, 1, -86400, 2 * 86400)) == NULL)
		goto fail;
	for (int i = C_GOOD; i <= C_ODD; i++) {
		X509 *x = make_cert(pk->key, leaf[i].name, pk->ca_key, pk->ca, 2 + i,
		    leaf[i].from, leaf[i].to);

		pk->mx[i] = x ? mx_ctx(x, pk->key, pk->ca) : NULL;
		X509_free(x);
		if (pk->mx[i] == NULL)
			goto fail;
	}
	if (pem_read(&self, &self_key) < 0 || (pk->mx[C_SELF] = mx_ctx(self, self_key, NULL)) == NULL
	    || spki_hash(pk->key, pk->ee) < 0 || spki_hash(self_key, pk->ee_other) < 0
	    || X509_digest(pk->ca, EVP_sha256(), pk->ta, &hl) != 1 || hl != 32)
		goto fail;
	X509_free(self);
	EVP_PKEY_free(self_key);
	return 0;
fail:
	X509_free(self);
	EVP_PKEY_free(self_key);
	tls_errstr(err, errlen, "self-test certificates");
	pki_free(pk);
	return -1;
}

/* ---- the MX, in a thread --------------------------------------------- */

/* io_send - all of s, plain or through TLS; -1 on failure */
static int
io_send(struct st_io *io, const char *s)
{
	size_t n = strlen(s);

	if (io->ssl)
		return SSL_write(io->ssl, s, (int) n) == (int) n ? 0 : -1;
	while (n > 0) {
		ssize_t w = send(io->fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t) w;
	}
	return 0;
}

/* io_line - one command line, without its CR LF; -1 at EOF, on error,
 * after ST_IO_SECS of silence, or for a line too long */
static int
io_line(struct st_io *io, char *out, size_t len)
{
	for (;;) {
		char *nl = memchr(io->buf, '\n', io->n);
		ssize_t got;

		if (nl) {
			size_t l = (size_t) (nl - io->buf), k = l;

			if (k > 0 && io->buf[k - 1] == '\r')
				k--;
			if (k >= len)
				k = len - 1;
			memcpy(out, io->buf, k);
			out[k] = 0;
			memmove(io->buf, nl + 1, io->n - l - 1);
			io->n -= l + 1;
			return 0;
		}
		if (io->n == sizeof(io->buf))
			return -1;
		got = io->ssl ? SSL_read(io->ssl, io->buf + io->n, (int) (sizeof(io->buf) - io->n))
		    : recv(io->fd, io->buf + io->n, sizeof(io->buf) - io->n, 0);
		if (got < 0 && !io->ssl && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		io->n += (size_t) got;
	}
}

/* srv_conv - the MX's dialogue: greeting, EHLO (STARTTLS offered when
 * there is a context), the handshake, QUIT */
static void
srv_conv(int fd, SSL_CTX *ctx)
{
	struct st_io *io = calloc(1, sizeof(*io));
	char line[1024];

	if (io == NULL)
		return;
	io->fd = fd;
	if (io_send(io, "220 " ST_MX " ESMTP mxtls-check self-test\r\n") < 0)
		goto out;
	while (io_line(io, line, sizeof(line)) == 0) {
		const char *reply = "502 5.5.1 not here\r\n";

		if (strncasecmp(line, "EHLO", 4) == 0)
			reply = ctx && !io->ssl ? "250-" ST_MX "\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
			    : "250-" ST_MX "\r\n250 8BITMIME\r\n";
		else if (strncasecmp(line, "HELO", 4) == 0 || strncasecmp(line, "RSET", 4) == 0
		    || strncasecmp(line, "NOOP", 4) == 0)
			reply = "250 2.0.0 ok\r\n";
		else if (strncasecmp(line, "QUIT", 4) == 0) {
			(void) io_send(io, "221 2.0.0 bye\r\n");
			break;
		} else if (strncasecmp(line, "STARTTLS", 8) == 0 && ctx && !io->ssl) {
			if (io_send(io, "220 2.0.0 go ahead\r\n") < 0)
				break;
			io->n = 0;		/* nothing sent before TLS counts */
			if ((io->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(io->ssl, fd) != 1
			    || SSL_accept(io->ssl) != 1)
				break;
			continue;
		}
		if (io_send(io, reply) < 0)
			break;
	}
out:
	if (io->ssl) {
		(void) SSL_shutdown(io->ssl);
		SSL_free(io->ssl);
	}
	free(io);
}

/* srv_main - accept the case's connections in turn and play the MX */
static void *
srv_main(void *arg)
{
	struct st_srv *s = arg;
	struct pollfd pfd = {s->lfd, POLLIN, 0};
	struct timeval tv = {ST_IO_SECS, 0};
	double until = clock_mono() + ST_CASE_SECS;
	int fd;

	for (int i = 0; i < s->nconns; i++) {
		int left = (int) ((until - clock_mono()) * 1000);

		if (left <= 0 || poll(&pfd, 1, left) <= 0 || (fd = accept(s->lfd, NULL, NULL)) < 0)
			break;
		(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		srv_conv(fd, s->ctx);
		close(fd);
		s->served++;
	}
	return NULL;
}

/* srv_start - a listener on 127.0.0.1 for n connections, and its
 * thread; -1 on failure */
static int
srv_start(struct st_srv *s, SSL_CTX *ctx, int n)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->nconns = n;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(s->lfd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(s->lfd, 4) < 0
	    || getsockname(s->lfd, (struct sockaddr *) &a, &al) < 0
	    || pthread_create(&s->th, NULL, srv_main, s) != 0) {
		close(s->lfd);
		return -1;
	}
	s->port = ntohs(a.sin_port);
	return 0;
}

/* srv_stop - the MX thread is over (it waits ST_CASE_SECS at most for
 * its connections, ST_IO_SECS for each read) */
static void
srv_stop(struct st_srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);	/* wakes an accept that waits for nobody */
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* ---- the client: mxtlsd's code ---------------------------------------- */

/* add_tlsa - one TLSA record, as rdata, through resolve.c's checks */
static int
add_tlsa(struct plan_host *h, uint8_t usage, uint8_t sel, uint8_t mt,
    const unsigned char *data, size_t len)
{
	unsigned char rd[3 + 64];
	struct rr_tlsa t;
	const char *why;

	rd[0] = usage;
	rd[1] = sel;
	rd[2] = mt;
	memcpy(rd + 3, data, len);
	if (rr_tlsa(rd, 3 + len, &t, &why) < 0 || !dane_usable(&t) || plan_add_tlsa(h, &t) < 0)
		return -1;
	rr_tlsa_text(&t, h->tlsa_text, sizeof(h->tlsa_text));
	return 0;
}

/* make_plan - the plan resolve.c would make for ST_DOMAIN: one MX host
 * at 127.0.0.1:port, signed for DANE, with the case's policy (DANE:
 * the TLSA record tlsa) */
static struct plan *
make_plan(const struct st_case *c, enum st_tlsa tlsa, const struct st_pki *pk,
    unsigned short port)
{
	struct plan *p = calloc(1, sizeof(*p));
	struct plan_host *h;
	enum dns_sec sec = c->pol == P_DANE ? DNS_SECURE : DNS_INSECURE;
	char text[256], why[STS_WHY_MAX];
	struct sockaddr_in *a;

	if (p == NULL)
		return NULL;
	snprintf(p->domain, sizeof(p->domain), "%s", ST_DOMAIN);
	p->status = PLAN_OK;
	p->mx_sec = sec;
	p->min_ttl = 60;
	p->rtype = RTYPE_NONE;
	p->nhosts = 1;
	h = &p->hosts[0];
	snprintf(h->name, sizeof(h->name), "%s", ST_MX);
	memcpy(h->canon, h->name, sizeof(h->canon));
	memcpy(h->base, h->name, sizeof(h->base));
	h->pref = 10;
	h->a_sec = h->aaaa_sec = sec;
	h->a_done = h->aaaa_done = 1;
	a = (struct sockaddr_in *) &h->addrs[0];
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	h->naddrs = 1;
	h->rtype = RTYPE_NONE;
	if (c->pol == P_DANE) {
		int r = tlsa == T_EE ? add_tlsa(h, 3, 1, 1, pk->ee, 32)
		    : tlsa == T_EE_OTHER ? add_tlsa(h, 3, 1, 1, pk->ee_other, 32)
		    : add_tlsa(h, 2, 0, 1, pk->ta, 32);

		/* as got_tlsa(): records exist only in a secure answer, and
		 * those of another are not kept */
		h->tlsa_looked_up = 1;
		h->tlsa_sec = c->tsec == S_BOGUS ? DNS_BOGUS : c->tsec == S_INSECURE
		    ? DNS_INSECURE : DNS_SECURE;
		h->tlsa_exists = c->tsec == S_SECURE;
		if (c->tsec != S_SECURE) {
			for (int i = 0; i < h->ntlsa; i++)
				free(h->tlsa[i].data);
			h->ntlsa = 0;
		}
		if (r < 0) {
			plan_free(p);
			return NULL;
		}
	}
	if (c->pol == P_STS_ENFORCE || c->pol == P_STS_TESTING || c->pol == P_STS_NONE) {
		struct sts_result *s = &p->sts;

		snprintf(text, sizeof(text), "version: STSv1\nmode: %s\nmx: %s\nmax_age: 86400\n",
		    c->pol == P_STS_ENFORCE ? "enforce" : c->pol == P_STS_TESTING ? "testing"
		    : "none", c->other_mx ? ST_OTHER : ST_MX);
		if (sts_policy_parse(text, strlen(text), &s->policy, why, sizeof(why)) < 0) {
			msg_warn("self-test: MTA-STS policy: %s", why);
			plan_free(p);
			return NULL;
		}
		s->has_policy = 1;
		snprintf(s->id, sizeof(s->id), "selftest1");
		s->rtype = RTYPE_NONE;
		s->txt_ttl = 60;
	}
	plan_finish(p);
	return p;
}

/* on_up - the upstream's outcome: ready (then QUIT) or failed */
static void
on_up(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg)
{
	struct st_run *rn = arg;

	(void) r;
	if ((ev != UP_READY && ev != UP_FAIL) || rn->over)
		return;
	rn->over = 1;
	rn->ev = ev;
	rn->ui = *ui;
	rn->u = NULL;			/* the reaper's, or QUIT's */
	if (ev == UP_READY)
		up_quit(u);
}

/* on_tick - wakes the loop while a case runs */
static void
on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void) l;
	(void) w;
	(void) revents;
}

/* outcome - what the upstream's report comes to, in the table's words */
static void
outcome(const struct st_run *rn, char *got, size_t len)
{
	const struct up_info *ui = &rn->ui;
	const char *rt = rtype_str(ui->rtype);

	if (!rn->over)
		snprintf(got, len, "timeout");
	else if (rn->ev == UP_FAIL)
		snprintf(got, len, "refuse %s", rt ? rt : "connection-failure");
	else if (ui->tls && ui->verified)
		snprintf(got, len, "deliver verified%s", ui->resumed ? " resumed" : "");
	else if (ui->soft_rtype != RTYPE_NONE)
		snprintf(got, len, "deliver noted %s", rtype_str(ui->soft_rtype));
	else
		snprintf(got, len, "deliver %s", ui->tls ? "unverified" : "plaintext");
}

/* What one case's connections share. */
struct st_ctx {
	const struct config *cfg;
	struct ev_loop *loop;
	SSL_CTX *cctx;
	struct scache *scache;		/* tls_session_cache, or NULL */
	const struct st_pki *pk;
};

/* attempt - one connection of case c to its MX (srv, whose nth it is),
 * with TLSA record tlsa: what came out (got), and why */
static void
attempt(const struct st_ctx *x, const struct st_case *c, enum st_tlsa tlsa,
    struct st_srv *srv, int nth, double until, char *got, size_t len, char *why,
    size_t whylen)
{
	const struct config *cfg = x->cfg;
	struct st_run rn = {0};
	struct route rt;
	struct route_opts ro = {
		.mismatch = (enum mx_mismatch) cfg->mx_mismatch,
		.strict_testing = cfg->strict_testing,
		.require_tls = cfg->require_tls,
		.report_only = 0,		/* enforcement is what is proven */
	};
	struct sockaddr_storage orig;
	struct plan *p;
	struct up_params up;
	ev_timer tick;
	int ci;

	why[0] = 0;
	if ((p = make_plan(c, tlsa, x->pk, srv->port)) == NULL) {
		snprintf(got, len, "error");
		snprintf(why, whylen, "the synthetic plan was refused");
		return;
	}
	orig = p->hosts[0].addrs[0];	/* the old MTA went to the MX itself */
	route_build(p, &orig, &ro, &rt);
	for (ci = 0; ci < rt.ncands; ci++)
		if (!rt.cands[ci].failed && !rt.cands[ci].sts_skip)
			break;
	if (rt.verdict != ROUTE_TRY || ci == rt.ncands) {
		/* Ruled out before any connection: the result type a session
		 * journals for it (sess_route.c's ruled_out()) */
		enum rtype t = rt.verdict != ROUTE_TRY ? rt.rtype : rt.ncands == 0 ? RTYPE_NONE
		    : rt.cands[0].sts_skip ? RTYPE_VALIDATION_FAILURE : rt.cands[0].dane_only
		    ? RTYPE_DANE_REQUIRED : p->hosts[0].rtype != RTYPE_NONE ? p->hosts[0].rtype
		    : RTYPE_VALIDATION_FAILURE;
		const char *w = rtype_str(t);

		snprintf(got, len, "refuse %s", w ? w : "none");
		snprintf(why, whylen, "route: %.700s", rt.verdict != ROUTE_TRY ? rt.reply
		    : rt.ncands && rt.cands[0].sts_skip ? "the MX matches no mx pattern, not "
		    "connected to" : "no candidate to connect to");
		plan_free(p);
		return;
	}
	/* As sess_route.c's sess_up_params_for(), but for upstream_mark and
	 * upstream_source: nothing redirects loopback, and neither needs a
	 * capability here */
	up = (struct up_params) {
		.addr = rt.cands[ci].addr,
		.addrlen = sizeof(struct sockaddr_in),
		.helo = "mxtls-check.selftest.invalid",
		.connect_timeout = ST_IO_SECS,
		.timeout = ST_IO_SECS,
		.tls_ctx = x->cctx,
		.sid = "selftest",
		.dns_ttl = -1,
		.ktls = cfg->tls_ktls,
	};
	up_params_policy(&up, p, &rt, &rt.cands[ci], NULL);
	if (x->scache) {
		up.scache = x->scache;
		up.dns_ttl = route_resume_ttl(up.level, 1, p->min_ttl, (until - clock_mono()) * 1000);
	}
	ev_timer_init(&tick, on_tick, 0.005, 0.005);
	ev_timer_start(x->loop, &tick);
	if ((rn.u = up_start(x->loop, &up, on_up, &rn)) == NULL) {
		snprintf(why, whylen, "out of memory");
	} else {
		/* Until the outcome is in and the MX is done (QUIT answered) */
		while (clock_mono() < until && !(rn.over && srv->served > nth))
			ev_run(x->loop, EVRUN_ONCE);
		if (!rn.over && rn.u)
			up_abort(rn.u);
		for (int i = 0; i < 20; i++)	/* the reaper's turn */
			ev_run(x->loop, EVRUN_NOWAIT);
	}
	ev_timer_stop(x->loop, &tick);
	outcome(&rn, got, len);
	if (rn.over && why[0] == 0)
		snprintf(why, whylen, "%.590s%s%.160s", rn.ev == UP_FAIL ? rn.ui.why : rn.ui.match,
		    rn.ev != UP_FAIL && rn.ui.match[0] ? ": " : "", rn.ev == UP_FAIL ? ""
		    : rn.ui.tls ? rn.ui.tlsinfo : "no TLS");
	else if (!rn.over)
		snprintf(why, whylen, "no outcome within %.0f s", ST_CASE_SECS);
	plan_free(p);
}

/* run_case - one case against its MX (two connections when c->twice):
 * what came out (got, the last connection's), and why */
static void
run_case(const struct st_ctx *x, const struct st_case *c, char *got, size_t len,
    char *why, size_t whylen)
{
	double until = clock_mono() + ST_CASE_SECS;
	struct st_srv srv;

	if (srv_start(&srv, c->no_starttls ? NULL : x->pk->mx[c->cert], c->twice ? 2 : 1) < 0) {
		snprintf(got, len, "error");
		snprintf(why, whylen, "no loopback listener: %s", strerror(errno));
		return;
	}
	attempt(x, c, c->tlsa, &srv, 0, until, got, len, why, whylen);
	if (c->twice && strncmp(got, "deliver verified", 16) != 0) {
		size_t n = strlen(why);

		snprintf(why + n, whylen - n, " (the first connection: %s)", got);
		snprintf(got, len, "error");
	} else if (c->twice) {
		attempt(x, c, c->tlsa2, &srv, 1, until, got, len, why, whylen);
	}
	srv_stop(&srv);
}

/* expect_of - what case c must come to under this configuration */
static const char *
expect_of(const struct st_case *c, const struct config *cfg)
{
	switch (c->dep) {
	case D_STRICT:			/* strict_testing enforces testing */
		return cfg->strict_testing ? "refuse certificate-host-mismatch"
		    : "deliver noted certificate-host-mismatch";
	case D_FLOOR:			/* require_tls: never plaintext */
		return cfg->require_tls ? "refuse starttls-not-supported" : "deliver plaintext";
	case D_SCACHE:			/* the second connection resumes */
		return cfg->tls_session_cache ? "deliver verified resumed" : "deliver verified";
	case D_FIXED:
		break;
	}
	return c->expect;
}

/* client_ctx - mxtlsd's client context (tls_ca_file), and this run's CA
 * added to its own store; NULL with the reason in err */
static SSL_CTX *
client_ctx(const struct config *cfg, const struct st_pki *pk, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_client_ctx(cfg->tls_ca_file, err, errlen);

	if (ctx && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), pk->ca) != 1) {
		tls_errstr(err, errlen, "adding the self-test CA");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* st_run - every case; the table and a last line on out; 0 when every
 * case came out as expected */
int
st_run(const struct config *cfg, struct ev_loop *loop, int verbose, FILE *out)
{
	struct st_pki pk;
	struct st_ctx x;
	SSL_CTX *cctx;
	char err[512], got[96], why[sizeof(((struct up_info *) 0)->why)];
	char failed[1024] = "";
	int nbad = 0;

	if (pki_make(&pk, err, sizeof(err)) < 0) {
		fprintf(out, "selftest: FAILED: %s\n", err);
		return 1;
	}
	if ((cctx = client_ctx(cfg, &pk, err, sizeof(err))) == NULL) {
		fprintf(out, "selftest: FAILED: %s\n", err);
		pki_free(&pk);
		return 1;
	}
	x = (struct st_ctx) {cfg, loop, cctx, NULL, &pk};
	if (cfg->tls_session_cache) {	/* as mxtlsd's main.c */
		up_cache_ctx(cctx);
		if ((x.scache = scache_new((size_t) cfg->tls_session_cache_size)) == NULL) {
			fprintf(out, "selftest: FAILED: out of memory\n");
			SSL_CTX_free(cctx);
			pki_free(&pk);
			return 1;
		}
	}
	conn_init_loop(loop);
	reap_init(loop);
	fprintf(out, "%-36s %-40s %s\n", "case", "expected", "got");
	for (size_t i = 0; i < NCASES; i++) {
		const struct st_case *c = &cases[i];
		const char *want = expect_of(c, cfg);
		int ok;

		run_case(&x, c, got, sizeof(got), why, sizeof(why));
		ok = strcmp(want, got) == 0;
		fprintf(out, "%-36s %-40s %s%s\n", c->name, want, got, ok ? "" : "   <- WRONG");
		if (!ok || verbose)
			fprintf(out, "    %s\n", why);
		if (!ok) {
			size_t n = strlen(failed);

			snprintf(failed + n, sizeof(failed) - n, "%s%s", n ? ", " : "", c->name);
			nbad++;
		}
	}
	if (cfg->mode == MODE_REPORT_ONLY)
		fprintf(out, "note: mode = report-only: mxtlsd refuses nothing; "
		    "the cases were judged as under mode = enforce\n");
	if (nbad)
		fprintf(out, "selftest: FAILED: %d of %zu cases: %s\n", nbad, NCASES, failed);
	else
		fprintf(out, "selftest: ok: all %zu cases as expected (tls_ca_file %s)\n", NCASES,
		    cfg->tls_ca_file[0] ? cfg->tls_ca_file : "none");
	SSL_CTX_free(cctx);
	if (x.scache)
		scache_free(x.scache);
	pki_free(&pk);
	return nbad ? 1 : 0;
}
