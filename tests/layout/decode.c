/*
 * layout/decode.c -- the node decoder: round trips and every rejected
 * header, item and link
 */
#include "layout.h"

/* ------------------------------------------------------ 5. decode */

static struct wd_expect ex_root(void)
{
	struct wd_expect e = { 1, 0, NULL, NULL, UINT64_MAX };
	return e;
}

static struct wd_expect ex_child(uint32_t rdepth, const uint8_t *lo,
				 const uint8_t *hi, uint64_t pgen)
{
	struct wd_expect e = { 0, rdepth, lo, hi, pgen };
	return e;
}

/* Items and links of a and b equal (and their order). */
static void assert_same_node(const struct wd_node *a, const struct wd_node *b)
{
	assert_int_equal(a->nitems, b->nitems);
	assert_int_equal(a->log_bytes, b->log_bytes);
	for (uint32_t i = 0; i < a->nitems; i++) {
		const struct wd_item *x = wd_node_item(a, i);
		const struct wd_item *y = wd_node_item(b, i);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, NKS + x->len);
	}
	assert_int_equal(a->nlinks, b->nlinks);
	for (uint32_t i = 0; i < a->nlinks; i++) {
		assert_memory_equal(wd_link_key(a, NKS, i),
				    wd_link_key(b, NKS, i), NKS);
		assert_true(a->laddr[i] == b->laddr[i]);
	}
	assert_int_equal(a->rdepth, b->rdepth);
	assert_int_equal(a->is_root, b->is_root);
}

static void roundtrip(const struct wd_geom *g, const uint8_t *blk,
		      uint64_t L, const struct wd_expect *ex,
		      struct wd_node *model, uint64_t gen)
{
	struct wd_node *d = NULL;
	wd_err_clear();
	int r = wd_node_decode(g, blk, L, ex, &d);
	if (r)
		fail_msg("decode of block %llu failed: %d %s",
			 (unsigned long long)L, r,
			 wodan_last_error()->message);
	assert_non_null(d);
	assert_same_node(model, d);
	assert_true(d->gen == gen);
	assert_true(d->addr == L);
	/* re-encode: identical block */
	uint8_t again[NBS];
	encode(g, d, gen, again);
	assert_bytes(blk, again, NBS, "re-encoded block");
	wd_node_free(d);
	wd_node_free(model);
}

void test_decode_roundtrip(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect e;

	hand_empty_root(blk, "01 00 00 00 00 00 00 00", EMPTY_ROOT_G1_CRC);
	e = ex_root();
	roundtrip(&g, blk, 9, &e, wd_node_new(NKS, NULL, FF4, 0, 1), 1);

	hand_root2(blk);
	e = ex_root();
	roundtrip(&g, blk, 1, &e, mk_root2(), 7);

	hand_leaf(blk);
	e = ex_child(0, K40, FF4, 7);
	roundtrip(&g, blk, 42, &e, mk_leaf(), 5);

	hand_inner(blk);
	e = ex_child(1, NULL, K40, 7);
	roundtrip(&g, blk, 3, &e, mk_inner(), 4);

	/* root peek used by the root search */
	uint64_t gen = 0;
	hand_root2(blk);
	assert_int_equal(wd_node_peek_root(&g, blk, &gen), 1);
	assert_true(gen == 7);
	hand_leaf(blk);
	assert_int_equal(wd_node_peek_root(&g, blk, &gen), 0);
}

/* Decode blk (after resealing) and expect error code `want`; when want is
 * WODAN_E_CORRUPT the detail must name block L. */
static void expect_decode(const struct wd_geom *g, uint8_t *blk, uint64_t L,
			  const struct wd_expect *ex, int want,
			  const char *what)
{
	wd_crc_seal(blk, NBS);
	struct wd_node *d = (struct wd_node *)1;
	wd_err_clear();
	int r = wd_node_decode(g, blk, L, ex, &d);
	if (r != want)
		fail_msg("%s: decode returned %d (%s: %s), expected %d", what,
			 r, wodan_strerror(r), wodan_last_error()->message,
			 want);
	if (r) {
		assert_null(d);
		assert_int_equal(wodan_last_error()->code, r);
		assert_true(wodan_last_error()->block == L);
	} else {
		assert_non_null(d);
		wd_node_free(d);
	}
}

