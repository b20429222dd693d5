/*
 * testutil.h -- random numbers for the tests (tests/support): a seeded
 * splitmix64 generator (seed printed, settable with WODAN_SEED), numbers
 * from the environment, a monotonic clock.
 */
#ifndef WODAN_TESTUTIL_H
#define WODAN_TESTUTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "wodan.h"

static inline uint64_t tu_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Seed from $WODAN_SEED, else from the clock; always printed so a failure
 * can be replayed. */
static inline uint64_t tu_seed(const char *test)
{
	const char *e = getenv("WODAN_SEED");
	uint64_t s = e ? strtoull(e, NULL, 0)
		       : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	printf("# %s: seed %" PRIu64 " (replay with WODAN_SEED=%" PRIu64 ")\n",
	       test, s, s);
	fflush(stdout);
	return s;
}

static inline uint64_t tu_env_u64(const char *name, uint64_t dflt)
{
	const char *e = getenv(name);
	return e ? strtoull(e, NULL, 0) : dflt;
}

static inline uint64_t tu_below(uint64_t *s, uint64_t n)
{
	return n ? tu_splitmix(s) % n : 0;
}

/* A seed derived from two numbers (a stream per (a, b)). */
static inline uint64_t tu_mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0x9e3779b97f4a7c15ull);
	tu_splitmix(&s);
	return tu_splitmix(&s);
}

/* Monotonic time in nanoseconds. */
static inline uint64_t tu_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

#endif
