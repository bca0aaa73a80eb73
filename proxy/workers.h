/*
 * workers.h - the parent of `workers = N' processes: start, restart,
 *	reload and drain them.
 *
 * SYNOPSIS
 *	struct wk_hooks {
 *		void (*child)(int idx);
 *		int (*reload)(void);
 *		void (*drain)(void);
 *		void (*status)(void);
 *	};
 *	int wk_supervise(int n, const struct wk_hooks *h);
 *	double wk_backoff(double prev, double lived);
 *
 * DESCRIPTION
 *	wk_supervise() runs in the parent after start-up (listeners bound,
 *	privileges dropped; wk_shm_create() done).  It blocks SIGTERM,
 *	SIGINT, SIGHUP and SIGCHLD, forks n workers and waits for signals
 *	with sigtimedwait(2) (the parent has no event loop).  Each worker
 *	gets the signal mask it had before, PR_SET_PDEATHSIG SIGTERM (a
 *	parent that dies drains its workers), its slot (wk_shm_self()), and
 *	runs h->child(idx), which must not return.
 *
 *	A worker that exits or is killed while the parent is not draining
 *	is logged and started again in the same slot after wk_backoff()
 *	seconds.  SIGHUP: h->reload() re-reads and checks the configuration
 *	in the parent (a new worker is forked from what it holds); only
 *	when that worked is SIGHUP sent to every worker, which reloads as
 *	one process does.  A broken file leaves everything running.
 *	SIGTERM/SIGINT: h->drain() (the parent closes its copies of the
 *	listeners), then sent on to every worker (each drains its sessions);
 *	nothing is restarted; a second one is sent on too (the workers
 *	close what is left).  wk_supervise() returns 0 when the last worker
 *	is gone.
 *
 *	systemd (notify.h): the parent alone notifies.  READY=1 once every
 *	slot runs a worker whose loop runs (wk_all_ready(), polled every
 *	50 ms until then), then wk_go(): the workers, which wait for it
 *	before they start their listeners, take no connection before
 *	READY=1 was sent; h->status() then, every 10 s, and after a
 *	reload; RELOADING=1 before h->reload() and READY=1 after it (once
 *	the workers were sent SIGHUP, or the file was rejected);
 *	STOPPING=1 at the first SIGTERM.
 *
 *	wk_backoff() is the restart delay (pure): 0.1 s when the worker
 *	lived 30 s or more, else twice the previous delay (0.5 s the first
 *	time), at most 30 s.
 */
#ifndef MXTLS_WORKERS_H
#define MXTLS_WORKERS_H

struct wk_hooks {
	void (*child)(int idx);		/* the worker; does not return */
	int (*reload)(void);		/* SIGHUP in the parent: 0 when good */
	void (*drain)(void);		/* SIGTERM in the parent, once */
	void (*status)(void);		/* STATUS= for systemd (notify.h) */
};

int wk_supervise(int n, const struct wk_hooks *h);
double wk_backoff(double prev, double lived);

#endif