void test_decode_reject_header(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect er = ex_root();
	struct wd_expect el = ex_child(0, K40, FF4, 7);

	/* wrong type: a root where a child is expected and vice versa;
	 * unknown types 0, 3, ff */
	hand_root2(blk);
	expect_decode(&g, blk, 3, &el, WODAN_E_BAD_NODE_TYPE, "root as child");
	hand_leaf(blk);
	expect_decode(&g, blk, 42, &er, WODAN_E_BAD_NODE_TYPE, "child as root");
	static const uint8_t types[] = { 0, 3, 0xff };
	for (size_t i = 0; i < 3; i++) {
		hand_leaf(blk);
		blk[0] = types[i];
		expect_decode(&g, blk, 42, &el, WODAN_E_BAD_NODE_TYPE, "type");
		expect_decode(&g, blk, 42, &er, WODAN_E_BAD_NODE_TYPE, "type");
	}

	/* fsid mismatch: first and last fsid byte */
	hand_leaf(blk);
	blk[9] ^= 1;
	expect_decode(&g, blk, 42, &el, WODAN_E_FSID, "fsid byte 0");
	hand_root2(blk);
	blk[24] ^= 0x80;
	expect_decode(&g, blk, 1, &er, WODAN_E_FSID, "fsid byte 15");

	/* value_count too large for the block */
	hand_leaf(blk);
	put32(blk + 25, 0xFFFFFFFFu);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "count ffffffff");
	hand_leaf(blk);
	put32(blk + 25, (4092 - 29) / (NKS + 2) + 1);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "count max+1");
	hand_root2(blk);
	put32(blk + 25, 0x80000000u);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root count");

	/* generation not below the parent's (strict, unsigned) */
	hand_leaf(blk);
	expect_decode(&g, blk, 42, &el, 0, "gen 5 < 7");
	struct wd_expect e5 = ex_child(0, K40, FF4, 5);
	expect_decode(&g, blk, 42, &e5, WODAN_E_CORRUPT, "gen 5 !< 5");
	struct wd_expect e6 = ex_child(0, K40, FF4, 6);
	expect_decode(&g, blk, 42, &e6, 0, "gen 5 < 6");
	struct wd_expect e1 = ex_child(0, K40, FF4, 1);
	expect_decode(&g, blk, 42, &e1, WODAN_E_CORRUPT, "gen 5 !< 1");
	hand_leaf(blk);
	put64(blk + 1, 0x8000000000000000ull); /* negative as OCaml int64 */
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "gen 2^63 !< 7");
	struct wd_expect ebig = ex_child(0, K40, FF4, 0x8000000000000001ull);
	expect_decode(&g, blk, 42, &ebig, 0, "gen 2^63 < 2^63+1 (unsigned)");

	/* absurd root depth (empty, and with valid links) */
	hand_empty_root(blk, "01 00 00 00 00 00 00 00", NULL);
	put32(blk + 29, 0xFFFFFFFFu);
	expect_decode(&g, blk, 9, &er, WODAN_E_CORRUPT, "root depth ffffffff");
	hand_root2(blk);
	put32(blk + 29, 0xFFFFFFFFu);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root depth ffffffff");
	hand_root2(blk);
	put32(blk + 29, 2);
	expect_decode(&g, blk, 1, &er, 0, "root depth 2");
}

