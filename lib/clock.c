/*
 * clock.c - the one monotonic clock reader.  See clock.h.
 */
#include <time.h>

#include "clock.h"

/* clock_mono - CLOCK_MONOTONIC, seconds */
double
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
