/*
 * test_plan.c - collected answers to decisions (plan.c): the DNSSEC state
 * of a host's addresses, its DANE state and reason, the MTA-STS flag, and
 * which host has an address, table by table, with hostile input.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../policy/plan.h"
#include "t.h"

static void
plans(void)
{
	struct plan *p = calloc(1, sizeof(*p));

	p->status = PLAN_OK;
	p->mx_sec = DNS_SECURE;
	p->nhosts = 2;
	snprintf(p->hosts[0].name, sizeof(p->hosts[0].name), "mx1.example");
	p->hosts[0].a_sec = DNS_SECURE;
	p->hosts[0].aaaa_sec = DNS_SECURE;
	p->hosts[0].naddrs = 1;
	p->hosts[0].tlsa_looked_up = 1;
	p->hosts[0].tlsa_sec = DNS_SECURE;
	p->hosts[0].tlsa_exists = 1;
	p->hosts[0].ntlsa = 1;
	p->hosts[0].tlsa[0].data = malloc(32);
	p->hosts[0].tlsa[0].len = 32;
	snprintf(p->hosts[1].name, sizeof(p->hosts[1].name), "mx2.example");
	p->hosts[1].a_sec = DNS_SECURE;
	p->hosts[1].aaaa_sec = DNS_INDETERMINATE;	/* AAAA failed, A worked */
	p->hosts[1].naddrs = 1;
	p->hosts[1].tlsa_looked_up = 1;
	p->hosts[1].tlsa_sec = DNS_BOGUS;
	plan_finish(p);
	T_CASE("plan: usable TLSA -> dane", p->hosts[0].dane == DANE_AUTH, "%s",
	    dane_state_str(p->hosts[0].dane));
	T_CASE("plan: one failed family does not spoil the other", p->hosts[1].addr_sec == DNS_SECURE,
	    "%s", dns_sec_str(p->hosts[1].addr_sec));
	T_CASE("plan: bogus TLSA -> fail with reason", p->hosts[1].dane == DANE_FAIL
	    && strstr(p->hosts[1].why, "TLSA lookup failed DNSSEC validation") != NULL, "%s",
	    p->hosts[1].why);
	T_CASE("plan: has_dane", p->has_dane, "no");
	plan_free(p);
}

/* ip - an IPv4 or IPv6 address (by its form) and port */
static struct sockaddr_storage
ip(const char *a, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(a, ':')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short) port);
		inet_pton(AF_INET6, a, &s6->sin6_addr);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short) port);
		inet_pton(AF_INET, a, &s4->sin_addr);
	}
	return ss;
}

/* host_of - which host of p has a, and at which index */
static void
host_of(void)
{
	struct plan *p = calloc(1, sizeof(*p));
	struct sockaddr_storage a;
	int ai = -7, h;

	p->nhosts = 2;
	p->hosts[0].addrs[0] = ip("192.0.2.1", 25);
	p->hosts[0].naddrs = 1;
	p->hosts[1].addrs[0] = ip("192.0.2.2", 25);
	p->hosts[1].addrs[1] = ip("2001:db8::2", 25);
	p->hosts[1].naddrs = 2;
	a = ip("192.0.2.2", 2525);
	h = plan_host_of_addr(p, &a, &ai);
	T_CASE("address of a host, the port ignored", h == 1 && ai == 0, "h=%d ai=%d", h, ai);
	a = ip("2001:db8::2", 25);
	h = plan_host_of_addr(p, &a, &ai);
	T_CASE("IPv6 address, its index", h == 1 && ai == 1, "h=%d ai=%d", h, ai);
	ai = -7;
	a = ip("::ffff:192.0.2.1", 25);
	h = plan_host_of_addr(p, &a, &ai);
	T_CASE("a v4-mapped IPv6 address is not the IPv4 one", h == -1 && ai == -7, "h=%d ai=%d",
	    h, ai);
	a = ip("2001:db8::3", 25);
	T_CASE("another IPv6 address: none", plan_host_of_addr(p, &a, NULL) == -1, "found");
	memset(&a, 0, sizeof(a));
	a.ss_family = AF_UNIX;
	T_CASE("an address of another family: none", plan_host_of_addr(p, &a, NULL) == -1, "found");
	a = ip("192.0.2.1", 25);
	T_CASE("no index asked for", plan_host_of_addr(p, &a, NULL) == 0, "not found");
	p->hosts[1].naddrs = 0;
	a = ip("192.0.2.2", 25);
	T_CASE("addresses past naddrs are not looked at", plan_host_of_addr(p, &a, NULL) == -1,
	    "found");
	plan_free(p);
	plan_free(NULL);
	T_CASE("plan_free(NULL) is harmless", 1, "-");
}