void test_decode_reject_items(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect er = ex_root();
	struct wd_expect el = ex_child(0, K40, FF4, 7);

	/* item length bleeding past the end (last item "hello" at 344) */
	hand_leaf(blk);
	blk[348] = 0xff;
	blk[349] = 0xff;
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "len ffff");
	/* exact boundary: one item ending exactly at block_end is fine, one
	 * byte more bleeds into the CRC */
	for (int extra = 0; extra < 2; extra++) {
		size_t o = 0;
		memset(blk, 0, NBS);
		hx(blk, &o, "02 05 00 00 00 00 00 00 00"); /* child, gen 5 */
		hx(blk, &o, FSID_HEX);
		hx(blk, &o, "01 00 00 00");                /* 1 item */
		hx(blk, &o, "50 00 00 00");                /* key */
		uint32_t len = 4092 - 29 - NKS - 2 + (uint32_t)extra;
		blk[o++] = (uint8_t)len;
		blk[o++] = (uint8_t)(len >> 8);
		/* value bytes: when the item fits, non-zero where link
		 * slots would be (they must not be read as links); when it
		 * bleeds, zero (so no other rule can catch the block) */
		memset(blk + o, extra ? 0 : 0x77, 4092 - o);
		expect_decode(&g, blk, 42, &el,
			      extra ? WODAN_E_CORRUPT : 0, "full leaf");
	}
	/* item header bleeding past the end: 2 items, the first ends 5
	 * bytes before block_end */
	{
		size_t o = 0;
		memset(blk, 0, NBS);
		hx(blk, &o, "01 05 00 00 00 00 00 00 00"); /* root, gen 5 */
		hx(blk, &o, FSID_HEX);
		hx(blk, &o, "02 00 00 00 00 00 00 00");    /* 2 items, depth 0 */
		hx(blk, &o, "50 00 00 00");
		uint32_t len = 4092 - 5 - 33 - NKS - 2;
		blk[o++] = (uint8_t)len;
		blk[o++] = (uint8_t)(len >> 8);
		expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "item header");
	}

	/* logged key outside (lo, hi]: leaf range (40000000, 80000000] */
	uint8_t k80[4] = { 0x80, 0, 0, 0 };
	struct wd_expect en = ex_child(0, K40, k80, 7);
	hand_leaf(blk); /* keys 50.., 60.., ff.. */
	expect_decode(&g, blk, 42, &en, WODAN_E_CORRUPT, "key ffffffff > hi");
	hand_leaf(blk);
	memcpy(blk + 344, "\x80\x00\x00\x00", 4);         /* key == hi */
	expect_decode(&g, blk, 42, &en, 0, "key == hi");
	memcpy(blk + 344, "\x80\x00\x00\x01", 4);         /* hi + 1 */
	expect_decode(&g, blk, 42, &en, WODAN_E_CORRUPT, "key hi+1");
	hand_leaf(blk);
	memcpy(blk + 29, "\x40\x00\x00\x00", 4);          /* key == lo */
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "key == lo");
	memcpy(blk + 29, "\x40\x00\x00\x01", 4);          /* lo + 1 */
	expect_decode(&g, blk, 42, &el, 0, "key lo+1");
	memcpy(blk + 29, "\x00\x00\x00\x00", 4);          /* below lo */
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "key 0 < lo");

	/* duplicate logged key: adjacent, and non-adjacent (unsorted) */
	hand_leaf(blk);
	memcpy(blk + 38, "\x50\x00\x00\x00", 4);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "adjacent dup");
	hand_leaf(blk);
	memcpy(blk + 344, "\x50\x00\x00\x00", 4);
	expect_decode(&g, blk, 42, &el, WODAN_E_CORRUPT, "dup first/last");
	hand_root2(blk);
	memcpy(blk + 41, "\x10\x00\x00\x01", 4);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root dup");
}

/* Unsorted logged items (legal in the original's reader) are accepted and
 * come out sorted, values following their keys. */
