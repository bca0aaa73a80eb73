/*
 * test_deliver.c - deliver_command() (success, exit 75, a missing
 * program, a killed one, one that does not read; the message arrives
 * intact on stdin) and the send-once state (recorded only on success,
 * a rerun skips, the lock).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../report/deliver.h"
#include "t.h"

#define MSGLEN	(300 * 1024)		/* more than a pipe holds */

static char dir[64];
static char msg[MSGLEN];

/* script - write an executable sh script into the test directory */
static void
script(const char *name, const char *body, char *path, size_t len)
{
	FILE *fp;

	snprintf(path, len, "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp == NULL || fprintf(fp, "#!/bin/sh\n%s\n", body) < 0 || fclose(fp) != 0
	    || chmod(path, 0755) < 0) {
		perror(path);
		exit(1);
	}
}

/* slurp - a file's bytes; length in *n, NULL when missing */
static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "r");
	char *p = malloc(MSGLEN * 2);

	*n = 0;
	if (fp == NULL) {
		free(p);
		return NULL;
	}
	*n = fread(p, 1, MSGLEN * 2, fp);
	fclose(fp);
	return p;
}

static void
commands(void)
{
	char cmd[300], path[200], err[512], out[200], *got;
	size_t n;
	int rc;

	snprintf(out, sizeof(out), "%s/stdin", dir);
	snprintf(cmd, sizeof(cmd), "/bin/sh  -c\tcat>%s", out);
	err[0] = 0;
	rc = deliver_command(cmd, msg, sizeof(msg), err, sizeof(err));
	got = slurp(out, &n);
	T_CASE("a command that succeeds", rc == 0, "rc=%d err=%s", rc, err);
	T_CASE("the message arrives intact on stdin", got && n == sizeof(msg)
	    && memcmp(got, msg, n) == 0, "got %zu octets", n);
	free(got);

	snprintf(cmd, sizeof(cmd), "sh -c cat>%s", out);
	rc = deliver_command(cmd, "x\n", 2, err, sizeof(err));
	T_CASE("a program without / is found in PATH", rc == 0, "rc=%d err=%s", rc, err);

	script("tempfail", "cat >/dev/null\nexit 75", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s -t -i", path);
	rc = deliver_command(cmd, msg, sizeof(msg), err, sizeof(err));
	T_CASE("exit 75 is a failure naming the command and status", rc == -1
	    && strstr(err, cmd) && strstr(err, "status 75"), "rc=%d err=%s", rc, err);

	rc = deliver_command("/nonexistent/sendmail -t -i", msg, 10, err, sizeof(err));
	T_CASE("a missing program is a failure naming it", rc == -1
	    && strstr(err, "/nonexistent/sendmail") && strstr(err, "No such file"),
	    "rc=%d err=%s", rc, err);

	script("killed", "kill -9 $$", path, sizeof(path));
	rc = deliver_command(path, msg, sizeof(msg), err, sizeof(err));
	T_CASE("a killed command is a failure naming the signal", rc == -1
	    && strstr(err, "signal 9"), "rc=%d err=%s", rc, err);

	rc = deliver_command("/bin/true", msg, sizeof(msg), err, sizeof(err));
	T_CASE("a command that exits 0 without reading is a failure", rc == -1
	    && strstr(err, "did not read"), "rc=%d err=%s", rc, err);

	rc = deliver_command(" \t ", msg, 10, err, sizeof(err));
	T_CASE("an empty command is refused", rc == -1, "rc=%d", rc);
}

/* send_once - what mxtls-report does for one (report, rua) */
static int
send_once(const char *state, const char *cmd, const char *id, const char *uri)
{
	char err[512];
	int done = deliver_state_sent(state, id, uri, err, sizeof(err));

	if (done != 0)
		return done > 0 ? 1 : -1;
	if (deliver_command(cmd, msg, 100, err, sizeof(err)) < 0)
		return -1;
	return deliver_state_mark(state, id, uri, 1795305600LL, err, sizeof(err)) < 0 ? -1 : 0;
}

/* runs - how many times the counting command ran */
static size_t
runs(void)
{
	char path[200], *p;
	size_t n;

	snprintf(path, sizeof(path), "%s/runs", dir);
	p = slurp(path, &n);
	free(p);
	return n;
}

static void
state(void)
{
	static const char id[] = "2026.11.22T00.00.00Z+dane-ee.example@mx.submitter.example";
	static const char uri[] = "mailto:tlsrpt@dane-ee.example";
	char st[200], ok[300], fail[300], path[300], name[DELIVER_STATE_NAME], err[512];
	int rc, fd, fd2;
	struct stat sb;

	snprintf(st, sizeof(st), "%s/state/reports", dir);
	script("count", "cat >/dev/null; printf x >> \"$(dirname \"$0\")/runs\"", path,
	    sizeof(path));
	snprintf(ok, sizeof(ok), "%s", path);
	script("fail", "cat >/dev/null; printf x >> \"$(dirname \"$0\")/runs\"; exit 75",
	    path, sizeof(path));
	snprintf(fail, sizeof(fail), "%s", path);

	deliver_state_name(id, uri, name, sizeof(name));
	T_CASE("state file name is hex and .sent", strlen(name) == 69
	    && strspn(name, "0123456789abcdef") == 64 && strcmp(name + 64, ".sent") == 0,
	    "%s", name);
	rc = deliver_state_sent(st, id, uri, err, sizeof(err));
	T_CASE("nothing recorded at first (no directory yet)", rc == 0, "rc=%d", rc);

	rc = send_once(st, fail, id, uri);
	T_CASE("a failed delivery", rc == -1 && runs() == 1, "rc=%d runs=%zu", rc, runs());
	T_CASE("a failure records nothing", deliver_state_sent(st, id, uri, err,
	    sizeof(err)) == 0 && stat(st, &sb) < 0, "state written");
	rc = send_once(st, ok, id, uri);
	T_CASE("the next run retries and succeeds", rc == 0 && runs() == 2, "rc=%d runs=%zu",
	    rc, runs());
	T_CASE("success is recorded", deliver_state_sent(st, id, uri, err, sizeof(err)) == 1,
	    "err=%s", err);
	rc = send_once(st, ok, id, uri);
	T_CASE("a rerun skips what was sent", rc == 1 && runs() == 2, "rc=%d runs=%zu", rc,
	    runs());
	rc = send_once(st, ok, id, "https://rpt.dane-ee.example/tlsrpt");
	T_CASE("another rua of the same report is sent", rc == 0 && runs() == 3,
	    "rc=%d runs=%zu", rc, runs());
	rc = send_once(st, ok, "2026.11.23T00.00.00Z+dane-ee.example@mx.submitter.example",
	    uri);
	T_CASE("another report to the same rua is sent", rc == 0 && runs() == 4,
	    "rc=%d runs=%zu", rc, runs());
	{
		char sp[400];
		int tmpfiles = 0;
		FILE *ls;

		snprintf(sp, sizeof(sp), "ls -A %s | grep -c tmp", st);
		ls = popen(sp, "r");
		if (ls == NULL || fscanf(ls, "%d", &tmpfiles) != 1)
			tmpfiles = -1;
		if (ls)
			pclose(ls);
		T_CASE("no temporary files left behind", tmpfiles == 0, "%d", tmpfiles);
	}

	fd = deliver_state_lock(st, err, sizeof(err));
	T_CASE("the lock is taken", fd >= 0, "err=%s", err);
	fd2 = deliver_state_lock(st, err, sizeof(err));
	T_CASE("a second run cannot take it", fd2 == -1 && strstr(err, "another"), "err=%s",
	    err);
	if (fd >= 0)
		close(fd);
	fd2 = deliver_state_lock(st, err, sizeof(err));
	T_CASE("released when closed", fd2 >= 0, "err=%s", err);
	if (fd2 >= 0)
		close(fd2);

	snprintf(path, sizeof(path), "%s/%s", st, name);
	if (chmod(path, 0) == 0 && geteuid() != 0) {
		rc = deliver_state_sent(st, id, uri, err, sizeof(err));
		T_CASE("unreadable state is an error, not `not sent'", rc == -1, "rc=%d", rc);
	}
}

int
main(void)
{
	char rm[200];
	int rc;

	T_INIT("deliver");
	snprintf(dir, sizeof(dir), "/tmp/mxtls-test-deliver.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char) (i % 251);
	commands();
	state();
	rc = t_done();
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return rc;
}
