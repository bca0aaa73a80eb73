/*
 * main.c - mxtlsd: options, start-up, privileges, signals, the loop.
 *
 * SYNOPSIS
 *	mxtlsd [-f] [-S] [-n] [-v] [-c FILE]
 *	mxtlsd -V
 *
 * DESCRIPTION
 *	-c FILE	configuration (default /etc/mxtls/mxtls.conf; a missing
 *		default file means all defaults, a missing -c file is an error)
 *	-n	print the effective configuration and exit
 *	-f	stay in the foreground, log to stderr
 *	-S	with -f: log to syslog anyway (for systemd)
 *	-v	verbose (debug) logging
 *	-V	print the version ("mxtlsd " and the file VERSION) and exit
 *
 *	Order of start-up: configuration, TLS contexts, listeners (as root),
 *	then privileges are dropped (privs_set.h): to `user' when started as
 *	root, and to exactly the capabilities the configured features need
 *	(privs.h: CAP_NET_ADMIN for upstream_mark and dns_watch_queue,
 *	CAP_NET_RAW or CAP_NET_ADMIN for upstream_source = client), then the
 *	loop.  -n prints those capabilities after the configuration, as a
 *	comment.  SIGTERM drains: listeners close, idle sessions get 421,
 *	busy ones finish their transaction, and after shutdown_timeout
 *	whatever is left is closed.  SIGHUP re-reads the configuration and
 *	certificates; sessions in progress are not touched, and a bad file
 *	keeps the running configuration.
 *
 *	Under systemd (Type=notify, notify.h): READY=1 once the listeners
 *	are listening, privileges are dropped and the loop is about to run
 *	(with workers: the parent, once every worker's loop runs); SIGHUP
 *	RELOADING=1, then READY=1 (and a rejected reload in STATUS=);
 *	STATUS= every STATUS_INTERVAL seconds; SIGTERM STOPPING=1.  A broken
 *	configuration exits 1 before READY=1, its FILE:LINE error on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "../lib/log.h"
#include "../lib/version.h"
#include "../policy/dns.h"
#include "../policy/fetch.h"
#include "../policy/ptable_load.h"
#include "../policy/resolve.h"
#include "../policy/stsget.h"
#include "../policy/stsredis.h"
#include "../report/journal.h"
#include "../lib/conf.h"
#include "../lib/file.h"
#include "conn.h"
#include "listen.h"
#include "metrics_srv.h"
#include "nfq.h"
#include "notify.h"
#include "privs.h"
#include "privs_set.h"
#include "proxy.h"
#include "sess.h"
#include "smap_srv.h"
#include "tls.h"
#include "tls_scache.h"
#include "up.h"
#include "upcache.h"
#include "workers.h"
#include "wk_shm.h"

struct proxy proxy;

static const char *config_file = CFG_DEFAULT_FILE;
static int config_given;
static struct resolve_conf resolve_conf;	/* .sts once stsget_init() worked */
static char redis_password[1024];	/* sts_cache_redis_password_file's */
static ev_signal sig_term, sig_int, sig_hup;
static ev_timer drain_timer, journal_timer, status_timer;
static ev_check drain_w;
static uint64_t caps_kept = UINT64_MAX;	/* privs.h mask; all: none dropped */

#define STATUS_INTERVAL	10.		/* seconds between STATUS= lines */
#define WK_GO_WAIT	30.		/* s: a worker waits for the others */

struct opts {				/* the command line */
	int foreground, to_syslog, print, verbose;
};

/* usage - and exit */
static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: mxtlsd [-f] [-S] [-n] [-v] [-c config_file]\n"
	    "       mxtlsd -V\n");
	exit(2);
}

/* set_hostname - myhostname, or mxtls. and the system's name */
static void
set_hostname(void)
{
	cfg_hostname(&proxy.cfg, proxy.hostname, sizeof(proxy.hostname));
	proxy.fsmc.hostname = proxy.hostname;
	proxy.fsmc.size_limit = proxy.cfg.message_size_limit;
	proxy.fsmc.offer_starttls = proxy.cfg.offer_client_starttls;
}

