/*
 * wk_shm.h - what the worker processes share: one MAP_SHARED region made
 *	before the first fork.
 *
 * SYNOPSIS
 *	int wk_shm_create(int n, char *err, size_t errlen);
 *	void wk_shm_self(int idx);
 *	int wk_self(void);
 *	int wk_count(void);
 *	int wk_sess_take(long local, long max);
 *	void wk_sess_put(void);
 *	long wk_sess_total(long local);
 *	void wk_slot_started(int idx, long pid);
 *	void wk_slot_gone(int idx);
 *	long wk_running(void);
 *	void wk_ready(long pid);
 *	int wk_all_ready(void);
 *	void wk_go(void);
 *	void wk_wait_go(double max);
 *	void wk_journal_errors_set(long n);
 *	long wk_journal_errors(long local);
 *	long wk_restarts(void);
 *	void wk_publish(const struct metrics *m, const struct metrics_gauges *g);
 *	void wk_collect(struct metrics *m, struct metrics_gauges *g);
 *	void wk_metrics_restore(struct metrics *m);
 *
 * DESCRIPTION
 *	With workers = 1 nothing is created: wk_self() is -1, wk_count() 1,
 *	wk_sess_take() is `local < max' (today's check) and wk_sess_put()
 *	does nothing.
 *
 *	wk_shm_create() maps the region for n workers (the parent, before
 *	it forks).  wk_shm_self() tells a worker which slot it is.
 *
 *	max_sessions holds in total: wk_sess_take() reserves one session in
 *	the shared count (an atomic add; over max it is given back and 0
 *	returned) and in the worker's own slot; wk_sess_put() gives one
 *	back.  wk_slot_gone() (the parent, after reaping a worker) takes the
 *	dead worker's sessions off the total, so a worker killed with
 *	sessions open does not leak them.  wk_sess_total() is the total
 *	(local without workers).
 *
 *	wk_slot_started() and wk_slot_gone() keep each slot's pid (0: not
 *	running) and the restarts; wk_running() and wk_restarts() read them
 *	for the log and the metrics.
 *
 *	wk_ready() (a worker, its listeners started, just before its loop
 *	runs) marks its slot ready for its pid; wk_all_ready() (the parent,
 *	for READY=1, notify.h) is true when every slot runs a worker that
 *	did (always without workers).  A reaped slot is not ready.  Then
 *	the parent says READY=1 and wk_go(): wk_wait_go() (a worker, after
 *	wk_ready(), before it starts its listeners) returns once it has,
 *	or after max seconds (a worker that cannot start must not hold the
 *	others for ever); at once for a worker restarted later.
 *	wk_journal_errors_set() publishes a worker's proxy.journal_errors,
 *	wk_journal_errors() sums them (local without workers): STATUS=.
 *
 *	/metrics with several workers: each worker wk_publish()es its
 *	counters (metrics.h) and gauges into its slot (a sequence count
 *	makes a reader retry a half-written copy) each time its loop is
 *	about to wait (an ev_prepare: a memcpy of a few KiB) and before it
 *	answers a scrape; the scraping worker adds the others' with
 *	wk_collect() to its own live values.  A restarted worker starts its
 *	counters from its slot's last copy (wk_metrics_restore()), so the
 *	totals do not go back; what a killed worker counted in the loop
 *	iteration it died in is lost.
 */
#ifndef MXTLS_WK_SHM_H
#define MXTLS_WK_SHM_H

#include <stddef.h>

#include "metrics.h"

int wk_shm_create(int n, char *err, size_t errlen);
void wk_shm_self(int idx);
int wk_self(void);
int wk_count(void);
int wk_sess_take(long local, long max);
void wk_sess_put(void);
long wk_sess_total(long local);
void wk_slot_started(int idx, long pid);
void wk_slot_gone(int idx);
long wk_running(void);
void wk_ready(long pid);
int wk_all_ready(void);
void wk_go(void);
void wk_wait_go(double max);
void wk_journal_errors_set(long n);
long wk_journal_errors(long local);
long wk_restarts(void);
void wk_publish(const struct metrics *m, const struct metrics_gauges *g);
void wk_collect(struct metrics *m, struct metrics_gauges *g);
void wk_metrics_restore(struct metrics *m);

#endif
