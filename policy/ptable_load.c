/*
 * ptable_load.c - the policy table's file, and the trust anchors of its
 * tafile= attributes.  See ptable_load.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../lib/file.h"
#include "ptable_load.h"

/* ptab_ta_free - the anchors ptab_ta_read() gave */
void
ptab_ta_free(struct ptab_ta *ta, int n)
{
	for (int i = 0; i < n; i++)
		free(ta[i].der);
	free(ta);
}

/* add_ta - one anchor's DER; -1 when full or out of memory */
static int
add_ta(struct ptab_ta *ta, int *n, int selector, unsigned char *der, int len)
{
	if (len <= 0 || *n >= PTAB_TA_MAX) {
		OPENSSL_free(der);
		return -1;
	}
	if ((ta[*n].der = malloc((size_t) len)) == NULL) {
		OPENSSL_free(der);
		return -1;
	}
	memcpy(ta[*n].der, der, (size_t) len);
	OPENSSL_free(der);
	ta[*n].len = (size_t) len;
	ta[*n].selector = selector;
	(*n)++;
	return 0;
}

/* pem_anchor - one PEM block as an anchor: 1 taken, 0 not an anchor's
 * kind (ignored), -1 with err */
static int
pem_anchor(const char *path, const char *name, const unsigned char *data, long dlen,
    struct ptab_ta *ta, int *n, char *err, size_t errlen)
{
	const unsigned char *p = data;
	unsigned char *der = NULL;
	int sel, len;

	if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "TRUSTED CERTIFICATE") == 0) {
		X509 *x = name[0] == 'C' ? d2i_X509(NULL, &p, dlen) : d2i_X509_AUX(NULL, &p, dlen);

		len = x ? i2d_X509(x, &der) : -1;
		X509_free(x);
		sel = 0;
	} else if (strcmp(name, "PUBLIC KEY") == 0) {
		EVP_PKEY *k = d2i_PUBKEY(NULL, &p, dlen);

		len = k ? i2d_PUBKEY(k, &der) : -1;
		EVP_PKEY_free(k);
		sel = 1;
	} else {
		return 0;
	}
	if (len <= 0) {
		snprintf(err, errlen, "%s: a %s that does not parse", path,
		    sel ? "public key" : "certificate");
		return -1;
	}
	if (add_ta(ta, n, sel, der, len) < 0) {
		snprintf(err, errlen, "%s: more than %d trust anchors, or out of memory", path,
		    PTAB_TA_MAX);
		return -1;
	}
	return 1;
}

/* ptab_ta_read - the certificates and public keys of a tafile, PEM */
int
ptab_ta_read(const char *path, struct ptab_ta **out, int *nout, char *err, size_t errlen)
{
	struct ptab_ta *ta = calloc(PTAB_TA_MAX, sizeof(*ta));
	char *text = NULL, *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	size_t len;
	long dlen;
	int n = 0, rc = 0;
	BIO *bio = NULL;

	*out = NULL;
	*nout = 0;
	if (ta == NULL || file_read_all(path, PTAB_TA_FILE_MAX, &text, &len, err, errlen) < 0
	    || (bio = BIO_new_mem_buf(text, (int) len)) == NULL) {
		if (ta == NULL || text != NULL)
			snprintf(err, errlen, "%s: out of memory", path);
		free(text);
		free(ta);
		return -1;
	}
	while (rc >= 0 && PEM_read_bio(bio, &name, &hdr, &data, &dlen) == 1) {
		rc = pem_anchor(path, name, data, dlen, ta, &n, err, errlen);
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		OPENSSL_free(data);
		name = hdr = NULL;
		data = NULL;
	}
	BIO_free(bio);
	free(text);
	if (rc >= 0 && n == 0) {
		snprintf(err, errlen, "%s: no PEM certificate or public key in it", path);
		rc = -1;
	}
	if (rc < 0) {
		ptab_ta_free(ta, n);
		return -1;
	}
	*out = ta;
	*nout = n;
	return 0;
}

/* ptable_load - read, parse and check a table file */
int
ptable_load(struct ptable *t, const char *file, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	if (file_read_all(file, PTAB_FILE_MAX, &text, &len, err, errlen) < 0)
		return -1;
	rc = ptable_parse(t, file, text, len, err, errlen);
	free(text);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		struct ptab_ta *ta;
		char why[512];
		int n;

		if (t->e[i].tafile == NULL)
			continue;
		if (ptab_ta_read(t->e[i].tafile, &ta, &n, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: tafile=%s", file, t->e[i].line, why);
			ptable_free(t);
			return -1;
		}
		ptab_ta_free(ta, n);
	}
	return 0;
}
