/*
 * smap_load.c - socketmap queries per second from concurrent connections.
 *
 * SYNOPSIS
 *	smap_load [-p DEPTH] HOST PORT SECONDS CONNS MAP KEY...
 *
 * DESCRIPTION
 *	Opens CONNS connections to HOST:PORT; on each, as Postfix's
 *	socketmap client does, one request `MAP KEY' at a time (the keys in
 *	turn), the next one sent when the reply is in.  With -p, DEPTH
 *	requests are outstanding on each connection (pipelined: a new one
 *	for each reply), which costs the load generator fewer system calls
 *	per query than the servers it measures.  After SECONDS it
 *	prints one line:
 *		qps=N replies=N ok=N notfound=N temp=N perm=N errors=N
 *	(errors: connections closed or replies that were no netstring; the
 *	connection is then opened again).  Exit status 0, or 1 when nothing
 *	was answered; 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC	512

struct lc {
	int fd;
	int next;			/* the next key */
	size_t have;
	char buf[16384];
};

static struct sockaddr_in sa;
static char **keys;
static int nkeys;
static const char *map;
static int depth = 1;
static unsigned long long nrep, nok, nnf, ntemp, nperm, nerr;

/* now - seconds, monotonic */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* send_req - the next request on c */
static int
send_req(struct lc *c)
{
	char req[1200], pay[1100];
	int n = snprintf(pay, sizeof(pay), "%s %s", map, keys[c->next]);
	int m = snprintf(req, sizeof(req), "%d:%s,", n, pay);

	c->next = (c->next + 1) % nkeys;
	return write(c->fd, req, (size_t) m) == m ? 0 : -1;
}

/* open_c - (re)connect and send the first DEPTH requests */
static int
open_c(struct lc *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	c->have = 0;
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return -1;
	for (int i = 0; i < depth; i++)
		if (send_req(c) < 0)
			return -1;
	return 0;
}

/* take - a whole reply in c->buf: count it, send the next; -1 on error */
static int
take(struct lc *c)
{
	char *colon = memchr(c->buf, ':', c->have);
	size_t n, tot;

	if (colon == NULL)
		return c->have > 6 ? -1 : 1;
	n = strtoul(c->buf, NULL, 10);
	tot = (size_t) (colon - c->buf) + 1 + n + 1;
	if (tot > sizeof(c->buf))
		return -1;
	if (c->have < tot)
		return 1;
	if (c->buf[tot - 1] != ',')
		return -1;
	nrep++;
	if (strncmp(colon + 1, "OK ", 3) == 0)
		nok++;
	else if (strncmp(colon + 1, "NOTFOUND", 8) == 0)
		nnf++;
	else if (strncmp(colon + 1, "TEMP", 4) == 0)
		ntemp++;
	else
		nperm++;
	memmove(c->buf, c->buf + tot, c->have - tot);
	c->have -= tot;
	return send_req(c) < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static struct lc cs[MAXC];
	static struct pollfd pf[MAXC];
	double secs, t0, end;
	int nc;

	if (argc > 2 && strcmp(argv[1], "-p") == 0) {
		depth = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 7 || depth < 1 || depth > 64)
		return fprintf(stderr, "usage: smap_load [-p 1..64] HOST PORT SECONDS CONNS "
		    "MAP KEY...\n"), 2;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short) atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return fprintf(stderr, "smap_load: bad address %s\n", argv[1]), 2;
	secs = atof(argv[3]);
	nc = atoi(argv[4]);
	if (nc < 1 || nc > MAXC || secs <= 0)
		return fprintf(stderr, "smap_load: 1..%d connections, seconds > 0\n", MAXC), 2;
	map = argv[5];
	keys = argv + 6;
	nkeys = argc - 6;
	for (int i = 0; i < nc; i++) {
		cs[i].next = i % nkeys;
		if (open_c(&cs[i]) < 0)
			return fprintf(stderr, "smap_load: connect: %s\n", strerror(errno)), 1;
	}
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		for (int i = 0; i < nc; i++) {
			pf[i].fd = cs[i].fd;
			pf[i].events = POLLIN;
		}
		if (poll(pf, (nfds_t) nc, 100) < 0 && errno != EINTR)
			return perror("poll"), 1;
		for (int i = 0; i < nc; i++) {
			struct lc *c = &cs[i];
			ssize_t r;
			int st;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
			if (r <= 0) {
				nerr++;
				close(c->fd);
				if (open_c(c) < 0)
					return fprintf(stderr, "smap_load: reconnect failed\n"), 1;
				continue;
			}
			c->have += (size_t) r;
			while ((st = take(c)) == 0)
				;
			if (st < 0) {
				nerr++;
				close(c->fd);
				if (open_c(c) < 0)
					return fprintf(stderr, "smap_load: reconnect failed\n"), 1;
			}
		}
	}
	printf("qps=%.0f replies=%llu ok=%llu notfound=%llu temp=%llu perm=%llu errors=%llu\n",
	    (double) nrep / (now() - t0), nrep, nok, nnf, ntemp, nperm, nerr);
	return nrep ? 0 : 1;
}