void test_decode_unsorted(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "02 05 00 00 00 00 00 00 00");     /* child, gen 5 */
	hx(blk, &o, FSID_HEX);
	hx(blk, &o, "04 00 00 00");                    /* 4 items */
	hx(blk, &o, "ff ff ff ff 05 00 68 65 6c 6c 6f"); /* ffffffff "hello" */
	hx(blk, &o, "60 00 00 00 00 00");              /* 60000000 "" */
	hx(blk, &o, "50 00 00 00 03 00 78 79 7a");     /* 50000000 "xyz" */
	hx(blk, &o, "50 00 00 01 01 00 21");           /* 50000001 "!" */
	struct wd_expect el = ex_child(0, K40, FF4, 7);
	wd_crc_seal(blk, NBS);
	struct wd_node *d = NULL;
	assert_int_equal(wd_node_decode(&g, blk, 42, &el, &d), 0);
	assert_int_equal(d->nitems, 4);
	assert_int_equal(d->log_bytes, 4 * 6 + 5 + 0 + 3 + 1);
	static const struct {
		const char *k, *v;
		uint16_t len;
	} want[] = {
		{ "\x50\x00\x00\x00", "xyz", 3 },
		{ "\x50\x00\x00\x01", "!", 1 },
		{ "\x60\x00\x00\x00", "", 0 },
		{ "\xff\xff\xff\xff", "hello", 5 },
	};
	for (int i = 0; i < 4; i++) {
		const struct wd_item *it = wd_node_item(d, (uint32_t)i);
		assert_memory_equal(wd_item_key(it), want[i].k, 4);
		assert_int_equal(it->len, want[i].len);
		assert_memory_equal(wd_item_val(it, NKS), want[i].v,
				    want[i].len);
	}
	/* and lookups by binary search work on the sorted log */
	const struct wd_item *hit =
		wd_log_get(d, NKS, (const uint8_t *)"\x60\x00\x00\x00");
	assert_non_null(hit);
	assert_int_equal(hit->len, 0);
	/* the re-encoded block is sorted (same bytes, permuted items) */
	uint8_t again[NBS];
	encode(&g, d, 5, again);
	o = 29;
	uint8_t exp[NBS];
	memcpy(exp, blk, 29);
	memset(exp + 29, 0, NBS - 29);
	hx(exp, &o, "50 00 00 00 03 00 78 79 7a");
	hx(exp, &o, "50 00 00 01 01 00 21");
	hx(exp, &o, "60 00 00 00 00 00");
	hx(exp, &o, "ff ff ff ff 05 00 68 65 6c 6c 6f");
	wd_crc_seal(exp, NBS);
	assert_bytes(exp, again, NBS, "re-encoded unsorted leaf");
	wd_node_free(d);
}

