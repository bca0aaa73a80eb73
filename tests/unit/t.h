/*
 * t.h - the smallest test harness: one PASS:/FAIL: line per case.
 *
 * T_CASE(name, cond, fmt, ...) prints `PASS: unit FILE NAME' or
 * `FAIL: unit FILE NAME: detail' and counts; t_done() returns the exit
 * status (1 when anything failed).
 */
#ifndef MXTLS_T_H
#define MXTLS_T_H

#include <stdio.h>

static int t_pass, t_fail;
static const char *t_file = "?";

#define T_INIT(f) (t_file = (f))
#define T_CASE(name, cond, ...) do { \
	if (cond) { \
		t_pass++; \
		printf("PASS: unit %s %s\n", t_file, (name)); \
	} else { \
		t_fail++; \
		printf("FAIL: unit %s %s: ", t_file, (name)); \
		printf(__VA_ARGS__); \
		printf(" (%s:%d)\n", __FILE__, __LINE__); \
	} \
} while (0)

static inline int
t_done(void)
{
	fflush(stdout);
	return t_fail ? 1 : 0;
}

#endif
