/*
 * wk_shm.c - what the worker processes share.  See wk_shm.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../lib/clock.h"
#include "../lib/conf.h"
#include "metrics.h"
#include "wk_shm.h"

struct wk_slot {
	atomic_long sessions;		/* this worker's open sessions */
	atomic_long pid;		/* 0: not running */
	atomic_long restarts;		/* started again after the first time */
	atomic_long started;		/* how many times */
	atomic_long ready;		/* the pid whose loop runs (wk_ready()) */
	atomic_long journal_errors;	/* its proxy.journal_errors */
	atomic_uint seq;		/* odd while pub is written */
	struct metrics m;		/* its counters and gauges, published */
	struct metrics_gauges g;
};

struct wk_shm {
	atomic_long sessions;		/* all workers' together */
	atomic_int go;			/* every worker was ready once */
	int n;
	struct wk_slot slot[CFG_MAX_WORKERS];
};

static struct wk_shm *shm;
static int self = -1;

/* wk_shm_create - the shared region, before the first fork */
int
wk_shm_create(int n, char *err, size_t errlen)
{
	void *p;

	if (n < 1 || n > CFG_MAX_WORKERS) {
		snprintf(err, errlen, "workers = %d: out of range", n);
		return -1;
	}
	p = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "workers: shared memory: %s", strerror(errno));
		return -1;
	}
	shm = p;			/* zero-filled */
	shm->n = n;
	return 0;
}

/* wk_shm_self - this process is worker idx */
void
wk_shm_self(int idx)
{
	self = idx;
}

/* wk_self - this worker's slot, -1 without workers (or in the parent) */
int
wk_self(void)
{
	return self;
}

/* wk_count - the number of workers */
int
wk_count(void)
{
	return shm ? shm->n : 1;
}

/* wk_sess_take - reserve a session under max in all, 1 when it fits */
int
wk_sess_take(long local, long max)
{
	if (shm == NULL || self < 0)
		return local < max;
	if (atomic_fetch_add(&shm->sessions, 1) >= max) {
		atomic_fetch_sub(&shm->sessions, 1);
		return 0;
	}
	atomic_fetch_add(&shm->slot[self].sessions, 1);
	return 1;
}

/* wk_sess_put - a reserved session ended */
void
wk_sess_put(void)
{
	if (shm == NULL || self < 0)
		return;
	atomic_fetch_sub(&shm->slot[self].sessions, 1);
	atomic_fetch_sub(&shm->sessions, 1);
}

/* wk_sess_total - the sessions of all workers */
long
wk_sess_total(long local)
{
	return shm ? atomic_load(&shm->sessions) : local;
}

/* wk_slot_started - the parent forked worker idx */
void
wk_slot_started(int idx, long pid)
{
	if (shm == NULL || idx < 0 || idx >= shm->n)
		return;
	if (atomic_fetch_add(&shm->slot[idx].started, 1) > 0)
		atomic_fetch_add(&shm->slot[idx].restarts, 1);
	atomic_store(&shm->slot[idx].pid, pid);
}

/* wk_slot_gone - worker idx was reaped: its sessions are gone too */
void
wk_slot_gone(int idx)
{
	long n;

	if (shm == NULL || idx < 0 || idx >= shm->n)
		return;
	atomic_store(&shm->slot[idx].pid, 0);
	atomic_store(&shm->slot[idx].ready, 0);
	n = atomic_exchange(&shm->slot[idx].sessions, 0);
	atomic_fetch_sub(&shm->sessions, n);
}

/* wk_ready - this worker's listeners are started and its loop runs */
void
wk_ready(long pid)
{
	if (shm == NULL || self < 0)
		return;
	atomic_store(&shm->slot[self].ready, pid);
}

/* wk_all_ready - every slot runs a worker that said wk_ready() */
int
wk_all_ready(void)
{
	if (shm == NULL)
		return 1;
	for (int i = 0; i < shm->n; i++) {
		long pid = atomic_load(&shm->slot[i].pid);

		if (pid == 0 || atomic_load(&shm->slot[i].ready) != pid)
			return 0;
	}
	return 1;
}

/* wk_go - the parent: every worker was ready; they may take connections */
void
wk_go(void)
{
	if (shm)
		atomic_store(&shm->go, 1);
}

/* wk_wait_go - a worker: wait (at most max seconds) for wk_go() */
void
wk_wait_go(double max)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	double until = clock_mono() + max;

	if (shm == NULL || self < 0)
		return;
	while (!atomic_load(&shm->go) && clock_mono() < until)
		nanosleep(&ts, NULL);
}

/* wk_journal_errors_set - this worker's journal errors are now n */
void
wk_journal_errors_set(long n)
{
	if (shm == NULL || self < 0)
		return;
	atomic_store(&shm->slot[self].journal_errors, n);
}

/* wk_journal_errors - the journal errors of every worker since start-up
 * (local without workers) */
long
wk_journal_errors(long local)
{
	long r = 0;

	if (shm == NULL)
		return local;
	for (int i = 0; i < shm->n; i++)
		r += atomic_load(&shm->slot[i].journal_errors);
	return r;
}

/* wk_running - workers running now */
long
wk_running(void)
{
	long r = 0;

	if (shm == NULL)
		return 1;
	for (int i = 0; i < shm->n; i++)
		r += atomic_load(&shm->slot[i].pid) != 0;
	return r;
}

/* wk_restarts - restarts of all workers since start-up */
long
wk_restarts(void)
{
	long r = 0;

	if (shm == NULL)
		return 0;
	for (int i = 0; i < shm->n; i++)
		r += atomic_load(&shm->slot[i].restarts);
	return r;
}

/* wk_publish - this worker's counters and gauges, for the others' scrapes */
void
wk_publish(const struct metrics *m, const struct metrics_gauges *g)
{
	struct wk_slot *sl;

	if (shm == NULL || self < 0)
		return;
	sl = &shm->slot[self];
	atomic_fetch_add(&sl->seq, 1);
	atomic_thread_fence(memory_order_release);
	memcpy(&sl->m, m, sizeof(*m));
	memcpy(&sl->g, g, sizeof(*g));
	atomic_thread_fence(memory_order_release);
	atomic_fetch_add(&sl->seq, 1);
}

/* read_slot - a consistent copy of slot i's published values */
static void
read_slot(int i, struct metrics *m, struct metrics_gauges *g)
{
	struct wk_slot *sl = &shm->slot[i];

	for (int tries = 0; tries < 100; tries++) {
		unsigned a = atomic_load(&sl->seq), b;

		atomic_thread_fence(memory_order_acquire);
		memcpy(m, &sl->m, sizeof(*m));
		memcpy(g, &sl->g, sizeof(*g));
		atomic_thread_fence(memory_order_acquire);
		b = atomic_load(&sl->seq);
		if (a == b && !(a & 1))
			return;
	}
}

/* wk_collect - add every other worker's published values */
void
wk_collect(struct metrics *m, struct metrics_gauges *g)
{
	struct metrics om;
	struct metrics_gauges og;

	if (shm == NULL || self < 0)
		return;
	for (int i = 0; i < shm->n; i++) {
		if (i == self)
			continue;
		read_slot(i, &om, &og);
		metrics_sum(m, &om);
		metrics_gauges_sum(g, &og);
	}
}

/* wk_metrics_restore - a restarted worker goes on from its slot's counters */
void
wk_metrics_restore(struct metrics *m)
{
	struct metrics_gauges og;

	if (shm == NULL || self < 0)
		return;
	read_slot(self, m, &og);
}
