/*
 * fixed_random.h -- deterministic getrandom(2) for tests (include once,
 * from the test's main file, after testutil.h).
 *
 * wodan_mkfs draws the fsid and first_block_written from getrandom(2).  A
 * test that must be a function of its seed alone (power-cut replay, crash
 * and trim suites, the journal suite) interposes getrandom with a splitmix
 * stream: set mkfs_rng before each wodan_mkfs.  Nothing else in these
 * tests calls getrandom.  A test of several files defines
 * FIXED_RANDOM_LINKAGE empty before including it and declares mkfs_rng
 * extern in its other files.
 */
#ifndef WODAN_FIXED_RANDOM_H
#define WODAN_FIXED_RANDOM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>
#include "testutil.h"

#ifndef FIXED_RANDOM_LINKAGE
#define FIXED_RANDOM_LINKAGE static
#endif
FIXED_RANDOM_LINKAGE uint64_t mkfs_rng = 1;

ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
	(void)flags;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)tu_splitmix(&mkfs_rng);
	return (ssize_t)len;
}

#endif
