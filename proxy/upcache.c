/*
 * upcache.c - the upstream connection cache: idle upstreams kept between
 * client sessions, each with its own idle timer, bounded in all and per
 * destination.  See upcache.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/addr.h"
#include "../lib/log.h"
#include "upcache.h"

struct upc_ent {
	struct upc_ent *prev, *next;	/* oldest first */
	struct up *u;
	struct upc_key k;
	ev_timer tmo;
};

static struct {
	struct ev_loop *loop;
	struct upc_ent *head, *tail;
	long n;
	long secs, size, per_dest;
} upc;

static void ent_unlink(struct upc_ent *e);
static void ent_drop(struct upc_ent *e, enum metrics_upc_drop why);
static void on_up(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg);
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents);

/* upc_key_make - the key of an upstream started with p (tlsa: the TLSA
 * records' text, tab_gen: the table's generation when p->tab is set) */
void
upc_key_make(struct upc_key *k, const struct up_params *p, const char *tlsa,
    unsigned tab_gen)
{
	memset(k, 0, sizeof(*k));
	addr_port_str(&p->addr, k->addr, sizeof(k->addr));
	if (p->srclen)
		addr_str(&p->src, k->src, sizeof(k->src));
	k->mark = p->mark;
	snprintf(k->helo, sizeof(k->helo), "%s", p->helo ? p->helo : "");
	k->level = (int) p->level;
	snprintf(k->tlsa, sizeof(k->tlsa), "%s", tlsa ? tlsa : "");
	snprintf(k->sts_id, sizeof(k->sts_id), "%s", p->sts_id ? p->sts_id : "");
	if (p->tab) {
		snprintf(k->tab, sizeof(k->tab), "%s", p->tab->key);
		k->tab_gen = tab_gen;
	}
	k->soft = p->soft;
	k->floor = p->floor;
}

/* upc_key_eq - do two keys promise the same? */
int
upc_key_eq(const struct upc_key *a, const struct upc_key *b)
{
	return strcmp(a->addr, b->addr) == 0 && strcmp(a->src, b->src) == 0
	    && a->mark == b->mark && strcmp(a->helo, b->helo) == 0 && a->level == b->level
	    && strcmp(a->tlsa, b->tlsa) == 0 && strcmp(a->sts_id, b->sts_id) == 0
	    && strcmp(a->tab, b->tab) == 0 && a->tab_gen == b->tab_gen
	    && a->soft == b->soft && a->floor == b->floor;
}

/* upc_conf - the limits; entries over them go now */
void
upc_conf(struct ev_loop *loop, long secs, long size, long per_dest)
{
	upc.loop = loop;
	upc.secs = secs;
	upc.size = size > 0 ? size : 1;
	upc.per_dest = per_dest > 0 ? per_dest : 1;
	while (upc.head && (upc.secs <= 0 || upc.n > upc.size))
		ent_drop(upc.head, METRICS_UPC_EVICTED);
}

/* upc_on - is the cache on? */
int
upc_on(void)
{
	return upc.secs > 0 && upc.loop != NULL;
}

/* upc_idle - the idle entries */
long
upc_idle(void)
{
	return upc.n;
}

/* ent_unlink - out of the list, timer stopped; the upstream is untouched */
static void
ent_unlink(struct upc_ent *e)
{
	ev_timer_stop(upc.loop, &e->tmo);
	if (e->prev)
		e->prev->next = e->next;
	else
		upc.head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		upc.tail = e->prev;
	upc.n--;
	metrics.upc_idle = (unsigned long long) upc.n;
}

/* ent_drop - close an entry's upstream (QUIT) and forget it */
static void
ent_drop(struct upc_ent *e, enum metrics_upc_drop why)
{
	const struct up_info *ui = up_info(e->u);

	msg_info("upstream cache: %s closed (%s)", ui->peer, metrics_upc_drop_str(why));
	ent_unlink(e);
	metrics_upc_dropped(why);
	up_quit(e->u);
	free(e);
}

/* upc_park - keep u idle under k; 0 when kept, -1 when the cache is off */
int
upc_park(struct up *u, const struct upc_key *k, const char *sid)
{
	struct upc_ent *e;
	long same = 0;

	if (!upc_on() || (e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	for (struct upc_ent *x = upc.head; x; x = x->next)
		same += strcmp(x->k.addr, k->addr) == 0;
	for (struct upc_ent *x = upc.head, *next; x && same >= upc.per_dest; x = next) {
		next = x->next;
		if (strcmp(x->k.addr, k->addr) == 0) {
			ent_drop(x, METRICS_UPC_EVICTED);
			same--;
		}
	}
	while (upc.head && upc.n >= upc.size)
		ent_drop(upc.head, METRICS_UPC_EVICTED);
	e->u = u;
	e->k = *k;
	ev_timer_init(&e->tmo, on_timer, (double) upc.secs, 0.);
	e->tmo.data = e;
	ev_timer_start(upc.loop, &e->tmo);
	e->prev = upc.tail;
	if (upc.tail)
		upc.tail->next = e;
	else
		upc.head = e;
	upc.tail = e;
	upc.n++;
	metrics.upc_idle = (unsigned long long) upc.n;
	up_park(u, on_up, e, sid, 1);
	return 0;
}

/* upc_take - the newest entry of key k, out of the cache; or NULL */
struct up *
upc_take(const struct upc_key *k)
{
	for (struct upc_ent *e = upc.tail; e; e = e->prev) {
		struct up *u = e->u;

		if (!upc_key_eq(&e->k, k))
			continue;
		ent_unlink(e);
		free(e);
		return u;
	}
	return NULL;
}

/* upc_flush - close every entry */
void
upc_flush(enum metrics_upc_drop why)
{
	while (upc.head)
		ent_drop(upc.head, why);
}

/* on_up - a cached upstream became readable: EOF, an error, or bytes
 * (up.c fails a parked upstream at its first byte); it is the reaper's */
static void
on_up(struct up *u, enum up_event ev, const struct up_info *ui,
    const struct smtp_reply *r, void *arg)
{
	struct upc_ent *e = arg;
	enum metrics_upc_drop why;

	(void) u;
	(void) r;
	if (ev != UP_FAIL)
		return;
	why = strncmp(ui->why, "lost connection", 15) == 0 ? METRICS_UPC_CLOSED
	    : METRICS_UPC_DATA;
	msg_info("upstream cache: %s dropped (%s): %s", ui->peer, metrics_upc_drop_str(why),
	    ui->why);
	ent_unlink(e);
	metrics_upc_dropped(why);
	free(e);
}

/* on_timer - the entry was idle for upstream_cache_time */
static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) loop;
	(void) revents;
	ent_drop(w->data, METRICS_UPC_EXPIRED);
}
