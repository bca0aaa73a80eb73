/*
 * clock.h - the one monotonic clock reader.
 *
 * SYNOPSIS
 *	double clock_mono(void);
 *
 * DESCRIPTION
 *	clock_mono() is CLOCK_MONOTONIC in seconds, with its fraction: what
 *	deadlines, cache lifetimes and restart delays are measured by (never
 *	the wall clock, which an admin or NTP may step).  Pure modules take
 *	the time as an argument instead.
 */
#ifndef MXTLS_CLOCK_H
#define MXTLS_CLOCK_H

double clock_mono(void);

#endif
