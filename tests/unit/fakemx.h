/*
 * fakemx.h - what the unit tests' scripted peers (an old MTA, an MX)
 * share: they run in threads with blocking sockets and deadlines.
 *
 * SYNOPSIS
 *	double now_ms(void);
 *	void sleep_ms(int ms);
 *	int wait_readable(int fd, int ms);
 *	int send_all(int fd, const void *p, size_t n);
 *	int loopback_listen(unsigned short *port);
 *
 *	int rd_line(struct rd *r, char *out, size_t len, int ms);
 *	int rd_reply(struct rd *r, char *last, size_t len, int ms);
 *	int rd_eof(struct rd *r, int ms);
 *	int rd_send(struct rd *r, const void *p, size_t n);
 *
 * DESCRIPTION
 *	now_ms() is monotonic milliseconds; wait_readable() polls fd for
 *	input for ms; send_all() writes everything or returns -1.
 *	loopback_listen() listens on 127.0.0.1, a port of the kernel's
 *	choice (the test exits when it cannot).
 *
 *	struct rd reads lines from r->fd, through TLS when r->ssl is set:
 *	rd_line() gives one LF-ended line without its CR LF (-1 at EOF or
 *	after ms), rd_reply() one whole SMTP reply (its code, its last line
 *	in last), rd_eof() whether the peer closes within ms (input is
 *	dropped), rd_send() writes everything the same way r reads.
 */
#ifndef MXTLS_FAKEMX_H
#define MXTLS_FAKEMX_H

#include <stddef.h>

#include <openssl/ssl.h>

/* a line reader over a blocking socket, with a deadline per line */
struct rd {
	int fd;
	SSL *ssl;			/* NULL: plain */
	char buf[65536];
	size_t n;
	int eof;
};

double now_ms(void);
void sleep_ms(int ms);
int wait_readable(int fd, int ms);
int send_all(int fd, const void *p, size_t n);
int loopback_listen(unsigned short *port);
int rd_line(struct rd *r, char *out, size_t len, int ms);
int rd_reply(struct rd *r, char *last, size_t len, int ms);
int rd_eof(struct rd *r, int ms);
int rd_send(struct rd *r, const void *p, size_t n);

#endif
