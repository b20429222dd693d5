/*
 * layout/mkfs.c -- a fresh mkfs image and its first flushes, block by block
 */
#include "layout.h"

static void read_blk(struct wodan_backend *be, uint64_t L, uint8_t *blk)
{
	assert_int_equal(be->read(be, L * IMG_BS, blk, IMG_BS), 0);
}

/* The empty root of doc/SPEC.md §7 for a given fsid (bs 4096). */
static void hand_image_root(uint8_t *blk, uint64_t gen, const uint8_t *fsid)
{
	memset(blk, 0, IMG_BS);
	blk[0] = 0x01;              /*  0 nodetype root */
	put64(blk + 1, gen);        /*  1 generation */
	memcpy(blk + 9, fsid, 16);  /*  9 fsid */
	/* 25 value_count 0, 29 depth 0, empty body: zero */
	hand_seal(blk, IMG_BS, NULL);
}

static uint64_t ring_next(uint64_t L, uint64_t lsize)
{
	return L + 1 >= lsize ? 1 : L + 1;
}

static void check_fresh_image(struct wodan_backend *be, uint64_t lsize,
			      uint64_t dev_blocks, int tombstones,
			      uint64_t *fbw_out, uint8_t fsid[16])
{
	uint8_t blk[IMG_BS], want[IMG_BS];
	read_blk(be, 0, blk);
	/* superblock fields, read at the table offsets */
	assert_memory_equal(blk, "MIRAGE KVFS \xf0\x9f\x90\xaa", 16);
	assert_int_equal(le32(blk + 16), 1);
	assert_int_equal(le32(blk + 20), 0);
	assert_int_equal(le32(blk + 24), tombstones ? 0xF : 0x7);
	assert_int_equal(le32(blk + 28), IMG_BS);
	assert_int_equal(blk[32], IMG_KS);
	uint64_t fbw = le64(blk + 33);
	assert_true(le64(blk + 41) == lsize);
	assert_true(fbw >= 1 && fbw < lsize);
	memcpy(fsid, blk + 49, 16);
	assert_true(all_zero(blk + 65, 508 - 65));
	assert_int_equal(wd_crc32c(0, blk, 512), 0xFFFFFFFFu);
	assert_true(all_zero(blk + 512, IMG_BS - 512)); /* rest of block 0 */
	struct wd_geom d;
	assert_int_equal(wd_sb_decode(blk, 0, be->size_bytes, 512, &d), 0);

	/* root at fbw: the empty root, generation 1 */
	read_blk(be, fbw, blk);
	hand_image_root(want, 1, fsid);
	assert_bytes(want, blk, IMG_BS, "mkfs root");

	/* every other block in [1, lsize) is zero or a preroot (gen 0);
	 * nothing at or past lsize */
	hand_image_root(want, 0, fsid);
	uint8_t *is_pre = calloc(lsize, 1);
	assert_non_null(is_pre);
	uint64_t npre = 0;
	for (uint64_t L = 1; L < dev_blocks; L++) {
		if (L == fbw)
			continue;
		read_blk(be, L, blk);
		if (all_zero(blk, IMG_BS))
			continue;
		if (L >= lsize)
			fail_msg("block %llu at or past lsize %llu written",
				 (unsigned long long)L,
				 (unsigned long long)lsize);
		assert_bytes(want, blk, IMG_BS, "preroot");
		is_pre[L] = 1;
		npre++;
	}
	/* preroots every 32 blocks after fbw, going round 1..lsize-1; the
	 * distance between consecutive root candidates (fbw and preroots)
	 * in that circular order is at most 32 */
	if (32 < lsize - 1) {
		for (uint64_t L = fbw + 32; L < lsize; L += 32)
			if (!is_pre[L])
				fail_msg("no preroot at %llu (fbw %llu lsize "
					 "%llu)", (unsigned long long)L,
					 (unsigned long long)fbw,
					 (unsigned long long)lsize);
		uint64_t gap = 0, L = fbw;
		for (uint64_t i = 0; i < lsize - 1; i++) {
			L = ring_next(L, lsize);
			gap++;
			if (L == fbw || is_pre[L]) {
				if (gap > 32)
					fail_msg("%llu blocks without a root "
						 "candidate before %llu (fbw "
						 "%llu lsize %llu)",
						 (unsigned long long)gap,
						 (unsigned long long)L,
						 (unsigned long long)fbw,
						 (unsigned long long)lsize);
				gap = 0;
			}
		}
		assert_true(npre >= (lsize - 2) / 32);
	} else {
		assert_int_equal(npre, 0);
	}
	free(is_pre);
	*fbw_out = fbw;
}

void test_mkfs_image(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { 2, 3, 33, 34, 35, 64, 65, 100, 200 };
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		uint64_t lsize = sizes[si], dev_blocks = lsize + 3;
		int reps = lsize < 4 ? 6 : 40; /* fbw is random: cover many */
		for (int rep = 0; rep < reps; rep++) {
			struct wodan_backend *be;
			assert_int_equal(wodan_backend_ram_create(
						 dev_blocks * IMG_BS, &be), 0);
			struct wodan_mkfs_params p = { 0 };
			p.block_size_bytes = IMG_BS;
			p.key_size_bytes = IMG_KS;
			p.logical_size_blocks = lsize;
			p.tombstones = rep & 1;
			uint64_t gen = 0;
			assert_int_equal(wodan_mkfs(be, &p, &gen), 0);
			assert_true(gen == 1);
			uint64_t fbw;
			uint8_t fsid[16];
			check_fresh_image(be, lsize, dev_blocks, rep & 1, &fbw,
					  fsid);
			wodan_backend_close(be);
		}
	}
}

