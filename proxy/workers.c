/*
 * workers.c - the parent of the worker processes.  See workers.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/conf.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "notify.h"
#include "workers.h"
#include "wk_shm.h"

struct wslot {
	pid_t pid;			/* 0: not running */
	double started;			/* when (monotonic) */
	double restart_at;		/* 0: none due */
	double delay;			/* the last restart delay */
};

#define WK_READY_POLL	0.05		/* s: polling for the workers' readiness */
#define WK_STATUS_EVERY	10.		/* s: between STATUS= lines */

static struct wslot slots[CFG_MAX_WORKERS];
static int nslots;
static sigset_t old_mask;

/* wk_backoff - the delay before a restart */
double
wk_backoff(double prev, double lived)
{
	if (lived >= 30.)
		return 0.1;
	if (prev < 0.5)
		return 0.5;
	return prev * 2 > 30. ? 30. : prev * 2;
}

/* spawn - fork worker idx */
static void
spawn(int idx, const struct wk_hooks *h)
{
	pid_t parent = getpid(), pid;

	if ((pid = fork()) < 0) {
		slots[idx].delay = wk_backoff(slots[idx].delay, 0.);
		slots[idx].restart_at = clock_mono() + slots[idx].delay;
		msg_warn("worker %d: fork: %m; trying again in %.1fs", idx, slots[idx].delay);
		return;
	}
	if (pid == 0) {
		(void) prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);		/* the parent is gone already */
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		wk_shm_self(idx);
		h->child(idx);
		_exit(0);
	}
	slots[idx].pid = pid;
	slots[idx].started = clock_mono();
	slots[idx].restart_at = 0;
	wk_slot_started(idx, (long) pid);
	msg_info("worker %d started (pid %ld); %ld of %d running", idx, (long) pid,
	    wk_running(), nslots);
}

/* find - the slot of a pid, or -1 */
static int
find(pid_t pid)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid == pid)
			return i;
	return -1;
}

/* reap - collect the workers that ended; schedule their restarts */
static void
reap(int draining)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		int i = find(pid);
		double lived;
		char how[64];

		if (i < 0)
			continue;
		lived = clock_mono() - slots[i].started;
		slots[i].pid = 0;
		wk_slot_gone(i);
		if (WIFSIGNALED(st))
			snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(st));
		else
			snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(st));
		if (draining) {
			msg_info("worker %d (pid %ld) %s; %ld running", i, (long) pid, how,
			    wk_running());
			continue;
		}
		slots[i].delay = wk_backoff(slots[i].delay, lived);
		slots[i].restart_at = clock_mono() + slots[i].delay;
		msg_warn("worker %d (pid %ld) %s after %.0fs; restarting it in %.1fs; "
		    "%ld of %d running", i, (long) pid, how, lived, slots[i].delay,
		    wk_running(), nslots);
	}
}

/* tell - send a signal to every running worker; how many */
static int
tell(int sig)
{
	int n = 0;

	for (int i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && kill(slots[i].pid, sig) == 0)
			n++;
	return n;
}

/* wk_supervise - the parent's loop */
int
wk_supervise(int n, const struct wk_hooks *h)
{
	sigset_t set;
	int draining = 0, ready = 0;
	double status_at = 0;

	nslots = n;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	for (int i = 0; i < n; i++)
		spawn(i, h);
	msg_info("mxtlsd parent (pid %ld): %d workers", (long) getpid(), n);
	for (;;) {
		double t = clock_mono(), next = t + 60.;
		struct timespec ts;
		siginfo_t info;
		int sig, running = 0;

		/* READY=1 once every worker's loop runs (wk_ready()); until
		 * then the parent polls for it. */
		if (!ready && !draining && wk_all_ready()) {
			ready = 1;
			msg_info("all %d workers ready", n);
			h->status();
			notify_ready();
			wk_go();		/* after READY=1: the workers accept */
			status_at = t + WK_STATUS_EVERY;
		}
		if (!ready && !draining)
			next = t + WK_READY_POLL;
		else if (!draining) {
			if (status_at <= t) {
				h->status();
				status_at = t + WK_STATUS_EVERY;
			}
			if (status_at < next)
				next = status_at;
		}

		for (int i = 0; i < n; i++) {
			if (slots[i].pid > 0)
				running++;
			else if (!draining && slots[i].restart_at > 0) {
				if (slots[i].restart_at <= t) {
					spawn(i, h);
					running += slots[i].pid > 0;
				}
				if (slots[i].restart_at > 0 && slots[i].restart_at < next)
					next = slots[i].restart_at;
			}
		}
		if (draining && running == 0)
			break;
		ts.tv_sec = (time_t) (next - t);
		ts.tv_nsec = (long) ((next - t - (double) ts.tv_sec) * 1e9);
		if (ts.tv_nsec < 0)
			ts.tv_nsec = 0;
		sig = sigtimedwait(&set, &info, &ts);
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			msg_warn("sigtimedwait: %m");
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			if (!draining) {
				notify_stopping();
				h->drain();
			}
			msg_info("signal %d: %s %d workers", sig, draining
			    ? "closing the sessions of" : "draining", tell(SIGTERM));
			draining = 1;
			break;
		case SIGHUP:
			if (draining)
				break;
			notify_reloading();
			if (h->reload() == 0)
				msg_info("reload: configuration checked; sent SIGHUP to %d "
				    "workers", tell(SIGHUP));
			h->status();
			if (ready)
				notify_ready();
			break;
		default:
			break;
		}
		reap(draining);
	}
	msg_info("mxtlsd stopped (all workers gone)");
	return 0;
}
