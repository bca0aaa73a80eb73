/*
 * test_ptable.c - the policy table (policy/ptable.c): every level and
 * attribute, Postfix's TLS_README examples, the lookups (own key, the
 * nearest .parent, [host]:port then [host]), and hostile files, each
 * refused with FILE:LINE and the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../policy/ptable.h"
#include "../../policy/ptable_load.h"
#include "t.h"

#define FP1 "EC:3B:2D:B0:5B:B4:3F:AD:E7:0D:7D:28:DA:A5:9F:69:" \
	"EC:3B:2D:B0:5B:B4:3F:AD:E7:0D:7D:28:DA:A5:9F:69"
#define FP2 "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789ABCDEF"

/* Postfix's TLS_README policy table examples (SHA-256 digests). */
static const char readme[] =
    "# comment\n"
    "example.edu             none\n"
    "example.mil             may\n"
    "example.gov             encrypt protocols=TLSv1\n"
    "example.com             verify ciphers=high\n"
    "example.net             secure\n"
    ".example.net            secure match=.example.net:example.net\n"
    "[mail.example.org]:587  secure match=nexthop\n"
    "[thumb.example.org]     fingerprint\n"
    "        match=" FP1 "\n"
    "\n"
    "        match=" FP2 "\n"
    "dane.example            dane\n"
    ".dane.example           dane-only\n"
    "[192.0.2.25]            encrypt mode=report-only\n"
    "[2001:DB8:0::1]:25      dane-only servername=hostname\n"
    "bank.example            secure match=hostname:dot-nexthop tafile=/etc/mxtls/ca.pem "
    "protocols=>=TLSv1.2 ciphers=ECDHE+AESGCM:!aNULL\n"
    "Upper.EXAMPLE.          may\n";

static void
readme_examples(void)
{
	struct ptable t;
	char err[256] = "";
	const struct ptab_entry *e;
	int r = ptable_parse(&t, "policy", readme, sizeof(readme) - 1, err, sizeof(err));

	T_CASE("TLS_README examples load", r == 0 && t.n == 14, "r=%d n=%zu err=%s", r, t.n,
	    err);
	if (r < 0)
		return;
	e = ptable_find(&t, "example.edu");
	T_CASE("none", e && e->level == PTAB_NONE && e->line == 2, "got %s",
	    e ? ptab_level_str(e->level) : "none");
	e = ptable_find(&t, "example.gov");
	T_CASE("encrypt protocols=TLSv1: only TLSv1", e && e->level == PTAB_ENCRYPT
	    && e->protocols && e->proto_ok == 1u << PTAB_TLSV1, "mask %x", e ? e->proto_ok : 0);
	e = ptable_find(&t, "example.com");
	T_CASE("verify: default match hostname, ciphers=high", e && e->level == PTAB_VERIFY
	    && e->nmatch == 1 && strcmp(e->match[0], "hostname") == 0 && e->ciphers
	    && strcmp(e->ciphers, "high") == 0, "nmatch %d", e ? e->nmatch : -1);
	e = ptable_find(&t, "example.net");
	T_CASE("secure: default match nexthop:dot-nexthop", e && e->level == PTAB_SECURE
	    && e->nmatch == 2 && strcmp(e->match[0], "nexthop") == 0
	    && strcmp(e->match[1], "dot-nexthop") == 0, "nmatch %d", e ? e->nmatch : -1);
	e = ptable_find(&t, "mx.deep.example.net");
	T_CASE(".example.net matches a subdomain, with its own match list", e
	    && strcmp(e->key, ".example.net") == 0 && e->nmatch == 2
	    && strcmp(e->match[0], ".example.net") == 0, "got %s", e ? e->key : "none");
	e = ptable_find_dest(&t, "MAIL.example.org", 587);
	T_CASE("[mail.example.org]:587 by host and port", e && e->level == PTAB_SECURE
	    && e->nmatch == 1, "got %s", e ? e->key : "none");
	T_CASE("... not on another port", ptable_find_dest(&t, "mail.example.org", 25) == NULL,
	    "found");
	e = ptable_find_dest(&t, "thumb.example.org", 25);
	T_CASE("fingerprint: two digests over continuation lines (a blank line between)",
	    e && e->level == PTAB_FINGERPRINT && e->nfp == 2 && e->fp[0][0] == 0xec
	    && e->fp[1][0] == 0x01 && e->fp[1][31] == 0xef, "nfp %d", e ? e->nfp : -1);
	e = ptable_find(&t, "dane.example");
	T_CASE("dane for the domain itself", e && e->level == PTAB_DANE, "wrong");
	e = ptable_find(&t, "mx.dane.example");
	T_CASE("dane-only for its subdomains", e && e->level == PTAB_DANE_ONLY, "wrong");
	e = ptable_find_dest(&t, "192.0.2.25", 25);
	T_CASE("[192.0.2.25] without a port matches any port, report-only", e
	    && e->level == PTAB_ENCRYPT && e->report_only, "wrong");
	e = ptable_find_dest(&t, "2001:db8::1", 25);
	T_CASE("[2001:DB8:0::1]:25 matches 2001:db8::1 port 25", e
	    && e->level == PTAB_DANE_ONLY && e->servername
	    && strcmp(e->servername, "hostname") == 0, "got %s", e ? e->key : "none");
	e = ptable_find(&t, "bank.example");
	T_CASE("secure with match, tafile, protocols=>=TLSv1.2, a cipher list", e
	    && e->nmatch == 2 && e->tafile && e->proto_ok == (1u << PTAB_TLSV1_2
		| 1u << PTAB_TLSV1_3) && strcmp(e->ciphers, "ECDHE+AESGCM:!aNULL") == 0,
	    "mask %x", e ? e->proto_ok : 0);
	T_CASE("keys in any case, one trailing dot", ptable_find(&t, "upper.example") != NULL
	    && ptable_find(&t, "UPPER.Example.") != NULL, "not found");
	T_CASE("no entry: NULL (and a .parent key never matches the parent itself)",
	    ptable_find(&t, "nothing.example") == NULL && ptable_find(&t, "example") == NULL
	    && ptable_find_dest(&t, "192.0.2.26", 25) == NULL, "found");
	ptable_free(&t);
}

