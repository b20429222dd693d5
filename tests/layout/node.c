/*
 * layout/node.c -- nodes byte by byte (doc/SPEC.md §5): hand-made empty
 * root, root, leaf and inner node against the encoder
 */
#include "layout.h"

void node_geom(struct wd_geom *g)
{
	memset(g, 0, sizeof *g);
	g->bs = NBS;
	g->ks = NKS;
	g->incompat = 0x7;
	g->lsize = 64;
	g->fbw = 1;
	for (int i = 0; i < 16; i++)
		g->fsid[i] = (uint8_t)(0xa0 + i);
	wd_geom_derive(g);
}
const uint8_t FF4[4] = { 0xff, 0xff, 0xff, 0xff };
const uint8_t K40[4] = { 0x40, 0, 0, 0 };

void hand_empty_root(uint8_t *blk, const char *gen, const char *crc)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "01");          /*  0 nodetype = 1 (root) */
	hx(blk, &o, gen);           /*  1 generation u64 */
	hx(blk, &o, FSID_HEX);      /*  9 fsid */
	hx(blk, &o, "00 00 00 00"); /* 25 value_count = 0 */
	hx(blk, &o, "00 00 00 00"); /* 29 depth (rdepth) = 0 */
	assert_int_equal(o, 33);
	/* 33..4091: no items, no links: zero */
	hand_seal(blk, NBS, crc);   /* 4092 crc */
}
void hand_root2(uint8_t *blk)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "01");                      /*  0 nodetype root */
	hx(blk, &o, "07 00 00 00 00 00 00 00"); /*  1 generation 7 */
	hx(blk, &o, FSID_HEX);                  /*  9 fsid */
	hx(blk, &o, "02 00 00 00");             /* 25 value_count 2 */
	hx(blk, &o, "01 00 00 00");             /* 29 depth 1 */
	assert_int_equal(o, 33);
	/* logged items, ascending, from 33 */
	hx(blk, &o, "10 00 00 01");             /* 33 key 10000001 */
	hx(blk, &o, "02 00");                   /* 37 datalen 2 */
	hx(blk, &o, "61 62");                   /* 39 "ab" */
	hx(blk, &o, "80 00 00 00");             /* 41 key 80000000 */
	hx(blk, &o, "00 00");                   /* 45 datalen 0 */
	assert_int_equal(o, 47);                /* value_end */
	/* 47..4067 zero gap */
	o = 4068;                               /* slot 1 = 4092 - 2*12 */
	hx(blk, &o, "ff ff ff ff");             /* 4068 link 1 key ffffffff */
	hx(blk, &o, "2a 00 00 00 00 00 00 00"); /* 4072 address 42 */
	assert_int_equal(o, 4080);              /* slot 0 = 4092 - 12 */
	hx(blk, &o, "40 00 00 00");             /* 4080 link 0 key 40000000 */
	hx(blk, &o, "03 00 00 00 00 00 00 00"); /* 4084 address 3 */
	hand_seal(blk, NBS, ROOT2_CRC);         /* 4092 crc */
}
void hand_leaf(uint8_t *blk)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "02");                      /*  0 nodetype child */
	hx(blk, &o, "05 00 00 00 00 00 00 00"); /*  1 generation 5 */
	hx(blk, &o, FSID_HEX);                  /*  9 fsid */
	hx(blk, &o, "03 00 00 00");             /* 25 value_count 3 */
	assert_int_equal(o, 29);                /* no depth field */
	hx(blk, &o, "50 00 00 00");             /* 29 key 50000000 */
	hx(blk, &o, "03 00");                   /* 33 datalen 3 */
	hx(blk, &o, "78 79 7a");                /* 35 "xyz" */
	hx(blk, &o, "60 00 00 00");             /* 38 key 60000000 */
	hx(blk, &o, "2c 01");                   /* 42 datalen 300 */
	for (int i = 0; i < 300; i++)           /* 44 value: i*7 mod 256 */
		blk[o++] = (uint8_t)(i * 7);
	assert_int_equal(o, 344);
	hx(blk, &o, "ff ff ff ff");             /* 344 key ffffffff */
	hx(blk, &o, "05 00");                   /* 348 datalen 5 */
	hx(blk, &o, "68 65 6c 6c 6f");          /* 350 "hello" */
	assert_int_equal(o, 355);               /* value_end */
	/* 355..4091 zero: no links */
	hand_seal(blk, NBS, LEAF_CRC);
}
void hand_inner(uint8_t *blk)
{
	size_t o = 0;
	memset(blk, 0, NBS);
	hx(blk, &o, "02");                      /*  0 nodetype child */
	hx(blk, &o, "04 00 00 00 00 00 00 00"); /*  1 generation 4 */
	hx(blk, &o, FSID_HEX);                  /*  9 fsid */
	hx(blk, &o, "01 00 00 00");             /* 25 value_count 1 */
	hx(blk, &o, "00 00 00 00");             /* 29 key 00000000 */
	hx(blk, &o, "01 00");                   /* 33 datalen 1 */
	hx(blk, &o, "00");                      /* 35 value 00 */
	assert_int_equal(o, 36);
	o = 4092 - 3 * 12;                      /* 4056 slot 2 */
	hx(blk, &o, "40 00 00 00");             /* key 40000000 (= hi) */
	hx(blk, &o, "0c 00 00 00 00 00 00 00"); /* address 12 */
	hx(blk, &o, "20 00 00 00");             /* 4068 slot 1 key 20000000 */
	hx(blk, &o, "0b 00 00 00 00 00 00 00"); /* address 11 */
	hx(blk, &o, "00 00 00 01");             /* 4080 slot 0 key 00000001 */
	hx(blk, &o, "0a 00 00 00 00 00 00 00"); /* address 10 */
	assert_int_equal(o, 4092);
	hand_seal(blk, NBS, INNER_CRC);
}