void test_decode_reject_links(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t blk[NBS];
	struct wd_expect er = ex_root();
	struct wd_node *d;

	/* address 0 ends the list: slot 2 holds a link after a zero slot 1
	 * address (slot 1 key non-zero): only slot 0 counts */
	hand_root2(blk);                       /* slot1 = (ffffffff, 42) */
	memcpy(blk + 4080, "\xff\xff\xff\xff", 4); /* slot 0 key ffffffff */
	memset(blk + 4072, 0, 8);              /* slot 1 address 0 */
	memcpy(blk + 4056, "\x00\x00\x00\x01", 4); /* slot 2 junk link */
	put64(blk + 4060, 9);
	wd_crc_seal(blk, NBS);
	assert_int_equal(wd_node_decode(&g, blk, 1, &er, &d), 0);
	assert_int_equal(d->nlinks, 1);
	assert_true(d->laddr[0] == 3);
	wd_node_free(d);

	/* address >= lsize is corrupt; lsize - 1 is fine */
	hand_root2(blk);
	put64(blk + 4072, 64);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "address lsize");
	put64(blk + 4072, UINT64_MAX);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "address 2^64-1");
	put64(blk + 4072, 1ull << 32);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "address 2^32");
	put64(blk + 4072, 63);
	expect_decode(&g, blk, 1, &er, 0, "address lsize-1");

	/* link keys not strictly ascending from slot 0 */
	hand_root2(blk);
	memcpy(blk + 4080, "\xff\xff\xff\xff", 4);  /* slot0 == slot1 */
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "equal link keys");
	hand_inner(blk);
	memcpy(blk + 4068, "\x00\x00\x00\x00", 4);  /* slot1 < slot0 */
	struct wd_expect ei = ex_child(1, NULL, K40, 7);
	expect_decode(&g, blk, 3, &ei, WODAN_E_CORRUPT, "descending keys");

	/* link key outside (lo, hi] */
	hand_inner(blk);
	struct wd_expect ei_lo = ex_child(1, (const uint8_t *)"\x00\x00\x00\x01",
					  K40, 7);
	expect_decode(&g, blk, 3, &ei_lo, WODAN_E_CORRUPT, "link key == lo");
	/* the item key 00000000 is also <= lo: drop it to isolate links */
	hand_inner(blk);
	put32(blk + 25, 0);
	memset(blk + 29, 0, 7);
	expect_decode(&g, blk, 3, &ei_lo, WODAN_E_CORRUPT, "link key == lo");
	struct wd_expect ei_ok = ex_child(1, (const uint8_t *)"\x00\x00\x00\x00",
					  K40, 7);
	expect_decode(&g, blk, 3, &ei_ok, 0, "link keys > lo");

	/* last link key != node's hi (the root's hi is all-ff) */
	hand_root2(blk);
	memcpy(blk + 4068, "\xff\xff\xff\xfe", 4);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root last link");
	hand_inner(blk);
	struct wd_expect ei_hi = ex_child(1, NULL, FF4, 7);
	expect_decode(&g, blk, 3, &ei_hi, WODAN_E_CORRUPT, "inner last link");

	/* leaf (rdepth 0) with links: a child expected at rdepth 0, and a
	 * root whose depth field says 0 */
	hand_inner(blk);
	struct wd_expect ei0 = ex_child(0, NULL, K40, 7);
	expect_decode(&g, blk, 3, &ei0, WODAN_E_CORRUPT, "leaf with links");
	hand_root2(blk);
	put32(blk + 29, 0);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "root leaf w/ links");

	/* inner node without links */
	hand_leaf(blk);
	struct wd_expect el1 = ex_child(1, K40, FF4, 7);
	expect_decode(&g, blk, 42, &el1, WODAN_E_CORRUPT, "inner, no links");
	hand_empty_root(blk, "01 00 00 00 00 00 00 00", NULL);
	put32(blk + 29, 1);
	expect_decode(&g, blk, 9, &er, WODAN_E_CORRUPT, "root depth 1, empty");
	/* ... including when the only "link" has address 0 */
	hand_root2(blk);
	memset(blk + 4084, 0, 8);
	expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT, "slot 0 address 0");

	/* link scanning stops at value_end: a slot overlapping the log is
	 * not a link (root at depth 1 whose log reaches into slot 0) */
	{
		size_t o = 0;
		memset(blk, 0, NBS);
		hx(blk, &o, "01 05 00 00 00 00 00 00 00");
		hx(blk, &o, FSID_HEX);
		hx(blk, &o, "01 00 00 00 01 00 00 00"); /* 1 item, depth 1 */
		hx(blk, &o, "50 00 00 00");
		uint32_t len = 4081 - 33 - NKS - 2;     /* ends at 4081 > 4080 */
		blk[o++] = (uint8_t)len;
		blk[o++] = (uint8_t)(len >> 8);
		memcpy(blk + 4068, "\xff\xff\xff\xff", 4); /* would-be slot 1 */
		put64(blk + 4072, 5);
		memcpy(blk + 4080, "\xff\xff\xff\xff", 4); /* would-be slot 0 */
		put64(blk + 4084, 5);
		expect_decode(&g, blk, 1, &er, WODAN_E_CORRUPT,
			      "links under the log");
		/* one byte shorter: slot 0 starts exactly at value_end */
		len--;
		blk[37] = (uint8_t)len;
		blk[38] = (uint8_t)(len >> 8);
		expect_decode(&g, blk, 1, &er, 0, "slot 0 at value_end");
	}
}