static void
protocols(void)
{
	static const struct {
		const char *v;
		unsigned mask;		/* 0: refused */
	} cases[] = {
		{"!SSLv2:!SSLv3", 0x3c}, {"!SSLv2,!SSLv3,!TLSv1,!TLSv1.1", 0x30},
		{">=TLSv1.2", 0x30}, {"<=TLSv1.2", 0x1f}, {">=TLSv1.1:<=TLSv1.2", 0x18},
		{"TLSv1.3", 0x20}, {"tlsv1.3", 0x20}, {"TLSv1.2:TLSv1.3:!TLSv1.3", 0x10},
		{"", 0}, {"TLSv2", 0}, {"!TLSv1.3:TLSv1.3", 0}, {">=", 0}, {">=TLSv1.3:<=TLSv1.2", 0},
		{"SSLv2:", 0x1}, {":", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128], err[256] = "", name[160];
		struct ptable t;
		int r, n = snprintf(text, sizeof(text), "x.example encrypt protocols=%s\n",
		    cases[i].v);

		r = ptable_parse(&t, "p", text, (size_t) n, err, sizeof(err));
		snprintf(name, sizeof(name), "protocols=%s: %s", cases[i].v,
		    cases[i].mask ? "allowed as given" : "refused");
		T_CASE(name, cases[i].mask ? r == 0 && t.e[0].proto_ok == cases[i].mask
		    : r < 0 && strstr(err, "p:1: protocols=") != NULL, "r=%d mask %x err %s", r,
		    r == 0 ? t.e[0].proto_ok : 0, err);
		ptable_free(&t);
	}
}

