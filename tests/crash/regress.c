/*
 * crash/regress.c -- regression tests built exactly: the torn rewrite of a torn
 * root (B4) and a root generation at or above the limit.
 */
#include "crash.h"
#include "crc.h" /* wd_crc_seal: crafted images */

/* --------------------------------------------- torn rewrite of a torn root */

/*
 * B4, built exactly: two power cuts tear two root writes to the same block,
 * and together the sectors form the first root, which was never
 * acknowledged.  Base: a leaf root R0 with 30 keys.  The first flush adds
 * key A: its root R1 goes to the first free block X after R0 and is torn,
 * so that only the sectors where R1 differs from R2 below land (plus, in
 * the second variant, its header sector).  The mount finds R0.  The next
 * flush adds key B instead: without a crash in between it would write R2 to
 * X with R1's generation, and R2 equals R1 in every other sector.  The
 * second cut tears R2 so that exactly those equal sectors land.  Before the
 * fix the block then held R1 whole: the mount found generation
 * gen(R0) + 1 with key A, a state no flush ever acknowledged.  The rule
 * checked: the mount after the second cut shows R0's keys (or R2's, had
 * it landed), never key A; check is clean; life goes on.
 */
/* For b4_case: a RAM device whose every write first saves what it
 * overwrites into b4_prev (same offsets), so that after a flush b4_prev
 * holds each block as it was right before its last write. */
static uint8_t *b4_prev;
static int (*b4_lower_write)(struct wodan_backend *, uint64_t, const void *,
			     size_t);

static int b4_write(struct wodan_backend *be, uint64_t off, const void *buf,
		    size_t len)
{
	if (off <= be->size_bytes && len <= be->size_bytes - off)
		memcpy(b4_prev + off, ((struct memdev *)be)->mem + off, len);
	return b4_lower_write(be, off, buf, len);
}

