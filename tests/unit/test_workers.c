/*
 * test_workers.c - proxy/wk_shm.c and the pure part of proxy/workers.c:
 * max_sessions in total across processes (a reservation over the limit
 * is refused and given back, a child's sessions count for the parent,
 * a dead worker's sessions are taken off), the running and restart
 * counts, the counters and gauges of /metrics added across workers, and
 * the restart backoff.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../proxy/notify.h"
#include "../../proxy/workers.h"
#include "../../proxy/wk_shm.h"
#include "t.h"

/* backoff - the restart delays */
static void
backoff(void)
{
	T_CASE("backoff first quick death 0.5 s", wk_backoff(0., 1.) == 0.5, "%g",
	    wk_backoff(0., 1.));
	T_CASE("backoff doubles", wk_backoff(0.5, 1.) == 1. && wk_backoff(4., 29.9) == 8.,
	    "%g %g", wk_backoff(0.5, 1.), wk_backoff(4., 29.9));
	T_CASE("backoff at most 30 s", wk_backoff(16., 0.) == 30. && wk_backoff(30., 0.) == 30.,
	    "%g", wk_backoff(16., 0.));
	T_CASE("backoff after a long life 0.1 s", wk_backoff(30., 30.) == 0.1, "%g",
	    wk_backoff(30., 30.));
}

/* single - no shared region: today's check */
static void
single(void)
{
	T_CASE("single: self -1, one worker", wk_self() == -1 && wk_count() == 1, "%d %d",
	    wk_self(), wk_count());
	T_CASE("single: under max", wk_sess_take(2, 3) == 1, "refused");
	T_CASE("single: at max", wk_sess_take(3, 3) == 0, "taken");
	wk_sess_put();
	T_CASE("single: total is the local count", wk_sess_total(7) == 7, "%ld",
	    wk_sess_total(7));
	T_CASE("single: running 1, no restarts", wk_running() == 1 && wk_restarts() == 0,
	    "%ld %ld", wk_running(), wk_restarts());
}

static void ready(void);

/* shared - two workers, max 3 in total */
static void
shared(void)
{
	char err[256];
	int st;
	pid_t pid;

	T_CASE("create for 2", wk_shm_create(2, err, sizeof(err)) == 0, "%s", err);
	T_CASE("create 0 refused", wk_shm_create(0, err, sizeof(err)) < 0, "accepted");
	T_CASE("count 2", wk_count() == 2, "%d", wk_count());
	if ((pid = fork()) == 0) {
		/* worker 1 takes two sessions and dies with them open */
		wk_shm_self(1);
		_exit(wk_sess_take(0, 3) && wk_sess_take(0, 3) ? 0 : 1);
	}
	wk_slot_started(1, (long) pid);
	T_CASE("child took two", pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st)
	    && WEXITSTATUS(st) == 0, "status %d", st);
	T_CASE("its two count in the total", wk_sess_total(0) == 2, "%ld", wk_sess_total(0));
	wk_shm_self(0);
	T_CASE("worker 0 takes the third (its local count 0)", wk_sess_take(0, 3) == 1,
	    "refused");
	T_CASE("a fourth is refused in total", wk_sess_take(1, 3) == 0, "taken");
	T_CASE("the refused one was given back", wk_sess_total(0) == 3, "%ld",
	    wk_sess_total(0));
	T_CASE("running: the one started", wk_running() == 1, "%ld", wk_running());
	wk_slot_gone(1);
	T_CASE("the dead worker's sessions taken off", wk_sess_total(0) == 1, "%ld",
	    wk_sess_total(0));
	T_CASE("running 0 after it is gone", wk_running() == 0, "%ld", wk_running());
	T_CASE("take again after the death", wk_sess_take(1, 3) == 1, "refused");
	wk_sess_put();
	wk_sess_put();
	T_CASE("put back to 0", wk_sess_total(0) == 0, "%ld", wk_sess_total(0));
	/* /metrics: worker 1 publishes, worker 0 adds it to its own */
	if ((pid = fork()) == 0) {
		struct metrics m1;
		struct metrics_gauges g1;

		memset(&m1, 0, sizeof(m1));
		memset(&g1, 0, sizeof(g1));
		m1.sessions = 5;
		m1.records = 2;
		m1.early[METRICS_EARLY_KINDS - 1] = 1;
		g1.tls_resumed = 4;
		g1.sts_entries = 3;
		wk_shm_self(1);
		wk_publish(&m1, &g1);
		_exit(0);
	}
	(void) waitpid(pid, &st, 0);
	{
		struct metrics m0, r;
		struct metrics_gauges g0;

		memset(&m0, 0, sizeof(m0));
		memset(&g0, 0, sizeof(g0));
		m0.sessions = 7;
		g0.tls_resumed = 1;
		g0.sts_entries = 2;
		g0.sessions_open = 9;
		wk_collect(&m0, &g0);
		T_CASE("collect: counters summed", m0.sessions == 12 && m0.records == 2
		    && m0.early[METRICS_EARLY_KINDS - 1] == 1, "%llu %llu", m0.sessions,
		    m0.records);
		T_CASE("collect: gauges summed, sts entries the largest, sessions_open kept",
		    g0.tls_resumed == 5 && g0.sts_entries == 3 && g0.sessions_open == 9,
		    "%llu %llu %ld", g0.tls_resumed, g0.sts_entries, g0.sessions_open);
		wk_shm_self(1);
		memset(&r, 0, sizeof(r));
		wk_metrics_restore(&r);
		T_CASE("a restarted worker goes on from its slot", r.sessions == 5, "%llu",
		    r.sessions);
		wk_shm_self(0);
	}
	wk_slot_started(1, 4242);
	T_CASE("a second start of slot 1 is a restart", wk_restarts() == 1
	    && wk_running() == 1, "%ld %ld", wk_restarts(), wk_running());
	ready();
}