static void
hostile(void)
{
	static const struct {
		const char *name, *text, *err;
	} cases[] = {
		{"unknown level", "a.example tight\n", "policy:1: \"tight\": unknown level"},
		{"no level", "a.example\n", "policy:1: \"a.example\": no level"},
		{"match= with may", "a.example may match=a.example\n",
		    "policy:1: match= with level may"},
		{"match= with dane-only", "# c\n\na.example dane-only match=x\n",
		    "policy:3: match= with level dane-only"},
		{"fingerprint without a digest", "a.example fingerprint\n",
		    "policy:1: level fingerprint without match="},
		{"an MD5 digest (16 octets)", "a.example fingerprint match="
		    "EC:3B:2D:B0:5B:B4:3F:AD:E7:0D:7D:28:DA:A5:9F:69\n", "not 32"},
		{"a digest with a stray colon", "a.example fingerprint match=" FP2 ":\n",
		    "not a SHA-256 digest"},
		{"a digest with two colons", "a.example fingerprint match=EC::3B\n",
		    "not a SHA-256 digest"},
		{"empty match part", "a.example secure match=a.example::b.example\n",
		    "an empty part"},
		{"a bad match name", "a.example secure match=-bad.example\n", "not a host name"},
		{"tafile with encrypt", "a.example encrypt tafile=/etc/ca.pem\n",
		    "tafile= with level encrypt"},
		{"tafile not absolute", "a.example verify tafile=ca.pem\n", "not an absolute path"},
		{"ciphers twice", "a.example encrypt ciphers=high ciphers=low\n", "given twice"},
		{"a bad cipher list", "a.example encrypt ciphers=high;rm\n", "not a grade"},
		{"unknown attribute", "a.example encrypt exclude=3DES\n",
		    "unknown attribute \"exclude\""},
		{"not ATTR=VALUE", "a.example encrypt high\n", "expected ATTR=VALUE"},
		{"=VALUE", "a.example encrypt =x\n", "expected ATTR=VALUE"},
		{"mode=shadow", "a.example may mode=shadow\n", "expected enforce or report-only"},
		{"bad servername", "a.example secure servername=a_b.example\n", "servername="},
		{"key twice", "a.example may\nb.example may\nA.Example. none\n",
		    "policy:3: \"a.example\" given again (first at line 1)"},
		{"a bad domain key", "-a.example may\n", "not a domain name"},
		{"a lone dot key", ". may\n", "not a domain name"},
		{"[] key", "[] may\n", "not [address] or [host name]"},
		{"[host without ]", "[a.example may\n", "not [address]"},
		{"bad port", "[a.example]:99999 may\n", "bad port"},
		{"port 0", "[a.example]:0 may\n", "bad port"},
		{"junk after ]", "[a.example]x may\n", "expected :PORT"},
		{"continuation first", "  a.example may\n", "policy:1: a continuation line"},
		{"NUL byte", "a.example may\nb.exa\0mple may\n", "policy:2: a NUL byte"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "", name[160];
		struct ptable t;
		size_t len = strlen(cases[i].text);
		int r;

		if (strcmp(cases[i].name, "NUL byte") == 0)
			len = sizeof("a.example may\nb.exa\0mple may\n") - 1;
		r = ptable_parse(&t, "policy", cases[i].text, len, err, sizeof(err));
		snprintf(name, sizeof(name), "refused: %s", cases[i].name);
		T_CASE(name, r < 0 && strstr(err, cases[i].err) != NULL && t.n == 0 && t.e == NULL,
		    "r=%d err \"%s\", want \"%s\"", r, err, cases[i].err);
		ptable_free(&t);
	}
	{
		/* the text is not a C string: a last line of blanks, no NUL after */
		static const char src[] = "a.example may\n  \t";
		char *text = malloc(sizeof(src) - 1), err[256] = "";
		struct ptable t;
		int r;

		memcpy(text, src, sizeof(src) - 1);
		r = ptable_parse(&t, "policy", text, sizeof(src) - 1, err, sizeof(err));
		T_CASE("the text read only within its length (no NUL after a blank last line)",
		    r == 0 && t.n == 1, "r=%d err %s", r, err);
		ptable_free(&t);
		free(text);
	}
	{
		/* a logical line over the cap */
		size_t n = PTAB_LINE_MAX + 100;
		char *text = malloc(n + 1), err[256] = "";
		struct ptable t;
		int r;

		memcpy(text, "a.example may", 13);
		for (size_t i = 13; i < n; i++)	/* continuation lines of one logical line */
			text[i] = (i - 13) % 80 == 0 ? '\n' : (i - 13) % 80 == 1 ? ' ' : 'a';
		text[n] = 0;
		r = ptable_parse(&t, "policy", text, n, err, sizeof(err));
		T_CASE("refused: a logical line over the cap", r < 0 && strstr(err, "over"),
		    "r=%d err %s", r, err);
		ptable_free(&t);
		free(text);
	}
}

static void
many(void)
{
	/* 100,000 entries: every one found; a miss walks its parents only */
	size_t n = 100000, cap = n * 40, w = 0;
	char *text = malloc(cap), err[256] = "", name[64];
	struct ptable t;
	int r, found = 0;

	for (size_t i = 0; i < n; i++)
		w += (size_t) snprintf(text + w, cap - w, "%sd%zu.example %s\n",
		    i % 3 == 0 ? "." : "", i, i % 2 ? "encrypt" : "dane");
	r = ptable_parse(&t, "big", text, w, err, sizeof(err));
	for (size_t i = 0; r == 0 && i < n; i++) {
		snprintf(name, sizeof(name), i % 3 == 0 ? "mx.d%zu.example" : "d%zu.example", i);
		found += ptable_find(&t, name) != NULL;
	}
	T_CASE("100,000 entries load and are all found", r == 0 && found == (int) n
	    && ptable_find(&t, "d0.example") == NULL, "r=%d found %d err %s", r, found, err);
	ptable_free(&t);
	free(text);
}

/* put - a file with text; its path in path */
static void
put(char *path, size_t len, const char *name, const char *text)
{
	FILE *f;

	snprintf(path, len, "/tmp/test_ptable.%d.%s", (int) getpid(), name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* pem_of - a fresh key's certificate and public key, PEM, in buf */
static void
pem_of(char *buf, size_t len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	X509_set_version(x, 2);
	X509_set_pubkey(x, k);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *) "Test TA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_sign(x, k, EVP_sha256());
	PEM_write_bio_X509(b, x);
	PEM_write_bio_PUBKEY(b, k);
	n = BIO_get_mem_data(b, &p);
	snprintf(buf, len, "%.*s", (int) n, p);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* loading - ptable_load and the tafile= anchors, good and hostile files */
static void
loading(void)
{
	char pem[4096], ta[128], tab[128], text[512], err[512], big[200000];
	struct ptable t;
	struct ptab_ta *a;
	int n, r;

	pem_of(pem, sizeof(pem));
	put(ta, sizeof(ta), "ta.pem", pem);
	r = ptab_ta_read(ta, &a, &n, err, sizeof(err));
	T_CASE("tafile: a certificate and a public key, two anchors", r == 0 && n == 2
	    && a[0].selector == 0 && a[1].selector == 1 && a[0].len > 100, "r=%d n=%d err=%s",
	    r, n, err);
	if (r == 0)
		ptab_ta_free(a, n);
	snprintf(text, sizeof(text), "example.com secure tafile=%s\n", ta);
	put(tab, sizeof(tab), "table", text);
	r = ptable_load(&t, tab, err, sizeof(err));
	T_CASE("a table with a good tafile loads", r == 0 && t.n == 1, "err=%s", err);
	if (r == 0)
		ptable_free(&t);

	{
		static const struct {
			const char *name, *text, *want;
		} bad[] = {
			{"no PEM", "just text\n", "no PEM certificate or public key in it"},
			{"other PEM only", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
			    "no PEM certificate"},
			{"garbage certificate", "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n"
			    "-----END CERTIFICATE-----\n", "a certificate that does not parse"},
			{"garbage key", "-----BEGIN PUBLIC KEY-----\nAAAAAAAA\n"
			    "-----END PUBLIC KEY-----\n", "a public key that does not parse"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char name[128];

			put(ta, sizeof(ta), "ta.pem", bad[i].text);
			r = ptab_ta_read(ta, &a, &n, err, sizeof(err));
			snprintf(name, sizeof(name), "tafile refused: %s", bad[i].name);
			T_CASE(name, r < 0 && strstr(err, bad[i].want) && strstr(err, ta),
			    "r=%d err=%s", r, err);
			r = ptable_load(&t, tab, err, sizeof(err));
			snprintf(name, sizeof(name), "the table with it fails at its line: %s",
			    bad[i].name);
			T_CASE(name, r < 0 && strncmp(err, tab, strlen(tab)) == 0
			    && strstr(err, ":1: tafile=") && strstr(err, bad[i].want), "r=%d err=%s",
			    r, err);
		}
	}
	/* more anchors than PTAB_TA_MAX */
	big[0] = 0;
	for (int i = 0; i <= PTAB_TA_MAX / 2 && strlen(big) + strlen(pem) < sizeof(big); i++)
		strcat(big, pem);
	put(ta, sizeof(ta), "many.pem", big);
	r = ptab_ta_read(ta, &a, &n, err, sizeof(err));
	T_CASE("tafile with more than PTAB_TA_MAX anchors refused", r < 0
	    && strstr(err, "more than"), "r=%d n=%d err=%s", r, n, err);
	unlink(ta);
	unlink(tab);
	r = ptable_load(&t, tab, err, sizeof(err));
	T_CASE("a missing table: an error naming it", r < 0 && strstr(err, tab)
	    && strstr(err, "cannot open"), "err=%s", err);
	put(tab, sizeof(tab), "table", "example.com sure\n");
	r = ptable_load(&t, tab, err, sizeof(err));
	T_CASE("a bad level: FILE:LINE: reason", r < 0 && strncmp(err, tab, strlen(tab)) == 0
	    && strstr(err, ":1: \"sure\": unknown level"), "err=%s", err);
	unlink(tab);
}

int
main(void)
{
	T_INIT("ptable");
	loading();
	readme_examples();
	protocols();
	hostile();
	many();
	return t_done();
}