static void put_item(struct wd_node *n, const char *key_hex, const void *v,
		     uint32_t len)
{
	uint8_t k[NKS];
	size_t o = 0;
	hx(k, &o, key_hex);
	assert_int_equal(wd_log_put(n, NKS, k, v, len), 0);
}

static void put_link(struct wd_node *n, uint32_t idx, const char *key_hex,
		     uint64_t addr)
{
	uint8_t k[NKS];
	size_t o = 0;
	hx(k, &o, key_hex);
	assert_int_equal(wd_link_insert(n, NKS, idx, k, addr, NULL), 0);
}

/* Encode into a garbage-filled buffer: the gap must still come out zero. */
void encode(const struct wd_geom *g, const struct wd_node *n,
		   uint64_t gen, uint8_t *blk)
{
	memset(blk, 0x5a, NBS);
	wd_node_encode(g, n, gen, 0, blk);
}

struct wd_node *mk_root2(void)
{
	struct wd_node *n = wd_node_new(NKS, NULL, FF4, 1, 1);
	assert_non_null(n);
	/* inserted out of order: the encoder writes the log ascending */
	put_item(n, "80 00 00 00", "", 0);
	put_item(n, "10 00 00 01", "ab", 2);
	put_link(n, 0, "ff ff ff ff", 42);
	put_link(n, 0, "40 00 00 00", 3);
	return n;
}

static uint8_t leafval[300];

struct wd_node *mk_leaf(void)
{
	for (int i = 0; i < 300; i++)
		leafval[i] = (uint8_t)(i * 7);
	struct wd_node *n = wd_node_new(NKS, K40, FF4, 0, 0);
	assert_non_null(n);
	put_item(n, "ff ff ff ff", "hello", 5);
	put_item(n, "50 00 00 00", "xyz", 3);
	put_item(n, "60 00 00 00", leafval, 300);
	return n;
}

struct wd_node *mk_inner(void)
{
	struct wd_node *n = wd_node_new(NKS, NULL, K40, 1, 0);
	assert_non_null(n);
	put_item(n, "00 00 00 00", "\0", 1);
	put_link(n, 0, "00 00 00 01", 10);
	put_link(n, 1, "20 00 00 00", 11);
	put_link(n, 2, "40 00 00 00", 12);
	return n;
}

void test_node_empty_root(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t want[NBS], got[NBS];
	struct wd_node *n = wd_node_new(NKS, NULL, FF4, 0, 1);
	assert_non_null(n);

	hand_empty_root(want, "01 00 00 00 00 00 00 00", EMPTY_ROOT_G1_CRC);
	encode(&g, n, 1, got);
	assert_bytes(want, got, NBS, "empty root gen 1");

	/* preroot (doc/SPEC.md §7): same, generation 0 */
	hand_empty_root(want, "00 00 00 00 00 00 00 00", PREROOT_CRC);
	encode(&g, n, 0, got);
	assert_bytes(want, got, NBS, "preroot");

	/* a large generation: u64 LE at offset 1 */
	hand_empty_root(want, "08 07 06 05 04 03 02 81", NULL);
	encode(&g, n, 0x8102030405060708ull, got);
	assert_bytes(want, got, NBS, "empty root, large generation");

	/* magic trailer mode: same bytes, trailer ff ff ff ff */
	hand_empty_root(want, "01 00 00 00 00 00 00 00", EMPTY_ROOT_G1_CRC);
	memset(want + 4092, 0xff, 4);
	memset(got, 0x5a, NBS);
	wd_node_encode(&g, n, 1, 1, got);
	assert_bytes(want, got, NBS, "empty root, magic CRC");
	wd_node_free(n);
}

void test_node_root2(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t want[NBS], got[NBS];
	hand_root2(want);
	struct wd_node *n = mk_root2();
	encode(&g, n, 7, got);
	assert_bytes(want, got, NBS, "root with items and links");
	wd_node_free(n);
}

void test_node_child(void **state)
{
	(void)state;
	struct wd_geom g;
	node_geom(&g);
	uint8_t want[NBS], got[NBS];
	hand_leaf(want);
	struct wd_node *n = mk_leaf();
	encode(&g, n, 5, got);
	assert_bytes(want, got, NBS, "child leaf");
	wd_node_free(n);

	hand_inner(want);
	n = mk_inner();
	encode(&g, n, 4, got);
	assert_bytes(want, got, NBS, "inner child");
	wd_node_free(n);
}
