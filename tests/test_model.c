/*
 * test_model.c -- randomized model test over the public API, through the
 * random-operation model of fuzz/opmodel.c (the one `wodanc fuzz --ops`
 * runs): insert / delete / lookup / range iteration / flush (twice: the
 * second keeps the generation) / close+reopen / power cut (abandon) +
 * reopen against an in-memory model, over block sizes 4 KiB..256 KiB and
 * key sizes 1..64, each with a small cache and, on half the opens, a
 * small dirty ceiling without auto flush (NEEDS_FLUSH comes often).
 *
 * Keys come from a sorted pool per configuration, including the all-0x00
 * and all-0xff keys.  The model keeps the current state and the state of
 * the last flush; an abandoned handle must reopen to exactly the flushed
 * state; dirty memory never passes the hard ceiling; at the end
 * wodan_check finds the image clean with the model's live keys.
 * WODAN_SEED replays a run; WODAN_MODEL_OPS sets the total operation count
 * (default 200000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "../fuzz/opmodel.h"

struct cfg {
	uint32_t bs, ks;
	uint64_t dev_bytes;
	uint32_t pool;       /* distinct keys */
	uint32_t max_val;    /* cap on random value lengths */
	int tombstones;
};

static uint64_t seed, total;

static void print_replay(const struct om *s, FILE *f)
{
	fprintf(f, "%s: replay: WODAN_SEED=%llu WODAN_MODEL_OPS=%llu "
		"tests/test_model\n", s->name, (unsigned long long)seed,
		(unsigned long long)total);
}

static void run_cfg(const struct cfg *cf, uint64_t ops)
{
	struct om z;

	om_init(&z, "test_model", seed);
	z.replay = print_replay;
	z.rng = seed ^ ((uint64_t)cf->bs << 20) ^ cf->ks;
	z.c.bs = cf->bs;
	z.c.ks = cf->ks;
	z.c.blocks = cf->dev_bytes / cf->bs;
	z.c.nkeys = cf->pool;
	z.c.max_val = cf->max_val;
	z.c.tombstones = cf->tombstones;
	/* half the images keep a redo journal (incompat 0x10): flushes are
	 * then mostly journal commits, replayed by every reopen */
	z.c.journal = (int)(dr_splitmix64(&z.rng) & 1);
	/* a small cache forces evictions and reloads */
	z.c.cache = (uint64_t)cf->bs * 6;
	z.c.vary_budgets = 1;
	z.c.flush_twice = 1;
	z.c.flush_rate = 25;
	z.c.reopen_rate = 5;
	z.c.cut_rate = 5;
	/* insert, delete, lookup, range, whole iteration per 1000 */
	static const uint16_t mix[OM_NMIX] = { 518, 104, 363, 13, 2 };
	memcpy(z.c.mix, mix, sizeof mix);
	assert_int_equal(om_prepare(&z), 0);
	assert_int_equal(wodan_backend_ram_create(cf->dev_bytes, &z.be), 0);
	assert_int_equal(om_mkfs(&z), 0);
	if (om_run(&z, ops))
		fail_msg("model divergence, bs %u ks %u (seed %llu)", cf->bs,
			 cf->ks, (unsigned long long)seed);
	printf("# bs %u ks %u%s: %llu ops, depth %u, %llu nodes, %llu live, "
	       "%llu flushes, %llu reopens, %llu crashes, %llu hard-ceiling "
	       "stops\n", cf->bs, cf->ks, z.c.journal ? " journal" : "",
	       (unsigned long long)ops, z.depth,
	       (unsigned long long)z.nodes, (unsigned long long)z.dur.n,
	       (unsigned long long)z.n.flushes, (unsigned long long)z.n.reopens,
	       (unsigned long long)z.n.cuts,
	       (unsigned long long)z.n.hard_stops);
	om_free(&z);
	wodan_backend_close(z.be);
}

static const struct cfg cfgs[] = {
	{ 4096, 1, 16u << 20, 256, 300, 1 },
	{ 4096, 8, 32u << 20, 3000, 600, 1 },
	{ 4096, 64, 32u << 20, 2000, 400, 1 },
	{ 8192, 20, 32u << 20, 3000, 2000, 0 },
	{ 65536, 20, 128u << 20, 6000, 20000, 1 },
	{ 262144, 32, 256u << 20, 6000, 65535, 1 },
	{ 16384, 2, 32u << 20, 5000, 100, 1 },
};

static void test_model(void **state)
{
	(void)state;
	total = tu_env_u64("WODAN_MODEL_OPS", 200000);
	size_t n = sizeof cfgs / sizeof cfgs[0];
	for (size_t i = 0; i < n; i++)
		run_cfg(&cfgs[i], total / n + 1);
}

int main(void)
{
	seed = tu_seed("test_model");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
