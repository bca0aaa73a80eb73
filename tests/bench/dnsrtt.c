/*
 * dnsrtt.c - DNS answer round trips as a client sees them: N sequential
 * UDP queries to one server, one outstanding at a time, each timed from
 * send() to the matching answer.
 *
 * SYNOPSIS
 *	dnsrtt [-w WARMUP] SERVER NAME TYPE N
 *
 * DESCRIPTION
 *	Sends WARMUP queries (default 1000, not counted), then N, for NAME of
 *	TYPE (mx, a, aaaa or a number), RD set, from one connected UDP socket
 *	to SERVER (an IPv4 or IPv6 address, port 53), each with a new ID.
 *	An answer whose ID is not the query's is read past; a query without
 *	an answer within a second is lost (and its time not counted).
 *	Prints one line:
 *	    queries=N lost=L p50_us=… p90_us=… p99_us=… max_us=… mean_us=…
 *
 * DIAGNOSTICS
 *	Exit status 0; 1 when any query was lost; 2 for bad usage or a
 *	socket that cannot be set up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bclock.h"

#define TIMEOUT_MS	1000

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* query - a query for name/type with id into q; its length, -1 if too long */
static int
query(uint8_t *q, size_t cap, uint16_t id, const char *name, unsigned type)
{
	size_t n = 12;
	const char *s = name, *dot;

	if (strlen(name) + 18 > cap)
		return -1;
	memset(q, 0, 12);
	q[0] = (uint8_t) (id >> 8);
	q[1] = (uint8_t) id;
	q[2] = 0x01;			/* RD */
	q[5] = 1;			/* one question */
	while (*s) {
		size_t l = (dot = strchr(s, '.')) ? (size_t) (dot - s) : strlen(s);

		if (l == 0 || l > 63)
			return -1;
		q[n++] = (uint8_t) l;
		memcpy(q + n, s, l);
		n += l;
		s += l + (dot != NULL);
	}
	q[n++] = 0;
	q[n++] = (uint8_t) (type >> 8);
	q[n++] = (uint8_t) type;
	q[n++] = 0;
	q[n++] = 1;			/* IN */
	return (int) n;
}

/* ask - one query and its answer: seconds, or -1 when lost */
static double
ask(int fd, uint16_t id, const char *name, unsigned type)
{
	uint8_t q[300], r[4096];
	int ql = query(q, sizeof(q), id, name, type);
	double t0, left;

	if (ql < 0)
		return -1;
	t0 = now();
	if (send(fd, q, (size_t) ql, 0) != ql)
		return -1;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		left = TIMEOUT_MS - (now() - t0) * 1000;
		if (left <= 0 || poll(&p, 1, (int) left + 1) <= 0)
			return -1;
		if ((n = recv(fd, r, sizeof(r), 0)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;	/* ICMP unreachable, say */
		}
		if (n >= 12 && r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80))
			return now() - t0;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	long warm = 1000, n, lost = 0, k = 0;
	unsigned type;
	double *t, sum = 0;
	uint16_t id;
	int fd, c;

	while ((c = getopt(argc, argv, "w:")) != -1) {
		if (c != 'w')
			goto usage;
		warm = atol(optarg);
	}
	if (argc - optind != 4 || (n = atol(argv[optind + 3])) < 1)
		goto usage;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[optind], &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *) &ss)->sin_port = htons(53);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[optind], &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *) &ss)->sin6_port = htons(53);
		sl = sizeof(struct sockaddr_in6);
	} else
		goto usage;
	if (!strcasecmp(argv[optind + 2], "mx"))
		type = 15;
	else if (!strcasecmp(argv[optind + 2], "a"))
		type = 1;
	else if (!strcasecmp(argv[optind + 2], "aaaa"))
		type = 28;
	else if ((type = (unsigned) atoi(argv[optind + 2])) == 0)
		goto usage;
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) < 0
	    || connect(fd, (struct sockaddr *) &ss, sl) < 0) {
		perror("dnsrtt: socket");
		return 2;
	}
	if ((t = calloc((size_t) n, sizeof(*t))) == NULL) {
		perror("dnsrtt");
		return 2;
	}
	id = (uint16_t) getpid();
	for (long i = 0; i < warm; i++)
		(void) ask(fd, id++, argv[optind + 1], type);
	for (long i = 0; i < n; i++) {
		double d = ask(fd, id++, argv[optind + 1], type);

		if (d < 0)
			lost++;
		else {
			t[k++] = d * 1e6;
			sum += d * 1e6;
		}
	}
	if (k == 0) {
		printf("queries=%ld lost=%ld\n", n, lost);
		return 1;
	}
	qsort(t, (size_t) k, sizeof(*t), cmp);
	printf("queries=%ld lost=%ld p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n",
	    n, lost, t[k / 2], t[k * 90 / 100], t[k * 99 / 100], t[k - 1], sum / (double) k);
	return lost ? 1 : 0;
usage:
	fprintf(stderr, "usage: dnsrtt [-w WARMUP] SERVER NAME mx|a|aaaa|TYPE N\n");
	return 2;
}
