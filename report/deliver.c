/*
 * deliver.c - hand a TLSRPT report to its rua, and remember what was sent.
 * See deliver.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "../lib/dirs.h"
#include "../lib/file.h"
#include "deliver.h"

#define DELIVER_MAX_ARGS	64
#define DELIVER_STATE_MAX	4096	/* a state file is far smaller */

/* discard - the receiver's response body is not needed */
static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void) p;
	(void) arg;
	return size * n;
}

/* deliver_https - POST the report */
int
deliver_https(const char *url, const void *body, size_t len, const char *ca_file,
    long timeout, const char *resolve, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *res = NULL;
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode rc;

	if (c == NULL) {
		snprintf(err, errlen, "%s: cannot initialise libcurl", url);
		return -1;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/tlsrpt+gzip");
	hdrs = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;
	if (resolve && *resolve)
		res = curl_slist_append(NULL, resolve);
	if (hdrs == NULL || (resolve && *resolve && res == NULL)) {
		snprintf(err, errlen, "%s: out of memory", url);
		rc = CURLE_OUT_OF_MEMORY;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file && *ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	if (res)
		curl_easy_setopt(c, CURLOPT_RESOLVE, res);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mxtls-report (TLSRPT)");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 30 ? timeout : 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(err, errlen, "%s: HTTP status %ld", url, status);
		rc = CURLE_HTTP_RETURNED_ERROR;
	}
out:
	curl_slist_free_all(hdrs);
	curl_slist_free_all(res);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

/* split - the command's words, in place; returns the count */
static int
split(char *s, char **argv, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *w = strtok_r(s, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		if (n == max - 1)
			return -1;
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n;
}

/* child - become the command; report exec failure through fd */
static _Noreturn void
child(char **argv, int in, int fail)
{
	int e;

	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		e = errno;
	} else {
		close(in);
		execvp(argv[0], argv);
		e = errno;
	}
	if (write(fail, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* reap - wait for the command and describe how it ended */
static int
reap(pid_t pid, const char *cmd, int fed, int fed_errno, char *err, size_t errlen)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "command `%s': waitpid: %s", cmd, strerror(errno));
			return -1;
		}
	if (WIFSIGNALED(st)) {
		snprintf(err, errlen, "command `%s' killed by signal %d", cmd, WTERMSIG(st));
		return -1;
	}
	if (WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "command `%s' exited with status %d", cmd, WEXITSTATUS(st));
		return -1;
	}
	if (fed < 0) {
		snprintf(err, errlen, "command `%s' did not read the whole message: %s",
		    cmd, strerror(fed_errno));
		return -1;
	}
	return 0;
}

/* deliver_command - pipe the message into a command */
int
deliver_command(const char *cmd, const void *msg, size_t len, char *err, size_t errlen)
{
	char *words = strdup(cmd), *argv[DELIVER_MAX_ARGS];
	int in[2] = {-1, -1}, fail[2] = {-1, -1}, e = 0, fed, fed_errno = 0, rc = -1;
	struct sigaction ign, old;
	pid_t pid;
	ssize_t r;

	if (words == NULL || split(words, argv, DELIVER_MAX_ARGS) <= 0) {
		snprintf(err, errlen, "command `%s': %s", cmd, words ? "empty or too many words"
		    : "out of memory");
		free(words);
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(fail, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "command `%s': pipe: %s", cmd, strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "command `%s': fork: %s", cmd, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(argv, in[0], fail[1]);
	close(in[0]);
	close(fail[1]);
	in[0] = fail[1] = -1;
	while ((r = read(fail[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (r == (ssize_t) sizeof(e)) {
		snprintf(err, errlen, "command `%s': cannot execute %s: %s", cmd, argv[0],
		    strerror(e));
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	fed = file_write_all(in[1], msg, len);	/* a closed pipe: noted */
	fed_errno = errno;
	close(in[1]);
	in[1] = -1;
	sigaction(SIGPIPE, &old, NULL);
	rc = reap(pid, cmd, fed, fed_errno, err, errlen);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (fail[i] >= 0)
			close(fail[i]);
	}
	free(words);
	return rc;
}

/* deliver_state_name - SHA-256(report id LF uri) in hex, .sent */
void
deliver_state_name(const char *report_id, const char *uri, char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	size_t w = 0;

	if (x == NULL || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1
	    || EVP_DigestUpdate(x, report_id, strlen(report_id)) != 1
	    || EVP_DigestUpdate(x, "\n", 1) != 1
	    || EVP_DigestUpdate(x, uri, strlen(uri)) != 1
	    || EVP_DigestFinal_ex(x, md, &mdlen) != 1)
		mdlen = 0;
	EVP_MD_CTX_free(x);
	if (len == 0)
		return;
	buf[0] = 0;
	for (unsigned int i = 0; i < mdlen && w + 3 < len; i++)
		w += (size_t) snprintf(buf + w, len - w, "%02x", md[i]);
	if (mdlen > 0)
		snprintf(buf + w, len - w, ".sent");
}

/* state_text - what a state file says */
static int
state_text(char *buf, size_t len, const char *report_id, const char *uri, long long now)
{
	int n = snprintf(buf, len, "report-id: %s\nrua: %s\n", report_id, uri);

	if (n < 0 || (size_t) n >= len)
		return -1;
	if (now >= 0)
		n += snprintf(buf + n, len - (size_t) n, "sent: %lld\n", now);
	return (size_t) n < len ? n : -1;
}

/* state_path - dir/name, or -1 when it does not fit */
static int
state_path(char *path, size_t len, const char *dir, const char *report_id, const char *uri)
{
	char name[DELIVER_STATE_NAME];
	int n;

	deliver_state_name(report_id, uri, name, sizeof(name));
	if (name[0] == 0)
		return -1;
	n = snprintf(path, len, "%s/%s", dir, name);
	return n < 0 || (size_t) n >= len ? -1 : 0;
}

/* deliver_state_sent - was this report sent to this URI? */
int
deliver_state_sent(const char *dir, const char *report_id, const char *uri,
    char *err, size_t errlen)
{
	char path[4096], want[DELIVER_STATE_MAX], have[DELIVER_STATE_MAX];
	int fd, wl;
	ssize_t n;

	if (state_path(path, sizeof(path), dir, report_id, uri) < 0
	    || (wl = state_text(want, sizeof(want), report_id, uri, -1)) < 0) {
		snprintf(err, errlen, "%s: state file name too long", dir);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, have, sizeof(have) - 1)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return n >= wl && memcmp(have, want, (size_t) wl) == 0;
}

/* make_dir - report_state_dir, created when missing */
static int
make_dir(const char *dir, char *err, size_t errlen)
{
	char why[4300];

	if (dir_make(dir, 0750, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "report_state_dir %s: %s", dir, why);
		return -1;
	}
	return 0;
}

/* deliver_state_mark - record a successful delivery, atomically */
int
deliver_state_mark(const char *dir, const char *report_id, const char *uri,
    long long now, char *err, size_t errlen)
{
	char path[4096], text[DELIVER_STATE_MAX];
	int n;

	if (state_path(path, sizeof(path), dir, report_id, uri) < 0
	    || (n = state_text(text, sizeof(text), report_id, uri, now)) < 0) {
		snprintf(err, errlen, "%s: state file name too long", dir);
		return -1;
	}
	if (make_dir(dir, err, errlen) < 0)
		return -1;
	return file_replace(path, text, (size_t) n, 0600, err, errlen);
}

/* deliver_state_lock - one sending run at a time */
int
deliver_state_lock(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	int fd;

	if (make_dir(dir, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: %s", path, errno == EWOULDBLOCK
		    ? "another mxtls-report send is running" : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
