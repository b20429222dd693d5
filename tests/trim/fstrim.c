/*
 * trim/fstrim.c -- fstrim discards exactly the complement of the reachable
 * blocks, one range per maximal run
 */
#include "trim.h"

/* ---------------------------------------------------------- fstrim tests */

/* A fresh image: everything but block 0 and the root at fbw is free, and
 * the run reaching the end of the device is counted (doc/ORIGINAL.md L12). */
void test_fstrim_fresh(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0xf5;
	int end_run_seen = 0;
	for (int round = 0; round < 8; round++) {
		uint64_t lsize = 8 + tu_below(&rng, 120);
		struct memdev *d = rd_new(lsize * BS);
		rd_fill(d, 0x5a);
		mkfs_rng = tu_splitmix(&rng);
		mkfs_on(d, lsize, 0);
		wodan_t *w;
		assert_int_equal(wodan_open(&d->be, &opts, &w), 0);
		struct wodan_info info;
		wodan_get_info(w, &info);
		uint64_t fbw = info.root_block;
		assert_int_equal(fbw, info.first_block_written);
		d->recording = 1;
		uint64_t n = 0;
		assert_int_equal(wodan_fstrim(w, &n), 0);
		assert_int_equal(n, lsize - 2);
		size_t nr;
		struct range *v = discards_since(d, 0, &nr);
		uint8_t *forbid = calloc(lsize, 1), *expect = calloc(lsize, 1);
		forbid[0] = forbid[fbw] = 1;
		for (uint64_t L = 1; L < lsize; L++)
			expect[L] = L != fbw;
		assert_int_equal(check_ranges(v, nr, lsize, forbid, expect,
					      "fresh fstrim"), lsize - 2);
		assert_int_equal(nr, (fbw > 1) + (fbw < lsize - 1));
		end_run_seen |= fbw < lsize - 1;
		struct wodan_stats st;
		wodan_get_stats(w, &st);
		assert_int_equal(st.blocks_discarded, lsize - 2);
		assert_int_equal(wodan_close(w), 0);
		expect_clean(&d->be, 1, "fresh fstrim");
		free(v);
		free(forbid);
		free(expect);
		rd_free(d);
	}
	assert_true(end_run_seen);
}

/* Random trees: fstrim discards exactly the unreachable blocks. */
void test_fstrim_random(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0xf57;
	uint64_t runs = tu_env_u64("WODAN_TRIM_RUNS", 3);
	for (uint64_t run = 0; run < runs; run++) {
		uint64_t lsize = 160 + tu_below(&rng, 160);
		struct memdev *d = rd_new(lsize * BS);
		rd_fill(d, 0x5a);
		mkfs_rng = tu_splitmix(&rng);
		mkfs_on(d, lsize, 0);
		struct model m;
		model_init(&m, tu_splitmix(&rng), 200 + (uint32_t)tu_below(&rng, 300));
		wodan_t *w;
		assert_int_equal(wodan_open(&d->be, &opts, &w), 0);
		uint32_t flushes = 3 + (uint32_t)tu_below(&rng, 8);
		for (uint32_t f = 0; f < flushes; f++) {
			uint32_t nops = 10 + (uint32_t)tu_below(&rng, 60);
			for (uint32_t i = 0; i < nops; i++) {
				int r = model_op(w, &m, 900);
				if (r == WODAN_E_NEEDS_FLUSH)
					assert_int_equal(wodan_flush(w, NULL), 0);
				else if (r != WODAN_E_OUT_OF_SPACE)
					assert_int_equal(r, 0);
			}
			assert_int_equal(wodan_flush(w, NULL), 0);
		}
		/* oracle on the durable image */
		uint8_t *img = rd_snapshot(d);
		uint8_t *reach = malloc(lsize), *expect = malloc(lsize);
		uint64_t gen;
		reachable(img, lsize * BS, lsize, reach, &gen);
		uint8_t *walked = malloc(lsize);
		uint64_t wgen;
		reachable_walk(img, lsize * BS, lsize, walked, &wgen);
		assert_int_equal(wgen, gen);
		assert_memory_equal(walked, reach, lsize);
		free(walked);
		uint64_t nreach = 0;
		for (uint64_t L = 0; L < lsize; L++) {
			expect[L] = !reach[L];
			nreach += reach[L];
		}
		struct wodan_info info;
		wodan_get_info(w, &info);
		assert_int_equal(info.generation, gen);
		assert_true(reach[info.root_block]);
		/* the space map agrees with the oracle's count */
		assert_int_equal(info.used_blocks, nreach);

		struct wodan_stats st0, st1;
		wodan_get_stats(w, &st0);
		d->recording = 1;
		uint64_t n = 0;
		assert_int_equal(wodan_fstrim(w, &n), 0);
		wodan_get_stats(w, &st1);
		size_t nr;
		struct range *v = discards_since(d, 0, &nr);
		assert_int_equal(check_ranges(v, nr, lsize, reach, expect,
					      "fstrim"), n);
		assert_int_equal(n, lsize - nreach);
		assert_int_equal(st1.blocks_discarded - st0.blocks_discarded, n);
		free(v);

		/* live trim has nothing left; a second fstrim discards the
		 * same free blocks again */
		memdev_clear_log(d);
		uint64_t n2 = 1;
		assert_int_equal(wodan_live_trim(w, &n2), 0);
		assert_int_equal(n2, 0);
		assert_int_equal(d->nlog, 0);
		assert_int_equal(wodan_fstrim(w, &n2), 0);
		assert_int_equal(n2, n);
		d->recording = 0;
		memdev_clear_log(d);

		/* fstrim flushes first: dirty changes survive an abandon */
		for (uint32_t i = 0; i < 20; i++) {
			int r = model_op(w, &m, 900);
			if (r == WODAN_E_NEEDS_FLUSH)
				assert_int_equal(wodan_flush(w, NULL), 0);
			else if (r != WODAN_E_OUT_OF_SPACE)
				assert_int_equal(r, 0);
		}
		assert_int_equal(wodan_fstrim(w, NULL), 0);
		wodan_abandon(w);

		/* the trimmed image (discards zeroed the blocks) is intact */
		expect_clean(&d->be, 0, "after fstrim");
		assert_int_equal(wodan_open(&d->be, &opts, &w), 0);
		expect_contents(w, &m, m.cur, "after fstrim");
		assert_int_equal(wodan_close(w), 0);
		printf("# fstrim run %llu: lsize %llu, %llu flushes, %llu "
		       "reachable, %llu discarded in %zu ranges\n",
		       (unsigned long long)run, (unsigned long long)lsize,
		       (unsigned long long)flushes, (unsigned long long)nreach,
		       (unsigned long long)n, nr);
		free(img);
		free(reach);
		free(expect);
		model_free(&m);
		rd_free(d);
	}
}
