/*
 * crash/main.c -- the crash suite's entry point (see crash.h).
 */
#include "crash.h"
#define FIXED_RANDOM_LINKAGE
#include "fixed_random.h"

uint64_t seed;
int verbose;
uint64_t last_ghost_root, last_ghost_gen, b4_seen;
uint64_t max_print = 20;
struct kvpool pool;
struct built scripted[K_NKINDS * NVAR];
struct workload works[NWORK];

int main(void)
{
	/* values: the same stream as before the suite was split */
	kv_pool_indexed(&pool, NPOOL, 0xc0ffee);
	const char *rp = getenv("WODAN_CRASH_REPLAY");
	if (rp)
		return replay(rp);
	seed = tu_seed("test_crash");
	max_print = tu_env_u64("WODAN_CRASH_PRINT", 20);
	uint64_t soak_n = tu_env_u64("WODAN_CRASH_SOAK", 0);
	if (soak_n)
		return soak(soak_n);
	/* WODAN_CRASH_TEST=NAME runs only the tests matching NAME (cmocka
	 * filter, e.g. test_b4_torn_rewrite) */
	if (getenv("WODAN_CRASH_TEST"))
		cmocka_set_test_filter(getenv("WODAN_CRASH_TEST"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b4_torn_rewrite),
		cmocka_unit_test(test_check_huge_root_generation),
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_ioerr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