/* one_host - a plan of one host, its DNSSEC states given */
static struct plan *
one_host(enum dns_sec mx, enum dns_sec a, enum dns_sec aaaa, int naddrs)
{
	struct plan *p = calloc(1, sizeof(*p));

	p->status = PLAN_OK;
	p->mx_sec = mx;
	p->nhosts = 1;
	snprintf(p->hosts[0].name, sizeof(p->hosts[0].name), "mx1.example");
	snprintf(p->hosts[0].base, sizeof(p->hosts[0].base), "mx1.example");
	p->hosts[0].a_sec = a;
	p->hosts[0].aaaa_sec = aaaa;
	p->hosts[0].naddrs = naddrs;
	return p;
}

static void
plans_hostile(void)
{
	struct plan *p;

	p = one_host(DNS_SECURE, DNS_INDETERMINATE, DNS_INDETERMINATE, 0);
	plan_finish(p);
	T_CASE("plan: both families failed, no address", p->hosts[0].addr_sec == DNS_INDETERMINATE
	    && p->hosts[0].dane == DANE_NONE && !p->has_dane
	    && strcmp(p->hosts[0].why, "no address for mx1.example (indeterminate)") == 0,
	    "sec=%s dane=%s why=%s", dns_sec_str(p->hosts[0].addr_sec),
	    dane_state_str(p->hosts[0].dane), p->hosts[0].why);
	plan_free(p);

	p = one_host(DNS_SECURE, DNS_BOGUS, DNS_SECURE, 1);
	plan_finish(p);
	T_CASE("plan: a bogus family spoils the host though the other worked",
	    p->hosts[0].addr_sec == DNS_BOGUS && p->hosts[0].dane == DANE_FAIL && p->has_dane
	    && strstr(p->hosts[0].why, "address lookup failed DNSSEC validation") != NULL,
	    "sec=%s why=%s", dns_sec_str(p->hosts[0].addr_sec), p->hosts[0].why);
	plan_free(p);

	p = one_host(DNS_BOGUS, DNS_SECURE, DNS_SECURE, 1);
	plan_finish(p);
	T_CASE("plan: bogus MX fails every host", p->hosts[0].dane == DANE_FAIL
	    && strstr(p->hosts[0].why, "MX lookup failed") != NULL, "dane=%s why=%s",
	    dane_state_str(p->hosts[0].dane), p->hosts[0].why);
	plan_free(p);

	p = one_host(DNS_INSECURE, DNS_SECURE, DNS_INSECURE, 2);
	plan_finish(p);
	T_CASE("plan: insecure MX, no DANE, no reason", p->hosts[0].dane == DANE_NONE
	    && p->hosts[0].why[0] == 0 && p->hosts[0].addr_sec == DNS_INSECURE && !p->has_dane,
	    "dane=%s why=%s", dane_state_str(p->hosts[0].dane), p->hosts[0].why);
	plan_free(p);

	p = one_host(DNS_SECURE, DNS_SECURE, DNS_SECURE, 1);
	p->hosts[0].tlsa_looked_up = 1;
	p->hosts[0].tlsa_sec = DNS_SECURE;
	p->hosts[0].tlsa_exists = 1;
	p->hosts[0].ntlsa = 0;
	plan_finish(p);
	T_CASE("plan: secure TLSA, none usable -> dane-unusable", p->hosts[0].dane == DANE_UNAUTH
	    && p->has_dane, "%s", dane_state_str(p->hosts[0].dane));
	plan_free(p);

	p = one_host(DNS_SECURE, DNS_SECURE, DNS_SECURE, 1);
	p->hosts[0].tlsa_looked_up = 1;
	p->hosts[0].tlsa_sec = DNS_INDETERMINATE;
	plan_finish(p);
	T_CASE("plan: TLSA lookup failed -> fail, reason names the base domain",
	    p->hosts[0].dane == DANE_FAIL
	    && strcmp(p->hosts[0].why, "TLSA lookup failed for mx1.example") == 0, "%s",
	    p->hosts[0].why);
	plan_free(p);

	p = one_host(DNS_INSECURE, DNS_INSECURE, DNS_INSECURE, 1);
	p->sts.has_policy = 1;
	p->sts.policy.mode = STS_MODE_NONE;
	plan_finish(p);
	T_CASE("plan: an MTA-STS policy of mode none is no policy", !p->has_sts, "has_sts");
	p->sts.policy.mode = STS_MODE_TESTING;
	plan_finish(p);
	T_CASE("plan: mode testing is a policy", p->has_sts, "no has_sts");
	p->sts.has_policy = 0;
	p->sts.policy.mode = STS_MODE_ENFORCE;
	plan_finish(p);
	T_CASE("plan: a mode without a policy is none", !p->has_sts, "has_sts");
	plan_free(p);
}

