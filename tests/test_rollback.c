/*
 * test_rollback.c -- doc/SPEC.md §8.3: when the newest root's tree is
 * damaged, a plain open fails with the block address, check reports intact
 * older generations, and an open with WODAN_OPEN_ROLLBACK returns exactly
 * the state of an older flush; writing after the rollback and reopening
 * without the option finds the new state (the damaged root never wins
 * again).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"

#define KS 8
#define NKEYS 400
#define NFLUSH 12

static uint64_t seed;
/* state[f][k]: value byte of key k after flush f (0 = absent) */
static uint8_t state[NFLUSH][NKEYS];
static uint64_t gens[NFLUSH];

static void mkkey(uint8_t *k, uint32_t i)
{
	memset(k, 0, KS);
	k[0] = (uint8_t)(i >> 8);
	k[1] = (uint8_t)i;
	k[2] = 0x5a;
}

struct cmpctx {
	const uint8_t *want;
	uint32_t next;
	int ok;
};

static int cmp_cb(void *arg, const uint8_t *key, const uint8_t *val,
		  size_t len)
{
	struct cmpctx *c = arg;
	while (c->next < NKEYS && !c->want[c->next])
		c->next++;
	uint8_t k[KS];
	mkkey(k, c->next);
	if (c->next >= NKEYS || memcmp(k, key, KS) || len != 100 ||
	    val[0] != c->want[c->next])
		c->ok = 0;
	c->next++;
	return 0;
}

static int equals_state(wodan_t *w, const uint8_t *want)
{
	struct cmpctx c = { want, 0, 1 };
	assert_int_equal(wodan_iterate(w, NULL, NULL, cmp_cb, &c), 0);
	while (c.next < NKEYS && !want[c.next])
		c.next++;
	return c.ok && c.next >= NKEYS;
}

static void test_rollback(void **st)
{
	(void)st;
	uint64_t rng = seed;
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(4u << 20, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = 4096,
				       .key_size_bytes = KS, .tombstones = 1 };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	wodan_t *w;
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	uint8_t cur[NKEYS] = { 0 }, key[KS], val[100];
	for (int f = 0; f < NFLUSH; f++) {
		for (int j = 0; j < 150; j++) {
			uint32_t k = (uint32_t)tu_below(&rng, NKEYS);
			mkkey(key, k);
			uint8_t v = (uint8_t)(1 + tu_below(&rng, 255));
			memset(val, v, sizeof val);
			assert_int_equal(wodan_insert(w, key, KS, val, 100), 0);
			cur[k] = v;
		}
		assert_int_equal(wodan_flush(w, &gens[f]), 0);
		memcpy(state[f], cur, NKEYS);
	}
	struct wodan_info info;
	wodan_get_info(w, &info);
	assert_true(info.depth >= 1);
	assert_int_equal(wodan_close(w), 0);

	/* damage child link 0 of the newest root: one byte in its block */
	uint8_t *blk = malloc(4096);
	assert_int_equal(be->read(be, info.root_block * 4096, blk, 4096), 0);
	uint64_t child = 0;
	for (int b = 7; b >= 0; b--)
		child = (child << 8) | blk[4096 - 4 - (KS + 8) + KS + b];
	assert_true(child > 0 && child < info.logical_size_blocks);
	assert_int_equal(be->read(be, child * 4096, blk, 4096), 0);
	blk[200] ^= 0x10;
	assert_int_equal(be->write(be, child * 4096, blk, 4096), 0);

	/* plain open refuses and names the block */
	w = NULL;
	int r = wodan_open(be, NULL, &w);
	assert_int_equal(r, WODAN_E_BAD_CRC);
	assert_int_equal(wodan_last_error()->block, child);

	/* check reports the block and intact older generations */
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL), 1);
	assert_true(rep.n_problems >= 1);
	assert_int_equal(rep.problems[0].block, child);
	assert_true(rep.n_intact_older >= 1);
	uint64_t older = rep.intact_older_generations[0];
	wodan_check_report_free(&rep);

	/* rollback open: exactly the state of that older flush */
	struct wodan_open_opts o = { .flags = WODAN_OPEN_ROLLBACK };
	assert_int_equal(wodan_open(be, &o, &w), 0);
	wodan_get_info(w, &info);
	assert_int_equal(info.generation, older);
	int f = -1;
	for (int i = 0; i < NFLUSH; i++)
		if (gens[i] == older)
			f = i;
	assert_true(f >= 0 && f < NFLUSH - 1);
	assert_true(equals_state(w, state[f]));

	/* write on, then a plain open finds the new state */
	mkkey(key, 7);
	memset(val, 0xee, sizeof val);
	assert_int_equal(wodan_insert(w, key, KS, val, 100), 0);
	uint64_t g2;
	assert_int_equal(wodan_flush(w, &g2), 0);
	assert_true(g2 > gens[NFLUSH - 1]);
	assert_int_equal(wodan_close(w), 0);
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	wodan_get_info(w, &info);
	assert_int_equal(info.generation, g2);
	state[f][7] = 0xee;
	assert_true(equals_state(w, state[f]));
	assert_int_equal(wodan_close(w), 0);
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL), 0);
	wodan_check_report_free(&rep);
	free(blk);
	wodan_backend_close(be);
}

int main(void)
{
	seed = tu_seed("test_rollback");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
