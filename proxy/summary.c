/*
 * summary.c - the delivery summary's fields.  See summary.h.
 */
#include <stdio.h>
#include <string.h>

#include "summary.h"

/* summary_policy - the policy= word of an attempt */
const char *
summary_policy(enum route_level level, int table, enum ptab_level tab_level,
    char *buf, size_t len)
{
	if (table) {
		snprintf(buf, len, "table:%s", ptab_level_str(tab_level));
		return buf;
	}
	switch (level) {
	case ROUTE_DANE:
		return "dane";
	case ROUTE_STS:
		return "sts-enforce";
	case ROUTE_STS_TESTING:
		return "sts-testing";
	default:
		return "none";
	}
}

/* summary_fields - the fields of one summary line */
size_t
summary_fields(struct summary *sm, struct log_field *f, char *to, size_t tolen)
{
	size_t n = 0;

	snprintf(to, tolen, "<%s>", sm->to ? sm->to : "");
	snprintf(sm->frombuf, sizeof(sm->frombuf), "<%s>", sm->from ? sm->from : "");
	snprintf(sm->sizebuf, sizeof(sm->sizebuf), "%llu", sm->size);
	f[n++] = (struct log_field) {"to", to};
	f[n++] = (struct log_field) {"relay", sm->relay && *sm->relay ? sm->relay : "none"};
	f[n++] = (struct log_field) {"tls", sm->tls && *sm->tls ? sm->tls : "none"};
	f[n++] = (struct log_field) {"policy", sm->policy ? sm->policy : "none"};
	f[n++] = (struct log_field) {"verified", sm->verified ? "yes" : "no"};
	f[n++] = (struct log_field) {"from", sm->frombuf};
	f[n++] = (struct log_field) {"size", sm->sizebuf};
	f[n++] = (struct log_field) {"status", sm->status ? sm->status : "deferred"};
	f[n++] = (struct log_field) {"detail", sm->detail ? sm->detail : ""};
	return n;
}