/* add_tlsa - records into a host's set: copied, bounded */
static void
add_tlsa(void)
{
	struct plan *p = calloc(1, sizeof(*p));
	unsigned char d[32], *big = calloc(1, PLAN_TLSA_DATA + 1);
	struct rr_tlsa t = {3, 1, 1, d, sizeof(d)};
	int ok = 1, i;

	if (p == NULL || big == NULL)
		abort();
	p->nhosts = 1;
	memset(d, 0xab, sizeof(d));
	ok &= plan_add_tlsa(&p->hosts[0], &t) == 0;
	d[0] = 0;			/* the plan's copy, not ours */
	T_CASE("add tlsa: copied", ok && p->hosts[0].ntlsa == 1 && p->hosts[0].tlsa[0].len == 32
	    && p->hosts[0].tlsa[0].data[0] == 0xab && p->hosts[0].tlsa[0].usage == 3
	    && p->hosts[0].tlsa[0].mtype == 1, "ntlsa %d", p->hosts[0].ntlsa);
	t.data = big;
	t.len = PLAN_TLSA_DATA + 1;
	T_CASE("add tlsa: longer than PLAN_TLSA_DATA refused", plan_add_tlsa(&p->hosts[0], &t) < 0
	    && p->hosts[0].ntlsa == 1, "ntlsa %d", p->hosts[0].ntlsa);
	t.len = PLAN_TLSA_DATA;
	T_CASE("add tlsa: PLAN_TLSA_DATA exactly taken", plan_add_tlsa(&p->hosts[0], &t) == 0,
	    "refused");
	t.data = d;
	t.len = sizeof(d);
	for (i = 0; i < PLAN_MAX_TLSA + 5; i++)
		(void) plan_add_tlsa(&p->hosts[0], &t);
	T_CASE("add tlsa: the set is bounded", p->hosts[0].ntlsa == PLAN_MAX_TLSA
	    && plan_add_tlsa(&p->hosts[0], &t) < 0, "ntlsa %d", p->hosts[0].ntlsa);
	plan_free(p);			/* every copy freed (ASan) */
	free(big);
}

int
main(void)
{
	T_INIT("plan");
	add_tlsa();
	plans();
	plans_hostile();
	host_of();
	return t_done();
}
