/*
 * test_tlsrpt.c - the TLSRPT record parser (RFC 8460 section 3) against
 * good and hostile records.
 */
#include <stdio.h>
#include <string.h>

#include "../../report/tlsrpt.h"
#include "t.h"

struct tcase {
	const char *name;
	const char *recs[3];
	int ok;
	int nrua;
	const char *first;
};

static const struct tcase cases[] = {
	{"RFC example, mailto", {"v=TLSRPTv1; rua=mailto:reports@example.com", NULL}, 1, 1,
	 "mailto:reports@example.com"},
	{"RFC example, https", {"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", NULL}, 1, 1,
	 "https://reporting.example.com/v1/tlsrpt"},
	{"several rua", {"v=TLSRPTv1;rua=mailto:a@example.com, https://r.example/x ,mailto:b@example.com;", NULL},
	 1, 3, "mailto:a@example.com"},
	{"extension field ignored", {"v=TLSRPTv1; ext=1; rua=mailto:a@example.com", NULL}, 1, 1, NULL},
	{"other TXT records discarded", {"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@example.com", NULL}, 1, 1, NULL},
	{"unknown scheme skipped", {"v=TLSRPTv1; rua=ftp://x.example/, mailto:a@example.com", NULL}, 1, 1,
	 "mailto:a@example.com"},
	{"only unknown schemes", {"v=TLSRPTv1; rua=ftp://x.example/", NULL}, 0, 0, NULL},
	{"two TLSRPT records", {"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com", NULL},
	 0, 0, NULL},
	{"no record", {"v=spf1 -all", NULL}, 0, 0, NULL},
	{"no rua", {"v=TLSRPTv1;", NULL}, 0, 0, NULL},
	{"rua twice", {"v=TLSRPTv1; rua=mailto:a@x.example; rua=mailto:b@x.example", NULL}, 0, 0, NULL},
	{"version not first", {"rua=mailto:a@x.example; v=TLSRPTv1", NULL}, 0, 0, NULL},
	{"TLSRPTv2", {"v=TLSRPTv2; rua=mailto:a@x.example", NULL}, 0, 0, NULL},
	{"mailto without address", {"v=TLSRPTv1; rua=mailto:", NULL}, 0, 0, NULL},
	{"mailto without domain", {"v=TLSRPTv1; rua=mailto:a@", NULL}, 0, 0, NULL},
	{"empty URI in list", {"v=TLSRPTv1; rua=mailto:a@x.example,,https://r.example/", NULL}, 0, 0, NULL},
	{"space inside a URI", {"v=TLSRPTv1; rua=mailto:a b@x.example", NULL}, 0, 0, NULL},
	{"empty field", {"v=TLSRPTv1;; rua=mailto:a@x.example", NULL}, 0, 0, NULL},
	{"field without =", {"v=TLSRPTv1; rua=mailto:a@x.example; junk", NULL}, 0, 0, NULL},
	{"control character", {"v=TLSRPTv1; rua=mailto:a\x01@x.example", NULL}, 0, 0, NULL},
};

int
main(void)
{
	T_INIT("tlsrpt");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *recs[3];
		size_t lens[3];
		int n = 0, r;
		struct tlsrpt_rec rec;
		const char *why = NULL;

		for (; cases[i].recs[n]; n++) {
			recs[n] = cases[i].recs[n];
			lens[n] = strlen(recs[n]);
		}
		r = tlsrpt_parse(recs, lens, n, &rec, &why);
		T_CASE(cases[i].name, cases[i].ok ? (r == 1 && rec.nrua == cases[i].nrua
		    && (!cases[i].first || strcmp(rec.rua[0].uri, cases[i].first) == 0))
		    : (r == 0 && why != NULL), "r=%d nrua=%d why=%s", r, r ? rec.nrua : -1,
		    why ? why : "-");
	}
	{
		const char *rec = "v=TLSRPTv1; rua=mailto:a@x.example\0";
		size_t len = 36;
		struct tlsrpt_rec r;
		const char *why = NULL;

		T_CASE("NUL byte refused", tlsrpt_parse(&rec, &len, 1, &r, &why) == 0, "accepted");
	}
	{
		char big[8192];
		int n = snprintf(big, sizeof(big), "v=TLSRPTv1; rua=");
		struct tlsrpt_rec r;
		const char *why = NULL, *p = big;
		size_t len;

		for (int i = 0; i < 20; i++)
			n += snprintf(big + n, sizeof(big) - (size_t) n, "%smailto:r%d@x.example",
			    i ? "," : "", i);
		len = (size_t) n;
		T_CASE("at most 8 rua kept", tlsrpt_parse(&p, &len, 1, &r, &why) == 1
		    && r.nrua == TLSRPT_MAX_RUA, "nrua=%d why=%s", r.nrua, why ? why : "-");
		memset(big, 'a', sizeof(big));
		memcpy(big, "v=TLSRPTv1; rua=https://", 24);
		len = sizeof(big);
		T_CASE("overlong URI refused", tlsrpt_parse(&p, &len, 1, &r, &why) == 0, "accepted");
	}
	return t_done();
}