/* chown_journal - the journal is written after the drop: it must be ours */
static void
chown_journal(uid_t uid, gid_t gid)
{
	const char *dir = proxy.cfg.journal_dir;
	struct dirent *de;
	DIR *d;

	if (chown(dir, uid, gid) < 0) {
		msg_warn("journal_dir %s: cannot hand it to %s: %m", dir, proxy.cfg.user);
		return;
	}
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		size_t n = strlen(de->d_name);

		if (n < 7 || strcmp(de->d_name + n - 6, ".jsonl") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (chown(path, uid, gid) < 0)
			msg_warn("%s: cannot hand it to %s: %m", path, proxy.cfg.user);
	}
	closedir(d);
}

/* on_journal_timer - make the journal durable; drop old days */
static void
on_journal_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	static long long pruned_day = -1;
	long long now = (long long) ev_now(loop), today = now - now % 86400;
	char err[512];

	(void) revents;
	if (journal_sync(proxy.journal, err, sizeof(err)) < 0) {
		proxy.journal_errors++;
		wk_journal_errors_set(proxy.journal_errors);
		msg_warn("journal: %s", err);
	}
	if (today != pruned_day) {
		pruned_day = today;
		if (journal_prune(proxy.cfg.journal_dir, now, proxy.cfg.journal_keep_days,
			err, sizeof(err)) < 0)
			msg_warn("journal_keep_days: %s", err);
	}
	w->repeat = (double) proxy.cfg.journal_flush_interval;
	ev_timer_again(loop, w);
}

/* drop_privileges - become `user' (as root), keep what the features need */
static void
drop_privileges(void)
{
	const char *user = proxy.cfg.user;
	uint64_t keep = privs_need_cfg(&proxy.cfg);
	struct privs_user to, *top = NULL;
	struct privs_state st;
	struct passwd *pw;
	char err[1024], names[512];

	if (geteuid() == 0 && user[0] == 0) {
		msg_info("user is empty: running as root with every capability");
		return;
	}
	if (geteuid() == 0) {
		if ((pw = getpwnam(user)) == NULL)
			msg_fatal("%s: user = %s: no such user (create it, or set user = "
			    "to keep running as root)", config_file, user);
		if (pw->pw_uid == 0)
			msg_fatal("%s: user = %s: that is root (set user = to keep "
			    "running as root)", config_file, user);
		to.uid = pw->pw_uid;
		to.gid = pw->pw_gid;
		to.name = user;
		top = &to;
		/* The MTA-STS cache is written after the drop: it must be ours. */
		if (proxy.cfg.sts_cache_dir[0] && chown(proxy.cfg.sts_cache_dir, to.uid,
			to.gid) < 0 && errno != ENOENT)
			msg_warn("sts_cache_dir %s: cannot hand it to %s: %m",
			    proxy.cfg.sts_cache_dir, user);
		chown_journal(to.uid, to.gid);
	} else if (user[0] && ((pw = getpwnam(user)) == NULL || pw->pw_uid != geteuid())) {
		msg_warn("user = %s: not started as root; keeping uid %ld", user,
		    (long) geteuid());
	}
	if (privs_set(top, keep, &st, err, sizeof(err)) < 0)
		msg_fatal("dropping privileges: %s", err);
	caps_kept = keep;
	if (chdir("/") < 0)
		msg_fatal("chdir /: %m");
	msg_info("running as %s%s uid %ld gid %ld; capabilities kept: %s%s",
	    top ? "user " : "", top ? user : "the starting", (long) getuid(),
	    (long) getgid(), privs_str(keep, names, sizeof(names)),
	    st.bounding_reduced ? "" : " (bounding set as given: no CAP_SETPCAP)");
}

/* make_server_ctx - the TLS context towards the old MTA */
static SSL_CTX *
make_server_ctx(const struct config *c, const char *hostname, char *err,
    size_t errlen)
{
	return tls_server_ctx(c->client_tls_cert_file, c->client_tls_key_file,
	    hostname, err, errlen);
}

/* on_drain_timer - the drain time is over, or everyone left */
static void
on_drain_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) revents;
	if (proxy.nsessions > 0 && w->repeat == 0.) {
		msg_info("shutdown_timeout: closing %ld remaining sessions",
		    proxy.nsessions);
		sess_kill_all();
	}
	if (proxy.nsessions > 0) {
		/* poll until the reaper has freed them */
		ev_timer_set(w, 0.1, 0.);
		ev_timer_start(loop, w);
		return;
	}
	ev_break(loop, EVBREAK_ALL);
}