/* ready - READY=1 waits for every worker's wk_ready(); journal errors
 * summed for STATUS= (slot 1 runs pid 4242, slot 0 nothing) */
static void
ready(void)
{
	pid_t pid;
	int st;

	wk_shm_self(-1);			/* the parent */
	T_CASE("not ready: slot 0 runs nothing", !wk_all_ready(), "ready");
	wk_slot_started(0, 4241);
	T_CASE("not ready: started, no loop yet", !wk_all_ready(), "ready");
	if ((pid = fork()) == 0) {
		wk_shm_self(0);
		wk_ready(4241);
		wk_journal_errors_set(3);
		_exit(0);
	}
	(void) waitpid(pid, &st, 0);
	T_CASE("not ready: slot 1 has not said so", !wk_all_ready(), "ready");
	wk_shm_self(1);
	wk_ready(4242);
	wk_journal_errors_set(2);
	wk_shm_self(-1);
	T_CASE("ready: both slots' loops run", wk_all_ready(), "not ready");
	T_CASE("journal errors summed", wk_journal_errors(0) == 5, "%ld", wk_journal_errors(0));
	wk_slot_gone(1);
	wk_slot_started(1, 4243);
	T_CASE("a restarted worker is not ready until it says so", !wk_all_ready(), "ready");
	wk_shm_self(1);
	wk_ready(4242);			/* the old pid's word does not count */
	wk_shm_self(-1);
	T_CASE("... nor by its predecessor's pid", !wk_all_ready(), "ready");
	{
		struct timespec a, b;
		double ms;

		wk_shm_self(1);
		clock_gettime(CLOCK_MONOTONIC, &a);
		wk_wait_go(0.1);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
		T_CASE("before wk_go a worker waits (at most max)", ms >= 90 && ms < 1000, "%.1f ms",
		    ms);
		wk_go();
		clock_gettime(CLOCK_MONOTONIC, &a);
		wk_wait_go(10.);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
		T_CASE("after wk_go it does not", ms < 50, "%.1f ms", ms);
		wk_shm_self(-1);
	}
}

/* status_text - STATUS= (notify.h) */
static void
status_text(void)
{
	char b[256];

	notify_status_text(b, sizeof(b), 3, 1000, 0, 1, 1, NULL);
	T_CASE("status one process", strcmp(b, "3 sessions (max 1000); journal ok") == 0, "%s", b);
	notify_status_text(b, sizeof(b), 1, 10, 2, 1, 2, "t.cf:3: mode: \"x\"\nmore");
	T_CASE("status workers, journal errors, rejected reload",
	    strcmp(b, "1 session (max 10); journal: 2 write/sync errors; workers 1 of 2; "
	    "last reload rejected: t.cf:3: mode: \"x\" more") == 0, "%s", b);
	notify_status_text(b, 12, 1, 10, 2, 1, 2, "x");
	T_CASE("status cut to the buffer", strlen(b) == 11, "%zu", strlen(b));
}

int
main(void)
{
	T_INIT("workers");
	backoff();
	single();
	shared();
	status_text();
	return t_done();
}