static void b4_case(int header_landed)
{
	const uint64_t lsize = 64;
	const size_t size = lsize * BS, SEC = 512, nsec = BS / SEC;
	const uint32_t KA = 1000, KB = 1001, LEN = 40;
	uint8_t *img = calloc(1, size), *tmp = malloc(size), *base = malloc(size);
	uint8_t *r1 = malloc(BS), *r2 = malloc(BS), *pre = malloc(size);
	assert_non_null(img);
	assert_non_null(tmp);
	assert_non_null(base);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_non_null(pre);
	struct memdev d;
	struct ent *snap0 = snap_new(&pool);
	uint8_t k[KS], v[LEN];
	wodan_t *w;
	struct wodan_info info;
	uint64_t g0, g1 = 0, g2 = 0, x1 = 0, x2 = 0;

	memdev_init(&d, img, size, "crash-ram");
	b4_lower_write = d.be.write;
	d.be.write = b4_write;
	b4_prev = pre;
	struct wodan_mkfs_params mp = { .block_size_bytes = BS,
					.key_size_bytes = KS,
					.tombstones = 1 };
	assert_int_equal(wodan_mkfs(&d.be, &mp, NULL), 0);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	for (uint32_t i = 1; i <= 30; i++) {
		mkkey(i, k);
		gen_val(i, 1, LEN, v);
		assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
		snap0[i] = (struct ent){ 1, LEN };
	}
	assert_int_equal(wodan_flush(w, &g0), 0);
	assert_int_equal(wodan_close(w), 0);
	memcpy(base, img, size);

	/* R1 and R2: what the two flushes write from R0 without any cut */
	for (int pass = 0; pass < 2; pass++) {
		memcpy(img, base, size);
		assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
		uint32_t key = pass ? KB : KA;
		mkkey(key, k);
		gen_val(key, 2, LEN, v);
		assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
		assert_int_equal(wodan_flush(w, pass ? &g2 : &g1), 0);
		wodan_get_info(w, &info);
		wodan_abandon(w);
		*(pass ? &x2 : &x1) = info.root_block;
		memcpy(pass ? r2 : r1, img + info.root_block * BS, BS);
	}
	/* the scenario's preconditions: same block, same generation, same
	 * header sector, and some sectors differ */
	assert_true(x1 == x2 && g1 == g2 && g1 == g0 + 1);
	assert_memory_equal(r1, r2, SEC);
	int differ[16] = { 0 }, ndiff = 0;
	for (size_t sct = 0; sct < nsec; sct++) {
		differ[sct] = memcmp(r1 + sct * SEC, r2 + sct * SEC, SEC) != 0;
		ndiff += differ[sct];
	}
	assert_true(ndiff > 0 && ndiff < (int)nsec - 1);

	/* first cut: R1 torn at X, only the differing sectors (and, in the
	 * second variant, the header sector) landed */
	memcpy(img, base, size);
	for (size_t sct = 0; sct < nsec; sct++)
		if (differ[sct] || (header_landed && sct == 0))
			memcpy(img + x1 * BS + sct * SEC, r1 + sct * SEC, SEC);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	wodan_get_info(w, &info);
	assert_true(info.generation == g0);
	char why[300];
	if (state_equal(w, &pool, snap0, why, sizeof why))
		fail_msg("B4 (header %d): after the first cut: %s",
			 header_landed, why);
	/* the next flush, cut in its root write (everything before it is
	 * durable: a barrier precedes the root): the sectors where R2 equals
	 * R1 land, the others keep what the block held before that write */
	mkkey(KB, k);
	gen_val(KB, 2, LEN, v);
	assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
	memcpy(pre, img, size);
	uint64_t gen2;
	assert_int_equal(wodan_flush(w, &gen2), 0);
	wodan_get_info(w, &info);
	uint64_t y = info.root_block;
	wodan_abandon(w);
	for (size_t sct = 0; sct < nsec; sct++)
		if (differ[sct])
			memcpy(img + y * BS + sct * SEC, pre + y * BS + sct * SEC,
			       SEC);

	/* the mount must not find R1 */
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	wodan_get_info(w, &info);
	mkkey(KA, k);
	uint8_t got[LEN];
	size_t gl = 0;
	int ra = wodan_lookup(w, k, KS, got, sizeof got, &gl);
	if (ra != 0 || state_equal(w, &pool, snap0, why, sizeof why))
		fail_msg("B4 (header %d): two torn root writes to block %llu "
			 "gave generation %llu at block %llu%s: %s", header_landed,
			 (unsigned long long)x1,
			 (unsigned long long)info.generation,
			 (unsigned long long)info.root_block,
			 ra == 1 ? ", with the never acknowledged key A" : "",
			 ra == 1 ? "the first cut's root came back" : why);
	assert_true(info.generation == g0);
	/* life goes on: a flush and a reopen */
	mkkey(KB, k);
	gen_val(KB, 3, LEN, v);
	assert_int_equal(wodan_insert(w, k, KS, v, LEN), 0);
	assert_int_equal(wodan_close(w), 0);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(&d.be, 0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.live_keys, 31);
	wodan_check_report_free(&rep);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	snap0[KB] = (struct ent){ 3, LEN };
	if (state_equal(w, &pool, snap0, why, sizeof why))
		fail_msg("B4 (header %d): after life goes on: %s",
			 header_landed, why);
	wodan_abandon(w);
	free(snap0);
	free(img);
	free(tmp);
	free(base);
	free(r1);
	free(r2);
	free(pre);
}

void test_b4_torn_rewrite(void **state)
{
	(void)state;
	b4_case(0);
	b4_case(1);
	printf("# B4: two torn root writes to one block, header sector lost "
	       "or landed in the first: the mount finds the last durable "
	       "root\n");
}

/* ------------------------------------------ check and open agree on gens */

/*
 * A root whose generation is at or above 2^62 (journal.h WD_GEN_LIMIT):
 * a writable open refuses it (the next generations would wrap to a
 * preroot's 0), so wodan_check must report it as a problem naming the
 * block and the generation, not call the image clean.  The image is made
 * by the library and its root's generation rewritten, CRC re-sealed.
 */
