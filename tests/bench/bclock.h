/*
 * bclock.h - the benchmarks' one clock: now() is monotonic seconds.
 */
#ifndef MXTLS_BCLOCK_H
#define MXTLS_BCLOCK_H

#include <time.h>

/* now - monotonic seconds */
static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#endif
