/*
 * space/space.h -- the space suite, tests/test_space (files: main.c,
 * exhaustion.c, errors.c, autoflush.c, retry.c): running out of space,
 * argument errors, read-only handles and the dirty-memory budget
 * (doc/SPEC.md §11.4; doc/ORIGINAL.md §7.4).
 *
 *  - exhaustion: on small RAM images (bs 4096, ks 16, 40..100 blocks) insert
 *    random keys with ~100-byte values (plus overwrites and deletes), never
 *    flushing until the library says WODAN_E_NEEDS_FLUSH; then flush, retry
 *    and go on, until a WODAN_E_OUT_OF_SPACE that a flush does not cure.
 *    On images with a flushed base tree NEEDS_FLUSH must come before the
 *    first OUT_OF_SPACE (on never-flushed images every dirty node is new and
 *    a flush frees nothing, so OUT_OF_SPACE may come first); a retry after
 *    NEEDS_FLUSH + flush must go through or answer OUT_OF_SPACE; every failed call
 *    must leave every key's lookup (and the whole iteration) as it was;
 *    afterwards a flush works, close + reopen + wodan_check is clean and
 *    every acknowledged key is there with its value.
 *  - out of space is final: the same workload, failing when a call refused
 *    with OUT_OF_SPACE while nodes were dirty goes through after a flush
 *    (wodan.h: "no room even after a flush").
 *  - value too large, wrong key length, delete without tombstones, read-only
 *    handles: the right error and nothing changes.
 *  - dirty budget: with dirty_bytes = 64 KiB, inserts flush automatically
 *    (stats.auto_flushes > 0); a crash keeps exactly what the last automatic
 *    flush wrote; with WODAN_OPEN_NO_AUTOFLUSH the same workload gets
 *    NEEDS_FLUSH instead (and nothing changes).
 *
 *  - flush, then retry: after NEEDS_FLUSH and a successful flush the retried
 *    call goes through or answers OUT_OF_SPACE (fixed seeds, see
 *    test_flush_then_retry).
 *
 * WODAN_SEED replays; WODAN_SPACE_ROUNDS sets the number of exhaustion
 * images (default 12).
 */
#ifndef WODAN_TEST_SPACE_H
#define WODAN_TEST_SPACE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"

#define KS 16u
#define MAXV 1024u

/* ------------------------------------------------------------------ model */

struct kv {
	uint8_t key[KS];
	int present;
	uint16_t len;
	uint8_t *val;
};

struct model {
	struct kv *e;   /* sorted by key */
	size_t n, cap;
};

struct itc {
	const struct model *m;
	size_t i;
	int bad;
};

/* ------------------------------------------------------------- exhaustion */

struct xstats {
	uint64_t warm, oos_first, oos_retry_ok, nf_retry_failed;
	uint64_t ok, needs_flush, oos, flushes, failed_deletes, overwrites;
	uint64_t final_blocks_used;
};

/* ------------------------------------------------------------ dirty budget */

#define BUDGET (64u << 10)

extern uint64_t seed;
struct kv *m_get(struct model *m, const uint8_t *key);
void m_set(struct model *m, const uint8_t *key, const uint8_t *val,
		  uint32_t len, int present);
void m_copy(struct model *dst, const struct model *src);
void m_free(struct model *m);
uint64_t m_live(const struct model *m);
void expect_contents(wodan_t *w, const struct model *m,
			    const char *where);
void expect_lookup(wodan_t *w, const uint8_t *key, const struct kv *e,
			  const char *where);
wodan_t *open_or_fail(struct wodan_backend *be, unsigned flags,
			     uint64_t dirty);
void check_clean(struct wodan_backend *be, uint64_t live);
void rand_bytes(uint64_t *rng, uint8_t *p, size_t n);
void test_exhaustion(void **state);
void test_out_of_space_is_final(void **state);
void test_value_too_large(void **state);
void test_bad_key(void **state);
void test_no_tombstones(void **state);
void test_readonly(void **state);
void test_autoflush(void **state);
void test_flush_then_retry(void **state);

#endif
