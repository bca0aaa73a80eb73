/*
 * version.h - the version the programs print (-V).
 *
 * SYNOPSIS
 *	MXTLS_VERSION	a string, "0.1.0" for instance
 *
 * DESCRIPTION
 *	The version has one home, the file VERSION at the top of the tree;
 *	the Makefile passes it as -DMXTLS_VERSION, and debian/rules refuses
 *	a debian/changelog that names another.  A build without the Makefile
 *	stops here instead of printing a made-up version.
 */
#ifndef MXTLS_VERSION_H
#define MXTLS_VERSION_H

#ifndef MXTLS_VERSION
#error "MXTLS_VERSION is not defined: build with the Makefile (it reads VERSION)"
#endif

#endif
