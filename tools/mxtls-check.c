/*
 * mxtls-check.c - what mxtlsd would do with mail for one domain.
 *
 * SYNOPSIS
 *	mxtls-check [-c FILE] [--json] [--connect] [--dest ADDR[:PORT]]
 *		[--fresh] [-v] DOMAIN
 *	mxtls-check [-c FILE] [-v] --selftest [--if-configured]
 *	mxtls-check --print-selftest-cert
 *	mxtls-check [-c FILE] [-v] --canary [DOMAIN...]
 *	mxtls-check -V		(--version: print the version and exit)
 *
 * DESCRIPTION
 *	Reads mxtlsd's configuration (cfg_read(), the same default file),
 *	its policy table (ptable_load()), and its MTA-STS cache entry for
 *	DOMAIN (read only); makes the lookups mxtlsd makes (dns_init(),
 *	stsget_init(), resolve_start(): the same resolver, trust anchors and
 *	CA file), plus the _mta-sts TXT record on its own so that it can be
 *	shown as published; builds the route as a session does
 *	(route_build() with the configuration's route_opts and the table
 *	entry for the destination); with --connect, runs the upstream
 *	client (up_start(), with the up_params a session gives it) to every
 *	candidate mxtlsd would connect to, and says QUIT once it is ready.
 *	check_out.c (pure) turns all that into text or JSON.
 *
 *	The MTA-STS lookups write their cache: they run on a private
 *	temporary directory, seeded with a copy of mxtlsd's file for DOMAIN
 *	(an empty one with --fresh), removed at the end.  mxtlsd's own
 *	sts_cache_dir is only read.
 *
 *	--selftest runs selftest.c's cases (mxtlsd's policy and upstream
 *	code against MX hosts on loopback; with --if-configured only when
 *	selftest_at_start = yes).  --canary runs the check with --connect
 *	for each domain of canary_domains (or the command line), each in a
 *	child process of its own, and says of each whether mxtlsd would
 *	refuse it (chk_canary()).
 *
 *	Exit status: 0 deliverable, 1 mxtlsd would refuse (or, with
 *	--connect, no handshake succeeded), 2 usage or configuration error.
 *	--selftest: 0 every case as expected, 1 not.  --canary: 0 every
 *	domain refused for a policy reason, 1 one would be delivered, 3
 *	none delivered but some not proven.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../lib/addr.h"
#include "../lib/conf.h"
#include "../lib/dname.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/version.h"
#include "../policy/dns.h"
#include "../policy/fetch.h"
#include "../policy/ptable_load.h"
#include "../policy/resolve.h"
#include "../policy/stscache.h"
#include "../policy/stsget.h"
#include "../proxy/conn.h"
#include "../proxy/tls.h"
#include "../proxy/up.h"
#include "check.h"
#include "selftest.h"

#define T_TXT		16
#define CACHE_FILE_MAX	16384		/* as stscache_init() reads */
#define CANARY_SECS	180		/* one canary domain, in all */

struct opts {				/* the command line */
	const char *config;
	int given, json, connect, fresh, verbose;
	int selftest, if_configured, print_cert, canary;
	const char *dest;
	char domain[DNAME_MAX + 2];
	char **names;			/* --canary's domains, or NULL */
	int nnames;
};

static struct config cfg;
static struct ev_loop *loop;
static struct chk k;
static struct plan *plan;
static int pending;			/* lookups still out */
static char tmpdir[64];
static SSL_CTX *client_ctx;
static char hostname[256];
static int next_cand;			/* --connect: the next candidate */
static struct dns_q *txt_q;		/* the TXT lookup, while it runs */
static ev_timer guard;			/* the lookups' deadline */

static void remove_private_cache(void);

/* usage - and exit: 0 when asked for (-h), 2 after a usage error */
static _Noreturn void
usage(int asked)
{
	fprintf(asked ? stdout : stderr, "usage: mxtls-check [-c config_file] [--json] "
	    "[--connect] [--dest addr[:port]] [--fresh] [-v] domain\n"
	    "       mxtls-check [-c config_file] [-v] --selftest [--if-configured]\n"
	    "       mxtls-check --print-selftest-cert\n"
	    "       mxtls-check [-c config_file] [-v] --canary [domain ...]\n"
	    "       mxtls-check -V\n");
	exit(asked ? 0 : 2);
}

