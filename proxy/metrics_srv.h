/*
 * metrics_srv.h - the HTTP server of the metrics: GET /metrics, on the
 * loop.
 *
 * SYNOPSIS
 *	int metrics_srv_open(const char *listen, char *err, size_t errlen);
 *	void metrics_srv_start(struct ev_loop *loop);
 *	void metrics_srv_close(void);
 *
 * DESCRIPTION
 *	metrics_srv_open() binds metrics_listen (ADDR:PORT or [ADDR6]:PORT,
 *	cfg_parse_socket()) before privileges are dropped; an empty listen
 *	is no server.  metrics_srv_start() accepts on the loop.
 *	metrics_srv_close() closes the listener and every connection.
 *
 *	One request per connection, HTTP/1.0 or 1.1: GET or HEAD of
 *	/metrics gets the counters (metrics.h) as text/plain; version=0.0.4,
 *	other paths 404, other methods 405, a bad head 400, 414, 431 or 505
 *	(metrics_req_parse()), and every response carries Connection: close.
 *	A connection has METRICS_SRV_DEADLINE seconds for its whole
 *	exchange (a slow client gets 408 and is closed), at most
 *	METRICS_HEAD_MAX octets are read of its head, and at most
 *	METRICS_SRV_CONNS are open at once (one more is closed at accept).
 *	After the response, what the client still sends is read and
 *	dropped until it closes or the deadline, so that the response is
 *	not lost to a reset.
 *
 * DIAGNOSTICS
 *	metrics_srv_open() returns -1 with `metrics_listen ADDR: reason' in
 *	err.  A client can cause nothing but its own connection's close.
 */
#ifndef MXTLS_METRICS_SRV_H
#define MXTLS_METRICS_SRV_H

#include <stddef.h>

#include <ev.h>

#define METRICS_SRV_DEADLINE	5.0	/* seconds for a whole exchange */
#define METRICS_SRV_CONNS	16	/* open at once */

int metrics_srv_open(const char *listen, char *err, size_t errlen);
void metrics_srv_start(struct ev_loop *loop);
void metrics_srv_close(void);

#endif
