/*
 * xorshift.h - the benches' small deterministic generator (xorshift64):
 * the same sequence every run, so figures compare across runs.
 */
#ifndef MXTLS_BENCH_XORSHIFT_H
#define MXTLS_BENCH_XORSHIFT_H

/* rnd - the next number of the sequence */
static inline unsigned long long
rnd(void)
{
	static unsigned long long s = 0x9e3779b97f4a7c15ULL;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

#endif