/* die - a usage or configuration error: exit 2 */
static _Noreturn void MSG_PRINTF(1, 2)
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mxtls-check: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* options - the command line */
static void
options(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"json", no_argument, NULL, 'j'}, {"connect", no_argument, NULL, 'C'},
		{"dest", required_argument, NULL, 'd'}, {"fresh", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'}, {"selftest", no_argument, NULL, 'S'},
		{"if-configured", no_argument, NULL, 'I'},
		{"print-selftest-cert", no_argument, NULL, 'P'},
		{"canary", no_argument, NULL, 'K'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	o->config = CFG_DEFAULT_FILE;
	while ((ch = getopt_long(argc, argv, "c:hvV", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			o->given = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'C':
			o->connect = 1;
			break;
		case 'd':
			o->dest = optarg;
			break;
		case 'F':
			o->fresh = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'S':
			o->selftest = 1;
			break;
		case 'I':
			o->if_configured = 1;
			break;
		case 'P':
			o->print_cert = 1;
			break;
		case 'K':
			o->canary = 1;
			break;
		case 'h':
			usage(1);
		case 'V':
			printf("mxtls-check %s\n", MXTLS_VERSION);
			exit(0);
		default:
			usage(0);
		}
	}
	if (o->selftest + o->print_cert + o->canary > 1
	    || (o->if_configured && !o->selftest)
	    || ((o->selftest || o->print_cert || o->canary)
	    && (o->json || o->connect || o->dest || o->fresh)))
		usage(0);
	if (o->selftest || o->print_cert) {
		if (optind != argc)
			usage(0);
		return;
	}
	if (o->canary) {
		for (int i = optind; i < argc; i++) {
			char d[DNAME_MAX + 2];

			if (strlen(argv[i]) > DNAME_MAX + 1)
				die("%.64s...: not a domain name", argv[i]);
			dname_norm(d, sizeof(d), argv[i]);
			if (!dname_host_ok(d, strlen(d)))
				die("%s: not a domain name", argv[i]);
		}
		o->names = argv + optind;
		o->nnames = argc - optind;
		return;
	}
	if (optind != argc - 1)
		usage(0);
	if (strlen(argv[optind]) > DNAME_MAX + 1)
		die("%.64s...: not a domain name", argv[optind]);
	dname_norm(o->domain, sizeof(o->domain), argv[optind]);
	if (!dname_host_ok(o->domain, strlen(o->domain)))
		die("%s: not a domain name", argv[optind]);
}

/* read_cache - mxtlsd's cache file for the domain, read only; its text
 * in *text (the caller frees it) when it parsed */
static void
read_cache(const char *domain, char **text, size_t *len)
{
	struct chk_cache *c = &k.cache;
	char err[1600];

	*text = NULL;
	c->dir = cfg.sts_cache_dir;
	c->refresh_before = cfg.sts_refresh_before;
	if (c->dir[0] == 0)
		return;
	snprintf(c->path, sizeof(c->path), "%s/%s", c->dir, domain);
	if (access(c->path, F_OK) < 0 && errno == ENOENT)
		return;
	if (file_read_all(c->path, CACHE_FILE_MAX - 2, text, len, err, sizeof(err)) < 0) {
		snprintf(c->error, sizeof(c->error), "%s", err);
		c->unreadable = 1;
		return;
	}
	if (stscache_parse(*text, *len, &c->e, err, sizeof(err)) < 0) {
		snprintf(c->error, sizeof(c->error), "%s", err);
	} else if (strcmp(c->e.domain, domain) != 0) {
		snprintf(c->error, sizeof(c->error), "domain does not match the file name");
	} else {
		c->present = 1;
		return;
	}
	free(*text);
	*text = NULL;
}

/* shared_get - GET the fleet's entry for domain from Redis, read only */
static void
shared_get(redisContext *rc, const struct cfg_sts_cache *where, const char *pw,
    const char *domain)
{
	struct chk_cache *c = &k.cache;
	redisReply *r = NULL;
	char why[256];

	if (pw[0] && ((r = redisCommand(rc, "AUTH %s", pw)) == NULL
		|| r->type == REDIS_REPLY_ERROR)) {
		snprintf(c->shared_error, sizeof(c->shared_error), "AUTH: %s",
		    r ? r->str : rc->errstr);
		freeReplyObject(r);
		return;
	}
	if (pw[0])
		freeReplyObject(r);
	if (where->db && ((r = redisCommand(rc, "SELECT %ld", where->db)) == NULL
		|| r->type == REDIS_REPLY_ERROR)) {
		snprintf(c->shared_error, sizeof(c->shared_error), "SELECT: %s",
		    r ? r->str : rc->errstr);
		freeReplyObject(r);
		return;
	}
	if (where->db)
		freeReplyObject(r);
	if ((r = redisCommand(rc, "GET mxtls:sts:%s", domain)) == NULL)
		snprintf(c->shared_error, sizeof(c->shared_error), "GET: %s", rc->errstr);
	else if (r->type == REDIS_REPLY_NIL)
		c->shared_state = CHK_SHARED_NONE;
	else if (r->type != REDIS_REPLY_STRING || r->len > 16384)
		snprintf(c->shared_error, sizeof(c->shared_error), "GET: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "not an entry of mxtlsd's (mxtlsd "
		    "takes it as none)");
	else if (stscache_shared_parse(domain, r->str, r->len, time(NULL), &c->se, why,
		    sizeof(why)) < 0)
		snprintf(c->shared_error, sizeof(c->shared_error), "the entry does not parse: %s "
		    "(mxtlsd ignores it)", why);
	else
		c->shared_state = CHK_SHARED_ENTRY;
	freeReplyObject(r);
}

/* read_shared - sts_cache = redis...: the fleet's entry, read only */
static void
read_shared(const char *domain)
{
	struct chk_cache *c = &k.cache;
	struct cfg_sts_cache where;
	struct timeval tv = {cfg.sts_cache_redis_timeout, 0};
	char pw[1024] = "", err[1600], *text;
	redisContext *rc;
	const char *why;
	size_t len;

	if (cfg_parse_sts_cache(cfg.sts_cache, &where, &why) < 0 || where.kind == CFG_STS_DISK)
		return;
	c->shared = cfg.sts_cache;
	c->shared_state = CHK_SHARED_ERROR;
	if (cfg.sts_cache_redis_password_file[0]) {
		if (file_read_all(cfg.sts_cache_redis_password_file, 4096, &text, &len, err,
			sizeof(err)) < 0) {
			snprintf(c->shared_error, sizeof(c->shared_error),
			    "sts_cache_redis_password_file: %.400s", err);
			return;
		}
		len = strcspn(text, "\r\n");
		snprintf(pw, sizeof(pw), "%.*s", (int) len, text);
		explicit_bzero(text, len);
		free(text);
	}
	rc = where.is_unix ? redisConnectUnixWithTimeout(where.path, tv)
	    : redisConnectWithTimeout(where.host, (int) where.port, tv);
	if (rc == NULL || rc->err)
		snprintf(c->shared_error, sizeof(c->shared_error), "cannot connect: %s",
		    rc ? rc->errstr : "out of memory");
	else if (redisSetTimeout(rc, tv) != REDIS_OK)
		snprintf(c->shared_error, sizeof(c->shared_error), "cannot set a timeout");
	else
		shared_get(rc, &where, pw, domain);
	explicit_bzero(pw, sizeof(pw));
	if (rc)
		redisFree(rc);
}

/* private_cache - the temporary cache directory the lookups write,
 * seeded with mxtlsd's entry unless --fresh */
static void
private_cache(const char *domain, int fresh, const char *text, size_t len)
{
	char path[128 + DNAME_MAX], err[4500];

	snprintf(tmpdir, sizeof(tmpdir), "%s/mxtls-check.XXXXXX",
	    getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		die("%s: cannot make a private MTA-STS cache: %s", tmpdir, strerror(errno));
	atexit(remove_private_cache);		/* die() too */
	k.cache.use = fresh ? CHK_CACHE_FRESH : CHK_CACHE_COPY;
	if (fresh || text == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, domain);
	if (file_replace(path, text, len, 0600, err, sizeof(err)) < 0)
		die("%s", err);
}

/* remove_private_cache - the temporary directory and what is in it */
static void
remove_private_cache(void)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	if (tmpdir[0] == 0 || (d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		(void) unlink(path);
	}
	closedir(d);
	if (rmdir(tmpdir) < 0)
		msg_warn("%s: cannot remove: %m", tmpdir);
	tmpdir[0] = 0;
}

/* on_plan - the domain's lookups are in */
static void
on_plan(void *arg, struct plan *p)
{
	(void) arg;
	plan = p;
	if (--pending == 0)
		ev_break(loop, EVBREAK_ALL);
}

/* on_guard - the lookups took too long: what is in, is in */
static void
on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
	(void) w;
	(void) revents;
	ev_break(l, EVBREAK_ALL);
}

/* on_txt - the _mta-sts TXT RRset, for showing it */
static void
on_txt(void *arg, enum dns_sec sec, const struct ub_result *u, const char *why)
{
	struct chk_txt *t = arg;

	(void) why;
	txt_q = NULL;
	t->done = 1;
	t->sec = sec;
	for (int i = 0; u && u->havedata && u->data[i]; i++)
		chk_txt_add(t, (const unsigned char *) u->data[i], (size_t) u->len[i]);
	chk_txt_parse(t);
	if (--pending == 0)
		ev_break(loop, EVBREAK_ALL);
}

/* start_lookups - DNS, and MTA-STS on it, as mxtlsd's start_lookups();
 * 0 when dns_resolver = none (no lookups at all) */
static int
start_lookups(const char *domain, int fresh)
{
	struct resolve_conf rc = {0};
	struct dns_conf dc;
	struct stsget_conf sc;
	char err[512], *text;
	size_t len;

	read_cache(domain, &text, &len);
	read_shared(domain);
	if (k.cache.shared_state == CHK_SHARED_ENTRY && !fresh) {
		/* what mxtlsd would merge before it fetched */
		struct sts_entry m;
		char *merged = malloc(CACHE_FILE_MAX);
		int n;

		if (k.cache.present)
			m = k.cache.e;
		else {
			memset(&m, 0, sizeof(m));
			snprintf(m.domain, sizeof(m.domain), "%s", domain);
		}
		(void) sts_cache_merge(&m, &k.cache.se);
		if (merged && (n = stscache_format(&m, merged, CACHE_FILE_MAX)) > 0) {
			free(text);
			text = merged;
			len = (size_t) n;
		} else
			free(merged);
	}
	if (dns_conf_of(&cfg, &dc) == 0) {
		if (dns_init(loop, &dc, err, sizeof(err)) < 0)
			die("%s", err);
		if (cfg.sts_cache_dir[0])
			private_cache(domain, fresh, text, len);
		else
			k.cache.use = CHK_CACHE_MEMORY;	/* as mxtlsd: memory only */
		stsget_conf_of(&cfg, &sc);
		sc.cache_dir = tmpdir;	/* mxtlsd's cache is never written */
		sc.sts_cache = "disk";	/* nor the fleet's */
		if (stsget_init(loop, &sc, err, sizeof(err)) < 0)
			die("%s", err);
		rc.sts = 1;
		k.sts_looked_up = 1;
	}
	free(text);
	resolve_init(&rc);
	return rc.sts;
}

/* no_lookups - dns_resolver = none: as a session, the original
 * destination, opportunistic (or at the table's level) */
static void
no_lookups(const char *domain)
{
	if ((plan = calloc(1, sizeof(*plan))) == NULL)
		die("out of memory");
	plan->status = PLAN_NODOMAIN;
	snprintf(plan->domain, sizeof(plan->domain), "%s", domain);
	snprintf(plan->why, sizeof(plan->why), "dns_resolver = none: no lookups");
}

/* lookups - the domain's plan, and its _mta-sts TXT RRset as published */
static void
lookups(const char *domain, int fresh)
{
	char name[DNAME_MAX + 16];

	if (!start_lookups(domain, fresh)) {
		no_lookups(domain);
		return;
	}
	pending = 1;
	if (resolve_start(loop, domain, on_plan, NULL) == NULL)
		die("%s: out of memory", domain);
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	if ((txt_q = dns_query(name, T_TXT, on_txt, &k.txt)) != NULL)
		pending++;
	/* resolve.c's own guard ends the plan's lookups; this one holds the
	 * loop for the TXT lookup too, which no referenced watcher waits for */
	ev_timer_init(&guard, on_guard, RESOLVE_TIMEOUT + 5.0, 0.);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
	if (plan == NULL)
		die("%s: the lookups did not finish", domain);
	if (txt_q) {
		dns_cancel(txt_q);		/* shown as not looked up */
		txt_q = NULL;
	}
}

/* load_table - policy_table, or NULL */
static struct ptable *
load_table(void)
{
	static struct ptable t;
	char err[1024];

	if (cfg.policy_table[0] == 0)
		return NULL;
	if (ptable_load(&t, cfg.policy_table, err, sizeof(err)) < 0)
		die("%s", err);
	return &t;
}

/* name_str - an X509 name in RFC 2253 form */
static void
name_str(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	buf[0] = 0;
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0
	    && (r = BIO_read(b, buf, (int) len - 1)) > 0)
		buf[r] = 0;
	BIO_free(b);
	for (char *s = buf; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* dns_names - the subjectAltName DNS names, `,'-separated */
static void
dns_names(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *gn = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t w = 0;

	buf[0] = 0;
	for (int i = 0; gn && i < sk_GENERAL_NAME_num(gn); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, i);
		const unsigned char *s;
		int n;

		if (g->type != GEN_DNS)
			continue;
		s = ASN1_STRING_get0_data(g->d.dNSName);
		n = ASN1_STRING_length(g->d.dNSName);
		if (w + (size_t) n + 2 >= len)
			break;
		if (w)
			buf[w++] = ',';
		for (int j = 0; j < n; j++)
			buf[w++] = s[j] >= 0x20 && s[j] < 0x7f ? (char) s[j] : '?';
		buf[w] = 0;
	}
	GENERAL_NAMES_free(gn);
}

/* chain_of - the peer's chain: subjects, issuers, names, expiry */
static void
chain_of(struct chk_conn *c, STACK_OF(X509) *sk)
{
	for (int i = 0; sk && i < sk_X509_num(sk) && c->nchain < CHK_CHAIN_MAX; i++) {
		X509 *x = sk_X509_value(sk, i);
		struct chk_cert *e = &c->chain[c->nchain++];
		struct tm tm;

		name_str(X509_get_subject_name(x), e->subject, sizeof(e->subject));
		name_str(X509_get_issuer_name(x), e->issuer, sizeof(e->issuer));
		dns_names(x, e->names, sizeof(e->names));
		memset(&tm, 0, sizeof(tm));
		e->not_after = ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 ? timegm(&tm) : 0;
	}
}

/* copy_info - what the upstream client says, into c */
static void
copy_info(struct chk_conn *c, const struct up_info *ui)
{
	snprintf(c->peer, sizeof(c->peer), "%s", ui->peer);
	c->tls = ui->tls;
	c->verified = ui->verified;
	c->plain_retry = ui->plain_retry;
	snprintf(c->tls_version, sizeof(c->tls_version), "%s", ui->tls_version
	    ? ui->tls_version : "none");
	snprintf(c->tlsinfo, sizeof(c->tlsinfo), "%s", ui->tlsinfo);
	snprintf(c->match, sizeof(c->match), "%s", ui->match);
	snprintf(c->why, sizeof(c->why), "%s", ui->why);
	snprintf(c->enh, sizeof(c->enh), "%s", ui->enh ? ui->enh : "");
	snprintf(c->rcode, sizeof(c->rcode), "%s", ui->rcode);
	c->rtype = ui->rtype;
	c->soft_rtype = ui->soft_rtype;
}

static void connect_next(void);

/* on_up - an upstream event: ready (then QUIT) or failed */
static void
on_up(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg)
{
	struct chk_conn *c = arg;

	(void) r;
	if (ev != UP_READY && ev != UP_FAIL)
		return;
	copy_info(c, ui);
	c->ok = ev == UP_READY;
	if (c->ok) {
		chain_of(c, up_peer_chain(u));
		up_quit(u);
	}
	connect_next();
}

/* params_for - the up_params a session gives candidate cd (as
 * proxy/sess_route.c's sess_up_params_for() and sess_next_attempt()) */
static void
params_for(const struct route_cand *cd, struct up_params *p)
{
	*p = (struct up_params) {
		.addr = cd->addr,
		.addrlen = cd->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		    : sizeof(struct sockaddr_in),
		.helo = hostname,
		.mark = cfg.upstream_mark,
		.connect_timeout = cfg.upstream_connect_timeout,
		.timeout = cfg.upstream_timeout,
		.tls_ctx = client_ctx,
		.sid = "mxtls-check",
	};
	up_params_policy(p, plan, k.rt, cd, k.tab);	/* as mxtlsd's sessions */
}

/* connect_next - start the next candidate mxtlsd would connect to */
static void
connect_next(void)
{
	const struct route *rt = k.rt;

	while (next_cand < rt->ncands) {
		const struct route_cand *cd = &rt->cands[next_cand++];
		struct chk_conn *c = &k.conns[k.nconns];
		struct up_params p;

		if ((cd->failed && !rt->soft) || (cd->addr.ss_family != AF_INET
			&& cd->addr.ss_family != AF_INET6))
			continue;
		params_for(cd, &p);
		memset(c, 0, sizeof(*c));
		c->cand = next_cand - 1;
		c->level = p.level;
		addr_port_str(&cd->addr, c->peer, sizeof(c->peer));
		k.nconns++;
		if (up_start(loop, &p, on_up, c) == NULL) {
			snprintf(c->why, sizeof(c->why), "out of memory");
			continue;
		}
		return;
	}
}

/* connect_all - --connect: every candidate in turn, to the end of QUIT */
static void
connect_all(void)
{
	char err[512];

	if (k.rt->verdict != ROUTE_TRY)
		return;
	if ((client_ctx = tls_client_ctx(cfg.tls_ca_file, err, sizeof(err))) == NULL)
		die("%s", err);
	conn_init_loop(loop);
	reap_init(loop);
	connect_next();
	ev_run(loop, 0);			/* until the last QUIT is over */
	SSL_CTX_free(client_ctx);
}

/* output - text or JSON on stdout */
static void
output(int json)
{
	cJSON *o;
	char *s;

	if (!json) {
		chk_print(&k, stdout);
		return;
	}
	if ((o = chk_json(&k)) == NULL || (s = cJSON_Print(o)) == NULL)
		die("out of memory");
	printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

/* check_domain - one domain, as mxtlsd would see it: its report on
 * stdout; 0 deliverable, 1 not.  *canary, when asked for, is what
 * --canary says of it */
static int
check_domain(const struct opts *o, enum chk_canary *canary)
{
	struct route rt;
	struct ptable *tab;
	int rc;

	tab = load_table();
	k.domain = o->domain;
	k.table_file = cfg.policy_table;
	k.connect = o->connect;
	if (o->dest) {
		if (chk_parse_dest(o->dest, &k.dest) < 0)
			die("--dest %s: not ADDR, ADDR:PORT or [ADDR6]:PORT", o->dest);
		k.dest_given = 1;
	}
	loop = EV_DEFAULT;
	lookups(o->domain, o->fresh);
	k.plan = plan;
	if (!o->dest)
		(void) chk_orig_of(plan, &k.dest);
	k.opts = (struct route_opts) {
		.mismatch = (enum mx_mismatch) cfg.mx_mismatch,
		.strict_testing = cfg.strict_testing,
		.require_tls = cfg.require_tls,
		.report_only = cfg.mode == MODE_REPORT_ONLY,
		.tab = k.tab = route_table_entry(tab, plan, &k.dest),
	};
	route_build(plan, &k.dest, &k.opts, &rt);
	k.rt = &rt;
	if (o->connect)
		connect_all();
	k.now = time(NULL);
	output(o->json);
	rc = chk_deliverable(&k) ? 0 : 1;
	if (canary)
		*canary = chk_canary(&k);
	fflush(stdout);
	if (k.sts_looked_up)
		fetch_shutdown();
	dns_shutdown();
	remove_private_cache();
	plan_free(plan);
	if (tab)
		ptable_free(tab);
	return rc;
}

/* canary_one - one canary domain in a child process (its report on
 * stdout with -v, else nowhere): what --canary says of it */
static enum chk_canary
canary_one(const struct opts *o, const char *domain)
{
	struct opts co = *o;
	enum chk_canary v = CHK_CANARY_UNPROVEN;
	int st;
	pid_t pid;

	dname_norm(co.domain, sizeof(co.domain), domain);
	co.connect = 1;
	fflush(stdout);
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (!o->verbose && freopen("/dev/null", "w", stdout) == NULL)
			_exit(2);
		alarm(CANARY_SECS);		/* SIGALRM ends it: unproven */
		(void) check_domain(&co, &v);
		fflush(stdout);
		_exit(10 + (int) v);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 10 && WEXITSTATUS(st) <= 10 + CHK_CANARY_UNPROVEN)
		v = (enum chk_canary) (WEXITSTATUS(st) - 10);
	return v;
}

/* canary - every canary domain: would mxtlsd refuse it? */
static int
canary(const struct opts *o)
{
	char *list = NULL, *save = NULL, *tok;
	int n = 0, delivered = 0, unproven = 0;

	printf("%-40s %-10s %s\n", "domain", "expected", "got");
	if (o->nnames == 0 && (list = strdup(cfg.canary_domains)) == NULL)
		die("out of memory");
	for (int i = 0;; i++) {
		const char *d = o->nnames ? (i < o->nnames ? o->names[i] : NULL)
		    : (tok = strtok_r(i ? NULL : list, " ", &save));
		enum chk_canary v;

		if (d == NULL)
			break;
		v = canary_one(o, d);
		printf("%-40s %-10s %s\n", d, "refuse", chk_canary_str(v));
		fflush(stdout);
		n++;
		delivered += v == CHK_CANARY_DELIVER;
		unproven += v == CHK_CANARY_UNPROVEN;
	}
	free(list);
	if (n == 0)
		die("--canary: no domains (canary_domains is empty)");
	if (delivered)
		printf("canary: FAILED: %d of %d domains would be delivered\n", delivered, n);
	else if (unproven)
		printf("canary: %d of %d domains not proven (lookups or connections failed, "
		    "no policy verdict)\n", unproven, n);
	else
		printf("canary: ok: all %d domains refused\n", n);
	return delivered ? 1 : unproven ? 3 : 0;
}

/* main - check one domain, or run the self-test or the canary */
int
main(int argc, char **argv)
{
	struct opts o = {0};
	char err[1024];
	int rc;

	options(argc, argv, &o);
	if (o.print_cert) {
		fputs(st_untrusted_pem(), stdout);
		return 0;
	}
	log_init("mxtls-check", 1, o.verbose);
	signal(SIGPIPE, SIG_IGN);
	if (cfg_read(&cfg, o.config, o.given, err, sizeof(err)) < 0)
		die("%s", err);
	cfg_hostname(&cfg, hostname, sizeof(hostname));
	if (o.selftest) {
		if (o.if_configured && !cfg.selftest_at_start)
			rc = 0;			/* selftest_at_start = no */
		else
			rc = st_run(&cfg, EV_DEFAULT, o.verbose, stdout);
	} else if (o.canary) {
		rc = canary(&o);
	} else {
		rc = check_domain(&o, NULL);
	}
	cfg_free(&cfg);
	return rc;
}
