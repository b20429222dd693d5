/*
 * kvmodel.h -- the key/value model of the tests: a pool of distinct keys
 * in ascending order, values derived from (key index, version, length),
 * snapshots (one struct ent per pool key) and the comparison of a whole
 * handle's contents with a snapshot.  Independent of the library's
 * internals (public API only).  Not thread-safe (state_equal uses a static
 * buffer).
 */
#ifndef WODAN_TEST_KVMODEL_H
#define WODAN_TEST_KVMODEL_H

#include <stddef.h>
#include <stdint.h>
#include "wodan.h"

struct ent {
	uint32_t ver; /* 0: absent; else a unique version of the value */
	uint32_t len;
};

struct kvpool {
	uint32_t n;       /* keys */
	uint32_t ks;      /* key size in bytes (at most 64) */
	uint8_t *keys;    /* n * ks, strictly ascending (owned) */
	uint64_t vseed;   /* values: kv_val(pool, i, ver, len) */
};

/* A pool of n keys of 8 bytes: index 0 the all-zero key, n-1 all-0xFF,
 * index i between them (i << 32 | 32 hashed bits), ascending in i. */
void kv_pool_indexed(struct kvpool *p, uint32_t n, uint64_t vseed);

/* A pool of up to `want` random distinct keys of ks bytes drawn from
 * *rng, sorted (duplicates dropped: p->n <= want).  extremes: the first is
 * all-zero and the last all-0xFF. */
void kv_pool_random(struct kvpool *p, uint32_t ks, uint32_t want,
		    uint64_t *rng, int extremes, uint64_t vseed);

void kv_pool_free(struct kvpool *p);

static inline const uint8_t *kv_key(const struct kvpool *p, uint32_t i)
{
	return p->keys + (size_t)i * p->ks;
}

/* The value of key i at version ver: len bytes into out. */
void kv_val(const struct kvpool *p, uint32_t i, uint32_t ver, uint32_t len,
	    uint8_t *out);

/* Snapshots of p->n entries (aborts on out of memory; free()). */
struct ent *snap_new(const struct kvpool *p);
struct ent *snap_dup(const struct kvpool *p, const struct ent *e);
uint64_t snap_live(const struct kvpool *p, const struct ent *e);

/* 0 when the whole contents of w (wodan_iterate) equal snapshot s, else 1
 * with a reason in why (wl bytes, may be NULL).  A failing iterate gives
 * the reason "iterate: ERROR: MESSAGE". */
int state_equal(wodan_t *w, const struct kvpool *p, const struct ent *s,
		char *why, size_t wl);

/* As state_equal, but a failing iterate (before any difference was seen)
 * returns its WODAN_E_* (negative; wodan_last_error() still describes
 * it): 0 equal, 1 different, < 0 iterate failed. */
int state_compare(wodan_t *w, const struct kvpool *p, const struct ent *s,
		  char *why, size_t wl);

#endif