void test_check_huge_root_generation(void **state)
{
	(void)state;
	const uint64_t lsize = 64, gens[] = { 1ull << 62, (1ull << 62) + 1,
					      UINT64_MAX - 1, UINT64_MAX };
	const size_t size = lsize * BS;
	uint8_t *img = calloc(1, size);
	assert_non_null(img);
	struct memdev d;
	memdev_init(&d, img, size, "crash-ram");
	struct wodan_mkfs_params mp = { .block_size_bytes = BS,
					.key_size_bytes = KS,
					.tombstones = 1 };
	assert_int_equal(wodan_mkfs(&d.be, &mp, NULL), 0);
	wodan_t *w;
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	uint8_t k[KS], v[100];
	for (uint32_t i = 1; i < 200; i++) {
		mkkey(i, k);
		gen_val(i, 1, sizeof v, v);
		assert_int_equal(wodan_insert(w, k, KS, v, sizeof v), 0);
	}
	assert_int_equal(wodan_close(w), 0);
	assert_int_equal(wodan_open(&d.be, NULL, &w), 0);
	struct wodan_info info;
	wodan_get_info(w, &info);
	wodan_abandon(w);
	uint64_t L = info.root_block;
	assert_true(info.depth >= 1); /* the root has children */
	uint8_t *saved = malloc(BS);
	assert_non_null(saved);
	memcpy(saved, img + L * BS, BS);
	for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
		uint8_t *blk = img + L * BS;
		memcpy(blk, saved, BS);
		for (int b = 0; b < 8; b++)
			blk[1 + b] = (uint8_t)(gens[i] >> (8 * b));
		wd_crc_seal(blk, BS);
		/* the open refuses to write above it; read-only works */
		int r = wodan_open(&d.be, NULL, &w);
		assert_int_equal(r, WODAN_E_CORRUPT);
		struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
		assert_int_equal(wodan_open(&d.be, &ro, &w), 0);
		wodan_get_info(w, &info);
		assert_true(info.generation == gens[i]);
		wodan_abandon(w);
		/* check: a problem at the root's block, naming it and the
		 * generation; the tree itself is fine */
		struct wodan_check_report rep;
		r = wodan_check(&d.be, 0, &rep, NULL, NULL);
		char want_gen[32], want_blk[48];
		snprintf(want_gen, sizeof want_gen, "%llu",
			 (unsigned long long)gens[i]);
		snprintf(want_blk, sizeof want_blk, "block %llu",
			 (unsigned long long)L);
		if (r != 1 || rep.n_problems != 1 || rep.problems[0].block != L ||
		    rep.problems[0].code != WODAN_E_CORRUPT ||
		    !strstr(rep.problems[0].what, want_gen) ||
		    !strstr(rep.problems[0].what, want_blk))
			fail_msg("check of a root at generation %llu (block %llu):"
				 " returned %d, %u problems, first at block "
				 "%llu: %s", (unsigned long long)gens[i],
				 (unsigned long long)L, r, rep.n_problems,
				 rep.n_problems ? (unsigned long long)
				 rep.problems[0].block : 0ull,
				 rep.n_problems ? rep.problems[0].what : "-");
		assert_true(rep.opened);
		assert_true(rep.generation == gens[i]);
		assert_int_equal(rep.live_keys, 199);
		wodan_check_report_free(&rep);
	}
	/* and the generation just below the limit is clean */
	memcpy(img + L * BS, saved, BS);
	for (int b = 0; b < 8; b++)
		img[L * BS + 1 + b] = (uint8_t)(((1ull << 62) - 1) >> (8 * b));
	wd_crc_seal(img + L * BS, BS);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(&d.be, 0, &rep, NULL, NULL), 0);
	wodan_check_report_free(&rep);
	free(saved);
	free(img);
}
