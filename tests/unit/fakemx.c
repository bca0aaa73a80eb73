/*
 * fakemx.c - what the unit tests' scripted peers share: time, blocking
 * socket I/O with deadlines, a line reader (plain or TLS), a loopback
 * listener.  See fakemx.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fakemx.h"

static int rd_wait(struct rd *r, int ms);
static ssize_t rd_recv(struct rd *r, void *p, size_t n);

/* now_ms - monotonic milliseconds */
double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

/* sleep_ms - nap */
void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* wait_readable - poll for input until the deadline (ms from now) */
int
wait_readable(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	return poll(&p, 1, ms) > 0;
}

/* send_all - blocking write of everything */
int
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t) w;
	}
	return 0;
}

/* rd_wait - input within ms: on the socket, or decrypted already */
static int
rd_wait(struct rd *r, int ms)
{
	return (r->ssl && SSL_pending(r->ssl) > 0) || wait_readable(r->fd, ms);
}

/* rd_recv - read some (through TLS once r->ssl is set) */
static ssize_t
rd_recv(struct rd *r, void *p, size_t n)
{
	if (r->ssl)
		return SSL_read(r->ssl, p, n > INT_MAX ? INT_MAX : (int) n);
	return recv(r->fd, p, n, 0);
}

/* rd_send - write all of it (through TLS once r->ssl is set) */
int
rd_send(struct rd *r, const void *p, size_t n)
{
	if (r->ssl == NULL)
		return send_all(r->fd, p, n);
	return n == 0 || SSL_write(r->ssl, p, n > INT_MAX ? INT_MAX : (int) n) == (int) n
	    ? 0 : -1;
}

/* loopback_listen - a listening socket on 127.0.0.1, its port in *port */
int
loopback_listen(unsigned short *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 16) < 0
	    || getsockname(fd, (struct sockaddr *) &a, &al) < 0) {
		perror("loopback listen");
		exit(2);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* rd_line - one LF-ended line (without CR LF) into out; -1 at EOF or timeout */
int
rd_line(struct rd *r, char *out, size_t len, int ms)
{
	double until = now_ms() + ms;

	for (;;) {
		char *nl = memchr(r->buf, '\n', r->n);

		if (nl) {
			size_t l = (size_t) (nl - r->buf), k = l;

			if (k > 0 && r->buf[k - 1] == '\r')
				k--;
			if (k >= len)
				k = len - 1;
			memcpy(out, r->buf, k);
			out[k] = 0;
			memmove(r->buf, nl + 1, r->n - l - 1);
			r->n -= l + 1;
			return 0;
		}
		if (r->eof || r->n == sizeof(r->buf))
			return -1;
		{
			int left = (int) (until - now_ms());
			ssize_t got;

			if (left <= 0 || !rd_wait(r, left))
				return -1;
			got = rd_recv(r, r->buf + r->n, sizeof(r->buf) - r->n);
			if (got <= 0) {
				r->eof = 1;
				continue;
			}
			r->n += (size_t) got;
		}
	}
}

/* rd_reply - one whole reply; its code, or -1; its last line in last */
int
rd_reply(struct rd *r, char *last, size_t len, int ms)
{
	char line[4096];

	for (;;) {
		if (rd_line(r, line, sizeof(line), ms) < 0)
			return -1;
		if (strlen(line) < 3)
			return -1;
		if (line[3] != '-') {
			snprintf(last, len, "%.500s", line);
			return atoi(line);
		}
	}
}

/* rd_eof - does the peer close within ms (reading and dropping input)? */
int
rd_eof(struct rd *r, int ms)
{
	double until = now_ms() + ms;

	r->n = 0;
	while (!r->eof) {
		int left = (int) (until - now_ms());
		ssize_t got;

		if (left <= 0 || !rd_wait(r, left))
			return 0;
		got = rd_recv(r, r->buf, sizeof(r->buf));
		if (got <= 0)
			r->eof = 1;
	}
	return 1;
}