/* drain_check - exit as soon as the last session is gone */
static void
drain_check(struct ev_loop *loop, ev_check *w, int revents)
{
	(void) w;
	(void) revents;
	if (proxy.draining && proxy.nsessions == 0)
		ev_break(loop, EVBREAK_ALL);
}

/* on_term - SIGTERM/SIGINT: drain */
static void
on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void) revents;
	if (proxy.draining) {
		msg_info("second signal %d: closing %ld sessions now", w->signum,
		    proxy.nsessions);
		sess_kill_all();
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	proxy.draining = 1;
	notify_stopping();
	msg_info("signal %d: no new sessions; draining %ld (at most %lds)",
	    w->signum, proxy.nsessions, proxy.cfg.shutdown_timeout);
	lsn_stop(loop);
	upc_flush(METRICS_UPC_DRAIN);		/* cached upstreams: QUIT */
	sess_drain_all();
	ev_timer_init(&drain_timer, on_drain_timer,
	    (double) proxy.cfg.shutdown_timeout, 0.);
	ev_timer_start(loop, &drain_timer);
}

/* load_table - policy_table, or NULL for none; -1 with err */
static int
load_table(const struct config *c, struct ptable **out, char *err, size_t errlen)
{
	struct ptable *t;

	*out = NULL;
	if (c->policy_table[0] == 0)
		return 0;
	if ((t = malloc(sizeof(*t))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", c->policy_table);
		return -1;
	}
	if (ptable_load(t, c->policy_table, err, errlen) < 0) {
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

/* set_table - the table sessions look up from now on */
static void
set_table(struct ptable *t)
{
	if (proxy.ptab) {
		ptable_free(proxy.ptab);
		free(proxy.ptab);
	}
	proxy.ptab = t;
	proxy.ptab_gen++;
	if (t)
		msg_info("policy table %s: %zu entr%s", proxy.cfg.policy_table, t->n,
		    t->n == 1 ? "y" : "ies");
}

/* drop_table - a table load_table() gave that will not be used */
static void
drop_table(struct ptable *t)
{
	if (t)
		ptable_free(t);
	free(t);
}

/* warn_restart - what a reload cannot change, said once each */
static void
warn_restart(const struct config *nc)
{
	const struct config *c = &proxy.cfg;

	if (nc->nlisten != c->nlisten || memcmp(nc->listen, c->listen, sizeof(nc->listen)) != 0)
		msg_warn("reload: listen changed; that takes a restart");
	if (strcmp(nc->user, c->user) != 0)
		msg_warn("reload: user changed; that takes a restart");
	if (strcmp(nc->metrics_listen, c->metrics_listen) != 0)
		msg_warn("reload: metrics_listen changed; that takes a restart");
	if (strcmp(nc->socketmap_listen, c->socketmap_listen) != 0)
		msg_warn("reload: socketmap_listen changed; that takes a restart");
	if (strcmp(nc->dns_resolver, c->dns_resolver) != 0
	    || strcmp(nc->dns_trust_anchor_file, c->dns_trust_anchor_file) != 0
	    || strcmp(nc->dns_root_hints_file, c->dns_root_hints_file) != 0)
		msg_warn("reload: DNS settings changed; that takes a restart");
	if (nc->dns_watch_queue != c->dns_watch_queue)
		msg_warn("reload: dns_watch_queue changed; that takes a restart");
	if (nc->workers != 0 && nc->workers != c->workers)
		msg_warn("reload: workers changed; that takes a restart");
	if (nc->upstream_source != c->upstream_source)
		msg_warn("reload: upstream_source changed; that takes a restart");
	if (strcmp(nc->sts_cache_dir, c->sts_cache_dir) != 0)
		msg_warn("reload: sts_cache_dir changed; that takes a restart");
	if (strcmp(nc->sts_cache, c->sts_cache) != 0
	    || strcmp(nc->sts_cache_redis_password_file, c->sts_cache_redis_password_file) != 0
	    || nc->sts_cache_redis_timeout != c->sts_cache_redis_timeout)
		msg_warn("reload: the sts_cache settings changed; that takes a restart");
	if (strcmp(nc->journal_dir, c->journal_dir) != 0)
		msg_warn("reload: journal_dir changed; that takes a restart");
}

/* keep_privileged - a reload needing a capability that was not kept
 * keeps the running values of the keys that need capabilities */
static void
keep_privileged(struct config *nc)
{
	char why[512];
	int n;

	if ((n = privs_lacking(nc, caps_kept, why, sizeof(why))) == 0)
		return;
	msg_warn("reload: %s need%s a capability mxtlsd did not keep after "
	    "start-up; that takes a restart (keeping the running upstream_mark, "
	    "dns_watch_queue and upstream_source)", why, n == 1 ? "s" : "");
	nc->upstream_mark = proxy.cfg.upstream_mark;
	nc->dns_watch_queue = proxy.cfg.dns_watch_queue;
	nc->upstream_source = proxy.cfg.upstream_source;
}

/* keep_fixed - the running values of what a reload cannot change */
static void
keep_fixed(struct config *nc)
{
	memcpy(nc->listen, proxy.cfg.listen, sizeof(nc->listen));
	nc->nlisten = proxy.cfg.nlisten;
	nc->workers = proxy.cfg.workers;
	nc->dns_watch_queue = proxy.cfg.dns_watch_queue;
	nc->upstream_source = proxy.cfg.upstream_source;
	free(nc->user);
	nc->user = strdup(proxy.cfg.user);
	free(nc->metrics_listen);
	nc->metrics_listen = strdup(proxy.cfg.metrics_listen);
	free(nc->socketmap_listen);
	nc->socketmap_listen = strdup(proxy.cfg.socketmap_listen);
	free(nc->journal_dir);
	nc->journal_dir = strdup(proxy.cfg.journal_dir);
}

/* reload - configuration, certificates and the table; 0 when it worked.
 * The parent of workers does it too, to check the file and to fork new
 * workers from what it holds; it leaves "reloaded" to the workers. */
static int
reload(int parent)
{
	struct config nc;
	struct ptable *tab = NULL;
	char err[512];
	SSL_CTX *ctx = NULL, *cctx = NULL;

	if (cfg_read(&nc, config_file, config_given, err, sizeof(err)) < 0)
		goto fail;
	if (load_table(&nc, &tab, err, sizeof(err)) < 0) {
		msg_warn("reload: %s; keeping the running configuration and policy table",
		    err);
		notify_reload_result(err);
		cfg_free(&nc);
		return -1;
	}
	if ((ctx = make_server_ctx(&nc, nc.myhostname[0] ? nc.myhostname
		    : proxy.hostname, err, sizeof(err))) == NULL)
		goto fail;
	/* The MX side: trust anchors, and the MTA-STS settings. */
	if (strcmp(nc.tls_ca_file, proxy.cfg.tls_ca_file) != 0
	    && (cctx = tls_client_ctx(nc.tls_ca_file, err, sizeof(err))) == NULL)
		goto fail;
	warn_restart(&nc);
	keep_privileged(&nc);
	if (cctx) {
		SSL_CTX_free(proxy.client_ctx);	/* sessions hold references */
		proxy.client_ctx = cctx;
		up_cache_ctx(cctx);
	}
	/* Trust anchors, the table or its files may have changed: no session
	 * verified before the reload is resumed after it. */
	scache_flush(proxy.scache, (size_t) nc.tls_session_cache_size);
	if (resolve_conf.sts) {
		struct stsget_conf sc;

		stsget_conf_of(&nc, &sc);
		stsget_reconfigure(&sc);
	}
	if (proxy.journal)
		journal_set_fsync(proxy.journal, nc.journal_fsync == JOURNAL_FSYNC_ALWAYS);
	keep_fixed(&nc);
	cfg_free(&proxy.cfg);
	proxy.cfg = nc;
	log_set_json(nc.log_format == LOG_FORMAT_JSON);
	/* Any policy input of a cached upstream may have changed: none is
	 * kept across a reload. */
	upc_flush(METRICS_UPC_RELOAD);
	upc_conf(proxy.loop, nc.upstream_cache_time, nc.upstream_cache_size,
	    nc.upstream_cache_per_dest);
	SSL_CTX_free(proxy.server_ctx);		/* live sessions hold references */
	proxy.server_ctx = ctx;
	set_hostname();
	set_table(tab);
	if (!parent)
		msg_info("reloaded %s", config_file);
	notify_reload_result(NULL);
	return 0;
fail:
	msg_warn("reload: %s; keeping the running configuration", err);
	notify_reload_result(err);
	SSL_CTX_free(ctx);
	drop_table(tab);
	cfg_free(&nc);
	return -1;
}

/* send_status - STATUS= for systemd: sessions, the journal (one process) */
static void
send_status(void)
{
	notify_status(proxy.nsessions, proxy.cfg.max_sessions, proxy.journal_errors, 1, 1);
}

/* on_status_timer - STATUS= every STATUS_INTERVAL seconds */
static void
on_status_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	send_status();
}

/* on_hup - SIGHUP: reload configuration, certificates and the table */
static void
on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	notify_reloading();
	(void) reload(0);
	send_status();
	notify_ready();
}

/* print_privs - -n: what mxtlsd keeps after start-up, as comments */
static void
print_privs(const struct config *c, FILE *fp)
{
	char names[512];

	fprintf(fp, "# capabilities kept after start-up: %s\n",
	    privs_str(privs_need_cfg(c), names, sizeof(names)));
	if (c->user[0] == 0)
		fprintf(fp, "# user is empty: started as root, mxtlsd stays root "
		    "with every capability\n");
}

/* options - the command line */
static void
options(int argc, char **argv, struct opts *o)
{
	int ch;

	while ((ch = getopt(argc, argv, "c:fnSvV")) != -1) {
		switch (ch) {
		case 'c':
			config_file = optarg;
			config_given = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'n':
			o->print = 1;
			break;
		case 'S':
			o->to_syslog = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'V':
			printf("mxtlsd %s\n", MXTLS_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* raise_fd_limit - descriptors for max_sessions: each session holds two
 * (the old MTA's, its upstream), the upstream cache its idle connections,
 * and a few for listeners, DNS and the journal.  The soft limit goes up to
 * what that needs; the hard limit caps it (root, still privileged here,
 * first tries to lift the hard limit itself); below the need, a warning. */
static void
raise_fd_limit(void)
{
	rlim_t want = (rlim_t) (2 * proxy.cfg.max_sessions
	    + proxy.cfg.upstream_cache_size + 64);
	struct rlimit rl, up;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		msg_warn("getrlimit RLIMIT_NOFILE: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		up.rlim_cur = up.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
			msg_info("descriptor limit raised to %ld (max_sessions = %ld)",
			    (long) want, proxy.cfg.max_sessions);
			return;
		}
	}
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
	    ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		msg_warn("setrlimit RLIMIT_NOFILE %ld: %s", (long) rl.rlim_cur,
		    strerror(errno));
		(void) getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		msg_warn("descriptor limit %ld (the hard limit) is below what "
		    "max_sessions = %ld needs (%ld): raise LimitNOFILE= or "
		    "ulimit -Hn, or lower max_sessions", (long) rl.rlim_cur,
		    proxy.cfg.max_sessions, (long) want);
	else
		msg_info("descriptor limit raised to %ld (max_sessions = %ld)",
		    (long) rl.rlim_cur, proxy.cfg.max_sessions);
}

/* start_lookups - DNS, and MTA-STS on it; without DNS, no policies */
static void
start_lookups(void)
{
	struct dns_conf dc;
	struct stsget_conf sc;
	char err[512];

	if (dns_conf_of(&proxy.cfg, &dc) < 0) {
		msg_warn("dns_resolver = none: no DANE or MTA-STS lookups; every "
		    "domain gets opportunistic TLS");
	} else {
		if (dns_init(proxy.loop, &dc, err, sizeof(err)) < 0)
			msg_fatal("%s", err);
		char gw[CFG_GATEWAY_ID_MAX + 1];

		stsget_conf_of(&proxy.cfg, &sc);
		sc.redis_password = redis_password[0] ? redis_password : NULL;
		cfg_gateway_id(&proxy.cfg, gw, sizeof(gw));
		sc.gateway_id = gw;
		if (stsget_init(proxy.loop, &sc, err, sizeof(err)) < 0)
			msg_fatal("%s: %s", config_file, err);
		resolve_conf.sts = 1;
	}
	resolve_init(&resolve_conf);
}

/* read_redis_password - as root: sts_cache_redis_password_file's first
 * line (the workers, forked after the drop, could not read it) */
static void
read_redis_password(void)
{
	const char *file = proxy.cfg.sts_cache_redis_password_file;
	char err[512], *text;
	size_t len, n;

	redis_password[0] = 0;
	if (!file[0])
		return;
	if (file_read_all(file, 4096, &text, &len, err, sizeof(err)) < 0)
		msg_fatal("%s: sts_cache_redis_password_file: %s", config_file, err);
	n = strcspn(text, "\r\n");
	if (n == 0 || n >= sizeof(redis_password) || memchr(text, 0, n)) {
		free(text);
		msg_fatal("%s: sts_cache_redis_password_file %s: expected the password on its "
		    "first line (1 to %zu bytes)", config_file, file, sizeof(redis_password) - 1);
	}
	memcpy(redis_password, text, n);
	redis_password[n] = 0;
	explicit_bzero(text, len);
	free(text);
}

/* start_common - as root, for one process or the parent of workers: the
 * table, TLS, the listeners (a set per worker), metrics and socketmap */
static void
start_common(int foreground, int nsets)
{
	char err[512];
	struct ptable *tab;

	signal(SIGPIPE, SIG_IGN);
	read_redis_password();
	if (load_table(&proxy.cfg, &tab, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	set_table(tab);
	if ((proxy.server_ctx = make_server_ctx(&proxy.cfg, proxy.hostname, err,
		    sizeof(err))) == NULL)
		msg_fatal("%s", err);
	if ((proxy.client_ctx = tls_client_ctx(proxy.cfg.tls_ca_file, err, sizeof(err))) == NULL)
		msg_fatal("%s", err);
	up_cache_ctx(proxy.client_ctx);
	if ((proxy.scache = scache_new((size_t) proxy.cfg.tls_session_cache_size)) == NULL)
		msg_fatal("TLS session cache: out of memory");
	raise_fd_limit();
	if (lsn_open(&proxy.cfg, nsets, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (metrics_srv_open(proxy.cfg.metrics_listen, err, sizeof(err)) < 0)
		msg_fatal("%s: %s", config_file, err);
	if (proxy.cfg.socketmap_listen[0]
	    && smap_srv_open(proxy.cfg.socketmap_listen, err, sizeof(err)) < 0)
		msg_fatal("%s: %s", config_file, err);
	if (!foreground && daemon(0, 0) < 0)
		msg_fatal("daemon: %m");
}

/* open_journal - the attempt records */
static void
open_journal(void)
{
	char err[512];

	if ((proxy.journal = journal_open(proxy.cfg.journal_dir,
		    proxy.cfg.journal_fsync == JOURNAL_FSYNC_ALWAYS, err, sizeof(err))) == NULL)
		msg_fatal("%s: %s", config_file, err);
}

/* start_up - as root: TLS, listeners, lookups, the journal; then the drop */
static void
start_up(int foreground)
{
	char err[512];

	start_common(foreground, 1);
	proxy.loop = EV_DEFAULT;
	start_lookups();
	if (proxy.cfg.dns_watch_queue >= 0
	    && nfq_start(proxy.loop, (unsigned) proxy.cfg.dns_watch_queue, err, sizeof(err)) < 0)
		msg_fatal("%s: dns_watch_queue = %ld: %s", config_file, proxy.cfg.dns_watch_queue,
		    err);
	open_journal();
	drop_privileges();
}

/* run - the watchers, then the loop until the drain ends it */
static void
run(void)
{
	conn_init_loop(proxy.loop);
	ev_timer_init(&journal_timer, on_journal_timer, 0., 0.);
	ev_timer_start(proxy.loop, &journal_timer);
	reap_init(proxy.loop);
	upc_conf(proxy.loop, proxy.cfg.upstream_cache_time, proxy.cfg.upstream_cache_size,
	    proxy.cfg.upstream_cache_per_dest);
	ev_signal_init(&sig_term, on_term, SIGTERM);
	ev_signal_init(&sig_int, on_term, SIGINT);
	ev_signal_init(&sig_hup, on_hup, SIGHUP);
	ev_signal_start(proxy.loop, &sig_term);
	ev_signal_start(proxy.loop, &sig_int);
	ev_signal_start(proxy.loop, &sig_hup);
	ev_check_init(&drain_w, drain_check);
	ev_check_start(proxy.loop, &drain_w);
	metrics_srv_start(proxy.loop);
	smap_srv_start(proxy.loop);
	ev_timer_init(&status_timer, on_status_timer, STATUS_INTERVAL, STATUS_INTERVAL);
	ev_timer_start(proxy.loop, &status_timer);
	/* A worker tells the parent it is set up and waits for the word
	 * that all are (the parent says READY=1 first): no worker takes a
	 * connection before systemd was told. */
	wk_ready((long) getpid());
	wk_wait_go(WK_GO_WAIT);
	lsn_start(proxy.loop);
	msg_info("mxtlsd started, hostname %s, max_sessions %ld", proxy.hostname,
	    proxy.cfg.max_sessions);
	/* Listening, privileges dropped, the loop next: systemd may go on
	 * (ExecStartPost= installs the redirect). */
	send_status();
	notify_ready();
	ev_run(proxy.loop, 0);
}

/* shut_down - after the loop: the journal synced, then the rest */
static void
shut_down(void)
{
	metrics_srv_close();
	journal_close(proxy.journal);		/* synced: nothing written is lost */
	proxy.journal = NULL;
	if (proxy.journal_errors)
		msg_warn("%ld attempt records could not be written to the journal",
		    proxy.journal_errors);
	msg_info("mxtlsd stopped");
	nfq_stop();
	smap_srv_stop();			/* its lookups go before DNS does */
	if (resolve_conf.sts) {
		stsredis_shutdown();
		fetch_shutdown();
	}
	dns_shutdown();
	SSL_CTX_free(proxy.server_ctx);
	SSL_CTX_free(proxy.client_ctx);
	scache_free(proxy.scache);
	set_table(NULL);
	cfg_free(&proxy.cfg);
}

/* worker_main - one of workers = N, forked by the parent (workers.h):
 * its listeners, its own loop, lookups and journal, as one process */
static void
worker_main(int idx)
{
	notify_off();			/* the parent speaks to systemd */
	lsn_keep(idx);
	proxy.loop = EV_DEFAULT;
	start_lookups();
	open_journal();
	msg_info("worker %d (pid %ld): starting", idx, (long) getpid());
	run();
	shut_down();
	exit(0);
}

/* parent_reload - SIGHUP in the parent: check and take the new file */
static int
parent_reload(void)
{
	return reload(1);
}

/* parent_status - STATUS= from the parent: all workers' sessions and
 * journal errors */
static void
parent_status(void)
{
	notify_status(wk_sess_total(0), proxy.cfg.max_sessions, wk_journal_errors(0),
	    wk_running(), wk_count());
}

/* supervise - workers > 1: start-up as root, the drop, then the parent */
static int
supervise(int foreground)
{
	struct wk_hooks h = {worker_main, parent_reload, lsn_close_all, parent_status};
	char err[512];
	int n = (int) proxy.cfg.workers;

	if (wk_shm_create(n, err, sizeof(err)) < 0
	    || lsn_handoff_open(n, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	start_common(foreground, n);
	/* The parent forks the workers it restarts: it keeps what they need
	 * (the listeners, the capabilities the features need), and no more. */
	drop_privileges();
	return wk_supervise(n, &h);
}

/* auto_workers - workers = auto: the CPUs, 1 with dns_watch_queue */
static long
auto_workers(const struct config *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->dns_watch_queue >= 0 || n < 1)
		return 1;
	return n > CFG_MAX_WORKERS ? CFG_MAX_WORKERS : n;
}

/* main - start mxtlsd */
int
main(int argc, char **argv)
{
	struct opts o = {0, 0, 0, 0};
	char err[512];

	options(argc, argv, &o);
	log_init("mxtlsd", o.print || (o.foreground && !o.to_syslog), o.verbose);
	if (cfg_read(&proxy.cfg, config_file, config_given, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (!o.print)
		log_set_json(proxy.cfg.log_format == LOG_FORMAT_JSON);
	set_hostname();
	if (proxy.cfg.workers == 0)
		proxy.cfg.workers = auto_workers(&proxy.cfg);
	if (o.print) {
		/* the effective values: the host name as it will be used */
		free(proxy.cfg.myhostname);
		proxy.cfg.myhostname = strdup(proxy.hostname);
		cfg_print(&proxy.cfg, stdout);
		print_privs(&proxy.cfg, stdout);
		return 0;
	}
	if (proxy.cfg.workers > 1)
		return supervise(o.foreground);
	start_up(o.foreground);
	run();
	shut_down();
	return 0;
}