static int cmp_key20(const void *a, const void *b)
{
	return memcmp(a, b, IMG_KS);
}

/* --no-tombstones image: mkfs, check, open, insert, flush, check the new
 * root byte by byte. */
void test_mkfs_flush(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0xabc;
	const uint64_t lsize = 100, dev_blocks = 100;
	for (int rep = 0; rep < 8; rep++) {
		struct wodan_backend *be;
		assert_int_equal(wodan_backend_ram_create(dev_blocks * IMG_BS,
							  &be), 0);
		struct wodan_mkfs_params p = { 0 };
		p.block_size_bytes = IMG_BS;
		p.key_size_bytes = IMG_KS;
		p.tombstones = 0;
		assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
		uint64_t fbw;
		uint8_t fsid[16];
		check_fresh_image(be, lsize, dev_blocks, 0, &fbw, fsid);

		wodan_t *w;
		assert_int_equal(wodan_open(be, NULL, &w), 0);
		struct wodan_info info;
		assert_int_equal(wodan_get_info(w, &info), 0);
		assert_true(info.generation == 1);
		assert_true(info.root_block == fbw);
		assert_int_equal(info.incompat_flags, 0x7);
		assert_int_equal(info.tombstones, 0);

		/* a few keys with random bytes, values of various lengths
		 * (one empty: an ordinary value without tombstones) */
		enum { N = 5 };
		uint8_t keys[N][IMG_KS];
		uint8_t vals[N][40];
		uint32_t lens[N] = { 0, 1, 7, 20, 40 };
		for (int i = 0; i < N; i++) {
			for (unsigned j = 0; j < IMG_KS; j++)
				keys[i][j] = (uint8_t)tu_splitmix(&rng);
			for (unsigned j = 0; j < 40; j++)
				vals[i][j] = (uint8_t)tu_splitmix(&rng);
			assert_int_equal(wodan_insert(w, keys[i], IMG_KS,
						      vals[i], lens[i]), 0);
		}
		uint64_t gen = 0;
		assert_int_equal(wodan_flush(w, &gen), 0);
		assert_true(gen == 2);
		assert_int_equal(wodan_get_info(w, &info), 0);
		assert_true(info.generation == 2);
		assert_int_equal(info.depth, 0);
		uint64_t L = info.root_block;
		assert_true(L != fbw && L >= 1 && L < lsize);
		/* the allocator continues circularly right after the root
		 * (doc/ORIGINAL.md §4.3, §7.2) */
		assert_true(L == ring_next(fbw, lsize));

		/* expected root, built by hand: items in ascending key order */
		uint8_t order[N][IMG_KS + 1];
		for (int i = 0; i < N; i++) {
			memcpy(order[i], keys[i], IMG_KS);
			order[i][IMG_KS] = (uint8_t)i;
		}
		qsort(order, N, sizeof order[0], cmp_key20);
		uint8_t want[IMG_BS], blk[IMG_BS];
		memset(want, 0, IMG_BS);
		want[0] = 0x01;                  /*  0 root */
		put64(want + 1, 2);              /*  1 generation 2 */
		memcpy(want + 9, fsid, 16);      /*  9 fsid */
		put32(want + 25, N);             /* 25 value_count */
		put32(want + 29, 0);             /* 29 depth 0 */
		size_t o = 33;
		for (int i = 0; i < N; i++) {
			int k = order[i][IMG_KS];
			memcpy(want + o, keys[k], IMG_KS); /* key */
			o += IMG_KS;
			want[o++] = (uint8_t)lens[k];      /* datalen u16 LE */
			want[o++] = 0;
			memcpy(want + o, vals[k], lens[k]); /* data */
			o += lens[k];
		}
		hand_seal(want, IMG_BS, NULL);
		read_blk(be, L, blk);
		assert_int_equal(blk[0], 1);
		assert_true(le64(blk + 1) == 2);
		assert_int_equal(le32(blk + 25), N);
		assert_int_equal(le32(blk + 29), 0);
		assert_bytes(want, blk, IMG_BS, "root after flush");

		/* the old root is untouched (still a valid gen-1 root) */
		read_blk(be, fbw, blk);
		hand_image_root(want, 1, fsid);
		assert_bytes(want, blk, IMG_BS, "old root after flush");
		/* the superblock is never rewritten */
		read_blk(be, 0, blk);
		assert_int_equal(le32(blk + 24), 0x7);
		assert_true(le64(blk + 33) == fbw);

		/* remount finds generation 2 with the same data */
		assert_int_equal(wodan_close(w), 0);
		assert_int_equal(wodan_open(be, NULL, &w), 0);
		assert_int_equal(wodan_get_info(w, &info), 0);
		assert_true(info.generation == 2);
		assert_true(info.root_block == L);
		for (int i = 0; i < N; i++) {
			uint8_t got[64];
			size_t len = 0;
			assert_int_equal(wodan_lookup(w, keys[i], IMG_KS, got,
						      sizeof got, &len), 1);
			assert_int_equal(len, lens[i]);
			assert_memory_equal(got, vals[i], lens[i]);
		}
		wodan_abandon(w);
		wodan_backend_close(be);
	}
}
