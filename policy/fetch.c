/*
 * fetch.c - HTTPS GET for MTA-STS policies on libcurl multi + libev.
 * See fetch.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "../lib/addr.h"
#include "../lib/log.h"
#include "fetch.h"

struct fetch {
	CURL *easy;
	struct curl_slist *resolve;
	fetch_cb *cb;
	void *arg;
	char *body;
	size_t len;
	int too_big;
	int cancelled;
	char err[CURL_ERROR_SIZE];
	char host[256];
};

struct sockw {				/* one socket libcurl wants watched */
	ev_io w;
	curl_socket_t fd;
};

static struct ev_loop *f_loop;
static CURLM *multi;
static ev_timer f_timer;
static int f_running;

static void check_done(void);

/* on_timer - libcurl's timeout expired */
static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &f_running);
	check_done();
}

/* timer_cb - libcurl asks for a timeout */
static int
timer_cb(CURLM *m, long ms, void *userp)
{
	(void) m;
	(void) userp;
	ev_timer_stop(f_loop, &f_timer);
	if (ms >= 0) {
		ev_timer_set(&f_timer, (double) ms / 1000.0, 0.);
		ev_timer_start(f_loop, &f_timer);
	}
	return 0;
}

/* on_io - a socket libcurl watches is ready */
static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockw *s = (struct sockw *) w;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0)
	    | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);

	(void) loop;
	curl_multi_socket_action(multi, s->fd, action, &f_running);
	check_done();
}

/* sock_cb - libcurl says which events a socket needs */
static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sockw *s = socketp;

	(void) e;
	(void) userp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(f_loop, &s->w);
			free(s);
			curl_multi_assign(multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->fd = fd;
		curl_multi_assign(multi, fd, s);
	} else {
		ev_io_stop(f_loop, &s->w);
	}
	ev_io_init(&s->w, on_io, fd, (what & CURL_POLL_IN ? EV_READ : 0)
	    | (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(f_loop, &s->w);
	return 0;
}

/* body_cb - collect the body, at most FETCH_MAX bytes */
static size_t
body_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	struct fetch *f = userp;
	size_t n = size * nmemb;
	char *nb;

	if (n > FETCH_MAX || f->len + n > FETCH_MAX) {
		f->too_big = 1;
		return 0;			/* abort the transfer */
	}
	if ((nb = realloc(f->body, f->len + n + 1)) == NULL)
		return 0;
	f->body = nb;
	memcpy(f->body + f->len, p, n);
	f->len += n;
	f->body[f->len] = 0;
	return n;
}

/* fetch_free - release one transfer */
static void
fetch_free(struct fetch *f)
{
	curl_multi_remove_handle(multi, f->easy);
	curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->resolve);
	free(f->body);
	free(f);
}

/* finish - judge a finished transfer and tell the asker */
static void
finish(struct fetch *f, CURLcode rc)
{
	long status = 0;
	char *ctype = NULL;
	char why[1024];

	if (f->cancelled) {
		fetch_free(f);
		return;
	}
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ctype);
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE
	    || rc == CURLE_SSL_ISSUER_ERROR) {
		snprintf(why, sizeof(why), "https://%s: certificate not valid: %s", f->host,
		    f->err[0] ? f->err : curl_easy_strerror(rc));
		f->cb(f->arg, 0, NULL, 0, RTYPE_STS_WEBPKI_INVALID, why);
	} else if (f->too_big) {
		snprintf(why, sizeof(why), "https://%s: policy larger than 64 KiB", f->host);
		f->cb(f->arg, 0, NULL, 0, RTYPE_STS_POLICY_FETCH_ERROR, why);
	} else if (rc != CURLE_OK) {
		snprintf(why, sizeof(why), "https://%s: %s", f->host,
		    f->err[0] ? f->err : curl_easy_strerror(rc));
		f->cb(f->arg, 0, NULL, 0, RTYPE_STS_POLICY_FETCH_ERROR, why);
	} else if (status != 200) {
		snprintf(why, sizeof(why), "https://%s: HTTP status %ld (redirects are "
		    "not followed)", f->host, status);
		f->cb(f->arg, 0, NULL, 0, RTYPE_STS_POLICY_FETCH_ERROR, why);
	} else if (ctype == NULL || strncasecmp(ctype, "text/plain", 10) != 0
	    || (ctype[10] != 0 && ctype[10] != ';' && ctype[10] != ' ')) {
		snprintf(why, sizeof(why), "https://%s: Content-Type is %s, not text/plain",
		    f->host, ctype ? ctype : "missing");
		f->cb(f->arg, 0, NULL, 0, RTYPE_STS_POLICY_FETCH_ERROR, why);
	} else {
		f->cb(f->arg, 1, f->body ? f->body : "", f->len, RTYPE_NONE, NULL);
	}
	fetch_free(f);
}

/* check_done - hand over finished transfers */
static void
check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		struct fetch *f = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &f);
		if (f)
			finish(f, m->data.result);
	}
}

/* fetch_init - the multi handle in the loop */
int
fetch_init(struct ev_loop *loop, char *err, size_t errlen)
{
	f_loop = loop;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK
	    || (multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	ev_init(&f_timer, on_timer);
	return 0;
}

/* fetch_start - GET https://host/path */
struct fetch *
fetch_start(const struct fetch_req *req, fetch_cb *cb, void *arg)
{
	struct fetch *f = calloc(1, sizeof(*f));
	char url[600], entry[1200];
	int n;

	if (f == NULL || multi == NULL || req->naddrs < 1) {
		free(f);
		return NULL;
	}
	f->cb = cb;
	f->arg = arg;
	snprintf(f->host, sizeof(f->host), "%s", req->host);
	n = snprintf(entry, sizeof(entry), "%s:443:", req->host);
	for (int i = 0; i < req->naddrs && n < (int) sizeof(entry) - 60; i++) {
		char a[ADDR_STRLEN];

		addr_host_str(&req->addrs[i], a, sizeof(a));
		n += snprintf(entry + n, sizeof(entry) - (size_t) n, "%s%s", i ? "," : "", a);
	}
	snprintf(url, sizeof(url), "https://%s%s", req->host, req->path);
	if ((f->easy = curl_easy_init()) == NULL
	    || (f->resolve = curl_slist_append(NULL, entry)) == NULL) {
		if (f->easy)
			curl_easy_cleanup(f->easy);
		free(f);
		return NULL;
	}
	curl_easy_setopt(f->easy, CURLOPT_URL, url);
	curl_easy_setopt(f->easy, CURLOPT_RESOLVE, f->resolve);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(f->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(f->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file && *req->ca_file)
		curl_easy_setopt(f->easy, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT, req->timeout < 10 ? req->timeout : 10L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT, req->timeout);
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "mxtls (MTA-STS)");
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->err);
	curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
	curl_easy_setopt(f->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) FETCH_MAX);
	if (curl_multi_add_handle(multi, f->easy) != CURLM_OK) {
		curl_easy_cleanup(f->easy);
		curl_slist_free_all(f->resolve);
		free(f);
		return NULL;
	}
	return f;
}

/* fetch_cancel - the asker went away; the transfer ends quietly */
void
fetch_cancel(struct fetch *f)
{
	if (f)
		f->cancelled = 1;
}

/* fetch_shutdown - end libcurl */
void
fetch_shutdown(void)
{
	if (multi) {
		curl_multi_cleanup(multi);
		multi = NULL;
	}
	ev_timer_stop(f_loop, &f_timer);
	curl_global_cleanup();
}
