/*
 * plan.h - what is known about reaching one recipient domain.
 *
 * DESCRIPTION
 *	A plan is the product of the policy lookups for a domain: its MX
 *	hosts in preference order, each with its addresses, the DNSSEC
 *	states, and what DANE asks of it (dane.h), with the TLSA records
 *	that apply and the TLSA base domain (the CNAME-expanded host name
 *	when the expansion was secure, RFC 7672 2.2.2).  plan_finish() is
 *	the pure step that turns the collected answers into decisions;
 *	resolve.c collects them.  A plan lives on the heap; whoever holds
 *	it frees it with plan_free().
 */
#ifndef MXTLS_PLAN_H
#define MXTLS_PLAN_H

#include <sys/socket.h>

#include "dane.h"
#include "dnssec.h"
#include "rr.h"
#include "sts.h"

#define PLAN_MAX_HOSTS	10
#define PLAN_MAX_ADDRS	8
#define PLAN_MAX_TLSA	16
#define PLAN_TLSA_DATA	8192		/* larger Full(0) records are unusable */

enum plan_status {
	PLAN_OK,			/* hosts[] says how to proceed */
	PLAN_TEMPFAIL,			/* DNS trouble: 4xx, never a downgrade */
	PLAN_NULLMX,			/* RFC 7505: the domain takes no mail */
	PLAN_NODOMAIN			/* NXDOMAIN: no policy to apply */
};

struct plan_tlsa {
	uint8_t usage, selector, mtype;
	uint16_t len;
	unsigned char *data;		/* owned by the plan */
};

struct plan_host {
	char name[RR_NAME_MAX];		/* MX exchange, as published */
	char canon[RR_NAME_MAX];	/* after CNAME expansion */
	char base[RR_NAME_MAX];		/* TLSA base domain */
	int pref;
	enum dns_sec a_sec, aaaa_sec, addr_sec;
	int a_done, aaaa_done;
	struct sockaddr_storage addrs[PLAN_MAX_ADDRS];
	int naddrs;
	/* TLSA: the answer at the base domain (and at name, as fallback) */
	int tlsa_looked_up;
	enum dns_sec tlsa_sec;
	int tlsa_exists;
	struct plan_tlsa tlsa[PLAN_MAX_TLSA];	/* the usable ones */
	int ntlsa;
	int nmalformed;			/* logged, unusable */
	char tlsa_text[1024];		/* every record, presentation form */
	enum dane_state dane;
	enum rtype rtype;		/* RFC 8460 result type when DANE_FAIL */
	char why[768];
};

struct plan {
	char domain[RR_NAME_MAX];
	enum plan_status status;
	enum dns_sec mx_sec;
	int implicit_mx;
	struct plan_host hosts[PLAN_MAX_HOSTS];
	int nhosts;
	int has_dane;			/* some host has DANE_AUTH/UNAUTH/FAIL */
	struct sts_result sts;		/* the MTA-STS policy that applies */
	int has_sts;			/* sts.has_policy and mode is not none */
	long min_ttl;			/* the shortest TTL of its answers, -1: none */
	enum rtype rtype;		/* for PLAN_TEMPFAIL, or RTYPE_NONE */
	char why[768];
};

void plan_finish(struct plan *p);
void plan_free(struct plan *p);
int plan_add_tlsa(struct plan_host *h, const struct rr_tlsa *t);
int plan_host_of_addr(const struct plan *p, const struct sockaddr_storage *a,
    int *addr_index);

#endif
