/*
 * ptable_load.h - the policy table's file (ptable.h parses it), and the
 * trust anchors of its tafile= attributes.
 *
 * SYNOPSIS
 *	int ptable_load(struct ptable *t, const char *file, char *err,
 *		size_t errlen);
 *	int ptab_ta_read(const char *path, struct ptab_ta **ta, int *n,
 *		char *err, size_t errlen);
 *	void ptab_ta_free(struct ptab_ta *ta, int n);
 *
 * DESCRIPTION
 *	ptable_load() reads file (at most PTAB_FILE_MAX octets), parses it
 *	with ptable_parse(), and reads every tafile= it names, so that a
 *	table whose trust anchors cannot be had fails to load as a whole.
 *
 *	ptab_ta_read() reads a tafile as Postfix does: PEM `CERTIFICATE'
 *	(or `TRUSTED CERTIFICATE') and `PUBLIC KEY' blocks, other blocks
 *	ignored; each becomes a DANE-TA(2) anchor, Full(0), of the whole
 *	certificate (selector 0) or the SubjectPublicKeyInfo (selector 1),
 *	as DER.  At most PTAB_TA_MAX.
 *
 * DIAGNOSTICS
 *	0, or -1 with `FILE:LINE: reason' (ptable_load: the table's line)
 *	or `PATH: reason' in err; nothing is kept then.
 */
#ifndef MXTLS_PTABLE_LOAD_H
#define MXTLS_PTABLE_LOAD_H

#include <stddef.h>

#include "ptable.h"

#define PTAB_FILE_MAX		(64 * 1024 * 1024)
#define PTAB_TA_FILE_MAX	(1024 * 1024)
#define PTAB_TA_MAX		64

struct ptab_ta {
	int selector;			/* 0: certificate, 1: public key */
	unsigned char *der;
	size_t len;
};

int ptable_load(struct ptable *t, const char *file, char *err, size_t errlen);
int ptab_ta_read(const char *path, struct ptab_ta **ta, int *n, char *err,
    size_t errlen);
void ptab_ta_free(struct ptab_ta *ta, int n);

#endif
